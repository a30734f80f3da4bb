/* The container's filesystem, built by the child in its own mount namespace (see rootfs.h). Nothing is
 * created on the host: the scratch tmpfs and every mount vanish with the namespace. Part of `run`. */
#include "rootfs.h"
#include "cgroup.h"
#include "container.h"

#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PROC_FD_PATH_SIZE 32

static void proc_fd_path(char *buf, int fd)
{
        snprintf(buf, PROC_FD_PATH_SIZE, "/proc/self/fd/%d", fd);
}

static int mount_or_fail(const char *source, const char *target, const char *type, unsigned long flags,
                         const char *data, struct err *e)
{
        if (mount(source, target, type, flags, data) < 0)
                return err_set(e, errno, "mount %s on %s", type ? type : source ? source : "(remount)", target);
        return 0;
}

/* mkdir -p inside the current root; `path` is absolute. Existing directories are fine. */
static int make_directories(const char *path, mode_t mode, struct err *e)
{
        char buf[PATH_MAX];
        if (strlen(path) >= sizeof(buf))
                return err_set(e, ENAMETOOLONG, "%s", path);
        strcpy(buf, path);
        for (char *p = buf + 1;; p++) {
                if (*p == '/' || *p == '\0') {
                        char saved = *p;
                        *p = '\0';
                        if (buf[0] && mkdir(buf, mode) < 0 && errno != EEXIST) {
                                int saved_errno = errno;
                                struct stat st;
                                if (!(saved_errno == EROFS && stat(buf, &st) == 0 && S_ISDIR(st.st_mode)))
                                        return err_set(e, saved_errno, "create directory %s in the container", buf);
                        }
                        *p = saved;
                        if (saved == '\0')
                                break;
                }
        }
        return 0;
}

/* The directory `path` of the new root that the container's `what` is mounted on, made when the root
 * filesystem has none. A failure names the root filesystem as the user gave it (not the path it is
 * reached by here) and the directory as the container sees it, `shown`: a --rootfs-rw or a read-only
 * root lacking it is the user's to fix. */
static int make_mount_point(const struct container *c, const char *path, mode_t mode, const char *shown,
                            const char *what, struct err *e)
{
        const char *rootfs = c->rootfs ? c->rootfs : "/";
        struct stat st;
        if (mkdir(path, mode) == 0)
                return 0;
        int saved = errno;
        if (stat(path, &st) == 0) {
                if (S_ISDIR(st.st_mode))
                        return 0;
                return err_plain(e, ENOTDIR, "root filesystem %s: %s is not a directory (the container's %s is "
                                 "mounted there)", rootfs, shown, what);
        }
        return err_set(e, saved, "root filesystem %s has no %s directory (the container's %s is mounted there) "
                       "and none can be made in it", rootfs, shown, what);
}

/* A file to bind a file onto: an empty one when there is none, its directory first. */
static int make_file(const char *path, struct err *e)
{
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                int r = make_directories(dir, 0755, e);
                if (r < 0)
                        return r;
        }
        /* Whatever exists there but a directory is a mount point as it is, and is not opened: opening
         * a FIFO for writing blocks until a reader comes, opening a device may act on it. */
        struct stat st;
        if (stat(path, &st) == 0) {
                if (S_ISDIR(st.st_mode))
                        return err_set(e, EISDIR, "create %s in the container", path);
                return 0;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0)
                return err_set(e, errno, "create %s in the container", path);
        close(fd);
        return 0;
}

/* Build the root at `scratch`/root: the overlay (upper and work on the scratch tmpfs), or a bind.
 * Returns 1 when the root is a read-only bind because overlay failed. */
