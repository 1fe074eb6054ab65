/* Tests for report/: the CSV reader, verdicts, and rendering a report from a
 * hand-made metrics.csv (plots need gnuplot; skipped without it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_csv.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_alloc.h"
#include "ft_norm_dist.h"
#include "ft_palette.h"
#include "ft_report.h"
#include "ft_seed_summary.h"
#include "ft_stat.h"
#include "ft_sweep.h"
#include "ft_sweep_html.h"
#include "ft_verdict.h"
#include "ft_test_tmpdir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[FT_TEST_TMPDIR_MAX];

static int setup(void **state)
{
    (void)state;
    return ft_test_tmpdir_make(dir, sizeof dir, "report");
}

static int teardown(void **state)
{
    (void)state;
    return ft_test_tmpdir_remove(dir);
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, name);
    assert_int_equal(ft_write_file_atomic(path, text, strlen(text)), FT_OK);
}

static const char *metrics = "round,main_acc,backdoor_acc,attackers,honest_norm_mean\n"
                             "1,0.50,0.10,0,1.5\n"
                             "2,0.60,0.90,1,1.4\n"
                             "3,0.70,0.40,0,\n";

static void test_csv_reads_columns_and_nan(void **state)
{
    (void)state;
    write_file("metrics.csv", metrics);
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, "metrics.csv");
    ft_csv_t *csv = NULL;
    assert_int_equal(ft_csv_read(path, &csv), FT_OK);
    assert_int_equal(csv->num_cols, 5);
    assert_int_equal(csv->num_rows, 3);
    assert_int_equal(ft_csv_col(csv, "backdoor_acc"), 2);
    assert_int_equal(ft_csv_col(csv, "nope"), -1);
    assert_true(ft_csv_get(csv, 1, "backdoor_acc") == 0.90);
    assert_true(isnan(ft_csv_get(csv, 2, "honest_norm_mean")));
    assert_true(isnan(ft_csv_get(csv, 0, "nope")));
    ft_csv_destroy(&csv);
    assert_null(csv);
}

static void test_csv_ragged_row_is_error(void **state)
{
    (void)state;
    write_file("bad.csv", "a,b\n1,2\n3\n");
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, "bad.csv");
    ft_csv_t *csv = NULL;
    assert_int_equal(ft_csv_read(path, &csv), FT_EFORMAT);
    assert_null(csv);
    assert_non_null(strstr(ft_error_message(), "bad.csv:3"));
}

/* RFC 4180 cells: the writer quotes what holds a comma or a quote (a sweep's run name
 * "a=1,b=2"), doubles inner quotes, and the reader takes them back; plain cells stay
 * unquoted, and a short buffer gets the length snprintf would return. */
static void test_csv_quoted_cells(void **state)
{
    (void)state;
    char cell[64];
    assert_int_equal(ft_csv_cell(cell, sizeof cell, "plain"), 5);
    assert_string_equal(cell, "plain");
    assert_int_equal(ft_csv_cell(cell, sizeof cell, "a=1,b=2"), 9);
    assert_string_equal(cell, "\"a=1,b=2\"");
    assert_int_equal(ft_csv_cell(cell, sizeof cell, "say \"hi\""), 12);
    assert_string_equal(cell, "\"say \"\"hi\"\"\"");
    assert_int_equal(ft_csv_cell(cell, sizeof cell, "two\nlines"), 11);
    assert_string_equal(cell, "\"two lines\"");
    assert_int_equal(ft_csv_cell(cell, 4, "a=1,b=2"), 9);
    assert_string_equal(cell, "\"a=");
    assert_int_equal(ft_csv_cell(cell, sizeof cell, ""), 0);
    assert_string_equal(cell, "");

    write_file("q.csv", "run,x,final\n\"a=1,b=2\",\"say \"\"hi\"\"\",0.5\n\"\",,\"1,5\"\n");
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, "q.csv");
    ft_csv_t *csv = NULL;
    assert_int_equal(ft_csv_read(path, &csv), FT_OK);
    assert_int_equal(csv->num_cols, 3);
    assert_int_equal(csv->num_rows, 2);
    assert_string_equal(csv->text[0], "a=1,b=2");
    assert_string_equal(csv->text[1], "say \"hi\"");
    assert_true(ft_csv_get(csv, 0, "final") == 0.5);
    assert_string_equal(csv->text[3], "");
    assert_string_equal(csv->text[5], "1,5");
    assert_true(isnan(ft_csv_get(csv, 1, "final")));
    ft_csv_destroy(&csv);
}

static void test_verdict(void **state)
{
    (void)state;
    write_file("metrics.csv", metrics);
    char buf[512];
    assert_int_equal(ft_report_verdict(dir, buf, sizeof buf), FT_OK);
    /* Final main 70.0%, peak backdoor 90.0%, final 40.0% => did not persist. */
    assert_non_null(strstr(buf, "70.0%"));
    assert_non_null(strstr(buf, "peak 90.0%"));
    assert_non_null(strstr(buf, "does not last"));
}

/* A run whose model a round destroyed (nonfinite_params > 0 from round 2 on): the
 * verdict names that round and makes no backdoor claim, however high the
 * backdoor_acc of the dead model reads. A zero column is a finite model. */
static const char *destroyed = "round,main_acc,backdoor_acc,attackers,nonfinite_params\n"
                               "1,0.50,0.10,0,0\n"
                               "2,0.10,1.00,1,1210\n"
                               "3,0.10,1.00,0,1210\n";

static void test_verdict_destroyed(void **state)
{
    (void)state;
    write_file("metrics.csv", destroyed);
    char buf[512];
    assert_int_equal(ft_report_verdict(dir, buf, sizeof buf), FT_OK);
    assert_non_null(strstr(buf, "verdict: the model was destroyed in round 2 (1210 parameters"));
    assert_null(strstr(buf, "LANDS"));
    assert_null(strstr(buf, "STOPPED"));
    assert_int_equal(ft_report_verdict_line(dir, buf, sizeof buf), FT_OK);
    assert_non_null(strstr(buf, "the model was destroyed in round 2"));
    assert_null(strstr(buf, "LANDS"));
    ft_run_summary_t s;
    assert_int_equal(ft_run_summarise(dir, &s), FT_OK);
    assert_int_equal(s.destroyed_round, 2);
    /* every round finite: the usual verdict */
    write_file("metrics.csv", "round,main_acc,backdoor_acc,attackers,nonfinite_params\n"
                              "1,0.50,0.10,0,0\n"
                              "2,0.60,0.90,1,0\n");
    assert_int_equal(ft_report_verdict_line(dir, buf, sizeof buf), FT_OK);
    assert_non_null(strstr(buf, "the backdoor LANDS"));
    assert_null(strstr(buf, "destroyed"));
    assert_int_equal(ft_run_summarise(dir, &s), FT_OK);
    assert_int_equal(s.destroyed_round, 0);
    /* report.html says it too (with or without gnuplot) */
    write_file("metrics.csv", destroyed);
    const char *runs[] = {dir};
    int rc = ft_report_render(runs, 1, dir);
    assert_true(rc == FT_OK || rc == FT_EUNSUPPORTED);
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, "report.html");
    char *html = NULL;
    size_t len = 0;
    assert_int_equal(ft_read_file(path, &html, &len), FT_OK);
    assert_non_null(strstr(html, "the model was destroyed in round 2"));
    ft_free(html);
}

