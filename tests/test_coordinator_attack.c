/* Unit tests for the federation's attack/defense integration: the join of defense
 * decisions with the ground truth (ft_detect), the attack schedule over the sorted
 * sample (ft_schedule), the Task's N_round fields on the wire, the shared population
 * derivation (edge points and the FLTrust root set held out of every client), the
 * attacker's local task (ft_local with attack.method = pgd), the new metrics columns
 * and the run.device error. Expected values are hand-worked. */
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
#include "ft_config.h"
#include "ft_detect.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_local.h"
#include "ft_metrics.h"
#include "ft_ops.h"
#include "ft_population.h"
#include "ft_schedule.h"
#include "ft_wire.h"

static ft_defense_decision_t dec(ft_decision_t d, float clip, float weight)
{
    ft_defense_decision_t x = {d, clip, 0.0f, weight};
    return x;
}

/* Shares: counts 10, 10, 20, 60 -> 0.1, 0.1, 0.2, 0.6. */
static void test_detect_join(void **state)
{
    (void)state;
    const float counts[4] = {10, 10, 20, 60};
    const uint8_t att[4] = {1, 0, 1, 0};
    ft_defense_decision_t d[4] = {
        dec(FT_DECISION_DROPPED, 0.0f, 0.0f),     /* attacker dropped: detected */
        dec(FT_DECISION_REWEIGHTED, 0.5f, 0.1f),  /* honest, 0.05 < 0.1: reduced, not an FP */
        dec(FT_DECISION_REWEIGHTED, 1.0f, 0.25f), /* attacker, 0.25 >= 0.2: kept */
        dec(FT_DECISION_DROPPED, 0.0f, 0.0f),     /* honest dropped: a false positive */
    };
    uint8_t flagged[4] = {9, 9, 9, 9};
    ft_detect_counts_t r;
    ft_detect_join(4, att, counts, d, flagged, &r);
    const uint8_t want_flag[4] = {1, 1, 0, 1};
    assert_memory_equal(flagged, want_flag, 4);
    assert_int_equal(r.attackers, 2);
    assert_int_equal(r.attackers_kept, 1);
    assert_int_equal(r.attackers_dropped, 1);
    assert_int_equal(r.attackers_reduced, 0);
    assert_int_equal(r.honest, 2);
    assert_int_equal(r.honest_dropped, 1);
    assert_int_equal(r.honest_reduced, 1);
    assert_true(fabs(ft_detect_tpr(&r) - 0.5) < 1e-12);
    assert_true(fabs(ft_detect_fpr(&r) - 0.5) < 1e-12);

    /* a clipped attacker (FedAvg weight kept, clip 0.1) is detected; a kept one with
     * any weight is not; an attacker reweighted UP is not */
    ft_defense_decision_t e[3] = {dec(FT_DECISION_REWEIGHTED, 0.1f, 0.5f),
                                  dec(FT_DECISION_KEPT, 1.0f, 0.0f),
                                  dec(FT_DECISION_REWEIGHTED, 1.0f, 0.9f)};
    const float c2[3] = {1, 1, 0}; /* shares 0.5, 0.5, 0 */
    const uint8_t a2[3] = {1, 1, 1};
    ft_detect_counts_t r2;
    ft_detect_join(3, a2, c2, e, NULL, &r2);
    assert_int_equal(r2.attackers, 3);
    assert_int_equal(r2.attackers_kept, 2);
    assert_int_equal(r2.attackers_reduced, 1);
    assert_true(isnan(ft_detect_fpr(&r2))); /* no honest update */

    ft_detect_counts_t total = {0};
    ft_detect_add(&total, &r);
    ft_detect_add(&total, &r2);
    assert_int_equal(total.attackers, 5);
    assert_int_equal(total.attackers_kept, 3);
    assert_true(fabs(ft_detect_tpr(&total) - 0.4) < 1e-12); /* 1 - 3/5 */
    assert_true(fabs(ft_detect_fpr(&total) - 0.5) < 1e-12);
    ft_detect_counts_t none = {0};
    assert_true(isnan(ft_detect_tpr(&none)));
    assert_string_equal(ft_decision_name(FT_DECISION_REWEIGHTED), "reweighted");
}

