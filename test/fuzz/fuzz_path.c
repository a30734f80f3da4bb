/* libFuzzer target for serve's target -> path mapping (http_path.c): whatever the bytes, an accepted
 * path is relative, has no "..", no empty segment, no NUL, no dot-file, and fits its buffer. */
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
        if (size < 1)
                return 0;
        /* first byte: output buffer size, so the overflow paths are fuzzed too */
        size_t out_size = data[0] == 0xff ? 4096 : data[0];
        char *target = malloc(size - 1 ? size - 1 : 1), *out = malloc(out_size ? out_size : 1);
        memcpy(target, data + 1, size - 1);
        struct http_path info;
        enum http_path_result r = http_path_from_target(target, size - 1, out, out_size, &info);
        int status = http_path_status(r);
        REQUIRE(status == 200 || status == 400 || status == 403 || status == 414);
        if (r == HTTP_PATH_OK) {
                REQUIRE(info.len > 0 && info.len < out_size && strlen(out) == info.len);
                REQUIRE(info.raw_path_len <= size - 1);
                REQUIRE(out[0] != '/' && out[info.len - 1] != '/');
                REQUIRE(strstr(out, "//") == NULL && strchr(out, '\\') == NULL);
                if (strcmp(out, ".") != 0) {
                        /* every segment: not empty, not ".", not "..", not hidden (but .well-known) */
                        const char *seg = out;
                        for (;;) {
                                const char *slash = strchr(seg, '/');
                                size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
                                REQUIRE(n > 0);
                                REQUIRE(seg[0] != '.' || (n == 11 && memcmp(seg, ".well-known", 11) == 0));
                                if (!slash)
                                        break;
                                seg = slash + 1;
                        }
                }
                for (size_t i = 0; i < info.len; i++)
                        REQUIRE((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
                if (info.query.ptr)
                        REQUIRE(info.query.ptr + info.query.len == target + size - 1);
                /* the 301 Location stays on this site and is visible ASCII only (no CR/LF injection) */
                char location[8192];
                size_t n = http_redirect_location(out, &info, location, sizeof(location));
                if (n > 0) {
                        REQUIRE(n == strlen(location) && location[0] == '/');
                        REQUIRE(n == 1 || location[1] != '/');
                        for (size_t i = 0; i < n; i++)
                                REQUIRE(location[i] > 0x20 && location[i] < 0x7f);
                }
        }
        free(target);
        free(out);
        return 0;
}
