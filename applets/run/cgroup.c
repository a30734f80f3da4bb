/* The container's own cgroup, v2 where the controller lives in the unified hierarchy, v1 otherwise
 * (hybrid hosts have both). Part of the `run` applet. */
#include "cgroup.h"
#include "container.h"

#include "sysprim/err.h"
#include "sysprim/size.h"
#include "sysprim/util.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

static const char *const controller_names[CGROUP_CONTROLLERS] = { "memory", "cpu", "pids" };
static const char *const limit_options[CGROUP_CONTROLLERS] = { "--mem", "--cpus", "--pids" };

void cgroup_init(struct cgroup *cg)
{
        memset(cg, 0, sizeof(*cg));
        cg->v2_fd = -1;
        cgroup_record_init(&cg->record);
        for (int i = 0; i < CGROUP_CONTROLLERS; i++)
                cg->v1_tasks_fd[i] = -1;
}

bool cgroup_needed(const struct container *c)
{
        return c->memory_limit || c->cpus > 0 || c->pids_limit || c->stats;
}

bool cgroup_uses_v1(const struct cgroup *cg)
{
        for (int i = 0; i < CGROUP_CONTROLLERS; i++)
                if (cg->v1_path[i])
                        return true;
        return false;
}

static bool is_filesystem(const char *path, long magic)
{
        struct statfs st;
        return statfs(path, &st) == 0 && st.f_type == magic;
}

/* The caller's cgroup in the hierarchy whose /proc/self/cgroup line has `controller` in its list
 * ("" for the v2 line "0::/path"). Writes the path (starting with '/') into `out`. */
static int own_cgroup_path(const char *cgroup_file, const char *controller, char *out, size_t size)
{
        for (const char *line = cgroup_file; *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t)(end - line) : strlen(line);
                const char *c1 = memchr(line, ':', len);
                const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
                if (c2) {
                        bool match;
                        size_t list_len = (size_t)(c2 - c1 - 1);
                        if (controller[0] == '\0') {
                                match = list_len == 0 && c1 - line == 1 && line[0] == '0';
                        } else {
                                match = false;
                                size_t name_len = strlen(controller);
                                for (const char *p = c1 + 1; p < c2;) {
                                        const char *comma = memchr(p, ',', (size_t)(c2 - p));
                                        size_t item = comma ? (size_t)(comma - p) : (size_t)(c2 - p);
                                        if (item == name_len && memcmp(p, controller, item) == 0)
                                                match = true;
                                        p += item + 1;
                                }
                        }
                        if (match) {
                                size_t path_len = len - (size_t)(c2 + 1 - line);
                                if (path_len == 0 || path_len >= size)
                                        return -ENAMETOOLONG;
                                memcpy(out, c2 + 1, path_len);
                                out[path_len] = '\0';
                                return 0;
                        }
                }
                line += len + (end ? 1 : 0);
        }
        return -ENOENT;
}

