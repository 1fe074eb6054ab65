/* Tests of what each rule reports about each update (issue 15, item 7): its weight
 * (the row's mean coefficient in the aggregate, defenses/ft_defense.h), its
 * contribution's norm, the decision, and the `selects` flag, on small matrices
 * worked by hand (the working is in the comments; K = 3..5, N = 4). That the
 * weights sum to 1 on random inputs for every rule is in test_defenses_contract.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_defense.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { MAXK = 8, NN = 4 };

/* One aggregation of K rows of NN with a fresh `name` (extra: "k=v" settings, NULL
 * terminated); fails the test if the rule refuses. */
static void agg(const char *name, const char *const *extra, size_t K, const float *U0,
                const float *counts, float *out, ft_defense_decision_t *dec)
{
    ft_config_t *cfg = ft_config_new();
    assert_non_null(cfg);
    char k[32];
    snprintf(k, sizeof k, "%zu", K);
    assert_int_equal(ft_config_set_value(cfg, "defense.name", name, "test"), FT_OK);
    assert_int_equal(ft_config_set_value(cfg, "federation.clients_per_round", k, "test"), FT_OK);
    for (int i = 0; extra && extra[i]; i++)
        assert_int_equal(ft_config_set(cfg, extra[i], "test"), FT_OK);
    ft_experiment_t exp;
    if (ft_experiment_read(cfg, &exp) != FT_OK ||
        ft_defense_check(&exp.defense, exp.federation.clients_per_round) != FT_OK)
        fail_msg("%s: %s", name, ft_error_message());
    const ft_defense_t *d = ft_defense_find(name);
    void *st = NULL;
    assert_int_equal(d->create(&exp.defense, K, NN, K, &st), FT_OK);
    void *ws = ft_malloc(d->workspace_size(K, NN));
    float U[MAXK * NN];
    uint32_t ids[MAXK];
    memcpy(U, U0, K * NN * sizeof *U);
    for (size_t i = 0; i < K; i++)
        ids[i] = (uint32_t)i;
    ft_rng_t rng;
    ft_rng_init(&rng, 1, 1, 0, FT_RNG_NOISE);
    ft_defense_input_t in = {.round = 1,
                             .K = K,
                             .N = NN,
                             .updates = U,
                             .counts = counts,
                             .ids = ids,
                             .server_update = NULL,
                             .rng = &rng};
    if (d->aggregate(st, &in, out, dec, ws) != FT_OK)
        fail_msg("%s: %s", name, ft_error_message());
    d->destroy(&st);
    ft_free(ws);
    ft_config_destroy(&cfg);
}

#define NEAR(got, want) near_at(__LINE__, (double)(got), (double)(want))
static void near_at(int line, double got, double want)
{
    if (!(fabs(got - want) <= 1e-6 * (1 + fabs(want))))
        fail_msg("line %d: got %.9g, want %.9g", line, got, want);
}

static void want_weights(const ft_defense_decision_t *dec, size_t K, const double *w)
{
    double sum = 0;
    for (size_t i = 0; i < K; i++) {
        if (!(fabs(dec[i].weight - w[i]) <= 1e-6))
            fail_msg("weight[%zu] = %.9g, want %.9g", i, (double)dec[i].weight, w[i]);
        sum += dec[i].weight;
    }
    NEAR(sum, 1);
}

static void want_contrib(const ft_defense_decision_t *dec, size_t K, const double *c)
{
    for (size_t i = 0; i < K; i++)
        if (!(fabs(dec[i].contrib_norm - c[i]) <= 1e-5 * (1 + c[i])))
            fail_msg("contrib_norm[%zu] = %.9g, want %.9g", i, (double)dec[i].contrib_norm, c[i]);
}

/* Only the rules that keep or drop whole updates select: Krum, Multi-Krum, Bulyan and
 * the filtering rules of issue 17 (bucketing's inner rule decides about bucket means,
 * not updates). */
static void test_selects_flag(void **state)
{
    (void)state;
    const char *sel[] = {"krum",   "multi-krum", "bulyan", "dnc",       "signguard", "flame",
                         "rflbat", "fldetector", "lasa",   "deepsight", "flare"};
    for (size_t r = 0; ft_defense_registry[r]; r++) {
        int want = 0;
        for (size_t i = 0; i < sizeof sel / sizeof *sel; i++)
            want |= strcmp(ft_defense_registry[r]->name, sel[i]) == 0;
        if (ft_defense_registry[r]->selects != want)
            fail_msg("%s: selects = %d", ft_defense_registry[r]->name,
                     ft_defense_registry[r]->selects);
    }
}

