/* ft_report: a report of one or more run directories — the runs loaded
 * (ft_report_run), their verdicts (here), the plots (ft_plot) and report.html
 * (ft_html) — and the sweep heatmaps. */
#include "ft_report.h"

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_csv.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_html.h"
#include "ft_plot.h"
#include "ft_report_run.h"
#include "ft_sweep.h"
#include "ft_verdict.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_RUNS 32

/* What the verdict is drawn from (metrics.csv). */
typedef struct {
    int rounds;          /* rows */
    double main_acc;     /* last round's main accuracy */
    double final_b;      /* last round's backdoor accuracy (NaN: none) */
    double peak;         /* highest backdoor accuracy (NaN: none) */
    int destroyed_round; /* first round with NaN/Inf parameters (0: none) */
    double nonfinite;    /* how many parameters it left NaN/Inf */
    int backdoor_test;   /* samples in the backdoor test set (0: unknown) */
    const char *unit;    /* what a sample is: "image", "sentence", "tweet" */
} outcome_t;

static void outcome_of(const ft_csv_t *csv, outcome_t *o)
{
    int last = csv->num_rows - 1;
    o->rounds = csv->num_rows;
    o->main_acc = ft_csv_get(csv, last, "main_acc");
    o->final_b = ft_csv_get(csv, last, "backdoor_acc");
    o->peak = NAN;
    o->destroyed_round = 0;
    o->nonfinite = 0;
    for (int r = 0; r < csv->num_rows; r++) {
        double b = ft_csv_get(csv, r, "backdoor_acc");
        if (!isnan(b) && (isnan(o->peak) || b > o->peak))
            o->peak = b;
        /* NaN (no such column: a run from before the check) counts as finite. */
        double bad = ft_csv_get(csv, r, "nonfinite_params");
        if (!o->destroyed_round && bad > 0) {
            o->destroyed_round = (int)ft_csv_get(csv, r, "round");
            o->nonfinite = bad;
        }
    }
}

/* The outcome of run_dir/metrics.csv. FT_EIO / FT_EFORMAT naming the file. */
static int read_outcome(const char *run_dir, outcome_t *o)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    ft_csv_t *csv = NULL;
    int rc = ft_csv_read(path, &csv);
    if (rc != FT_OK)
        return rc;
    if (csv->num_rows == 0) {
        ft_csv_destroy(&csv);
        return ft_error_set(FT_EFORMAT, "%s: no rounds", path);
    }
    outcome_of(csv, o);
    o->backdoor_test = ft_run_backdoor_test_size(run_dir);
    o->unit = ft_run_backdoor_unit(run_dir);
    ft_csv_destroy(&csv);
    return FT_OK;
}

/* The one-line verdict of o. A destroyed model overrides the accuracies: the numbers
 * of a NaN/Inf model say nothing about the backdoor. */
static void verdict_line(const outcome_t *o, char *buf, size_t len)
{
    if (o->destroyed_round)
        snprintf(buf, len,
                 "the model was destroyed in round %d (%.0f parameters NaN/Inf): no verdict on "
                 "the backdoor",
                 o->destroyed_round, o->nonfinite);
    else if (isnan(o->peak))
        snprintf(buf, len, "main %.1f%% after %d rounds (no backdoor measured)", 100 * o->main_acc,
                 o->rounds);
    else {
        char words[96];
        ft_verdict_words(o->final_b, o->peak, o->rounds, words, sizeof words);
        snprintf(buf, len, "main %.1f%%, backdoor %.1f%% (peak %.1f%%): %s", 100 * o->main_acc,
                 100 * o->final_b, 100 * o->peak, words);
    }
}

int ft_report_render(const char *const *dirs, int n, const char *out_dir)
{
    if (n < 1 || n > MAX_RUNS)
        return ft_error_set(FT_EINVAL, "report: between 1 and %d run directories", MAX_RUNS);
    ft_report_run_t runs[MAX_RUNS];
    memset(runs, 0, sizeof runs);
    int rc = ft_mkdir_p(out_dir);
    for (int i = 0; i < n && rc == FT_OK; i++) {
        rc = ft_report_run_load(&runs[i], dirs[i]);
        if (rc == FT_OK) {
            outcome_t o;
            outcome_of(runs[i].csv, &o);
            verdict_line(&o, runs[i].verdict, sizeof runs[i].verdict);
            runs[i].destroyed = o.destroyed_round != 0;
        }
    }
    int plots_rc = FT_OK;
    char plot_error[512] = "";
    if (rc == FT_OK) {
        plots_rc = ft_plot_write(runs, n, out_dir);
        if (plots_rc != FT_OK)
            snprintf(plot_error, sizeof plot_error, "%s", ft_error_message());
        rc = ft_html_write(runs, n, out_dir, plots_rc == FT_OK);
        if (rc == FT_OK && plots_rc != FT_OK)
            rc = ft_error_set(plots_rc, "%s", plot_error);
    }
    for (int i = 0; i < n; i++)
        ft_report_run_free(&runs[i]);
    return rc;
}

