/* From a parsed request to the response to send: method and path checks, the file cache, directories
 * (301, index, listing), precompressed .gz siblings, conditional requests, ranges, error pages, and
 * the access log line. Fills a struct pending for conn.c to send. Server layer. */
#include "conn.h"
#include "listing.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

void response_log(struct worker *w, const struct conn *c, struct pending *p)
{
        if (p->log_status == 0 || server.access_log_fd < 0)
                return;
        char host[INET6_ADDRSTRLEN] = "-";
        inet_ntop(c->peer_family, c->peer, host, sizeof(host));
        /* CLF stamps the time the request came in. */
        char started[40];
        const char *date = w->clf_date;
        if (p->log_started != w->now_sec) {
                struct tm tm;
                gmtime_r(&p->log_started, &tm);
                strftime(started, sizeof(started), "%d/%b/%Y:%H:%M:%S +0000", &tm);
                date = started;
        }
        uint64_t body = p->written > p->head_length ? p->written - p->head_length : 0;
        access_log_append(&w->log, server.access_log_fd, host, date, p->log_line, p->log_line_length, p->log_status,
                          body);
        p->log_status = 0;
}

static void log_prepare(struct worker *w, struct pending *p, const char *line, size_t line_length, int status,
                        uint64_t head_length)
{
        if (server.access_log_fd < 0)
                return;
        p->log_status = status;
        p->log_started = w->now_sec;
        p->log_line = line;
        p->log_line_length = line_length;
        p->head_length = head_length;
}

/* The request line as sent, for the log: from the method to the end of the line. */
static void request_line(const struct http_request *req, const char **line, size_t *length)
{
        const char *start = req->method_name.ptr;
        size_t max = req->method_name.len + 1 + req->target.len + 1 + 8 + 2;
        const char *eol = memchr(start, '\n', max);
        size_t n = eol ? (size_t)(eol - start) : max;
        if (n && start[n - 1] == '\r')
                n--;
        *line = start;
        *length = n;
}

/* A small complete response (error, redirect) into the worker's head buffer after `prefix` bytes. */
/* The head (and short HTML page, unless head_only) of a status-only answer, into p. */
static size_t format_simple(struct worker *w, struct conn *c, struct pending *p, size_t prefix, int status,
                            const char *extra, int version_minor, bool head_only)
{
        ssize_t n = http_format_simple_response(w->head + prefix, LOOP_HEAD_SIZE - prefix, status, w->date,
                                                version_minor, !c->close_after, head_only, extra);
        if (n < 0) {
                /* Only an over-long Location could do this: answer without it. */
                status = 500;
                c->close_after = true;
                n = http_format_simple_response(w->head + prefix, LOOP_HEAD_SIZE - prefix, status, w->date,
                                                version_minor, false, head_only, NULL);
        }
        p->text = w->head;
        p->text_length = prefix + (size_t)(n > 0 ? n : 0);
        return (size_t)(n > 0 ? n : 0);
}

static void simple_response(struct worker *w, struct conn *c, const struct http_request *req, struct pending *p,
                            size_t prefix, int status, const char *extra)
{
        size_t n = format_simple(w, c, p, prefix, status, extra, req->version_minor,
                                 req->method == HTTP_METHOD_HEAD);
        const char *line;
        size_t length;
        request_line(req, &line, &length);
        /* The body of these is the short HTML page after the head's empty line. */
        const char *end = memmem(w->head + prefix, n, "\r\n\r\n", 4);
        log_prepare(w, p, line, length, status, end ? (uint64_t)(end + 4 - w->head) : p->text_length);
}

void response_for_error(struct worker *w, struct conn *c, int status, const char *line, size_t line_length,
                        struct pending *p)
{
        c->close_after = true;
        if (status < 400 || status > 599)
                status = 400;
        /* No request to go by: the connection closes, which any version understands, and a HEAD (the
         * line says so whatever else failed) gets no page (RFC 9110 9.3.2). */
        bool head = line_length >= 5 && memcmp(line, "HEAD ", 5) == 0;
        format_simple(w, c, p, 0, status, NULL, 1, head);
        const char *end = memmem(p->text, p->text_length, "\r\n\r\n", 4);
        log_prepare(w, p, line, line_length, status, end ? (uint64_t)(end + 4 - p->text) : p->text_length);
}

static int errno_status(int error)
{
        switch (error) {
        case ENOENT:
        case ENOTDIR:
                return 404;
        case EACCES:
        case EPERM:
        case EXDEV: /* a symlink (or anything) leading out of the root */
        case ELOOP: /* a symlink without openat2, or a loop */
                return 403;
        case ENAMETOOLONG:
                return 414;
        default:
                return 500;
        }
}

