/* Tests for defenses/: golden values from the paper's own defense code (NDC,
 * Krum, Multi-Krum, RFA — given in the issue, computed with the paper code),
 * hand-worked cases for the other rules (the working is in the comments; the
 * FoolsGold case was also checked against the authors' reference code), the
 * load-time parameter checks, checkpointed state, and the building blocks
 * (quickselect, Gram-matrix distances). The registry-wide contract test is in
 * test_defenses_contract.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_defense.h"
#include "ft_defense_util.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------------- */

/* A config with defense.name = name and K clients per round, plus "k=v" extras. */
static ft_config_t *make_cfg(const char *name, int K, const char *const *extra)
{
    ft_config_t *cfg = ft_config_new();
    assert_non_null(cfg);
    assert_int_equal(ft_config_set_value(cfg, "defense.name", name, "test"), FT_OK);
    char k[32];
    snprintf(k, sizeof k, "%d", K);
    assert_int_equal(ft_config_set_value(cfg, "federation.clients_per_round", k, "test"), FT_OK);
    for (int i = 0; extra && extra[i]; i++)
        assert_int_equal(ft_config_set(cfg, extra[i], "test"), FT_OK);
    return cfg;
}

/* Reads cfg as an experiment and checks its [defense] against K = clients_per_round,
 * as ft_global_new does; returns the first error's code. */
static int check_cfg(const ft_config_t *cfg, ft_experiment_t *exp)
{
    int rc = ft_experiment_read(cfg, exp);
    return rc == FT_OK ? ft_defense_check(&exp->defense, exp->federation.clients_per_round) : rc;
}

/* One run of a defense: created, checked, one or more rounds, destroyed. */
typedef struct {
    const ft_defense_t *d;      /* the rule */
    void *state;                /* its state */
    void *ws;                   /* its workspace */
    ft_defense_decision_t *dec; /* K decisions */
    size_t K, N;                /* sizes */
} run_t;

static void run_open(run_t *r, const ft_config_t *cfg, size_t K, size_t N, size_t num_clients)
{
    memset(r, 0, sizeof *r);
    /* exp ends with this function: create must copy what it keeps */
    ft_experiment_t exp;
    if (check_cfg(cfg, &exp) != FT_OK)
        fail_msg("%s", ft_error_message());
    r->d = ft_defense_find(exp.defense.name);
    assert_non_null(r->d);
    assert_int_equal(r->d->create(&exp.defense, K, N, num_clients, &r->state), FT_OK);
    r->ws = ft_malloc(r->d->workspace_size(K, N));
    assert_non_null(r->ws);
    r->dec = ft_calloc(K, sizeof *r->dec);
    r->K = K;
    r->N = N;
}

static int run_round(run_t *r, int round, float *U, const float *counts, const uint32_t *ids,
                     const float *server, float *out)
{
    ft_rng_t rng;
    ft_rng_init(&rng, 7, (uint32_t)round, 0, FT_RNG_NOISE);
    uint32_t default_ids[64];
    for (size_t i = 0; i < r->K && i < 64; i++)
        default_ids[i] = (uint32_t)i;
    ft_defense_input_t in = {.round = round,
                             .K = r->K,
                             .N = r->N,
                             .updates = U,
                             .counts = counts,
                             .ids = ids ? ids : default_ids,
                             .global = NULL,
                             .server_update = server,
                             .rng = &rng};
    return r->d->aggregate(r->state, &in, out, r->dec, r->ws);
}

static void run_close(run_t *r)
{
    r->d->destroy(&r->state);
    assert_null(r->state);
    ft_free(r->ws);
    ft_free(r->dec);
}

/* Aggregates once with a fresh defense; returns the aggregate's code. */
static int aggregate_once(const char *name, const char *const *extra, size_t K, size_t N,
                          const float *U0, const float *counts, const float *server, float *out,
                          ft_defense_decision_t *dec)
{
    ft_config_t *cfg = make_cfg(name, (int)K, extra);
    run_t r;
    run_open(&r, cfg, K, N, K);
    float *U = ft_malloc(K * N * sizeof *U);
    memcpy(U, U0, K * N * sizeof *U);
    int rc = run_round(&r, 1, U, counts, NULL, server, out);
    if (dec)
        memcpy(dec, r.dec, K * sizeof *dec);
    ft_free(U);
    run_close(&r);
    ft_config_destroy(&cfg);
    return rc;
}

