/* The serve applet: options, start-up (root, sockets, privileges, sandbox), one worker thread per
 * event loop, and the signal thread (SIGTERM/SIGINT drain, SIGHUP reopens the access log).
 * Server layer; the entry point of `sysprim serve`. */
#include "access_log.h"
#include "file_cache.h"
#include "listen.h"
#include "loop.h"
#include "sandbox.h"
#include "steer.h"
#include "server.h"
#include "sysprim/applet.h"
#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/opt.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

struct server server;

#define NS_PER_MS 1000000ull
#define DAY_NS (24 * 3600 * 1000000000ll) /* the longest timeout taken */

static const struct opt serve_options[] = {
        { "port", 'p', "PORT", OPT_INT, offsetof(struct serve_config, port), 0, 65535, 0, 0, NULL,
          "TCP port to listen on (0: any free port) [8080]" },
        { "bind", 'b', "ADDR", OPT_STRING, offsetof(struct serve_config, bind), 0, 0, 0, 0, NULL,
          "address to listen on, IPv4 or IPv6 [0.0.0.0]" },
        { "root", 'r', "DIR", OPT_STRING, offsetof(struct serve_config, root), 0, 0, 0, 0, NULL,
          "directory to serve [the current directory]" },
        { "threads", 't', "N", OPT_INT, offsetof(struct serve_config, threads), 1, 1024, 0, 0, NULL,
          "event loop threads [the number of CPUs]" },
        { "index", 0, "NAME", OPT_STRING, offsetof(struct serve_config, index), 0, 0, 0, 0, NULL,
          "file served for a directory [index.html]" },
        { "listing", 0, NULL, OPT_BOOL, offsetof(struct serve_config, listing), 0, 0, 0, 0, NULL,
          "list directories that have no index [on]" },
        { "cpu-steering", 0, NULL, OPT_BOOL, offsetof(struct serve_config, cpu_steering), 0, 0, 0, 0, NULL,
          "a connection goes to the worker of its CPU [on]" },
        { "sched-batch", 0, NULL, OPT_BOOL, offsetof(struct serve_config, sched_batch), 0, 0, 0, 0,
          NULL, "threads run as SCHED_BATCH: fewer preemptions [on]" },
        { "access-log", 0, "FILE", OPT_STRING, offsetof(struct serve_config, access_log), 0, 0, 0, 0, NULL,
          "Common Log Format to FILE, or - for stdout" },
        { "max-connections", 0, "N", OPT_INT, offsetof(struct serve_config, max_connections), 1, 100000000, 0, 0,
          NULL, "then new ones wait in the backlog [fd limit]" },
        { "header-timeout", 0, "TIME", OPT_DURATION, offsetof(struct serve_config, header_timeout_ns), NS_PER_MS,
          DAY_NS, 0, 0, NULL, "limit for receiving a request head [10s]" },
        { "idle-timeout", 0, "TIME", OPT_DURATION, offsetof(struct serve_config, idle_timeout_ns), NS_PER_MS,
          DAY_NS, 0, 0, NULL, "close keep-alive connections idle this long [60s]" },
        { "max-body", 0, "SIZE", OPT_SIZE, offsetof(struct serve_config, max_body), 0, 0, 0, 0, NULL,
          "413 for a larger request body (0: none) [1m]" },
        { "send-timeout", 0, "TIME", OPT_DURATION, offsetof(struct serve_config, send_timeout_ns), NS_PER_MS,
          DAY_NS, 0, 0, NULL, "close when a client reads nothing this long [30s]" },
        { "drain-timeout", 0, "TIME", OPT_DURATION, offsetof(struct serve_config, drain_timeout_ns), 0, DAY_NS, 0, 0,
          NULL, "on SIGTERM, time for responses in flight [30s]" },
        { "user", 'u', "NAME", OPT_STRING, offsetof(struct serve_config, user), 0, 0, 0, 0, NULL,
          "as root: switch to this user after binding" },
        { "no-sandbox", 0, NULL, OPT_FLAG, offsetof(struct serve_config, no_sandbox), 0, 0, 0, 0, NULL,
          "do not install the seccomp allow-list" },
        { NULL, 0, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL },
};

static int serve_main(int argc, char **argv);

const struct applet serve_applet = {
        .name = "serve",
        .summary = "serve a directory over HTTP/1.1 (static files, epoll, sandboxed)",
        .description = "Serves the files beneath --root: nothing outside it, no dotfiles, no symlink\n"
                       "out of it. SIGTERM/SIGINT finish the responses in flight and exit 0;\n"
                       "SIGHUP reopens the access log.",
        .options = serve_options,
        .config_size = sizeof(struct serve_config),
        .min_operands = 0,
        .max_operands = 0,
        .main = serve_main,
};

static uint32_t to_ms(uint64_t ns)
{
        uint64_t ms = (ns + NS_PER_MS - 1) / NS_PER_MS;
        return ms > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)ms;
}

