/* ft_html: report.html around the plots (see ft_html.h). */
#include "ft_html.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_heatstrip.h"
#include "ft_plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void ft_html_escape(FILE *f, const char *s)
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

void ft_html_incomplete_mark(FILE *html, const char *run_dir)
{
    char why[128];
    if (ft_report_incomplete(run_dir, why, sizeof why) == 1) {
        fprintf(html, " <strong class=\"incomplete\">INCOMPLETE (");
        ft_html_escape(html, why);
        fprintf(html, ")</strong>");
    }
}

void ft_html_embed_svg(FILE *html, const char *dir, const char *stem, const char *caption)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.svg", dir, stem);
    char *svg = NULL;
    size_t len = 0;
    if (ft_read_file(path, &svg, &len) != FT_OK) {
        ft_error_clear();
        return;
    }
    const char *start = strstr(svg, "<svg");
    fprintf(html,
            "<figure id=\"plot-%s\">%s<figcaption>%s (<a href=\"%s.png\">PNG</a>, "
            "<a href=\"%s.svg\">SVG</a>)</figcaption></figure>\n",
            stem, start ? start : "", caption, stem, stem);
    ft_free(svg);
}

/* The colour swatch of a run's defense. */
static void swatch(FILE *html, const ft_report_run_t *run)
{
    fprintf(html, "<span class=\"swatch\" style=\"background:%s\"></span>", run->colour);
}

static void verdicts(FILE *html, const ft_report_run_t *runs, int n)
{
    fprintf(html, "<section id=\"verdict\"><h2>Verdict</h2>\n");
    for (int i = 0; i < n; i++) {
        fprintf(html, "<p class=\"verdict%s\">", runs[i].destroyed ? " destroyed" : "");
        swatch(html, &runs[i]);
        fprintf(html, "<b>");
        ft_html_escape(html, runs[i].label);
        fprintf(html, "</b>: ");
        ft_html_escape(html, runs[i].verdict);
        fprintf(html, "</p>\n");
    }
    fprintf(html, "</section>\n");
}

/* Attack and defense keys of a run whose value is not the default, "k = v" joined. */
static void non_default(FILE *html, const ft_config_t *cfg, const char *section)
{
    size_t len = strlen(section);
    int any = 0;
    for (int k = 0; ft_config_schema[k].name; k++) {
        const ft_config_key_t *key = &ft_config_schema[k];
        if (strncmp(key->name, section, len) != 0 || strcmp(key->name + len, "name") == 0 ||
            strcmp(key->name + len, "method") == 0)
            continue;
        const char *v = ft_config_text(cfg, key->name);
        if (strcmp(v, key->default_value) == 0)
            continue;
        fprintf(html, "%s<code>", any++ ? ", " : "");
        ft_html_escape(html, key->name + len);
        fprintf(html, "=");
        ft_html_escape(html, v);
        fprintf(html, "</code>");
    }
    if (!any)
        fprintf(html, "defaults");
}

static void settings(FILE *html, const ft_report_run_t *runs, int n)
{
    fprintf(html, "<h2>Settings</h2>\n<table id=\"settings\"><tr><th>run</th><th>attack</th>"
                  "<th>attack settings</th><th>defense</th><th>defense settings</th>"
                  "<th>rounds</th></tr>\n");
    for (int i = 0; i < n; i++) {
        fprintf(html, "<tr><td>");
        ft_html_escape(html, runs[i].label);
        const ft_config_t *cfg = runs[i].cfg;
        if (!cfg) {
            fprintf(html, "</td><td colspan=\"5\">no readable config.ini</td></tr>\n");
            continue;
        }
        fprintf(html, "</td><td>");
        ft_html_escape(html, ft_config_text(cfg, "attack.method"));
        fprintf(html, "</td><td>");
        non_default(html, cfg, "attack.");
        fprintf(html, "</td><td>");
        swatch(html, &runs[i]);
        ft_html_escape(html, runs[i].defense);
        fprintf(html, "</td><td>");
        non_default(html, cfg, "defense.");
        fprintf(html, "</td><td>%s</td></tr>\n", ft_config_text(cfg, "federation.rounds"));
    }
    fprintf(html, "</table>\n");
}

static void percent_cell(FILE *html, double v)
{
    if (isnan(v))
        fprintf(html, "<td>–</td>");
    else
        fprintf(html, "<td>%.1f%%</td>", 100.0 * v);
}

/* Sum and count of the numbers in a column. */
static double column_sum(const ft_csv_t *csv, const char *col, int *count)
{
    double s = 0;
    *count = 0;
    for (int r = 0; r < csv->num_rows; r++) {
        double v = ft_csv_get(csv, r, col);
        if (!isnan(v)) {
            s += v;
            (*count)++;
        }
    }
    return s;
}

