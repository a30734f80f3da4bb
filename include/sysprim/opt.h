/* Option tables: one table per applet drives both the getopt_long parser and the generated --help.
 * Shared module. Values are stored into the applet's config struct at the entry's offset. */
#ifndef SYSPRIM_OPT_H
#define SYSPRIM_OPT_H

#include <stddef.h>
#include <stdint.h>

struct applet;

enum opt_type {
        OPT_FLAG,     /* int: set to 1 (or to `max` when max != 0) */
        OPT_BOOL,     /* int: --name sets 1, --no-name sets 0 */
        OPT_STRING,   /* const char *: the argument (points into argv) */
        OPT_INT,      /* long long, range [min, max] */
        OPT_SIZE,     /* uint64_t bytes: 100M, 1g, 4096; range [min, max] when max != 0 */
        OPT_DURATION, /* uint64_t nanoseconds: 30s, 250ms, 2m; plain number = seconds */
        OPT_DOUBLE,   /* double, range [dmin, dmax] when dmax != 0 */
        OPT_LIST,     /* struct opt_list: repeatable; each occurrence appended */
        OPT_CALLBACK, /* parse(arg, field): custom syntax; returns 0 or a negative errno */
};

/* Repeatable option values (-v A -v B); items point into argv. */
struct opt_list {
        const char **items;
        size_t count;
};

struct opt {
        const char *long_name; /* "mem" for --mem; NULL ends the table */
        int short_name;        /* 'm', or 0 */
        const char *metavar;   /* "SIZE"; NULL for flags */
        enum opt_type type;
        size_t offset;         /* offsetof(struct my_config, field) */
        long long min, max;    /* OPT_INT/OPT_SIZE range; both 0: no range */
        double dmin, dmax;     /* OPT_DOUBLE range; both 0: no range */
        int (*parse)(const char *arg, void *field); /* OPT_CALLBACK */
        const char *help;      /* one line, starts lower-case */
};

/* Outcome of opt_parse. */
enum opt_result {
        OPT_OK = 0,    /* options parsed; *first_operand is the index of the first operand */
        OPT_EXIT = 1,  /* --help was printed: exit 0 */
        OPT_ERROR = 2, /* a usage error was printed to stderr: exit 2 (EXIT_USAGE) */
};

/* Parse argv against the applet's table into `config`. Also handles the options every applet has:
 * -h/--help, -q/--quiet, -v/--verbose (short -v only if the table does not claim 'v'). Usage errors
 * name the option and the value and hint at --help. Lists are allocated; free with opt_free(). */
enum opt_result opt_parse(const struct applet *applet, int argc, char **argv, void *config,
                          int *first_operand);

/* Free what opt_parse allocated inside `config` (OPT_LIST arrays). */
void opt_free(const struct applet *applet, void *config);

/* Write the generated --help of an applet. */
#include <stdio.h>
void opt_print_help(const struct applet *applet, FILE *out);

/* A usage error in the standard form, for checks the applet does after opt_parse
 * ("sysprim run: --mem: ...", then the --help hint). Returns OPT_ERROR. */
enum opt_result opt_usage_error(const struct applet *applet, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

#endif
