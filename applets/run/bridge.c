/* The bridge and the containers' veth pairs (see bridge.h). Part of the `run` applet. */
#include "bridge.h"
#include "bridge_record.h"
#include "netlink.h"
#include "subnet.h"

#include "sysprim/err.h"
#include "sysprim/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>

void bridge_veth_name(struct in_addr address, char name[16])
{
        /* Derived from the address, which the lock makes unique: a stale pair can be found again. */
        snprintf(name, 16, "sp%08x", ntohl(address.s_addr));
}

/* A locally administered MAC derived from the address: a reused address keeps its MAC, so the
 * neighbours' ARP caches stay right when containers come and go quickly. */
void bridge_mac(struct in_addr address, uint8_t mac[6])
{
        uint32_t a = ntohl(address.s_addr);
        mac[0] = 0x02;
        mac[1] = 0x73;
        mac[2] = (uint8_t)(a >> 24);
        mac[3] = (uint8_t)(a >> 16);
        mac[4] = (uint8_t)(a >> 8);
        mac[5] = (uint8_t)a;
}

struct overlap {
        struct network_subnet want;
        bool found;
        struct in_addr network;
        unsigned prefix_length;
        int ifindex;
};

static void find_overlap(void *ctx, struct in_addr network, unsigned prefix_length, int ifindex)
{
        struct overlap *o = ctx;
        unsigned shorter = prefix_length < o->want.prefix_length ? prefix_length : o->want.prefix_length;
        uint32_t mask = shorter ? htonl(~0u << (32 - shorter)) : 0;
        if (o->found || ((network.s_addr ^ o->want.network.s_addr) & mask) != 0)
                return;
        o->found = true;
        o->network.s_addr = network.s_addr & (prefix_length ? htonl(~0u << (32 - prefix_length)) : 0);
        o->prefix_length = prefix_length;
        o->ifindex = ifindex;
}

/* A new bridge's subnet must not overlap a network the host already uses: its address would shadow
 * the host's (a gateway, a DNS server) for every route through it, as Docker and podman refuse. */
static int check_subnet_free(struct netlink *nl, struct network_subnet want, bool subnet_given, struct err *e)
{
        struct overlap o = { .want = want };
        int r = netlink_ipv4_networks(nl, find_overlap, &o, e);
        if (r < 0 || !o.found)
                return r;
        char want_text[INET_ADDRSTRLEN], have_text[INET_ADDRSTRLEN], name[IF_NAMESIZE] = "";
        inet_ntop(AF_INET, &want.network, want_text, sizeof(want_text));
        inet_ntop(AF_INET, &o.network, have_text, sizeof(have_text));
        if (o.ifindex <= 0 || if_indextoname((unsigned)o.ifindex, name) == NULL)
                snprintf(name, sizeof(name), "?");
        return err_plain(e, EADDRINUSE, "%s %s/%u overlaps %s/%u, in use on %s; pick %s --subnet",
                         subnet_given ? "--subnet" : "the default subnet", want_text, want.prefix_length, have_text,
                         o.prefix_length, name, subnet_given ? "another" : "a free one with");
}

/* The index of the bridge `bridge` (> 0), -ENODEV when there is no link of that name, -EEXIST with a
 * message saying what it is when the name is taken by a link of another kind (lo, a veth, eth0):
 * nothing could be attached to it, and it is not sysprim's to delete. */
static int find_bridge(struct netlink *nl, const char *bridge, struct err *e)
{
        struct netlink_link_kind link;
        int index = netlink_link_get_kind(nl, bridge, &link, e);
        if (index < 0 || strcmp(link.kind, "bridge") == 0)
                return index;
        char what[NETLINK_KIND_SIZE + 16];
        if (link.kind[0] != '\0')
                snprintf(what, sizeof(what), "%s %s link", strchr("aeiou", link.kind[0]) ? "an" : "a", link.kind);
        else if (link.hardware_type == ARPHRD_LOOPBACK)
                snprintf(what, sizeof(what), "a loopback device");
        else if (link.hardware_type == ARPHRD_ETHER)
                snprintf(what, sizeof(what), "an Ethernet device");
        else
                snprintf(what, sizeof(what), "a network device");
        return err_plain(e, EEXIST, "%s is %s, not a bridge; pick another name with --bridge", bridge, what);
}

/* Take over the bridge `bridge`, which no record names, when it carries the MAC sysprim gives this
 * subnet's bridge: ours, from a run killed between making it and recording it (or whose state was
 * removed). Anything else of that name is not ours to take. */
