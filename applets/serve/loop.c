/* The per-thread event loop: edge-triggered epoll over the thread's own listening socket, its
 * connections and a wake-up eventfd; timeouts from sorted per-kind lists; the Date string formatted
 * once a second; the access log flushed once a second. Server layer. */
#include "loop.h"
#include "steer.h"
#include "conn.h"
#include "server.h"
#include "sysprim/alloc.h"
#include "sysprim/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256
/* After EMFILE/ENFILE on accept: leave the queue alone this long (connections wait in the backlog). */
#define ACCEPT_PAUSE_MS 100
/* Connections accepted per turn of the loop: a burst of new ones waits in the backlog for the next
 * turn rather than keeping the thread from the connections it has (nginx accepts one per event
 * unless multi_accept is on). */
#define ACCEPT_TURN_COUNT 64
/* At --max-connections: how soon to look again for a slot freed by another worker. */
#define LIMIT_RETRY_MS 50

/* epoll_data.ptr of the two non-connection descriptors. */
static char listen_marker, wake_marker, changes_marker;

static uint64_t monotonic_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Defined when sysprim runs on its own allocator (-Dmalloc=builtin), else NULL. */
extern void sysprim_malloc_tick(void) __attribute__((weak));

static void update_clock(struct worker *w)
{
        w->now_ms = monotonic_ms();
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME_COARSE, &ts);
        if (ts.tv_sec == w->now_sec)
                return;
        w->now_sec = ts.tv_sec;
        http_date_format(w->now_sec, w->date);
        struct tm tm;
        gmtime_r(&w->now_sec, &tm);
        strftime(w->clf_date, sizeof(w->clf_date), "%d/%b/%Y:%H:%M:%S +0000", &tm);
        steer_review(w->listen_fd, w->now_ms);
        /* Once a second is the most a log line waits in the buffer. */
        if (w->log.length)
                access_log_flush(&w->log, server.access_log_fd);
        /* A quiet server makes no malloc or free to carry the allocator's clock: what a burst
         * freed would stay resident until the next one. */
        if (sysprim_malloc_tick)
                sysprim_malloc_tick();
}

void timer_clear(struct worker *w, struct conn *c)
{
        if (c->timer_kind >= TIMER_KINDS)
                return;
        struct timer_list *list = &w->timers[c->timer_kind];
        if (c->timer_prev)
                c->timer_prev->timer_next = c->timer_next;
        else
                list->head = c->timer_next;
        if (c->timer_next)
                c->timer_next->timer_prev = c->timer_prev;
        else
                list->tail = c->timer_prev;
        c->timer_prev = c->timer_next = NULL;
        c->timer_kind = TIMER_KINDS;
}

void timer_set(struct worker *w, struct conn *c, enum timer_kind kind)
{
        timer_clear(w, c);
        struct timer_list *list = &w->timers[kind];
        c->timer_kind = (uint8_t)kind;
        c->deadline_ms = w->now_ms + list->timeout_ms;
        c->timer_prev = list->tail;
        c->timer_next = NULL;
        if (list->tail)
                list->tail->timer_next = c;
        else
                list->head = c;
        list->tail = c;
}

void timer_renew(struct worker *w, struct conn *c, enum timer_kind kind)
{
        uint32_t timeout = w->timers[kind].timeout_ms;
        uint32_t slack = timeout / 16 < 500 ? timeout / 16 : 500;
        if (c->timer_kind == kind && w->now_ms + timeout - c->deadline_ms < slack)
                return;
        timer_set(w, c, kind);
}

int worker_init(struct worker *w, int index, int listen_fd)
{
        memset(w, 0, sizeof(*w));
        w->index = index;
        w->listen_fd = listen_fd;
        w->wake_fd = -1;
        w->timers[TIMER_HEADER].timeout_ms = server.header_timeout_ms;
        w->timers[TIMER_IDLE].timeout_ms = server.idle_timeout_ms;
        w->timers[TIMER_SEND].timeout_ms = server.send_timeout_ms;
        w->timers[TIMER_LINGER].timeout_ms = server.header_timeout_ms < 5000 ? server.header_timeout_ms : 5000;
        w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (w->epoll_fd < 0)
                return -errno;
        w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->wake_fd < 0)
                return -errno;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &wake_marker };
        if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->wake_fd, &ev) < 0)
                return -errno;
        w->scratch = malloc(LOOP_SCRATCH_SIZE);
        w->head = malloc(LOOP_HEAD_SIZE);
        w->path = malloc(LOOP_PATH_SIZE);
        w->aux = malloc(LOOP_PATH_SIZE);
        if (w->scratch == NULL || w->head == NULL || w->path == NULL || w->aux == NULL)
                return -ENOMEM;
        int rc = file_cache_init(&w->cache);
        if (rc < 0)
                return rc;
        if (w->cache.watch_fd >= 0) {
                ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &changes_marker };
                if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->cache.watch_fd, &ev) < 0)
                        return -errno;
        }
        update_clock(w);
        return 0;
}