static void assert_vec_near(const float *got, const double *want, size_t n, double tol)
{
    for (size_t j = 0; j < n; j++) {
        if (!(fabs(got[j] - want[j]) <= tol))
            fail_msg("element %zu: got %.7g, want %.7g (tol %g)", j, (double)got[j], want[j], tol);
    }
}

/* The five client vectors and sample counts. */
static const float five_U[15] = {10, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1};
static const float five_counts[5] = {10, 10, 10, 10, 20};
static const float equal_counts[5] = {1, 1, 1, 1, 1};

/* ---- golden values (paper code) ---------------------------------------------- */

static void test_ndc_golden(void **state)
{
    (void)state;
    /* ||[3,4,0]|| = 5 > M = 2: factor 2/5 -> [1.2, 1.6, 0] */
    const float U[3] = {3, 4, 0}, counts[1] = {1};
    const char *const extra[] = {"defense.norm_bound=2", NULL};
    float out[3];
    ft_defense_decision_t dec[1];
    assert_int_equal(aggregate_once("norm-clipping", extra, 1, 3, U, counts, NULL, out, dec),
                     FT_OK);
    const double want[3] = {1.2, 1.6, 0};
    assert_vec_near(out, want, 3, 1e-4);
    assert_int_equal(dec[0].decision, FT_DECISION_CLIPPED);
    assert_true(fabs(dec[0].clip_factor - 0.4) < 1e-6);
    assert_true(fabs(dec[0].score - 5.0) < 1e-6);
}

static void test_krum_golden(void **state)
{
    (void)state;
    /* Squared distances: ab 81, ac 101, ad 82, ae 101, bc 2, bd 1, be 2, cd 1, ce 2,
     * de 3. K - f - 2 = 2 nearest: a 163, b 3, c 3, d 2, e 4 -> d = [1,1,0]. */
    const char *const extra[] = {"defense.f=1", NULL};
    float out[3];
    ft_defense_decision_t dec[5];
    assert_int_equal(aggregate_once("krum", extra, 5, 3, five_U, five_counts, NULL, out, dec),
                     FT_OK);
    const double want[3] = {1, 1, 0};
    assert_vec_near(out, want, 3, 1e-4);
    const double scores[5] = {163, 3, 3, 2, 4};
    for (int i = 0; i < 5; i++) {
        assert_true(fabs(dec[i].score - scores[i]) < 1e-3);
        assert_int_equal(dec[i].decision, i == 3 ? FT_DECISION_KEPT : FT_DECISION_DROPPED);
    }
}

static void test_multi_krum_golden(void **state)
{
    (void)state;
    /* m = K - f = 4 lowest scores: d, b, c, e; weighted 10,10,10,20 -> [0.4,0.4,0.4] */
    const char *const extra[] = {"defense.f=1", NULL};
    float out[3];
    ft_defense_decision_t dec[5];
    assert_int_equal(aggregate_once("multi-krum", extra, 5, 3, five_U, five_counts, NULL, out, dec),
                     FT_OK);
    const double want[3] = {0.4, 0.4, 0.4};
    assert_vec_near(out, want, 3, 1e-4);
    assert_int_equal(dec[0].decision, FT_DECISION_DROPPED);
    assert_true(fabs(dec[4].weight - 0.4) < 1e-6);
    /* explicit m = 2: d and b (b before c on the tie), equal counts -> [1, 0.5, 0] */
    const char *const extra2[] = {"defense.f=1", "defense.m=2", NULL};
    assert_int_equal(
        aggregate_once("multi-krum", extra2, 5, 3, five_U, five_counts, NULL, out, NULL), FT_OK);
    const double want2[3] = {1, 0.5, 0};
    assert_vec_near(out, want2, 3, 1e-6);
}

static void test_rfa_golden(void **state)
{
    (void)state;
    float out[3];
    ft_defense_decision_t dec[5];
    assert_int_equal(aggregate_once("rfa", NULL, 5, 3, five_U, equal_counts, NULL, out, dec),
                     FT_OK);
    const double want[3] = {0.8614, 0.5313, 0.1338};
    assert_vec_near(out, want, 3, 1e-4);
    /* the outlier gets the smallest Weiszfeld weight */
    for (int i = 1; i < 5; i++)
        assert_true(dec[0].weight < dec[i].weight);
}

/* ---- hand-worked cases -------------------------------------------------------- */

