/* Unit tests of src/opt.c: every option type, usage errors that name option and value, built-in
 * -h/-q/-v, operand counts, and the generated --help. */
#include "sysprim/applet.h"
#include "sysprim/log.h"
#include "sysprim/opt.h"
#include "capture.h"
#include "test.h"

#include <stddef.h>
#include <stdint.h>

struct fixture_config {
        int flag;
        int listing;
        const char *name;
        long long port;
        uint64_t mem;
        uint64_t timeout;
        double cpus;
        struct opt_list volumes;
        int parity;
        uint64_t wait;
        int list, listen;
};

static int parse_parity(const char *arg, void *field)
{
        if (strcmp(arg, "even") == 0)
                *(int *)field = 2;
        else if (strcmp(arg, "odd") == 0)
                *(int *)field = 1;
        else
                return -EINVAL;
        return 0;
}

static const struct opt fixture_options[] = {
        { "flag", 'f', NULL, OPT_FLAG, offsetof(struct fixture_config, flag), .help = "a flag" },
        { "listing", 0, NULL, OPT_BOOL, offsetof(struct fixture_config, listing), .help = "a bool" },
        { "name", 'n', "NAME", OPT_STRING, offsetof(struct fixture_config, name), .help = "a string" },
        { "port", 'p', "PORT", OPT_INT, offsetof(struct fixture_config, port), 1, 65535, .help = "a port" },
        { "mem", 'm', "SIZE", OPT_SIZE, offsetof(struct fixture_config, mem), .help = "a size" },
        { "timeout", 0, "DURATION", OPT_DURATION, offsetof(struct fixture_config, timeout), .help = "a time" },
        { "wait", 0, "DURATION", OPT_DURATION, offsetof(struct fixture_config, wait), 1000000, 3600000000000LL,
          .help = "a time in a range" },
        { "list", 0, NULL, OPT_FLAG, offsetof(struct fixture_config, list), .help = "a flag with a long name" },
        { "listen", 0, NULL, OPT_FLAG, offsetof(struct fixture_config, listen), .help = "another" },
        { "cpus", 0, "N", OPT_DOUBLE, offsetof(struct fixture_config, cpus), .dmin = 0.01, .dmax = 64,
          .help = "a number" },
        { "volume", 'v', "HOST:DIR", OPT_LIST, offsetof(struct fixture_config, volumes), .help = "repeatable" },
        { "parity", 0, "even|odd", OPT_CALLBACK, offsetof(struct fixture_config, parity), .parse = parse_parity,
          .help = "custom syntax" },
        { 0 },
};

static int fixture_main(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        return 0;
}

static const struct applet fixture = {
        .name = "fixture",
        .summary = "An applet that exists only in this test",
        .usage = "[--] COMMAND [ARG...]",
        .options = fixture_options,
        .min_operands = 0,
        .max_operands = -1,
        .stop_at_operand = 1,
        .main = fixture_main,
};

static enum opt_result parse(struct fixture_config *config, const char **words, int *first, const char **errors)
{
        static struct capture cap;
        char *argv[32];
        int argc = 0;
        argv[argc++] = (char *)"fixture";
        for (; words[argc - 1]; argc++)
                argv[argc] = (char *)words[argc - 1];
        argv[argc] = NULL;
        memset(config, 0, sizeof(*config));
        capture_begin(&cap, 2);
        enum opt_result r = opt_parse(&fixture, argc, argv, config, first);
        *errors = capture_end(&cap);
        return r;
}

#define WORDS(...) ((const char *[]){ __VA_ARGS__, NULL })

