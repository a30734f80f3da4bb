/* The networking layer of `run` (see network.h): options, the bridge's shared state under a lock,
 * veth set-up through our rtnetlink client, NAT through nft/iptables, and a TCP port forwarder. */
#include "network.h"
#include "netlink.h"
#include "container.h"

#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/size.h"
#include "sysprim/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define NETWORK_STATE_DIR "/run/sysprim/net"
#define NETWORK_DEFAULT_BRIDGE "sysprim0"
#define NETWORK_MAX_ENTRIES 4096

/* An error whose message needs no errno text after it (usage errors, "in use"). */
static int err_plain(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err_plain(struct err *e, int code, const char *fmt, ...)
{
        if (e != NULL) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
                va_end(ap);
                e->code = code;
        }
        return -code;
}

/* ---- options ---------------------------------------------------------------------------------- */

int network_parse_mode(const char *arg, enum network_mode *mode)
{
        if (strcmp(arg, "none") == 0)
                *mode = NETWORK_MODE_NONE;
        else if (strcmp(arg, "host") == 0)
                *mode = NETWORK_MODE_HOST;
        else if (strcmp(arg, "bridge") == 0)
                *mode = NETWORK_MODE_BRIDGE;
        else
                return -EINVAL;
        return 0;
}

/* Bridge names also name the NAT table, so they keep to characters nft takes unquoted. */
static int check_bridge_name(const char *arg)
{
        size_t len = strlen(arg);
        if (len == 0 || len >= IFNAMSIZ || !isalpha((unsigned char)arg[0]))
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char)arg[i]) && arg[i] != '_')
                        return -EINVAL;
        return 0;
}

static int parse_ipv4(const char *text, struct in_addr *address)
{
        /* inet_pton takes only dotted quads: no "10.1", no octal surprises. */
        return inet_pton(AF_INET, text, address) == 1 ? 0 : -EINVAL;
}

static uint32_t prefix_mask(unsigned prefix_length)
{
        return prefix_length ? ~0u << (32 - prefix_length) : 0;
}

int network_parse_subnet(const char *arg, struct network_subnet *subnet)
{
        const char *slash = strchr(arg, '/');
        char address[INET_ADDRSTRLEN];
        if (slash == NULL || (size_t)(slash - arg) >= sizeof(address))
                return -EINVAL;
        memcpy(address, arg, (size_t)(slash - arg));
        address[slash - arg] = '\0';
        uint64_t prefix;
        struct in_addr network;
        if (parse_ipv4(address, &network) < 0 || uint_parse(slash + 1, 32, &prefix) < 0)
                return -EINVAL;
        /* At least a gateway and one container; at most /8 so that the allocation table stays small
         * enough to scan. */
        if (prefix < 8 || prefix > 30)
                return -EINVAL;
        subnet->prefix_length = (unsigned)prefix;
        subnet->network.s_addr = htonl(ntohl(network.s_addr) & prefix_mask((unsigned)prefix));
        return 0;
}

int network_parse_ip(const char *arg, struct in_addr *address)
{
        struct in_addr parsed;
        if (parse_ipv4(arg, &parsed) < 0 || parsed.s_addr == 0)
                return -EINVAL;
        *address = parsed;
        return 0;
}

static int parse_port(const char *text, size_t len, uint16_t *port)
{
        char buf[8];
        uint64_t value;
        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, text, len);
        buf[len] = '\0';
        if (uint_parse(buf, 65535, &value) < 0 || value == 0)
                return -EINVAL;
        *port = (uint16_t)value;
        return 0;
}

/* [IP:]HOSTPORT:CONTAINERPORT[/tcp] */
int network_parse_publish(const char *arg, struct network_publish_list *list)
{
        if (list->count >= NETWORK_MAX_PUBLISH)
                return -E2BIG;
        struct network_publish p = {.host_address = {.s_addr = htonl(INADDR_ANY)}};
        char spec[64];
        if (strlen(arg) >= sizeof(spec))
                return -EINVAL;
        strcpy(spec, arg);
        char *proto = strchr(spec, '/');
        if (proto != NULL) {
                if (strcmp(proto, "/tcp") != 0)
                        return -EINVAL; /* only TCP is forwarded */
                *proto = '\0';
        }
        char *last = strrchr(spec, ':');
        if (last == NULL)
                return -EINVAL;
        if (parse_port(last + 1, strlen(last + 1), &p.container_port) < 0)
                return -EINVAL;
        *last = '\0';
        char *host_port = strrchr(spec, ':');
        if (host_port != NULL) {
                *host_port++ = '\0';
                if (parse_ipv4(spec, &p.host_address) < 0)
                        return -EINVAL;
        } else {
                host_port = spec;
        }
        if (parse_port(host_port, strlen(host_port), &p.host_port) < 0)
                return -EINVAL;
        for (size_t i = 0; i < list->count; i++)
                if (list->items[i].host_port == p.host_port)
                        return -EINVAL; /* the same host port twice */
        list->items[list->count++] = p;
        return 0;
}

int network_option_mode(const char *arg, void *field)
{
        enum network_mode mode;
        if (network_parse_mode(arg, &mode) < 0)
                return -EINVAL;
        *(const char **)field = arg;
        return 0;
}

int network_option_bridge(const char *arg, void *field)
{
        if (check_bridge_name(arg) < 0)
                return -EINVAL;
        *(const char **)field = arg;
        return 0;
}

int network_option_subnet(const char *arg, void *field)
{
        struct network_subnet subnet;
        if (network_parse_subnet(arg, &subnet) < 0)
                return -EINVAL;
        *(const char **)field = arg;
        return 0;
}

int network_option_ip(const char *arg, void *field)
{
        struct in_addr address;
        if (network_parse_ip(arg, &address) < 0)
                return -EINVAL;
        *(const char **)field = arg;
        return 0;
}

static struct network_subnet subnet_or_default(const struct network_options *o)
{
        if (o->subnet.prefix_length)
                return o->subnet;
        return (struct network_subnet){.network = {.s_addr = htonl(0x0a580000)}, /* 10.88.0.0/16 */
                                       .prefix_length = 16};
}

static bool subnet_contains(struct network_subnet s, struct in_addr a)
{
        return (ntohl(a.s_addr) & prefix_mask(s.prefix_length)) == ntohl(s.network.s_addr);
}

int network_options_check(const struct network_options *o, struct err *e)
{
        bool bridge = o->mode == NETWORK_MODE_BRIDGE;
        if (!bridge && (o->ip.s_addr || o->subnet.prefix_length || o->nat || o->publish.count || o->bridge))
                return err_plain(e, EINVAL, "--ip, --subnet, --bridge, --nat and --publish need --net bridge");
        if (o->ip.s_addr) {
                struct network_subnet s = subnet_or_default(o);
                uint32_t host = ntohl(o->ip.s_addr) & ~prefix_mask(s.prefix_length);
                char text[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &o->ip, text, sizeof(text));
                if (!subnet_contains(s, o->ip) || host <= 1 || host == ~prefix_mask(s.prefix_length))
                        return err_plain(e, EINVAL,
                                       "--ip %s: not a container address of the subnet (the first is the "
                                       "bridge's, the last is broadcast)", text);
        }
        return 0;
}

