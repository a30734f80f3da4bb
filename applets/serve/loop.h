/* One event loop per worker thread: its own epoll instance, its own SO_REUSEPORT listening socket,
 * its connections, timers, file cache and log buffer. Nothing here is shared between threads, so the
 * request path takes no lock. Server layer. */
#ifndef SERVE_LOOP_H
#define SERVE_LOOP_H

#include "access_log.h"
#include "file_cache.h"
#include "http.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct conn;
struct pending;

/* Connections wait in exactly one list per timeout kind. Every list has one constant timeout, so
 * appending keeps it sorted by deadline: expiry looks only at the heads. */
enum timer_kind {
        TIMER_HEADER, /* a request head is being received (from accept or its first byte) */
        TIMER_IDLE,   /* keep-alive between requests, and request bodies being discarded */
        TIMER_SEND,   /* output waiting for the client to read; renewed on every progress */
        TIMER_LINGER, /* after "Connection: close": draining the client's leftovers before close */
        TIMER_KINDS,
};

struct timer_list {
        struct conn *head, *tail;
        uint32_t timeout_ms;
};

/* Receive buffer for every read of this thread; leftovers move to the connection's own buffer. */
#define LOOP_SCRATCH_SIZE 65536
/* Room for one response head, including a Location of HTTP_MAX_TARGET bytes, and the in-memory body
 * of a small file copied after its head, so the whole response goes out in one send(). */
#define LOOP_HEAD_SIZE (HTTP_MAX_TARGET * 2 + 2048 + FILE_CACHE_SMALL_FILE)

#define LOOP_PATH_SIZE (HTTP_MAX_TARGET + 512)

struct worker {
        int index;
        int epoll_fd;
        int listen_fd;
        int wake_fd;          /* eventfd: the main thread asks for a drain */
        bool accepting;       /* listen_fd is in the epoll set */
        bool listen_ready;    /* edge seen, accept queue not yet drained */
        uint64_t accept_paused_until; /* after EMFILE: retry accepting at this time */
        bool draining;
        uint64_t drain_deadline;
        unsigned connections;  /* this worker's; server.open_connections counts all of them */
        bool at_limit;         /* stopped accepting at --max-connections */

        uint64_t now_ms;      /* CLOCK_MONOTONIC, refreshed after every epoll_wait */
        time_t now_sec;       /* wall clock second the strings below describe */
        char date[HTTP_DATE_LEN + 1];
        char clf_date[40];

        struct timer_list timers[TIMER_KINDS];
        struct file_cache cache;
        struct access_log_buffer log;

        char *scratch;        /* LOOP_SCRATCH_SIZE */
        char *head;           /* LOOP_HEAD_SIZE: the response head being formatted */
        char *path;           /* LOOP_PATH_SIZE: the decoded relative path */
        char *aux;            /* LOOP_PATH_SIZE: a derived path (index, .gz) or a Location header */
        struct http_request request;
        uint64_t served;      /* responses started, for the multipart boundary seed */
};

/* Set up a worker around an already listening socket; the thread then runs worker_run. */
int worker_init(struct worker *w, int index, int listen_fd);
void *worker_run(void *worker);
void worker_destroy(struct worker *w);
/* From the signal thread: ask for a graceful drain (or, `force`, for an immediate stop). */
void worker_wake(struct worker *w);

/* Timers (used by conn.c). */
void timer_set(struct worker *w, struct conn *c, enum timer_kind kind);
/* timer_set for activity that renews a running timer: one of the same kind that would move by less
 * than the list's slack (1/16 of its timeout, at most 500 ms) stays where it is, so a busy connection
 * is not moved in the list on every request (nginx's lazy timers); it may fire up to the slack early. */
void timer_renew(struct worker *w, struct conn *c, enum timer_kind kind);
void timer_clear(struct worker *w, struct conn *c);

#endif
