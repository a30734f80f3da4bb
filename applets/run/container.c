/* Creating and running a container from its description (container.h): the parent's side (cgroup,
 * clone into new namespaces, hooks, waiting, forwarding signals, tear-down) and the child's set-up up
 * to the exec of the command or of our init. Part of the `run` applet. */
#include "container.h"
#include "capability.h"
#include "cgroup.h"
#include "cgroup_record.h"
#include "etc_files.h"
#include "init.h"
#include "network.h"
#include "process.h"
#include "rootfs.h"
#include "seccomp.h"
#include "user.h"

#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/size.h"
#include "sysprim/util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

bool container_shares_host_network(const struct container *c)
{
        return c->network.mode && strcmp(c->network.mode, "host") == 0;
}

/* What the parent holds while the container runs; everything here is released by teardown(). */
struct container_state {
        pid_t pid;               /* the container's first process (its PID 1), or -1 */
        int sync_write;          /* parent's end of the sync pipe: one byte releases the child */
        int sync_read;           /* child's end */
        struct cgroup cgroup;
        bool cgroup_namespace_late; /* v1 cgroups: the child enters its cgroup namespace once inside */
        bool wait_for_id_map;    /* user namespace: the child waits until the parent wrote its ID maps */
        bool wait_for_release;   /* the parent has work to do before the child may exec */
        /* ---- networking state (issue 6): filled by network_setup(), freed by network_release() ---- */
        struct network network;  /* prepared before the clone, so the child has its files too */
        /* ---- end of networking state ---- */
};

/* ------------------------------------------------------------------------------------------------
 * The child: runs in the new namespaces, never returns. */

static void loopback_up(void)
{
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return;
        struct ifreq ifr = { 0 };
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
                ifr.ifr_flags |= IFF_UP;
                if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                        log_warn("bring up lo: %s", strerror(errno));
        }
        close(fd);
}

static int drop_privileges(const struct container *c, const struct user_identity *user, struct err *e)
{
        int r;
        if (!c->privileged && (r = capability_limit_bounding(c->capabilities, e)) < 0)
                return r;
        if (c->set_user) {
                if (setgroups(0, NULL) < 0 && errno != EPERM)
                        return err_set(e, errno, "clear supplementary groups");
                /* EINVAL: the ID has no mapping in the container's user namespace. */
                const char *unmapped = "; in a user namespace only mapped IDs exist (give the user a "
                                       "range in /etc/subuid and /etc/subgid)";
                if (setresgid(user->gid, user->gid, user->gid) < 0)
                        return err_set(e, errno, "switch to group %u%s", (unsigned)user->gid,
                                       errno == EINVAL && c->user_namespace ? unmapped : "");
                /* Leaving uid 0 clears the permitted and effective sets, as for any non-root user. */
                if (setresuid(user->uid, user->uid, user->uid) < 0)
                        return err_set(e, errno, "switch to user %u%s", (unsigned)user->uid,
                                       errno == EINVAL && c->user_namespace ? unmapped : "");
        }
        if (!c->privileged && (!c->set_user || user->uid == 0) && (r = capability_set(c->capabilities, e)) < 0)
                return r;
        /* A change of identity clears the parent-death signal: arm it again. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return err_set(e, errno, "set no_new_privs");
        if (c->seccomp && (r = seccomp_install_default(e)) < 0)
                return r;
        return 0;
}

/* In a fresh user namespace, once mapped: become its root (uid 0 inside) for everything that follows,
 * so that files the set-up creates belong to the container's root. */
static int become_namespace_root(struct err *e)
{
        if (setresgid(0, 0, 0) < 0)
                return err_set(e, errno, "become root in the user namespace (gid 0)");
        if (setgroups(0, NULL) < 0 && errno != EPERM) /* EPERM: setgroups denied (single-ID map) */
                return err_set(e, errno, "clear supplementary groups");
        if (setresuid(0, 0, 0) < 0)
                return err_set(e, errno, "become root in the user namespace (uid 0)");
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        return 0;
}

/* HOME for a user given by name: its home directory ("/" when the entry has none). This is the child's
 * copy of the environment, so the parent's stays as it was. */
static void set_home(const struct container *c, const char *home)
{
        for (char **variable = c->env; *variable; variable++) {
                if (strncmp(*variable, "HOME=", 5) == 0) {
                        char *entry = NULL;
                        if (asprintf(&entry, "HOME=%s", home[0] ? home : "/") >= 0)
                                *variable = entry;
                        return;
                }
        }
}

/* The signals that end a set-up in progress. The parent forwards them, and the child inherits them
 * blocked: without this a set-up stalled on a FIFO, a hung mount or a huge file could only be ended
 * by SIGKILL of the runtime, which leaves its cgroup behind. */
static const int setup_ending_signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM };

