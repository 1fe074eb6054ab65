/* ft_plot: gnuplot scripts from metrics.csv (the axis rules are in ft_plot.h). */
#include "ft_plot.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define SHADE       "#f6d5d5" /* attack rounds, behind the data */
#define BACKDOOR_LO -3        /* backdoor axis: 0% clear of the border */
#define BACKDOOR_HI 103

void ft_plot_zoom(double lo, double hi, double *ymin, double *ymax)
{
    double m = fmax(2.0, 0.1 * (hi - lo));
    *ymin = fmax(0.0, floor(lo - m));
    *ymax = fmin(100.0, ceil(hi + m));
}

/* Writes a gnuplot datablock $name with rows "round value" for the given column
 * (multiplied by scale), skipping NaN cells. */
static void write_block(FILE *gp, const char *name, const ft_csv_t *csv, const char *col,
                        double scale)
{
    fprintf(gp, "$%s << EOD\n", name);
    for (int r = 0; r < csv->num_rows; r++) {
        double v = ft_csv_get(csv, r, col);
        if (!isnan(v))
            fprintf(gp, "%g %g\n", ft_csv_get(csv, r, "round"), v * scale);
    }
    fprintf(gp, "EOD\n");
}

/* Rounds [first, last] over all runs. */
static void rounds_of(const ft_report_run_t *runs, int n, int *first, int *last)
{
    ft_report_run_rounds(&runs[0], first, last);
    for (int i = 1; i < n; i++) {
        int f, l;
        ft_report_run_rounds(&runs[i], &f, &l);
        *first = f < *first ? f : *first;
        *last = l > *last ? l : *last;
    }
}

/* The x axis: first..last round (padded by half a round where marks sit on the
 * rounds, or there is only one), integer tics. */
static void x_axis(FILE *gp, int first, int last, int pad)
{
    if (pad || first == last)
        fprintf(gp, "set xrange [%g:%g]\n", first - 0.5, last + 0.5);
    else
        fprintf(gp, "set xrange [%d:%d]\n", first, last);
    int span = last - first + 1;
    if (span <= 25)
        fprintf(gp, "set xtics 1\n");
    fprintf(gp, "set format x '%%.0f'\nset mxtics 1\n");
}

/* Shades the rounds in which any run had an attacker, one rectangle per stretch
 * of consecutive rounds. Returns the number of attacked rounds. */
static int shade_attack_rounds(FILE *gp, const ft_report_run_t *runs, int n, int first, int last)
{
    int span = last - first + 1;
    unsigned char *hit = ft_calloc((size_t)span, 1);
    if (!hit)
        return 0; /* no shading rather than no plot */
    int total = 0;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < runs[i].csv->num_rows; r++) {
            int x = (int)ft_csv_get(runs[i].csv, r, "round") - first;
            if (x >= 0 && x < span && ft_csv_get(runs[i].csv, r, "attackers") > 0)
                hit[x] = 1;
        }
    for (int x = 0; x < span;) {
        if (!hit[x]) {
            x++;
            continue;
        }
        int end = x;
        while (end + 1 < span && hit[end + 1])
            end++;
        fprintf(gp,
                "set object rect from %g, graph 0 to %g, graph 1 behind fc rgb '" SHADE
                "' fs solid 1.0 noborder\n",
                first + x - 0.5, first + end + 0.5);
        total += end - x + 1;
        x = end + 1;
    }
    ft_free(hit);
    return total;
}

/* The legend entry of the shading (a plot element with no points). */
static void shade_key(FILE *gp, int shaded)
{
    if (shaded)
        fprintf(gp,
                ", NaN with boxes fs solid 1.0 noborder lc rgb '" SHADE "' title 'attack round'");
}

