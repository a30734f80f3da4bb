/* The `run` applet's entry point: the option table, and turning the parsed options into one
 * container description (container.h) that set-up then reads. Part of the `run` applet. */
#include "container.h"
#include "capability.h"
#include "network.h"
#include "rootfs.h"

#include "sysprim/applet.h"
#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/opt.h"
#include "sysprim/size.h"
#include "sysprim/util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The options as given; run_describe() turns them into a struct container. */
struct run_options {
        const char *rootfs;
        int rootfs_rw;
        int read_only;
        struct opt_list volumes;
        struct opt_list tmpfs;
        const char *workdir;
        struct opt_list env;
        const char *hostname;
        const char *user;
        uint64_t memory_limit;
        double cpus;
        long long pids_limit;
        int stats;
        const char *seccomp;
        struct opt_list cap_add;
        struct opt_list cap_drop;
        int privileged;
        int no_init;
        int userns;
        /* Networking (issue 6): the option table's network entries write here. */
        struct container_network network;
};

#define OFF(field) offsetof(struct run_options, field)

static const struct opt run_option_table[] = {
        { "rootfs", 0, "DIR", OPT_STRING, OFF(rootfs), 0, 0, 0, 0, NULL,
          "root directory (default: host's /, copy-on-write)" },
        { "rootfs-rw", 0, NULL, OPT_FLAG, OFF(rootfs_rw), 0, 0, 0, 0, NULL,
          "write through to --rootfs DIR (no copy-on-write)" },
        { "read-only", 0, NULL, OPT_FLAG, OFF(read_only), 0, 0, 0, 0, NULL,
          "read-only root (tmpfs mounts stay writable)" },
        { "volume", 'v', "HOST:DIR[:ro]", OPT_LIST, OFF(volumes), 0, 0, 0, 0, NULL,
          "bind-mount a host path into the container" },
        { "tmpfs", 0, "DIR[:SIZE]", OPT_LIST, OFF(tmpfs), 0, 0, 0, 0, NULL,
          "mount an empty tmpfs at DIR" },
        { "workdir", 'w', "DIR", OPT_STRING, OFF(workdir), 0, 0, 0, 0, NULL,
          "working directory inside (default /)" },
        { "env", 'e', "KEY=VALUE", OPT_LIST, OFF(env), 0, 0, 0, 0, NULL,
          "set a variable (KEY alone: the caller's value)" },
        { "hostname", 0, "NAME", OPT_STRING, OFF(hostname), 0, 0, 0, 0, NULL,
          "the container's hostname (default sysprim)" },
        { "user", 'u', "USER[:GROUP]", OPT_STRING, OFF(user), 0, 0, 0, 0, NULL,
          "as this user: number, or name in the container" },
        { "mem", 'm', "SIZE", OPT_SIZE, OFF(memory_limit), 4096, (long long)(UINT64_C(1) << 50), 0, 0, NULL,
          "memory limit (the OOM killer acts past it)" },
        { "cpus", 0, "N.N", OPT_DOUBLE, OFF(cpus), 0, 0, 0.001, 4096, NULL,
          "CPU time limit in CPUs per wall second, e.g. 0.5" },
        { "pids", 0, "N", OPT_INT, OFF(pids_limit), 1, 4194304, 0, 0, NULL,
          "limit on the number of processes and threads" },
        { "stats", 0, NULL, OPT_FLAG, OFF(stats), 0, 0, 0, 0, NULL,
          "after exit: peak memory, CPU time, OOM kills" },
        { "seccomp", 0, "PROFILE", OPT_STRING, OFF(seccomp), 0, 0, 0, 0, NULL,
          "default (deny-list, EPERM) or unconfined" },
        { "cap-add", 0, "CAP", OPT_LIST, OFF(cap_add), 0, 0, 0, 0, NULL,
          "add a capability to the default set (or ALL)" },
        { "cap-drop", 0, "CAP", OPT_LIST, OFF(cap_drop), 0, 0, 0, 0, NULL,
          "drop a capability from the set (or ALL)" },
        { "privileged", 0, NULL, OPT_FLAG, OFF(privileged), 0, 0, 0, 0, NULL,
          "all capabilities, no seccomp, no no_new_privs" },
        { "no-init", 0, NULL, OPT_FLAG, OFF(no_init), 0, 0, 0, 0, NULL,
          "run the command as PID 1 instead of sysprim's init" },
        { "userns", 0, NULL, OPT_FLAG, OFF(userns), 0, 0, 0, 0, NULL,
          "root inside is an unprivileged uid outside" },
        /* ---- networking options (issue 6) go here, writing into OFF(network.<field>) ---- */
        /* Plain strings, checked together in network_options_parse, which says why a value is refused
         * (the option parser can only say 'invalid value'). */
        { "net", 0, "MODE", OPT_STRING, OFF(network.mode), 0, 0, 0, 0, NULL,
          "none (only lo; default), host, or bridge" },
        { "bridge", 0, "NAME", OPT_STRING, OFF(network.bridge), 0, 0, 0, 0, NULL,
          "bridge for --net bridge (default sysprim0)" },
        { "subnet", 0, "CIDR", OPT_STRING, OFF(network.subnet), 0, 0, 0, 0, NULL,
          "subnet of a new bridge (default 10.88.0.0/16)" },
        { "ip", 0, "ADDR", OPT_STRING, OFF(network.address), 0, 0, 0, 0, NULL,
          "fixed address on the bridge (default: next free)" },
        { "nat", 0, NULL, OPT_FLAG, OFF(network.nat), 0, 0, 0, 0, NULL,
          "outbound NAT for the bridge (nft or iptables)" },
        { "publish", 'p', "H:C[/tcp]", OPT_LIST, OFF(network.publish), 0, 0, 0, 0, NULL,
          "forward host port H ([IP:]H) to container port C" },
        /* ---- end of networking options ---- */
        { NULL, 0, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL },
};

