/* Central free lists and transfer caches of the allocator (src/alloc, tier 2): per size class, one
 * lock, objects move to and from thread caches in batches; behind them, spans carved into objects
 * hand out never-used objects by bumping a pointer, and objects given back by address order (a
 * bitmap per span), so a thread's next objects of a class sit next to each other however scrambled
 * the order they were freed in. In front of each class lock, a mailbox per CPU passes one batch
 * between threads of that CPU without the lock. Debug mode's double-free bitmaps live here. */
#include <string.h>

#include "alloc_internal.h"

struct central {
	struct alloc_lock lock;
	struct span nonempty;         /* spans with free or never-used objects */
	unsigned transfer_count;
	unsigned transfer_low_water;  /* fewest full slots since the last idle drain */
	size_t handed_out;            /* objects out of spans: in caches or with the program */
	size_t spans;
	/* The transfer cache: a stack of up to transfer_max[c] batches, each an array of
	 * alloc_class_batch[c] pointers in a metadata block of its own, made when the stack first
	 * grows that high and kept for reuse (blocks of all classes sit densely together, so a
	 * class pays in memory only for the batches it held). */
	void **batch[MAX_TRANSFER_SLOTS];
	/* Where each batch was released: its objects are likely in that core's cache. */
	int16_t cpu[MAX_TRANSFER_SLOTS];
} __attribute__((aligned(64)));

/* Zero-initialised (a valid unlocked mutex, an empty list): a class's page stays untouched
 * until the program uses the class. */
static struct central centrals[NUM_CLASSES];
static unsigned transfer_max[NUM_CLASSES];

/* Per-CPU mailboxes: one batch per class per CPU, handed over without the class lock. A thread
 * cache that gives back a batch leaves it in its CPU's mailbox if that is empty; one that needs a
 * batch looks there first. A producer and a consumer on one core then trade batches through a line
 * of that core's cache, while the class lock (shared by every core) stays out of it. The state
 * word is the mailbox's lock: whoever moves it EMPTY->BUSY or FULL->BUSY owns the batch array. */
#define MAILBOX_CPUS 64
enum { MAILBOX_EMPTY, MAILBOX_BUSY, MAILBOX_FULL };
struct mailbox {
	uint32_t state;
	uint32_t idle;  /* full and untouched since the last idle drain (set by the drain, cleared
			 * by a put; atomic because the drain reads it without owning the box) */
	void **batch;   /* alloc_class_batch[c] pointers, made on first use and kept */
};
static struct mailbox_row {
	struct mailbox box[NUM_CLASSES];
} __attribute__((aligned(64))) mailboxes[MAILBOX_CPUS];
static unsigned mailbox_cpus; /* one more than the highest CPU that has used a mailbox */

