/* A small rtnetlink client: links (bridge, veth), masters, namespaces, names, flags, IPv4 addresses
 * routes and policy-routing rules. Part of the `run` applet's networking layer; no helper programs, only netlink sockets. */
#ifndef SYSPRIM_RUN_NETLINK_H
#define SYSPRIM_RUN_NETLINK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct err;

/* One NETLINK_ROUTE socket. It belongs to the network namespace it was opened in, whatever the
 * calling thread does later: that is how the parent configures a container's namespace. */
struct netlink {
        int fd;
        uint32_t seq;
};

/* Where a link should live: a namespace given by a process id or by an open /proc/PID/ns/net fd. */
struct netlink_netns {
        pid_t pid; /* > 0: the namespace of this process */
        int fd;    /* >= 0: this namespace file (used when pid <= 0) */
};

#define NETLINK_NETNS_NONE ((struct netlink_netns){.pid = 0, .fd = -1})

/* Open a socket in the caller's network namespace. 0 or -errno. */
int netlink_open(struct netlink *nl, struct err *e);
/* Open a socket in the namespace of `netns_fd` (an open /proc/PID/ns/net); the calling thread is back
 * in its own namespace when this returns. Needs CAP_SYS_ADMIN over both namespaces. */
int netlink_open_in_netns(struct netlink *nl, int netns_fd, struct err *e);
void netlink_close(struct netlink *nl);

/* Interface index of `name` (> 0), -ENODEV when there is none. */
int netlink_link_index(struct netlink *nl, const char *name, struct err *e);
/* Create a bridge; `mac` (6 bytes) fixes its address so it does not follow its ports; NULL: kernel's. */
int netlink_bridge_create(struct netlink *nl, const char *name, const uint8_t *mac, struct err *e);
/* Create a veth pair `name` <-> `peer_name`; the peer is created directly in `peer_netns` (or beside
 * `name` with NETLINK_NETNS_NONE) with the address `peer_mac` (NULL: random). */
int netlink_veth_create(struct netlink *nl, const char *name, const char *peer_name,
                        struct netlink_netns peer_netns, const uint8_t *peer_mac, struct err *e);
/* Delete a link (for a veth, both ends go). -ENODEV when it does not exist. */
int netlink_link_delete(struct netlink *nl, const char *name, struct err *e);
/* Enslave `name` to the bridge `master`; master NULL releases it. */
int netlink_link_set_master(struct netlink *nl, const char *name, const char *master, struct err *e);
/* Move `name` into another network namespace. */
int netlink_link_set_netns(struct netlink *nl, const char *name, struct netlink_netns netns,
                           struct err *e);
int netlink_link_rename(struct netlink *nl, const char *name, const char *new_name, struct err *e);
int netlink_link_set_up(struct netlink *nl, const char *name, bool up, struct err *e);
/* Flags (IFF_*) and master index (0: none) of `name`, for checks and tests. */
int netlink_link_get(struct netlink *nl, const char *name, unsigned *flags, int *master_index,
                     struct err *e);
/* What kind of link a name stands for: the kernel's link kind ("bridge", "veth", "dummy"; "" for a
 * link that has none, such as lo or a physical device) and its ARPHRD_* hardware type. */
#define NETLINK_KIND_SIZE 16
struct netlink_link_kind {
        char kind[NETLINK_KIND_SIZE];
        unsigned short hardware_type;
};
/* The kind of the link `name`; returns its index (> 0), or -ENODEV when there is none. */
int netlink_link_get_kind(struct netlink *nl, const char *name, struct netlink_link_kind *kind, struct err *e);
/* The hardware address of `name` (zeros when it has none of 6 bytes); returns its index. */
int netlink_link_mac(struct netlink *nl, const char *name, uint8_t mac[6], struct err *e);
/* Add `address`/`prefix_length` to `name`, with the subnet's broadcast address. */
int netlink_address_add_ipv4(struct netlink *nl, const char *name, struct in_addr address,
                             unsigned prefix_length, struct err *e);
/* Add the default route through `gateway` (reached over `name`) to the main table. */
/* Every IPv4 network this namespace already uses: each interface address with its prefix, each route
 * of the main table (its destination; its gateway as a /32), with the interface index. */
int netlink_ipv4_networks(struct netlink *nl,
                          void (*each)(void *ctx, struct in_addr network, unsigned prefix_length, int ifindex),
                          void *ctx, struct err *e);

/* IPv6 off on interface `name` (disable_ipv6): no link-local address, no router advertisements
 * taken. In the network namespace `netns_fd`, or this one when it is -1. 0 also where the kernel has
 * no IPv6. */
int netlink_ipv6_disable(int netns_fd, const char *name, struct err *e);

/* Add or delete an IPv4 policy-routing rule at `priority`: packets to `network`/`prefix_length`
 * (coming in on `iif`, when given; "lo" is the host's own traffic) look up the main table, or are
 * dropped (`blackhole`). Adding a rule that exists is -EEXIST, deleting one that does not -ENOENT. */
int netlink_rule_ipv4(struct netlink *nl, bool add, uint32_t priority, struct in_addr network,
                      unsigned prefix_length, const char *iif, bool blackhole, struct err *e);

int netlink_route_add_default_ipv4(struct netlink *nl, const char *name, struct in_addr gateway,
                                   struct err *e);

#endif