/* FedAvg, counts 1, 2, 5: weights 1/8, 2/8, 5/8, all kept; norms 5, 1, 2 give
 * contributions 5/8, 1/4, 5/4. */
static void test_fedavg_unequal_counts(void **state)
{
    (void)state;
    const float U[12] = {3, 4, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1};
    const float counts[3] = {1, 2, 5};
    float out[NN];
    ft_defense_decision_t dec[3];
    agg("fedavg", NULL, 3, U, counts, out, dec);
    want_weights(dec, 3, (const double[]){0.125, 0.25, 0.625});
    want_contrib(dec, 3, (const double[]){0.625, 0.25, 1.25});
    for (int i = 0; i < 3; i++)
        assert_int_equal(dec[i].decision, FT_DECISION_KEPT);
    NEAR(out[0], 0.375 + 0.625); /* 3/8 + 5/8 */
}

/* Median, K = 3: columns (1,2,3) -> row 1; (5,4,6) -> row 0; (3,8,9) -> row 1;
 * (0,7,1) -> row 2. Weights 1/4, 2/4, 1/4; contributions ||(0,5,0,0)|| = 5,
 * ||(2,0,8,0)|| = sqrt 68, ||(0,0,0,1)|| = 1. */
static void test_median_odd(void **state)
{
    (void)state;
    const float U[12] = {1, 5, 3, 0, 2, 4, 8, 7, 3, 6, 9, 1};
    const float counts[3] = {1, 1, 1};
    float out[NN];
    ft_defense_decision_t dec[3];
    agg("median", NULL, 3, U, counts, out, dec);
    want_weights(dec, 3, (const double[]){0.25, 0.5, 0.25});
    want_contrib(dec, 3, (const double[]){5, sqrt(68.0), 1});
    NEAR(out[0], 2);
    NEAR(out[2], 8);
    for (int i = 0; i < 3; i++)
        assert_int_equal(dec[i].decision, FT_DECISION_REWEIGHTED);
}

/* Median, K = 4: each column's two middle values get 1/2 each. Columns (1,2,3,4)
 * and (10,20,30,40) and (5,6,7,8) -> rows 1 and 2; (5,1,9,2) -> rows 3 and 0 (2 and
 * 5). Weights: row 0 1/8, rows 1, 2 3/8, row 3 1/8. Contributions: row 0 ||5/2|| =
 * 2.5; row 1 ||(1,10,0,3)|| = sqrt 110; row 2 ||(1.5,15,0,3.5)|| = sqrt 239.5; row 3
 * ||1|| = 1. */
static void test_median_even(void **state)
{
    (void)state;
    const float U[16] = {1, 10, 5, 5, 2, 20, 1, 6, 3, 30, 9, 7, 4, 40, 2, 8};
    const float counts[4] = {1, 1, 1, 1};
    float out[NN];
    ft_defense_decision_t dec[4];
    agg("median", NULL, 4, U, counts, out, dec);
    want_weights(dec, 4, (const double[]){0.125, 0.375, 0.375, 0.125});
    want_contrib(dec, 4, (const double[]){2.5, sqrt(110.0), sqrt(239.5), 1});
    NEAR(out[2], 3.5);
}

/* Ties: three equal values (K = 3) give one row the coordinate, and with K = 4 and
 * (0,0,0,1) two of the zeros get 1/2 each, the 1 nothing; the weights still sum to
 * 1 whichever rows the selection picks. */
static void test_median_ties(void **state)
{
    (void)state;
    const float U3[12] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    const float counts[4] = {1, 1, 1, 1};
    float out[NN];
    ft_defense_decision_t dec[4];
    agg("median", NULL, 3, U3, counts, out, dec);
    double sum = 0;
    for (int i = 0; i < 3; i++)
        sum += dec[i].weight;
    NEAR(sum, 1);
    NEAR(out[0], 2);
    const float U4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
    agg("median", NULL, 4, U4, counts, out, dec);
    NEAR(dec[0].weight + dec[1].weight + dec[2].weight, 1);
    NEAR(dec[3].weight, 0);
    assert_int_equal(dec[3].decision, FT_DECISION_DROPPED);
    NEAR(dec[3].contrib_norm, 0);
    for (int i = 0; i < 3; i++) /* 1/2 at some coordinates, 0 at the others */
        NEAR(fmod(dec[i].weight * 8, 1), 0);
}

