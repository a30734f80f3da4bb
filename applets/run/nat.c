/* Outbound NAT through nft or iptables, and ip_forward (see nat.h). Part of the `run` applet. */
#include "nat.h"
#include "state_lock.h"

#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

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
enum nat_tool nat_tool_find(struct err *e)
{
        char path[PATH_MAX];
        if (find_program("nft", path, sizeof(path)))
                return NAT_NFT;
        if (find_program("iptables", path, sizeof(path)))
                return NAT_IPTABLES;
        err_plain(e, ENOENT, "--nat needs nftables or iptables: install one (apt-get install nftables)");
        return NAT_NONE;
}

int nat_rule(bool add, enum nat_tool which, const char *bridge, struct network_subnet s, struct err *e)
{
        char subnet[32], net_text[INET_ADDRSTRLEN], tool[PATH_MAX];
        inet_ntop(AF_INET, &s.network, net_text, sizeof(net_text));
        snprintf(subnet, sizeof(subnet), "%s/%u", net_text, s.prefix_length);
        const char *program = which == NAT_IPTABLES ? "iptables" : "nft";
        /* nat_tool_find chose it when adding; gone since, or when removing what it made. */
        if (!find_program(program, tool, sizeof(tool)))
                return err_plain(e, ENOENT, "the NAT of bridge %s %s made with %s, which is not installed%s",
                                 bridge, add ? "is to be" : "was", program,
                                 add ? "" : ": reinstall it to remove the NAT");
        if (which != NAT_IPTABLES) {
                /* Whatever a run killed half-way left (a table without a record, a record without a
                 * table): "add" then "delete" in one atomic batch removes the table whether or not it
                 * exists, so adding always starts from nothing and removing never fails for its absence
                 * (which left the bridge's record saying NAT for good, and ip_forward on). */
                char script[768];
                int n = snprintf(script, sizeof(script), "add table ip sysprim_%s\ndelete table ip sysprim_%s\n",
                                 bridge, bridge);
                /* The forward chain: with ip_forward on, the host would route anything sent to it for
                 * the subnet into the bridge (a neighbour reaching every container port, published or
                 * not, or another bridge's containers). Only answers to the containers' own
                 * connections go in, as Docker's isolation does. */
                if (add)
                        snprintf(script + n, sizeof(script) - (size_t)n,
                                 "table ip sysprim_%s {\n"
                                 "  chain postrouting {\n"
                                 "    type nat hook postrouting priority srcnat; policy accept;\n"
                                 "    ip saddr %s ip daddr != %s masquerade\n"
                                 "  }\n"
                                 "  chain forward {\n"
                                 "    type filter hook forward priority filter; policy accept;\n"
                                 "    oifname \"%s\" ct state established,related accept\n"
                                 "    oifname \"%s\" iifname != \"%s\" drop\n"
                                 "  }\n"
                                 "}\n",
                                 bridge, subnet, subnet, bridge, bridge, bridge);
                char *argv[] = {tool, "-f", "-", NULL};
                return run_tool(argv, script, e);
        }
        /* The same two rules as the nft table's, each present once when adding and absent when
         * removing, whatever a killed run left (checked with -C first). */
        char comment[48], operation[3] = "-C";
        snprintf(comment, sizeof(comment), "sysprim %s", bridge);
        char *masquerade[] = {tool, "-w", "-t", "nat", operation, "POSTROUTING", "-s", subnet, "!", "-d",
                              subnet, "-m", "comment", "--comment", comment, "-j", "MASQUERADE", NULL};
        char *forward[] = {tool, "-w", "-t", "filter", operation, "FORWARD", "-o", (char *)bridge, "!",
                           "-i", (char *)bridge, "-m", "conntrack", "!", "--ctstate", "ESTABLISHED,RELATED",
                           "-m", "comment", "--comment", comment, "-j", "DROP", NULL};
        char **rules[] = {masquerade, forward};
        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
                operation[1] = 'C';
                struct err absent = {0};
                if ((run_tool(rules[i], NULL, &absent) == 0) == add)
                        continue;
                /* The drop goes first in FORWARD, ahead of any rule that accepts everything. */
                operation[1] = !add ? 'D' : rules[i] == forward ? 'I' : 'A';
                int r = run_tool(rules[i], NULL, e);
                if (r < 0)
                        return r;
        }
        return 0;
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
/* With a '-', which bridge names never have: "forward.state" was also bridge forward's record. */
#define IP_FORWARD_MAX_BRIDGES 64

