/* alloc-bench: the list of workloads (name, what each stresses, the unit of one operation and the
 * default count), shared by the applet (which plans runs) and the worker (which executes them). */
#ifndef ALLOC_BENCH_WORKLOAD_H
#define ALLOC_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

struct workload_info {
        const char *name;        /* "seed" */
        const char *stresses;    /* one line for --list and the README */
        const char *operation;   /* what one counted operation is */
        uint64_t default_ops;    /* operations per thread (per pair for prodcons) in one run */
        int reports_live_bytes;  /* 1: the worker also reports RSS against live bytes (fragment) */
        int paired_lanes;        /* 1: lanes 2k and 2k+1 are a producer and its consumer (prodcons) */
};

extern const struct workload_info workload_table[];
extern const size_t workload_count;

/* The workload called `name`, or NULL. */
const struct workload_info *workload_find(const char *name);

/* --placement: numbers of the CPUs this process may use (0 = the first of them), each below `usable`,
 * separated by commas, nothing else. Stores them in out[] (when out is not NULL; at most max) and
 * returns how many, or -1 for a malformed list or one longer than max. */
int placement_parse(const char *list, unsigned usable, unsigned *out, size_t max);

#endif