static void test_fedavg_hand(void **state)
{
    (void)state;
    /* (1*[1,2] + 3*[3,4]) / 4 = [2.5, 3.5] */
    const float U[4] = {1, 2, 3, 4}, counts[2] = {1, 3};
    float out[2];
    ft_defense_decision_t dec[2];
    const char *names[] = {"fedavg", "none"};
    for (int n = 0; n < 2; n++) {
        assert_int_equal(aggregate_once(names[n], NULL, 2, 2, U, counts, NULL, out, dec), FT_OK);
        const double want[2] = {2.5, 3.5};
        assert_vec_near(out, want, 2, 1e-6);
        assert_true(fabs(dec[1].weight - 0.75) < 1e-6);
    }
    /* zero total samples: an error, not a division by zero */
    const float zero[2] = {0, 0};
    assert_int_equal(aggregate_once("fedavg", NULL, 2, 2, U, zero, NULL, out, NULL), FT_EINVAL);
}

static void test_ndc_weights_and_nan(void **state)
{
    (void)state;
    /* [6,8] (norm 10 -> x0.2 = [1.2,1.6]), [0,1] (kept), NaN row dropped;
     * counts 1, 3, 5 -> shares 1/4, 3/4 over the kept: [0.3, 0.4 + 0.75] */
    const float U[6] = {6, 8, 0, 1, NAN, 0}, counts[3] = {1, 3, 5};
    const char *const extra[] = {"defense.norm_bound=2", NULL};
    float out[2];
    ft_defense_decision_t dec[3];
    assert_int_equal(aggregate_once("norm-clipping", extra, 3, 2, U, counts, NULL, out, dec),
                     FT_OK);
    const double want[2] = {0.3, 1.15};
    assert_vec_near(out, want, 2, 1e-6);
    assert_int_equal(dec[1].decision, FT_DECISION_KEPT);
    assert_int_equal(dec[2].decision, FT_DECISION_DROPPED);
}

static void test_weak_dp_noise(void **state)
{
    (void)state;
    /* With stddev 0 weak-dp is NDC exactly; with stddev s the aggregate of zero
     * updates is pure noise: mean ~ 0, std ~ s over N = 20000 coordinates. */
    enum { N = 20000 };
    float *U = ft_calloc(2 * N, sizeof *U);
    float *out = ft_malloc(N * sizeof *out);
    const float counts[2] = {1, 1};
    const char *const ex0[] = {"defense.stddev=0", NULL};
    assert_int_equal(aggregate_once("weak-dp", ex0, 2, N, U, counts, NULL, out, NULL), FT_OK);
    for (size_t j = 0; j < N; j++)
        assert_true(out[j] == 0.0f);
    const char *const ex1[] = {"defense.stddev=0.025", NULL};
    assert_int_equal(aggregate_once("weak-dp", ex1, 2, N, U, counts, NULL, out, NULL), FT_OK);
    double m = 0, v = 0;
    for (size_t j = 0; j < N; j++)
        m += out[j];
    m /= N;
    for (size_t j = 0; j < N; j++)
        v += (out[j] - m) * (out[j] - m);
    double sd = sqrt(v / (N - 1));
    assert_true(fabs(m) < 4 * 0.025 / sqrt(N));
    assert_true(fabs(sd - 0.025) < 0.025 * 0.03);
    ft_free(U);
    ft_free(out);
}

static void test_median_hand(void **state)
{
    (void)state;
    /* column 0: 1, 2, 3, 100 -> (2+3)/2 = 2.5; column 1: 5, NaN, -1, 0 -> finite 5,-1,0
     * -> 0; column 2: all non-finite -> 0 */
    const float U[12] = {1, 5, NAN, 2, NAN, INFINITY, 3, -1, -INFINITY, 100, 0, NAN};
    const float counts[4] = {1, 1, 1, 1};
    float out[3];
    ft_defense_decision_t dec[4];
    assert_int_equal(aggregate_once("median", NULL, 4, 3, U, counts, NULL, out, dec), FT_OK);
    const double want[3] = {2.5, 0, 0};
    assert_vec_near(out, want, 3, 1e-6);
    /* row 3 is the median of column 1 only (1 of 3 coordinates) */
    assert_true(fabs(dec[3].score - 1.0 / 3) < 1e-6);
    assert_true(fabs(dec[0].score - 0.0) < 1e-6);
    assert_int_equal(dec[0].decision, FT_DECISION_DROPPED);
}

