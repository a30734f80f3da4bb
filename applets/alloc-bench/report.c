/* alloc-bench (applet layer): medians and ratios, and the report writers (terminal table, JSON, CSV,
 * Markdown). Best values per column are marked with '*' (bold in Markdown). */
#include "bench.h"
#include "sysprim/size.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

struct cell *bench_cell(const struct bench *b, size_t workload, size_t thread, size_t allocator)
{
        return &b->cells[(workload * b->thread_count + thread) * b->allocator_count + allocator];
}

static int compare_double(const void *x, const void *y)
{
        double a = *(const double *)x, b = *(const double *)y;
        return (a > b) - (a < b);
}

static double median(double *values, size_t n)
{
        if (n == 0)
                return 0;
        qsort(values, n, sizeof(*values), compare_double);
        return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

static bool cell_ok(const struct bench *b, const struct cell *c)
{
        return b->allocators[c->allocator].status == ALLOCATOR_OK && !c->failed && c->sample_count > 0;
}

/* x's throughput against y's: the median over rounds of the ratio of their runs in the same round.
 * A round's runs are adjacent in time, so the slow and fast phases of a shared machine (seconds to
 * minutes long, and up to 1.6x apart here) cancel out; a ratio of two medians could compare a run
 * from one phase with a run from the other. Cells that ran a different number of rounds fall back
 * to the ratio of their medians. */
static double paired_ratio(const struct cell *x, const struct cell *y)
{
        size_t n = x->sample_count;
        if (n == 0 || n != y->sample_count)
                return y->mops > 0 ? x->mops / y->mops : 0;
        double v[n];
        for (size_t k = 0; k < n; k++)
                v[k] = y->samples[k].mops > 0 ? x->samples[k].mops / y->samples[k].mops : 0;
        return median(v, n);
}

void bench_summarize(struct bench *b)
{
        for (size_t i = 0; i < b->cell_count; i++) {
                struct cell *c = &b->cells[i];
                if (!cell_ok(b, c))
                        continue;
                double v[c->sample_count];
                size_t n = c->sample_count;
                for (size_t k = 0; k < n; k++)
                        v[k] = c->samples[k].mops;
                c->mops = median(v, n);
                c->mops_min = v[0];
                c->mops_max = v[n - 1];
                for (size_t k = 0; k < n; k++)
                        v[k] = (double)c->samples[k].peak_rss_bytes;
                c->peak_rss_bytes = (uint64_t)median(v, n);
                for (size_t k = 0; k < n; k++)
                        v[k] = (double)c->samples[k].live_bytes;
                c->live_bytes = (uint64_t)median(v, n);
                for (size_t k = 0; k < n; k++)
                        v[k] = (double)c->samples[k].rss_at_live_bytes;
                c->rss_at_live_bytes = (uint64_t)median(v, n);
        }
        for (size_t w = 0; w < b->workload_count; w++) {
                for (size_t t = 0; t < b->thread_count; t++) {
                        const struct cell *glibc = NULL;
                        for (size_t a = 0; a < b->allocator_count; a++) {
                                const struct cell *c = bench_cell(b, w, t, a);
                                if (b->allocators[a].kind == KIND_GLIBC && cell_ok(b, c))
                                        glibc = c;
                        }
                        for (size_t a = 0; a < b->allocator_count && glibc; a++) {
                                struct cell *c = bench_cell(b, w, t, a);
                                if (!cell_ok(b, c))
                                        continue;
                                c->ratio_glibc = paired_ratio(c, glibc);
                                c->rss_ratio_glibc =
                                        glibc->peak_rss_bytes ? (double)c->peak_rss_bytes / (double)glibc->peak_rss_bytes : 0;
                        }
                }
        }
}

/* "AMD EPYC 7B13" from /proc/cpuinfo, or "" */
static const char *cpu_model(char *buf, size_t size)
{
        buf[0] = '\0';
        FILE *f = fopen("/proc/cpuinfo", "re");
        if (f == NULL)
                return buf;
        char line[512];
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
                        const char *v = strchr(line, ':') + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        snprintf(buf, size, "%.*s", (int)strcspn(v, "\n"), v);
                        break;
                }
        }
        fclose(f);
        return buf;
}

static double spread_percent(const struct cell *c)
{
        return c->mops > 0 ? (c->mops_max - c->mops_min) / 2 / c->mops * 100 : 0;
}

