/* Unit tests of serve's target -> path mapping (http_path.c): decoding, collapsing, and every
 * traversal spelling the issue lists (and more) refused with the right status. */
#include <string.h>

#include "http.h"
#include "test.h"

static void check_ok(const char *target, const char *expected, bool trailing_slash)
{
        char out[256];
        struct http_path info;
        enum http_path_result r = http_path_from_target(target, strlen(target), out, sizeof(out), &info);
        if (r != HTTP_PATH_OK || strcmp(out, expected) != 0 || info.trailing_slash != trailing_slash ||
            info.len != strlen(out)) {
                fprintf(stderr, "%s: result %d \"%s\" slash=%d, expected \"%s\" slash=%d\n", target, r, out,
                        info.trailing_slash, expected, trailing_slash);
                test_failures++;
        }
}

static void check_refused(const char *target, enum http_path_result expected, int status)
{
        char out[256];
        struct http_path info;
        enum http_path_result r = http_path_from_target(target, strlen(target), out, sizeof(out), &info);
        if (r != expected || http_path_status(r) != status) {
                fprintf(stderr, "%s: result %d (status %d), expected %d (status %d)\n", target, r,
                        http_path_status(r), expected, status);
                test_failures++;
        }
}

int main(void)
{
        check_ok("/", ".", true);
        check_ok("/index.html", "index.html", false);
        check_ok("/docs/", "docs", true);
        check_ok("/docs/a%20b.txt", "docs/a b.txt", false);
        check_ok("/%41%62c", "Abc", false);
        check_ok("/caf%C3%A9", "caf\xc3\xa9", false);
        check_ok("/a//b///c", "a/b/c", false);
        check_ok("//a", "a", false);
        check_ok("/./a/./b/.", "a/b", true); /* a last "." segment names the directory, as "/a/b/" */
        check_ok("/a/%2e", "a", true);
        check_ok("/a//", "a", true);
        check_ok("/a/b?x=1&y=/../", "a/b", false);
        check_ok("/?q", ".", true);
        check_ok("/a.b.c", "a.b.c", false);
        check_ok("/a..b", "a..b", false);
        check_ok("/.well-known/acme-challenge/x", ".well-known/acme-challenge/x", false);
        check_ok("/%2e/a", "a", false);
        check_ok("/a+b", "a+b", false); /* '+' is not a space in a path */
        /* overlong UTF-8 for '.' and '/' are just bytes to Linux: names, not separators */
        check_ok("/%c0%ae%c0%ae/etc", "\xc0\xae\xc0\xae/etc", false);
        check_refused("/..%c0%afetc", HTTP_PATH_HIDDEN, 403); /* a name starting with a dot */

        /* the traversal list */
        check_refused("/../etc/passwd", HTTP_PATH_TRAVERSAL, 400);
        check_refused("/%2e%2e/", HTTP_PATH_TRAVERSAL, 400);
        check_refused("/%2e%2e/etc/passwd", HTTP_PATH_TRAVERSAL, 400);
        check_refused("/%2E%2E/etc/passwd", HTTP_PATH_TRAVERSAL, 400);
        check_refused("/..%2f", HTTP_PATH_TRAVERSAL, 400);
        check_refused("/..%2fetc%2fpasswd", HTTP_PATH_TRAVERSAL, 400);
        check_refused("/index.html%00.txt", HTTP_PATH_BAD_REQUEST, 400);
        check_ok("//etc/passwd", "etc/passwd", false); /* relative: stays under the root */
        /* more spellings */
        check_refused("/a/../../etc/passwd", HTTP_PATH_TRAVERSAL, 400);
        check_refused("/a/..", HTTP_PATH_TRAVERSAL, 400);
        check_refused("/..", HTTP_PATH_TRAVERSAL, 400);
        check_refused("/.%2e/x", HTTP_PATH_TRAVERSAL, 400);
        check_refused("/%2e./x", HTTP_PATH_TRAVERSAL, 400);
        check_refused("/a%2Fb", HTTP_PATH_TRAVERSAL, 400);
        check_refused("/a%5c..%5cb", HTTP_PATH_BAD_REQUEST, 400);
        check_refused("/..\\x", HTTP_PATH_BAD_REQUEST, 400);
        check_refused("/%252e%252e/x", HTTP_PATH_OK, 200); /* decoded once: a file named "%2e%2e" */
        check_refused("/%", HTTP_PATH_BAD_REQUEST, 400);
        check_refused("/%4", HTTP_PATH_BAD_REQUEST, 400);
        check_refused("/%4?x", HTTP_PATH_BAD_REQUEST, 400);
        check_refused("/%zz", HTTP_PATH_BAD_REQUEST, 400);
        check_refused("/a%0d%0aSet-Cookie:x", HTTP_PATH_BAD_REQUEST, 400);
        check_refused("/a%7f", HTTP_PATH_BAD_REQUEST, 400);
        check_refused("/a#frag", HTTP_PATH_BAD_REQUEST, 400);
        check_refused("a", HTTP_PATH_BAD_REQUEST, 400);
        check_refused("*", HTTP_PATH_BAD_REQUEST, 400);
        check_refused("", HTTP_PATH_BAD_REQUEST, 400);
        /* dot-files and dot-directories */
        check_refused("/.git/config", HTTP_PATH_HIDDEN, 403);
        check_refused("/.env", HTTP_PATH_HIDDEN, 403);
        check_refused("/%2egit/HEAD", HTTP_PATH_HIDDEN, 403);
        check_refused("/a/.htaccess", HTTP_PATH_HIDDEN, 403);
        check_refused("/a/.ssh/", HTTP_PATH_HIDDEN, 403);
        check_refused("/...", HTTP_PATH_HIDDEN, 403);
        check_refused("/.well-knownx", HTTP_PATH_HIDDEN, 403);

        /* query, raw length for redirects, output size */
        char out[8];
        struct http_path info;
        CHECK_EQ_INT(http_path_from_target("/docs?a=b", 9, out, sizeof(out), &info), HTTP_PATH_OK);
        CHECK_STREQ(out, "docs");
        CHECK_EQ_INT(info.raw_path_len, 5);
        CHECK(info.query.ptr && info.query.len == 3 && memcmp(info.query.ptr, "a=b", 3) == 0);
        CHECK_EQ_INT(http_path_from_target("/docs", 5, out, sizeof(out), &info), HTTP_PATH_OK);
        CHECK(info.query.ptr == NULL);
        CHECK_EQ_INT(http_path_from_target("/1234567", 8, out, sizeof(out), &info), HTTP_PATH_OK);
        CHECK_STREQ(out, "1234567");
        CHECK_EQ_INT(http_path_from_target("/12345678", 9, out, sizeof(out), &info), HTTP_PATH_TOO_LONG);
        CHECK_EQ_INT(http_path_status(HTTP_PATH_TOO_LONG), 414);
        CHECK_EQ_INT(http_path_from_target("/", 1, out, 1, &info), HTTP_PATH_TOO_LONG);
        CHECK_EQ_INT(http_path_from_target("/", 1, out, 2, &info), HTTP_PATH_OK);
        CHECK_STREQ(out, ".");

        /* the 301 Location is rebuilt from the normalised path: no protocol-relative "//host" */
        char path[256], location[256];
        const char *t = "//evil.example/dir?x=1";
        CHECK_EQ_INT(http_path_from_target(t, strlen(t), path, sizeof(path), &info), HTTP_PATH_OK);
        CHECK_EQ_INT(http_redirect_location(path, &info, location, sizeof(location)), 22);
        CHECK_STREQ(location, "/evil.example/dir/?x=1");
        t = "/a%20b/c%3F";
        CHECK_EQ_INT(http_path_from_target(t, strlen(t), path, sizeof(path), &info), HTTP_PATH_OK);
        CHECK(http_redirect_location(path, &info, location, sizeof(location)) > 0);
        CHECK_STREQ(location, "/a%20b/c%3F/");
        CHECK_EQ_INT(http_redirect_location(path, &info, location, 12), 0);
        CHECK_EQ_INT(http_redirect_location(path, &info, location, 13), 12);
        TEST_DONE();
}
