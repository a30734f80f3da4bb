/* libFuzzer target for serve's dates, ETag lists, MIME lookup and escaping (http_date.c, http_etag.c,
 * http_mime.c, http_response.c): no crash, and every parsed date formats and parses back. */
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
        free(s);
        return 0;
}