/* Trimmed mean, K = 5, at the b = floor(beta K) boundaries. Rows:
 *   (1,50,3,0) (2,40,1,9) (3,30,4,8) (4,20,2,7) (5,10,5,6).
 * beta = 0.19: b = 0, all kept, 1/5 each. beta = 0.2: b = 1 (0.2 x 5 is 1), each
 * column keeps three at 1/3: column 0 rows 1-3, column 1 rows 1-3, column 2
 * (3,1,4,2,5) rows 0, 2, 3, column 3 (0,9,8,7,6) rows 2-4. Weights (1, 2, 4, 4, 1)/12;
 * rows 2, 3 are inside the band everywhere (kept). Contributions: row 0 3/3 = 1, row
 * 1 ||(2,40)||/3, row 2 ||(3,30,4,8)||/3, row 3 ||(4,20,2,7)||/3, row 4 6/3 = 2.
 * beta = 0.4: b = 2, the median: rows 2, 2, 0, 3 -> weights (1, 0, 2, 1, 0)/4. */
static void test_trimmed_mean_boundaries(void **state)
{
    (void)state;
    const float U[20] = {1, 50, 3, 0, 2, 40, 1, 9, 3, 30, 4, 8, 4, 20, 2, 7, 5, 10, 5, 6};
    const float counts[5] = {1, 1, 1, 1, 1};
    float out[NN];
    ft_defense_decision_t dec[5];
    agg("trimmed-mean", (const char *const[]){"defense.beta=0.19", NULL}, 5, U, counts, out, dec);
    want_weights(dec, 5, (const double[]){0.2, 0.2, 0.2, 0.2, 0.2});
    for (int i = 0; i < 5; i++)
        assert_int_equal(dec[i].decision, FT_DECISION_KEPT);
    NEAR(out[1], 30);

    agg("trimmed-mean", (const char *const[]){"defense.beta=0.2", NULL}, 5, U, counts, out, dec);
    want_weights(dec, 5, (const double[]){1 / 12.0, 2 / 12.0, 4 / 12.0, 4 / 12.0, 1 / 12.0});
    want_contrib(dec, 5,
                 (const double[]){1, sqrt(1604.0) / 3, sqrt(989.0) / 3, sqrt(469.0) / 3, 2});
    assert_int_equal(dec[2].decision, FT_DECISION_KEPT);
    assert_int_equal(dec[0].decision, FT_DECISION_REWEIGHTED);
    NEAR(out[3], 7);

    agg("trimmed-mean", (const char *const[]){"defense.beta=0.4", NULL}, 5, U, counts, out, dec);
    want_weights(dec, 5, (const double[]){0.25, 0, 0.5, 0.25, 0});
    assert_int_equal(dec[1].decision, FT_DECISION_DROPPED);
    NEAR(out[2], 3);
}

/* The five vectors a (10,0,0) b (1,0,0) c (0,1,0) d (1,1,0) e (0,0,1) (a 4th
 * coordinate 0), counts 10, 10, 10, 10, 20, f = 1. Krum scores a 163, b 3, c 3, d 2,
 * e 4: Krum keeps d (weight 1, contribution sqrt 2); Multi-Krum (m = K - f = 4)
 * drops a and weights b, c, d, e by 10, 10, 10, 20 of 50. */
static void test_krum_selection(void **state)
{
    (void)state;
    const float U[20] = {10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0};
    const float counts[5] = {10, 10, 10, 10, 20};
    float out[NN];
    ft_defense_decision_t dec[5];
    const char *const f1[] = {"defense.f=1", NULL};
    agg("krum", f1, 5, U, counts, out, dec);
    want_weights(dec, 5, (const double[]){0, 0, 0, 1, 0});
    want_contrib(dec, 5, (const double[]){0, 0, 0, sqrt(2.0), 0});
    assert_int_equal(dec[3].decision, FT_DECISION_KEPT);
    assert_int_equal(dec[0].decision, FT_DECISION_DROPPED);
    agg("multi-krum", f1, 5, U, counts, out, dec);
    want_weights(dec, 5, (const double[]){0, 0.2, 0.2, 0.2, 0.4});
    want_contrib(dec, 5, (const double[]){0, 0.2, 0.2, 0.2 * sqrt(2.0), 0.4});
    assert_int_equal(dec[0].decision, FT_DECISION_DROPPED);
    for (int i = 1; i < 5; i++)
        assert_int_equal(dec[i].decision, FT_DECISION_KEPT);
}

/* Norm clipping, M = 5: (3,4,0,0) is exactly at the bound (c = 1, kept), (0,0,6,8)
 * has norm 10 (c = 1/2, clipped), (1,0,0,0) is inside. Counts 1, 1, 2: the weights
 * stay 1/4, 1/4, 1/2 (clipping shrinks the vector, not the weight); contributions
 * 5/4, 1/4 x 1/2 x 10 = 5/4, 1/2. out = (1.25, 1, 0.75, 1). A NaN row is dropped
 * and the others' weights renormalised. */
