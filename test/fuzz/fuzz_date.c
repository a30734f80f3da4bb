/* libFuzzer target for serve's dates, ETag lists, MIME lookup, escaping and response heads (http_date.c,
 * http_etag.c, http_mime.c, http_response.c): no crash or overflow; parsed dates format and parse back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define REQUIRE(cond)                                                                                \
        do {                                                                                         \
                if (!(cond))                                                                         \
                        __builtin_trap();                                                            \
        } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size ? size : 1);
        memcpy(s, data, size);

        time_t t, back;
        char out[HTTP_DATE_LEN + 1];
        if (http_date_parse(s, size, &t) == 0) {
                REQUIRE(http_date_format(t, out) == HTTP_DATE_LEN && strlen(out) == HTTP_DATE_LEN);
                REQUIRE(http_date_parse(out, HTTP_DATE_LEN, &back) == 0 && back == t);
        }
        if (size >= 8) {
                int64_t raw;
                memcpy(&raw, data, 8);
                /* years 0000..9999 are the ones IMF-fixdate can write */
                time_t when = (time_t)(raw % 253402300800LL);
                if (when < -62167219200LL)
                        when = -62167219200LL;
                http_date_format(when, out);
                REQUIRE(http_date_parse(out, HTTP_DATE_LEN, &back) == 0 && back == when);
        }

        char etag[HTTP_MAX_ETAG];
        size_t n = http_etag_format(size, (int64_t)size * 1000, size ^ 0x5555, etag);
        REQUIRE(n == strlen(etag) && n < HTTP_MAX_ETAG);
        http_etag_list_matches(s, size, etag, n);
        if (http_etag_list_matches(etag, n, etag, n) != true)
                __builtin_trap();
        http_mime_type(s, size);

        char escaped[512];
        size_t e = http_percent_encode(s, size, escaped, sizeof(escaped));
        REQUIRE(e == 0 || e == strlen(escaped));
        e = http_html_escape(s, size, escaped, sizeof(escaped));
        REQUIRE(e == 0 || e < sizeof(escaped));

        /* response heads into buffers of every size: never past the end, -1 or the exact length */
        if (size >= 4) {
                char date[HTTP_DATE_LEN + 1], text[64];
                http_date_format((time_t)data[1] << 24, date);
                size_t text_len = size - 4 < sizeof(text) - 1 ? size - 4 : sizeof(text) - 1;
                for (size_t i = 0; i < text_len; i++)
                        text[i] = (char)(data[4 + i] >= 0x20 && data[4 + i] < 0x7f ? data[4 + i] : 'x');
                text[text_len] = '\0';
                struct http_response_head head = {
                        .status = data[0] * 4,
                        .version_minor = data[1] & 1,
                        .keep_alive = data[1] & 2,
                        .date = date,
                        .content_type = data[1] & 4 ? text : NULL,
                        .has_content_length = data[1] & 8,
                        .content_length = size * 7919,
                        .etag = data[1] & 16 ? etag : NULL,
                        .has_content_range = data[1] & 32,
                        .content_range = {size, size * 2},
                        .unsatisfied_range = data[1] & 64,
                        .representation_size = size * 3,
                        .location = data[1] & 128 ? text : NULL,
                        .extra = data[2] & 1 ? "X-A: b\r\n" : NULL,
                };
                size_t cap = data[3] | (size_t)(data[2] & 3) << 8;
                char *head_buf = malloc(cap ? cap : 1);
                ssize_t h = http_format_response_head(head_buf, cap, &head);
                REQUIRE(h == -1 || ((size_t)h < cap && strlen(head_buf) == (size_t)h));
                h = http_format_simple_response(head_buf, cap, head.status, date, head.version_minor,
                                                head.keep_alive, data[2] & 2, head.extra);
                REQUIRE(h == -1 || ((size_t)h < cap && strlen(head_buf) == (size_t)h));
                free(head_buf);
        }
        free(s);
        return 0;
}