/* Format `h` into buf, or copy it from the file's cached head when `h` is that plain 200 answer. */
static ssize_t cached_head(struct worker *w, struct file_entry *file, const struct http_response_head *h, char *buf,
                           size_t size)
{
        bool plain = h->status == 200 && h->version_minor == 1 && h->keep_alive && h->content_encoding == NULL &&
                     h->content_type == file->mime && h->content_length == file->size;
        if (plain && file->head && file->head_vary == h->vary_accept_encoding && file->head_length < size) {
                if (file->head_date != w->now_sec) {
                        memcpy(file->head + file->head_date_offset, w->date, HTTP_DATE_LEN);
                        file->head_date = w->now_sec;
                }
                memcpy(buf, file->head, file->head_length);
                return file->head_length;
        }
        ssize_t n = http_format_response_head(buf, size, h);
        if (!plain || n < 0 || n > UINT16_MAX)
                return n;
        const char *date = memmem(buf, (size_t)n, h->date, HTTP_DATE_LEN);
        char *copy = date ? realloc(file->head, (size_t)n) : NULL;
        if (copy) {
                memcpy(copy, buf, (size_t)n);
                file->head = copy;
                file->head_length = (uint16_t)n;
                file->head_date_offset = (uint16_t)(date - buf);
                file->head_date = w->now_sec;
                file->head_vary = h->vary_accept_encoding;
        }
        return n;
}

/* Serve a regular file (or its .gz sibling): conditional, ranges, the head; takes over `file`. */
static void respond_file(struct worker *w, struct conn *c, const struct http_request *req, struct pending *p,
                         size_t prefix, struct file_entry *file, const char *content_type, bool gzip, bool vary)
{
        bool head_only = req->method == HTTP_METHOD_HEAD;
        struct http_response_head h = {
                .version_minor = req->version_minor,
                .keep_alive = !c->close_after,
                .date = w->date,
                .last_modified = file->last_modified,
                .etag = file->etag,
                .content_encoding = gzip ? "gzip" : NULL,
                .vary_accept_encoding = vary,
                .accept_ranges = true,
        };
        struct multipart *multipart = NULL;
        uint64_t body_offset = 0, body_length = 0;
        if (http_request_precondition_failed(req, file->etag, file->etag_length, file->mtime)) {
                file_entry_put(file);
                simple_response(w, c, req, p, prefix, 412, vary ? "Vary: Accept-Encoding\r\n" : NULL);
                return;
        }
        if (http_request_not_modified(req, file->etag, file->etag_length, file->mtime)) {
                h.status = 304;
        } else {
                struct http_byte_range ranges[HTTP_MAX_RANGES];
                size_t count = 0;
                enum http_range_result range = http_request_ranges(req, file->etag, file->etag_length, file->mtime,
                                                                   w->now_sec, file->size, ranges, &count);
                h.has_content_length = true;
                h.representation_size = file->size;
                if (range == HTTP_RANGE_UNSATISFIABLE) {
                        h.status = 416;
                        h.unsatisfied_range = true;
                        h.content_length = 0;
                } else if (range == HTTP_RANGE_SATISFIABLE && count == 1) {
                        h.status = 206;
                        h.content_type = content_type;
                        h.has_content_range = true;
                        h.content_range = ranges[0];
                        body_offset = ranges[0].first;
                        body_length = h.content_length = ranges[0].last - ranges[0].first + 1;
                } else if (range == HTTP_RANGE_SATISFIABLE) {
                        multipart = calloc(1, sizeof(*multipart));
                        if (multipart == NULL) {
                                file_entry_put(file);
                                c->close_after = true;
                                simple_response(w, c, req, p, prefix, 500, NULL);
                                return;
                        }
                        memcpy(multipart->ranges, ranges, count * sizeof(ranges[0]));
                        multipart->count = count;
                        multipart->size = file->size;
                        multipart->content_type = content_type;
                        http_multipart_boundary(file->inode * 0x9e3779b97f4a7c15ull + w->served * 2654435761u +
                                                        (uint64_t)w->index,
                                                multipart->boundary);
                        h.status = 206;
                        h.multipart_boundary = multipart->boundary;
                        h.content_length = http_multipart_length(multipart->boundary, content_type, ranges, count,
                                                                 file->size);
                        body_length = h.content_length;
                } else {
                        h.status = 200;
                        h.content_type = content_type;
                        body_length = h.content_length = file->size;
                }
        }
        ssize_t n = cached_head(w, file, &h, w->head + prefix, LOOP_HEAD_SIZE - prefix);
        if (n < 0) {
                file_entry_put(file);
                free(multipart);
                c->close_after = true;
                simple_response(w, c, req, p, prefix, 500, NULL);
                return;
        }
        p->text = w->head;
        p->text_length = prefix + (size_t)n;
        const char *line;
        size_t line_length;
        request_line(req, &line, &line_length);
        log_prepare(w, p, line, line_length, h.status, p->text_length);
        if (head_only || body_length == 0) {
                file_entry_put(file);
                free(multipart);
                return;
        }
        if (multipart == NULL && file->content && body_length <= LOOP_HEAD_SIZE - p->text_length) {
                /* A small file's bytes right after the head: one send() of one buffer, no iovec, and no
                 * reference to the entry while the response is in flight. */
                memcpy(w->head + p->text_length, file->content + body_offset, body_length);
                p->text_length += body_length;
                file_entry_put(file);
                return;
        }
        p->entry = file;
        if (multipart) {
                p->multipart = multipart; /* its parts follow the head (conn.c: multipart_next) */
        } else {
                p->body_offset = body_offset;
                p->body_remaining = body_length;
        }
}

