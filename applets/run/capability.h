/* Capabilities by name and applying a set to the current process (bounding, inheritable, permitted,
 * effective, ambient). Part of the `run` applet; raw capset(2), no libcap. */
#ifndef SYSPRIM_RUN_CAPABILITY_H
#define SYSPRIM_RUN_CAPABILITY_H

#include <stdint.h>

struct err;

/* "NET_ADMIN", "cap_net_admin", "ALL" (case-insensitive) -> bits. 0 or -EINVAL. */
int capability_parse(const char *name, uint64_t *bits);
/* Every capability the running kernel knows (0..cap_last_cap). */
uint64_t capability_all(void);
/* Drop every capability outside `set` from the bounding set (needs CAP_SETPCAP). 0 or -errno. */
int capability_limit_bounding(uint64_t set, struct err *e);
/* Make `set` the permitted and effective sets (a subset of the current permitted set); the inheritable
 * set becomes empty. */
int capability_set(uint64_t set, struct err *e);

#endif
