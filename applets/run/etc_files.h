/* The container's /etc/hosts (its name, and host.sysprim.internal for the bridge) and
 * /etc/resolv.conf (the host's resolvers that a private namespace can reach): composed in the parent,
 * put in place in the child. Part of the `run` applet. */
#ifndef SYSPRIM_RUN_ETC_FILES_H
#define SYSPRIM_RUN_ETC_FILES_H

#include "network.h"

#include <netinet/in.h>
#include <stdbool.h>

struct err;

/* Compose both files (heap strings for the caller to free). `address` and `gateway` are the
 * container's and the bridge's on a bridge, 0 otherwise; with --net host the host's /etc/hosts is the
 * base. 0 or -ENOMEM. */
int etc_files_compose(enum network_mode mode, struct in_addr address, struct in_addr gateway,
                      const char *hostname, char **hosts, char **resolv_conf, struct err *e);

/* In the container after pivot_root, once for all the files put in /etc: whether /etc leads to a
 * directory (none at all counts: it is made). If it does not (a file, a symlink to nothing), one
 * warning that `left_out` (the files, named) are left out, and false. */
bool etc_files_etc_is_directory(const char *left_out);

/* In the container after pivot_root: `content` becomes /etc/NAME. In a copy-on-write root it is
 * written there (created if missing); otherwise it is bound read-only over the root's file, which is
 * never written, and left out where there is none. */
int etc_files_install(const char *name, const char *content, bool copy_on_write, struct err *e);

#endif
