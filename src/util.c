/* Cleanup helpers and whole-buffer I/O used by every applet. Shared module. */
#include "sysprim/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void util_free_pointer(void *pointer_to_pointer)
{
        free(*(void **)pointer_to_pointer);
}

void util_close_fd(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

void util_fclose(FILE **file)
{
        if (*file)
                fclose(*file);
}

void util_closedir(DIR **dir)
{
        if (*dir)
                closedir(*dir);
}

int util_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int util_read_file(const char *path, char **contents, size_t *length)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t capacity = 4096, used = 0;
        _cleanup_free_ char *buf = malloc(capacity);
        if (buf == NULL)
                return -ENOMEM;
        for (;;) {
                if (used + 1 >= capacity) {
                        char *bigger = realloc(buf, capacity * 2);
                        if (bigger == NULL)
                                return -ENOMEM;
                        buf = bigger;
                        capacity *= 2;
                }
                ssize_t n = read(fd, buf + used, capacity - used - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                used += (size_t)n;
        }
        buf[used] = '\0';
        if (length)
                *length = used;
        *contents = steal_pointer(&buf);
        return 0;
}

int util_write_file(const char *path, const char *text)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return util_write_all(fd, text, strlen(text));
}

/* Room for `more` bytes and the NUL after them; false (and `failed`) when memory runs out. */
static bool buf_reserve(struct util_buf *buf, size_t more)
{
        if (buf->failed)
                return false;
        if (more < buf->capacity - buf->length) /* buf->length < buf->capacity whenever data exists */
                return true;
        if (more > SIZE_MAX / 4 - buf->length) {
                buf->failed = true;
                return false;
        }
        size_t capacity = buf->capacity ? buf->capacity : 1024;
        while (capacity - buf->length <= more)
                capacity *= 2;
        char *grown = realloc(buf->data, capacity);
        if (grown == NULL) {
                buf->failed = true;
                return false;
        }
        buf->data = grown;
        buf->capacity = capacity;
        return true;
}

void util_buf_append(struct util_buf *buf, const void *data, size_t length)
{
        if (!buf_reserve(buf, length))
                return;
        memcpy(buf->data + buf->length, data, length);
        buf->length += length;
        buf->data[buf->length] = '\0';
}

void util_buf_printf(struct util_buf *buf, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
                buf->failed = true;
                return;
        }
        if (!buf_reserve(buf, (size_t)n))
                return;
        va_start(ap, fmt);
        vsnprintf(buf->data + buf->length, (size_t)n + 1, fmt, ap);
        va_end(ap);
        buf->length += (size_t)n;
}

const char *util_describe_character(unsigned char ch, char *buf, size_t size)
{
        if (ch == ' ')
                snprintf(buf, size, "a space");
        else if (isgraph(ch))
                snprintf(buf, size, "'%c'", ch);
        else
                snprintf(buf, size, "a byte 0x%02x", ch);
        return buf;
}
