/* HTTP/1.1 request-head parser (RFC 9112): a left-to-right scan of the bytes received so far that
 * answers complete / need more / error. Protocol layer of `serve`; no sockets, no allocation. */
#include "http.h"

#include <string.h>

#include "http_internal.h"

/* tchar of RFC 9110 5.6.2: the bytes allowed in a method and a field name. */
const unsigned char http_tchar[256] = {
        ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
        ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
        ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

/* field-vchar (RFC 9110 5.5): visible ASCII and obs-text; not SP, HTAB, CR, LF, NUL or other CTLs. */
static const unsigned char value_plain[256] = {
        [0x21 ... 0x7e] = 1,
        [0x80 ... 0xff] = 1,
};

bool http_token_equal(const char *s, size_t len, const char *lower)
{
        size_t i;
        for (i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i], d = (unsigned char)lower[i];
                if (d == '\0')
                        return false;
                if (c >= 'A' && c <= 'Z')
                        c = (unsigned char)(c - 'A' + 'a');
                if (d >= 'A' && d <= 'Z')
                        d = (unsigned char)(d - 'A' + 'a');
                if (c != d)
                        return false;
        }
        return lower[i] == '\0';
}

bool http_list_next(const char **cursor, const char *end, struct http_slice *member)
{
        const char *p = *cursor;
        for (;;) {
                while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                        p++;
                if (p >= end) {
                        *cursor = p;
                        return false;
                }
                const char *start = p;
                bool quoted = false;
                while (p < end && (quoted || *p != ',')) {
                        if (*p == '"')
                                quoted = !quoted;
                        else if (*p == '\\' && quoted && p + 1 < end)
                                p++;
                        p++;
                }
                const char *stop = p;
                while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t'))
                        stop--;
                *cursor = p;
                if (stop > start) {
                        member->ptr = start;
                        member->len = (size_t)(stop - start);
                        return true;
                }
        }
}

static const struct {
        const char *name;
        enum http_method method;
} methods[] = {
        {"GET", HTTP_METHOD_GET},         {"HEAD", HTTP_METHOD_HEAD},     {"POST", HTTP_METHOD_POST},
        {"PUT", HTTP_METHOD_PUT},         {"DELETE", HTTP_METHOD_DELETE}, {"OPTIONS", HTTP_METHOD_OPTIONS},
        {"TRACE", HTTP_METHOD_TRACE},     {"CONNECT", HTTP_METHOD_CONNECT}, {"PATCH", HTTP_METHOD_PATCH},
};

const char *http_method_name(enum http_method method)
{
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
                if (methods[i].method == method)
                        return methods[i].name;
        return "?";
}

/* Methods are case-sensitive (RFC 9110 9.1): "get" is an unknown method. */
static int method_lookup(const char *s, size_t len, enum http_method *method)
{
        if (len == 3 && memcmp(s, "GET", 3) == 0) {
                *method = HTTP_METHOD_GET;
                return 0;
        }
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
                if (strlen(methods[i].name) == len && memcmp(methods[i].name, s, len) == 0) {
                        *method = methods[i].method;
                        return 0;
                }
        return -1;
}

static ssize_t fail(struct http_request *req, int status, const char *reason)
{
        req->error_status = status;
        req->error_reason = reason;
        req->keep_alive = false;
        return HTTP_PARSE_ERROR;
}

/* uri-host [":" port] (RFC 3986 3.2.2, 3.2.3) with the characters it allows in a reg-name or IP
 * literal, no userinfo; the port is digits (perhaps none). The host is an IP literal in brackets, else
 * everything before the first ':'. */
static bool authority_valid(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
                        continue;
                if (strchr("-._~!$&'()*+,;=:[]%", c) && c != '\0')
                        continue;
                return false;
        }
        const char *end = s + len, *p;
        if (len > 0 && s[0] == '[') {
                p = memchr(s, ']', len);
                if (p == NULL)
                        return false;
                p++;
        } else {
                p = memchr(s, ':', len);
                if (p == NULL)
                        return true;
        }
        if (p == end)
                return true;
        if (*p != ':')
                return false;
        for (p++; p < end; p++)
                if (*p < '0' || *p > '9')
                        return false;
        return true;
}