static bool mailbox_claim(struct mailbox *m, uint32_t from)
{
	uint32_t expect = from;
	return __atomic_load_n(&m->state, __ATOMIC_RELAXED) == from &&
	       __atomic_compare_exchange_n(&m->state, &expect, MAILBOX_BUSY, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

/* The batch array in *slot, made on first use (a metadata block, kept for reuse); NULL when the
 * metadata arena cannot. For the transfer cache's stack and the mailboxes alike. */
static void **batch_array(void ***slot, unsigned count)
{
	if (!*slot)
		*slot = meta_alloc_raw(count * sizeof(void *));
	return *slot;
}

static unsigned mailbox_row(int cpu)
{
	return (unsigned)cpu % MAILBOX_CPUS;
}

static bool mailbox_put(unsigned c, int cpu, void *const *objs, unsigned count)
{
	unsigned row = mailbox_row(cpu);
	struct mailbox *m = &mailboxes[row].box[c];
	if (!mailbox_claim(m, MAILBOX_EMPTY))
		return false;
	if (!batch_array(&m->batch, count)) {
		__atomic_store_n(&m->state, MAILBOX_EMPTY, __ATOMIC_RELEASE);
		return false;
	}
	memcpy(m->batch, objs, count * sizeof(void *));
	__atomic_store_n(&m->idle, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&m->state, MAILBOX_FULL, __ATOMIC_RELEASE);
	unsigned seen = __atomic_load_n(&mailbox_cpus, __ATOMIC_RELAXED);
	while (seen <= row && !__atomic_compare_exchange_n(&mailbox_cpus, &seen, row + 1, true, __ATOMIC_RELAXED,
							    __ATOMIC_RELAXED))
		;
	return true;
}

static bool mailbox_take(struct mailbox *m, void **out, unsigned count)
{
	if (!mailbox_claim(m, MAILBOX_FULL))
		return false;
	memcpy(out, m->batch, count * sizeof(void *));
	__atomic_store_n(&m->state, MAILBOX_EMPTY, __ATOMIC_RELEASE);
	return true;
}

/* Link s into the non-empty list, at the front (a new span: used next) or at the back. A span that
 * had no free object and regains some goes to the back: refills take from the front, from spans
 * that have had longer to collect freed objects, so a thread meets longer runs of neighbouring
 * objects (and changes span less often) than from a span with one object back. */
static void nonempty_link(struct central *ce, struct span *s, bool front)
{
	if (!ce->nonempty.next)
		ce->nonempty.next = ce->nonempty.prev = &ce->nonempty;
	struct span *before = front ? &ce->nonempty : ce->nonempty.prev;
	s->prev = before;
	s->next = before->next;
	before->next->prev = s;
	before->next = s;
}

static void nonempty_unlink(struct span *s)
{
	s->prev->next = s->next;
	s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static size_t bitmap_bytes(unsigned c)
{
	return ((size_t)alloc_class_capacity[c] + 63) / 64 * 8;
}

static struct span *new_span(struct central *ce, unsigned c)
{
	struct span *s = page_heap_alloc_small(alloc_class_pages[c], c);
	if (!s)
		return NULL;
	s->capacity = alloc_class_capacity[c];
	s->in_use = 0;
	s->free_count = 0;
	s->free_scan = 0;
	s->bump = s->start;
	s->end = s->start + (uintptr_t)s->capacity * alloc_class_size[c];
	span_set_object_check(s, c);
	s->free_bits = meta_alloc(bitmap_bytes(c));
	if (s->free_bits && alloc_config.debug) {
		s->debug_bits = meta_alloc(bitmap_bytes(c));
		if (!s->debug_bits)
			meta_free(s->free_bits, bitmap_bytes(c));
	}
	if (!s->free_bits || (alloc_config.debug && !s->debug_bits)) {
		page_heap_free(s);
		return NULL;
	}
	nonempty_link(ce, s, true);
	ce->spans++;
	return s;
}

/* Objects never share a cache line with another thread's when runs from the bump region end on a
 * line boundary: the next run then starts on a fresh line. */
#define CACHE_LINE 64

/* Up to `want` objects into out[] (more, up to `room`, where that is cheap); whole_lines: the caller
 * takes every object it is given (a thread cache), so a run from the bump region is extended to the
 * end of its last cache line. */
static unsigned take_from_spans(struct central *ce, unsigned c, void **out, unsigned want, unsigned room,
				bool whole_lines)
{
	size_t size = alloc_class_size[c];
	unsigned count = 0;
	while (count < want) {
		struct span *s = ce->nonempty.next;
		if (!s || s == &ce->nonempty) {
			s = new_span(ce, c);
			if (!s)
				break;
		}
		/* Never-used objects first, as one contiguous run: a batch from the bump region gives a
		 * thread whole cache lines of its own instead of objects freed next to another
		 * thread's (false sharing). Freed objects are reused once the region runs out. */
		size_t avail = (s->end - s->bump) / size;
		size_t run = avail < want - count ? avail : want - count;
		if (run && whole_lines) {
			/* At most three more objects (sizes are multiples of 16), fewer for larger sizes;
			 * without this the first objects of a fresh span go to several threads one or two
			 * at a time, and those threads then write to one line for as long as they live. */
			uintptr_t end = s->bump + run * size;
			while ((end & (CACHE_LINE - 1)) && run < avail && count + run < room) {
				end += size;
				run++;
			}
		}
		for (size_t i = 0; i < run; i++)
			out[count++] = (char *)s->bump + i * size;
		s->bump += run * size;
		s->in_use += (uint32_t)run;
		span_objects_taken(s, run, size);
		/* Then objects given back, lowest address first: the thread meets them in the order
		 * they lie in memory, as it met the never-used ones. */
		if (count < want && s->free_count) {
			uint64_t *bits = s->free_bits;
			unsigned words = ((unsigned)s->capacity + 63) / 64, w = s->free_scan;
			unsigned taken = 0, limit = want - count;
			/* A thread cache asking for a batch takes all a used-up span has given back (as
			 * far as it has room): fewer trips here, and the thread's list then holds what
			 * the span had. */
			if (count == 0 && want > 1 && s->bump >= s->end)
				limit = s->free_count < room ? s->free_count : room;
			for (; w < words && taken < limit; w++) {
				uint64_t b = bits[w];
				char *base = (char *)s->start + (size_t)w * 64 * size;
				while (b && taken < limit) {
					out[count + taken++] = base + (size_t)__builtin_ctzll(b) * size;
					b &= b - 1;
				}
				bits[w] = b;
				if (b)
					break;
			}
			s->free_scan = w;
			s->free_count -= taken;
			s->in_use += taken;
			count += taken;
		}
		if (!s->free_count && s->bump >= s->end)
			nonempty_unlink(s);
	}
	ce->handed_out += count;
	return count;
}

/* The number of object p (the start of an object) in its span: its bit in the span's bitmaps. */
static inline size_t object_index(const struct span *s, uint64_t recip, const void *p)
{
	return (size_t)((((uintptr_t)p - s->start) * recip) >> 40);
}

/* Set object p's bit in its span's bitmap; returns the bitmap word's index. An object that reaches
 * its span twice was freed twice (the second free went through a thread cache, where only a repeat
 * of the last free is caught). */
static inline uint32_t mark_free(const struct span *s, uint64_t recip, void *p)
{
	size_t index = object_index(s, recip, p);
	uint64_t bit = 1ull << (index % 64);
	uint32_t word = (uint32_t)(index / 64);
	if (s->free_bits[word] & bit)
		alloc_fatal("free(): double free (detected when the object reached its span)", p, NULL);
	s->free_bits[word] |= bit;
	return word;
}

/* Count n objects just marked free in s, the lowest of them in bitmap word `low`; a span that had
 * none free joins the non-empty list, and one with none in use goes back to the page heap. */
static void span_regained(struct central *ce, struct span *s, uint32_t n, uint32_t low)
{
	bool was_full = s->next == NULL;
	if (low < s->free_scan)
		s->free_scan = low;
	s->free_count += n;
	s->in_use -= n;
	ce->handed_out -= n;
	/* Debug mode keeps empty spans so a later double free still finds its bitmap. */
	if (s->in_use == 0 && !s->debug_bits) {
		if (!was_full)
			nonempty_unlink(s);
		ce->spans--;
		meta_free(s->free_bits, bitmap_bytes(s->size_class));
		page_heap_free(s);
	} else if (was_full) {
		nonempty_link(ce, s, false);
	}
}

/* Objects back to their spans. Neighbours in an array mostly share a span: a run of them takes one
 * page-map lookup and one update of the span's counts and lists. */
static void return_to_spans(struct central *ce, void *const *objs, unsigned count)
{
	for (unsigned i = 0; i < count;) {
		struct span *s = pagemap_span((uintptr_t)objs[i]);
		uint64_t recip = alloc_class_recip[s->size_class];
		uintptr_t start = s->start, length = s->end - s->start;
		uint32_t n = 0, low = UINT32_MAX;
		do {
			uint32_t word = mark_free(s, recip, objs[i]);
			if (word < low)
				low = word;
			n++;
			i++;
		} while (i < count && (uintptr_t)objs[i] - start < length);
		span_regained(ce, s, n, low);
	}
}

/* How many of the newest batches a fetch looks through for one released on its own CPU. */
#define TRANSFER_SEARCH 8

/* Swap the batches at stack positions i and j. */
static void transfer_swap(struct central *ce, unsigned i, unsigned j)
{
	void **b = ce->batch[i];
	int16_t cpu = ce->cpu[i];
	ce->batch[i] = ce->batch[j];
	ce->cpu[i] = ce->cpu[j];
	ce->batch[j] = b;
	ce->cpu[j] = cpu;
}

unsigned central_fetch(unsigned c, void **out, unsigned want, unsigned room)
{
	struct central *ce = &centrals[c];
	unsigned count, batch = alloc_class_batch[c];
	int cpu = alloc_current_cpu();
	if (room >= batch && mailbox_take(&mailboxes[mailbox_row(cpu)].box[c], out, batch))
		return batch;
	alloc_lock_acquire(&ce->lock);
	if (ce->transfer_count > 0 && room >= batch) {
		/* Prefer a batch freed on this CPU: a producer and its consumer sharing a core then
		 * trade objects that stay in that core's cache, instead of taking the batch another
		 * core just freed (a cache miss per object, for the program's first write). Swap it
		 * to the top, so the stack order stays age order but for this one batch. */
		unsigned top = ce->transfer_count - 1;
		unsigned lowest = top >= TRANSFER_SEARCH ? top - (TRANSFER_SEARCH - 1) : 0;
		for (unsigned i = top + 1; i-- > lowest;) {
			if (ce->cpu[i] == cpu) {
				transfer_swap(ce, i, top);
				break;
			}
		}
		memcpy(out, ce->batch[top], batch * sizeof(void *));
		count = batch;
		ce->transfer_count = top;
		if (ce->transfer_count < ce->transfer_low_water)
			ce->transfer_low_water = ce->transfer_count;
	} else {
		/* Before new objects from the spans, a batch another core left in its mailbox. */
		unsigned cpus = __atomic_load_n(&mailbox_cpus, __ATOMIC_RELAXED);
		if (room >= batch)
			for (unsigned i = 0; i < cpus; i++)
				if (mailbox_take(&mailboxes[i].box[c], out, batch)) {
					alloc_lock_release(&ce->lock);
					return batch;
				}
		count = take_from_spans(ce, c, out, want, room, true);
		/* Lowest address last, so a thread cache (a stack) hands it out first: the thread
		 * meets the objects in the order they lie in memory. */
		for (unsigned i = 0, j = count - 1; count && i < j; i++, j--) {
			void *t = out[i];
			out[i] = out[j];
			out[j] = t;
		}
	}
	alloc_lock_release(&ce->lock);
	return count;
}

void central_release(unsigned c, void *const *objs, unsigned count)
{
	struct central *ce = &centrals[c];
	int cpu = alloc_current_cpu();
	if (count == alloc_class_batch[c] && mailbox_put(c, cpu, objs, count))
		return;
	alloc_lock_acquire(&ce->lock);
	unsigned top = ce->transfer_count;
	if (count == alloc_class_batch[c] && top < transfer_max[c] && batch_array(&ce->batch[top], count)) {
		memcpy(ce->batch[top], objs, count * sizeof(void *));
		ce->cpu[top] = (int16_t)cpu;
		ce->transfer_count = top + 1;
	} else {
		return_to_spans(ce, objs, count);
	}
	alloc_lock_release(&ce->lock);
}

static bool debug_test_and_flip(struct span *s, void *p, bool expect_set)
{
	size_t index = object_index(s, alloc_class_recip[s->size_class], p);
	uint64_t bit = 1ull << (index % 64);
	uint64_t *word = &s->debug_bits[index / 64];
	bool was_set = (*word & bit) != 0;
	if (was_set != expect_set)
		return false;
	*word ^= bit;
	return true;
}

/* One object without a thread cache: debug mode, or a thread whose cache is already gone. */
void *central_alloc_one(unsigned c)
{
	struct central *ce = &centrals[c];
	void *head;
	alloc_lock_acquire(&ce->lock);
	unsigned n = take_from_spans(ce, c, &head, 1, 1, false);
	if (n && alloc_config.debug) {
		struct span *s = pagemap_span((uintptr_t)head);
		if (!debug_test_and_flip(s, head, false))
			alloc_fatal("malloc(): heap corruption: object handed out twice", head, NULL);
	}
	alloc_lock_release(&ce->lock);
	return n ? head : NULL;
}

void central_free_one(unsigned c, void *p, void *caller)
{
	struct central *ce = &centrals[c];
	alloc_lock_acquire(&ce->lock);
	struct span *s = pagemap_span((uintptr_t)p);
	/* span_object_start: an object start among those handed out (below the bump pointer). */
	if (!s || s->state != SPAN_SMALL || s->size_class != c || !span_object_start(s, (uintptr_t)p))
		alloc_fatal("free(): invalid pointer (not the start of a block from this allocator)", p, caller);
	if (s->debug_bits && !debug_test_and_flip(s, p, true))
		alloc_fatal("free(): double free", p, caller);
	span_regained(ce, s, 1, mark_free(s, alloc_class_recip[c], p));
	alloc_lock_release(&ce->lock);
}

/* Debug mode only: is p a live object? Used to name double frees in realloc/usable_size too. */
bool central_debug_is_live(void *p)
{
	struct span *s = pagemap_span((uintptr_t)p);
	if (!s || s->state != SPAN_SMALL || !s->debug_bits)
		return false;
	struct central *ce = &centrals[s->size_class];
	alloc_lock_acquire(&ce->lock);
	uintptr_t a = (uintptr_t)p;
	bool live = false;
	if (s->state == SPAN_SMALL && a >= s->start && a < s->bump && (a - s->start) % alloc_class_size[s->size_class] == 0) {
		size_t index = object_index(s, alloc_class_recip[s->size_class], p);
		live = (s->debug_bits[index / 64] >> (index % 64)) & 1;
	}
	alloc_lock_release(&ce->lock);
	return live;
}

/* Move transfer-cache batches back into their spans: the idle ones (untouched since the last
 * call) on the periodic path, all of them for malloc_trim. Emptied spans go to the page heap. */
void central_drain_transfer(bool only_idle)
{
	unsigned cpus = __atomic_load_n(&mailbox_cpus, __ATOMIC_RELAXED);
	for (unsigned c = 1; c < NUM_CLASSES; c++) {
		struct central *ce = &centrals[c];
		for (unsigned i = 0; i < cpus; i++) {
			struct mailbox *m = &mailboxes[i].box[c];
			if (__atomic_load_n(&m->state, __ATOMIC_RELAXED) != MAILBOX_FULL)
				continue;
			if (only_idle && !__atomic_load_n(&m->idle, __ATOMIC_RELAXED)) {
				__atomic_store_n(&m->idle, 1, __ATOMIC_RELAXED);
				continue;
			}
			void *objs[MAX_BATCH];
			if (!mailbox_take(m, objs, alloc_class_batch[c]))
				continue;
			alloc_lock_acquire(&ce->lock);
			return_to_spans(ce, objs, alloc_class_batch[c]);
			alloc_lock_release(&ce->lock);
		}
		if (!__atomic_load_n(&ce->transfer_count, __ATOMIC_RELAXED)) {
			ce->transfer_low_water = 0;
			continue;
		}
		alloc_lock_acquire(&ce->lock);
		unsigned drain = only_idle ? ce->transfer_low_water : ce->transfer_count;
		/* The oldest batches sit at the bottom of the stack; their emptied arrays go above
		 * the ones that stay, for reuse. */
		if (drain) {
			void **emptied[MAX_TRANSFER_SLOTS];
			for (unsigned i = 0; i < drain; i++) {
				return_to_spans(ce, ce->batch[i], alloc_class_batch[c]);
				emptied[i] = ce->batch[i];
			}
			unsigned stay = ce->transfer_count - drain;
			memmove(&ce->batch[0], &ce->batch[drain], stay * sizeof(ce->batch[0]));
			memmove(&ce->cpu[0], &ce->cpu[drain], stay * sizeof(ce->cpu[0]));
			memcpy(&ce->batch[stay], emptied, drain * sizeof(ce->batch[0]));
			ce->transfer_count = stay;
		}
		ce->transfer_low_water = ce->transfer_count;
		alloc_lock_release(&ce->lock);
	}
}

void central_get_stats(unsigned c, struct central_class_stats *out)
{
	struct central *ce = &centrals[c];
	alloc_lock_acquire(&ce->lock);
	out->handed_out = ce->handed_out;
	out->transfer_objects = (size_t)ce->transfer_count * alloc_class_batch[c];
	unsigned cpus = __atomic_load_n(&mailbox_cpus, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < cpus; i++)
		if (__atomic_load_n(&mailboxes[i].box[c].state, __ATOMIC_RELAXED) == MAILBOX_FULL)
			out->transfer_objects += alloc_class_batch[c];
	out->spans = ce->spans;
	out->span_free_objects = ce->spans * alloc_class_capacity[c] - ce->handed_out;
	alloc_lock_release(&ce->lock);
}

/* Debug mode: list sample addresses of live objects by walking the page map. */
void central_print_debug_leaks(int fd)
{
	struct diag d = { .fd = fd };
	unsigned printed = 0;
	for (size_t r = 0; r < PAGEMAP_ROOT_ENTRIES && printed < 32; r++) {
		struct pagemap_leaf *leaf = __atomic_load_n(&alloc_pagemap_root[r], __ATOMIC_ACQUIRE);
		if (!leaf)
			continue;
		for (size_t i = 0; i < PAGEMAP_LEAF_ENTRIES && printed < 32; i++) {
			struct span *s = leaf->span[i];
			uintptr_t page = ((r << PAGEMAP_LEAF_BITS) | i) << PAGE_SHIFT;
			if (!leaf->size_class[i] || !s || s->start != page || !s->debug_bits)
				continue;
			size_t size = alloc_class_size[s->size_class];
			for (size_t k = 0; k < s->capacity && printed < 32; k++) {
				if (!((s->debug_bits[k / 64] >> (k % 64)) & 1))
					continue;
				diag_str(&d, "sysprim-malloc:   leaked ");
				diag_dec(&d, size);
				diag_str(&d, "-byte block at ");
				diag_hex(&d, s->start + k * size);
				diag_str(&d, "\n");
				printed++;
			}
		}
	}
	diag_flush(&d);
}

void central_init(void)
{
	for (unsigned c = 1; c < NUM_CLASSES; c++) {
		/* Keep at most ~512 KiB per class in batches, but always room for two. */
		size_t batch_bytes = (size_t)alloc_class_batch[c] * alloc_class_size[c];
		size_t slots = (512 * 1024) / batch_bytes;
		if (slots < 2)
			slots = 2;
		if (slots > MAX_TRANSFER_SLOTS)
			slots = MAX_TRANSFER_SLOTS;
		transfer_max[c] = (unsigned)slots;
	}
}

void central_fork_lock(void)
{
	for (unsigned c = 0; c < NUM_CLASSES; c++)
		alloc_lock_acquire(&centrals[c].lock);
}

void central_fork_unlock(bool child)
{
	for (unsigned c = 0; c < NUM_CLASSES; c++) {
		/* A mailbox some other thread was filling or emptying: its batch went with that thread
		 * (at most one batch per mailbox is lost to the child, never handed out twice). */
		for (unsigned i = 0; child && i < mailbox_cpus; i++)
			if (mailboxes[i].box[c].state == MAILBOX_BUSY)
				mailboxes[i].box[c].state = MAILBOX_EMPTY;
		if (child)
			alloc_lock_reset(&centrals[c].lock);
		else
			alloc_lock_release(&centrals[c].lock);
	}
}
