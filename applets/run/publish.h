/* --publish: a TCP forwarder in `sysprim run` (one thread, one epoll loop) that relays connections
 * to host ports to the container's address. Unlike DNAT it also serves connections to 127.0.0.1 from
 * the host itself, and it needs no firewall tool and leaves no rules behind. Part of the `run` applet. */
#ifndef SYSPRIM_RUN_PUBLISH_H
#define SYSPRIM_RUN_PUBLISH_H

#include "network.h"

#include <netinet/in.h>

struct err;
struct publish_forwarder;

/* Listen on every published host port and start the thread that relays to `target`'s container
 * ports. Sets *out (NULL when the list is empty). On failure nothing is left open. 0 or -errno. */
int publish_start(const struct network_publish_list *list, struct in_addr target,
                  struct publish_forwarder **out, struct err *e);

/* Stop the thread, close every connection and listener, free the forwarder. */
void publish_stop(struct publish_forwarder *forwarder);

#endif
