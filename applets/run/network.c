/* The networking layer of `run` (see network.h): what a container's network goes through, from
 * prepare (before the clone) over attach (after it) to release, built from the parts: the bridge's
 * record (bridge_record.c), its links (bridge.c), NAT (nat.c), --publish (publish.c) and the
 * container's /etc files (etc_files.c). Options are parsed in network_options.c. */
#include "network.h"
#include "bridge.h"
#include "bridge_record.h"
#include "container.h"
#include "etc_files.h"
#include "nat.h"
#include "netlink.h"
#include "publish.h"
#include "state_lock.h"
#include "subnet.h"

#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NETWORK_DEFAULT_BRIDGE "sysprim0"

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

/* Bring NAT in line with the entries: present while any container asked for it, gone otherwise. */
static int sync_nat(struct bridge_record *st, const char *bridge, struct err *e)
{
        int users = bridge_record_nat_users(st);
        if (users > 0 && !st->nat_active) {
                /* Recorded before it is made: a run killed while making it leaves a record with which
                 * the next run removes it (a removal that works whether or not it got made). */
                enum nat_tool tool = nat_tool_find(e);
                if (tool == NAT_NONE)
                        return -ENOENT;
                st->nat_active = (int)tool; /* removed with the same tool, whatever is installed then */
                int r = bridge_record_write(st, e);
                if (r == 0)
                        r = nat_rule(true, tool, bridge, st->subnet, e);
                if (r < 0) {
                        struct err ignored = {0};
                        (void)nat_rule(false, tool, bridge, st->subnet, &ignored);
                        st->nat_active = 0;
                        return err_wrap(e, "add NAT for %s", bridge);
                }
                r = nat_ip_forward_update(bridge, true, e);
                if (r < 0)
                        return r;
        } else if (users == 0 && st->nat_active) {
                int r = nat_rule(false, (enum nat_tool)st->nat_active, bridge, st->subnet, e);
                if (r < 0)
                        return err_wrap(e, "remove NAT for %s", bridge);
                st->nat_active = 0;
                struct err ignored = {0};
                (void)nat_ip_forward_update(bridge, false, &ignored);
        }
        return 0;
}

/* A bridge without NAT takes no routed traffic, and sends none. With the host forwarding (ip_forward
 * on, for another bridge's --nat or by its admin), a neighbour routing the subnet through the host,
 * or a container of another bridge, would reach every port of its containers, and their packets
 * would go out unmasqueraded. Three policy-routing rules keep both out: the host's own traffic to the
 * subnet (iif lo) looks up the main table as before, anything else to it is dropped, and so is
 * anything coming in on the bridge that is not for the host itself (the local table, at priority 0,
 * answers that first). A NAT bridge has its nft forward chain instead, which lets the answers to its
 * containers' own connections in. The rules exist while the bridge has containers and no NAT. */
#define ISOLATION_PRIORITY 31000

static int sync_isolation(const struct bridge_record *st, struct netlink *nl, const char *bridge, struct err *e)
{
        if (st->subnet.prefix_length == 0)
                return 0;
        const struct {
                struct in_addr to;
                unsigned prefix_length;
                const char *iif;
                bool drop;
        } rules[] = {
                { st->subnet.network, st->subnet.prefix_length, "lo", false },
                { st->subnet.network, st->subnet.prefix_length, NULL, true },
                { { 0 }, 0, bridge, true },
        };
        bool add = st->count > 0 && !st->nat_active;
        /* Added in order, removed in reverse: the host's traffic never meets a drop alone. */
        for (int k = 0; k < 3; k++) {
                int i = add ? k : 2 - k;
                int r = netlink_rule_ipv4(nl, add, ISOLATION_PRIORITY + (uint32_t)i, rules[i].to,
                                          rules[i].prefix_length, rules[i].iif, rules[i].drop, e);
                if (r < 0 && r != (add ? -EEXIST : -ENOENT))
                        return r;
        }
        return 0;
}

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
                struct bridge_record *st = malloc(sizeof(*st));
                if (st == NULL) {
                        netlink_close(&nl);
                        return err_set(e, ENOMEM, "--net bridge");
                }
                st->lock_fd = -1;
                r = bridge_record_lock(st, net->bridge, e);
                if (r == 0)
                        r = bridge_record_read(st, e);
                if (r == 0) {
                        bridge_record_prune(st, &nl);
                        r = bridge_ensure(st, &nl, net->bridge, subnet_of_options(options),
                                          options->subnet.prefix_length != 0, e);
                }
                if (r == 0 && st->count >= NETWORK_MAX_ENTRIES)
                        r = err_plain(e, EUSERS, "bridge %s has %d containers, the most it takes",
                                      net->bridge, NETWORK_MAX_ENTRIES);
                if (r == 0)
                        r = bridge_record_allocate(st, options->ip, &net->address, e);
                if (r == 0) {
                        bridge_record_add(st, net->address, options->nat);
                        /* Written before NAT and the isolation rules change: a run killed from here
                         * on leaves a record with which the next run releases what it made. */
                        r = bridge_record_write(st, e);
                        if (r == 0)
                                r = sync_nat(st, net->bridge, e);
                        if (r == 0)
                                r = sync_isolation(st, &nl, net->bridge, e);
                        if (r < 0) {
                                /* Take back a NAT rule or isolation added before the failure. */
                                struct err ignored = {0};
                                st->count--;
                                (void)sync_nat(st, net->bridge, &ignored);
                                (void)sync_isolation(st, &nl, net->bridge, &ignored);
                        }
                }
                if (r == 0) {
                        net->recorded = true;
                        net->gateway = subnet_gateway(st->subnet);
                        net->prefix_length = st->subnet.prefix_length;
                        bridge_veth_name(net->address, net->host_veth);
                } else {
                        /* Undo a bridge this attempt made for nobody. */
                        bridge_delete_unused(st, &nl, net->bridge);
                }
                if (st->lock_fd >= 0) {
                        struct err write_error = {0};
                        int w = bridge_record_write(st, &write_error);
                        if (w < 0 && r == 0) {
                                *e = write_error;
                                r = w;
                        }
                }
                bridge_record_unlock(st);
                free(st);
                netlink_close(&nl);
                if (r < 0) {
                        /* Nothing was recorded, and a bridge made for this attempt is gone again. */
                        net->host_veth[0] = '\0';
                        return err_wrap(e, "--net bridge");
                }
        }
        r = etc_files_compose(options->mode, net->address, net->gateway, options->name ? options->name : hostname,
                              &net->hosts, &net->resolv_conf, e);
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
        int r = bridge_connect(net->bridge, net->host_veth, netns, net->address, net->prefix_length,
                               net->gateway, e);
        if (r == 0)
                r = publish_start(&net->options.publish, net->address, &net->forwarder, e);
        if (r < 0)
                return err_wrap(e, "--net bridge");
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &net->address, a, sizeof(a));
        log_info("container address %s/%u on %s (%s)", a, net->prefix_length, net->bridge, net->host_veth);
        return 0;
}