static void setup_end_on_signal(int sig)
{
        _exit(128 + sig); /* as if the signal had killed it: the runtime exits 128+N */
}

/* Make the set-up end on those signals, or (before init or the command takes over) block them again
 * with their default action: one arriving then stays pending for init to forward, or for the command. */
static void setup_set_interruptible(bool interruptible)
{
        struct sigaction action = { .sa_handler = interruptible ? setup_end_on_signal : SIG_DFL };
        sigset_t set;
        sigemptyset(&set);
        sigemptyset(&action.sa_mask);
        for (size_t i = 0; i < ARRAY_SIZE(setup_ending_signals); i++) {
                sigaddset(&set, setup_ending_signals[i]);
                sigaction(setup_ending_signals[i], &action, NULL);
        }
        sigprocmask(interruptible ? SIG_UNBLOCK : SIG_BLOCK, &set, NULL);
}

static noreturn void child_main(const struct container *c, struct container_state *s)
{
        struct err e = { 0 };
        struct rootfs_sources sources;
        struct user_identity user;
        char go;
        if (s->sync_write >= 0)
                close(s->sync_write);
        /* The caller's environment stays in this process's memory, and PID 1's memory is readable in
         * the container through /proc/1/environ: wipe it (the command's environment is a copy). */
        for (char **variable = environ; variable && *variable; variable++)
                memset(*variable, 0, strlen(*variable));
        /* The container does not outlive the runtime, however the runtime ends. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        umask(022); /* what the command starts with, whatever the caller's was */
        setup_set_interruptible(true);
        if (s->wait_for_id_map && read(s->sync_read, &go, 1) != 1)
                _exit(EXIT_RUNTIME_FAILED); /* the parent failed and said why */
        /* Into the v1 cgroups first, so that what set-up allocates is charged to the container. */
        if (cgroup_attach_self(&s->cgroup, &e) < 0)
                goto fail;
        if (s->cgroup_namespace_late && unshare(CLONE_NEWCGROUP) < 0) {
                err_set(&e, errno, "create the cgroup namespace");
                goto fail;
        }
        cgroup_close_attach_fds(&s->cgroup);

        if (rootfs_open_sources(c, &sources, &e) < 0)
                goto fail;
        if (c->user_namespace && become_namespace_root(&e) < 0)
                goto fail;
        if (rootfs_enter(c, &sources, &s->cgroup, &e) < 0)
                goto fail;
        rootfs_close_sources(c, &sources);
        if (sethostname(c->hostname, strlen(c->hostname)) < 0) {
                err_set(&e, errno, "set hostname %s", c->hostname);
                goto fail;
        }
        if (!container_shares_host_network(c))
                loopback_up();

        /* Wait until the parent has set up networking. EOF: it failed and has said why. */
        if (s->wait_for_release && read(s->sync_read, &go, 1) != 1)
                _exit(EXIT_RUNTIME_FAILED);
        if (s->sync_read >= 0)
                close(s->sync_read);
        /* ---- networking hook, inside the container (issue 6): /etc/hosts, /etc/resolv.conf ---- */
        /* (run: in a user namespace the root's /etc may belong to a host ID the container does not
         * have, so no writing into it there: the files are bound instead.) */
        bool copy_on_write = c->rootfs_mode != ROOTFS_WRITE_THROUGH && !c->user_namespace;
        if (etc_files_etc_is_directory("/etc/hosts, /etc/resolv.conf and /etc/hostname")) {
                if (network_mount_files(&s->network, copy_on_write, &e) < 0)
                        goto fail;
                /* ---- end of networking hook ---- */
                /* /etc/hostname names the container, as hostname(1) does, not the host. */
                char hostname_line[HOST_NAME_MAX + 2];
                snprintf(hostname_line, sizeof(hostname_line), "%s\n", c->hostname);
                if (etc_files_install("hostname", hostname_line, copy_on_write, &e) < 0)
                        goto fail;
        }

        /* -u names are the container's: looked up in its /etc now that its root is in place. */
        if (rootfs_finish(c, &e) < 0 || user_resolve(c, &user, &e) < 0)
                goto fail;
        if (c->home_from_user)
                set_home(c, user.home);
        if (drop_privileges(c, &user, &e) < 0)
                goto fail;
        /* Descriptors the caller left open (a directory of the host's, say) would be a way out of the
         * container: only stdin, stdout and stderr go in. */
        if (close_range(3, ~0U, 0) < 0) {
                err_set(&e, errno, "close inherited file descriptors");
                goto fail;
        }
        setup_set_interruptible(false);
        if (c->use_init)
                init_run(c);
        init_exec_command(c);
fail:
        err_print(&e);
        _exit(EXIT_RUNTIME_FAILED);
}

