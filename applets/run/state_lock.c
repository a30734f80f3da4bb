/* Lock files of networking's shared records (see state_lock.h). Part of the `run` applet. */
#include "state_lock.h"

#include "sysprim/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

const char *network_state_dir(void)
{
        static char dir[64];
        if (dir[0] == '\0') {
                /* By the namespace's inode (PID 1's namespace, to tell the host's, may be out of sight:
                 * it was in the sandbox this was written in). */
                struct stat own;
                if (stat("/proc/self/ns/net", &own) == 0)
                        snprintf(dir, sizeof(dir), NETWORK_STATE_ROOT "/ns-%llu", (unsigned long long)own.st_ino);
                else
                        snprintf(dir, sizeof(dir), NETWORK_STATE_ROOT);
        }
        return dir;
}

static int make_dirs(const char *path)
{
        char buf[PATH_MAX];
        if (strlen(path) >= sizeof(buf))
                return -ENAMETOOLONG;
        strcpy(buf, path);
        for (char *p = buf + 1;; p++) {
                if (*p == '/' || *p == '\0') {
                        char saved = *p;
                        *p = '\0';
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *p = saved;
                        if (saved == '\0')
                                return 0;
                }
        }
}

/* Lock files go away with the last user (a bridge's last container), so a waiter may end up holding a
 * lock on a file that is no longer there: after locking, check that the path still names the locked
 * file, and start again when it does not (the directory, too, may have just been removed).
 * Returns the locked fd or -errno. */
int state_lock_take(const char *lock_path, struct err *e)
{
        for (int attempt = 0;; attempt++) {
                int r = make_dirs(network_state_dir());
                if (r == -ENOENT && attempt < 100)
                        continue; /* a parent was removed as we went (it is removed when empty) */
                if (r < 0)
                        return err_set(e, r, "create %s", network_state_dir());
                int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0) {
                        if (errno == ENOENT && attempt < 100)
                                continue;
                        return err_set(e, errno, "open %s", lock_path);
                }
                while ((r = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
                        ;
                if (r < 0) {
                        r = err_set(e, errno, "lock %s", lock_path);
                        close(fd);
                        return r;
                }
                struct stat locked, named;
                if (fstat(fd, &locked) == 0 && stat(lock_path, &named) == 0 &&
                    locked.st_dev == named.st_dev && locked.st_ino == named.st_ino)
                        return fd;
                close(fd);
                if (attempt >= 100)
                        return err_set(e, EAGAIN, "lock %s: it keeps being replaced", lock_path);
        }
}
