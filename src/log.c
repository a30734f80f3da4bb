/* Logging to stderr as "sysprim <applet>: message", filtered by level. Shared module.
 * Formats into a stack buffer and writes once, so lines from several processes do not interleave and
 * the allocator may log through it without recursion. */
#include "sysprim/log.h"
#include "sysprim/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum log_level current_level = LOG_WARN;
static const char *current_applet;

void log_set_applet(const char *applet_name) { current_applet = applet_name; }
const char *log_applet(void) { return current_applet; }
enum log_level log_get_level(void) { return current_level; }
void log_set_level(enum log_level level) { current_level = level; }

int log_init_from_env(void)
{
        static const char *const names[] = { "error", "warn", "info", "debug" };
        const char *value = getenv("SYSPRIM_LOG");
        if (value == NULL || *value == '\0')
                return 0;
        for (int i = 0; i < 4; i++) {
                if (strcmp(value, names[i]) == 0) {
                        current_level = (enum log_level)i;
                        return 0;
                }
        }
        return -EINVAL;
}

void log_adjust(int steps)
{
        int level = (int)current_level + steps;
        if (level < LOG_ERROR)
                level = LOG_ERROR;
        if (level > LOG_DEBUG)
                level = LOG_DEBUG;
        current_level = (enum log_level)level;
}

static void log_write(enum log_level level, int errnum, const char *fmt, va_list ap)
{
        char line[2048];
        size_t used;
        int saved_errno = errno;
        if (level > current_level)
                return;
        if (current_applet)
                used = (size_t)snprintf(line, sizeof(line), "sysprim %s: ", current_applet);
        else
                used = (size_t)snprintf(line, sizeof(line), "sysprim: ");
        if (level == LOG_WARN && used < sizeof(line))
                used += (size_t)snprintf(line + used, sizeof(line) - used, "warning: ");
        /* The last byte is kept for the newline. */
        used += err_vformat(line + used, sizeof(line) - 1 - used, errnum, fmt, ap);
        line[used++] = '\n';
        for (size_t off = 0; off < used;) {
                ssize_t n = write(STDERR_FILENO, line + off, used - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                off += (size_t)n;
        }
        errno = saved_errno;
}

void log_message(enum log_level level, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        log_write(level, 0, fmt, ap);
        va_end(ap);
}

void log_errno(enum log_level level, int errnum, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        log_write(level, errnum, fmt, ap);
        va_end(ap);
}
