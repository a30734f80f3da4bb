/* The networking layer of `run`: --net none|host|bridge, address allocation on a shared bridge,
 * outbound NAT, published ports, /etc/hosts and /etc/resolv.conf. Part of the `run` applet. */
#ifndef SYSPRIM_RUN_NETWORK_H
#define SYSPRIM_RUN_NETWORK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;

enum network_mode {
        NETWORK_MODE_NONE = 0, /* private namespace, only lo (the default) */
        NETWORK_MODE_HOST,     /* the host's namespace */
        NETWORK_MODE_BRIDGE,   /* private namespace + veth on the bridge */
};

struct network_subnet {
        struct in_addr network; /* host part zero */
        unsigned prefix_length; /* 0: not given */
};

#define NETWORK_MAX_PUBLISH 32

struct network_publish {
        struct in_addr host_address; /* INADDR_ANY unless HOSTIP: was given */
        uint16_t host_port;
        uint16_t container_port;
};

struct network_publish_list {
        size_t count;
        struct network_publish items[NETWORK_MAX_PUBLISH];
};

/* The network part of the container description, parsed (from run's struct container_network, the
 * strings the options gave). All zero means --net none. */
struct network_options {
        enum network_mode mode;             /* --net */
        const char *bridge;                 /* --bridge NAME; NULL: sysprim0 */
        struct network_subnet subnet;       /* --subnet CIDR; unset: 10.88.0.0/16 */
        struct in_addr ip;                  /* --ip ADDR; 0: the next free one */
        int nat;                            /* --nat */
        struct network_publish_list publish; /* -p/--publish */
        const char *name;                   /* for /etc/hosts; NULL: the hostname */
};

/* A --bridge name: a letter, then letters, digits or _, at most 15 characters. 0, or -EINVAL with
 * the reason in `e` (which may be NULL), fit for a usage error. */
int network_check_bridge_name(const char *name, struct err *e);

/* Whether `address` can be a container's on `subnet` (not the network, bridge or broadcast address,
 * nor outside it): 0, or -EINVAL with the reason in `e`. For --ip, both when --subnet is given and
 * when the subnet comes from the bridge's record. */
int network_check_container_address(struct network_subnet subnet, struct in_addr address, struct err *e);

/* The prefix lengths --subnet takes: a /30 holds the bridge's address and one container's (besides
 * the network and broadcast addresses); a /8 is the largest range the allocation table scans. */
#define NETWORK_SUBNET_PREFIX_MIN 8
#define NETWORK_SUBNET_PREFIX_MAX 30

/* Parsers of single values into the parsed form: 0 or -EINVAL (network_parse_subnet also -ERANGE
 * for a prefix length outside NETWORK_SUBNET_PREFIX_MIN..MAX; network_parse_subnet and
 * network_parse_ip also -EADDRNOTAVAIL for a range or address that is not unicast;
 * network_parse_publish also -ERANGE, -EPROTONOSUPPORT, -EADDRINUSE and -E2BIG: see
 * network_options.c). */
int network_parse_mode(const char *arg, enum network_mode *mode);
int network_parse_subnet(const char *arg, struct network_subnet *subnet);
int network_parse_ip(const char *arg, struct in_addr *address);
int network_parse_publish(const char *arg, struct network_publish_list *list);

struct container_network;

/* Parse and check the container description's network part (run.c's options) together: 0, or
 * -EINVAL with a message fit for a usage error ("--publish: invalid value ..."). */
int network_options_parse(const struct container_network *in, struct network_options *out, struct err *e);

/* Checks that need all options together (--ip without --net bridge, ...): 0 or -EINVAL. */
int network_options_check(const struct network_options *options, struct err *e);

/* Whether the container gets its own network namespace (everything but --net host). */
bool network_wants_namespace(const struct network_options *options);

struct publish_forwarder;

/* One container's network, from network_prepare to network_release. Zero-initialise it
 * (NETWORK_INIT) so that network_release is safe at any point. */
struct network {
        bool active;              /* network_prepare ran: network_release has work */
        struct network_options options;
        char bridge[16];
        char host_veth[16];
        struct in_addr address;   /* the container's, on the bridge */
        struct in_addr gateway;   /* the bridge's */
        unsigned prefix_length;
        bool recorded;            /* our address is in the bridge's state file */
        char *hosts;              /* the container's /etc/hosts */
        char *resolv_conf;        /* the container's /etc/resolv.conf */
        struct publish_forwarder *forwarder;
};

#define NETWORK_INIT {.active = false}

/* Before the container exists (parent, before the clone, so that the child inherits the result): for
 * bridge mode, take the bridge's lock, create the bridge on first use, allocate and record the address,
 * add NAT once; for every mode, compose the container's hosts and resolv.conf. `hostname` is the
 * container's. On failure nothing is left (network_release is still safe to call). */
int network_prepare(struct network *net, const struct network_options *options, const char *hostname,
                    struct err *e);
/* The same from the container description's strings (parsed with network_options_parse). */
int network_prepare_container(struct network *net, const struct container_network *config,
                              const char *hostname, struct err *e);

/* After the child exists in its new network namespace, before it runs the command (parent): create
 * the veth pair with eth0 inside, address and default route, lo up; start the --publish forwarders. */
int network_attach(struct network *net, pid_t child, struct err *e);

/* In the child, after pivot_root, before the command (the child has a copy of `net` from before the
 * clone): the prepared hosts and resolv.conf become /etc/hosts and /etc/resolv.conf. In a
 * copy-on-write root (`copy_on_write`) they are written there (created if missing); otherwise they are
 * bound read-only over the root's files, which are never written, and left out where missing. */
int network_mount_files(const struct network *net, bool copy_on_write, struct err *e);

/* Before a container's set-up, as root: on every bridge whose record names a `sysprim run` that is
 * gone (killed with SIGKILL), release what it held: its entry and veth, and NAT and the bridge when
 * nobody else uses them. (A run on the bridge itself also does this, network_prepare.) Cheap when
 * there is no bridge (one failing opendir). Problems are logged, never fatal. */
void network_release_stale(void);

/* Undo everything network_prepare and network_attach did. Idempotent; safe after a failure at any
 * step and from a fresh NETWORK_INIT. Problems are logged, never fatal. */
void network_release(struct network *net);

#endif