int network_options_parse(const struct container_network *in, struct network_options *out, struct err *e)
{
        memset(out, 0, sizeof(*out));
        if (in->mode && network_parse_mode(in->mode, &out->mode) < 0)
                return err_plain(e, EINVAL, "--net: invalid value '%s' (expected none, host or bridge)", in->mode);
        if (in->bridge) {
                if (check_bridge_name(in->bridge) < 0)
                        return err_plain(e, EINVAL, "--bridge: invalid value '%s' (a letter, then letters, digits "
                                       "or _; at most 15)", in->bridge);
                out->bridge = in->bridge;
        }
        if (in->subnet && network_parse_subnet(in->subnet, &out->subnet) < 0)
                return err_plain(e, EINVAL, "--subnet: invalid value '%s' (expected e.g. 10.89.0.0/24, prefix "
                               "8 to 30)", in->subnet);
        if (in->address && network_parse_ip(in->address, &out->ip) < 0)
                return err_plain(e, EINVAL, "--ip: invalid value '%s' (expected an IPv4 address)", in->address);
        out->nat = in->nat;
        for (size_t i = 0; i < in->publish.count; i++) {
                int r = network_parse_publish(in->publish.items[i], &out->publish);
                if (r == -E2BIG)
                        return err_plain(e, EINVAL, "--publish: at most %d ports", NETWORK_MAX_PUBLISH);
                if (r < 0)
                        return err_plain(e, EINVAL, "--publish: invalid value '%s' (expected "
                                       "[IP:]HOSTPORT:CONTAINERPORT[/tcp], each host port once)",
                                       in->publish.items[i]);
        }
        out->name = in->name;
        return network_options_check(out, e);
}

int network_prepare_container(struct network *net, const struct container_network *config,
                              const char *hostname, struct err *e)
{
        struct network_options options;
        memset(net, 0, sizeof(*net));
        int r = network_options_parse(config, &options, e);
        if (r < 0)
                return r;
        return network_prepare(net, &options, hostname, e);
}

bool network_wants_namespace(const struct network_options *o)
{
        return o->mode != NETWORK_MODE_HOST;
}

/* ---- small helpers ------------------------------------------------------------------------------ */

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

/* Start time of a process (field 22 of /proc/PID/stat), to tell it from a later one with its pid. */
static unsigned long long process_start_time(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        _cleanup_free_ char *stat = NULL;
        size_t len;
        if (util_read_file(path, &stat, &len) < 0)
                return 0;
        char *p = strrchr(stat, ')');
        if (p == NULL)
                return 0;
        /* After ") " come fields 3 (state) .. ; the start time is field 22. */
        p += 2;
        for (int field = 3; field < 22 && p; field++) {
                p = strchr(p, ' ');
                if (p)
                        p++;
        }
        return p ? strtoull(p, NULL, 10) : 0;
}

static bool process_alive(pid_t pid, unsigned long long start_time)
{
        if (pid <= 0)
                return false;
        unsigned long long now = process_start_time(pid);
        return now != 0 && now == start_time;
}

static void veth_name_for(struct in_addr address, char name[16])
{
        /* Derived from the address, which the lock makes unique: a stale pair can be found again. */
        snprintf(name, 16, "sp%08x", ntohl(address.s_addr));
}

/* A locally administered MAC derived from the address: a reused address keeps its MAC, so the
 * neighbours' ARP caches stay right when containers come and go quickly. */
static void mac_for(struct in_addr address, uint8_t mac[6])
{
        uint32_t a = ntohl(address.s_addr);
        mac[0] = 0x02;
        mac[1] = 0x73;
        mac[2] = (uint8_t)(a >> 24);
        mac[3] = (uint8_t)(a >> 16);
        mac[4] = (uint8_t)(a >> 8);
        mac[5] = (uint8_t)a;
}

/* ---- external NAT tools -------------------------------------------------------------------------- */

/* Find PROGRAM in PATH and the sbin directories root's PATH sometimes lacks. */
static bool find_program(const char *program, char *out, size_t out_size)
{
        const char *path = getenv("PATH");
        char dirs[PATH_MAX * 2];
        snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin:/usr/local/sbin", path ? path : "/usr/bin:/bin");
        char *save = NULL;
        for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                if (snprintf(out, out_size, "%s/%s", dir, program) >= (int)out_size)
                        continue;
                if (access(out, X_OK) == 0)
                        return true;
        }
        return false;
}

/* Run argv with `input` on stdin; stderr is captured into the error message. 0 or -errno/-EIO. */
static int run_tool(char *const argv[], const char *input, struct err *e)
{
        int in[2] = {-1, -1}, errpipe[2] = {-1, -1};
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(errpipe, O_CLOEXEC) < 0) {
                int r = err_set(e, errno, "pipe");
                for (int i = 0; i < 2; i++) {
                        if (in[i] >= 0)
                                close(in[i]);
                }
                return r;
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, errpipe[1], 2);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        pid_t pid;
        int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(in[0]);
        close(errpipe[1]);
        if (r != 0) {
                close(in[1]);
                close(errpipe[0]);
                return err_set(e, r, "run %s", argv[0]);
        }
        if (input)
                (void)util_write_all(in[1], input, strlen(input));
        close(in[1]);
        char message[256];
        size_t used = 0;
        for (;;) {
                ssize_t n = read(errpipe[0], message + used, sizeof(message) - 1 - used);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                used += (size_t)n;
                if (used == sizeof(message) - 1) {
                        char sink[512];
                        while (read(errpipe[0], sink, sizeof(sink)) > 0)
                                ;
                        break;
                }
        }
        close(errpipe[0]);
        message[used] = '\0';
        char *nl = strchr(message, '\n');
        if (nl)
                *nl = '\0';
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return err_set(e, errno, "wait for %s", argv[0]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        return err_set(e, EIO, "%s failed%s%s", argv[0], message[0] ? ": " : "", message);
}

/* Outbound NAT for one bridge's subnet: an nft table of our own (one delete removes it all), or
 * one iptables rule tagged with a comment when nft is not installed. */
