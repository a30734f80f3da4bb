/* Per-thread caches of the allocator (src/alloc, tier 1): per-class stacks of free objects (arrays of
 * pointers) owned by one thread, grown adaptively within a byte budget, scavenged when idle, handed
 * back when the thread exits.
 * The lock-free fast paths themselves are inline in malloc.c; everything here is a slow path. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "alloc_internal.h"

/* Frees between two looks at the clock: cheap enough to keep idle memory flowing back even when
 * a thread only does light work that the cache alone satisfies. */
#define FREE_TICKS 64
/* With the guard and the spare entry (grow_max_length), the array then fills a 64 KiB metadata block. */
#define MAX_LIST_LENGTH 8190

__thread struct thread_cache *alloc_tls_cache __attribute__((tls_model("initial-exec")));
/* Set once this thread's cache was handed back at exit: later calls bypass caching. */
static __thread bool tls_cache_gone __attribute__((tls_model("initial-exec")));

static struct alloc_lock registry_lock;
static struct thread_cache *registry;
static pthread_key_t cache_key;
static bool cache_key_ok;

static void registry_link(struct thread_cache *tc)
{
	alloc_lock_acquire(&registry_lock);
	tc->prev = NULL;
	tc->next = registry;
	if (registry)
		registry->prev = tc;
	registry = tc;
	alloc_lock_release(&registry_lock);
}

static void registry_unlink(struct thread_cache *tc)
{
	alloc_lock_acquire(&registry_lock);
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		registry = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	alloc_lock_release(&registry_lock);
}

static struct thread_cache *tc_create(void)
{
	struct thread_cache *tc = meta_alloc(sizeof(*tc));
	if (!tc)
		return NULL;
	tc->max_capacity = alloc_config.thread_cache_bytes;
	tc->free_ticks = FREE_TICKS;
	tc->last_scavenge_ms = os_now_ms();
	registry_link(tc);
	/* Publish before pthread_setspecific: it may itself call calloc for high key numbers. */
	alloc_tls_cache = tc;
	if (cache_key_ok)
		pthread_setspecific(cache_key, tc);
	return tc;
}

/* A slots array's metadata block holds the NULL guard slots[-1], then the entries: blocks are powers
 * of two, so capacities are one less than a power of two. */
static size_t slot_block_bytes(uint32_t capacity)
{
	return ((size_t)capacity + 1) * sizeof(void *);
}

/* Make room in list c's array for `need` objects; false when the metadata arena cannot. */
static bool ensure_slots(struct thread_cache *tc, unsigned c, uint32_t need)
{
	struct tc_list *l = &tc->lists[c];
	struct tc_list_state *st = &tc->state[c];
	if (need <= st->slot_capacity)
		return true;
	uint32_t capacity = 7; /* a 64-byte block */
	while (capacity < need)
		capacity = capacity * 2 + 1;
	void **block = meta_alloc_raw(slot_block_bytes(capacity));
	if (!block)
		return false;
	block[0] = NULL; /* the guard */
	if (l->slots) {
		memcpy(block + 1, l->slots, (size_t)(l->length + st->foreign_count) * sizeof(void *));
		meta_free(l->slots - 1, slot_block_bytes(st->slot_capacity));
	}
	l->slots = block + 1;
	st->slot_capacity = capacity;
	return true;
}

/* Give the newest `count` objects of list c to the central tier. */
static void release_objects(struct thread_cache *tc, unsigned c, unsigned count)
{
	struct tc_list *l = &tc->lists[c];
	l->length -= count;
	central_release(c, l->slots + l->length, count);
}

/* Release `count` objects in whole batches where possible, so they land in the transfer cache. */
static void release_in_batches(struct thread_cache *tc, unsigned c, unsigned count)
{
	unsigned batch = alloc_class_batch[c];
	while (count > 0) {
		unsigned n = count < batch ? count : batch;
		release_objects(tc, c, n);
		count -= n;
	}
}

static void flush_foreign(struct thread_cache *tc, unsigned c)
{
	struct tc_list_state *st = &tc->state[c];
	if (!st->foreign_count)
		return;
	tc->foreign_bytes -= (size_t)st->foreign_count * alloc_class_size[c];
	central_release(c, tc->lists[c].slots, st->foreign_count);
	st->foreign_count = 0;
}

static void set_max_length(struct thread_cache *tc, unsigned c, uint32_t max_length)
{
	struct tc_list *l = &tc->lists[c];
	tc->capacity -= (size_t)l->max_length * alloc_class_size[c];
	l->max_length = max_length;
	tc->capacity += (size_t)max_length * alloc_class_size[c];
	if (l->length > max_length)
		release_in_batches(tc, c, l->length - max_length);
}