static void test_render_report(void **state)
{
    (void)state;
    if (system("command -v gnuplot >/dev/null 2>&1") != 0)
        skip();
    write_file("metrics.csv", metrics);
    write_file("config.ini", "[model]\nname = <lenet5>\n");
    const char *runs[] = {dir};
    assert_int_equal(ft_report_render(runs, 1, dir), FT_OK);
    const char *files[] = {"accuracy.png", "accuracy.svg", "norms.png", "report.html"};
    for (int i = 0; i < 4; i++) {
        char path[512];
        ft_test_tmpdir_path(path, sizeof path, dir, files[i]);
        assert_true(ft_path_exists(path));
    }
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, "report.html");
    char *html = NULL;
    size_t len = 0;
    assert_int_equal(ft_read_file(path, &html, &len), FT_OK);
    assert_non_null(strstr(html, "<svg"));           /* plots embedded inline */
    assert_non_null(strstr(html, "&lt;lenet5&gt;")); /* config escaped */
    assert_non_null(strstr(html, "90.0%"));          /* peak backdoor in the summary */
    assert_null(strstr(html, "decisions"));          /* no defense columns, no such plot */
    ft_free(html);
}

/* A rule that does not select: no decisions plot (its detection columns are empty),
 * but the attackers' share plot and their mean weight in the summary table. */
static void test_render_shares(void **state)
{
    (void)state;
    if (system("command -v gnuplot >/dev/null 2>&1") != 0)
        skip();
    write_file("metrics.csv", "round,main_acc,backdoor_acc,attackers,attackers_kept,"
                              "honest_dropped,attacker_weight,attacker_norm_share\n"
                              "1,0.5,0.1,1,,,0.125,0.5\n"
                              "2,0.6,0.9,0,,,,\n"
                              "3,0.7,0.4,1,,,0.375,0.25\n");
    write_file("config.ini", "[model]\nname = mlp\n");
    const char *runs[] = {dir};
    assert_int_equal(ft_report_render(runs, 1, dir), FT_OK);
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, "shares.svg");
    assert_true(ft_path_exists(path));
    ft_test_tmpdir_path(path, sizeof path, dir, "report.html");
    char *html = NULL;
    size_t len = 0;
    assert_int_equal(ft_read_file(path, &html, &len), FT_OK);
    assert_non_null(strstr(html, "<th>attacker weight</th>"));
    assert_non_null(strstr(html, "<td>25.0%</td>")); /* (0.125 + 0.375) / 2 */
    assert_null(strstr(html, "decisions"));
    ft_free(html);
}

/* The section of dir/plots.gp that draws stem's PNG: from its "set output" line to
 * the next "reset session". Caller frees *script. */
static const char *plot_section(const char *run_dir, const char *stem, char **script, char **end)
{
    char path[600], out[700];
    snprintf(path, sizeof path, "%s/plots.gp", run_dir);
    size_t len = 0;
    assert_int_equal(ft_read_file(path, script, &len), FT_OK);
    snprintf(out, sizeof out, "set output '%s/%s.png'", run_dir, stem);
    char *start = strstr(*script, out);
    assert_non_null(start);
    *end = strstr(start, "reset session");
    if (!*end)
        *end = start + strlen(start);
    return start;
}

/* Reads "set <axis>range [a:b]" within [start, end). */
static void range_in(const char *start, const char *end, const char *axis, double *a, double *b)
{
    char key[32];
    snprintf(key, sizeof key, "set %srange [", axis);
    const char *p = strstr(start, key);
    assert_non_null(p);
    assert_true(p < end);
    assert_int_equal(sscanf(p + strlen(key), "%lf:%lf", a, b), 2);
}

/* Axes of a one-run report, against values computed here from the metrics below:
 * main accuracy 81..84% over rounds 1..7, attackers in rounds 3, 4 and 6. */
static void test_plot_axes(void **state)
{
    (void)state;
    if (system("command -v gnuplot >/dev/null 2>&1") != 0)
        skip();
    write_file("metrics.csv", "round,main_acc,backdoor_acc,attackers,clients,attackers_kept,"
                              "honest_dropped,honest_norm_mean\n"
                              "1,0.81,0.00,0,10,0,0,1.0\n"
                              "2,0.82,0.05,0,10,0,1,1.0\n"
                              "3,0.83,0.20,2,10,1,3,1.0\n"
                              "4,0.84,0.40,1,10,1,0,1.0\n"
                              "5,0.83,0.30,0,10,0,0,1.0\n"
                              "6,0.82,0.60,1,10,0,2,1.0\n"
                              "7,0.82,0.50,0,10,0,0,1.0\n");
    write_file("config.ini", "[defense]\nname = krum\n");
    const char *runs[] = {dir};
    assert_int_equal(ft_report_render(runs, 1, dir), FT_OK);

    /* Main accuracy zoomed: [floor(81 - 2), ceil(84 + 2)] (margin max(2, 0.3)). */
    char *script = NULL, *end = NULL;
    const char *acc = plot_section(dir, "accuracy", &script, &end);
    double y0, y1, x0, x1;
    range_in(acc, end, "y", &y0, &y1);
    assert_true(y0 == 79.0 && y1 == 86.0);
    /* x from the first to the last round: no autoscaled tail past round 7. */
    range_in(acc, end, "x", &x0, &x1);
    assert_true(x0 == 1.0 && x1 == 7.0);
    /* Attack rounds 3-4 and 6 shaded, as two stretches, and nothing else. */
    assert_non_null(strstr(acc, "set object rect from 2.5, graph 0 to 4.5, graph 1"));
    assert_non_null(strstr(acc, "set object rect from 5.5, graph 0 to 6.5, graph 1"));
    int rects = 0;
    for (const char *p = acc; (p = strstr(p, "set object rect")) && p < end; p++)
        rects++;
    assert_int_equal(rects, 2);
    /* Drawn in krum's colour, the colour krum has everywhere. */
    char lc[64];
    snprintf(lc, sizeof lc, "lc rgb '%s' title 'main task'", ft_palette_defense("krum"));
    assert_non_null(strstr(acc, lc));
    ft_free(script);

    /* The backdoor keeps 0-100 with room for the 0% line, and that line is drawn. */
    const char *bd = plot_section(dir, "backdoor", &script, &end);
    range_in(bd, end, "y", &y0, &y1);
    assert_true(y0 < 0 && y1 > 100 && y1 - y0 < 110);
    const char *zero = strstr(bd, "first 0 to graph 1, first 0 nohead");
    assert_true(zero && zero < end);
    range_in(bd, end, "x", &x0, &x1);
    assert_true(x1 == 7.0);
    ft_free(script);

    /* Decisions: bars whole at both ends, integer counts up to one above the most
     * (3 honest dropped in round 3). */
    const char *dec = plot_section(dir, "decisions", &script, &end);
    range_in(dec, end, "x", &x0, &x1);
    assert_true(x0 == 0.5 && x1 == 7.5);
    range_in(dec, end, "y", &y0, &y1);
    assert_true(y0 == 0.0 && y1 == 4.0);
    const char *tics = strstr(dec, "set ytics 0, 1\n");
    assert_true(tics && tics < end);
    ft_free(script);

    /* An SVG beside every PNG, and the shading is in the SVG. */
    const char *stems[] = {"accuracy", "backdoor", "norms", "decisions"};
    for (int i = 0; i < 4; i++) {
        char png[600], svg[600];
        snprintf(png, sizeof png, "%s/%s.png", dir, stems[i]);
        snprintf(svg, sizeof svg, "%s/%s.svg", dir, stems[i]);
        assert_true(ft_path_exists(png));
        assert_true(ft_path_exists(svg));
    }
    char path[600];
    snprintf(path, sizeof path, "%s/accuracy.svg", dir);
    char *svg = NULL;
    size_t len = 0;
    assert_int_equal(ft_read_file(path, &svg, &len), FT_OK);
    assert_non_null(strstr(svg, "rgb(246, 213, 213)")); /* SHADE, #f6d5d5 */
    ft_free(svg);
}