static const char *const default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* Free what run_describe() allocated. */
static void container_free(struct container *c)
{
        if (c->env)
                for (char **e = c->env; *e; e++)
                        free(*e);
        free(c->env);
        free(c->mounts);
}

static char *string_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *string_printf(const char *fmt, ...)
{
        va_list ap;
        char *s = NULL;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s;
}

/* Append KEY=VALUE to a NULL-terminated environment of `count` entries that has room for one more. */
static int env_append(char **env, size_t *count, char *entry)
{
        if (entry == NULL)
                return -ENOMEM;
        env[(*count)++] = entry;
        env[*count] = NULL;
        return 0;
}

struct env_slot {
        char *entry;
        size_t key_length;
        size_t position;
};

/* By key, then by position: equal keys stay in the order they were given. */
static int env_slot_compare(const void *a, const void *b)
{
        const struct env_slot *x = a, *y = b;
        int r = memcmp(x->entry, y->entry, x->key_length < y->key_length ? x->key_length : y->key_length);
        if (r == 0 && x->key_length != y->key_length)
                r = x->key_length < y->key_length ? -1 : 1;
        if (r == 0)
                r = x->position < y->position ? -1 : x->position > y->position;
        return r;
}

/* A KEY given more than once keeps its first place and takes its last value (-e PATH=... replaces
 * the default PATH where it stands). One sort of all the entries, not a scan of the earlier entries
 * for each new one, which made 70,000 -e options take seconds. */