int ft_report_verdict_line(const char *run_dir, char *buf, int len)
{
    outcome_t o;
    int rc = read_outcome(run_dir, &o);
    if (rc == FT_OK)
        verdict_line(&o, buf, (size_t)len);
    return rc;
}

int ft_report_verdict(const char *run_dir, char *buf, int len)
{
    outcome_t o;
    int rc = read_outcome(run_dir, &o);
    if (rc != FT_OK)
        return rc;
    int rounds = o.rounds;
    double main_acc = o.main_acc, peak = o.peak, final_b = o.final_b;
    if (o.destroyed_round)
        snprintf(buf, (size_t)len,
                 "main-task accuracy after %d rounds: %.1f%%\n"
                 "verdict: the model was destroyed in round %d (%.0f parameters NaN/Inf); "
                 "the accuracies from then on are those of a dead model, not a backdoor\n",
                 rounds, 100 * main_acc, o.destroyed_round, o.nonfinite);
    else if (isnan(peak))
        snprintf(buf, (size_t)len,
                 "main-task accuracy after %d rounds: %.1f%%\n(no backdoor measured)\n", rounds,
                 100 * main_acc);
    else {
        char words[96], size[96], paren[112] = "";
        ft_verdict_words(final_b, peak, rounds, words, sizeof words);
        ft_verdict_test_set(o.backdoor_test, o.unit, size, sizeof size);
        if (size[0])
            snprintf(paren, sizeof paren, " (%s)", size);
        snprintf(buf, (size_t)len,
                 "main-task accuracy after %d rounds: %.1f%%\n"
                 "backdoor accuracy: peak %.1f%%, final %.1f%%%s\n"
                 "verdict: %s\n",
                 rounds, 100 * main_acc, 100 * peak, 100 * final_b, paren, words);
    }
    return FT_OK;
}

int ft_report_heatmap(const char *out_dir, const char *stem, const char *title, const char *row_key,
                      const char *const *row_labels, int rows, const char *col_key,
                      const char *const *col_labels, int cols, const double *values)
{
    char script[4096];
    snprintf(script, sizeof script, "%s/%s.gp", out_dir, stem);
    FILE *gp = fopen(script, "w");
    if (!gp)
        return ft_error_set(FT_EIO, "%s: cannot write", script);
    for (int svg = 0; svg <= 1; svg++) {
        fprintf(gp, "reset session\n");
        if (svg)
            fprintf(gp, "set terminal svg size %d,%d dynamic font 'sans,12'\n", 240 + 110 * cols,
                    160 + 50 * rows);
        else
            fprintf(gp, "set terminal pngcairo size %d,%d font 'sans,11'\n", 260 + 120 * cols,
                    170 + 55 * rows);
        fprintf(gp, "set output '%s/%s.%s'\n", out_dir, stem, svg ? "svg" : "png");
        /* noenhanced: norm_clipping is not norm with a subscript c */
        fprintf(gp, "set termoption noenhanced\n");
        fprintf(gp, "set title '%s'\nset xlabel '%s'\nset ylabel '%s'\n", title, col_key, row_key);
        fprintf(gp, "set cbrange [0:100]\nset palette defined (0 '#f7fbff', 50 '#fdae61', "
                    "100 '#d7191c')\nunset key\nset tics nomirror out\n");
        fprintf(gp, "set xrange [-0.5:%d.5]\nset yrange [-0.5:%d.5] reverse\n", cols - 1, rows - 1);
        fprintf(gp, "set xtics (");
        for (int c = 0; c < cols; c++)
            fprintf(gp, "%s'%s' %d", c ? ", " : "", col_labels[c], c);
        fprintf(gp, ")\nset ytics (");
        for (int r = 0; r < rows; r++)
            fprintf(gp, "%s'%s' %d", r ? ", " : "", row_labels[r], r);
        fprintf(gp, ")\n$cells << EOD\n");
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                double v = values[r * cols + c];
                if (!isnan(v))
                    fprintf(gp, "%d %d %g\n", c, r, 100.0 * v);
            }
        fprintf(gp,
                "EOD\nplot $cells using 1:2:3 with image, $cells using 1:2:(sprintf('%%.0f%%%%', "
                "$3)) with labels font ',12'\n");
    }
    if (fclose(gp) != 0)
        return ft_error_set(FT_EIO, "%s: write failed", script);
    return ft_plot_gnuplot(script);
}
