/* alloc-bench (applet layer): the entry point and option table. Plans the runs (workloads x thread
 * counts x allocators), checks each allocator's identity, runs them interleaved in fresh worker
 * processes, and hands the medians to the report writers. */
#include "bench.h"
#include "sysprim/applet.h"
#include "sysprim/err.h"
#include "sysprim/log.h"
#include "sysprim/opt.h"
#include "sysprim/size.h"
#include "sysprim/util.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <gnu/libc-version.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 1024
#define MAX_OPS 1000000000000ULL
#define DURATION_UNSET UINT64_MAX /* outside both options' ranges */
#define MS_NS 1000000LL
#define HOUR_NS (3600 * 1000000000LL)

struct alloc_bench_config {
        struct opt_list threads;
        struct opt_list workloads;
        struct opt_list allocators;
        long long runs;
        const char *ops_text; /* --ops as given: checked in plan() with a message that says why */
        uint64_t ops;
        uint64_t duration;
        long long seed;
        uint64_t timeout;
        int json;
        int csv;
        int markdown;
        int list;
        const char *svg;
        const char *html;
        const char *clock;
        int pin;
        const char *placement;
};

/* "100000", "100k", "2M", "1g": decimal thousands, since these are counts, not bytes. */
static int parse_ops(const char *arg, uint64_t *field)
{
        char *end;
        errno = 0;
        if (arg[0] < '0' || arg[0] > '9')
                return -EINVAL;
        unsigned long long value = strtoull(arg, &end, 10);
        unsigned long long scale = 1;
        if (*end == 'k' || *end == 'K')
                scale = 1000, end++;
        else if (*end == 'm' || *end == 'M')
                scale = 1000000, end++;
        else if (*end == 'g' || *end == 'G')
                scale = 1000000000, end++;
        if (errno || *end != '\0' || value == 0 || value > MAX_OPS / scale)
                return -EINVAL;
        *field = value * scale;
        return 0;
}

static const struct opt alloc_bench_options[] = {
        { "threads", 't', "N[,N...]", OPT_LIST, offsetof(struct alloc_bench_config, threads), 0, 0, 0, 0, NULL,
          "thread counts (default: 1 and the CPU count)" },
        { "workload", 'w', "NAME[,...]", OPT_LIST, offsetof(struct alloc_bench_config, workloads), 0, 0, 0, 0, NULL,
          "workloads to run (default: all; see --list)" },
        { "allocator", 'a', "NAME|PATH[,...]", OPT_LIST, offsetof(struct alloc_bench_config, allocators), 0, 0, 0,
          0, NULL, "builtin glibc jemalloc tcmalloc mimalloc, a .so" },
        { "runs", 'r', "R", OPT_INT, offsetof(struct alloc_bench_config, runs), 1, 1000, 0, 0, NULL,
          "interleaved runs; the median is shown (default 3)" },
        { "ops", 'n', "N", OPT_STRING, offsetof(struct alloc_bench_config, ops_text), 0, 0, 0, 0, NULL,
          "operations per thread and run, e.g. 100k" },
        { "duration", 'd', "TIME", OPT_DURATION, offsetof(struct alloc_bench_config, duration), MS_NS, HOUR_NS, 0, 0,
          NULL,
          "run each workload for TIME instead of --ops" },
        { "seed", 's', "S", OPT_INT, offsetof(struct alloc_bench_config, seed), 0, INT64_MAX, 0, 0, NULL,
          "seed of the random sizes (default 1)" },
        { "clock", 0, "wall|cpu", OPT_STRING, offsetof(struct alloc_bench_config, clock), 0, 0, 0, 0, NULL,
          "cpu: count CPU-seconds, not wall time" },
        { "pin", 0, NULL, OPT_FLAG, offsetof(struct alloc_bench_config, pin), 0, 0, 0, 0, NULL,
          "pin thread i to the i-th usable CPU, round robin" },
        { "placement", 0, "N,N,...", OPT_STRING, offsetof(struct alloc_bench_config, placement), 0, 0, 0, 0, NULL,
          "pin thread i to CPU N[i mod count], e.g. 0,0,1,1" },
        { "timeout", 0, "TIME", OPT_DURATION, offsetof(struct alloc_bench_config, timeout), MS_NS, 24 * HOUR_NS, 0, 0,
          NULL,
          "stop a worker running longer (default 120s)" },
        { "json", 0, NULL, OPT_FLAG, offsetof(struct alloc_bench_config, json), 0, 0, 0, 0, NULL,
          "print the results as JSON" },
        { "csv", 0, NULL, OPT_FLAG, offsetof(struct alloc_bench_config, csv), 0, 0, 0, 0, NULL,
          "print the results as CSV, one line per cell" },
        { "markdown", 0, NULL, OPT_FLAG, offsetof(struct alloc_bench_config, markdown), 0, 0, 0, 0, NULL,
          "print the results as Markdown tables" },
        { "svg", 0, "FILE", OPT_STRING, offsetof(struct alloc_bench_config, svg), 0, 0, 0, 0, NULL,
          "also write a bar chart of the ratios to glibc" },
        { "html", 0, "FILE", OPT_STRING, offsetof(struct alloc_bench_config, html), 0, 0, 0, 0, NULL,
          "also write a page with the chart and the tables" },
        { "list", 'l', NULL, OPT_FLAG, offsetof(struct alloc_bench_config, list), 0, 0, 0, 0, NULL,
          "list workloads and allocators found, and exit" },
        { NULL, 0, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL },
};

