/* The container's filesystem, built by the child in its own mount namespace (see rootfs.h). Nothing is
 * created on the host: the scratch tmpfs and every mount vanish with the namespace. Part of `run`. */
#include "rootfs.h"
#include "container.h"

#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
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

/* An empty file to bind a file onto, creating its directory first. */
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
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0) {
                struct stat st;
                if (errno == EROFS && stat(path, &st) == 0)
                        return 0;
                return err_set(e, errno, "create %s in the container", path);
        }
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
                return err_set(e, errno, "create %s", root);
        if (c->rootfs_mode == ROOTFS_WRITE_THROUGH)
                return mount_or_fail(lower, root, NULL, MS_BIND, NULL, e);

        snprintf(upper, sizeof(upper), "%s/upper", scratch);
        snprintf(work, sizeof(work), "%s/work", scratch);
        if (mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0)
                return err_set(e, errno, "create the overlay's directories in %s", scratch);
        char options[3 * PATH_MAX];
        snprintf(options, sizeof(options), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
        if (mount("overlay", root, "overlay", 0, options) == 0)
                return 0;
        int overlay_errno = errno;
        if (mount(lower, root, NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                return err_set(e, overlay_errno, "mount overlayfs on %s (and a read-only bind failed too)",
                               c->rootfs ? c->rootfs : "/");
        log_warn("overlayfs unavailable for %s (%s): the root is a read-only bind instead",
                 c->rootfs ? c->rootfs : "/", strerror(overlay_errno));
        return 1;
}

static int pivot_into(const char *root, struct err *e)
{
        if (chdir(root) < 0)
                return err_set(e, errno, "enter %s", root);
        /* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves no path back. */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return err_set(e, errno, "pivot_root into %s", root);
        if (umount2(".", MNT_DETACH) < 0)
                return err_set(e, errno, "detach the old root");
        if (chdir("/") < 0)
                return err_set(e, errno, "chdir /");
        return 0;
}

static int populate_dev(const struct container *c, struct err *e)
{
        static const struct {
                const char *name;
                unsigned major, minor;
        } nodes[] = {
                { "/dev/null", 1, 3 },    { "/dev/zero", 1, 5 },    { "/dev/full", 1, 7 },
                { "/dev/random", 1, 8 },  { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
        };
        static const struct {
                const char *name, *target;
        } links[] = {
                { "/dev/ptmx", "pts/ptmx" },       { "/dev/fd", "/proc/self/fd" },
                { "/dev/stdin", "/proc/self/fd/0" }, { "/dev/stdout", "/proc/self/fd/1" },
                { "/dev/stderr", "/proc/self/fd/2" },
        };
        int r;
        if ((r = make_directories("/dev", 0755, e)) < 0 ||
            (r = mount_or_fail("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", e)) < 0)
                return r;
        mode_t saved_umask = umask(0);
        for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
                if (mknod(nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0) {
                        umask(saved_umask);
                        return err_set(e, errno, "create %s", nodes[i].name);
                }
        }
        umask(saved_umask);
        for (size_t i = 0; i < ARRAY_SIZE(links); i++)
                if (symlink(links[i].target, links[i].name) < 0)
                        return err_set(e, errno, "create %s", links[i].name);
        if (mkdir("/dev/pts", 0755) < 0 || mkdir("/dev/shm", 01777) < 0)
                return err_set(e, errno, "create /dev/pts and /dev/shm");
        if ((r = mount_or_fail("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                               c->user_namespace ? "newinstance,ptmxmode=0666,mode=0620"
                                                 : "newinstance,ptmxmode=0666,mode=0620,gid=5", e)) < 0)
                return r;
        if ((r = mount_or_fail("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k",
                               e)) < 0)
                return r;
        return 0;
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
                if (move_mount(source_fds[i], "", AT_FDCWD, m->target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        return err_set(e, errno, "mount volume %s on %s", m->source, m->target);
        }
        return 0;
}

/* A detached copy of the mount tree at `source` (read-only throughout when asked). */
static int clone_volume(const struct container_mount *m, struct err *e)
{
        int fd = open_tree(AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fd < 0)
                return err_set(e, errno, "volume source %s", m->source);
        if (m->read_only) {
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
                        int saved = errno;
                        close(fd);
                        return err_set(e, saved, "make volume %s read-only", m->source);
                }
        }
        return fd;
}

int rootfs_enter(const struct container *c, struct err *e)
{
        int r;
        /* Nothing mounted from here on may propagate back to the host. */
        if ((r = mount_or_fail(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, e)) < 0)
                return r;

        /* Open every host path before mounting over anything: the scratch tmpfs may hide them. */
        const char *rootfs = c->rootfs ? c->rootfs : "/";
        _cleanup_close_ int lower_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (lower_fd < 0)
                return err_set(e, errno, "open root filesystem %s", rootfs);
        _cleanup_free_ int *source_fds = calloc(c->mount_count + 1, sizeof(int));
        if (source_fds == NULL)
                return err_set(e, ENOMEM, "volumes");
        for (size_t i = 0; i < c->mount_count; i++) {
                source_fds[i] = -1;
                if (c->mounts[i].kind == MOUNT_BIND && (source_fds[i] = clone_volume(&c->mounts[i], e)) < 0)
                        return source_fds[i];
        }

        /* The scratch tmpfs holds the overlay's upper layer and the mount point of the new root. It goes
         * over the rootfs directory itself (or /tmp for the host's root): only this namespace sees it. */
        struct stat st;
        const char *scratch = c->rootfs && strcmp(c->rootfs, "/") != 0 ? c->rootfs
                              : stat("/tmp", &st) == 0 && S_ISDIR(st.st_mode) ? "/tmp" : "/mnt";
        r = mount_or_fail("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", e);
        if (r == 0) {
                char root[PATH_MAX];
                snprintf(root, sizeof(root), "%s/root", scratch);
                r = build_root(c, lower_fd, scratch, e);
                if (r >= 0)
                        r = pivot_into(root, e);
        }
        if (r >= 0) {
                int rc = 0;
                if ((rc = make_directories("/proc", 0555, e)) < 0 ||
                    (rc = mount_or_fail("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e)) < 0 ||
                    (rc = make_directories("/sys", 0555, e)) < 0 ||
                    (rc = mount_or_fail("sysfs", "/sys", "sysfs",
                                        MS_NOSUID | MS_NODEV | MS_NOEXEC | (c->privileged ? 0 : MS_RDONLY), NULL,
                                        e)) < 0 ||
                    (rc = populate_dev(c, e)) < 0 ||
                    (rc = make_directories("/tmp", 01777, e)) < 0 ||
                    (rc = mount_or_fail("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", e)) < 0 ||
                    (!c->privileged && (rc = mask_paths(e)) < 0) || (rc = mount_volumes(c, source_fds, e)) < 0)
                        r = rc;
        }
        for (size_t i = 0; i < c->mount_count; i++)
                if (source_fds[i] >= 0)
                        close(source_fds[i]);
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
