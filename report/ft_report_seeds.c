/* ft_report_seeds: report.html of variants run once per seed (run.seeds). The table
 * leads with mean ± sample std over the seeds (ft_seed_summary.h) and the verdict
 * drawn from the means; the plots show each variant's per-round mean over its seeds
 * with a shaded band of ±1 std (none where one seed); below, every seed's own
 * outcome, so a mean is never the only thing a reader sees. */
#include "ft_report.h"

#include "ft_alloc.h"
#include "ft_csv.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_html.h"
#include "ft_palette.h"
#include "ft_plot.h"
#include "ft_report_run.h"
#include "ft_seed_summary.h"
#include "ft_stat.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_GROUPS 32
#define MAX_SEEDS  FT_SEED_SUMMARY_MAX

/* One group's seeds loaded. */
typedef struct {
    const ft_report_group_t *g; /* the group */
    ft_csv_t *csv[MAX_SEEDS];   /* each seed's metrics.csv */
    ft_seed_summary_t summary;  /* mean ± std over the seeds */
} loaded_t;

static int has_col_data(const loaded_t *l, const char *col)
{
    for (int s = 0; s < l->g->n; s++)
        for (int r = 0; r < l->csv[s]->num_rows; r++)
            if (!isnan(ft_csv_get(l->csv[s], r, col)))
                return 1;
    return 0;
}

/* Datablock $name: "round mean lo hi" per round of the first seed, over the seeds
 * that have the row and a value (lo = hi = mean with one). */
static void write_band(FILE *gp, const char *name, const loaded_t *l, const char *col)
{
    fprintf(gp, "$%s << EOD\n", name);
    const ft_csv_t *first = l->csv[0];
    for (int r = 0; r < first->num_rows; r++) {
        double v[MAX_SEEDS];
        for (int s = 0; s < l->g->n; s++)
            v[s] = r < l->csv[s]->num_rows ? ft_csv_get(l->csv[s], r, col) : NAN;
        ft_stat_t st;
        ft_stat_of(v, l->g->n, &st);
        if (st.n == 0)
            continue;
        double sd = isnan(st.std) ? 0 : st.std;
        fprintf(gp, "%g %g %g %g\n", ft_csv_get(first, r, "round"), 100 * st.mean,
                100 * (st.mean - sd), 100 * (st.mean + sd));
    }
    fprintf(gp, "EOD\n");
}

static void plot_bands(FILE *gp, const loaded_t *ls, int n, const char *col, const char *stem,
                       const char *title, const char *out_dir, int svg)
{
    fprintf(gp, "reset session\n");
    ft_plot_terminal(gp, out_dir, "", stem, svg);
    fprintf(gp,
            "set title '%s (mean over seeds, band: ±1 sample std)'\nset ylabel 'accuracy (%%)'\n"
            "set yrange [0:100]\nset style fill transparent solid 0.15 noborder\n",
            title);
    /* Whole rounds on the axis while they fit. */
    if (ls[0].csv[0]->num_rows <= 20)
        fprintf(gp, "set xtics 1\n");
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "g%d", i);
        write_band(gp, name, &ls[i], col);
    }
    fprintf(gp, "plot ");
    for (int i = 0; i < n; i++) {
        /* gnuplot strings are single-quoted: a quote in a label would end one. */
        char label[160];
        size_t j = 0;
        for (const char *c = ls[i].g->label; *c && j + 1 < sizeof label; c++)
            label[j++] = *c == '\'' ? '"' : *c;
        label[j] = '\0';
        fprintf(gp,
                "%s$g%d using 1:3:4 with filledcurves lc rgb '%s' notitle, $g%d using 1:2 with "
                "linespoints lw 2 pt 7 ps 0.4 lc rgb '%s' title '%s (%d seed%s)'",
                i ? ", " : "", i, ft_palette_nth(i), i, ft_palette_nth(i), label, ls[i].g->n,
                ls[i].g->n == 1 ? "" : "s");
    }
    fprintf(gp, "\n");
}

