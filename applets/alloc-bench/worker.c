/* sysprim-alloc-worker: runs one alloc-bench workload in a fresh process on whichever malloc the
 * dynamic linker gave it (libc's, or an LD_PRELOAD library), and proves which one that was.
 * Worker layer: linked against libc only, never against sysprim's allocator.
 *
 *   sysprim-alloc-worker identify
 *   sysprim-alloc-worker run WORKLOAD THREADS OPS DURATION_NS SEED [pin|pin=PLACEMENT]
 *
 * Output on stdout, one "key<TAB>value" per line; the parent checks the identity before it believes
 * a single number. Exit status: 0 done, 2 bad arguments, 3 the workload failed (reason on stderr). */
#include "workloads.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* The marker symbol each known allocator exports (also listed in ../shared/PEERS.md). */
static const struct {
        const char *name;
        const char *symbol;
} markers[] = {
        { "jemalloc", "mallctl" },
        { "tcmalloc", "MallocExtension_GetNumericProperty" },
        { "mimalloc", "mi_version" },
        { "builtin", "sysprim_malloc_stats" },
};

static void print_library_of(const char *key, void *address)
{
        Dl_info info;
        char resolved[PATH_MAX];
        const char *path = NULL;
        if (dladdr(address, &info) != 0 && info.dli_fname != NULL) {
                path = info.dli_fname;
                /* The main program's own symbols come back with an empty or relative name. */
                if (path[0] != '/')
                        path = "/proc/self/exe";
                if (realpath(path, resolved) != NULL)
                        path = resolved;
        }
        printf("%s\t%s\n", key, path ? path : "?");
}

static void print_version(void)
{
        void *symbol;
        if ((symbol = dlsym(RTLD_DEFAULT, "mi_version")) != NULL) {
                int v = ((int (*)(void))symbol)();
                printf("version\t%d.%d.%d\n", v / 100, v / 10 % 10, v % 10);
        } else if ((symbol = dlsym(RTLD_DEFAULT, "tc_version")) != NULL) {
                int major = 0, minor = 0;
                const char *patch = NULL;
                ((const char *(*)(int *, int *, const char **))symbol)(&major, &minor, &patch);
                printf("version\t%d.%d%s\n", major, minor, patch ? patch : "");
        } else if ((symbol = dlsym(RTLD_DEFAULT, "mallctl")) != NULL) {
                const char *version = NULL;
                size_t length = sizeof(version);
                if (((int (*)(const char *, void *, size_t *, void *, size_t))symbol)("version", &version, &length,
                                                                                   NULL, 0) == 0 &&
                    version != NULL) {
                        /* "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c": the release is enough. */
                        printf("version\t%.*s\n", (int)strcspn(version, "-"), version);
                }
        } else if (dlsym(RTLD_DEFAULT, "sysprim_malloc_stats") == NULL) {
                printf("version\t%s\n", gnu_get_libc_version());
        }
}

/* Where every entry point of the malloc family resolves (the addresses as this program's calls see
 * them), which allocator markers are present, and the allocator's version. */
static void print_identity(void)
{
        void *(*volatile malloc_fn)(size_t) = malloc;
        void (*volatile free_fn)(void *) = free;
        void *(*volatile calloc_fn)(size_t, size_t) = calloc;
        void *(*volatile realloc_fn)(void *, size_t) = realloc;
        int (*volatile memalign_fn)(void **, size_t, size_t) = posix_memalign;
        void *(*volatile aligned_fn)(size_t, size_t) = aligned_alloc;
        print_library_of("malloc", (void *)malloc_fn);
        print_library_of("free", (void *)free_fn);
        print_library_of("calloc", (void *)calloc_fn);
        print_library_of("realloc", (void *)realloc_fn);
        print_library_of("posix_memalign", (void *)memalign_fn);
        print_library_of("aligned_alloc", (void *)aligned_fn);
        for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
                if (dlsym(RTLD_DEFAULT, markers[i].symbol) != NULL)
                        printf("marker\t%s\n", markers[i].name);
        print_version();
}

/* VmHWM of this process: the peak RSS of this program image only (ru_maxrss would also count the
 * parent's memory from before exec). */
static unsigned long long peak_rss_kib(void)
{
        char buf[4096];
        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        const char *line = strstr(buf, "\nVmHWM:");
        return line ? strtoull(line + 7, NULL, 10) : 0;
}

static int parse_number(const char *text, unsigned long long max, unsigned long long *value)
{
        char *end;
        errno = 0;
        if (text[0] < '0' || text[0] > '9')
                return -1;
        *value = strtoull(text, &end, 10);
        return errno || *end != '\0' || *value > max ? -1 : 0;
}

static int usage(void)
{
        fprintf(stderr, "usage: sysprim-alloc-worker identify\n"
                        "       sysprim-alloc-worker run WORKLOAD THREADS OPS DURATION_NS SEED [pin|pin=PLACEMENT]\n"
                        "(an internal helper of `sysprim alloc-bench`)\n");
        return 2;
}

int main(int argc, char **argv)
{
        /* If alloc-bench dies (SIGINT, SIGTERM, a crash), no worker outlives it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (argc == 2 && strcmp(argv[1], "identify") == 0) {
                print_identity();
                return fflush(stdout) == 0 ? 0 : 1;
        }
        bool pin = argc == 8 && (strcmp(argv[7], "pin") == 0 || strncmp(argv[7], "pin=", 4) == 0);
        if ((argc != 7 && !pin) || strcmp(argv[1], "run") != 0)
                return usage();
        unsigned long long threads, ops, duration, seed;
        if (parse_number(argv[3], 4096, &threads) < 0 || threads == 0 || parse_number(argv[4], ULLONG_MAX, &ops) < 0 ||
            parse_number(argv[5], ULLONG_MAX, &duration) < 0 || parse_number(argv[6], ULLONG_MAX, &seed) < 0 ||
            (ops == 0) == (duration == 0))
                return usage();
        struct workload_params params = {
                .name = argv[2], .threads = (unsigned)threads, .ops = ops, .duration_ns = duration, .seed = seed,
                .pin = pin, .placement = pin && argv[7][3] == '=' ? argv[7] + 4 : NULL,
        };
        print_identity();
        fflush(stdout);
        struct workload_result result = { 0 };
        char error[256];
        if (workload_run(&params, &result, error, sizeof(error)) < 0) {
                fprintf(stderr, "sysprim-alloc-worker: %s\n", error);
                return 3;
        }
        printf("ops\t%llu\n", (unsigned long long)result.ops);
        printf("seconds\t%.9f\n", result.seconds);
        printf("cpu_seconds\t%.9f\n", result.cpu_seconds);
        printf("peak_rss_kib\t%llu\n", peak_rss_kib());
        printf("live_bytes\t%llu\n", (unsigned long long)result.live_bytes);
        printf("rss_at_live_bytes\t%llu\n", (unsigned long long)result.rss_at_live_bytes);
        printf("lane_cpus\t%s\n", result.lane_cpus);
        return fflush(stdout) == 0 ? 0 : 1;
}
