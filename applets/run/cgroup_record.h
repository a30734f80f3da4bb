/* The record of the cgroups a `sysprim run` makes, kept in /run/sysprim/cgroup/PID-STARTTIME while it
 * runs, so that when it is killed with SIGKILL (and cannot remove them) a later run can: the owner's
 * pid and start time in the name tell a dead owner from a live one and from a later process that
 * reuses the pid. Part of the `run` applet. */
#ifndef SYSPRIM_RUN_CGROUP_RECORD_H
#define SYSPRIM_RUN_CGROUP_RECORD_H

#include <stdbool.h>

#define CGROUP_RECORD_DIR "/run/sysprim/cgroup"

struct cgroup_record {
        int fd;         /* the record file, open for appending; -1: none (yet, or it could not be made) */
        char path[64];
};

/* Nothing recorded yet. */
void cgroup_record_init(struct cgroup_record *record);

/* Note `cgroup_path` before it is created (so a kill between the two leaves nothing unrecorded). A
 * record that cannot be written (rootless: /run is not ours) only costs the clean-up after a kill. */
void cgroup_record_add(struct cgroup_record *record, const char *cgroup_path);

/* Close the record; when `removed_all` (every recorded cgroup is gone), delete it too (its directory
 * stays for the next run). Otherwise it stays for a later run to finish. */
void cgroup_record_close(struct cgroup_record *record, bool removed_all);

/* Remove the recorded cgroups of every owner that no longer runs, and their records. rmdir removes only
 * an empty cgroup (no process, no child cgroup): one whose processes still live stays recorded. Cheap
 * when there is nothing to do (one failing opendir); problems are logged at debug level only. */
void cgroup_record_remove_stale(void);

#endif
