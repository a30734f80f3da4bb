/* Unit test of the `run` applet's passwd and group parser (applets/run/user.c), on files the test
 * writes: found entries, unknown names, comments and NIS compat lines, short and damaged lines, a line
 * too long for the buffer, a missing file. */
#include "user.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
                fputs(text, f);
                fclose(f);
        }
}

int main(void)
{
        char dir[] = "/tmp/test-run-user-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char passwd[64], group[64], long_line[3000];
        snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
        snprintf(group, sizeof(group), "%s/group", dir);
        memset(long_line, 'x', sizeof(long_line) - 1);
        long_line[sizeof(long_line) - 1] = '\0';
        FILE *f = fopen(passwd, "w");
        CHECK(f != NULL);
        if (f) {
                fprintf(f, "# comment\n+alice\n-alice\nroot:x:0:0:root:/root:/bin/sh\n"
                           "broken:x:12a:1:broken:/:/bin/sh\nshort:x:5:5:/\n"
                           "big:x:1:1:%s:/:/bin/sh\n"
                           "alice:x:1234:2345:Alice, room 1:/home/alice:/bin/sh\n"
                           "nohome:x:7:8:::\n"
                           "last:x:4294967294:9:last:/l:/bin/sh", long_line);
                fclose(f);
        }
        uid_t uid = 0;
        gid_t gid = 0;
        char home[64] = "unchanged";
        CHECK_EQ_INT(user_passwd_lookup(passwd, "alice", &uid, &gid, home, sizeof(home)), 0);
        CHECK_EQ_INT(uid, 1234);
        CHECK_EQ_INT(gid, 2345);
        CHECK_STREQ(home, "/home/alice");
        CHECK_EQ_INT(user_passwd_lookup(passwd, "root", &uid, &gid, NULL, 0), 0);
        CHECK_EQ_INT(uid, 0);
        CHECK_EQ_INT(user_passwd_lookup(passwd, "nohome", &uid, &gid, home, sizeof(home)), 0);
        CHECK_EQ_INT(uid, 7);
        CHECK_STREQ(home, "");
        CHECK_EQ_INT(user_passwd_lookup(passwd, "last", &uid, &gid, home, sizeof(home)), 0); /* no final newline */
        CHECK_EQ_INT(uid, 4294967294u);
        CHECK_EQ_INT(user_passwd_lookup(passwd, "bob", &uid, &gid, NULL, 0), -ENOENT);
        CHECK_EQ_INT(user_passwd_lookup(passwd, "+alice", &uid, &gid, NULL, 0), -ENOENT);
        CHECK_EQ_INT(user_passwd_lookup(passwd, "short", &uid, &gid, NULL, 0), -ENOENT);
        CHECK_EQ_INT(user_passwd_lookup(passwd, "big", &uid, &gid, NULL, 0), USER_ENTRY_TOO_LONG);
        CHECK_EQ_INT(user_passwd_lookup(passwd, "bi", &uid, &gid, NULL, 0), -ENOENT);
        CHECK_EQ_INT(user_passwd_lookup(passwd, "broken", &uid, &gid, NULL, 0), -EINVAL);
        CHECK_EQ_INT(user_passwd_lookup(passwd, "", &uid, &gid, NULL, 0), -ENOENT);
        CHECK_EQ_INT(user_passwd_lookup("/nonexistent/passwd", "root", &uid, &gid, NULL, 0), -ENOENT);

        write_file(group, "root:x:0:\nstaff:x:50:alice,bob\nold:x:60\nbad:x:-1:\nhuge:x:4294967295:\n");
        CHECK_EQ_INT(user_group_lookup(group, "staff", &gid), 0);
        CHECK_EQ_INT(gid, 50);
        CHECK_EQ_INT(user_group_lookup(group, "old", &gid), 0); /* no member list at all */
        CHECK_EQ_INT(gid, 60);
        CHECK_EQ_INT(user_group_lookup(group, "alice", &gid), -ENOENT); /* a member is not a group */
        CHECK_EQ_INT(user_group_lookup(group, "bad", &gid), -EINVAL);
        CHECK_EQ_INT(user_group_lookup(group, "huge", &gid), -EINVAL); /* (gid_t)-1 means "unchanged" */

        unlink(passwd);
        unlink(group);
        rmdir(dir);
        TEST_DONE();
}