static double rss_per_live(const struct cell *c)
{
        return c->live_bytes ? (double)c->rss_at_live_bytes / (double)c->live_bytes : 0;
}

/* The best measured value of a column among the allocators of one workload x thread count. */
enum column { COLUMN_MOPS, COLUMN_RSS, COLUMN_RSS_PER_LIVE };

static double column_value(const struct cell *c, enum column column)
{
        switch (column) {
        case COLUMN_MOPS:
                return c->ratio_glibc > 0 ? c->ratio_glibc : c->mops;
        case COLUMN_RSS:
                return (double)c->peak_rss_bytes;
        case COLUMN_RSS_PER_LIVE:
                return rss_per_live(c);
        }
        return 0;
}

static bool is_best(const struct bench *b, size_t w, size_t t, size_t a, enum column column)
{
        const struct cell *me = bench_cell(b, w, t, a);
        if (!cell_ok(b, me))
                return false;
        double mine = column_value(me, column);
        if (mine <= 0)
                return false;
        size_t measured = 0;
        for (size_t k = 0; k < b->allocator_count; k++) {
                const struct cell *other = bench_cell(b, w, t, k);
                if (!cell_ok(b, other))
                        continue;
                measured++;
                double theirs = column_value(other, column);
                if (column == COLUMN_MOPS ? theirs > mine : (theirs > 0 && theirs < mine))
                        return false;
        }
        return measured > 1;
}

static const char *mib(uint64_t bytes, char *buf, size_t size)
{
        snprintf(buf, size, "%.1fM", (double)bytes / (1024.0 * 1024.0));
        return buf;
}

static const char *ops_description(const struct bench *b, const struct workload_info *w, char *buf, size_t size)
{
        if (b->duration_ns)
                snprintf(buf, size, "%.3g s per run", (double)b->duration_ns / 1e9);
        else
                snprintf(buf, size, "%llu ops per %s", (unsigned long long)(b->ops ? b->ops : w->default_ops),
                         strcmp(w->name, "prodcons") == 0 ? "pair" : "thread");
        return buf;
}

static size_t name_width(const struct bench *b)
{
        size_t width = 9;
        for (size_t a = 0; a < b->allocator_count; a++)
                if (b->allocators[a].status == ALLOCATOR_OK && strlen(b->allocators[a].name) > width)
                        width = strlen(b->allocators[a].name);
        return width;
}

static void print_allocators(const struct bench *b, FILE *out)
{
        for (size_t a = 0; a < b->allocator_count; a++) {
                const struct allocator *al = &b->allocators[a];
                if (al->status == ALLOCATOR_OK)
                        fprintf(out, "  %-10s %-8s malloc served by %s\n", al->name, al->version, al->served_by);
        }
}

static void print_skipped(const struct bench *b, FILE *out)
{
        for (size_t a = 0; a < b->allocator_count; a++) {
                const struct allocator *al = &b->allocators[a];
                if (al->status != ALLOCATOR_OK)
                        fprintf(out, "%s %s: %s\n", al->status == ALLOCATOR_SKIPPED ? "skipped" : "refused", al->name,
                                al->reason);
        }
}

enum pair_placement pair_placement(const char *lane_cpus)
{
        unsigned together = 0, apart = 0;
        const char *p = lane_cpus;
        for (;;) {
                char *end;
                long producer = strtol(p, &end, 10);
                if (end == p || *end != ',')
                        break;
                p = end + 1;
                long consumer = strtol(p, &end, 10);
                if (end == p || (*end != ',' && *end != '\0'))
                        break;
                if (producer == consumer)
                        together++;
                else
                        apart++;
                if (*end == '\0')
                        break;
                p = end + 1;
        }
        if (together + apart == 0)
                return PAIRS_UNKNOWN;
        return apart == 0 ? PAIRS_TOGETHER : together == 0 ? PAIRS_APART : PAIRS_MIXED;
}

/* The rest of a Markdown table's head after its first columns: one column per allocator measured
 * (with its version when asked), then the rule line, which starts with `rule` for the first columns. */