/* Content-Length value: 1*DIGIT, or a list of identical 1*DIGIT (RFC 9110 8.6). */
static int parse_content_length(const char *s, size_t len, uint64_t *out)
{
        const char *cursor = s, *end = s + len;
        struct http_slice member;
        bool any = false;
        /* An empty value or a value with empty list members only is invalid, not absent. */
        while (http_list_next(&cursor, end, &member)) {
                uint64_t value = 0;
                for (size_t i = 0; i < member.len; i++) {
                        unsigned char c = (unsigned char)member.ptr[i];
                        if (c < '0' || c > '9')
                                return -1;
                        if (value > (UINT64_MAX / 2 - 9) / 10)
                                return -1; /* beyond 2^63: nobody sends that, and off_t could not hold it */
                        value = value * 10 + (c - '0');
                }
                if (any && value != *out)
                        return -1;
                *out = value;
                any = true;
        }
        return any ? 0 : -1;
}

/* Accept-Encoding: does it allow gzip? "gzip", "x-gzip" or "*" with a non-zero q (RFC 9110 12.5.3).
 * An explicit gzip entry wins over "*". */
static bool accepts_gzip(const char *s, size_t len)
{
        const char *cursor = s, *end = s + len;
        struct http_slice member;
        int gzip = -1, star = -1;
        while (http_list_next(&cursor, end, &member)) {
                const char *p = member.ptr, *stop = member.ptr + member.len;
                const char *name = p;
                while (p < stop && http_tchar[(unsigned char)*p])
                        p++;
                size_t name_len = (size_t)(p - name);
                /* Parameters: only q matters; q=0, q=0.0, q=0.000 refuse. */
                int allowed = 1;
                while (p < stop) {
                        while (p < stop && (*p == ' ' || *p == '\t' || *p == ';'))
                                p++;
                        if (stop - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                                p += 2;
                                if (p < stop && *p == '0') {
                                        const char *q = p + 1;
                                        if (q < stop && *q == '.')
                                                for (q++; q < stop && *q == '0'; q++)
                                                        ;
                                        allowed = (q < stop && *q >= '1' && *q <= '9') ? 1 : 0;
                                }
                        }
                        while (p < stop && *p != ';')
                                p++;
                }
                if (http_token_equal(name, name_len, "gzip") || http_token_equal(name, name_len, "x-gzip"))
                        gzip = gzip == 1 ? 1 : allowed;
                else if (name_len == 1 && name[0] == '*')
                        star = allowed;
        }
        if (gzip >= 0)
                return gzip == 1;
        return star == 1;
}

