/* ft_report: gnuplot scripts from metrics.csv, and report.html around them. */
#include "ft_report.h"

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_csv.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_sweep.h"
#include "ft_verdict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define MAX_RUNS 32

/* One run loaded for reporting. */
typedef struct {
    const char *dir; /* run directory */
    char label[128]; /* legend label: the directory's last component */
    ft_csv_t *csv;   /* its metrics.csv */
} run_t;

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

static int has_data(const ft_csv_t *csv, const char *col)
{
    for (int r = 0; r < csv->num_rows; r++)
        if (!isnan(ft_csv_get(csv, r, col)))
            return 1;
    return 0;
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

/* Dashed vertical lines at rounds that had attackers (at most 60, else a note). */
static void mark_attack_rounds(FILE *gp, const ft_csv_t *csv)
{
    int marked = 0, total = 0;
    for (int r = 0; r < csv->num_rows; r++)
        total += ft_csv_get(csv, r, "attackers") > 0;
    if (total == 0)
        return;
    if (total > 60) {
        fprintf(gp,
                "set label 'attacker in %d rounds' at graph 0.02, graph 0.04 tc rgb '#d62728'\n",
                total);
        return;
    }
    for (int r = 0; r < csv->num_rows; r++) {
        if (ft_csv_get(csv, r, "attackers") > 0) {
            double x = ft_csv_get(csv, r, "round");
            fprintf(gp,
                    "set arrow from %g, graph 0 to %g, graph 1 nohead lc rgb '#d62728' dt 2 lw 1\n",
                    x, x);
            marked++;
        }
    }
    (void)marked;
}

static void terminal_header(FILE *gp, const char *out_dir, const char *stem, int svg)
{
    if (svg)
        fprintf(gp, "set terminal svg size 800,420 dynamic font 'sans,12' background '#ffffff'\n");
    else
        fprintf(gp, "set terminal pngcairo size 900,480 font 'sans,11'\n");
    fprintf(gp, "set output '%s/%s.%s'\n", out_dir, stem, svg ? "svg" : "png");
    fprintf(gp, "set key below\nset grid lc rgb '#dddddd'\nset xlabel 'round'\n");
}

/* Accuracy over rounds: main task and backdoor, attack rounds marked. */
static void plot_accuracy(FILE *gp, const run_t *run, const char *out_dir, int svg)
{
    const ft_csv_t *csv = run->csv;
    int backdoor = has_data(csv, "backdoor_acc");
    int target = has_data(csv, "target_class_acc");
    fprintf(gp, "reset session\n");
    terminal_header(gp, out_dir, "accuracy", svg);
    fprintf(gp,
            "set title 'Accuracy per round: %s'\nset ylabel 'accuracy (%%)'\n"
            "set yrange [0:100]\n",
            run->label);
    mark_attack_rounds(gp, csv);
    write_block(gp, "main", csv, "main_acc", 100.0);
    if (backdoor)
        write_block(gp, "backdoor", csv, "backdoor_acc", 100.0);
    if (target)
        write_block(gp, "target", csv, "target_class_acc", 100.0);
    fprintf(gp, "plot $main with linespoints lw 2 pt 7 ps 0.5 lc rgb '#1f77b4' title 'main task'");
    if (backdoor)
        fprintf(gp, ", $backdoor with linespoints lw 2 pt 7 ps 0.5 lc rgb '#d62728' "
                    "title 'backdoor (attacker wins)'");
    if (target)
        fprintf(gp, ", $target with lines lw 1 dt 3 lc rgb '#2ca02c' title 'source class (clean)'");
    if (has_data(csv, "attackers"))
        fprintf(gp, ", NaN with lines lc rgb '#d62728' dt 2 title 'attack round'");
    fprintf(gp, "\nunset arrow\nunset label\n");
}

/* L2 norms of updates: attackers against the honest mean. */
static void plot_norms(FILE *gp, const run_t *run, const char *out_dir, int svg)
{
    const ft_csv_t *csv = run->csv;
    fprintf(gp, "reset session\n");
    terminal_header(gp, out_dir, "norms", svg);
    fprintf(gp, "set title 'Update norms: %s'\nset ylabel 'L2 norm of the update'\n", run->label);
    write_block(gp, "honest", csv, "honest_norm_mean", 1.0);
    int attacker = has_data(csv, "attacker_norm");
    if (attacker)
        write_block(gp, "attacker", csv, "attacker_norm", 1.0);
    fprintf(gp, "plot $honest with linespoints lw 2 pt 7 ps 0.5 lc rgb '#1f77b4' "
                "title 'honest (mean)'");
    if (attacker)
        fprintf(gp, ", $attacker with points pt 9 ps 1.2 lc rgb '#d62728' title 'attacker'");
    fprintf(gp, "\n");
}

/* What the defense decided against the ground truth. */
static void plot_decisions(FILE *gp, const run_t *run, const char *out_dir, int svg)
{
    const ft_csv_t *csv = run->csv;
    fprintf(gp, "reset session\n");
    terminal_header(gp, out_dir, "decisions", svg);
    fprintf(gp,
            "set title 'Defense decisions: %s'\nset ylabel 'clients'\n"
            "set style fill solid 0.6\nset boxwidth 0.4\n",
            run->label);
    write_block(gp, "attackers", csv, "attackers", 1.0);
    write_block(gp, "kept", csv, "attackers_kept", 1.0);
    write_block(gp, "dropped", csv, "honest_dropped", 1.0);
    fprintf(gp, "plot $attackers using ($1-0.2):2 with boxes lc rgb '#cccccc' title 'attackers "
                "present', $kept using ($1-0.2):2 with boxes lc rgb '#d62728' title 'attackers "
                "kept', $dropped using ($1+0.2):2 with boxes lc rgb '#1f77b4' title 'honest "
                "dropped'\n");
}

/* The attackers' effective share of the aggregate, the measure that means the same
 * for every rule (docs/defenses.md): their summed weight and their share of the
 * contribution norms, per attacked round. */
static void plot_shares(FILE *gp, const run_t *run, const char *out_dir, int svg)
{
    const ft_csv_t *csv = run->csv;
    int norm = has_data(csv, "attacker_norm_share");
    fprintf(gp, "reset session\n");
    terminal_header(gp, out_dir, "shares", svg);
    fprintf(
        gp,
        "set title 'Share of the aggregate held by the attackers: %s'\nset ylabel 'share (%%)'\n"
        "set yrange [0:100]\n",
        run->label);
    write_block(gp, "weight", csv, "attacker_weight", 100.0);
    if (norm)
        write_block(gp, "norm", csv, "attacker_norm_share", 100.0);
    fprintf(gp, "plot $weight with points pt 7 ps 1 lc rgb '#d62728' title 'weight'");
    if (norm)
        fprintf(gp, ", $norm with points pt 9 ps 1 lc rgb '#ff7f0e' title 'share of the "
                    "contribution norms'");
    fprintf(gp, "\n");
}

/* One line per run of a column, for comparing runs. */
static void plot_compare(FILE *gp, const run_t *runs, int n, const char *col, const char *stem,
                         const char *title, const char *out_dir, int svg)
{
    fprintf(gp, "reset session\n");
    terminal_header(gp, out_dir, stem, svg);
    fprintf(gp, "set title '%s'\nset ylabel 'accuracy (%%)'\nset yrange [0:100]\n", title);
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "run%d", i);
        write_block(gp, name, runs[i].csv, col, 100.0);
    }
    fprintf(gp, "plot ");
    for (int i = 0; i < n; i++)
        fprintf(gp, "%s$run%d with linespoints lw 2 pt 7 ps 0.4 lc rgb '%s' title '%s'",
                i ? ", " : "", i, palette[i % 10], runs[i].label);
    fprintf(gp, "\n");
}

