/* IPv4 subnet arithmetic shared by the network options, address allocation and the bridge.
 * Part of the `run` applet. */
#ifndef SYSPRIM_RUN_SUBNET_H
#define SYSPRIM_RUN_SUBNET_H

#include "network.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* A dotted quad (inet_pton: no "10.1", no octal surprises): 0 or -EINVAL. */
int subnet_parse_address(const char *text, struct in_addr *address);
/* Not in 0.0.0.0/8 ("this network"), 127.0.0.0/8 (the host's loopback), 224.0.0.0/4 (multicast) or
 * 240.0.0.0/4 (reserved, and broadcast): what a bridge and its containers may have. */
bool subnet_is_unicast(struct in_addr address);
/* The netmask of a prefix length, in host byte order. */
uint32_t subnet_mask(unsigned prefix_length);
bool subnet_contains(struct network_subnet subnet, struct in_addr address);
/* The subnet's first address, which the bridge holds. */
struct in_addr subnet_gateway(struct network_subnet subnet);
/* --subnet, or the default 10.88.0.0/16. */
struct network_subnet subnet_of_options(const struct network_options *options);

#endif
