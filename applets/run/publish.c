/* The --publish forwarder (see publish.h). Part of the `run` applet. */
#include "publish.h"

#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FORWARD_BUFFER 65536

struct forward_side {
        int fd;
        struct forward_connection *conn;
        char *buf;          /* bytes read from this side, waiting to be written to the other */
        size_t start, end;
        bool eof;           /* this side sent FIN: no more reads */
        bool shut;          /* we sent FIN to the other side */
        uint32_t events;    /* what epoll watches now */
};

struct forward_connection {
        struct forward_side side[2]; /* 0: the client on the host, 1: the container */
        bool connecting;
        struct forward_connection *prev, *next; /* all open ones, to close them when stopping */
};

struct forward_listener {
        int fd;
        struct network_publish publish;
};

struct publish_forwarder {
        pthread_t thread;
        bool started;
        int epoll_fd;
        int stop_fd;
        struct in_addr target;
        size_t listener_count;
        struct forward_listener listeners[NETWORK_MAX_PUBLISH];
        struct forward_connection *connections;
};

/* epoll data: listeners and the stop eventfd are tagged by small integers below this pointer-free
 * range; connection sides are pointers. */
enum { TAG_STOP = 1, TAG_LISTENER_BASE = 16 };

static void side_update(struct publish_forwarder *fw, struct forward_side *s, struct forward_side *other)
{
        uint32_t want = 0;
        if (!s->eof && s->end == 0)
                want |= EPOLLIN;
        if (other->end > other->start || (s->conn->connecting && s == &s->conn->side[1]))
                want |= EPOLLOUT;
        if (want != s->events) {
                struct epoll_event ev = {.events = want, .data.ptr = s};
                epoll_ctl(fw->epoll_fd, EPOLL_CTL_MOD, s->fd, &ev);
                s->events = want;
        }
}

static void connection_close(struct publish_forwarder *fw, struct forward_connection *c)
{
        if (c->prev)
                c->prev->next = c->next;
        else
                fw->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        for (int i = 0; i < 2; i++) {
                if (c->side[i].fd >= 0) {
                        epoll_ctl(fw->epoll_fd, EPOLL_CTL_DEL, c->side[i].fd, NULL);
                        close(c->side[i].fd);
                }
                free(c->side[i].buf);
        }
        free(c);
}

static void forward_accept(struct publish_forwarder *fw, struct forward_listener *l)
{
        int client = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) {
                /* Out of descriptors or memory: the pending connection stays readable, so pause
                 * instead of spinning until something is freed. */
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
                return;
        }
        int upstream = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct forward_connection *c = calloc(1, sizeof(*c));
        char *b0 = malloc(FORWARD_BUFFER), *b1 = malloc(FORWARD_BUFFER);
        if (upstream < 0 || c == NULL || b0 == NULL || b1 == NULL) {
                close(client);
                if (upstream >= 0)
                        close(upstream);
                free(c);
                free(b0);
                free(b1);
                return;
        }
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(l->publish.container_port),
                                 .sin_addr = fw->target};
        int r = connect(upstream, (struct sockaddr *)&to, sizeof(to));
        if (r < 0 && errno != EINPROGRESS) {
                close(client);
                close(upstream);
                free(c);
                free(b0);
                free(b1);
                return;
        }
        c->connecting = r < 0;
        c->side[0] = (struct forward_side){.fd = client, .conn = c, .buf = b0};
        c->side[1] = (struct forward_side){.fd = upstream, .conn = c, .buf = b1};
        /* Read from the client only once the container side is connected. */
        struct epoll_event ev0 = {.events = c->connecting ? 0 : EPOLLIN, .data.ptr = &c->side[0]};
        struct epoll_event ev1 = {.events = c->connecting ? EPOLLOUT : EPOLLIN, .data.ptr = &c->side[1]};
        c->side[0].events = ev0.events;
        c->side[1].events = ev1.events;
        epoll_ctl(fw->epoll_fd, EPOLL_CTL_ADD, client, &ev0);
        epoll_ctl(fw->epoll_fd, EPOLL_CTL_ADD, upstream, &ev1);
        c->next = fw->connections;
        if (c->next)
                c->next->prev = c;
        fw->connections = c;
}

