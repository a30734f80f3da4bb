/* The default seccomp profile: a deny-list in the spirit of Docker's, answering EPERM (never killing).
 * Part of the `run` applet; built with libseccomp. */
#ifndef SYSPRIM_RUN_SECCOMP_H
#define SYSPRIM_RUN_SECCOMP_H

struct err;

/* Install the filter on the calling thread (needs no_new_privs or CAP_SYS_ADMIN). 0 or -errno. */
int seccomp_install_default(struct err *e);

#endif
