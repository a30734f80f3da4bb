/* Page heap of the allocator (src/alloc, tier 3): spans of 8 KiB pages carved from large mmap'ed
 * chunks, best-fit free lists, coalescing of neighbours through the page map, and the delayed
 * return of idle free spans to the OS. One lock; every call here is off the fast path. */
#include <pthread.h>
#include <string.h>

#include "alloc_internal.h"

#define MAX_LIST_PAGES 128
#define CHUNK_BYTES ((size_t)64 << 20)
#define CHUNK_ALIGN ((size_t)2 << 20)
#define SCAVENGE_BATCH 64

/* Adaptive: a thread that finds the lock taken spins a little before it sleeps. Work under this
 * lock takes a microsecond or less, and with four threads trading large blocks on two cores a
 * sleeping waiter (a futex wait and wake-up, often a migration) cost more than the wait: `large`,
 * 4 threads, 0.5 s: 0.593 Mops/s median of 7 vs 0.572, voluntary context switches per run 60-150
 * instead of 150-7,500. */
static pthread_mutex_t heap_lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
/* free_lists[n] holds free spans of exactly n pages; free_lists[0] those above MAX_LIST_PAGES.
 * Resident (dirty) spans go to the front and released ones to the back, so reuse prefers memory
 * that needs no page faults. */
static struct span free_lists[MAX_LIST_PAGES + 1];
static uint64_t nonempty_mask[(MAX_LIST_PAGES + 64) / 64 + 1];
static struct page_heap_stats heap_stats;

static void list_init(struct span *head)
{
	head->next = head->prev = head;
}