/* ------------------------------------------------------------------------------------------------
 * The parent. */

/* Signals the runtime passes on to the container: every catchable one except those that stop the
 * runtime itself (job control) or report its own faults. */
static void forwarded_signals(sigset_t *set)
{
        sigfillset(set);
        static const int kept[] = { SIGKILL, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT, SIGSEGV,
                                    SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT };
        for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
                sigdelset(set, kept[i]);
}

static int validate(const struct container *c, struct err *e)
{
        struct stat st;
        if (c->rootfs) {
                if (stat(c->rootfs, &st) < 0)
                        return err_set(e, errno, "root filesystem %s (--rootfs takes an existing directory)",
                                       c->rootfs);
                if (!S_ISDIR(st.st_mode))
                        return err_set(e, ENOTDIR, "root filesystem %s (--rootfs takes a directory)", c->rootfs);
                const char *kernel_filesystem = rootfs_kernel_filesystem(c->rootfs);
                if (kernel_filesystem)
                        return err_plain(e, EINVAL, "root filesystem %s is on the kernel's %s filesystem, not a "
                                         "directory of files to run (--rootfs takes a directory holding a root "
                                         "filesystem, such as an unpacked image)", c->rootfs, kernel_filesystem);
        }
        for (size_t i = 0; i < c->mount_count; i++)
                if (c->mounts[i].kind == MOUNT_BIND && stat(c->mounts[i].source, &st) < 0)
                        return err_set(e, errno, "volume source %s (the HOST part of -v must exist)",
                                       c->mounts[i].source);
        return 0;
}

static pid_t clone_container(const struct container *c, struct container_state *s)
{
        uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
        if (c->user_namespace)
                flags |= CLONE_NEWUSER; /* first, so that it owns the other new namespaces */
        if (!container_shares_host_network(c))
                flags |= CLONE_NEWNET;
        s->cgroup_namespace_late = cgroup_uses_v1(&s->cgroup);
        if (!s->cgroup_namespace_late)
                flags |= CLONE_NEWCGROUP;
        struct clone_args args = { .flags = flags, .exit_signal = SIGCHLD };
        if (s->cgroup.v2_fd >= 0) {
                /* Born in its cgroup: no window in which it runs outside the limits. */
                args.flags |= CLONE_INTO_CGROUP;
                args.cgroup = (uint64_t)s->cgroup.v2_fd;
        }
        pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0 && (errno == ENOSYS || errno == E2BIG) && s->cgroup.v2_fd < 0)
                pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, 0UL);
        return pid;
}

static int write_map_file(pid_t pid, const char *file, const struct container_id_range *ranges, size_t count,
                          struct err *e)
{
        char path[64], text[128];
        size_t used = 0;
        for (size_t i = 0; i < count; i++)
                used += (size_t)snprintf(text + used, sizeof(text) - used, "%u %u %u\n", ranges[i].inside,
                                         ranges[i].outside, ranges[i].count);
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        int r = util_write_file(path, text);
        if (r < 0)
                return err_set(e, r, "write the user namespace's %s", file);
        return 0;
}

