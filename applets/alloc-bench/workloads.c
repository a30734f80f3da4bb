/* alloc-bench worker: the workload recipes and the thread harness that times them. Worker layer:
 * compiled only into sysprim-alloc-worker, with -fno-builtin-malloc -fno-builtin-free so the compiler
 * cannot elide a malloc/free pair, and every call goes to whichever malloc the process was given.
 * Every block carries a tag that is checked before it is freed, so a broken allocator is reported
 * as such instead of producing a fast number. */
#include "workloads.h"
#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- random numbers: wyrand, seeded per thread from --seed, so every allocator sees the same
 * sequence of sizes. */

static inline uint64_t rng_next(uint64_t *state)
{
        *state += 0xa0761d6478bd642fULL;
        __uint128_t t = (__uint128_t)*state * (*state ^ 0xe7037ed1a0b428dbULL);
        return (uint64_t)(t >> 64) ^ (uint64_t)t;
}

/* Uniform in [low, high]. */
static inline uint64_t rng_range(uint64_t *state, uint64_t low, uint64_t high)
{
        return low + (uint64_t)(((__uint128_t)rng_next(state) * (high - low + 1)) >> 64);
}

static uint64_t rng_seed(uint64_t seed, unsigned lane)
{
        uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (lane + 1); /* splitmix64 */
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

/* ---- harness: lanes (one per thread), a start gate so thread creation is not timed, completion by
 * semaphore so a lane may move to a new thread (larson) and still be joined at the end. */

enum lane_status { LANE_DONE, LANE_HANDED_OFF };

struct harness;

struct lane {
        struct harness *harness;
        unsigned index;
        uint64_t rng;
        uint64_t ops;            /* operations this lane completed (set when it is done) */
        pthread_t thread;        /* the thread that finished the lane, joined by the main thread */
        pthread_t predecessor;   /* larson: the thread that handed the lane over, joined by the next */
        bool handed_over;
        int cpu;                 /* where the lane's last thread finished */
        void *state;             /* the workload's per-lane data */
};

struct workload_def {
        const char *name;
        unsigned (*lanes)(unsigned threads); /* NULL: one lane per thread */
        int (*setup)(struct harness *h);     /* main thread, before the start (not timed) */
        int (*prepare)(struct lane *lane);   /* the lane's first thread, before the start (not timed) */
        enum lane_status (*body)(struct lane *lane);
        void (*teardown)(struct harness *h); /* main thread, after everything was joined */
};

struct harness {
        const struct workload_def *def;
        const struct workload_params *params;
        unsigned lane_count;
        struct lane *lanes;
        void *shared;                  /* the workload's shared data */
        pthread_mutex_t gate_lock;
        pthread_cond_t gate_cond;
        unsigned ready;
        bool open;
        sem_t finished;
        atomic_int stop;               /* duration elapsed, or a lane failed */
        atomic_int failed;
        char error[256];
        uint64_t live_bytes, rss_at_live_bytes, rss_start;
        atomic_uint fragment_arrived;
        atomic_int fragment_measured;
        unsigned pin_count;            /* --pin: the CPUs this process may use, in order; else 0 */
        int pin_cpus[CPU_SETSIZE];
};

static void harness_fail(struct harness *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void harness_fail(struct harness *h, const char *fmt, ...)
{
        int expected = 0;
        if (atomic_compare_exchange_strong(&h->failed, &expected, 1)) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(h->error, sizeof(h->error), fmt, ap);
                va_end(ap);
        }
        atomic_store(&h->stop, 1);
}

static bool harness_failed(struct harness *h)
{
        return atomic_load_explicit(&h->failed, memory_order_relaxed) != 0;
}

/* How many operations to do before looking at the clock flag again: up to `chunk`, fewer at the end
 * of an --ops run, 0 when the lane must stop. */
static inline uint64_t lane_batch(struct lane *lane, uint64_t done, uint64_t chunk)
{
        struct harness *h = lane->harness;
        if (atomic_load_explicit(&h->stop, memory_order_relaxed))
                return 0;
        uint64_t target = h->params->ops;
        if (target == 0)
                return chunk;
        return done >= target ? 0 : (target - done < chunk ? target - done : chunk);
}

static void *lane_main(void *arg);

/* --placement: replace the usable CPUs h->pin_cpus[] by the ones the list names, in its order. */
static int placement_map(struct harness *h, const char *list, char *error, size_t error_size)
{
        int usable[CPU_SETSIZE];
        unsigned index[CPU_SETSIZE], count = h->pin_count;
        int n = placement_parse(list, count, index, CPU_SETSIZE);
        if (n < 0) {
                snprintf(error, error_size, "--placement %s: expected CPU numbers below %u (the usable CPUs), "
                         "separated by commas", list, count);
                return -1;
        }
        memcpy(usable, h->pin_cpus, count * sizeof(usable[0]));
        for (int k = 0; k < n; k++)
                h->pin_cpus[k] = usable[index[k]];
        h->pin_count = (unsigned)n;
        return 0;
}

/* A thread for the lane; with --pin it starts on its CPU and stays there (lane i on the i-th usable
 * CPU, round robin), so every allocator runs with the same placement. Without it the scheduler
 * decides, and where it puts a producer and its consumer (one core or two) can move a run by 5x. */
static int lane_thread_create(struct harness *h, struct lane *lane, pthread_t *thread)
{
        pthread_attr_t attr, *attrp = NULL;
        if (h->pin_count) {
                cpu_set_t set;
                CPU_ZERO(&set);
                CPU_SET(h->pin_cpus[lane->index % h->pin_count], &set);
                if (pthread_attr_init(&attr) != 0)
                        return ENOMEM;
                int rc = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
                if (rc != 0) {
                        pthread_attr_destroy(&attr);
                        return rc;
                }
                attrp = &attr;
        }
        int rc = pthread_create(thread, attrp, lane_main, lane);
        if (attrp)
                pthread_attr_destroy(attrp);
        return rc;
}

static void lane_finish(struct lane *lane)
{
        lane->thread = pthread_self();
        lane->cpu = sched_getcpu();
        sem_post(&lane->harness->finished);
}

static void *lane_main(void *arg)
{
        struct lane *lane = arg;
        struct harness *h = lane->harness;
        if (lane->handed_over) {
                pthread_join(lane->predecessor, NULL);
        } else {
                if (h->def->prepare && h->def->prepare(lane) < 0)
                        atomic_store(&h->stop, 1);
                pthread_mutex_lock(&h->gate_lock);
                h->ready++;
                pthread_cond_broadcast(&h->gate_cond);
                while (!h->open)
                        pthread_cond_wait(&h->gate_cond, &h->gate_lock);
                pthread_mutex_unlock(&h->gate_lock);
        }
        if (h->def->body(lane) == LANE_DONE)
                lane_finish(lane);
        return NULL;
}

static double seconds_since(const struct timespec *start)
{
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) * 1e-9;
}