int network_mount_files(const struct network *net, bool copy_on_write, struct err *e)
{
        if (!net->active || net->hosts == NULL)
                return 0;
        int r = etc_files_install("hosts", net->hosts, copy_on_write, e);
        if (r == 0)
                r = etc_files_install("resolv.conf", net->resolv_conf, copy_on_write, e);
        return r < 0 ? err_wrap(e, "container network files") : 0;
}

/* Under the bridge's lock: take out this process's entry for `own` (when given) and those whose owner
 * is gone, then keep NAT and the bridge only as far as the remaining entries need them. */
static void record_release(struct netlink *nl, const char *bridge, struct in_addr own)
{
        struct bridge_record *st = malloc(sizeof(*st));
        if (st == NULL)
                return;
        struct err e = {0};
        st->lock_fd = -1;
        if (bridge_record_lock(st, bridge, &e) == 0 && bridge_record_read(st, &e) == 0) {
                if (own.s_addr)
                        bridge_record_remove_own(st, own);
                bridge_record_prune(st, nl);
                if (sync_nat(st, bridge, &e) < 0)
                        log_warn("release network: %s", e.msg);
                if (sync_isolation(st, nl, bridge, &e) < 0)
                        log_warn("release network: %s", e.msg);
                bridge_delete_unused(st, nl, bridge);
                if (bridge_record_write(st, &e) < 0)
                        log_warn("release network: %s", e.msg);
        } else {
                log_warn("release network: %s", e.msg);
        }
        bridge_record_unlock(st);
        free(st);
}

void network_release_stale(void)
{
        if (geteuid() != 0)
                return; /* only root has bridges */
        _cleanup_closedir_ DIR *dir = opendir(network_state_dir());
        if (dir == NULL)
                return;
        struct bridge_record *st = NULL;
        struct netlink nl = {.fd = -1};
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
                /* BRIDGE.state; or BRIDGE.lock or BRIDGE.state.new without BRIDGE.state: a run killed
                 * before its first record was in place. nat.c's ip-forward files have a name no bridge
                 * can have. */
                static const char *const suffixes[] = { ".state", ".state.new", ".lock" };
                size_t name_length = strlen(entry->d_name), length = 0, kind;
                for (kind = 0; kind < ARRAY_SIZE(suffixes); kind++) {
                        size_t n = strlen(suffixes[kind]);
                        if (name_length > n && strcmp(entry->d_name + name_length - n, suffixes[kind]) == 0) {
                                length = name_length - n;
                                break;
                        }
                }
                char bridge[IFNAMSIZ];
                if (length == 0 || length >= sizeof(bridge))
                        continue;
                memcpy(bridge, entry->d_name, length);
                bridge[length] = '\0';
                if (network_check_bridge_name(bridge, NULL) < 0)
                        continue;
                struct err ignored = {0};
                if (kind > 0) {
                        /* Beside a record, the record's own entry decides; without one, release. */
                        char record[IFNAMSIZ + 8];
                        snprintf(record, sizeof(record), "%s.state", bridge);
                        if (faccessat(dirfd(dir), record, F_OK, 0) == 0)
                                continue;
                } else {
                        if (st == NULL && (st = malloc(sizeof(*st))) == NULL)
                                break;
                        if (bridge_record_peek(st, bridge, &ignored) < 0 || !bridge_record_is_stale(st))
                                continue;
                }
                if (nl.fd < 0 && netlink_open(&nl, &ignored) < 0)
                        break;
                log_info("bridge %s: releasing what a killed sysprim run left", bridge);
                record_release(&nl, bridge, (struct in_addr){0});
        }
        free(st);
        netlink_close(&nl);
}

void network_release(struct network *net)
{
        if (!net->active)
                return;
        publish_stop(net->forwarder);
        net->forwarder = NULL;
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
                record_release(&nl, net->bridge, net->address);
                net->recorded = false;
        }
        netlink_close(&nl);
}
