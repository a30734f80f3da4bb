/* A client connection's state machine: read into the thread's scratch buffer, parse every complete
 * request head (any split across reads, several pipelined in one read), discard bodies, and send each
 * response with writev/send+sendfile until the socket is full; then wait for EPOLLOUT with the rest in
 * a small heap object. Idle connections hold no buffer at all. Server layer. */
#include "conn.h"
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Lingering close, as nginx's lingering_timeout and lingering_time: after "Connection: close" what the
 * client still sends (the rest of a body refused with 413, say) is read and dropped until its EOF, for
 * at most this many TIMER_LINGER periods in all; TIMER_LINGER itself ends a silence. */
#define LINGER_TOTAL_PERIODS 6

/* Bytes one response may send per turn of the event loop before the thread's other connections get
 * theirs (nginx: sendfile_max_chunk 2m). A reader as fast as the loopback (a proxy on this host)
 * keeps the socket from ever filling, so "until EAGAIN" alone could last seconds of a large file. */
#define SEND_TURN_BYTES (2u << 20)
/* Reads one connection may do per turn before the others get theirs: a client that pipelines
 * requests as fast as we answer them would otherwise never let its thread back to epoll_wait. */
#define READ_TURN_COUNT 4

/* SEND_YIELD: the turn's budget is spent with the socket still writable; conn_yield() asks for the
 * next turn. */
enum send_result { SEND_DONE, SEND_BLOCKED, SEND_YIELD, SEND_FAILED };

struct conn *conn_create(struct worker *w, int fd, const struct sockaddr_storage *peer)
{
        struct conn *c = calloc(1, sizeof(*c));
        if (c == NULL)
                return NULL;
        c->fd = fd;
        c->timer_kind = TIMER_KINDS;
        c->peer_family = (uint8_t)peer->ss_family;
        if (peer->ss_family == AF_INET)
                memcpy(c->peer, &((const struct sockaddr_in *)peer)->sin_addr, 4);
        else if (peer->ss_family == AF_INET6)
                memcpy(c->peer, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
        /* The first request head must arrive within --header-timeout of the accept. */
        timer_set(w, c, TIMER_HEADER);
        return c;
}

static void pending_release(struct pending *p)
{
        if (p->entry)
                file_entry_put(p->entry);
        free(p->text_owned);
        if (p->text_budget)
                server_give_listing_bytes(p->text_budget);
        free(p->multipart);
        free(p->log_line_owned);
        p->entry = NULL;
        p->text_owned = NULL;
        p->text_budget = 0;
        p->multipart = NULL;
        p->log_line_owned = NULL;
}

void conn_close(struct worker *w, struct conn *c)
{
        timer_clear(w, c);
        if (c->pending) {
                response_log(w, c, c->pending); /* cut off: the bytes it did get */
                pending_release(c->pending);
                free(c->pending);
        }
        free(c->body);
        free(c->in);
        close(c->fd);
        free(c);
        w->connections--;
        server_release_connection();
}

/* The multipart body: part head, range bytes, ..., trailer. Sets up the next piece; false at the end. */
static bool multipart_next(struct pending *p)
{
        struct multipart *m = p->multipart;
        if (m == NULL || m->next > m->count)
                return false;
        size_t length;
        if (m->next < m->count) {
                const struct http_byte_range *r = &m->ranges[m->next];
                length = http_multipart_part_header(m->part_head, sizeof(m->part_head), m->boundary,
                                                    m->content_type, r, m->size);
                p->body_offset = r->first;
                p->body_remaining = r->last - r->first + 1;
        } else {
                length = http_multipart_trailer(m->part_head, sizeof(m->part_head), m->boundary);
        }
        m->next++;
        p->text = m->part_head;
        p->text_length = length;
        p->text_sent = 0;
        return length > 0;
}

static enum send_result pending_send(struct conn *c, struct pending *p)
{
        uint64_t turn_start = p->written;
        for (;;) {
                size_t text_left = p->text_length - p->text_sent;
                bool memory_body = p->body_remaining && p->entry->content;
                ssize_t n;
                if (memory_body) {
                        struct iovec iov[2];
                        int count = 0;
                        if (text_left)
                                iov[count++] = (struct iovec){ (char *)p->text + p->text_sent, text_left };
                        iov[count++] = (struct iovec){ p->entry->content + p->body_offset, p->body_remaining };
                        n = writev(c->fd, iov, count);
                } else if (text_left) {
                        /* MSG_MORE: the head waits for the first sendfile segment to fill the packet. */
                        int flags = MSG_NOSIGNAL | (p->body_remaining ? MSG_MORE : 0);
                        n = send(c->fd, p->text + p->text_sent, text_left, flags);
                } else if (p->body_remaining) {
                        off_t offset = (off_t)p->body_offset;
                        size_t want = p->body_remaining > SEND_TURN_BYTES ? SEND_TURN_BYTES : p->body_remaining;
                        n = sendfile(c->fd, p->entry->fd, &offset, want);
                        if (n == 0)
                                return SEND_FAILED; /* the file shrank: the promised length cannot be kept */
                        if (n > 0) {
                                p->body_offset += (uint64_t)n;
                                p->body_remaining -= (uint64_t)n;
                                p->written += (uint64_t)n;
                                if (p->written - turn_start >= SEND_TURN_BYTES)
                                        return SEND_YIELD;
                                continue; /* sendfile may stop short with room left: go on until EAGAIN */
                        }
                } else if (multipart_next(p)) {
                        continue;
                } else {
                        return SEND_DONE;
                }
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? SEND_BLOCKED : SEND_FAILED;
                }
                p->written += (uint64_t)n;
                size_t written = (size_t)n;
                size_t from_text = written < text_left ? written : text_left;
                p->text_sent += from_text;
                written -= from_text;
                size_t expected = text_left;
                if (memory_body) {
                        p->body_offset += written;
                        p->body_remaining -= written;
                        expected += (size_t)(p->body_remaining + written);
                }
                /* A short write on a non-blocking stream socket means its buffer is full (as nginx assumes):
                 * EPOLLOUT will say when to go on. */
                if ((size_t)n < expected)
                        return SEND_BLOCKED;
        }
}

