/* Page heap of the allocator (src/alloc, tier 3): spans of 8 KiB pages carved from large mmap'ed
 * chunks, best-fit free lists, coalescing of neighbours through the page map, and the delayed
 * return of idle free spans to the OS. One arena per CPU (up to MAX_ARENAS), each with its own
 * chunks, lists and lock: a thread takes new spans from the arena of the CPU it runs on, and a span
 * goes back to the arena it came from. Large blocks that realloc keeps moving leave the chunks for
 * mappings of their own, with room to grow. Every call here is off the fast path. */
#include <string.h>

#include "alloc_internal.h"

#define MAX_LIST_PAGES 128
#define CHUNK_BYTES ((size_t)64 << 20)
#define CHUNK_ALIGN ((size_t)2 << 20)
#define SCAVENGE_BATCH 64

/* Why arenas: with one heap for all threads, two threads trading large blocks on two cores kept
 * pulling the heap's lock, lists and span structs, and each other's freshly written blocks, from
 * one core to the other. Where that crossing is dear (this machine, at times: its two CPUs far
 * apart), `large` with 2 threads ran at 0.38 Mops/s against mimalloc's 0.62, whose heaps are per
 * thread; at 1 thread both did 0.33. */
#define MAX_ARENAS 8

/* A thread that finds an arena's lock taken spins a little before it sleeps (alloc_lock): work
 * under it takes a microsecond or less. The locks sit apart from the arenas, which are set up on
 * first use. */
static struct {
	struct alloc_lock m;
} __attribute__((aligned(64))) arena_locks[MAX_ARENAS];

struct arena {
	bool ready;
	uint8_t index;
	/* free_lists[n] holds free spans of exactly n pages; free_lists[0] those above
	 * MAX_LIST_PAGES. Resident (dirty) spans go to the front and released ones to the back, so
	 * reuse prefers memory that needs no page faults. */
	struct span free_lists[MAX_LIST_PAGES + 1];
	uint64_t nonempty_mask[(MAX_LIST_PAGES + 64) / 64 + 1];
	struct page_heap_stats stats;
	/* Span structs are recycled here, under the arena lock, so carving and coalescing do not
	 * take the metadata lock as well. */
	struct span *spare_spans;
} __attribute__((aligned(64)));

static struct arena arenas[MAX_ARENAS];
/* Serialises the page map's leaf creation, which chunks of any arena may need. */
static struct alloc_lock grow_lock;

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

static struct span *span_new(struct arena *a)
{
	struct span *s = a->spare_spans;
	if (s) {
		a->spare_spans = s->next;
		memset(s, 0, sizeof(*s));
	} else {
		s = meta_alloc(sizeof(struct span));
	}
	if (s)
		s->arena = a->index;
	return s;
}

static struct arena *arena_lock(unsigned i)
{
	alloc_lock_acquire(&arena_locks[i].m);
	struct arena *a = &arenas[i];
	if (!a->ready) {
		a->index = (uint8_t)i;
		for (size_t k = 0; k <= MAX_LIST_PAGES; k++)
			list_init(&a->free_lists[k]);
		__atomic_store_n(&a->ready, true, __ATOMIC_RELAXED);
	}
	return a;
}

/* For the calls that visit every arena: NULL (and no lock held) for one never used. */
static struct arena *arena_lock_if_used(unsigned i)
{
	alloc_lock_acquire(&arena_locks[i].m);
	if (__atomic_load_n(&arenas[i].ready, __ATOMIC_RELAXED))
		return &arenas[i];
	alloc_lock_release(&arena_locks[i].m);
	return NULL;
}

static void arena_unlock(struct arena *a)
{
	alloc_lock_release(&arena_locks[a->index].m);
}

static unsigned arena_here(void)
{
	int cpu = alloc_current_cpu();
	return cpu < 0 ? 0 : (unsigned)cpu % MAX_ARENAS;
}

