/* ft_report: plots and a self-contained HTML page for one or more run directories.
 *
 * Plots are rendered by gnuplot (Debian's gnuplot-nox) driven through a pipe, as PNG
 * (for people) and SVG (embedded inline in report.html, so the page is one file that
 * works offline). Every plot is made from metrics.csv columns; a plot whose columns a
 * run lacks (e.g. backdoor accuracy of an attack-free run) is left out. */
#ifndef FT_REPORT_H
#define FT_REPORT_H

#include <stddef.h>

/* Renders the report of runs[0..n) into out_dir (created): the plots (ft_plot.h:
 * for one run accuracy, backdoor, norms, decisions and shares; for several,
 * comparison plots of main and backdoor accuracy, one line per run in its defense's
 * colour, and each run's own norms, decisions and shares) and out_dir/report.html
 * (ft_html.h; docs/reports.md). FT_EIO naming the file
 * or FT_EUNSUPPORTED if gnuplot is missing (the HTML is still written, without
 * plots, in that case). */
int ft_report_render(const char *const *runs, int n, const char *out_dir);

/* A variant run once per seed (run.seeds): its label and its seeds' run directories. */
typedef struct {
    const char *label;       /* shown in tables and legends */
    const char *const *dirs; /* n run directories, one per seed */
    int n;                   /* seeds */
} ft_report_group_t;

/* report.html of groups[0..n) run over seeds into out_dir (ft_report_seeds.c): first
 * a table of each group's mean ± sample std over its seeds (n, and the verdict drawn
 * from the means), then comparison plots of each group's per-round mean with a band
 * of ±1 std, then every seed's own row and each group's configuration. Errors as
 * ft_report_render. */
int ft_report_render_seeds(const ft_report_group_t *groups, int n, const char *out_dir);

/* Three-line verdict of one run (final main accuracy, peak/final backdoor accuracy,
 * whether the backdoor landed) into buf. FT_EIO if metrics.csv is unreadable. */
int ft_report_verdict(const char *run_dir, char *buf, int len);

/* One-line verdict of one run: "main 85.1%, backdoor 94.2% (peak 97.0%): the
 * backdoor LANDS". FT_EIO / FT_EFORMAT if metrics.csv is unreadable. */
int ft_report_verdict_line(const char *run_dir, char *buf, int len);

/* Draws a rows×cols heatmap of values (row-major, NaN = missing) as
 * out_dir/stem.png and .svg, cells annotated with their value in percent. */
int ft_report_heatmap(const char *out_dir, const char *stem, const char *title, const char *row_key,
                      const char *const *row_labels, int rows, const char *col_key,
                      const char *const *col_labels, int cols, const double *values);
#endif