/* Make room for `need` bytes of capacity by halving the largest lists beyond one batch. */
static void steal_capacity(struct thread_cache *tc, unsigned except, size_t need)
{
	while (tc->capacity + need > tc->max_capacity) {
		unsigned victim = 0;
		size_t most = 0;
		for (unsigned k = 1; k < NUM_CLASSES; k++) {
			size_t cap = (size_t)tc->lists[k].max_length * alloc_class_size[k];
			if (k != except && tc->lists[k].max_length > alloc_class_batch[k] && cap > most) {
				most = cap;
				victim = k;
			}
		}
		if (!victim)
			return;
		uint32_t half = tc->lists[victim].max_length / 2;
		set_max_length(tc, victim, half > alloc_class_batch[victim] ? half : alloc_class_batch[victim]);
	}
}

/* The budget is on capacity (what the lists may hold), so the fast paths need not count bytes.
 * Up to one batch a list takes capacity from the largest lists when the budget is spent (a
 * class in use must be able to refill by whole batches); beyond that it grows only within the
 * budget, and idle lists hand capacity back at every tick. A list may always hold one small
 * object, so that it caches at all. Its array has room for a batch at least, and for one object
 * more than max_length (a full list takes the object being freed before it gives a batch back). */
static bool grow_max_length(struct thread_cache *tc, unsigned c, uint32_t by)
{
	struct tc_list *l = &tc->lists[c];
	size_t add = (size_t)by * alloc_class_size[c];
	uint32_t batch = alloc_class_batch[c];
	if (tc->capacity + add > tc->max_capacity && !(l->max_length == 0 && by == 1 && alloc_class_size[c] <= 4096)) {
		if (l->max_length + by > batch)
			return false;
		steal_capacity(tc, c, add);
		if (tc->capacity + add > tc->max_capacity)
			return false;
	}
	uint32_t max_length = l->max_length + by;
	if (!ensure_slots(tc, c, max_length >= batch ? max_length + 1 : batch))
		return false;
	set_max_length(tc, c, max_length);
	return true;
}

/* Slow start: a list grows by one per refill or overflow up to a batch, then by batches. */
static void grow_after_slow_event(struct thread_cache *tc, unsigned c)
{
	uint32_t max_length = tc->lists[c].max_length, batch = alloc_class_batch[c];
	if (max_length < batch)
		grow_max_length(tc, c, 1);
	else if (max_length < MAX_LIST_LENGTH)
		grow_max_length(tc, c, MAX_LIST_LENGTH - max_length < batch ? MAX_LIST_LENGTH - max_length : batch);
}

static void flush_all(struct thread_cache *tc)
{
	for (unsigned c = 1; c < NUM_CLASSES; c++) {
		if (tc->lists[c].length)
			release_in_batches(tc, c, tc->lists[c].length);
		flush_foreign(tc, c);
	}
}

/* Periodic: lists that needed no refill or overflow during a whole interval give half their
 * objects back (foreign objects all), from where idle spans reach the page heap and the OS. */
void tc_tick(struct thread_cache *tc)
{
	uint64_t now = os_now_ms();
	tc->free_ticks = FREE_TICKS;
	if ((int64_t)(now - tc->last_scavenge_ms) < (int64_t)alloc_config.scavenge_interval_ms)
		return;
	tc->last_scavenge_ms = now;
	for (unsigned c = 1; c < NUM_CLASSES; c++) {
		struct tc_list *l = &tc->lists[c];
		struct tc_list_state *st = &tc->state[c];
		if (!st->slow_events) {
			if (l->length)
				release_in_batches(tc, c, (l->length + 1) / 2);
			/* Give budget back too, so lists that are busy now can grow. */
			if (l->max_length > alloc_class_batch[c])
				set_max_length(tc, c, l->max_length / 2 > alloc_class_batch[c] ? l->max_length / 2
												: alloc_class_batch[c]);
			flush_foreign(tc, c);
		}
		st->slow_events = 0;
	}
	alloc_periodic(now);
}

void *tc_alloc_slow(size_t size)
{
	alloc_ensure_init();
	unsigned c = size_to_class(size);
	struct thread_cache *tc = alloc_tls_cache;
	if (!tc) {
		if (alloc_config.debug || tls_cache_gone || !(tc = tc_create())) {
			void *p = central_alloc_one(c);
			if (!p)
				errno = ENOMEM;
			return p;
		}
	}
	struct tc_list *l = &tc->lists[c];
	struct tc_list_state *st = &tc->state[c];
	if (l->length) {
		l->length--;
		return l->slots[l->length];
	}
	/* Objects other threads allocated and this one freed go back before we refill, so this
	 * thread does not write into cache lines its neighbours own. */
	flush_foreign(tc, c);
	st->slow_events++;
	grow_after_slow_event(tc, c);
	if (!l->max_length) {
		/* No array (the metadata arena is out of memory): serve this one without caching. */
		void *p = central_alloc_one(c);
		if (!p)
			errno = ENOMEM;
		return p;
	}
	unsigned batch = alloc_class_batch[c];
	unsigned want = l->max_length < batch ? l->max_length : batch;
	unsigned n = central_fetch(c, l->slots, want, st->slot_capacity);
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = l->slots[n - 1];
	l->length = n - 1;
	/* A whole batch from the transfer cache: supply is evidently there, skip the slow start. */
	if (n > l->max_length)
		grow_max_length(tc, c, n - l->max_length);
	if (--tc->free_ticks < 0)
		tc_tick(tc);
	return p;
}