/* Keep what the socket did not take, beyond this call's stack and the worker's buffers. */
static int pending_keep(struct conn *c, struct pending *p)
{
        struct pending *kept = malloc(sizeof(*kept));
        if (kept == NULL)
                return -ENOMEM;
        *kept = *p;
        bool text_in_part_head = p->multipart && p->text == p->multipart->part_head;
        if (!text_in_part_head && p->text_owned == NULL && p->text_sent < p->text_length) {
                size_t left = p->text_length - p->text_sent;
                kept->text_owned = malloc(left);
                if (kept->text_owned == NULL) {
                        free(kept);
                        return -ENOMEM;
                }
                memcpy(kept->text_owned, p->text + p->text_sent, left);
                kept->text = kept->text_owned;
                kept->text_length = left;
                kept->text_sent = 0;
        }
        if (p->log_status && p->log_line_owned == NULL) {
                /* The request line lives in a buffer that the next read reuses. */
                kept->log_line_owned = malloc(p->log_line_length ? p->log_line_length : 1);
                if (kept->log_line_owned == NULL) {
                        kept->log_status = 0;
                } else {
                        memcpy(kept->log_line_owned, p->log_line, p->log_line_length);
                        kept->log_line = kept->log_line_owned;
                }
        }
        c->pending = kept;
        return 0;
}

/* Come back to this connection after the others: with edge-triggered epoll, modifying the
 * registration reports the socket's readiness again at once (EPOLLOUT while it has room). */