static int cpu_count(void)
{
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
                return CPU_COUNT(&set);
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (int)n : 1;
}

/* Connections need one fd each; keep some for the file caches, the log and the loops. */
static rlim_t raise_fd_limit(void)
{
        struct rlimit limit;
        if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
                return 1024;
        if (limit.rlim_cur < limit.rlim_max) {
                limit.rlim_cur = limit.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &limit) < 0)
                        getrlimit(RLIMIT_NOFILE, &limit);
        }
        return limit.rlim_cur;
}

static int drop_privileges(const char *user)
{
        struct passwd *pw = getpwnam(user);
        if (pw == NULL) {
                log_error("--user %s: no such user", user);
                return -ENOENT;
        }
        if (geteuid() != 0) {
                if (pw->pw_uid == geteuid())
                        return 0;
                log_error("--user %s: switching users needs root", user);
                return -EPERM;
        }
        if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
                log_error("--user %s: %s", user, strerror(errno));
                return -errno;
        }
        return 0;
}

static int open_root(const char *root)
{
        char *absolute = realpath(root, NULL);
        if (absolute == NULL) {
                log_error("cannot serve %s: %s", root, strerror(errno));
                return -1;
        }
        snprintf(server.root_path, sizeof(server.root_path), "%s", absolute);
        free(absolute);
        /* O_RDONLY, not O_PATH: proves now that we can read it, rather than at the first request. */
        int fd = open(server.root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                log_error("cannot serve %s: %s", server.root_path, strerror(errno));
                return -1;
        }
        return fd;
}

