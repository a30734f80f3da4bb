/* The network options of `run` (see network.h): parsing --net, --bridge, --subnet, --ip and --publish,
 * and the checks that need them all. Part of the `run` applet. */
#include "network.h"
#include "container.h"
#include "subnet.h"

#include "sysprim/err.h"
#include "sysprim/size.h"
#include "sysprim/util.h"

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

/* The rule a bridge name keeps, said after each refusal of one. */
#define BRIDGE_NAME_RULE "(a letter, then letters, digits or _: it also names the bridge's NAT table)"

/* Bridge names also name the NAT table, so they keep to characters nft takes unquoted. */
int network_check_bridge_name(const char *name, struct err *e)
{
        size_t length = strlen(name);
        char ch[16];
        if (length == 0)
                return err_plain(e, EINVAL, "--bridge: an empty name " BRIDGE_NAME_RULE);
        if (length >= IFNAMSIZ)
                return err_plain(e, EINVAL, "--bridge: '%s' has %zu characters; a network interface name has at "
                                 "most %d", name, length, IFNAMSIZ - 1);
        if (!isalpha((unsigned char)name[0]))
                return err_plain(e, EINVAL, "--bridge: '%s' starts with %s, not a letter " BRIDGE_NAME_RULE, name,
                                 util_describe_character((unsigned char)name[0], ch, sizeof(ch)));
        for (size_t i = 1; i < length; i++)
                if (!isalnum((unsigned char)name[i]) && name[i] != '_')
                        return err_plain(e, EINVAL, "--bridge: '%s' has %s, which a bridge name cannot have "
                                         BRIDGE_NAME_RULE, name,
                                         util_describe_character((unsigned char)name[i], ch, sizeof(ch)));
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
        if (!subnet_is_unicast(network))
                return -EADDRNOTAVAIL;
        subnet->prefix_length = (unsigned)prefix;
        subnet->network.s_addr = htonl(ntohl(network.s_addr) & subnet_mask((unsigned)prefix));
        return 0;
}

int network_parse_ip(const char *arg, struct in_addr *address)
{
        struct in_addr parsed;
        if (subnet_parse_address(arg, &parsed) < 0)
                return -EINVAL;
        if (!subnet_is_unicast(parsed))
                return -EADDRNOTAVAIL;
        *address = parsed;
        return 0;
}

/* A port: 0, -EINVAL (not a number) or -ERANGE (a number outside 1..65535). */
static int parse_port(const char *text, size_t len, uint16_t *port)
{
        char buf[8];
        uint64_t value;
        if (len == 0 || strspn(text, "0123456789") < len)
                return -EINVAL;
        if (len >= sizeof(buf))
                return -ERANGE;
        memcpy(buf, text, len);
        buf[len] = '\0';
        if (uint_parse(buf, 65535, &value) < 0 || value == 0)
                return -ERANGE;
        *port = (uint16_t)value;
        return 0;
}

/* [IP:]HOSTPORT:CONTAINERPORT[/tcp]. 0, -EINVAL, -ERANGE (a port outside 1..65535), -EPROTONOSUPPORT
 * (another protocol), -EADDRINUSE (a host port already in the list) or -E2BIG (the list is full). */
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
                if (proto[1] == '\0')
                        return -EINVAL; /* "80/": no protocol after the slash */
                if (strcmp(proto, "/tcp") != 0)
                        return -EPROTONOSUPPORT; /* only TCP is forwarded */
                *proto = '\0';
        }
        char *last = strrchr(spec, ':');
        if (last == NULL)
                return -EINVAL;
        int r = parse_port(last + 1, strlen(last + 1), &p.container_port);
        if (r < 0)
                return r;
        *last = '\0';
        char *host_port = strrchr(spec, ':');
        if (host_port != NULL) {
                *host_port++ = '\0';
                if (subnet_parse_address(spec, &p.host_address) < 0)
                        return -EINVAL;
        } else {
                host_port = spec;
        }
        r = parse_port(host_port, strlen(host_port), &p.host_port);
        if (r < 0)
                return r;
        for (size_t i = 0; i < list->count; i++)
                if (list->items[i].host_port == p.host_port)
                        return -EADDRINUSE; /* the same host port twice */
        list->items[list->count++] = p;
        return 0;
}