/* Writes a run directory name under dir with a metrics.csv and a config.ini naming
 * its defense; path receives the directory. */
static void make_arm(const char *name, const char *defense, const char *csv, char *path, size_t len)
{
    ft_test_tmpdir_path(path, len, dir, name);
    assert_int_equal(ft_mkdir_p(path), FT_OK);
    char file[700], cfg[128];
    snprintf(file, sizeof file, "%s/metrics.csv", path);
    assert_int_equal(ft_write_file_atomic(file, csv, strlen(csv)), FT_OK);
    snprintf(file, sizeof file, "%s/config.ini", path);
    snprintf(cfg, sizeof cfg, "[defense]\nname = %s\n[federation]\nrounds = 3\n", defense);
    assert_int_equal(ft_write_file_atomic(file, cfg, strlen(cfg)), FT_OK);
}

/* The colour given to a label's line in out/plots.gp's compare_main section. */
static void colour_of(const char *out, const char *label, char *colour)
{
    char *script = NULL, *end = NULL;
    const char *sec = plot_section(out, "compare_main", &script, &end);
    char key[160];
    snprintf(key, sizeof key, "' title '%s'", label);
    const char *p = strstr(sec, key);
    assert_true(p && p < end);
    assert_true(p - sec > 7);
    memcpy(colour, p - 7, 7); /* "#rrggbb" right before the key */
    colour[7] = 0;
    assert_true(colour[0] == '#');
    ft_free(script);
}

/* krum is the same colour in two reports that compare it with different rules in
 * a different order; different rules get different colours; the comparison
 * plots shade the attack rounds of any arm (a: round 2, b: round 3) and zoom main
 * accuracy over every arm. */
static void test_compare_colours_and_markers(void **state)
{
    (void)state;
    if (system("command -v gnuplot >/dev/null 2>&1") != 0)
        skip();
    const char *a = "round,main_acc,backdoor_acc,attackers\n1,0.70,0.1,0\n2,0.72,0.5,1\n"
                    "3,0.74,0.9,0\n";
    const char *b = "round,main_acc,backdoor_acc,attackers\n1,0.60,0.0,0\n2,0.66,0.0,0\n"
                    "3,0.69,0.1,1\n";
    char krum[600], fedavg[600], median[600], rfa[600], out1[600], out2[600];
    make_arm("arm-krum", "krum", a, krum, sizeof krum);
    make_arm("arm-fedavg", "fedavg", b, fedavg, sizeof fedavg);
    make_arm("arm-median", "median", b, median, sizeof median);
    make_arm("arm-rfa", "rfa", a, rfa, sizeof rfa);
    ft_test_tmpdir_path(out1, sizeof out1, dir, "cmp1");
    ft_test_tmpdir_path(out2, sizeof out2, dir, "cmp2");
    const char *r1[] = {krum, fedavg};
    const char *r2[] = {median, rfa, krum};
    assert_int_equal(ft_report_render(r1, 2, out1), FT_OK);
    assert_int_equal(ft_report_render(r2, 3, out2), FT_OK);
    char c1[8], c2[8], cf[8], cm[8], cr[8];
    colour_of(out1, "arm-krum", c1);
    colour_of(out2, "arm-krum", c2);
    colour_of(out1, "arm-fedavg", cf);
    colour_of(out2, "arm-median", cm);
    colour_of(out2, "arm-rfa", cr);
    assert_string_equal(c1, c2);
    assert_string_not_equal(c1, cf);
    assert_string_not_equal(cm, cr);
    assert_string_not_equal(cm, c2);
    /* Every built-in rule its own colour, spelt as the registry does; a sweep's run
     * name may spell it with '_' and gets the same colour. */
    const char *rules[] = {
        "fedavg",  "none",   "norm-clipping", "weak-dp",   "krum",      "multi-krum",
        "rfa",     "median", "trimmed-mean",  "bulyan",    "foolsgold", "centered-clipping",
        "fltrust", "rlr",    "crfl",          "bucketing", "dnc",       "signguard",
        "flame",   "rflbat", "fldetector"};
    int nrules = (int)(sizeof rules / sizeof rules[0]);
    for (int i = 0; i < nrules; i++)
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ft_palette_defense(rules[i]), ft_palette_defense(rules[j]));
    assert_string_equal(ft_palette_defense("norm-clipping"), ft_palette_defense("norm_clipping"));
    assert_string_equal(ft_palette_defense("multi_krum"), ft_palette_defense("multi-krum"));
    assert_string_not_equal(ft_palette_defense("multi-krum"), ft_palette_defense("multi-krum2"));
    /* A label with a quote and underscores still plots, as typed. */
    char odd[600], out3[600];
    make_arm("it's_a_run", "krum", a, odd, sizeof odd);
    ft_test_tmpdir_path(out3, sizeof out3, dir, "cmp3");
    const char *r3[] = {odd, fedavg};
    assert_int_equal(ft_report_render(r3, 2, out3), FT_OK);
    char *gp = NULL, *gend = NULL;
    const char *gsec = plot_section(out3, "compare_main", &gp, &gend);
    const char *noenh = strstr(gsec, "set termoption noenhanced");
    assert_true(noenh && noenh < gend);
    assert_non_null(strstr(gsec, "title 'it''s_a_run'"));
    ft_free(gp);
    /* A name outside the table keeps one colour too. */
    assert_string_equal(ft_palette_defense("my_plugin"), ft_palette_defense("my_plugin"));

    char *script = NULL, *end = NULL;
    const char *sec = plot_section(out2, "compare_main", &script, &end);
    double y0, y1, x0, x1;
    range_in(sec, end, "y", &y0, &y1);
    assert_true(y0 == 58.0 && y1 == 76.0); /* 60..74: margin 2 */
    range_in(sec, end, "x", &x0, &x1);
    assert_true(x0 == 1.0 && x1 == 3.0);
    const char *rect = strstr(sec, "set object rect from 1.5, graph 0 to 3.5, graph 1");
    assert_true(rect && rect < end);
    ft_free(script);
    sec = plot_section(out2, "compare_backdoor", &script, &end);
    rect = strstr(sec, "set object rect from 1.5, graph 0 to 3.5, graph 1");
    assert_true(rect && rect < end);
    ft_free(script);

    /* report.html: the verdict before everything else, each arm's defense, the
     * keys that differ between arms and only those. */
    char path[700];
    snprintf(path, sizeof path, "%s/report.html", out2);
    char *html = NULL;
    size_t len = 0;
    assert_int_equal(ft_read_file(path, &html, &len), FT_OK);
    const char *verdict = strstr(html, "<section id=\"verdict\">");
    const char *settings = strstr(html, "<table id=\"settings\">");
    const char *summary = strstr(html, "<table id=\"summary\">");
    const char *plots = strstr(html, "<h2>Plots</h2>");
    assert_true(verdict && settings && summary && plots);
    assert_true(verdict < settings && settings < summary && summary < plots);
    assert_non_null(strstr(verdict, "arm-krum</b>: main 74.0%, backdoor 90.0%"));
    const char *diff = strstr(html, "<table id=\"config-diff\">");
    assert_non_null(diff);
    assert_non_null(
        strstr(diff, "<code>defense.name</code></td><td>median</td><td>rfa</td><td>krum"));
    assert_null(strstr(diff, "<code>federation.rounds</code>"));
    assert_non_null(strstr(html, "class=\"attack-rounds\""));
    ft_free(html);
}

