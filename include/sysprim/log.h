/* Logging with levels to stderr in the `sysprim <applet>: message` form. Shared module.
 * Never allocates: lines are formatted into a stack buffer and written with one write(2). */
#ifndef SYSPRIM_LOG_H
#define SYSPRIM_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* The applet name in the prefix ("sysprim run: ..."); NULL for plain "sysprim: ...". */
void log_set_applet(const char *applet_name);
const char *log_applet(void);

/* Current threshold; messages above it are dropped. Default warn, or SYSPRIM_LOG=error|warn|info|debug. */
enum log_level log_get_level(void);
void log_set_level(enum log_level level);
/* Read SYSPRIM_LOG; returns -EINVAL (and keeps the level) if it is set to something unknown. */
int log_init_from_env(void);
/* -q lowers, -v raises the level by one step each. */
void log_adjust(int steps);

void log_message(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As log_message, with ": strerror(errnum)" appended (errnum positive or negative). */
void log_errno(enum log_level level, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define log_error(...) log_message(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_message(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_message(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_message(LOG_DEBUG, __VA_ARGS__)

#endif
