/* The error contract: library-style functions return 0 or a negative errno and, when given one,
 * fill a caller-owned struct err with a message in a fixed buffer (no allocation on error paths).
 * Only an applet's main decides what to print and how to exit. Shared module. */
#ifndef SYSPRIM_ERR_H
#define SYSPRIM_ERR_H

#include <stdarg.h>
#include <stddef.h>

struct err {
        int code;       /* positive errno, 0 when unset */
        char msg[512];  /* "what failed: why" */
};

/* Record "<fmt...>: strerror(errnum)" (errnum may be negative; 0 means no errno text) in `e`
 * (which may be NULL) and return -abs(errnum), or -EIO when errnum is 0. Typical use:
 *     if (mkdir(path, 0700) < 0) return err_set(e, errno, "create %s", path);  */
int err_set(struct err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Record a message that needs no errno text after it (a usage error, "in use", "not ours") with
 * `code` (a positive errno) in `e` (which may be NULL); return -code. */
int err_plain(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with more context: "mount overlay: <old message>". Returns -code. */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Format fmt into buf (size > 0), then ": strerror(errnum)" unless errnum is 0; a text too long
 * for buf is cut and ends with "..." so that the reason still fits. Returns the length written.
 * Shared by err_set and the log's lines. */
size_t err_vformat(char *buf, size_t size, int errnum, const char *fmt, va_list ap);

/* Print "sysprim <applet>: <msg>" at error level. */
void err_print(const struct err *e);

#endif