int network_check_container_address(struct network_subnet subnet, struct in_addr address, struct err *e)
{
        uint32_t mask = subnet_mask(subnet.prefix_length);
        uint32_t network = ntohl(subnet.network.s_addr), host = ntohl(address.s_addr) & ~mask;
        const char *why = !subnet_contains(subnet, address) ? "is outside the bridge's subnet"
                          : host == 0                      ? "is the network address of"
                          : host == 1                      ? "is the bridge's own address in"
                          : host == ~mask                  ? "is the broadcast address of"
                                                           : NULL;
        if (why == NULL)
                return 0;
        char text[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN], first[INET_ADDRSTRLEN], last[INET_ADDRSTRLEN];
        struct in_addr first_container = {.s_addr = htonl(network + 2)};
        struct in_addr last_container = {.s_addr = htonl((network | ~mask) - 1)};
        inet_ntop(AF_INET, &address, text, sizeof(text));
        inet_ntop(AF_INET, &subnet.network, net, sizeof(net));
        inet_ntop(AF_INET, &first_container, first, sizeof(first));
        inet_ntop(AF_INET, &last_container, last, sizeof(last));
        /* A /30 holds one container. */
        bool one = first_container.s_addr == last_container.s_addr;
        return err_plain(e, EINVAL, "--ip: '%s' %s %s/%u (a container takes %s%s%s%s)", text, why, net,
                         subnet.prefix_length, one ? "only " : "", first, one ? "" : " to ", one ? "" : last);
}

int network_options_check(const struct network_options *o, struct err *e)
{
        bool bridge = o->mode == NETWORK_MODE_BRIDGE;
        const char *given = o->ip.s_addr ? "--ip" : o->subnet.prefix_length ? "--subnet" : o->nat ? "--nat"
                            : o->publish.count ? "--publish" : o->bridge ? "--bridge" : NULL;
        if (!bridge && given)
                return err_plain(e, EINVAL, "%s needs --net bridge (here the network is %s)", given,
                                 o->mode == NETWORK_MODE_HOST ? "the host's, --net host" : "none, the default");
        /* Without --subnet the bridge's subnet is known only once its record is read (an existing
         * bridge may have been made with another --subnet): bridge_record_allocate checks then. */
        if (o->ip.s_addr && o->subnet.prefix_length)
                return network_check_container_address(o->subnet, o->ip, e);
        return 0;
}

int network_options_parse(const struct container_network *in, struct network_options *out, struct err *e)
{
        memset(out, 0, sizeof(*out));
        if (in->mode && network_parse_mode(in->mode, &out->mode) < 0)
                return err_plain(e, EINVAL, "--net: unknown mode '%s' (expected none, host or bridge)", in->mode);
        if (in->bridge) {
                int r = network_check_bridge_name(in->bridge, e);
                if (r < 0)
                        return r;
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
        int r = in->address ? network_parse_ip(in->address, &out->ip) : 0;
        if (r == -EADDRNOTAVAIL)
                return err_plain(e, EINVAL, "--ip: '%s' is not a unicast address (0.0.0.0/8, 127.0.0.0/8 and "
                                 "224.0.0.0 upwards cannot be a container's)", in->address);
        if (r < 0)
                return err_plain(e, EINVAL, "--ip: '%s' is not an IPv4 address (expected four numbers from 0 to 255 "
                                 "joined by dots, such as 10.88.0.5)", in->address);
        out->nat = in->nat;
        for (size_t i = 0; i < in->publish.count; i++) {
                r = network_parse_publish(in->publish.items[i], &out->publish);
                if (r == -E2BIG)
                        return err_plain(e, EINVAL, "--publish: at most %d ports", NETWORK_MAX_PUBLISH);
                if (r == -EPROTONOSUPPORT)
                        return err_plain(e, EINVAL, "--publish: '%s': only TCP is forwarded", in->publish.items[i]);
                if (r == -ERANGE)
                        return err_plain(e, EINVAL, "--publish: '%s': a port is a number from 1 to 65535",
                                         in->publish.items[i]);
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
