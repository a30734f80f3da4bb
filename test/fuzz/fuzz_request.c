/* libFuzzer target for serve's request-head parser and body framing (http_parse.c, http_body.c):
 * no crash or sanitizer report, and the parser's promises hold (split-independence, bounds, limits). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define REQUIRE(cond)                                                                                \
        do {                                                                                         \
                if (!(cond))                                                                         \
                        __builtin_trap();                                                            \
        } while (0)

static struct http_request whole, part;

static bool inside(const char *p, size_t n, const char *buf, size_t len)
{
        return p >= buf && p + n <= buf + len;
}

/* Chunked decoding gives the same result fed whole or in two pieces. */
static void check_chunked(const char *buf, size_t len, size_t cut)
{
        struct http_chunked_decoder a, b;
        bool done_a, done_b = false;
        uint64_t data_a, data_b1 = 0, data_b2 = 0;
        http_chunked_init(&a);
        http_chunked_init(&b);
        ssize_t ra = http_chunked_decode(&a, buf, len, &done_a, &data_a);
        ssize_t rb = http_chunked_decode(&b, buf, cut, &done_b, &data_b1);
        if (rb >= 0 && !done_b) {
                REQUIRE((size_t)rb == cut);
                ssize_t rb2 = http_chunked_decode(&b, buf + cut, len - cut, &done_b, &data_b2);
                rb = rb2 < 0 ? -1 : rb + rb2;
        }
        if (ra < 0) {
                REQUIRE(rb < 0);
                return;
        }
        REQUIRE(rb == ra && done_a == done_b && data_a == data_b1 + data_b2);
        REQUIRE((size_t)ra <= len && data_a <= (uint64_t)ra);
        REQUIRE(done_a || (size_t)ra == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* an exactly-sized heap copy: any read past the end is an ASan report */
        char *buf = malloc(size ? size : 1);
        memcpy(buf, data, size);

        ssize_t r = http_parse_request(buf, size, &whole);
        REQUIRE(r >= HTTP_PARSE_ERROR);
        if (size >= HTTP_MAX_REQUEST_HEAD)
                REQUIRE(r != HTTP_PARSE_INCOMPLETE);
        if (r == HTTP_PARSE_ERROR) {
                int s = whole.error_status;
                REQUIRE(s == 400 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505);
                REQUIRE(whole.error_reason != NULL && !whole.keep_alive);
        }
        if (r > 0) {
                REQUIRE((size_t)r <= size);
                REQUIRE(inside(whole.target.ptr, whole.target.len, buf, (size_t)r));
                REQUIRE(whole.target.len >= 1 && whole.target.len <= HTTP_MAX_TARGET);
                REQUIRE(whole.header_count <= HTTP_MAX_HEADERS);
                REQUIRE(whole.version_minor == 0 || whole.version_minor == 1);
                for (size_t i = 0; i < whole.header_count; i++) {
                        const struct http_header *h = &whole.headers[i];
                        REQUIRE(inside(h->name, h->name_len, buf, (size_t)r) && h->name_len > 0);
                        REQUIRE(inside(h->value, h->value_len, buf, (size_t)r));
                        for (size_t j = 0; j < h->value_len; j++)
                                REQUIRE(h->value[j] != '\r' && h->value[j] != '\n' && h->value[j] != '\0');
                }
                if (whole.version_minor == 1)
                        REQUIRE(whole.host.ptr != NULL);
                REQUIRE(!(whole.body == HTTP_BODY_CHUNKED && http_request_header(&whole, "content-length", 0)));

                /* the layers on top must take whatever the parser lets through */
                char path[512];
                struct http_path info;
                http_path_from_target(whole.path.ptr, whole.path.len, path, sizeof(path), &info);
                struct http_byte_range ranges[HTTP_MAX_RANGES];
                size_t count;
                http_request_ranges(&whole, "\"1-2-3\"", 7, 784111777, 784111779, size, ranges, &count);
                http_request_not_modified(&whole, "\"1-2-3\"", 7, 784111777);

                /* skip the body in two pieces; what is left must be where the next request starts */
                struct http_body_skipper skip;
                http_body_skip_init(&skip, &whole);
                size_t rest = size - (size_t)r, half = rest / 2;
                ssize_t a = http_body_skip(&skip, buf + r, half);
                if (a >= 0 && !skip.done)
                        (void)http_body_skip(&skip, buf + r + a, rest - (size_t)a);
                check_chunked(buf + r, rest, half);
        }

        /* Split-independence: a prefix is "incomplete" or gives the very same verdict. A few cut
         * points derived from the input keep this linear enough for the fuzzer. */
        size_t cuts[4] = {size / 2, size / 3, size > 0 ? size - 1 : 0, size > 0 ? data[0] % size : 0};
        for (int i = 0; i < 4; i++) {
                size_t cut = cuts[i];
                char *prefix = malloc(cut ? cut : 1);
                memcpy(prefix, data, cut);
                ssize_t p = http_parse_request(prefix, cut, &part);
                REQUIRE(p == HTTP_PARSE_INCOMPLETE || p == r);
                if (p == HTTP_PARSE_ERROR)
                        REQUIRE(part.error_status == whole.error_status);
                free(prefix);
        }

        /* http_parse_request_resume fed growing prefixes, as conn.c feeds it reads, ends with the
         * whole buffer's verdict; only an error may still read "incomplete" (after its first call
         * it parses again only once a head end has come, and an error before one waits for it). */
        size_t progress = 0, step = size ? (size_t)data[size - 1] % 7 + 1 : 1;
        ssize_t v = HTTP_PARSE_INCOMPLETE;
        for (size_t n = step < size ? step : size;; n = n + step < size ? n + step : size) {
                v = http_parse_request_resume(buf, n, &part, &progress);
                if (v != HTTP_PARSE_INCOMPLETE || n == size)
                        break;
        }
        REQUIRE(v == r || (v == HTTP_PARSE_INCOMPLETE && r == HTTP_PARSE_ERROR));
        REQUIRE((v == HTTP_PARSE_INCOMPLETE) == (progress != 0));
        if (v == HTTP_PARSE_ERROR)
                REQUIRE(part.error_status == whole.error_status);

        /* the cheap pre-check never reports an end the parser does not see */
        size_t scanned = 0, end = 0;
        for (size_t step = size / 3 + 1, n = step; !end; n += step) {
                if (n > size)
                        n = size;
                end = http_find_head_end(buf, n, &scanned);
                if (n == size)
                        break;
        }
        if (r > 0)
                REQUIRE(end != 0 && end <= (size_t)r);
        free(buf);
        return 0;
}
