/* An error of the error contract (sysprim/err.h) whose message needs no errno text after it: usage
 * errors, "in use", "not ours". Part of the `run` applet. */
#ifndef SYSPRIM_RUN_ERR_PLAIN_H
#define SYSPRIM_RUN_ERR_PLAIN_H

struct err;

/* Fill `e` (may be NULL) with the message and `code` (a positive errno); return -code. */
int err_plain(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
