/* The access log in Common Log Format. Each thread fills its own buffer and writes whole lines with
 * one write(2) to an O_APPEND descriptor, so threads never interleave inside a line and never lock.
 * Server layer. */
#include "access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int access_log_open(const char *path, struct err *e)
{
        if (strcmp(path, "-") == 0) {
                int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
                return fd < 0 ? err_set(e, errno, "access log: standard output") : fd;
        }
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        return fd < 0 ? err_set(e, errno, "open access log %s", path) : fd;
}

int access_log_reopen(const char *path, int fd, struct err *e)
{
        if (strcmp(path, "-") == 0)
                return 0;
        int fresh = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (fresh < 0)
                return err_set(e, errno, "reopen access log %s", path);
        int rc = dup3(fresh, fd, O_CLOEXEC) < 0 ? err_set(e, errno, "reopen access log %s", path) : 0;
        close(fresh);
        return rc;
}

void access_log_flush(struct access_log_buffer *buffer, int fd)
{
        size_t done = 0;
        while (done < buffer->length) {
                ssize_t n = write(fd, buffer->data + done, buffer->length - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break; /* a full disk must not stop the server: drop the lines */
                done += (size_t)n;
        }
        buffer->length = 0;
}

void access_log_release(struct access_log_buffer *buffer, int fd)
{
        if (buffer->length)
                access_log_flush(buffer, fd);
        free(buffer->data);
        buffer->data = NULL;
}

/* The request line comes from the client: quotes, backslashes and control bytes are escaped so a
 * line cannot be forged or broken. At most 1 KiB of it is kept. */
static size_t escape_request(char *out, const char *in, size_t length)
{
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;
        if (length > 1024)
                length = 1024;
        for (size_t i = 0; i < length; i++) {
                unsigned char c = (unsigned char)in[i];
                if (c == '"' || c == '\\') {
                        out[o++] = '\\';
                        out[o++] = (char)c;
                } else if (c < 0x20 || c >= 0x7f) {
                        out[o++] = '\\';
                        out[o++] = 'x';
                        out[o++] = hex[c >> 4];
                        out[o++] = hex[c & 15];
                } else {
                        out[o++] = (char)c;
                }
        }
        return o;
}

void access_log_append(struct access_log_buffer *buffer, int fd, const char *host, const char *clf_date,
                       const char *request, size_t request_length, int status, uint64_t bytes)
{
        if (buffer->data == NULL) {
                buffer->data = malloc(ACCESS_LOG_BUFFER_SIZE);
                if (buffer->data == NULL)
                        return;
                buffer->length = 0;
        }
        char line[4096 + 256];
        char escaped[4096 + 64];
        size_t escaped_length = escape_request(escaped, request, request_length);
        char size_text[24];
        if (bytes)
                snprintf(size_text, sizeof(size_text), "%" PRIu64, bytes);
        else
                strcpy(size_text, "-");
        int n = snprintf(line, sizeof(line), "%s - - [%s] \"%.*s\" %d %s\n", host, clf_date, (int)escaped_length,
                         escaped, status, size_text);
        if (n <= 0)
                return;
        size_t length = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
        if (buffer->length + length > ACCESS_LOG_BUFFER_SIZE)
                access_log_flush(buffer, fd);
        memcpy(buffer->data + buffer->length, line, length);
        buffer->length += length;
}
