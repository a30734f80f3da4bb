/* alloc-bench worker: runs one workload with whatever malloc this process was given. Worker layer
 * only (never linked into sysprim, whose own malloc would serve it). */
#ifndef ALLOC_BENCH_WORKLOADS_H
#define ALLOC_BENCH_WORKLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct workload_params {
        const char *name;
        unsigned threads;     /* prodcons: threads / 2 producer/consumer pairs, at least one */
        uint64_t ops;         /* per thread (per pair for prodcons); 0 when duration_ns is set */
        uint64_t duration_ns; /* run until this much time has passed; 0: run `ops` */
        uint64_t seed;
        bool pin;             /* thread of lane i on the i-th CPU this process may use, round robin */
        const char *placement; /* with pin: "0,0,1,1": lane i on usable CPU number LIST[i mod length] */
};

struct workload_result {
        uint64_t ops;               /* operations done by all threads */
        double seconds;             /* from the start signal until the last thread finished */
        double cpu_seconds;         /* CPU time of all threads over the same stretch */
        uint64_t live_bytes;        /* fragment: bytes requested and live at the measuring point */
        uint64_t rss_at_live_bytes; /* fragment: RSS growth over the start at that point */
        char lane_cpus[512];        /* "0,1,0,1": the CPU each lane finished on (a prefix if many) */
};

/* Run the workload. 0, or -1 with a one-line reason in `error` (heap corruption detected, out of
 * memory, thread creation failed, unknown workload). */
int workload_run(const struct workload_params *params, struct workload_result *result, char *error,
                 size_t error_size);

/* Resident set size of this process in bytes (from /proc/self/statm); 0 if unreadable. */
uint64_t workload_rss_bytes(void);

#endif