int main(void)
{
        struct fixture_config c;
        const char *errors;
        int first = -1;
        log_set_applet("fixture");

        CHECK_EQ_INT(parse(&c, WORDS("-f", "--listing", "-n", "x", "--port=8080", "-m", "100M", "--timeout", "250ms",
                                     "--cpus", "1.5", "-v", "a:b", "--volume", "c:d", "--parity", "odd", "cmd", "-x"),
                           &first, &errors),
                     OPT_OK);
        CHECK_EQ_INT(c.flag, 1);
        CHECK_EQ_INT(c.listing, 1);
        CHECK_STREQ(c.name, "x");
        CHECK_EQ_INT(c.port, 8080);
        CHECK_EQ_INT(c.mem, 100 << 20);
        CHECK_EQ_INT(c.timeout, 250000000);
        CHECK(c.cpus == 1.5);
        CHECK_EQ_INT(c.volumes.count, 2);
        CHECK_STREQ(c.volumes.items[1], "c:d");
        CHECK_EQ_INT(c.parity, 1);
        CHECK_EQ_INT(first, 18); /* "cmd": options stop at the first operand, "-x" is the command's */
        CHECK_STREQ(errors, "");
        opt_free(&fixture, &c);
        CHECK(c.volumes.items == NULL);

        /* A repeatable option given 1,000 times keeps every value in order (its array grows by
         * doubling, across each boundary). */
        {
                enum { N = 1000 };
                static char *many[2 * N + 2];
                static char values[N][8];
                many[0] = (char *)"fixture";
                for (int i = 0; i < N; i++) {
                        snprintf(values[i], sizeof(values[i]), "v%d", i);
                        many[1 + 2 * i] = (char *)"-v";
                        many[2 + 2 * i] = values[i];
                }
                memset(&c, 0, sizeof(c));
                CHECK_EQ_INT(opt_parse(&fixture, 2 * N + 1, many, &c, &first), OPT_OK);
                CHECK_EQ_INT(c.volumes.count, N);
                int wrong = 0;
                for (int i = 0; i < N && (size_t)i < c.volumes.count; i++)
                        wrong += strcmp(c.volumes.items[i], values[i]) != 0;
                CHECK_EQ_INT(wrong, 0);
                opt_free(&fixture, &c);
        }

        CHECK_EQ_INT(parse(&c, WORDS("--listing", "--no-listing"), &first, &errors), OPT_OK);
        CHECK_EQ_INT(c.listing, 0);

        /* A duration with a range: both ends accepted, beyond them an error that names the range. */
        CHECK_EQ_INT(parse(&c, WORDS("--wait", "1ms"), &first, &errors), OPT_OK);
        CHECK_EQ_INT(c.wait, 1000000);
        CHECK_EQ_INT(parse(&c, WORDS("--wait", "1h"), &first, &errors), OPT_OK);
        CHECK_EQ_INT(parse(&c, WORDS("--wait", "61m"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "--wait: invalid value '61m' (expected a duration from 1ms to 1h)") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("--wait", "999us"), &first, &errors), OPT_ERROR);
        CHECK_EQ_INT(parse(&c, WORDS("--wait", "18446744073709551615ns"), &first, &errors), OPT_ERROR);
        /* Without a range any duration that fits is taken. */
        CHECK_EQ_INT(parse(&c, WORDS("--timeout", "9999h"), &first, &errors), OPT_OK);

        /* An integer is digits with an optional minus: no blanks, no plus (as uint_parse). */
        CHECK_EQ_INT(parse(&c, WORDS("--port", " 80"), &first, &errors), OPT_ERROR);
        CHECK_EQ_INT(parse(&c, WORDS("--port", "+80"), &first, &errors), OPT_ERROR);
        CHECK_EQ_INT(parse(&c, WORDS("--port", "80 "), &first, &errors), OPT_ERROR);

        /* An abbreviation of two options, and a value given to a flag, are named as such. */
        CHECK_EQ_INT(parse(&c, WORDS("--lis"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "option '--lis' is ambiguous") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("--list=1"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "option '--list' takes no value") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("--no-listing=0"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "option '--no-listing' takes no value") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("--listx"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "unknown option '--listx'") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("--list"), &first, &errors), OPT_OK);
        CHECK_EQ_INT(c.list, 1);

        /* Usage errors name the option and the bad value, and hint at --help. */
        CHECK_EQ_INT(parse(&c, WORDS("--port", "70000"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "sysprim fixture: --port: invalid value '70000'") != NULL);
        CHECK(strstr(errors, "1 to 65535") != NULL);
        CHECK(strstr(errors, "try 'sysprim fixture --help'") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("--port", "80x"), &first, &errors), OPT_ERROR);
        CHECK_EQ_INT(parse(&c, WORDS("--port", ""), &first, &errors), OPT_ERROR);
        CHECK_EQ_INT(parse(&c, WORDS("-m", "12Q"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "--mem: invalid value '12Q'") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("-m", "-1"), &first, &errors), OPT_ERROR);
        CHECK_EQ_INT(parse(&c, WORDS("-m", "18446744073709551616"), &first, &errors), OPT_ERROR);
        CHECK_EQ_INT(parse(&c, WORDS("--timeout", "soon"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "--timeout: invalid value 'soon'") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("--cpus", "0"), &first, &errors), OPT_ERROR);
        CHECK_EQ_INT(parse(&c, WORDS("--cpus", "nan"), &first, &errors), OPT_ERROR);
        CHECK_EQ_INT(parse(&c, WORDS("--parity", "maybe"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "--parity: invalid value 'maybe'") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("--nosuch"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "unknown option '--nosuch'") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("-z"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "unknown option '-z'") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("--port"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "'--port' needs a value") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("-n"), &first, &errors), OPT_ERROR);
        CHECK(strstr(errors, "'-n' needs a value") != NULL);
        CHECK_EQ_INT(parse(&c, WORDS("--flag=1"), &first, &errors), OPT_ERROR);

        /* Built-ins: -q/--verbose adjust the level; -v belongs to the table here, so only --verbose. */
        log_set_level(LOG_WARN);
        CHECK_EQ_INT(parse(&c, WORDS("-q"), &first, &errors), OPT_OK);
        CHECK_EQ_INT(log_get_level(), LOG_ERROR);
        CHECK_EQ_INT(parse(&c, WORDS("--verbose", "--verbose", "--verbose"), &first, &errors), OPT_OK);
        CHECK_EQ_INT(log_get_level(), LOG_DEBUG);
        log_set_level(LOG_WARN);

        /* --help: generated from the table, every line within 80 columns. */
        struct capture out;
        capture_begin(&out, 1);
        enum opt_result r = parse(&c, WORDS("--help"), &first, &errors);
        const char *help = capture_end(&out);
        CHECK_EQ_INT(r, OPT_EXIT);
        CHECK(strstr(help, "Usage: sysprim fixture [OPTIONS] [--] COMMAND [ARG...]") != NULL);
        CHECK(strstr(help, "  -p, --port PORT") != NULL);
        CHECK(strstr(help, "--[no-]listing") != NULL);
        CHECK(strstr(help, "  -h, --help") != NULL);
        CHECK(strstr(help, "      --verbose") != NULL);
        for (const char *line = help; *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t)(end - line) : strlen(line);
                if (len > 80) {
                        fprintf(stderr, "help line over 80 columns: %.*s\n", (int)len, line);
                        test_failures++;
                }
                line += len + (end ? 1 : 0);
        }

        /* Operand counts. */
        struct fixture_config c2;
        memset(&c2, 0, sizeof(c2));
        struct applet strict = fixture;
        strict.min_operands = 1;
        strict.max_operands = 1;
        strict.stop_at_operand = 0;
        char *none[] = { (char *)"fixture", NULL };
        struct capture cap;
        capture_begin(&cap, 2);
        r = opt_parse(&strict, 1, none, &c2, &first);
        errors = capture_end(&cap);
        CHECK_EQ_INT(r, OPT_ERROR);
        CHECK(strstr(errors, "missing") != NULL);
        char *two[] = { (char *)"fixture", (char *)"a", (char *)"-f", (char *)"b", NULL };
        capture_begin(&cap, 2);
        r = opt_parse(&strict, 4, two, &c2, &first);
        errors = capture_end(&cap);
        CHECK_EQ_INT(r, OPT_ERROR);
        CHECK(strstr(errors, "unexpected argument 'b'") != NULL);
        CHECK_EQ_INT(c2.flag, 1); /* permuted: options may follow operands without stop_at_operand */
        TEST_DONE();
}
