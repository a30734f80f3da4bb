/* Memory goes back to the OS (suite alloc): after freeing 1 GiB of small and large blocks,
 * malloc_trim(0) brings RSS back near where it started ("trim"); without any call, a couple of
 * seconds of light activity do the same within 32 MiB ("idle"). And memory is not taken when there
 * is some to reuse: a block too big for the free pages at the heap's end takes them and only the
 * rest new ("reuse"). malloc_trim(0) empties every cache, the per-CPU mailboxes of every CPU
 * included, once the threads that filled them are gone ("trim-caches"). calloc of a big recycled
 * block that was used sparsely neither faults it all in nor gets the process killed ("calloc").
 * Aligned blocks allocated and freed over and over reuse their address space ("aligned").
 * A program that goes quiet, calling only sysprim_malloc_tick() from a timer, gets it back too ("tick").
 * Usage: test-alloc-release trim|idle|tick|reuse|trim-caches|calloc|aligned */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysprim/alloc.h"
#include "test.h"

/* A statm file's first two fields, the mapped and the resident size, in bytes (0 if unreadable).
 * Without stdio: fopen would allocate, and "tick" must not. */
static void statm(const char *path, size_t *size, size_t *resident)
{
	char text[128];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	if (fd >= 0)
		close(fd);
	text[n > 0 ? n : 0] = '\0';
	char *end;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	*size = strtoul(text, &end, 10) * page;
	*resident = strtoul(end, NULL, 10) * page;
}

static size_t rss_bytes(void)
{
	size_t size, resident;
	statm("/proc/self/statm", &size, &resident);
	return resident;
}

#define MIB ((size_t)1 << 20)

/* Half of `total` in small blocks (16..4 KiB), half in large ones (300 KiB..4 MiB), all touched. */
static void **allocate(size_t total, size_t *count)
{
	size_t cap = total / 16 / 64 + total / (300 << 10) + 16;
	void **v = malloc(cap * sizeof(*v));
	size_t n = 0, small = 0, large = 0;
	uint64_t r = 88172645463325252ull;
	while (small < total / 2 && n < cap) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		size_t size = 16 + r % 4096;
		v[n] = malloc(size);
		memset(v[n++], 1, size);
		small += size;
	}
	while (large < total / 2 && n < cap) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		size_t size = (300 << 10) + r % (4 * MIB);
		v[n] = malloc(size);
		memset(v[n++], 2, size);
		large += size;
	}
	*count = n;
	return v;
}

static void release_all(void **v, size_t n)
{
	/* Free in an interleaved order, as real programs do. */
	for (size_t i = 0; i < n; i += 2)
		free(v[i]);
	for (size_t i = 1; i < n; i += 2)
		free(v[i]);
	free(v);
}

/* allocate(total), then free it all (release_all); returns the RSS before, *peak the RSS between. */
static size_t allocate_and_free(size_t total, size_t *peak)
{
	size_t start = rss_bytes(), n;
	void **v = allocate(total, &n);
	*peak = rss_bytes();
	release_all(v, n);
	return start;
}