/* Harness bookkeeping lives in mmap'ed memory so that it is not served by the allocator under test. */
static void *harness_map(size_t size)
{
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        return p == MAP_FAILED ? NULL : p;
}

uint64_t workload_rss_bytes(void)
{
        char buf[128];
        int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        unsigned long long size = 0, resident = 0;
        if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
                return 0;
        return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* ---- block tags: the first and last byte of every block hold a byte derived from its size. */

static inline unsigned char tag_of(size_t size)
{
        return (unsigned char)(size * 0x9dU + 0x5aU);
}

static inline void tag_block(unsigned char *p, size_t size)
{
        p[0] = p[size - 1] = tag_of(size);
}

static inline bool tag_ok(const unsigned char *p, size_t size)
{
        return p[0] == tag_of(size) && p[size - 1] == tag_of(size);
}

#define CHECK_ALLOC(h, p, size)                                                                         \
        do {                                                                                            \
                if ((p) == NULL) {                                                                      \
                        harness_fail((h), "malloc(%zu) returned NULL: %s", (size_t)(size), strerror(errno)); \
                        goto out;                                                                       \
                }                                                                                       \
        } while (0)

#define CHECK_TAG(h, p, size)                                                                           \
        do {                                                                                            \
                if (!tag_ok((p), (size))) {                                                             \
                        harness_fail((h), "heap corruption: block %p of %zu bytes lost its contents",   \
                                     (void *)(p), (size_t)(size));                                      \
                        goto out;                                                                       \
                }                                                                                       \
        } while (0)

/* ---- seed: the project's origin benchmark: malloc/free pairs of 8..1024 bytes, 64 live blocks. */

#define SEED_WINDOW 64

static enum lane_status seed_body(struct lane *lane)
{
        struct harness *h = lane->harness;
        unsigned char *slot[SEED_WINDOW] = { 0 };
        uint32_t size[SEED_WINDOW] = { 0 };
        uint64_t done = 0, batch;
        while ((batch = lane_batch(lane, done, 256)) > 0) {
                for (uint64_t i = 0; i < batch; i++) {
                        unsigned j = (unsigned)(rng_next(&lane->rng) & (SEED_WINDOW - 1));
                        if (slot[j]) {
                                CHECK_TAG(h, slot[j], size[j]);
                                free(slot[j]);
                        }
                        size_t s = rng_range(&lane->rng, 8, 1024);
                        slot[j] = malloc(s);
                        CHECK_ALLOC(h, slot[j], s);
                        tag_block(slot[j], s);
                        size[j] = (uint32_t)s;
                }
                done += batch;
        }
out:
        for (unsigned j = 0; j < SEED_WINDOW; j++)
                free(slot[j]);
        lane->ops = done;
        return LANE_DONE;
}

/* ---- larson: 1000 blocks of 16..1000 bytes per lane, replaced at random; every LARSON_ROUND
 * operations the lane moves to a new thread, which frees what the old one allocated. */

#define LARSON_BLOCKS 1000
#define LARSON_ROUND 10000

struct larson_lane {
        unsigned char *slot[LARSON_BLOCKS];
        uint32_t size[LARSON_BLOCKS];
        uint64_t done;
};

static int larson_setup(struct harness *h)
{
        for (unsigned i = 0; i < h->lane_count; i++) {
                h->lanes[i].state = harness_map(sizeof(struct larson_lane));
                if (h->lanes[i].state == NULL)
                        return -1;
        }
        return 0;
}

static void larson_teardown(struct harness *h)
{
        for (unsigned i = 0; i < h->lane_count; i++)
                if (h->lanes[i].state)
                        munmap(h->lanes[i].state, sizeof(struct larson_lane));
}

static int larson_prepare(struct lane *lane)
{
        struct larson_lane *st = lane->state;
        for (unsigned j = 0; j < LARSON_BLOCKS; j++) {
                size_t s = rng_range(&lane->rng, 16, 1000);
                st->slot[j] = malloc(s);
                if (st->slot[j] == NULL) {
                        harness_fail(lane->harness, "malloc(%zu) returned NULL", s);
                        return -1;
                }
                tag_block(st->slot[j], s);
                st->size[j] = (uint32_t)s;
        }
        return 0;
}

static enum lane_status larson_body(struct lane *lane)
{
        struct harness *h = lane->harness;
        struct larson_lane *st = lane->state;
        uint64_t round = 0, batch;
        while (round < LARSON_ROUND &&
               (batch = lane_batch(lane, st->done, LARSON_ROUND - round < 256 ? LARSON_ROUND - round : 256))) {
                for (uint64_t i = 0; i < batch; i++) {
                        unsigned j = (unsigned)rng_range(&lane->rng, 0, LARSON_BLOCKS - 1);
                        if (st->slot[j]) {
                                CHECK_TAG(h, st->slot[j], st->size[j]);
                                free(st->slot[j]);
                                st->slot[j] = NULL;
                        }
                        size_t s = rng_range(&lane->rng, 16, 1000);
                        st->slot[j] = malloc(s);
                        CHECK_ALLOC(h, st->slot[j], s);
                        tag_block(st->slot[j], s);
                        st->size[j] = (uint32_t)s;
                }
                st->done += batch;
                round += batch;
        }
        if (lane_batch(lane, st->done, 1) > 0) {
                /* Hand the blocks to a new thread; it joins this one, which ends here. */
                pthread_t successor;
                lane->predecessor = pthread_self();
                lane->handed_over = true;
                int rc = lane_thread_create(h, lane, &successor);
                if (rc == 0)
                        return LANE_HANDED_OFF;
                harness_fail(h, "larson: cannot create a thread: %s", strerror(rc));
        }
out:
        for (unsigned j = 0; j < LARSON_BLOCKS; j++)
                free(st->slot[j]);
        lane->ops = st->done;
        return LANE_DONE;
}

/* ---- prodcons: pairs of threads; the producer mallocs 16..1000-byte blocks and passes them through a
 * single-producer single-consumer ring to its consumer, which checks and frees them (remote free). */

#define RING_SIZE 1024

struct ring {
        _Alignas(64) atomic_size_t head; /* next slot the consumer reads */
        _Alignas(64) atomic_size_t tail; /* next slot the producer writes */
        _Alignas(64) atomic_uint consumer_asleep; /* futex: 1 while the consumer waits for a block */
        _Alignas(64) atomic_uint producer_asleep; /* futex: 1 while the producer waits for room */
        _Alignas(64) unsigned char *slot[RING_SIZE];
        uint32_t size[RING_SIZE];
};

static unsigned prodcons_lanes(unsigned threads)
{
        return threads < 2 ? 2 : threads / 2 * 2;
}

static int prodcons_setup(struct harness *h)
{
        unsigned pairs = h->lane_count / 2;
        struct ring *rings = harness_map(pairs * sizeof(struct ring));
        if (rings == NULL)
                return -1;
        h->shared = rings;
        for (unsigned i = 0; i < h->lane_count; i++)
                h->lanes[i].state = &rings[i / 2];
        return 0;
}

static void prodcons_teardown(struct harness *h)
{
        if (h->shared)
                munmap(h->shared, h->lane_count / 2 * sizeof(struct ring));
}

static inline void cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
}