/* Kept/dropped counts and the effective shares in the summary; the decision strip
 * from events.jsonl with the attacker's row first and marked. */
static void test_html_decisions(void **state)
{
    (void)state;
    write_file("metrics.csv", "round,main_acc,backdoor_acc,attackers,clients,attackers_kept,"
                              "honest_dropped,attacker_weight,attacker_norm_share\n"
                              "1,0.5,0.1,1,3,1,0,0.25,0.5\n"
                              "2,0.6,0.2,0,3,0,1,,\n"
                              "3,0.7,0.3,1,3,0,1,0.0,0.0\n");
    write_file("config.ini", "[defense]\nname = multi_krum\n[attack]\nmethod = pgd\n");
    write_file("events.jsonl",
               "{\"t\":0.1,\"event\":\"round_start\",\"round\":1}\n"
               "{\"t\":0.2,\"event\":\"decision\",\"round\":1,\"client\":4,\"attacker\":false,"
               "\"decision\":\"kept\",\"clip\":1}\n"
               "{\"t\":0.2,\"event\":\"decision\",\"round\":1,\"client\":7,\"attacker\":true,"
               "\"decision\":\"kept\",\"clip\":1}\n"
               "{\"t\":0.2,\"event\":\"decision\",\"round\":1,\"client\":2,\"attacker\":false,"
               "\"decision\":\"kept\",\"clip\":1}\n"
               "{\"t\":0.3,\"event\":\"decision\",\"round\":2,\"client\":4,\"attacker\":false,"
               "\"decision\":\"dropped\",\"clip\":1}\n"
               "{\"t\":0.4,\"event\":\"decision\",\"round\":3,\"client\":7,\"attacker\":true,"
               "\"decision\":\"dropped\",\"clip\":1}\n"
               "{\"t\":0.4,\"event\":\"decision\",\"round\":3,\"client\":2,\"attacker\":false,"
               "\"decision\":\"dropped\",\"clip\":1}\n");
    const char *runs[] = {dir};
    int rc = ft_report_render(runs, 1, dir);
    assert_true(rc == FT_OK || rc == FT_EUNSUPPORTED);
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, "report.html");
    char *html = NULL;
    size_t len = 0;
    assert_int_equal(ft_read_file(path, &html, &len), FT_OK);
    /* 2 attacker updates, 1 kept; 7 honest (9 - 2), 2 dropped. */
    assert_non_null(strstr(html, "<td class=\"kept\">1 of 2</td>"));
    assert_non_null(strstr(html, "<td class=\"dropped\">2 of 7</td>"));
    /* weight (0.25 + 0) / 2, norm share (0.5 + 0) / 2 */
    assert_non_null(strstr(html, "<td>12.5%</td><td>25.0%</td>"));
    assert_non_null(strstr(html, "multi_krum"));
    const char *strip =
        strstr(html, "<table class=\"strip\" data-rounds=\"3\" data-clients=\"3\">");
    assert_non_null(strip);
    /* The attacker (client 7) is the first row, marked; its round 2 is blank (not
     * sampled), round 3 dropped. */
    assert_non_null(strstr(strip, "<tr class=\"rounds\"><th>round</th><td>1</td><td></td><td></td>"
                                  "</tr>"));
    const char *row = strstr(strip, "<tr class=\"attacker\"");
    assert_true(row && row < strstr(strip, "<th>client"));
    assert_non_null(row);
    assert_true(strncmp(row,
                        "<tr class=\"attacker\"><th class=\"attacker\">attacker 7</th>"
                        "<td class=\"k\" title=\"round 1\"></td><td></td>"
                        "<td class=\"d\" title=\"round 3\"></td></tr>",
                        strlen("<tr class=\"attacker\"><th class=\"attacker\">attacker 7</th>"
                               "<td class=\"k\" title=\"round 1\"></td><td></td>"
                               "<td class=\"d\" title=\"round 3\"></td></tr>")) == 0);
    assert_non_null(strstr(strip, "<tr><th>client 2</th>"));
    assert_non_null(strstr(strip, "<tr><th>client 4</th>"));
    assert_true(strstr(strip, "client 2") < strstr(strip, "client 4"));
    ft_free(html);
    /* Without decision events: no strip section at all. */
    ft_test_tmpdir_path(path, sizeof path, dir, "events.jsonl");
    remove(path);
    rc = ft_report_render(runs, 1, dir);
    assert_true(rc == FT_OK || rc == FT_EUNSUPPORTED);
    ft_test_tmpdir_path(path, sizeof path, dir, "report.html");
    assert_int_equal(ft_read_file(path, &html, &len), FT_OK);
    assert_null(strstr(html, "decisions-strip"));
    ft_free(html);
}

/* The update-norm distribution: from the decision events' "norm" (as received), per
 * round the honest updates' quartiles as numpy.percentile gives them (linear), the
 * attacker updates as points; a null norm (NaN payload), a decision event of an older
 * run without "norm" and other events are left out. Hand-worked: round 1's honest
 * norms 4, 1, 3, 2 sort to 1 2 3 4: q1 at position 0.75 = 1.75, median 2.5, q3 at
 * 2.25 = 3.25. */
