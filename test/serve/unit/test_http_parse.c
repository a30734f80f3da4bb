/* Unit tests of serve's request-head parser (http_parse.c) on byte strings: forms, splits at every
 * offset, pipelining, limits, and the request-smuggling refusals. */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "test.h"

static struct http_request req;

static ssize_t parse(const char *s)
{
        return http_parse_request(s, strlen(s), &req);
}

static bool slice_is(struct http_slice s, const char *expected)
{
        return s.ptr && s.len == strlen(expected) && memcmp(s.ptr, expected, s.len) == 0;
}

/* The parse result and status for a whole request must be what every prefix leads to: each prefix
 * is either "incomplete" or the very same verdict. */
static void check_every_split(const char *s)
{
        size_t len = strlen(s);
        struct http_request whole;
        ssize_t expected = http_parse_request(s, len, &whole);
        for (size_t cut = 0; cut < len; cut++) {
                /* a private copy of exactly `cut` bytes, so reading past it is caught by ASan */
                char *copy = malloc(cut ? cut : 1);
                memcpy(copy, s, cut);
                ssize_t got = http_parse_request(copy, cut, &req);
                if (got != HTTP_PARSE_INCOMPLETE && (got != expected || (got < 0 &&
                                                     req.error_status != whole.error_status))) {
                        fprintf(stderr, "split at %zu of %zu: %zd (status %d), whole: %zd (status %d)\n", cut,
                                len, got, req.error_status, expected, whole.error_status);
                        test_failures++;
                }
                free(copy);
        }
}

static void check_error(const char *s, int status)
{
        ssize_t r = parse(s);
        if (r != HTTP_PARSE_ERROR || req.error_status != status) {
                fprintf(stderr, "request %.60s...: got %zd status %d, expected error %d\n", s, r,
                        req.error_status, status);
                test_failures++;
        }
        check_every_split(s);
}

static void test_simple(void)
{
        const char *s = "GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
        CHECK_EQ_INT(parse(s), strlen(s));
        CHECK_EQ_INT(req.method, HTTP_METHOD_GET);
        CHECK(slice_is(req.method_name, "GET"));
        CHECK(slice_is(req.target, "/index.html?x=1"));
        CHECK(slice_is(req.path, "/index.html?x=1"));
        CHECK(slice_is(req.host, "example.com"));
        CHECK_EQ_INT(req.version_minor, 1);
        CHECK(req.keep_alive);
        CHECK_EQ_INT(req.header_count, 2);
        CHECK_EQ_INT(req.body, HTTP_BODY_NONE);
        const struct http_header *h = http_request_header(&req, "user-agent", 0);
        CHECK(h && h->value_len == 1 && h->value[0] == 't');
        CHECK(http_request_header(&req, "User-Agent", 1) == NULL);
        check_every_split(s);

        /* bare LF line ends are accepted (RFC 9112 2.2); trailing whitespace trimmed; HEAD */
        s = "HEAD / HTTP/1.1\nHost: a \t\nX-Empty:\n\n";
        CHECK_EQ_INT(parse(s), strlen(s));
        CHECK_EQ_INT(req.method, HTTP_METHOD_HEAD);
        CHECK(slice_is(req.host, "a"));
        h = http_request_header(&req, "x-empty", 0);
        CHECK(h && h->value_len == 0);
        check_every_split(s);

        /* leading empty lines are skipped */
        s = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
        CHECK_EQ_INT(parse(s), strlen(s));
        CHECK(slice_is(req.target, "/"));

        /* incomplete cases */
        CHECK_EQ_INT(parse(""), HTTP_PARSE_INCOMPLETE);
        CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: a\r\n"), HTTP_PARSE_INCOMPLETE);
        CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: a\r\n\r"), HTTP_PARSE_INCOMPLETE);

        /* other known methods parse (the server answers 405) */
        s = "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
        CHECK_EQ_INT(parse(s), strlen(s) - 3);
        CHECK_EQ_INT(req.method, HTTP_METHOD_POST);
        CHECK_EQ_INT(req.body, HTTP_BODY_LENGTH);
        CHECK_EQ_INT(req.content_length, 3);
        CHECK_STREQ(http_method_name(HTTP_METHOD_DELETE), "DELETE");
        s = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
        CHECK_EQ_INT(parse(s), strlen(s));
        CHECK(slice_is(req.path, "*"));
}

static void test_keep_alive(void)
{
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n") > 0 && req.keep_alive);
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n") > 0 && !req.keep_alive);
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n") > 0 &&
              !req.keep_alive);
        CHECK(parse("GET / HTTP/1.0\r\n\r\n") > 0 && !req.keep_alive && req.version_minor == 0);
        CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") > 0 && req.keep_alive);
        CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nConnection: close\r\n\r\n") > 0 &&
              !req.keep_alive);
        /* HTTP/1.0 needs no Host; 1.x with x > 1 is treated as 1.1 */
        CHECK(parse("GET / HTTP/1.0\r\n\r\n") > 0);
        CHECK(parse("GET / HTTP/1.9\r\nHost: a\r\n\r\n") > 0 && req.version_minor == 1);
}

