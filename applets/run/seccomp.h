/* The default seccomp profile (seccomp_rules.h), compiled with libseccomp when sysprim is built.
 * Part of the `run` applet. */
#ifndef SYSPRIM_RUN_SECCOMP_H
#define SYSPRIM_RUN_SECCOMP_H

struct err;

/* Install the filter on the calling thread; sets no_new_privs, as libseccomp's loader does. 0 or
 * -errno. */
int seccomp_install_default(struct err *e);

#endif
