/* Outbound NAT for a bridge's subnet through the host's firewall tool (an nft table of our own with
 * the masquerade rule and a forward filter, or two tagged iptables rules where nft is missing), and
 * net.ipv4.ip_forward, which masquerading needs, on while any bridge has NAT. Part of the `run`
 * applet. */
#ifndef SYSPRIM_RUN_NAT_H
#define SYSPRIM_RUN_NAT_H

#include "network.h"

#include <stdbool.h>

struct err;

/* Add (`add`) or delete the masquerading rule and forward filter of `bridge` for `subnet`, whatever a
 * killed run left of them. 0 or -errno; without nft and iptables -ENOENT with a message saying what
 * to install. */
int nat_rule(bool add, const char *bridge, struct network_subnet subnet, struct err *e);

/* Record whether `bridge` needs forwarding: ip_forward is turned on with the first bridge that needs
 * it (if it was off) and put back with the last. 0 or -errno. */
int nat_ip_forward_update(const char *bridge, bool needed, struct err *e);

#endif