static void list_unlink(struct span *s)
{
	s->prev->next = s->next;
	s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static void list_push_front(struct span *head, struct span *s)
{
	s->next = head->next;
	s->prev = head;
	head->next->prev = s;
	head->next = s;
}

static void list_push_back(struct span *head, struct span *s)
{
	s->prev = head->prev;
	s->next = head;
	head->prev->next = s;
	head->prev = s;
}

/* Span structs are recycled here, under the heap lock, so carving and coalescing do not take
 * the metadata lock as well. */
static struct span *spare_spans;

static struct span *span_new(void)
{
	struct span *s = spare_spans;
	if (!s)
		return meta_alloc(sizeof(struct span));
	spare_spans = s->next;
	memset(s, 0, sizeof(*s));
	return s;
}

static void span_delete(struct span *s)
{
	s->state = SPAN_DEAD;
	s->next = spare_spans;
	spare_spans = s;
}

static size_t list_index(size_t npages)
{
	return npages <= MAX_LIST_PAGES ? npages : 0;
}

static void set_ends(struct span *s)
{
	pagemap_set_span(s->start, s);
	pagemap_set_span(s->start + (s->npages - 1) * PAGE_BYTES, s);
}

static void free_list_insert(struct span *s)
{
	size_t i = list_index(s->npages);
	s->state = SPAN_FREE;
	if (s->released) {
		list_push_back(&free_lists[i], s);
		heap_stats.released += s->npages * PAGE_BYTES;
	} else {
		list_push_front(&free_lists[i], s);
		heap_stats.resident_free += s->npages * PAGE_BYTES;
	}
	nonempty_mask[i / 64] |= 1ull << (i % 64);
	set_ends(s);
}

static void free_list_remove(struct span *s)
{
	size_t i = list_index(s->npages);
	list_unlink(s);
	if (free_lists[i].next == &free_lists[i])
		nonempty_mask[i / 64] &= ~(1ull << (i % 64));
	if (s->released)
		heap_stats.released -= s->npages * PAGE_BYTES;
	else
		heap_stats.resident_free -= s->npages * PAGE_BYTES;
}

/* Fold the free neighbour `other` into s (both resident or both released). */
static void absorb(struct span *s, struct span *other)
{
	free_list_remove(other);
	/* The idle clock of the merged span is the size-weighted mean of both: a small span freed
	 * now must not keep a large old one resident for another full delay, nor the reverse. */
	uint64_t t1 = s->free_time_ms, t2 = other->free_time_ms;
	size_t n1 = s->npages, n2 = other->npages;
	s->free_time_ms = t1 < t2 ? t1 + (uint64_t)((double)(t2 - t1) * (double)n2 / (double)(n1 + n2))
				  : t2 + (uint64_t)((double)(t1 - t2) * (double)n1 / (double)(n1 + n2));
	if (other->start < s->start)
		s->start = other->start;
	s->npages += other->npages;
	s->zeroed = s->zeroed && other->zeroed;
	span_delete(other);
}

/* Insert a span that is not in any list, merging it with free neighbours of the same kind first:
 * resident with resident, released with released, so that neither the idle clock nor the
 * "reads as zero" knowledge of released memory is lost; the scavenger later releases a resident
 * span and it then merges with its released neighbours. Stale page-map entries are harmless: a
 * neighbour counts only if it is FREE and really adjoins s. */
static void free_and_coalesce(struct span *s)
{
	if (s->start >= PAGE_BYTES) {
		struct span *prev = pagemap_span(s->start - PAGE_BYTES);
		if (prev && prev->state == SPAN_FREE && prev->released == s->released &&
		    prev->start + prev->npages * PAGE_BYTES == s->start)
			absorb(s, prev);
	}
	struct span *next = pagemap_span(s->start + s->npages * PAGE_BYTES);
	if (next && next->state == SPAN_FREE && next->released == s->released &&
	    next->start == s->start + s->npages * PAGE_BYTES)
		absorb(s, next);
	free_list_insert(s);
}

/* Resident spans first (no page faults, no RSS growth), smallest list that fits; then
 * released ones. Within a list resident spans sit at the front. */
static struct span *find_free(size_t npages)
{
	const size_t words = sizeof(nonempty_mask) / sizeof(nonempty_mask[0]);
	struct span *fallback = NULL;
	if (npages <= MAX_LIST_PAGES) {
		for (size_t w = npages / 64; w < words; w++) {
			uint64_t bits = nonempty_mask[w];
			if (w == npages / 64)
				bits &= ~0ull << (npages % 64);
			while (bits) {
				size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
				bits &= bits - 1;
				if (i > MAX_LIST_PAGES || i == 0)
					continue;
				struct span *s = free_lists[i].next;
				if (!s->released)
					return s;
				if (!fallback)
					fallback = s;
			}
		}
	}
	/* Best fit among the big spans: resident before released, then smaller, then lower. */
	struct span *best = NULL;
	for (struct span *s = free_lists[0].next; s != &free_lists[0]; s = s->next) {
		if (s->npages < npages)
			continue;
		if (!best || s->released < best->released ||
		    (s->released == best->released &&
		     (s->npages < best->npages || (s->npages == best->npages && s->start < best->start))))
			best = s;
	}
	if (best && (!best->released || !fallback))
		return best;
	return fallback ? fallback : best;
}

static bool grow(size_t npages)
{
	size_t bytes = npages * PAGE_BYTES;
	size_t chunk = bytes <= CHUNK_BYTES ? CHUNK_BYTES : (bytes + CHUNK_ALIGN - 1) & ~(CHUNK_ALIGN - 1);
	void *p = os_map(chunk, CHUNK_ALIGN);
	if (!p && chunk > bytes) {
		chunk = bytes;
		p = os_map(chunk, PAGE_BYTES);
	}
	if (!p)
		return false;
	struct span *s = span_new();
	if (!s || !pagemap_ensure((uintptr_t)p, chunk / PAGE_BYTES)) {
		if (s)
			span_delete(s);
		os_unmap(p, chunk);
		return false;
	}
	heap_stats.mapped += chunk;
	s->start = (uintptr_t)p;
	s->npages = chunk / PAGE_BYTES;
	/* Fresh pages are not resident and read as zero: count them as released. */
	s->released = 1;
	s->zeroed = 1;
	free_and_coalesce(s);
	return true;
}

/* Take `npages` from the front of free span s; the rest goes back to the free lists. */
static struct span *carve(struct span *s, size_t npages)
{
	free_list_remove(s);
	if (s->npages > npages) {
		struct span *rest = span_new();
		if (rest) {
			rest->start = s->start + npages * PAGE_BYTES;
			rest->npages = s->npages - npages;
			rest->released = s->released;
			rest->zeroed = s->zeroed;
			rest->free_time_ms = s->free_time_ms;
			free_list_insert(rest);
			s->npages = npages;
		}
		/* Without a struct for the rest, hand out the whole span: wasteful but correct. */
	}
	s->next = s->prev = NULL;
	s->state = SPAN_LARGE; /* no longer free: neighbours must not absorb it */
	set_ends(s);
	return s;
}

static struct span *alloc_locked(size_t npages)
{
	struct span *s = find_free(npages);
	if (!s) {
		if (!grow(npages))
			return NULL;
		s = find_free(npages);
		if (!s)
			return NULL;
	}
	return carve(s, npages);
}

/* Give the pages [start, start+npages) of an allocated span back as a new free span. */
static void give_back(uintptr_t start, size_t npages, const struct span *from, uint64_t now)
{
	struct span *piece = span_new();
	if (!piece)
		return; /* leaks the pages, only when metadata itself cannot be mapped */
	piece->start = start;
	piece->npages = npages;
	piece->released = from->released;
	piece->zeroed = from->zeroed;
	piece->free_time_ms = now;
	free_and_coalesce(piece);
}

/* Keep only [start, start+npages) of s, an allocated span (out of the free lists, not FREE, so the
 * pieces do not absorb it), and give the pages before and after back, idle since `idle_since`. */
static void trim_to(struct span *s, uintptr_t start, size_t npages, uint64_t idle_since)
{
	size_t lead = (start - s->start) / PAGE_BYTES;
	size_t tail = s->npages - lead - npages;
	uintptr_t old_start = s->start;
	s->start = start;
	s->npages = npages;
	set_ends(s);
	if (lead)
		give_back(old_start, lead, s, idle_since);
	if (tail)
		give_back(start + npages * PAGE_BYTES, tail, s, idle_since);
}

/* For a block that realloc is growing: a free span with `room` pages (at least twice the block)
 * from its start, the block at the front, so the next growth happens in place (the room stays free
 * and is handed out last by best fit); a tight fit only when there is no room anywhere. */
static struct span *alloc_with_room(size_t npages, size_t room)
{
	/* Resident room first (no page faults, no RSS growth), as much as asked, else at least to
	 * double; then released room, which is as good for a block whose pages mremap moves in. Never
	 * a tight fit while there is room anywhere: the next growth would move the block again. */
	struct span *s = find_free(room);
	if (s && !s->released)
		return carve(s, npages);
	struct span *t = room > 2 * npages ? find_free(2 * npages) : NULL;
	if (t && !t->released)
		return carve(t, npages);
	if (s || t)
		return carve(s ? s : t, npages);
	return alloc_locked(npages);
}

/* The same, first trying `hint`, where this thread's last large block (of `expect` pages) began:
 * when that stretch is still free, the block goes there again, with room to grow as far as the last
 * one did (and at least to double). A thread that grows and frees a buffer over and over then grows
 * it in place every time, in its own stretch of the heap, as glibc does at the top of each thread's
 * arena; with the room taken by whoever came first, buffers of several threads kept landing behind
 * each other and moving (mremap: a TLB shootdown, and pages faulted in again by their next user). */
static struct span *alloc_to_grow(size_t npages, uintptr_t hint, size_t expect)
{
	if (npages > (MAX_REQUEST >> PAGE_SHIFT))
		return alloc_locked(npages);
	size_t room = expect > 2 * npages && expect <= (MAX_REQUEST >> PAGE_SHIFT) ? expect : 2 * npages;
	struct span *s = hint ? pagemap_span(hint) : NULL;
	/* The page map knows a span's first and last pages only: an entry for an inner page may be
	 * stale, so the span must really be free and really cover the stretch. */
	uintptr_t end = s ? s->start + s->npages * PAGE_BYTES : 0;
	if (s && s->state == SPAN_FREE && s->start <= hint && hint < end && (end - hint) / PAGE_BYTES >= 2 * npages) {
		free_list_remove(s);
		s->next = s->prev = NULL;
		s->state = SPAN_LARGE;
		trim_to(s, hint, npages, s->free_time_ms);
		return s;
	}
	return alloc_with_room(npages, room);
}

struct span *page_heap_alloc(size_t npages, size_t align_pages)
{
	return page_heap_alloc_to_grow(npages, align_pages, 0, 0);
}

struct span *page_heap_alloc_to_grow(size_t npages, size_t align_pages, uintptr_t hint, size_t expect)
{
	struct span *s;
	pthread_mutex_lock(&heap_lock);
	if (align_pages == PAGE_HEAP_ROOM_TO_GROW) {
		s = alloc_to_grow(npages, hint, expect);
	} else if (align_pages <= 1) {
		s = alloc_locked(npages);
	} else {
		s = alloc_locked(npages + align_pages - 1);
		if (s) {
			uintptr_t align = align_pages * PAGE_BYTES;
			trim_to(s, (s->start + align - 1) & ~(align - 1), npages, os_now_ms());
		}
	}
	if (s) {
		s->state = SPAN_LARGE;
		s->size_class = 0;
		heap_stats.large_count++;
		heap_stats.large_bytes += s->npages * PAGE_BYTES;
	}
	pthread_mutex_unlock(&heap_lock);
	return s;
}

struct span *page_heap_alloc_small(size_t npages, unsigned size_class)
{
	pthread_mutex_lock(&heap_lock);
	struct span *s = alloc_locked(npages);
	if (s) {
		s->state = SPAN_SMALL;
		s->size_class = (uint8_t)size_class;
		pagemap_set_range(s->start, s->npages, s, size_class);
		heap_stats.small_span_bytes += s->npages * PAGE_BYTES;
	}
	pthread_mutex_unlock(&heap_lock);
	return s;
}

static void free_span(struct span *s, bool zeroed)
{
	uint64_t now = os_now_ms();
	pthread_mutex_lock(&heap_lock);
	if (s->state == SPAN_SMALL) {
		/* Clear the class bytes so a stray free() of an old object address takes the checked
		 * slow path instead of the thread cache. */
		pagemap_set_range(s->start, s->npages, s, 0);
		heap_stats.small_span_bytes -= s->npages * PAGE_BYTES;
	} else {
		heap_stats.large_count--;
		heap_stats.large_bytes -= s->npages * PAGE_BYTES;
	}
	s->size_class = 0;
	s->free_bits = NULL;
	s->debug_bits = NULL;
	s->in_use = s->capacity = 0;
	s->released = zeroed;
	s->zeroed = zeroed;
	s->free_time_ms = now;
	free_and_coalesce(s);
	pthread_mutex_unlock(&heap_lock);
}

void page_heap_free(struct span *s)
{
	free_span(s, false);
}

/* For a span whose pages were just replaced by fresh zero pages (after mremap moved them away). */
void page_heap_free_zeroed(struct span *s)
{
	free_span(s, true);
}

/* Extend s over the free pages right behind it to at least npages, and up to `generous` pages when
 * there are that many: a block grown step by step then needs the lock only now and then. The free
 * pages may lie in several spans, since resident and released free spans do not merge. */
bool page_heap_grow_in_place(struct span *s, size_t npages, size_t generous)
{
	pthread_mutex_lock(&heap_lock);
	if (generous < npages)
		generous = npages;
	size_t avail = s->npages;
	uintptr_t end = s->start + s->npages * PAGE_BYTES;
	struct span *next;
	while (avail < generous && (next = pagemap_span(end)) && next->state == SPAN_FREE && next->start == end) {
		avail += next->npages;
		end += next->npages * PAGE_BYTES;
	}
	bool ok = avail >= npages;
	if (ok) {
		size_t target = avail < generous ? avail : generous;
		while (s->npages < target) {
			next = pagemap_span(s->start + s->npages * PAGE_BYTES);
			size_t extra = next->npages < target - s->npages ? next->npages : target - s->npages;
			carve(next, extra);
			extra = next->npages; /* all of it, if carve could not split it */
			heap_stats.large_bytes += extra * PAGE_BYTES;
			s->npages += extra;
			span_delete(next);
		}
		set_ends(s);
	}
	pthread_mutex_unlock(&heap_lock);
	return ok;
}

void page_heap_shrink(struct span *s, size_t npages)
{
	uint64_t now = os_now_ms();
	pthread_mutex_lock(&heap_lock);
	struct span *tail = span_new();
	if (tail) {
		tail->start = s->start + npages * PAGE_BYTES;
		tail->npages = s->npages - npages;
		tail->free_time_ms = now;
		heap_stats.large_bytes -= tail->npages * PAGE_BYTES;
		s->npages = npages;
		set_ends(s);
		free_and_coalesce(tail);
	}
	pthread_mutex_unlock(&heap_lock);
}

/* Return resident free spans idle for longer than the release delay (all of them if
 * `everything`). madvise runs without the lock; the spans meanwhile are RELEASING, so
 * neither allocation nor coalescing touches them. */
size_t page_heap_scavenge(uint64_t now_ms, bool everything)
{
	size_t total = 0;
	uint64_t delay = alloc_config.release_delay_ms;
	for (;;) {
		struct span *batch[SCAVENGE_BATCH];
		size_t n = 0;
		pthread_mutex_lock(&heap_lock);
		for (size_t i = 0; i <= MAX_LIST_PAGES && n < SCAVENGE_BATCH; i++) {
			struct span *s = free_lists[i].next;
			while (s != &free_lists[i] && !s->released && n < SCAVENGE_BATCH) {
				struct span *next = s->next;
				if (everything || (int64_t)(now_ms - s->free_time_ms) >= (int64_t)delay) {
					free_list_remove(s);
					s->state = SPAN_RELEASING;
					batch[n++] = s;
				}
				s = next;
			}
		}
		pthread_mutex_unlock(&heap_lock);
		if (!n)
			break;
		for (size_t i = 0; i < n; i++) {
			os_release((void *)batch[i]->start, batch[i]->npages * PAGE_BYTES);
			total += batch[i]->npages * PAGE_BYTES;
		}
		pthread_mutex_lock(&heap_lock);
		for (size_t i = 0; i < n; i++) {
			batch[i]->released = 1;
			batch[i]->zeroed = 1;
			free_and_coalesce(batch[i]);
		}
		pthread_mutex_unlock(&heap_lock);
		if (n < SCAVENGE_BATCH)
			break;
	}
	return total;
}

void page_heap_get_stats(struct page_heap_stats *out)
{
	pthread_mutex_lock(&heap_lock);
	*out = heap_stats;
	pthread_mutex_unlock(&heap_lock);
}

void page_heap_init(void)
{
	for (size_t i = 0; i <= MAX_LIST_PAGES; i++)
		list_init(&free_lists[i]);
}

void page_heap_fork_lock(void)
{
	pthread_mutex_lock(&heap_lock);
}

void page_heap_fork_unlock(bool child)
{
	if (child)
		heap_lock = (pthread_mutex_t)PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
	else
		pthread_mutex_unlock(&heap_lock);
}
