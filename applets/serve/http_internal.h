/* Helpers shared by the http_*.c files of `serve`'s protocol layer; not part of its API (http.h). */
#ifndef SYSPRIM_SERVE_HTTP_INTERNAL_H
#define SYSPRIM_SERVE_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

/* 1 for the tchar bytes of RFC 9110 5.6.2 (method names, field names, tokens). */
extern const unsigned char http_tchar[256];

/* s[0..len) equals the NUL-terminated `name`, ASCII case-insensitively. */
bool http_token_equal(const char *s, size_t len, const char *name);

/* Walks a comma-separated list (RFC 9110 5.6.1): the next non-empty member, whitespace-trimmed, with
 * commas inside quoted strings kept. Returns false at the end. */
bool http_list_next(const char **cursor, const char *end, struct http_slice *member);

/* An output cursor over a caller buffer: writes what fits, always counts, so one pass both formats
 * and measures. `len` keeps growing past `size`; the result is valid only if len < size (room for
 * the terminating NUL). */
struct http_out {
        char *buf;
        size_t size;
        size_t len;
};

void http_out_bytes(struct http_out *out, const char *s, size_t n);
void http_out_str(struct http_out *out, const char *s);
void http_out_u64(struct http_out *out, uint64_t value);
/* NUL-terminates and returns the length, or (size_t)-1 when it did not fit. */
size_t http_out_finish(struct http_out *out);

#endif