/* Move bytes for one side's event; false when the connection is finished and must be closed. */
static bool forward_event(struct publish_forwarder *fw, struct forward_side *s, uint32_t events)
{
        struct forward_connection *c = s->conn;
        int index = s == &c->side[0] ? 0 : 1;
        if (events & EPOLLERR)
                return false;
        if (c->connecting) {
                if (index != 1)
                        return true;
                int error = 0;
                socklen_t len = sizeof(error);
                getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &len);
                if (error != 0)
                        return false; /* nothing listens in the container: drop the client */
                c->connecting = false;
                side_update(fw, &c->side[0], &c->side[1]);
                side_update(fw, &c->side[1], &c->side[0]);
                return true;
        }
        if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !s->eof && s->end == 0) {
                ssize_t n = read(s->fd, s->buf, FORWARD_BUFFER);
                if (n > 0) {
                        s->start = 0;
                        s->end = (size_t)n;
                } else if (n == 0) {
                        s->eof = true;
                } else if (errno != EAGAIN && errno != EINTR) {
                        return false;
                }
        }
        /* Flush what each side has for the other. */
        for (int i = 0; i < 2; i++) {
                struct forward_side *from = &c->side[i], *to = &c->side[1 - i];
                while (from->end > from->start) {
                        ssize_t n = send(to->fd, from->buf + from->start, from->end - from->start, MSG_NOSIGNAL);
                        if (n < 0) {
                                if (errno == EAGAIN || errno == EINTR)
                                        break;
                                return false;
                        }
                        from->start += (size_t)n;
                }
                if (from->start == from->end)
                        from->start = from->end = 0;
                if (from->eof && from->end == 0 && !from->shut) {
                        shutdown(to->fd, SHUT_WR);
                        from->shut = true;
                }
        }
        if (c->side[0].shut && c->side[1].shut)
                return false;
        side_update(fw, &c->side[0], &c->side[1]);
        side_update(fw, &c->side[1], &c->side[0]);
        return true;
}

static void *forward_loop(void *arg)
{
        struct publish_forwarder *fw = arg;
        struct epoll_event events[64];
        for (;;) {
                int n = epoll_wait(fw->epoll_fd, events, (int)ARRAY_SIZE(events), -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        log_warn("publish: epoll_wait: %s", strerror(errno));
                        return NULL;
                }
                /* Connections closed in this batch must not be touched by later events of it. */
                struct forward_connection *closed[64];
                int closed_count = 0;
                for (int i = 0; i < n; i++) {
                        uintptr_t tag = (uintptr_t)events[i].data.ptr;
                        if (tag == TAG_STOP)
                                goto stop;
                        if (tag >= TAG_LISTENER_BASE && tag < TAG_LISTENER_BASE + NETWORK_MAX_PUBLISH) {
                                forward_accept(fw, &fw->listeners[tag - TAG_LISTENER_BASE]);
                                continue;
                        }
                        struct forward_side *s = events[i].data.ptr;
                        bool gone = false;
                        for (int k = 0; k < closed_count && !gone; k++)
                                gone = closed[k] == s->conn;
                        if (gone)
                                continue;
                        if (!forward_event(fw, s, events[i].events))
                                closed[closed_count++] = s->conn;
                }
                for (int k = 0; k < closed_count; k++)
                        connection_close(fw, closed[k]);
        }
stop:
        return NULL;
}

/* Open connections are owned by the epoll set only; find them through it when stopping. */
void publish_stop(struct publish_forwarder *fw)
{
        if (fw == NULL)
                return;
        if (fw->started) {
                uint64_t one = 1;
                if (write(fw->stop_fd, &one, sizeof(one)) < 0)
                        log_warn("publish: stop forwarder: %s", strerror(errno));
                pthread_join(fw->thread, NULL);
        }
        while (fw->connections)
                connection_close(fw, fw->connections);
        for (size_t i = 0; i < fw->listener_count; i++)
                close(fw->listeners[i].fd);
        if (fw->epoll_fd >= 0)
                close(fw->epoll_fd);
        if (fw->stop_fd >= 0)
                close(fw->stop_fd);
        free(fw);
}

/* The listeners, then the thread. */
static int forwarder_listen(struct publish_forwarder *fw, const struct network_publish_list *list, struct err *e)
{
        if (fw->epoll_fd < 0 || fw->stop_fd < 0)
                return err_set(e, errno, "publish: create epoll/eventfd");
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)(uintptr_t)TAG_STOP};
        epoll_ctl(fw->epoll_fd, EPOLL_CTL_ADD, fw->stop_fd, &ev);
        for (size_t i = 0; i < list->count; i++) {
                const struct network_publish *p = &list->items[i];
                char a[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &p->host_address, a, sizeof(a));
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return err_set(e, errno, "publish %s:%u", a, p->host_port);
                fw->listeners[fw->listener_count++] = (struct forward_listener){.fd = fd, .publish = *p};
                int one = 1;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->host_port),
                                         .sin_addr = p->host_address};
                if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0)
                        return err_set(e, errno, "publish: listen on %s:%u", a, p->host_port);
                ev = (struct epoll_event){.events = EPOLLIN,
                                          .data.ptr = (void *)(uintptr_t)(TAG_LISTENER_BASE + i)};
                epoll_ctl(fw->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
        }
        /* The thread takes no signals: they stay with the runtime's own handling. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int r = pthread_create(&fw->thread, NULL, forward_loop, fw);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0)
                return err_set(e, r, "publish: start forwarder thread");
        fw->started = true;
        return 0;
}

int publish_start(const struct network_publish_list *list, struct in_addr target,
                  struct publish_forwarder **out, struct err *e)
{
        *out = NULL;
        if (list->count == 0)
                return 0;
        struct publish_forwarder *fw = calloc(1, sizeof(*fw));
        if (fw == NULL)
                return err_set(e, ENOMEM, "publish");
        fw->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        fw->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        fw->target = target;
        int r = forwarder_listen(fw, list, e);
        if (r < 0) {
                publish_stop(fw);
                return r;
        }
        *out = fw;
        return 0;
}
