/* alloc-bench (applet layer): the SVG bar chart of the ratios to glibc (throughput and peak RSS, log
 * scale, bars growing from 1x), standalone (--svg) or in a page with the table (--html). */
#include "bench.h"
#include "sysprim/err.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_WIDTH 150
#define PANEL_GAP 40
#define SPEED_WIDTH 420
#define RSS_WIDTH 260
#define BAR_HEIGHT 9
#define BAR_GAP 1
#define GROUP_GAP 12
#define TOP 92

static const char *color_of(const char *name, size_t index)
{
        static const struct {
                const char *name, *color;
        } fixed[] = { { "builtin", "#d62728" }, { "glibc", "#7f7f7f" }, { "jemalloc", "#1f77b4" },
                      { "tcmalloc", "#2ca02c" }, { "mimalloc", "#ff7f0e" } };
        static const char *const spare[] = { "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22" };
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
                if (strcmp(fixed[i].name, name) == 0)
                        return fixed[i].color;
        return spare[index % (sizeof(spare) / sizeof(spare[0]))];
}

static void xml_text(FILE *out, const char *s)
{
        for (; *s; s++) {
                switch (*s) {
                case '<': fputs("&lt;", out); break;
                case '>': fputs("&gt;", out); break;
                case '&': fputs("&amp;", out); break;
                case '"': fputs("&quot;", out); break;
                default: fputc(*s, out);
                }
        }
}

struct axis {
        double low, high; /* log2 of the ends */
        int x, width;
};

static double axis_x(const struct axis *ax, double ratio)
{
        double l = log2(ratio);
        if (l < ax->low)
                l = ax->low;
        if (l > ax->high)
                l = ax->high;
        return ax->x + (l - ax->low) / (ax->high - ax->low) * ax->width;
}

static void axis_fit(struct axis *ax, double lowest, double highest)
{
        ax->low = floor(log2(lowest > 0 ? lowest : 1));
        ax->high = ceil(log2(highest > 0 ? highest : 1));
        if (ax->low > -1)
                ax->low = -1;
        if (ax->high < 1)
                ax->high = 1;
        if (ax->low < -6)
                ax->low = -6;
        if (ax->high > 7)
                ax->high = 7;
}

static void draw_axis(FILE *out, const struct axis *ax, int top, int bottom, const char *title)
{
        fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"h\">", ax->x + ax->width / 2, TOP - 30);
        xml_text(out, title);
        fprintf(out, "</text>\n");
        for (double p = ax->low; p <= ax->high + 1e-9; p += 1) {
                double x = axis_x(ax, exp2(p));
                fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"%s\"/>\n", x, top - 4, x, bottom,
                        p == 0 ? "one" : "grid");
                char label[16];
                double r = exp2(p);
                snprintf(label, sizeof(label), r >= 1 ? "%.0fx" : "%.3gx", r);
                fprintf(out, "<text x=\"%.1f\" y=\"%d\" class=\"tick\">%s</text>\n", x, top - 8, label);
        }
}

