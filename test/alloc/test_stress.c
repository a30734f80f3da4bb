/* Multi-threaded stress tests of the allocator (suite alloc-stress): cross-thread frees with
 * content checks, thread creation/exit churn, fork from a busy multi-threaded process.
 * Usage: test-alloc-stress prodcons|churn|fork|larson|lines|moves|cpus|cpus-norseq|consumer|regrow|order|arenas|lock|vmas|turns|turns-threads */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/alloc/alloc_internal.h"
#include "sysprim/alloc.h"
#include "test.h"

/* Every block carries its size and a seed in its first 16 bytes and a pattern after it. */
struct block {
	size_t size;
	uint64_t seed;
};

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static size_t random_size(uint64_t *rng)
{
	uint64_t r = rng_next(rng);
	if (r % 64 == 0)
		return 16 + (r >> 8) % 300000; /* up to past the largest class */
	if (r % 8 == 1)
		return 16 + (r >> 8) % 8192;
	return 16 + (r >> 8) % 512;
}

static struct block *block_new_sized(uint64_t *rng, size_t size)
{
	struct block *b = malloc(size);
	if (!b)
		return NULL;
	b->size = size;
	b->seed = rng_next(rng);
	unsigned char *p = (unsigned char *)(b + 1);
	for (size_t i = 0; i < size - sizeof(*b); i++)
		p[i] = (unsigned char)(b->seed + i);
	return b;
}

static struct block *block_new(uint64_t *rng)
{
	return block_new_sized(rng, random_size(rng));
}

static atomic_long corrupt_blocks;

static void block_check_free(struct block *b)
{
	const unsigned char *p = (const unsigned char *)(b + 1);
	for (size_t i = 0; i < b->size - sizeof(*b); i++) {
		if (p[i] != (unsigned char)(b->seed + i)) {
			atomic_fetch_add(&corrupt_blocks, 1);
			break;
		}
	}
	free(b);
}

/* Check and free what is left in a table of slots that threads swapped blocks through. */
static void drain_slots(_Atomic(struct block *) *table, size_t count)
{
	for (size_t k = 0; k < count; k++) {
		struct block *b = atomic_exchange(&table[k], NULL);
		if (b)
			block_check_free(b);
	}
}

/* ---- producer/consumer through a bounded ring ---- */
#define RING 1024
static struct block *ring[RING];
static size_t ring_head, ring_tail;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ring_cond = PTHREAD_COND_INITIALIZER;
static int producers_left;

static void *producer(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
	for (int i = 0; i < 200000; i++) {
		struct block *b = block_new(&rng);
		pthread_mutex_lock(&ring_lock);
		while (ring_head - ring_tail == RING)
			pthread_cond_wait(&ring_cond, &ring_lock);
		ring[ring_head++ % RING] = b;
		pthread_cond_broadcast(&ring_cond);
		pthread_mutex_unlock(&ring_lock);
	}
	pthread_mutex_lock(&ring_lock);
	producers_left--;
	pthread_cond_broadcast(&ring_cond);
	pthread_mutex_unlock(&ring_lock);
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (;;) {
		struct block *batch[64];
		int n = 0;
		pthread_mutex_lock(&ring_lock);
		while (ring_head == ring_tail && producers_left > 0)
			pthread_cond_wait(&ring_cond, &ring_lock);
		while (ring_head != ring_tail && n < 64)
			batch[n++] = ring[ring_tail++ % RING];
		int done = n == 0 && producers_left == 0;
		pthread_cond_broadcast(&ring_cond);
		pthread_mutex_unlock(&ring_lock);
		for (int i = 0; i < n; i++)
			block_check_free(batch[i]);
		if (done)
			return NULL;
	}
}

static void test_prodcons(void)
{
	pthread_t t[4];
	producers_left = 2;
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, producer, (void *)(i + 1));
	for (int i = 2; i < 4; i++)
		pthread_create(&t[i], NULL, consumer, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ_INT(atomic_load(&corrupt_blocks), 0);
}

/* ---- larson-like: threads replace random slots of a shared array, so most blocks are
 * freed by a thread other than the one that allocated them ---- */
#define SLOTS 4096
static _Atomic(struct block *) slots[SLOTS];

static void *larson_worker(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 0xD1B54A32D192ED03ull + 7;
	for (int i = 0; i < 100000; i++) {
		size_t k = rng_next(&rng) % SLOTS;
		struct block *b = block_new(&rng);
		struct block *old = atomic_exchange(&slots[k], b);
		if (old)
			block_check_free(old);
	}
	return NULL;
}