static void test_trimmed_mean_hand(void **state)
{
    (void)state;
    /* beta 0.2. column 0: 1,2,3,4,100 -> b = 1 -> mean(2,3,4) = 3;
     * column 1: NaN,1,2,3,4 -> n = 4, b = floor(0.8) = 0 -> 2.5;
     * column 2: -50, 0, 0, 1, 50 -> b = 1 -> 1/3 */
    const float U[15] = {1, NAN, -50, 2, 1, 0, 3, 2, 0, 4, 3, 1, 100, 4, 50};
    const float counts[5] = {1, 1, 1, 1, 1};
    const char *const extra[] = {"defense.beta=0.2", NULL};
    float out[3];
    assert_int_equal(aggregate_once("trimmed-mean", extra, 5, 3, U, counts, NULL, out, NULL),
                     FT_OK);
    const double want[3] = {3, 2.5, 1.0 / 3};
    assert_vec_near(out, want, 3, 1e-6);
    /* beta 0: the plain mean of the finite values */
    const char *const extra0[] = {"defense.beta=0", NULL};
    assert_int_equal(aggregate_once("trimmed-mean", extra0, 5, 3, U, counts, NULL, out, NULL),
                     FT_OK);
    const double want0[3] = {22, 2.5, 0.2};
    assert_vec_near(out, want0, 3, 1e-5);
}

static void test_bulyan_hand(void **state)
{
    (void)state;
    /* K = 7, f = 1: theta = 5, beta = 3. Column 0 holds 0,1,2,3,4,5,100 and column 1
     * twice that (squared distances scale by 5, the choices do not). Recursive Krum
     * (nb = r - f - 2, at least 1); ties go to the smaller sum of distances to all
     * remaining (s), then the lower index:
     *   r=7 nb=4: scores 30,15,10,10,15,30,huge; 2 vs 3: s 9623 vs 9428 -> 3
     *   r=6 nb=3: {0,1,2,4,5,100}: 21,11,9,14,26 -> 2
     *   r=5 nb=2: {0,1,4,5,100}: 17,10,10,17; 1 vs 4: s 9827 vs 9242 -> 4
     *   r=4 nb=1: {0,1,5,100}: 1,1,16; 0 vs 1: s 10026 vs 9818 -> 1
     *   r=3 nb=1: {0,5,100}: 25,25; s 10025 vs 9050 -> 5
     * selected values 1..5 (0 and 100 dropped); column 0: median 3, the 3 closest
     * 2,3,4 -> 3; column 1: 6. */
    const float U[14] = {0, 0, 1, 2, 2, 4, 3, 6, 4, 8, 5, 10, 100, 200};
    const float counts[7] = {1, 1, 1, 1, 1, 1, 1};
    const char *const extra[] = {"defense.f=1", NULL};
    float out[2];
    ft_defense_decision_t dec[7];
    assert_int_equal(aggregate_once("bulyan", extra, 7, 2, U, counts, NULL, out, dec), FT_OK);
    const double want[2] = {3, 6};
    assert_vec_near(out, want, 2, 1e-6);
    assert_int_equal(dec[0].decision, FT_DECISION_DROPPED);
    assert_int_equal(dec[6].decision, FT_DECISION_DROPPED);
    assert_int_equal(dec[5].decision, FT_DECISION_REWEIGHTED);
    assert_true(fabs(dec[5].weight - 0.0) < 1e-6); /* selected, never among the closest */
    assert_true(fabs(dec[3].weight - 1.0 / 3) < 1e-6);
    /* the score is the Krum score in the full set (nb = 4), scaled by 5 */
    assert_true(fabs(dec[2].score - 50) < 1e-3);
}

static void test_foolsgold_hand(void **state)
{
    (void)state;
    /* a = [1,0,0], b = [.6,.8,0], c = [.2,.1,sqrt(.95)] (unit vectors):
     * cs_ab = .6, cs_ac = cs_bc = .2; v = (.6,.6,.2). Pardoning c: cs_c* = .2*.2/.6
     * = 1/15. alpha = 1 - max: (.4, .4, 14/15); / max: (3/7, 3/7, 1 -> .99);
     * logit: ln(.75) + .5 = .212318 for a and b, 1 for c. Equal counts:
     * out = (.212318 (a + b) + c) / 1.424636 = [.378840, .189420, .684160]
     * (the authors' foolsgold() gives the same weights). */
    const float U[9] = {1, 0, 0, 0.6f, 0.8f, 0, 0.2f, 0.1f, (float)sqrt(0.95)};
    const float counts[3] = {1, 1, 1};
    float out[3];
    ft_defense_decision_t dec[3];
    assert_int_equal(aggregate_once("foolsgold", NULL, 3, 3, U, counts, NULL, out, dec), FT_OK);
    const double want[3] = {0.37884, 0.18942, 0.68416};
    assert_vec_near(out, want, 3, 1e-4);
    assert_int_equal(dec[0].decision, FT_DECISION_REWEIGHTED);
    assert_int_equal(dec[2].decision, FT_DECISION_KEPT);
    assert_true(fabs(dec[0].score - 0.6) < 1e-5);

    /* two identical sybils and one other: the sybils get alpha 0 -> out = c */
    const float S[6] = {1, 0, 1, 0, 0, 1};
    assert_int_equal(aggregate_once("foolsgold", NULL, 3, 2, S, counts, NULL, out, dec), FT_OK);
    const double want2[2] = {0, 1};
    assert_vec_near(out, want2, 2, 1e-6);
    assert_int_equal(dec[0].decision, FT_DECISION_DROPPED);
    assert_int_equal(dec[1].decision, FT_DECISION_DROPPED);
}