static void write_chart(const struct bench *b, FILE *out)
{
        size_t measured = 0;
        for (size_t a = 0; a < b->allocator_count; a++)
                measured += b->allocators[a].status == ALLOCATOR_OK;
        size_t groups = b->workload_count * b->thread_count;
        int group_height = (int)measured * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP;
        int height = TOP + (int)groups * group_height + 40;
        int width = LABEL_WIDTH + SPEED_WIDTH + PANEL_GAP + RSS_WIDTH + 70;

        double lo_speed = 1, hi_speed = 1, lo_rss = 1, hi_rss = 1;
        bool any = false;
        for (size_t i = 0; i < b->cell_count; i++) {
                const struct cell *c = &b->cells[i];
                if (c->ratio_glibc > 0) {
                        any = true;
                        lo_speed = fmin(lo_speed, c->ratio_glibc);
                        hi_speed = fmax(hi_speed, c->ratio_glibc);
                }
                if (c->rss_ratio_glibc > 0) {
                        lo_rss = fmin(lo_rss, c->rss_ratio_glibc);
                        hi_rss = fmax(hi_rss, c->rss_ratio_glibc);
                }
        }
        struct axis speed = { 0, 0, LABEL_WIDTH + 10, SPEED_WIDTH };
        struct axis rss = { 0, 0, LABEL_WIDTH + 10 + SPEED_WIDTH + PANEL_GAP, RSS_WIDTH };
        axis_fit(&speed, lo_speed, hi_speed);
        axis_fit(&rss, lo_rss, hi_rss);

        fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                     "font-family=\"sans-serif\" font-size=\"11\">\n",
                width, height, width, height);
        fprintf(out, "<style>.h{font-weight:bold;text-anchor:middle}.tick{fill:#555;text-anchor:middle;font-size:10px}"
                     ".grid{stroke:#ddd}.one{stroke:#000}.g{text-anchor:end}.v{fill:#333;font-size:9px}</style>\n");
        fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
        fprintf(out, "<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">sysprim alloc-bench: ratio to glibc "
                     "(median of %u interleaved runs, %ld CPU%s)</text>\n",
                b->runs, b->cpus, b->cpus == 1 ? "" : "s");
        /* legend */
        int lx = 10;
        for (size_t a = 0; a < b->allocator_count; a++) {
                const struct allocator *al = &b->allocators[a];
                if (al->status != ALLOCATOR_OK)
                        continue;
                fprintf(out, "<rect x=\"%d\" y=\"30\" width=\"10\" height=\"10\" fill=\"%s\"/>", lx, color_of(al->name, a));
                fprintf(out, "<text x=\"%d\" y=\"39\">", lx + 14);
                xml_text(out, al->name);
                fputc(' ', out);
                xml_text(out, al->version);
                fprintf(out, "</text>\n");
                lx += 24 + 7 * (int)(strlen(al->name) + strlen(al->version));
        }
        if (!any) {
                fprintf(out, "<text x=\"10\" y=\"%d\">glibc was not measured (or nothing was): no ratios to "
                             "draw</text>\n</svg>\n",
                        TOP);
                return;
        }
        int bottom = TOP + (int)groups * group_height - GROUP_GAP + 4;
        draw_axis(out, &speed, TOP, bottom, "throughput vs glibc (higher is better)");
        draw_axis(out, &rss, TOP, bottom, "peak RSS vs glibc (lower is better)");

        int y = TOP;
        for (size_t w = 0; w < b->workload_count; w++)
                for (size_t t = 0; t < b->thread_count; t++) {
                        fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"g\">%s, %u thread%s</text>\n", LABEL_WIDTH,
                                y + group_height / 2, b->workloads[w]->name, b->threads[t], b->threads[t] == 1 ? "" : "s");
                        for (size_t a = 0; a < b->allocator_count; a++) {
                                const struct allocator *al = &b->allocators[a];
                                if (al->status != ALLOCATOR_OK)
                                        continue;
                                const struct cell *c = bench_cell(b, w, t, a);
                                const struct axis *axes[2] = { &speed, &rss };
                                double values[2] = { c->ratio_glibc, c->rss_ratio_glibc };
                                for (int k = 0; k < 2; k++) {
                                        if (values[k] <= 0) {
                                                fprintf(out, "<text x=\"%.1f\" y=\"%d\" class=\"v\">n/a</text>\n",
                                                        axis_x(axes[k], 1) + 3, y + BAR_HEIGHT - 1);
                                                continue;
                                        }
                                        double x1 = axis_x(axes[k], 1), x2 = axis_x(axes[k], values[k]);
                                        double left = fmin(x1, x2), span = fmax(fabs(x2 - x1), 1.0);
                                        fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
                                                     "<title>",
                                                left, y, span, BAR_HEIGHT, color_of(al->name, a));
                                        xml_text(out, al->name);
                                        if (k == 0)
                                                fprintf(out, ": %.2fx glibc, %.2f Mops/s</title></rect>\n", values[k], c->mops);
                                        else
                                                fprintf(out, ": %.2fx glibc, %.1f MiB</title></rect>\n", values[k],
                                                        (double)c->peak_rss_bytes / 1048576.0);
                                        fprintf(out, "<text x=\"%.1f\" y=\"%d\" class=\"v\">%.2f</text>\n",
                                                fmax(x1, x2) + 3, y + BAR_HEIGHT - 1, values[k]);
                                }
                                y += BAR_HEIGHT + BAR_GAP;
                        }
                        y += GROUP_GAP;
                }
        fprintf(out, "</svg>\n");
}

static int write_file(const struct bench *b, const char *path, bool html, struct err *e)
{
        FILE *out = fopen(path, "w");
        if (out == NULL)
                return err_set(e, errno, "cannot write %s", path);
        if (html) {
                fprintf(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>sysprim alloc-bench</title>"
                             "</head>\n<body>\n");
                write_chart(b, out);
                fprintf(out, "<pre>\n");
                char *table = NULL;
                size_t length = 0;
                FILE *mem = open_memstream(&table, &length);
                if (mem) {
                        report_table(b, mem);
                        fclose(mem);
                        xml_text(out, table ? table : "");
                        free(table);
                }
                fprintf(out, "</pre>\n</body></html>\n");
        } else {
                write_chart(b, out);
        }
        if (ferror(out)) {
                int saved = errno ? errno : EIO;
                fclose(out);
                return err_set(e, saved, "cannot write %s", path);
        }
        if (fclose(out) != 0)
                return err_set(e, errno, "cannot write %s", path);
        return 0;
}

int chart_write_svg(const struct bench *b, const char *path, struct err *e)
{
        return write_file(b, path, false, e);
}

int chart_write_html(const struct bench *b, const char *path, struct err *e)
{
        return write_file(b, path, true, e);
}