static void test_norm_distribution(void **state)
{
    (void)state;
    const double four[] = {1, 2, 3, 4};
    assert_true(ft_norm_quantile(four, 4, 0.25) == 1.75);
    assert_true(ft_norm_quantile(four, 4, 0.5) == 2.5);
    assert_true(ft_norm_quantile(four, 4, 0.75) == 3.25);
    assert_true(ft_norm_quantile(four, 4, 1.0) == 4);
    assert_true(ft_norm_quantile(four, 1, 0.75) == 1);
    write_file("metrics.csv", "round,main_acc,backdoor_acc,attackers,honest_norm_mean\n"
                              "1,0.5,0.1,1,2.5\n"
                              "2,0.6,0.2,1,5\n"
                              "3,0.7,0.3,0,\n");
    write_file("config.ini", "[defense]\nname = fedavg\n");
    const char *ev = "{\"t\":0.1,\"event\":\"update\",\"round\":1,\"client\":3,\"norm\":99}\n"
                     "{\"t\":0.2,\"event\":\"decision\",\"round\":1,\"client\":4,"
                     "\"attacker\":false,\"decision\":\"kept\",\"contribution\":1,\"norm\":4}\n"
                     "{\"t\":0.2,\"event\":\"decision\",\"round\":1,\"client\":2,"
                     "\"attacker\":false,\"decision\":\"kept\",\"norm\":1}\n"
                     "{\"t\":0.2,\"event\":\"decision\",\"round\":1,\"client\":7,"
                     "\"attacker\":true,\"decision\":\"kept\",\"norm\":10}\n"
                     "{\"t\":0.2,\"event\":\"decision\",\"round\":1,\"client\":5,"
                     "\"attacker\":false,\"decision\":\"kept\",\"norm\":3}\n"
                     "{\"t\":0.2,\"event\":\"decision\",\"round\":1,\"client\":6,"
                     "\"attacker\":false,\"decision\":\"kept\",\"norm\":2}\n"
                     "{\"t\":0.3,\"event\":\"decision\",\"round\":2,\"client\":4,"
                     "\"attacker\":false,\"decision\":\"kept\",\"norm\":5}\n"
                     "{\"t\":0.3,\"event\":\"decision\",\"round\":2,\"client\":7,"
                     "\"attacker\":true,\"decision\":\"kept\",\"norm\":null}\n"
                     "{\"t\":0.4,\"event\":\"decision\",\"round\":3,\"client\":2,"
                     "\"attacker\":false,\"decision\":\"kept\"}\n";
    write_file("events.jsonl", ev);
    ft_norm_dist_t d;
    assert_int_equal(ft_norm_dist_load(dir, &d), FT_OK);
    assert_int_equal(d.num_boxes, 2);
    const ft_norm_box_t *b = &d.boxes[0];
    assert_int_equal(b->round, 1);
    assert_int_equal(b->n, 4);
    assert_true(b->min == 1 && b->q1 == 1.75 && b->median == 2.5 && b->q3 == 3.25 && b->max == 4);
    b = &d.boxes[1];
    assert_true(b->round == 2 && b->n == 1 && b->min == 5 && b->q1 == 5 && b->max == 5);
    assert_int_equal(d.num_attackers, 1);
    assert_true(d.attackers[0].round == 1 && d.attackers[0].client == 7 &&
                d.attackers[0].norm == 10);
    assert_true(d.lo == 1 && d.hi == 10);
    ft_norm_dist_free(&d);
    assert_null(d.boxes);

    if (system("command -v gnuplot >/dev/null 2>&1") != 0)
        skip();
    const char *runs[] = {dir};
    assert_int_equal(ft_report_render(runs, 1, dir), FT_OK);
    char *script = NULL, *end = NULL;
    const char *sec = plot_section(dir, "norm_dist", &script, &end);
    const char *box = strstr(sec, "$boxes << EOD\n1 1 1.75 2.5 3.25 4 4\n2 5 5 5 5 5 1\nEOD\n");
    assert_true(box && box < end);
    const char *att = strstr(sec, "$attackers << EOD\n1 10 7\nEOD\n");
    assert_true(att && att < end);
    const char *lin = strstr(sec, "set yrange [0:*]"); /* 1 to 10: a linear axis */
    assert_true(lin && lin < end);
    const char *shade = strstr(sec, "set object rect from 0.5, graph 0 to 2.5, graph 1");
    assert_true(shade && shade < end); /* attackers in rounds 1-2 */
    const char *red = strstr(sec, "with points pt 9 ps 1.3 lc rgb '#d62728' title 'attacker");
    assert_true(red && red < end);
    ft_free(script);
    char path[600];
    snprintf(path, sizeof path, "%s/norm_dist.svg", dir);
    assert_true(ft_path_exists(path));
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = NULL;
    size_t len = 0;
    assert_int_equal(ft_read_file(path, &html, &len), FT_OK);
    assert_non_null(strstr(html, "<figure id=\"plot-norm_dist\"><svg"));
    ft_free(html);

    /* A boosted attacker (norm 1000, 1000x the smallest): a log axis. */
    char *boosted = ft_malloc(strlen(ev) + 8);
    assert_non_null(boosted);
    strcpy(boosted, ev);
    char *ten = strstr(boosted, "\"norm\":10}");
    memmove(ten + 9, ten + 7, strlen(ten + 7) + 1); /* "10}" -> "1010}" -> "1000}" */
    memcpy(ten + 7, "1000", 4);
    assert_non_null(strstr(boosted, "\"norm\":1000}\n"));
    write_file("events.jsonl", boosted);
    ft_free(boosted);
    assert_int_equal(ft_report_render(runs, 1, dir), FT_OK);
    sec = plot_section(dir, "norm_dist", &script, &end);
    const char *log = strstr(sec, "set logscale y");
    assert_true(log && log < end);
    att = strstr(sec, "$attackers << EOD\n1 1000 7\nEOD\n");
    assert_true(att && att < end);
    ft_free(script);
}

/* The sweep heatmap: PNG and SVG, labels as typed (no enhanced-text subscripts). */
static void test_heatmap_files(void **state)
{
    (void)state;
    if (system("command -v gnuplot >/dev/null 2>&1") != 0)
        skip();
    const char *rows[] = {"pgd", "blackbox"};
    const char *cols[] = {"norm_clipping", "krum"};
    const double v[] = {0.5, 0.25, NAN, 1.0};
    assert_int_equal(ft_report_heatmap(dir, "hm", "Backdoor", "attack.method", rows, 2,
                                       "defense.name", cols, 2, v),
                     FT_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/hm.png", dir);
    assert_true(ft_path_exists(path));
    snprintf(path, sizeof path, "%s/hm.svg", dir);
    assert_true(ft_path_exists(path));
    char *svg = NULL;
    size_t len = 0;
    assert_int_equal(ft_read_file(path, &svg, &len), FT_OK);
    assert_non_null(strstr(svg, ">norm_clipping<"));
    ft_free(svg);
}

static void test_render_missing_run_names_file(void **state)
{
    (void)state;
    const char *runs[] = {"/nonexistent/run"};
    assert_int_equal(ft_report_render(runs, 1, dir), FT_EIO);
    assert_non_null(strstr(ft_error_message(), "/nonexistent/run/metrics.csv"));
}

static void test_sweep_grid(void **state)
{
    (void)state;
    write_file("base.ini", "[federation]\nrounds = 3\n");
    write_file("grid.ini", "[sweep]\nbase = base.ini\n[grid]\nattack.method = pgd, blackbox\n"
                           "defense.name = fedavg,krum , rfa\n[set]\nfederation.rounds = 2\n");
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, "grid.ini");
    ft_sweep_t sw;
    assert_int_equal(ft_sweep_load(path, &sw), FT_OK);
    assert_string_equal(sw.name, "grid");
    char base[600];
    ft_test_tmpdir_path(base, sizeof base, dir, "base.ini");
    assert_string_equal(sw.base, base);
    assert_int_equal(sw.num_axes, 2);
    assert_int_equal(ft_sweep_num_runs(&sw), 6);
    assert_string_equal(sw.axes[1].values[1], "krum");
    assert_string_equal(sw.sets[0], "federation.rounds=2");
    char name[256];
    ft_sweep_run_name(&sw, 4, name, sizeof name); /* run 4 = (blackbox, krum) */
    assert_string_equal(name, "attack.method=blackbox,defense.name=krum");
    ft_sweep_run_name_v1(&sw, 4, name, sizeof name); /* what older sweeps named it */
    assert_string_equal(name, "method=blackbox_name=krum");
    /* Values that are not filesystem-safe: '/', spaces, quotes, a leading '.'. */
    write_file("grid2.ini", "[sweep]\nbase = base.ini\n[grid]\nrun.cache_dir = a/b c, x'y\n");
    ft_test_tmpdir_path(path, sizeof path, dir, "grid2.ini");
    assert_int_equal(ft_sweep_load(path, &sw), FT_OK);
    ft_sweep_run_name(&sw, 0, name, sizeof name);
    assert_string_equal(name, "run.cache_dir=a-b-c");
    ft_sweep_run_name(&sw, 1, name, sizeof name);
    assert_string_equal(name, "run.cache_dir=x-y");
}

