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
#include "ft_report.h"
#include "ft_sweep.h"
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
    assert_string_equal(name, "method=blackbox_name=krum");
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
    assert_string_equal(name, "pgd+mr_name=rfa");
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
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_reads_columns_and_nan),
        cmocka_unit_test(test_csv_ragged_row_is_error),
        cmocka_unit_test(test_verdict),
        cmocka_unit_test(test_verdict_destroyed),
        cmocka_unit_test(test_render_report),
        cmocka_unit_test(test_render_shares),
        cmocka_unit_test(test_render_missing_run_names_file),
        cmocka_unit_test(test_sweep_grid),
        cmocka_unit_test(test_sweep_bad_values_named),
        cmocka_unit_test(test_run_summary),
        cmocka_unit_test(test_sweep_variant_axis),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
