/* The container's /etc/hosts and /etc/resolv.conf (see etc_files.h). Part of the `run` applet. */
#include "etc_files.h"

#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_loopback_nameserver(const char *line)
{
        char address[64];
        if (sscanf(line, " nameserver %63s", address) != 1)
                return false;
        return strncmp(address, "127.", 4) == 0 || strcmp(address, "::1") == 0;
}

/* The host's resolvers. A loopback resolver (a local stub like systemd-resolved's 127.0.0.53)
 * cannot be reached from a private namespace: use the stub's upstream list when there is one,
 * otherwise leave the loopback servers out. */
static void build_resolv_conf(struct util_buf *t, bool private_netns)
{
        const char *source = "/etc/resolv.conf";
        _cleanup_fclose_ FILE *in = fopen(source, "re");
        char line[512];
        if (private_netns && in) {
                bool loopback = false;
                while (fgets(line, sizeof(line), in))
                        loopback |= is_loopback_nameserver(line);
                rewind(in);
                FILE *upstream = loopback ? fopen("/run/systemd/resolve/resolv.conf", "re") : NULL;
                if (upstream) {
                        fclose(in);
                        in = upstream;
                        source = "/run/systemd/resolve/resolv.conf";
                }
        }
        util_buf_printf(t, "# sysprim run: the host's %s\n", source);
        while (in && fgets(line, sizeof(line), in))
                if (!(private_netns && is_loopback_nameserver(line)))
                        util_buf_printf(t, "%s", line);
}

static void build_hosts(struct util_buf *t, enum network_mode mode, struct in_addr address, struct in_addr gateway,
                        const char *hostname)
{
        if (mode == NETWORK_MODE_HOST) {
                /* The host's names, as the host sees them, plus the container's own. */
                _cleanup_fclose_ FILE *in = fopen("/etc/hosts", "re");
                char line[512];
                while (in && fgets(line, sizeof(line), in))
                        util_buf_printf(t, "%s%s", line, strchr(line, '\n') ? "" : "\n");
                if (hostname && hostname[0])
                        util_buf_printf(t, "127.0.1.1\t%s\n", hostname);
                return;
        }
        util_buf_printf(t, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        if (hostname && hostname[0]) {
                char a[INET_ADDRSTRLEN] = "127.0.1.1";
                if (address.s_addr)
                        inet_ntop(AF_INET, &address, a, sizeof(a));
                util_buf_printf(t, "%s\t%s\n", a, hostname);
        }
        if (gateway.s_addr) {
                char g[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &gateway, g, sizeof(g));
                util_buf_printf(t, "%s\thost.sysprim.internal\n", g);
        }
}

int etc_files_compose(enum network_mode mode, struct in_addr address, struct in_addr gateway,
                      const char *hostname, char **hosts_out, char **resolv_conf_out, struct err *e)
{
        struct util_buf hosts = {0}, resolv = {0};
        build_hosts(&hosts, mode, address, gateway, hostname);
        build_resolv_conf(&resolv, mode != NETWORK_MODE_HOST);
        if (hosts.failed || resolv.failed || !hosts.data || !resolv.data) {
                free(hosts.data);
                free(resolv.data);
                return err_set(e, ENOMEM, "prepare /etc/hosts and /etc/resolv.conf");
        }
        *hosts_out = hosts.data;
        *resolv_conf_out = resolv.data;
        return 0;
}

/* In a copy-on-write root, simply write /etc/NAME: the write lands in the container's private upper
 * layer and vanishes with it, and costs no mount. A symlink there (Debian's resolv.conf often is one)
 * is replaced, since the write would go wherever it points. 1 when done, 0 when the root refuses (a
 * read-only fallback root), -errno otherwise. */
static int write_in_root(const char *target, bool is_symlink, const char *content)
{
        if (is_symlink && unlink(target) < 0)
                return errno == EROFS ? 0 : -errno;
        int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 && errno == ENOENT && mkdir("/etc", 0755) == 0) /* a minimal root may have none */
                fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return errno == EROFS ? 0 : -errno;
        int r = util_write_all(fd, content, strlen(content));
        close(fd);
        return r < 0 ? r : 1;
}

