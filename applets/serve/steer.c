/* Connection steering by CPU (see steer.h). Server layer. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "steer.h"

#include "sysprim/log.h"

#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif

/* A look needs at least this many new connections, and happens at most once a second. */
#define STEER_WINDOW 64
#define STEER_INTERVAL_MS 1000
/* Steering stops after this many looks in a row found one worker far over its share: one burst of
 * connections from a client whose threads happened to share a CPU is not a pattern. */
#define STEER_SKEWED_LOOKS 3

/* One counter per worker, each on its own cache line, written only by its worker. */
struct steer_counter {
        _Alignas(64) atomic_uint accepted;
};

static struct steer_counter *counters;
static unsigned *seen;         /* per worker: `accepted` at the last look (the looker's copy) */
static unsigned *fresh;        /* per worker: accepted since then (the looker's scratch) */
static int worker_count;
static atomic_bool active;
static atomic_flag reviewing = ATOMIC_FLAG_INIT;
static _Atomic uint64_t last_review_ms;
static unsigned skewed_looks;  /* the looker's: consecutive looks that found one worker far over */

bool steer_attach(int listen_fd, int workers)
{
        cpu_set_t set;
        if (workers < 2 || sched_getaffinity(0, sizeof(set), &set) < 0)
                return false;
        int cpus[CPU_SETSIZE], usable = 0;
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
                if (CPU_ISSET(cpu, &set))
                        cpus[usable++] = cpu;
        if (workers > usable) {
                log_debug("connection steering off: %d workers for %d CPUs", workers, usable);
                return false;
        }
        counters = aligned_alloc(64, sizeof(*counters) * (size_t)workers);
        seen = calloc((size_t)workers, sizeof(*seen));
        fresh = calloc((size_t)workers, sizeof(*fresh));
        /* A = the CPU the packet is processed on; worker i owns the i-th usable CPU. A CPU without a
         * worker returns an index past the group, and the kernel falls back to its hash. */
        size_t length = 2 + 2 * (size_t)workers;
        struct sock_filter *code = calloc(length, sizeof(*code));
        if (counters == NULL || seen == NULL || fresh == NULL || code == NULL) {
                free(counters);
                free(seen);
                free(fresh);
                free(code);
                counters = NULL;
                seen = fresh = NULL;
                return false;
        }
        memset(counters, 0, sizeof(*counters) * (size_t)workers);
        size_t n = 0;
        code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_CPU));
        for (int i = 0; i < workers; i++) {
                code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)cpus[i], 0, 1);
                code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (uint32_t)i);
        }
        code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (uint32_t)workers);
        struct sock_fprog program = { .len = (unsigned short)n, .filter = code };
        int rc = setsockopt(listen_fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof(program));
        int saved = errno;
        free(code);
        if (rc < 0) {
                log_debug("connection steering off: SO_ATTACH_REUSEPORT_CBPF: %s", strerror(saved));
                return false;
        }
        worker_count = workers;
        atomic_store(&active, true);
        log_debug("connection steering on: worker i takes the connections arriving on the i-th of the %d CPUs "
                  "this process may use (first %d, last %d)", usable, cpus[0], cpus[usable - 1]);
        return true;
}

void steer_note_accept(int worker)
{
        if (!atomic_load_explicit(&active, memory_order_relaxed))
                return;
        atomic_uint *count = &counters[worker].accepted;
        atomic_store_explicit(count, atomic_load_explicit(count, memory_order_relaxed) + 1, memory_order_relaxed);
}

void steer_review(int listen_fd, uint64_t now_ms)
{
        if (!atomic_load_explicit(&active, memory_order_relaxed) || listen_fd < 0)
                return;
        uint64_t last = atomic_load_explicit(&last_review_ms, memory_order_relaxed);
        if ((int64_t)(now_ms - last) < STEER_INTERVAL_MS || atomic_flag_test_and_set(&reviewing))
                return;
        atomic_store_explicit(&last_review_ms, now_ms, memory_order_relaxed);
        unsigned total = 0, most = 0;
        int busiest = 0;
        for (int i = 0; i < worker_count; i++) {
                fresh[i] = atomic_load_explicit(&counters[i].accepted, memory_order_relaxed) - seen[i];
                total += fresh[i];
                if (fresh[i] > most) {
                        most = fresh[i];
                        busiest = i;
                }
        }
        if (total >= STEER_WINDOW) {
                for (int i = 0; i < worker_count; i++)
                        seen[i] += fresh[i];
                /* Far over a fair share: halfway from 1/N to all of them (75% of 2 workers). */
                bool skewed = (uint64_t)most * 2 * (uint64_t)worker_count > (uint64_t)total * (uint64_t)(worker_count + 1);
                skewed_looks = skewed ? skewed_looks + 1 : 0;
                if (skewed_looks >= STEER_SKEWED_LOOKS) {
                        int dummy = 0;
                        atomic_store(&active, false);
                        if (setsockopt(listen_fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &dummy, sizeof(dummy)) == 0) {
                                log_info("worker %d got %u of the last %u connections (they arrive on too few "
                                         "CPUs): spreading them by hash from now on", busiest, most, total);
                        } else {
                                log_warn("connection steering: SO_DETACH_REUSEPORT_BPF: %s", strerror(errno));
                        }
                }
        }
        atomic_flag_clear(&reviewing);
}
