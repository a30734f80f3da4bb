/* Sizes and durations as users type them on the command line: "100M", "1.5G", "30s", "250ms".
 * Shared module; pure functions, no allocation. */
#include "sysprim/size.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Parse "<digits>[.<digits>]" and return integer part, fractional numerator and its scale.
 * Returns the position after the number, or NULL if there is no number or it overflows. */
static const char *parse_decimal(const char *p, uint64_t *whole, uint64_t *frac, uint64_t *frac_scale,
                                 int *overflow)
{
        uint64_t value = 0;
        const char *start = p;
        *overflow = 0;
        while (isdigit((unsigned char)*p)) {
                unsigned digit = (unsigned)(*p - '0');
                if (value > (UINT64_MAX - digit) / 10)
                        *overflow = 1;
                else
                        value = value * 10 + digit;
                p++;
        }
        *whole = value;
        *frac = 0;
        *frac_scale = 1;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                        return NULL;
                while (isdigit((unsigned char)*p)) {
                        /* Nine fractional digits are enough for ns and for bytes of a TiB. */
                        if (*frac_scale < 1000000000ULL) {
                                *frac = *frac * 10 + (uint64_t)(*p - '0');
                                *frac_scale *= 10;
                        }
                        p++;
                }
        }
        return p == start ? NULL : p;
}

/* whole * multiplier + frac * multiplier / scale, or -ERANGE. */
static int scale_value(uint64_t whole, uint64_t frac, uint64_t frac_scale, uint64_t multiplier,
                       uint64_t *out)
{
        if (multiplier != 0 && whole > UINT64_MAX / multiplier)
                return -ERANGE;
        uint64_t result = whole * multiplier;
        /* frac < frac_scale <= 1e9 and multiplier <= 2^40 or 3.6e12: use 128-bit to be exact. */
        unsigned __int128 part = (unsigned __int128)frac * multiplier / frac_scale;
        if (part > UINT64_MAX - result)
                return -ERANGE;
        *out = result + (uint64_t)part;
        return 0;
}

int size_parse(const char *text, uint64_t *bytes)
{
        uint64_t whole, frac, frac_scale;
        int overflow;
        if (text == NULL || *text == '\0')
                return -EINVAL;
        const char *p = parse_decimal(text, &whole, &frac, &frac_scale, &overflow);
        if (p == NULL)
                return -EINVAL;
        uint64_t multiplier = 1;
        switch (toupper((unsigned char)*p)) {
        case '\0': break;
        case 'B': break;
        case 'K': multiplier = 1ULL << 10; p++; break;
        case 'M': multiplier = 1ULL << 20; p++; break;
        case 'G': multiplier = 1ULL << 30; p++; break;
        case 'T': multiplier = 1ULL << 40; p++; break;
        default: return -EINVAL;
        }
        /* Accept an optional "B" or "iB" after the unit: 64K, 64KB, 64KiB. */
        if (multiplier > 1 && (p[0] == 'i' || p[0] == 'I') && (p[1] == 'B' || p[1] == 'b'))
                p += 2;
        else if (*p == 'B' || *p == 'b')
                p++;
        if (*p != '\0')
                return -EINVAL;
        if (overflow)
                return -ERANGE;
        if (multiplier == 1 && frac != 0)
                return -EINVAL; /* "1.5" bytes makes no sense */
        return scale_value(whole, frac, frac_scale, multiplier, bytes);
}

/* The duration units, largest first (duration_format takes the first that divides exactly). */
static const struct {
        const char *suffix;
        uint64_t ns;
} duration_units[] = {
        { "h", 3600ULL * 1000000000ULL }, { "m", 60ULL * 1000000000ULL }, { "s", 1000000000ULL },
        { "ms", 1000000ULL }, { "us", 1000ULL }, { "ns", 1ULL },
};
#define DURATION_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

int duration_parse(const char *text, uint64_t *nanoseconds)
{
        uint64_t whole, frac, frac_scale;
        int overflow;
        if (text == NULL || *text == '\0')
                return -EINVAL;
        const char *p = parse_decimal(text, &whole, &frac, &frac_scale, &overflow);
        if (p == NULL)
                return -EINVAL;
        uint64_t multiplier = 1000000000ULL;
        if (*p != '\0') {
                multiplier = 0;
                for (size_t i = 0; i < DURATION_UNITS; i++)
                        if (strcmp(p, duration_units[i].suffix) == 0)
                                multiplier = duration_units[i].ns;
                if (multiplier == 0)
                        return -EINVAL;
        }
        if (overflow)
                return -ERANGE;
        return scale_value(whole, frac, frac_scale, multiplier, nanoseconds);
}

char *duration_format(uint64_t nanoseconds, char *buf, size_t buf_size)
{
        if (nanoseconds == 0) {
                snprintf(buf, buf_size, "0s");
                return buf;
        }
        size_t i = 0;
        while (nanoseconds % duration_units[i].ns != 0) /* the last unit, 1 ns, always divides */
                i++;
        snprintf(buf, buf_size, "%llu%s", (unsigned long long)(nanoseconds / duration_units[i].ns),
                 duration_units[i].suffix);
        return buf;
}

char *size_format(uint64_t bytes, char *buf, size_t buf_size)
{
        static const char units[] = "KMGT";
        if (bytes < 1024) {
                snprintf(buf, buf_size, "%llu", (unsigned long long)bytes);
                return buf;
        }
        int unit = 0;
        uint64_t divisor = 1024;
        while (unit < 3 && bytes / divisor >= 1024) {
                divisor *= 1024;
                unit++;
        }
        if (bytes % divisor == 0)
                snprintf(buf, buf_size, "%llu%c", (unsigned long long)(bytes / divisor), units[unit]);
        else
                snprintf(buf, buf_size, "%.1f%c", (double)bytes / (double)divisor, units[unit]);
        return buf;
}

int uint_parse(const char *text, uint64_t max, uint64_t *value)
{
        uint64_t result = 0;
        if (text == NULL || !isdigit((unsigned char)*text))
                return -EINVAL;
        for (const char *p = text; *p; p++) {
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                unsigned digit = (unsigned)(*p - '0');
                if (result > (UINT64_MAX - digit) / 10)
                        return -ERANGE;
                result = result * 10 + digit;
        }
        if (result > max)
                return -ERANGE;
        *value = result;
        return 0;
}