static void html_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Copies an SVG file into the page (dropping its XML prolog), or a note if absent. */
static void embed_svg(FILE *html, const char *dir, const char *stem)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.svg", dir, stem);
    char *svg = NULL;
    size_t len = 0;
    if (ft_read_file(path, &svg, &len) != FT_OK)
        return;
    const char *start = strstr(svg, "<svg");
    fprintf(html, "<figure>%s<figcaption>%s (<a href=\"%s.png\">PNG</a>)</figcaption></figure>\n",
            start ? start : "", stem, stem);
    ft_free(svg);
}

/* What the verdict is drawn from (metrics.csv). */
typedef struct {
    int rounds;          /* rows */
    double main_acc;     /* last round's main accuracy */
    double final_b;      /* last round's backdoor accuracy (NaN: none) */
    double peak;         /* highest backdoor accuracy (NaN: none) */
    int destroyed_round; /* first round with NaN/Inf parameters (0: none) */
    double nonfinite;    /* how many parameters it left NaN/Inf */
    int backdoor_test;   /* images in the backdoor test set (0: unknown) */
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

int ft_report_incomplete(const char *run_dir, char *why, size_t len)
{
    char path[4096], *summary = NULL;
    size_t n = 0;
    ft_csv_t *csv = NULL;
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    int rc = ft_csv_read(path, &csv);
    if (rc != FT_OK)
        return rc;
    int done = csv->num_rows ? (int)ft_csv_get(csv, csv->num_rows - 1, "round") : 0;
    ft_csv_destroy(&csv);
    long planned = 0;
    ft_config_t *cfg = ft_config_new();
    snprintf(path, sizeof path, "%s/config.ini", run_dir);
    if (cfg && ft_config_load_file(cfg, path) == FT_OK)
        planned = (long)ft_config_int(cfg, "federation.rounds");
    ft_config_destroy(&cfg);
    snprintf(path, sizeof path, "%s/summary.json", run_dir);
    int have_summary = ft_read_file(path, &summary, &n) == FT_OK;
    int destroyed = have_summary && !strstr(summary, "\"model_destroyed_round\": null");
    int completed = have_summary && strstr(summary, "\"completed\": true");
    ft_free(summary);
    int short_run = planned > 0 && done < planned;
    if (destroyed || (completed && !short_run)) {
        why[0] = '\0';
        return 0;
    }
    const char *state = !have_summary ? ", no summary.json" : completed ? "" : ", not completed";
    if (planned > 0)
        snprintf(why, len, "%d of %ld rounds%s", done, planned, state);
    else
        snprintf(why, len, "%d rounds%s", done, state);
    return 1;
}

static void summary_row(FILE *html, const run_t *run)
{
    const ft_csv_t *csv = run->csv;
    int last = csv->num_rows - 1;
    double peak = NAN, attacks = 0, round_s = 0, wsum = 0;
    int wn = 0;
    for (int r = 0; r < csv->num_rows; r++) {
        double b = ft_csv_get(csv, r, "backdoor_acc");
        if (!isnan(b) && (isnan(peak) || b > peak))
            peak = b;
        double a = ft_csv_get(csv, r, "attackers");
        attacks += a > 0;
        double s = ft_csv_get(csv, r, "round_s");
        round_s += isnan(s) ? 0 : s;
        double w = ft_csv_get(csv, r, "attacker_weight");
        if (!isnan(w)) {
            wsum += w;
            wn++;
        }
    }
    fprintf(html, "<tr><td>");
    html_escape(html, run->label);
    char why[128];
    if (ft_report_incomplete(run->dir, why, sizeof why) == 1) {
        fprintf(html, " <strong class=\"incomplete\">INCOMPLETE (");
        html_escape(html, why);
        fprintf(html, ")</strong>");
    }
    fprintf(html, "</td><td>%d</td>", csv->num_rows);
    double cells[] = {ft_csv_get(csv, last, "main_acc"), ft_csv_get(csv, last, "backdoor_acc"),
                      peak};
    for (int i = 0; i < 3; i++) {
        if (isnan(cells[i]))
            fprintf(html, "<td>–</td>");
        else
            fprintf(html, "<td>%.1f%%</td>", 100.0 * cells[i]);
    }
    fprintf(html, "<td>%.0f</td>", attacks);
    if (wn)
        fprintf(html, "<td>%.1f%%</td>", 100.0 * wsum / wn);
    else
        fprintf(html, "<td>–</td>");
    fprintf(html, "<td>%.2f</td>", csv->num_rows ? round_s / csv->num_rows : 0.0);
    outcome_t o;
    char verdict[256];
    outcome_of(csv, &o);
    verdict_line(&o, verdict, sizeof verdict);
    fprintf(html, o.destroyed_round ? "<td class=\"destroyed\">" : "<td>");
    html_escape(html, verdict);
    fprintf(html, "</td></tr>\n");
}

static int run_gnuplot(const char *script_path)
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

static int write_plots(const run_t *runs, int n, const char *out_dir)
{
    char script[4096];
    snprintf(script, sizeof script, "%s/plots.gp", out_dir);
    FILE *gp = fopen(script, "w");
    if (!gp)
        return ft_error_set(FT_EIO, "%s: cannot write", script);
    for (int svg = 0; svg <= 1; svg++) {
        if (n == 1) {
            plot_accuracy(gp, &runs[0], out_dir, svg);
            if (has_data(runs[0].csv, "honest_norm_mean"))
                plot_norms(gp, &runs[0], out_dir, svg);
            if (has_data(runs[0].csv, "attackers_kept"))
                plot_decisions(gp, &runs[0], out_dir, svg);
            if (has_data(runs[0].csv, "attacker_weight"))
                plot_shares(gp, &runs[0], out_dir, svg);
        } else {
            plot_compare(gp, runs, n, "main_acc", "compare_main", "Main-task accuracy", out_dir,
                         svg);
            int any_backdoor = 0;
            for (int i = 0; i < n; i++)
                any_backdoor |= has_data(runs[i].csv, "backdoor_acc");
            if (any_backdoor)
                plot_compare(gp, runs, n, "backdoor_acc", "compare_backdoor",
                             "Backdoor accuracy (share of edge-case inputs given the target)",
                             out_dir, svg);
        }
    }
    if (fclose(gp) != 0)
        return ft_error_set(FT_EIO, "%s: write failed", script);
    return run_gnuplot(script);
}

static int write_html(const run_t *runs, int n, const char *out_dir, int have_plots)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/report.html", out_dir);
    char tmp[4200];
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
            "padding:1em;overflow:auto}td.destroyed{color:#b00;font-weight:bold}</style></head>"
            "<body>\n<h1>fedtail report</h1>\n");
    fprintf(html, "<h2>Summary</h2>\n<table><tr><th>run</th><th>rounds</th><th>final main</th>"
                  "<th>final backdoor</th><th>peak backdoor</th><th>attack rounds</th>"
                  "<th>attacker weight</th><th>s/round</th><th>verdict</th></tr>\n");
    for (int i = 0; i < n; i++)
        summary_row(html, &runs[i]);
    fprintf(html, "</table>\n<h2>Plots</h2>\n");
    if (!have_plots)
        fprintf(html, "<p>No plots: gnuplot was not available.</p>\n");
    else if (n == 1) {
        embed_svg(html, out_dir, "accuracy");
        embed_svg(html, out_dir, "norms");
        embed_svg(html, out_dir, "decisions");
        embed_svg(html, out_dir, "shares");
    } else {
        /* The backdoor is the story; main accuracy shows what it cost. */
        embed_svg(html, out_dir, "compare_backdoor");
        embed_svg(html, out_dir, "compare_main");
    }
    for (int i = 0; i < n; i++) {
        char cfg_path[4096];
        snprintf(cfg_path, sizeof cfg_path, "%s/config.ini", runs[i].dir);
        char *cfg = NULL;
        size_t len = 0;
        if (ft_read_file(cfg_path, &cfg, &len) != FT_OK)
            continue;
        fprintf(html, "<details><summary>Configuration of ");
        html_escape(html, runs[i].label);
        fprintf(html, "</summary><pre>");
        html_escape(html, cfg);
        fprintf(html, "</pre></details>\n");
        ft_free(cfg);
    }
    fprintf(html, "</body></html>\n");
    int failed = ferror(html);
    if (fclose(html) != 0 || failed) {
        remove(tmp);
        return ft_error_set(FT_EIO, "%s: write failed", tmp);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return ft_error_set(FT_EIO, "%s: cannot rename into place", path);
    }
    return FT_OK;
}