/* A short wait: spin, then yield (the machine may have fewer cores than threads). */
static void spin_wait(unsigned *spins)
{
        if (++*spins < 64)
                cpu_pause();
        else
                sched_yield();
}

/* Wait politely: the machine may have fewer cores than threads. Spin briefly, yield a few times, then
 * sleep on the ring's futex until the other side has moved (it wakes us; a 1 ms timeout is only a net).
 * Never spin-yield without end: with more threads than cores, two threads that only yield to each
 * other measure the scheduler, not the allocator, and glibc looked better there because its lock
 * makes its threads sleep. `ready` says whether the condition being waited for already holds. */
static void ring_wait(unsigned *spins, atomic_uint *asleep, struct ring *r,
                      bool (*ready)(struct ring *r, size_t at), size_t at)
{
        ++*spins;
        if (*spins < 128) {
                cpu_pause();
                return;
        }
        if (*spins < 136) {
                sched_yield();
                return;
        }
        atomic_store(asleep, 1); /* seq_cst: ordered before the re-check, as the waker's side is */
        if (!ready(r, at)) {
                struct timespec timeout = {0, 1000000};
                syscall(SYS_futex, asleep, FUTEX_WAIT_PRIVATE, 1, &timeout, NULL, 0);
        }
        atomic_store_explicit(asleep, 0, memory_order_relaxed);
}

