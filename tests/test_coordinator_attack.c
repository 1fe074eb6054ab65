/* Unit tests for the coordinator's side of attacks and defenses: the join of defense
 * decisions with the ground truth (ft_detect), the Task's N_round fields on the wire
 * and the backdoor metrics columns. Expected values are hand-worked. The scenario's
 * derivation is test_scenario.c; the attacker's local task test_client.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ft_alloc.h"
#include "ft_detect.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_metrics.h"
#include "ft_wire.h"

static ft_defense_decision_t dec(ft_decision_t d, float clip, float weight, float norm)
{
    ft_defense_decision_t x = {d, clip, 0.0f, weight, norm};
    return x;
}

/* A rule that selects (Krum-like): detected = dropped, whatever else. */
static void test_detect_join_selecting(void **state)
{
    (void)state;
    const uint8_t att[4] = {1, 0, 1, 0};
    ft_defense_decision_t d[4] = {
        dec(FT_DECISION_DROPPED, 0.0f, 0.0f, 0.0f),     /* attacker dropped: detected */
        dec(FT_DECISION_CLIPPED, 0.5f, 0.25f, 1.0f),    /* honest, clipped: not an FP */
        dec(FT_DECISION_REWEIGHTED, 1.0f, 0.75f, 3.0f), /* attacker used: not detected */
        dec(FT_DECISION_DROPPED, 0.0f, 0.0f, 0.0f),     /* honest dropped: a false positive */
    };
    uint8_t flagged[4] = {9, 9, 9, 9};
    ft_detect_counts_t r;
    ft_detect_shares_t sh;
    ft_detect_join(4, att, d, 1, flagged, &r, &sh);
    const uint8_t want_flag[4] = {1, 0, 0, 1};
    assert_memory_equal(flagged, want_flag, 4);
    assert_int_equal(r.attackers, 2);
    assert_int_equal(r.attackers_kept, 0);
    assert_int_equal(r.attackers_dropped, 1);
    assert_int_equal(r.attackers_reduced, 1);
    assert_int_equal(r.honest, 2);
    assert_int_equal(r.honest_dropped, 1);
    assert_int_equal(r.honest_reduced, 1);
    assert_true(fabs(ft_detect_tpr(&r) - 0.5) < 1e-12);
    assert_true(fabs(ft_detect_fpr(&r) - 0.5) < 1e-12);
    assert_true(fabs(sh.attacker_weight - 0.75) < 1e-12);
    assert_true(fabs(sh.attacker_norm_share - 0.75) < 1e-12); /* 3 / (1 + 3) */

    ft_detect_counts_t total = {0};
    ft_detect_add(&total, &r);
    ft_detect_add(&total, &r);
    assert_true(total.selects);
    assert_int_equal(total.attackers, 4);
    assert_true(fabs(ft_detect_tpr(&total) - 0.5) < 1e-12);
    assert_true(fabs(ft_detect_mean_weight(&total) - 0.75) < 1e-12);
    assert_true(fabs(ft_detect_mean_norm_share(&total) - 0.75) < 1e-12);
    ft_detect_counts_t none = {0};
    none.selects = 1;
    assert_true(isnan(ft_detect_tpr(&none)));
    assert_true(isnan(ft_detect_mean_weight(&none)));
    assert_string_equal(ft_detect_decision_name(FT_DECISION_REWEIGHTED), "reweighted");
    assert_string_equal(ft_detect_decision_name(FT_DECISION_CLIPPED), "clipped");
}

/* A rule that does not select (norm clipping, a median): nobody is detected and
 * TPR/FPR are undefined even when something was dropped; the shares still count.
 * A clipped attacker keeps its weight but its norm share shows the clip; a dropped
 * update's leftover fields are ignored. */
