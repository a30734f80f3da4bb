/* The serve applet's confinement after binding: no_new_privs and a seccomp allow-list.
 * Server layer. */
#ifndef SERVE_SANDBOX_H
#define SERVE_SANDBOX_H

#include "sysprim/err.h"

/* Install the allow-list for the whole process (all threads). Call after every socket is bound and
 * every start-up file is open. 0 or -errno. */
int sandbox_enter(struct err *e);

#endif
