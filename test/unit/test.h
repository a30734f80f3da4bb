/* A minimal assertion kit for the C unit tests: each failed check prints the expression, the values
 * and the errno name, and the test's exit status is the number of failures (77 = skip). */
#ifndef SYSPRIM_TEST_H
#define SYSPRIM_TEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;

#define CHECK(expr)                                                                                  \
        do {                                                                                         \
                if (!(expr)) {                                                                       \
                        fprintf(stderr, "%s:%d: CHECK(%s) failed (errno %s)\n", __FILE__, __LINE__, #expr, \
                                strerrorname_np(errno) ? strerrorname_np(errno) : "0");              \
                        test_failures++;                                                     \
                }                                                                                    \
        } while (0)

#define CHECK_EQ_INT(actual, expected)                                                               \
        do {                                                                                         \
                long long actual_ = (long long)(actual), expected_ = (long long)(expected);          \
                if (actual_ != expected_) {                                                          \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__,  \
                                #actual, actual_, #expected, expected_);                             \
                        test_failures++;                                                     \
                }                                                                                    \
        } while (0)

#define CHECK_STREQ(actual, expected)                                                                \
        do {                                                                                         \
                const char *actual_ = (actual), *expected_ = (expected);                             \
                if (actual_ == NULL || expected_ == NULL || strcmp(actual_, expected_) != 0) {       \
                        fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__,    \
                                #actual, actual_ ? actual_ : "(null)", expected_ ? expected_ : "(null)"); \
                        test_failures++;                                                     \
                }                                                                                    \
        } while (0)

#define TEST_SKIP(reason)                                                                            \
        do {                                                                                         \
                printf("SKIP: %s\n", reason);                                                        \
                exit(77);                                                                            \
        } while (0)

#define TEST_DONE()                                                                                  \
        do {                                                                                         \
                if (test_failures)                                                                   \
                        fprintf(stderr, "%d check(s) failed\n", test_failures);                      \
                return test_failures ? 1 : 0;                                                        \
        } while (0)

#endif