static ft_config_t *config(const char *const *sets)
{
    ft_config_t *cfg = ft_config_new();
    const char *base[] = {"data.dataset=synthetic",
                          "data.synthetic_train=400",
                          "data.synthetic_test=100",
                          "data.synthetic_shape=1,8,8",
                          "model.name=mlp",
                          "model.hidden=16",
                          "federation.num_clients=10",
                          "federation.clients_per_round=3",
                          "federation.local_epochs=1",
                          "federation.batch_size=8",
                          "federation.lr=0.05",
                          "attack.edge_size=4",
                          "attack.honest_edge_holders=0"};
    for (size_t i = 0; i < sizeof base / sizeof *base; i++)
        assert_int_equal(ft_config_set(cfg, base[i], "test"), FT_OK);
    for (size_t i = 0; sets && sets[i]; i++)
        assert_int_equal(ft_config_set(cfg, sets[i], "test"), FT_OK);
    return cfg;
}

/* fixed-freq: client num_clients - 1 = 9 attacks in rounds 1, 3, ... */
static void test_schedule_sorted(void **state)
{
    (void)state;
    ft_config_t *cfg = config((const char *[]){"attack.method=pgd", "attack.attack_freq=2", NULL});
    ft_schedule_t *s;
    assert_int_equal(ft_schedule_new(cfg, 10, &s), FT_OK);
    uint32_t ids[3] = {1, 2, 3};
    uint8_t att[3];
    assert_int_equal(ft_schedule_attackers(s, 1, ids, 3, att), 1);
    /* 9 replaced one of 1, 2, 3 and went to the end, its flag with it */
    assert_int_equal(ids[2], 9);
    assert_true(ids[0] < ids[1] && ids[1] < 9 && ids[1] <= 3);
    const uint8_t want[3] = {0, 0, 1};
    assert_memory_equal(att, want, 3);
    /* the attacker already sampled: marked in place */
    uint32_t ids3[3] = {4, 5, 9};
    assert_int_equal(ft_schedule_attackers(s, 3, ids3, 3, att), 1);
    assert_int_equal(ids3[0] * 100 + ids3[1] * 10 + ids3[2], 459);
    assert_memory_equal(att, want, 3);
    /* round 2 is not attacked */
    uint32_t ids4[3] = {4, 5, 6};
    assert_int_equal(ft_schedule_attackers(s, 2, ids4, 3, att), 0);
    assert_int_equal(ids4[0] * 100 + ids4[1] * 10 + ids4[2], 456);
    assert_int_equal(att[0] | att[1] | att[2], 0);
    ft_schedule_destroy(&s);
    /* replacement at the front: every id above the attacker's moves up */
    ft_config_set(cfg, "federation.num_clients=10", "test");
    ft_config_set(cfg, "attack.fl_mode=fixed-pool", "test");
    ft_config_set(cfg, "attack.attacker_pool_size=3", "test");
    assert_int_equal(ft_schedule_new(cfg, 10, &s), FT_OK);
    uint32_t ids5[4] = {2, 7, 8, 9};
    uint8_t a5[4];
    assert_int_equal(ft_schedule_attackers(s, 1, ids5, 4, a5), 3);
    const uint8_t want5[4] = {0, 1, 1, 1};
    assert_memory_equal(a5, want5, 4);
    ft_schedule_destroy(&s);
    ft_config_destroy(&cfg);
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

static int sorted_disjoint(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb)
{
    uint32_t i = 0, j = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j])
            return 0;
        if (a[i] < b[j])
            i++;
        else
            j++;
    }
    return 1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Every index the population hands a client is outside the edge set and the root
 * set; the three cover the training set exactly; two derivations agree. */
