/* ft_sweep_html: sweep.html — heatmaps of a sweep as coloured HTML tables, each
 * cell a link to its run's report.html. Accuracy uses a sequential scale (white at
 * 0% to dark blue at 100%: more is darker, whatever the metric); the differences
 * from the baseline column use a diverging one (blue below, white at 0, red above),
 * symmetric about 0 so that equal gains and losses look equally strong. */
#include "ft_sweep_html.h"

#include "ft_error.h"
#include "ft_html.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    double r, g, b; /* 0..255 */
} rgb_t;

static rgb_t mix(rgb_t a, rgb_t b, double t)
{
    return (rgb_t){a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

static void hex_of(rgb_t c, char hex[8])
{
    snprintf(hex, 8, "#%02x%02x%02x", (unsigned)lround(c.r), (unsigned)lround(c.g),
             (unsigned)lround(c.b));
}

void ft_sweep_color_seq(double v, char hex[8])
{
    static const rgb_t lo = {247, 251, 255}, mid = {107, 174, 214}, hi = {8, 48, 107};
    if (isnan(v)) {
        snprintf(hex, 8, "#eeeeee");
        return;
    }
    double t = v < 0 ? 0 : v > 100 ? 1 : v / 100;
    hex_of(t < 0.5 ? mix(lo, mid, t * 2) : mix(mid, hi, t * 2 - 1), hex);
}

void ft_sweep_color_div(double d, double span, char hex[8])
{
    static const rgb_t neg = {33, 102, 172}, zero = {247, 247, 247}, pos = {178, 24, 43};
    if (isnan(d)) {
        snprintf(hex, 8, "#eeeeee");
        return;
    }
    double t = span > 0 ? d / span : 0;
    t = t < -1 ? -1 : t > 1 ? 1 : t;
    hex_of(t < 0 ? mix(zero, neg, -t) : mix(zero, pos, t), hex);
}

/* Dark backgrounds take white text: luminance of "#rrggbb" below the middle. */
static int dark(const char hex[8])
{
    unsigned r, g, b;
    if (sscanf(hex, "#%2x%2x%2x", &r, &g, &b) != 3)
        return 0;
    return 0.299 * r + 0.587 * g + 0.114 * b < 128;
}

/* href with every byte outside [A-Za-z0-9._~/=,+-] percent-encoded (a run directory
 * from an old sweep may hold any character). */
static void write_href(FILE *f, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("._~/=,+-", *c))
            fputc(*c, f);
        else
            fprintf(f, "%%%02X", *c);
    }
}

/* What one table shows. */
typedef enum { SHOW_MAIN, SHOW_BACKDOOR, SHOW_MAIN_DIFF, SHOW_BACKDOOR_DIFF } show_t;

static double value_at(const ft_sweep_page_t *p, show_t what, int s, int r, int c)
{
    size_t cell = ((size_t)s * (size_t)p->rows + (size_t)r) * (size_t)p->cols;
    const double *v = what == SHOW_MAIN || what == SHOW_MAIN_DIFF ? p->main_acc : p->backdoor_acc;
    if (what == SHOW_MAIN || what == SHOW_BACKDOOR)
        return v[cell + (size_t)c];
    return v[cell + (size_t)c] - v[cell + (size_t)p->baseline_col];
}

