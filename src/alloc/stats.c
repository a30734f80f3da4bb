/* Statistics and the exit-time reports of the allocator (src/alloc, beside the API): gathered from
 * every tier, printed with write(2) so that reporting never allocates. */
#include <string.h>

#include "alloc_internal.h"
#include "sysprim/alloc.h"

ALLOC_EXPORT void sysprim_malloc_stats(struct sysprim_malloc_stats *out)
{
	alloc_ensure_init();
	memset(out, 0, sizeof(*out));
	size_t tc_bytes, tc_count, tc_per_class[NUM_CLASSES];
	tc_sum_stats(&tc_bytes, &tc_count, tc_per_class);
	struct page_heap_stats ph;
	page_heap_get_stats(&ph);

	size_t in_use = 0, central_bytes = 0;
	out->num_classes = NUM_CLASSES - 1;
	for (unsigned c = 1; c < NUM_CLASSES; c++) {
		struct central_class_stats cs;
		central_get_stats(c, &cs);
		size_t cached = tc_per_class[c] + cs.transfer_objects;
		/* Thread caches are read racily: clamp rather than report a negative count. */
		size_t live = cs.handed_out > cached ? cs.handed_out - cached : 0;
		struct sysprim_malloc_class_stats *cl = &out->classes[c - 1];
		cl->size = alloc_class_size[c];
		cl->in_use = live;
		cl->cached = cached;
		cl->spans = cs.spans;
		in_use += live * alloc_class_size[c];
		central_bytes += (cs.transfer_objects + cs.span_free_objects) * alloc_class_size[c];
	}
	out->bytes_in_use = in_use + ph.large_bytes;
	out->bytes_mapped = ph.mapped;
	out->bytes_resident_free = ph.resident_free;
	out->bytes_released = ph.released;
	out->bytes_thread_caches = tc_bytes;
	out->bytes_central_caches = central_bytes;
	out->bytes_metadata = meta_bytes() + pagemap_bytes();
	out->large_in_use = ph.large_count;
	out->large_bytes_in_use = ph.large_bytes;
	out->thread_caches = tc_count;
	out->release_delay_ms = alloc_config.release_delay_ms;
	out->thread_cache_limit = alloc_config.thread_cache_bytes;
}

static void line(struct diag *d, const char *label, size_t bytes)
{
	diag_str(d, "sysprim-malloc: ");
	diag_str(d, label);
	diag_pad(d, 42);
	diag_size(d, bytes);
	diag_str(d, "\n");
}

ALLOC_EXPORT void sysprim_malloc_print_stats(int fd)
{
	struct sysprim_malloc_stats st;
	struct diag d = { .fd = fd };
	sysprim_malloc_stats(&st);
	line(&d, "in use by the program", st.bytes_in_use);
	line(&d, "mapped from the OS", st.bytes_mapped);
	line(&d, "free, resident", st.bytes_resident_free);
	line(&d, "free, returned to the OS", st.bytes_released);
	line(&d, "in thread caches", st.bytes_thread_caches);
	line(&d, "in central caches", st.bytes_central_caches);
	line(&d, "metadata (address space)", st.bytes_metadata);
	diag_str(&d, "sysprim-malloc: large blocks in use");
	diag_pad(&d, 42);
	diag_dec(&d, st.large_in_use);
	diag_str(&d, " (");
	diag_size(&d, st.large_bytes_in_use);
	diag_str(&d, ")\nsysprim-malloc: thread caches");
	diag_pad(&d, 42);
	diag_dec(&d, st.thread_caches);
	diag_str(&d, "\nsysprim-malloc: class      size     in use     cached      spans\n");
	for (unsigned i = 0; i < st.num_classes; i++) {
		const struct sysprim_malloc_class_stats *cl = &st.classes[i];
		if (!cl->in_use && !cl->cached && !cl->spans)
			continue;
		diag_str(&d, "sysprim-malloc:");
		diag_dec_at(&d, i + 1, 21);
		diag_dec_at(&d, cl->size, 31);
		diag_dec_at(&d, cl->in_use, 42);
		diag_dec_at(&d, cl->cached, 53);
		diag_dec_at(&d, cl->spans, 64);
		diag_str(&d, "\n");
	}
	diag_flush(&d);
}

ALLOC_EXPORT void sysprim_malloc_print_leaks(int fd)
{
	struct sysprim_malloc_stats st;
	struct diag d = { .fd = fd };
	sysprim_malloc_stats(&st);
	size_t blocks = st.large_in_use;
	for (unsigned i = 0; i < st.num_classes; i++)
		blocks += st.classes[i].in_use;
	diag_str(&d, "sysprim-malloc: leak report: ");
	diag_dec(&d, blocks);
	diag_str(&d, " blocks still allocated (");
	diag_size(&d, st.bytes_in_use);
	diag_str(&d, ")\n");
	for (unsigned i = 0; i < st.num_classes; i++) {
		if (!st.classes[i].in_use)
			continue;
		diag_str(&d, "sysprim-malloc:   ");
		diag_dec(&d, st.classes[i].in_use);
		diag_str(&d, " x ");
		diag_dec(&d, st.classes[i].size);
		diag_str(&d, " bytes\n");
	}
	if (st.large_in_use) {
		diag_str(&d, "sysprim-malloc:   ");
		diag_dec(&d, st.large_in_use);
		diag_str(&d, " large blocks, ");
		diag_size(&d, st.large_bytes_in_use);
		diag_str(&d, "\n");
	}
	diag_flush(&d);
	if (alloc_config.debug)
		central_print_debug_leaks(fd);
}
