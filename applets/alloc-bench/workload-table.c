/* alloc-bench: the workload table (names, recipes in one line, default operation counts). Defaults
 * are chosen so a full default run (7 workloads x 5 allocators x 2 thread counts x 3 runs) takes about
 * a minute on 2 cores. Shared by the applet and the worker. */
#include "workload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const struct workload_info workload_table[] = {
        { "seed", "thread-local malloc/free pairs, 8..1024 B, live window of 64 blocks",
          "one malloc/free pair", 1000000, 0, 0 },
        { "larson", "server-like churn of 16..1000 B blocks; a new thread inherits the blocks every "
                    "10,000 ops (cross-thread free, thread create/exit)",
          "one free+malloc", 2000000, 0, 0 },
        { "prodcons", "producer threads hand 16..1000 B blocks to consumers through a ring; every "
                      "free is remote",
          "one block produced and freed", 2000000, 0, 1 },
        { "cache-scratch", "each thread mallocs an 8-byte object and writes it 64 times; objects of "
                           "different threads sharing a cache line slow it down (false sharing)",
          "one malloc + 64 writes + free", 2000000, 0, 0 },
        { "large", "64 KiB..4 MiB blocks, every page written; page heap and return of memory to the OS",
          "one free+malloc of a large block", 1000, 0, 0 },
        { "realloc", "buffers grown by 1 B..64 KiB steps up to 16 MiB (new bytes written per page)",
          "one realloc", 5000, 0, 0 },
        { "fragment", "allocate 16..128 B objects, free every other one, then allocate 129..1024 B "
                      "ones; RSS against live bytes",
          "one malloc", 600000, 1, 0 },
};
const size_t workload_count = sizeof(workload_table) / sizeof(workload_table[0]);

const struct workload_info *workload_find(const char *name)
{
        for (size_t i = 0; name && i < workload_count; i++)
                if (strcmp(workload_table[i].name, name) == 0)
                        return &workload_table[i];
        return NULL;
}

int placement_parse(const char *list, unsigned usable, unsigned *out, size_t max)
{
        size_t n = 0;
        for (const char *p = list;; p++) {
                if (*p < '0' || *p > '9' || n == max)
                        return -1;
                char *end;
                errno = 0;
                unsigned long cpu = strtoul(p, &end, 10);
                if (errno || cpu >= usable || (*end != ',' && *end != '\0'))
                        return -1;
                if (out)
                        out[n] = (unsigned)cpu;
                n++;
                p = end;
                if (*p == '\0')
                        return (int)n;
        }
}
