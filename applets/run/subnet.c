/* IPv4 subnet arithmetic (see subnet.h). Part of the `run` applet. */
#include "subnet.h"

#include <arpa/inet.h>
#include <errno.h>

int subnet_parse_address(const char *text, struct in_addr *address)
{
        return inet_pton(AF_INET, text, address) == 1 ? 0 : -EINVAL;
}

bool subnet_is_unicast(struct in_addr address)
{
        uint32_t first_octet = ntohl(address.s_addr) >> 24;
        return first_octet != 0 && first_octet != 127 && first_octet < 224;
}

uint32_t subnet_mask(unsigned prefix_length)
{
        return prefix_length ? ~0u << (32 - prefix_length) : 0;
}

bool subnet_contains(struct network_subnet s, struct in_addr a)
{
        return (ntohl(a.s_addr) & subnet_mask(s.prefix_length)) == ntohl(s.network.s_addr);
}

struct in_addr subnet_gateway(struct network_subnet s)
{
        return (struct in_addr){.s_addr = htonl(ntohl(s.network.s_addr) + 1)};
}

struct network_subnet subnet_of_options(const struct network_options *o)
{
        if (o->subnet.prefix_length)
                return o->subnet;
        return (struct network_subnet){.network = {.s_addr = htonl(0x0a580000)}, /* 10.88.0.0/16 */
                                       .prefix_length = 16};
}
