/* Unit tests of serve's Range handling (http_range.c): range math at the edges of the file, invalid
 * syntax ignored, unsatisfiable sets, coalescing, If-Range, and the multipart/byteranges framing. */
#include <string.h>

#include "http.h"
#include "test.h"

/* expected: "IGNORE", "416", or "first-last[,first-last...]" */
static void check_range(const char *value, uint64_t size, const char *expected)
{
        struct http_byte_range ranges[HTTP_MAX_RANGES];
        size_t count;
        char got[512] = "";
        enum http_range_result r = http_range_parse(value, strlen(value), size, ranges, &count);
        if (r == HTTP_RANGE_IGNORE) {
                strcpy(got, "IGNORE");
        } else if (r == HTTP_RANGE_UNSATISFIABLE) {
                strcpy(got, "416");
        } else {
                for (size_t i = 0; i < count; i++)
                        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%llu-%llu", i ? "," : "",
                                 (unsigned long long)ranges[i].first, (unsigned long long)ranges[i].last);
        }
        if (strcmp(got, expected) != 0) {
                fprintf(stderr, "Range \"%s\" size %llu: %s, expected %s\n", value, (unsigned long long)size, got,
                        expected);
                test_failures++;
        }
}

static void test_parse(void)
{
        /* single ranges at the edges of a 1000-byte file */
        check_range("bytes=0-0", 1000, "0-0");
        check_range("bytes=0-999", 1000, "0-999");
        check_range("bytes=0-1000", 1000, "0-999");
        check_range("bytes=0-18446744073709551615", 1000, "0-999");
        check_range("bytes=0-99999999999999999999999", 1000, "0-999");
        check_range("bytes=999-999", 1000, "999-999");
        check_range("bytes=999-", 1000, "999-999");
        check_range("bytes=1000-", 1000, "416");
        check_range("bytes=1000-1000", 1000, "416");
        check_range("bytes=99999999999999999999999-", 1000, "416");
        check_range("bytes=500-", 1000, "500-999");
        check_range("bytes=-1", 1000, "999-999");
        check_range("bytes=-500", 1000, "500-999");
        check_range("bytes=-1000", 1000, "0-999");
        check_range("bytes=-5000", 1000, "0-999");
        check_range("bytes=-0", 1000, "416");
        check_range("BYTES=0-1", 1000, "0-1");
        /* empty file: a suffix range with a non-zero length is the only satisfiable form (RFC 9110
         * 14.1.2), yet selects no byte: the whole (empty) representation, 200; the rest 416 */
        check_range("bytes=0-", 0, "416");
        check_range("bytes=-0", 0, "416");
        check_range("bytes=-1", 0, "IGNORE");
        check_range("bytes=0-0,-5", 0, "IGNORE");
        check_range("bytes=0-0", 1, "0-0");
        /* invalid syntax: the header is ignored (200 with everything) */
        check_range("bytes=5-1", 1000, "IGNORE");
        check_range("bytes=", 1000, "IGNORE");
        check_range("bytes=,", 1000, "IGNORE");
        check_range("bytes=a-b", 1000, "IGNORE");
        check_range("bytes=1-2-3", 1000, "IGNORE");
        check_range("bytes=--1", 1000, "IGNORE");
        check_range("bytes=-", 1000, "IGNORE");
        check_range("bytes=1 -2", 1000, "IGNORE");
        check_range("bytes = 0-1", 1000, "IGNORE");
        check_range("bytes=0-1,x", 1000, "IGNORE");
        check_range("items=0-1", 1000, "IGNORE");
        check_range("bytes", 1000, "IGNORE");
        check_range("", 1000, "IGNORE");
        /* several ranges: in the order asked for (RFC 9110 14.6), unsatisfiable ones dropped; when two
         * overlap or touch, all are sorted and those merged (RFC 9110 14.2 on range attacks) */
        check_range("bytes=0-1,5-6", 1000, "0-1,5-6");
        check_range("bytes=5-6, 0-1", 1000, "5-6,0-1");
        check_range("bytes=-1,0-1,500-599", 1000, "999-999,0-1,500-599");
        check_range("bytes=500-599,2000-,0-1", 1000, "500-599,0-1");
        check_range("bytes=500-599,0-1,1-2", 1000, "0-2,500-599");
        check_range("bytes=500-599,3-4,0-2", 1000, "0-4,500-599");
        check_range("bytes=-1,0-998", 1000, "0-999");
        check_range("bytes=0-1 , 2-3", 1000, "0-3");
        check_range("bytes=0-10,5-20,-1", 1000, "0-20,999-999");
        check_range("bytes=0-499,-500", 1000, "0-999");
        check_range("bytes=0-1,2000-3000", 1000, "0-1");
        check_range("bytes=2000-3000,3000-", 1000, "416");
        check_range("bytes=0-0,0-0,0-0", 1000, "0-0");
        /* more than HTTP_MAX_RANGES: ignored as a range attack */
        check_range("bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,28-28,30-30",
                    1000, "0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,28-28,30-30");
        check_range("bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,28-28,30-30,"
                    "32-32",
                    1000, "IGNORE");
}

