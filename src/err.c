/* The error object of the error contract (see include/sysprim/err.h and doc/errors in DESIGN.md).
 * Shared module. */
#include "sysprim/err.h"
#include "sysprim/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>

size_t err_vformat(char *buf, size_t size, int errnum, const char *fmt, va_list ap)
{
        char reason_buf[128];
        const char *reason = NULL;
        size_t reserve = 0;
        if (size == 0)
                return 0;
        if (errnum != 0) {
                /* GNU strerror_r returns the string it chose. */
                reason = strerror_r(errnum < 0 ? -errnum : errnum, reason_buf, sizeof(reason_buf));
                reserve = 2 + strlen(reason);
                if (reserve + 8 > size) { /* no room for both: the text alone */
                        reason = NULL;
                        reserve = 0;
                }
        }
        size_t room = size - reserve;
        int n = vsnprintf(buf, room, fmt, ap);
        size_t used = n < 0 ? 0 : (size_t)n;
        if (used >= room) { /* cut: say so, and keep the reason */
                used = room - 1;
                if (used >= 3)
                        memcpy(buf + used - 3, "...", 3);
        }
        if (reason)
                used += (size_t)snprintf(buf + used, size - used, ": %s", reason);
        return used;
}

int err_set(struct err *e, int errnum, const char *fmt, ...)
{
        if (errnum < 0)
                errnum = -errnum;
        if (e != NULL) {
                va_list ap;
                va_start(ap, fmt);
                err_vformat(e->msg, sizeof(e->msg), errnum, fmt, ap);
                va_end(ap);
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
        /* "<prefix>: <old message>"; when that is too long its middle is cut, so both what was being
         * done and the old message's end (the reason) survive. */
        char joined[2 * sizeof(e->msg) + 2];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(joined, sizeof(e->msg), fmt, ap);
        va_end(ap);
        size_t used = n < 0 ? 0 : (size_t)n;
        if (used > sizeof(e->msg) - 1)
                used = sizeof(e->msg) - 1;
        used += (size_t)snprintf(joined + used, sizeof(joined) - used, ": %s", e->msg);
        size_t limit = sizeof(e->msg) - 1;
        if (used <= limit) {
                memcpy(e->msg, joined, used + 1);
        } else {
                size_t tail = limit / 3, head = limit - tail - 3;
                memcpy(e->msg, joined, head);
                memcpy(e->msg + head, "...", 3);
                memcpy(e->msg + head + 3, joined + used - tail, tail);
                e->msg[limit] = '\0';
        }
        if (e->code == 0)
                e->code = EIO;
        return -e->code;
}

void err_print(const struct err *e)
{
        log_error("%s", e->msg[0] ? e->msg : "unknown error");
}