static int nat_command(bool add, const char *bridge, struct network_subnet s, struct err *e)
{
        char subnet[32], net_text[INET_ADDRSTRLEN], tool[PATH_MAX];
        inet_ntop(AF_INET, &s.network, net_text, sizeof(net_text));
        snprintf(subnet, sizeof(subnet), "%s/%u", net_text, s.prefix_length);
        if (find_program("nft", tool, sizeof(tool))) {
                char script[512];
                if (add)
                        snprintf(script, sizeof(script),
                                 "table ip sysprim_%s {\n"
                                 "  chain postrouting {\n"
                                 "    type nat hook postrouting priority srcnat; policy accept;\n"
                                 "    ip saddr %s ip daddr != %s masquerade\n"
                                 "  }\n"
                                 "}\n",
                                 bridge, subnet, subnet);
                else
                        snprintf(script, sizeof(script), "delete table ip sysprim_%s\n", bridge);
                char *argv[] = {tool, "-f", "-", NULL};
                return run_tool(argv, script, e);
        }
        if (find_program("iptables", tool, sizeof(tool))) {
                char comment[48];
                snprintf(comment, sizeof(comment), "sysprim %s", bridge);
                char *argv[] = {tool, "-w", "-t", "nat", add ? "-A" : "-D", "POSTROUTING", "-s", subnet,
                                "!", "-d", subnet, "-m", "comment", "--comment", comment, "-j", "MASQUERADE",
                                NULL};
                return run_tool(argv, NULL, e);
        }
        return err_plain(e, ENOENT, "--nat needs nftables or iptables: install one (apt-get install nftables)");
}

/* ---- the bridge's shared state ------------------------------------------------------------------ */

/* One line per container on the bridge: its address, the `sysprim run` that owns it (pid and start
 * time, so a crashed owner is recognised) and whether it asked for NAT. */
struct entry {
        struct in_addr address;
        pid_t owner;
        unsigned long long owner_start;
        int nat;
};

struct bridge_state {
        int lock_fd;
        char lock_path[PATH_MAX];
        char state_path[PATH_MAX];
        struct network_subnet subnet; /* prefix_length 0: no state yet */
        int nat_active;               /* the NAT rule exists */
        int bridge_created;           /* we made the bridge */
        size_t count;
        struct entry entries[NETWORK_MAX_ENTRIES];
};

/* Lock files go away with the last user (a bridge's last container), so a waiter may end up holding a
 * lock on a file that is no longer there: after locking, check that the path still names the locked
 * file, and start again when it does not (the directory, too, may have just been removed).
 * Returns the locked fd or -errno. */
static int lock_file(const char *lock_path, struct err *e)
{
        for (int attempt = 0;; attempt++) {
                int r = make_dirs(NETWORK_STATE_DIR);
                if (r < 0)
                        return err_set(e, r, "create %s", NETWORK_STATE_DIR);
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

static int state_lock(struct bridge_state *st, const char *bridge, struct err *e)
{
        snprintf(st->lock_path, sizeof(st->lock_path), NETWORK_STATE_DIR "/%s.lock", bridge);
        snprintf(st->state_path, sizeof(st->state_path), NETWORK_STATE_DIR "/%s.state", bridge);
        st->lock_fd = lock_file(st->lock_path, e);
        return st->lock_fd < 0 ? st->lock_fd : 0;
}

static void state_unlock(struct bridge_state *st)
{
        if (st->lock_fd >= 0)
                close(st->lock_fd); /* drops the flock */
        st->lock_fd = -1;
}

static int state_read(struct bridge_state *st, struct err *e)
{
        st->count = 0;
        st->subnet.prefix_length = 0;
        st->nat_active = st->bridge_created = 0;
        _cleanup_fclose_ FILE *f = fopen(st->state_path, "re");
        if (f == NULL)
                return errno == ENOENT ? 0 : err_set(e, errno, "open %s", st->state_path);
        char line[256];
        unsigned lineno = 0;
        while (fgets(line, sizeof(line), f)) {
                lineno++;
                char a[64];
                unsigned prefix;
                int pid, nat;
                unsigned long long start;
                if (line[0] == '#' || line[0] == '\n')
                        continue;
                if (sscanf(line, "subnet %63[0-9.]/%u", a, &prefix) == 2 && prefix >= 8 && prefix <= 30 &&
                    parse_ipv4(a, &st->subnet.network) == 0) {
                        st->subnet.prefix_length = prefix;
                } else if (sscanf(line, "nat %d", &st->nat_active) == 1) {
                } else if (sscanf(line, "bridge_created %d", &st->bridge_created) == 1) {
                } else if (sscanf(line, "container %63s %d %llu %d", a, &pid, &start, &nat) == 4 &&
                           st->count < NETWORK_MAX_ENTRIES &&
                           parse_ipv4(a, &st->entries[st->count].address) == 0) {
                        st->entries[st->count].owner = pid;
                        st->entries[st->count].owner_start = start;
                        st->entries[st->count].nat = nat;
                        st->count++;
                } else {
                        /* A damaged state file must not stop every container: say so and go on. */
                        log_warn("%s:%u: ignoring unreadable line", st->state_path, lineno);
                }
        }
        return 0;
}

static int state_write(struct bridge_state *st, struct err *e)
{
        if (st->count == 0 && !st->nat_active && !st->bridge_created) {
                /* Nothing left on this bridge: leave no files either (see state_lock). */
                if (unlink(st->state_path) < 0 && errno != ENOENT)
                        return err_set(e, errno, "remove %s", st->state_path);
                (void)unlink(st->lock_path);
                (void)rmdir(NETWORK_STATE_DIR);
                (void)rmdir("/run/sysprim"); /* only when empty: other parts of run may use it */
                return 0;
        }
        char tmp[PATH_MAX + 8];
        snprintf(tmp, sizeof(tmp), "%s.new", st->state_path);
        _cleanup_fclose_ FILE *f = fopen(tmp, "we");
        if (f == NULL)
                return err_set(e, errno, "create %s", tmp);
        char net_text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &st->subnet.network, net_text, sizeof(net_text));
        fprintf(f, "# sysprim run: the containers on this bridge; changed only under its .lock\n");
        fprintf(f, "subnet %s/%u\nnat %d\nbridge_created %d\n", net_text, st->subnet.prefix_length,
                st->nat_active, st->bridge_created);
        for (size_t i = 0; i < st->count; i++) {
                char a[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &st->entries[i].address, a, sizeof(a));
                fprintf(f, "container %s %d %llu %d\n", a, (int)st->entries[i].owner,
                        st->entries[i].owner_start, st->entries[i].nat);
        }
        if (fflush(f) != 0 || ferror(f))
                return err_set(e, errno ? errno : EIO, "write %s", tmp);
        FILE *closing = steal_pointer(&f);
        if (fclose(closing) != 0)
                return err_set(e, errno, "write %s", tmp);
        if (rename(tmp, st->state_path) < 0)
                return err_set(e, errno, "replace %s", st->state_path);
        return 0;
}

static void state_remove_entry(struct bridge_state *st, size_t i)
{
        st->entries[i] = st->entries[--st->count];
}

/* Entries whose `sysprim run` died without cleaning up (SIGKILL, crash): release their veth. */
static void state_prune(struct bridge_state *st, struct netlink *nl)
{
        for (size_t i = 0; i < st->count;) {
                struct entry *en = &st->entries[i];
                if (process_alive(en->owner, en->owner_start)) {
                        i++;
                        continue;
                }
                char veth[16], a[INET_ADDRSTRLEN];
                veth_name_for(en->address, veth);
                inet_ntop(AF_INET, &en->address, a, sizeof(a));
                log_info("releasing %s, left behind by process %d", a, (int)en->owner);
                struct err ignored = {0};
                (void)netlink_link_delete(nl, veth, &ignored);
                state_remove_entry(st, i);
        }
}

static int state_nat_users(const struct bridge_state *st)
{
        int users = 0;
        for (size_t i = 0; i < st->count; i++)
                users += st->entries[i].nat != 0;
        return users;
}

static int ip_forward_get(void)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (util_read_file("/proc/sys/net/ipv4/ip_forward", &text, &len) < 0)
                return -1;
        return atoi(text);
}

