/* alloc-bench (applet layer): finds the worker executable and runs it, one fresh process per run,
 * with exactly the LD_PRELOAD the allocator needs (and none inherited from the caller). */
#include "bench.h"
#include "applets/alloc-bench/alloc-bench-config.h"
#include "sysprim/err.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int runner_find_worker(char *path, size_t size, struct err *e)
{
        char dir[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
        if (n > 0) {
                dir[n] = '\0';
                char *slash = strrchr(dir, '/');
                if (slash)
                        *slash = '\0';
                /* build tree, beside the binary, relocated install (bin/../libexec/sysprim) */
                const char *relative[] = { ALLOC_BENCH_WORKER_BUILD_DIR, ".", ALLOC_BENCH_WORKER_RELATIVE_DIR };
                for (size_t i = 0; i < sizeof(relative) / sizeof(relative[0]); i++) {
                        if (relative[i][0] == '\0')
                                continue;
                        char candidate[PATH_MAX * 2 + 64];
                        snprintf(candidate, sizeof(candidate), "%s/%s/%s", dir, relative[i], ALLOC_BENCH_WORKER_NAME);
                        if (access(candidate, X_OK) == 0 && realpath(candidate, path) != NULL)
                                return 0;
                }
        }
        if (access(ALLOC_BENCH_WORKER_INSTALLED, X_OK) == 0) {
                snprintf(path, size, "%s", ALLOC_BENCH_WORKER_INSTALLED);
                return 0;
        }
        return err_set(e, ENOENT, "cannot find %s beside sysprim or at %s (reinstall sysprim)",
                       ALLOC_BENCH_WORKER_NAME, ALLOC_BENCH_WORKER_INSTALLED);
}

/* The caller's environment without LD_PRELOAD, plus ours. */
static char **worker_environment(const struct allocator *a, char *preload, size_t preload_size)
{
        size_t n = 0;
        while (environ[n])
                n++;
        char **env = calloc(n + 2, sizeof(*env));
        if (env == NULL)
                return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
                        env[k++] = environ[i];
        if (a->kind == KIND_PRELOAD) {
                snprintf(preload, preload_size, "LD_PRELOAD=%s", a->library);
                env[k++] = preload;
        }
        env[k] = NULL;
        return env;
}

static void parse_line(char *line, struct worker_output *out)
{
        static const char *const symbols[WORKER_SYMBOLS] = { "malloc", "free", "calloc", "realloc",
                                                             "posix_memalign", "aligned_alloc" };
        char *tab = strchr(line, '\t');
        if (tab == NULL)
                return;
        *tab = '\0';
        const char *key = line, *value = tab + 1;
        for (int i = 0; i < WORKER_SYMBOLS; i++)
                if (strcmp(key, symbols[i]) == 0)
                        snprintf(out->symbol_library[i], sizeof(out->symbol_library[i]), "%s", value);
        if (strcmp(key, "marker") == 0) {
                size_t used = strlen(out->markers);
                snprintf(out->markers + used, sizeof(out->markers) - used, "%s%s", used ? "," : "", value);
        } else if (strcmp(key, "version") == 0) {
                snprintf(out->version, sizeof(out->version), "%s", value);
        } else if (strcmp(key, "ops") == 0) {
                out->ops = strtoull(value, NULL, 10);
                out->has_result = true;
        } else if (strcmp(key, "seconds") == 0) {
                out->seconds = strtod(value, NULL);
        } else if (strcmp(key, "cpu_seconds") == 0) {
                out->cpu_seconds = strtod(value, NULL);
        } else if (strcmp(key, "peak_rss_kib") == 0) {
                out->peak_rss_bytes = strtoull(value, NULL, 10) * 1024;
        } else if (strcmp(key, "live_bytes") == 0) {
                out->live_bytes = strtoull(value, NULL, 10);
        } else if (strcmp(key, "rss_at_live_bytes") == 0) {
                out->rss_at_live_bytes = strtoull(value, NULL, 10);
        } else if (strcmp(key, "lane_cpus") == 0) {
                snprintf(out->lane_cpus, sizeof(out->lane_cpus), "%s", value);
        }
}

static int64_t now_ns(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The last non-empty line of what the worker wrote on stderr (its one-line reason). */
static const char *last_line(char *text)
{
        size_t n = strlen(text);
        while (n > 0 && text[n - 1] == '\n')
                text[--n] = '\0';
        char *nl = strrchr(text, '\n');
        return nl ? nl + 1 : text;
}

int runner_run(const struct bench *b, const struct allocator *a, const char *const *args, struct worker_output *out,
               struct err *e)
{
        memset(out, 0, sizeof(*out));
        int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
        if (pipe2(out_pipe, O_CLOEXEC) < 0)
                return err_set(e, errno, "pipe");
        if (pipe2(err_pipe, O_CLOEXEC) < 0) {
                int saved = errno;
                close(out_pipe[0]);
                close(out_pipe[1]);
                return err_set(e, saved, "pipe");
        }
        char preload[PATH_MAX + 16];
        char **env = worker_environment(a, preload, sizeof(preload));
        const char *argv[16];
        size_t argc = 0;
        argv[argc++] = ALLOC_BENCH_WORKER_NAME;
        for (size_t i = 0; args[i] && argc < 15; i++)
                argv[argc++] = args[i];
        argv[argc] = NULL;

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
        posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
        pid_t pid = -1;
        int rc = env ? posix_spawn(&pid, b->worker, &actions, NULL, (char *const *)argv, env) : ENOMEM;
        posix_spawn_file_actions_destroy(&actions);
        free(env);
        close(out_pipe[1]);
        close(err_pipe[1]);
        if (rc != 0) {
                close(out_pipe[0]);
                close(err_pipe[0]);
                return err_set(e, rc, "cannot start %s", b->worker);
        }

        /* Read both pipes until the worker closes them or the time limit passes. */
        char stdout_buf[16384], stderr_buf[4096];
        size_t stdout_len = 0, stderr_len = 0;
        bool timed_out = false;
        int64_t deadline = now_ns() + (int64_t)b->timeout_ns;
        struct pollfd fds[2] = { { out_pipe[0], POLLIN, 0 }, { err_pipe[0], POLLIN, 0 } };
        while (fds[0].fd >= 0 || fds[1].fd >= 0) {
                int64_t left = deadline - now_ns();
                if (left <= 0) {
                        timed_out = true;
                        break;
                }
                int64_t wait_ms = left / 1000000 + 1;
                int ready = poll(fds, 2, wait_ms > 60000 ? 60000 : (int)wait_ms);
                if (ready < 0 && errno != EINTR)
                        break;
                for (int i = 0; i < 2; i++) {
                        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        char scratch[4096];
                        char *buf = i == 0 ? stdout_buf : stderr_buf;
                        size_t cap = i == 0 ? sizeof(stdout_buf) : sizeof(stderr_buf);
                        size_t *len = i == 0 ? &stdout_len : &stderr_len;
                        ssize_t got = read(fds[i].fd, scratch, sizeof(scratch));
                        if (got <= 0) {
                                if (got < 0 && errno == EINTR)
                                        continue;
                                close(fds[i].fd);
                                fds[i].fd = -1;
                                continue;
                        }
                        size_t keep = (size_t)got < cap - 1 - *len ? (size_t)got : cap - 1 - *len;
                        memcpy(buf + *len, scratch, keep);
                        *len += keep;
                }
        }
        for (int i = 0; i < 2; i++)
                if (fds[i].fd >= 0)
                        close(fds[i].fd);
        stdout_buf[stdout_len] = '\0';
        stderr_buf[stderr_len] = '\0';
        if (timed_out)
                kill(pid, SIGKILL);
        int status = 0;
        struct rusage usage = { 0 };
        while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR)
                ;
        out->process_cpu_seconds = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec * 1e-6 +
                                   (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec * 1e-6;

        if (timed_out)
                return err_set(e, ETIMEDOUT, "the worker ran longer than %.0f s and was stopped (see --timeout)",
                               (double)b->timeout_ns / 1e9);
        if (WIFSIGNALED(status))
                return err_set(e, EIO, "the worker died of signal %d (%s)%s%s", WTERMSIG(status),
                               strsignal(WTERMSIG(status)), stderr_len ? ": " : "", last_line(stderr_buf));
        if (WEXITSTATUS(status) != 0)
                return err_set(e, EIO, "the worker failed (status %d): %s", WEXITSTATUS(status),
                               stderr_len ? last_line(stderr_buf) : "no message");
        for (char *line = stdout_buf, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                parse_line(line, out);
        }
        return 0;
}