static int build_root(const struct container *c, int lower_fd, const char *scratch, struct err *e)
{
        char lower[PROC_FD_PATH_SIZE], root[PATH_MAX], upper[PATH_MAX], work[PATH_MAX];
        proc_fd_path(lower, lower_fd);
        snprintf(root, sizeof(root), "%s/root", scratch);
        if (mkdir(root, 0755) < 0)
                return err_set(e, errno, "create the new root's mount point on the scratch tmpfs");
        /* No device node of the root (one an image ships, or one made with --cap-add MKNOD) opens: the
         * container's devices are the few bound or made under /dev. --privileged keeps them all. */
        struct mount_attr no_devices = { .attr_set = c->privileged ? 0 : MOUNT_ATTR_NODEV };
        if (c->rootfs_mode == ROOTFS_WRITE_THROUGH) {
                if (mount(lower, root, NULL, MS_BIND, NULL) < 0)
                        return err_set(e, errno, "bind the root filesystem %s", c->rootfs);
                if (mount_setattr(AT_FDCWD, root, 0, &no_devices, sizeof(no_devices)) < 0)
                        return err_set(e, errno, "make the root filesystem %s nodev", c->rootfs);
                return 0;
        }

        snprintf(upper, sizeof(upper), "%s/upper", scratch);
        snprintf(work, sizeof(work), "%s/work", scratch);
        if (mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0)
                return err_set(e, errno, "create the overlay's directories on the scratch tmpfs");
        char options[3 * PATH_MAX];
        /* In a user namespace overlayfs keeps its metadata in user.* xattrs (trusted.* needs host root). */
        snprintf(options, sizeof(options), "lowerdir=%s,upperdir=%s,workdir=%s%s", lower, upper, work,
                 c->user_namespace ? ",userxattr" : "");
        if (mount("overlay", root, "overlay", c->privileged ? 0 : MS_NODEV, options) == 0)
                return 0;
        int overlay_errno = errno;
        /* In a user namespace the host's submounts are locked to their parent: only a recursive bind
         * may take it. */
        struct mount_attr read_only = { .attr_set = MOUNT_ATTR_RDONLY | no_devices.attr_set };
        if (mount(lower, root, NULL, MS_BIND | (c->user_namespace ? MS_REC : 0), NULL) < 0 ||
            mount_setattr(AT_FDCWD, root, AT_RECURSIVE, &read_only, sizeof(read_only)) < 0)
                return err_set(e, overlay_errno, "mount overlayfs on %s (and a read-only bind failed too)",
                               c->rootfs ? c->rootfs : "/");
        log_warn("overlayfs unavailable for %s (%s): the root is a read-only bind instead",
                 c->rootfs ? c->rootfs : "/", strerror(overlay_errno));
        return 1;
}

/* Make the new root, the current directory, the root. */
static int pivot_into(const struct container *c, struct err *e)
{
        /* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves no path back. */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return err_set(e, errno, "pivot_root into the root filesystem %s", c->rootfs ? c->rootfs : "/");
        if (umount2(".", MNT_DETACH) < 0)
                return err_set(e, errno, "detach the old root");
        if (chdir("/") < 0)
                return err_set(e, errno, "chdir /");
        return 0;
}

