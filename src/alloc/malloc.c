/* The malloc API of the allocator (src/alloc, top layer): lock-free inline fast paths over the
 * thread cache, large blocks as page-heap spans, realloc in place or by moving pages with mremap,
 * the aligned variants, initialisation and fork safety. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_internal.h"
#include "sysprim/alloc.h"

/* Moving pages with mremap beats memcpy from this size on. A moved block keeps the mappings it was
 * moved in until it is freed (the source side is mapped afresh, see os_move_pages): about one more
 * mapping per move of a block still alive, so the number of moves is capped well below the kernel's
 * map count limit (65530). */
#define MOVE_PAGES_MIN ((size_t)1 << 20)
#define MOVE_PAGES_MAX_COUNT 16384
/* A large block that realloc has moved inside the page heap more than this many times its size in
 * all (the room behind it taken again and again by other blocks' growth) leaves the heap on its
 * next move, for a mapping of its own where it has room to double (page_heap_own_from): past that,
 * the heap's moves no longer cost a bounded amount per byte. Not sooner: its pages then leave the
 * heap, and a program that grows and frees such buffers over and over faults in fresh pages for
 * each, where the heap hands out its resident ones again. Two buffers grown by 1 MiB in turns to
 * 128 MiB and freed, 30 times, move about 20 times their size in the heap: 2.8 s there, 3.5-3.7 s
 * leaving it at 8 or 16. 16 buffers grown by 1 MiB in turns to 400 MiB move every other growth, at
 * 24 times their size when 96 MiB: 0.15 s in all (glibc 0.08 s; at 8, 0.05 s; never leaving, 2.1 s). */
#define OWN_MAPPING_MOVED 24
/* A small block that realloc grows to this size or more becomes a page-heap block with room behind
 * it: from here a growing buffer's copies (one per size class passed) cost more than the lock, and
 * the block then grows in place. */
#define REALLOC_SPAN_MIN ((size_t)64 << 10)
/* calloc of a recycled large block from this size on zeroes it with os_zero, which asks the kernel
 * which pages are resident, instead of memset, which faults in every page of a block its last user
 * touched sparsely (1 GiB: 0.4 s and 1 GiB of RSS). The question costs about 1.5 us, 15% of the
 * memset of a resident 1 MiB block; faulting in 1 MiB costs about 350 us. */
#define CALLOC_PROBE_MIN ((size_t)1 << 20)

struct alloc_config alloc_config;
int alloc_ready;
static struct alloc_lock init_lock;
static uint64_t last_periodic_ms;
static unsigned page_moves;

static void fork_prepare(void)
{
	tc_fork_lock();
	central_fork_lock();
	page_heap_fork_lock();
	meta_fork_lock();
}

static void fork_parent(void)
{
	meta_fork_unlock(false);
	page_heap_fork_unlock(false);
	central_fork_unlock(false);
	tc_fork_unlock(false);
}

static void fork_child(void)
{
	meta_fork_unlock(true);
	page_heap_fork_unlock(true);
	central_fork_unlock(true);
	tc_fork_unlock(true);
}

static void read_settings(void)
{
	size_t v;
	uint64_t ms;
	alloc_config.thread_cache_bytes = (size_t)2 << 20;
	alloc_config.release_delay_ms = 1000;
	alloc_config.debug = os_env_size("SYSPRIM_MALLOC_DEBUG", &v) && v;
	alloc_config.print_stats = os_env_size("SYSPRIM_MALLOC_STATS", &v) && v;
	alloc_config.leak_report = os_env_size("SYSPRIM_MALLOC_LEAKS", &v) && v;
	if (os_env_size("SYSPRIM_MALLOC_CACHE_SIZE", &v))
		alloc_config.thread_cache_bytes = v;
	if (os_env_ms("SYSPRIM_MALLOC_RELEASE_DELAY", &ms))
		alloc_config.release_delay_ms = ms;
	alloc_config.scavenge_interval_ms = alloc_config.release_delay_ms / 4;
	if (alloc_config.scavenge_interval_ms < 10)
		alloc_config.scavenge_interval_ms = 10;
}