static void test_norm_clipping_factor(void **state)
{
    (void)state;
    float U[16] = {3, 4, 0, 0, 0, 0, 6, 8, 1, 0, 0, 0, 0, 0, 0, 0};
    const float counts[4] = {1, 1, 2, 4};
    float out[NN];
    ft_defense_decision_t dec[4];
    const char *const m5[] = {"defense.norm_bound=5", NULL};
    agg("norm-clipping", m5, 3, U, counts, out, dec);
    want_weights(dec, 3, (const double[]){0.25, 0.25, 0.5});
    want_contrib(dec, 3, (const double[]){1.25, 1.25, 0.5});
    assert_int_equal(dec[0].decision, FT_DECISION_KEPT);
    NEAR(dec[0].clip_factor, 1);
    assert_int_equal(dec[1].decision, FT_DECISION_CLIPPED);
    NEAR(dec[1].clip_factor, 0.5);
    const double want[NN] = {1.25, 1, 0.75, 1};
    for (int j = 0; j < NN; j++)
        NEAR(out[j], want[j]);

    U[12] = NAN; /* row 3 (count 4) */
    agg("norm-clipping", m5, 4, U, counts, out, dec);
    want_weights(dec, 4, (const double[]){0.25, 0.25, 0.5, 0});
    assert_int_equal(dec[3].decision, FT_DECISION_DROPPED);
    NEAR(dec[3].contrib_norm, 0);
    NEAR(out[0], 1.25);
}

/* NaN rows in the coordinate-wise rules: left out per coordinate, so a row that is
 * NaN everywhere gets weight 0 and the others share the coordinates as without it
 * (the K = 3 median case above plus a NaN row). */
static void test_nan_rows_coordinatewise(void **state)
{
    (void)state;
    const float U[16] = {1, 5, 3, 0, 2, 4, 8, 7, 3, 6, 9, 1, NAN, NAN, NAN, NAN};
    const float counts[4] = {1, 1, 1, 1};
    float out[NN];
    ft_defense_decision_t dec[4];
    agg("median", NULL, 4, U, counts, out, dec);
    want_weights(dec, 4, (const double[]){0.25, 0.5, 0.25, 0});
    want_contrib(dec, 4, (const double[]){5, sqrt(68.0), 1, 0});
    assert_int_equal(dec[3].decision, FT_DECISION_DROPPED);
    agg("trimmed-mean", (const char *const[]){"defense.beta=0", NULL}, 4, U, counts, out, dec);
    want_weights(dec, 4, (const double[]){1 / 3.0, 1 / 3.0, 1 / 3.0, 0});
}

/* Centered clipping, tau = 1, L = 2, v0 = 0, rows (3,0,0,0) and (0,.5,0,0). Iteration
 * 1: distances 3, 0.5, c = 1/3, 1, keep = 1 - (1/3 + 1)/2 = 1/3, b = (1/6, 1/2), v =
 * (.5, .25). Iteration 2: distances 2.512469, 0.559017, c = 0.398015, 1, keep =
 * 0.300993, b = (keep/6 + c0/2, keep/2 + 1/2) = (0.249173, 0.650496). With v0 = 0 the
 * aggregate is exactly sum_i b_i x_i = (0.747519, 0.325248); 1 - sum b = 0.100331 is
 * the (zero) centre's share. */
static void test_centered_clipping_iterations(void **state)
{
    (void)state;
    const float U[8] = {3, 0, 0, 0, 0, 0.5f, 0, 0};
    const float counts[2] = {1, 1};
    float out[NN];
    ft_defense_decision_t dec[2];
    agg("centered-clipping", (const char *const[]){"defense.tau=1", "defense.cc_iters=2", NULL}, 2,
        U, counts, out, dec);
    NEAR(dec[0].weight, 0.2491728650349982);
    NEAR(dec[1].weight, 0.6504962809790011);
    NEAR(out[0], 3 * dec[0].weight);
    NEAR(out[1], 0.5 * dec[1].weight);
    NEAR(dec[0].contrib_norm, 0.7475185951049945);
    assert_int_equal(dec[0].decision, FT_DECISION_CLIPPED);
    assert_int_equal(dec[1].decision, FT_DECISION_KEPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selects_flag),
        cmocka_unit_test(test_fedavg_unequal_counts),
        cmocka_unit_test(test_median_odd),
        cmocka_unit_test(test_median_even),
        cmocka_unit_test(test_median_ties),
        cmocka_unit_test(test_trimmed_mean_boundaries),
        cmocka_unit_test(test_krum_selection),
        cmocka_unit_test(test_norm_clipping_factor),
        cmocka_unit_test(test_nan_rows_coordinatewise),
        cmocka_unit_test(test_centered_clipping_iterations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