static const struct {
        const char *name;
        unsigned major, minor;
} device_nodes[] = {
        { "/dev/null", 1, 3 },    { "/dev/zero", 1, 5 },    { "/dev/full", 1, 7 },
        { "/dev/random", 1, 8 },  { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};
#define DEVICE_NODES ARRAY_SIZE(device_nodes)

/* In a user namespace there is no mknod (and a tmpfs mounted there ignores device nodes): the host's
 * nodes are bound instead, cloned (open_tree) while the host's /dev is still reachable. */
static int clone_device_nodes(int *fds, struct err *e)
{
        for (size_t i = 0; i < DEVICE_NODES; i++) {
                fds[i] = open_tree(AT_FDCWD, device_nodes[i].name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (fds[i] < 0)
                        return err_set(e, errno, "clone the host's %s", device_nodes[i].name);
        }
        return 0;
}

/* Attach the detached mount `clone_fd` (open_tree) at `path`, a file created for it. 0 or -errno. */
static int bind_on_new_file(int clone_fd, const char *path, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        close(fd);
        return move_mount(clone_fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0 ? -errno : 0;
}

static int populate_dev(const struct container *c, const int *node_fds, int console_fd, struct err *e)
{
        static const struct {
                const char *name, *target;
        } links[] = {
                { "/dev/ptmx", "pts/ptmx" },       { "/dev/fd", "/proc/self/fd" },
                { "/dev/stdin", "/proc/self/fd/0" }, { "/dev/stdout", "/proc/self/fd/1" },
                { "/dev/stderr", "/proc/self/fd/2" },
        };
        int r;
        if ((r = make_mount_point(c, "/dev", 0755, "/dev", "/dev tmpfs", e)) < 0 ||
            (r = mount_or_fail("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", e)) < 0)
                return r;
        mode_t saved_umask = umask(0);
        for (size_t i = 0; i < DEVICE_NODES; i++) {
                const char *name = device_nodes[i].name;
                if (node_fds) {
                        if ((r = bind_on_new_file(node_fds[i], name, 0666)) < 0) {
                                umask(saved_umask);
                                return err_set(e, r, "bind the host's %s", name);
                        }
                } else if (mknod(name, S_IFCHR | 0666, makedev(device_nodes[i].major, device_nodes[i].minor)) < 0) {
                        umask(saved_umask);
                        return err_set(e, errno, "create %s", name);
                }
        }
        if (console_fd >= 0 && (r = bind_on_new_file(console_fd, "/dev/console", 0600)) < 0)
                log_debug("bind the terminal on /dev/console: %s", strerror(-r));
        umask(saved_umask);
        for (size_t i = 0; i < ARRAY_SIZE(links); i++)
                if (symlink(links[i].target, links[i].name) < 0)
                        return err_set(e, errno, "create %s", links[i].name);
        if (mkdir("/dev/pts", 0755) < 0 || mkdir("/dev/shm", 01777) < 0 || mkdir("/dev/mqueue", 01777) < 0)
                return err_set(e, errno, "create /dev/pts, /dev/shm and /dev/mqueue");
        if ((r = mount_or_fail("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                               c->user_namespace ? "newinstance,ptmxmode=0666,mode=0620"
                                                 : "newinstance,ptmxmode=0666,mode=0620,gid=5", e)) < 0)
                return r;
        if ((r = mount_or_fail("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k",
                               e)) < 0)
                return r;
        /* The container's own POSIX message queues (its IPC namespace's), where crun and Docker put
         * them. */
        return mount_or_fail("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e);
}

/* runc's lists: kernel interfaces a container should not read (masked) or write (read-only). */
static const char *const masked_paths[] = {
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap",
};
static const char *const read_only_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static int mask_paths(struct err *e)
{
        int r;
        for (size_t i = 0; i < ARRAY_SIZE(masked_paths); i++) {
                struct stat st;
                const char *p = masked_paths[i];
                if (stat(p, &st) < 0)
                        continue; /* not in this kernel */
                if (S_ISDIR(st.st_mode))
                        r = mount_or_fail("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                          "size=0", e);
                else
                        r = mount_or_fail("/dev/null", p, NULL, MS_BIND, NULL, e);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ARRAY_SIZE(read_only_paths); i++) {
                const char *p = read_only_paths[i];
                if (access(p, F_OK) < 0)
                        continue;
                if ((r = mount_or_fail(p, p, NULL, MS_BIND | MS_REC, NULL, e)) < 0 ||
                    (r = mount_or_fail(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                       NULL, e)) < 0)
                        return r;
        }
        return 0;
}

/* Volumes arrive as detached copies of the host's mount trees (open_tree), made before pivot_root: the
 * host's paths are unreachable afterwards, and a path inside the container is resolved inside it. */
static int mount_volumes(const struct container *c, const int *source_fds, struct err *e)
{
        int r;
        for (size_t i = 0; i < c->mount_count; i++) {
                const struct container_mount *m = &c->mounts[i];
                if (m->kind == MOUNT_TMPFS) {
                        char options[64] = "mode=1777";
                        if (m->size)
                                snprintf(options, sizeof(options), "mode=1777,size=%llu", (unsigned long long)m->size);
                        if ((r = make_directories(m->target, 0755, e)) < 0 ||
                            (r = mount_or_fail("tmpfs", m->target, "tmpfs", MS_NOSUID | MS_NODEV, options, e)) < 0)
                                return r;
                        continue;
                }
                struct stat st;
                if (fstat(source_fds[i], &st) < 0)
                        return err_set(e, errno, "volume %s", m->source);
                r = S_ISDIR(st.st_mode) ? make_directories(m->target, 0755, e) : make_file(m->target, e);
                if (r < 0)
                        return r;
                /* A target that is a symlink (/var/run -> /run) is followed: after pivot_root it can
                 * only lead to somewhere in the container's root. */
                if (move_mount(source_fds[i], "", AT_FDCWD, m->target,
                               MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0) {
                        int saved = errno;
                        struct stat target;
                        /* The kernel's EINVAL for a directory over a file, or a file over a directory. */
                        if (stat(m->target, &target) == 0 && S_ISDIR(target.st_mode) != S_ISDIR(st.st_mode))
                                return err_plain(e, saved, "volume %s is a %s, and %s in the container is %s: a "
                                                 "volume goes only over its own kind", m->source,
                                                 S_ISDIR(st.st_mode) ? "directory" : "file", m->target,
                                                 S_ISDIR(target.st_mode) ? "a directory" : "not a directory");
                        return err_set(e, saved, "mount volume %s on %s", m->source, m->target);
                }
        }
        return 0;
}

/* A detached copy of the mount tree at `source`: nodev unless --privileged (as the root), read-only
 * throughout when asked. */
static int clone_volume(const struct container *c, const struct container_mount *m, struct err *e)
{
        int fd = open_tree(AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fd < 0)
                return err_set(e, errno, "volume source %s", m->source);
        struct mount_attr attr = { .attr_set = (m->read_only ? MOUNT_ATTR_RDONLY : 0) |
                                               (c->privileged ? 0 : MOUNT_ATTR_NODEV) };
        if (attr.attr_set && mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
                int saved = errno;
                close(fd);
                return err_set(e, saved, "make volume %s %s", m->source, m->read_only ? "read-only" : "nodev");
        }
        return fd;
}

/* /proc and /sys of the new root, the current directory, mounted while the host's are still in this
 * namespace: in a user namespace the kernel only allows them when an unobstructed instance is visible
 * to the mounter. The paths are relative: the new root has no path that would mean anything to the
 * user (it is reached through /proc/self/fd). */
static int mount_kernel_filesystems(const struct container *c, const struct cgroup *cgroup, struct err *e)
{
        int r;
        unsigned long sys_flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (c->privileged ? 0 : MS_RDONLY);
        if ((r = make_mount_point(c, "proc", 0555, "/proc", "proc", e)) < 0)
                return r;
        if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return err_set(e, errno, "mount proc on the container's /proc");
        if ((r = make_mount_point(c, "sys", 0555, "/sys", "sysfs", e)) < 0)
                return r;
        if (mount("sysfs", "sys", "sysfs", sys_flags, NULL) < 0) {
                /* A user namespace sharing the host's network namespace may not mount sysfs: bind the
                 * host's. */
                if (!(errno == EPERM && c->user_namespace))
                        return err_set(e, errno, "mount sysfs on the container's /sys");
                if (mount("/sys", "sys", NULL, MS_BIND | MS_REC, NULL) < 0)
                        return err_set(e, errno, "bind the host's /sys on the container's /sys");
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                if (!c->privileged && mount_setattr(AT_FDCWD, "sys", AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                        return err_set(e, errno, "make the container's /sys read-only");
        }
        r = cgroup_mount_view(cgroup, "sys/fs/cgroup", !c->privileged, e);
        return r < 0 ? err_wrap(e, "the container's /sys/fs/cgroup") : r;
}

const char *rootfs_kernel_filesystem(const char *path)
{
        static const struct {
                unsigned long magic;
                const char *name;
        } kernel_filesystems[] = {
                { PROC_SUPER_MAGIC, "proc" },       { SYSFS_MAGIC, "sysfs" },
                { CGROUP_SUPER_MAGIC, "cgroup" },   { CGROUP2_SUPER_MAGIC, "cgroup2" },
                { DEVPTS_SUPER_MAGIC, "devpts" },   { DEBUGFS_MAGIC, "debugfs" },
                { TRACEFS_MAGIC, "tracefs" },       { SECURITYFS_MAGIC, "securityfs" },
                { BPF_FS_MAGIC, "bpf" },            { PSTOREFS_MAGIC, "pstore" },
                { EFIVARFS_MAGIC, "efivarfs" },     { SELINUX_MAGIC, "selinuxfs" },
                { BINFMTFS_MAGIC, "binfmt_misc" },
        };
        struct statfs st;
        if (statfs(path, &st) < 0)
                return NULL;
        for (size_t i = 0; i < ARRAY_SIZE(kernel_filesystems); i++)
                if ((unsigned long)st.f_type == kernel_filesystems[i].magic)
                        return kernel_filesystems[i].name;
        return NULL;
}

bool rootfs_is_host_root(const struct stat *st)
{
        struct stat root;
        return stat("/", &root) == 0 && st->st_dev == root.st_dev && st->st_ino == root.st_ino;
}

int rootfs_open_sources(const struct container *c, struct rootfs_sources *sources, struct err *e)
{
        int r;
        sources->lower_fd = -1;
        sources->scratch_fd = -1;
        sources->console_fd = -1;
        sources->volume_fds = NULL;
        for (size_t i = 0; i < DEVICE_NODES; i++)
                sources->node_fds[i] = -1;
        /* Nothing mounted from here on may propagate back to the host. */
        if ((r = mount_or_fail(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, e)) < 0)
                return r;
        const char *rootfs = c->rootfs ? c->rootfs : "/";
        sources->lower_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (sources->lower_fd < 0)
                return err_set(e, errno, "open root filesystem %s", rootfs);
        /* The scratch tmpfs holds the overlay's upper layer and the mount point of the new root. It goes
         * over the rootfs directory itself (or /tmp for the host's root): only this namespace sees it.
         * The host's root is recognised by identity, not spelling: "/.", "//" or "/tmp/.." name it too,
         * and a scratch tmpfs on top of this process's root would keep the old root attached after
         * pivot_root. */
        struct stat st, lower_st;
        bool host_root = fstat(sources->lower_fd, &lower_st) == 0 && rootfs_is_host_root(&lower_st);
        const char *scratch = c->rootfs && !host_root ? c->rootfs
                              : stat("/tmp", &st) == 0 && S_ISDIR(st.st_mode) ? "/tmp" : "/mnt";
        sources->scratch_fd = open(scratch, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (sources->scratch_fd < 0) {
                int saved = errno;
                rootfs_close_sources(c, sources);
                return err_set(e, saved, "open %s", scratch);
        }
        sources->volume_fds = calloc(c->mount_count + 1, sizeof(int));
        if (sources->volume_fds == NULL) {
                rootfs_close_sources(c, sources);
                return err_set(e, ENOMEM, "volumes");
        }
        for (size_t i = 0; i < c->mount_count; i++)
                sources->volume_fds[i] = -1;
        for (size_t i = 0; i < c->mount_count && r >= 0; i++)
                if (c->mounts[i].kind == MOUNT_BIND && (sources->volume_fds[i] = clone_volume(c, &c->mounts[i], e)) < 0)
                        r = sources->volume_fds[i];
        if (r >= 0 && c->user_namespace)
                r = clone_device_nodes(sources->node_fds, e);
        /* The caller's terminal, to show as /dev/console: its own devpts is not in the container, so
         * without it ttyname() fails there (`tty` said "not a tty"). Best effort. */
        for (int fd = 0; r >= 0 && fd <= 2 && sources->console_fd < 0; fd++) {
                /* By its path (/dev/pts/N): the descriptor's own mount is the caller's namespace's,
                 * which open_tree does not clone from here. */
                char path[PATH_MAX];
                if (ttyname_r(fd, path, sizeof(path)) == 0)
                        sources->console_fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        }
        if (r < 0)
                rootfs_close_sources(c, sources);
        return r < 0 ? r : 0;
}

void rootfs_close_sources(const struct container *c, struct rootfs_sources *sources)
{
        if (sources->lower_fd >= 0)
                close(sources->lower_fd);
        sources->lower_fd = -1;
        if (sources->scratch_fd >= 0)
                close(sources->scratch_fd);
        sources->scratch_fd = -1;
        if (sources->console_fd >= 0)
                close(sources->console_fd);
        sources->console_fd = -1;
        for (size_t i = 0; sources->volume_fds && i < c->mount_count; i++)
                if (sources->volume_fds[i] >= 0)
                        close(sources->volume_fds[i]);
        free(sources->volume_fds);
        sources->volume_fds = NULL;
        for (size_t i = 0; i < DEVICE_NODES; i++) {
                if (sources->node_fds[i] >= 0)
                        close(sources->node_fds[i]);
                sources->node_fds[i] = -1;
        }
}

int rootfs_enter(const struct container *c, const struct rootfs_sources *sources, const struct cgroup *cgroup,
                 struct err *e)
{
        int r;
        /* The scratch tmpfs, made and attached through descriptors (fsopen, move_mount) and then named
         * through /proc/self/fd: after --userns has changed the identity, the host's path to the root
         * filesystem may not be searchable any more. */
        _cleanup_close_ int fs_fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
        _cleanup_close_ int scratch_mount_fd = -1;
        if (fs_fd < 0 || fsconfig(fs_fd, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
            fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
            (scratch_mount_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)) < 0 ||
            move_mount(scratch_mount_fd, "", sources->scratch_fd, "",
                       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return err_set(e, errno, "mount the scratch tmpfs");
        char scratch[PROC_FD_PATH_SIZE];
        proc_fd_path(scratch, scratch_mount_fd);
        r = 0;
        if (r >= 0) {
                char root[PATH_MAX];
                snprintf(root, sizeof(root), "%s/root", scratch);
                r = build_root(c, sources->lower_fd, scratch, e);
                /* Into the new root (the mount on it, now that there is one). */
                if (r >= 0 && chdir(root) < 0)
                        r = err_set(e, errno, "enter the new root");
                if (r >= 0)
                        r = mount_kernel_filesystems(c, cgroup, e);
                if (r >= 0)
                        r = pivot_into(c, e);
        }
        if (r >= 0) {
                int rc = 0;
                if ((rc = populate_dev(c, c->user_namespace ? sources->node_fds : NULL, sources->console_fd, e)) < 0 ||
                    (rc = make_mount_point(c, "/tmp", 01777, "/tmp", "/tmp tmpfs", e)) < 0 ||
                    (rc = mount_or_fail("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", e)) < 0 ||
                    (!c->privileged && (rc = mask_paths(e)) < 0) || (rc = mount_volumes(c, sources->volume_fds, e)) < 0)
                        r = rc;
        }
        return r < 0 ? r : 0;
}

int rootfs_finish(const struct container *c, struct err *e)
{
        int r;
        if (c->workdir && (r = make_directories(c->workdir, 0755, e)) < 0)
                return r;
        if (c->rootfs_mode == ROOTFS_READ_ONLY &&
            (r = mount_or_fail(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL, e)) < 0)
                return r;
        if (chdir(c->workdir ? c->workdir : "/") < 0)
                return err_set(e, errno, "enter the working directory %s", c->workdir);
        return 0;
}