static void test_foolsgold_history_and_state(void **state)
{
    (void)state;
    /* Round 1: clients 4, 7, 2 send a, b, c of the hand case above. Round 2 they
     * send e3, e3, e1. Alone, round 2 has two identical sybils (alpha 0) and e1 would
     * win: out = e1. With history H = a+e3, b+e3, c+e1: cs_ab = .8, cs_ac = .9926,
     * cs_bc = .8100; v = (.9926, .8100, .9926); pardoning b: none (v_b is lowest, its
     * cs stay); a, c: max .9926 -> alpha (.0074, .3390, .0074) / max = (.0218, 1,
     * .0218) -> logit (0, 1, 0): out = b's e3 (the authors' foolsgold() agrees). A
     * state saved after round 1 and loaded into a new instance gives the same. */
    const float R1[9] = {1, 0, 0, 0.6f, 0.8f, 0, 0.2f, 0.1f, (float)sqrt(0.95)};
    const float R2[9] = {0, 0, 1, 0, 0, 1, 1, 0, 0};
    const float counts[3] = {1, 1, 1};
    const uint32_t ids[3] = {4, 7, 2};
    ft_config_t *cfg = make_cfg("foolsgold", 3, NULL);
    run_t r, r2;
    run_open(&r, cfg, 3, 3, 10);
    float U[9], out1[3], out2[3], out3[3];
    memcpy(U, R1, sizeof U);
    assert_int_equal(run_round(&r, 1, U, counts, ids, NULL, out1), FT_OK);
    size_t need = r.d->state_save(r.state, NULL, 0);
    uint8_t *buf = ft_malloc(need);
    assert_int_equal(r.d->state_save(r.state, buf, need), need);
    memcpy(U, R2, sizeof U);
    assert_int_equal(run_round(&r, 2, U, counts, ids, NULL, out2), FT_OK);
    const double with_history[3] = {0, 0, 1};
    assert_vec_near(out2, with_history, 3, 1e-6);
    assert_int_equal(r.dec[1].decision, FT_DECISION_KEPT);
    float alone[3];
    assert_int_equal(aggregate_once("foolsgold", NULL, 3, 3, R2, counts, NULL, alone, NULL), FT_OK);
    const double without[3] = {1, 0, 0};
    assert_vec_near(alone, without, 3, 1e-6);

    run_open(&r2, cfg, 3, 3, 10);
    assert_int_equal(r2.d->state_load(r2.state, buf, need - 1), FT_EFORMAT);
    assert_int_equal(r2.d->state_load(r2.state, buf, need), FT_OK);
    memcpy(U, R2, sizeof U);
    assert_int_equal(run_round(&r2, 2, U, counts, ids, NULL, out3), FT_OK);
    for (int j = 0; j < 3; j++)
        assert_true(out2[j] == out3[j]);
    /* an id beyond num_clients is an error, not a write out of bounds */
    const uint32_t bad_ids[3] = {4, 7, 10};
    memcpy(U, R2, sizeof U);
    assert_int_equal(run_round(&r2, 3, U, counts, bad_ids, NULL, out3), FT_EINVAL);
    ft_free(buf);
    run_close(&r);
    run_close(&r2);
    ft_config_destroy(&cfg);
}