static void markdown_allocator_columns(const struct bench *b, bool versions, const char *rule, FILE *out)
{
        for (size_t a = 0; a < b->allocator_count; a++)
                if (b->allocators[a].status == ALLOCATOR_OK)
                        fprintf(out, " %s%s%s |", b->allocators[a].name,
                                versions && b->allocators[a].version[0] ? " " : "",
                                versions ? b->allocators[a].version : "");
        fprintf(out, "\n%s", rule);
        for (size_t a = 0; a < b->allocator_count; a++)
                if (b->allocators[a].status == ALLOCATOR_OK)
                        fprintf(out, "---:|");
        fputc('\n', out);
}

/* Unpinned runs of a paired workload: where the scheduler put each producer and its consumer, per
 * allocator and thread count, since that can move a run by 5x whatever the allocator. As lines
 * under the terminal table, or as a Markdown table. */
static void print_pair_placements(const struct bench *b, size_t w, bool markdown, FILE *out)
{
        if (!b->workloads[w]->paired_lanes || b->pin)
                return;
        if (markdown) {
                fprintf(out, "\nWhere the scheduler put the pairs of the unpinned `%s` runs (runs with each producer on "
                             "its consumer's CPU / all apart / mixed):\n\n| threads |", b->workloads[w]->name);
                markdown_allocator_columns(b, false, "|---:|", out);
        } else {
                fprintf(out, "  where the pairs ran, in runs: each producer on its consumer's CPU / all apart / mixed\n");
        }
        for (size_t t = 0; t < b->thread_count; t++) {
                if (markdown)
                        fprintf(out, "| %u |", b->threads[t]);
                else
                        fprintf(out, "    %u thread%s:", b->threads[t], b->threads[t] == 1 ? "" : "s");
                for (size_t a = 0; a < b->allocator_count; a++) {
                        if (b->allocators[a].status != ALLOCATOR_OK)
                                continue;
                        const struct cell *c = bench_cell(b, w, t, a);
                        unsigned n[4] = { 0 };
                        for (size_t k = 0; k < c->sample_count; k++)
                                n[c->samples[k].placement]++;
                        if (markdown)
                                fprintf(out, " %u/%u/%u |", n[PAIRS_TOGETHER], n[PAIRS_APART], n[PAIRS_MIXED]);
                        else
                                fprintf(out, "  %s %u/%u/%u", b->allocators[a].name, n[PAIRS_TOGETHER], n[PAIRS_APART],
                                        n[PAIRS_MIXED]);
                }
                fputc('\n', out);
        }
}

