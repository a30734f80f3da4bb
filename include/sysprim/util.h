/* Small helpers: cleanup attributes for fds and heap buffers (as in bubblewrap and systemd),
 * ownership hand-off, and EINTR-safe I/O. Shared module. */
#ifndef SYSPRIM_UTIL_H
#define SYSPRIM_UTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

void util_free_pointer(void *pointer_to_pointer);
void util_close_fd(int *fd);
void util_fclose(FILE **file);
void util_closedir(DIR **dir);

#define _cleanup_free_ __attribute__((cleanup(util_free_pointer)))
#define _cleanup_close_ __attribute__((cleanup(util_close_fd)))
#define _cleanup_fclose_ __attribute__((cleanup(util_fclose)))
#define _cleanup_closedir_ __attribute__((cleanup(util_closedir)))

/* Take ownership out of a cleanup variable. */
#define steal_pointer(pp) __extension__({ __typeof__(*(pp)) stolen_ = *(pp); *(pp) = NULL; stolen_; })
static inline int steal_fd(int *fd)
{
        int stolen = *fd;
        *fd = -1;
        return stolen;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* write()/read() the whole buffer, retrying on EINTR and short transfers: 0 or -errno. */
int util_write_all(int fd, const void *buf, size_t len);
/* Read a whole (small) file into a NUL-terminated heap buffer; 0 or -errno. */
int util_read_file(const char *path, char **contents, size_t *length);
/* Write a string to a file (O_WRONLY|O_CLOEXEC, no create, no truncate): for /proc and /sys. */
int util_write_file(const char *path, const char *text);

/* A character of a refused value as a message shows it: 'x', "a space", or "a byte 0x0a" (control
 * characters and bytes of other encodings, which would not show as themselves). Returns buf. */
const char *util_describe_character(unsigned char ch, char *buf, size_t size);

/* A growing, always NUL-terminated byte buffer (start it as {0}). After an allocation failure it
 * stops growing and `failed` says so, so a caller appends freely and checks once at the end;
 * `data` stays NULL until something is appended. The caller frees `data`. */
struct util_buf {
        char *data;
        size_t length, capacity;
        bool failed;
};
void util_buf_append(struct util_buf *buf, const void *data, size_t length);
void util_buf_printf(struct util_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