/* newuidmap/newgidmap PID INSIDE OUTSIDE COUNT...: the setuid helpers that check /etc/subuid. */
static int run_map_helper(const char *helper, pid_t pid, const struct container_id_range *ranges, size_t count,
                          struct err *e)
{
        char numbers[8][16];
        char *argv[10];
        size_t n = 0;
        argv[n++] = (char *)helper;
        snprintf(numbers[0], sizeof(numbers[0]), "%d", (int)pid);
        argv[n++] = numbers[0];
        for (size_t i = 0; i < count && i < 2; i++) {
                snprintf(numbers[1 + 3 * i], 16, "%u", ranges[i].inside);
                snprintf(numbers[2 + 3 * i], 16, "%u", ranges[i].outside);
                snprintf(numbers[3 + 3 * i], 16, "%u", ranges[i].count);
                argv[n++] = numbers[1 + 3 * i];
                argv[n++] = numbers[2 + 3 * i];
                argv[n++] = numbers[3 + 3 * i];
        }
        argv[n] = NULL;
        pid_t helper_pid = fork();
        if (helper_pid < 0)
                return err_set(e, errno, "start %s", helper);
        if (helper_pid == 0) {
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                execv(helper, argv);
                _exit(127);
        }
        int status;
        while (waitpid(helper_pid, &status, 0) < 0)
                if (errno != EINTR)
                        return err_set(e, errno, "wait for %s", helper);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return err_set(e, EPERM, "%s refused the mapping (check /etc/subuid and /etc/subgid)", helper);
        return 0;
}

/* The user namespace's ID maps, written from outside (only a process there may). */
static int write_id_maps(const struct container *c, pid_t pid, struct err *e)
{
        int r;
        if (c->id_map_helpers) {
                if ((r = run_map_helper("/usr/bin/newuidmap", pid, c->uid_map, c->uid_map_count, e)) < 0 ||
                    (r = run_map_helper("/usr/bin/newgidmap", pid, c->gid_map, c->gid_map_count, e)) < 0)
                        return r;
                return 0;
        }
        /* An unprivileged process may map its own IDs only after giving up setgroups(). */
        if (geteuid() != 0) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
                if ((r = util_write_file(path, "deny")) < 0)
                        return err_set(e, r, "write %s", path);
        }
        if ((r = write_map_file(pid, "uid_map", c->uid_map, c->uid_map_count, e)) < 0 ||
            (r = write_map_file(pid, "gid_map", c->gid_map, c->gid_map_count, e)) < 0)
                return r;
        return 0;
}

/* Whether the default action of forwarded signal `sig` ends a process (the rest are ignored by
 * default; stop signals are not forwarded). */
static bool signal_ends_by_default(int sig)
{
        return sig != SIGCHLD && sig != SIGURG && sig != SIGWINCH && sig != SIGCONT;
}

/* Whether `pid`, PID 1 of its PID namespace, would lose `sig`: it neither catches, ignores nor blocks it
 * (/proc/PID/status). The kernel discards a signal left to its default action at a namespace's init,
 * even one sent from outside the namespace. */
static bool pid1_loses_signal(pid_t pid, int sig)
{
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (f == NULL)
                return false;
        unsigned long long handled = 0, mask;
        int masks_read = 0;
        while (fgets(line, sizeof(line), f)) {
                if (sscanf(line, "SigBlk: %llx", &mask) == 1 || sscanf(line, "SigIgn: %llx", &mask) == 1 ||
                    sscanf(line, "SigCgt: %llx", &mask) == 1) {
                        handled |= mask;
                        masks_read++;
                }
        }
        return masks_read == 3 && !(handled & (1ULL << (sig - 1)));
}

/* Wait for the container's PID 1 to end, forwarding signals meanwhile. Returns its wait status.
 * `pid1_is_command` (--no-init): a signal that would end any other process but that the command, as
 * PID 1, would lose ends it with SIGKILL instead, and the status says it died of that signal: without
 * this, Ctrl-C or SIGTERM could not stop a command that installs no handler (sleep, most programs). */