static void test_centered_clipping_hand(void **state)
{
    (void)state;
    /* tau = 1, L = 1, v0 = 0. Round 1: [3,0] clipped to [1,0], [0,.5] kept ->
     * v = [.5,.25]. Round 2 (same updates): [3,0]-v = [2.5,-.25], norm 2.512469,
     * factor .398015; [0,.5]-v = [-.5,.25] kept -> v = [.747519, .325248]. */
    const float X[4] = {3, 0, 0, 0.5f};
    const float counts[2] = {1, 1};
    const char *const extra[] = {"defense.tau=1", "defense.cc_iters=1", NULL};
    ft_config_t *cfg = make_cfg("centered-clipping", 2, extra);
    run_t r, r2;
    run_open(&r, cfg, 2, 2, 2);
    float U[4], out[2];
    memcpy(U, X, sizeof U);
    assert_int_equal(run_round(&r, 1, U, counts, NULL, NULL, out), FT_OK);
    const double want1[2] = {0.5, 0.25};
    assert_vec_near(out, want1, 2, 1e-6);
    assert_int_equal(r.dec[0].decision, FT_DECISION_CLIPPED);
    assert_true(fabs(r.dec[0].clip_factor - 1.0 / 3) < 1e-6);
    assert_int_equal(r.dec[1].decision, FT_DECISION_KEPT);
    /* weights: keep = 1 - (1/3 + 1)/2 = 1/3 for v0, b = (1/3)/2 = 1/6 and 1/2;
     * contributions 1/6 * 3 = 0.5 and 1/2 * 0.5 = 0.25 */
    assert_true(fabs(r.dec[0].weight - 1.0 / 6) < 1e-6);
    assert_true(fabs(r.dec[1].weight - 0.5) < 1e-6);
    assert_true(fabs(r.dec[0].contrib_norm - 0.5) < 1e-6);
    assert_true(fabs(r.dec[1].contrib_norm - 0.25) < 1e-6);
    /* the momentum is the checkpointed state */
    size_t need = r.d->state_save(r.state, NULL, 0);
    uint8_t *buf = ft_malloc(need);
    assert_int_equal(r.d->state_save(r.state, buf, need), need);
    memcpy(U, X, sizeof U);
    assert_int_equal(run_round(&r, 2, U, counts, NULL, NULL, out), FT_OK);
    const double want2[2] = {0.747519, 0.325248};
    assert_vec_near(out, want2, 2, 1e-5);
    run_open(&r2, cfg, 2, 2, 2);
    assert_int_equal(r2.d->state_load(r2.state, buf, need), FT_OK);
    memcpy(U, X, sizeof U);
    assert_int_equal(run_round(&r2, 2, U, counts, NULL, NULL, out), FT_OK);
    assert_vec_near(out, want2, 2, 1e-5);
    buf[0] ^= 1;
    assert_int_equal(r2.d->state_load(r2.state, buf, need), FT_EFORMAT);
    ft_free(buf);
    run_close(&r);
    run_close(&r2);
    ft_config_destroy(&cfg);
}

static void test_fltrust_hand(void **state)
{
    (void)state;
    /* g0 = [1,0]. [2,0]: TS 1, rescaled [1,0]; [0,3]: TS 0; [1,1]: TS .707107,
     * rescaled [.707107,.707107]; [-1,0]: TS 0. out = ([1,0] + .707107 [.707107,
     * .707107]) / 1.707107 = [.878680, .292893] */
    const float U[8] = {2, 0, 0, 3, 1, 1, -1, 0};
    const float counts[4] = {1, 1, 1, 1};
    const float g0[2] = {1, 0};
    float out[2];
    ft_defense_decision_t dec[4];
    assert_int_equal(aggregate_once("fltrust", NULL, 4, 2, U, counts, g0, out, dec), FT_OK);
    const double want[2] = {0.878680, 0.292893};
    assert_vec_near(out, want, 2, 1e-5);
    assert_int_equal(dec[1].decision, FT_DECISION_DROPPED);
    assert_int_equal(dec[3].decision, FT_DECISION_DROPPED);
    assert_true(fabs(dec[2].score - 0.707107) < 1e-5);
    assert_true(fabs(dec[0].clip_factor - 0.5) < 1e-6);
    assert_true(ft_defense_find("fltrust")->needs_server_update);
    /* no server update: an error */
    assert_int_equal(aggregate_once("fltrust", NULL, 4, 2, U, counts, NULL, out, dec), FT_EINVAL);
}

/* ---- load-time checks ------------------------------------------------------- */

static void expect_config_error(const char *name, int K, const char *const *extra,
                                const char *needle)
{
    ft_config_t *cfg = make_cfg(name, K, extra);
    ft_error_clear();
    ft_experiment_t exp;
    assert_int_equal(check_cfg(cfg, &exp), FT_ECONFIG);
    if (!strstr(ft_error_message(), needle))
        fail_msg("message '%s' lacks '%s'", ft_error_message(), needle);
    ft_config_destroy(&cfg);
}

