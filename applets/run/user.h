/* `-u NAME[:GROUP]`: user and group names looked up in the container's own /etc/passwd and /etc/group
 * (after its root is in place), by our own parser: getpwnam() would read the host's, or whatever NSS
 * the host configures. Part of the `run` applet. */
#ifndef SYSPRIM_RUN_USER_H
#define SYSPRIM_RUN_USER_H

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

struct container;
struct err;

/* What a lookup returns for a file that is not a regular file (a FIFO, a device, a directory, or a
 * link to one), which it does not read: an errno reading a regular file never gives. */
#define USER_DATABASE_NOT_REGULAR (-ESPIPE)
/* ... and for the named entry on a line longer than the lookup reads (1 KiB for passwd, 4 KiB for
 * group). */
#define USER_ENTRY_TOO_LONG (-E2BIG)

/* The entry of user `name` in a passwd-format file: its uid, primary gid and home directory (`home`
 * may be NULL). 0; -ENOENT when there is no such user (or the file does not exist);
 * USER_DATABASE_NOT_REGULAR; USER_ENTRY_TOO_LONG; -errno when the file cannot be read. */
int user_passwd_lookup(const char *path, const char *name, uid_t *uid, gid_t *gid, char *home, size_t home_size);

/* The gid of group `name` in a group-format file. 0, -ENOENT, USER_DATABASE_NOT_REGULAR,
 * USER_ENTRY_TOO_LONG or -errno as above. */
int user_group_lookup(const char *path, const char *name, gid_t *gid);

/* The identity the command runs as, once names are resolved. */
struct user_identity {
        uid_t uid;
        gid_t gid;
        char home[256]; /* the passwd entry's home directory; "" when the user was given by number */
};

/* In the container, after its root is in place: the uid and gid that -u gave, names looked up in
 * /etc/passwd and /etc/group. An unknown name is an error that says where it was looked for. */
int user_resolve(const struct container *c, struct user_identity *out, struct err *e);

#endif
