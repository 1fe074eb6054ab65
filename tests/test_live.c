/* Tests for coordinator/ft_live: the live view's feed. A reader opened late gets the
 * history first, in order (each arm, its rows, its closed and current rounds); a
 * live reader gets each change once; /metrics.csv is byte for byte the metrics.csv
 * that ft_metrics writes for the same rows (a real file), whatever the piece size;
 * the bounds hold (rows past the planned rounds, strips past FT_LIVE_MAX_STRIP,
 * arms past FT_LIVE_MAX_ARMS); NaN/Inf become null in JSON; "end" ends the stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_live.h"
#include "ft_metrics.h"
#include "ft_test_tmpdir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char buf[FT_LIVE_EVENT_CAP];

/* A row as a round would leave it: round r, evaluated on even rounds. */
static ft_metrics_row_t row_for(int r)
{
    ft_metrics_row_t row;
    ft_metrics_row_reset(&row);
    row.round = r;
    row.attempts = 1;
    row.clients = row.sampled = 2;
    row.attackers = r % 2;
    row.evaluated = r % 2 == 0;
    row.main_acc = 0.5 + r / 100.0;
    row.main_loss = 1.25;
    row.backdoor_acc = 0.125 * r;
    row.train_loss = 0.75;
    row.honest_norm_mean = 1.5;
    row.attacker_norm = r % 2 ? 4.25 : NAN;
    row.round_s = 0.01 * r;
    return row;
}

/* The next event's name ("arm", "row", ...) into name, its data in buf; "" for none. */
static int next(ft_live_t *lv, ft_live_cursor_t *c, char *name, int wait_ms)
{
    int n = ft_live_next(lv, c, buf, sizeof buf, wait_ms);
    name[0] = 0;
    if (n > 0) {
        assert_int_equal(strncmp(buf, "event: ", 7), 0);
        assert_string_equal(buf + n - 2, "\n\n");
        sscanf(buf + 7, "%15[a-z]", name);
    }
    return n;
}

static void test_history_then_live(void **state)
{
    (void)state;
    ft_live_t *lv = NULL;
    assert_int_equal(ft_live_new(&lv), FT_OK);
    assert_int_equal(ft_live_add_arm(lv, "no defense", 3), 0);
    assert_int_equal(ft_live_add_arm(lv, "krum", 3), 1);
    assert_int_equal(ft_live_arm_start(lv, 0, 3, 2, "fedavg", 0, 0), FT_OK);
    uint32_t ids[2] = {3, 7};
    uint8_t att[2] = {0, 1};
    ft_defense_decision_t dec[2] = {{FT_DECISION_KEPT, 1.0f, 0, 0.5f, 1.0f},
                                    {FT_DECISION_CLIPPED, 0.25f, 0, 0.5f, NAN}};
    ft_live_round_begin(lv, 0, 1, 0, ids, 2);
    ft_live_round_closed(lv, 0, 1, ids, att, dec, 2);
    ft_metrics_row_t r1 = row_for(1);
    ft_live_row(lv, 0, &r1);
    ft_live_round_begin(lv, 0, 2, 1, ids, 2);

    /* A reader that comes now: the history, in order, then nothing. */
    ft_live_cursor_t c = {0};
    char name[16];
    next(lv, &c, name, 0);
    assert_string_equal(name, "arm");
    assert_non_null(strstr(buf, "\"label\":\"no defense\""));
    assert_non_null(strstr(buf, "\"rounds\":3,\"k\":2,\"defense\":\"fedavg\""));
    assert_non_null(strstr(buf, "\"status\":\"running\""));
    next(lv, &c, name, 0);
    assert_string_equal(name, "row");
    assert_non_null(strstr(buf, "\"round\":1,\"main_acc\":null")); /* not evaluated */
    assert_non_null(strstr(buf, "\"attacker_norm\":4.25"));
    next(lv, &c, name, 0);
    assert_string_equal(name, "closed");
    assert_non_null(strstr(buf, "{\"id\":3,\"attacker\":false,\"decision\":\"kept\""));
    assert_non_null(
        strstr(buf, "{\"id\":7,\"attacker\":true,\"decision\":\"clipped\",\"clip\":0.25"));
    assert_non_null(strstr(buf, "\"contribution\":null")); /* NaN is no JSON number */
    next(lv, &c, name, 0);
    assert_string_equal(name, "round");
    assert_non_null(strstr(buf, "\"round\":2,\"attempt\":1,\"clients\":[{\"id\":3},{\"id\":7}]}"));
    assert_null(strstr(buf, "attacker")); /* not shown before the round closes */
    next(lv, &c, name, 0);
    assert_string_equal(name, "arm");
    assert_non_null(strstr(buf, "\"label\":\"krum\",\"rounds\":3,")); /* planned */
    assert_non_null(strstr(buf, "\"status\":\"waiting\""));
    assert_int_equal(next(lv, &c, name, 0), 0);
    assert_int_equal(next(lv, &c, name, 50), 0); /* waits, then nothing */

    /* Live: each change exactly once. */
    ft_metrics_row_t r2 = row_for(2);
    ft_live_row(lv, 0, &r2);
    next(lv, &c, name, 0);
    assert_string_equal(name, "row");
    assert_non_null(strstr(buf, "\"round\":2,\"main_acc\":0.52,"));
    assert_int_equal(next(lv, &c, name, 0), 0);
    ft_live_arm_end(lv, 0, "complete");
    next(lv, &c, name, 0);
    assert_string_equal(name, "arm");
    assert_non_null(strstr(buf, "\"status\":\"complete\""));
    assert_int_equal(next(lv, &c, name, 0), 0);

    /* The second arm starts: its meta again (running). */
    assert_int_equal(ft_live_arm_start(lv, 1, 3, 2, "krum", 1, 0), FT_OK);
    next(lv, &c, name, 0);
    assert_string_equal(name, "arm");
    assert_non_null(strstr(buf, "\"arm\":1,"));
    assert_non_null(strstr(buf, "\"selects\":true"));
    assert_int_equal(next(lv, &c, name, 0), 0);

    /* The end: one "end" event, then the end of the stream. */
    ft_live_finish(lv);
    next(lv, &c, name, 0);
    assert_string_equal(name, "end");
    assert_int_equal(ft_live_next(lv, &c, buf, sizeof buf, 0), -1);
    ft_live_destroy(&lv);
    assert_null(lv);
    ft_live_destroy(&lv); /* safe twice */
}