static int env_remove_duplicates(char **env, size_t *count)
{
        size_t n = *count;
        if (n < 2)
                return 0;
        struct env_slot *slots = malloc(n * sizeof(*slots));
        if (slots == NULL)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                slots[i] = (struct env_slot){ env[i], strcspn(env[i], "="), i };
        qsort(slots, n, sizeof(*slots), env_slot_compare);
        size_t next;
        for (size_t first = 0; first < n; first = next) {
                const struct env_slot *key = &slots[first];
                for (next = first + 1; next < n && slots[next].key_length == key->key_length &&
                                       memcmp(slots[next].entry, key->entry, key->key_length) == 0;
                     next++)
                        ;
                if (next - first == 1)
                        continue;
                env[key->position] = slots[next - 1].entry;
                for (size_t i = first; i < next - 1; i++)
                        free(slots[i].entry);
                for (size_t i = first + 1; i < next; i++)
                        env[slots[i].position] = NULL;
        }
        free(slots);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++)
                if (env[i])
                        env[kept++] = env[i];
        env[kept] = NULL;
        *count = kept;
        return 0;
}

static bool is_absolute_clean(const char *path)
{
        return path[0] == '/' && strstr(path, "/../") == NULL &&
               !(strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0);
}

/* "/", "//", "/.", "/./": the container's root itself. A mount there lands beneath the root the
 * container already has and is never seen, so it is refused instead of silently doing nothing. */
static bool names_root(const char *path)
{
        for (const char *p = path; *p; p++)
                if (*p != '/' && !(*p == '.' && p > path && p[-1] == '/' && (p[1] == '/' || p[1] == '\0')))
                        return false;
        return true;
}

/* HOST:CONTAINER[:ro|:rw] */
static enum opt_result parse_volume(const struct applet *applet, char *spec, struct container_mount *m)
{
        char *first = strchr(spec, ':');
        if (first == NULL || first[1] == '\0')
                return opt_usage_error(applet, "--volume: '%s' names no directory in the container (expected "
                                       "HOST:DIR[:ro])", spec);
        if (first == spec)
                return opt_usage_error(applet, "--volume: '%s' names no host path before the ':' (expected "
                                       "HOST:DIR[:ro])", spec);
        *first = '\0';
        char *target = first + 1;
        char *second = strchr(target, ':');
        m->kind = MOUNT_BIND;
        m->read_only = false;
        if (second) {
                *second = '\0';
                if (strcmp(second + 1, "ro") == 0)
                        m->read_only = true;
                else if (strcmp(second + 1, "rw") != 0)
                        return opt_usage_error(applet, "--volume: unknown mode '%s' (expected ro or rw)",
                                               second + 1);
        }
        if (!is_absolute_clean(target))
                return opt_usage_error(applet, "--volume: '%s' must be an absolute path without '..'",
                                       target);
        if (names_root(target))
                return opt_usage_error(applet, "--volume: '%s' is the container's root (use --rootfs DIR "
                                       "for that)", target);
        m->source = spec;
        m->target = target;
        return OPT_OK;
}

/* DIR[:SIZE] */
static enum opt_result parse_tmpfs(const struct applet *applet, char *spec, struct container_mount *m)
{
        char *colon = strchr(spec, ':');
        m->kind = MOUNT_TMPFS;
        m->source = NULL;
        m->read_only = false;
        m->size = 0;
        if (colon) {
                *colon = '\0';
                if (size_parse(colon + 1, &m->size) < 0 || m->size == 0)
                        return opt_usage_error(applet, "--tmpfs: invalid size '%s' (expected e.g. 64M)",
                                               colon + 1);
        }
        if (!is_absolute_clean(spec))
                return opt_usage_error(applet, "--tmpfs: '%s' must be an absolute path without '..'", spec);
        if (names_root(spec))
                return opt_usage_error(applet, "--tmpfs: '%s' is the container's root (a tmpfs goes on a "
                                       "directory inside it)", spec);
        m->target = spec;
        return OPT_OK;
}

#define USER_FORMS "(expected UID[:GID] or NAME[:GROUP]; a name has letters, digits, '.', '_' or '-', not first, " \
                   "at most 32)"

/* Why `name` is not a user or group name (`kind`) as useradd allows: letters, digits, '.', '_', '-'
 * (not first), perhaps '$' last; at most 32. NULL when it is one. (All digits is an ID, checked
 * before.) */
