/* bench/alloc-realloc-turns: large buffers grown by realloc. `turns`: 16 buffers grown by 1 MiB in
 * turns, 6,400 growths (to 400 MiB each; one byte written per MiB), the pattern that moved sysprim's
 * buffers inside its page heap on every other growth. `regrow`: two buffers grown from 1 to N MiB in
 * turns (every page written) and freed, again and again: what leaving the heap must not slow down.
 * Prints seconds, the kernel's mappings at the end and peak RSS. Built and run by
 * bench/alloc-quick.py --realloc under LD_PRELOAD of each allocator. Not a test.
 *   alloc-realloc-turns turns [GROWTHS]     alloc-realloc-turns regrow [CYCLES [MIB]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BUFFERS 16
#define MIB ((size_t)1 << 20)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t mapping_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	size_t lines = 0;
	int c;
	if (!f)
		return 0;
	while ((c = getc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	return lines;
}

static int turns(int growths)
{
	char *b[BUFFERS] = { 0 };
	size_t mib[BUFFERS] = { 0 };
	for (int g = 0; g < growths; g++) {
		int i = g % BUFFERS;
		char *q = realloc(b[i], (mib[i] + 1) * MIB);
		if (!q)
			return 1;
		q[mib[i] * MIB] = (char)(i + mib[i]);
		b[i] = q;
		mib[i]++;
	}
	for (int i = 0; i < BUFFERS; i++)
		for (size_t k = 0; k < mib[i]; k++)
			if (b[i][k * MIB] != (char)(i + k))
				return 1;
	return 0;
}

static int regrow(int cycles, size_t top)
{
	for (int c = 0; c < cycles; c++) {
		char *x = malloc(MIB), *y = malloc(MIB);
		if (!x || !y)
			return 1;
		memset(x, 1, MIB);
		memset(y, 1, MIB);
		for (size_t m = 2; m <= top; m++) {
			char *nx = realloc(x, m * MIB), *ny = nx ? realloc(y, m * MIB) : NULL;
			if (!nx || !ny)
				return 1;
			x = nx;
			y = ny;
			memset(x + (m - 1) * MIB, 1, MIB);
			memset(y + (m - 1) * MIB, 1, MIB);
		}
		if (x[0] != 1 || y[top * MIB - 1] != 1)
			return 1;
		free(x);
		free(y);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "turns";
	double start = now();
	int failed;
	if (strcmp(mode, "turns") == 0)
		failed = turns(argc > 2 ? atoi(argv[2]) : 6400);
	else if (strcmp(mode, "regrow") == 0)
		failed = regrow(argc > 2 ? atoi(argv[2]) : 60, argc > 3 ? (size_t)atoi(argv[3]) : 64);
	else
		failed = 2;
	double seconds = now() - start;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%.3f s  %zu mappings  %ld MiB peak RSS%s\n", seconds, mapping_count(), ru.ru_maxrss >> 10,
	       failed ? "  FAILED" : "");
	return failed;
}
