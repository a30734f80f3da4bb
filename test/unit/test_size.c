/* Unit tests of src/size.c: sizes and durations as users type them, and their edge cases. */
#include "sysprim/size.h"
#include "test.h"

#include <stdint.h>

static void expect_size(const char *text, int rc, uint64_t value)
{
        uint64_t got = 12345;
        int r = size_parse(text, &got);
        if (r != rc || (rc == 0 && got != value)) {
                fprintf(stderr, "size_parse(\"%s\") = %d, %llu; expected %d, %llu\n", text ? text : "(null)", r,
                        (unsigned long long)got, rc, (unsigned long long)value);
                test_failures++;
        }
}

static void expect_duration(const char *text, int rc, uint64_t value)
{
        uint64_t got = 12345;
        int r = duration_parse(text, &got);
        if (r != rc || (rc == 0 && got != value)) {
                fprintf(stderr, "duration_parse(\"%s\") = %d, %llu; expected %d, %llu\n", text, r,
                        (unsigned long long)got, rc, (unsigned long long)value);
                test_failures++;
        }
}

int main(void)
{
        expect_size("100M", 0, 100ULL << 20);
        expect_size("1g", 0, 1ULL << 30);
        expect_size("1G", 0, 1ULL << 30);
        expect_size("0", 0, 0);
        expect_size("4096", 0, 4096);
        expect_size("64K", 0, 64 << 10);
        expect_size("64KiB", 0, 64 << 10);
        expect_size("64kb", 0, 64 << 10);
        expect_size("2T", 0, 2ULL << 40);
        expect_size("1.5G", 0, 3ULL << 29);
        expect_size("512B", 0, 512);
        expect_size("18446744073709551615", 0, UINT64_MAX);
        expect_size("-1", -EINVAL, 0);
        expect_size("+1", -EINVAL, 0);
        expect_size("18446744073709551616", -ERANGE, 0);
        expect_size("16777216T", -ERANGE, 0);
        expect_size("12Q", -EINVAL, 0);
        expect_size("", -EINVAL, 0);
        expect_size(NULL, -EINVAL, 0);
        expect_size("M", -EINVAL, 0);
        expect_size("1.5", -EINVAL, 0);
        expect_size("1.", -EINVAL, 0);
        expect_size(" 1M", -EINVAL, 0);
        expect_size("1M ", -EINVAL, 0);
        expect_size("1MM", -EINVAL, 0);
        expect_size("0x10", -EINVAL, 0);

        expect_duration("30s", 0, 30000000000ULL);
        expect_duration("30", 0, 30000000000ULL);
        expect_duration("250ms", 0, 250000000ULL);
        expect_duration("2m", 0, 120000000000ULL);
        expect_duration("1h", 0, 3600000000000ULL);
        expect_duration("10us", 0, 10000ULL);
        expect_duration("7ns", 0, 7ULL);
        expect_duration("1.5s", 0, 1500000000ULL);
        expect_duration("0", 0, 0);
        expect_duration("", -EINVAL, 0);
        expect_duration("-1s", -EINVAL, 0);
        expect_duration("5 s", -EINVAL, 0);
        expect_duration("5x", -EINVAL, 0);
        expect_duration("99999999999999999999s", -ERANGE, 0);
        expect_duration("9999999999h", -ERANGE, 0);

        char buf[32];
        CHECK_STREQ(duration_format(3600000000000ULL, buf, sizeof(buf)), "1h");
        CHECK_STREQ(duration_format(86400000000000ULL, buf, sizeof(buf)), "24h");
        CHECK_STREQ(duration_format(90000000000ULL, buf, sizeof(buf)), "90s");
        CHECK_STREQ(duration_format(120000000000ULL, buf, sizeof(buf)), "2m");
        CHECK_STREQ(duration_format(1000000ULL, buf, sizeof(buf)), "1ms");
        CHECK_STREQ(duration_format(1500000ULL, buf, sizeof(buf)), "1500us");
        CHECK_STREQ(duration_format(7ULL, buf, sizeof(buf)), "7ns");
        CHECK_STREQ(duration_format(0, buf, sizeof(buf)), "0s");
        CHECK_STREQ(size_format(100ULL << 20, buf, sizeof(buf)), "100M");
        CHECK_STREQ(size_format(1536ULL << 20, buf, sizeof(buf)), "1.5G");
        CHECK_STREQ(size_format(512, buf, sizeof(buf)), "512");
        CHECK_STREQ(size_format(1024, buf, sizeof(buf)), "1K");

        uint64_t v = 0;
        CHECK_EQ_INT(uint_parse("65535", 65535, &v), 0);
        CHECK_EQ_INT(v, 65535);
        CHECK_EQ_INT(uint_parse("65536", 65535, &v), -ERANGE);
        CHECK_EQ_INT(uint_parse("-1", 10, &v), -EINVAL);
        CHECK_EQ_INT(uint_parse("", 10, &v), -EINVAL);
        CHECK_EQ_INT(uint_parse("1a", 10, &v), -EINVAL);
        TEST_DONE();
}