/* The colour scales: hand-worked endpoints and midpoints of the stops. */
static void test_sweep_colors(void **state)
{
    (void)state;
    char hex[8];
    ft_sweep_color_seq(0, hex);
    assert_string_equal(hex, "#f7fbff");
    ft_sweep_color_seq(50, hex);
    assert_string_equal(hex, "#6baed6");
    ft_sweep_color_seq(100, hex);
    assert_string_equal(hex, "#08306b");
    ft_sweep_color_seq(150, hex); /* clamped */
    assert_string_equal(hex, "#08306b");
    ft_sweep_color_seq(NAN, hex);
    assert_string_equal(hex, "#eeeeee");
    ft_sweep_color_div(0, 10, hex);
    assert_string_equal(hex, "#f7f7f7");
    ft_sweep_color_div(10, 10, hex);
    assert_string_equal(hex, "#b2182b");
    ft_sweep_color_div(-20, 10, hex); /* clamped */
    assert_string_equal(hex, "#2166ac");
    ft_sweep_color_div(-5, 10, hex); /* halfway from #f7f7f7 to #2166ac */
    assert_string_equal(hex, "#8cafd2");
    ft_sweep_color_div(3, 0, hex); /* all cells equal: white */
    assert_string_equal(hex, "#f7f7f7");
}

static void test_sweep_bad_values_named(void **state)
{
    (void)state;
    write_file("bad.ini", "[sweep]\nbase = base.ini\n[grid]\nfederation.rounds = 2, x\n");
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, "bad.ini");
    ft_sweep_t sw;
    assert_int_equal(ft_sweep_load(path, &sw), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "bad.ini:4"));
    assert_non_null(strstr(ft_error_message(), "federation.rounds"));
    write_file("bad2.ini", "[sweep]\nbase = base.ini\n[grid]\nfederation.roundz = 2\n");
    ft_test_tmpdir_path(path, sizeof path, dir, "bad2.ini");
    assert_int_equal(ft_sweep_load(path, &sw), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "roundz"));
}

static void test_run_summary(void **state)
{
    (void)state;
    write_file("metrics.csv", "round,main_acc,backdoor_acc,attackers,attackers_kept,clients,"
                              "honest_dropped\n"
                              "1,0.5,0.2,1,1,10,0\n"
                              "2,0.6,0.7,1,0,10,2\n"
                              "3,0.7,0.3,0,0,10,1\n");
    ft_run_summary_t s;
    assert_int_equal(ft_run_summarise(dir, &s), FT_OK);
    assert_int_equal(s.rounds, 3);
    assert_true(s.final_main_acc == 0.7);
    assert_true(s.peak_backdoor_acc == 0.7);
    assert_true(s.rounds_to_50 == 2);
    /* 2 attacker updates, 1 kept => TPR 0.5; 28 honest, 3 dropped => FPR 3/28. */
    assert_true(fabs(s.detection_tpr - 0.5) < 1e-12);
    assert_true(fabs(s.detection_fpr - 3.0 / 28.0) < 1e-12);
    assert_true(isnan(s.attacker_weight)); /* a run from before the column */

    /* A rule that does not select: the detection columns are empty, so no rates;
     * the shares are averaged over the rounds that have them. */
    write_file("metrics.csv", "round,main_acc,backdoor_acc,attackers,attackers_kept,clients,"
                              "honest_dropped,attacker_weight,attacker_norm_share\n"
                              "1,0.5,0.2,1,,10,,0.1,0.5\n"
                              "2,0.6,0.7,0,,10,,,\n"
                              "3,0.7,0.3,1,,10,,0.3,0.25\n");
    assert_int_equal(ft_run_summarise(dir, &s), FT_OK);
    assert_true(isnan(s.detection_tpr) && isnan(s.detection_fpr));
    assert_true(fabs(s.attacker_weight - 0.2) < 1e-12);
    assert_true(fabs(s.attacker_norm_share - 0.375) < 1e-12);
}

static void test_sweep_variant_axis(void **state)
{
    (void)state;
    write_file("base.ini", "[federation]\nrounds = 3\n");
    write_file("vgrid.ini", "[sweep]\nbase = base.ini\n[grid]\n"
                            "variant = blackbox: attack.method=blackbox; "
                            "pgd+mr: attack.method=pgd attack.model_replacement=true\n"
                            "defense.name = krum, rfa\n[set]\nfederation.rounds = 2\n");
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, "vgrid.ini");
    ft_sweep_t sw;
    assert_int_equal(ft_sweep_load(path, &sw), FT_OK);
    assert_int_equal(ft_sweep_num_runs(&sw), 4);
    char name[256];
    ft_sweep_run_name(&sw, 3, name, sizeof name); /* (pgd+mr, rfa) */
    assert_string_equal(name, "pgd+mr,defense.name=rfa");
    char buf[1024];
    const char *sets[16];
    int n = ft_sweep_run_sets(&sw, 3, buf, sizeof buf, sets, 16);
    assert_int_equal(n, 4);
    assert_string_equal(sets[0], "federation.rounds=2");
    assert_string_equal(sets[1], "attack.method=pgd");
    assert_string_equal(sets[2], "attack.model_replacement=true");
    assert_string_equal(sets[3], "defense.name=rfa");
    write_file("vbad.ini", "[sweep]\nbase = base.ini\n[grid]\n"
                           "variant = a: attack.model_replacement=perhaps\n");
    ft_test_tmpdir_path(path, sizeof path, dir, "vbad.ini");
    assert_int_equal(ft_sweep_load(path, &sw), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.model_replacement"));
    /* A key twice in one section is an error naming both lines; the same key in
     * [grid] and [set] is not. */
    write_file("vdup.ini", "[sweep]\nbase = base.ini\n[grid]\ndefense.name = krum\n"
                           "[set]\nfederation.rounds = 2\n[grid]\ndefense.name = rfa\n");
    ft_test_tmpdir_path(path, sizeof path, dir, "vdup.ini");
    assert_int_equal(ft_sweep_load(path, &sw), FT_ECONFIG);
    assert_non_null(
        strstr(ft_error_message(), "vdup.ini:8: key grid.defense.name is already set on line 4"));
    write_file("vset.ini", "[sweep]\nbase = base.ini\n[grid]\nfederation.rounds = 2, 3\n"
                           "[set]\nfederation.rounds = 4\n");
    ft_test_tmpdir_path(path, sizeof path, dir, "vset.ini");
    assert_int_equal(ft_sweep_load(path, &sw), FT_OK);
    /* A line at libinih's limit (198 characters) loads whole; one more is an error
     * naming the file and line, never a silently shortened variant. */
    char grid[1024], line[300];
    for (int len = 198; len <= 199; len++) {
        const char *head = "variant = long: attack.method="; /* 30 characters */
        snprintf(line, sizeof line, "%s%0*d", head, len - 30, 7);
        assert_int_equal((int)strlen(line), len);
        snprintf(grid, sizeof grid, "[sweep]\nbase = base.ini\n[grid]\n%s\n", line);
        write_file("vlong.ini", grid);
        ft_test_tmpdir_path(path, sizeof path, dir, "vlong.ini");
        int rc = ft_sweep_load(path, &sw);
        if (len == 198) {
            assert_int_equal(rc, FT_OK);
            assert_string_equal(sw.axes[0].sets[0], line + strlen("variant = long: "));
        } else {
            assert_int_equal(rc, FT_ECONFIG);
            assert_non_null(strstr(ft_error_message(), "vlong.ini:4: line of 199 characters"));
        }
    }
}

