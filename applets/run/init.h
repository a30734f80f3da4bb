/* sysprim's init: PID 1 of the container's PID namespace. It starts the command, forwards signals to
 * it, reaps every zombie, and exits with the command's status. Part of the `run` applet. */
#ifndef SYSPRIM_RUN_INIT_H
#define SYSPRIM_RUN_INIT_H

#include <stdnoreturn.h>

struct container;

/* Execute the container's command in the calling process (environment, PATH search, clean signal
 * state); on failure print why and exit 127 (not found) or 126 (not executable). */
noreturn void init_exec_command(const struct container *c);

/* Become the container's init: fork the command, then forward and reap until it exits. Expects every
 * signal blocked on entry (they are taken with sigwaitinfo, never by handlers). */
noreturn void init_run(const struct container *c);

#endif
