/* Unit tests of serve's request-body framing (http_body.c): the chunked decoder at every split, its
 * refusals, and skipping Content-Length and chunked bodies so the next request is found. */
#include <string.h>

#include "http.h"
#include "test.h"

/* Decodes s in pieces of `step` bytes; returns total consumed, or -1 on error. */
static ssize_t decode_in_steps(const char *s, size_t len, size_t step, bool *done, uint64_t *payload)
{
        struct http_chunked_decoder dec;
        size_t pos = 0;
        http_chunked_init(&dec);
        *done = false;
        *payload = 0;
        while (pos < len && !*done) {
                size_t n = len - pos < step ? len - pos : step;
                uint64_t data = 0;
                ssize_t r = http_chunked_decode(&dec, s + pos, n, done, &data);
                if (r < 0)
                        return -1;
                *payload += data;
                pos += (size_t)r;
                if ((size_t)r < n && !*done)
                        return -2; /* stopped early without finishing: a decoder bug */
        }
        return (ssize_t)pos;
}

static void check_chunked(const char *s, ssize_t expected_consumed, uint64_t expected_payload)
{
        size_t len = strlen(s);
        for (size_t step = 1; step <= len; step++) {
                bool done;
                uint64_t payload;
                ssize_t r = decode_in_steps(s, len, step, &done, &payload);
                if (expected_consumed < 0) {
                        if (r != -1) {
                                fprintf(stderr, "chunked \"%s\" in steps of %zu: %zd, expected an error\n", s, step,
                                        r);
                                test_failures++;
                        }
                } else if (r != expected_consumed || !done || payload != expected_payload) {
                        fprintf(stderr, "chunked \"%s\" in steps of %zu: %zd done=%d payload=%llu\n", s, step, r,
                                done, (unsigned long long)payload);
                        test_failures++;
                }
        }
}

static void test_chunked(void)
{
        check_chunked("0\r\n\r\n", 5, 0);
        check_chunked("5\r\nhello\r\n0\r\n\r\n", 15, 5);
        check_chunked("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 26, 11);
        check_chunked("A;name=value;quoted=\"a b\"\r\n0123456789\r\n0\r\n\r\n", 44, 10);
        check_chunked("a\r\n0123456789\r\n00000\r\nTrailer: x\r\nOther: y\r\n\r\n", 46, 10);
        check_chunked("1 ;ext\r\nx\r\n0\r\n\r\n", 16, 1);
        /* errors */
        check_chunked("\r\n0\r\n\r\n", -1, 0);                   /* no size */
        check_chunked("x\r\n", -1, 0);                           /* not hex */
        check_chunked("-1\r\n", -1, 0);
        check_chunked("5\nhello\r\n0\r\n\r\n", -1, 0);           /* bare LF after the size */
        check_chunked("5\r\nhello\n0\r\n\r\n", -1, 0);           /* bare LF after the data */
        check_chunked("5\r\nhelloX\r\n0\r\n\r\n", -1, 0);        /* data longer than announced */
        check_chunked("5\rx", -1, 0);                            /* bare CR */
        check_chunked("5;a\x01\r\n", -1, 0);                     /* control byte in an extension */
        check_chunked("0\r\n\n", -1, 0);
        check_chunked("0\r\nX: a\rb\r\n\r\n", -1, 0);
        check_chunked("0\r\n folded\r\n\r\n", -1, 0);
        check_chunked("10000000000000000\r\n", -1, 0);          /* 17 hex digits */
        check_chunked("00000000000000000\r\n", -1, 0);
        /* the largest 64-bit size is fine to announce */
        bool done;
        uint64_t data;
        struct http_chunked_decoder dec;
        http_chunked_init(&dec);
        CHECK_EQ_INT(http_chunked_decode(&dec, "ffffffffffffffff\r\nabc", 21, &done, &data), 21);
        CHECK(!done);
        CHECK_EQ_INT(data, 3);
        CHECK(dec.remaining == UINT64_MAX - 3);
        /* an endless extension or trailer section is cut off */
        static char big[HTTP_MAX_TRAILERS + 64];
        memset(big, 'a', sizeof(big));
        memcpy(big, "1;", 2);
        http_chunked_init(&dec);
        CHECK_EQ_INT(http_chunked_decode(&dec, big, sizeof(big), &done, &data), -1);
        memcpy(big, "0\r\n", 3);
        http_chunked_init(&dec);
        CHECK_EQ_INT(http_chunked_decode(&dec, big, sizeof(big), &done, &data), -1);
        /* done stays done and consumes nothing more */
        http_chunked_init(&dec);
        CHECK_EQ_INT(http_chunked_decode(&dec, "0\r\n\r\nrest", 9, &done, &data), 5);
        CHECK(done);
        CHECK_EQ_INT(http_chunked_decode(&dec, "rest", 4, &done, &data), 0);
        CHECK(done);
}

static void test_skip(void)
{
        struct http_request req;
        struct http_body_skipper skip;
        const char *s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789GET";
        ssize_t head = http_parse_request(s, strlen(s), &req);
        CHECK(head > 0);
        http_body_skip_init(&skip, &req);
        CHECK(!skip.done);
        CHECK_EQ_INT(http_body_skip(&skip, s + head, 4), 4);
        CHECK(!skip.done);
        CHECK_EQ_INT(http_body_skip(&skip, s + head + 4, strlen(s) - (size_t)head - 4), 6);
        CHECK(skip.done);
        CHECK_EQ_INT(http_body_skip(&skip, "x", 1), 0);

        s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        http_body_skip_init(&skip, &req);
        CHECK(skip.done);

        s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        CHECK(http_parse_request(s, strlen(s), &req) > 0);
        http_body_skip_init(&skip, &req);
        CHECK(skip.done);
        CHECK_EQ_INT(http_body_skip(&skip, "GET", 3), 0);

        s = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\nNEXT";
        head = http_parse_request(s, strlen(s), &req);
        CHECK(head > 0);
        http_body_skip_init(&skip, &req);
        CHECK_EQ_INT(http_body_skip(&skip, s + head, strlen(s) - (size_t)head), 12);
        CHECK(skip.done);

        s = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        head = http_parse_request(s, strlen(s), &req);
        http_body_skip_init(&skip, &req);
        CHECK_EQ_INT(http_body_skip(&skip, s + head, strlen(s) - (size_t)head), -1);
}

int main(void)
{
        test_chunked();
        test_skip();
        TEST_DONE();
}