static const char *account_name_problem(const char *name, const char *kind, char *buf, size_t size)
{
        size_t length = strlen(name);
        char ch[16];
        if (length == 0) {
                snprintf(buf, size, "an empty %s name", kind);
                return buf;
        }
        if (length > 32) {
                snprintf(buf, size, "'%s' has %zu characters, more than a %s name can", name, length, kind);
                return buf;
        }
        if (name[0] == '-') {
                snprintf(buf, size, "'%s' starts with '-', which a %s name cannot", name, kind);
                return buf;
        }
        for (size_t i = 0; i < length; i++) {
                unsigned char c = (unsigned char)name[i];
                bool last_dollar = c == '$' && i == length - 1 && i > 0;
                if (!isalnum(c) && c != '.' && c != '_' && c != '-' && !last_dollar) {
                        snprintf(buf, size, "'%s' has %s, which a %s name cannot have", name,
                                 util_describe_character(c, ch, sizeof(ch)), kind);
                        return buf;
                }
        }
        return NULL;
}

/* One half of --user: an ID (at most UINT32_MAX - 1: (uid_t)-1 means "unchanged") or a name. OPT_OK
 * with *is_number set, or a usage error that says why. */
static enum opt_result parse_user_part(const struct applet *applet, const char *text, const char *kind,
                                       const char *id, uint64_t *number, bool *is_number)
{
        char problem[160];
        int r = uint_parse(text, UINT32_MAX - 1, number);
        *is_number = r == 0;
        if (r == -ERANGE)
                return opt_usage_error(applet, "--user: %s %s is out of range (at most %u)", id, text,
                                       UINT32_MAX - 1);
        if (r < 0 && account_name_problem(text, kind, problem, sizeof(problem)))
                return opt_usage_error(applet, "--user: %s " USER_FORMS, problem);
        return OPT_OK;
}

/* UID[:GID] or NAME[:GROUP] (or a mix). Numbers are taken as they are; names are looked up in the
 * container's /etc/passwd and /etc/group when its root is in place (user.c). The spec is split in
 * place. */
static enum opt_result parse_user(const struct applet *applet, char *spec, struct container *c)
{
        char *group = strchr(spec, ':');
        if (group)
                *group++ = '\0';
        uint64_t uid = 0, gid = 0;
        bool user_number = false, group_number = false;
        enum opt_result r = parse_user_part(applet, spec, "user", "UID", &uid, &user_number);
        if (r == OPT_OK && group)
                r = parse_user_part(applet, group, "group", "GID", &gid, &group_number);
        if (r != OPT_OK)
                return r;
        c->set_user = true;
        c->user_name = user_number ? NULL : spec;
        c->group_name = group && !group_number ? group : NULL;
        c->primary_group = c->user_name && !group;
        c->uid = (uid_t)uid;
        /* Without a group: a number's group is the same number, a name's is its primary group. */
        c->gid = group_number ? (gid_t)gid : (gid_t)uid;
        return OPT_OK;
}

/* The hostname also goes into /etc/hosts, where a space or a newline would add names or lines of
 * its own: letters, digits, '-', '.' and '_' only, and a letter or digit first (RFC 1123: a name
 * starting with '-' reads as an option to the programs it is passed to). */
static enum opt_result check_hostname(const struct applet *applet, const char *name)
{
        size_t length = strlen(name);
        char ch[16];
        if (length == 0 || length > 64)
                return opt_usage_error(applet, "--hostname: '%s' must have 1 to 64 characters", name);
        for (size_t i = 0; i < length; i++)
                if (!isalnum((unsigned char)name[i]) && !strchr("-._", name[i]))
                        return opt_usage_error(applet, "--hostname: a hostname cannot have %s (letters, digits, "
                                               "'-', '.' and '_')",
                                               util_describe_character((unsigned char)name[i], ch, sizeof(ch)));
        if (!isalnum((unsigned char)name[0]))
                return opt_usage_error(applet, "--hostname: '%s' starts with '%c' (a hostname starts with a letter "
                                       "or a digit)", name, name[0]);
        return OPT_OK;
}