/* Runs on the first call, possibly from the dynamic loader before main. Everything up to
 * alloc_ready uses no libc allocation; pthread_key_create/pthread_atfork come after, so if
 * they call malloc the allocator is already usable. */
void alloc_init_slow(void)
{
	alloc_lock_acquire(&init_lock);
	if (!alloc_ready) {
		read_settings();
		size_class_init();
		central_init();
		last_periodic_ms = os_now_ms();
		__atomic_store_n(&alloc_ready, 1, __ATOMIC_RELEASE);
		tc_init();
		pthread_atfork(fork_prepare, fork_parent, fork_child);
	}
	alloc_lock_release(&init_lock);
}

/* At most once per scavenge interval, process-wide: drain idle transfer caches and return free
 * spans idle for longer than the release delay. Called from slow paths and the free tick. */
void alloc_periodic(uint64_t now_ms)
{
	uint64_t last = __atomic_load_n(&last_periodic_ms, __ATOMIC_RELAXED);
	if ((int64_t)(now_ms - last) < (int64_t)alloc_config.scavenge_interval_ms)
		return;
	if (!__atomic_compare_exchange_n(&last_periodic_ms, &last, now_ms, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	central_drain_transfer(true);
	page_heap_scavenge(now_ms, false);
}

static size_t pages_for(size_t size)
{
	return (size + PAGE_BYTES - 1) >> PAGE_SHIFT;
}

void *alloc_large(size_t size, size_t align, bool zero)
{
	alloc_ensure_init();
	if (size > MAX_REQUEST || align > MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	size_t npages = pages_for(size ? size : 1);
	struct span *s = page_heap_alloc(npages, align > PAGE_BYTES ? align / PAGE_BYTES : 1);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = (void *)s->start;
	if (zero && !s->zeroed) {
		if (size >= CALLOC_PROBE_MIN)
			os_zero(p, npages * PAGE_BYTES);
		else
			memset(p, 0, size);
	}
	return p;
}

static struct span *large_span_of(void *ptr, const char *what, void *caller)
{
	struct span *s = pagemap_span((uintptr_t)ptr);
	if (!s || s->state != SPAN_LARGE || s->start != (uintptr_t)ptr)
		alloc_fatal(what, ptr, caller);
	return s;
}

ALLOC_EXPORT void *malloc(size_t size)
{
	unsigned c;
	if (ALLOC_LIKELY(size <= SMALL_TABLE_MAX))
		c = alloc_small_class[(size + 15) >> 4];
	else if (size <= MAX_SMALL_SIZE)
		c = size_to_class(size);
	else
		return alloc_large(size, 0, false);
	struct thread_cache *tc = alloc_tls_cache;
	if (ALLOC_LIKELY(tc != NULL)) {
		struct tc_list *l = &tc->lists[c];
		uint32_t n = l->length;
		if (ALLOC_LIKELY(n != 0)) {
			l->length = n - 1;
			return l->slots[n - 1];
		}
	}
	return tc_alloc_slow(size);
}

static ALLOC_NOINLINE void free_slow(void *ptr, void *caller)
{
	if (!ptr)
		return;
	unsigned c = pagemap_class((uintptr_t)ptr);
	if (c) {
		tc_free_no_cache(ptr, c, caller);
		return;
	}
	struct span *s = large_span_of(ptr, "free(): invalid pointer (never allocated here, or already freed)", caller);
	struct thread_cache *tc = alloc_tls_cache;
	if (tc && s->npages * PAGE_BYTES >= MOVE_PAGES_MIN) {
		/* Where this thread's next growing buffer may start, and how far it may grow; a block
		 * in a mapping of its own leaves no place behind, only its size. */
		tc->grow_hint = s->own_mapping ? 0 : s->start;
		tc->grow_hint_pages = s->npages;
		tc->grow_hint_arena = s->arena;
	}
	page_heap_free(s);
	alloc_periodic(os_now_ms());
}

/* Not visibly noreturn (noipa), so free() reaches it by a tail jump and its fast path needs no
 * stack frame. */
#if defined(__clang__)
#define ALLOC_OPAQUE __attribute__((noinline, optnone))
#else
#define ALLOC_OPAQUE __attribute__((noinline, noipa))
#endif
static ALLOC_OPAQUE void report_double_free(void *ptr, void *caller)
{
	alloc_fatal("free(): double free", ptr, caller);
}

#define NOT_A_BLOCK "invalid pointer (not the start of a block from this allocator)"

static ALLOC_OPAQUE void report_invalid_free(void *ptr, void *caller)
{
	alloc_fatal("free(): " NOT_A_BLOCK, ptr, caller);
}

ALLOC_EXPORT void free(void *ptr)
{
	uintptr_t a = (uintptr_t)ptr;
	struct pagemap_leaf *leaf = pagemap_leaf_for(a);
	if (ALLOC_LIKELY(leaf != NULL)) {
		size_t i = pagemap_index(a);
		unsigned c = leaf->size_class[i];
		struct thread_cache *tc = alloc_tls_cache;
		if (ALLOC_LIKELY(c != 0 && tc != NULL)) {
			/* An interior pointer or one past the objects would go to the cache and come
			 * back from malloc overlapping a live block. */
			if (ALLOC_UNLIKELY(!span_object_start(leaf->span[i], a))) {
				report_invalid_free(ptr, __builtin_return_address(0));
				return;
			}
			struct tc_list *l = &tc->lists[c];
			uint32_t n = l->length;
			if (ALLOC_UNLIKELY(n >= l->max_length)) {
				tc_free_full(tc, c, ptr, __builtin_return_address(0));
				return;
			}
			void **slots = l->slots;
			/* Catches the commonest double free (twice in a row) for one compare. */
			if (ALLOC_UNLIKELY(slots[(ptrdiff_t)n - 1] == ptr)) {
				report_double_free(ptr, __builtin_return_address(0));
				return;
			}
			slots[n] = ptr;
			l->length = n + 1;
			if (ALLOC_UNLIKELY(--tc->free_ticks < 0))
				tc_tick(tc);
			return;
		}
	}
	free_slow(ptr, __builtin_return_address(0));
}

ALLOC_EXPORT void *calloc(size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (total > MAX_SMALL_SIZE)
		return alloc_large(total, 0, true);
	void *p = malloc(total);
	if (p)
		memset(p, 0, total);
	return p;
}

/* A large block for realloc to grow: where this thread's last big block was, if that is still
 * free with room behind (page_heap_alloc_to_grow). */
static struct span *alloc_to_grow(size_t npages)
{
	struct thread_cache *tc = alloc_tls_cache;
	return page_heap_alloc_to_grow(npages, PAGE_HEAP_ROOM_TO_GROW, tc ? tc->grow_hint : 0,
				       tc ? tc->grow_hint_arena : 0, tc ? tc->grow_hint_pages : 0);
}

/* realloc of a block in a mapping of its own (page_heap_own_resize): shrunk only by more than a
 * quarter, as in the heap; where the kernel cannot grow it, copied into the page heap. */
static void *realloc_own(struct span *s, size_t npages, size_t size)
{
	void *ptr = (void *)s->start;
	if (npages <= s->npages && npages >= s->npages - s->npages / 4)
		return ptr;
	if (page_heap_own_resize(s, npages))
		return (void *)s->start;
	void *p = alloc_large(size, 0, false);
	if (!p)
		return NULL;
	memcpy(p, ptr, s->npages * PAGE_BYTES < size ? s->npages * PAGE_BYTES : size);
	page_heap_free(s);
	return p;
}

static void *realloc_large(void *ptr, size_t size, void *caller)
{
	struct span *s = large_span_of(ptr, "realloc(): invalid pointer (never allocated here, or already freed)", caller);
	size_t old_bytes = s->npages * PAGE_BYTES;
	if (size > MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	size_t npages = pages_for(size);
	if (s->own_mapping && (size > MAX_SMALL_SIZE || size > old_bytes / 2))
		return realloc_own(s, npages, size);
	if (size <= MAX_SMALL_SIZE && size <= old_bytes / 2) {
		void *p = malloc(size);
		if (!p)
			return NULL;
		memcpy(p, ptr, size);
		page_heap_free(s);
		return p;
	}
	if (npages <= s->npages) {
		/* Shrink only by more than a quarter: the slack left by generous growth (below) must
		 * survive the next small step of a growing buffer. */
		if (npages < s->npages - s->npages / 4)
			page_heap_shrink(s, npages);
		return ptr;
	}
	/* Growing: take a quarter more than asked when it is free right behind the block, so a
	 * buffer grown in small steps rarely needs the page heap again. */
	if (page_heap_grow_in_place(s, npages, npages + npages / 4))
		return ptr;
	if (old_bytes >= MOVE_PAGES_MIN && s->moved_pages > OWN_MAPPING_MOVED * s->npages && page_heap_own_possible()) {
		/* Not counted in page_moves: the source is mapped afresh and merges with its
		 * neighbours, and the block's own mappings go when it is freed. */
		struct span *own = page_heap_own_from(s, npages);
		if (own)
			return (void *)own->start;
	}
	struct span *n = alloc_to_grow(npages);
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	enum os_move moved = OS_NOT_MOVED;
	if (old_bytes >= MOVE_PAGES_MIN && __atomic_load_n(&page_moves, __ATOMIC_RELAXED) < MOVE_PAGES_MAX_COUNT)
		moved = os_move_pages(ptr, (void *)n->start, old_bytes);
	if (moved == OS_DESTINATION_LOST) {
		/* The kernel unmapped part of n and would not map it again (out of mappings): n is never
		 * handed out again, and the caller keeps its block, as on any failed realloc. */
		errno = ENOMEM;
		return NULL;
	}
	n->moved_pages = s->moved_pages + s->npages;
	if (moved == OS_MOVED) {
		__atomic_fetch_add(&page_moves, 1, __ATOMIC_RELAXED);
		page_heap_free_zeroed(s);
	} else {
		memcpy((void *)n->start, ptr, old_bytes);
		page_heap_free(s);
	}
	return (void *)n->start;
}

/* A small block's ptr given to realloc or malloc_usable_size: it must be the start of an object, and
 * in debug mode a live one. */
static void check_small(void *ptr, const char *invalid, const char *freed, void *caller)
{
	if (!span_object_start(pagemap_span((uintptr_t)ptr), (uintptr_t)ptr))
		alloc_fatal(invalid, ptr, caller);
	if (alloc_config.debug && !central_debug_is_live(ptr))
		alloc_fatal(freed, ptr, caller);
}

ALLOC_EXPORT void *realloc(void *ptr, size_t size)
{
	void *caller = __builtin_return_address(0);
	if (!ptr)
		return malloc(size);
	if (size == 0) {
		/* glibc's behaviour, which the programs we run under LD_PRELOAD expect. */
		free(ptr);
		return NULL;
	}
	unsigned c = pagemap_class((uintptr_t)ptr);
	if (!c)
		return realloc_large(ptr, size, caller);
	check_small(ptr, "realloc(): " NOT_A_BLOCK, "realloc(): pointer already freed", caller);
	size_t old = alloc_class_size[c];
	if (size <= old && size >= old / 2)
		return ptr;
	void *p;
	if (size >= REALLOC_SPAN_MIN && size > old && size <= MAX_REQUEST) {
		/* A buffer growing this big will likely grow on. */
		struct span *s = alloc_to_grow(pages_for(size));
		p = s ? (void *)s->start : NULL;
		if (!p)
			errno = ENOMEM;
	} else {
		p = malloc(size);
	}
	if (!p)
		return NULL;
	memcpy(p, ptr, size < old ? size : old);
	free(ptr);
	return p;
}

ALLOC_EXPORT void *reallocarray(void *ptr, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(ptr, total);
}

/* align is a power of two. Small requests use a class whose size is a multiple of the alignment
 * (objects start at multiples of their size from a page boundary); others get an aligned span. */
static void *alloc_aligned(size_t align, size_t size)
{
	alloc_ensure_init();
	if (align <= MIN_ALIGN)
		return malloc(size);
	if (size > MAX_REQUEST || align > MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	if (align <= PAGE_BYTES && size <= MAX_SMALL_SIZE) {
		size_t want = (size + align - 1) & ~(align - 1);
		if (!want)
			want = align;
		for (unsigned c = size_to_class(want); want <= MAX_SMALL_SIZE && c < NUM_CLASSES; c++)
			if (alloc_class_size[c] % align == 0)
				return malloc(alloc_class_size[c]);
	}
	return alloc_large(size, align, false);
}

static bool power_of_two(size_t x)
{
	return x && !(x & (x - 1));
}

ALLOC_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (!power_of_two(align) || align % sizeof(void *))
		return EINVAL;
	int saved = errno;
	void *p = alloc_aligned(align, size);
	if (!p) {
		errno = saved;
		return ENOMEM;
	}
	*out = p;
	return 0;
}

ALLOC_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (!power_of_two(align)) {
		errno = EINVAL;
		return NULL;
	}
	return alloc_aligned(align, size);
}

ALLOC_EXPORT void *memalign(size_t align, size_t size)
{
	/* glibc rounds a non-power-of-two alignment up rather than failing, and fails with EINVAL
	 * only when there is no power of two to round to; an alignment it cannot give is ENOMEM
	 * (alloc_aligned). */
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	if (!power_of_two(align)) {
		size_t a = MIN_ALIGN;
		while (a < align)
			a <<= 1;
		align = a;
	}
	return alloc_aligned(align, size);
}

ALLOC_EXPORT void *valloc(size_t size)
{
	return alloc_aligned(4096, size);
}

ALLOC_EXPORT void *pvalloc(size_t size)
{
	if (size > MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	size_t rounded = (size + 4095) & ~(size_t)4095;
	return alloc_aligned(4096, rounded ? rounded : 4096);
}

ALLOC_EXPORT size_t malloc_usable_size(void *ptr)
{
	if (!ptr)
		return 0;
	void *caller = __builtin_return_address(0);
	unsigned c = pagemap_class((uintptr_t)ptr);
	if (c) {
		check_small(ptr, "malloc_usable_size(): " NOT_A_BLOCK, "malloc_usable_size(): pointer already freed",
			    caller);
		return alloc_class_size[c];
	}
	struct span *s = large_span_of(ptr, "malloc_usable_size(): invalid pointer", caller);
	return s->npages * PAGE_BYTES;
}

ALLOC_EXPORT size_t sysprim_malloc_release(void)
{
	alloc_ensure_init();
	tc_flush_current();
	central_drain_transfer(false);
	return page_heap_scavenge(os_now_ms(), true);
}

ALLOC_EXPORT void sysprim_malloc_tick(void)
{
	if (!__atomic_load_n(&alloc_ready, __ATOMIC_ACQUIRE))
		return;
	if (alloc_tls_cache)
		tc_tick(alloc_tls_cache);
	alloc_periodic(os_now_ms());
}

ALLOC_EXPORT int malloc_trim(size_t pad)
{
	(void)pad;
	return sysprim_malloc_release() > 0;
}

__attribute__((destructor)) static void alloc_at_exit(void)
{
	if (!__atomic_load_n(&alloc_ready, __ATOMIC_ACQUIRE))
		return;
	if (alloc_config.print_stats)
		sysprim_malloc_print_stats(2);
	if (alloc_config.leak_report)
		sysprim_malloc_print_leaks(2);
}
