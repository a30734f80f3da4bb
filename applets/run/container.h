/* The container description: everything `sysprim run` was asked for, gathered in one struct before
 * anything is created. Part of the `run` applet; set-up (container.c) reads only this struct, so an
 * OCI config.json can fill it as well as the command line (run.c) does. */
#ifndef SYSPRIM_RUN_CONTAINER_H
#define SYSPRIM_RUN_CONTAINER_H

#include "sysprim/opt.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit codes of the container tools (docker, podman, crun). */
enum {
        EXIT_RUNTIME_FAILED = 125, /* the runtime failed before the command started */
        EXIT_NOT_EXECUTABLE = 126,
        EXIT_NOT_FOUND = 127,
};

enum rootfs_mode {
        ROOTFS_COPY_ON_WRITE, /* overlayfs, upper layer on a private tmpfs: writes vanish (default) */
        ROOTFS_WRITE_THROUGH, /* --rootfs-rw: the directory itself, writable */
        ROOTFS_READ_ONLY,     /* --read-only: nothing writable but the tmpfs mounts */
};

enum mount_kind {
        MOUNT_BIND,  /* -v HOST:CONTAINER[:ro] */
        MOUNT_TMPFS, /* --tmpfs PATH[:SIZE] */
};

struct container_mount {
        enum mount_kind kind;
        const char *source; /* host path (bind); NULL for tmpfs */
        const char *target; /* absolute path inside the container */
        bool read_only;
        uint64_t size;      /* tmpfs size in bytes; 0: the kernel's default (half of RAM) */
};

/* ---- Networking (issue 6: applets/run/network.{c,h}, the networking engineer's) --------------
 * Filled by the network options in run.c's table; read by network_setup() and network_release().
 * The only thing set-up itself looks at is whether the host's namespace is shared (no CLONE_NEWNET);
 * otherwise the container gets a private namespace with `lo` up, and network_setup() adds to it. */
struct container_network {
        const char *mode;        /* --net none|host|bridge; NULL means "none" */
        const char *subnet;      /* --subnet CIDR for the bridge */
        const char *address;     /* --ip ADDR: a fixed address on the bridge */
        const char *bridge;      /* --bridge NAME: the bridge to join; NULL: sysprim0 */
        int nat;                 /* --nat: outbound NAT for the subnet */
        struct opt_list publish; /* -p/--publish HOSTPORT:CONTAINERPORT[/tcp], repeatable */
        const char *name;        /* the container's name, for /etc/hosts; NULL: the hostname */
};
/* ---- end of networking ---------------------------------------------------------------------- */

struct container {
        /* The process. argv and env are NULL-terminated; env is the complete environment. */
        char **argv;
        char **env;
        const char *workdir;  /* NULL: "/" */
        const char *hostname; /* NULL: "sysprim" */
        bool set_user;        /* -u given: switch to uid/gid */
        uid_t uid;
        gid_t gid;
        /* -u NAME[:GROUP]: names looked up in the container's /etc/passwd and /etc/group once its root
         * is in place (user.c); they take the place of uid (and gid: the user's primary group unless
         * GROUP is given) and gid. NULL: the number above. */
        const char *user_name;
        const char *group_name;
        bool primary_group;   /* -u NAME without GROUP: gid is the user's primary group */
        bool home_from_user;  /* HOME is the named user's home directory (no -e HOME given) */
        bool use_init;        /* our init as PID 1 (default), or the command itself (--no-init) */

        /* The root filesystem. rootfs NULL: the host's root. */
        const char *rootfs;
        enum rootfs_mode rootfs_mode;
        struct container_mount *mounts; /* volumes and tmpfs, in command-line order */
        size_t mount_count;

        /* Limits (0: none), applied through the container's own cgroup. */
        uint64_t memory_limit; /* bytes */
        double cpus;           /* CPU time per wall time, e.g. 0.5 */
        uint64_t pids_limit;
        bool stats;            /* --stats: print peak memory, CPU time and OOM after exit */

        /* Security. privileged lifts all of it (full capabilities, no seccomp, no no_new_privs). */
        bool privileged;
        bool seccomp;          /* the default deny-list (EPERM) */
        bool no_new_privs;
        uint64_t capabilities; /* bit N = capability N: bounding, permitted, effective, inheritable */

        /* Namespaces beyond the always-present PID, mount, UTS, IPC and cgroup ones. */
        bool user_namespace;   /* a user namespace (rootless, or --userns as root) */
        /* Its ID mappings (as /proc/PID/uid_map lines), and whether they go through the setuid helpers
         * newuidmap/newgidmap (an unprivileged user's subordinate IDs from /etc/subuid, /etc/subgid). */
        struct container_id_range {
                uint32_t inside, outside, count;
        } uid_map[2], gid_map[2];
        size_t uid_map_count, gid_map_count;
        bool id_map_helpers;

        struct container_network network; /* see the networking section above */
};

/* Docker's default capability set without mknod: chown dac_override fowner fsetid kill setgid setuid
 * setpcap net_bind_service net_raw sys_chroot audit_write setfcap. Docker keeps mknod and relies on its
 * device cgroup to make the nodes useless; here there is no such rule, the root and volumes are nodev,
 * and /dev (a tmpfs that holds the nodes made for the container) gets no new ones. */
#define CONTAINER_DEFAULT_CAPABILITIES UINT64_C(0xa00425fb)

/* Whether the container shares the host's network namespace (--net host). */
bool container_shares_host_network(const struct container *c);

/* Create the container, run its command to the end, remove everything created, and return the exit
 * status for `sysprim run`: the command's, 128+N for signal N, or 125/126/127. */
int container_run(const struct container *c);

#endif