static void test_check_config(void **state)
{
    (void)state;
    /* every rule accepts the defaults at K = 10 */
    for (size_t i = 0; ft_defense_registry[i]; i++) {
        ft_config_t *cfg = make_cfg(ft_defense_registry[i]->name, 10, NULL);
        ft_experiment_t exp;
        if (check_cfg(cfg, &exp) != FT_OK)
            fail_msg("%s: %s", ft_defense_registry[i]->name, ft_error_message());
        assert_non_null(ft_defense_registry[i]->cite);
        ft_config_destroy(&cfg);
    }
    expect_config_error("nosuch", 10, NULL, "multi-krum");
    const char *const f4[] = {"defense.f=4", NULL};
    expect_config_error("krum", 10, f4, "K > 2f + 2");
    expect_config_error("multi-krum", 10, f4, "defense.f");
    const char *const m11[] = {"defense.m=11", NULL};
    expect_config_error("multi-krum", 10, m11, "defense.m");
    const char *const f2[] = {"defense.f=2", NULL};
    expect_config_error("bulyan", 10, f2, "4f + 3");
    const char *const beta[] = {"defense.beta=0.5", NULL};
    expect_config_error("trimmed-mean", 10, beta, "defense.beta");
    const char *const nb[] = {"defense.norm_bound=0", NULL};
    expect_config_error("norm-clipping", 10, nb, "defense.norm_bound");
    expect_config_error("weak-dp", 10, nb, "defense.norm_bound");
    const char *const sd[] = {"defense.stddev=-1", NULL};
    expect_config_error("weak-dp", 10, sd, "defense.stddev");
    const char *const rs[] = {"defense.root_size=0", NULL};
    expect_config_error("fltrust", 10, rs, "defense.root_size");
    const char *const tau[] = {"defense.tau=0", NULL};
    expect_config_error("centered-clipping", 10, tau, "defense.tau");
    const char *const it[] = {"defense.maxiter=0", NULL};
    expect_config_error("rfa", 10, it, "defense.maxiter");
    const char *const kap[] = {"defense.fg_confidence=0", NULL};
    expect_config_error("foolsgold", 10, kap, "defense.fg_confidence");
    expect_config_error("fedavg", 0, NULL, "clients_per_round");

    /* The family's bounds, word for word. */
    expect_config_error("krum", 10, f4,
                        "is 4, but Krum needs K > 2f + 2 = 10 updates per round "
                        "(federation.clients_per_round = 10)");
    expect_config_error("multi-krum", 10, f4,
                        "is 4, but Multi-Krum needs K > 2f + 2 = 10 updates per round "
                        "(federation.clients_per_round = 10)");
    expect_config_error("bulyan", 10, f2,
                        "is 2, but Bulyan needs K >= 4f + 3 = 11 updates per round "
                        "(federation.clients_per_round = 10)");
    const char *const fneg[] = {"defense.f=-1", NULL};
    expect_config_error("bulyan", 10, fneg, "is -1; must be >= 0");

    /* A round that closes with fewer updates than the rule needs is an error, not a
     * crash: Krum and Multi-Krum at f = 1 need K > 4, Bulyan K >= 7. */
    static const struct {
        const char *name; /* rule */
        size_t K;         /* created for */
        const char *msg;  /* error of a round of K - 1 */
    } few[] = {
        {"krum", 5, "krum: 4 updates this round, but f = 1 needs K > 4"},
        {"multi-krum", 5, "multi-krum: 4 updates this round, but f = 1 needs K > 4"},
        {"bulyan", 7, "bulyan: 6 updates this round, but f = 1 needs K >= 7"},
    };
    const char *const f1[] = {"defense.f=1", NULL};
    for (size_t t = 0; t < sizeof few / sizeof few[0]; t++) {
        float out[3], U[7 * 3] = {0}, counts[7] = {1, 1, 1, 1, 1, 1, 1};
        ft_config_t *cfg = make_cfg(few[t].name, (int)few[t].K, f1);
        run_t r;
        run_open(&r, cfg, few[t].K, 3, few[t].K);
        r.K = few[t].K - 1;
        ft_error_clear();
        assert_int_equal(run_round(&r, 1, U, counts, NULL, NULL, out), FT_EINVAL);
        assert_string_equal(ft_error_message(), few[t].msg);
        run_close(&r);
        ft_config_destroy(&cfg);
    }
}