static void conn_yield(struct worker *w, struct conn *c)
{
        c->yielded = true;
        struct epoll_event ev = { .events = CONN_EPOLL_EVENTS, .data.ptr = c };
        epoll_ctl(w->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* The response is out. */
static void response_finished(struct worker *w, struct conn *c)
{
        if (c->close_after) {
                /* Half-close and read what the client still sends, so its unread bytes do not make our
                 * kernel answer with a reset that could destroy the response before it is read. */
                shutdown(c->fd, SHUT_WR);
                c->lingering = true;
                c->linger_start = (uint32_t)w->now_ms;
                timer_set(w, c, TIMER_LINGER);
        }
}

/* Try to send `p` now; what does not fit waits in c->pending. False: the connection was closed. */
static bool conn_send(struct worker *w, struct conn *c, struct pending *p)
{
        enum send_result r = pending_send(c, p);
        switch (r) {
        case SEND_DONE:
                response_log(w, c, p);
                pending_release(p);
                response_finished(w, c);
                return true;
        case SEND_BLOCKED:
        case SEND_YIELD:
                if (pending_keep(c, p) < 0)
                        break;
                if (r == SEND_YIELD)
                        conn_yield(w, c);
                timer_set(w, c, TIMER_SEND);
                return true;
        case SEND_FAILED:
                break;
        }
        response_log(w, c, p);
        pending_release(p);
        conn_close(w, c);
        return false;
}

/* Store the unparsed bytes buf[pos..len) in the connection's own buffer (none when empty). */
static int keep_input(struct conn *c, char *buf, size_t pos, size_t len)
{
        size_t left = len - pos;
        if (left == 0) {
                free(c->in);
                c->in = NULL;
                c->in_length = c->in_capacity = 0;
                return 0;
        }
        if (buf == c->in) {
                if (pos)
                        memmove(c->in, c->in + pos, left);
                c->in_length = (uint32_t)left;
                return 0;
        }
        size_t capacity = left < 2048 ? 2048 : left;
        char *in = malloc(capacity);
        if (in == NULL)
                return -ENOMEM;
        memcpy(in, buf + pos, left);
        free(c->in);
        c->in = in;
        c->in_length = (uint32_t)left;
        c->in_capacity = (uint32_t)capacity;
        return 0;
}

static void linger_read(struct worker *w, struct conn *c)
{
        uint64_t total = (uint64_t)w->timers[TIMER_LINGER].timeout_ms * LINGER_TOTAL_PERIODS;
        bool got = false;
        for (unsigned reads = 0;;) {
                /* A client that never stops sending is not read for ever. */
                if ((uint32_t)w->now_ms - c->linger_start >= total)
                        break;
                if (++reads > READ_TURN_COUNT) {
                        timer_renew(w, c, TIMER_LINGER);
                        conn_yield(w, c); /* the thread's other connections first */
                        return;
                }
                ssize_t n = recv(c->fd, w->scratch, LOOP_SCRATCH_SIZE, 0);
                if (n > 0) {
                        got = true;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        c->readable = false;
                        if (got)
                                timer_renew(w, c, TIMER_LINGER);
                        return;
                }
                break; /* EOF (or an error): done */
        }
        conn_close(w, c);
}

/* Which timeout applies now. The header timeout runs from the first byte of a request (or the
 * accept) and is not renewed by further bytes: that is what cuts off slowloris. */
static void conn_set_timer(struct worker *w, struct conn *c, bool request_done, bool body_progress)
{
        if (c->lingering)
                return; /* TIMER_LINGER was set when that began */
        if (c->pending) {
                /* TIMER_SEND, set when the response began and renewed by what it sends; a request body
                 * read on while the response waits is progress too (a client may send all of it before
                 * reading). Other input is not: see conn_run. */
                if (body_progress)
                        timer_renew(w, c, TIMER_SEND);
                return;
        }
        if (c->body) {
                if (body_progress || c->timer_kind != TIMER_IDLE)
                        timer_renew(w, c, TIMER_IDLE);
        } else if (c->in) {
                if (request_done || c->timer_kind != TIMER_HEADER)
                        timer_set(w, c, TIMER_HEADER);
        } else if (request_done) {
                timer_renew(w, c, TIMER_IDLE); /* the idle time counts from the last request */
        } else if (c->timer_kind != TIMER_IDLE && c->timer_kind != TIMER_HEADER) {
                /* (HEADER without a request done: a new connection that has sent nothing yet.) */
                timer_set(w, c, TIMER_IDLE);
        }
}

/* Parse and answer what is buffered, read more when needed, until the socket has nothing more for us
 * or our output is blocked. */
static void conn_run(struct worker *w, struct conn *c)
{
        char *buf = c->in;
        size_t len = c->in_length, pos = 0;
        size_t capacity = c->in_capacity;
        bool request_done = false, body_progress = false;
        bool output_waits = false; /* c->pending was tried in this turn and could not finish */
        unsigned reads = 0;
        for (;;) {
                if (c->pending && !output_waits) {
                        uint64_t written = c->pending->written;
                        enum send_result r = pending_send(c, c->pending);
                        if (r == SEND_BLOCKED || r == SEND_YIELD) {
                                if (r == SEND_YIELD)
                                        conn_yield(w, c);
                                /* Only progress renews the send timeout: an EPOLLIN from a client that
                                 * sends bytes but never reads must not keep the response alive. */
                                if (c->pending->written != written)
                                        timer_renew(w, c, TIMER_SEND);
                                output_waits = true;
                                continue;
                        }
                        response_log(w, c, c->pending);
                        pending_release(c->pending);
                        free(c->pending);
                        c->pending = NULL;
                        if (r == SEND_FAILED)
                                goto close;
                        request_done = true;
                        response_finished(w, c);
                }
                /* While a response waits for room, only its request's body is read on (a client that
                 * sends all of it before reading the answer would otherwise wait for us as we wait
                 * for it); the next request waits, in the socket, for the response to be out. */
                if (c->pending && c->body == NULL)
                        break;
                if (c->lingering) {
                        /* Input is no longer ours to parse. */
                        if (buf == c->in) {
                                free(c->in);
                                c->in = NULL;
                                c->in_capacity = 0;
                        }
                        c->in_length = 0;
                        if (c->readable || c->peer_closed)
                                linger_read(w, c); /* closes at once after the client's EOF */
                        return;
                }
                if (c->body && pos < len) {
                        ssize_t n = http_body_skip(c->body, buf + pos, len - pos);
                        if (n < 0)
                                goto close; /* malformed chunked body: the stream cannot be trusted */
                        pos += (size_t)n;
                        if (server.max_body && c->body->payload > server.max_body) {
                                /* A chunked body over --max-body: the connection closes after its
                                 * answer. An answer still waiting for room goes on while the body is
                                 * read and dropped (a client that sends all of it before reading must
                                 * not block us as we block it), but that no longer renews
                                 * --send-timeout; an answer already out: the lingering close, now. */
                                c->close_after = true;
                                if (c->pending == NULL) {
                                        free(c->body);
                                        c->body = NULL;
                                        pos = len;
                                        response_finished(w, c);
                                        continue;
                                }
                        } else {
                                body_progress = true;
                        }
                        if (c->body->done) {
                                free(c->body);
                                c->body = NULL;
                        }
                        continue;
                }
                if (c->body == NULL && pos < len) {
                        size_t avail = len - pos;
                        /* A head arriving in pieces is not parsed in full again for every piece. */
                        size_t progress = c->head_progress;
                        ssize_t n = http_parse_request_resume(buf + pos, avail, &w->request, &progress);
                        c->head_progress = (uint32_t)progress;
                        if (n > 0) {
                                request_done = true;
                                struct http_request *req = &w->request;
                                struct pending p = { 0 };
                                bool read_body = response_for_request(w, c, req, &p);
                                pos = read_body ? pos + (size_t)n : len;
                                if (read_body && req->body != HTTP_BODY_NONE &&
                                    !(req->body == HTTP_BODY_LENGTH && req->content_length == 0)) {
                                        c->body = malloc(sizeof(*c->body));
                                        if (c->body == NULL) {
                                                pending_release(&p);
                                                goto close;
                                        }
                                        http_body_skip_init(c->body, req);
                                        body_progress = true;
                                }
                                if (!conn_send(w, c, &p))
                                        return;
                                output_waits = c->pending != NULL;
                                continue;
                        }
                        if (n == HTTP_PARSE_ERROR) {
                                const char *line = buf + pos;
                                const char *eol = memchr(line, '\n', avail);
                                size_t line_length = eol ? (size_t)(eol - line) : avail;
                                if (line_length && line[line_length - 1] == '\r')
                                        line_length--;
                                struct pending p = { 0 };
                                response_for_error(w, c, w->request.error_status, line, line_length, &p);
                                c->close_after = true;
                                pos = len; /* nothing after a malformed head can be trusted */
                                if (!conn_send(w, c, &p))
                                        return;
                                output_waits = c->pending != NULL;
                                continue;
                        }
                }
                /* Need more input. */
                if (!c->readable)
                        break;
                if (++reads > READ_TURN_COUNT) {
                        conn_yield(w, c); /* what is buffered is kept below */
                        break;
                }
                if (pos == len) {
                        pos = len = 0;
                        if (c->in == NULL) {
                                buf = w->scratch;
                                capacity = LOOP_SCRATCH_SIZE;
                        }
                } else if (pos > 0) {
                        memmove(buf, buf + pos, len - pos);
                        len -= pos;
                        pos = 0;
                }
                if (buf == c->in && capacity - len < 1024 && capacity < LOOP_SCRATCH_SIZE) {
                        size_t grown = capacity * 2 > LOOP_SCRATCH_SIZE ? LOOP_SCRATCH_SIZE : capacity * 2;
                        char *in = realloc(c->in, grown);
                        if (in == NULL)
                                goto close;
                        buf = c->in = in;
                        capacity = c->in_capacity = (uint32_t)grown;
                }
                if (len == capacity)
                        goto close; /* cannot happen: the parser decides within HTTP_MAX_REQUEST_HEAD */
                /* recv, not read: the socket call skips the VFS layer. */
                ssize_t n = recv(c->fd, buf + len, capacity - len, 0);
                if (n > 0) {
                        /* A short read drained the socket (nginx's rule): the next edge tells us of more.
                         * Not after EPOLLRDHUP: the FIN came with that edge and no other will follow, so
                         * read on until recv() says EOF (nginx's pending_eof). */
                        if ((size_t)n < capacity - len && !c->peer_closed)
                                c->readable = false;
                        len += (size_t)n;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        c->readable = false;
                        break;
                }
                if (n == 0 && c->pending) {
                        /* The client ended its side in the middle of the request body (or right after
                         * it) while the response waits for room: finish the response, then close. */
                        free(c->body);
                        c->body = NULL;
                        c->readable = false;
                        c->peer_closed = true;
                        c->close_after = true;
                        break;
                }
                goto close; /* EOF (with nothing left to answer) or a reset */
        }
        if (keep_input(c, buf, pos, len) < 0)
                goto close;
        /* Between requests while draining: nothing in flight (unless the turn ended with input still
         * in the socket: that request is in flight and is answered, with Connection: close). */
        if (w->draining && c->pending == NULL && c->body == NULL && c->in == NULL && !c->lingering &&
            !c->yielded)
                goto close;
        conn_set_timer(w, c, request_done, body_progress);
        return;
close:
        conn_close(w, c);
}

void conn_event(struct worker *w, struct conn *c, bool in, bool out, bool eof)
{
        if (in)
                c->readable = true;
        if (eof)
                c->peer_closed = true;
        if (c->lingering) {
                if (in || c->yielded) {
                        c->yielded = false;
                        linger_read(w, c);
                }
                return;
        }
        if (!in && !(out && c->pending) && !c->yielded)
                return;
        c->yielded = false;
        conn_run(w, c);
}

void conn_timeout(struct worker *w, struct conn *c)
{
        if (c->timer_kind == TIMER_SEND) {
                /* A client that stopped reading: reset, so the kernel drops the queued bytes now rather
                 * than trickling them out to it for minutes after close. */
                struct linger reset = { .l_onoff = 1, .l_linger = 0 };
                setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
        }
        conn_close(w, c);
}