static void summary_row(FILE *html, const ft_report_run_t *run)
{
    const ft_csv_t *csv = run->csv;
    int last = csv->num_rows - 1;
    double peak = NAN, attacks = 0, attackers = 0, honest = 0;
    for (int r = 0; r < csv->num_rows; r++) {
        double b = ft_csv_get(csv, r, "backdoor_acc");
        if (!isnan(b) && (isnan(peak) || b > peak))
            peak = b;
        double a = ft_csv_get(csv, r, "attackers");
        attacks += a > 0;
        attackers += isnan(a) ? 0 : a;
        double c = ft_csv_get(csv, r, "clients");
        honest += isnan(c) ? 0 : c - (isnan(a) ? 0 : a);
    }
    fprintf(html, "<tr><td>");
    swatch(html, run);
    ft_html_escape(html, run->label);
    ft_html_incomplete_mark(html, run->dir);
    fprintf(html, "</td><td>%d</td>", csv->num_rows);
    percent_cell(html, ft_csv_get(csv, last, "main_acc"));
    percent_cell(html, ft_csv_get(csv, last, "backdoor_acc"));
    percent_cell(html, peak);
    fprintf(html, "<td>%.0f</td>", attacks);
    int nk, nd, nw, ns, nt;
    double kept = column_sum(csv, "attackers_kept", &nk);
    double dropped = column_sum(csv, "honest_dropped", &nd);
    if (nk)
        fprintf(html, "<td class=\"kept\">%.0f of %.0f</td>", kept, attackers);
    else
        fprintf(html, "<td class=\"kept\">–</td>");
    if (nd && ft_csv_col(csv, "clients") >= 0)
        fprintf(html, "<td class=\"dropped\">%.0f of %.0f</td>", dropped, honest);
    else
        fprintf(html, "<td class=\"dropped\">–</td>");
    double w = column_sum(csv, "attacker_weight", &nw);
    double s = column_sum(csv, "attacker_norm_share", &ns);
    percent_cell(html, nw ? w / nw : NAN);
    percent_cell(html, ns ? s / ns : NAN);
    double t = column_sum(csv, "round_s", &nt);
    fprintf(html, "<td>%.2f</td></tr>\n", nt ? t / nt : 0.0);
}

static void summary(FILE *html, const ft_report_run_t *runs, int n)
{
    fprintf(html,
            "<h2>Summary</h2>\n<table id=\"summary\"><tr><th>run</th><th>rounds</th>"
            "<th>final main</th><th>final backdoor</th><th>peak backdoor</th>"
            "<th>attack rounds</th><th>attacker updates kept</th><th>honest updates dropped</th>"
            "<th>attacker weight</th><th>attacker norm share</th><th>s/round</th></tr>\n");
    for (int i = 0; i < n; i++)
        summary_row(html, &runs[i]);
    fprintf(html, "</table>\n<p class=\"note\">Attacker weight: the attackers' summed "
                  "coefficient in the aggregate; norm share: their share of the contribution "
                  "norms; both averaged over the rounds with an attacker (docs/defenses.md). "
                  "Kept/dropped counts only for a rule that keeps or drops whole updates.</p>\n");
}

/* Keys whose value differs between arms. */
static void config_diff(FILE *html, const ft_report_run_t *runs, int n)
{
    for (int i = 0; i < n; i++)
        if (!runs[i].cfg)
            return;
    fprintf(html, "<h2>Configuration differences</h2>\n<table id=\"config-diff\"><tr><th>key</th>");
    for (int i = 0; i < n; i++) {
        fprintf(html, "<th>");
        ft_html_escape(html, runs[i].label);
        fprintf(html, "</th>");
    }
    fprintf(html, "</tr>\n");
    int rows = 0;
    for (int k = 0; ft_config_schema[k].name; k++) {
        const char *name = ft_config_schema[k].name;
        const char *v0 = ft_config_text(runs[0].cfg, name);
        int differs = 0;
        for (int i = 1; i < n && !differs; i++)
            differs = strcmp(v0, ft_config_text(runs[i].cfg, name)) != 0;
        if (!differs)
            continue;
        rows++;
        fprintf(html, "<tr><td><code>%s</code></td>", name);
        for (int i = 0; i < n; i++) {
            fprintf(html, "<td>");
            ft_html_escape(html, ft_config_text(runs[i].cfg, name));
            fprintf(html, "</td>");
        }
        fprintf(html, "</tr>\n");
    }
    fprintf(html, "</table>\n");
    if (!rows)
        fprintf(html, "<p>The arms share every setting.</p>\n");
}