/* `path` + suffix into w->aux; false when it does not fit. */
static bool derived_path(struct worker *w, const char *path, size_t length, const char *separator,
                         const char *suffix, size_t *out_length)
{
        /* memcpy, not snprintf: this runs for the .gz sibling of every file served. */
        size_t separator_length = strlen(separator), suffix_length = strlen(suffix);
        size_t n = length + separator_length + suffix_length;
        if (n >= LOOP_PATH_SIZE)
                return false;
        memmove(w->aux, path, length);
        memcpy(w->aux + length, separator, separator_length);
        memcpy(w->aux + length + separator_length, suffix, suffix_length + 1);
        *out_length = n;
        return true;
}

/* A regular file found at w->aux or w->path: look for a .gz beside it and serve one of the two. */
static void serve_regular(struct worker *w, struct conn *c, const struct http_request *req, struct pending *p,
                          size_t prefix, struct file_entry *file, const char *name, size_t name_length)
{
        const char *content_type = file->mime;
        size_t gz_length;
        struct file_entry *gz = NULL;
        /* Whether a .gz exists decides Vary for both answers, so look even if gzip is not accepted. */
        bool is_gz = name_length >= 3 && memcmp(name + name_length - 3, ".gz", 3) == 0;
        if (!is_gz &&
            derived_path(w, name, name_length, "", ".gz", &gz_length) &&
            file_cache_get(&w->cache, w->aux, gz_length, w->now_ms, &gz) == 0 && gz->is_dir) {
                file_entry_put(gz);
                gz = NULL;
        }
        if (gz && req->accept_gzip) {
                file_entry_put(file);
                respond_file(w, c, req, p, prefix, gz, content_type, true, true);
                return;
        }
        bool vary = gz != NULL;
        if (gz)
                file_entry_put(gz);
        respond_file(w, c, req, p, prefix, file, content_type, false, vary);
}

