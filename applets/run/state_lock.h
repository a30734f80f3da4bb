/* The directory of networking's shared records (/run/sysprim/net, one per network namespace) and the
 * exclusive flock that guards each of them, robust against the lock file's removal by its last user.
 * Part of the `run` applet. */
#ifndef SYSPRIM_RUN_STATE_LOCK_H
#define SYSPRIM_RUN_STATE_LOCK_H

#define NETWORK_STATE_ROOT "/run/sysprim/net"

struct err;

/* Where this network namespace's records live: NETWORK_STATE_ROOT/ns-INODE, the inode of
 * /proc/self/ns/net. Bridges, NAT tables and ip_forward belong to one namespace; with one directory
 * for all, a run in another namespace took a killed run's record for its own bridge's and "released"
 * it (deleting the record, leaving the bridge and its NAT table behind). */
const char *network_state_dir(void);

/* Create network_state_dir() if needed, open `lock_path` (created if missing) and take an exclusive
 * flock on it. Returns the locked descriptor (close it to unlock) or -errno. */
int state_lock_take(const char *lock_path, struct err *e);

#endif
