/* -u names resolved in the container's /etc/passwd and /etc/group (see user.h). Part of the `run`
 * applet. */
#include "user.h"
#include "container.h"

#include "sysprim/err.h"
#include "sysprim/size.h"
#include "sysprim/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Split one line of a colon-separated database into at most `max` fields (empty ones kept); the
 * last field runs to the end of the line. Returns the number of fields. */
static size_t split_fields(char *line, char **fields, size_t max)
{
        line[strcspn(line, "\n")] = '\0';
        size_t n = 0;
        while (n < max) {
                fields[n++] = line;
                char *colon = strchr(line, ':');
                if (colon == NULL)
                        break;
                *colon = '\0';
                line = colon + 1;
        }
        return n;
}

/* Find the line of `name` in a passwd- or group-format file and split it into `fields` (at most `max`,
 * at least `min`: shorter lines are damaged and skipped, as the C library does). */
static int database_find(const char *path, const char *name, char *line, size_t line_size, char **fields,
                         size_t min, size_t max)
{
        /* The container's root decides what the file is. Only a regular file is opened, and without
         * blocking: a FIFO would block the open, /dev/zero would never end a line, and opening a
         * device may act on it. */
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return USER_DATABASE_NOT_REGULAR;
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) { /* replaced since the stat */
                close(fd);
                return USER_DATABASE_NOT_REGULAR;
        }
        _cleanup_fclose_ FILE *f = fdopen(fd, "r");
        if (f == NULL) {
                int saved = errno;
                close(fd);
                return -saved;
        }
        while (fgets(line, (int)line_size, f)) {
                /* A line longer than the buffer is not ours to guess at: skip its remainder (and say so
                 * if it was the entry asked for). */
                bool whole = strchr(line, '\n') != NULL || feof(f);
                if (!whole) {
                        size_t length = strlen(name);
                        if (strncmp(line, name, length) == 0 && line[length] == ':')
                                return USER_ENTRY_TOO_LONG;
                        int ch;
                        while ((ch = fgetc(f)) != EOF && ch != '\n')
                                ;
                        continue;
                }
                if (line[0] == '#' || line[0] == '+' || line[0] == '-')
                        continue; /* comments and NIS compat entries */
                if (split_fields(line, fields, max) >= min && strcmp(fields[0], name) == 0)
                        return 0;
        }
        return ferror(f) ? -EIO : -ENOENT;
}

/* The longest line of each file a lookup reads. */
#define PASSWD_LINE_MAX 1024
#define GROUP_LINE_MAX 4096

static int parse_id(const char *text, uint32_t *id)
{
        uint64_t value;
        if (uint_parse(text, UINT32_MAX - 1, &value) < 0)
                return -EINVAL;
        *id = (uint32_t)value;
        return 0;
}

int user_passwd_lookup(const char *path, const char *name, uid_t *uid, gid_t *gid, char *home, size_t home_size)
{
        char line[PASSWD_LINE_MAX], *fields[7] = {0};
        int r = database_find(path, name, line, sizeof(line), fields, 7, 7);
        if (r < 0)
                return r;
        /* name:password:uid:gid:gecos:home:shell */
        uint32_t u, g;
        if (parse_id(fields[2], &u) < 0 || parse_id(fields[3], &g) < 0)
                return -EINVAL;
        *uid = (uid_t)u;
        *gid = (gid_t)g;
        if (home)
                snprintf(home, home_size, "%s", fields[5]);
        return 0;
}

int user_group_lookup(const char *path, const char *name, gid_t *gid)
{
        char line[GROUP_LINE_MAX], *fields[4] = {0};
        int r = database_find(path, name, line, sizeof(line), fields, 3, 4);
        if (r < 0)
                return r;
        /* name:password:gid:members */
        uint32_t g;
        if (parse_id(fields[2], &g) < 0)
                return -EINVAL;
        *gid = (gid_t)g;
        return 0;
}

/* An error for a failed lookup of `name` in the container's `file`. */
static int lookup_error(struct err *e, int r, const char *what, const char *name, const char *file)
{
        if (r == -ENOENT)
                return err_plain(e, ENOENT, "--user: no %s '%s' in the container's %s", what, name, file);
        if (r == USER_DATABASE_NOT_REGULAR)
                return err_plain(e, EINVAL, "--user: the container's %s is not a regular file (a FIFO, a "
                                 "device or a directory is not read)", file);
        if (r == -EINVAL)
                return err_plain(e, EINVAL, "--user: the entry of %s '%s' in the container's %s is damaged",
                                 what, name, file);
        if (r == USER_ENTRY_TOO_LONG)
                return err_plain(e, E2BIG, "--user: the entry of %s '%s' in the container's %s is too long to "
                                 "read (longer than %d bytes)", what, name, file,
                                 strcmp(what, "user") ? GROUP_LINE_MAX : PASSWD_LINE_MAX);
        return err_set(e, r, "--user: look up %s '%s' in the container's %s", what, name, file);
}

int user_resolve(const struct container *c, struct user_identity *out, struct err *e)
{
        out->uid = c->uid;
        out->gid = c->gid;
        out->home[0] = '\0';
        if (c->user_name) {
                gid_t primary;
                int r = user_passwd_lookup("/etc/passwd", c->user_name, &out->uid, &primary, out->home,
                                           sizeof(out->home));
                if (r < 0)
                        return lookup_error(e, r, "user", c->user_name, "/etc/passwd");
                if (c->primary_group)
                        out->gid = primary;
        }
        if (c->group_name) {
                int r = user_group_lookup("/etc/group", c->group_name, &out->gid);
                if (r < 0)
                        return lookup_error(e, r, "group", c->group_name, "/etc/group");
        }
        return 0;
}
