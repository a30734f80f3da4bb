/* The network options of `run` (see network.h): parsing --net, --bridge, --subnet, --ip and --publish,
 * and the checks that need them all. Part of the `run` applet. */
#include "network.h"
#include "container.h"
#include "subnet.h"

#include "sysprim/err.h"
#include "sysprim/size.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <linux/if.h>
#include <stdlib.h>
#include <string.h>

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
        if (subnet_parse_address(address, &network) < 0 || uint_parse(slash + 1, 32, &prefix) < 0)
                return -EINVAL;
        /* At least a gateway and one container; at most /8 so that the allocation table stays small
         * enough to scan. */
        if (prefix < NETWORK_SUBNET_PREFIX_MIN || prefix > NETWORK_SUBNET_PREFIX_MAX)
                return -ERANGE;
        /* A bridge takes unicast addresses only: not 0/8 ("this network"), 127/8 (the host's loopback,
         * which would be put on the bridge), 224/4 multicast or 240/4 reserved and broadcast. */
        uint32_t first_octet = ntohl(network.s_addr) >> 24;
        if (first_octet == 0 || first_octet == 127 || first_octet >= 224)
                return -EADDRNOTAVAIL;
        subnet->prefix_length = (unsigned)prefix;
        subnet->network.s_addr = htonl(ntohl(network.s_addr) & subnet_mask((unsigned)prefix));
        return 0;
}

int network_parse_ip(const char *arg, struct in_addr *address)
{
        struct in_addr parsed;
        if (subnet_parse_address(arg, &parsed) < 0 || parsed.s_addr == 0)
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

/* [IP:]HOSTPORT:CONTAINERPORT[/tcp]. 0, -EINVAL, -EPROTONOSUPPORT (another protocol), -EADDRINUSE (a
 * host port already in the list) or -E2BIG (the list is full). */
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
                        return -EPROTONOSUPPORT; /* only TCP is forwarded */
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
                if (subnet_parse_address(spec, &p.host_address) < 0)
                        return -EINVAL;
        } else {
                host_port = spec;
        }
        if (parse_port(host_port, strlen(host_port), &p.host_port) < 0)
                return -EINVAL;
        for (size_t i = 0; i < list->count; i++)
                if (list->items[i].host_port == p.host_port)
                        return -EADDRINUSE; /* the same host port twice */
        list->items[list->count++] = p;
        return 0;
}

/* run's option table stores a value's string (OPT_CALLBACK on a `const char *` field) once it checks
 * out, so that a bad value is a usage error naming the option. */
static int store_checked(int check, const char *arg, void *field)
{
        if (check < 0)
                return -EINVAL;
        *(const char **)field = arg;
        return 0;
}

int network_option_mode(const char *arg, void *field)
{
        enum network_mode mode;
        return store_checked(network_parse_mode(arg, &mode), arg, field);
}

int network_option_bridge(const char *arg, void *field)
{
        return store_checked(check_bridge_name(arg), arg, field);
}

int network_option_ip(const char *arg, void *field)
{
        struct in_addr address;
        return store_checked(network_parse_ip(arg, &address), arg, field);
}

int network_options_check(const struct network_options *o, struct err *e)
{
        bool bridge = o->mode == NETWORK_MODE_BRIDGE;
        if (!bridge && (o->ip.s_addr || o->subnet.prefix_length || o->nat || o->publish.count || o->bridge))
                return err_plain(e, EINVAL, "--ip, --subnet, --bridge, --nat and --publish need --net bridge");
        /* Without --subnet the bridge's subnet is known only once its record is read (an existing
         * bridge may have been made with another --subnet): bridge_record_allocate checks then. */
        if (o->ip.s_addr && o->subnet.prefix_length) {
                struct network_subnet s = o->subnet;
                uint32_t host = ntohl(o->ip.s_addr) & ~subnet_mask(s.prefix_length);
                char text[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &o->ip, text, sizeof(text));
                if (!subnet_contains(s, o->ip) || host <= 1 || host == ~subnet_mask(s.prefix_length))
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
        if (in->subnet) {
                int r = network_parse_subnet(in->subnet, &out->subnet);
                /* -ERANGE: the prefix length parsed, so there is a '/' and a number after it. */
                unsigned long length = r == -ERANGE ? strtoul(strchr(in->subnet, '/') + 1, NULL, 10) : 0;
                if (r == -ERANGE && length > NETWORK_SUBNET_PREFIX_MAX)
                        return err_plain(e, EINVAL, "--subnet: '%s' is too small: a /%lu leaves no address for a "
                                         "container besides the bridge's (prefix length %d to %d; a /%d holds "
                                         "one container)", in->subnet, length, NETWORK_SUBNET_PREFIX_MIN,
                                         NETWORK_SUBNET_PREFIX_MAX, NETWORK_SUBNET_PREFIX_MAX);
                if (r == -ERANGE)
                        return err_plain(e, EINVAL, "--subnet: '%s' is too large: sysprim allocates addresses from "
                                         "at most a /%d (prefix length %d to %d)", in->subnet,
                                         NETWORK_SUBNET_PREFIX_MIN, NETWORK_SUBNET_PREFIX_MIN,
                                         NETWORK_SUBNET_PREFIX_MAX);
                if (r == -EADDRNOTAVAIL)
                        return err_plain(e, EINVAL, "--subnet: '%s' is not a unicast range (0.0.0.0/8, 127.0.0.0/8 "
                                         "and 224.0.0.0 upwards cannot be put on a bridge)", in->subnet);
                if (r < 0)
                        return err_plain(e, EINVAL, "--subnet: invalid value '%s' (expected a unicast range such "
                                         "as 10.89.0.0/24, prefix length %d to %d)", in->subnet,
                                         NETWORK_SUBNET_PREFIX_MIN, NETWORK_SUBNET_PREFIX_MAX);
        }
        if (in->address && network_parse_ip(in->address, &out->ip) < 0)
                return err_plain(e, EINVAL, "--ip: invalid value '%s' (expected an IPv4 address)", in->address);
        out->nat = in->nat;
        for (size_t i = 0; i < in->publish.count; i++) {
                int r = network_parse_publish(in->publish.items[i], &out->publish);
                if (r == -E2BIG)
                        return err_plain(e, EINVAL, "--publish: at most %d ports", NETWORK_MAX_PUBLISH);
                if (r == -EPROTONOSUPPORT)
                        return err_plain(e, EINVAL, "--publish: '%s': only TCP is forwarded", in->publish.items[i]);
                if (r == -EADDRINUSE)
                        return err_plain(e, EINVAL, "--publish: '%s': that host port is published twice",
                                         in->publish.items[i]);
                if (r < 0)
                        return err_plain(e, EINVAL, "--publish: invalid value '%s' (expected "
                                       "[IP:]HOSTPORT:CONTAINERPORT[/tcp], each host port once)",
                                       in->publish.items[i]);
        }
        out->name = in->name;
        return network_options_check(out, e);
}
