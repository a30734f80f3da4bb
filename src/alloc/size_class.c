/* Size-class tables of the allocator (src/alloc): object size, span length and batch size per class.
 * Classes are spaced at most 1/8 apart so a request never wastes more than 12.5% of its object. */
#include "alloc_internal.h"

uint32_t alloc_class_size[NUM_CLASSES];
uint8_t alloc_class_batch[NUM_CLASSES];
uint8_t alloc_class_pages[NUM_CLASSES];
uint16_t alloc_class_capacity[NUM_CLASSES];
uint64_t alloc_class_recip[NUM_CLASSES];
uint8_t alloc_small_class[SMALL_TABLE_MAX / 16 + 1];

static size_t class_bytes(unsigned c)
{
	if (c <= 8)
		return 16 * (size_t)c;
	unsigned k = c - 9, b = 7 + k / 8, idx = k % 8;
	return ((size_t)1 << b) + ((size_t)(idx + 1) << (b - 3));
}

void size_class_init(void)
{
	for (unsigned c = 1; c < NUM_CLASSES; c++) {
		size_t size = class_bytes(c);
		/* Spans of at least 32 KiB keep the span count (and metadata) small; grow the span until
		 * the tail that fits no object is at most 1/8 of it. */
		size_t pages = 4;
		while (pages * PAGE_BYTES < size)
			pages++;
		while ((pages * PAGE_BYTES) % size > (pages * PAGE_BYTES) / 8)
			pages++;
		/* A batch of about 16 KiB (32 objects up to 512 B, fewer above): every class in use
		 * keeps a few batches moving between threads (a consumer's parked objects, the
		 * transfer cache, a producer's list), and with dozens of classes in use 64 KiB batches
		 * held a producer/consumer pair's heap at 1.25x mimalloc's peak RSS. */
		size_t batch = 16384 / size;
		if (batch < 2)
			batch = 2;
		if (batch > MAX_BATCH)
			batch = MAX_BATCH;
		alloc_class_size[c] = (uint32_t)size;
		alloc_class_pages[c] = (uint8_t)pages;
		alloc_class_capacity[c] = (uint16_t)(pages * PAGE_BYTES / size);
		alloc_class_batch[c] = (uint8_t)batch;
		alloc_class_recip[c] = (((uint64_t)1 << 40) + size - 1) / size;
	}
	for (size_t i = 0; i <= SMALL_TABLE_MAX / 16; i++)
		alloc_small_class[i] = (uint8_t)size_to_class(i * 16);
}
