/* ETags and conditional GET for `serve`'s protocol layer (RFC 9110 8.8.3, 13.1.2, 13.1.3, 13.2.2). */
#include "http.h"

#include <string.h>

#include "http_internal.h"

static char *put_hex(char *p, uint64_t v)
{
        static const char hex[] = "0123456789abcdef";
        char tmp[16];
        int n = 0;
        do {
                tmp[n++] = hex[v & 15];
                v >>= 4;
        } while (v);
        while (n)
                *p++ = tmp[--n];
        return p;
}

size_t http_etag_format(uint64_t size, int64_t mtime_ns, uint64_t inode, char out[HTTP_MAX_ETAG])
{
        /* Changes whenever the file is replaced (inode), rewritten (mtime in ns) or truncated (size). */
        char *p = out;
        *p++ = '"';
        p = put_hex(p, inode);
        *p++ = '-';
        p = put_hex(p, size);
        *p++ = '-';
        p = put_hex(p, (uint64_t)mtime_ns);
        *p++ = '"';
        *p = '\0';
        return (size_t)(p - out);
}

/* The opaque-tag of an entity-tag (quotes included), without a W/ prefix; false if malformed. */
static bool opaque_tag(const char *s, size_t len, const char **tag, size_t *tag_len)
{
        if (len >= 2 && s[0] == 'W' && s[1] == '/') {
                s += 2;
                len -= 2;
        }
        if (len < 2 || s[0] != '"' || s[len - 1] != '"' || memchr(s + 1, '"', len - 2))
                return false;
        *tag = s;
        *tag_len = len;
        return true;
}

static bool list_matches(const char *list, size_t len, const char *etag, size_t etag_len, bool strong)
{
        const char *cursor = list, *end = list + len, *ours, *theirs;
        size_t ours_len, theirs_len;
        struct http_slice member;

        if (len == 1 && list[0] == '*')
                return true;
        if (!etag || !opaque_tag(etag, etag_len, &ours, &ours_len))
                return false;
        /* "*" / #entity-tag: a '*' in a list is malformed, skipped as other malformed members are. */
        while (http_list_next(&cursor, end, &member)) {
                if (strong && member.len >= 2 && member.ptr[0] == 'W' && member.ptr[1] == '/')
                        continue;
                if (opaque_tag(member.ptr, member.len, &theirs, &theirs_len) && theirs_len == ours_len &&
                    memcmp(theirs, ours, ours_len) == 0)
                        return true;
        }
        return false;
}

bool http_etag_list_matches(const char *list, size_t len, const char *etag, size_t etag_len)
{
        return list_matches(list, len, etag, etag_len, false);
}

bool http_etag_list_matches_strong(const char *list, size_t len, const char *etag, size_t etag_len)
{
        return list_matches(list, len, etag, etag_len, true);
}

/* True if one of the `count` lines of header `name` holds a member that matches `etag`. */
static bool any_line_matches(const struct http_request *req, const char *name, size_t count, const char *etag,
                             size_t etag_len, bool strong)
{
        for (size_t i = 0; i < count; i++) {
                const struct http_header *h = http_request_header(req, name, i);
                if (h && list_matches(h->value, h->value_len, etag, etag_len, strong))
                        return true;
        }
        return false;
}

bool http_request_precondition_failed(const struct http_request *req, const char *etag, size_t etag_len,
                                      time_t last_modified)
{
        /* If-Match, when present, decides alone; If-Unmodified-Since is then ignored (13.2.2). */
        if (req->if_match_count > 0)
                return !any_line_matches(req, "if-match", req->if_match_count, etag, etag_len, true);
        time_t since;
        if (req->if_unmodified_since.ptr && last_modified != HTTP_NO_DATE &&
            http_date_parse(req->if_unmodified_since.ptr, req->if_unmodified_since.len, &since) == 0)
                return last_modified > since;
        return false;
}

bool http_request_not_modified(const struct http_request *req, const char *etag, size_t etag_len,
                               time_t last_modified)
{
        if (req->method != HTTP_METHOD_GET && req->method != HTTP_METHOD_HEAD)
                return false;
        /* If-None-Match, when present, decides alone; If-Modified-Since is then ignored (13.2.2). */
        if (req->if_none_match_count > 0)
                return any_line_matches(req, "if-none-match", req->if_none_match_count, etag, etag_len, false);
        time_t since;
        if (req->if_modified_since.ptr && last_modified != HTTP_NO_DATE &&
            http_date_parse(req->if_modified_since.ptr, req->if_modified_since.len, &since) == 0)
                return last_modified <= since;
        return false;
}
