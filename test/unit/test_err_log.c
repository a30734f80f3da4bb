/* Unit tests of src/err.c and src/log.c: the message forms, levels and SYSPRIM_LOG. */
#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/util.h"
#include "capture.h"
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>

int main(void)
{
        struct err e = { 0 };
        CHECK_EQ_INT(err_set(&e, ENOENT, "open %s", "/nope"), -ENOENT);
        CHECK_STREQ(e.msg, "open /nope: No such file or directory");
        CHECK_EQ_INT(e.code, ENOENT);
        CHECK_EQ_INT(err_set(&e, -EACCES, "mount"), -EACCES);
        CHECK_STREQ(e.msg, "mount: Permission denied");
        CHECK_EQ_INT(err_set(&e, 0, "bad config"), -EIO);
        CHECK_STREQ(e.msg, "bad config");
        CHECK_EQ_INT(err_wrap(&e, "set up %s", "rootfs"), -EIO);
        CHECK_STREQ(e.msg, "set up rootfs: bad config");
        CHECK_EQ_INT(err_plain(&e, EADDRINUSE, "--ip: %s is taken", "10.88.0.2"), -EADDRINUSE);
        CHECK_STREQ(e.msg, "--ip: 10.88.0.2 is taken");
        CHECK_EQ_INT(e.code, EADDRINUSE);
        CHECK_EQ_INT(err_plain(NULL, EINVAL, "ignored"), -EINVAL);
        CHECK_EQ_INT(err_set(NULL, EPERM, "ignored"), -EPERM);
        char long_text[2000];
        memset(long_text, 'x', sizeof(long_text) - 1);
        long_text[sizeof(long_text) - 1] = '\0';
        err_set(&e, ENOENT, "%s", long_text);
        CHECK_EQ_INT(strlen(e.msg), sizeof(e.msg) - 1);
        err_wrap(&e, "%s", long_text);
        CHECK_EQ_INT(strlen(e.msg), sizeof(e.msg) - 1);
        /* A message too long for the object keeps its reason: the text is cut, marked, then the reason. */
        err_set(&e, ENAMETOOLONG, "bind %s", long_text);
        CHECK_EQ_INT(strlen(e.msg), sizeof(e.msg) - 1);
        CHECK(strncmp(e.msg, "bind xxx", 8) == 0);
        CHECK(strstr(e.msg, "xxx...: File name too long") != NULL);
        CHECK_EQ_INT(e.code, ENAMETOOLONG);
        /* ... and so does one wrapped past the object's size: its end survives, its middle is cut. */
        err_set(&e, ENAMETOOLONG, "bind %.400s", long_text);
        err_wrap(&e, "volume %.300s", long_text);
        CHECK_EQ_INT(strlen(e.msg), sizeof(e.msg) - 1);
        CHECK(strncmp(e.msg, "volume xxx", 10) == 0);
        CHECK(strstr(e.msg, "...") != NULL);
        CHECK(strstr(e.msg, "xxx: File name too long") != NULL);
        CHECK(strcmp(e.msg + strlen(e.msg) - strlen(": File name too long"), ": File name too long") == 0);

        struct capture cap;
        log_set_applet("demo");
        log_set_level(LOG_WARN);
        capture_begin(&cap, 2);
        log_error("disk %d failed", 3);
        log_warn("careful");
        log_info("hidden at warn");
        log_errno(LOG_ERROR, -ENOENT, "open %s", "x");
        const char *text = capture_end(&cap);
        CHECK_STREQ(text, "sysprim demo: disk 3 failed\nsysprim demo: warning: careful\n"
                          "sysprim demo: open x: No such file or directory\n");
        /* A line too long for the log's buffer keeps its reason too. */
        {
                static char huge[100000];
                memset(huge, 'y', sizeof(huge) - 1);
                capture_begin(&cap, 2);
                log_errno(LOG_ERROR, -ENOENT, "open %s", huge);
                text = capture_end(&cap);
                CHECK(strncmp(text, "sysprim demo: open yyy", 22) == 0);
                CHECK(strstr(text, "yyy...: No such file or directory\n") != NULL);
                CHECK(strlen(text) < 4096);
                capture_begin(&cap, 2);
                log_error("%s", huge);
                text = capture_end(&cap);
                CHECK(strstr(text, "yyy...\n") != NULL);
        }

        setenv("SYSPRIM_LOG", "debug", 1);
        CHECK_EQ_INT(log_init_from_env(), 0);
        CHECK_EQ_INT(log_get_level(), LOG_DEBUG);
        setenv("SYSPRIM_LOG", "loud", 1);
        CHECK_EQ_INT(log_init_from_env(), -EINVAL);
        CHECK_EQ_INT(log_get_level(), LOG_DEBUG);
        log_adjust(-10);
        CHECK_EQ_INT(log_get_level(), LOG_ERROR);
        log_adjust(+10);
        CHECK_EQ_INT(log_get_level(), LOG_DEBUG);
        log_set_applet(NULL);
        capture_begin(&cap, 2);
        log_debug("plain");
        CHECK_STREQ(capture_end(&cap), "sysprim: plain\n");

        /* util: whole-file read and write, cleanup attributes. */
        char path[] = "/tmp/sysprim-unit-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        close(fd);
        CHECK_EQ_INT(util_write_file(path, "hello\n"), 0);
        {
                _cleanup_free_ char *contents = NULL;
                size_t length = 0;
                CHECK_EQ_INT(util_read_file(path, &contents, &length), 0);
                CHECK_STREQ(contents, "hello\n");
                CHECK_EQ_INT(length, 6);
        }
        {
                _cleanup_close_ int held = open(path, O_RDONLY);
                CHECK(held >= 0);
                int moved = steal_fd(&held);
                CHECK_EQ_INT(held, -1);
                close(moved);
        }
        unlink(path);
        char *contents = NULL;
        CHECK_EQ_INT(util_read_file("/nonexistent/sysprim", &contents, NULL), -ENOENT);
        CHECK_EQ_INT(util_write_file("/nonexistent/sysprim", "x"), -ENOENT);

        /* util_buf: appends and formats across growth, always NUL-terminated. */
        struct util_buf buf = { 0 };
        util_buf_append(&buf, "ab", 2);
        CHECK_STREQ(buf.data, "ab");
        util_buf_printf(&buf, "%s=%d;", "n", 42);
        CHECK_STREQ(buf.data, "abn=42;");
        for (int i = 0; i < 300; i++) /* past the first 1024 bytes, twice over */
                util_buf_printf(&buf, "%07d", i);
        CHECK_EQ_INT(buf.length, 7 + 300 * 7);
        CHECK_EQ_INT(strlen(buf.data), buf.length);
        CHECK(memcmp(buf.data + buf.length - 7, "0000299", 7) == 0);
        util_buf_append(&buf, long_text, sizeof(long_text) - 1);
        CHECK_EQ_INT(buf.length, 7 + 300 * 7 + sizeof(long_text) - 1);
        CHECK(!buf.failed);
        free(buf.data);

        /* util_describe_character: a refused character as a message shows it. */
        char ch[16];
        CHECK_STREQ(util_describe_character('-', ch, sizeof(ch)), "'-'");
        CHECK_STREQ(util_describe_character(' ', ch, sizeof(ch)), "a space");
        CHECK_STREQ(util_describe_character('\n', ch, sizeof(ch)), "a byte 0x0a");
        CHECK_STREQ(util_describe_character(0xc3, ch, sizeof(ch)), "a byte 0xc3");
        TEST_DONE();
}
