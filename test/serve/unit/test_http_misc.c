/* Unit tests of serve's dates, ETags and conditional requests, MIME types and response formatting
 * (http_date.c, http_etag.c, http_mime.c, http_response.c). */
#include <string.h>
#include <time.h>

#include "http.h"
#include "test.h"

static void test_dates(void)
{
        char out[HTTP_DATE_LEN + 1], ref[64];
        time_t t;

        CHECK_EQ_INT(http_date_format(784111777, out), HTTP_DATE_LEN);
        CHECK_STREQ(out, "Sun, 06 Nov 1994 08:49:37 GMT");
        http_date_format(0, out);
        CHECK_STREQ(out, "Thu, 01 Jan 1970 00:00:00 GMT");
        http_date_format(951782400, out); /* leap day 2000 */
        CHECK_STREQ(out, "Tue, 29 Feb 2000 00:00:00 GMT");
        http_date_format(-1, out);
        CHECK_STREQ(out, "Wed, 31 Dec 1969 23:59:59 GMT");

        /* agrees with the C library over a wide spread of times, and parses back */
        uint64_t x = 88172645463325252ULL;
        for (int i = 0; i < 100000; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                time_t when = (time_t)(x % 8000000000ULL) - 100000000; /* 1966 .. 2223 */
                struct tm tm;
                gmtime_r(&when, &tm);
                strftime(ref, sizeof(ref), "%a, %d %b %Y %H:%M:%S GMT", &tm);
                http_date_format(when, out);
                if (strcmp(out, ref) != 0 || http_date_parse(out, HTTP_DATE_LEN, &t) != 0 || t != when) {
                        fprintf(stderr, "%lld: \"%s\", libc \"%s\"\n", (long long)when, out, ref);
                        test_failures++;
                        break;
                }
        }

        /* the three forms of RFC 9110 5.6.7 */
        CHECK(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", 29, &t) == 0 && t == 784111777);
        CHECK(http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", 30, &t) == 0 && t == 784111777);
        CHECK(http_date_parse("Sun Nov  6 08:49:37 1994", 24, &t) == 0 && t == 784111777);
        CHECK(http_date_parse("Thu Feb 29 00:00:00 2024", 24, &t) == 0 && t == 1709164800);
        CHECK(http_date_parse("Wednesday, 01-Jan-25 00:00:00 GMT", 33, &t) == 0 && t == 1735689600);
        /* invalid ones */
        const char *bad[] = {
                "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 gmt", "Sun, 6 Nov 1994 08:49:37 GMT",
                "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 32 Jan 1994 08:49:37 GMT", "Sun, 29 Feb 1900 08:49:37 GMT",
                "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
                "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 19x4 08:49:37 GMT", "Sun,  06 Nov 1994 08:49:37 GMT",
                "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Sun Nov 06 08:49:37 94",
                "", "yesterday", "Sun, 31 Apr 1994 08:49:37 GMT",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (http_date_parse(bad[i], strlen(bad[i]), &t) == 0) {
                        fprintf(stderr, "accepted bad date \"%s\"\n", bad[i]);
                        test_failures++;
                }
        CHECK(http_date_parse("Sun, 29 Feb 2004 08:49:37 GMT", 29, &t) == 0);
        CHECK(http_date_parse("Sun, 06 Nov 1994 23:59:60 GMT", 29, &t) == 0 && t == 784166399);
}

static void test_etags(void)
{
        char etag[HTTP_MAX_ETAG];
        size_t n = http_etag_format(1024, 1700000000123456789LL, 0x1234, etag);
        CHECK_EQ_INT(n, strlen(etag));
        CHECK_STREQ(etag, "\"1234-400-17979cfe3d85cd15\"");
        n = http_etag_format(UINT64_MAX, INT64_MAX, UINT64_MAX, etag);
        CHECK(n < HTTP_MAX_ETAG);
        char other[HTTP_MAX_ETAG];
        http_etag_format(1024, 1700000000123456790LL, 0x1234, other);
        CHECK(strcmp(etag, other) != 0);

        const char *e = "\"abc\"";
        CHECK(http_etag_list_matches("\"abc\"", 5, e, 5));
        CHECK(http_etag_list_matches("W/\"abc\"", 7, e, 5)); /* weak comparison */
        CHECK(http_etag_list_matches("\"x\", W/\"abc\" , \"y\"", 19, e, 5));
        CHECK(http_etag_list_matches("*", 1, e, 5));
        CHECK(!http_etag_list_matches("\"other\", *", 10, e, 5)); /* '*' stands alone or not at all */
        CHECK(http_etag_list_matches("*", 1, NULL, 0));           /* a representation without a tag */
        CHECK(!http_etag_list_matches("\"x\"", 3, NULL, 0));
        CHECK(!http_etag_list_matches("\"abcd\"", 6, e, 5));
        CHECK(!http_etag_list_matches("abc", 3, e, 5));
        CHECK(!http_etag_list_matches("\"ab\"c\"", 6, e, 5));
        CHECK(!http_etag_list_matches("", 0, e, 5));
        CHECK(http_etag_list_matches("\"a,b\"", 5, "\"a,b\"", 5)); /* comma inside the quotes */
        CHECK(http_etag_list_matches_strong("\"x\", \"abc\"", 10, e, 5));
        CHECK(!http_etag_list_matches_strong("W/\"abc\"", 7, e, 5)); /* strong comparison */
        CHECK(http_etag_list_matches_strong("*", 1, e, 5));
        CHECK(!http_etag_list_matches_strong("\"abcd\"", 6, e, 5));

        struct http_request req;
        time_t modified = 784111777;
        const char *s = "GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\nIf-None-Match: W/\"abc\"\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK(http_request_not_modified(&req, e, 5, modified));
        CHECK(!http_request_not_modified(&req, "\"zz\"", 4, modified));
        s = "GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK(http_request_not_modified(&req, e, 5, modified));
        s = "POST / HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK(!http_request_not_modified(&req, e, 5, modified));
        s = "GET / HTTP/1.1\r\nHost: a\r\nIf-Match: \"x\"\r\nIf-Match: \"abc\"\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK(!http_request_precondition_failed(&req, e, 5, modified));
        CHECK(http_request_precondition_failed(&req, "\"zz\"", 4, modified));
        s = "GET / HTTP/1.1\r\nHost: a\r\nIf-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK(!http_request_precondition_failed(&req, e, 5, modified));     /* 08:49:37 is modified */
        CHECK(http_request_precondition_failed(&req, e, 5, modified + 1)); /* later: failed */
        s = "GET / HTTP/1.1\r\nHost: a\r\nIf-Unmodified-Since: never\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK(!http_request_precondition_failed(&req, e, 5, modified)); /* not a date: ignored */
        s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK(!http_request_precondition_failed(&req, e, 5, modified));
        s = "HEAD / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK(http_request_not_modified(&req, e, 5, modified));
        CHECK(http_request_not_modified(&req, e, 5, modified - 100));
        CHECK(!http_request_not_modified(&req, e, 5, modified + 1));
        /* If-None-Match decides alone when present */
        s = "GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"other\"\r\n"
            "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK(!http_request_not_modified(&req, e, 5, modified));
        s = "GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: garbage\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        CHECK(!http_request_not_modified(&req, e, 5, modified));
}

static void test_mime(void)
{
        CHECK_STREQ(http_mime_type("index.html", 10), "text/html; charset=utf-8");
        CHECK_STREQ(http_mime_type("a/b/STYLE.CSS", 13), "text/css; charset=utf-8");
        CHECK_STREQ(http_mime_type("app.js", 6), "text/javascript; charset=utf-8");
        CHECK_STREQ(http_mime_type("x.txt", 5), "text/plain; charset=utf-8");
        CHECK_STREQ(http_mime_type("pic.jpeg", 8), "image/jpeg");
        CHECK_STREQ(http_mime_type("pic.png", 7), "image/png");
        CHECK_STREQ(http_mime_type("i.svg", 5), "image/svg+xml");
        CHECK_STREQ(http_mime_type("d.json", 6), "application/json");
        CHECK_STREQ(http_mime_type("f.woff2", 7), "font/woff2");
        CHECK_STREQ(http_mime_type("m.wasm", 6), "application/wasm");
        CHECK_STREQ(http_mime_type("archive.tar.gz", 14), "application/gzip");
        CHECK_STREQ(http_mime_type("Makefile", 8), "application/octet-stream");
        CHECK_STREQ(http_mime_type("dir.d/noext", 11), "application/octet-stream");
        CHECK_STREQ(http_mime_type("x.unknownext", 12), "application/octet-stream");
        CHECK_STREQ(http_mime_type("trailingdot.", 12), "application/octet-stream");
        CHECK_STREQ(http_mime_type("", 0), "application/octet-stream");
        /* not NUL-terminated: only `len` bytes count */
        CHECK_STREQ(http_mime_type("index.htmlXXX", 10), "text/html; charset=utf-8");
}

static void test_response(void)
{
        char buf[1024], date[HTTP_DATE_LEN + 1], modified[HTTP_DATE_LEN + 1];
        http_date_format(784111777, date);
        http_date_format(784111000, modified);
        struct http_response_head head = {
                .status = 200,
                .version_minor = 1,
                .keep_alive = true,
                .date = date,
                .content_type = "text/html; charset=utf-8",
                .has_content_length = true,
                .content_length = 1234,
                .last_modified = modified,
                .etag = "\"a-b-c\"",
                .accept_ranges = true,
        };
        ssize_t n = http_format_response_head(buf, sizeof(buf), &head);
        CHECK_EQ_INT(n, strlen(buf));
        CHECK_STREQ(buf, "HTTP/1.1 200 OK\r\nServer: sysprim\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                         "Content-Type: text/html; charset=utf-8\r\nContent-Length: 1234\r\n"
                         "Last-Modified: Sun, 06 Nov 1994 08:36:40 GMT\r\nETag: \"a-b-c\"\r\n"
                         "Accept-Ranges: bytes\r\n\r\n");
        /* one byte short fails cleanly; exact fits */
        CHECK_EQ_INT(http_format_response_head(buf, (size_t)n, &head), -1);
        CHECK_EQ_INT(http_format_response_head(buf, (size_t)n + 1, &head), n);

        struct http_response_head partial = {
                .status = 206, .version_minor = 0, .keep_alive = true, .date = date,
                .content_type = "text/plain; charset=utf-8", .has_content_length = true, .content_length = 10,
                .has_content_range = true, .content_range = {5, 14}, .representation_size = 100,
                .content_encoding = "gzip", .vary_accept_encoding = true,
        };
        CHECK(http_format_response_head(buf, sizeof(buf), &partial) > 0);
        CHECK_STREQ(buf, "HTTP/1.1 206 Partial Content\r\nServer: sysprim\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                         "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n"
                         "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
                         "Content-Range: bytes 5-14/100\r\nConnection: keep-alive\r\n\r\n");
        struct http_response_head unsatisfied = {
                .status = 416, .keep_alive = false, .date = date, .has_content_length = true,
                .unsatisfied_range = true, .representation_size = 100,
        };
        CHECK(http_format_response_head(buf, sizeof(buf), &unsatisfied) > 0);
        CHECK_STREQ(buf, "HTTP/1.1 416 Range Not Satisfiable\r\nServer: sysprim\r\n"
                         "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\n"
                         "Content-Range: bytes */100\r\nConnection: close\r\n\r\n");
        struct http_response_head multi = {
                .status = 206, .version_minor = 1, .keep_alive = true, .date = date, .content_type = "text/plain",
                .has_content_length = true, .content_length = 300, .multipart_boundary = "XYZ",
        };
        CHECK(http_format_response_head(buf, sizeof(buf), &multi) > 0);
        CHECK(strstr(buf, "\r\nContent-Type: multipart/byteranges; boundary=XYZ\r\n") != NULL);
        CHECK(strstr(buf, "text/plain") == NULL);
        struct http_response_head moved = {
                .status = 301, .version_minor = 1, .keep_alive = true, .date = date, .location = "/docs/",
                .allow = "GET, HEAD", .extra = "X-A: b\r\n",
        };
        CHECK(http_format_response_head(buf, sizeof(buf), &moved) > 0);
        CHECK_STREQ(buf, "HTTP/1.1 301 Moved Permanently\r\nServer: sysprim\r\n"
                         "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nLocation: /docs/\r\nAllow: GET, HEAD\r\n"
                         "X-A: b\r\n\r\n");

        n = http_format_simple_response(buf, sizeof(buf), 404, date, 1, false, false, NULL);
        CHECK_EQ_INT(n, strlen(buf));
        CHECK(strncmp(buf, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
        CHECK(strstr(buf, "Connection: close\r\n") != NULL);
        const char *body = strstr(buf, "\r\n\r\n");
        CHECK(body != NULL);
        if (body) {
                body += 4;
                char expect[64];
                snprintf(expect, sizeof(expect), "Content-Length: %zu\r\n", strlen(body));
                CHECK(strstr(buf, expect) != NULL);
                CHECK(strstr(body, "404 Not Found") != NULL);
        }
        ssize_t head_only = http_format_simple_response(buf, sizeof(buf), 404, date, 1, false, true, NULL);
        CHECK(head_only > 0 && head_only < n);
        CHECK(strstr(buf, "</html>") == NULL);
        CHECK_EQ_INT(http_format_simple_response(buf, 100, 404, date, 1, true, false, NULL), -1);
        n = http_format_simple_response(buf, sizeof(buf), 304, date, 1, true, false, NULL);
        CHECK_EQ_INT(n, strlen(buf));
        CHECK_STREQ(buf, "HTTP/1.1 304 Not Modified\r\nServer: sysprim\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
        /* an HTTP/1.0 connection kept open says so, whatever the status; on 1.1 that is the default */
        static const int statuses[] = {301, 403, 404, 412, 503};
        for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
                CHECK(http_format_simple_response(buf, sizeof(buf), statuses[i], date, 0, true, false, NULL) > 0);
                CHECK(strstr(buf, "\r\nConnection: keep-alive\r\n") != NULL);
                CHECK(http_format_simple_response(buf, sizeof(buf), statuses[i], date, 0, false, false, NULL) > 0);
                CHECK(strstr(buf, "\r\nConnection: close\r\n") != NULL);
                CHECK(http_format_simple_response(buf, sizeof(buf), statuses[i], date, 1, true, false, NULL) > 0);
                CHECK(strstr(buf, "\r\nConnection:") == NULL);
        }
        CHECK_STREQ(http_status_reason(431), "Request Header Fields Too Large");
        CHECK_STREQ(http_status_reason(299), "Unknown");

        CHECK_EQ_INT(http_percent_encode("a b/ü?#%.txt", strlen("a b/ü?#%.txt"), buf, sizeof(buf)), 25);
        CHECK_STREQ(buf, "a%20b/%C3%BC%3F%23%25.txt");
        CHECK_EQ_INT(http_percent_encode("abc", 3, buf, 3), 0);
        CHECK_EQ_INT(http_html_escape("<a href=\"x\">&'", 14, buf, sizeof(buf)), 38);
        CHECK_STREQ(buf, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");

        /* the text is always UTF-8: well-formed sequences pass, each ill-formed part becomes U+FFFD */
        static const struct {
                const char *in, *out;
        } utf8[] = {
                {"\xc3\xa9.txt", "\xc3\xa9.txt"},                         /* é */
                {"\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"}, /* 日本 */
                {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},                 /* U+1F600 */
                {"\xef\xbf\xbd", "\xef\xbf\xbd"},
                {"bad\xff\xfe.txt", "bad\xef\xbf\xbd\xef\xbf\xbd.txt"},
                {"\x80", "\xef\xbf\xbd"},                                  /* a continuation byte alone */
                {"a\xe6\x97", "a\xef\xbf\xbd"},                           /* cut short at the end */
                {"\xe6\x97<", "\xef\xbf\xbd&lt;"},                        /* cut short before ASCII */
                {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong '/' */
                {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong */
                {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
                {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
                {"\xf0\x9f\x98", "\xef\xbf\xbd"},
                {"\xf0\x9f\x98\xc3\xa9", "\xef\xbf\xbd\xc3\xa9"},
        };
        for (size_t i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++) {
                size_t n = http_html_escape(utf8[i].in, strlen(utf8[i].in), buf, sizeof(buf));
                CHECK_EQ_INT(n, strlen(utf8[i].out));
                CHECK_STREQ(buf, utf8[i].out);
        }
        /* 6 output bytes per input byte are always enough */
        CHECK_EQ_INT(http_html_escape("\xff\xff", 2, buf, 7), 6);
        CHECK_EQ_INT(http_html_escape("\xff\xff", 2, buf, 6), 0);
}

int main(void)
{
        test_dates();
        test_etags();
        test_mime();
        test_response();
        TEST_DONE();
}