/* Masquerading forwards packets, so the host must route: ip_forward is turned on with the first NAT
 * of any bridge and put back with the last, if it was off. Which bridges need it is kept in one file
 * for all bridges, under its own lock, always taken after a bridge's lock (never the other way
 * round), so two bridges' containers cannot deadlock. */
#define FORWARD_LOCK NETWORK_STATE_DIR "/forward.lock"
#define FORWARD_STATE NETWORK_STATE_DIR "/forward.state"
#define FORWARD_MAX_BRIDGES 64

struct forward_state {
        int restore; /* ip_forward was 0 before: write 0 when the last bridge is gone */
        size_t count;
        char bridges[FORWARD_MAX_BRIDGES][16];
};

static void forward_read(struct forward_state *fs)
{
        memset(fs, 0, sizeof(*fs));
        _cleanup_fclose_ FILE *f = fopen(FORWARD_STATE, "re");
        char line[64], name[16];
        while (f && fgets(line, sizeof(line), f)) {
                if (sscanf(line, "restore %d", &fs->restore) == 1)
                        continue;
                if (sscanf(line, "bridge %15s", name) == 1 && fs->count < FORWARD_MAX_BRIDGES)
                        snprintf(fs->bridges[fs->count++], 16, "%s", name);
        }
}

static void forward_write(const struct forward_state *fs)
{
        if (fs->count == 0) {
                (void)unlink(FORWARD_STATE);
                (void)unlink(FORWARD_LOCK);
                return;
        }
        _cleanup_fclose_ FILE *f = fopen(FORWARD_STATE ".new", "we");
        if (f == NULL) {
                log_warn("create %s: %s", FORWARD_STATE ".new", strerror(errno));
                return;
        }
        fprintf(f, "restore %d\n", fs->restore);
        for (size_t i = 0; i < fs->count; i++)
                fprintf(f, "bridge %s\n", fs->bridges[i]);
        FILE *closing = steal_pointer(&f);
        if (fclose(closing) != 0 || rename(FORWARD_STATE ".new", FORWARD_STATE) < 0)
                log_warn("write %s: %s", FORWARD_STATE, strerror(errno));
}

static int forward_update(const char *bridge, bool needed, struct err *e)
{
        int fd = lock_file(FORWARD_LOCK, e);
        if (fd < 0)
                return fd;
        struct forward_state fs;
        forward_read(&fs);
        /* A bridge whose holder was killed stays listed (ip_forward stays on, the safe side) until
         * the next run on that bridge releases its NAT. */
        for (size_t i = 0; i < fs.count;) {
                if (strcmp(fs.bridges[i], bridge) == 0)
                        memcpy(fs.bridges[i], fs.bridges[--fs.count], 16);
                else
                        i++;
        }
        int r = 0;
        if (needed) {
                if (fs.count == 0 && ip_forward_get() == 0) {
                        r = util_write_file("/proc/sys/net/ipv4/ip_forward", "1");
                        if (r < 0)
                                r = err_set(e, r, "enable /proc/sys/net/ipv4/ip_forward for --nat");
                        else
                                fs.restore = 1;
                }
                if (r == 0 && fs.count < FORWARD_MAX_BRIDGES)
                        snprintf(fs.bridges[fs.count++], 16, "%s", bridge);
        } else if (fs.count == 0 && fs.restore) {
                (void)util_write_file("/proc/sys/net/ipv4/ip_forward", "0");
                fs.restore = 0;
        }
        if (fs.count == 0 && !needed)
                fs.restore = 0;
        forward_write(&fs);
        close(fd);
        return r;
}

/* Bring NAT in line with the entries: present while any container asked for it, gone otherwise. */
static int state_sync_nat(struct bridge_state *st, const char *bridge, struct err *e)
{
        int users = state_nat_users(st);
        if (users > 0 && !st->nat_active) {
                int r = nat_command(true, bridge, st->subnet, e);
                if (r < 0)
                        return err_wrap(e, "add NAT for %s", bridge);
                st->nat_active = 1;
                r = forward_update(bridge, true, e);
                if (r < 0)
                        return r;
        } else if (users == 0 && st->nat_active) {
                int r = nat_command(false, bridge, st->subnet, e);
                if (r < 0)
                        return err_wrap(e, "remove NAT for %s", bridge);
                st->nat_active = 0;
                struct err ignored = {0};
                (void)forward_update(bridge, false, &ignored);
        }
        return 0;
}

/* Delete the bridge once no container uses it (only if we made it). */
static void state_sync_bridge(struct bridge_state *st, struct netlink *nl, const char *bridge)
{
        if (st->count > 0 || !st->bridge_created)
                return;
        struct err e = {0};
        if (netlink_link_delete(nl, bridge, &e) < 0 && e.code != ENODEV)
                log_warn("%s", e.msg);
        st->bridge_created = 0;
}

