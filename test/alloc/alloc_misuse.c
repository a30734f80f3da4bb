/* A small program built against the C library that misuses malloc on purpose, for the preload
 * tests (suite alloc): the allocator must name the bad call and abort, or report leaks.
 * Usage: alloc-misuse double-free|double-free-later|double-free-trimmed|invalid-free|interior-free|
 *        past-end-free|never-handed-out-free|large-interior-free|realloc-interior|leak|ok */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "ok";
	static char not_heap[64];
	char *p = malloc(40), *q = malloc(40);
	if (!p || !q)
		return 1;
	strcpy(p, "x");
	if (strcmp(mode, "double-free") == 0) {
		free(p);
		free(p);
	} else if (strcmp(mode, "double-free-later") == 0) {
		free(p);
		free(q);
		free(p);
	} else if (strcmp(mode, "double-free-trimmed") == 0) {
		/* The first free reaches the span (malloc_trim empties this thread's cache); the
		 * second is not the cache's last free, so only the span can tell. */
		free(p);
		malloc_trim(0);
		free(p);
		malloc_trim(0);
	} else if (strcmp(mode, "invalid-free") == 0) {
		free(not_heap + 16);
	} else if (strcmp(mode, "interior-free") == 0) {
		free(p + 16);
	} else if (strcmp(mode, "past-end-free") == 0) {
		/* A 28 KiB class has one object per 32 KiB span: p + 28672 is where a second object
		 * would start, a multiple of the size inside the span's pages, never handed out. */
		char *r = malloc(28000);
		if (!r)
			return 1;
		free(r + 28672);
	} else if (strcmp(mode, "never-handed-out-free") == 0) {
		/* An 8 KiB class has four objects per 32 KiB span, and this program's first takes one:
		 * two objects on is an object start of the span (or past it) never handed out. */
		char *r = malloc(8000);
		if (!r)
			return 1;
		free(r + 16384);
	} else if (strcmp(mode, "large-interior-free") == 0) {
		char *big = malloc(1 << 20);
		free(big + 8192);
	} else if (strcmp(mode, "realloc-interior") == 0) {
		p = realloc(p + 16, 200);
	} else if (strcmp(mode, "large-double-free") == 0) {
		char *big = malloc(1 << 20);
		free(big);
		free(big);
	} else if (strcmp(mode, "leak") == 0) {
		for (int i = 0; i < 10; i++)
			if (!malloc(1000))
				return 1;
		return 0;
	}
	free(p);
	free(q);
	puts("done");
	return 0;
}
