/* Metadata arena of the allocator (src/alloc): spans, thread caches and debug bitmaps live here,
 * in power-of-two bins carved from mmap'ed chunks, never mixed with program data. */
#include <string.h>

#include "alloc_internal.h"

#define META_CHUNK ((size_t)1 << 20)
#define META_MIN_SHIFT 6
#define META_BINS 12 /* 64 B .. 128 KiB */

struct meta_free {
	struct meta_free *next;
};

static struct alloc_lock meta_lock;
static struct meta_free *meta_bins[META_BINS];
static char *meta_bump, *meta_end;
static size_t meta_mapped;

static unsigned meta_bin(size_t size)
{
	unsigned bin = 0;
	while (((size_t)1 << (bin + META_MIN_SHIFT)) < size)
		bin++;
	return bin;
}

/* Not zeroed: fresh blocks of a chunk stay untouched (and out of RSS) until the caller writes them;
 * for arrays whose unused part is never read. */
void *meta_alloc_raw(size_t size)
{
	unsigned bin = meta_bin(size);
	size_t bytes = (size_t)1 << (bin + META_MIN_SHIFT);
	void *p = NULL;
	if (bin >= META_BINS)
		return NULL;
	alloc_lock_acquire(&meta_lock);
	if (meta_bins[bin]) {
		p = meta_bins[bin];
		meta_bins[bin] = meta_bins[bin]->next;
	} else {
		if ((size_t)(meta_end - meta_bump) < bytes) {
			char *chunk = os_map(META_CHUNK, 0);
			if (!chunk) {
				alloc_lock_release(&meta_lock);
				return NULL;
			}
			meta_mapped += META_CHUNK;
			meta_bump = chunk;
			meta_end = chunk + META_CHUNK;
		}
		p = meta_bump;
		meta_bump += bytes;
	}
	alloc_lock_release(&meta_lock);
	return p;
}

void *meta_alloc(size_t size)
{
	void *p = meta_alloc_raw(size);
	if (p)
		memset(p, 0, size);
	return p;
}

void meta_free(void *p, size_t size)
{
	unsigned bin = meta_bin(size);
	struct meta_free *f = p;
	alloc_lock_acquire(&meta_lock);
	f->next = meta_bins[bin];
	meta_bins[bin] = f;
	alloc_lock_release(&meta_lock);
}

size_t meta_bytes(void)
{
	return __atomic_load_n(&meta_mapped, __ATOMIC_RELAXED);
}

void meta_fork_lock(void)
{
	alloc_lock_acquire(&meta_lock);
}

void meta_fork_unlock(bool child)
{
	if (child)
		alloc_lock_reset(&meta_lock);
	else
		alloc_lock_release(&meta_lock);
}
