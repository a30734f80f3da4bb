/* Range requests for `serve`'s protocol layer (RFC 9110 14): the Range header against a file size,
 * If-Range, and the multipart/byteranges framing. */
#include "http.h"

#include <string.h>

#include "http_internal.h"

/* 1*DIGIT, saturating at UINT64_MAX (a first-pos beyond any file is merely unsatisfiable). */
static bool parse_digits(const char **p, const char *end, uint64_t *value)
{
        const char *start = *p;
        uint64_t v = 0;
        while (*p < end && **p >= '0' && **p <= '9') {
                unsigned digit = (unsigned)(**p - '0');
                v = v > (UINT64_MAX - digit) / 10 ? UINT64_MAX : v * 10 + digit;
                (*p)++;
        }
        *value = v;
        return *p > start;
}

/* Whether any two of the ranges share a byte or are adjacent (one ends right before the other starts). */
static bool ranges_overlap_or_touch(const struct http_byte_range *ranges, size_t n)
{
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++) {
                        const struct http_byte_range *low = &ranges[i], *high = &ranges[j];
                        if (low->first > high->first) {
                                low = &ranges[j];
                                high = &ranges[i];
                        }
                        if (high->first <= low->last + 1)
                                return true;
                }
        return false;
}

enum http_range_result http_range_parse(const char *value, size_t len, uint64_t size,
                                        struct http_byte_range ranges[HTTP_MAX_RANGES], size_t *count)
{
        const char *end = value + len, *cursor;
        struct http_slice member;
        size_t n = 0, members = 0;
        bool empty_suffix = false; /* a suffix range of an empty representation */

        *count = 0;
        /* "bytes" is the only unit we know; the unit is case-insensitive, no whitespace around '='. */
        if (len < 6 || !http_token_equal(value, 5, "bytes") || value[5] != '=')
                return HTTP_RANGE_IGNORE;
        cursor = value + 6;
        while (http_list_next(&cursor, end, &member)) {
                const char *p = member.ptr, *stop = member.ptr + member.len;
                uint64_t first, last;
                if (++members > HTTP_MAX_RANGES)
                        return HTTP_RANGE_IGNORE;
                if (*p == '-') {
                        /* suffix-range: the last N bytes */
                        p++;
                        if (!parse_digits(&p, stop, &last) || p != stop)
                                return HTTP_RANGE_IGNORE;
                        if (last > 0 && size == 0)
                                empty_suffix = true;
                        if (last == 0 || size == 0)
                                continue; /* no byte to send for this member */
                        first = last >= size ? 0 : size - last;
                        last = size - 1;
                } else {
                        if (!parse_digits(&p, stop, &first) || p >= stop || *p != '-')
                                return HTTP_RANGE_IGNORE;
                        p++;
                        if (p == stop) {
                                last = UINT64_MAX;
                        } else if (!parse_digits(&p, stop, &last) || p != stop || last < first) {
                                return HTTP_RANGE_IGNORE;
                        }
                        if (first >= size)
                                continue;
                        if (last >= size)
                                last = size - 1;
                }
                ranges[n].first = first;
                ranges[n].last = last;
                n++;
        }
        if (members == 0)
                return HTTP_RANGE_IGNORE;
        /* For a zero-length representation a suffix range with a non-zero length is the one satisfiable
         * form (RFC 9110 14.1.2), yet selects no byte a 206 could carry: the (empty) whole, 200. */
        if (n == 0)
                return empty_suffix ? HTTP_RANGE_IGNORE : HTTP_RANGE_UNSATISFIABLE;

        /* Parts go out in the order asked for (RFC 9110 14.6 says they SHOULD), unless two of them
         * overlap or touch: then sort (insertion: n <= 16) and coalesce, so a client cannot make us
         * send the same bytes many times (RFC 9110 14.2 on range attacks). */
        if (!ranges_overlap_or_touch(ranges, n)) {
                *count = n;
                return HTTP_RANGE_SATISFIABLE;
        }
        for (size_t i = 1; i < n; i++) {
                struct http_byte_range r = ranges[i];
                size_t j = i;
                while (j > 0 && ranges[j - 1].first > r.first) {
                        ranges[j] = ranges[j - 1];
                        j--;
                }
                ranges[j] = r;
        }
        size_t merged = 0;
        for (size_t i = 1; i < n; i++) {
                if (ranges[i].first <= ranges[merged].last + 1) {
                        if (ranges[i].last > ranges[merged].last)
                                ranges[merged].last = ranges[i].last;
                } else {
                        ranges[++merged] = ranges[i];
                }
        }
        *count = merged + 1;
        return HTTP_RANGE_SATISFIABLE;
}