/* network_state_dir()/ip-forward<suffix>: ".lock", ".state", ".state.new". */
static const char *ip_forward_path(char buf[PATH_MAX], const char *suffix)
{
        snprintf(buf, PATH_MAX, "%s/ip-forward%s", network_state_dir(), suffix);
        return buf;
}

struct ip_forward_state {
        int restore; /* ip_forward was 0 before: write 0 when the last bridge is gone */
        size_t count;
        char bridges[IP_FORWARD_MAX_BRIDGES][16];
};

static void ip_forward_read(struct ip_forward_state *fs)
{
        memset(fs, 0, sizeof(*fs));
        char path[PATH_MAX];
        _cleanup_fclose_ FILE *f = fopen(ip_forward_path(path, ".state"), "re");
        char line[64], name[16];
        while (f && fgets(line, sizeof(line), f)) {
                if (sscanf(line, "restore %d", &fs->restore) == 1)
                        continue;
                if (sscanf(line, "bridge %15s", name) == 1 && fs->count < IP_FORWARD_MAX_BRIDGES)
                        snprintf(fs->bridges[fs->count++], 16, "%s", name);
        }
}

static void ip_forward_write(const struct ip_forward_state *fs)
{
        char path[PATH_MAX], new_path[PATH_MAX];
        ip_forward_path(path, ".state");
        if (fs->count == 0) {
                char other[PATH_MAX];
                (void)unlink(path);
                (void)unlink(ip_forward_path(other, ".state.new")); /* a killed writer's */
                (void)unlink(ip_forward_path(other, ".lock"));
                return;
        }
        _cleanup_fclose_ FILE *f = fopen(ip_forward_path(new_path, ".state.new"), "we");
        if (f == NULL) {
                log_warn("create %s: %s", new_path, strerror(errno));
                return;
        }
        fprintf(f, "restore %d\n", fs->restore);
        for (size_t i = 0; i < fs->count; i++)
                fprintf(f, "bridge %s\n", fs->bridges[i]);
        FILE *closing = steal_pointer(&f);
        if (fclose(closing) != 0 || rename(new_path, path) < 0)
                log_warn("write %s: %s", path, strerror(errno));
}

int nat_ip_forward_update(const char *bridge, bool needed, struct err *e)
{
        char lock_path[PATH_MAX];
        int fd = state_lock_take(ip_forward_path(lock_path, ".lock"), e);
        if (fd < 0)
                return fd;
        struct ip_forward_state fs;
        ip_forward_read(&fs);
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
                bool turn_on = fs.count == 0 && ip_forward_get() == 0;
                bool listed = fs.count < IP_FORWARD_MAX_BRIDGES;
                if (listed)
                        snprintf(fs.bridges[fs.count++], 16, "%s", bridge);
                if (turn_on) {
                        /* Recorded before it is done: a run killed in between leaves a record with
                         * which the next run puts ip_forward back. */
                        fs.restore = 1;
                        ip_forward_write(&fs);
                        r = util_write_file("/proc/sys/net/ipv4/ip_forward", "1");
                        if (r < 0) {
                                r = err_set(e, r, "enable /proc/sys/net/ipv4/ip_forward for --nat");
                                if (listed)
                                        fs.count--;
                                fs.restore = 0;
                        }
                }
        } else if (fs.count == 0 && fs.restore) {
                (void)util_write_file("/proc/sys/net/ipv4/ip_forward", "0");
                fs.restore = 0;
        }
        if (fs.count == 0 && !needed)
                fs.restore = 0;
        ip_forward_write(&fs);
        close(fd);
        return r;
}