bool etc_files_etc_is_directory(const char *left_out)
{
        struct stat st;
        if (lstat("/etc", &st) < 0 || S_ISDIR(st.st_mode))
                return true;
        bool dangling = S_ISLNK(st.st_mode) && stat("/etc", &st) < 0;
        if (!dangling && S_ISDIR(st.st_mode))
                return true;
        log_warn("%s left out: the container's /etc is %s", left_out,
                 dangling ? "a symlink to nothing" : "not a directory");
        return false;
}

/* Put `content` over /etc/NAME. In a copy-on-write root it is written there; otherwise (a
 * --rootfs-rw directory must never be written, a read-only root cannot be) it is written to a file on
 * the container's private /dev tmpfs, bound over the target read-only and unlinked (the bind keeps
 * it), so nothing remains on the host. A target missing there is left out. Whatever the root has there
 * that is neither a file nor a symlink (a directory, a FIFO), like an /etc that is not a directory
 * (etc_files_etc_is_directory), is the root's own business: left as it is, with a warning, rather than
 * failing every run of that root (runtimes that bind a file there fail with "not a directory";
 * systemd-nspawn leaves resolv.conf and warns). */
int etc_files_install(const char *name, const char *content, bool copy_on_write, struct err *e)
{
        char target[64], staging[64];
        snprintf(target, sizeof(target), "/etc/%s", name);
        snprintf(staging, sizeof(staging), "/dev/.sysprim-%s", name);
        struct stat st;
        bool exists = lstat(target, &st) == 0;
        if (!exists && errno != ENOENT) {
                log_warn("/etc/%s left as the container's root has it: %s", name, strerror(errno));
                return 0;
        }
        if (exists && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
                log_warn("/etc/%s left as the container's root has it: not a regular file", name);
                return 0;
        }
        if (copy_on_write) {
                int r = write_in_root(target, exists && S_ISLNK(st.st_mode), content);
                if (r > 0)
                        return 0;
                if (r < 0)
                        return err_set(e, r, "write %s", target);
        }
        if (!exists || !S_ISREG(st.st_mode)) {
                /* A bind would follow a symlink out of the root, and a missing file cannot be made. */
                log_debug("leaving /etc/%s as it is in the container's root", name);
                return 0;
        }
        int fd = open(staging, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return err_set(e, errno, "create %s", staging);
        int r = util_write_all(fd, content, strlen(content));
        close(fd);
        if (r < 0) {
                unlink(staging);
                return err_set(e, r, "write %s", staging);
        }
        int bound = mount(staging, target, NULL, MS_BIND, NULL);
        if (bound < 0 && errno == ENOENT) {
                /* The target is itself a bind of an unlinked file (sysprim run inside a sysprim run
                 * container: the outer runtime put its /etc/hosts there the same way), and the kernel
                 * mounts nothing on a deleted file. This mount namespace is the container's own:
                 * take the outer bind away here and bind over what is beneath it. A user namespace
                 * may not take it away (a locked mount): then the file stays as the outer one made it. */
                if (umount2(target, MNT_DETACH) == 0)
                        bound = mount(staging, target, NULL, MS_BIND, NULL);
                if (bound < 0) {
                        log_warn("/etc/%s stays as the outer container made it: it is a bind of a deleted "
                                 "file, which cannot be replaced here", name);
                        unlink(staging);
                        return 0;
                }
        }
        if (bound < 0) {
                r = err_set(e, errno, "bind %s on %s", staging, target);
                unlink(staging);
                return r;
        }
        unlink(staging);
        if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  NULL) < 0)
                return err_set(e, errno, "make %s read-only", target);
        return 0;
}