static void span_delete(struct arena *a, struct span *s)
{
	s->state = SPAN_DEAD;
	s->next = a->spare_spans;
	a->spare_spans = s;
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

static void free_list_insert(struct arena *a, struct span *s)
{
	size_t i = list_index(s->npages);
	s->state = SPAN_FREE;
	if (s->released) {
		list_push_back(&a->free_lists[i], s);
		a->stats.released += s->npages * PAGE_BYTES;
	} else {
		list_push_front(&a->free_lists[i], s);
		a->stats.resident_free += s->npages * PAGE_BYTES;
	}
	a->nonempty_mask[i / 64] |= 1ull << (i % 64);
	set_ends(s);
}

static void free_list_remove(struct arena *a, struct span *s)
{
	size_t i = list_index(s->npages);
	list_unlink(s);
	if (a->free_lists[i].next == &a->free_lists[i])
		a->nonempty_mask[i / 64] &= ~(1ull << (i % 64));
	if (s->released)
		a->stats.released -= s->npages * PAGE_BYTES;
	else
		a->stats.resident_free -= s->npages * PAGE_BYTES;
}

/* Fold the free neighbour `other` into s (both resident or both released). */
static void absorb(struct arena *a, struct span *s, struct span *other)
{
	free_list_remove(a, other);
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
	span_delete(a, other);
}

/* The free span that ends right where s begins, or begins right where s ends, if there is one. The
 * page map knows a free span's first and last pages; an entry may be stale, so a neighbour counts
 * only if it is FREE and really adjoins s. */
static struct span *free_before(const struct span *s)
{
	if (s->start < PAGE_BYTES)
		return NULL;
	struct span *prev = pagemap_span(s->start - PAGE_BYTES);
	return prev && prev->state == SPAN_FREE && prev->start + prev->npages * PAGE_BYTES == s->start ? prev : NULL;
}

static struct span *free_after(const struct span *s)
{
	struct span *next = pagemap_span(s->start + s->npages * PAGE_BYTES);
	return next && next->state == SPAN_FREE && next->start == s->start + s->npages * PAGE_BYTES ? next : NULL;
}

/* Insert a span that is not in any list, merging it with free neighbours of the same kind first:
 * resident with resident, released with released, so that neither the idle clock nor the
 * "reads as zero" knowledge of released memory is lost; the scavenger later releases a resident
 * span and it then merges with its released neighbours. */
static void free_and_coalesce(struct arena *a, struct span *s)
{
	struct span *prev = free_before(s);
	if (prev && prev->released == s->released)
		absorb(a, s, prev);
	struct span *next = free_after(s);
	if (next && next->released == s->released)
		absorb(a, s, next);
	free_list_insert(a, s);
}

/* Resident spans first (no page faults, no RSS growth), smallest list that fits; then
 * released ones. Within a list resident spans sit at the front. */
static struct span *find_free(struct arena *a, size_t npages)
{
	const size_t words = sizeof(a->nonempty_mask) / sizeof(a->nonempty_mask[0]);
	struct span *fallback = NULL;
	if (npages <= MAX_LIST_PAGES) {
		for (size_t w = npages / 64; w < words; w++) {
			uint64_t bits = a->nonempty_mask[w];
			if (w == npages / 64)
				bits &= ~0ull << (npages % 64);
			while (bits) {
				size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
				bits &= bits - 1;
				if (i > MAX_LIST_PAGES || i == 0)
					continue;
				struct span *s = a->free_lists[i].next;
				if (!s->released)
					return s;
				if (!fallback)
					fallback = s;
			}
		}
	}
	/* Best fit among the big spans: resident before released, then smaller, then lower. */
	struct span *best = NULL;
	for (struct span *s = a->free_lists[0].next; s != &a->free_lists[0]; s = s->next) {
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

/* Map a chunk for arena a. Its last page is never handed out: no two chunks' spans ever adjoin, so
 * coalescing, which looks at the neighbours' page-map entries, never reaches into another arena's
 * pages (which that arena changes under its own lock). */
static bool grow(struct arena *a, size_t npages)
{
	size_t bytes = (npages + 1) * PAGE_BYTES;
	size_t chunk = bytes <= CHUNK_BYTES ? CHUNK_BYTES : (bytes + CHUNK_ALIGN - 1) & ~(CHUNK_ALIGN - 1);
	void *p = os_map(chunk, CHUNK_ALIGN);
	if (!p && chunk > bytes) {
		chunk = bytes;
		p = os_map(chunk, PAGE_BYTES);
	}
	if (!p)
		return false;
	struct span *s = span_new(a);
	alloc_lock_acquire(&grow_lock);
	bool mapped = s && pagemap_ensure((uintptr_t)p, chunk / PAGE_BYTES);
	alloc_lock_release(&grow_lock);
	if (!mapped) {
		if (s)
			span_delete(a, s);
		os_unmap(p, chunk);
		return false;
	}
	a->stats.mapped += chunk;
	s->start = (uintptr_t)p;
	s->npages = chunk / PAGE_BYTES - 1;
	/* Fresh pages are not resident and read as zero: count them as released. */
	s->released = 1;
	s->zeroed = 1;
	free_and_coalesce(a, s);
	return true;
}

/* s, out of the free lists, now holds an allocation: no longer free, so neighbours must not absorb
 * it. */
static struct span *taken(struct span *s)
{
	s->next = s->prev = NULL;
	s->state = SPAN_LARGE;
	set_ends(s);
	return s;
}

/* Take `npages` from the front of free span s; the rest goes back to the free lists. */
static struct span *carve(struct arena *a, struct span *s, size_t npages)
{
	free_list_remove(a, s);
	if (s->npages > npages) {
		struct span *rest = span_new(a);
		if (rest) {
			rest->start = s->start + npages * PAGE_BYTES;
			rest->npages = s->npages - npages;
			rest->released = s->released;
			rest->zeroed = s->zeroed;
			rest->free_time_ms = s->free_time_ms;
			free_list_insert(a, rest);
			s->npages = npages;
		}
		/* Without a struct for the rest, hand out the whole span: wasteful but correct. */
	}
	return taken(s);
}

/* Take npages starting with all of resident free span r and going on into released free span s
 * right behind it (r->npages < npages <= r->npages + s->npages): only the pages taken from s are
 * new to the process, where carving s alone would fault in npages of them and leave r idle. */
static struct span *carve_across(struct arena *a, struct span *r, struct span *s, size_t npages)
{
	size_t from_s = npages - r->npages;
	free_list_remove(a, r);
	free_list_remove(a, s);
	r->zeroed = r->zeroed && s->zeroed;
	if (from_s < s->npages) {
		s->start += from_s * PAGE_BYTES;
		s->npages -= from_s;
		free_list_insert(a, s);
	} else {
		span_delete(a, s);
	}
	r->npages = npages;
	return taken(r);
}

static struct span *alloc_locked(struct arena *a, size_t npages)
{
	struct span *s = find_free(a, npages);
	if (!s) {
		if (!grow(a, npages))
			return NULL;
		s = find_free(a, npages);
		if (!s)
			return NULL;
	}
	if (s->released) {
		/* Resident and released free spans never merge, so where a heap's used pages end, the
		 * resident free pages there (too few for the request, or find_free would have taken
		 * them) sit right before the released rest. */
		struct span *r = free_before(s);
		if (r && !r->released)
			return carve_across(a, r, s, npages);
	}
	return carve(a, s, npages);
}

/* For an aligned request that no free span of npages + align - 1 pages can hold: the first run of
 * adjacent free spans that holds npages from a multiple of `align` bytes, and that address (*at).
 * A block freed between the released pages that trim_to gave back is such a run: resident and
 * released spans do not merge, so without this each such request grew the heap by npages + align
 * until the scavenger released the block. A walk of every free span: only before growing. */
static struct span *find_aligned_run(struct arena *a, size_t npages, uintptr_t align, uintptr_t *at)
{
	for (size_t i = 0; i <= MAX_LIST_PAGES; i++) {
		for (struct span *s = a->free_lists[i].next; s != &a->free_lists[i]; s = s->next) {
			if (free_before(s))
				continue; /* not the first of its run */
			uintptr_t end = s->start + s->npages * PAGE_BYTES;
			for (struct span *t = free_after(s); t; t = free_after(t))
				end = t->start + t->npages * PAGE_BYTES;
			uintptr_t first = (s->start + align - 1) & ~(align - 1);
			if (first >= s->start && first < end && (end - first) / PAGE_BYTES >= npages) {
				*at = first;
				return s;
			}
		}
	}
	return NULL;
}

/* Take [at, at + npages) out of the run of free spans starting with `head` (find_aligned_run), as
 * an allocated span to be trimmed to it. Where the stretch covers more than one free span, its
 * resident ones are released first (here, under the lock: a rare path), so that all of them merge. */
static struct span *take_aligned_run(struct arena *a, struct span *head, uintptr_t at, size_t npages)
{
	uintptr_t stop = at + npages * PAGE_BYTES;
	struct span *m = NULL;
	for (struct span *t = head; t && t->start < stop; t = free_after(t)) {
		uintptr_t end = t->start + t->npages * PAGE_BYTES;
		if (end <= at)
			continue;
		if (t->start <= at && stop <= end) {
			m = t; /* all in one span */
			break;
		}
		if (!t->released) {
			free_list_remove(a, t);
			os_release((void *)t->start, t->npages * PAGE_BYTES);
			t->released = 1;
			t->zeroed = 1;
			/* t absorbs its released neighbours: after the last one, it holds all. */
			free_and_coalesce(a, t);
			m = t;
		}
	}
	if (!m)
		return NULL; /* cannot happen: free neighbours of one kind are always merged */
	free_list_remove(a, m);
	return taken(m);
}

/* npages from a multiple of align_pages pages: from a free span big enough for any alignment, else
 * from a run of free spans that happens to hold such a stretch, else from a new chunk. */
static struct span *alloc_aligned_locked(struct arena *a, size_t npages, size_t align_pages)
{
	size_t need = npages + align_pages - 1;
	uintptr_t align = align_pages * PAGE_BYTES, at;
	struct span *s = NULL, *head;
	if (!find_free(a, need) && (head = find_aligned_run(a, npages, align, &at)) != NULL)
		s = take_aligned_run(a, head, at, npages);
	if (!s)
		s = alloc_locked(a, need);
	return s;
}

/* Give the pages [start, start+npages) of an allocated span back as a new free span. */
static void give_back(struct arena *a, uintptr_t start, size_t npages, const struct span *from, uint64_t now)
{
	struct span *piece = span_new(a);
	if (!piece)
		return; /* leaks the pages, only when metadata itself cannot be mapped */
	piece->start = start;
	piece->npages = npages;
	piece->released = from->released;
	piece->zeroed = from->zeroed;
	piece->free_time_ms = now;
	free_and_coalesce(a, piece);
}

/* Keep only [start, start+npages) of s, an allocated span (out of the free lists, not FREE, so the
 * pieces do not absorb it), and give the pages before and after back, idle since `idle_since`. */
static void trim_to(struct arena *a, struct span *s, uintptr_t start, size_t npages, uint64_t idle_since)
{
	size_t lead = (start - s->start) / PAGE_BYTES;
	size_t tail = s->npages - lead - npages;
	uintptr_t old_start = s->start;
	s->start = start;
	s->npages = npages;
	set_ends(s);
	if (lead)
		give_back(a, old_start, lead, s, idle_since);
	if (tail)
		give_back(a, start + npages * PAGE_BYTES, tail, s, idle_since);
}

/* For a block that realloc is growing: a free span with `room` pages (at least twice the block)
 * from its start, the block at the front, so the next growth happens in place (the room stays free
 * and is handed out last by best fit); a tight fit only when there is no room anywhere. */
static struct span *alloc_with_room(struct arena *a, size_t npages, size_t room)
{
	/* Resident room first (no page faults, no RSS growth), as much as asked, else at least to
	 * double; then released room, which is as good for a block whose pages mremap moves in. Never
	 * a tight fit while there is room anywhere: the next growth would move the block again. */
	struct span *s = find_free(a, room);
	if (s && !s->released)
		return carve(a, s, npages);
	struct span *t = room > 2 * npages ? find_free(a, 2 * npages) : NULL;
	if (t && !t->released)
		return carve(a, t, npages);
	if (s || t)
		return carve(a, s ? s : t, npages);
	return alloc_locked(a, npages);
}

/* The same, first trying `hint`, where this thread's last large block (of `expect` pages) began:
 * when that stretch is still free, the block goes there again, with room to grow as far as the last
 * one did (and at least to double). A thread that grows and frees a buffer over and over then grows
 * it in place every time, in its own stretch of the heap, as glibc does at the top of each thread's
 * arena; with the room taken by whoever came first, buffers of several threads kept landing behind
 * each other and moving (mremap: a TLB shootdown, and pages faulted in again by their next user). */
static struct span *alloc_to_grow(struct arena *a, size_t npages, uintptr_t hint, size_t expect)
{
	if (npages > (MAX_REQUEST >> PAGE_SHIFT))
		return alloc_locked(a, npages);
	size_t room = expect > 2 * npages && expect <= (MAX_REQUEST >> PAGE_SHIFT) ? expect : 2 * npages;
	struct span *s = hint ? pagemap_span(hint) : NULL;
	/* The page map knows a span's first and last pages only: an entry for an inner page may be
	 * stale, so the span must really be free and really cover the stretch. */
	uintptr_t end = s ? s->start + s->npages * PAGE_BYTES : 0;
	if (s && s->state == SPAN_FREE && s->start <= hint && hint < end && (end - hint) / PAGE_BYTES >= 2 * npages) {
		free_list_remove(a, s);
		s->next = s->prev = NULL;
		s->state = SPAN_LARGE;
		trim_to(a, s, hint, npages, s->free_time_ms);
		return s;
	}
	return alloc_with_room(a, npages, room);
}

/* The arena, locked, to take npages from: this CPU's, unless nothing resident there fits and
 * another arena has a resident free span that does. Threads move between CPUs, and a program
 * whose threads come and go would otherwise leave free pages in one arena while it faults in
 * fresh ones in another (peak RSS of 1-thread `larson`, a new thread every 10,000 operations:
 * 3.9 MiB against 3.5 with one heap). Other arenas are only tried, never waited for. */
static struct arena *arena_for(size_t npages)
{
	unsigned home = arena_here();
	struct arena *a = arena_lock(home);
	struct span *s = find_free(a, npages);
	if (s && !s->released)
		return a;
	for (unsigned i = 1; i < MAX_ARENAS; i++) {
		unsigned k = (home + i) % MAX_ARENAS;
		if (!__atomic_load_n(&arenas[k].ready, __ATOMIC_RELAXED) || !alloc_lock_try(&arena_locks[k].m))
			continue;
		struct span *t = find_free(&arenas[k], npages);
		if (t && !t->released) {
			arena_unlock(a);
			return &arenas[k];
		}
		arena_unlock(&arenas[k]);
	}
	return a;
}

struct span *page_heap_alloc(size_t npages, size_t align_pages)
{
	return page_heap_alloc_to_grow(npages, align_pages, 0, 0, 0);
}

/* A hint is tried in its own arena (the thread may have moved to another CPU since). */
struct span *page_heap_alloc_to_grow(size_t npages, size_t align_pages, uintptr_t hint, unsigned hint_arena,
				     size_t expect)
{
	struct span *s;
	bool aligned = align_pages > 1 && align_pages != PAGE_HEAP_ROOM_TO_GROW;
	size_t need = aligned ? npages + align_pages - 1 : npages;
	struct arena *a = hint && hint_arena < MAX_ARENAS ? arena_lock(hint_arena) : arena_for(need);
	if (align_pages == PAGE_HEAP_ROOM_TO_GROW) {
		s = alloc_to_grow(a, npages, hint, expect);
	} else {
		s = aligned ? alloc_aligned_locked(a, npages, align_pages) : alloc_locked(a, need);
		if (s && aligned) {
			uintptr_t align = align_pages * PAGE_BYTES;
			trim_to(a, s, (s->start + align - 1) & ~(align - 1), npages, os_now_ms());
		}
	}
	if (s) {
		s->state = SPAN_LARGE;
		s->size_class = 0;
		s->moved_pages = 0;
		a->stats.large_count++;
		a->stats.large_bytes += s->npages * PAGE_BYTES;
	}
	arena_unlock(a);
	return s;
}

struct span *page_heap_alloc_small(size_t npages, unsigned size_class)
{
	struct arena *a = arena_for(npages);
	struct span *s = alloc_locked(a, npages);
	if (s) {
		s->state = SPAN_SMALL;
		s->size_class = (uint8_t)size_class;
		pagemap_set_range(s->start, s->npages, s, size_class);
		a->stats.small_span_bytes += s->npages * PAGE_BYTES;
	}
	arena_unlock(a);
	return s;
}

/* ---- large blocks in mappings of their own ----
 * A block that realloc keeps having to move inside the page heap (the room behind it taken, each
 * time, by other blocks' growth) goes to a mapping of its own, with room to double in address
 * space: it then grows in that room with no system call, and past it by moving its page tables into
 * a new reservation twice the size (mremap), so each byte moves a bounded number of times. In the
 * heap, 16 buffers grown by 1 MiB in turns moved on nearly every other growth, each move costing a
 * page-table walk of the whole buffer (2,890 moves in 6,400 growths to 400 MiB: 2.1 s; glibc, whose
 * big blocks are such mappings, 0.08 s; now 0.14 s). Room never touched is address space, not
 * memory. When a block leaves: malloc.c, OWN_MAPPING_MOVED.
 * A block's span is counted in its arena's stats, under its lock; only the page map's entry for its
 * first page is set (all that free, realloc and malloc_usable_size look at; the page heap never
 * looks past its chunks' ends, and a chunk's last page is never handed out).
 * A block whose pages lay in one mapping of the kernel's moves as one and stays one: mremap can
 * resize it as it moves it. One that lay in several (its pages moved in earlier, then grown in
 * place: the usual case) can only be moved as it is, a mapping at a time (Linux 6.17+), into the
 * front of a new reservation whose rest is a mapping of its own: `split`, one more kernel mapping
 * per move. Its pieces leave the heap with it, which the heap's range then has no longer. */

/* Past this many, realloc moves blocks inside the page heap again. A split block is one of the
 * kernel's mappings per move it made inside the heap (about 50 for a buffer that moved every other
 * growth, and left at 96 MiB) and one more per doubling since: the kernel allows 65530 per process. */
#define OWN_MAPPINGS_MAX 256
/* Reservations start and grow at multiples of this: the kernel then moves whole page-table pages. */
#define OWN_MAPPING_ALIGN ((size_t)2 << 20)

static unsigned own_mappings;

bool page_heap_own_possible(void)
{
	return __atomic_load_n(&own_mappings, __ATOMIC_RELAXED) < OWN_MAPPINGS_MAX;
}

/* Room for a block of npages to double, in whole OWN_MAPPING_ALIGN units; 0 if that overflows. */
static size_t own_room(size_t npages)
{
	if (npages > (MAX_REQUEST >> PAGE_SHIFT))
		return 0;
	return (2 * npages * PAGE_BYTES + OWN_MAPPING_ALIGN - 1) & ~(OWN_MAPPING_ALIGN - 1);
}

/* The page map must cover a block's possible first pages before the block is there. */
static bool own_pagemap_ensure(uintptr_t start, size_t bytes)
{
	alloc_lock_acquire(&grow_lock);
	bool ok = pagemap_ensure(start & ~(PAGE_BYTES - 1), (bytes + PAGE_BYTES - 1) / PAGE_BYTES + 1);
	alloc_lock_release(&grow_lock);
	return ok;
}

/* A new reservation of `bytes`, the page map ready for it. */
static void *own_reserve(size_t bytes)
{
	void *p = os_map(bytes, OWN_MAPPING_ALIGN);
	if (p && !own_pagemap_ensure((uintptr_t)p, bytes)) {
		os_unmap(p, bytes);
		p = NULL;
	}
	return p;
}

/* s's block now covers npages from `start`, in a mapping ending at `end`. A moved block's new first
 * page is mapped to s here; its old one was forgotten before the move (own_move). */
static void own_update(struct span *s, uintptr_t start, size_t npages, uintptr_t end)
{
	struct arena *a = arena_lock(s->arena);
	a->stats.mapped += (end - start) - (s->end - s->start);
	a->stats.large_bytes += (npages - s->npages) * PAGE_BYTES;
	if (start != s->start)
		pagemap_set_span(start, s);
	s->start = start;
	s->npages = npages;
	s->end = end;
	arena_unlock(a);
}

/* Move s's block into a new reservation of `bytes` (ours, so MREMAP_FIXED replaces nothing of
 * anyone else's), or grow its mapping to that where it is. */
static bool own_move(struct span *s, size_t npages, size_t bytes)
{
	size_t old_bytes = s->end - s->start;
	if (!s->split && own_pagemap_ensure(s->start, bytes) && os_resize_in_place((void *)s->start, old_bytes, bytes)) {
		own_update(s, s->start, npages, s->start + bytes);
		return true;
	}
	void *to = own_reserve(bytes);
	if (!to)
		return false;
	/* The page map forgets the old place while it is still ours: once the kernel has let it go,
	 * another thread's block may start there and set the entry under another arena's lock. */
	pagemap_set_span(s->start, NULL);
	/* A failed move may have unmapped part of the reservation, and another thread's mmap may have
	 * landed there since: what is left of it stays as it is (address space, only when out of
	 * mappings). */
	if (!os_move_into((void *)s->start, old_bytes, to, s->split ? old_bytes : bytes)) {
		pagemap_set_span(s->start, s);
		return false;
	}
	own_update(s, (uintptr_t)to, npages, (uintptr_t)to + bytes);
	return true;
}

/* Grow or shrink own-mapping block s to npages: in its room, else by moving it into more room (or
 * just enough, where the kernel will not reserve that much: strict overcommit). False, s unchanged,
 * when it cannot grow. */
bool page_heap_own_resize(struct span *s, size_t npages)
{
	size_t bytes = npages * PAGE_BYTES;
	if (bytes <= s->end - s->start) {
		if (npages < s->npages) /* the rest stays reserved; its pages go back now */
			os_release((void *)(s->start + bytes), (s->npages - npages) * PAGE_BYTES);
		own_update(s, s->start, npages, s->end);
		return true;
	}
	size_t room = own_room(npages);
	return (room && own_move(s, npages, room)) || own_move(s, npages, bytes);
}

/* Make n the block of s's npages (before growth) at `start`, in a mapping ending at `end`. */
static void own_adopt(struct span *n, uintptr_t start, size_t npages, uintptr_t end, bool split)
{
	n->start = start;
	n->npages = npages;
	n->end = end;
	n->own_mapping = 1;
	n->split = split;
	n->size_class = 0;
	n->state = SPAN_LARGE;
	struct arena *a = arena_lock(n->arena);
	pagemap_set_span(start, n);
	a->stats.mapped += end - start;
	a->stats.large_count++;
	a->stats.large_bytes += npages * PAGE_BYTES;
	arena_unlock(a);
	__atomic_fetch_add(&own_mappings, 1, __ATOMIC_RELAXED);
}

static void own_span_drop(struct span *n)
{
	struct arena *a = arena_lock(n->arena);
	span_delete(a, n);
	arena_unlock(a);
}

/* s's pages, in one of the kernel's mappings, moved to `to` (os_move_out), then grown into a
 * reservation. Where either fails, they are copied back into s (fresh zero pages now). */
static struct span *own_from_whole(struct span *s, struct span *n, uintptr_t to, size_t npages)
{
	size_t old_bytes = s->npages * PAGE_BYTES;
	if (!own_pagemap_ensure(to, old_bytes)) {
		memcpy((void *)s->start, (void *)to, old_bytes);
		os_unmap((void *)to, old_bytes);
		own_span_drop(n);
		return NULL;
	}
	own_adopt(n, to, s->npages, to + old_bytes, false);
	if (!page_heap_own_resize(n, npages)) {
		memcpy((void *)s->start, (void *)n->start, old_bytes);
		page_heap_free(n);
		return NULL;
	}
	return n;
}

/* s's pages, in several of the kernel's mappings, into the front of a reservation, mapping by
 * mapping (os_move_pages: the source stays mapped). */
static struct span *own_from_split(struct span *s, struct span *n, size_t npages)
{
	size_t old_bytes = s->npages * PAGE_BYTES, room = own_room(npages);
	void *to = room ? own_reserve(room) : NULL;
	if (!to) {
		own_span_drop(n);
		return NULL;
	}
	enum os_move moved = os_move_pages((void *)s->start, to, old_bytes);
	if (moved != OS_MOVED) {
		if (moved == OS_NOT_MOVED) /* mapped afresh, ours again */
			os_unmap(to, room);
		own_span_drop(n);
		return NULL;
	}
	own_adopt(n, (uintptr_t)to, s->npages, (uintptr_t)to + room, true);
	own_update(n, n->start, npages, n->end);
	return n;
}

static void own_unmap(struct span *s)
{
	__atomic_fetch_sub(&own_mappings, 1, __ATOMIC_RELAXED);
	os_unmap((void *)s->start, s->end - s->start);
}

static void own_free(struct span *s)
{
	struct arena *a = arena_lock(s->arena);
	a->stats.large_count--;
	a->stats.large_bytes -= s->npages * PAGE_BYTES;
	a->stats.mapped -= s->end - s->start;
	pagemap_set_span(s->start, NULL);
	struct span gone = *s;
	span_delete(a, s);
	arena_unlock(a);
	own_unmap(&gone);
}

/* Take s's block (not in place to grow, of at least 1 MiB) out of the page heap into a mapping of its
 * own of npages or more, and give s's pages (fresh zero pages now) back to the heap. NULL when
 * that cannot be done: the block is then where and as it was. */
struct span *page_heap_own_from(struct span *s, size_t npages)
{
	struct arena *a = arena_lock(s->arena);
	struct span *n = span_new(a);
	arena_unlock(a);
	if (!n)
		return NULL;
	/* Moving out where the kernel finds room fails (EFAULT) when the pages lie in several
	 * mappings, and changes nothing then. */
	void *to = os_move_out((void *)s->start, s->npages * PAGE_BYTES);
	n = to ? own_from_whole(s, n, (uintptr_t)to, npages) : own_from_split(s, n, npages);
	if (n)
		page_heap_free_zeroed(s);
	return n;
}

static void free_span(struct span *s, bool zeroed)
{
	if (s->own_mapping) {
		own_free(s);
		return;
	}
	uint64_t now = os_now_ms();
	struct arena *a = arena_lock(s->arena);
	if (s->state == SPAN_SMALL) {
		/* Clear the class bytes so a stray free() of an old object address takes the checked
		 * slow path instead of the thread cache. */
		pagemap_set_range(s->start, s->npages, s, 0);
		a->stats.small_span_bytes -= s->npages * PAGE_BYTES;
	} else {
		a->stats.large_count--;
		a->stats.large_bytes -= s->npages * PAGE_BYTES;
	}
	s->size_class = 0;
	s->free_bits = NULL;
	s->debug_bits = NULL;
	s->in_use = s->capacity = 0;
	s->released = zeroed;
	s->zeroed = zeroed;
	s->free_time_ms = now;
	free_and_coalesce(a, s);
	arena_unlock(a);
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
	struct arena *a = arena_lock(s->arena);
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
			carve(a, next, extra);
			extra = next->npages; /* all of it, if carve could not split it */
			a->stats.large_bytes += extra * PAGE_BYTES;
			s->npages += extra;
			span_delete(a, next);
		}
		set_ends(s);
	}
	arena_unlock(a);
	return ok;
}

void page_heap_shrink(struct span *s, size_t npages)
{
	uint64_t now = os_now_ms();
	struct arena *a = arena_lock(s->arena);
	struct span *tail = span_new(a);
	if (tail) {
		tail->start = s->start + npages * PAGE_BYTES;
		tail->npages = s->npages - npages;
		tail->free_time_ms = now;
		a->stats.large_bytes -= tail->npages * PAGE_BYTES;
		s->npages = npages;
		set_ends(s);
		free_and_coalesce(a, tail);
	}
	arena_unlock(a);
}

/* Return resident free spans idle for longer than the release delay (all of them if
 * `everything`). madvise runs without the lock; the spans meanwhile are RELEASING, so
 * neither allocation nor coalescing touches them. */
static size_t scavenge_arena(unsigned index, uint64_t now_ms, bool everything)
{
	size_t total = 0;
	uint64_t delay = alloc_config.release_delay_ms;
	for (;;) {
		struct span *batch[SCAVENGE_BATCH];
		size_t n = 0;
		struct arena *a = arena_lock_if_used(index);
		if (!a)
			return 0;
		for (size_t i = 0; i <= MAX_LIST_PAGES && n < SCAVENGE_BATCH; i++) {
			struct span *s = a->free_lists[i].next;
			while (s != &a->free_lists[i] && !s->released && n < SCAVENGE_BATCH) {
				struct span *next = s->next;
				if (everything || (int64_t)(now_ms - s->free_time_ms) >= (int64_t)delay) {
					free_list_remove(a, s);
					s->state = SPAN_RELEASING;
					batch[n++] = s;
				}
				s = next;
			}
		}
		arena_unlock(a);
		if (!n)
			break;
		for (size_t i = 0; i < n; i++) {
			os_release((void *)batch[i]->start, batch[i]->npages * PAGE_BYTES);
			total += batch[i]->npages * PAGE_BYTES;
		}
		a = arena_lock(index);
		for (size_t i = 0; i < n; i++) {
			batch[i]->released = 1;
			batch[i]->zeroed = 1;
			free_and_coalesce(a, batch[i]);
		}
		arena_unlock(a);
		if (n < SCAVENGE_BATCH)
			break;
	}
	return total;
}

size_t page_heap_scavenge(uint64_t now_ms, bool everything)
{
	size_t total = 0;
	for (unsigned i = 0; i < MAX_ARENAS; i++)
		total += scavenge_arena(i, now_ms, everything);
	return total;
}

void page_heap_get_stats(struct page_heap_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < MAX_ARENAS; i++) {
		struct arena *a = arena_lock_if_used(i);
		if (!a)
			continue;
		out->mapped += a->stats.mapped;
		out->resident_free += a->stats.resident_free;
		out->released += a->stats.released;
		out->large_count += a->stats.large_count;
		out->large_bytes += a->stats.large_bytes;
		out->small_span_bytes += a->stats.small_span_bytes;
		arena_unlock(a);
	}
}

/* Every arena lock in index order, then the page map's: the order the code takes them in. */
void page_heap_fork_lock(void)
{
	for (unsigned i = 0; i < MAX_ARENAS; i++)
		alloc_lock_acquire(&arena_locks[i].m);
	alloc_lock_acquire(&grow_lock);
}

void page_heap_fork_unlock(bool child)
{
	if (child) {
		for (unsigned i = 0; i < MAX_ARENAS; i++)
			alloc_lock_reset(&arena_locks[i].m);
		alloc_lock_reset(&grow_lock);
		return;
	}
	alloc_lock_release(&grow_lock);
	for (unsigned i = MAX_ARENAS; i-- > 0;)
		alloc_lock_release(&arena_locks[i].m);
}