static void test_trim(void)
{
	size_t peak, start = allocate_and_free(1024 * MIB, &peak);
	CHECK(peak > start + 900 * MIB);
	CHECK_EQ_INT(malloc_trim(0), 1);
	size_t end = rss_bytes();
	printf("rss: start %zu MiB, peak %zu MiB, after malloc_trim %zu MiB\n", start / MIB, peak / MIB, end / MIB);
	CHECK(end <= start + 8 * MIB);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_idle(void)
{
	struct sysprim_malloc_stats st;
	size_t peak, start = allocate_and_free(800 * MIB, &peak);
	/* Light activity: a few small allocations every millisecond, no explicit release call. The
	 * deadline is generous (the default delay is 1 s); the test passes as soon as RSS is down. */
	sysprim_malloc_stats(&st);
	double t0 = now_s(), limit = 10.0 + 3.0 * (double)st.release_delay_ms / 1000.0;
	size_t rss = rss_bytes();
	void *keep[8] = { 0 };
	unsigned i = 0;
	while (now_s() - t0 < limit) {
		free(keep[i % 8]);
		keep[i % 8] = malloc(16 + (i * 37) % 2000);
		i++;
		usleep(1000);
		if (getenv("ALLOC_TEST_VERBOSE") && i % 250 == 0) {
			struct sysprim_malloc_stats now;
			sysprim_malloc_stats(&now);
			fprintf(stderr, "%.2f s: rss %zu MiB, resident free %zu MiB, central %zu KiB, thread %zu KiB\n",
				now_s() - t0, rss_bytes() / MIB, now.bytes_resident_free / MIB,
				now.bytes_central_caches >> 10, now.bytes_thread_caches >> 10);
		}
		if (i % 50 == 0 && (rss = rss_bytes()) <= start + 32 * MIB && !getenv("ALLOC_TEST_VERBOSE"))
			break;
	}
	printf("rss: start %zu MiB, peak %zu MiB, after %.1f s of light activity %zu MiB\n", start / MIB,
	       peak / MIB, now_s() - t0, rss / MIB);
	CHECK(rss <= start + 32 * MIB);
	if (getenv("ALLOC_TEST_VERBOSE"))
		sysprim_malloc_print_stats(2);
	for (int k = 0; k < 8; k++)
		free(keep[k]);
}

static void pin_to_this_cpu(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	CHECK(sched_setaffinity(0, sizeof(set), &set) == 0);
}

/* A 2 MiB block written and freed leaves 2 MiB of resident free pages where the heap's used pages
 * end, right before pages never touched. A 3 MiB block must take those 2 MiB and only 1 MiB new:
 * carving it out of the untouched pages alone faulted in all 3 MiB (and left the 2 MiB idle). */
static void test_reuse(void)
{
	/* One CPU throughout: the page heap has an arena per CPU, and both blocks must meet in one. */
	pin_to_this_cpu();
	void *first = malloc(2 * MIB);
	CHECK(first != NULL);
	memset(first, 1, 2 * MIB);
	free(first);
	size_t before = rss_bytes();
	void *second = malloc(3 * MIB);
	CHECK(second != NULL);
	memset(second, 2, 3 * MIB);
	size_t grown = rss_bytes() - before;
	printf("rss grew by %zu KiB for a 3 MiB block after freeing a 2 MiB one\n", grown >> 10);
	CHECK(grown <= 3 * MIB / 2);
	free(second);
}

/* A block of `size` written in 16 places only and freed: its pages stay with the heap, mostly never
 * touched. Returns where it was. */
static char *sparse_block_freed(size_t size)
{
	char *p = malloc(size);
	if (p) {
		for (size_t i = 0; i < size; i += size / 16)
			p[i] = 1;
		free(p);
	}
	return p;
}

/* Every 4 KiB page of p reads as zero (reading a page never touched does not fault it in). */
static int zero_pages(const char *p, size_t size)
{
	for (size_t i = 0; i < size; i += 4096)
		if (p[i] || p[i + 4095])
			return 0;
	return 1;
}

/* calloc of a recycled big block its last user touched sparsely: zeroed, without faulting in the
 * pages nobody touched (memset over all of it took 1 GiB of RSS and 0.4 s for a 1 GiB block). */
static void test_calloc_sparse(void)
{
	pin_to_this_cpu();
	size_t size = 256 * MIB;
	size_t before = rss_bytes(); /* first: its small blocks must not be carved from the free block */
	char *old = sparse_block_freed(size);
	CHECK(old != NULL);
	char *p = calloc(1, size);
	size_t grown = rss_bytes() - before;
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(p == old); /* the same pages came back, or this tests nothing */
	CHECK(zero_pages(p, size));
	printf("calloc(256 MiB) of a sparsely used block: RSS grew by %zu KiB\n", grown >> 10);
	CHECK(grown <= 16 * MIB);
	free(p);
}

/* calloc(1, 1 TiB) after a sparsely used 1 TiB block was freed: succeeds without touching memory
 * or fails with ENOMEM, never gets the process killed. In a child, which is killed as soon as its
 * RSS passes 2 GiB (writing zeros over the block ended in the OOM killer). */
static void test_calloc_huge(void)
{
	size_t size = (size_t)1 << 40;
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		pin_to_this_cpu();
		if (!sparse_block_freed(size))
			_exit(0); /* no such address space here: nothing to test */
		errno = 0;
		char *p = calloc(1, size);
		if (!p)
			_exit(errno == ENOMEM ? 0 : 1);
		int ok = zero_pages(p, 1 << 20) && zero_pages(p + size - (1 << 20), 1 << 20);
		for (size_t i = 0; i < size; i += size / 16)
			ok = ok && p[i] == 0;
		free(p);
		_exit(ok ? 0 : 2);
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	int status = 0;
	size_t peak = 0;
	double t0 = now_s();
	while (waitpid(pid, &status, WNOHANG) == 0) {
		size_t size, rss;
		statm(path, &size, &rss);
		peak = rss > peak ? rss : peak;
		if (rss > 2048 * MIB || now_s() - t0 > 30) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(2000);
	}
	printf("calloc(1 TiB) after a sparse 1 TiB block: child status %#x, peak RSS seen %zu MiB, %.2f s\n", status,
	       peak / MIB, now_s() - t0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static size_t vm_size_bytes(void)
{
	size_t size, resident;
	statm("/proc/self/statm", &size, &resident);
	return size;
}

/* memalign(1 GiB, small)/free over and over reuses its address space: the freed block, a resident
 * island between the released pages around it, or those pages, serve the next call (each call
 * reserved a new GiB and more until the scavenger let the island merge: 16 TiB after 200,000). */
static void test_aligned_reuse(void)
{
	size_t start = vm_size_bytes();
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 200; i++) {
			size_t align = (size_t)1 << 30, size = round == 0 ? 100 : round == 1 ? 100 + (size_t)i * 4096 : 3000001;
			char *p = memalign(align, size);
			CHECK(p != NULL && ((uintptr_t)p & (align - 1)) == 0);
			if (!p)
				return;
			p[0] = 1;
			p[size - 1] = 2;
			free(p);
		}
		size_t grown = vm_size_bytes() - start;
		printf("round %d: 200 x memalign(1 GiB)/free grew VmSize by %zu MiB\n", round, grown / MIB);
		CHECK(grown < 64 * 1024 * MIB);
	}
}

/* On one CPU: blocks of a few classes allocated and freed, in more than a batch each; at the
 * thread's exit its cache goes to the central tier, a batch per class into that CPU's mailbox. */
static void *fill_caches(void *arg)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET((int)(intptr_t)arg, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		return (void *)1;
	enum { BLOCKS = 200 };
	static const size_t sizes[] = { 16, 48, 100, 300, 700, 1000, 3000 };
	void *blocks[BLOCKS];
	for (int round = 0; round < 4; round++)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			for (int i = 0; i < BLOCKS; i++)
				if ((blocks[i] = malloc(sizes[k])) == NULL)
					return (void *)1;
			for (int i = 0; i < BLOCKS; i++)
				free(blocks[i]);
		}
	return NULL;
}

