/* The container's own cgroup: finds each controller in cgroup v2 (pure or hybrid) or v1, creates one
 * cgroup per container beneath the caller's, applies the limits, reads the statistics, removes it.
 * Part of the `run` applet; crun's idea of one ops set per version, in two small functions each. */
#ifndef SYSPRIM_RUN_CGROUP_H
#define SYSPRIM_RUN_CGROUP_H

#include "cgroup_record.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct err;
struct container;

enum cgroup_controller { CGROUP_MEMORY, CGROUP_CPU, CGROUP_PIDS, CGROUP_CONTROLLERS };

struct cgroup {
        bool wanted[CGROUP_CONTROLLERS];  /* the container needs this controller */
        bool in_v2[CGROUP_CONTROLLERS];   /* ...and found it in the unified hierarchy */
        /* Created directories: v1 one per controller (NULL entries unused), v2 at most one. */
        char *v1_path[CGROUP_CONTROLLERS];
        int v1_tasks_fd[CGROUP_CONTROLLERS]; /* each v1 cgroup's "tasks" file, open for the child */
        char *v2_path;
        int v2_fd;                        /* O_DIRECTORY fd of v2_path for CLONE_INTO_CGROUP, or -1 */
        struct cgroup_record record;      /* what was made, for a later run should this one be killed */
};

struct cgroup_stats {
        bool have_peak;
        uint64_t peak_bytes;
        bool have_oom;
        uint64_t oom_kills;
};

/* Nothing created yet; safe to pass to cgroup_remove(). */
void cgroup_init(struct cgroup *cg);
/* Whether the container needs a cgroup at all (limits or --stats). */
bool cgroup_needed(const struct container *c);
/* Create the container's cgroup(s) named `name` and write the limits. Refuses (with a message saying
 * which controller is missing) rather than ignoring a limit. 0 or -errno; partial work is undone by
 * cgroup_remove(). */
int cgroup_create(struct cgroup *cg, const struct container *c, const char *name, struct err *e);
/* In the container's first process: move itself into the v1 cgroups (the v2 one it was born in, through
 * v2_fd). A thread writing 0 to "tasks" moves only itself, which the kernel does without the global
 * lock that moving another process by its PID takes (and its wait for an RCU grace period). */
int cgroup_attach_self(const struct cgroup *cg, struct err *e);
/* In the parent once the child exists: close the descriptors only the child needed. */
void cgroup_close_attach_fds(struct cgroup *cg);
/* Whether any controller is on v1 (the child then enters a cgroup namespace only once attached). */
bool cgroup_uses_v1(const struct cgroup *cg);
/* In the container, while the host's /sys/fs/cgroup is still in view (before pivot_root): show the
 * container's own cgroups at target (its root's /sys/fs/cgroup) as the host lays them out, its v2
 * cgroup there on a v2 host, else a tmpfs with a directory per v1 hierarchy ("memory", "cpu,cpuacct"
 * with a "cpu" symlink) and the v2 one at "unified". Each is a bind of the container's cgroup
 * directory, whose root the container's cgroup namespace shows as "/": a program reading its limits
 * (a JVM, a Go runtime) finds them where it looks on a host. Nothing of the caller's cgroups is shown: without a cgroup of its own
 * (no limits, no --stats) target is left alone. 0 or -errno. */
int cgroup_mount_view(const struct cgroup *cg, const char *target, bool read_only, struct err *e);
void cgroup_read_stats(const struct cgroup *cg, struct cgroup_stats *stats);
/* Remove what cgroup_create() made (the processes must have exited). 0 or the first -errno. */
int cgroup_remove(struct cgroup *cg, struct err *e);

#endif