static int bridge_ensure(struct bridge_state *st, struct netlink *nl, const char *bridge,
                         struct network_subnet want, bool subnet_given, struct err *e)
{
        char want_text[INET_ADDRSTRLEN], have_text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &want.network, want_text, sizeof(want_text));
        if (st->count > 0 || st->bridge_created) {
                if (st->subnet.prefix_length && subnet_given &&
                    (st->subnet.network.s_addr != want.network.s_addr ||
                     st->subnet.prefix_length != want.prefix_length)) {
                        inet_ntop(AF_INET, &st->subnet.network, have_text, sizeof(have_text));
                        return err_plain(e, EEXIST,
                                       "bridge %s is in use with subnet %s/%u, not --subnet %s/%u; use another "
                                       "--bridge", bridge, have_text, st->subnet.prefix_length, want_text,
                                       want.prefix_length);
                }
                if (netlink_link_index(nl, bridge, e) > 0)
                        return 0;
                /* Recorded but gone (deleted by hand): make it again below with the recorded subnet. */
                if (st->subnet.prefix_length)
                        want = st->subnet;
        }
        struct in_addr gateway = {.s_addr = htonl(ntohl(want.network.s_addr) + 1)};
        uint8_t mac[6], have[6];
        mac_for(gateway, mac);
        if (st->count == 0 && !st->bridge_created && netlink_link_mac(nl, bridge, have, e) > 0) {
                /* Unrecorded, yet carrying the MAC we give this subnet's bridge: ours, from a run
                 * killed between making it and recording it (or whose state was removed). Adopt it;
                 * anything else of that name is not ours to take. */
                if (memcmp(have, mac, sizeof(mac)) != 0)
                        return err_plain(e, EEXIST,
                                         "bridge %s exists but was not made by sysprim; delete it or pick "
                                         "another with --bridge", bridge);
                st->bridge_created = 1;
                st->subnet = want;
                int r = netlink_address_add_ipv4(nl, bridge, gateway, want.prefix_length, e);
                if (r == -EEXIST)
                        r = 0;
                return r == 0 ? netlink_link_set_up(nl, bridge, true, e) : r;
        }
        int r = netlink_bridge_create(nl, bridge, mac, e);
        if (r < 0)
                return r;
        st->bridge_created = 1;
        st->subnet = want;
        r = netlink_address_add_ipv4(nl, bridge, gateway, want.prefix_length, e);
        if (r == 0)
                r = netlink_link_set_up(nl, bridge, true, e);
        return r;
}

static int address_allocate(struct bridge_state *st, struct in_addr wanted, struct in_addr *out,
                            struct err *e)
{
        struct network_subnet s = st->subnet;
        uint32_t base = ntohl(s.network.s_addr);
        uint32_t last = base | ~prefix_mask(s.prefix_length); /* broadcast */
        if (wanted.s_addr) {
                char text[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &wanted, text, sizeof(text));
                uint32_t w = ntohl(wanted.s_addr);
                if (!subnet_contains(s, wanted) || w <= base + 1 || w >= last)
                        return err_plain(e, EINVAL, "--ip %s: not a container address of bridge subnet", text);
                for (size_t i = 0; i < st->count; i++)
                        if (st->entries[i].address.s_addr == wanted.s_addr)
                                return err_plain(e, EADDRINUSE, "--ip %s: in use by another container (run by "
                                               "process %d)", text, (int)st->entries[i].owner);
                *out = wanted;
                return 0;
        }
        /* The lowest free address: with MACs derived from addresses, reuse is harmless. */
        for (uint32_t candidate = base + 2; candidate < last; candidate++) {
                bool used = false;
                for (size_t i = 0; i < st->count && !used; i++)
                        used = ntohl(st->entries[i].address.s_addr) == candidate;
                if (!used) {
                        out->s_addr = htonl(candidate);
                        return 0;
                }
        }
        return err_plain(e, EADDRNOTAVAIL, "no free address left on the bridge's subnet");
}

/* ---- /etc/hosts and /etc/resolv.conf ------------------------------------------------------------ */

/* A growing string for the files' contents; on allocation failure it stays NULL and is reported. */
struct text {
        char *data;
        size_t length, capacity;
        bool failed;
};

static void text_append(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_append(struct text *t, const char *fmt, ...)
{
        if (t->failed)
                return;
        for (;;) {
                va_list ap;
                va_start(ap, fmt);
                size_t room = t->capacity - t->length;
                int n = vsnprintf(t->data ? t->data + t->length : NULL, t->data ? room : 0, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        t->failed = true;
                        return;
                }
                if (t->data && (size_t)n < room) {
                        t->length += (size_t)n;
                        return;
                }
                size_t capacity = t->capacity ? t->capacity * 2 : 1024;
                while (capacity - t->length <= (size_t)n)
                        capacity *= 2;
                char *grown = realloc(t->data, capacity);
                if (grown == NULL) {
                        t->failed = true;
                        return;
                }
                t->data = grown;
                t->capacity = capacity;
        }
}

static bool is_loopback_nameserver(const char *line)
{
        char address[64];
        if (sscanf(line, " nameserver %63s", address) != 1)
                return false;
        return strncmp(address, "127.", 4) == 0 || strcmp(address, "::1") == 0;
}

/* The host's resolvers. A loopback resolver (a local stub like systemd-resolved's 127.0.0.53)
 * cannot be reached from a private namespace: use the stub's upstream list when there is one,
 * otherwise leave the loopback servers out. */
static void build_resolv_conf(struct text *t, bool private_netns)
{
        const char *source = "/etc/resolv.conf";
        _cleanup_fclose_ FILE *in = fopen(source, "re");
        char line[512];
        if (private_netns && in) {
                bool loopback = false;
                while (fgets(line, sizeof(line), in))
                        loopback |= is_loopback_nameserver(line);
                rewind(in);
                FILE *upstream = loopback ? fopen("/run/systemd/resolve/resolv.conf", "re") : NULL;
                if (upstream) {
                        fclose(in);
                        in = upstream;
                        source = "/run/systemd/resolve/resolv.conf";
                }
        }
        text_append(t, "# sysprim run: the host's %s\n", source);
        while (in && fgets(line, sizeof(line), in))
                if (!(private_netns && is_loopback_nameserver(line)))
                        text_append(t, "%s", line);
}

static void build_hosts(struct text *t, const struct network *net, const char *hostname)
{
        if (net->options.mode == NETWORK_MODE_HOST) {
                /* The host's names, as the host sees them, plus the container's own. */
                _cleanup_fclose_ FILE *in = fopen("/etc/hosts", "re");
                char line[512];
                while (in && fgets(line, sizeof(line), in))
                        text_append(t, "%s%s", line, strchr(line, '\n') ? "" : "\n");
                if (hostname && hostname[0])
                        text_append(t, "127.0.1.1\t%s\n", hostname);
                return;
        }
        text_append(t, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        if (hostname && hostname[0]) {
                char a[INET_ADDRSTRLEN] = "127.0.1.1";
                if (net->address.s_addr)
                        inet_ntop(AF_INET, &net->address, a, sizeof(a));
                text_append(t, "%s\t%s\n", a, hostname);
        }
        if (net->gateway.s_addr) {
                char g[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &net->gateway, g, sizeof(g));
                text_append(t, "%s\thost.sysprim.internal\n", g);
        }
}

static int files_prepare(struct network *net, const char *hostname, struct err *e)
{
        struct text hosts = {0}, resolv = {0};
        build_hosts(&hosts, net, hostname);
        build_resolv_conf(&resolv, net->options.mode != NETWORK_MODE_HOST);
        if (hosts.failed || resolv.failed || !hosts.data || !resolv.data) {
                free(hosts.data);
                free(resolv.data);
                return err_set(e, ENOMEM, "prepare /etc/hosts and /etc/resolv.conf");
        }
        net->hosts = hosts.data;
        net->resolv_conf = resolv.data;
        return 0;
}

/* In a copy-on-write root, simply write /etc/NAME: the write lands in the container's private upper
 * layer and vanishes with it, and costs no mount. 1 when done, 0 when the root refuses (a read-only
 * fallback root), -errno otherwise. */
static int write_in_root(const char *target, const char *content)
{
        struct stat st;
        if (lstat(target, &st) == 0 && !S_ISREG(st.st_mode)) {
                /* A symlink (Debian's resolv.conf often is one) would send the write elsewhere. */
                if (!S_ISLNK(st.st_mode) || unlink(target) < 0)
                        return errno == EROFS ? 0 : -EEXIST;
        }
        int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 && errno == ENOENT && mkdir("/etc", 0755) == 0) /* a minimal root may have none */
                fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return errno == EROFS ? 0 : -errno;
        int r = util_write_all(fd, content, strlen(content));
        close(fd);
        return r < 0 ? r : 1;
}

/* Put `content` over /etc/NAME. In a copy-on-write root it is written there; otherwise (a
 * --rootfs-rw directory must never be written, a read-only root cannot be) it is written to a file on
 * the container's private /dev tmpfs, bound over the target read-only and unlinked (the bind keeps
 * it), so nothing remains on the host. A target missing there is left out. */
static int mount_file(const char *name, const char *content, bool copy_on_write, struct err *e)
{
        char target[64], staging[64];
        snprintf(target, sizeof(target), "/etc/%s", name);
        snprintf(staging, sizeof(staging), "/dev/.sysprim-%s", name);
        if (copy_on_write) {
                int r = write_in_root(target, content);
                if (r > 0)
                        return 0;
                if (r < 0)
                        return err_set(e, r, "write %s", target);
        }
        struct stat st;
        if (lstat(target, &st) < 0 || !S_ISREG(st.st_mode)) {
                /* A bind would follow a symlink out of the root, and a missing file cannot be made. */
                log_debug("leaving /etc/%s as it is in the container's root", name);
                return 0;
        }
        int fd = open(staging, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return err_set(e, errno, "create %s", staging);
        int r = util_write_all(fd, content, strlen(content));
        close(fd);
        if (r < 0) {
                unlink(staging);
                return err_set(e, r, "write %s", staging);
        }
        if (mount(staging, target, NULL, MS_BIND, NULL) < 0) {
                r = err_set(e, errno, "bind %s on %s", staging, target);
                unlink(staging);
                return r;
        }
        unlink(staging);
        if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  NULL) < 0)
                return err_set(e, errno, "make %s read-only", target);
        return 0;
}

