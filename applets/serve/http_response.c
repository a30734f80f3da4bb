/* Response heads for `serve`'s protocol layer: status line and standard headers written straight into
 * a caller buffer (no printf on the request path), small error bodies, escaping for listings. */
#include "http.h"

#include <string.h>

#include "http_internal.h"

void http_out_bytes(struct http_out *out, const char *s, size_t n)
{
        if (out->len < out->size) {
                size_t room = out->size - out->len;
                memcpy(out->buf + out->len, s, n < room ? n : room);
        }
        out->len += n;
}

void http_out_str(struct http_out *out, const char *s)
{
        http_out_bytes(out, s, strlen(s));
}

void http_out_u64(struct http_out *out, uint64_t value)
{
        char tmp[20];
        int n = 0;
        do {
                tmp[sizeof(tmp) - 1 - n++] = (char)('0' + value % 10);
                value /= 10;
        } while (value);
        http_out_bytes(out, tmp + sizeof(tmp) - n, (size_t)n);
}

size_t http_out_finish(struct http_out *out)
{
        if (out->len >= out->size)
                return (size_t)-1;
        out->buf[out->len] = '\0';
        return out->len;
}

const char *http_status_reason(int status)
{
        switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 204: return "No Content";
        case 206: return "Partial Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 411: return "Length Required";
        case 412: return "Precondition Failed";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 416: return "Range Not Satisfiable";
        case 417: return "Expectation Failed";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
        }
}

static void header(struct http_out *out, const char *name, const char *value)
{
        if (!value)
                return;
        http_out_str(out, name);
        http_out_str(out, value);
        http_out_bytes(out, "\r\n", 2);
}

ssize_t http_format_response_head(char *buf, size_t buf_size, const struct http_response_head *h)
{
        struct http_out out = {buf, buf_size, 0};
        int status = h->status;

        if (status < 100 || status > 999)
                status = 500;
        /* We speak 1.1 to 1.0 clients too (RFC 9110 6.2): the version says what we can do. */
        http_out_str(&out, "HTTP/1.1 ");
        http_out_u64(&out, (uint64_t)status);
        http_out_bytes(&out, " ", 1);
        http_out_str(&out, http_status_reason(status));
        http_out_str(&out, "\r\nServer: sysprim\r\n");
        header(&out, "Date: ", h->date);
        if (h->multipart_boundary) {
                http_out_str(&out, "Content-Type: multipart/byteranges; boundary=");
                http_out_str(&out, h->multipart_boundary);
                http_out_bytes(&out, "\r\n", 2);
        } else {
                header(&out, "Content-Type: ", h->content_type);
        }
        if (h->has_content_length) {
                http_out_str(&out, "Content-Length: ");
                http_out_u64(&out, h->content_length);
                http_out_bytes(&out, "\r\n", 2);
        }
        header(&out, "Last-Modified: ", h->last_modified);
        header(&out, "ETag: ", h->etag);
        header(&out, "Content-Encoding: ", h->content_encoding);
        if (h->vary_accept_encoding)
                http_out_str(&out, "Vary: Accept-Encoding\r\n");
        if (h->accept_ranges)
                http_out_str(&out, "Accept-Ranges: bytes\r\n");
        if (h->has_content_range) {
                http_out_str(&out, "Content-Range: bytes ");
                http_out_u64(&out, h->content_range.first);
                http_out_bytes(&out, "-", 1);
                http_out_u64(&out, h->content_range.last);
                http_out_bytes(&out, "/", 1);
                http_out_u64(&out, h->representation_size);
                http_out_bytes(&out, "\r\n", 2);
        } else if (h->unsatisfied_range) {
                http_out_str(&out, "Content-Range: bytes */");
                http_out_u64(&out, h->representation_size);
                http_out_bytes(&out, "\r\n", 2);
        }
        header(&out, "Location: ", h->location);
        header(&out, "Allow: ", h->allow);
        if (!h->keep_alive)
                http_out_str(&out, "Connection: close\r\n");
        else if (h->version_minor == 0)
                http_out_str(&out, "Connection: keep-alive\r\n");
        if (h->extra)
                http_out_str(&out, h->extra);
        http_out_bytes(&out, "\r\n", 2);
        size_t n = http_out_finish(&out);
        return n == (size_t)-1 ? -1 : (ssize_t)n;
}