void report_table(const struct bench *b, FILE *out)
{
        struct utsname u;
        uname(&u);
        char cpu[256];
        fprintf(out, "alloc-bench: %u run%s per cell (median shown, runs interleaved), seed %llu\n"
                     "  %ld CPU%s (%s), %s %s, glibc %s\n",
                b->runs, b->runs == 1 ? "" : "s", (unsigned long long)b->seed, b->cpus, b->cpus == 1 ? "" : "s",
                cpu_model(cpu, sizeof(cpu)), u.sysname, u.release, b->glibc_version);
        print_allocators(b, out);
        int nw = (int)name_width(b);
        for (size_t w = 0; w < b->workload_count; w++) {
                const struct workload_info *wl = b->workloads[w];
                bool live = wl->reports_live_bytes;
                char ops[64];
                fprintf(out, "\n%s: %s\n  (%s; one op = %s)\n", wl->name, wl->stresses,
                        ops_description(b, wl, ops, sizeof(ops)), wl->operation);
                int group = live ? 44 : 35; /* width of one thread count's columns */
                fprintf(out, "%-*s", nw, "");
                for (size_t t = 0; t < b->thread_count; t++) {
                        char title[48];
                        int n = snprintf(title, sizeof(title), " %u thread%s ", b->threads[t], b->threads[t] == 1 ? "" : "s");
                        int left = (group - 2 - n) / 2, right = group - 2 - n - left;
                        fputs("  ", out);
                        for (int k = 0; k < left; k++)
                                fputc('-', out);
                        fputs(title, out);
                        for (int k = 0; k < right; k++)
                                fputc('-', out);
                }
                fprintf(out, "\n%-*s", nw, "allocator");
                for (size_t t = 0; t < b->thread_count; t++)
                        fprintf(out, "  %9s %4s %8s %9s%s", b->cpu_clock ? "Mops/cpus" : "Mops/s", "+-%", "x glibc", "peak RSS",
                                live ? " RSS/live" : "");
                fputc('\n', out);
                for (size_t a = 0; a < b->allocator_count; a++) {
                        if (b->allocators[a].status != ALLOCATOR_OK)
                                continue;
                        fprintf(out, "%-*s", nw, b->allocators[a].name);
                        for (size_t t = 0; t < b->thread_count; t++) {
                                const struct cell *c = bench_cell(b, w, t, a);
                                if (!cell_ok(b, c)) {
                                        fprintf(out, "  %-*s", group - 2, "failed");
                                        continue;
                                }
                                char mops[48], ratio[48], rss[48], rssbuf[32], eff[48];
                                /* The best mark goes on the ratio, the paired measure (see paired_ratio),
                                 * or on Mops/s when glibc was not measured. */
                                const char *mark = is_best(b, w, t, a, COLUMN_MOPS) ? "*" : " ";
                                snprintf(mops, sizeof(mops), c->mops >= 1 ? "%.2f%s" : "%.4f%s", c->mops,
                                         c->ratio_glibc > 0 ? " " : mark);
                                if (c->ratio_glibc > 0)
                                        snprintf(ratio, sizeof(ratio), "%.2fx%s", c->ratio_glibc, mark);
                                else
                                        snprintf(ratio, sizeof(ratio), "-");
                                snprintf(rss, sizeof(rss), "%s%s", mib(c->peak_rss_bytes, rssbuf, sizeof(rssbuf)),
                                         is_best(b, w, t, a, COLUMN_RSS) ? "*" : " ");
                                fprintf(out, "  %9s %4.0f %8s %9s", mops, spread_percent(c), ratio, rss);
                                if (live) {
                                        snprintf(eff, sizeof(eff), "%.2f%s", rss_per_live(c),
                                                 is_best(b, w, t, a, COLUMN_RSS_PER_LIVE) ? "*" : " ");
                                        fprintf(out, " %8s", eff);
                                }
                        }
                        fputc('\n', out);
                }
                print_pair_placements(b, w, false, out);
        }
        fputc('\n', out);
        if (b->cpu_clock)
                fprintf(out, "Mops/cpus = operations per CPU-second of all threads (--clock cpu): time spent "
                             "waiting is not counted.\n");
        if (b->placement[0])
                fprintf(out, "--placement %s: thread i ran only on the usable CPU at position i (mod its length) "
                             "of the list, for every allocator.\n", b->placement);
        else if (b->pin)
                fprintf(out, "--pin: thread i ran on the i-th usable CPU only (round robin), for every allocator.\n");
        fprintf(out, "* best in its column. +-%% = half the range of the runs around the median. x glibc = the median "
                     "of the ratios of runs in the same round.\n"
                     "peak RSS = VmHWM of the worker process; RSS/live = RSS growth at peak live data / bytes live.\n");
        print_skipped(b, out);
}

/* ---- JSON */

static void json_string(FILE *out, const char *s)
{
        fputc('"', out);
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;
                if (ch == '"' || ch == '\\')
                        fprintf(out, "\\%c", ch);
                else if (ch < 0x20)
                        fprintf(out, "\\u%04x", ch);
                else
                        fputc(ch, out);
        }
        fputc('"', out);
}

static void json_number(FILE *out, double value)
{
        if (isfinite(value) && value > 0)
                fprintf(out, "%.6g", value);
        else
                fputs("null", out);
}

static const char *status_name(enum allocator_status s)
{
        return s == ALLOCATOR_OK ? "ok" : s == ALLOCATOR_SKIPPED ? "skipped" : "refused";
}