void ft_plot_terminal(FILE *gp, const char *out_dir, const char *prefix, const char *stem, int svg)
{
    fprintf(gp, "reset session\n");
    if (svg)
        fprintf(gp, "set terminal svg size 800,420 dynamic font 'sans,12' background '#ffffff'\n");
    else
        fprintf(gp, "set terminal pngcairo size 900,480 font 'sans,11'\n");
    fprintf(gp, "set output '%s/%s%s.%s'\n", out_dir, prefix, stem, svg ? "svg" : "png");
    /* noenhanced: a run named method=pgd_name=krum keeps its underscores. */
    fprintf(gp, "set termoption noenhanced\nset key below\nset grid front lc rgb '#dddddd'\nset "
                "xlabel 'round'\n");
}

/* The 0-100 axis of the backdoor and shares, its 0% line drawn. */
static void percent_axis(FILE *gp)
{
    fprintf(gp,
            "set yrange [%d:%d]\nset ytics 0, 20, 100\n"
            "set arrow from graph 0, first 0 to graph 1, first 0 nohead lc rgb '#444444' lw 1\n",
            BACKDOOR_LO, BACKDOOR_HI);
}

/* Main-task accuracy, zoomed to its range (ft_plot.h). */
static void main_axis(FILE *gp, const ft_report_run_t *runs, int n)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < runs[i].csv->num_rows; r++) {
            double v = 100.0 * ft_csv_get(runs[i].csv, r, "main_acc");
            if (!isnan(v)) {
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
        }
    if (isinf(lo))
        lo = 0, hi = 100;
    double ymin, ymax;
    ft_plot_zoom(lo, hi, &ymin, &ymax);
    fprintf(gp, "set ylabel 'main-task accuracy (%%)'\nset yrange [%.0f:%.0f]\n", ymin, ymax);
}

/* Main-task accuracy of one run, attack rounds shaded. */
static void plot_accuracy(FILE *gp, const ft_report_run_t *run, const char *out_dir,
                          const char *prefix, int svg)
{
    int first, last;
    ft_report_run_rounds(run, &first, &last);
    ft_plot_terminal(gp, out_dir, prefix, "accuracy", svg);
    fprintf(gp, "set title 'Main-task accuracy per round: %s'\n", run->gp_label);
    main_axis(gp, run, 1);
    x_axis(gp, first, last, 0);
    int shaded = shade_attack_rounds(gp, run, 1, first, last);
    write_block(gp, "main", run->csv, "main_acc", 100.0);
    fprintf(gp, "plot $main with linespoints lw 2 pt 7 ps 0.5 lc rgb '%s' title 'main task'",
            run->colour);
    shade_key(gp, shaded);
    fprintf(gp, "\n");
}

/* Backdoor accuracy of one run (and the source class's clean accuracy), 0-100. */
static void plot_backdoor(FILE *gp, const ft_report_run_t *run, const char *out_dir,
                          const char *prefix, int svg)
{
    const ft_csv_t *csv = run->csv;
    int first, last;
    ft_report_run_rounds(run, &first, &last);
    int target = ft_report_has_data(csv, "target_class_acc");
    ft_plot_terminal(gp, out_dir, prefix, "backdoor", svg);
    fprintf(gp, "set title 'Backdoor accuracy per round: %s'\nset ylabel 'accuracy (%%)'\n",
            run->gp_label);
    percent_axis(gp);
    x_axis(gp, first, last, 0);
    int shaded = shade_attack_rounds(gp, run, 1, first, last);
    write_block(gp, "backdoor", csv, "backdoor_acc", 100.0);
    if (target)
        write_block(gp, "target", csv, "target_class_acc", 100.0);
    fprintf(gp, "plot $backdoor with linespoints lw 2 pt 7 ps 0.5 lc rgb '#d62728' "
                "title 'backdoor (attacker wins)'");
    if (target)
        fprintf(gp, ", $target with lines lw 1 dt 3 lc rgb '#555555' title 'source class (clean)'");
    shade_key(gp, shaded);
    fprintf(gp, "\n");
}