static int write_plots(const loaded_t *ls, int n, const char *out_dir)
{
    char script[4096];
    snprintf(script, sizeof script, "%s/plots.gp", out_dir);
    FILE *gp = fopen(script, "w");
    if (!gp)
        return ft_error_set(FT_EIO, "%s: cannot write", script);
    int backdoor = 0;
    for (int i = 0; i < n; i++)
        backdoor |= has_col_data(&ls[i], "backdoor_acc");
    for (int svg = 0; svg <= 1; svg++) {
        plot_bands(gp, ls, n, "main_acc", "compare_main", "Main-task accuracy", out_dir, svg);
        if (backdoor)
            plot_bands(gp, ls, n, "backdoor_acc", "compare_backdoor", "Backdoor accuracy", out_dir,
                       svg);
    }
    if (fclose(gp) != 0)
        return ft_error_set(FT_EIO, "%s: write failed", script);
    return ft_plot_gnuplot(script);
}

static void cell(FILE *html, const ft_stat_t *s, int percent)
{
    char buf[64];
    ft_stat_format(buf, sizeof buf, s, percent);
    fprintf(html, "<td>%s</td>", buf);
}

static void group_table(FILE *html, const loaded_t *ls, int n)
{
    fprintf(html, "<h2>Summary over seeds</h2>\n<p>Mean ± sample standard deviation (n − 1 in "
                  "the denominator) over each variant's seeds; a single seed shows its value "
                  "alone. The verdict is drawn from the means.</p>\n<table><tr><th>variant</th>"
                  "<th>seeds</th><th>rounds</th><th>final main</th><th>final backdoor</th>"
                  "<th>peak backdoor</th><th>detection TPR</th><th>detection FPR</th>"
                  "<th>verdict</th></tr>\n");
    for (int i = 0; i < n; i++) {
        const ft_seed_summary_t *s = &ls[i].summary;
        fprintf(html, "<tr><td>");
        ft_html_escape(html, ls[i].g->label);
        fprintf(html, "</td><td>%d</td><td>%d</td>", s->n, s->rounds);
        cell(html, &s->final_main, 1);
        cell(html, &s->final_backdoor, 1);
        cell(html, &s->peak_backdoor, 1);
        cell(html, &s->detection_tpr, 1);
        cell(html, &s->detection_fpr, 1);
        char verdict[512];
        ft_seed_verdict_line(s, verdict, sizeof verdict);
        fprintf(html, s->destroyed ? "<td class=\"destroyed\">" : "<td>");
        ft_html_escape(html, verdict);
        fprintf(html, "</td></tr>\n");
    }
    fprintf(html, "</table>\n");
}

static void seed_table(FILE *html, const loaded_t *ls, int n)
{
    fprintf(html, "<h2>Every seed</h2>\n<table><tr><th>variant</th><th>run</th>"
                  "<th>verdict</th></tr>\n");
    for (int i = 0; i < n; i++)
        for (int s = 0; s < ls[i].g->n; s++) {
            char line[512];
            if (ft_report_verdict_line(ls[i].g->dirs[s], line, sizeof line) != FT_OK)
                snprintf(line, sizeof line, "(unreadable)");
            fprintf(html, "<tr><td>");
            ft_html_escape(html, ls[i].g->label);
            fprintf(html, "</td><td>");
            ft_html_escape(html, ls[i].g->dirs[s]);
            fprintf(html, "</td><td>");
            ft_html_escape(html, line);
            /* a seed that did not finish is in the means: say so where it is listed */
            ft_html_incomplete_mark(html, ls[i].g->dirs[s]);
            fprintf(html, "</td></tr>\n");
        }
    fprintf(html, "</table>\n");
}