static int alloc_bench_main(int argc, char **argv);

const struct applet alloc_bench_applet = {
        .name = "alloc-bench",
        .summary = "benchmark sysprim's allocator against glibc, jemalloc, tcmalloc, mimalloc",
        .usage = NULL,
        .description = "Runs every workload with every allocator found, each run in a fresh worker\n"
                       "process (LD_PRELOAD), runs interleaved; prints medians, ratios to glibc and\n"
                       "peak RSS. A worker proves which library served malloc, or is refused.",
        .options = alloc_bench_options,
        .config_size = sizeof(struct alloc_bench_config),
        .min_operands = 0,
        .max_operands = 0,
        .stop_at_operand = 0,
        .main = alloc_bench_main,
};

/* Calls fn(item) for every comma-separated item of every occurrence of a list option. */
static int for_each_item(const struct opt_list *list, int (*fn)(const char *item, void *ctx), void *ctx)
{
        for (size_t i = 0; i < list->count; i++) {
                _cleanup_free_ char *copy = strdup(list->items[i]);
                if (copy == NULL)
                        return -ENOMEM;
                char *save = NULL;
                bool any = false;
                for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                        any = true;
                        int rc = fn(item, ctx);
                        if (rc < 0)
                                return rc;
                }
                if (!any)
                        return fn("", ctx);
        }
        return 0;
}

/* --placement: numbers of usable CPUs (0 = the first this process may run on), comma-separated. */
static int check_placement(const char *list, struct bench *b)
{
        cpu_set_t set;
        unsigned usable = sched_getaffinity(0, sizeof(set), &set) == 0 ? (unsigned)CPU_COUNT(&set) : 1;
        size_t length = strlen(list);
        if (length >= sizeof(b->placement) || placement_parse(list, usable, NULL, SIZE_MAX) < 0)
                return opt_usage_error(&alloc_bench_applet, "--placement: invalid value '%s' (CPU numbers 0 to %u, "
                                       "the CPUs this process may use, separated by commas, e.g. 0,0,1,1)",
                                       list, usable - 1);
        memcpy(b->placement, list, length + 1);
        return 0;
}

struct plan_ctx {
        struct bench *bench;
        char error[512];
};