int network_mount_files(const struct network *net, bool copy_on_write, struct err *e)
{
        if (!net->active || net->hosts == NULL)
                return 0;
        int r = mount_file("hosts", net->hosts, copy_on_write, e);
        if (r == 0)
                r = mount_file("resolv.conf", net->resolv_conf, copy_on_write, e);
        return r < 0 ? err_wrap(e, "container network files") : 0;
}

/* ---- the --publish forwarder -------------------------------------------------------------------- */

/* A thread in `sysprim run` relays each accepted connection to the container's address. Unlike
 * DNAT, this also serves connections to 127.0.0.1 from the host itself, and it needs no firewall
 * tool and leaves no rules behind. */

#define FORWARD_BUFFER 65536

struct forward_side {
        int fd;
        struct forward_connection *conn;
        char *buf;          /* bytes read from this side, waiting to be written to the other */
        size_t start, end;
        bool eof;           /* this side sent FIN: no more reads */
        bool shut;          /* we sent FIN to the other side */
        uint32_t events;    /* what epoll watches now */
};

struct forward_connection {
        struct forward_side side[2]; /* 0: the client on the host, 1: the container */
        bool connecting;
        struct forward_connection *prev, *next; /* all open ones, to close them when stopping */
};

struct forward_listener {
        int fd;
        struct network_publish publish;
};

struct network_forwarder {
        pthread_t thread;
        bool started;
        int epoll_fd;
        int stop_fd;
        struct in_addr target;
        size_t listener_count;
        struct forward_listener listeners[NETWORK_MAX_PUBLISH];
        struct forward_connection *connections;
};

/* epoll data: listeners and the stop eventfd are tagged by small integers below this pointer-free
 * range; connection sides are pointers. */
enum { TAG_STOP = 1, TAG_LISTENER_BASE = 16 };

static void side_update(struct network_forwarder *fw, struct forward_side *s, struct forward_side *other)
{
        uint32_t want = 0;
        if (!s->eof && s->end == 0)
                want |= EPOLLIN;
        if (other->end > other->start || (s->conn->connecting && s == &s->conn->side[1]))
                want |= EPOLLOUT;
        if (want != s->events) {
                struct epoll_event ev = {.events = want, .data.ptr = s};
                epoll_ctl(fw->epoll_fd, EPOLL_CTL_MOD, s->fd, &ev);
                s->events = want;
        }
}

static void connection_close(struct network_forwarder *fw, struct forward_connection *c)
{
        if (c->prev)
                c->prev->next = c->next;
        else
                fw->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        for (int i = 0; i < 2; i++) {
                if (c->side[i].fd >= 0) {
                        epoll_ctl(fw->epoll_fd, EPOLL_CTL_DEL, c->side[i].fd, NULL);
                        close(c->side[i].fd);
                }
                free(c->side[i].buf);
        }
        free(c);
}

static void forward_accept(struct network_forwarder *fw, struct forward_listener *l)
{
        int client = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) {
                /* Out of descriptors or memory: the pending connection stays readable, so pause
                 * instead of spinning until something is freed. */
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
                return;
        }
        int upstream = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct forward_connection *c = calloc(1, sizeof(*c));
        char *b0 = malloc(FORWARD_BUFFER), *b1 = malloc(FORWARD_BUFFER);
        if (upstream < 0 || c == NULL || b0 == NULL || b1 == NULL) {
                close(client);
                if (upstream >= 0)
                        close(upstream);
                free(c);
                free(b0);
                free(b1);
                return;
        }
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(l->publish.container_port),
                                 .sin_addr = fw->target};
        int r = connect(upstream, (struct sockaddr *)&to, sizeof(to));
        if (r < 0 && errno != EINPROGRESS) {
                close(client);
                close(upstream);
                free(c);
                free(b0);
                free(b1);
                return;
        }
        c->connecting = r < 0;
        c->side[0] = (struct forward_side){.fd = client, .conn = c, .buf = b0};
        c->side[1] = (struct forward_side){.fd = upstream, .conn = c, .buf = b1};
        /* Read from the client only once the container side is connected. */
        struct epoll_event ev0 = {.events = c->connecting ? 0 : EPOLLIN, .data.ptr = &c->side[0]};
        struct epoll_event ev1 = {.events = c->connecting ? EPOLLOUT : EPOLLIN, .data.ptr = &c->side[1]};
        c->side[0].events = ev0.events;
        c->side[1].events = ev1.events;
        epoll_ctl(fw->epoll_fd, EPOLL_CTL_ADD, client, &ev0);
        epoll_ctl(fw->epoll_fd, EPOLL_CTL_ADD, upstream, &ev1);
        c->next = fw->connections;
        if (c->next)
                c->next->prev = c;
        fw->connections = c;
}