static void test_derived_headers(void)
{
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n") > 0 && req.expect_continue);
        CHECK(parse("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n") > 0 && !req.expect_continue);
        check_error("GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n", 417);

        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n") > 0 &&
              req.accept_gzip);
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br;q=1.0, GZIP;q=0.5\r\n\r\n") > 0 &&
              req.accept_gzip);
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip;q=0\r\n\r\n") > 0 && !req.accept_gzip);
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip; q=0.000\r\n\r\n") > 0 &&
              !req.accept_gzip);
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: *\r\n\r\n") > 0 && req.accept_gzip);
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: *, gzip;q=0\r\n\r\n") > 0 && !req.accept_gzip);
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: identity\r\n\r\n") > 0 && !req.accept_gzip);
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: x-gzip;q=0.1\r\n\r\n") > 0 && req.accept_gzip);
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n") > 0 && !req.accept_gzip);

        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nIf-Range: \"x\"\r\n"
                    "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nIf-None-Match: \"a\"\r\n"
                    "If-None-Match: \"b\"\r\n\r\n") > 0);
        CHECK(slice_is(req.range, "bytes=0-1"));
        CHECK(slice_is(req.if_range, "\"x\""));
        CHECK(slice_is(req.if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT"));
        CHECK_EQ_INT(req.if_none_match_count, 2);
        /* a repeated Range is ignored, and If-Range with it */
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n"
                    "If-Range: \"x\"\r\n\r\n") > 0);
        CHECK(req.range.ptr == NULL && req.if_range.ptr == NULL);
}