static void test_detect_join_not_selecting(void **state)
{
    (void)state;
    const uint8_t att[3] = {1, 0, 1};
    ft_defense_decision_t d[3] = {
        dec(FT_DECISION_CLIPPED, 0.1f, 0.5f, 2.0f), /* attacker: half the weight */
        dec(FT_DECISION_KEPT, 1.0f, 0.5f, 6.0f),
        dec(FT_DECISION_DROPPED, 0.0f, 0.3f, 5.0f), /* attacker, stale fields: as 0 */
    };
    uint8_t flagged[3] = {9, 9, 9};
    ft_detect_counts_t r;
    ft_detect_shares_t sh;
    ft_detect_join(3, att, d, 0, flagged, &r, &sh);
    const uint8_t zero[3] = {0, 0, 0};
    assert_memory_equal(flagged, zero, 3);
    assert_int_equal(r.attackers_dropped, 1);
    assert_int_equal(r.attackers_reduced, 1);
    assert_true(isnan(ft_detect_tpr(&r)));
    assert_true(isnan(ft_detect_fpr(&r)));
    assert_true(fabs(sh.attacker_weight - 0.5) < 1e-12);
    assert_true(fabs(sh.attacker_norm_share - 0.25) < 1e-12); /* 2 / (2 + 6) */

    /* contrib_norm not reported (NaN): the norm share is NaN and not averaged */
    d[1].contrib_norm = NAN;
    ft_detect_join(3, att, d, 0, NULL, &r, &sh);
    assert_true(isnan(sh.attacker_norm_share));
    assert_int_equal(r.norm_rounds, 0);
    assert_int_equal(r.weight_rounds, 1);
    /* no attacker: both shares NaN, nothing averaged */
    const uint8_t honest[3] = {0, 0, 0};
    ft_detect_join(3, honest, d, 0, NULL, &r, &sh);
    assert_true(isnan(sh.attacker_weight) && isnan(sh.attacker_norm_share));
    assert_int_equal(r.weight_rounds, 0);
}

static void test_task_wire_fields(void **state)
{
    (void)state;
    ft_msg_t m, out;
    ft_msg_init(&m, FT_MSG_TASK);
    m.u.task.round = 2;
    m.u.task.client_id = 5;
    m.u.task.lr = 0.1f;
    m.u.task.attacker = 1;
    m.u.task.num_params = 3;
    m.u.task.round_samples = 5000000000ull; /* > 2^32 */
    m.u.task.round_attackers = 3;
    uint8_t *buf;
    size_t len;
    assert_int_equal(ft_wire_pack_alloc(&m, &buf, &len), FT_OK);
    ft_wire_limits_t lim;
    ft_wire_limits_default(&lim, 16);
    assert_int_equal(ft_wire_unpack(buf, len, &lim, &out), FT_OK);
    assert_true(out.u.task.round_samples == 5000000000ull);
    assert_int_equal(out.u.task.round_attackers, 3);
    ft_msg_clear(&out);
    ft_free(buf);
}

static void test_metrics_backdoor_columns(void **state)
{
    (void)state;
    char path[] = "/tmp/ft_test_coord_attack_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ft_metrics_t *mt;
    assert_int_equal(ft_metrics_open(path, &mt), FT_OK);
    ft_metrics_row_t row;
    ft_metrics_row_reset(&row);
    row.round = 3;
    row.evaluated = 1;
    row.main_acc = 0.75;
    row.main_loss = 1;
    row.backdoor_acc = 0.5;
    row.target_class_acc = 0.25;
    row.clients = 4;
    row.attackers = 1;
    row.attackers_kept = 1;
    row.honest_dropped = 2;
    row.selects = 1;
    row.attacker_weight = 0.125;
    row.attacker_norm_share = 0.5;
    assert_int_equal(ft_metrics_write(mt, &row), FT_OK);
    row.round = 4;
    row.selects = 0; /* a rule that does not select: no detection counts */
    row.attacker_weight = row.attacker_norm_share = NAN;
    assert_int_equal(ft_metrics_write(mt, &row), FT_OK);
    ft_metrics_close(&mt);
    char *text;
    size_t len;
    assert_int_equal(ft_read_file(path, &text, &len), FT_OK);
    unlink(path);
    assert_non_null(strstr(text, "round,main_acc,main_loss,backdoor_acc,target_class_acc,"));
    assert_non_null(strstr(text, "attacker_norm,attackers_kept,honest_dropped,"));
    assert_non_null(strstr(text, "\n3,0.75,1,0.5,0.25,4,"));
    assert_non_null(strstr(text, ",1,2,0,"));        /* attackers_kept, honest_dropped, rejected */
    assert_non_null(strstr(text, ",0,0.125,0.5\n")); /* nonfinite_params and the shares */
    const char *r4 = strstr(text, "\n4,");
    assert_non_null(r4);
    assert_null(strstr(r4, ",1,2,0,"));
    assert_non_null(strstr(r4, ",,,0,"));  /* attackers_kept, honest_dropped empty */
    assert_non_null(strstr(r4, ",0,,\n")); /* shares empty */
    ft_free(text);
    assert_int_equal(ft_metrics_is_measurement("backdoor_acc"), 0);
    assert_int_equal(ft_metrics_is_measurement("attackers_kept"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_join_selecting),
        cmocka_unit_test(test_detect_join_not_selecting),
        cmocka_unit_test(test_task_wire_fields),
        cmocka_unit_test(test_metrics_backdoor_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