bool response_for_request(struct worker *w, struct conn *c, const struct http_request *req, struct pending *p)
{
        w->served++;
        if (!req->keep_alive || w->draining)
                c->close_after = true;
        if (server.max_body && req->body == HTTP_BODY_LENGTH && req->content_length > server.max_body) {
                /* As nginx's client_max_body_size: refused before a byte of it is read (no 100
                 * Continue), and the connection closes after the answer. */
                c->close_after = true;
                simple_response(w, c, req, p, 0, 413, NULL);
                return false;
        }
        size_t prefix = 0;
        bool has_body = req->body == HTTP_BODY_CHUNKED || (req->body == HTTP_BODY_LENGTH && req->content_length);
        if (req->expect_continue && has_body) {
                /* Ask for the body we will discard, so the stream stays in step whatever the answer. */
                prefix = strlen(HTTP_100_CONTINUE);
                memcpy(w->head, HTTP_100_CONTINUE, prefix);
        }
        if (req->method != HTTP_METHOD_GET && req->method != HTTP_METHOD_HEAD) {
                simple_response(w, c, req, p, prefix, 405, "Allow: GET, HEAD\r\n");
                return true;
        }
        struct http_path info;
        enum http_path_result pr = http_path_from_target(req->path.ptr, req->path.len, w->path, LOOP_PATH_SIZE, &info);
        if (pr != HTTP_PATH_OK) {
                simple_response(w, c, req, p, prefix, http_path_status(pr), NULL);
                return true;
        }
        struct file_entry *file;
        int rc = file_cache_get(&w->cache, w->path, info.len, w->now_ms, &file);
        if (rc < 0) {
                simple_response(w, c, req, p, prefix, errno_status(-rc), NULL);
                return true;
        }
        if (!file->is_dir && info.trailing_slash) {
                file_entry_put(file); /* "/file/": no such directory (open(2) says ENOTDIR) */
                simple_response(w, c, req, p, prefix, 404, NULL);
                return true;
        }
        if (!file->is_dir) {
                serve_regular(w, c, req, p, prefix, file, w->path, info.len);
                return true;
        }
        file_entry_put(file);
        if (!info.trailing_slash) {
                /* "/docs" -> "/docs/": relative links inside the page need the slash. The Location is
                 * built from the normalised path, never the raw target: "GET //evil.example" must not
                 * become a protocol-relative redirect to another site. */
                static const char name[] = "Location: ";
                size_t n = http_redirect_location(w->path, &info, w->aux + sizeof(name) - 1,
                                                  LOOP_PATH_SIZE - (sizeof(name) - 1) - 2);
                if (n == 0) {
                        simple_response(w, c, req, p, prefix, 414, NULL);
                        return true;
                }
                memcpy(w->aux, name, sizeof(name) - 1);
                memcpy(w->aux + sizeof(name) - 1 + n, "\r\n", 3);
                simple_response(w, c, req, p, prefix, 301, w->aux);
                return true;
        }
        size_t index_length;
        bool root = strcmp(w->path, ".") == 0;
        if (!derived_path(w, root ? "" : w->path, root ? 0 : info.len, root ? "" : "/", server.index_name,
                          &index_length)) {
                simple_response(w, c, req, p, prefix, 414, NULL);
                return true;
        }
        rc = file_cache_get(&w->cache, w->aux, index_length, w->now_ms, &file);
        if (rc == 0 && !file->is_dir) {
                /* serve_regular reuses w->aux for the .gz name: keep the index name in w->path. */
                memcpy(w->path, w->aux, index_length + 1);
                serve_regular(w, c, req, p, prefix, file, w->path, index_length);
                return true;
        }
        if (rc == 0)
                file_entry_put(file);
        else if (rc != -ENOENT) {
                simple_response(w, c, req, p, prefix, errno_status(-rc), NULL);
                return true;
        }
        if (!server.listing) {
                simple_response(w, c, req, p, prefix, 403, NULL);
                return true;
        }
        /* A listing has neither ETag nor Last-Modified: only "*" can match (RFC 9110 13.1.1, 13.1.2). */
        if (http_request_precondition_failed(req, NULL, 0, HTTP_NO_DATE)) {
                simple_response(w, c, req, p, prefix, 412, NULL);
                return true;
        }
        bool not_modified = http_request_not_modified(req, NULL, 0, HTTP_NO_DATE);
        if (server_listing_budget_spent())
                goto busy;
        char *page = NULL;
        size_t page_length = 0;
        rc = not_modified ? 0 : listing_render(w->path, info.len, &page, &page_length);
        if (rc < 0) {
                simple_response(w, c, req, p, prefix, errno_status(-rc), NULL);
                return true;
        }
        bool head_only = req->method == HTTP_METHOD_HEAD || not_modified;
        struct http_response_head h = {
                .status = not_modified ? 304 : 200,
                .version_minor = req->version_minor,
                .keep_alive = !c->close_after,
                .date = w->date,
                .content_type = not_modified ? NULL : "text/html; charset=utf-8",
                .has_content_length = !not_modified,
                .content_length = page_length,
                .extra = "Cache-Control: no-cache\r\n",
        };
        ssize_t n = http_format_response_head(w->head + prefix, LOOP_HEAD_SIZE - prefix, &h);
        size_t head_length = prefix + (n < 0 ? 0 : (size_t)n);
        size_t total = head_length + (head_only ? 0 : page_length);
        if (!server_take_listing_bytes(total)) {
                free(page);
                goto busy;
        }
        /* The head goes in front of the page in its own block: a listing is never held twice. */
        char *text = n < 0 ? NULL : realloc(page, total);
        if (text == NULL) {
                server_give_listing_bytes(total);
                free(page);
                c->close_after = true;
                simple_response(w, c, req, p, prefix, 500, NULL);
                return true;
        }
        if (!head_only)
                memmove(text + head_length, text, page_length);
        memcpy(text, w->head, head_length);
        p->text = p->text_owned = text;
        p->text_budget = total;
        p->text_length = total;
        const char *line;
        size_t line_length;
        request_line(req, &line, &line_length);
        log_prepare(w, p, line, line_length, h.status, prefix + (size_t)n);
        return true;
busy:
        /* Listings waiting for slow readers hold the budget: try again soon. */
        simple_response(w, c, req, p, prefix, 503, "Retry-After: 1\r\n");
        return true;
}