/* Move bytes for one side's event; false when the connection is finished and must be closed. */
static bool forward_event(struct network_forwarder *fw, struct forward_side *s, uint32_t events)
{
        struct forward_connection *c = s->conn;
        int index = s == &c->side[0] ? 0 : 1;
        if (events & EPOLLERR)
                return false;
        if (c->connecting) {
                if (index != 1)
                        return true;
                int error = 0;
                socklen_t len = sizeof(error);
                getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &len);
                if (error != 0)
                        return false; /* nothing listens in the container: drop the client */
                c->connecting = false;
                side_update(fw, &c->side[0], &c->side[1]);
                side_update(fw, &c->side[1], &c->side[0]);
                return true;
        }
        if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !s->eof && s->end == 0) {
                ssize_t n = read(s->fd, s->buf, FORWARD_BUFFER);
                if (n > 0) {
                        s->start = 0;
                        s->end = (size_t)n;
                } else if (n == 0) {
                        s->eof = true;
                } else if (errno != EAGAIN && errno != EINTR) {
                        return false;
                }
        }
        /* Flush what each side has for the other. */
        for (int i = 0; i < 2; i++) {
                struct forward_side *from = &c->side[i], *to = &c->side[1 - i];
                while (from->end > from->start) {
                        ssize_t n = send(to->fd, from->buf + from->start, from->end - from->start, MSG_NOSIGNAL);
                        if (n < 0) {
                                if (errno == EAGAIN || errno == EINTR)
                                        break;
                                return false;
                        }
                        from->start += (size_t)n;
                }
                if (from->start == from->end)
                        from->start = from->end = 0;
                if (from->eof && from->end == 0 && !from->shut) {
                        shutdown(to->fd, SHUT_WR);
                        from->shut = true;
                }
        }
        if (c->side[0].shut && c->side[1].shut)
                return false;
        side_update(fw, &c->side[0], &c->side[1]);
        side_update(fw, &c->side[1], &c->side[0]);
        return true;
}

static void *forward_loop(void *arg)
{
        struct network_forwarder *fw = arg;
        struct epoll_event events[64];
        for (;;) {
                int n = epoll_wait(fw->epoll_fd, events, (int)ARRAY_SIZE(events), -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        log_warn("publish: epoll_wait: %s", strerror(errno));
                        return NULL;
                }
                /* Connections closed in this batch must not be touched by later events of it. */
                struct forward_connection *closed[64];
                int closed_count = 0;
                for (int i = 0; i < n; i++) {
                        uintptr_t tag = (uintptr_t)events[i].data.ptr;
                        if (tag == TAG_STOP)
                                goto stop;
                        if (tag >= TAG_LISTENER_BASE && tag < TAG_LISTENER_BASE + NETWORK_MAX_PUBLISH) {
                                forward_accept(fw, &fw->listeners[tag - TAG_LISTENER_BASE]);
                                continue;
                        }
                        struct forward_side *s = events[i].data.ptr;
                        bool gone = false;
                        for (int k = 0; k < closed_count && !gone; k++)
                                gone = closed[k] == s->conn;
                        if (gone)
                                continue;
                        if (!forward_event(fw, s, events[i].events))
                                closed[closed_count++] = s->conn;
                }
                for (int k = 0; k < closed_count; k++)
                        connection_close(fw, closed[k]);
        }
stop:
        return NULL;
}

/* Open connections are owned by the epoll set only; find them through it when stopping. */
static void forwarder_free(struct network_forwarder *fw)
{
        if (fw->started) {
                uint64_t one = 1;
                if (write(fw->stop_fd, &one, sizeof(one)) < 0)
                        log_warn("publish: stop forwarder: %s", strerror(errno));
                pthread_join(fw->thread, NULL);
        }
        while (fw->connections)
                connection_close(fw, fw->connections);
        for (size_t i = 0; i < fw->listener_count; i++)
                close(fw->listeners[i].fd);
        if (fw->epoll_fd >= 0)
                close(fw->epoll_fd);
        if (fw->stop_fd >= 0)
                close(fw->stop_fd);
        free(fw);
}

static int forwarder_start(struct network *net, struct err *e)
{
        const struct network_publish_list *list = &net->options.publish;
        if (list->count == 0)
                return 0;
        struct network_forwarder *fw = calloc(1, sizeof(*fw));
        if (fw == NULL)
                return err_set(e, ENOMEM, "publish");
        fw->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        fw->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        fw->target = net->address;
        net->forwarder = fw;
        if (fw->epoll_fd < 0 || fw->stop_fd < 0)
                return err_set(e, errno, "publish: create epoll/eventfd");
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)(uintptr_t)TAG_STOP};
        epoll_ctl(fw->epoll_fd, EPOLL_CTL_ADD, fw->stop_fd, &ev);
        for (size_t i = 0; i < list->count; i++) {
                const struct network_publish *p = &list->items[i];
                char a[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &p->host_address, a, sizeof(a));
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return err_set(e, errno, "publish %s:%u", a, p->host_port);
                fw->listeners[fw->listener_count++] = (struct forward_listener){.fd = fd, .publish = *p};
                int one = 1;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->host_port),
                                         .sin_addr = p->host_address};
                if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0)
                        return err_set(e, errno, "publish: listen on %s:%u", a, p->host_port);
                ev = (struct epoll_event){.events = EPOLLIN,
                                          .data.ptr = (void *)(uintptr_t)(TAG_LISTENER_BASE + i)};
                epoll_ctl(fw->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
        }
        /* The thread takes no signals: they stay with the runtime's own handling. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int r = pthread_create(&fw->thread, NULL, forward_loop, fw);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0)
                return err_set(e, r, "publish: start forwarder thread");
        fw->started = true;
        return 0;
}

/* ---- prepare, attach, release ------------------------------------------------------------------- */

static const char *bridge_name(const struct network_options *o)
{
        return o->bridge ? o->bridge : NETWORK_DEFAULT_BRIDGE;
}