/* What the header section says, checked once the head is complete. */
static ssize_t derive(struct http_request *req)
{
        bool close = false, keep_alive_token = false;
        bool have_length = false, te_seen = false, te_unknown = false, te_chunked_last = false;
        unsigned te_chunked = 0, host_count = 0, range_count = 0, if_range_count = 0;
        bool expect_other = false;

        for (size_t i = 0; i < req->header_count; i++) {
                const struct http_header *h = &req->headers[i];
                const char *n = h->name;
                size_t nl = h->name_len;
                const char *end = h->value + h->value_len;
                const char *cursor = h->value;
                struct http_slice member;

                switch (nl) {
                case 4:
                        if (http_token_equal(n, nl, "host")) {
                                if (++host_count > 1)
                                        return fail(req, 400, "two Host headers");
                                if (!authority_valid(h->value, h->value_len))
                                        return fail(req, 400, "invalid Host");
                                if (!req->absolute_form) {
                                        req->host.ptr = h->value;
                                        req->host.len = h->value_len;
                                }
                        }
                        break;
                case 5:
                        if (http_token_equal(n, nl, "range")) {
                                range_count++;
                                req->range.ptr = h->value;
                                req->range.len = h->value_len;
                        }
                        break;
                case 6:
                        if (http_token_equal(n, nl, "expect")) {
                                if (http_token_equal(h->value, h->value_len, "100-continue"))
                                        req->expect_continue = req->version_minor >= 1;
                                else
                                        expect_other = true;
                        }
                        break;
                case 8:
                        if (http_token_equal(n, nl, "if-range")) {
                                if_range_count++;
                                req->if_range.ptr = h->value;
                                req->if_range.len = h->value_len;
                        } else if (http_token_equal(n, nl, "if-match")) {
                                req->if_match_count++;
                        }
                        break;
                case 10:
                        if (http_token_equal(n, nl, "connection")) {
                                while (http_list_next(&cursor, end, &member)) {
                                        if (http_token_equal(member.ptr, member.len, "close"))
                                                close = true;
                                        else if (http_token_equal(member.ptr, member.len, "keep-alive"))
                                                keep_alive_token = true;
                                }
                        }
                        break;
                case 13:
                        if (http_token_equal(n, nl, "if-none-match"))
                                req->if_none_match_count++;
                        break;
                case 14:
                        if (http_token_equal(n, nl, "content-length")) {
                                uint64_t value = 0;
                                if (parse_content_length(h->value, h->value_len, &value) < 0)
                                        return fail(req, 400, "invalid Content-Length");
                                if (have_length && value != req->content_length)
                                        return fail(req, 400, "two different Content-Lengths");
                                have_length = true;
                                req->content_length = value;
                        }
                        break;
                case 15:
                        if (http_token_equal(n, nl, "accept-encoding") && !req->accept_gzip)
                                req->accept_gzip = accepts_gzip(h->value, h->value_len);
                        break;
                case 17:
                        if (http_token_equal(n, nl, "transfer-encoding")) {
                                te_seen = true;
                                while (http_list_next(&cursor, end, &member)) {
                                        if (http_token_equal(member.ptr, member.len, "chunked")) {
                                                te_chunked++;
                                                te_chunked_last = true;
                                        } else {
                                                te_unknown = true;
                                                te_chunked_last = false;
                                        }
                                }
                        }
                        if (http_token_equal(n, nl, "if-modified-since") && !req->if_modified_since.ptr) {
                                req->if_modified_since.ptr = h->value;
                                req->if_modified_since.len = h->value_len;
                        }
                        break;
                case 19:
                        if (http_token_equal(n, nl, "if-unmodified-since") && !req->if_unmodified_since.ptr) {
                                req->if_unmodified_since.ptr = h->value;
                                req->if_unmodified_since.len = h->value_len;
                        }
                        break;
                default:
                        break;
                }
        }

        if (req->version_minor >= 1)
                req->keep_alive = !close;
        else
                req->keep_alive = keep_alive_token && !close;

        /* Framing first: these decide where the next request starts, so any doubt closes (RFC 9112 6). */
        if (te_seen) {
                if (req->version_minor == 0)
                        return fail(req, 400, "Transfer-Encoding in an HTTP/1.0 request");
                if (have_length)
                        return fail(req, 400, "both Content-Length and Transfer-Encoding");
                if (!te_chunked_last || te_chunked != 1)
                        return fail(req, 400, "Transfer-Encoding without chunked last");
                if (te_unknown)
                        return fail(req, 501, "unsupported transfer coding");
                req->body = HTTP_BODY_CHUNKED;
        } else if (have_length) {
                req->body = HTTP_BODY_LENGTH;
        }
        if (req->version_minor >= 1 && host_count == 0)
                return fail(req, 400, "HTTP/1.1 request without Host");
        if (expect_other && req->version_minor >= 1)
                return fail(req, 417, "unsupported expectation");
        /* A repeated Range or If-Range is invalid: ignore the range request, serve everything. */
        if (range_count > 1 || if_range_count > 1)
                req->range.ptr = NULL, req->range.len = 0;
        if (req->if_range.ptr && !req->range.ptr)
                req->if_range.ptr = NULL, req->if_range.len = 0;
        return 0;
}

/* The request target forms of RFC 9112 3.2. */
static ssize_t classify_target(struct http_request *req)
{
        const char *t = req->target.ptr;
        size_t len = req->target.len;

        if (t[0] == '/') {
                req->path = req->target;
                return 0;
        }
        if (len == 1 && t[0] == '*') {
                if (req->method != HTTP_METHOD_OPTIONS)
                        return fail(req, 400, "asterisk-form target outside OPTIONS");
                req->path = req->target;
                return 0;
        }
        if (req->method == HTTP_METHOD_CONNECT) {
                req->path = req->target; /* authority-form; answered 405 anyway */
                return 0;
        }
        size_t scheme = 0;
        if (len > 7 && http_token_equal(t, 7, "http://"))
                scheme = 7;
        else if (len > 8 && http_token_equal(t, 8, "https://"))
                scheme = 8;
        if (scheme == 0)
                return fail(req, 400, "request target is not a path or an absolute URI");
        const char *authority = t + scheme, *end = t + len, *p = authority;
        while (p < end && *p != '/' && *p != '?' && *p != '#')
                p++;
        if (p == authority || memchr(authority, '@', (size_t)(p - authority)) ||
            !authority_valid(authority, (size_t)(p - authority)))
                return fail(req, 400, "invalid authority in absolute-form target");
        req->absolute_form = true;
        req->host.ptr = authority;
        req->host.len = (size_t)(p - authority);
        if (p < end && *p == '/') {
                req->path.ptr = p;
                req->path.len = (size_t)(end - p);
        } else {
                /* "http://host" or "http://host?q": the path is "/" (a static file server has no use for
                 * the query); the slice then points to a constant, not into the buffer. */
                req->path.ptr = "/";
                req->path.len = 1;
        }
        return 0;
}