/* Reads a whole document with pieces of cap bytes. */
static char *read_doc(ft_live_t *lv, int csv, size_t cap)
{
    char *piece = malloc(cap), *doc = calloc(1, 1 << 20);
    size_t len = 0, n;
    uint64_t pos = 0;
    while ((n = csv ? ft_live_csv_piece(lv, &pos, piece, cap)
                    : ft_live_json_piece(lv, &pos, piece, cap)) > 0) {
        assert_true(n < cap);
        assert_true(len + n < (1 << 20));
        memcpy(doc + len, piece, n);
        len += n;
    }
    free(piece);
    return doc;
}

static void test_csv_is_metrics_csv(void **state)
{
    (void)state;
    char dir[FT_TEST_TMPDIR_MAX], path[FT_TEST_TMPDIR_MAX + 32];
    assert_int_equal(ft_test_tmpdir_make(dir, sizeof dir, "live"), FT_OK);
    ft_test_tmpdir_path(path, sizeof path, dir, "metrics.csv");
    ft_metrics_t *mt = NULL;
    assert_int_equal(ft_metrics_open(path, &mt), FT_OK);
    ft_live_t *lv = NULL;
    assert_int_equal(ft_live_new(&lv), FT_OK);
    assert_int_equal(ft_live_add_arm(lv, "run", 60), 0);
    assert_int_equal(ft_live_arm_start(lv, 0, 60, 2, "fedavg", 0, 0), FT_OK);
    for (int r = 1; r <= 60; r++) {
        ft_metrics_row_t row = row_for(r);
        if (r == 7)
            row.train_loss = INFINITY; /* as metrics.csv prints it; null in JSON */
        assert_int_equal(ft_metrics_write(mt, &row), FT_OK);
        ft_live_row(lv, 0, &row);
    }
    ft_metrics_close(&mt);
    char *file = NULL;
    size_t file_len = 0;
    assert_int_equal(ft_read_file(path, &file, &file_len), FT_OK);
    /* Whatever the piece size: the same bytes as the file. */
    for (size_t cap = 4096; cap <= 65536; cap *= 4) {
        char *doc = read_doc(lv, 1, cap);
        assert_int_equal(strlen(doc), file_len);
        assert_memory_equal(doc, file, file_len);
        free(doc);
    }
    char *json = read_doc(lv, 0, 4096);
    assert_int_equal(strncmp(json, "{\"arms\":[{\"arm\":0,\"label\":\"run\"", 31), 0);
    assert_string_equal(json + strlen(json) - 6, "}]}]}\n"); /* row, rows, arm, arms */
    int rows = 0;
    for (const char *p = json; (p = strstr(p, "{\"round\":")); p++)
        rows++;
    assert_int_equal(rows, 60);
    assert_non_null(strstr(json, "{\"round\":7,\"main_acc\":null,"));
    assert_non_null(strstr(json, "\"train_loss\":null")); /* the Inf */
    assert_null(strstr(json, "inf"));
    assert_null(strstr(json, "nan"));
    free(json);
    ft_free(file);
    ft_live_destroy(&lv);
    ft_test_tmpdir_remove(dir);
}