int network_prepare(struct network *net, const struct network_options *options, const char *hostname,
                    struct err *e)
{
        memset(net, 0, sizeof(*net));
        int r = network_options_check(options, e);
        if (r < 0)
                return r;
        net->options = *options;
        net->active = true;
        options = &net->options;
        if (options->mode == NETWORK_MODE_BRIDGE) {
                /* Links on the host's bridge need the host's CAP_NET_ADMIN, which a user namespace
                 * cannot give. */
                if (geteuid() != 0)
                        return err_plain(e, EPERM, "--net bridge needs root (without it: --net none or "
                                         "--net host)");
                snprintf(net->bridge, sizeof(net->bridge), "%s", bridge_name(options));
                struct netlink nl = {.fd = -1};
                r = netlink_open(&nl, e);
                if (r < 0)
                        return err_wrap(e, "--net bridge");
                struct bridge_state *st = malloc(sizeof(*st));
                if (st == NULL) {
                        netlink_close(&nl);
                        return err_set(e, ENOMEM, "--net bridge");
                }
                st->lock_fd = -1;
                r = state_lock(st, net->bridge, e);
                if (r == 0)
                        r = state_read(st, e);
                if (r == 0) {
                        state_prune(st, &nl);
                        r = bridge_ensure(st, &nl, net->bridge, subnet_or_default(options),
                                          options->subnet.prefix_length != 0, e);
                }
                if (r == 0 && st->count >= NETWORK_MAX_ENTRIES)
                        r = err_plain(e, EUSERS, "bridge %s has %d containers, the most it takes",
                                      net->bridge, NETWORK_MAX_ENTRIES);
                if (r == 0)
                        r = address_allocate(st, options->ip, &net->address, e);
                if (r == 0) {
                        struct entry *en = &st->entries[st->count++];
                        en->address = net->address;
                        en->owner = getpid();
                        en->owner_start = process_start_time(en->owner);
                        en->nat = options->nat;
                        r = state_sync_nat(st, net->bridge, e);
                        if (r < 0) {
                                /* Take back a NAT rule that was added before the failure. */
                                struct err ignored = {0};
                                st->count--;
                                (void)state_sync_nat(st, net->bridge, &ignored);
                        }
                }
                if (r == 0) {
                        net->recorded = true;
                        net->gateway.s_addr = htonl(ntohl(st->subnet.network.s_addr) + 1);
                        net->prefix_length = st->subnet.prefix_length;
                        veth_name_for(net->address, net->host_veth);
                } else {
                        /* Undo a bridge this attempt made for nobody. */
                        state_sync_bridge(st, &nl, net->bridge);
                }
                if (st->lock_fd >= 0) {
                        struct err write_error = {0};
                        int w = state_write(st, &write_error);
                        if (w < 0 && r == 0) {
                                *e = write_error;
                                r = w;
                        }
                }
                state_unlock(st);
                free(st);
                netlink_close(&nl);
                if (r < 0) {
                        /* Nothing was recorded, and a bridge made for this attempt is gone again. */
                        net->host_veth[0] = '\0';
                        return err_wrap(e, "--net bridge");
                }
        }
        r = files_prepare(net, options->name ? options->name : hostname, e);
        if (r < 0) {
                network_release(net);
                return r;
        }
        return 0;
}

int network_attach(struct network *net, pid_t child, struct err *e)
{
        if (!net->active || net->options.mode != NETWORK_MODE_BRIDGE)
                return 0;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)child);
        _cleanup_close_ int netns = open(path, O_RDONLY | O_CLOEXEC);
        if (netns < 0 && errno == ENOENT)
                return err_plain(e, ESRCH, "--net bridge: the container ended before its network was set up");
        if (netns < 0)
                return err_set(e, errno, "open %s", path);
        struct netlink host = {.fd = -1}, inside = {.fd = -1};
        uint8_t mac[6];
        mac_for(net->address, mac);
        int r = netlink_open(&host, e);
        if (r == 0)
                r = netlink_veth_create(&host, net->host_veth, "eth0",
                                        (struct netlink_netns){.pid = 0, .fd = netns}, mac, e);
        if (r == 0)
                r = netlink_link_set_master(&host, net->host_veth, net->bridge, e);
        if (r == 0)
                r = netlink_link_set_up(&host, net->host_veth, true, e);
        if (r == 0)
                r = netlink_open_in_netns(&inside, netns, e);
        if (r == 0)
                r = netlink_link_set_up(&inside, "lo", true, e);
        if (r == 0)
                r = netlink_address_add_ipv4(&inside, "eth0", net->address, net->prefix_length, e);
        if (r == 0)
                r = netlink_link_set_up(&inside, "eth0", true, e);
        if (r == 0)
                r = netlink_route_add_default_ipv4(&inside, "eth0", net->gateway, e);
        netlink_close(&inside);
        netlink_close(&host);
        if (r == 0)
                r = forwarder_start(net, e);
        if (r < 0)
                return err_wrap(e, "--net bridge");
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &net->address, a, sizeof(a));
        log_info("container address %s/%u on %s (%s)", a, net->prefix_length, net->bridge, net->host_veth);
        return 0;
}

void network_release(struct network *net)
{
        if (!net->active)
                return;
        if (net->forwarder) {
                forwarder_free(net->forwarder);
                net->forwarder = NULL;
        }
        free(net->hosts);
        free(net->resolv_conf);
        net->hosts = net->resolv_conf = NULL;
        if (!net->recorded && !net->host_veth[0])
                return;
        struct netlink nl = {.fd = -1};
        struct err e = {0};
        if (netlink_open(&nl, &e) < 0) {
                log_warn("release network: %s", e.msg);
                return;
        }
        /* The pair usually died with the container's namespace; if the namespace lives on (someone
         * holds it), delete it here. */
        if (net->host_veth[0] && netlink_link_delete(&nl, net->host_veth, &e) < 0 && e.code != ENODEV)
                log_warn("release network: %s", e.msg);
        net->host_veth[0] = '\0';
        if (net->recorded) {
                struct bridge_state *st = malloc(sizeof(*st));
                if (st != NULL) {
                        st->lock_fd = -1;
                        if (state_lock(st, net->bridge, &e) == 0 && state_read(st, &e) == 0) {
                                for (size_t i = 0; i < st->count; i++) {
                                        if (st->entries[i].address.s_addr == net->address.s_addr &&
                                            st->entries[i].owner == getpid()) {
                                                state_remove_entry(st, i);
                                                break;
                                        }
                                }
                                state_prune(st, &nl);
                                if (state_sync_nat(st, net->bridge, &e) < 0)
                                        log_warn("release network: %s", e.msg);
                                state_sync_bridge(st, &nl, net->bridge);
                                if (state_write(st, &e) < 0)
                                        log_warn("release network: %s", e.msg);
                        } else {
                                log_warn("release network: %s", e.msg);
                        }
                        state_unlock(st);
                        free(st);
                }
                net->recorded = false;
        }
        netlink_close(&nl);
}
