/* bench/alloc-quick-rss: how much memory an allocator gives back on its own. Allocates 800 MiB
 * (half in 16..4096-byte blocks, half in 300 KiB..4 MiB blocks), frees it all, then does light
 * work (a few small mallocs per millisecond) for 3 s and prints RSS above the start each second.
 * Built and run by bench/alloc-quick.py --rss under LD_PRELOAD of each allocator. Not a test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long rss_mib(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * sysconf(_SC_PAGESIZE) >> 20;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	const size_t total = (size_t)800 << 20;
	size_t cap = total / 2048 + total / (300 << 10) + 16, n = 0, bytes = 0;
	void **v = malloc(cap * sizeof(*v));
	uint64_t r = 88172645463325252ull;
	long start = rss_mib();
	while (bytes < total / 2) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		size_t s = 16 + r % 4081;
		v[n] = malloc(s);
		memset(v[n++], 1, s);
		bytes += s;
	}
	while (bytes < total && n < cap) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		size_t s = (300 << 10) + r % (4 << 20);
		v[n] = malloc(s);
		memset(v[n++], 2, s);
		bytes += s;
	}
	long peak = rss_mib();
	for (size_t i = 0; i < n; i += 2)
		free(v[i]);
	for (size_t i = 1; i < n; i += 2)
		free(v[i]);
	printf("start %ld MiB, peak +%ld MiB, after free +%ld MiB", start, peak - start, rss_mib() - start);
	double t0 = now();
	void *keep[8] = { 0 };
	for (unsigned i = 0, second = 1; second <= 3; i++) {
		free(keep[i % 8]);
		keep[i % 8] = malloc(16 + (i * 37) % 2000);
		usleep(1000);
		if (now() - t0 >= second) {
			printf(", after %us +%ld MiB", second, rss_mib() - start);
			second++;
		}
	}
	printf("\n");
	return 0;
}
