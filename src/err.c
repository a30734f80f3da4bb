/* The error object of the error contract (see include/sysprim/err.h and doc/errors in DESIGN.md).
 * Shared module. */
#include "sysprim/err.h"
#include "sysprim/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>

int err_set(struct err *e, int errnum, const char *fmt, ...)
{
        if (errnum < 0)
                errnum = -errnum;
        if (e != NULL) {
                va_list ap;
                va_start(ap, fmt);
                int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
                va_end(ap);
                if (errnum != 0 && n >= 0 && (size_t)n < sizeof(e->msg)) {
                        char reason[128];
                        const char *text = strerror_r(errnum, reason, sizeof(reason));
                        snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", text);
                }
                e->code = errnum ? errnum : EIO;
        }
        return errnum ? -errnum : -EIO;
}

int err_plain(struct err *e, int code, const char *fmt, ...)
{
        if (e != NULL) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
                va_end(ap);
                e->code = code;
        }
        return -code;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
        if (e == NULL)
                return -EIO;
        char prefix[sizeof(e->msg)];
        char old[sizeof(e->msg)];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, e->msg, sizeof(old));
        /* Truncation is acceptable: the message is for people and is cut at the buffer's end. */
        size_t used = strnlen(prefix, sizeof(e->msg) - 1);
        memcpy(e->msg, prefix, used);
        if (used + 2 < sizeof(e->msg)) {
                memcpy(e->msg + used, ": ", 2);
                used += 2;
        }
        size_t rest = strnlen(old, sizeof(old));
        if (rest > sizeof(e->msg) - 1 - used)
                rest = sizeof(e->msg) - 1 - used;
        memcpy(e->msg + used, old, rest);
        e->msg[used + rest] = '\0';
        if (e->code == 0)
                e->code = EIO;
        return -e->code;
}

void err_print(const struct err *e)
{
        log_error("%s", e->msg[0] ? e->msg : "unknown error");
}
