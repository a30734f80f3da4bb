/* Internal types, constants and inline helpers shared by the allocator's tiers (src/alloc).
 * Layering: malloc.c (API, fast paths) -> thread_cache.c -> central.c -> page_heap.c -> os.c. */
#ifndef SYSPRIM_ALLOC_INTERNAL_H
#define SYSPRIM_ALLOC_INTERNAL_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#if __has_include(<sys/rseq.h>) && (defined(__x86_64__) || defined(__aarch64__))
#include <sys/rseq.h>
#define HAVE_RSEQ_AREA 1
#endif

#define ALLOC_EXPORT __attribute__((visibility("default")))
#define ALLOC_LIKELY(x) __builtin_expect(!!(x), 1)
#define ALLOC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ALLOC_NOINLINE __attribute__((noinline))
#define ALLOC_COLD __attribute__((cold, noinline))

/* Allocator pages are 8 KiB (two hardware pages): fewer spans and page-map entries. */
#define PAGE_SHIFT 13
#define PAGE_BYTES ((size_t)1 << PAGE_SHIFT)
#define ADDRESS_BITS 47
#define PAGEMAP_LEAF_BITS 18
#define PAGEMAP_ROOT_BITS (ADDRESS_BITS - PAGE_SHIFT - PAGEMAP_LEAF_BITS)
#define PAGEMAP_LEAF_ENTRIES ((size_t)1 << PAGEMAP_LEAF_BITS)
#define PAGEMAP_ROOT_ENTRIES ((size_t)1 << PAGEMAP_ROOT_BITS)

/* Size classes: 16..128 in steps of 16, then 8 classes per power of two up to 256 KiB,
 * so a request wastes at most 1/8 of its class. Class 0 means "not a small object". */
#define NUM_CLASSES 97
#define MAX_SMALL_SIZE ((size_t)256 * 1024)
#define MIN_ALIGN 16
/* Requests above this are refused with ENOMEM before any arithmetic can overflow. */
#define MAX_REQUEST ((size_t)1 << 46)

#define MAX_BATCH 32
#define MAX_TRANSFER_SLOTS 64

/* ---- locks (os.c) ----
 * One word: 0 free, 1 held, 2 held with a thread perhaps asleep on it (the futex mutex of Drepper's
 * "Futexes Are Tricky"). A thread that finds it held spins a short while before it sleeps: the
 * allocator's critical sections are a few hundred cycles, and a futex sleep and wake-up cost two
 * context switches and make the scheduler see the threads as waking each other. */
struct alloc_lock {
	int state;
};
void alloc_lock_wait(struct alloc_lock *l);
void alloc_lock_wake(struct alloc_lock *l);

