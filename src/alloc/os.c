/* The allocator's only contact with the kernel (src/alloc, bottom layer): mmap, madvise, mremap,
 * clocks, environment and diagnostics through write(2). Nothing here calls malloc. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <time.h>
#include <unistd.h>

#include "alloc_internal.h"

extern char **environ;

/* How many times a thread finds a held lock still held before it sleeps: ~100 pauses are a few
 * microseconds, longer than any of the allocator's critical sections. */
#define LOCK_SPINS 100

void alloc_lock_wait(struct alloc_lock *l)
{
	for (unsigned i = 0; i < LOCK_SPINS; i++) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		if (__atomic_load_n(&l->state, __ATOMIC_RELAXED) == 0 && alloc_lock_try(l))
			return;
	}
	/* Mark the lock contended; whoever holds it then wakes one sleeper when it lets go. A wait
	 * that fails (EAGAIN: the word changed first; EINTR) leaves errno as the program had it. */
	int saved = errno;
	while (__atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE) != 0)
		syscall(SYS_futex, &l->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
	errno = saved;
}

void alloc_lock_wake(struct alloc_lock *l)
{
	syscall(SYS_futex, &l->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void *os_map(size_t size, size_t align)
{
	int saved = errno;
	/* Over-map, then trim, so the result starts at a multiple of align. */
	size_t total = size + (align > 4096 ? align : 0);
	if (total < size)
		return NULL;
	void *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		errno = saved;
		return NULL;
	}
	uintptr_t start = (uintptr_t)p;
	if (align > 4096) {
		uintptr_t aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
		if (aligned > start)
			munmap(p, aligned - start);
		size_t tail = (start + total) - (aligned + size);
		if (tail)
			munmap((void *)(aligned + size), tail);
		start = aligned;
	}
	errno = saved;
	return (void *)start;
}

void os_unmap(void *p, size_t size)
{
	int saved = errno;
	munmap(p, size);
	errno = saved;
}

void os_release(void *p, size_t size)
{
	int saved = errno;
	/* MADV_DONTNEED (not MADV_FREE): the pages leave RSS now and read back as zeros. */
	madvise(p, size, MADV_DONTNEED);
	errno = saved;
}

/* os_zero looks at this many 4 KiB pages per mincore call (its vector is on the stack), and gives
 * runs of at least ZERO_RELEASE_MIN_PAGES pages that are not resident back instead of writing them. */
#define ZERO_PROBE_PAGES 4096
#define ZERO_RELEASE_MIN_PAGES 16

/* Zero [p, p + size), p and size multiples of 4 KiB, without faulting in what is not resident:
 * resident pages are written (faster than dropping them and faulting them in again when the caller
 * uses them), runs of pages that are not (never touched since their last release, or swapped out)
 * are dropped with MADV_DONTNEED and read back as zeros. A big block its last user touched here and
 * there then costs neither the time nor the RSS of writing all of it. */
void os_zero(void *p, size_t size)
{
	int saved = errno;
	unsigned char vec[ZERO_PROBE_PAGES];
	char *base = p;
	size_t pages = size / 4096;
	/* Pages [dirty, i) are still to be written: one memset for all the resident pages in a row
	 * (a big one may use non-temporal stores, which many small ones would not). */
	size_t dirty = 0;
	for (size_t at = 0; at < pages; at += ZERO_PROBE_PAGES) {
		size_t n = pages - at < ZERO_PROBE_PAGES ? pages - at : ZERO_PROBE_PAGES;
		if (mincore(base + at * 4096, n * 4096, vec) != 0)
			memset(vec, 0, n); /* unknown: give them back, which zeroes them in any case */
		for (size_t i = 0; i < n;) {
			if (vec[i] & 1) {
				i++;
				continue;
			}
			size_t j = i;
			while (j < n && !(vec[j] & 1))
				j++;
			/* Where madvise fails, the run stays among the pages to write. */
			if (j - i >= ZERO_RELEASE_MIN_PAGES &&
			    madvise(base + (at + i) * 4096, (j - i) * 4096, MADV_DONTNEED) == 0) {
				memset(base + dirty * 4096, 0, (at + i - dirty) * 4096);
				dirty = at + j;
			}
			i = j;
		}
	}
	memset(base + dirty * 4096, 0, (pages - dirty) * 4096);
	errno = saved;
}

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* Fresh zero pages over [at, at+size) of our own range, in one step (MAP_FIXED replaces what is
 * there; no moment with a hole another thread's mmap could take). The new mapping's offset follows
 * its address, so it merges with the untouched parts of the range around it. */
static bool remap_fresh(void *at, size_t size)
{
	return mmap(at, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) !=
	       MAP_FAILED;
}

/* Move the pages of [from, from+size) to [to, to+size) without copying. The source stays mapped
 * (MREMAP_DONTUNMAP, Linux 5.7+), so the page heap's range never has a hole: unmapping it and mapping
 * it again would leave a window in which another thread's mmap (our metadata arena, or any
 * library's) could land in the hole and then be overwritten by the refill. The source's emptied
 * mappings are then replaced by one fresh mapping: left as they were, every move split the range
 * for good, and the splits of a block moved again and again piled up to the kernel's map count
 * limit (65530) within about a thousand moves.
 * OS_MOVED: done. OS_NOT_MOVED: the caller copies; [to, to+size) is mapped (a failed mremap may
 * have unmapped part of it; it is mapped afresh). OS_DESTINATION_LOST: it could not be. */
enum os_move os_move_pages(void *from, void *to, size_t size)
{
	int saved = errno;
	enum os_move result = OS_MOVED;
	if (mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to) == MAP_FAILED)
		result = remap_fresh(to, size) ? OS_NOT_MOVED : OS_DESTINATION_LOST;
	else
		(void)remap_fresh(from, size); /* best effort: the source is mapped either way */
	errno = saved;
	return result;
}

/* Move the pages of [from, from+size) to where the kernel finds room, leaving the source mapped
 * afresh (MREMAP_DONTUNMAP, then remap_fresh: no hole, as in os_move_pages): a block leaving the
 * page heap for a mapping of its own. NULL when the kernel cannot (before Linux 5.7, out of
 * mappings); nothing has changed then. */
void *os_move_out(void *from, size_t size)
{
	int saved = errno;
	/* new_address too, though MREMAP_FIXED is not given: the kernel checks it for
	 * MREMAP_DONTUNMAP, and glibc 2.36 passes on whatever the register holds (EINVAL here). */
	void *to = mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	if (to == MAP_FAILED)
		to = NULL;
	else
		(void)remap_fresh(from, size); /* best effort: the source is mapped either way */
	errno = saved;
	return to;
}

/* Grow or shrink the mapping [p, p+size) where it is (the address space behind it must be free). */
bool os_resize_in_place(void *p, size_t size, size_t new_size)
{
	int saved = errno;
	bool ok = mremap(p, size, new_size, 0) != MAP_FAILED;
	errno = saved;
	return ok;
}

/* Move the mapping [from, from+size) over [to, to+new_size), a mapping of the caller's own that it
 * replaces (MREMAP_FIXED: in one step, under the kernel's lock, so no other thread's mmap can land
 * in between), growing it to new_size: the kernel moves page tables, not bytes, and the result is
 * one mapping. A source in several mappings moves only at its own size (Linux 6.17+), and stays
 * several. The source's range is unmapped. False when the kernel cannot; `to` may then have lost
 * part of its pages (the kernel unmaps the destination first): the caller must not touch it again,
 * nor map over it, as another thread's mmap may have taken the hole since. */
bool os_move_into(void *from, size_t size, void *to, size_t new_size)
{
	int saved = errno;
	bool ok = mremap(from, size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, to) != MAP_FAILED;
	errno = saved;
	return ok;
}

uint64_t os_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* getenv never allocates, but may run before libc set up environ; then we see no settings. */
const char *os_getenv(const char *name)
{
	if (!environ)
		return NULL;
	size_t n = strlen(name);
	for (char **e = environ; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static bool parse_number(const char *s, uint64_t *value, const char **rest)
{
	uint64_t v = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*value = v;
	*rest = p;
	return true;
}

static void warn_bad_env(const char *name, const char *value)
{
	struct diag d = { .fd = 2 };
	diag_str(&d, "sysprim-malloc: ignoring ");
	diag_str(&d, name);
	diag_str(&d, "=");
	diag_str(&d, value);
	diag_str(&d, ": not a valid value\n");
	diag_flush(&d);
}

/* Sizes take K/M/G suffixes (optionally followed by "iB" or "B"), like the rest of sysprim. */
bool os_env_size(const char *name, size_t *out)
{
	const char *s = os_getenv(name), *rest;
	uint64_t v, mult = 1;
	if (!s || !*s)
		return false;
	if (!parse_number(s, &v, &rest))
		goto bad;
	switch (*rest) {
	case 'k': case 'K': mult = 1ull << 10; rest++; break;
	case 'm': case 'M': mult = 1ull << 20; rest++; break;
	case 'g': case 'G': mult = 1ull << 30; rest++; break;
	default: break;
	}
	if (mult > 1 && rest[0] == 'i' && rest[1] == 'B')
		rest += 2;
	else if (rest[0] == 'B')
		rest++;
	if (*rest || v > UINT64_MAX / mult)
		goto bad;
	*out = (size_t)(v * mult);
	return true;
bad:
	warn_bad_env(name, s);
	return false;
}

/* Durations: a number with "ms" or "s"; a bare number means milliseconds. */
bool os_env_ms(const char *name, uint64_t *out)
{
	const char *s = os_getenv(name), *rest;
	uint64_t v;
	if (!s || !*s)
		return false;
	if (!parse_number(s, &v, &rest))
		goto bad;
	if (strcmp(rest, "s") == 0) {
		if (v > UINT64_MAX / 1000)
			goto bad;
		v *= 1000;
	} else if (*rest && strcmp(rest, "ms") != 0) {
		goto bad;
	}
	*out = v;
	return true;
bad:
	warn_bad_env(name, s);
	return false;
}

void diag_flush(struct diag *d)
{
	size_t off = 0;
	int saved = errno;
	while (off < d->len) {
		ssize_t n = write(d->fd, d->buf + off, d->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	d->len = 0;
	errno = saved;
}

void diag_str(struct diag *d, const char *s)
{
	for (; *s; s++) {
		if (d->len == sizeof(d->buf))
			diag_flush(d);
		d->buf[d->len++] = *s;
		d->column = *s == '\n' ? 0 : d->column + 1;
	}
}

void diag_dec(struct diag *d, uint64_t v)
{
	char tmp[24];
	int i = (int)sizeof(tmp) - 1;
	tmp[i] = 0;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	diag_str(d, tmp + i);
}

void diag_hex(struct diag *d, uint64_t v)
{
	char tmp[24];
	int i = (int)sizeof(tmp) - 1;
	tmp[i] = 0;
	do {
		tmp[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	diag_str(d, tmp + i);
}

/* Human-readable size: exact bytes below 10 KiB, else one decimal of KiB/MiB/GiB. */
void diag_size(struct diag *d, uint64_t bytes)
{
	static const char *units[] = { "KiB", "MiB", "GiB", "TiB" };
	if (bytes < 10240) {
		diag_dec(d, bytes);
		diag_str(d, " B");
		return;
	}
	uint64_t scaled = bytes * 10 / 1024;
	int u = 0;
	while (scaled >= 10240 && u < 3) {
		scaled /= 1024;
		u++;
	}
	diag_dec(d, scaled / 10);
	diag_str(d, ".");
	diag_dec(d, scaled % 10);
	diag_str(d, " ");
	diag_str(d, units[u]);
}

void diag_pad(struct diag *d, size_t column)
{
	do
		diag_str(d, " ");
	while (d->column < column);
}

/* A number right-aligned so that it ends at `column`. */
void diag_dec_at(struct diag *d, uint64_t v, size_t column)
{
	size_t digits = 1;
	for (uint64_t x = v; x >= 10; x /= 10)
		digits++;
	while (d->column + digits < column)
		diag_str(d, " ");
	diag_dec(d, v);
}

_Noreturn void alloc_fatal(const char *what, const void *ptr, const void *caller)
{
	struct diag d = { .fd = 2 };
	diag_str(&d, "sysprim-malloc: ");
	diag_str(&d, what);
	if (ptr) {
		diag_str(&d, ": pointer ");
		diag_hex(&d, (uintptr_t)ptr);
	}
	if (caller) {
		diag_str(&d, ", called from ");
		diag_hex(&d, (uintptr_t)caller);
	}
	diag_str(&d, "\n");
	diag_flush(&d);
	abort();
}
