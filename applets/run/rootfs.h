/* The container's filesystem, built in the child inside its new mount namespace: the root (overlay on
 * a private tmpfs, a writable bind or a read-only one), pivot_root into it, then /proc, /sys, /dev,
 * /tmp, the masked paths, volumes and tmpfs mounts. Part of the `run` applet. */
#ifndef SYSPRIM_RUN_ROOTFS_H
#define SYSPRIM_RUN_ROOTFS_H

#include <stdbool.h>

struct cgroup;
struct container;
struct err;
struct stat;

/* The host paths a container is built from, opened (volumes and, in a user namespace, the device nodes
 * cloned with open_tree) before anything is mounted over them or the identity changes. */
struct rootfs_sources {
        int lower_fd;      /* the root directory (O_PATH) */
        int *volume_fds;   /* one per container mount; -1 for tmpfs */
        int node_fds[6];   /* user namespace: clones of the host's /dev nodes; else -1 */
        int scratch_fd;    /* the directory the scratch tmpfs goes over (O_PATH) */
        int console_fd;    /* a clone of the caller's terminal (the first of fds 0-2 that is one), or -1 */
};

/* Whether st (of a directory) is the host's root directory, however its path was spelt ("/.", "//",
 * "/tmp/.."): compared by device and inode with "/". */
bool rootfs_is_host_root(const struct stat *st);

/* The name of the kernel filesystem `path` is on ("proc", "sysfs", "cgroup2" ...), or NULL for any
 * other: a kernel interface is no root filesystem (and the scratch tmpfs over /proc would hide
 * /proc/self, through which the new root is reached). */
const char *rootfs_kernel_filesystem(const char *path);

/* Make every mount private to this namespace, then open the sources. 0 or -errno; on failure what was
 * opened is closed. */
int rootfs_open_sources(const struct container *c, struct rootfs_sources *sources, struct err *e);
void rootfs_close_sources(const struct container *c, struct rootfs_sources *sources);

/* Everything up to and including the container's own mounts (with its cgroups at /sys/fs/cgroup);
 * afterwards "/" is the container's root and the host's root is detached. 0 or -errno. */
int rootfs_enter(const struct container *c, const struct rootfs_sources *sources, const struct cgroup *cgroup,
                 struct err *e);

/* The last steps, once nothing else needs to write to the root: --read-only, --workdir. */
int rootfs_finish(const struct container *c, struct err *e);

#endif
