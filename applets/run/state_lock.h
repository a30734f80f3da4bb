/* The directory of networking's shared records (/run/sysprim/net) and the exclusive flock that guards
 * each of them, robust against the lock file's removal by its last user. Part of the `run` applet. */
#ifndef SYSPRIM_RUN_STATE_LOCK_H
#define SYSPRIM_RUN_STATE_LOCK_H

#define NETWORK_STATE_DIR "/run/sysprim/net"

struct err;

/* Create NETWORK_STATE_DIR if needed, open `lock_path` (created if missing) and take an exclusive
 * flock on it. Returns the locked descriptor (close it to unlock) or -errno. */
int state_lock_take(const char *lock_path, struct err *e);

#endif
