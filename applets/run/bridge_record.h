/* The record of the containers on one bridge (/run/sysprim/net/ns-INODE/BRIDGE.state), read and
 * changed only under the exclusive lock of BRIDGE.lock: address allocation, and whether the bridge and its NAT are
 * ours. Part of the `run` applet. */
#ifndef SYSPRIM_RUN_BRIDGE_RECORD_H
#define SYSPRIM_RUN_BRIDGE_RECORD_H

#include "network.h"

#include <limits.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/types.h>

#define NETWORK_MAX_ENTRIES 4096

struct err;
struct netlink;

/* One line per container on the bridge: its address, the `sysprim run` that owns it (pid and start
 * time, so a crashed owner is recognised) and whether it asked for NAT. */
struct bridge_record_entry {
        struct in_addr address;
        pid_t owner;
        unsigned long long owner_start;
        int nat;
};

/* Large (the entries): allocate it. */
struct bridge_record {
        int lock_fd;
        char lock_path[PATH_MAX];
        char state_path[PATH_MAX];
        struct network_subnet subnet; /* prefix_length 0: no state yet */
        int nat_active;               /* the NAT rule exists */
        int bridge_created;           /* we made the bridge */
        size_t count;
        struct bridge_record_entry entries[NETWORK_MAX_ENTRIES];
};

/* Take the bridge's lock (set lock_fd to -1 before, so that unlock is always safe). 0 or -errno. */
int bridge_record_lock(struct bridge_record *st, const char *bridge, struct err *e);
void bridge_record_unlock(struct bridge_record *st);
/* Read the record (none yet: empty). A damaged line is logged and skipped. 0 or -errno. */
int bridge_record_read(struct bridge_record *st, struct err *e);
/* Read `bridge`'s record without its lock: a snapshot (the file is only ever replaced whole), to see
 * whether anything needs the lock at all. 0 or -errno. */
int bridge_record_peek(struct bridge_record *st, const char *bridge, struct err *e);
/* Whether the record holds what a killed run left: an entry whose owner is certainly gone (no process
 * has its pid; cheap: no /proc read), or no entry but a bridge or NAT recorded. */
bool bridge_record_is_stale(const struct bridge_record *st);
/* Write it back atomically; an empty record removes its files (and the lock file) instead. */
int bridge_record_write(struct bridge_record *st, struct err *e);
/* Add an entry owned by this process. The caller checks that there is room. */
void bridge_record_add(struct bridge_record *st, struct in_addr address, int nat);
/* Remove this process's entry for `address`, if there is one. */
void bridge_record_remove_own(struct bridge_record *st, struct in_addr address);
/* Drop entries whose `sysprim run` died without cleaning up (SIGKILL, crash), deleting their veth. */
void bridge_record_prune(struct bridge_record *st, struct netlink *nl);
/* How many entries asked for NAT. */
int bridge_record_nat_users(const struct bridge_record *st);
/* An address for a new container: `wanted` if free (refused when held), else the lowest free one. */
int bridge_record_allocate(struct bridge_record *st, struct in_addr wanted, struct in_addr *out,
                           struct err *e);

#endif