/* Mean and sample std (n − 1) against hand-worked values. */
static void test_stat_mean_std(void **state)
{
    (void)state;
    ft_stat_t st;
    char buf[64];
    /* nothing finite: n 0, no mean, no std, "-" */
    ft_stat_of((const double[]){NAN, INFINITY}, 2, &st);
    assert_int_equal(st.n, 0);
    assert_true(isnan(st.mean) && isnan(st.std));
    ft_stat_format(buf, sizeof buf, &st, 1);
    assert_string_equal(buf, "-");
    /* n = 1: the value, std undefined and omitted */
    ft_stat_of((const double[]){0.851}, 1, &st);
    assert_int_equal(st.n, 1);
    assert_true(st.mean == 0.851);
    assert_true(isnan(st.std));
    ft_stat_format(buf, sizeof buf, &st, 1);
    assert_string_equal(buf, "85.1%");
    /* n = 2: 0.80, 0.90 -> mean 0.85, std sqrt((0.05² + 0.05²) / 1) = sqrt(0.005) */
    ft_stat_of((const double[]){0.80, 0.90}, 2, &st);
    assert_int_equal(st.n, 2);
    assert_true(fabs(st.mean - 0.85) < 1e-12);
    assert_true(fabs(st.std - 0.070710678118654752) < 1e-12);
    ft_stat_format(buf, sizeof buf, &st, 1);
    assert_string_equal(buf, "85.0 ± 7.1%");
    /* n = 3, a NaN skipped: 0.2, 0.4, 0.9 -> mean 0.5; (0.09 + 0.01 + 0.16) / 2 = 0.13
     * (the population std, / 3, would be 0.2944) */
    ft_stat_of((const double[]){0.2, NAN, 0.4, 0.9}, 4, &st);
    assert_int_equal(st.n, 3);
    assert_true(fabs(st.mean - 0.5) < 1e-12);
    assert_true(fabs(st.std - 0.36055512754639896) < 1e-12);
    /* identical values: std exactly 0, mean exactly the value (0.1 * 3 / 3 is not) */
    ft_stat_of((const double[]){0.1, 0.1, 0.1}, 3, &st);
    assert_true(st.mean == 0.1);
    assert_true(st.std == 0.0);
    ft_stat_format(buf, sizeof buf, &st, 1);
    assert_string_equal(buf, "10.0 ± 0.0%");
    /* far from 0: 1e9 + 1, 1e9 + 3 -> std sqrt(2), no cancellation */
    ft_stat_of((const double[]){1e9 + 1, 1e9 + 3}, 2, &st);
    assert_true(st.mean == 1e9 + 2);
    assert_true(fabs(st.std - 1.4142135623730951) < 1e-9);
    /* not percent */
    ft_stat_of((const double[]){3, 4}, 2, &st);
    ft_stat_format(buf, sizeof buf, &st, 0);
    assert_string_equal(buf, "3.5 ± 0.7");
}

/* The verdict's words at each boundary, and the test set's size. */
static void test_verdict_words(void **state)
{
    (void)state;
    char buf[128];
    ft_verdict_words(0.5, 0.5, 2, buf, sizeof buf);
    assert_string_equal(buf, "the backdoor LANDS");
    ft_verdict_words(0.49, 0.5, 2, buf, sizeof buf);
    assert_string_equal(buf, "the backdoor lands at times but does not last");
    ft_verdict_words(0.49, 0.49, 2, buf, sizeof buf);
    assert_string_equal(buf, "the backdoor did not land within 2 rounds");
    ft_verdict_words(0.0, 0.0, 1, buf, sizeof buf);
    assert_string_equal(buf, "the backdoor did not land within 1 round");
    ft_verdict_test_set(44, buf, sizeof buf);
    assert_string_equal(buf, "44 backdoor test images, each 2.3%");
    ft_verdict_test_set(1, buf, sizeof buf);
    assert_string_equal(buf, "1 backdoor test image, each 100.0%");
    ft_verdict_test_set(0, buf, sizeof buf);
    assert_string_equal(buf, "");
}

/* Seeds folded: the destroyed seed left out of the accuracies and counted; the
 * verdict drawn from the means (seed 0 alone LANDS, seed 1 alone does not last; the
 * mean final 0.55 LANDS). */
static void test_seed_summary(void **state)
{
    (void)state;
    ft_run_summary_t r[3] = {{.final_main_acc = 0.80,
                              .final_backdoor_acc = 0.90,
                              .peak_backdoor_acc = 0.95,
                              .rounds_to_50 = 2,
                              .detection_tpr = NAN,
                              .detection_fpr = 0.0,
                              .rounds = 5},
                             {.final_main_acc = 0.90,
                              .final_backdoor_acc = 0.20,
                              .peak_backdoor_acc = 0.60,
                              .rounds_to_50 = NAN,
                              .detection_tpr = NAN,
                              .detection_fpr = 0.1,
                              .rounds = 4},
                             {.final_main_acc = 0.10,
                              .final_backdoor_acc = 1.0,
                              .peak_backdoor_acc = 1.0,
                              .rounds_to_50 = 1,
                              .detection_tpr = NAN,
                              .detection_fpr = 0.5,
                              .rounds = 5,
                              .destroyed_round = 3}};
    ft_seed_summary_t s;
    ft_seed_summary_of(r, 3, &s);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.destroyed, 1);
    assert_int_equal(s.destroyed_round, 3);
    assert_int_equal(s.rounds, 4);
    assert_int_equal(s.final_main.n, 2);
    assert_true(fabs(s.final_main.mean - 0.85) < 1e-12);
    assert_true(fabs(s.final_backdoor.mean - 0.55) < 1e-12);
    assert_true(fabs(s.final_backdoor.std - 0.35 * sqrt(2.0)) < 1e-12);
    assert_int_equal(s.rounds_to_50.n, 1);
    assert_true(s.rounds_to_50.mean == 2);
    assert_int_equal(s.detection_tpr.n, 0);
    assert_true(fabs(s.detection_fpr.mean - 0.05) < 1e-12);
    char line[512];
    ft_seed_verdict_line(&s, line, sizeof line);
    assert_string_equal(line, "the model was destroyed in 1 of 3 seeds; over the other 2: main "
                              "85.0 ± 7.1%, backdoor 55.0 ± 49.5% (peak 77.5 ± 24.7%), 2 seeds: "
                              "the backdoor LANDS");
    /* seed 1 alone: the mean is its value, no std */
    ft_seed_summary_of(&r[1], 1, &s);
    ft_seed_verdict_line(&s, line, sizeof line);
    assert_string_equal(line, "main 90.0%, backdoor 20.0% (peak 60.0%), 1 seed: the backdoor lands "
                              "at times but does not last");
    ft_seed_summary_of(&r[2], 1, &s);
    ft_seed_verdict_line(&s, line, sizeof line);
    assert_string_equal(line, "the model was destroyed in round 3: no verdict on the backdoor");
    ft_seed_summary_of(r, 3, &s);
    s.destroyed = 3;
    ft_seed_verdict_line(&s, line, sizeof line);
    assert_string_equal(line, "the model was destroyed in all 3 seeds: no verdict on the backdoor");
}

