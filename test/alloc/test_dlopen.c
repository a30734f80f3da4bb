/* libsysprim-malloc.so can be dlopen'ed into a process that runs on glibc's malloc (suite alloc):
 * its small initial-exec TLS fits, and its functions work from several threads. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysprim/alloc.h"
#include "test.h"

static void *(*lib_malloc)(size_t);
static void (*lib_free)(void *);
static void *(*lib_realloc)(void *, size_t);

static void *worker(void *arg)
{
	uintptr_t bad = 0;
	for (int round = 0; round < 2000; round++) {
		size_t size = 16 + (size_t)(round * 131 + (uintptr_t)arg) % 70000;
		unsigned char *p = lib_malloc(size);
		if (!p || ((uintptr_t)p & 15))
			return (void *)1;
		memset(p, (int)round, size);
		p = lib_realloc(p, size * 2);
		for (size_t i = 0; i < size; i++)
			bad += p[i] != (unsigned char)round;
		lib_free(p);
	}
	return (void *)bad;
}

int main(void)
{
	const char *path = getenv("SYSPRIM_MALLOC_LIB");
	if (!path || !*path)
		TEST_SKIP("SYSPRIM_MALLOC_LIB not set");
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	lib_malloc = (void *(*)(size_t))dlsym(h, "malloc");
	lib_free = (void (*)(void *))dlsym(h, "free");
	lib_realloc = (void *(*)(void *, size_t))dlsym(h, "realloc");
	void (*lib_stats)(struct sysprim_malloc_stats *) =
		(void (*)(struct sysprim_malloc_stats *))dlsym(h, "sysprim_malloc_stats");
	CHECK(lib_malloc && lib_free && lib_realloc && lib_stats);
	CHECK(lib_malloc != (void *(*)(size_t))malloc); /* ours, not glibc's */
	pthread_t t[4];
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < 4; i++) {
		void *bad;
		pthread_join(t[i], &bad);
		CHECK(bad == NULL);
	}
	struct sysprim_malloc_stats st;
	lib_stats(&st);
	CHECK(st.bytes_mapped > 0);
	CHECK(st.thread_caches <= 1); /* the workers' caches were handed back at exit */
	/* glibc's malloc keeps working beside it. */
	void *g = malloc(100);
	CHECK(g != NULL);
	free(g);
	dlclose(h);
	TEST_DONE();
}