/* Needing byte `pos` of the header section: beyond the limit is 431 whatever follows; beyond what
 * has arrived is "incomplete". Both checks are the same for any split of the input. */
#define NEED(pos)                                                                                    \
        do {                                                                                         \
                if ((pos) >= limit)                                                                  \
                        return fail(req, 431, "header section too large");                          \
                if ((pos) >= len)                                                                    \
                        return HTTP_PARSE_INCOMPLETE;                                                \
        } while (0)

ssize_t http_parse_request(const char *buf, size_t len, struct http_request *req)
{
        const unsigned char *b = (const unsigned char *)buf;
        size_t pos = 0, start;

        req->method = HTTP_METHOD_GET;
        req->method_name = req->target = req->path = req->host = (struct http_slice){NULL, 0};
        req->if_modified_since = req->if_unmodified_since = req->range = req->if_range = (struct http_slice){NULL, 0};
        req->version_minor = 1;
        req->header_count = 0;
        req->keep_alive = false;
        req->absolute_form = false;
        req->body = HTTP_BODY_NONE;
        req->content_length = 0;
        req->expect_continue = req->accept_gzip = false;
        req->if_none_match_count = req->if_match_count = 0;
        req->error_status = 0;
        req->error_reason = NULL;

        /* RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line. */
        for (unsigned empty = 0; pos < len && (b[pos] == '\r' || b[pos] == '\n'); empty++) {
                if (empty >= HTTP_MAX_LEADING_EMPTY_LINES)
                        return fail(req, 400, "too many empty lines before the request");
                if (b[pos] == '\r') {
                        if (pos + 1 >= len)
                                return HTTP_PARSE_INCOMPLETE;
                        if (b[pos + 1] != '\n')
                                return fail(req, 400, "bare CR");
                        pos++;
                }
                pos++;
        }

        /* method SP */
        start = pos;
        while (pos < len && http_tchar[b[pos]]) {
                pos++;
                if (pos - start > HTTP_MAX_METHOD)
                        return fail(req, 501, "unknown method");
        }
        if (pos >= len)
                return HTTP_PARSE_INCOMPLETE;
        if (b[pos] != ' ' || pos == start)
                return fail(req, 400, "malformed request line");
        req->method_name.ptr = buf + start;
        req->method_name.len = pos - start;
        if (method_lookup(buf + start, pos - start, &req->method) < 0)
                return fail(req, 501, "unknown method");
        pos++;

        /* request-target SP: visible ASCII only */
        start = pos;
        size_t target_stop = start + HTTP_MAX_TARGET + 1 < len ? start + HTTP_MAX_TARGET + 1 : len;
        while (pos < target_stop && value_plain[b[pos]] && b[pos] < 0x80)
                pos++;
        if (pos - start > HTTP_MAX_TARGET)
                return fail(req, 414, "request target too long");
        if (pos >= len)
                return HTTP_PARSE_INCOMPLETE;
        if (b[pos] != ' ' || pos == start)
                return fail(req, 400, "malformed request line");
        req->target.ptr = buf + start;
        req->target.len = pos - start;
        pos++;

        /* HTTP-version: "HTTP/" DIGIT "." DIGIT, case-sensitive */
        static const char version[] = "HTTP/x.x";
        for (size_t i = 0; i < 8; i++, pos++) {
                if (pos >= len)
                        return HTTP_PARSE_INCOMPLETE;
                if (version[i] == 'x') {
                        if (b[pos] < '0' || b[pos] > '9')
                                return fail(req, 400, "malformed HTTP version");
                } else if (b[pos] != (unsigned char)version[i]) {
                        return fail(req, 400, "malformed HTTP version");
                }
        }
        if (b[pos - 3] != '1')
                return fail(req, 505, "HTTP version not supported");
        req->version_minor = b[pos - 1] == '0' ? 0 : 1;
        if (pos >= len)
                return HTTP_PARSE_INCOMPLETE;
        if (b[pos] == '\r') {
                if (pos + 1 >= len)
                        return HTTP_PARSE_INCOMPLETE;
                if (b[pos + 1] != '\n')
                        return fail(req, 400, "malformed request line");
                pos++;
        } else if (b[pos] != '\n') {
                return fail(req, 400, "malformed request line");
        }
        pos++;

        /* field-line CRLF ... CRLF */
        size_t limit = pos + HTTP_MAX_HEADER_SECTION, stop = len < limit ? len : limit;
        for (;;) {
                NEED(pos);
                if (b[pos] == '\r') {
                        NEED(pos + 1);
                        if (b[pos + 1] != '\n')
                                return fail(req, 400, "bare CR");
                        pos += 2;
                        break;
                }
                if (b[pos] == '\n') {
                        pos++;
                        break;
                }
                if (b[pos] == ' ' || b[pos] == '\t')
                        return fail(req, 400, "obsolete line folding");
                start = pos;
                while (pos < stop && http_tchar[b[pos]])
                        pos++;
                NEED(pos);
                if (b[pos] != ':' || pos == start)
                        return fail(req, 400, "malformed header field name");
                size_t name_len = pos - start;
                pos++;
                NEED(pos);
                while (b[pos] == ' ' || b[pos] == '\t') {
                        pos++;
                        NEED(pos);
                }
                size_t value_start = pos, value_end = pos;
                for (;;) {
                        /* fast run over field-vchar; the rare bytes are sorted out below */
                        size_t run = pos;
                        while (pos < stop && value_plain[b[pos]])
                                pos++;
                        if (pos > run)
                                value_end = pos;
                        NEED(pos);
                        unsigned char c = b[pos];
                        if (c == '\r') {
                                NEED(pos + 1);
                                if (b[pos + 1] != '\n')
                                        return fail(req, 400, "bare CR");
                                pos += 2;
                                break;
                        }
                        if (c == '\n') {
                                pos++;
                                break;
                        }
                        if (c != ' ' && c != '\t')
                                return fail(req, 400, "control character in a header value");
                        pos++;
                }
                if (req->header_count >= HTTP_MAX_HEADERS)
                        return fail(req, 431, "too many header fields");
                struct http_header *h = &req->headers[req->header_count++];
                h->name = buf + start;
                h->name_len = name_len;
                h->value = buf + value_start;
                h->value_len = value_end - value_start;
        }

        if (classify_target(req) < 0 || derive(req) < 0)
                return HTTP_PARSE_ERROR;
        return (ssize_t)pos;
}