/* The first range of `id` (a user name or number) in /etc/subuid or /etc/subgid. */
static bool subordinate_range(const char *file, const char *name, unsigned id, uint32_t *start, uint32_t *count)
{
        FILE *f = fopen(file, "re");
        char line[256], number[16];
        bool found = false;
        if (f == NULL)
                return false;
        snprintf(number, sizeof(number), "%u", id);
        while (!found && fgets(line, sizeof(line), f)) {
                char *first = strtok(line, ":\n"), *second = strtok(NULL, ":\n"), *third = strtok(NULL, ":\n");
                if (first && second && third && ((name && strcmp(first, name) == 0) || strcmp(first, number) == 0)) {
                        uint64_t s, n;
                        if (uint_parse(second, UINT32_MAX, &s) == 0 && uint_parse(third, UINT32_MAX, &n) == 0 && n > 0) {
                                *start = (uint32_t)s;
                                *count = (uint32_t)n;
                                found = true;
                        }
                }
        }
        fclose(f);
        return found;
}

/* The user namespace's mappings. As root (--userns): container IDs 0..65535 are root's subordinate
 * range, or 100000..165535 without one. As an ordinary user: the user is root inside, and with
 * subordinate ranges (and newuidmap/newgidmap installed) IDs 1.. map onto them. */
static void describe_id_maps(struct container *c)
{
        uid_t uid = geteuid();
        gid_t gid = getegid();
        uint32_t ustart = 100000, ucount = 65536, gstart = 100000, gcount = 65536;
        if (uid == 0) {
                subordinate_range("/etc/subuid", "root", 0, &ustart, &ucount);
                subordinate_range("/etc/subgid", "root", 0, &gstart, &gcount);
                c->uid_map[0] = (struct container_id_range){ 0, ustart, ucount };
                c->gid_map[0] = (struct container_id_range){ 0, gstart, gcount };
                c->uid_map_count = c->gid_map_count = 1;
                return;
        }
        c->uid_map[0] = (struct container_id_range){ 0, uid, 1 };
        c->gid_map[0] = (struct container_id_range){ 0, gid, 1 };
        c->uid_map_count = c->gid_map_count = 1;
        struct passwd *pw = getpwuid(uid);
        const char *name = pw ? pw->pw_name : NULL;
        if (subordinate_range("/etc/subuid", name, uid, &ustart, &ucount) &&
            subordinate_range("/etc/subgid", name, uid, &gstart, &gcount) &&
            access("/usr/bin/newuidmap", X_OK) == 0 && access("/usr/bin/newgidmap", X_OK) == 0) {
                c->uid_map[1] = (struct container_id_range){ 1, ustart, ucount };
                c->gid_map[1] = (struct container_id_range){ 1, gstart, gcount };
                c->uid_map_count = c->gid_map_count = 2;
                c->id_map_helpers = true;
        }
}

static enum opt_result apply_capability_list(const struct applet *applet, const struct opt_list *list,
                                             const char *option, bool add, uint64_t *set)
{
        for (size_t i = 0; i < list->count; i++) {
                uint64_t bits;
                if (capability_parse(list->items[i], &bits) < 0)
                        return opt_usage_error(applet, "--%s: unknown capability '%s' (e.g. NET_ADMIN, "
                                                       "CAP_SYS_PTRACE, ALL)", option, list->items[i]);
                if (add)
                        *set |= bits;
                else
                        *set &= ~bits;
        }
        return OPT_OK;
}

/* Turn the parsed options and the command into the container description. Strings keep pointing into
 * argv (which the spec parsers split in place). */
