/* The container's filesystem, built in the child inside its new mount namespace: the root (overlay on
 * a private tmpfs, a writable bind or a read-only one), pivot_root into it, then /proc, /sys, /dev,
 * /tmp, the masked paths, volumes and tmpfs mounts. Part of the `run` applet. */
#ifndef SYSPRIM_RUN_ROOTFS_H
#define SYSPRIM_RUN_ROOTFS_H

struct container;
struct err;

/* Everything up to and including the container's own mounts; afterwards "/" is the container's root
 * and the host's root is detached. Host paths (the root, volume sources) are opened before anything is
 * mounted over them and used through their descriptors. 0 or -errno. */
int rootfs_enter(const struct container *c, struct err *e);

/* The last steps, once nothing else needs to write to the root: --read-only, --workdir. */
int rootfs_finish(const struct container *c, struct err *e);

#endif