static void test_population_held_out(void **state)
{
    (void)state;
    ft_config_t *cfg = config((const char *[]){"attack.method=pgd", "defense.name=fltrust",
                                               "defense.root_size=37", NULL});
    ft_population_t *p, *q;
    assert_int_equal(ft_population_new(cfg, NULL, &p), FT_OK);
    assert_int_equal(ft_population_new(cfg, NULL, &q), FT_OK);
    assert_non_null(p->env->edge);
    uint32_t ne = p->env->edge->num_excluded;
    assert_true(ne >= 4);
    assert_int_equal(p->root_n, 37);
    assert_memory_equal(p->root_idx, q->root_idx, 37 * sizeof(uint32_t));
    for (uint32_t i = 1; i < 37; i++)
        assert_true(p->root_idx[i] > p->root_idx[i - 1]);
    assert_true(sorted_disjoint(p->root_idx, 37, p->env->edge->excluded, ne));
    uint32_t total = 0;
    uint32_t *all = ft_malloc(400 * sizeof *all);
    for (uint32_t c = 0; c < 10; c++) {
        uint32_t n = ft_population_part_n(p, c);
        assert_int_equal(n, ft_population_part_n(q, c));
        memcpy(all + total, ft_population_part_idx(p, c), n * sizeof *all);
        total += n;
        /* honest sample count = partition size (no copies held); attacker = |D_adv| */
        assert_int_equal(ft_population_client_samples(p, c, 0), n);
    }
    assert_int_equal(total + 37 + ne, 400);
    qsort(all, total, sizeof *all, cmp_u32);
    assert_true(sorted_disjoint(all, total, p->root_idx, 37));
    assert_true(sorted_disjoint(all, total, p->env->edge->excluded, ne));
    /* pgd attacker: edge attack points + min(clean_points = 100, partition) */
    uint32_t n9 = ft_population_part_n(p, 9);
    assert_int_equal(ft_population_client_samples(p, 9, 1),
                     p->env->edge->attack->n + (n9 < 100 ? n9 : 100));
    ft_free(all);
    ft_population_destroy(&p);
    ft_population_destroy(&q);
    assert_null(p);
    /* without FLTrust no root set; a root set as large as the pool is refused */
    ft_config_set(cfg, "defense.name=fedavg", "test");
    assert_int_equal(ft_population_new(cfg, NULL, &p), FT_OK);
    assert_int_equal(p->root_n, 0);
    assert_null(p->root_idx);
    ft_population_destroy(&p);
    ft_config_set(cfg, "defense.name=fltrust", "test");
    ft_config_set(cfg, "defense.root_size=400", "test");
    assert_int_equal(ft_population_new(cfg, NULL, &p), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "defense.root_size"));
    assert_null(p);
    ft_config_destroy(&cfg);
}

/* An attacker task runs the attack: deterministic, reports |D_adv|, and with model
 * replacement its update is the trained one scaled by N_round / n_adv. */