/* Two seed directories read from disk: the summary, the backdoor test set's size from
 * the start event, the run verdict's wording on a short run, and summary.json. */
static void test_seed_dirs(void **state)
{
    (void)state;
    const char *m[2] = {"round,main_acc,backdoor_acc,attackers\n1,0.5,0.1,1\n2,0.6,0.2,1\n",
                        "round,main_acc,backdoor_acc,attackers\n1,0.5,0.3,1\n2,0.8,0.4,1\n"};
    char d[2][512], path[1200];
    const char *dirs[2];
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "seed-%d", i + 1);
        ft_test_tmpdir_path(d[i], sizeof d[i], dir, name);
        assert_int_equal(ft_mkdir_p(d[i]), FT_OK);
        snprintf(path, sizeof path, "%s/metrics.csv", d[i]);
        assert_int_equal(ft_write_file_atomic(path, m[i], strlen(m[i])), FT_OK);
        dirs[i] = d[i];
    }
    const char *ev = "{\"t\":0.1,\"event\":\"start\",\"defense\":\"fedavg\",\"backdoor_test\":44,"
                     "\"rounds\":2}\n{\"t\":0.2,\"event\":\"round_start\",\"round\":1}\n";
    snprintf(path, sizeof path, "%s/events.jsonl", d[0]);
    assert_int_equal(ft_write_file_atomic(path, ev, strlen(ev)), FT_OK);
    assert_int_equal(ft_run_backdoor_test_size(d[0]), 44);
    assert_int_equal(ft_run_backdoor_test_size(d[1]), 0); /* no events.jsonl */
    char buf[512];
    assert_int_equal(ft_report_verdict(d[0], buf, sizeof buf), FT_OK);
    assert_non_null(strstr(buf, "(44 backdoor test images, each 2.3%)"));
    assert_non_null(strstr(buf, "verdict: the backdoor did not land within 2 rounds"));
    assert_null(strstr(buf, "STOPPED"));
    ft_seed_summary_t s;
    assert_int_equal(ft_seed_summarise(dirs, 2, &s), FT_OK);
    assert_int_equal(s.backdoor_test, 44);
    assert_true(fabs(s.final_main.mean - 0.7) < 1e-12);
    assert_true(fabs(s.final_main.std - 0.1 * sqrt(2.0)) < 1e-12);
    assert_true(fabs(s.peak_backdoor.mean - 0.3) < 1e-12);
    ft_test_tmpdir_path(path, sizeof path, dir, "summary.json");
    const char *labels[] = {"a \"quoted\" arm"}, *rel[] = {"."};
    assert_int_equal(
        ft_seed_summary_write_json(path, (const uint64_t[]){1, 2}, 2, labels, rel, &s, 1), FT_OK);
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(ft_read_file(path, &json, &len), FT_OK);
    assert_non_null(strstr(json, "\"seeds\": [1, 2]"));
    assert_non_null(strstr(json, "\"label\": \"a \\\"quoted\\\" arm\""));
    assert_non_null(strstr(json, "\"final_main_acc\": {\"mean\": 0.7, \"std\": 0.141421356, "
                                 "\"n\": 2}"));
    assert_non_null(strstr(json, "\"rounds_to_50\": {\"mean\": null, \"std\": null, \"n\": 0}"));
    ft_free(json);
    /* report.html of the group: the mean ± std row (with or without gnuplot), and the
     * seed that did not finish (seed-2: no summary.json) marked where it is listed */
    const char *done = "{\n  \"completed\": true,\n  \"model_destroyed_round\": null\n}\n";
    snprintf(path, sizeof path, "%s/summary.json", d[0]);
    assert_int_equal(ft_write_file_atomic(path, done, strlen(done)), FT_OK);
    ft_report_group_t g = {.label = "arm", .dirs = dirs, .n = 2};
    int rc = ft_report_render_seeds(&g, 1, dir);
    assert_true(rc == FT_OK || rc == FT_EUNSUPPORTED);
    ft_test_tmpdir_path(path, sizeof path, dir, "report.html");
    assert_int_equal(ft_read_file(path, &json, &len), FT_OK);
    assert_non_null(strstr(json, "<td>70.0 ± 14.1%</td>"));
    assert_non_null(strstr(json, "sample standard deviation"));
    const char *mark = strstr(json, "INCOMPLETE (");
    assert_non_null(mark);
    assert_null(strstr(mark + 1, "INCOMPLETE (")); /* seed-1 finished */
    const char *row = strstr(json, "seed-2</td>");
    assert_non_null(row);
    assert_true(row < mark && strstr(row, "</tr>") > mark); /* in seed-2's row */
    ft_free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_reads_columns_and_nan),
        cmocka_unit_test(test_csv_ragged_row_is_error),
        cmocka_unit_test(test_csv_quoted_cells),
        cmocka_unit_test(test_verdict),
        cmocka_unit_test(test_verdict_destroyed),
        cmocka_unit_test(test_render_report),
        cmocka_unit_test(test_render_shares),
        cmocka_unit_test(test_plot_axes),
        cmocka_unit_test(test_compare_colours_and_markers),
        cmocka_unit_test(test_html_decisions),
        cmocka_unit_test(test_norm_distribution),
        cmocka_unit_test(test_heatmap_files),
        cmocka_unit_test(test_render_missing_run_names_file),
        cmocka_unit_test(test_sweep_grid),
        cmocka_unit_test(test_sweep_colors),
        cmocka_unit_test(test_sweep_bad_values_named),
        cmocka_unit_test(test_run_summary),
        cmocka_unit_test(test_sweep_variant_axis),
        cmocka_unit_test(test_stat_mean_std),
        cmocka_unit_test(test_verdict_words),
        cmocka_unit_test(test_seed_summary),
        cmocka_unit_test(test_seed_dirs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