static inline bool alloc_lock_try(struct alloc_lock *l)
{
	int expected = 0;
	return __atomic_compare_exchange_n(&l->state, &expected, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void alloc_lock_acquire(struct alloc_lock *l)
{
	if (ALLOC_UNLIKELY(!alloc_lock_try(l)))
		alloc_lock_wait(l);
}

static inline void alloc_lock_release(struct alloc_lock *l)
{
	if (ALLOC_UNLIKELY(__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2))
		alloc_lock_wake(l);
}

/* In a child after fork(): whoever held the lock is not in this process. */
static inline void alloc_lock_reset(struct alloc_lock *l)
{
	l->state = 0;
}

/* ---- size classes (size_class.c) ---- */
extern uint32_t alloc_class_size[NUM_CLASSES];
extern uint8_t alloc_class_batch[NUM_CLASSES];
extern uint8_t alloc_class_pages[NUM_CLASSES];
extern uint16_t alloc_class_capacity[NUM_CLASSES];
/* ceil(2^40 / size): (offset * recip) >> 40 is offset / size for every offset that is a multiple of
 * size within a span (a multiply where a division would take tens of cycles). */
extern uint64_t alloc_class_recip[NUM_CLASSES];
/* Class of every size up to SMALL_TABLE_MAX, indexed by (size + 15) / 16. */
#define SMALL_TABLE_MAX 1024
extern uint8_t alloc_small_class[SMALL_TABLE_MAX / 16 + 1];
void size_class_init(void);

/* The CPU this thread runs on, as a hint only (it may move at once). glibc registers an rseq area
 * per thread whose cpu_id the kernel keeps current: one load, where sched_getcpu() is a call into
 * libc (or the vDSO) that costs about 1% of a producer-consumer handoff. */
static inline int alloc_current_cpu(void)
{
#ifdef HAVE_RSEQ_AREA
	if (ALLOC_LIKELY(__rseq_size > 0))
		return (int)__atomic_load_n(&((struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset))->cpu_id,
					    __ATOMIC_RELAXED);
#endif
	return sched_getcpu();
}

static inline unsigned size_to_class(size_t size)
{
	if (size <= 128)
		return size ? (unsigned)((size + 15) >> 4) : 1;
	size_t s = size - 1;
	unsigned b = 63 - (unsigned)__builtin_clzl(s);
	return 9 + (b - 7) * 8 + (unsigned)((s >> (b - 3)) & 7);
}

/* ---- spans and the page map (page_heap.c, pagemap.c) ---- */
enum span_state {
	SPAN_DEAD = 0,   /* struct on the metadata free list */
	SPAN_FREE,       /* in the page heap's free lists */
	SPAN_RELEASING,  /* taken out of the free lists while madvise runs unlocked */
	SPAN_SMALL,      /* carved into objects of one size class */
	SPAN_LARGE,      /* one allocation above the largest class */
};

struct span {
	uintptr_t start;
	uint64_t start_mul;           /* small span: span_object_start's multiplier, */
	uint64_t start_limit;         /* and its limit */
	uintptr_t end;                /* small span: end of its objects; own mapping: end of that */
	size_t npages;
	struct span *next, *prev;     /* page-heap free list or central non-empty list */
	uint8_t state;
	uint8_t size_class;
	uint8_t released;             /* free span whose pages were returned to the OS */
	uint8_t zeroed;               /* contents known to be zero (fresh or released pages) */
	uint8_t arena;                /* the page-heap arena whose chunk holds the pages (own
					 mapping: whose stats and lock count it) */
	uint8_t own_mapping;          /* large block in a mapping of its own, not in a chunk */
	uint8_t split;                /* own mapping: in several of the kernel's mappings */
	uint32_t in_use;              /* small span: objects handed out */
	uint32_t capacity;            /* small span: objects in total */
	uint64_t *free_bits;          /* small span: objects given back, one bit each (metadata) */
	uint32_t free_count;          /* small span: bits set in free_bits */
	uint32_t free_scan;           /* small span: no bit is set in the words before this one */
	uintptr_t bump;               /* small span: never-used objects [bump, end) */
	uint64_t free_time_ms;        /* free span: when it became free (dirty part) */
	uint64_t *debug_bits;         /* debug mode: one bit per allocated object */
	size_t moved_pages;           /* large block: pages realloc has moved (or copied) inside the
					 page heap in its lifetime, all moves summed */
};

struct pagemap_leaf {
	struct span *span[PAGEMAP_LEAF_ENTRIES];
	uint8_t size_class[PAGEMAP_LEAF_ENTRIES];
};

extern struct pagemap_leaf *alloc_pagemap_root[PAGEMAP_ROOT_ENTRIES];

static inline struct pagemap_leaf *pagemap_leaf_for(uintptr_t addr)
{
	uintptr_t index = addr >> (PAGE_SHIFT + PAGEMAP_LEAF_BITS);
	if (ALLOC_UNLIKELY(index >= PAGEMAP_ROOT_ENTRIES))
		return NULL;
	return __atomic_load_n(&alloc_pagemap_root[index], __ATOMIC_ACQUIRE);
}

static inline size_t pagemap_index(uintptr_t addr)
{
	return (addr >> PAGE_SHIFT) & (PAGEMAP_LEAF_ENTRIES - 1);
}

static inline unsigned pagemap_class(uintptr_t addr)
{
	struct pagemap_leaf *leaf = pagemap_leaf_for(addr);
	return leaf ? leaf->size_class[pagemap_index(addr)] : 0;
}

static inline struct span *pagemap_span(uintptr_t addr)
{
	struct pagemap_leaf *leaf = pagemap_leaf_for(addr);
	return leaf ? leaf->span[pagemap_index(addr)] : NULL;
}

/* Is addr the start of one of small span s's objects? One multiply and one compare, from two fields
 * next to s->start (free() runs it on every call). With size d, m = s->start_mul = floor(2^64 / d) + 1
 * and delta = m * d - 2^64 (0 < delta <= d), the offset n = addr - s->start (below 2^21: the page map
 * holds s for addr's page) gives, modulo 2^64,
 *   n * m = k * delta                      for n = k * d: below s->start_limit = taken * delta
 *                                          exactly when k < taken (objects handed out so far,
 *                                          span_objects_taken; at most the capacity);
 *   n * m = k * delta + r * m  >= m        for n = k * d + r, 0 < r < d: no wrap, as r * m <= 2^64 +
 *                                          delta - m and k * delta <= n < m - delta; and m >= 2^46
 *                                          is far above any limit (at most the span's bytes).
 * So an interior pointer fails, and so does a multiple of d past the objects handed out so far (in
 * the never-used region, or in the tail past the last object). */
_Static_assert((size_t)UINT8_MAX * PAGE_BYTES < ((uint64_t)1 << 21) && MAX_SMALL_SIZE <= ((size_t)1 << 18),
	       "small spans too big for span_object_start");
static inline bool span_object_start(const struct span *s, uintptr_t addr)
{
	return (addr - s->start) * s->start_mul < __atomic_load_n(&s->start_limit, __ATOMIC_RELAXED);
}

/* Sets what span_object_start reads, for a new span of class c: no object handed out yet. */
static inline void span_set_object_check(struct span *s, unsigned c)
{
	uint64_t d = alloc_class_size[c];
	s->start_mul = UINT64_MAX / d + 1 + ((d & (d - 1)) == 0); /* floor(2^64 / d) + 1, powers of two too */
	s->start_limit = 0;
}

/* `count` more objects of s (of `size` bytes) were taken from its never-used region: their starts pass
 * span_object_start from now on. So the check's limit is (objects ever handed out) * delta, and a
 * free() of an object start that was never handed out fails too (it would have gone to a cache and
 * come out of malloc twice, once from there and once from the region). Under the class lock; free()
 * reads it without: the program cannot free an object before it got it, and with it the new limit. */
static inline void span_objects_taken(struct span *s, size_t count, size_t size)
{
	__atomic_store_n(&s->start_limit, s->start_limit + count * (s->start_mul * size), __ATOMIC_RELAXED);
}

/* Callers hold the page heap lock; these create leaves on demand. */
bool pagemap_ensure(uintptr_t start, size_t npages);
void pagemap_set_span(uintptr_t page_addr, struct span *span);
void pagemap_set_range(uintptr_t start, size_t npages, struct span *span, unsigned size_class);
size_t pagemap_bytes(void);

/* ---- page heap (page_heap.c) ---- */
/* align_pages: 0 or 1 for none, a power of two, or PAGE_HEAP_ROOM_TO_GROW (realloc). */
#define PAGE_HEAP_ROOM_TO_GROW ((size_t)-1)
struct span *page_heap_alloc(size_t npages, size_t align_pages);
/* With PAGE_HEAP_ROOM_TO_GROW: try `hint` first (where the calling thread's last large block, of
 * `expect` pages, was), and leave room behind for the block to grow that far. */
struct span *page_heap_alloc_to_grow(size_t npages, size_t align_pages, uintptr_t hint, unsigned hint_arena,
				     size_t expect);
struct span *page_heap_alloc_small(size_t npages, unsigned size_class);
void page_heap_free(struct span *span);
void page_heap_free_zeroed(struct span *span);
bool page_heap_grow_in_place(struct span *span, size_t npages, size_t generous);
void page_heap_shrink(struct span *span, size_t npages);
size_t page_heap_scavenge(uint64_t now_ms, bool everything);
/* Large blocks in mappings of their own (realloc): page_heap_own_from takes a large block out of
 * the heap into one, grown to npages (NULL: it cannot, the block is as it was); page_heap_own_resize
 * grows or shrinks one (false: it cannot grow, nothing changed); page_heap_free unmaps one. */
bool page_heap_own_possible(void);
struct span *page_heap_own_from(struct span *span, size_t npages);
bool page_heap_own_resize(struct span *span, size_t npages);
void page_heap_fork_lock(void);
void page_heap_fork_unlock(bool child);
struct page_heap_stats {
	size_t mapped, resident_free, released, large_count, large_bytes, small_span_bytes;
};
void page_heap_get_stats(struct page_heap_stats *out);

/* ---- metadata (meta.c): never handed to the program, never freed to the OS ---- */
void *meta_alloc(size_t size);
void *meta_alloc_raw(size_t size);
void meta_free(void *p, size_t size);
size_t meta_bytes(void);
void meta_fork_lock(void);
void meta_fork_unlock(bool child);

/* ---- central free lists and transfer caches (central.c) ---- */
/* Objects move between the tiers as arrays of pointers: nothing is ever written into a free
 * object. central_fetch stores at least 1 object (0 when out of memory) and at most `room` into
 * out[], to be taken from the end; possibly more than `want`, never more than room. */
unsigned central_fetch(unsigned size_class, void **out, unsigned want, unsigned room);
void central_release(unsigned size_class, void *const *objs, unsigned count);
void *central_alloc_one(unsigned size_class);
void central_free_one(unsigned size_class, void *p, void *caller);
void central_drain_transfer(bool only_idle);
void central_init(void);
void central_fork_lock(void);
void central_fork_unlock(bool child);
struct central_class_stats {
	size_t handed_out, transfer_objects, span_free_objects, spans;
};
void central_get_stats(unsigned size_class, struct central_class_stats *out);
void central_print_debug_leaks(int fd);
bool central_debug_is_live(void *p);

/* ---- thread caches (thread_cache.c) ---- */
/* Hot part of a per-class cache: 16 bytes, four per cache line. The free objects are an array of
 * pointers, newest last: free() does not write into the block it is given, malloc() does not read
 * the one it returns, and batches move to and from the central tier by copying pointers. */
struct tc_list {
	void **slots;           /* slots[0..length); slots[-1] is readable (a NULL guard) */
	uint32_t length;
	uint32_t max_length;    /* 0 until this thread allocates from the class */
};

/* Cold part, touched only on slow paths. */
struct tc_list_state {
	uint32_t slot_capacity; /* entries `slots` has room for (at least a batch once in use) */
	uint32_t foreign_count; /* while max_length is 0: objects freed here that this thread never
				   allocated, parked in slots[0..foreign_count) out of malloc's reach */
	uint32_t slow_events;   /* refills and overflows since the last idle check */
};

struct thread_cache {
	int64_t free_ticks;     /* counts frees down to the next look at the clock */
	size_t capacity;        /* sum of max_length x class size: what the cache may hold */
	size_t max_capacity;
	size_t foreign_bytes;   /* parked foreign objects of all classes */
	uint64_t last_scavenge_ms;
	uintptr_t grow_hint;    /* where this thread's last freed large block began (realloc) */
	size_t grow_hint_pages; /* and how big it was */
	unsigned grow_hint_arena; /* and the page-heap arena it came from */
	struct tc_list lists[NUM_CLASSES];
	struct tc_list_state state[NUM_CLASSES];
	struct thread_cache *next, *prev;
};

extern __thread struct thread_cache *alloc_tls_cache __attribute__((tls_model("initial-exec")));

void *tc_alloc_slow(size_t size);
/* free() found the list full, or unused (max_length 0). */
void tc_free_full(struct thread_cache *tc, unsigned size_class, void *p, void *caller);
/* Periodic work, when a thread's free ticks have run out. */
void tc_tick(struct thread_cache *tc);
void tc_free_no_cache(void *p, unsigned size_class, void *caller);
void tc_flush_current(void);
void tc_init(void);
void tc_fork_lock(void);
void tc_fork_unlock(bool child);
void tc_sum_stats(size_t *bytes, size_t *count, size_t per_class[NUM_CLASSES]);

/* ---- process-wide settings and glue (malloc.c, os.c) ---- */
struct alloc_config {
	bool debug;
	bool print_stats;
	bool leak_report;
	size_t thread_cache_bytes;
	uint64_t release_delay_ms;
	uint64_t scavenge_interval_ms;
};
extern struct alloc_config alloc_config;
extern int alloc_ready;

void alloc_init_slow(void);
static inline void alloc_ensure_init(void)
{
	if (ALLOC_UNLIKELY(!__atomic_load_n(&alloc_ready, __ATOMIC_ACQUIRE)))
		alloc_init_slow();
}
void alloc_periodic(uint64_t now_ms);
void *alloc_large(size_t size, size_t align, bool zero);

/* os.c: every system call of the allocator lives there. */
void *os_map(size_t size, size_t align);
void os_unmap(void *p, size_t size);
void os_release(void *p, size_t size);
void os_zero(void *p, size_t size);
enum os_move { OS_MOVED, OS_NOT_MOVED, OS_DESTINATION_LOST };
enum os_move os_move_pages(void *from, void *to, size_t size);
void *os_move_out(void *from, size_t size);
bool os_resize_in_place(void *p, size_t size, size_t new_size);
bool os_move_into(void *from, size_t size, void *to, size_t new_size);
uint64_t os_now_ms(void);
const char *os_getenv(const char *name);
bool os_env_size(const char *name, size_t *out);
bool os_env_ms(const char *name, uint64_t *out);

/* Fixed-buffer formatting for diagnostics and stats: never allocates. */
struct diag {
	int fd;
	size_t len;
	size_t column;
	char buf[1024];
};
void diag_str(struct diag *d, const char *s);
void diag_dec(struct diag *d, uint64_t v);
void diag_hex(struct diag *d, uint64_t v);
void diag_size(struct diag *d, uint64_t bytes);
void diag_pad(struct diag *d, size_t column);
void diag_dec_at(struct diag *d, uint64_t v, size_t column);
void diag_flush(struct diag *d);
_Noreturn void alloc_fatal(const char *what, const void *ptr, const void *caller);

#endif