static int add_thread_count(const char *item, void *opaque)
{
        struct plan_ctx *ctx = opaque;
        struct bench *b = ctx->bench;
        uint64_t n;
        if (uint_parse(item, MAX_THREADS, &n) < 0 || n == 0) {
                snprintf(ctx->error, sizeof(ctx->error), "--threads: invalid value '%s' (expected 1 to %d, or a list "
                         "such as 1,2,4)", item, MAX_THREADS);
                return -EINVAL;
        }
        for (size_t i = 0; i < b->thread_count; i++)
                if (b->threads[i] == n)
                        return 0;
        unsigned *grown = realloc(b->threads, (b->thread_count + 1) * sizeof(*grown));
        if (grown == NULL)
                return -ENOMEM;
        b->threads = grown;
        b->threads[b->thread_count++] = (unsigned)n;
        return 0;
}

static int add_workload(const char *item, void *opaque)
{
        struct plan_ctx *ctx = opaque;
        struct bench *b = ctx->bench;
        const struct workload_info *w = workload_find(item);
        if (w == NULL) {
                char names[256] = "";
                for (size_t i = 0; i < workload_count; i++)
                        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
                                 workload_table[i].name);
                snprintf(ctx->error, sizeof(ctx->error), "--workload: unknown workload '%s' (one of %s)", item, names);
                return -EINVAL;
        }
        for (size_t i = 0; i < b->workload_count; i++)
                if (b->workloads[i] == w)
                        return 0;
        const struct workload_info **grown = realloc(b->workloads, (b->workload_count + 1) * sizeof(*grown));
        if (grown == NULL)
                return -ENOMEM;
        b->workloads = grown;
        b->workloads[b->workload_count++] = w;
        return 0;
}

static int add_allocator(const char *item, void *opaque)
{
        struct plan_ctx *ctx = opaque;
        struct bench *b = ctx->bench;
        struct allocator a;
        struct err e = { 0 };
        if (allocator_resolve(item, &a, &e) < 0) {
                snprintf(ctx->error, sizeof(ctx->error), "%s", e.msg);
                return -EINVAL;
        }
        for (size_t i = 0; i < b->allocator_count; i++)
                if (strcmp(b->allocators[i].name, a.name) == 0 && strcmp(b->allocators[i].library, a.library) == 0)
                        return 0;
        struct allocator *grown = realloc(b->allocators, (b->allocator_count + 1) * sizeof(*grown));
        if (grown == NULL)
                return -ENOMEM;
        b->allocators = grown;
        b->allocators[b->allocator_count++] = a;
        return 0;
}

static void bench_free(struct bench *b)
{
        for (size_t i = 0; i < b->cell_count; i++)
                free(b->cells[i].samples);
        free(b->cells);
        free(b->workloads);
        free(b->threads);
        free(b->allocators);
}

