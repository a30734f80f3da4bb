/* Listening sockets: address parsing and one SO_REUSEPORT socket per worker thread, so each thread's
 * epoll loop accepts on its own socket and the kernel spreads connections. Server layer. */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int listen_parse_address(const char *bind, uint16_t port, struct listen_address *out)
{
        memset(out, 0, sizeof(*out));
        char host[64];
        size_t len = strlen(bind);
        if (len == 0 || len >= sizeof(host))
                return -EINVAL;
        if (bind[0] == '[') {
                if (len < 3 || bind[len - 1] != ']')
                        return -EINVAL;
                memcpy(host, bind + 1, len - 2);
                host[len - 2] = '\0';
        } else {
                memcpy(host, bind, len + 1);
        }
        struct sockaddr_in *v4 = (struct sockaddr_in *)&out->address;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->address;
        if (bind[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
                v4->sin_family = AF_INET;
                v4->sin_port = htons(port);
                out->length = sizeof(*v4);
                snprintf(out->text, sizeof(out->text), "%s", host);
                return 0;
        }
        if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
                v6->sin6_family = AF_INET6;
                v6->sin6_port = htons(port);
                out->length = sizeof(*v6);
                snprintf(out->text, sizeof(out->text), "[%s]", host);
                return 0;
        }
        return -EINVAL;
}

static void set_port(struct listen_address *where, uint16_t port)
{
        if (where->address.ss_family == AF_INET)
                ((struct sockaddr_in *)&where->address)->sin_port = htons(port);
        else
                ((struct sockaddr_in6 *)&where->address)->sin6_port = htons(port);
}

static uint16_t get_port(const struct sockaddr_storage *address)
{
        if (address->ss_family == AF_INET)
                return ntohs(((const struct sockaddr_in *)address)->sin_port);
        return ntohs(((const struct sockaddr_in6 *)address)->sin6_port);
}

static int open_one(const struct listen_address *where, bool reuse_port, struct err *e)
{
        int fd = socket(where->address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return err_set(e, errno, "socket");
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
                int saved = errno;
                close(fd);
                return err_set(e, saved, "SO_REUSEPORT");
        }
        if (bind(fd, (const struct sockaddr *)&where->address, where->length) < 0) {
                int saved = errno;
                close(fd);
                uint16_t port = get_port(&where->address);
                if (saved == EADDRINUSE)
                        return err_set(e, saved, "port %u on %s is already in use", port, where->text);
                if (saved == EADDRNOTAVAIL)
                        return err_set(e, saved, "cannot bind %s:%u: no such local address", where->text, port);
                return err_set(e, saved, "bind %s:%u", where->text, port);
        }
        /* Requests are small; do not delay our replies behind Nagle. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return fd;
}

int listen_open_sockets(struct listen_address *where, int count, int *fds, uint16_t *port_out, struct err *e)
{
        for (int i = 0; i < count; i++)
                fds[i] = -1;
        uint16_t port = get_port(&where->address);
        if (port != 0) {
                /* A plain bind fails when any socket holds the port, even one with SO_REUSEPORT that would
                 * otherwise silently share our traffic: report "in use" instead. */
                int probe = open_one(where, false, e);
                if (probe < 0)
                        return probe;
                close(probe);
        }
        for (int i = 0; i < count; i++) {
                int fd = open_one(where, true, e);
                if (fd < 0)
                        goto fail;
                fds[i] = fd;
                if (port == 0) {
                        struct sockaddr_storage bound;
                        socklen_t length = sizeof(bound);
                        if (getsockname(fd, (struct sockaddr *)&bound, &length) < 0) {
                                err_set(e, errno, "getsockname");
                                goto fail;
                        }
                        port = get_port(&bound);
                        set_port(where, port);
                }
                if (listen(fd, 4096) < 0) {
                        err_set(e, errno, "listen on %s:%u", where->text, port);
                        goto fail;
                }
        }
        *port_out = port;
        return 0;
fail:
        for (int i = 0; i < count; i++)
                if (fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -1;
                }
        return -(e && e->code ? e->code : EIO);
}