static int write_html(const loaded_t *ls, int n, const char *out_dir, int have_plots)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/report.html", out_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *html = fopen(tmp, "w");
    if (!html)
        return ft_error_set(FT_EIO, "%s: cannot write", tmp);
    fprintf(html,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>fedtail report</title>\n<style>body{font-family:sans-serif;max-width:"
            "960px;margin:2em auto;color:#222}table{border-collapse:collapse}td,th{border:"
            "1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}"
            "figure{margin:1em 0}svg{max-width:100%%;height:auto}pre{background:#f6f6f6;"
            "padding:1em;overflow:auto}td.destroyed{color:#b00;font-weight:bold}td{white-space:"
            "nowrap}td:last-child{white-space:normal;text-align:left}</style></head>"
            "<body>\n<h1>fedtail report</h1>\n");
    group_table(html, ls, n);
    fprintf(html, "<h2>Plots</h2>\n");
    if (!have_plots) {
        fprintf(html, "<p>No plots: gnuplot was not available.</p>\n");
    } else {
        ft_html_embed_svg(html, out_dir, "compare_backdoor",
                          "Backdoor accuracy, mean ± sample std over seeds");
        ft_html_embed_svg(html, out_dir, "compare_main",
                          "Main-task accuracy, mean ± sample std over seeds");
    }
    seed_table(html, ls, n);
    for (int i = 0; i < n; i++) {
        char cfg_path[4096];
        snprintf(cfg_path, sizeof cfg_path, "%s/config.ini", ls[i].g->dirs[0]);
        char *cfg = NULL;
        size_t len = 0;
        if (ft_read_file(cfg_path, &cfg, &len) != FT_OK)
            continue;
        fprintf(html, "<details><summary>Configuration of ");
        ft_html_escape(html, ls[i].g->label);
        fprintf(html, " (its first seed)</summary><pre>");
        ft_html_escape(html, cfg);
        fprintf(html, "</pre></details>\n");
        ft_free(cfg);
    }
    return ft_html_finish(html, tmp, path);
}

int ft_report_render_seeds(const ft_report_group_t *groups, int n, const char *out_dir)
{
    if (n < 1 || n > MAX_GROUPS)
        return ft_error_set(FT_EINVAL, "report: between 1 and %d variants", MAX_GROUPS);
    static loaded_t ls[MAX_GROUPS];
    memset(ls, 0, sizeof ls);
    int rc = ft_mkdir_p(out_dir);
    for (int i = 0; i < n && rc == FT_OK; i++) {
        ls[i].g = &groups[i];
        if (groups[i].n < 1 || groups[i].n > MAX_SEEDS) {
            rc = ft_error_set(FT_EINVAL, "report: between 1 and %d seeds", MAX_SEEDS);
            break;
        }
        for (int s = 0; s < groups[i].n && rc == FT_OK; s++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/metrics.csv", groups[i].dirs[s]);
            rc = ft_csv_read(path, &ls[i].csv[s]);
            if (rc == FT_OK &&
                (ls[i].csv[s]->num_rows == 0 || ft_csv_col(ls[i].csv[s], "round") < 0 ||
                 ft_csv_col(ls[i].csv[s], "main_acc") < 0))
                rc = ft_error_set(FT_EFORMAT, "%s: no rounds, or no round/main_acc columns", path);
        }
        if (rc == FT_OK)
            rc = ft_seed_summarise(groups[i].dirs, groups[i].n, &ls[i].summary);
    }
    if (rc == FT_OK) {
        int plots_rc = write_plots(ls, n, out_dir);
        char plot_error[512] = "";
        if (plots_rc != FT_OK)
            snprintf(plot_error, sizeof plot_error, "%s", ft_error_message());
        rc = write_html(ls, n, out_dir, plots_rc == FT_OK);
        if (rc == FT_OK && plots_rc != FT_OK)
            rc = ft_error_set(plots_rc, "%s", plot_error);
    }
    for (int i = 0; i < n; i++)
        for (int s = 0; s < MAX_SEEDS; s++)
            ft_csv_destroy(&ls[i].csv[s]);
    return rc;
}