/* L2 norms of updates: attackers against the honest mean. */
static void plot_norms(FILE *gp, const ft_report_run_t *run, const char *out_dir,
                       const char *prefix, int svg)
{
    const ft_csv_t *csv = run->csv;
    int first, last;
    ft_report_run_rounds(run, &first, &last);
    ft_plot_terminal(gp, out_dir, prefix, "norms", svg);
    fprintf(gp, "set title 'Update norms: %s'\nset ylabel 'L2 norm of the update'\n",
            run->gp_label);
    x_axis(gp, first, last, 1);
    int shaded = shade_attack_rounds(gp, run, 1, first, last);
    write_block(gp, "honest", csv, "honest_norm_mean", 1.0);
    int attacker = ft_report_has_data(csv, "attacker_norm");
    if (attacker)
        write_block(gp, "attacker", csv, "attacker_norm", 1.0);
    fprintf(gp, "plot $honest with linespoints lw 2 pt 7 ps 0.5 lc rgb '#1f77b4' "
                "title 'honest (mean)'");
    if (attacker)
        fprintf(gp, ", $attacker with points pt 9 ps 1.2 lc rgb '#d62728' title 'attacker'");
    shade_key(gp, shaded);
    fprintf(gp, "\n");
}

/* The norms' distribution per round (ft_norm_dist.h): on each round the honest
 * updates' box (quartiles, the median a dark bar, whiskers to the smallest and largest
 * norm), every attacker update a red point over it; a log axis where the norms span
 * more than two decades (a boosted attacker would flatten the boxes). */
static void plot_norm_dist(FILE *gp, const ft_report_run_t *run, const char *out_dir,
                           const char *prefix, int svg)
{
    const ft_norm_dist_t *d = &run->norms;
    int first, last;
    ft_report_run_rounds(run, &first, &last);
    ft_plot_terminal(gp, out_dir, prefix, "norm_dist", svg);
    fprintf(gp, "set title 'Update norms as received, per round: %s'\nset ylabel 'L2 norm'\n",
            run->gp_label);
    if (d->lo > 0 && d->hi / d->lo > 100)
        fprintf(gp, "set logscale y\n");
    else
        fprintf(gp, "set yrange [0:*]\n");
    x_axis(gp, first, last, 1);
    int shaded = shade_attack_rounds(gp, run, 1, first, last);
    fprintf(gp, "set boxwidth 0.5 absolute\nset style fill solid 0.35\n");
    /* round min q1 median q3 max n */
    fprintf(gp, "$boxes << EOD\n");
    for (int i = 0; i < d->num_boxes; i++) {
        const ft_norm_box_t *b = &d->boxes[i];
        fprintf(gp, "%d %.9g %.9g %.9g %.9g %.9g %d\n", b->round, b->min, b->q1, b->median, b->q3,
                b->max, b->n);
    }
    /* round norm client */
    fprintf(gp, "EOD\n$attackers << EOD\n");
    for (int i = 0; i < d->num_attackers; i++)
        fprintf(gp, "%d %.9g %ld\n", d->attackers[i].round, d->attackers[i].norm,
                d->attackers[i].client);
    fprintf(gp, "EOD\nplot ");
    if (d->num_boxes)
        fprintf(gp, "$boxes using 1:3:2:6:5 with candlesticks whiskerbars lc rgb '#1f77b4' "
                    "title 'honest: quartiles, whiskers min to max', $boxes using 1:4:4:4:4 "
                    "with candlesticks lw 2 lc rgb '#08306b' title 'honest median'");
    if (d->num_attackers)
        fprintf(gp,
                "%s$attackers using 1:2 with points pt 9 ps 1.3 lc rgb '#d62728' title "
                "'attacker update'",
                d->num_boxes ? ", " : "");
    shade_key(gp, shaded);
    fprintf(gp, "\n");
}

/* Largest value of the columns, for integer count axes. */
static double column_max(const ft_csv_t *csv, const char *const *cols, int ncols)
{
    double m = 0;
    for (int c = 0; c < ncols; c++)
        for (int r = 0; r < csv->num_rows; r++) {
            double v = ft_csv_get(csv, r, cols[c]);
            if (!isnan(v) && v > m)
                m = v;
        }
    return m;
}