void report_json(const struct bench *b, FILE *out)
{
        struct utsname u;
        uname(&u);
        char cpu[256];
        fprintf(out, "{\n  \"tool\": \"sysprim alloc-bench\",\n  \"machine\": {\"cpus\": %ld, \"cpu\": ", b->cpus);
        json_string(out, cpu_model(cpu, sizeof(cpu)));
        fprintf(out, ", \"kernel\": ");
        json_string(out, u.release);
        fprintf(out, ", \"glibc\": ");
        json_string(out, b->glibc_version);
        fprintf(out, "},\n  \"config\": {\"runs\": %u, \"seed\": %llu, \"ops\": %llu, \"duration_s\": %.6g, "
                     "\"clock\": \"%s\", \"pin\": %s, \"placement\": \"%s\", \"threads\": [",
                b->runs, (unsigned long long)b->seed, (unsigned long long)b->ops, (double)b->duration_ns / 1e9,
                b->cpu_clock ? "cpu" : "wall", b->pin ? "true" : "false", b->placement);
        for (size_t t = 0; t < b->thread_count; t++)
                fprintf(out, "%s%u", t ? ", " : "", b->threads[t]);
        fprintf(out, "]},\n  \"allocators\": [\n");
        for (size_t a = 0; a < b->allocator_count; a++) {
                const struct allocator *al = &b->allocators[a];
                fprintf(out, "    {\"name\": ");
                json_string(out, al->name);
                fprintf(out, ", \"status\": \"%s\", \"library\": ", status_name(al->status));
                json_string(out, al->kind == KIND_GLIBC ? "" : al->library);
                fprintf(out, ", \"served_by\": ");
                json_string(out, al->served_by);
                fprintf(out, ", \"version\": ");
                json_string(out, al->version);
                fprintf(out, ", \"package\": ");
                json_string(out, al->package ? al->package : "");
                fprintf(out, ", \"reason\": ");
                json_string(out, al->reason);
                fprintf(out, "}%s\n", a + 1 < b->allocator_count ? "," : "");
        }
        fprintf(out, "  ],\n  \"results\": [\n");
        bool first = true;
        for (size_t w = 0; w < b->workload_count; w++)
                for (size_t t = 0; t < b->thread_count; t++)
                        for (size_t a = 0; a < b->allocator_count; a++) {
                                const struct cell *c = bench_cell(b, w, t, a);
                                const struct allocator *al = &b->allocators[a];
                                if (al->status != ALLOCATOR_OK)
                                        continue;
                                fprintf(out, "%s    {\"workload\": \"%s\", \"threads\": %u, \"allocator\": ", first ? "" : ",\n",
                                        c->workload->name, c->threads);
                                first = false;
                                json_string(out, al->name);
                                fprintf(out, ", \"identity\": ");
                                json_string(out, al->served_by);
                                if (!cell_ok(b, c)) {
                                        fprintf(out, ", \"status\": \"failed\", \"error\": ");
                                        json_string(out, c->error);
                                        fprintf(out, "}");
                                        continue;
                                }
                                fprintf(out, ", \"status\": \"ok\", \"ops_per_thread\": %llu, \"mops\": ",
                                        (unsigned long long)(b->duration_ns ? 0 : b->ops ? b->ops : c->workload->default_ops));
                                json_number(out, c->mops);
                                fprintf(out, ", \"mops_min\": ");
                                json_number(out, c->mops_min);
                                fprintf(out, ", \"mops_max\": ");
                                json_number(out, c->mops_max);
                                fprintf(out, ", \"ratio_glibc\": ");
                                json_number(out, c->ratio_glibc);
                                fprintf(out, ", \"peak_rss_bytes\": %llu, \"rss_ratio_glibc\": ",
                                        (unsigned long long)c->peak_rss_bytes);
                                json_number(out, c->rss_ratio_glibc);
                                if (c->workload->reports_live_bytes) {
                                        fprintf(out, ", \"live_bytes\": %llu, \"rss_at_live_bytes\": %llu, \"rss_per_live\": ",
                                                (unsigned long long)c->live_bytes, (unsigned long long)c->rss_at_live_bytes);
                                        json_number(out, rss_per_live(c));
                                }
                                fprintf(out, ", \"runs\": [");
                                for (size_t k = 0; k < c->sample_count; k++) {
                                        const struct sample *s = &c->samples[k];
                                        static const char *const placements[] = { "unknown", "together", "apart",
                                                                                  "mixed" };
                                        fprintf(out,
                                                "%s{\"ops\": %llu, \"seconds\": %.9f, \"cpu_seconds\": %.9f, \"mops\": %.9g, "
                                                "\"process_cpu_seconds\": %.6f, \"peak_rss_bytes\": %llu, \"lane_cpus\": ",
                                                k ? ", " : "", (unsigned long long)s->ops, s->seconds, s->cpu_seconds, s->mops,
                                                s->process_cpu_seconds,
                                                (unsigned long long)s->peak_rss_bytes);
                                        json_string(out, s->lane_cpus);
                                        if (c->workload->paired_lanes)
                                                fprintf(out, ", \"pairs\": \"%s\"", placements[s->placement]);
                                        fputc('}', out);
                                }
                                fprintf(out, "]}");
                        }
        fprintf(out, "\n  ]\n}\n");
}