static int adopt_bridge(struct bridge_record *st, struct netlink *nl, const char *bridge, struct network_subnet want,
                        struct err *e)
{
        struct in_addr gateway = subnet_gateway(want);
        uint8_t mac[6], have[6];
        bridge_mac(gateway, mac);
        int r = netlink_link_mac(nl, bridge, have, e);
        if (r < 0)
                return r;
        if (memcmp(have, mac, sizeof(mac)) != 0)
                return err_plain(e, EEXIST,
                                 "bridge %s exists but was not made by sysprim; delete it or pick "
                                 "another with --bridge", bridge);
        st->bridge_created = 1;
        st->subnet = want;
        r = netlink_ipv6_disable(-1, bridge, e);
        if (r == 0)
                r = netlink_address_add_ipv4(nl, bridge, gateway, want.prefix_length, e);
        if (r == -EEXIST)
                r = 0;
        return r == 0 ? netlink_link_set_up(nl, bridge, true, e) : r;
}

int bridge_ensure(struct bridge_record *st, struct netlink *nl, const char *bridge, struct network_subnet want,
                  bool subnet_given, struct err *e)
{
        int r;
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
                r = find_bridge(nl, bridge, e);
                if (r > 0)
                        return 0;
                if (r == -EEXIST) {
                        /* The recorded bridge is gone and the name is another link's now: not ours to
                         * delete when this run is undone. */
                        st->bridge_created = 0;
                        return r;
                }
                /* Recorded but gone (deleted by hand): make it again below with the recorded subnet. */
                if (st->subnet.prefix_length)
                        want = st->subnet;
        } else {
                r = find_bridge(nl, bridge, e);
                if (r > 0)
                        return adopt_bridge(st, nl, bridge, want, e);
                if (r == -EEXIST)
                        return r;
        }
        struct in_addr gateway = subnet_gateway(want);
        uint8_t mac[6];
        bridge_mac(gateway, mac);
        r = check_subnet_free(nl, want, subnet_given, e);
        if (r < 0)
                return r;
        /* Recorded before it is made: a run killed while making it leaves a record with which the
         * next run (on any bridge) deletes it (bridge_record_is_stale). */
        st->bridge_created = 1;
        st->subnet = want;
        r = bridge_record_write(st, e);
        if (r == 0)
                r = netlink_bridge_create(nl, bridge, mac, e);
        if (r < 0) {
                st->bridge_created = 0;
                return r;
        }
        /* IPv4 only: without IPv6 the bridge takes no router advertisement, so a container cannot
         * give the host IPv6 routes (CVE-2020-13401's kind), nor another container through it. */
        r = netlink_ipv6_disable(-1, bridge, e);
        if (r == 0)
                r = netlink_address_add_ipv4(nl, bridge, gateway, want.prefix_length, e);
        if (r == 0)
                r = netlink_link_set_up(nl, bridge, true, e);
        return r;
}

void bridge_delete_unused(struct bridge_record *st, struct netlink *nl, const char *bridge)
{
        if (st->count > 0 || !st->bridge_created)
                return;
        struct err e = {0};
        if (netlink_link_delete(nl, bridge, &e) < 0 && e.code != ENODEV)
                log_warn("%s", e.msg);
        st->bridge_created = 0;
}

int bridge_connect(const char *bridge, const char *host_veth, int netns, struct in_addr address,
                   unsigned prefix_length, struct in_addr gateway, struct err *e)
{
        struct netlink host = {.fd = -1}, inside = {.fd = -1};
        uint8_t mac[6];
        bridge_mac(address, mac);
        int r = netlink_open(&host, e);
        if (r == 0)
                r = netlink_veth_create(&host, host_veth, "eth0", (struct netlink_netns){.pid = 0, .fd = netns},
                                        mac, e);
        if (r == 0)
                r = netlink_link_set_master(&host, host_veth, bridge, e);
        if (r == 0)
                r = netlink_link_set_up(&host, host_veth, true, e);
        if (r == 0)
                r = netlink_ipv6_disable(netns, "eth0", e); /* before it is up: no RA, no link-local */
        if (r == 0)
                r = netlink_open_in_netns(&inside, netns, e);
        if (r == 0)
                r = netlink_link_set_up(&inside, "lo", true, e);
        if (r == 0)
                r = netlink_address_add_ipv4(&inside, "eth0", address, prefix_length, e);
        if (r == 0)
                r = netlink_link_set_up(&inside, "eth0", true, e);
        if (r == 0)
                r = netlink_route_add_default_ipv4(&inside, "eth0", gateway, e);
        netlink_close(&inside);
        netlink_close(&host);
        return r;
}