static void test_larson(void)
{
	pthread_t t[4];
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, larson_worker, (void *)(i + 1));
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	drain_slots(slots, SLOTS);
	CHECK_EQ_INT(atomic_load(&corrupt_blocks), 0);
}

/* ---- cpus: larson-like exchange among threads pinned to different CPUs, over a few small
 * classes, so the central transfer caches hold batches released on several CPUs and fetches pick
 * one of their own CPU out of the middle of the stack. cpus-norseq: the same without glibc's rseq
 * area (the allocator then asks sched_getcpu()). ---- */
#define CPU_SLOTS 1024
static _Atomic(struct block *) cpu_slots[CPU_SLOTS];
static cpu_set_t cpus_allowed;

static atomic_int cpus_producers_left;

static void pin_to_nth_allowed_cpu(uintptr_t index)
{
	int n = CPU_COUNT(&cpus_allowed), k = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &cpus_allowed) && k++ == (int)(index % (uintptr_t)n)) {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
			return;
		}
	}
}

/* Even threads allocate (and free what they displace), odd ones only free: their frees go
 * through the foreign chain to the transfer cache in whole batches, tagged with their CPU. */
static void *cpus_worker(void *arg)
{
	uintptr_t index = (uintptr_t)arg;
	pin_to_nth_allowed_cpu(index / 2);
	uint64_t rng = index * 0xA24BAED4963EE407ull + 3;
	if (index % 2) {
		while (atomic_load(&cpus_producers_left) > 0) {
			for (size_t k = 0; k < CPU_SLOTS; k++) {
				struct block *b = atomic_exchange(&cpu_slots[k], NULL);
				if (b)
					block_check_free(b);
			}
		}
		return NULL;
	}
	for (int i = 0; i < 300000; i++) {
		size_t slot = rng_next(&rng) % CPU_SLOTS;
		struct block *b = block_new_sized(&rng, 16 + rng_next(&rng) % 64);
		if (!b) {
			atomic_fetch_add(&corrupt_blocks, 1);
			break;
		}
		struct block *old = atomic_exchange(&cpu_slots[slot], b);
		if (old)
			block_check_free(old);
	}
	atomic_fetch_sub(&cpus_producers_left, 1);
	return NULL;
}

static void test_cpus(void)
{
	CHECK_EQ_INT(sched_getaffinity(0, sizeof(cpus_allowed), &cpus_allowed), 0);
	pthread_t t[4];
	atomic_store(&cpus_producers_left, 2);
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, cpus_worker, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	drain_slots(cpu_slots, CPU_SLOTS);
	CHECK_EQ_INT(atomic_load(&corrupt_blocks), 0);
}

/* ---- large blocks and small spans from per-CPU arenas: threads pinned to different CPUs pass
 * blocks to each other, so blocks go back to an arena other than the freeing thread's; contents
 * checked, nothing lost in the accounting, and malloc_trim empties every arena ---- */
#define ARENA_SLOTS 64
#define ARENA_ROUNDS 600
static _Atomic(struct block *) arena_slots[ARENA_SLOTS];

static void *arena_worker(void *arg)
{
	uintptr_t index = (uintptr_t)arg;
	pin_to_nth_allowed_cpu(index);
	uint64_t rng = 0xa3e4a + index * 7919;
	for (int i = 0; i < ARENA_ROUNDS; i++) {
		/* Mostly large blocks (64 KiB .. 2 MiB), some small ones (their spans are the arenas' too). */
		size_t size = rng_next(&rng) % 4 ? (64u << 10) + rng_next(&rng) % (2u << 20) : 16 + rng_next(&rng) % 2000;
		struct block *b = block_new_sized(&rng, size);
		if (!b) {
			atomic_fetch_add(&corrupt_blocks, 1);
			break;
		}
		struct block *old = atomic_exchange(&arena_slots[rng_next(&rng) % ARENA_SLOTS], b);
		if (old)
			block_check_free(old);
	}
	return NULL;
}

