/* The applet registry: what one applet is (name, summary, option table, entry point).
 * Shared module; src/main.c dispatches through the generated table. */
#ifndef SYSPRIM_APPLET_H
#define SYSPRIM_APPLET_H

#include <stddef.h>

struct opt;

/* Exit codes shared by every applet (see DESIGN.md). `run` adds 125..127 of its own. */
enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,
        EXIT_USAGE = 2,
};

struct applet {
        const char *name;        /* "alloc-bench" */
        const char *summary;     /* one line for `sysprim --help` */
        const char *usage;       /* operands after [OPTIONS], e.g. "[--] COMMAND [ARG...]"; NULL: none */
        const char *description; /* optional paragraph printed under the usage line */
        const struct opt *options; /* terminated by an entry with long_name == NULL */
        size_t config_size;      /* size of the struct the option table writes into (documentation) */
        int min_operands;        /* operands accepted after the options */
        int max_operands;        /* -1: unlimited */
        int stop_at_operand;     /* options end at the first operand (a command line follows) */
        /* Entry point: argv[0] is the applet's name. Returns the exit status. */
        int (*main)(int argc, char **argv);
};

/* The registered applets, in the order of `sysprim --help`; ends with NULL. */
extern const struct applet *const applet_table[];

/* The applet called `name`, also accepting a "sysprim-" prefix; NULL if none. */
const struct applet *applet_find(const char *name);

/* Print `sysprim --help` (the list of applets) to `out`. */
#include <stdio.h>
void applet_print_list(FILE *out);

#endif
