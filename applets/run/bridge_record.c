/* The record of one bridge's containers, under its lock (see bridge_record.h). Part of the `run`
 * applet. */
#include "bridge_record.h"
#include "bridge.h"
#include "netlink.h"
#include "process.h"
#include "state_lock.h"
#include "subnet.h"

#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void record_paths(struct bridge_record *st, const char *bridge)
{
        snprintf(st->lock_path, sizeof(st->lock_path), "%s/%s.lock", network_state_dir(), bridge);
        snprintf(st->state_path, sizeof(st->state_path), "%s/%s.state", network_state_dir(), bridge);
}

int bridge_record_lock(struct bridge_record *st, const char *bridge, struct err *e)
{
        record_paths(st, bridge);
        st->lock_fd = state_lock_take(st->lock_path, e);
        return st->lock_fd < 0 ? st->lock_fd : 0;
}

void bridge_record_unlock(struct bridge_record *st)
{
        if (st->lock_fd >= 0)
                close(st->lock_fd); /* drops the flock */
        st->lock_fd = -1;
}

int bridge_record_read(struct bridge_record *st, struct err *e)
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
                    subnet_parse_address(a, &st->subnet.network) == 0) {
                        st->subnet.prefix_length = prefix;
                } else if (sscanf(line, "nat %d", &st->nat_active) == 1) {
                } else if (sscanf(line, "bridge_created %d", &st->bridge_created) == 1) {
                } else if (sscanf(line, "container %63s %d %llu %d", a, &pid, &start, &nat) == 4 &&
                           st->count < NETWORK_MAX_ENTRIES &&
                           subnet_parse_address(a, &st->entries[st->count].address) == 0) {
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

int bridge_record_peek(struct bridge_record *st, const char *bridge, struct err *e)
{
        st->lock_fd = -1;
        record_paths(st, bridge);
        return bridge_record_read(st, e);
}

bool bridge_record_is_stale(const struct bridge_record *st)
{
        /* No entry yet a bridge or NAT: a run killed while setting up, after it recorded what it was
         * about to make (a live one holds the lock, so its releaser waits and then finds its entry). */
        if (st->count == 0 && (st->bridge_created || st->nat_active))
                return true;
        for (size_t i = 0; i < st->count; i++)
                if (!process_exists(st->entries[i].owner))
                        return true;
        return false;
}

int bridge_record_write(struct bridge_record *st, struct err *e)
{
        char tmp[PATH_MAX + 8];
        snprintf(tmp, sizeof(tmp), "%s.new", st->state_path);
        if (st->count == 0 && !st->nat_active && !st->bridge_created) {
                /* Nothing left on this bridge: leave no files either (see state_lock_take), nor a
                 * killed writer's new record. */
                if (unlink(st->state_path) < 0 && errno != ENOENT)
                        return err_set(e, errno, "remove %s", st->state_path);
                (void)unlink(tmp);
                (void)unlink(st->lock_path);
                (void)rmdir(network_state_dir());
                (void)rmdir(NETWORK_STATE_ROOT); /* these only when empty: others may use them */
                (void)rmdir("/run/sysprim");
                return 0;
        }
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

static void record_remove_entry(struct bridge_record *st, size_t i)
{
        st->entries[i] = st->entries[--st->count];
}

void bridge_record_add(struct bridge_record *st, struct in_addr address, int nat)
{
        struct bridge_record_entry *en = &st->entries[st->count++];
        en->address = address;
        en->owner = getpid();
        en->owner_start = process_start_time(en->owner);
        en->nat = nat;
}

void bridge_record_remove_own(struct bridge_record *st, struct in_addr address)
{
        for (size_t i = 0; i < st->count; i++) {
                if (st->entries[i].address.s_addr == address.s_addr && st->entries[i].owner == getpid()) {
                        record_remove_entry(st, i);
                        return;
                }
        }
}

/* Entries whose `sysprim run` died without cleaning up (SIGKILL, crash): release their veth. */
void bridge_record_prune(struct bridge_record *st, struct netlink *nl)
{
        for (size_t i = 0; i < st->count;) {
                struct bridge_record_entry *en = &st->entries[i];
                if (process_alive(en->owner, en->owner_start)) {
                        i++;
                        continue;
                }
                char veth[16], a[INET_ADDRSTRLEN];
                bridge_veth_name(en->address, veth);
                inet_ntop(AF_INET, &en->address, a, sizeof(a));
                log_info("releasing %s, left behind by process %d", a, (int)en->owner);
                struct err ignored = {0};
                (void)netlink_link_delete(nl, veth, &ignored);
                record_remove_entry(st, i);
        }
}

int bridge_record_nat_users(const struct bridge_record *st)
{
        int users = 0;
        for (size_t i = 0; i < st->count; i++)
                users += st->entries[i].nat != 0;
        return users;
}
int bridge_record_allocate(struct bridge_record *st, struct in_addr wanted, struct in_addr *out,
                           struct err *e)
{
        struct network_subnet s = st->subnet;
        uint32_t base = ntohl(s.network.s_addr);
        uint32_t last = base | ~subnet_mask(s.prefix_length); /* broadcast */
        if (wanted.s_addr) {
                char text[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &wanted, text, sizeof(text));
                int r = network_check_container_address(s, wanted, e);
                if (r < 0)
                        return r;
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