static int serve_main(int argc, char **argv)
{
        struct serve_config config = {
                .port = 8080,
                .bind = "0.0.0.0",
                .root = ".",
                .threads = 0,
                .index = "index.html",
                .listing = 1,
                .cpu_steering = 1,
                .sched_batch = 1,
                .header_timeout_ns = 10000 * NS_PER_MS,
                .idle_timeout_ns = 60000 * NS_PER_MS,
                .send_timeout_ns = 30000 * NS_PER_MS,
                .max_body = 1 << 20,
                .drain_timeout_ns = 30000 * NS_PER_MS,
        };
        switch (opt_parse(&serve_applet, argc, argv, &config, NULL)) {
        case OPT_OK:
                break;
        case OPT_EXIT:
                return EXIT_OK;
        case OPT_ERROR:
                return EXIT_USAGE;
        }
        if (strlen(config.index) > NAME_MAX) {
                opt_usage_error(&serve_applet, "--index: a file name has at most %d bytes", NAME_MAX);
                return EXIT_USAGE;
        }
        if (config.index[0] == '\0' || strchr(config.index, '/') || config.index[0] == '.') {
                opt_usage_error(&serve_applet, "--index: '%s' must be a plain file name", config.index);
                return EXIT_USAGE;
        }
        struct listen_address where;
        if (listen_parse_address(config.bind, (uint16_t)config.port, &where) < 0) {
                opt_usage_error(&serve_applet, "--bind: '%s' is not an IPv4 or IPv6 address", config.bind);
                return EXIT_USAGE;
        }
        int threads = config.threads > 0 ? (int)config.threads : cpu_count();

        server.access_log_fd = -1;
        server.index_name = config.index;
        server.index_name_length = strlen(config.index);
        server.listing = config.listing;
        server.threads = threads;
        server.header_timeout_ms = to_ms(config.header_timeout_ns);
        server.idle_timeout_ms = to_ms(config.idle_timeout_ns);
        server.send_timeout_ms = to_ms(config.send_timeout_ns);
        server.drain_timeout_ms = to_ms(config.drain_timeout_ns);
        server.max_body = config.max_body;
        server.root_fd = open_root(config.root);
        if (server.root_fd < 0)
                return EXIT_FAIL;
        /* SYSPRIM_SERVE_NO_OPENAT2=1 forces the fallback, so tests cover it on kernels with openat2. */
        const char *no_openat2 = getenv("SYSPRIM_SERVE_NO_OPENAT2");
        server.openat2_works = !(no_openat2 && strcmp(no_openat2, "1") == 0) && open_beneath_probe(server.root_fd);
        if (!server.openat2_works)
                log_info("openat2 unavailable: resolving paths component by component, no symlinks");

        rlim_t fd_limit = raise_fd_limit();
        /* Per thread: its cache (1024 fds at most), its epoll and eventfd, some slack. */
        long long spare = (long long)fd_limit - 64 - (long long)threads * 1040;
        long long max_connections = config.max_connections ? config.max_connections : (spare > 64 ? spare : 64);
        server.max_connections = (unsigned)max_connections;

        int rc = EXIT_FAIL;
        int *listen_fds = calloc((size_t)threads, sizeof(int));
        struct worker *workers = calloc((size_t)threads, sizeof(struct worker));
        pthread_t *ids = calloc((size_t)threads, sizeof(pthread_t));
        int started = 0, initialised = 0;
        struct err e = { 0 };
        uint16_t port;
        if (listen_fds == NULL || workers == NULL || ids == NULL) {
                log_error("out of memory");
                goto out;
        }
        if (listen_open_sockets(&where, threads, listen_fds, &port, &e) < 0) {
                err_print(&e);
                goto out;
        }
        if (config.cpu_steering)
                steer_attach(listen_fds[0], threads);
        if (config.access_log) {
                server.access_log_fd = access_log_open(config.access_log, &e);
                if (server.access_log_fd < 0) {
                        err_print(&e);
                        goto out;
                }
        }
        if (config.user) {
                if (drop_privileges(config.user) < 0)
                        goto out;
                /* The root was opened with our old rights: check that the new ones can still read it. */
                if (faccessat(server.root_fd, ".", R_OK | X_OK, 0) < 0) {
                        log_error("cannot serve %s as user %s: %s", server.root_path, config.user, strerror(errno));
                        goto out;
                }
        }

        /* SCHED_BATCH: a thread woken by a packet does not preempt what runs on its CPU (often the
         * client that sent it, or the network softirq's task) but runs when that one sleeps, with
         * all the events that arrived meanwhile: fewer context switches per request. Only from the
         * default policy; the workers inherit it. */
        if (config.sched_batch && sched_getscheduler(0) == SCHED_OTHER) {
                struct sched_param none = { 0 };
                if (sched_setscheduler(0, SCHED_BATCH, &none) < 0)
                        log_debug("SCHED_BATCH: %s", strerror(errno));
        }

        /* Signals go to the signal thread (this one) only: block them before any worker exists. */
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGTERM);
        sigaddset(&signals, SIGINT);
        sigaddset(&signals, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &signals, NULL);
        signal(SIGPIPE, SIG_IGN);
        int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
        if (signal_fd < 0) {
                log_error("signalfd: %s", strerror(errno));
                goto out;
        }

        for (int i = 0; i < threads; i++) {
                int wrc = worker_init(&workers[i], i, listen_fds[i]);
                initialised = i + 1;
                listen_fds[i] = -1; /* the worker owns it now */
                if (wrc < 0) {
                        log_error("start event loop %d: %s", i, strerror(-wrc));
                        goto out_signal;
                }
        }
        if (!config.no_sandbox && sandbox_enter(&e) < 0) {
                err_print(&e);
                goto out_signal;
        }
        for (int i = 0; i < threads; i++) {
                atomic_fetch_add(&server.running_workers, 1);
                int prc = pthread_create(&ids[i], NULL, worker_run, &workers[i]);
                if (prc != 0) {
                        atomic_fetch_sub(&server.running_workers, 1);
                        log_error("start thread %d: %s", i, strerror(prc));
                        for (int j = 0; j < started; j++)
                                worker_wake(&workers[j]);
                        goto out_join;
                }
                started++;
        }
        printf("serving %s on http://%s:%u/ (%d thread%s)\n", server.root_path, where.text, port, threads,
               threads == 1 ? "" : "s");
        fflush(stdout);

        rc = EXIT_OK;
        for (;;) {
                struct signalfd_siginfo info;
                ssize_t n = read(signal_fd, &info, sizeof(info));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n != sizeof(info)) {
                        log_error("signalfd: %s", n < 0 ? strerror(errno) : "short read");
                        rc = EXIT_FAIL;
                        break;
                }
                if (info.ssi_signo == SIGHUP) {
                        if (config.access_log && access_log_reopen(config.access_log, server.access_log_fd, &e) < 0)
                                err_print(&e);
                        continue;
                }
                log_info("signal %u: finishing the responses in flight", info.ssi_signo);
                break;
        }
        for (int i = 0; i < started; i++)
                worker_wake(&workers[i]);
        /* While the loops drain, a second SIGTERM/SIGINT means: stop now. */
        while (rc == EXIT_OK && atomic_load(&server.running_workers) > 0) {
                struct pollfd pfd = { .fd = signal_fd, .events = POLLIN };
                if (poll(&pfd, 1, 100) <= 0)
                        continue;
                struct signalfd_siginfo info;
                if (read(signal_fd, &info, sizeof(info)) != sizeof(info) || info.ssi_signo == SIGHUP)
                        continue;
                log_info("signal %u again: closing every connection now", info.ssi_signo);
                atomic_store(&server.force_stop, true);
                for (int i = 0; i < started; i++)
                        worker_wake(&workers[i]);
                break;
        }
out_join:
        for (int i = 0; i < started; i++)
                pthread_join(ids[i], NULL);
out_signal:
        close(signal_fd);
out:
        for (int i = 0; i < initialised; i++)
                worker_destroy(&workers[i]);
        for (int i = 0; listen_fds && i < threads; i++)
                if (listen_fds[i] >= 0)
                        close(listen_fds[i]);
        if (server.access_log_fd >= 0)
                close(server.access_log_fd);
        if (server.root_fd >= 0)
                close(server.root_fd);
        free(listen_fds);
        free(workers);
        free(ids);
        return rc;
}