/* Each arm's own norms, decisions and shares, folded. */
static void arms(FILE *html, const ft_report_run_t *runs, int n, const char *out_dir)
{
    static const char *const stems[] = {"norms", "norm_dist", "decisions", "shares"};
    static const char *const caps[] = {
        "update norms", "update norms per round: honest boxes, attackers red",
        "defense decisions, counts per round", "attackers' share of the aggregate"};
    for (int i = 0; i < n; i++) {
        fprintf(html, "<details class=\"arm\"><summary>");
        swatch(html, &runs[i]);
        ft_html_escape(html, runs[i].label);
        fprintf(html, ": norms, their distribution, decisions, shares</summary>\n");
        char prefix[32], stem[64], cap[256];
        ft_plot_arm_prefix(i, prefix, sizeof prefix);
        for (int k = 0; k < 4; k++) {
            snprintf(stem, sizeof stem, "%s%s", prefix, stems[k]);
            snprintf(cap, sizeof cap, "%s: %s", runs[i].label, caps[k]);
            ft_html_embed_svg(html, out_dir, stem, cap);
        }
        fprintf(html, "</details>\n");
    }
}

static void plots(FILE *html, const ft_report_run_t *runs, int n, const char *out_dir)
{
    static const char *const shaded = "; shaded: rounds with an attacker";
    char cap[256];
    fprintf(html, "<h2>Plots</h2>\n<p class=\"attack-rounds\"><span class=\"shade\"></span>"
                  "Shaded: rounds in which an attacker took part. Each run is drawn in its "
                  "defense's colour, the same in every report.</p>\n");
    if (n == 1) {
        snprintf(cap, sizeof cap, "main-task accuracy (zoomed axis)%s", shaded);
        ft_html_embed_svg(html, out_dir, "accuracy", cap);
        snprintf(cap, sizeof cap, "backdoor accuracy%s", shaded);
        ft_html_embed_svg(html, out_dir, "backdoor", cap);
        snprintf(cap, sizeof cap, "update norms%s", shaded);
        ft_html_embed_svg(html, out_dir, "norms", cap);
        snprintf(cap, sizeof cap,
                 "update norms as received per round: honest updates' quartiles (box), "
                 "median and range; each attacker update in red%s",
                 shaded);
        ft_html_embed_svg(html, out_dir, "norm_dist", cap);
        ft_html_embed_svg(html, out_dir, "decisions", "defense decisions, counts per round");
        snprintf(cap, sizeof cap, "attackers' share of the aggregate%s", shaded);
        ft_html_embed_svg(html, out_dir, "shares", cap);
    } else {
        /* The backdoor is the story; main accuracy shows what it cost. */
        snprintf(cap, sizeof cap, "backdoor accuracy%s", shaded);
        ft_html_embed_svg(html, out_dir, "compare_backdoor", cap);
        snprintf(cap, sizeof cap, "main-task accuracy (zoomed axis)%s", shaded);
        ft_html_embed_svg(html, out_dir, "compare_main", cap);
        arms(html, runs, n, out_dir);
    }
}

static void configs(FILE *html, const ft_report_run_t *runs, int n)
{
    for (int i = 0; i < n; i++) {
        char cfg_path[4096];
        snprintf(cfg_path, sizeof cfg_path, "%s/config.ini", runs[i].dir);
        char *cfg = NULL;
        size_t len = 0;
        if (ft_read_file(cfg_path, &cfg, &len) != FT_OK) {
            ft_error_clear();
            continue;
        }
        fprintf(html, "<details><summary>Configuration of ");
        ft_html_escape(html, runs[i].label);
        fprintf(html, "</summary><pre>");
        ft_html_escape(html, cfg);
        fprintf(html, "</pre></details>\n");
        ft_free(cfg);
    }
}

int ft_html_write(const ft_report_run_t *runs, int n, const char *out_dir, int have_plots)
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
            "1000px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:.5em 0}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
            "td:first-child,#settings td{text-align:left}figure{margin:1em 0}svg{max-width:100%%;"
            "height:auto}pre{background:#f6f6f6;padding:1em;overflow:auto}.destroyed{color:#b00;"
            "font-weight:bold}#verdict p{font-size:1.15em;margin:.3em 0}.swatch{display:"
            "inline-block;width:.8em;height:.8em;margin-right:.4em;border-radius:2px}"
            ".shade{display:inline-block;width:1.4em;height:.9em;background:#f6d5d5;"
            "margin-right:.4em;vertical-align:middle}.note{color:#555;font-size:.9em}"
            "%s</style></head><body>\n<h1>fedtail report</h1>\n",
            ft_heatstrip_css());
    verdicts(html, runs, n);
    settings(html, runs, n);
    summary(html, runs, n);
    if (!have_plots)
        fprintf(html, "<h2>Plots</h2>\n<p>No plots: gnuplot was not available.</p>\n");
    else
        plots(html, runs, n, out_dir);
    ft_heatstrip_write(html, runs, n);
    if (n > 1)
        config_diff(html, runs, n);
    configs(html, runs, n);
    return ft_html_finish(html, tmp, path);
}

int ft_html_finish(FILE *html, const char *tmp, const char *path)
{
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