static void test_arenas(void)
{
	CHECK_EQ_INT(sched_getaffinity(0, sizeof(cpus_allowed), &cpus_allowed), 0);
	int threads = CPU_COUNT(&cpus_allowed) < 2 ? 2 : CPU_COUNT(&cpus_allowed) > 8 ? 8 : CPU_COUNT(&cpus_allowed);
	struct sysprim_malloc_stats before, after;
	sysprim_malloc_stats(&before);
	pthread_t t[8];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < threads; i++)
			CHECK(pthread_create(&t[i], NULL, arena_worker, (void *)(uintptr_t)(i + round)) == 0);
		for (int i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
	}
	drain_slots(arena_slots, ARENA_SLOTS);
	CHECK_EQ_INT(atomic_load(&corrupt_blocks), 0);
	sysprim_malloc_release();
	sysprim_malloc_stats(&after);
	fprintf(stderr, "arenas: %d threads; large blocks in use %zu (before %zu); resident free after trim %zu KiB, "
		"mapped %zu MiB\n", threads, after.large_in_use, before.large_in_use, after.bytes_resident_free >> 10,
		after.bytes_mapped >> 20);
	CHECK_EQ_INT(after.large_in_use, before.large_in_use);
	CHECK_EQ_INT(after.large_bytes_in_use, before.large_bytes_in_use);
	/* Every arena's free pages went back to the OS, whichever thread freed them. */
	CHECK(after.bytes_resident_free == 0);
}

/* ---- thread churn: short-lived threads whose blocks outlive them ---- */
static void *churn_worker(void *arg)
{
	uint64_t rng = (uintptr_t)arg + 11;
	struct block **keep = malloc(64 * sizeof(*keep));
	for (int i = 0; i < 64; i++)
		keep[i] = block_new(&rng);
	for (int i = 0; i < 500; i++)
		block_check_free(block_new(&rng));
	return keep; /* freed by the joining thread */
}

static void test_churn(void)
{
	struct sysprim_malloc_stats st;
	for (uintptr_t round = 0; round < 500; round++) {
		pthread_t t[2];
		for (uintptr_t i = 0; i < 2; i++)
			CHECK(pthread_create(&t[i], NULL, churn_worker, (void *)(round * 2 + i)) == 0);
		for (int i = 0; i < 2; i++) {
			struct block **keep;
			pthread_join(t[i], (void **)&keep);
			for (int k = 0; k < 64; k++)
				block_check_free(keep[k]);
			free(keep);
		}
	}
	CHECK_EQ_INT(atomic_load(&corrupt_blocks), 0);
	/* Every exited thread handed its cache back. */
	sysprim_malloc_stats(&st);
	CHECK_EQ_INT(st.thread_caches, 1);
	/* Within its budget, plus one small object per class and the foreign chains' eighth. */
	CHECK(st.bytes_thread_caches <= st.thread_cache_limit + st.thread_cache_limit / 8 + (256 << 10));
}

/* ---- a pure consumer: one thread frees what another allocated, then allocates itself ---- */
#define CONSUMER_OBJECTS 4096
#define CONSUMER_SIZE 200
static struct block *handed[CONSUMER_OBJECTS];

static void *consumer_producer(void *arg)
{
	uint64_t rng = 0x9e3779b97f4a7c15u;
	(void)arg;
	for (int i = 0; i < CONSUMER_OBJECTS; i++) {
		struct block *b = malloc(CONSUMER_SIZE);
		CHECK(b != NULL);
		b->size = CONSUMER_SIZE;
		b->seed = rng_next(&rng);
		unsigned char *p = (unsigned char *)(b + 1);
		for (size_t k = 0; k < CONSUMER_SIZE - sizeof(*b); k++)
			p[k] = (unsigned char)(b->seed + k);
		handed[i] = b;
	}
	return NULL;
}

static void *consumer_thread(void *arg)
{
	struct sysprim_malloc_stats before, after;
	uint64_t rng = 42;
	(void)arg;
	sysprim_malloc_stats(&before);
	/* A thread that only frees a class passes its objects on a batch at a time: its cache never
	 * holds more than about one batch of them (a list that grew as an allocating thread's does
	 * would hold hundreds here). */
	for (int i = 0; i < CONSUMER_OBJECTS; i++) {
		block_check_free(handed[i]);
		if (i % 256 == 255) {
			sysprim_malloc_stats(&after);
			CHECK(after.bytes_thread_caches <= before.bytes_thread_caches + 64 * 256);
		}
	}
	/* Then it allocates the class itself: every object intact and distinct while all are live. */
	for (int i = 0; i < CONSUMER_OBJECTS; i++) {
		handed[i] = malloc(CONSUMER_SIZE);
		CHECK(handed[i] != NULL);
		handed[i]->size = CONSUMER_SIZE;
		handed[i]->seed = rng_next(&rng);
		unsigned char *p = (unsigned char *)(handed[i] + 1);
		for (size_t k = 0; k < CONSUMER_SIZE - sizeof(struct block); k++)
			p[k] = (unsigned char)(handed[i]->seed + k);
	}
	for (int i = 0; i < CONSUMER_OBJECTS; i++)
		block_check_free(handed[i]);
	return NULL;
}

