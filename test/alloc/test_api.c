/* Contract tests of the allocator's C API (suite unit, alloc): every call linked against the
 * builtin allocator, errno on failure, alignment of every kind, calloc overflow, huge requests. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysprim/alloc.h"
#include "test.h"

/* Hide values from the compiler, which would otherwise warn about calls it can prove fail. */
static size_t opaque_size(size_t v)
{
	__asm__ volatile("" : "+r"(v));
	return v;
}

static void *opaque_ptr(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

static int is_aligned(const void *p, size_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

/* The test really runs on our allocator: the stats see what we allocate. */
static void test_is_ours(void)
{
	struct sysprim_malloc_stats before, after;
	sysprim_malloc_stats(&before);
	void *big = malloc(3 << 20);
	CHECK(big != NULL);
	sysprim_malloc_stats(&after);
	CHECK(after.large_in_use == before.large_in_use + 1);
	CHECK(after.large_bytes_in_use >= before.large_bytes_in_use + (3 << 20));
	free(big);
	CHECK(after.num_classes > 80 && after.num_classes <= SYSPRIM_MALLOC_MAX_CLASSES);
}

static void test_malloc_basic(void)
{
	for (size_t size = 0; size <= 4096; size++) {
		unsigned char *p = malloc(size);
		CHECK(p != NULL);
		CHECK(is_aligned(p, 16));
		CHECK(malloc_usable_size(p) >= size);
		memset(p, 0xa5, size);
		free(p);
	}
	/* malloc(0) returns distinct, freeable pointers. */
	void *a = malloc(0), *b = malloc(0);
	CHECK(a && b && a != b);
	free(a);
	free(b);
	free(NULL);
	CHECK_EQ_INT(malloc_usable_size(NULL), 0);
}

static void test_huge_is_enomem(void)
{
	size_t sizes[] = { SIZE_MAX, SIZE_MAX / 2, (size_t)1 << 48, (size_t)1 << 62 };
	for (size_t i = 0; i < 4; i++)
		sizes[i] = opaque_size(sizes[i]);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		errno = 0;
		CHECK(malloc(sizes[i]) == NULL);
		CHECK_EQ_INT(errno, ENOMEM);
		errno = 0;
		CHECK(calloc(1, sizes[i]) == NULL);
		CHECK_EQ_INT(errno, ENOMEM);
		errno = 0;
		CHECK(aligned_alloc(64, sizes[i]) == NULL);
		CHECK_EQ_INT(errno, ENOMEM);
		errno = 0;
		CHECK(memalign(4096, sizes[i]) == NULL);
		CHECK_EQ_INT(errno, ENOMEM);
		errno = 0;
		CHECK(valloc(sizes[i]) == NULL);
		CHECK_EQ_INT(errno, ENOMEM);
		errno = 0;
		CHECK(pvalloc(sizes[i]) == NULL);
		CHECK_EQ_INT(errno, ENOMEM);
		void *p = malloc(100);
		errno = 0;
		CHECK(realloc(opaque_ptr(p), sizes[i]) == NULL);
		CHECK_EQ_INT(errno, ENOMEM);
		free(opaque_ptr(p)); /* still valid after a failed realloc */
		void *q = (void *)1;
		CHECK_EQ_INT(posix_memalign(&q, 64, sizes[i]), ENOMEM);
		CHECK(q == (void *)1);
	}
}

static void test_calloc(void)
{
	errno = 0;
	CHECK(calloc(opaque_size(SIZE_MAX / 2), 3) == NULL);
	CHECK_EQ_INT(errno, ENOMEM);
	errno = 0;
	CHECK(calloc(opaque_size((size_t)1 << 33), (size_t)1 << 33) == NULL);
	CHECK_EQ_INT(errno, ENOMEM);
	/* Dirty memory first, so calloc must really clear recycled blocks, small and large. */
	size_t sizes[] = { 1, 16, 100, 1000, 4096, 70000, 262144, 300000, 1 << 20, 5 << 20 };
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			unsigned char *d = malloc(sizes[i]);
			memset(d, 0xff, sizes[i]);
			free(d);
			unsigned char *p = calloc(1, sizes[i]);
			CHECK(p != NULL);
			size_t bad = 0;
			for (size_t k = 0; k < sizes[i]; k++)
				bad += p[k] != 0;
			CHECK_EQ_INT(bad, 0);
			memset(p, 0xee, sizes[i]);
			free(p);
		}
	}
	void *z = calloc(0, 10);
	CHECK(z != NULL);
	free(z);
}