static void test_trim_caches(void)
{
	cpu_set_t usable;
	CHECK(sched_getaffinity(0, sizeof(usable), &usable) == 0);
	int threads = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &usable))
			continue;
		pthread_t t;
		void *failed = NULL;
		CHECK(pthread_create(&t, NULL, fill_caches, (void *)(intptr_t)cpu) == 0);
		CHECK(pthread_join(t, &failed) == 0);
		CHECK(failed == NULL);
		threads++;
	}
	struct sysprim_malloc_stats before, after;
	sysprim_malloc_stats(&before);
	CHECK_EQ_INT(malloc_trim(0), 1);
	sysprim_malloc_stats(&after);
	size_t cached_before = 0, cached_after = 0;
	for (size_t c = 0; c < SYSPRIM_MALLOC_MAX_CLASSES; c++) {
		cached_before += before.classes[c].cached;
		cached_after += after.classes[c].cached;
		if (after.classes[c].cached)
			fprintf(stderr, "class of %zu B: %zu objects still cached after malloc_trim\n",
				after.classes[c].size, after.classes[c].cached);
	}
	printf("%d threads, one per CPU: %zu objects cached before malloc_trim, %zu after\n", threads, cached_before,
	       cached_after);
	CHECK(cached_before > 0);
	CHECK(cached_after == 0);
}

/* A program that goes quiet after its frees makes no malloc or free at all, so nothing drives the
 * release clock; sysprim_malloc_tick() every 100 ms, as an event loop's timer would call it, gives
 * the memory back within 32 MiB ("tick"). Without it RSS stays at the peak. */
static void test_tick(void)
{
	size_t peak, start = allocate_and_free(800 * MIB, &peak);
	CHECK(peak > start + 700 * MIB);
	double t0 = now_s();
	size_t rss = rss_bytes();
	while (rss > start + 32 * MIB && now_s() - t0 < 15.0) {
		usleep(100 * 1000);
		sysprim_malloc_tick();
		rss = rss_bytes();
	}
	printf("rss: start %zu MiB, peak %zu MiB, after %.1f s quiet with ticks %zu MiB\n", start / MIB,
	       peak / MIB, now_s() - t0, rss / MIB);
	CHECK(rss <= start + 32 * MIB);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "trim") == 0)
		test_trim();
	else if (argc == 2 && strcmp(argv[1], "idle") == 0)
		test_idle();
	else if (argc == 2 && strcmp(argv[1], "reuse") == 0)
		test_reuse();
	else if (argc == 2 && strcmp(argv[1], "trim-caches") == 0)
		test_trim_caches();
	else if (argc == 2 && strcmp(argv[1], "tick") == 0)
		test_tick();
	else if (argc == 2 && strcmp(argv[1], "aligned") == 0)
		test_aligned_reuse();
	else if (argc == 2 && strcmp(argv[1], "calloc") == 0) {
		test_calloc_sparse();
		test_calloc_huge();
	}
	else
		return 2;
	TEST_DONE();
}