static void test_consumer(void)
{
	for (int round = 0; round < 20; round++) {
		pthread_t t;
		CHECK(pthread_create(&t, NULL, consumer_producer, NULL) == 0);
		pthread_join(t, NULL);
		CHECK(pthread_create(&t, NULL, consumer_thread, NULL) == 0);
		pthread_join(t, NULL);
	}
	CHECK_EQ_INT(atomic_load(&corrupt_blocks), 0);
}

/* ---- several threads growing buffers to 16 MiB with realloc, freeing them, and again: contents
 * kept, and blocks over 1 MiB rarely moved once the threads have settled ---- */
#define REGROW_THREADS 4
#define REGROW_CYCLES 60
#define REGROW_LIMIT (16u << 20)
static atomic_long regrow_moves, regrow_lost;

static void *regrow_worker(void *arg)
{
	uint64_t rng = 0x51ed + (uintptr_t)arg;
	long moves = 0;
	for (int cycle = 0; cycle < REGROW_CYCLES; cycle++) {
		unsigned char *buf = NULL;
		size_t size = 0;
		for (;;) {
			size_t grown = size + 1 + rng_next(&rng) % (64u << 10);
			if (grown > REGROW_LIMIT)
				break;
			unsigned char *p = realloc(buf, grown);
			CHECK(p != NULL);
			if (p == NULL)
				break;
			if (size && (p[0] != (unsigned char)cycle || p[size - 1] != (unsigned char)cycle))
				atomic_fetch_add(&regrow_lost, 1);
			/* After a warm-up, count the moves of big blocks. */
			if (cycle >= 3 && buf && p != buf && size >= (1u << 20))
				moves++;
			memset(p + size, cycle, grown - size);
			buf = p;
			size = grown;
		}
		free(buf);
	}
	atomic_fetch_add(&regrow_moves, moves);
	return NULL;
}

static void test_regrow(void)
{
	pthread_t t[REGROW_THREADS];
	for (uintptr_t i = 0; i < REGROW_THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, regrow_worker, (void *)i) == 0);
	for (int i = 0; i < REGROW_THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ_INT(atomic_load(&regrow_lost), 0);
	long cycles = REGROW_THREADS * (REGROW_CYCLES - 3), moves = atomic_load(&regrow_moves);
	fprintf(stderr, "regrow: %ld moves of blocks over 1 MiB in %ld cycles\n", moves, cycles);
	/* Each thread's next buffer starts where its last one was and grows in place there: 0-66
	 * moves in 228 cycles over 60 runs here. With one shared best fit for all threads, each
	 * buffer moved about once per cycle (92-118 in 108), as other threads' buffers took the
	 * room behind it. */
	CHECK(moves <= cycles / 2);
}

/* ---- objects freed in a random order come back in address order: after a shuffled free of many
 * spans' worth of one class, most consecutive allocations of the class are neighbours ---- */
#define ORDER_OBJECTS 200000
#define ORDER_SIZE 48
static void *order_objects[ORDER_OBJECTS];

static void test_order(void)
{
	uint64_t rng = 0x0dde5;
	for (int round = 0; round < 3; round++) {
		long near = 0, corrupt = 0;
		for (size_t i = 0; i < ORDER_OBJECTS; i++) {
			unsigned char *p = malloc(ORDER_SIZE);
			CHECK(p != NULL);
			if (p == NULL)
				return;
			memset(p, (int)(i & 0xff), ORDER_SIZE);
			if (i > 0) {
				intptr_t d = (intptr_t)p - (intptr_t)order_objects[i - 1];
				if (d >= -256 && d <= 256)
					near++;
			}
			order_objects[i] = p;
		}
		/* Fisher-Yates, then free in that order. */
		for (size_t i = ORDER_OBJECTS - 1; i > 0; i--) {
			size_t j = (size_t)(rng_next(&rng) % (i + 1));
			void *t = order_objects[i];
			order_objects[i] = order_objects[j];
			order_objects[j] = t;
		}
		for (size_t i = 0; i < ORDER_OBJECTS; i++) {
			unsigned char *p = order_objects[i];
			if (p[0] != p[ORDER_SIZE - 1])
				corrupt++;
			free(p);
		}
		CHECK_EQ_INT(corrupt, 0);
		fprintf(stderr, "order: round %d: %ld of %d consecutive allocations within 256 bytes\n", round, near,
			ORDER_OBJECTS - 1);
		/* Round 0 is carved from fresh spans. Later rounds reuse the shuffled objects: those
		 * held in the thread and transfer caches (a few percent here) come back in the order
		 * freed, the rest in address order, span by span: 94.7% here. Handed back in the
		 * order freed (each span's list last in, first out), 1.5% were neighbours. */
		CHECK(near >= ORDER_OBJECTS * 3 / 4);
	}
}