void worker_destroy(struct worker *w)
{
        for (int kind = 0; kind < TIMER_KINDS; kind++)
                while (w->timers[kind].head)
                        conn_close(w, w->timers[kind].head);
        if (server.access_log_fd >= 0)
                access_log_release(&w->log, server.access_log_fd);
        file_cache_destroy(&w->cache);
        if (w->listen_fd >= 0)
                close(w->listen_fd);
        if (w->epoll_fd >= 0)
                close(w->epoll_fd);
        if (w->wake_fd >= 0)
                close(w->wake_fd);
        free(w->scratch);
        free(w->head);
        free(w->path);
        free(w->aux);
        w->listen_fd = w->epoll_fd = w->wake_fd = -1;
}

void worker_wake(struct worker *w)
{
        uint64_t one = 1;
        if (write(w->wake_fd, &one, sizeof(one)) < 0)
                log_warn("wake worker %d: %s", w->index, strerror(errno));
}

static void set_accepting(struct worker *w, bool on)
{
        if (on == w->accepting || w->listen_fd < 0)
                return;
        if (on) {
                /* Adding reports a non-empty queue at once, so no connection waits for a new edge. */
                struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = &listen_marker };
                if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->listen_fd, &ev) < 0)
                        return;
        } else {
                epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, w->listen_fd, NULL);
                w->listen_ready = false;
        }
        w->accepting = on;
}

/* --max-connections counts every worker's connections together (file descriptors are the process's),
 * so connections that all arrive at one worker can use the whole limit. A slot is reserved before
 * accept4 and given back when the accept fails or the connection closes. */
static bool reserve_connection(void)
{
        if (atomic_fetch_add_explicit(&server.open_connections, 1, memory_order_relaxed) < server.max_connections)
                return true;
        server_release_connection();
        return false;
}

static void accept_connections(struct worker *w)
{
        for (int turn = 0; turn < ACCEPT_TURN_COUNT && w->accepting && w->listen_ready; turn++) {
                if (!reserve_connection()) {
                        /* At the limit, new connections wait in the kernel's backlog until one closes:
                         * here (seen at the end of the loop) or on another worker (seen on the retry). */
                        set_accepting(w, false);
                        w->at_limit = true;
                        w->accept_paused_until = w->now_ms + LIMIT_RETRY_MS;
                        return;
                }
                struct sockaddr_storage peer;
                socklen_t peer_length = sizeof(peer);
                int fd = accept4(w->listen_fd, (struct sockaddr *)&peer, &peer_length, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        server_release_connection();
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        if (errno == EAGAIN) {
                                w->listen_ready = false;
                                return;
                        }
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                log_warn("accept: %s; pausing for %d ms", strerror(errno), ACCEPT_PAUSE_MS);
                                set_accepting(w, false);
                                w->accept_paused_until = w->now_ms + ACCEPT_PAUSE_MS;
                                return;
                        }
                        log_warn("accept: %s", strerror(errno));
                        w->listen_ready = false; /* the next connection's edge tries again: no spinning */
                        return;
                }
                /* TCP_NODELAY comes with the socket: accepted sockets inherit it from the listener
                 * (listen.c), so no setsockopt per connection. */
                struct conn *c = conn_create(w, fd, &peer);
                if (c == NULL) {
                        close(fd);
                        server_release_connection();
                        continue;
                }
                w->connections++;
                steer_note_accept(w->index);
                struct epoll_event ev = { .events = CONN_EPOLL_EVENTS, .data.ptr = c };
                if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                        conn_close(w, c);
                        continue;
                }
                /* The request usually arrives with the handshake's last packet: try it now. */
                conn_event(w, c, true, false, false);
        }
}

