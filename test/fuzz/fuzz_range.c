/* libFuzzer target for serve's Range handling (http_range.c): satisfiable ranges are disjoint and not
 * adjacent, inside the file, and the multipart length matches the bytes the helpers write. */
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
        if (size < 8)
                return 0;
        /* first 8 bytes: the file size (small sizes made likely, huge ones possible) */
        uint64_t file_size;
        memcpy(&file_size, data, 8);
        if (data[0] & 1)
                file_size %= 10000;
        size_t len = size - 8;
        char *value = malloc(len ? len : 1);
        memcpy(value, data + 8, len);

        struct http_byte_range ranges[HTTP_MAX_RANGES];
        size_t count = 99;
        enum http_range_result r = http_range_parse(value, len, file_size, ranges, &count);
        if (r == HTTP_RANGE_SATISFIABLE) {
                REQUIRE(count >= 1 && count <= HTTP_MAX_RANGES);
                for (size_t i = 0; i < count; i++) {
                        REQUIRE(ranges[i].first <= ranges[i].last && ranges[i].last < file_size);
                        /* no two overlap or touch, whatever their order */
                        for (size_t j = 0; j < i; j++)
                                REQUIRE(ranges[i].first > ranges[j].last + 1 ||
                                        ranges[j].first > ranges[i].last + 1);
                }
                char boundary[HTTP_MAX_BOUNDARY + 1], part[256];
                http_multipart_boundary(file_size, boundary);
                uint64_t total = 0;
                for (size_t i = 0; i < count; i++) {
                        size_t n = http_multipart_part_header(part, sizeof(part), boundary, "text/plain",
                                                              &ranges[i], file_size);
                        REQUIRE(n > 0 && n == strlen(part));
                        total += n + ranges[i].last - ranges[i].first + 1;
                }
                total += http_multipart_trailer(part, sizeof(part), boundary);
                REQUIRE(total == http_multipart_length(boundary, "text/plain", ranges, count, file_size));
        } else {
                REQUIRE(r == HTTP_RANGE_IGNORE || r == HTTP_RANGE_UNSATISFIABLE);
                REQUIRE(count == 0);
        }
        /* If-Range on the same bytes must not crash and must be consistent with itself */
        bool a = http_if_range_allows(value, len, "\"1-2-3\"", 7, 784111777, 784111779);
        bool b = http_if_range_allows(value, len, "\"1-2-3\"", 7, 784111777, 784111779);
        REQUIRE(a == b);
        free(value);
        return 0;
}