/* ---- fork while other threads hammer the allocator ---- */
static atomic_int stop_busy;

static void *busy_worker(void *arg)
{
	uint64_t rng = (uintptr_t)arg + 99;
	struct block *held[256] = { 0 };
	while (!atomic_load(&stop_busy)) {
		size_t k = rng_next(&rng) % 256;
		if (held[k])
			block_check_free(held[k]);
		held[k] = block_new(&rng);
	}
	for (int k = 0; k < 256; k++)
		if (held[k])
			block_check_free(held[k]);
	return NULL;
}

static void *child_thread(void *arg)
{
	uint64_t rng = (uintptr_t)arg;
	for (int i = 0; i < 1000; i++)
		block_check_free(block_new(&rng));
	return NULL;
}

static void test_fork(void)
{
	pthread_t t[3];
	for (uintptr_t i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, busy_worker, (void *)(i + 1));
	for (int round = 0; round < 30; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(20); /* a deadlock becomes a failure, not a hang */
			uint64_t rng = (uint64_t)round + 5;
			for (int i = 0; i < 2000; i++)
				block_check_free(block_new(&rng));
			pthread_t ct;
			if (pthread_create(&ct, NULL, child_thread, (void *)(uintptr_t)(round + 3)) != 0)
				_exit(3);
			pthread_join(ct, NULL);
			_exit(atomic_load(&corrupt_blocks) ? 2 : 0);
		}
		CHECK(pid > 0);
		int status = -1;
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fprintf(stderr, "fork round %d: child status %#x\n", round, status);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	atomic_store(&stop_busy, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ_INT(atomic_load(&corrupt_blocks), 0);
}

/* ---- false sharing: Hoard's cache-scratch pattern. The main thread allocates one small object per
 * thread; each thread frees it and allocates one of the same size. The objects the threads get
 * must not share a cache line with each other's (they would be written by two CPUs at once). ---- */
#define LINE_THREADS 4

struct line_lane {
	void *given;
	void *got;
	size_t size;
	pthread_barrier_t *barrier;
};

static void *line_worker(void *arg)
{
	struct line_lane *lane = arg;
	pthread_barrier_wait(lane->barrier);
	free(lane->given);
	lane->got = malloc(lane->size);
	pthread_barrier_wait(lane->barrier);
	return NULL;
}

static void test_lines(void)
{
	static const size_t sizes[] = { 8, 24, 40, 56, 72, 88, 136, 200 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		pthread_barrier_t barrier;
		struct line_lane lanes[LINE_THREADS];
		pthread_t t[LINE_THREADS];
		CHECK(pthread_barrier_init(&barrier, NULL, LINE_THREADS) == 0);
		for (int i = 0; i < LINE_THREADS; i++) {
			lanes[i] = (struct line_lane){ .given = malloc(sizes[k]), .size = sizes[k], .barrier = &barrier };
			CHECK(lanes[i].given != NULL);
		}
		for (int i = 0; i < LINE_THREADS; i++)
			CHECK(pthread_create(&t[i], NULL, line_worker, &lanes[i]) == 0);
		for (int i = 0; i < LINE_THREADS; i++)
			pthread_join(t[i], NULL);
		for (int i = 0; i < LINE_THREADS; i++) {
			uintptr_t a = (uintptr_t)lanes[i].got;
			CHECK(a != 0);
			for (int j = 0; j < i; j++) {
				uintptr_t b = (uintptr_t)lanes[j].got;
				/* First and last line of each object: the ranges must not meet. */
				bool apart = (a + sizes[k] - 1) / 64 < b / 64 || (b + sizes[k] - 1) / 64 < a / 64;
				if (!apart)
					fprintf(stderr, "lines: %zu-byte objects of threads %d and %d share a cache line: %p %p\n",
						sizes[k], j, i, lanes[j].got, lanes[i].got);
				CHECK(apart);
			}
		}
		for (int i = 0; i < LINE_THREADS; i++)
			free(lanes[i].got);
		pthread_barrier_destroy(&barrier);
	}
}

/* moves: realloc moves a large block's pages with mremap instead of copying. Meanwhile other
 * threads' mmap calls must never land in (and then be clobbered in) the range the pages left: a
 * mapper thread checks a pattern in each of its own mappings while growers move their buffers. */
#define MOVE_GROWERS 2
#define MOVE_ROUNDS 12
static atomic_int movers_left;
static atomic_long clobbered_maps, corrupt_buffers;

static void *mover(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 0x9e3779b97f4a7c15u + 1;
	for (int round = 0; round < MOVE_ROUNDS; round++) {
		size_t size = (size_t)1 << 20;
		unsigned char *buf = malloc(size);
		CHECK(buf != NULL);
		memset(buf, 0x5a, size);
		void *blockers[64];
		int nblockers = 0;
		while (size < ((size_t)16 << 20)) {
			/* A block right behind the buffer stops growth in place, so the pages move. */
			if (nblockers < 64)
				blockers[nblockers++] = malloc((size_t)(300 << 10) + rng_next(&rng) % 4096);
			size_t grown = size + size / 2 + rng_next(&rng) % 65536;
			unsigned char *n = realloc(buf, grown);
			CHECK(n != NULL);
			if (!n)
				break;
			for (size_t i = 0; i < size; i += 4096)
				if (n[i] != 0x5a || n[size - 1] != 0x5a) {
					atomic_fetch_add(&corrupt_buffers, 1);
					break;
				}
			memset(n + size, 0x5a, grown - size);
			buf = n;
			size = grown;
		}
		free(buf);
		for (int i = 0; i < nblockers; i++)
			free(blockers[i]);
	}
	atomic_fetch_sub(&movers_left, 1);
	return NULL;
}

static void *mapper(void *arg)
{
	(void)arg;
	enum { MAPS = 32 };
	unsigned char *maps[MAPS] = { 0 };
	size_t sizes[MAPS] = { 0 };
	uint64_t rng = 7;
	for (unsigned i = 0; atomic_load(&movers_left) > 0; i++) {
		unsigned k = i % MAPS;
		if (maps[k]) {
			for (size_t j = 0; j < sizes[k]; j += 4096)
				if (maps[k][j] != (unsigned char)(k + 1)) {
					atomic_fetch_add(&clobbered_maps, 1);
					break;
				}
			munmap(maps[k], sizes[k]);
		}
		sizes[k] = ((size_t)1 + rng_next(&rng) % 64) * 4096;
		maps[k] = mmap(NULL, sizes[k], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(maps[k] != MAP_FAILED);
		if (maps[k] == MAP_FAILED) {
			maps[k] = NULL;
			continue;
		}
		for (size_t j = 0; j < sizes[k]; j += 4096)
			maps[k][j] = (unsigned char)(k + 1);
	}
	for (unsigned k = 0; k < MAPS; k++)
		if (maps[k])
			munmap(maps[k], sizes[k]);
	return NULL;
}

static void test_moves(void)
{
	pthread_t growers[MOVE_GROWERS], m;
	atomic_store(&movers_left, MOVE_GROWERS);
	CHECK(pthread_create(&m, NULL, mapper, NULL) == 0);
	for (uintptr_t i = 0; i < MOVE_GROWERS; i++)
		CHECK(pthread_create(&growers[i], NULL, mover, (void *)(i + 1)) == 0);
	for (int i = 0; i < MOVE_GROWERS; i++)
		pthread_join(growers[i], NULL);
	pthread_join(m, NULL);
	if (atomic_load(&clobbered_maps))
		fprintf(stderr, "moves: %ld of another thread's mappings were overwritten\n", atomic_load(&clobbered_maps));
	CHECK(atomic_load(&clobbered_maps) == 0);
	CHECK(atomic_load(&corrupt_buffers) == 0);
}

/* The allocator's lock (alloc_lock, os.c): threads add to a plain counter under it; every so often
 * the holder sleeps with it held, so the others spin out and sleep on the futex. Nothing may be
 * lost, the sleeping path must have been taken, and a waiter's errno stays as it was. */
#define LOCK_THREADS 4
#define LOCK_ROUNDS 100000
static struct alloc_lock lock_under_test;
static long lock_counter;
static atomic_int lock_contended_seen, lock_errno_changed;

static void *lock_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < LOCK_ROUNDS; i++) {
		errno = EDOM;
		alloc_lock_acquire(&lock_under_test);
		if (errno != EDOM)
			atomic_store(&lock_errno_changed, 1);
		long v = lock_counter;
		if (i % 2000 == 0)
			nanosleep(&(struct timespec){ 0, 200000 }, NULL);
		lock_counter = v + 1;
		if (__atomic_load_n(&lock_under_test.state, __ATOMIC_RELAXED) == 2)
			atomic_store(&lock_contended_seen, 1);
		alloc_lock_release(&lock_under_test);
	}
	return NULL;
}