/* What the defense decided against the ground truth: per round, attackers present
 * (grey) with those kept over them (red) left of the round's tic, honest updates
 * dropped (blue) right of it. */
static void plot_decisions(FILE *gp, const ft_report_run_t *run, const char *out_dir,
                           const char *prefix, int svg)
{
    const ft_csv_t *csv = run->csv;
    int first, last;
    ft_report_run_rounds(run, &first, &last);
    static const char *const cols[] = {"attackers", "attackers_kept", "honest_dropped"};
    int top = (int)column_max(csv, cols, 3) + 1;
    int step = top <= 10 ? 1 : (top + 9) / 10;
    ft_plot_terminal(gp, out_dir, prefix, "decisions", svg);
    fprintf(gp,
            "set title 'Defense decisions: %s'\nset ylabel 'clients'\n"
            "set yrange [0:%d]\nset ytics 0, %d\nset format y '%%.0f'\nset mytics 1\n"
            "set style fill solid 0.8 noborder\nset boxwidth 0.4 absolute\n",
            run->gp_label, top, step);
    x_axis(gp, first, last, 1);
    write_block(gp, "attackers", csv, "attackers", 1.0);
    write_block(gp, "kept", csv, "attackers_kept", 1.0);
    write_block(gp, "dropped", csv, "honest_dropped", 1.0);
    fprintf(gp, "plot $attackers using ($1-0.2):2 with boxes lc rgb '#bbbbbb' title 'attackers "
                "present', $kept using ($1-0.2):2 with boxes lc rgb '#d62728' title 'attackers "
                "kept', $dropped using ($1+0.2):2 with boxes lc rgb '#1f77b4' title 'honest "
                "dropped'\n");
}

/* The attackers' effective share of the aggregate, the measure that means the same
 * for every rule (docs/defenses.md): their summed weight and their share of the
 * contribution norms, per attacked round. */
static void plot_shares(FILE *gp, const ft_report_run_t *run, const char *out_dir,
                        const char *prefix, int svg)
{
    const ft_csv_t *csv = run->csv;
    int first, last;
    ft_report_run_rounds(run, &first, &last);
    int norm = ft_report_has_data(csv, "attacker_norm_share");
    ft_plot_terminal(gp, out_dir, prefix, "shares", svg);
    fprintf(gp,
            "set title 'Share of the aggregate held by the attackers: %s'\n"
            "set ylabel 'share (%%)'\n",
            run->gp_label);
    percent_axis(gp);
    x_axis(gp, first, last, 1);
    int shaded = shade_attack_rounds(gp, run, 1, first, last);
    write_block(gp, "weight", csv, "attacker_weight", 100.0);
    if (norm)
        write_block(gp, "norm", csv, "attacker_norm_share", 100.0);
    fprintf(gp, "plot $weight with points pt 7 ps 1 lc rgb '#d62728' title 'weight'");
    if (norm)
        fprintf(gp, ", $norm with points pt 9 ps 1 lc rgb '#ff7f0e' title 'share of the "
                    "contribution norms'");
    shade_key(gp, shaded);
    fprintf(gp, "\n");
}

/* One line per run of a column, in its defense's colour; runs sharing a defense
 * differ in dash and point type. */