/* Turn the parsed options into a plan; a usage error prints one line and returns OPT_ERROR. */
static enum opt_result plan(struct alloc_bench_config *c, struct bench *b)
{
        struct plan_ctx ctx = { .bench = b };
        b->cpus = sysconf(_SC_NPROCESSORS_ONLN);
        if (b->cpus < 1)
                b->cpus = 1;
        snprintf(b->glibc_version, sizeof(b->glibc_version), "%s", gnu_get_libc_version());
        if (c->json + c->csv + c->markdown > 1)
                return opt_usage_error(&alloc_bench_applet, "--json, --csv and --markdown exclude each other");
        if (c->ops_text && parse_ops(c->ops_text, &c->ops) < 0)
                return opt_usage_error(&alloc_bench_applet, "--ops: invalid value '%s' (a count from 1 to 1000G: "
                                       "digits, then k, M or G for thousands, millions or billions)", c->ops_text);
        bool have_duration = c->duration != DURATION_UNSET;
        if (c->ops && have_duration)
                return opt_usage_error(&alloc_bench_applet, "--ops and --duration exclude each other");
        /* A chart that cannot be written is found out now, not after a minute of measuring. */
        const char *outputs[][2] = { { "--svg", c->svg }, { "--html", c->html } };
        for (size_t i = 0; i < 2; i++) {
                if (outputs[i][1] == NULL)
                        continue;
                /* Without leaving a file behind: a usage error, --list or a failed run writes no chart. */
                int fd = open(outputs[i][1], O_WRONLY | O_CLOEXEC);
                bool created = false;
                if (fd < 0 && errno == ENOENT) {
                        fd = open(outputs[i][1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                        created = fd >= 0;
                }
                if (fd < 0)
                        return opt_usage_error(&alloc_bench_applet, "%s %s: cannot write: %s", outputs[i][0],
                                               outputs[i][1], strerror(errno));
                close(fd);
                if (created)
                        unlink(outputs[i][1]);
        }
        if (c->clock && strcmp(c->clock, "wall") != 0 && strcmp(c->clock, "cpu") != 0)
                return opt_usage_error(&alloc_bench_applet, "--clock: invalid value '%s' (wall or cpu)", c->clock);
        b->cpu_clock = c->clock && strcmp(c->clock, "cpu") == 0;
        b->pin = c->pin != 0 || c->placement != NULL;
        if (c->placement) {
                int rc = check_placement(c->placement, b);
                if (rc)
                        return rc;
        }
        b->runs = (unsigned)c->runs;
        b->ops = c->ops;
        b->duration_ns = have_duration ? c->duration : 0;
        b->seed = (uint64_t)c->seed;
        /* Unless told otherwise, a worker gets two minutes, or twice its --duration and one more. */
        b->timeout_ns = c->timeout != DURATION_UNSET ? c->timeout
                        : have_duration && c->duration > 30ULL * 1000000000 ? 2 * c->duration + 60ULL * 1000000000
                                                                            : 120ULL * 1000000000;

        int rc = 0;
        if (c->threads.count) {
                rc = for_each_item(&c->threads, add_thread_count, &ctx);
        } else {
                char text[32];
                snprintf(text, sizeof(text), "%ld", b->cpus > MAX_THREADS ? MAX_THREADS : b->cpus);
                rc = add_thread_count("1", &ctx);
                if (rc == 0)
                        rc = add_thread_count(text, &ctx);
        }
        if (rc == 0) {
                if (c->workloads.count)
                        rc = for_each_item(&c->workloads, add_workload, &ctx);
                else
                        for (size_t i = 0; i < workload_count && rc == 0; i++)
                                rc = add_workload(workload_table[i].name, &ctx);
        }
        if (rc == 0) {
                if (c->allocators.count)
                        rc = for_each_item(&c->allocators, add_allocator, &ctx);
                else
                        for (size_t i = 0; allocator_default_names[i] && rc == 0; i++)
                                rc = add_allocator(allocator_default_names[i], &ctx);
        }
        if (rc == -ENOMEM) {
                log_error("out of memory");
                return OPT_ERROR;
        }
        if (rc < 0)
                return opt_usage_error(&alloc_bench_applet, "%s", ctx.error);
        return OPT_OK;
}

/* Ask each allocator's worker who serves malloc before measuring anything. A library given by path
 * that is not a malloc is a usage error; a known allocator that fails the check is refused. */
static int probe_allocators(struct bench *b, bool *refused)
{
        for (size_t i = 0; i < b->allocator_count; i++) {
                struct allocator *a = &b->allocators[i];
                if (a->status != ALLOCATOR_OK)
                        continue;
                static const char *const args[] = { "identify", NULL };
                struct worker_output out;
                struct err e = { 0 };
                char why[900];
                if (runner_run(b, a, args, &out, &e) < 0) {
                        snprintf(why, sizeof(why), "%s", e.msg);
                } else if (allocator_identity_ok(a, &out, why, sizeof(why))) {
                        /* The built-in allocator has no version of its own: it is sysprim's. */
                        snprintf(a->version, sizeof(a->version), "%s",
                                 out.version[0] || strcmp(a->name, "builtin") != 0 ? out.version : SYSPRIM_VERSION);
                        snprintf(a->served_by, sizeof(a->served_by), "%s", out.symbol_library[0]);
                        continue;
                }
                if (a->from_path) {
                        opt_usage_error(&alloc_bench_applet, "--allocator %s: not a malloc library: %s", a->library,
                                        why);
                        return -EINVAL;
                }
                a->status = ALLOCATOR_REFUSED;
                snprintf(a->reason, sizeof(a->reason), "identity check failed: %s", why);
                log_error("%s: refused: %s", a->name, a->reason);
                *refused = true;
        }
        return 0;
}

extern char **environ;

/* Variables that tune or check an allocator reach the workers as they are (the caller may want
 * that), but they change the numbers, so say which ones are set. */
static void warn_allocator_environment(void)
{
        static const char *const prefixes[] = { "MALLOC_", "GLIBC_TUNABLES=", "MIMALLOC_", "TCMALLOC_",
                                                "JE_MALLOC_CONF=", "SYSPRIM_MALLOC_" };
        char names[512] = "";
        for (char **e = environ; *e; e++) {
                for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
                        if (strncmp(*e, prefixes[i], strlen(prefixes[i])) != 0 ||
                            strncmp(*e, "SYSPRIM_MALLOC_LIB=", 19) == 0)
                                continue;
                        size_t used = strlen(names);
                        snprintf(names + used, sizeof(names) - used, "%s%.*s", used ? ", " : "",
                                 (int)strcspn(*e, "="), *e);
                        break;
                }
        }
        if (names[0])
                log_warn("set in the environment and passed to every worker: %s", names);
}

static const char *plural(unsigned n, const char *one, const char *many)
{
        return n == 1 ? one : many;
}

static void progress(const struct bench *b, size_t done, size_t total, const char *what)
{
        if (!b->progress)
                return;
        bool tty = isatty(STDERR_FILENO);
        fprintf(stderr, "%s[%3zu/%zu] %s%s", tty ? "\r\033[K" : "", done, total, what, tty ? "" : "\n");
        fflush(stderr);
}

/* Runs, interleaved: for each workload and thread count, run 1 of every allocator, then run 2 of
 * every allocator, ... so that drift of a noisy machine touches every allocator alike. */
static bool run_all(struct bench *b)
{
        size_t measured = 0;
        for (size_t i = 0; i < b->allocator_count; i++)
                measured += b->allocators[i].status == ALLOCATOR_OK;
        size_t total = b->workload_count * b->thread_count * b->runs * measured, done = 0;
        bool ok = true;
        for (size_t w = 0; w < b->workload_count; w++) {
                const struct workload_info *workload = b->workloads[w];
                for (size_t t = 0; t < b->thread_count; t++) {
                        char threads[16], ops[32], duration[32], seed[32];
                        snprintf(threads, sizeof(threads), "%u", b->threads[t]);
                        snprintf(ops, sizeof(ops), "%llu",
                                 (unsigned long long)(b->duration_ns ? 0 : b->ops ? b->ops : workload->default_ops));
                        snprintf(duration, sizeof(duration), "%llu", (unsigned long long)b->duration_ns);
                        snprintf(seed, sizeof(seed), "%llu", (unsigned long long)b->seed);
                        char pin[sizeof(b->placement) + 8];
                        snprintf(pin, sizeof(pin), b->placement[0] ? "pin=%s" : "pin", b->placement);
                        const char *args[] = { "run", workload->name, threads, ops, duration, seed,
                                               b->pin ? pin : NULL, NULL };
                        for (unsigned r = 0; r < b->runs; r++) {
                                /* Each round starts with the next allocator: none always runs
                                 * right after another's exit or always first. */
                                for (size_t i = 0; i < b->allocator_count; i++) {
                                        size_t a = (i + r) % b->allocator_count;
                                        struct allocator *alloc = &b->allocators[a];
                                        struct cell *cell = bench_cell(b, w, t, a);
                                        if (alloc->status != ALLOCATOR_OK)
                                                continue;
                                        char what[256];
                                        snprintf(what, sizeof(what), "%s, %u %s, %s, run %u/%u", workload->name,
                                                 b->threads[t], plural(b->threads[t], "thread", "threads"), alloc->name,
                                                 r + 1, b->runs);
                                        progress(b, ++done, total, what);
                                        if (cell->failed)
                                                continue;
                                        struct worker_output out;
                                        struct err e = { 0 };
                                        char why[900];
                                        if (runner_run(b, alloc, args, &out, &e) < 0) {
                                                snprintf(cell->error, sizeof(cell->error), "%s", e.msg);
                                        } else if (!allocator_identity_ok(alloc, &out, why, sizeof(why))) {
                                                snprintf(cell->error, sizeof(cell->error), "result refused: %s", why);
                                        } else if (!out.has_result || out.ops == 0 || out.seconds <= 0 ||
                                                   (b->cpu_clock && out.cpu_seconds <= 0)) {
                                                snprintf(cell->error, sizeof(cell->error), "the worker reported no result");
                                        } else {
                                                cell->samples[cell->sample_count++] = (struct sample){
                                                        .mops = (double)out.ops /
                                                                (b->cpu_clock ? out.cpu_seconds : out.seconds) / 1e6,
                                                        .ops = out.ops,
                                                        .seconds = out.seconds,
                                                        .cpu_seconds = out.cpu_seconds,
                                                        .process_cpu_seconds = out.process_cpu_seconds,
                                                        .peak_rss_bytes = out.peak_rss_bytes,
                                                        .live_bytes = out.live_bytes,
                                                        .rss_at_live_bytes = out.rss_at_live_bytes,
                                                };
                                                struct sample *s = &cell->samples[cell->sample_count - 1];
                                                snprintf(s->lane_cpus, sizeof(s->lane_cpus), "%.*s",
                                                         (int)sizeof(s->lane_cpus) - 1, out.lane_cpus);
                                                s->placement = workload->paired_lanes ? pair_placement(out.lane_cpus)
                                                                                      : PAIRS_UNKNOWN;
                                                log_info("%s: %.3f Mops/s (%llu ops in %.3g s), peak RSS %llu KiB", what,
                                                         (double)out.ops / out.seconds / 1e6,
                                                         (unsigned long long)out.ops, out.seconds,
                                                         (unsigned long long)(out.peak_rss_bytes / 1024));
                                                continue;
                                        }
                                        cell->failed = true;
                                        ok = false;
                                        if (b->progress && isatty(STDERR_FILENO))
                                                fputc('\n', stderr);
                                        log_error("%s with %s, %u %s: %s", workload->name, alloc->name, b->threads[t],
                                                  plural(b->threads[t], "thread", "threads"), cell->error);
                                }
                        }
                }
        }
        if (b->progress && isatty(STDERR_FILENO) && total > 0)
                fputs("\r\033[K", stderr);
        return ok;
}

static void print_list(const struct bench *b)
{
        printf("Workloads:\n");
        for (size_t i = 0; i < workload_count; i++) {
                /* The recipe, wrapped under the name at 80 columns. */
                const char *text = workload_table[i].stresses;
                const char *name = workload_table[i].name;
                while (*text) {
                        size_t len = strlen(text);
                        if (len > 62) {
                                len = 62;
                                while (len > 0 && text[len] != ' ')
                                        len--;
                                if (len == 0)
                                        len = 62;
                        }
                        printf("  %-14s %.*s\n", name, (int)len, text);
                        name = "";
                        text += len;
                        while (*text == ' ')
                                text++;
                }
                printf("  %-14s op: %s; default %llu\n", "", workload_table[i].operation,
                       (unsigned long long)workload_table[i].default_ops);
        }
        printf("\nAllocators:\n");
        for (size_t i = 0; i < b->allocator_count; i++) {
                const struct allocator *a = &b->allocators[i];
                if (a->status == ALLOCATOR_OK)
                        printf("  %-14s %s\n", a->name, a->kind == KIND_GLIBC ? "the C library's malloc" : a->library);
                else
                        printf("  %-14s skipped: %s\n", a->name, a->reason);
        }
}

static int alloc_bench_main(int argc, char **argv)
{
        struct alloc_bench_config config = {
                .runs = 3, .seed = 1, .duration = DURATION_UNSET, .timeout = DURATION_UNSET,
        };
        struct bench b = { 0 };
        int status = EXIT_OK;
        enum opt_result parsed = opt_parse(&alloc_bench_applet, argc, argv, &config, NULL);
        if (parsed != OPT_OK) {
                status = parsed == OPT_EXIT ? EXIT_OK : EXIT_USAGE;
                goto out;
        }
        if (plan(&config, &b) != OPT_OK) {
                status = EXIT_USAGE;
                goto out;
        }
        if (config.list) {
                print_list(&b);
                goto out;
        }
        struct err e = { 0 };
        if (runner_find_worker(b.worker, sizeof(b.worker), &e) < 0) {
                err_print(&e);
                status = EXIT_FAIL;
                goto out;
        }
        b.progress = log_get_level() >= LOG_WARN;
        bool refused = false;
        if (probe_allocators(&b, &refused) < 0) {
                status = EXIT_USAGE;
                goto out;
        }
        warn_allocator_environment();
        for (size_t i = 0; i < b.allocator_count; i++)
                if (b.allocators[i].status == ALLOCATOR_SKIPPED)
                        log_warn("%s: skipped: %s", b.allocators[i].name, b.allocators[i].reason);

        size_t measurable = 0;
        for (size_t i = 0; i < b.allocator_count; i++)
                measurable += b.allocators[i].status == ALLOCATOR_OK;
        if (measurable == 0) {
                log_error("no allocator left to measure (see the messages above)");
                status = EXIT_FAIL;
                goto out;
        }
        b.cell_count = b.workload_count * b.thread_count * b.allocator_count;
        b.cells = calloc(b.cell_count ? b.cell_count : 1, sizeof(*b.cells));
        if (b.cells == NULL) {
                log_error("out of memory");
                status = EXIT_FAIL;
                goto out;
        }
        for (size_t w = 0; w < b.workload_count; w++)
                for (size_t t = 0; t < b.thread_count; t++)
                        for (size_t a = 0; a < b.allocator_count; a++) {
                                struct cell *cell = bench_cell(&b, w, t, a);
                                cell->workload = b.workloads[w];
                                cell->threads = b.threads[t];
                                cell->allocator = a;
                                cell->samples = calloc(b.runs, sizeof(*cell->samples));
                                if (cell->samples == NULL) {
                                        log_error("out of memory");
                                        status = EXIT_FAIL;
                                        goto out;
                                }
                        }
        bool ok = run_all(&b);
        bench_summarize(&b);
        if (config.json)
                report_json(&b, stdout);
        else if (config.csv)
                report_csv(&b, stdout);
        else if (config.markdown)
                report_markdown(&b, stdout);
        else
                report_table(&b, stdout);
        if (fflush(stdout) != 0) {
                log_errno(LOG_ERROR, errno, "write the report");
                ok = false;
        }
        if (config.svg && chart_write_svg(&b, config.svg, &e) < 0) {
                err_print(&e);
                ok = false;
        }
        if (config.html && chart_write_html(&b, config.html, &e) < 0) {
                err_print(&e);
                ok = false;
        }
        status = ok && !refused ? EXIT_OK : EXIT_FAIL;
out:
        bench_free(&b);
        opt_free(&alloc_bench_applet, &config);
        return status;
}