/* ---- CSV */

static void csv_field(FILE *out, const char *s)
{
        if (strpbrk(s, ",\"\n") == NULL) {
                fputs(s, out);
                return;
        }
        fputc('"', out);
        for (; *s; s++) {
                if (*s == '"')
                        fputc('"', out);
                fputc(*s, out);
        }
        fputc('"', out);
}

void report_csv(const struct bench *b, FILE *out)
{
        fprintf(out, "workload,threads,allocator,version,library,status,mops,mops_min,mops_max,ratio_glibc,"
                     "peak_rss_bytes,rss_ratio_glibc,live_bytes,rss_at_live_bytes,runs\n");
        for (size_t w = 0; w < b->workload_count; w++)
                for (size_t t = 0; t < b->thread_count; t++)
                        for (size_t a = 0; a < b->allocator_count; a++) {
                                const struct cell *c = bench_cell(b, w, t, a);
                                const struct allocator *al = &b->allocators[a];
                                fprintf(out, "%s,%u,", c->workload->name, c->threads);
                                csv_field(out, al->name);
                                fputc(',', out);
                                csv_field(out, al->version);
                                fputc(',', out);
                                csv_field(out, al->served_by);
                                if (!cell_ok(b, c)) {
                                        fprintf(out, ",%s,,,,,,,,,%zu\n",
                                                al->status == ALLOCATOR_OK ? "failed" : status_name(al->status),
                                                c->sample_count);
                                        continue;
                                }
                                fprintf(out, ",ok,%.4f,%.4f,%.4f,%.4f,%llu,%.4f,%llu,%llu,%zu\n", c->mops, c->mops_min,
                                        c->mops_max, c->ratio_glibc, (unsigned long long)c->peak_rss_bytes,
                                        c->rss_ratio_glibc, (unsigned long long)c->live_bytes,
                                        (unsigned long long)c->rss_at_live_bytes, c->sample_count);
                        }
}

/* ---- Markdown: one table of throughput (ratio to glibc and Mops/s), one of memory. */

static size_t allocator_index(const struct bench *b, const char *name)
{
        for (size_t a = 0; a < b->allocator_count; a++)
                if (b->allocators[a].status == ALLOCATOR_OK && strcmp(b->allocators[a].name, name) == 0)
                        return a;
        return SIZE_MAX;
}

/* sysprim's own allocator against the field: throughput against glibc and against the fastest other
 * allocator of the same cell, peak RSS (and RSS/live) against mimalloc's. */
static void report_markdown_builtin(const struct bench *b, FILE *out)
{
        size_t self = allocator_index(b, "builtin"), mi = allocator_index(b, "mimalloc");
        if (self == SIZE_MAX)
                return;
        fprintf(out, "\nThe built-in allocator against the field (throughput: the median of its per-round ratios to "
                     "each other allocator, against the one it fares worst against; RSS ratio, lower is leaner):\n\n"
                     "| workload | threads | vs glibc | vs best other | best other | peak RSS vs mimalloc |\n"
                     "|---|---:|---:|---:|---|---:|\n");
        for (size_t w = 0; w < b->workload_count; w++)
                for (size_t t = 0; t < b->thread_count; t++) {
                        const struct cell *c = bench_cell(b, w, t, self);
                        if (!cell_ok(b, c))
                                continue;
                        /* The other allocator this one fares worst against, round by round. */
                        const struct cell *best = NULL;
                        double vs_best = 0;
                        for (size_t a = 0; a < b->allocator_count; a++) {
                                const struct cell *o = bench_cell(b, w, t, a);
                                if (a == self || !cell_ok(b, o))
                                        continue;
                                double r = paired_ratio(c, o);
                                if (best == NULL || r < vs_best) {
                                        best = o;
                                        vs_best = r;
                                }
                        }
                        fprintf(out, "| %s | %u | ", b->workloads[w]->name, b->threads[t]);
                        if (c->ratio_glibc > 0)
                                fprintf(out, "%.2fx | ", c->ratio_glibc);
                        else
                                fprintf(out, "- | ");
                        if (best)
                                fprintf(out, "%.2fx | %s | ", vs_best, b->allocators[best->allocator].name);
                        else
                                fprintf(out, "- | - | ");
                        const struct cell *m = mi != SIZE_MAX ? bench_cell(b, w, t, mi) : NULL;
                        if (m && cell_ok(b, m) && m->peak_rss_bytes) {
                                fprintf(out, "%.2fx", (double)c->peak_rss_bytes / (double)m->peak_rss_bytes);
                                if (b->workloads[w]->reports_live_bytes && rss_per_live(m) > 0)
                                        fprintf(out, " (RSS/live %.2fx)", rss_per_live(c) / rss_per_live(m));
                        } else {
                                fprintf(out, "-");
                        }
                        fprintf(out, " |\n");
                }
}