static void test_local_attacker(void **state)
{
    (void)state;
    ft_config_t *cfg = config((const char *[]){"attack.method=blackbox", NULL});
    ft_local_t *a;
    assert_int_equal(ft_local_new(cfg, &a), FT_OK);
    size_t N = ft_local_num_params(a);
    float *g = ft_calloc(N, 4), *d1 = ft_calloc(N, 4), *d2 = ft_calloc(N, 4), *h = ft_calloc(N, 4);
    for (size_t i = 0; i < N; i++)
        g[i] = 0.01f * (float)((i * 7919) % 13) - 0.06f;
    ft_local_task_t t = {.round = 1, .client_id = 9, .lr = 0.05f, .attacker = 1};
    ft_local_result_t r1, r2, rh;
    assert_int_equal(ft_local_train(a, &t, g, d1, NULL, &r1), FT_OK);
    /* an honest task in between must not change the attacker's result */
    ft_local_task_t ht = {.round = 1, .client_id = 9, .lr = 0.05f};
    assert_int_equal(ft_local_train(a, &ht, g, h, NULL, &rh), FT_OK);
    assert_int_equal(rh.num_samples, ft_local_num_samples(a, 9));
    assert_int_equal(ft_local_train(a, &t, g, d2, NULL, &r2), FT_OK);
    assert_memory_equal(d1, d2, N * 4);
    assert_memory_not_equal(d1, h, N * 4); /* it trained on D_adv, not its partition */
    uint32_t n9 = ft_local_num_samples(a, 9);
    uint64_t nadv = r1.num_samples;
    assert_true(nadv > (n9 < 100 ? n9 : 100)); /* edge points + clean points */
    ft_local_destroy(&a);

    /* model replacement with N_round = 4 n_adv: exactly 4x the plain update */
    ft_config_set(cfg, "attack.model_replacement=true", "test");
    assert_int_equal(ft_local_new(cfg, &a), FT_OK);
    t.round_samples = 4 * nadv;
    t.round_attackers = 1;
    assert_int_equal(ft_local_train(a, &t, g, d2, NULL, &r2), FT_OK);
    for (size_t i = 0; i < N; i++)
        assert_true(fabsf(d2[i] - 4.0f * d1[i]) <= 1e-6f * (1.0f + fabsf(d2[i])));
    ft_local_destroy(&a);
    ft_free(g);
    ft_free(d1);
    ft_free(d2);
    ft_free(h);
    ft_config_destroy(&cfg);
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
    ft_round_metrics_t row;
    ft_round_metrics_reset(&row);
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
    assert_int_equal(ft_metrics_write(mt, &row), FT_OK);
    ft_metrics_close(&mt);
    char *text;
    size_t len;
    assert_int_equal(ft_read_file(path, &text, &len), FT_OK);
    unlink(path);
    assert_non_null(strstr(text, "round,main_acc,main_loss,backdoor_acc,target_class_acc,"));
    assert_non_null(strstr(text, "attacker_norm,attackers_kept,honest_dropped,"));
    assert_non_null(strstr(text, "\n3,0.75,1,0.5,0.25,4,"));
    assert_non_null(strstr(text, ",1,2,0,")); /* attackers_kept, honest_dropped, rejected */
    ft_free(text);
    assert_int_equal(ft_metrics_is_measurement("backdoor_acc"), 0);
    assert_int_equal(ft_metrics_is_measurement("attackers_kept"), 0);
}

/* run.device = cuda without a GPU is an error, never a silent CPU fallback. */
static void test_device(void **state)
{
    (void)state;
    ft_config_t *cfg = config(NULL);
    const ft_ops_t *ops;
    assert_int_equal(ft_population_device(cfg, &ops), FT_OK);
    assert_string_equal(ops->name, "cpu");
    ft_config_set(cfg, "run.device=tpu", "test");
    assert_int_equal(ft_population_device(cfg, &ops), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "run.device"));
    ft_config_set(cfg, "run.device=cuda:x", "test");
    assert_int_equal(ft_population_device(cfg, &ops), FT_ECONFIG);
    if (getenv("CUDA_VISIBLE_DEVICES") == NULL && ft_ops_find("cuda") == NULL) {
        ft_config_set(cfg, "run.device=cuda", "test");
        assert_int_equal(ft_population_device(cfg, &ops), FT_EUNSUPPORTED);
        assert_non_null(strstr(ft_error_message(), "no CUDA device is available"));
        ft_local_t *l;
        assert_int_equal(ft_local_new(cfg, &l), FT_EUNSUPPORTED);
        assert_null(l);
    }
    ft_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_join),      cmocka_unit_test(test_schedule_sorted),
        cmocka_unit_test(test_task_wire_fields), cmocka_unit_test(test_population_held_out),
        cmocka_unit_test(test_local_attacker),   cmocka_unit_test(test_metrics_backdoor_columns),
        cmocka_unit_test(test_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