/* ---- building blocks ---------------------------------------------------------- */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_select_kth(void **state)
{
    (void)state;
    ft_rng_t rng;
    ft_rng_init(&rng, 1, 0, 0, FT_RNG_TEST);
    ft_vi_t a[200];
    float sorted[200];
    for (int trial = 0; trial < 2000; trial++) {
        size_t n = 1 + ft_rng_below(&rng, 200);
        uint32_t range = 1 + ft_rng_below(&rng, 50); /* many ties */
        for (size_t t = 0; t < n; t++) {
            a[t].v = (float)ft_rng_below(&rng, range);
            a[t].i = (uint32_t)t;
            sorted[t] = a[t].v;
        }
        qsort(sorted, n, sizeof *sorted, cmp_float);
        size_t k = ft_rng_below(&rng, (uint32_t)n);
        ft_select_kth(a, n, k);
        assert_true(a[k].v == sorted[k]);
        for (size_t t = 0; t < n; t++)
            assert_true(t < k ? a[t].v <= a[k].v : a[t].v >= a[k].v);
    }
}

/* Gram-matrix distances against direct double loops, including near-identical rows
 * (cancellation), a 1e30 row (float overflow) and a NaN row, for K updates of N. */
static void check_pdist_gram(size_t K, size_t N)
{
    float *U = ft_malloc(K * N * sizeof *U);
    double *D = ft_malloc(K * K * sizeof *D);
    uint8_t *bad = ft_malloc(K);
    ft_rng_t rng;
    ft_rng_init(&rng, 3, 0, 0, FT_RNG_TEST);
    for (size_t j = 0; j < K * N; j++)
        U[j] = (float)ft_rng_normal(&rng);
    for (size_t j = 0; j < N; j++) {
        U[1 * N + j] = U[0 * N + j] + (j == 5 ? 1e-3f : 0.0f); /* near-identical */
        U[4 * N + j] = j % 2 ? 1e30f : -1e30f;
    }
    U[5 * N + 17] = NAN;
    size_t wsb = FT_WS_SLACK + ft_gram_ws(K);
    void *ws_mem = ft_malloc(wsb);
    ft_ws_t ws;
    ft_ws_init(&ws, ws_mem, wsb);
    ft_pdist2(U, K, N, D, bad, &ws);
    for (size_t a = 0; a < K; a++) {
        assert_int_equal(bad[a], a == 5);
        for (size_t b = 0; b < K; b++) {
            double want = a == b ? 0 : ft_dist2(U + a * N, U + b * N, N);
            if (a != b && (a == 5 || b == 5)) {
                assert_true(isinf(D[a * K + b]) && D[a * K + b] > 0);
                continue;
            }
            assert_true(D[a * K + b] >= 0);
            assert_true(D[a * K + b] == D[b * K + a]);
            if (a != b && (a == 4 || b == 4))
                assert_true(fabs(D[a * K + b] - want) <= 1e-12 * want);
            else if ((a == 0 && b == 1) || (a == 1 && b == 0))
                assert_true(D[a * K + b] < 1e-2); /* true value 1e-6, near |x|^2 ~ 4e4 */
            else
                assert_true(fabs(D[a * K + b] - want) <= 1e-5 * want);
        }
    }
    ft_free(ws_mem);
    ft_free(bad);
    ft_free(D);
    ft_free(U);
}

static void test_pdist_gram(void **state)
{
    (void)state;
    check_pdist_gram(6, 40000); /* GEMM path */
    check_pdist_gram(70, 3000); /* SYRK path (K >= 64) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ndc_golden),
        cmocka_unit_test(test_krum_golden),
        cmocka_unit_test(test_multi_krum_golden),
        cmocka_unit_test(test_rfa_golden),
        cmocka_unit_test(test_fedavg_hand),
        cmocka_unit_test(test_ndc_weights_and_nan),
        cmocka_unit_test(test_weak_dp_noise),
        cmocka_unit_test(test_median_hand),
        cmocka_unit_test(test_trimmed_mean_hand),
        cmocka_unit_test(test_bulyan_hand),
        cmocka_unit_test(test_foolsgold_hand),
        cmocka_unit_test(test_foolsgold_history_and_state),
        cmocka_unit_test(test_centered_clipping_hand),
        cmocka_unit_test(test_fltrust_hand),
        cmocka_unit_test(test_check_config),
        cmocka_unit_test(test_select_kth),
        cmocka_unit_test(test_pdist_gram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