static void test_csv_arms(void **state)
{
    (void)state;
    ft_live_t *lv = NULL;
    assert_int_equal(ft_live_new(&lv), FT_OK);
    ft_live_add_arm(lv, "say \"hi\", ok", 2);
    ft_live_add_arm(lv, "b", 2);
    ft_live_add_arm(lv, "never started", 2);
    ft_live_arm_start(lv, 0, 2, 2, "fedavg", 0, 0);
    ft_live_arm_start(lv, 1, 2, 2, "krum", 1, 0);
    ft_metrics_row_t r = row_for(1);
    ft_live_row(lv, 0, &r);
    ft_live_row(lv, 1, &r);
    char line[2048];
    ft_metrics_format(&r, line, sizeof line);
    char *doc = read_doc(lv, 1, 4096);
    /* Every label quoted, its quotes doubled (RFC 4180). */
    char want2[8192];
    snprintf(want2, sizeof want2, "arm,%s\n\"say \"\"hi\"\", ok\",%s\"b\",%s", ft_metrics_header(),
             line, line);
    assert_string_equal(doc, want2);
    free(doc);
    char *json = read_doc(lv, 0, 4096);
    assert_non_null(strstr(json, "\"label\":\"never started\""));
    assert_non_null(strstr(json, "\"status\":\"waiting\",\"rows\":[]}]}\n"));
    free(json);
    ft_live_destroy(&lv);
}

static void test_bounds(void **state)
{
    (void)state;
    ft_live_t *lv = NULL;
    assert_int_equal(ft_live_new(&lv), FT_OK);
    for (int i = 0; i < FT_LIVE_MAX_ARMS; i++)
        assert_int_equal(ft_live_add_arm(lv, "arm", 2), i);
    assert_int_equal(ft_live_add_arm(lv, "one too many", 2), FT_EINVAL);
    assert_int_equal(ft_live_arm_start(lv, FT_LIVE_MAX_ARMS, 2, 2, "x", 0, 0), FT_EINVAL);
    /* Before its start an arm takes nothing (the round loop's calls are no-ops). */
    ft_metrics_row_t r = row_for(1);
    ft_live_row(lv, 3, &r);
    /* Rows past the planned rounds are not kept; a huge K is cut to the strip's room
     * and its event still fits a reader's buffer. */
    size_t K = 3 * FT_LIVE_MAX_STRIP;
    uint32_t *ids = calloc(K, sizeof *ids);
    uint8_t *att = calloc(K, 1);
    ft_defense_decision_t *dec = calloc(K, sizeof *dec);
    for (size_t i = 0; i < K; i++) {
        ids[i] = 4000000000u - (uint32_t)i;
        att[i] = 1;
        dec[i] = (ft_defense_decision_t){FT_DECISION_REWEIGHTED, -1e30f, 0, -1e-30f, 1e30f};
    }
    assert_int_equal(ft_live_arm_start(lv, 0, 2, (int)K, "fedavg", 0, 0), FT_OK);
    ft_live_round_closed(lv, 0, 1, ids, att, dec, K);
    for (int i = 1; i <= 5; i++) {
        ft_metrics_row_t ri = row_for(i);
        ft_live_row(lv, 0, &ri);
    }
    ft_live_cursor_t c = {0};
    char name[16];
    int rows = 0, closed = 0;
    while (next(lv, &c, name, 0) > 0) {
        rows += strcmp(name, "row") == 0;
        if (strcmp(name, "closed") == 0) {
            closed++;
            int n = 0;
            for (const char *p = buf; (p = strstr(p, "{\"id\":")); p++)
                n++;
            assert_int_equal(n, FT_LIVE_MAX_STRIP);
            assert_string_equal(buf + strlen(buf) - 4, "]}\n\n");
        }
    }
    assert_int_equal(rows, 2);
    assert_int_equal(closed, 1);
    /* A restarted arm sends its (new) rows from the first again. */
    assert_int_equal(ft_live_arm_start(lv, 0, 2, 2, "fedavg", 0, 0), FT_OK);
    ft_live_row(lv, 0, &r);
    rows = 0;
    while (next(lv, &c, name, 0) > 0)
        rows += strcmp(name, "row") == 0;
    assert_int_equal(rows, 1);
    free(ids);
    free(att);
    free(dec);
    ft_live_destroy(&lv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_then_live),
        cmocka_unit_test(test_csv_is_metrics_csv),
        cmocka_unit_test(test_csv_arms),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