static enum opt_result run_describe(const struct applet *applet, struct run_options *o, char **command,
                                    struct container *c)
{
        enum opt_result r;
        c->argv = command;
        c->workdir = o->workdir;
        c->hostname = o->hostname ? o->hostname : "sysprim";
        c->use_init = !o->no_init;
        c->rootfs = o->rootfs;
        c->memory_limit = o->memory_limit;
        c->cpus = o->cpus;
        c->pids_limit = (uint64_t)o->pids_limit;
        c->stats = o->stats;
        c->privileged = o->privileged;
        /* An ordinary user gets a user namespace in which they are root (rootless). */
        c->user_namespace = o->userns || geteuid() != 0;
        if (c->user_namespace)
                describe_id_maps(c);
        c->network = o->network;
        struct network_options network_checked;
        struct err network_error = { 0 };
        if (network_options_parse(&c->network, &network_checked, &network_error) < 0)
                return opt_usage_error(applet, "%s", network_error.msg);

        if (o->rootfs && o->rootfs[0] == '\0')
                return opt_usage_error(applet, "--rootfs: an empty path (leave the option out for the host's root)");
        if (o->rootfs_rw && o->read_only)
                return opt_usage_error(applet, "--rootfs-rw and --read-only exclude each other");
        if (o->rootfs_rw && o->rootfs == NULL)
                return opt_usage_error(applet, "--rootfs-rw needs --rootfs DIR (the host's root is never "
                                               "written through)");
        struct stat rootfs_st;
        if (o->rootfs_rw && stat(o->rootfs, &rootfs_st) == 0 && rootfs_is_host_root(&rootfs_st))
                return opt_usage_error(applet, "--rootfs-rw: '%s' is the host's root, which is never written "
                                               "through", o->rootfs);
        c->rootfs_mode = o->read_only ? ROOTFS_READ_ONLY : o->rootfs_rw ? ROOTFS_WRITE_THROUGH : ROOTFS_COPY_ON_WRITE;
        if (o->workdir && o->workdir[0] != '/')
                return opt_usage_error(applet, "--workdir: '%s' must be an absolute path", o->workdir);
        if (o->hostname && (r = check_hostname(applet, o->hostname)) != OPT_OK)
                return r;
        if (o->user && (r = parse_user(applet, (char *)o->user, c)) != OPT_OK)
                return r;

        if (o->seccomp == NULL || strcmp(o->seccomp, "default") == 0)
                c->seccomp = true;
        else if (strcmp(o->seccomp, "unconfined") == 0)
                c->seccomp = false;
        else
                return opt_usage_error(applet, "--seccomp: invalid value '%s' (expected default or unconfined)",
                                       o->seccomp);

        /* As Docker: what is added wins over what is dropped (--cap-drop ALL --cap-add NET_RAW keeps
         * NET_RAW), except that --cap-add ALL means all but the ones dropped. */
        c->capabilities = CONTAINER_DEFAULT_CAPABILITIES;
        bool add_all = false;
        for (size_t i = 0; i < o->cap_add.count; i++) {
                uint64_t bits;
                add_all |= capability_parse(o->cap_add.items[i], &bits) == 0 && bits == capability_all();
        }
        if (add_all && (r = apply_capability_list(applet, &o->cap_add, "cap-add", true, &c->capabilities)) != OPT_OK)
                return r;
        if ((r = apply_capability_list(applet, &o->cap_drop, "cap-drop", false, &c->capabilities)) != OPT_OK)
                return r;
        if (!add_all && (r = apply_capability_list(applet, &o->cap_add, "cap-add", true, &c->capabilities)) != OPT_OK)
                return r;
        c->no_new_privs = true;
        if (c->privileged) {
                log_warn("--privileged: every capability, no seccomp filter, no no_new_privs");
                if (o->cap_drop.count || o->cap_add.count)
                        log_warn("--privileged: --cap-add and --cap-drop are ignored (as Docker does)");
                c->capabilities = capability_all();
                c->seccomp = false;
                c->no_new_privs = false;
        }