static void table(FILE *f, const ft_sweep_page_t *p, int s, show_t what, const char *caption)
{
    int diff = what == SHOW_MAIN_DIFF || what == SHOW_BACKDOOR_DIFF;
    double span = 0;
    for (int r = 0; diff && r < p->rows; r++)
        for (int c = 0; c < p->cols; c++) {
            double d = fabs(value_at(p, what, s, r, c));
            if (!isnan(d) && d > span)
                span = d;
        }
    static const char *const ids[] = {"main", "backdoor", "main-diff", "backdoor-diff"};
    fprintf(f, "<table class=\"heat %s\" data-slice=\"%d\"><caption>", ids[what], s);
    ft_html_escape(f, caption);
    fprintf(f, "</caption>\n<tr><th>");
    ft_html_escape(f, p->row_key);
    fprintf(f, "%s", p->row_key[0] ? " \\ " : "");
    ft_html_escape(f, p->col_key);
    fprintf(f, "</th>");
    for (int c = 0; c < p->cols; c++) {
        fprintf(f, "<th>");
        ft_html_escape(f, p->col_labels[c]);
        fprintf(f, "%s</th>", diff && c == p->baseline_col ? " (baseline)" : "");
    }
    fprintf(f, "</tr>\n");
    for (int r = 0; r < p->rows; r++) {
        fprintf(f, "<tr><th>");
        ft_html_escape(f, p->row_labels[r]);
        fprintf(f, "</th>");
        for (int c = 0; c < p->cols; c++) {
            double v = value_at(p, what, s, r, c);
            char bg[8], text[32];
            if (diff)
                ft_sweep_color_div(v, span, bg);
            else
                ft_sweep_color_seq(v, bg);
            if (isnan(v))
                snprintf(text, sizeof text, "&ndash;");
            else
                snprintf(text, sizeof text, diff ? "%+.1f" : "%.1f%%", v);
            fprintf(f, "<td class=\"cell\" style=\"background:%s;color:%s\">", bg,
                    dark(bg) ? "#fff" : "#111");
            const char *link =
                p->links[((size_t)s * (size_t)p->rows + (size_t)r) * (size_t)p->cols + (size_t)c];
            if (link) {
                fprintf(f, "<a href=\"");
                write_href(f, link);
                fprintf(f, "\">%s</a>", text);
            } else {
                fprintf(f, "%s", text);
            }
            fprintf(f, "</td>");
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
}

int ft_sweep_html_write(const ft_sweep_page_t *p, const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ft_error_set(FT_EIO, "%s: cannot write", tmp);
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>sweep ");
    ft_html_escape(f, p->title);
    fprintf(f, "</title>\n<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;"
               "color:#222}table{border-collapse:collapse;margin:.5em 1.5em 1.5em 0;display:"
               "inline-table;vertical-align:top}td,th{border:1px solid #ccc;padding:6px 10px}"
               "td{text-align:right;min-width:4em}td a{color:inherit}caption{font-weight:bold;"
               "text-align:left;padding:.3em 0}.note{color:#555;font-size:.9em}</style></head>"
               "<body>\n<h1>Sweep ");
    ft_html_escape(f, p->title);
    fprintf(f, "</h1>\n<p class=\"note\">Final-round accuracy per grid cell (the mean over "
               "its seeds where it ran several); click a cell for its run's report. "
               "Accuracy: white 0%% to dark blue 100%%. Differences: percentage points "
               "against the baseline column ");
    ft_html_escape(f, p->col_labels[p->baseline_col]);
    fprintf(f, ", red above and blue below it, white at 0. Data: summary.csv.</p>\n");
    for (int s = 0; s < p->slices; s++) {
        if (p->slice_labels[s][0]) {
            fprintf(f, "<h2>");
            ft_html_escape(f, p->slice_labels[s]);
            fprintf(f, "</h2>\n");
        }
        table(f, p, s, SHOW_BACKDOOR, "Final backdoor accuracy");
        table(f, p, s, SHOW_MAIN, "Final main-task accuracy");
        if (p->cols > 1) {
            table(f, p, s, SHOW_BACKDOOR_DIFF, "Backdoor accuracy vs baseline (points)");
            table(f, p, s, SHOW_MAIN_DIFF, "Main accuracy vs baseline (points)");
        }
    }
    fprintf(f, "</body></html>\n");
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        remove(tmp);
        return ft_error_set(FT_EIO, "%s: write failed", tmp);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return ft_error_set(FT_EIO, "%s: cannot rename into place", path);
    }
    return FT_OK;
}