size_t http_find_head_end(const char *buf, size_t len, size_t *scanned)
{
        size_t i = *scanned;
        while (i < len) {
                const char *nl = memchr(buf + i, '\n', len - i);
                if (!nl)
                        break;
                size_t at = (size_t)(nl - buf);
                if (at + 1 >= len || (buf[at + 1] == '\r' && at + 2 >= len)) {
                        *scanned = at; /* look at this newline again once more bytes are in */
                        return 0;
                }
                if (buf[at + 1] == '\n') {
                        *scanned = at + 2;
                        return at + 2;
                }
                if (buf[at + 1] == '\r' && buf[at + 2] == '\n') {
                        *scanned = at + 3;
                        return at + 3;
                }
                i = at + 1;
        }
        *scanned = len;
        return 0;
}

ssize_t http_parse_request_resume(const char *buf, size_t len, struct http_request *req, size_t *progress)
{
        /* *progress: 0 before the first parse, else 1 + how far http_find_head_end has looked. */
        if (*progress && len < HTTP_MAX_REQUEST_HEAD) {
                size_t scanned = *progress - 1;
                size_t end = http_find_head_end(buf, len, &scanned);
                *progress = scanned + 1; /* past a false end too, or it would be found (and parsed) again */
                if (end == 0)
                        return HTTP_PARSE_INCOMPLETE;
        }
        ssize_t n = http_parse_request(buf, len, req);
        if (n != HTTP_PARSE_INCOMPLETE)
                *progress = 0;
        else if (*progress == 0)
                *progress = 1;
        return n;
}

const struct http_header *http_request_header(const struct http_request *req, const char *name,
                                              size_t nth)
{
        for (size_t i = 0; i < req->header_count; i++) {
                const struct http_header *h = &req->headers[i];
                if (http_token_equal(h->name, h->name_len, name) && nth-- == 0)
                        return h;
        }
        return NULL;
}
