/* The access log in Common Log Format: per-thread buffers written with one write(2) of whole lines
 * to a shared O_APPEND descriptor that SIGHUP replaces in place. Server layer. */
#ifndef SERVE_ACCESS_LOG_H
#define SERVE_ACCESS_LOG_H

#include "sysprim/err.h"

#include <stddef.h>
#include <stdint.h>

#define ACCESS_LOG_BUFFER_SIZE 65536

struct access_log_buffer {
        char *data; /* allocated on first use */
        size_t length;
};

/* "-" is standard output; otherwise FILE is created/appended. Returns the fd or -errno. */
int access_log_open(const char *path, struct err *e);
/* SIGHUP: open `path` again and put it in place of `fd` (same number, so threads keep writing). */
int access_log_reopen(const char *path, int fd, struct err *e);

/* One CLF line: host ident authuser [date] "request" status bytes. `request` is the raw request line
 * (escaped here); `clf_date` like "10/Oct/2000:13:55:36 +0000". Flushes when the buffer fills. */
void access_log_append(struct access_log_buffer *buffer, int fd, const char *host, const char *clf_date,
                       const char *request, size_t request_length, int status, uint64_t bytes);
void access_log_flush(struct access_log_buffer *buffer, int fd);
void access_log_release(struct access_log_buffer *buffer, int fd);

#endif