ssize_t http_format_simple_response(char *buf, size_t buf_size, int status, const char *date,
                                    int version_minor, bool keep_alive, bool head_only, const char *extra)
{
        char body[160];
        struct http_out b = {body, sizeof(body), 0};
        const char *reason = http_status_reason(status);

        http_out_str(&b, "<!DOCTYPE html>\n<html><head><title>");
        http_out_u64(&b, (uint64_t)(status > 0 ? status : 0));
        http_out_bytes(&b, " ", 1);
        http_out_str(&b, reason);
        http_out_str(&b, "</title></head><body><h1>");
        http_out_u64(&b, (uint64_t)(status > 0 ? status : 0));
        http_out_bytes(&b, " ", 1);
        http_out_str(&b, reason);
        http_out_str(&b, "</h1></body></html>\n");
        size_t body_len = http_out_finish(&b);
        if (body_len == (size_t)-1)
                return -1;
        /* These statuses never carry content (RFC 9110 6.4.1), so no body and no length either. */
        bool no_content = (status >= 100 && status < 200) || status == 204 || status == 304;

        struct http_response_head head = {
                .status = status,
                .version_minor = version_minor,
                .keep_alive = keep_alive,
                .date = date,
                .content_type = no_content ? NULL : "text/html; charset=utf-8",
                .has_content_length = !no_content,
                .content_length = body_len,
                .extra = extra,
        };
        ssize_t n = http_format_response_head(buf, buf_size, &head);
        if (n < 0 || head_only || no_content)
                return n;
        if ((size_t)n + body_len >= buf_size)
                return -1;
        memcpy(buf + n, body, body_len + 1);
        return n + (ssize_t)body_len;
}

size_t http_percent_encode(const char *in, size_t len, char *buf, size_t buf_size)
{
        static const char hex[] = "0123456789ABCDEF";
        struct http_out out = {buf, buf_size, 0};
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)in[i];
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~' || c == '/') {
                        http_out_bytes(&out, (const char *)&c, 1);
                } else {
                        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
                        http_out_bytes(&out, esc, 3);
                }
        }
        size_t n = http_out_finish(&out);
        return n == (size_t)-1 ? 0 : n;
}

/* The length of the UTF-8 sequence (RFC 3629) that starts in[0..len) when it is well-formed, else 0
 * with *bad the bytes to replace by one U+FFFD: the lead byte and the continuation bytes that still
 * fit it (the "maximal subpart" of Unicode 3.9, as browsers decode), never fewer than one. */
static size_t utf8_sequence(const unsigned char *in, size_t len, size_t *bad)
{
        unsigned char c = in[0], low = 0x80, high = 0xbf;
        size_t need;
        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf) {
                need = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
                need = 3;
                if (c == 0xe0)
                        low = 0xa0; /* shorter forms are overlong */
                else if (c == 0xed)
                        high = 0x9f; /* U+D800..U+DFFF are surrogates, not characters */
        } else if (c >= 0xf0 && c <= 0xf4) {
                need = 4;
                if (c == 0xf0)
                        low = 0x90;
                else if (c == 0xf4)
                        high = 0x8f; /* nothing above U+10FFFF */
        } else {
                *bad = 1; /* a continuation byte alone, C0, C1 (always overlong), F5..FF */
                return 0;
        }
        size_t i = 1;
        for (; i < need && i < len; i++) {
                if (in[i] < low || in[i] > high)
                        break;
                low = 0x80;
                high = 0xbf;
        }
        if (i == need)
                return need;
        *bad = i;
        return 0;
}

size_t http_html_escape(const char *in, size_t len, char *buf, size_t buf_size)
{
        struct http_out out = {buf, buf_size, 0};
        for (size_t i = 0; i < len;) {
                size_t bad = 0, n = utf8_sequence((const unsigned char *)in + i, len - i, &bad);
                if (n == 0) {
                        /* U+FFFD: a page that says charset=utf-8 must be UTF-8, whatever the input */
                        http_out_str(&out, "\xef\xbf\xbd");
                        i += bad;
                        continue;
                }
                switch (in[i]) {
                case '&': http_out_str(&out, "&amp;"); break;
                case '<': http_out_str(&out, "&lt;"); break;
                case '>': http_out_str(&out, "&gt;"); break;
                case '"': http_out_str(&out, "&quot;"); break;
                case '\'': http_out_str(&out, "&#39;"); break;
                default: http_out_bytes(&out, in + i, n); break;
                }
                i += n;
        }
        size_t n = http_out_finish(&out);
        return n == (size_t)-1 ? 0 : n;
}
