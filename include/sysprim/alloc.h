/* sysprim's allocator: statistics and tuning interface of src/alloc (the allocator layer).
 * Only usable when the builtin allocator is linked (SYSPRIM_MALLOC_BUILTIN) or when
 * libsysprim-malloc.so is loaded; the malloc API itself is the standard one from <stdlib.h>. */
#ifndef SYSPRIM_ALLOC_H
#define SYSPRIM_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Upper bound on the number of size classes reported; the allocator uses fewer. */
#define SYSPRIM_MALLOC_MAX_CLASSES 128

struct sysprim_malloc_class_stats {
	size_t size;            /* bytes per object of this class */
	size_t in_use;          /* objects currently handed to the program */
	size_t cached;          /* free objects held in thread caches and transfer caches */
	size_t spans;           /* spans (runs of pages) carved into objects of this class */
};

struct sysprim_malloc_stats {
	size_t bytes_in_use;         /* handed to the program, rounded up to class/page size */
	size_t bytes_mapped;         /* address space obtained from the OS */
	size_t bytes_resident_free;  /* free pages not yet returned to the OS */
	size_t bytes_released;       /* free pages returned to the OS (madvise), not resident */
	size_t bytes_thread_caches;  /* free objects held in per-thread caches */
	size_t bytes_central_caches; /* free objects in transfer caches and partly used spans */
	size_t bytes_metadata;       /* spans, thread caches, page map leaves */
	size_t large_in_use;         /* allocations above the largest class, count */
	size_t large_bytes_in_use;   /* and their size */
	size_t thread_caches;        /* live thread caches */
	size_t release_delay_ms;     /* idle free pages go back to the OS after this long */
	size_t thread_cache_limit;   /* byte budget of one thread cache */
	unsigned num_classes;        /* entries used in classes[] */
	struct sysprim_malloc_class_stats classes[SYSPRIM_MALLOC_MAX_CLASSES];
};

/* Fill *out with a consistent-enough snapshot (counters of other threads are read racily). */
void sysprim_malloc_stats(struct sysprim_malloc_stats *out);

/* Write a human-readable summary to fd (uses write(2) only, never allocates). */
void sysprim_malloc_print_stats(int fd);

/* Write the live allocations by size class to fd; in debug mode also sample addresses. */
void sysprim_malloc_print_leaks(int fd);

/* Return every free page to the OS now (what malloc_trim(0) does); returns bytes released. */
size_t sysprim_malloc_release(void);

/* What malloc and free do on their own every so often, for a program that may go quiet: trims the
 * calling thread's idle cache lists and returns to the OS the free memory idle for longer than the
 * release delay. Without it, a process that stops calling malloc and free keeps what it freed last.
 * Cheap when there is nothing to do: meant for a timer (serve's loops call it once a second). */
void sysprim_malloc_tick(void);

#ifdef __cplusplus
}
#endif

#endif