/* After moving its counter: wake the other side if it sleeps. */
static inline void ring_wake(atomic_uint *asleep)
{
        if (atomic_load(asleep) && atomic_exchange(asleep, 0))
                syscall(SYS_futex, asleep, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The conditions waited for. seq_cst loads: in ring_wait they must not pass the store to `asleep`
 * (the waker stores its counter, then loads `asleep`); on x86 they cost what acquire loads do. */
static bool ring_has_room(struct ring *r, size_t tail)
{
        return tail - atomic_load(&r->head) != RING_SIZE;
}

static bool ring_has_block(struct ring *r, size_t head)
{
        return atomic_load(&r->tail) != head;
}

/* Each side keeps its own copy of the other side's counter and reads the shared one only when that
 * copy says the ring is full (producer) or empty (consumer); and each publishes its own counter only
 * every RING_PUBLISH blocks, and before it waits (then the other side may go on). The counters' cache
 * lines then move between cores about once per RING_PUBLISH blocks whichever side is faster. Reading
 * the other's counter only was not enough: the faster side catches up, waits, and then reads the
 * counter the slower side stores after every block, so each block cost a cache-line transfer on the
 * slower side, and an allocator with a cheaper free made its own producer slower (2026-11-29: a
 * producer and its consumer on two CPUs, builtin 0.81x tcmalloc; most of the producer's time went to
 * the store of its counter). Without this the ring's own traffic was most of the run time whenever a
 * pair sat on two cores, and the scheduler's placement, not the allocator, decided the result. */
#define RING_PUBLISH 32

static void ring_publish(atomic_size_t *counter, size_t value, atomic_uint *other_asleep)
{
        atomic_store(counter, value);
        ring_wake(other_asleep);
}

static bool ring_push(struct harness *h, struct ring *r, size_t *head_seen, size_t *tail, unsigned char *p,
                      uint32_t size)
{
        size_t t = *tail;
        if (t - *head_seen == RING_SIZE) {
                ring_publish(&r->tail, t, &r->consumer_asleep);
                unsigned spins = 0;
                while (!ring_has_room(r, t)) {
                        if (harness_failed(h))
                                return false;
                        ring_wait(&spins, &r->producer_asleep, r, ring_has_room, t);
                }
                *head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        }
        r->slot[t % RING_SIZE] = p;
        r->size[t % RING_SIZE] = size;
        *tail = ++t;
        if (t % RING_PUBLISH == 0 || p == NULL) /* NULL ends the stream: no more to wait for */
                ring_publish(&r->tail, t, &r->consumer_asleep);
        return true;
}

static enum lane_status producer_body(struct lane *lane)
{
        struct harness *h = lane->harness;
        struct ring *r = lane->state;
        uint64_t done = 0, batch;
        size_t head_seen = 0, tail = 0;
        while ((batch = lane_batch(lane, done, 64)) > 0) {
                for (uint64_t i = 0; i < batch; i++) {
                        size_t s = rng_range(&lane->rng, 16, 1000);
                        unsigned char *p = malloc(s);
                        CHECK_ALLOC(h, p, s);
                        tag_block(p, s);
                        if (!ring_push(h, r, &head_seen, &tail, p, (uint32_t)s)) {
                                free(p);
                                goto out;
                        }
                }
                done += batch;
        }
out:
        ring_push(h, r, &head_seen, &tail, NULL, 0); /* end of stream */
        lane->ops = 0;           /* the consumer counts the blocks */
        return LANE_DONE;
}

static enum lane_status consumer_body(struct lane *lane)
{
        struct harness *h = lane->harness;
        struct ring *r = lane->state;
        uint64_t done = 0;
        size_t head = 0, tail_seen = 0;
        for (;;) {
                if (head == tail_seen) {
                        ring_publish(&r->head, head, &r->producer_asleep);
                        unsigned spins = 0;
                        while (!ring_has_block(r, head)) {
                                if (harness_failed(h))
                                        goto out;
                                ring_wait(&spins, &r->consumer_asleep, r, ring_has_block, head);
                        }
                        tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
                }
                unsigned char *p = r->slot[head % RING_SIZE];
                uint32_t s = r->size[head % RING_SIZE];
                if (++head % RING_PUBLISH == 0)
                        ring_publish(&r->head, head, &r->producer_asleep);
                if (p == NULL)
                        break;
                CHECK_TAG(h, p, s);
                free(p);
                done++;
        }
out:
        lane->ops = done;
        return LANE_DONE;
}

static enum lane_status prodcons_body(struct lane *lane)
{
        return lane->index % 2 == 0 ? producer_body(lane) : consumer_body(lane);
}

/* ---- cache-scratch (Hoard's): the main thread allocates one 8-byte object per thread, side by side;
 * each thread frees its object, then mallocs 8 bytes, writes them 64 times and frees them, again and
 * again. An allocator that hands a thread memory on another thread's cache line makes it crawl. */

#define SCRATCH_OBJECT 8
#define SCRATCH_WRITES 8 /* passes over the object's 8 bytes */

static int scratch_setup(struct harness *h)
{
        for (unsigned i = 0; i < h->lane_count; i++) {
                h->lanes[i].state = malloc(SCRATCH_OBJECT);
                if (h->lanes[i].state == NULL)
                        return -1;
                memset(h->lanes[i].state, 0, SCRATCH_OBJECT);
        }
        return 0;
}

static enum lane_status scratch_body(struct lane *lane)
{
        struct harness *h = lane->harness;
        uint64_t done = 0, batch;
        free(lane->state); /* a remote free: the main thread allocated it */
        lane->state = NULL;
        while ((batch = lane_batch(lane, done, 64)) > 0) {
                for (uint64_t i = 0; i < batch; i++) {
                        volatile unsigned char *p = malloc(SCRATCH_OBJECT);
                        CHECK_ALLOC(h, p, SCRATCH_OBJECT);
                        for (unsigned pass = 0; pass < SCRATCH_WRITES; pass++)
                                for (unsigned b = 0; b < SCRATCH_OBJECT; b++)
                                        p[b] = (unsigned char)(pass + b);
                        if (p[SCRATCH_OBJECT - 1] != (unsigned char)(SCRATCH_WRITES - 1 + SCRATCH_OBJECT - 1)) {
                                harness_fail(h, "heap corruption: an 8-byte block changed under its owner");
                                free((void *)p);
                                goto out;
                        }
                        free((void *)p);
                }
                done += batch;
        }
out:
        lane->ops = done;
        return LANE_DONE;
}

/* ---- large: 4 live blocks of 64 KiB..4 MiB per thread, replaced at random; every page is written,
 * as a program would, so an allocator that returns memory eagerly pays the page faults. */

#define LARGE_WINDOW 4
#define LARGE_MIN (64u << 10)
#define LARGE_MAX (4u << 20)
#define PAGE 4096

static enum lane_status large_body(struct lane *lane)
{
        struct harness *h = lane->harness;
        unsigned char *slot[LARGE_WINDOW] = { 0 };
        size_t size[LARGE_WINDOW] = { 0 };
        uint64_t done = 0;
        while (lane_batch(lane, done, 1) > 0) {
                unsigned j = (unsigned)rng_range(&lane->rng, 0, LARGE_WINDOW - 1);
                if (slot[j]) {
                        CHECK_TAG(h, slot[j], size[j]);
                        free(slot[j]);
                        slot[j] = NULL;
                }
                size_t s = rng_range(&lane->rng, LARGE_MIN, LARGE_MAX);
                unsigned char *p = malloc(s);
                CHECK_ALLOC(h, p, s);
                for (size_t off = 0; off < s; off += PAGE)
                        p[off] = (unsigned char)off;
                tag_block(p, s);
                slot[j] = p;
                size[j] = s;
                done++;
        }
out:
        for (unsigned j = 0; j < LARGE_WINDOW; j++)
                free(slot[j]);
        lane->ops = done;
        return LANE_DONE;
}

/* ---- realloc: a buffer grown by 1 B..64 KiB at a time up to 16 MiB, then freed and started again;
 * the new bytes are written (one per page, and the last), and the old contents are checked. */

#define REALLOC_STEP_MAX (64u << 10)
#define REALLOC_LIMIT (16u << 20)

static enum lane_status realloc_body(struct lane *lane)
{
        struct harness *h = lane->harness;
        const unsigned char fill = (unsigned char)(0xa5 ^ lane->index);
        unsigned char *buf = NULL;
        size_t size = 0;
        uint64_t done = 0;
        while (lane_batch(lane, done, 1) > 0) {
                size_t grown = size + rng_range(&lane->rng, 1, REALLOC_STEP_MAX);
                if (grown > REALLOC_LIMIT) {
                        free(buf);
                        buf = NULL;
                        size = 0;
                        continue;
                }
                unsigned char *p = realloc(buf, grown);
                CHECK_ALLOC(h, p, grown);
                buf = p;
                if (size > 0 && (p[0] != fill || p[size - 1] != fill)) {
                        harness_fail(h, "heap corruption: realloc to %zu bytes lost the old contents", grown);
                        goto out;
                }
                p[size] = fill;
                for (size_t off = (size | (PAGE - 1)) + 1; off < grown; off += PAGE)
                        p[off] = fill;
                p[grown - 1] = fill;
                size = grown;
                done++;
        }
out:
        free(buf);
        lane->ops = done;
        return LANE_DONE;
}

/* ---- fragment: per round, FRAGMENT_SMALL objects of 16..128 B, every other one freed, then half as
 * many of 129..1024 B; at the end of the first round (all threads together) RSS is measured against
 * the bytes live, then everything is freed. */

#define FRAGMENT_SMALL 100000

struct fragment_lane {
        unsigned char **small;
        uint32_t *small_size;
        unsigned char **large;
        uint32_t *large_size;
        size_t capacity;
        uint64_t done;
};

static size_t fragment_round_small(const struct harness *h)
{
        uint64_t ops = h->params->ops;
        if (ops == 0 || ops * 2 / 3 >= FRAGMENT_SMALL)
                return FRAGMENT_SMALL;
        return ops * 2 / 3 < 2 ? 2 : (size_t)(ops * 2 / 3);
}

static int fragment_setup(struct harness *h)
{
        size_t n = fragment_round_small(h);
        for (unsigned i = 0; i < h->lane_count; i++) {
                /* MAP_POPULATE: the bookkeeping is resident before the start RSS is taken. */
                struct fragment_lane *st = harness_map(sizeof(*st) + n * (2 * sizeof(void *) + 2 * sizeof(uint32_t)));
                if (st == NULL)
                        return -1;
                st->capacity = n;
                st->small = (unsigned char **)(st + 1);
                st->large = st->small + n;
                st->small_size = (uint32_t *)(st->large + n);
                st->large_size = st->small_size + n;
                h->lanes[i].state = st;
        }
        return 0;
}

static void fragment_teardown(struct harness *h)
{
        size_t n = fragment_round_small(h);
        for (unsigned i = 0; i < h->lane_count; i++)
                if (h->lanes[i].state)
                        munmap(h->lanes[i].state,
                               sizeof(struct fragment_lane) + n * (2 * sizeof(void *) + 2 * sizeof(uint32_t)));
}

/* Every lane arrives with its peak live data; the last one to arrive measures. */
static void fragment_measure(struct harness *h, uint64_t live)
{
        __atomic_fetch_add(&h->live_bytes, live, __ATOMIC_RELAXED);
        if (atomic_fetch_add(&h->fragment_arrived, 1) + 1 == h->lane_count) {
                uint64_t rss = workload_rss_bytes();
                h->rss_at_live_bytes = rss > h->rss_start ? rss - h->rss_start : 0;
                atomic_store(&h->fragment_measured, 1);
                return;
        }
        unsigned spins = 0;
        while (!atomic_load(&h->fragment_measured) && !harness_failed(h))
                spin_wait(&spins);
}

static enum lane_status fragment_body(struct lane *lane)
{
        struct harness *h = lane->harness;
        struct fragment_lane *st = lane->state;
        size_t n = st->capacity, small_count = 0, large_count = 0;
        bool first_round = true;
        /* The first round always completes, even if --duration ends first, so RSS is measured. */
        while (first_round || lane_batch(lane, st->done, 1) > 0) {
                uint64_t live = 0;
                small_count = large_count = 0;
                for (size_t i = 0; i < n; i++) {
                        size_t s = rng_range(&lane->rng, 16, 128);
                        st->small[i] = malloc(s);
                        CHECK_ALLOC(h, st->small[i], s);
                        tag_block(st->small[i], s);
                        st->small_size[i] = (uint32_t)s;
                        small_count++;
                        live += s;
                }
                for (size_t i = 1; i < n; i += 2) {
                        CHECK_TAG(h, st->small[i], st->small_size[i]);
                        free(st->small[i]);
                        st->small[i] = NULL;
                        live -= st->small_size[i];
                }
                for (size_t i = 0; i < n / 2; i++) {
                        size_t s = rng_range(&lane->rng, 129, 1024);
                        st->large[i] = malloc(s);
                        CHECK_ALLOC(h, st->large[i], s);
                        tag_block(st->large[i], s);
                        st->large_size[i] = (uint32_t)s;
                        large_count++;
                        live += s;
                }
                if (first_round)
                        fragment_measure(h, live);
                first_round = false;
                for (size_t i = 0; i < n; i += 2) {
                        CHECK_TAG(h, st->small[i], st->small_size[i]);
                        free(st->small[i]);
                        st->small[i] = NULL;
                }
                for (size_t i = 0; i < n / 2; i++) {
                        CHECK_TAG(h, st->large[i], st->large_size[i]);
                        free(st->large[i]);
                        st->large[i] = NULL;
                }
                small_count = large_count = 0;
                st->done += n + n / 2;
        }
out:
        for (size_t i = 0; i < small_count; i++)
                free(st->small[i]);
        for (size_t i = 0; i < large_count; i++)
                free(st->large[i]);
        if (first_round) /* failed before measuring: let the others go */
                atomic_store(&h->fragment_measured, 1);
        lane->ops = st->done;
        return LANE_DONE;
}

static const struct workload_def workload_defs[] = {
        { "seed", NULL, NULL, NULL, seed_body, NULL },
        { "larson", NULL, larson_setup, larson_prepare, larson_body, larson_teardown },
        { "prodcons", prodcons_lanes, prodcons_setup, NULL, prodcons_body, prodcons_teardown },
        { "cache-scratch", NULL, scratch_setup, NULL, scratch_body, NULL },
        { "large", NULL, NULL, NULL, large_body, NULL },
        { "realloc", NULL, NULL, NULL, realloc_body, NULL },
        { "fragment", NULL, fragment_setup, NULL, fragment_body, fragment_teardown },
};

/* Start every lane, open the gate, wait for the duration (if any) and for every lane to finish. */
static double process_cpu_seconds(void)
{
        struct timespec t;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
        return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int harness_run(struct harness *h, double *seconds, double *cpu_seconds)
{
        unsigned created = 0;
        for (; created < h->lane_count; created++) {
                pthread_t thread;
                int rc = lane_thread_create(h, &h->lanes[created], &thread);
                if (rc != 0) {
                        harness_fail(h, "cannot create thread %u of %u: %s", created + 1, h->lane_count,
                                     strerror(rc));
                        break;
                }
        }
        pthread_mutex_lock(&h->gate_lock);
        while (h->ready < created)
                pthread_cond_wait(&h->gate_cond, &h->gate_lock);
        pthread_mutex_unlock(&h->gate_lock);

        h->rss_start = workload_rss_bytes();
        struct timespec start;
        double cpu_start = process_cpu_seconds();
        clock_gettime(CLOCK_MONOTONIC, &start);
        pthread_mutex_lock(&h->gate_lock);
        h->open = true;
        pthread_cond_broadcast(&h->gate_cond);
        pthread_mutex_unlock(&h->gate_lock);

        unsigned finished = 0;
        if (h->params->duration_ns) {
                struct timespec deadline;
                clock_gettime(CLOCK_REALTIME, &deadline);
                uint64_t ns = (uint64_t)deadline.tv_nsec + h->params->duration_ns;
                deadline.tv_sec += (time_t)(ns / 1000000000u);
                deadline.tv_nsec = (long)(ns % 1000000000u);
                while (finished < created) {
                        if (sem_timedwait(&h->finished, &deadline) == 0)
                                finished++;
                        else if (errno == ETIMEDOUT)
                                break;
                }
                atomic_store(&h->stop, 1);
        }
        for (; finished < created; finished++)
                while (sem_wait(&h->finished) < 0 && errno == EINTR)
                        ;
        *seconds = seconds_since(&start);
        *cpu_seconds = process_cpu_seconds() - cpu_start;
        for (unsigned i = 0; i < created; i++)
                pthread_join(h->lanes[i].thread, NULL);
        return harness_failed(h) ? -1 : 0;
}

int workload_run(const struct workload_params *params, struct workload_result *result, char *error,
                 size_t error_size)
{
        const struct workload_def *def = NULL;
        for (size_t i = 0; i < sizeof(workload_defs) / sizeof(workload_defs[0]); i++)
                if (strcmp(workload_defs[i].name, params->name) == 0)
                        def = &workload_defs[i];
        if (def == NULL) {
                snprintf(error, error_size, "unknown workload '%s'", params->name);
                return -1;
        }
        static struct harness h; /* one workload per worker process */
        memset(&h, 0, sizeof(h));
        h.def = def;
        h.params = params;
        h.lane_count = def->lanes ? def->lanes(params->threads) : params->threads;
        h.lanes = harness_map(h.lane_count * sizeof(struct lane));
        if (h.lanes == NULL) {
                snprintf(error, error_size, "cannot map memory for %u threads", h.lane_count);
                return -1;
        }
        pthread_mutex_init(&h.gate_lock, NULL);
        pthread_cond_init(&h.gate_cond, NULL);
        sem_init(&h.finished, 0, 0);
        for (unsigned i = 0; i < h.lane_count; i++)
                h.lanes[i] = (struct lane){ .harness = &h, .index = i, .rng = rng_seed(params->seed, i) };
        if (params->pin) {
                cpu_set_t set;
                if (sched_getaffinity(0, sizeof(set), &set) < 0) {
                        snprintf(error, error_size, "--pin: sched_getaffinity: %s", strerror(errno));
                        munmap(h.lanes, h.lane_count * sizeof(struct lane));
                        return -1;
                }
                for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
                        if (CPU_ISSET(cpu, &set))
                                h.pin_cpus[h.pin_count++] = cpu;
                if (params->placement && placement_map(&h, params->placement, error, error_size) < 0) {
                        munmap(h.lanes, h.lane_count * sizeof(struct lane));
                        return -1;
                }
        }

        int rc = 0;
        double seconds = 0, cpu_seconds = 0;
        if (def->setup && def->setup(&h) < 0) {
                if (!harness_failed(&h))
                        harness_fail(&h, "%s: setup failed: out of memory", def->name);
                rc = -1;
        } else {
                rc = harness_run(&h, &seconds, &cpu_seconds);
        }
        if (def->teardown)
                def->teardown(&h);
        if (rc < 0) {
                snprintf(error, error_size, "%s", h.error);
        } else {
                result->ops = 0;
                for (unsigned i = 0; i < h.lane_count; i++)
                        result->ops += h.lanes[i].ops;
                result->seconds = seconds;
                result->cpu_seconds = cpu_seconds;
                result->live_bytes = h.live_bytes;
                result->rss_at_live_bytes = h.rss_at_live_bytes;
                size_t used = 0;
                result->lane_cpus[0] = '\0';
                for (unsigned i = 0; i < h.lane_count && used + 16 < sizeof(result->lane_cpus); i++)
                        used += (size_t)snprintf(result->lane_cpus + used, sizeof(result->lane_cpus) - used,
                                                 "%s%d", i ? "," : "", h.lanes[i].cpu);
        }
        munmap(h.lanes, h.lane_count * sizeof(struct lane));
        return rc;
}