bool http_if_range_allows(const char *value, size_t len, const char *etag, size_t etag_len,
                          time_t last_modified, time_t now)
{
        if (len == 0)
                return false; /* neither an entity-tag nor a date (RFC 9110 13.1.5): no match */
        if (value[0] == '"')
                return etag && etag_len >= 2 && etag[0] == '"' && len == etag_len &&
                       memcmp(value, etag, len) == 0;
        if (len >= 2 && value[0] == 'W' && value[1] == '/')
                return false; /* a weak validator never allows a range */
        /* A date validates only as a strong validator: Last-Modified at least one second before the
         * response's Date (RFC 9110 8.8.2.2, 13.1.5); a file changed within the current second could
         * change again under the same date. */
        time_t date;
        return http_date_parse(value, len, &date) == 0 && date == last_modified && last_modified < now;
}

enum http_range_result http_request_ranges(const struct http_request *req, const char *etag,
                                           size_t etag_len, time_t last_modified, time_t now, uint64_t size,
                                           struct http_byte_range ranges[HTTP_MAX_RANGES],
                                           size_t *count)
{
        *count = 0;
        /* Range is defined for GET only (RFC 9110 14.2): HEAD answers what a plain GET would. */
        if (req->method != HTTP_METHOD_GET || !req->range.ptr)
                return HTTP_RANGE_IGNORE;
        if (req->if_range.ptr &&
            !http_if_range_allows(req->if_range.ptr, req->if_range.len, etag, etag_len, last_modified, now))
                return HTTP_RANGE_IGNORE;
        return http_range_parse(req->range.ptr, req->range.len, size, ranges, count);
}

size_t http_multipart_boundary(uint64_t seed, char out[HTTP_MAX_BOUNDARY + 1])
{
        static const char hex[] = "0123456789abcdef";
        /* splitmix64: boundaries of neighbouring seeds look unrelated. */
        uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        memcpy(out, "sysprim", 7);
        for (int i = 0; i < 16; i++)
                out[7 + i] = hex[(z >> (60 - 4 * i)) & 15];
        out[23] = '\0';
        return 23;
}

static void part_header(struct http_out *out, const char *boundary, const char *content_type,
                        const struct http_byte_range *range, uint64_t size)
{
        http_out_str(out, "\r\n--");
        http_out_str(out, boundary);
        http_out_str(out, "\r\nContent-Type: ");
        http_out_str(out, content_type);
        http_out_str(out, "\r\nContent-Range: bytes ");
        http_out_u64(out, range->first);
        http_out_str(out, "-");
        http_out_u64(out, range->last);
        http_out_str(out, "/");
        http_out_u64(out, size);
        http_out_str(out, "\r\n\r\n");
}

size_t http_multipart_part_header(char *buf, size_t buf_size, const char *boundary,
                                  const char *content_type, const struct http_byte_range *range,
                                  uint64_t size)
{
        struct http_out out = {buf, buf_size, 0};
        part_header(&out, boundary, content_type, range, size);
        size_t n = http_out_finish(&out);
        return n == (size_t)-1 ? 0 : n;
}

size_t http_multipart_trailer(char *buf, size_t buf_size, const char *boundary)
{
        struct http_out out = {buf, buf_size, 0};
        http_out_str(&out, "\r\n--");
        http_out_str(&out, boundary);
        http_out_str(&out, "--\r\n");
        size_t n = http_out_finish(&out);
        return n == (size_t)-1 ? 0 : n;
}

uint64_t http_multipart_length(const char *boundary, const char *content_type,
                               const struct http_byte_range *ranges, size_t count, uint64_t size)
{
        uint64_t total = 0;
        for (size_t i = 0; i < count; i++) {
                struct http_out measure = {NULL, 0, 0};
                part_header(&measure, boundary, content_type, &ranges[i], size);
                total += measure.len + (ranges[i].last - ranges[i].first + 1);
        }
        return total + 4 + strlen(boundary) + 4;
}
