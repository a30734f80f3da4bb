/* Request target -> relative file path for `serve`'s protocol layer: percent-decoding and the refusals
 * (traversal, encoded slash, NUL, dot-files) that come before openat2(RESOLVE_BENEATH) in the server. */
#include "http.h"

#include <string.h>

#include "http_internal.h"

static int hex_digit(unsigned char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Judges the segment just decoded into out[seg..*olen): drops "" and ".", refuses ".." and names that
 * start with a dot. RFC 8615's /.well-known/ stays reachable (ACME challenges, security.txt). */
static enum http_path_result finish_segment(char *out, size_t seg, size_t *olen)
{
        size_t n = *olen - seg;
        if (n == 0 || (n == 1 && out[seg] == '.')) {
                *olen = seg > 0 ? seg - 1 : 0; /* also remove the '/' written before it */
                return HTTP_PATH_OK;
        }
        if (n == 2 && out[seg] == '.' && out[seg + 1] == '.')
                return HTTP_PATH_TRAVERSAL;
        if (out[seg] == '.' && !(n == 11 && memcmp(out + seg, ".well-known", 11) == 0))
                return HTTP_PATH_HIDDEN;
        return HTTP_PATH_OK;
}

enum http_path_result http_path_from_target(const char *target, size_t len, char *out, size_t out_size,
                                            struct http_path *info)
{
        const unsigned char *t = (const unsigned char *)target;
        size_t raw_len = 0, olen = 0, seg = 0;
        enum http_path_result result;

        memset(info, 0, sizeof(*info));
        if (out_size > 0)
                out[0] = '\0';
        if (len == 0 || t[0] != '/')
                return HTTP_PATH_BAD_REQUEST;
        while (raw_len < len && t[raw_len] != '?')
                raw_len++;
        info->raw_path_len = raw_len;
        if (raw_len < len) {
                info->query.ptr = target + raw_len + 1;
                info->query.len = len - raw_len - 1;
        }
        if (out_size == 0)
                return HTTP_PATH_TOO_LONG;

        /* out holds "seg/seg/seg" while decoding; seg is where the current segment starts. */
        for (size_t i = 1; i <= raw_len; i++) {
                if (i == raw_len || t[i] == '/') {
                        /* "/a/" and "/a/." name a directory: the last segment is empty or "." */
                        if (i == raw_len)
                                info->trailing_slash = olen == seg || (olen == seg + 1 && out[seg] == '.');
                        result = finish_segment(out, seg, &olen);
                        if (result != HTTP_PATH_OK)
                                return result;
                        if (i == raw_len)
                                break;
                        if (olen + 1 >= out_size)
                                return HTTP_PATH_TOO_LONG;
                        if (olen > 0)
                                out[olen++] = '/';
                        seg = olen;
                        continue;
                }
                unsigned char c = t[i];
                if (c == '#' || c == '\\')
                        return HTTP_PATH_BAD_REQUEST; /* a fragment is never sent; '\\' is not a separator here */
                if (c == '%') {
                        if (i + 2 >= raw_len)
                                return HTTP_PATH_BAD_REQUEST;
                        int h = hex_digit(t[i + 1]), l = hex_digit(t[i + 2]);
                        if (h < 0 || l < 0)
                                return HTTP_PATH_BAD_REQUEST;
                        c = (unsigned char)(h << 4 | l);
                        i += 2;
                        if (c == '/')
                                return HTTP_PATH_TRAVERSAL; /* "%2f" would let a name carry a slash */
                }
                /* The raw target is visible ASCII already (the parser checked); decoding can make NUL
                 * ("%00", which would cut the name short in the kernel) and other control bytes. */
                if (!http_path_name_byte_ok(c))
                        return HTTP_PATH_BAD_REQUEST;
                if (olen + 1 >= out_size)
                        return HTTP_PATH_TOO_LONG;
                out[olen++] = (char)c;
        }
        if (olen == 0) {
                if (out_size < 2)
                        return HTTP_PATH_TOO_LONG;
                out[olen++] = '.';
                info->trailing_slash = true;
        }
        out[olen] = '\0';
        info->len = olen;
        return HTTP_PATH_OK;
}

bool http_path_name_byte_ok(unsigned char c)
{
        return c >= 0x20 && c != 0x7f && c != '\\';
}

int http_path_status(enum http_path_result result)
{
        switch (result) {
        case HTTP_PATH_OK:
                return 200;
        case HTTP_PATH_BAD_REQUEST:
        case HTTP_PATH_TRAVERSAL:
                return 400;
        case HTTP_PATH_HIDDEN:
                return 403;
        case HTTP_PATH_TOO_LONG:
                return 414;
        }
        return 400;
}

size_t http_redirect_location(const char *path, const struct http_path *info, char *out, size_t out_size)
{
        if (out_size < 2)
                return 0;
        out[0] = '/';
        size_t n = 1;
        if (strcmp(path, ".") != 0) {
                size_t encoded = http_percent_encode(path, strlen(path), out + 1, out_size - 1);
                if (encoded == 0)
                        return 0;
                n += encoded;
                if (n + 1 >= out_size)
                        return 0;
                out[n++] = '/';
        }
        struct http_out rest = {out + n, out_size - n, 0};
        if (info->query.ptr) {
                /* The parser only lets visible ASCII through; encode anything else anyway, so no
                 * caller can ever put CR or LF into a header with this. */
                static const char hex[] = "0123456789ABCDEF";
                http_out_bytes(&rest, "?", 1);
                for (size_t i = 0; i < info->query.len; i++) {
                        unsigned char c = (unsigned char)info->query.ptr[i];
                        if (c > 0x20 && c < 0x7f) {
                                http_out_bytes(&rest, (const char *)&c, 1);
                        } else {
                                char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
                                http_out_bytes(&rest, esc, 3);
                        }
                }
        }
        size_t tail = http_out_finish(&rest);
        return tail == (size_t)-1 ? 0 : n + tail;
}
