/* Option tables: getopt_long driven by the applet's table, and the --help text generated from the
 * same table. Shared module. */
#include "sysprim/opt.h"
#include "sysprim/applet.h"
#include "sysprim/log.h"
#include "sysprim/size.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* getopt_long's `val` for an entry: its short letter, or a code above the char range. */
#define LONG_ONLY_BASE 0x1000
#define NEGATED_BASE 0x2000
#define BUILTIN_HELP 0x3001
#define BUILTIN_QUIET 0x3002
#define BUILTIN_VERBOSE 0x3003
#define HELP_COLUMN 30
#define HELP_WIDTH 80

static size_t table_length(const struct opt *table)
{
        size_t n = 0;
        while (table && table[n].long_name)
                n++;
        return n;
}

static bool table_claims_short(const struct opt *table, int letter)
{
        for (size_t i = 0; table && table[i].long_name; i++)
                if (table[i].short_name == letter)
                        return true;
        return false;
}

static bool table_claims_long(const struct opt *table, const char *name)
{
        for (size_t i = 0; table && table[i].long_name; i++)
                if (strcmp(table[i].long_name, name) == 0)
                        return true;
        return false;
}

enum opt_result opt_usage_error(const struct applet *applet, const char *fmt, ...)
{
        char message[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        log_error("%s", message);
        log_error("try 'sysprim %s --help' for more information", applet->name);
        return OPT_ERROR;
}

static const char *describe_range(const struct opt *o, char *buf, size_t size)
{
        char low[32], high[32];
        buf[0] = '\0';
        switch (o->type) {
        case OPT_INT:
                if (o->min || o->max)
                        snprintf(buf, size, " (expected an integer from %lld to %lld)", o->min, o->max);
                else
                        snprintf(buf, size, " (expected an integer)");
                break;
        case OPT_SIZE:
                if (o->min || o->max)
                        snprintf(buf, size, " (expected a size from %s to %s, e.g. 100M)",
                                 size_format((uint64_t)o->min, low, sizeof(low)),
                                 size_format((uint64_t)o->max, high, sizeof(high)));
                else
                        snprintf(buf, size, " (expected a size such as 4096, 64K, 100M, 2G)");
                break;
        case OPT_DURATION:
                if (o->min || o->max)
                        snprintf(buf, size, " (expected a duration from %s to %s)",
                                 duration_format((uint64_t)o->min, low, sizeof(low)),
                                 duration_format((uint64_t)o->max, high, sizeof(high)));
                else
                        snprintf(buf, size, " (expected a duration such as 30s, 250ms, 2m)");
                break;
        case OPT_DOUBLE:
                if (o->dmin != 0 || o->dmax != 0)
                        snprintf(buf, size, " (expected a number from %g to %g)", o->dmin, o->dmax);
                else
                        snprintf(buf, size, " (expected a number)");
                break;
        default:
                break;
        }
        return buf;
}

/* getopt_long's '?' for a long option: unknown, an abbreviation of several, or a value given to an
 * option that takes none. Names which, for a clearer message than "unknown". */
static enum opt_result long_option_error(const struct applet *applet, const struct option *longopts, size_t count,
                                         const char *word)
{
        const char *name = word + 2;
        size_t len = strcspn(name, "=");
        const struct option *match = NULL;
        size_t matches = 0;
        for (size_t i = 0; i < count; i++) {
                if (strncmp(longopts[i].name, name, len) != 0)
                        continue;
                if (longopts[i].name[len] == '\0') { /* exact: it wins over abbreviations */
                        match = &longopts[i];
                        matches = 1;
                        break;
                }
                match = &longopts[i];
                matches++;
        }
        if (matches > 1)
                return opt_usage_error(applet, "option '--%.*s' is ambiguous (an abbreviation of %zu options)",
                                       (int)len, name, matches);
        if (matches == 1 && name[len] == '=' && match->has_arg == no_argument)
                return opt_usage_error(applet, "option '--%s' takes no value", match->name);
        return opt_usage_error(applet, "unknown option '%s'", word);
}

/* Store one option's value into the config; returns false on a malformed value. */
static bool store_value(const struct opt *o, const char *arg, void *config, bool negated)
{
        char *field = (char *)config + o->offset;
        switch (o->type) {
        case OPT_FLAG:
                *(int *)field = o->max ? (int)o->max : 1;
                return true;
        case OPT_BOOL:
                *(int *)field = negated ? 0 : 1;
                return true;
        case OPT_STRING:
                *(const char **)field = arg;
                return true;
        case OPT_INT: {
                char *end;
                errno = 0;
                /* Digits with an optional minus only: strtoll alone would take " 80" and "+80". */
                if (!isdigit((unsigned char)arg[arg[0] == '-']))
                        return false;
                long long value = strtoll(arg, &end, 10);
                if (errno || *end != '\0')
                        return false;
                if ((o->min || o->max) && (value < o->min || value > o->max))
                        return false;
                *(long long *)field = value;
                return true;
        }
        case OPT_SIZE: {
                uint64_t value;
                if (size_parse(arg, &value) < 0)
                        return false;
                if ((o->min || o->max) && (value < (uint64_t)o->min || value > (uint64_t)o->max))
                        return false;
                *(uint64_t *)field = value;
                return true;
        }
        case OPT_DURATION: {
                uint64_t value;
                if (duration_parse(arg, &value) < 0)
                        return false;
                if ((o->min || o->max) && (value < (uint64_t)o->min || value > (uint64_t)o->max))
                        return false;
                *(uint64_t *)field = value;
                return true;
        }
        case OPT_DOUBLE: {
                char *end;
                errno = 0;
                double value = strtod(arg, &end);
                if (errno || end == arg || *end != '\0' || value != value)
                        return false;
                if ((o->dmin != 0 || o->dmax != 0) && (value < o->dmin || value > o->dmax))
                        return false;
                *(double *)field = value;
                return true;
        }
        case OPT_LIST: {
                struct opt_list *list = (struct opt_list *)field;
                /* Room for 4, then doubled whenever full (at a power of two): one realloc per
                 * option made 200,000 -e options quadratic where realloc copies. */
                size_t count = list->count;
                if (count < 4 ? count == 0 : (count & (count - 1)) == 0) {
                        size_t room = count < 4 ? 4 : count * 2;
                        const char **grown = reallocarray(list->items, room, sizeof(*grown));
                        if (grown == NULL)
                                return false;
                        list->items = grown;
                }
                list->items[list->count++] = arg;
                return true;
        }
        case OPT_CALLBACK:
                return o->parse && o->parse(arg, field) == 0;
        }
        return false;
}

static bool takes_argument(const struct opt *o)
{
        return o->type != OPT_FLAG && o->type != OPT_BOOL;
}

enum opt_result opt_parse(const struct applet *applet, int argc, char **argv, void *config,
                          int *first_operand)
{
        const struct opt *table = applet->options;
        size_t n = table_length(table);
        /* Each entry may need a negated twin, plus three built-ins and the terminator. */
        struct option *longopts = calloc(2 * n + 4, sizeof(*longopts));
        char *shortopts = malloc(3 * n + 16);
        char (*negated_names)[64] = calloc(n + 1, sizeof(*negated_names));
        if (longopts == NULL || shortopts == NULL || negated_names == NULL) {
                free(longopts);
                free(shortopts);
                free(negated_names);
                log_error("out of memory");
                return OPT_ERROR;
        }
        size_t nl = 0, ns = 0;
        /* '+': a command line follows the first operand; otherwise GNU permutation. ':' reports a
         * missing value distinctly from an unknown option. */
        if (applet->stop_at_operand)
                shortopts[ns++] = '+';
        shortopts[ns++] = ':';
        for (size_t i = 0; i < n; i++) {
                const struct opt *o = &table[i];
                int val = o->short_name ? o->short_name : LONG_ONLY_BASE + (int)i;
                longopts[nl++] = (struct option){ o->long_name, takes_argument(o) ? required_argument : no_argument,
                                                  NULL, val };
                if (o->type == OPT_BOOL) {
                        snprintf(negated_names[i], sizeof(negated_names[i]), "no-%s", o->long_name);
                        longopts[nl++] = (struct option){ negated_names[i], no_argument, NULL,
                                                          NEGATED_BASE + (int)i };
                }
                if (o->short_name) {
                        shortopts[ns++] = (char)o->short_name;
                        if (takes_argument(o))
                                shortopts[ns++] = ':';
                }
        }
        if (!table_claims_long(table, "help"))
                longopts[nl++] = (struct option){ "help", no_argument, NULL, BUILTIN_HELP };
        if (!table_claims_long(table, "quiet"))
                longopts[nl++] = (struct option){ "quiet", no_argument, NULL, BUILTIN_QUIET };
        if (!table_claims_long(table, "verbose"))
                longopts[nl++] = (struct option){ "verbose", no_argument, NULL, BUILTIN_VERBOSE };
        if (!table_claims_short(table, 'h'))
                shortopts[ns++] = 'h';
        if (!table_claims_short(table, 'q'))
                shortopts[ns++] = 'q';
        if (!table_claims_short(table, 'v'))
                shortopts[ns++] = 'v';
        shortopts[ns] = '\0';

        enum opt_result result = OPT_OK;
        int c;
        optind = 0; /* full re-initialisation, so applets (and tests) may parse more than once */
        opterr = 0;
        while (result == OPT_OK && (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
                const struct opt *o = NULL;
                bool negated = false;
                if (c == '?' || c == ':') {
                        const char *word = argv[optind - 1];
                        if (c == '?' && optopt && strncmp(word, "--", 2) != 0)
                                result = opt_usage_error(applet, "unknown option '-%c'", optopt);
                        else if (c == '?')
                                result = long_option_error(applet, longopts, nl, word);
                        else if (strncmp(word, "--", 2) != 0 && optopt && optopt < 0x100)
                                result = opt_usage_error(applet, "option '-%c' needs a value", optopt);
                        else
                                result = opt_usage_error(applet, "option '%s' needs a value", word);
                        break;
                }
                if (c == 'h' && !table_claims_short(table, 'h'))
                        c = BUILTIN_HELP;
                if (c == 'q' && !table_claims_short(table, 'q'))
                        c = BUILTIN_QUIET;
                if (c == 'v' && !table_claims_short(table, 'v'))
                        c = BUILTIN_VERBOSE;
                switch (c) {
                case BUILTIN_HELP:
                        opt_print_help(applet, stdout);
                        result = OPT_EXIT;
                        continue;
                case BUILTIN_QUIET:
                        log_adjust(-1);
                        continue;
                case BUILTIN_VERBOSE:
                        log_adjust(+1);
                        continue;
                default:
                        break;
                }
                if (c >= NEGATED_BASE && c < NEGATED_BASE + (int)n) {
                        o = &table[c - NEGATED_BASE];
                        negated = true;
                } else if (c >= LONG_ONLY_BASE && c < LONG_ONLY_BASE + (int)n) {
                        o = &table[c - LONG_ONLY_BASE];
                } else {
                        for (size_t i = 0; i < n && o == NULL; i++)
                                if (table[i].short_name == c)
                                        o = &table[i];
                }
                if (o == NULL) {
                        result = opt_usage_error(applet, "unknown option '%s'", argv[optind - 1]);
                        break;
                }
                if (!store_value(o, optarg, config, negated)) {
                        char range[160];
                        result = opt_usage_error(applet, "--%s: invalid value '%s'%s", o->long_name, optarg,
                                                 describe_range(o, range, sizeof(range)));
                }
        }
        free(longopts);
        free(shortopts);
        free(negated_names);
        if (result != OPT_OK)
                return result;
        int operands = argc - optind;
        if (operands < applet->min_operands)
                return opt_usage_error(applet, "missing %s", applet->usage ? applet->usage : "operand");
        if (applet->max_operands >= 0 && operands > applet->max_operands)
                return opt_usage_error(applet, "unexpected argument '%s'", argv[optind + applet->max_operands]);
        if (first_operand)
                *first_operand = optind;
        return OPT_OK;
}

void opt_free(const struct applet *applet, void *config)
{
        for (const struct opt *o = applet->options; o && o->long_name; o++) {
                if (o->type == OPT_LIST) {
                        struct opt_list *list = (struct opt_list *)((char *)config + o->offset);
                        free(list->items);
                        list->items = NULL;
                        list->count = 0;
                }
        }
}

static void print_entry(FILE *out, int short_name, const char *left, const char *help)
{
        char column[160];
        if (short_name)
                snprintf(column, sizeof(column), "  -%c, %s", short_name, left);
        else
                snprintf(column, sizeof(column), "      %s", left);
        if (strlen(column) + 2 > HELP_COLUMN)
                fprintf(out, "%s\n%*s%s\n", column, HELP_COLUMN, "", help);
        else
                fprintf(out, "%-*s%s\n", HELP_COLUMN, column, help);
}

void opt_print_help(const struct applet *applet, FILE *out)
{
        const struct opt *table = applet->options;
        fprintf(out, "Usage: sysprim %s [OPTIONS]%s%s\n", applet->name, applet->usage ? " " : "",
                applet->usage ? applet->usage : "");
        fprintf(out, "%s.\n", applet->summary);
        if (applet->description)
                fprintf(out, "\n%s\n", applet->description);
        fprintf(out, "\nOptions:\n");
        for (size_t i = 0; table && table[i].long_name; i++) {
                const struct opt *o = &table[i];
                char left[128];
                if (o->type == OPT_BOOL)
                        snprintf(left, sizeof(left), "--[no-]%s", o->long_name);
                else if (o->metavar)
                        snprintf(left, sizeof(left), "--%s %s", o->long_name, o->metavar);
                else
                        snprintf(left, sizeof(left), "--%s", o->long_name);
                print_entry(out, o->short_name, left, o->help ? o->help : "");
        }
        if (!table_claims_long(table, "help"))
                print_entry(out, table_claims_short(table, 'h') ? 0 : 'h', "--help", "show this help and exit");
        if (!table_claims_long(table, "quiet"))
                print_entry(out, table_claims_short(table, 'q') ? 0 : 'q', "--quiet", "print errors only");
        if (!table_claims_long(table, "verbose"))
                print_entry(out, table_claims_short(table, 'v') ? 0 : 'v', "--verbose",
                            "print more; twice for debug output");
        fprintf(out, "\nSizes take K, M, G suffixes (100M), durations s, ms, m (30s).\n"
                     "SYSPRIM_LOG=error|warn|info|debug sets the log level.\n");
}
