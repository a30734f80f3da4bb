/* alloc-bench (applet layer): the types shared by the parts of the parent process: the allocators
 * asked for, the worker's answers, the measured cells, and the report writers. */
#ifndef ALLOC_BENCH_BENCH_H
#define ALLOC_BENCH_BENCH_H

#include "workload.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct err;

enum allocator_status {
        ALLOCATOR_OK,      /* found; measured */
        ALLOCATOR_SKIPPED, /* not installed / not built: listed once with the reason */
        ALLOCATOR_REFUSED, /* the worker's identity did not match: no number is reported */
};

enum allocator_kind { KIND_GLIBC, KIND_PRELOAD };

struct allocator {
        char name[64];             /* "jemalloc", or the file name for --allocator PATH.so */
        enum allocator_kind kind;
        char library[PATH_MAX];    /* resolved path of the LD_PRELOAD library ("" for glibc) */
        const char *marker;        /* marker the worker must see ("jemalloc"...), or NULL */
        const char *package;       /* Debian package that provides it, or NULL */
        bool from_path;            /* given as a path by the user */
        enum allocator_status status;
        char reason[1024];          /* why skipped or refused */
        char version[64];          /* as the worker reported it */
        char served_by[PATH_MAX];  /* the library that served malloc in the identify run */
};

/* What one worker process said. */
#define WORKER_SYMBOLS 6
struct worker_output {
        char symbol_library[WORKER_SYMBOLS][PATH_MAX]; /* malloc, free, calloc, realloc, ... */
        char markers[128];                             /* "jemalloc,tcmalloc" */
        char version[64];
        bool has_result;
        uint64_t ops;
        double seconds;
        uint64_t peak_rss_bytes;
        uint64_t live_bytes;
        uint64_t rss_at_live_bytes;
        double cpu_seconds;        /* CPU time of the timed stretch, all threads */
        double process_cpu_seconds; /* user + system time of the whole worker process (wait4) */
        char lane_cpus[512];       /* "0,1,0,1": the CPU each lane finished on */
};

struct sample {
        double mops;
        uint64_t ops;
        double seconds;
        double cpu_seconds;
        double process_cpu_seconds;
        uint64_t peak_rss_bytes;
        uint64_t live_bytes;
        uint64_t rss_at_live_bytes;
        char lane_cpus[64];        /* as the worker said (a prefix when there are many lanes) */
        int placement;             /* enum pair_placement, for workloads with paired lanes */
};

/* Where the producers and consumers of a paired-lane run finished, from its lane_cpus. */
enum pair_placement {
        PAIRS_UNKNOWN,
        PAIRS_TOGETHER, /* every producer on the CPU of its consumer */
        PAIRS_APART,    /* none */
        PAIRS_MIXED,
};
enum pair_placement pair_placement(const char *lane_cpus);

/* One workload x thread count x allocator: the runs and their medians. */
struct cell {
        const struct workload_info *workload;
        unsigned threads;
        size_t allocator;          /* index into bench.allocators */
        struct sample *samples;
        size_t sample_count;
        bool failed;
        char error[1024];
        /* filled by bench_summarize() */
        double mops, mops_min, mops_max;
        uint64_t peak_rss_bytes;
        uint64_t live_bytes, rss_at_live_bytes;
        double ratio_glibc;        /* throughput / glibc's; 0 when unknown */
        double rss_ratio_glibc;    /* peak RSS / glibc's; 0 when unknown */
};

struct bench {
        /* what to run */
        const struct workload_info **workloads;
        size_t workload_count;
        unsigned *threads;
        size_t thread_count;
        struct allocator *allocators;
        size_t allocator_count;
        unsigned runs;
        uint64_t ops;          /* per thread; 0: each workload's default (unless duration) */
        uint64_t duration_ns;  /* per run; 0: count operations */
        uint64_t seed;
        uint64_t timeout_ns;   /* a worker running longer is killed */
        bool cpu_clock;        /* Mops per CPU-second instead of per wall-clock second */
        bool pin;              /* thread i runs on the i-th usable CPU only (round robin) */
        char placement[200];   /* --placement: thread i on usable CPU number placement[i mod n]; "" */
        bool progress;         /* progress lines on stderr */
        char worker[PATH_MAX];
        /* what was measured: workload-major, then threads, then allocator */
        struct cell *cells;
        size_t cell_count;
        long cpus;
        char glibc_version[64];
};

/* allocators.c */
/* Fill `a` for a name (builtin, glibc, jemalloc, tcmalloc, mimalloc) or a path to a library. 0, or
 * negative (unknown name, missing or unusable file) with a message in `e` for a usage error. A known
 * allocator that is not installed is returned with status ALLOCATOR_SKIPPED and a reason. */
int allocator_resolve(const char *request, struct allocator *a, struct err *e);
/* The names `sysprim alloc-bench` runs when --allocator is not given, in order. */
extern const char *const allocator_default_names[];
/* Whether the worker's identity shows that `a`, and only `a`, served malloc. false: `why` says how. */
bool allocator_identity_ok(const struct allocator *a, const struct worker_output *out, char *why, size_t why_size);

/* runner.c */
/* Find sysprim-alloc-worker next to this executable (build tree or installed). 0 or -ENOENT. */
int runner_find_worker(char *path, size_t size, struct err *e);
/* Run the worker once for allocator `a` with arguments `args` (NULL-terminated, after argv[0]); parse
 * what it printed. 0, or negative with the reason (crash, timeout, workload failure) in `e`. */
int runner_run(const struct bench *b, const struct allocator *a, const char *const *args, struct worker_output *out,
               struct err *e);

/* report.c */
void bench_summarize(struct bench *b);
struct cell *bench_cell(const struct bench *b, size_t workload, size_t thread, size_t allocator);
void report_table(const struct bench *b, FILE *out);
void report_json(const struct bench *b, FILE *out);
void report_csv(const struct bench *b, FILE *out);
void report_markdown(const struct bench *b, FILE *out);

/* chart.c */
/* The ratios to glibc as an SVG bar chart (throughput and peak RSS), standalone or inside a page. */
int chart_write_svg(const struct bench *b, const char *path, struct err *e);
int chart_write_html(const struct bench *b, const char *path, struct err *e);

#endif