static void test_absolute_form(void)
{
        const char *s = "GET http://example.com:8080/x/y?q HTTP/1.1\r\nHost: other\r\n\r\n";
        CHECK_EQ_INT(parse(s), strlen(s));
        CHECK(req.absolute_form);
        CHECK(slice_is(req.host, "example.com:8080"));
        CHECK(slice_is(req.path, "/x/y?q"));
        CHECK(slice_is(req.target, "http://example.com:8080/x/y?q"));
        CHECK(parse("GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n") > 0 && slice_is(req.path, "/"));
        CHECK(parse("GET http://[::1]:80/a HTTP/1.1\r\nHost: h\r\n\r\n") > 0 && slice_is(req.host, "[::1]:80"));
        check_error("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
        check_error("GET http://user@h/x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
        /* the port is digits, perhaps none (RFC 3986 3.2.3) */
        CHECK(parse("GET http://h:/x HTTP/1.1\r\nHost: h\r\n\r\n") > 0 && slice_is(req.host, "h:"));
        CHECK(parse("GET http://[::1]/a HTTP/1.1\r\nHost: h\r\n\r\n") > 0 && slice_is(req.host, "[::1]"));
        CHECK(parse("GET http://h:8080?q HTTP/1.1\r\nHost: h\r\n\r\n") > 0 && slice_is(req.path, "/"));
        check_error("GET http://x:abc/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        check_error("GET http://x:80a/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        check_error("GET http://x:-1/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        check_error("GET http://x:80:80/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        check_error("GET http://x:%38%30/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        check_error("GET http://[::1]:x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        check_error("GET http://[::1]x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        check_error("GET http://[::1/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        check_error("GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
        check_error("GET index.html HTTP/1.1\r\nHost: h\r\n\r\n", 400);
        check_error("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400);
        /* absolute-form still needs the Host header on 1.1 (RFC 9112 3.2) */
        check_error("GET http://h/x HTTP/1.1\r\n\r\n", 400);
        CHECK(parse("GET http://h/x HTTP/1.0\r\n\r\n") > 0 && slice_is(req.host, "h"));
}

static void test_request_line_errors(void)
{
        check_error("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", 501);
        check_error("get / HTTP/1.1\r\nHost: a\r\n\r\n", 501); /* methods are case-sensitive */
        check_error("GETTTTTTTTTTTTTTTTTTTTTTTTTTTTT / HTTP/1.1\r\nHost: a\r\n\r\n", 501);
        check_error("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
        check_error("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
        check_error("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
        check_error("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
        check_error("GET / HTTP/1\r\nHost: a\r\n\r\n", 400);
        check_error("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        check_error("GET /\t HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\rHost: a\r\n\r\n", 400);
        check_error(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        check_error("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        check_error("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        check_error("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        check_error("\rGET / HTTP/1.1\r\n\r\n", 400);
        /* an embedded NUL in the request line */
        char nul[] = "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n";
        CHECK_EQ_INT(http_parse_request(nul, sizeof(nul) - 1, &req), HTTP_PARSE_ERROR);
        CHECK_EQ_INT(req.error_status, 400);
}

static void test_header_errors(void)
{
        check_error("GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", 400);   /* space before colon */
        check_error("GET / HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n folded\r\n\r\n", 400); /* obs-fold */
        check_error("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tfolded\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400); /* bare CR */
        check_error("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n", 400);
        char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n";
        CHECK_EQ_INT(http_parse_request(nul, sizeof(nul) - 1, &req), HTTP_PARSE_ERROR);
        CHECK_EQ_INT(req.error_status, 400);
        /* obs-text in a value is allowed, tabs too */
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nX-A: caf\xc3\xa9\tb\r\n\r\n") > 0);

        /* Host rules */
        check_error("GET / HTTP/1.1\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
        check_error("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
        check_error("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
        CHECK(parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n") > 0);
}

static void test_smuggling(void)
{
        /* two differing Content-Lengths, or a list of them */
        check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400);
        CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n") > 0 &&
              req.content_length == 5);
        CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\n\r\n") > 0 && req.content_length == 7);
        /* invalid Content-Length values */
        check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400);
        CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000012\r\n\r\n") > 0 && req.content_length == 12);
        /* Content-Length with Transfer-Encoding, whichever comes first */
        check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400);
        /* chunked must be there exactly once, and last */
        check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                    400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
        /* Transfer-Encoding in HTTP/1.0 is faulty framing */
        check_error("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
        CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n") > 0 &&
              req.body == HTTP_BODY_CHUNKED);
        CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n") > 0 &&
              req.body == HTTP_BODY_CHUNKED);
        /* spellings front ends and back ends have disagreed on */
        check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x0b\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length : 5\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\r\n: chunked\r\n\r\n", 400);
        check_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1_0\r\n\r\n", 400);
        CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked \r\n\r\n") > 0 &&
              req.body == HTTP_BODY_CHUNKED);
        CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:   42  \r\n\r\n") > 0 && req.content_length == 42);
        /* an underscore spelling is a different (unknown) field: no body, the bytes after are the next request */
        CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n") > 0 &&
              req.body == HTTP_BODY_NONE);
        /* on error the connection must close */
        CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == HTTP_PARSE_ERROR && !req.keep_alive);
}

static void test_limits(void)
{
        static char buf[3 * HTTP_MAX_REQUEST_HEAD];
        /* a target of exactly the limit is fine, one more byte is 414 */
        for (size_t target = HTTP_MAX_TARGET - 1; target <= HTTP_MAX_TARGET + 1; target++) {
                size_t n = 0;
                n += (size_t)snprintf(buf, sizeof(buf), "GET /");
                memset(buf + n, 'a', target - 1);
                n += target - 1;
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, " HTTP/1.1\r\nHost: a\r\n\r\n");
                ssize_t r = http_parse_request(buf, n, &req);
                if (target <= HTTP_MAX_TARGET)
                        CHECK_EQ_INT(r, n);
                else
                        CHECK(r == HTTP_PARSE_ERROR && req.error_status == 414);
                /* known before the request line ends */
                if (target > HTTP_MAX_TARGET) {
                        CHECK_EQ_INT(http_parse_request(buf, 5 + HTTP_MAX_TARGET, &req), HTTP_PARSE_ERROR);
                        CHECK_EQ_INT(req.error_status, 414);
                }
        }
        /* a header section of exactly 8 KiB (empty line included) is fine, one more byte is 431 */
        for (size_t section = HTTP_MAX_HEADER_SECTION - 1; section <= HTTP_MAX_HEADER_SECTION + 1; section++) {
                size_t n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
                size_t fill = section - (n - 16) - 4;
                memset(buf + n, 'v', fill);
                n += fill;
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n\r\n");
                CHECK_EQ_INT(n - 16, section);
                ssize_t r = http_parse_request(buf, n, &req);
                if (section <= HTTP_MAX_HEADER_SECTION)
                        CHECK_EQ_INT(r, n);
                else
                        CHECK(r == HTTP_PARSE_ERROR && req.error_status == 431);
        }
        /* 100 KiB of headers (h2o answers 200): 431 as soon as 8 KiB are in */
        size_t n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
        while (n < 2 * HTTP_MAX_REQUEST_HEAD)
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-Filler: %0100d\r\n", 0);
        CHECK_EQ_INT(http_parse_request(buf, n, &req), HTTP_PARSE_ERROR);
        CHECK_EQ_INT(req.error_status, 431);
        CHECK_EQ_INT(http_parse_request(buf, 16 + HTTP_MAX_HEADER_SECTION + 1, &req), HTTP_PARSE_ERROR);
        /* too many header fields */
        n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < HTTP_MAX_HEADERS; i++)
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X: %d\r\n", i);
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
        CHECK_EQ_INT(http_parse_request(buf, n, &req), HTTP_PARSE_ERROR);
        CHECK_EQ_INT(req.error_status, 431);
        /* HTTP_MAX_REQUEST_HEAD bytes always give a verdict: worst cases of each part */
        memset(buf, 'a', HTTP_MAX_REQUEST_HEAD);
        memcpy(buf, "GET /", 5);
        CHECK(http_parse_request(buf, HTTP_MAX_REQUEST_HEAD, &req) == HTTP_PARSE_ERROR);
        n = (size_t)snprintf(buf, sizeof(buf), "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nCONNECT /");
        memset(buf + n, 'a', HTTP_MAX_TARGET - 1);
        n += HTTP_MAX_TARGET - 1;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, " HTTP/1.1\r\n");
        memset(buf + n, 'x', HTTP_MAX_REQUEST_HEAD - n);
        CHECK(http_parse_request(buf, HTTP_MAX_REQUEST_HEAD, &req) == HTTP_PARSE_ERROR);
}

static void test_pipelining(void)
{
        /* 100 requests in one buffer, each one found after the previous, bodies skipped */
        static char buf[100 * 128];
        size_t n = 0;
        for (int i = 0; i < 100; i++) {
                if (i % 10 == 3)
                        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "POST /p%d HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody",
                                             i);
                else if (i % 10 == 7)
                        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "POST /c%d HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"
                                                      "\r\n\r\n3\r\nabc\r\n0\r\n\r\n", i);
                else
                        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "GET /f%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
        }
        size_t pos = 0;
        int seen = 0;
        while (pos < n) {
                ssize_t r = http_parse_request(buf + pos, n - pos, &req);
                if (r <= 0)
                        break;
                char expected[16];
                snprintf(expected, sizeof(expected), "/%c%d", seen % 10 == 3 ? 'p' : seen % 10 == 7 ? 'c' : 'f',
                         seen);
                CHECK(slice_is(req.path, expected));
                pos += (size_t)r;
                struct http_body_skipper skip;
                http_body_skip_init(&skip, &req);
                ssize_t used = http_body_skip(&skip, buf + pos, n - pos);
                CHECK(used >= 0 && skip.done);
                pos += (size_t)(used > 0 ? used : 0);
                seen++;
        }
        CHECK_EQ_INT(seen, 100);
        CHECK_EQ_INT(pos, n);
}

static void test_find_head_end(void)
{
        const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next";
        size_t scanned = 0, len = strlen(s), end = 0;
        /* byte at a time: found exactly when the empty line is complete */
        for (size_t i = 1; i <= len && !end; i++) {
                end = http_find_head_end(s, i, &scanned);
                if (end)
                        CHECK_EQ_INT(i, 27);
        }
        CHECK_EQ_INT(end, 27);
        scanned = 0;
        CHECK_EQ_INT(http_find_head_end("GET / HTTP/1.0\n\n", 16, &scanned), 16);
        scanned = 0;
        CHECK_EQ_INT(http_find_head_end("GET / HTTP/1.0\r\nA: b\r\n", 23, &scanned), 0);
}

/* A head fed a byte at a time is parsed in full only a few times: at the first byte, at each
 * possible end (an empty line before the request line looks like one), and at its real end. */
static void test_parse_resume(void)
{
        const char *s = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
        size_t len = strlen(s), progress = 0;
        unsigned full_parses = 0;
        ssize_t n = HTTP_PARSE_INCOMPLETE;
        for (size_t i = 1; i <= len; i++) {
                struct http_request req;
                req.header_count = 12345; /* http_parse_request resets it: tells whether it ran */
                n = http_parse_request_resume(s, i, &req, &progress);
                if (req.header_count != 12345)
                        full_parses++;
                if (i < len) {
                        CHECK_EQ_INT(n, HTTP_PARSE_INCOMPLETE);
                } else {
                        CHECK_EQ_INT(n, (ssize_t)len);
                        CHECK_EQ_INT(req.header_count, 2);
                }
        }
        CHECK(full_parses <= 4);
        CHECK_EQ_INT(progress, 0);
        /* A bad request line is answered at the first call, before any end arrives. */
        struct http_request req;
        progress = 0;
        CHECK_EQ_INT(http_parse_request_resume("GET\x01", 4, &req, &progress), HTTP_PARSE_ERROR);
        CHECK_EQ_INT(progress, 0);
}

int main(void)
{
        test_simple();
        test_keep_alive();
        test_derived_headers();
        test_absolute_form();
        test_request_line_errors();
        test_header_errors();
        test_smuggling();
        test_limits();
        test_pipelining();
        test_find_head_end();
        test_parse_resume();
        TEST_DONE();
}