/* Stop accepting; close what is idle; what is in flight finishes (its responses say close). */
static void begin_drain(struct worker *w)
{
        w->draining = true;
        w->drain_deadline = w->now_ms + server.drain_timeout_ms;
        set_accepting(w, false);
        close(w->listen_fd);
        w->listen_fd = -1;
        /* Idle keep-alive connections, wherever they are in the list (one still receiving a request
         * body shares it), and those that have not sent a byte of a request yet. Not one that gave up
         * its turn with input still in the socket: it closes once that is answered. */
        static const enum timer_kind idle_kinds[] = { TIMER_HEADER, TIMER_IDLE };
        for (size_t i = 0; i < sizeof(idle_kinds) / sizeof(idle_kinds[0]); i++) {
                for (struct conn *c = w->timers[idle_kinds[i]].head, *next; c; c = next) {
                        next = c->timer_next;
                        if (c->in == NULL && c->body == NULL && !c->yielded)
                                conn_close(w, c);
                }
        }
}

static void expire_timers(struct worker *w)
{
        for (int kind = 0; kind < TIMER_KINDS; kind++) {
                struct timer_list *list = &w->timers[kind];
                while (list->head && list->head->deadline_ms <= w->now_ms)
                        conn_timeout(w, list->head);
        }
}

static int next_timeout(const struct worker *w)
{
        uint64_t next = w->now_ms + 1000; /* the Date string and the log flush */
        for (int kind = 0; kind < TIMER_KINDS; kind++)
                if (w->timers[kind].head && w->timers[kind].head->deadline_ms < next)
                        next = w->timers[kind].head->deadline_ms;
        if (w->accept_paused_until && w->accept_paused_until < next)
                next = w->accept_paused_until;
        if (w->draining && w->drain_deadline < next)
                next = w->drain_deadline;
        if (w->accepting && w->listen_ready)
                next = w->now_ms; /* the backlog still holds connections: come back at once */
        return next > w->now_ms ? (int)(next - w->now_ms) : 0;
}

void *worker_run(void *arg)
{
        struct worker *w = arg;
        struct epoll_event events[LOOP_MAX_EVENTS];
        set_accepting(w, true);
        for (;;) {
                int n = epoll_wait(w->epoll_fd, events, LOOP_MAX_EVENTS, next_timeout(w));
                if (n < 0 && errno != EINTR) {
                        log_error("epoll_wait: %s", strerror(errno));
                        break;
                }
                update_clock(w);
                /* Changes to cached files first, so no request of this batch is answered from an entry
                 * they made stale. */
                for (int i = 0; i < n; i++)
                        if (events[i].data.ptr == &changes_marker)
                                file_cache_apply_changes(&w->cache);
                bool wake = false;
                for (int i = 0; i < n; i++) {
                        void *ptr = events[i].data.ptr;
                        uint32_t e = events[i].events;
                        if (ptr == &changes_marker) {
                                continue; /* applied above */
                        } else if (ptr == &listen_marker) {
                                w->listen_ready = true; /* accepted after the batch */
                        } else if (ptr == &wake_marker) {
                                uint64_t count;
                                if (read(w->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                                        log_warn("wake: %s", strerror(errno));
                                wake = true; /* acted on after the batch: it may close connections below */
                        } else {
                                bool failed = e & (EPOLLERR | EPOLLHUP);
                                conn_event(w, ptr, (e & (EPOLLIN | EPOLLRDHUP)) || failed, (e & EPOLLOUT) || failed,
                                           (e & EPOLLRDHUP) || failed);
                        }
                }
                /* After the batch: the connections we have go first. */
                accept_connections(w);
                if (wake && !w->draining)
                        begin_drain(w);
                if (wake && atomic_load(&server.force_stop))
                        break;
                expire_timers(w);
                if (w->accept_paused_until && w->now_ms >= w->accept_paused_until) {
                        w->accept_paused_until = 0;
                        w->at_limit = false;
                        set_accepting(w, true);
                }
                if (w->at_limit && atomic_load_explicit(&server.open_connections, memory_order_relaxed) <
                                           server.max_connections) {
                        w->at_limit = false;
                        w->accept_paused_until = 0;
                }
                if (!w->accepting && !w->draining && !w->accept_paused_until)
                        set_accepting(w, true);
                if (w->draining && (w->connections == 0 || w->now_ms >= w->drain_deadline))
                        break;
        }
        atomic_fetch_sub(&server.running_workers, 1);
        return NULL;
}
