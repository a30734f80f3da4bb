/* The links of `--net bridge` on the host: the bridge itself (made on first use, deleted with its last
 * container, adopted after a crash only if it carries our MAC) and each container's veth pair, all
 * through our rtnetlink client. Part of the `run` applet. */
#ifndef SYSPRIM_RUN_BRIDGE_H
#define SYSPRIM_RUN_BRIDGE_H

#include "network.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct bridge_record;
struct err;
struct netlink;

/* The host end of a container's veth pair, named after its address (unique under the bridge's
 * lock), so that a stale pair can be found again: "sp" and eight hex digits. */
void bridge_veth_name(struct in_addr address, char name[16]);

/* A locally administered MAC derived from the address (02:73: and its four bytes). */
void bridge_mac(struct in_addr address, uint8_t mac[6]);

/* Under the record's lock: make sure `bridge` exists with `want` (the record's subnet wins unless
 * `subnet_given` disagrees, which is refused), creating or adopting it and noting that in the record. */
int bridge_ensure(struct bridge_record *st, struct netlink *nl, const char *bridge, struct network_subnet want,
                  bool subnet_given, struct err *e);

/* Under the record's lock: delete the bridge once no container uses it (only if we made it). */
void bridge_delete_unused(struct bridge_record *st, struct netlink *nl, const char *bridge);

/* The container's side of the link: a veth pair whose host end `host_veth` joins `bridge` and whose
 * peer is born as eth0 in the namespace `netns`, with `address`/`prefix_length`, lo and eth0 up and a
 * default route via `gateway`. */
int bridge_connect(const char *bridge, const char *host_veth, int netns, struct in_addr address,
                   unsigned prefix_length, struct in_addr gateway, struct err *e);

#endif