static void test_if_range(void)
{
        const char *etag = "\"1-2-3\"";
        time_t modified = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
        time_t now = modified + 3600;
        /* Empty is neither an entity-tag nor a date: no match, the Range is ignored (RFC 9110 13.1.5). */
        CHECK(!http_if_range_allows("", 0, etag, strlen(etag), modified, now));
        CHECK(http_if_range_allows("\"1-2-3\"", 7, etag, strlen(etag), modified, now));
        CHECK(!http_if_range_allows("\"1-2-4\"", 7, etag, strlen(etag), modified, now));
        CHECK(!http_if_range_allows("W/\"1-2-3\"", 9, etag, strlen(etag), modified, now));
        const char *date = "Sun, 06 Nov 1994 08:49:37 GMT";
        CHECK(http_if_range_allows(date, strlen(date), etag, strlen(etag), modified, now));
        CHECK(!http_if_range_allows(date, strlen(date), etag, strlen(etag), modified + 1, now));
        CHECK(!http_if_range_allows("garbage", 7, etag, strlen(etag), modified, now));
        /* a date is a strong validator only when Last-Modified is at least a second before the Date */
        CHECK(http_if_range_allows(date, strlen(date), etag, strlen(etag), modified, modified + 1));
        CHECK(!http_if_range_allows(date, strlen(date), etag, strlen(etag), modified, modified));
        CHECK(!http_if_range_allows(date, strlen(date), etag, strlen(etag), modified, modified - 1));
        CHECK(!http_if_range_allows(date, strlen(date), etag, strlen(etag), modified, 0));
        /* an entity-tag does not depend on the time */
        CHECK(http_if_range_allows("\"1-2-3\"", 7, etag, strlen(etag), modified, modified));

        struct http_request req;
        struct http_byte_range ranges[HTTP_MAX_RANGES];
        size_t count;
        const char *s = "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\nIf-Range: \"1-2-3\"\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK_EQ_INT(http_request_ranges(&req, etag, strlen(etag), modified, now, 100, ranges, &count),
                     HTTP_RANGE_SATISFIABLE);
        CHECK(count == 1 && ranges[0].first == 0 && ranges[0].last == 9);
        CHECK_EQ_INT(http_request_ranges(&req, "\"new\"", 5, modified, now, 100, ranges, &count), HTTP_RANGE_IGNORE);
        s = "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\nIf-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK_EQ_INT(http_request_ranges(&req, etag, strlen(etag), modified, now, 100, ranges, &count),
                     HTTP_RANGE_SATISFIABLE);
        CHECK_EQ_INT(http_request_ranges(&req, etag, strlen(etag), modified, modified, 100, ranges, &count),
                     HTTP_RANGE_IGNORE);
        s = "HEAD / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK_EQ_INT(http_request_ranges(&req, etag, strlen(etag), modified, now, 100, ranges, &count),
                     HTTP_RANGE_IGNORE);
        s = "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=200-\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK_EQ_INT(http_request_ranges(&req, etag, strlen(etag), modified, now, 100, ranges, &count),
                     HTTP_RANGE_UNSATISFIABLE);
        s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK_EQ_INT(http_request_ranges(&req, etag, strlen(etag), modified, now, 100, ranges, &count),
                     HTTP_RANGE_IGNORE);
}

static void test_multipart(void)
{
        char boundary[HTTP_MAX_BOUNDARY + 1], other[HTTP_MAX_BOUNDARY + 1], buf[256];
        size_t n = http_multipart_boundary(42, boundary);
        CHECK_EQ_INT(n, strlen(boundary));
        CHECK(n > 8 && n <= HTTP_MAX_BOUNDARY);
        for (size_t i = 0; i < n; i++)
                CHECK((boundary[i] >= '0' && boundary[i] <= '9') || (boundary[i] >= 'a' && boundary[i] <= 'z') ||
                      (boundary[i] >= 'A' && boundary[i] <= 'Z'));
        http_multipart_boundary(43, other);
        CHECK(strcmp(boundary, other) != 0);

        struct http_byte_range ranges[2] = {{0, 1}, {5, 9}};
        size_t h = http_multipart_part_header(buf, sizeof(buf), "B", "text/plain", &ranges[1], 10);
        CHECK_STREQ(buf, "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-9/10\r\n\r\n");
        CHECK_EQ_INT(h, strlen(buf));
        CHECK_EQ_INT(http_multipart_part_header(buf, 10, "B", "text/plain", &ranges[1], 10), 0);
        size_t t = http_multipart_trailer(buf, sizeof(buf), "B");
        CHECK_STREQ(buf, "\r\n--B--\r\n");
        CHECK_EQ_INT(t, 9);
        CHECK_EQ_INT(http_multipart_trailer(buf, 9, "B"), 0);

        /* the announced length is exactly what the parts add up to */
        const char *file = "0123456789";
        char body[512];
        size_t len = 0;
        for (int i = 0; i < 2; i++) {
                len += http_multipart_part_header(body + len, sizeof(body) - len, boundary, "text/plain", &ranges[i],
                                                  10);
                memcpy(body + len, file + ranges[i].first, ranges[i].last - ranges[i].first + 1);
                len += ranges[i].last - ranges[i].first + 1;
        }
        len += http_multipart_trailer(body + len, sizeof(body) - len, boundary);
        CHECK_EQ_INT(http_multipart_length(boundary, "text/plain", ranges, 2, 10), len);
}

int main(void)
{
        test_parse();
        test_if_range();
        test_multipart();
        TEST_DONE();
}