static void label_of(const char *dir, char *out, size_t len)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    snprintf(out, len, "%.*s", (int)(n - start), dir + start);
}

int ft_report_render(const char *const *dirs, int n, const char *out_dir)
{
    if (n < 1 || n > MAX_RUNS)
        return ft_error_set(FT_EINVAL, "report: between 1 and %d run directories", MAX_RUNS);
    run_t runs[MAX_RUNS] = {0};
    int rc = ft_mkdir_p(out_dir);
    for (int i = 0; i < n && rc == FT_OK; i++) {
        runs[i].dir = dirs[i];
        label_of(dirs[i], runs[i].label, sizeof runs[i].label);
        char path[4096];
        snprintf(path, sizeof path, "%s/metrics.csv", dirs[i]);
        rc = ft_csv_read(path, &runs[i].csv);
        if (rc == FT_OK && (runs[i].csv->num_rows == 0 || ft_csv_col(runs[i].csv, "round") < 0 ||
                            ft_csv_col(runs[i].csv, "main_acc") < 0))
            rc = ft_error_set(FT_EFORMAT, "%s: no rounds, or no round/main_acc columns", path);
    }
    int plots_rc = FT_OK;
    char plot_error[512] = "";
    if (rc == FT_OK) {
        plots_rc = write_plots(runs, n, out_dir);
        if (plots_rc != FT_OK)
            snprintf(plot_error, sizeof plot_error, "%s", ft_error_message());
        rc = write_html(runs, n, out_dir, plots_rc == FT_OK);
        if (rc == FT_OK && plots_rc != FT_OK)
            rc = ft_error_set(plots_rc, "%s", plot_error);
    }
    for (int i = 0; i < n; i++)
        ft_csv_destroy(&runs[i].csv);
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
        ft_verdict_test_set(o.backdoor_test, size, sizeof size);
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
    return run_gnuplot(script);
}

/* For ft_report_seeds.c (ft_report_internal.h): the page's and plots' shared pieces. */
void ft_report_html_escape(FILE *f, const char *s)
{
    html_escape(f, s);
}

void ft_report_embed_svg(FILE *html, const char *dir, const char *stem)
{
    embed_svg(html, dir, stem);
}

void ft_report_terminal(FILE *gp, const char *out_dir, const char *stem, int svg)
{
    terminal_header(gp, out_dir, stem, svg);
}

int ft_report_gnuplot(const char *script_path)
{
    return run_gnuplot(script_path);
}

const char *ft_report_colour(int i)
{
    return palette[i % 10];
}
