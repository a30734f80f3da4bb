/* Outbound NAT for a bridge's subnet through the host's firewall tool (an nft table of our own with
 * the masquerade rule and a forward filter, or two tagged iptables rules where nft is missing), and
 * net.ipv4.ip_forward, which masquerading needs, on while any bridge has NAT. Part of the `run`
 * applet. */
#ifndef SYSPRIM_RUN_NAT_H
#define SYSPRIM_RUN_NAT_H

#include "network.h"

#include <stdbool.h>

struct err;

/* The firewall tool a bridge's NAT is made with, as its record keeps it (0: no NAT; a record of
 * before the tool was kept says 1). */
enum nat_tool { NAT_NONE = 0, NAT_NFT = 1, NAT_IPTABLES = 2 };

/* The tool to make NAT with here: nft, else iptables; NAT_NONE with a message saying what to install
 * when there is neither. */
enum nat_tool nat_tool_find(struct err *e);

/* Add (`add`) or delete the masquerading rule and forward filter of `bridge` for `subnet` with `tool`
 * (when deleting: the one they were made with, whichever the host now prefers), whatever a killed
 * run left of them. 0 or -errno (-ENOENT: the tool is not installed, with a message). */
int nat_rule(bool add, enum nat_tool tool, const char *bridge, struct network_subnet subnet, struct err *e);

/* Record whether `bridge` needs forwarding: ip_forward is turned on with the first bridge that needs
 * it (if it was off) and put back with the last. 0 or -errno. */
int nat_ip_forward_update(const char *bridge, bool needed, struct err *e);

#endif