static int wait_container(pid_t pid, const sigset_t *forwarded, bool pid1_is_command, struct rusage *usage)
{
        sigset_t waited = *forwarded;
        sigaddset(&waited, SIGCHLD);
        int ended_by = 0;
        for (;;) {
                int status;
                pid_t done = wait4(pid, &status, WNOHANG, usage);
                if (done == pid) {
                        if (ended_by && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
                                return W_EXITCODE(0, ended_by);
                        return status;
                }
                if (done < 0 && errno != EINTR)
                        return W_EXITCODE(EXIT_RUNTIME_FAILED, 0);
                siginfo_t info;
                int sig = sigwaitinfo(&waited, &info);
                if (sig <= 0 || sig == SIGCHLD)
                        continue;
                /* Whether from a terminal (SI_KERNEL: PID 1 lost its own copy) or not. */
                if (pid1_is_command && signal_ends_by_default(sig) && pid1_loses_signal(pid, sig)) {
                        ended_by = sig;
                        kill(pid, SIGKILL);
                        continue;
                }
                /* Terminal signals (SI_KERNEL) reached the container's process group already. */
                if (info.si_code != SI_KERNEL)
                        kill(pid, sig);
        }
}

static void print_stats(const struct cgroup_stats *st, const struct rusage *usage)
{
        char size[32];
        double user = (double)usage->ru_utime.tv_sec + (double)usage->ru_utime.tv_usec / 1e6;
        double system = (double)usage->ru_stime.tv_sec + (double)usage->ru_stime.tv_usec / 1e6;
        if (st->have_peak)
                fprintf(stderr, "sysprim run: stats: peak memory %s (cgroup)\n",
                        size_format(st->peak_bytes, size, sizeof(size)));
        else
                fprintf(stderr, "sysprim run: stats: peak memory %s (largest process; no memory cgroup)\n",
                        size_format((uint64_t)usage->ru_maxrss * 1024, size, sizeof(size)));
        fprintf(stderr, "sysprim run: stats: cpu time %.3fs (user %.3fs, system %.3fs)\n", user + system, user,
                system);
        if (st->have_oom)
                fprintf(stderr, "sysprim run: stats: oom killer %s\n", st->oom_kills ? "fired" : "not fired");
        else
                fprintf(stderr, "sysprim run: stats: oom killer unknown (no memory cgroup)\n");
}

int container_run(const struct container *c)
{
        struct container_state s = { .pid = -1, .sync_write = -1, .sync_read = -1 };
        struct err e = { 0 };
        int status = EXIT_RUNTIME_FAILED;
        bool failed = true;
        char name[64];
        cgroup_init(&s.cgroup);
        /* Named after this process by pid and start time: never the name of a killed run's leftover
         * cgroup whose pid this process now has. */
        snprintf(name, sizeof(name), "sysprim-run-%d-%llu", (int)getpid(), process_start_time(getpid()));

        /* From here to the end the forwarded signals are taken synchronously: a SIGINT or SIGTERM during
         * set-up waits until there is a container to pass it to, or until everything is undone. They
         * stay blocked on return, so one arriving during tear-down cannot cut it short. */
        sigset_t forwarded;
        forwarded_signals(&forwarded);
        sigset_t blocked = forwarded;
        sigaddset(&blocked, SIGCHLD);
        sigprocmask(SIG_BLOCK, &blocked, NULL);

        if (validate(c, &e) < 0)
                goto teardown;
        /* Rootless with --stats alone: no cgroup to create without delegation; wait4() reports. */
        bool stats_only = c->stats && !c->memory_limit && !(c->cpus > 0) && !c->pids_limit;
        /* A run killed with SIGKILL cannot remove its cgroups, nor give back its address on a bridge:
         * the first run after it does. */
        cgroup_record_remove_stale();
        network_release_stale();
        if (cgroup_needed(c) && !(geteuid() != 0 && stats_only) && cgroup_create(&s.cgroup, c, name, &e) < 0) {
                if (geteuid() != 0)
                        err_wrap(&e, "cannot apply the limits rootless: they need a cgroup delegated to "
                                     "you (cgroup v2 with the controller enabled for your user, e.g. "
                                     "systemd's Delegate=yes); run as root or drop the limit");
                goto teardown;
        }
        /* The sync pipe, when the parent has work between the clone and the exec: ID maps for a user
         * namespace, the bridge's veth (network_attach). Otherwise the child runs straight through. */
        s.wait_for_id_map = c->user_namespace;
        s.wait_for_release = c->network.mode && strcmp(c->network.mode, "bridge") == 0;
        if (s.wait_for_id_map || s.wait_for_release) {
                int sync_pipe[2];
                if (pipe2(sync_pipe, O_CLOEXEC) < 0) {
                        err_set(&e, errno, "create the sync pipe");
                        goto teardown;
                }
                s.sync_read = sync_pipe[0];
                s.sync_write = sync_pipe[1];
        }

        /* Networking (issue 6): the address is taken before the clone; the child inherits the result. */
        if (network_prepare_container(&s.network, &c->network, c->hostname, &e) < 0)
                goto teardown;
        s.pid = clone_container(c, &s);
        if (s.pid < 0) {
                err_set(&e, errno, "create the container's namespaces (clone)");
                if (c->user_namespace && (e.code == EPERM || e.code == ENOSPC || e.code == EUSERS))
                        err_wrap(&e, "user namespaces are not allowed here (see sysctl "
                                     "user.max_user_namespaces, kernel.unprivileged_userns_clone)");
                else if (e.code == EPERM || e.code == ENOSPC || e.code == EUSERS)
                        err_wrap(&e, "is the kernel built with namespaces, and are they allowed here?");
                goto teardown;
        }
        if (s.pid == 0)
                child_main(c, &s);
        if (s.sync_read >= 0)
                close(s.sync_read);
        s.sync_read = -1;
        if (s.wait_for_id_map) {
                if (write_id_maps(c, s.pid, &e) < 0)
                        goto teardown;
                if (write(s.sync_write, "m", 1) < 0 && errno != EPIPE)
                        log_debug("release the container: %s", strerror(errno));
        }

        /* The child enters its cgroups and sets up its mounts meanwhile. */
        cgroup_close_attach_fds(&s.cgroup);
        /* ---- networking hook, in the parent (issue 6): the child exists, has not exec'd yet ----
         * network_setup(c, s.pid, &s.<network state>, &e) goes here; on failure `goto teardown`. */
        if (network_attach(&s.network, s.pid, &e) < 0)
                goto teardown;
        /* ---- end of networking hook ---- */

        /* Release the child. If it has failed already it said why; its exit status says 125. */
        if (s.wait_for_release && write(s.sync_write, "g", 1) < 0 && errno != EPIPE)
                log_debug("release the container: %s", strerror(errno));
        if (s.sync_write >= 0)
                close(s.sync_write);
        s.sync_write = -1;

        struct rusage usage = { 0 };
        int wait_status = wait_container(s.pid, &forwarded, !c->use_init, &usage);
        s.pid = -1;
        failed = false;
        status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);

        /* The statistics cost two reads: only for --stats, and to tell an OOM kill from another SIGKILL. */
        struct cgroup_stats stats = { 0 };
        if (c->stats || status == 128 + SIGKILL)
                cgroup_read_stats(&s.cgroup, &stats);
        if (status == 128 + SIGKILL && stats.have_oom && stats.oom_kills > 0) {
                char limit[32];
                if (c->memory_limit)
                        log_error("killed: out of memory (limit %s)",
                                  size_format(c->memory_limit, limit, sizeof(limit)));
                else
                        log_error("killed: out of memory");
        }
        if (c->stats)
                print_stats(&stats, &usage);

teardown:
        if (failed)
                err_print(&e);
        if (s.pid > 0) {
                /* Set-up failed after the clone: end the container (its whole PID namespace). */
                kill(s.pid, SIGKILL);
                while (waitpid(s.pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        /* ---- networking release (issue 6): network_release(c, &s.<network state>) goes here ---- */
        network_release(&s.network);
        /* ---- end of networking release ---- */
        if (s.sync_read >= 0)
                close(s.sync_read);
        if (s.sync_write >= 0)
                close(s.sync_write);
        struct err remove_error = { 0 };
        if (cgroup_remove(&s.cgroup, &remove_error) < 0) {
                err_print(&remove_error);
                if (status == 0)
                        status = EXIT_RUNTIME_FAILED;
        }
        return status;
}