static void plot_compare(FILE *gp, const ft_report_run_t *runs, int n, const char *col,
                         const char *stem, const char *title, const char *out_dir, int svg)
{
    int first, last;
    rounds_of(runs, n, &first, &last);
    ft_plot_terminal(gp, out_dir, "", stem, svg);
    fprintf(gp, "set title '%s'\n", title);
    if (strcmp(col, "main_acc") == 0)
        main_axis(gp, runs, n);
    else {
        fprintf(gp, "set ylabel 'accuracy (%%)'\n");
        percent_axis(gp);
    }
    x_axis(gp, first, last, 0);
    int shaded = shade_attack_rounds(gp, runs, n, first, last);
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "run%d", i);
        write_block(gp, name, runs[i].csv, col, 100.0);
    }
    fprintf(gp, "plot ");
    for (int i = 0; i < n; i++) {
        int same = 0; /* earlier runs with this colour */
        for (int j = 0; j < i; j++)
            same += strcmp(runs[j].colour, runs[i].colour) == 0;
        fprintf(gp, "%s$run%d with linespoints lw 2 dt %d pt %d ps 0.5 lc rgb '%s' title '%s'",
                i ? ", " : "", i, 1 + same % 5, 7 + 2 * (same % 3), runs[i].colour,
                runs[i].gp_label);
    }
    shade_key(gp, shaded);
    fprintf(gp, "\n");
}

/* A run's norms, decisions and shares, where it has their columns. */
static void plot_run_detail(FILE *gp, const ft_report_run_t *run, const char *out_dir,
                            const char *prefix, int svg)
{
    if (ft_report_has_data(run->csv, "honest_norm_mean"))
        plot_norms(gp, run, out_dir, prefix, svg);
    if (run->norms.num_boxes || run->norms.num_attackers)
        plot_norm_dist(gp, run, out_dir, prefix, svg);
    if (ft_report_has_data(run->csv, "attackers_kept"))
        plot_decisions(gp, run, out_dir, prefix, svg);
    if (ft_report_has_data(run->csv, "attacker_weight"))
        plot_shares(gp, run, out_dir, prefix, svg);
}

void ft_plot_arm_prefix(int i, char *buf, size_t len)
{
    snprintf(buf, len, "arm%d_", i + 1);
}

int ft_plot_gnuplot(const char *script_path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>&1", script_path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return ft_error_set(FT_EUNSUPPORTED, "cannot start gnuplot");
    char line[512];
    char first_error[512] = "";
    while (fgets(line, sizeof line, p))
        if (!first_error[0])
            snprintf(first_error, sizeof first_error, "%s", line);
    int status = pclose(p);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) == 127)
        return ft_error_set(FT_EUNSUPPORTED,
                            "gnuplot not found (apt-get install gnuplot-nox): no plots drawn");
    if (WEXITSTATUS(status) != 0)
        return ft_error_set(FT_EIO, "gnuplot failed: %s", first_error);
    return FT_OK;
}

int ft_plot_write(const ft_report_run_t *runs, int n, const char *out_dir)
{
    char script[4096];
    snprintf(script, sizeof script, "%s/plots.gp", out_dir);
    FILE *gp = fopen(script, "w");
    if (!gp)
        return ft_error_set(FT_EIO, "%s: cannot write", script);
    for (int svg = 0; svg <= 1; svg++) {
        if (n == 1) {
            plot_accuracy(gp, &runs[0], out_dir, "", svg);
            if (ft_report_has_data(runs[0].csv, "backdoor_acc"))
                plot_backdoor(gp, &runs[0], out_dir, "", svg);
            plot_run_detail(gp, &runs[0], out_dir, "", svg);
        } else {
            plot_compare(gp, runs, n, "main_acc", "compare_main", "Main-task accuracy", out_dir,
                         svg);
            int any_backdoor = 0;
            for (int i = 0; i < n; i++)
                any_backdoor |= ft_report_has_data(runs[i].csv, "backdoor_acc");
            if (any_backdoor)
                plot_compare(gp, runs, n, "backdoor_acc", "compare_backdoor",
                             "Backdoor accuracy (share of edge-case inputs given the target)",
                             out_dir, svg);
            for (int i = 0; i < n; i++) {
                char prefix[32];
                ft_plot_arm_prefix(i, prefix, sizeof prefix);
                plot_run_detail(gp, &runs[i], out_dir, prefix, svg);
            }
        }
    }
    if (fclose(gp) != 0)
        return ft_error_set(FT_EIO, "%s: write failed", script);
    return ft_plot_gnuplot(script);
}
