/* Size-class tests of the allocator (suite unit, alloc): every class boundary +-1, usable size and
 * waste bounds, realloc growth and shrink through every tier with contents preserved. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/alloc/alloc_internal.h"
#include "sysprim/alloc.h"
#include "test.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7 + (i >> 8));
}

static size_t count_bad(const unsigned char *p, size_t n, unsigned seed)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += p[i] != (unsigned char)(seed + i * 7 + (i >> 8));
	return bad;
}

static void test_class_boundaries(void)
{
	struct sysprim_malloc_stats st;
	sysprim_malloc_stats(&st);
	CHECK(st.num_classes > 0);
	CHECK(st.classes[st.num_classes - 1].size >= 256 * 1024);
	size_t prev = 0;
	for (unsigned i = 0; i < st.num_classes; i++) {
		size_t size = st.classes[i].size;
		CHECK(size > prev);
		CHECK(size % 16 == 0);
		/* Any request in (prev, size] lands in this class: waste below 1/8 beyond 128 bytes. */
		if (prev >= 128)
			CHECK((size - (prev + 1)) * 8 <= prev + 1);
		size_t probes[] = { size - 1, size, size + 1, prev + 1 };
		for (size_t k = 0; k < 4; k++) {
			size_t n = probes[k];
			unsigned char *p = malloc(n);
			CHECK(p != NULL);
			CHECK(((uintptr_t)p & 15) == 0);
			size_t usable = malloc_usable_size(p);
			CHECK(usable >= n);
			if (n <= size && n > prev)
				CHECK_EQ_INT(usable, size);
			fill(p, usable, (unsigned)n);
			CHECK_EQ_INT(count_bad(p, usable, (unsigned)n), 0);
			free(p);
		}
		prev = size;
	}
	/* Many live objects of one class do not overlap. */
	enum { N = 5000 };
	static unsigned char *objs[N];
	for (int i = 0; i < N; i++) {
		objs[i] = malloc(48);
		fill(objs[i], 48, (unsigned)i);
	}
	size_t bad = 0;
	for (int i = 0; i < N; i++)
		bad += count_bad(objs[i], 48, (unsigned)i);
	CHECK_EQ_INT(bad, 0);
	for (int i = 0; i < N; i++)
		free(objs[i]);
}

static void test_realloc_sequences(void)
{
	/* Grow from 1 byte to 64 MiB by doubling and +1 steps, checking the preserved prefix. */
	size_t n = 1;
	unsigned char *p = malloc(n);
	fill(p, n, 3);
	while (n < ((size_t)64 << 20)) {
		size_t next = n * 2 + (n & 1);
		unsigned char *q = realloc(p, next);
		CHECK(q != NULL);
		if (!q)
			break;
		CHECK_EQ_INT(count_bad(q, n, 3), 0);
		fill(q, next, 3);
		p = q;
		n = next;
	}
	/* And back down. */
	while (n > 1) {
		size_t next = n / 3 + 1;
		unsigned char *q = realloc(p, next);
		CHECK(q != NULL);
		if (!q)
			break;
		CHECK_EQ_INT(count_bad(q, next, 3), 0);
		p = q;
		n = next;
	}
	free(p);

	/* Growing in place is allowed; the old pointer must then be returned unchanged. */
	unsigned char *a = malloc(100);
	fill(a, 100, 9);
	unsigned char *b = realloc(a, 110);
	CHECK(b == a); /* same 112-byte class */
	CHECK_EQ_INT(count_bad(b, 100, 9), 0);
	free(b);

	/* Large blocks interleaved so in-place growth sometimes fails and pages must move. */
	enum { K = 8 };
	unsigned char *big[K];
	size_t len[K];
	for (int i = 0; i < K; i++) {
		len[i] = (size_t)(300 + i) << 10;
		big[i] = malloc(len[i]);
		fill(big[i], len[i], (unsigned)i);
	}
	for (int round = 0; round < 6; round++) {
		for (int i = 0; i < K; i++) {
			size_t nl = round % 2 ? len[i] / 2 + 4096 : len[i] * 3;
			unsigned char *q = realloc(big[i], nl);
			CHECK(q != NULL);
			size_t keep = nl < len[i] ? nl : len[i];
			CHECK_EQ_INT(count_bad(q, keep, (unsigned)i), 0);
			fill(q, nl, (unsigned)i);
			big[i] = q;
			len[i] = nl;
		}
	}
	for (int i = 0; i < K; i++)
		free(big[i]);
}

/* free()'s check that a pointer starts an object of its span (span_object_start), against the
 * division it stands for, at every byte offset of a span of every class, with none, some and all of
 * its objects handed out: interior pointers, object starts not handed out yet and the multiple of the
 * size in the tail past the last object must fail, every object start handed out pass. */
static void test_object_start_check(void)
{
	free(malloc(1)); /* the size classes are set up */
	unsigned long wrong = 0, checked = 0;
	for (unsigned c = 1; c < NUM_CLASSES; c++) {
		size_t size = alloc_class_size[c], bytes = (size_t)alloc_class_pages[c] * PAGE_BYTES;
		size_t capacity = alloc_class_capacity[c];
		CHECK(bytes / size == capacity);
		struct span s = { .start = (uintptr_t)1 << 40 };
		span_set_object_check(&s, c);
		size_t taken = 0;
		/* None taken; then one, a third, and all (in two steps, as refills take them). */
		size_t steps[] = { 0, 1, capacity / 3, capacity - capacity / 3 - 1 };
		for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			span_objects_taken(&s, steps[k], size);
			taken += steps[k];
			if (k != 0 && k != 3 && size < 1024)
				continue; /* partial states: larger classes only, to keep the run short */
			for (size_t n = 0; n < bytes; n++, checked++) {
				bool want = n % size == 0 && n / size < taken;
				if (span_object_start(&s, s.start + n) != want && wrong++ < 5)
					fprintf(stderr, "class %u (size %zu), %zu taken: offset %zu judged %d\n", c, size,
						taken, n, !want);
			}
		}
		CHECK(taken == capacity);
	}
	printf("object-start check: %lu offsets, %lu wrong\n", checked, wrong);
	CHECK(wrong == 0);
}

int main(void)
{
	test_object_start_check();
	test_class_boundaries();
	test_realloc_sequences();
	TEST_DONE();
}