static bool word_in_list(const char *list, const char *word)
{
        size_t n = strlen(word);
        for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
                if ((p == list || p[-1] == ' ' || p[-1] == '\n') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
                        return true;
        return false;
}

static int write_in(const char *dir, const char *file, const char *value, struct err *e)
{
        char path[PATH_MAX * 3];
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        int r = util_write_file(path, value);
        if (r < 0)
                return err_set(e, r, "write '%s' to %s", value, path);
        return 0;
}

static int write_limits(const struct container *c, enum cgroup_controller which, const char *dir, bool v2,
                        struct err *e)
{
        char value[64];
        int r = 0;
        switch (which) {
        case CGROUP_MEMORY:
                if (c->memory_limit == 0)
                        return 0;
                snprintf(value, sizeof(value), "%llu", (unsigned long long)c->memory_limit);
                if (v2) {
                        r = write_in(dir, "memory.max", value, e);
                        /* No swap either, so the limit is the memory the container can hold. */
                        if (r == 0 && write_in(dir, "memory.swap.max", "0", NULL) < 0 && errno != ENOENT)
                                r = 0;
                } else {
                        r = write_in(dir, "memory.limit_in_bytes", value, e);
                        if (r == 0)
                                (void)write_in(dir, "memory.memsw.limit_in_bytes", value, NULL);
                }
                return r;
        case CGROUP_CPU: {
                if (c->cpus <= 0)
                        return 0;
                const unsigned long period = 100000;
                unsigned long quota = (unsigned long)(c->cpus * (double)period + 0.5);
                if (quota < 1000)
                        quota = 1000; /* the kernel's minimum quota is 1 ms */
                if (v2) {
                        snprintf(value, sizeof(value), "%lu %lu", quota, period);
                        return write_in(dir, "cpu.max", value, e);
                }
                snprintf(value, sizeof(value), "%lu", period);
                if ((r = write_in(dir, "cpu.cfs_period_us", value, e)) < 0)
                        return r;
                snprintf(value, sizeof(value), "%lu", quota);
                return write_in(dir, "cpu.cfs_quota_us", value, e);
        }
        case CGROUP_PIDS:
                if (c->pids_limit == 0)
                        return 0;
                snprintf(value, sizeof(value), "%llu", (unsigned long long)c->pids_limit);
                return write_in(dir, "pids.max", value, e);
        default:
                return 0;
        }
}

static int make_directory(struct cgroup *cg, char **out, const char *mount, const char *parent, const char *name,
                          struct err *e)
{
        char *path = NULL;
        if (asprintf(&path, "%s%s%s/%s", mount, strcmp(parent, "/") == 0 ? "" : parent, "", name) < 0)
                return err_set(e, ENOMEM, "cgroup path");
        cgroup_record_add(&cg->record, path);
        if (mkdir(path, 0755) < 0) {
                int saved = errno;
                err_set(e, saved, "create cgroup %s", path);
                free(path);
                return -saved;
        }
        *out = path;
        return 0;
}

int cgroup_create(struct cgroup *cg, const struct container *c, const char *name, struct err *e)
{
        int r;
        cg->wanted[CGROUP_MEMORY] = c->memory_limit || c->stats;
        cg->wanted[CGROUP_CPU] = c->cpus > 0;
        cg->wanted[CGROUP_PIDS] = c->pids_limit > 0;

        _cleanup_free_ char *self = NULL;
        if ((r = util_read_file("/proc/self/cgroup", &self, NULL)) < 0)
                return err_set(e, r, "read /proc/self/cgroup");

        /* The unified hierarchy: at /sys/fs/cgroup on a v2 host, at /sys/fs/cgroup/unified on a hybrid. */
        const char *v2_mount = NULL;
        if (is_filesystem("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
                v2_mount = "/sys/fs/cgroup";
        else if (is_filesystem("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
                v2_mount = "/sys/fs/cgroup/unified";
        char v2_parent[PATH_MAX] = "";
        _cleanup_free_ char *v2_controllers = NULL;
        if (v2_mount && own_cgroup_path(self, "", v2_parent, sizeof(v2_parent)) == 0) {
                char path[PATH_MAX * 2];
                snprintf(path, sizeof(path), "%s%s/cgroup.controllers", v2_mount, v2_parent);
                if (util_read_file(path, &v2_controllers, NULL) < 0)
                        v2_controllers = NULL;
        }

        bool any_v2 = false;
        for (int i = 0; i < CGROUP_CONTROLLERS; i++) {
                if (!cg->wanted[i])
                        continue;
                cg->in_v2[i] = v2_controllers && word_in_list(v2_controllers, controller_names[i]);
                any_v2 |= cg->in_v2[i];
        }
        /* --stats alone works without a cgroup v2 memory controller: it then reads what v2 offers. */
        if (c->stats && !any_v2 && v2_controllers && !cg->wanted[CGROUP_CPU] && !cg->wanted[CGROUP_PIDS] &&
            !c->memory_limit) {
                char v1_memory[PATH_MAX];
                if (!is_filesystem("/sys/fs/cgroup/memory", CGROUP_SUPER_MAGIC) ||
                    own_cgroup_path(self, "memory", v1_memory, sizeof(v1_memory)) < 0) {
                        cg->wanted[CGROUP_MEMORY] = false;
                        any_v2 = true;
                }
        }

        if (any_v2) {
                char parent[PATH_MAX * 2];
                snprintf(parent, sizeof(parent), "%s%s", v2_mount, v2_parent);
                /* Give the child the controllers (the parent's subtree_control); a no-op when on. */
                for (int i = 0; i < CGROUP_CONTROLLERS; i++) {
                        if (!cg->wanted[i] || !cg->in_v2[i])
                                continue;
                        char enable[32];
                        snprintf(enable, sizeof(enable), "+%s", controller_names[i]);
                        if ((r = write_in(parent, "cgroup.subtree_control", enable, e)) < 0)
                                return err_wrap(e, "cgroup v2 %s controller not delegated to %s (needed for "
                                                   "%s)", controller_names[i], parent, limit_options[i]);
                }
                if ((r = make_directory(cg, &cg->v2_path, v2_mount, v2_parent, name, e)) < 0)
                        return r;
                for (int i = 0; i < CGROUP_CONTROLLERS; i++)
                        if (cg->wanted[i] && cg->in_v2[i] && (r = write_limits(c, i, cg->v2_path, true, e)) < 0)
                                return r;
                cg->v2_fd = open(cg->v2_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (cg->v2_fd < 0)
                        return err_set(e, errno, "open %s", cg->v2_path);
        }

        for (int i = 0; i < CGROUP_CONTROLLERS; i++) {
                if (!cg->wanted[i] || cg->in_v2[i])
                        continue;
                char mount[64], parent[PATH_MAX];
                snprintf(mount, sizeof(mount), "/sys/fs/cgroup/%s", controller_names[i]);
                if (!is_filesystem(mount, CGROUP_SUPER_MAGIC) ||
                    own_cgroup_path(self, controller_names[i], parent, sizeof(parent)) < 0) {
                        if (i == CGROUP_MEMORY && c->memory_limit == 0)
                                continue; /* --stats only: fall back to what wait4() reports */
                        return err_set(e, ENOTSUP,
                                       "cannot apply %s: no cgroup %s controller, neither in cgroup v2 nor "
                                       "mounted as v1 at %s (enable the controller or drop the option)",
                                       limit_options[i], controller_names[i], mount);
                }
                if ((r = make_directory(cg, &cg->v1_path[i], mount, parent, name, e)) < 0)
                        return r;
                if ((r = write_limits(c, i, cg->v1_path[i], false, e)) < 0)
                        return r;
                char tasks[PATH_MAX * 3];
                snprintf(tasks, sizeof(tasks), "%s/tasks", cg->v1_path[i]);
                cg->v1_tasks_fd[i] = open(tasks, O_WRONLY | O_CLOEXEC);
                if (cg->v1_tasks_fd[i] < 0)
                        return err_set(e, errno, "open %s", tasks);
        }
        return 0;
}

int cgroup_attach_self(const struct cgroup *cg, struct err *e)
{
        for (int i = 0; i < CGROUP_CONTROLLERS; i++)
                if (cg->v1_tasks_fd[i] >= 0 && write(cg->v1_tasks_fd[i], "0", 1) < 0)
                        return err_set(e, errno, "enter cgroup %s", cg->v1_path[i]);
        return 0;
}

void cgroup_close_attach_fds(struct cgroup *cg)
{
        for (int i = 0; i < CGROUP_CONTROLLERS; i++) {
                if (cg->v1_tasks_fd[i] >= 0)
                        close(cg->v1_tasks_fd[i]);
                cg->v1_tasks_fd[i] = -1;
        }
}

/* The container's cgroup directory own_dir bound on dir. Seen from the container's cgroup namespace
 * the bind's root is the namespace's root: /proc/self/mountinfo and /proc/self/cgroup both say "/",
 * as for a fresh mount of the hierarchy, which costs more (a v1 one ~50 us: the kernel looks the
 * hierarchy up by its options) and which a user namespace may not make. */
static int bind_hierarchy(const char *dir, const char *own_dir, bool read_only, struct err *e)
{
        if (mount(own_dir, dir, NULL, MS_BIND, NULL) < 0)
                return err_set(e, errno, "bind %s on %s", own_dir, dir);
        if (read_only && mount(NULL, dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                               NULL) < 0)
                return err_set(e, errno, "make %s read-only", dir);
        return 0;
}

int cgroup_mount_view(const struct cgroup *cg, const char *target, bool read_only, struct err *e)
{
        int r;
        if (!cgroup_uses_v1(cg)) {
                if (!cg->v2_path)
                        return 0;
                /* A v2 host: the hierarchy itself goes at /sys/fs/cgroup. */
                if (is_filesystem("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
                        return bind_hierarchy(target, cg->v2_path, read_only, e);
        }
        if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=16k") < 0)
                return err_set(e, errno, "mount a tmpfs on %s", target);
        char dir[PATH_MAX];
        if (cg->v2_path) {
                snprintf(dir, sizeof(dir), "%s/unified", target);
                if (mkdir(dir, 0755) < 0)
                        return err_set(e, errno, "create %s", dir);
                if ((r = bind_hierarchy(dir, cg->v2_path, read_only, e)) < 0)
                        return r;
        }
        for (int i = 0; i < CGROUP_CONTROLLERS; i++) {
                if (!cg->v1_path[i])
                        continue;
                /* Named as on the host, where co-mounted controllers share a directory ("cpu,cpuacct")
                 * and each name is a symlink to it. */
                char host[64], link[256];
                const char *name = controller_names[i];
                snprintf(host, sizeof(host), "/sys/fs/cgroup/%s", name);
                ssize_t n = readlink(host, link, sizeof(link) - 1);
                if (n > 0) {
                        link[n] = '\0';
                        name = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
                }
                snprintf(dir, sizeof(dir), "%s/%s", target, name);
                struct stat st;
                if (lstat(dir, &st) < 0) { /* else bound already, for a controller co-mounted with this one */
                        if (mkdir(dir, 0755) < 0)
                                return err_set(e, errno, "create %s", dir);
                        if ((r = bind_hierarchy(dir, cg->v1_path[i], read_only, e)) < 0)
                                return r;
                }
                if (name != controller_names[i]) {
                        snprintf(dir, sizeof(dir), "%s/%s", target, controller_names[i]);
                        if (lstat(dir, &st) < 0 && symlink(name, dir) < 0)
                                return err_set(e, errno, "create %s", dir);
                }
        }
        if (read_only && mount(NULL, target, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                               "mode=755,size=16k") < 0)
                return err_set(e, errno, "make %s read-only", target);
        return 0;
}

static bool parse_number(const char *text, uint64_t *value)
{
        char *end;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno || end == text)
                return false;
        *value = v;
        return true;
}

static bool read_number(const char *dir, const char *file, uint64_t *value)
{
        char path[PATH_MAX * 3];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        return util_read_file(path, &text, NULL) == 0 && parse_number(text, value);
}

/* The number after `key ` in a "key value" per line file. */
static bool read_keyed(const char *dir, const char *file, const char *key, uint64_t *value)
{
        char path[PATH_MAX * 3];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        if (util_read_file(path, &text, NULL) < 0)
                return false;
        size_t n = strlen(key);
        for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                if (strncmp(line, key, n) == 0 && line[n] == ' ')
                        return parse_number(line + n + 1, value);
        }
        return false;
}

void cgroup_read_stats(const struct cgroup *cg, struct cgroup_stats *stats)
{
        memset(stats, 0, sizeof(*stats));
        if (cg->wanted[CGROUP_MEMORY] && cg->in_v2[CGROUP_MEMORY] && cg->v2_path) {
                stats->have_peak = read_number(cg->v2_path, "memory.peak", &stats->peak_bytes);
                stats->have_oom = read_keyed(cg->v2_path, "memory.events", "oom_kill", &stats->oom_kills);
        } else if (cg->v1_path[CGROUP_MEMORY]) {
                const char *dir = cg->v1_path[CGROUP_MEMORY];
                stats->have_peak = read_number(dir, "memory.max_usage_in_bytes", &stats->peak_bytes);
                stats->have_oom = read_keyed(dir, "memory.oom_control", "oom_kill", &stats->oom_kills);
        }
}

static int remove_directory(char **path, struct err *e)
{
        int r = 0;
        if (*path == NULL)
                return 0;
        /* The processes have been reaped; a cgroup may still be busy for the moment the kernel takes
         * to unlink the last of them, so a few quick retries before giving up. */
        for (int attempt = 0; rmdir(*path) < 0; attempt++) {
                if (errno == ENOENT)
                        break;
                if (errno != EBUSY || attempt >= 1000) {
                        r = err_set(e, errno, "remove cgroup %s", *path);
                        break;
                }
                sched_yield();
        }
        free(*path);
        *path = NULL;
        return r;
}

int cgroup_remove(struct cgroup *cg, struct err *e)
{
        int first = 0, r;
        cgroup_close_attach_fds(cg);
        if (cg->v2_fd >= 0) {
                close(cg->v2_fd);
                cg->v2_fd = -1;
        }
        if ((r = remove_directory(&cg->v2_path, first ? NULL : e)) < 0 && first == 0)
                first = r;
        for (int i = 0; i < CGROUP_CONTROLLERS; i++)
                if ((r = remove_directory(&cg->v1_path[i], first ? NULL : e)) < 0 && first == 0)
                        first = r;
        /* A cgroup that could not be removed stays recorded, for a later run to try again. */
        cgroup_record_close(&cg->record, first == 0);
        return first;
}
