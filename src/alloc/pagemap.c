/* Page-to-span map of the allocator (src/alloc, below the page heap): a two-level radix tree over
 * the 47-bit user address space, so free() finds an object's span and class in O(1) without a lock. */
#include <string.h>

#include "alloc_internal.h"

struct pagemap_leaf *alloc_pagemap_root[PAGEMAP_ROOT_ENTRIES];
static size_t leaf_count;

/* Callers hold the page heap lock, which serialises leaf creation; readers need no lock because a
 * leaf, once published, is never freed. */
bool pagemap_ensure(uintptr_t start, size_t npages)
{
	uintptr_t first = start >> (PAGE_SHIFT + PAGEMAP_LEAF_BITS);
	uintptr_t last = (start + npages * PAGE_BYTES - 1) >> (PAGE_SHIFT + PAGEMAP_LEAF_BITS);
	if (last >= PAGEMAP_ROOT_ENTRIES)
		return false;
	for (uintptr_t i = first; i <= last; i++) {
		if (alloc_pagemap_root[i])
			continue;
		struct pagemap_leaf *leaf = os_map(sizeof(struct pagemap_leaf), 0);
		if (!leaf)
			return false;
		leaf_count++;
		__atomic_store_n(&alloc_pagemap_root[i], leaf, __ATOMIC_RELEASE);
	}
	return true;
}

void pagemap_set_span(uintptr_t page_addr, struct span *span)
{
	struct pagemap_leaf *leaf = alloc_pagemap_root[page_addr >> (PAGE_SHIFT + PAGEMAP_LEAF_BITS)];
	leaf->span[pagemap_index(page_addr)] = span;
}

void pagemap_set_range(uintptr_t start, size_t npages, struct span *span, unsigned size_class)
{
	for (size_t i = 0; i < npages; i++) {
		uintptr_t addr = start + i * PAGE_BYTES;
		struct pagemap_leaf *leaf = alloc_pagemap_root[addr >> (PAGE_SHIFT + PAGEMAP_LEAF_BITS)];
		size_t idx = pagemap_index(addr);
		leaf->span[idx] = span;
		leaf->size_class[idx] = (uint8_t)size_class;
	}
}

size_t pagemap_bytes(void)
{
	return sizeof(alloc_pagemap_root) + leaf_count * sizeof(struct pagemap_leaf);
}
