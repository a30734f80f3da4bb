/* Listening sockets: address parsing and one SO_REUSEPORT socket per worker thread.
 * Server layer. */
#ifndef SERVE_LISTEN_H
#define SERVE_LISTEN_H

#include "sysprim/err.h"

#include <stdint.h>
#include <sys/socket.h>

struct listen_address {
        struct sockaddr_storage address;
        socklen_t length;
        char text[72]; /* "127.0.0.1" or "[::1]" as it appears in a URL */
};

/* Parse "127.0.0.1", "::1", "[::1]", "0.0.0.0", "::" with `port`. 0 or -EINVAL. */
int listen_parse_address(const char *bind, uint16_t port, struct listen_address *out);

/* Open `count` listening sockets on the same address (SO_REUSEPORT, non-blocking). Port 0 takes an
 * ephemeral port for the first and the same one for the rest; *port_out gets it. Fails with
 * -EADDRINUSE when anything else already holds the port, even with SO_REUSEPORT. */
int listen_open_sockets(struct listen_address *where, int count, int *fds, uint16_t *port_out, struct err *e);

#endif
