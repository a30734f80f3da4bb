/* Parsing and formatting of sizes (K/M/G/T suffixes, powers of 1024) and durations (ns/us/ms/s/m/h).
 * Shared module. */
#ifndef SYSPRIM_SIZE_H
#define SYSPRIM_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* "100M", "1g", "4096", "64KiB", "1.5G": bytes. 0 or -EINVAL (malformed, negative) / -ERANGE
 * (does not fit in 64 bits). */
int size_parse(const char *text, uint64_t *bytes);

/* "30s", "250ms", "2m", "1h", "10us", "5ns", "1.5s"; a plain number is seconds. Nanoseconds. */
int duration_parse(const char *text, uint64_t *nanoseconds);

/* The largest unit that is exact: "24h", "90s", "1500us", "0s"; returns buf. */
char *duration_format(uint64_t nanoseconds, char *buf, size_t buf_size);

/* "100M", "1.5G", "512" into buf (at least 16 bytes); returns buf. Exact when a multiple. */
char *size_format(uint64_t bytes, char *buf, size_t buf_size);

/* Decimal unsigned integer with range check: 0, -EINVAL or -ERANGE. No sign, no junk. */
int uint_parse(const char *text, uint64_t max, uint64_t *value);

#endif