        c->mount_count = o->volumes.count + o->tmpfs.count;
        c->mounts = calloc(c->mount_count + 1, sizeof(*c->mounts));
        if (c->mounts == NULL)
                return opt_usage_error(applet, "out of memory");
        size_t n = 0;
        for (size_t i = 0; i < o->volumes.count; i++)
                if ((r = parse_volume(applet, (char *)o->volumes.items[i], &c->mounts[n++])) != OPT_OK)
                        return r;
        for (size_t i = 0; i < o->tmpfs.count; i++)
                if ((r = parse_tmpfs(applet, (char *)o->tmpfs.items[i], &c->mounts[n++])) != OPT_OK)
                        return r;

        /* A clean environment: PATH, HOME, TERM (when the caller has one), HOSTNAME, then -e. */
        size_t count = 0;
        c->env = calloc(4 + o->env.count + 1, sizeof(*c->env)); /* the four above, -e, NULL */
        if (c->env == NULL)
                return opt_usage_error(applet, "out of memory");
        const char *term = getenv("TERM");
        if (env_append(c->env, &count, string_printf("PATH=%s", default_path)) < 0 ||
            env_append(c->env, &count, string_printf("HOME=%s", c->set_user && (c->user_name || c->uid != 0) ? "/" : "/root")) < 0 ||
            (term && env_append(c->env, &count, string_printf("TERM=%s", term)) < 0) ||
            env_append(c->env, &count, string_printf("HOSTNAME=%s", c->hostname)) < 0)
                return opt_usage_error(applet, "out of memory");
        /* A named user's HOME is its home directory in the container's /etc/passwd, unless -e says. */
        c->home_from_user = c->user_name != NULL;
        for (size_t i = 0; i < o->env.count; i++) {
                const char *item = o->env.items[i];
                char *entry;
                if (item[0] == '\0')
                        return opt_usage_error(applet, "--env: an empty value (expected KEY=VALUE, or KEY for the "
                                               "caller's value)");
                if (item[0] == '=')
                        return opt_usage_error(applet, "--env: '%s' has no name before the '=' (expected KEY=VALUE, "
                                               "or KEY for the caller's value)", item);
                if (strchr(item, '=')) {
                        entry = strdup(item);
                } else {
                        const char *value = getenv(item);
                        if (value == NULL)
                                continue; /* as docker: KEY alone passes the caller's value, if any */
                        entry = string_printf("%s=%s", item, value);
                }
                if (entry && strncmp(entry, "HOME=", 5) == 0)
                        c->home_from_user = false;
                if (env_append(c->env, &count, entry) < 0)
                        return opt_usage_error(applet, "out of memory");
        }
        if (env_remove_duplicates(c->env, &count) < 0)
                return opt_usage_error(applet, "out of memory");
        return OPT_OK;
}

static int run_main(int argc, char **argv);

const struct applet run_applet = {
        .name = "run",
        .summary = "run a command in a container",
        .usage = "[--] COMMAND [ARG...]",
        .description = "Namespaces (PID, mount, UTS, IPC, network, cgroup), a private root (by default\n"
                       "a copy-on-write view of the host's), cgroup limits, a seccomp filter and\n"
                       "Docker's default capabilities but mknod. Exit status: the command's, 128+N\n"
                       "when it died of signal N, 125 when the runtime failed, 126 not executable,\n"
                       "127 not found.",
        .options = run_option_table,
        .config_size = sizeof(struct run_options),
        .min_operands = 1,
        .max_operands = -1,
        .stop_at_operand = 1,
        .main = run_main,
};

static int run_main(int argc, char **argv)
{
        struct run_options options = { 0 };
        struct container container = { 0 };
        int first_operand = argc;
        int status;
        switch (opt_parse(&run_applet, argc, argv, &options, &first_operand)) {
        case OPT_OK:
                break;
        case OPT_EXIT:
                opt_free(&run_applet, &options);
                return EXIT_OK;
        default:
                opt_free(&run_applet, &options);
                return EXIT_USAGE;
        }
        if (run_describe(&run_applet, &options, argv + first_operand, &container) != OPT_OK)
                status = EXIT_USAGE;
        else
                status = container_run(&container);
        container_free(&container);
        opt_free(&run_applet, &options);
        return status;
}
