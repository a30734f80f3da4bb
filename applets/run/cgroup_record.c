/* The record of a run's cgroups, and the removal of those whose owner is gone (see cgroup_record.h).
 * Part of the `run` applet. */
#include "cgroup_record.h"
#include "process.h"

#include "sysprim/log.h"
#include "sysprim/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Recorded paths must name a container cgroup: a damaged or planted record cannot point elsewhere. */
#define CGROUP_ROOT "/sys/fs/cgroup/"
#define CGROUP_NAME_PREFIX "sysprim-run-"

void cgroup_record_init(struct cgroup_record *record)
{
        record->fd = -1;
        record->path[0] = '\0';
}

/* Create this process's record file, and its directory the first time. The directory stays, as
 * runc's and crun's state directories do: removing it after every run and making it again in the next
 * cost two rmdir and two mkdir per run with limits (~150 us where /run is not a tmpfs). */
static int record_create(struct cgroup_record *record)
{
        pid_t self = getpid();
        snprintf(record->path, sizeof(record->path), CGROUP_RECORD_DIR "/%d-%llu", (int)self,
                 process_start_time(self));
        const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
        int fd = open(record->path, flags, 0644);
        if (fd < 0 && errno == ENOENT && (mkdir("/run/sysprim", 0755) == 0 || errno == EEXIST) &&
            (mkdir(CGROUP_RECORD_DIR, 0755) == 0 || errno == EEXIST))
                fd = open(record->path, flags, 0644);
        if (fd >= 0)
                return fd;
        log_debug("cannot record the container's cgroups in %s: %s", record->path, strerror(errno));
        record->path[0] = '\0';
        return -1;
}

void cgroup_record_add(struct cgroup_record *record, const char *cgroup_path)
{
        if (record->fd < 0 && record->path[0] == '\0')
                record->fd = record_create(record);
        if (record->fd < 0)
                return;
        char line[PATH_MAX + 2];
        int n = snprintf(line, sizeof(line), "%s\n", cgroup_path);
        if (n > 0 && (size_t)n < sizeof(line) && util_write_all(record->fd, line, (size_t)n) < 0)
                log_debug("record cgroup %s in %s: %s", cgroup_path, record->path, strerror(errno));
}

static void remove_record_file(const char *path)
{
        if (unlink(path) < 0 && errno != ENOENT)
                log_debug("remove %s: %s", path, strerror(errno));
}

void cgroup_record_close(struct cgroup_record *record, bool removed_all)
{
        if (record->fd >= 0)
                close(record->fd);
        record->fd = -1;
        if (record->path[0] && removed_all)
                remove_record_file(record->path);
        record->path[0] = '\0';
}

static bool is_container_cgroup(const char *path)
{
        const char *base = strrchr(path, '/');
        return strncmp(path, CGROUP_ROOT, strlen(CGROUP_ROOT)) == 0 && strstr(path, "/../") == NULL &&
               base != NULL && strncmp(base + 1, CGROUP_NAME_PREFIX, strlen(CGROUP_NAME_PREFIX)) == 0;
}

/* Remove the cgroups one record lists; true when none of them is left. */
static bool remove_recorded(const char *record_path)
{
        _cleanup_fclose_ FILE *f = fopen(record_path, "re");
        if (f == NULL)
                return errno == ENOENT;
        char line[PATH_MAX + 2];
        bool all = true;
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = '\0';
                if (!is_container_cgroup(line)) {
                        log_debug("%s: ignoring '%s' (not a container cgroup)", record_path, line);
                        continue;
                }
                if (rmdir(line) == 0) {
                        log_info("removed cgroup %s, left behind by a sysprim run that was killed", line);
                } else if (errno != ENOENT) {
                        log_debug("cgroup %s of a killed sysprim run stays: %s", line, strerror(errno));
                        all = false;
                }
        }
        return all;
}

void cgroup_record_remove_stale(void)
{
        _cleanup_closedir_ DIR *dir = opendir(CGROUP_RECORD_DIR);
        if (dir == NULL)
                return;
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
                int pid;
                unsigned long long start;
                char rest;
                if (sscanf(entry->d_name, "%d-%llu%c", &pid, &start, &rest) != 2 || pid <= 0)
                        continue;
                /* A start time of 0 could not be read when recorded: then only a missing pid is dead. */
                bool alive = start ? process_alive(pid, start) : process_exists(pid);
                if (pid == getpid() || alive)
                        continue;
                char path[sizeof(CGROUP_RECORD_DIR) + 256 + 1];
                snprintf(path, sizeof(path), CGROUP_RECORD_DIR "/%s", entry->d_name);
                if (remove_recorded(path))
                        remove_record_file(path);
        }
}