/* Called by free() when list c is full, or unused (max_length 0: a class this thread frees but
 * never allocated, as a consumer does), and by tc_free_no_cache for a thread's first free. */
void tc_free_full(struct thread_cache *tc, unsigned c, void *p, void *caller)
{
	struct tc_list *l = &tc->lists[c];
	struct tc_list_state *st = &tc->state[c];
	unsigned batch = alloc_class_batch[c];
	if (l->max_length == 0) {
		/* Park the object out of malloc's reach and pass such objects on a batch at a time. */
		if (st->slot_capacity < batch && !ensure_slots(tc, c, batch)) {
			central_free_one(c, p, caller);
			return;
		}
		if (st->foreign_count && l->slots[st->foreign_count - 1] == p)
			alloc_fatal("free(): double free", p, caller);
		l->slots[st->foreign_count++] = p;
		tc->foreign_bytes += alloc_class_size[c];
		/* Pass a batch on when it is full, or when foreign objects of all classes together
		 * would take more than an eighth of the budget. */
		if (st->foreign_count >= batch || tc->foreign_bytes > tc->max_capacity / 8)
			flush_foreign(tc, c);
	} else {
		if (l->slots[(ptrdiff_t)l->length - 1] == p)
			alloc_fatal("free(): double free", p, caller);
		/* The array has room for one more than max_length (grow_max_length). */
		l->slots[l->length++] = p;
		st->slow_events++;
		release_in_batches(tc, c, l->length < batch ? l->length : batch);
		/* Frees outrun the limit: hold more next time, as far as the budget allows. */
		grow_after_slow_event(tc, c);
	}
	if (--tc->free_ticks < 0)
		tc_tick(tc);
}

/* free() of a small object by a thread without a cache. */
void tc_free_no_cache(void *p, unsigned c, void *caller)
{
	alloc_ensure_init();
	struct thread_cache *tc = alloc_tls_cache;
	if (!tc && !alloc_config.debug && !tls_cache_gone)
		tc = tc_create();
	if (!tc) {
		central_free_one(c, p, caller);
		return;
	}
	/* The thread had no cache until now, so the list is unused (max_length 0) and the object is
	 * parked as foreign; tc_free_full is right for a list in any state. */
	tc_free_full(tc, c, p, caller);
}

void tc_flush_current(void)
{
	struct thread_cache *tc = alloc_tls_cache;
	if (tc)
		flush_all(tc);
}

static void tc_destroy(void *arg)
{
	struct thread_cache *tc = arg;
	if (!tc)
		return;
	alloc_tls_cache = NULL;
	tls_cache_gone = true;
	flush_all(tc);
	registry_unlink(tc);
	for (unsigned c = 1; c < NUM_CLASSES; c++)
		if (tc->lists[c].slots)
			meta_free(tc->lists[c].slots - 1, slot_block_bytes(tc->state[c].slot_capacity));
	meta_free(tc, sizeof(*tc));
}

void tc_init(void)
{
	cache_key_ok = pthread_key_create(&cache_key, tc_destroy) == 0;
}

void tc_fork_lock(void)
{
	alloc_lock_acquire(&registry_lock);
}

/* In the child only the forking thread exists: other threads' caches are dropped from the
 * registry (their objects stay unusable in the child, which usually execs soon anyway). */
void tc_fork_unlock(bool child)
{
	if (!child) {
		alloc_lock_release(&registry_lock);
		return;
	}
	alloc_lock_reset(&registry_lock);
	registry = alloc_tls_cache;
	if (registry)
		registry->next = registry->prev = NULL;
}

/* Counters of other threads are read racily: good enough for statistics. */
void tc_sum_stats(size_t *bytes, size_t *count, size_t per_class[NUM_CLASSES])
{
	*bytes = 0;
	*count = 0;
	memset(per_class, 0, NUM_CLASSES * sizeof(per_class[0]));
	alloc_lock_acquire(&registry_lock);
	for (struct thread_cache *tc = registry; tc; tc = tc->next) {
		(*count)++;
		for (unsigned c = 1; c < NUM_CLASSES; c++) {
			size_t n = __atomic_load_n(&tc->lists[c].length, __ATOMIC_RELAXED) +
				   __atomic_load_n(&tc->state[c].foreign_count, __ATOMIC_RELAXED);
			per_class[c] += n;
			*bytes += n * alloc_class_size[c];
		}
	}
	alloc_lock_release(&registry_lock);
}