static void test_lock(void)
{
	pthread_t t[LOCK_THREADS];
	for (int i = 0; i < LOCK_THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, lock_worker, NULL) == 0);
	for (int i = 0; i < LOCK_THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK(lock_counter == (long)LOCK_THREADS * LOCK_ROUNDS);
	CHECK(atomic_load(&lock_contended_seen));
	CHECK(!atomic_load(&lock_errno_changed));
	CHECK(lock_under_test.state == 0);
}

static char **main_argv;

/* test_cpus without glibc's rseq area: the tunable is read at startup, so run again with it set. */
static void test_cpus_norseq(void)
{
	if (!getenv("GLIBC_TUNABLES")) {
		setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);
		execv("/proc/self/exe", main_argv);
		perror("execv");
		exit(1);
	}
	test_cpus();
}

/* Many large buffers grown by realloc in turns, so that most growths cannot happen in place and the
 * block moves: mremap moves leave the moved range's mappings split for good, and a process that made
 * a thousand of them reached the kernel's map count limit (65530), after which mremap failed half-way
 * and realloc copied into a destination the kernel had unmapped (SIGSEGV). Contents are checked at
 * every MiB; the mappings must stay few. */
#define VMA_BUFFERS 16
#define VMA_ROUNDS 80

static size_t mapping_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	size_t lines = 0;
	int c;
	if (f == NULL)
		return 0;
	while ((c = getc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	return lines;
}

static void test_vmas(void)
{
	char *b[VMA_BUFFERS] = { 0 };
	size_t mib[VMA_BUFFERS] = { 0 };
	size_t before = mapping_count(), wrong = 0;
	for (int r = 0; r < VMA_ROUNDS; r++)
		for (int i = 0; i < VMA_BUFFERS; i++) {
			size_t grown = mib[i] + 1;
			char *q = realloc(b[i], (grown << 20) + (size_t)(r % 4) * 65536);
			CHECK(q != NULL);
			if (q == NULL)
				return;
			for (size_t k = 0; k < mib[i]; k++)
				wrong += q[k << 20] != (char)(i * 31 + k);
			q[mib[i] << 20] = (char)(i * 31 + mib[i]);
			b[i] = q;
			mib[i] = grown;
		}
	size_t after = mapping_count();
	fprintf(stderr, "vmas: %zu mappings before, %zu after %d growths\n", before, after,
		VMA_BUFFERS * VMA_ROUNDS);
	CHECK_EQ_INT(wrong, 0);
	CHECK(after < before + 1000);
	for (int i = 0; i < VMA_BUFFERS; i++)
		free(b[i]);
}

/* turns: the same pattern, as far as an audit took it (16 buffers to 400 MiB), watching what
 * realloc does with the pages. A growth that cannot happen in place moves the whole buffer (page
 * tables, or a copy) at a cost that grows with the buffer. In the page heap, where the room behind
 * one buffer is taken by the others' growth, the buffers moved on nearly every other growth (2,890
 * moves in these 6,400 growths: 2.1 s, glibc 0.08 s), so that the bytes moved grew with the square
 * of the final size, and the kernel's mappings with the moves. The bytes moved must stay within a
 * bounded multiple of what the buffers hold in the end (past OWN_MAPPING_MOVED times its size, a
 * buffer leaves the heap for room to double), and so must the moves and mappings, whatever the
 * order of growths and wherever the kernel puts things. */
#define TURN_BUFFERS 16
#define TURN_ROUNDS 400

static void test_turns(void)
{
	char *b[TURN_BUFFERS] = { 0 };
	size_t mib[TURN_BUFFERS] = { 0 };
	size_t before = mapping_count(), wrong = 0, moves = 0, moved_mib = 0, final_mib = 0;
	for (int r = 0; r < TURN_ROUNDS; r++)
		for (int i = 0; i < TURN_BUFFERS; i++) {
			size_t grown = mib[i] + 1;
			char *q = realloc(b[i], grown << 20);
			CHECK(q != NULL);
			if (q == NULL)
				return;
			if (b[i] != NULL && q != b[i]) {
				moves++;
				moved_mib += mib[i];
			}
			for (size_t k = 0; k < mib[i]; k += 7)
				wrong += q[k << 20] != (char)(i * 31 + k);
			q[mib[i] << 20] = (char)(i * 31 + mib[i]);
			b[i] = q;
			mib[i] = grown;
		}
	size_t after = mapping_count();
	for (int i = 0; i < TURN_BUFFERS; i++) {
		for (size_t k = 0; k < mib[i]; k++)
			wrong += b[i][k << 20] != (char)(i * 31 + k);
		final_mib += mib[i];
		free(b[i]);
	}
	fprintf(stderr, "turns: %zu moves, %zu MiB moved for %zu MiB grown in %d growths; %zu mappings before, %zu after\n",
		moves, moved_mib, final_mib, TURN_BUFFERS * TURN_ROUNDS, before, after);
	CHECK_EQ_INT(wrong, 0);
	CHECK(moved_mib <= 32 * final_mib);
	CHECK(moves <= TURN_BUFFERS * 100);
	CHECK(after < before + TURN_BUFFERS * 160);
}

/* turns-threads: the turns pattern in four threads at once (blocks leaving the heap for mappings of
 * their own, growing and moving there, while the other threads do the same), each thread taking
 * over another's buffers half-way, and the main thread freeing them all: every byte written is read
 * back unchanged. */
#define TT_THREADS 4
#define TT_BUFFERS 16
#define TT_ROUNDS 240

struct turns_lane {
	char **b;    /* TT_THREADS * TT_BUFFERS buffers, shared */
	size_t *mib; /* their sizes */
	int index;
	pthread_barrier_t *barrier;
	size_t wrong;
};

static void turns_grow(struct turns_lane *lane, int owner, int from, int to)
{
	for (int r = from; r < to; r++)
		for (int j = 0; j < TT_BUFFERS; j++) {
			int i = owner * TT_BUFFERS + j;
			size_t have = lane->mib[i];
			char *q = realloc(lane->b[i], (have + 1) << 20);
			if (q == NULL) {
				lane->wrong++;
				return;
			}
			for (size_t k = 0; k < have; k += 5)
				lane->wrong += q[k << 20] != (char)(i * 31 + k);
			q[have << 20] = (char)(i * 31 + have);
			lane->b[i] = q;
			lane->mib[i] = have + 1;
		}
}

static void *turns_lane_run(void *arg)
{
	struct turns_lane *lane = arg;
	turns_grow(lane, lane->index, 0, TT_ROUNDS / 2);
	pthread_barrier_wait(lane->barrier);
	turns_grow(lane, (lane->index + 1) % TT_THREADS, TT_ROUNDS / 2, TT_ROUNDS);
	return NULL;
}

static void test_turns_threads(void)
{
	static char *b[TT_THREADS * TT_BUFFERS];
	static size_t mib[TT_THREADS * TT_BUFFERS];
	pthread_barrier_t barrier;
	pthread_barrier_init(&barrier, NULL, TT_THREADS);
	struct turns_lane lanes[TT_THREADS];
	pthread_t threads[TT_THREADS];
	for (int t = 0; t < TT_THREADS; t++) {
		lanes[t] = (struct turns_lane){ .b = b, .mib = mib, .index = t, .barrier = &barrier };
		CHECK_EQ_INT(pthread_create(&threads[t], NULL, turns_lane_run, &lanes[t]), 0);
	}
	size_t wrong = 0;
	for (int t = 0; t < TT_THREADS; t++) {
		pthread_join(threads[t], NULL);
		wrong += lanes[t].wrong;
	}
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < TT_THREADS * TT_BUFFERS; i++) {
		CHECK_EQ_INT(mib[i], TT_ROUNDS);
		for (size_t k = 0; k < mib[i]; k++)
			wrong += b[i][k << 20] != (char)(i * 31 + k);
		CHECK(malloc_usable_size(b[i]) >= mib[i] << 20);
		free(b[i]);
	}
	CHECK_EQ_INT(wrong, 0);
}

static const struct {
	const char *name;
	void (*run)(void);
} tests[] = {
	{ "prodcons", test_prodcons }, { "larson", test_larson },   { "churn", test_churn },
	{ "fork", test_fork },         { "lines", test_lines },     { "moves", test_moves },
	{ "cpus", test_cpus },         { "cpus-norseq", test_cpus_norseq },
	{ "consumer", test_consumer }, { "regrow", test_regrow },   { "order", test_order },
	{ "arenas", test_arenas },     { "lock", test_lock },       { "vmas", test_vmas },
	{ "turns", test_turns },       { "turns-threads", test_turns_threads },
};

int main(int argc, char **argv)
{
	main_argv = argv;
	for (size_t i = 0; argc == 2 && i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (strcmp(argv[1], tests[i].name) == 0) {
			tests[i].run();
			TEST_DONE();
		}
	}
	fprintf(stderr, "usage: %s", argv[0]);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		fprintf(stderr, "%c%s", i ? '|' : ' ', tests[i].name);
	fputc('\n', stderr);
	return 2;
}