static void test_aligned_family(void)
{
	for (size_t align = 1; align <= ((size_t)1 << 22); align <<= 1) {
		size_t sizes[] = { 0, 1, align - 1, align, align + 1, 3 * align, 100, 70000 };
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t size = sizes[i];
			void *p = NULL;
			size_t want = align < sizeof(void *) ? sizeof(void *) : align;
			CHECK_EQ_INT(posix_memalign(&p, want, size), 0);
			CHECK(p && is_aligned(p, want) && is_aligned(p, 16));
			CHECK(malloc_usable_size(p) >= size);
			memset(p, 1, size);
			free(p);
			p = aligned_alloc(align, size);
			CHECK(p && is_aligned(p, align) && is_aligned(p, 16));
			memset(p, 2, size);
			free(p);
			p = memalign(align, size);
			CHECK(p && is_aligned(p, align));
			memset(p, 3, size);
			free(p);
		}
	}
	/* Bad alignments. */
	void *p = (void *)1;
	CHECK_EQ_INT(posix_memalign(&p, 0, 16), EINVAL);
	CHECK_EQ_INT(posix_memalign(&p, 24, 16), EINVAL);
	CHECK_EQ_INT(posix_memalign(&p, 4, 16), EINVAL); /* not a multiple of sizeof(void *) */
	CHECK(p == (void *)1);
	errno = 0;
	CHECK(aligned_alloc(opaque_size(24), 48) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	errno = 0;
	CHECK(aligned_alloc(opaque_size(0), 48) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	/* memalign rounds a non-power-of-two alignment up, like glibc. */
	p = memalign(opaque_size(48), 100);
	CHECK(p && is_aligned(p, 64));
	free(p);

	void *v = valloc(5000);
	CHECK(v && is_aligned(v, 4096) && malloc_usable_size(v) >= 5000);
	free(v);
	v = pvalloc(5000);
	CHECK(v && is_aligned(v, 4096) && malloc_usable_size(v) >= 8192);
	free(v);
	v = pvalloc(0);
	CHECK(v && is_aligned(v, 4096) && malloc_usable_size(v) >= 4096);
	free(v);
}

/* Alignments too big to satisfy are out of memory, as in glibc: ENOMEM for every power of two (and
 * for memalign, which rounds up, anything it can round to one); EINVAL only for what is no power of
 * two at all: memalign above SIZE_MAX / 2 + 1, posix_memalign and aligned_alloc for any other. */
static void test_huge_alignment(void)
{
	for (unsigned shift = 47; shift < 64; shift++) {
		size_t align = opaque_size((size_t)1 << shift);
		errno = 0;
		CHECK(memalign(align, 10) == NULL);
		CHECK_EQ_INT(errno, ENOMEM);
		errno = 0;
		CHECK(memalign(align - 1, 10) == NULL);
		CHECK_EQ_INT(errno, ENOMEM);
		errno = 0;
		CHECK(aligned_alloc(align, 10) == NULL);
		CHECK_EQ_INT(errno, ENOMEM);
		void *p = (void *)1;
		errno = 0;
		CHECK_EQ_INT(posix_memalign(&p, align, 10), ENOMEM);
		CHECK(p == (void *)1);
		CHECK_EQ_INT(errno, 0);
	}
	errno = 0;
	CHECK(memalign(opaque_size(SIZE_MAX / 2 + 2), 10) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	errno = 0;
	CHECK(memalign(opaque_size(SIZE_MAX), 10) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	void *p = (void *)1;
	CHECK_EQ_INT(posix_memalign(&p, opaque_size(SIZE_MAX / 2 + 2), 10), EINVAL);
	CHECK(p == (void *)1);
}

static void test_realloc_api(void)
{
	/* realloc(NULL, n) is malloc; realloc(p, 0) frees and returns NULL (glibc). */
	char *p = realloc(NULL, 10);
	CHECK(p != NULL);
	strcpy(p, "abcdefghi");
	p = realloc(p, 0);
	CHECK(p == NULL);
	errno = 0;
	int *a = reallocarray(NULL, 10, sizeof(int));
	CHECK(a != NULL);
	for (int i = 0; i < 10; i++)
		a[i] = i;
	errno = 0;
	CHECK(reallocarray(opaque_ptr(a), opaque_size(SIZE_MAX / 2), 4) == NULL);
	CHECK_EQ_INT(errno, ENOMEM);
	a = reallocarray(opaque_ptr(a), 1000, sizeof(int));
	CHECK(a != NULL);
	for (int i = 0; i < 10; i++)
		CHECK_EQ_INT(a[i], i);
	free(a);
}

static void test_trim_and_stats(void)
{
	struct sysprim_malloc_stats st;
	void *blocks[64];
	for (int i = 0; i < 64; i++) {
		blocks[i] = malloc(1 << 20);
		memset(blocks[i], 7, 1 << 20);
	}
	for (int i = 0; i < 64; i++)
		free(blocks[i]);
	CHECK_EQ_INT(malloc_trim(0), 1);
	sysprim_malloc_stats(&st);
	CHECK(st.bytes_resident_free == 0);
	CHECK(st.bytes_released >= (size_t)64 << 20);
	CHECK(st.bytes_mapped >= st.bytes_released);
	CHECK(st.thread_caches >= 1);
	/* The printers write something sensible to a pipe and never allocate. */
	int fds[2];
	CHECK(pipe(fds) == 0);
	sysprim_malloc_print_stats(fds[1]);
	close(fds[1]);
	char buf[4096];
	ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = 0;
	CHECK(strstr(buf, "mapped from the OS") != NULL);
}

int main(void)
{
	test_is_ours();
	test_malloc_basic();
	test_huge_is_enomem();
	test_calloc();
	test_aligned_family();
	test_huge_alignment();
	test_realloc_api();
	test_trim_and_stats();
	TEST_DONE();
}