void report_markdown(const struct bench *b, FILE *out)
{
        char placement[sizeof(b->placement) + 64];
        const char *pinned = b->pin ? "; threads pinned round robin to the usable CPUs, --pin" : "";
        if (b->placement[0]) {
                snprintf(placement, sizeof(placement), "; threads pinned with --placement %s", b->placement);
                pinned = placement;
        }
        fprintf(out, "Throughput, ratio to glibc (the median of the ratios of runs in the same round; %s, the "
                     "median, in brackets; %u interleaved rounds%s; best in bold):\n\n",
                b->cpu_clock ? "million operations per CPU-second" : "Mops/s", b->runs, pinned);
        fprintf(out, "| workload | threads |");
        markdown_allocator_columns(b, true, "|---|---:|", out);
        for (size_t w = 0; w < b->workload_count; w++)
                for (size_t t = 0; t < b->thread_count; t++) {
                        fprintf(out, "| %s | %u |", b->workloads[w]->name, b->threads[t]);
                        for (size_t a = 0; a < b->allocator_count; a++) {
                                if (b->allocators[a].status != ALLOCATOR_OK)
                                        continue;
                                const struct cell *c = bench_cell(b, w, t, a);
                                if (!cell_ok(b, c)) {
                                        fprintf(out, " failed |");
                                        continue;
                                }
                                const char *bold = is_best(b, w, t, a, COLUMN_MOPS) ? "**" : "";
                                if (c->ratio_glibc > 0)
                                        fprintf(out, " %s%.2fx%s (%.3g) |", bold, c->ratio_glibc, bold, c->mops);
                                else
                                        fprintf(out, " %s%.3g%s |", bold, c->mops, bold);
                        }
                        fputc('\n', out);
                }
        fprintf(out, "\nPeak RSS of the worker in MiB (fragment: RSS growth / live bytes at its peak; lowest in "
                     "bold):\n\n| workload | threads |");
        markdown_allocator_columns(b, false, "|---|---:|", out);
        for (size_t w = 0; w < b->workload_count; w++)
                for (size_t t = 0; t < b->thread_count; t++) {
                        bool live = b->workloads[w]->reports_live_bytes;
                        fprintf(out, "| %s | %u |", b->workloads[w]->name, b->threads[t]);
                        for (size_t a = 0; a < b->allocator_count; a++) {
                                if (b->allocators[a].status != ALLOCATOR_OK)
                                        continue;
                                const struct cell *c = bench_cell(b, w, t, a);
                                if (!cell_ok(b, c)) {
                                        fprintf(out, " failed |");
                                        continue;
                                }
                                const char *bold = is_best(b, w, t, a, COLUMN_RSS) ? "**" : "";
                                fprintf(out, " %s%.1f%s", bold, (double)c->peak_rss_bytes / 1048576.0, bold);
                                if (live) {
                                        const char *bold_live = is_best(b, w, t, a, COLUMN_RSS_PER_LIVE) ? "**" : "";
                                        fprintf(out, " (%s%.2f%s)", bold_live, rss_per_live(c), bold_live);
                                }
                                fprintf(out, " |");
                        }
                        fputc('\n', out);
                }
        report_markdown_builtin(b, out);
        for (size_t w = 0; w < b->workload_count; w++)
                print_pair_placements(b, w, true, out);
        bool any_skipped = false;
        for (size_t a = 0; a < b->allocator_count; a++)
                any_skipped |= b->allocators[a].status != ALLOCATOR_OK;
        if (any_skipped) {
                fputc('\n', out);
                for (size_t a = 0; a < b->allocator_count; a++)
                        if (b->allocators[a].status != ALLOCATOR_OK)
                                fprintf(out, "- %s %s: %s\n", status_name(b->allocators[a].status), b->allocators[a].name,
                                        b->allocators[a].reason);
        }
}
