/* A client connection: the state machine that reads request heads (any split, several pipelined in
 * one read), discards bodies, and sends responses with writev and sendfile, continuing on EPOLLOUT.
 * Server layer. */
#ifndef SERVE_CONN_H
#define SERVE_CONN_H

#include "loop.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

/* Everything an idle connection costs us: this struct and nothing else (no buffers). */
struct conn {
        struct conn *timer_prev, *timer_next;
        uint64_t deadline_ms;
        char *in;                   /* unparsed input; NULL when there is none */
        struct pending *pending;    /* output the socket did not take yet; NULL when none */
        struct http_body_skipper *body; /* the body being discarded; NULL when none */
        uint32_t in_length, in_capacity;
        uint32_t head_progress;     /* http_parse_request_resume's state for a head arriving in pieces */
        int fd;
        uint8_t timer_kind;         /* enum timer_kind, or TIMER_KINDS when in no list */
        bool readable : 1;          /* an EPOLLIN edge not yet drained to EAGAIN */
        bool close_after : 1;       /* close once the pending output is sent */
        bool lingering : 1;         /* output done, write side shut: discarding until EOF */
        bool peer_closed : 1;       /* EPOLLRDHUP/HUP seen: reading on to EOF, no new edge will come */
        bool yielded : 1;           /* gave up its turn with work left: the next event of any kind resumes it */
        uint8_t peer_family;        /* AF_INET or AF_INET6, for the access log */
        uint8_t peer[16];
        uint32_t linger_start;      /* lingering: when it began (the worker's clock in ms, wrapping) */
};

/* What is still to be sent for one response. Lives on the stack while the first write is attempted
 * and moves to the heap only when the socket is full. */
struct pending {
        const char *text;        /* head (and any generated body); then the multipart part heads */
        size_t text_length, text_sent;
        char *text_owned;        /* heap copy of `text` when it must outlive the worker's buffers */
        size_t text_budget;      /* bytes of server.listing_bytes that text_owned holds */
        struct file_entry *entry; /* the body's file (memory copy or fd); holds a reference */
        uint64_t body_offset, body_remaining;
        struct multipart *multipart;
        /* The access log line, written when the response ends (or is cut off) with the body bytes
         * really sent: everything written beyond head_length. */
        int log_status;          /* 0: nothing to log */
        time_t log_started;
        uint64_t head_length, written;
        const char *log_line;    /* the request line; in the request buffer, or log_line_owned */
        size_t log_line_length;
        char *log_line_owned;
};

struct multipart {
        struct http_byte_range ranges[HTTP_MAX_RANGES];
        size_t count, next;      /* next: the range whose part head comes next; count: the trailer */
        uint64_t size;
        const char *content_type;
        char boundary[HTTP_MAX_BOUNDARY + 1];
        char part_head[512];
};

/* A connection's epoll registration: both directions, edge-triggered, and the peer's FIN. */
#define CONN_EPOLL_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

struct conn *conn_create(struct worker *w, int fd, const struct sockaddr_storage *peer);
/* Drive the connection after an epoll event: `in`/`out` say which directions became ready; `eof`
 * that the peer shut its side (EPOLLRDHUP) or the connection failed. */
void conn_event(struct worker *w, struct conn *c, bool in, bool out, bool eof);
void conn_close(struct worker *w, struct conn *c);
/* A timer expired. */
void conn_timeout(struct worker *w, struct conn *c);

/* response.c: turn a parsed request into `p` (and set c->close_after when needed). False: the
 * request's body must not be read (413: larger than --max-body; the connection closes after). */
bool response_for_request(struct worker *w, struct conn *c, const struct http_request *req,
                          struct pending *p);
/* response.c: write the access log line of `p` (if it has one and the log is on). */
void response_log(struct worker *w, const struct conn *c, struct pending *p);
/* response.c: a parse error: the simple response for `status`, and the connection closes after. */
void response_for_error(struct worker *w, struct conn *c, int status, const char *request_line,
                        size_t request_line_length, struct pending *p);

#endif
