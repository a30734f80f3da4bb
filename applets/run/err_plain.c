/* Errors without errno text (see err_plain.h). Part of the `run` applet. */
#include "err_plain.h"

#include "sysprim/err.h"

#include <stdarg.h>
#include <stdio.h>

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
