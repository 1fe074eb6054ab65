/* The probe rules of issue 17 (DeepSight, FLARE) against their references:
 * golden values from tests/fixtures/defenses/gen_defenses_probe.py (NumPy ports of
 * FLPoison's and BackFed's code) through the fixed tiny MLP probe with the fixture's
 * noise inputs and server set; the boundaries (no probe, K = 1, too few server
 * samples, a NaN or huge row, the suspicious-share threshold tau). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_defense.h"
#include "ft_defense_probe_mlp.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_rng.h"

#include "fixtures/defenses/defenses_probe_golden.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { K = FX_PR_K, N = FX_PR_N };

typedef struct {
    ft_config_t *cfg;           /* the rule's config */
    const ft_defense_t *d;      /* the rule */
    void *state;                /* its state */
    void *ws;                   /* its workspace */
    ft_defense_decision_t *dec; /* decisions */
    ft_probe_mlp_t probe;       /* the fixture's MLP probe */
} rule_t;

/* The rule name with settings (NULL-terminated "key=value"s), for k updates. */
static void rule_open(rule_t *r, const char *name, size_t k, const char *const *set)
{
    memset(r, 0, sizeof *r);
    r->cfg = ft_config_new();
    assert_non_null(r->cfg);
    char v[32];
    snprintf(v, sizeof v, "%zu", k);
    assert_int_equal(ft_config_set_value(r->cfg, "defense.name", name, "test"), FT_OK);
    assert_int_equal(ft_config_set_value(r->cfg, "federation.clients_per_round", v, "test"), FT_OK);
    assert_int_equal(ft_config_set(r->cfg, "federation.num_clients=64", "test"), FT_OK);
    for (int i = 0; set && set[i]; i++)
        assert_int_equal(ft_config_set(r->cfg, set[i], "test"), FT_OK);
    ft_experiment_t exp;
    if (ft_experiment_read(r->cfg, &exp) != FT_OK || ft_defense_check(&exp.defense, k) != FT_OK)
        fail_msg("%s: %s", name, ft_error_message());
    r->d = ft_defense_find(name);
    assert_non_null(r->d);
    assert_int_equal(r->d->create(&exp.defense, k, N, 64, &r->state), FT_OK);
    ft_probe_mlp_init(&r->probe, 6, 8, 5, 1, fx_pr_server, FX_PR_SRV);
    r->probe.noise_x = fx_pr_noise;
    r->probe.noise_sets = FX_PR_SEEDS;
    r->probe.noise_per_set = FX_PR_SAMPLES;
    r->ws = ft_malloc(ft_defense_workspace(r->d, k, N, &r->probe.probe));
    r->dec = ft_calloc(k, sizeof *r->dec);
    assert_non_null(r->ws);
    assert_non_null(r->dec);
}

static void rule_close(rule_t *r)
{
    r->d->destroy(&r->state);
    ft_free(r->ws);
    ft_free(r->dec);
    ft_config_destroy(&r->cfg);
}

static int rule_run(rule_t *r, size_t k, const float *U0, const float *counts,
                    const ft_defense_probe_t *probe, float *out)
{
    static float U[K * N];
    static const uint32_t ids[K] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    memcpy(U, U0, k * N * sizeof *U);
    ft_rng_t rng;
    ft_rng_init(&rng, 1, 1, 0, FT_RNG_NOISE);
    ft_defense_input_t in = {.round = 1,
                             .K = k,
                             .N = N,
                             .updates = U,
                             .counts = counts,
                             .ids = ids,
                             .global = fx_pr_G,
                             .rng = &rng,
                             .probe = probe};
    return r->d->aggregate(r->state, &in, out, r->dec, r->ws);
}

static void assert_close(const float *got, const float *want, size_t n, double rtol,
                         const char *what)
{
    for (size_t j = 0; j < n; j++)
        if (!(fabs((double)got[j] - (double)want[j]) <= rtol * (1 + fabs((double)want[j]))))
            fail_msg("%s[%zu]: got %.9g, want %.9g", what, j, (double)got[j], (double)want[j]);
}

static const char *const ds_set[] = {"defense.ds_seeds=3", "defense.ds_samples=20", NULL};
static const char *const fl_set[] = {"defense.flare_samples=16", "defense.root_size=16", NULL};

/* Five backdoor-like updates (their output-layer update on one class: TE 1) form a
 * cluster of suspicious members and are dropped; the blatant attacker (row 7, -10x
 * row 0) is a noise point in every clustering, its own cluster, and only clipped. */
static void test_deepsight_golden(void **state)
{
    (void)state;
    rule_t r;
    float out[N];
    rule_open(&r, "deepsight", K, ds_set);
    assert_int_equal(rule_run(&r, K, fx_pr_U, fx_pr_counts, &r.probe.probe, out), FT_OK);
    double sum = 0;
    for (size_t i = 0; i < K; i++) {
        int kept = r.dec[i].decision != FT_DECISION_DROPPED;
        if (kept != fx_ds_kept[i])
            fail_msg("deepsight: update %zu kept %d, reference %d", i, kept, fx_ds_kept[i]);
        sum += r.dec[i].weight;
    }
    assert_true(fabs(sum - 1) < 1e-6);
    assert_true(r.dec[7].clip_factor < 0.11f);
    assert_close(out, fx_ds_out, N, 1e-5, "deepsight");
    rule_close(&r);
}

/* Issue 17's blatant attacker (-10x row 0) among honest updates only: the reference
 * keeps it and only its clipping layer bounds it. Its NEUPs and TE are row 0's (|.|,
 * normalised: scale and sign drop out), so it is not suspicious; one homogeneous group
 * is all noise in every first-stage HDBSCAN, the final run finds one cluster of
 * everyone, 0 suspicious members < tau accepts it (FLPoison deepsight.py:66, 72-78),
 * and the attacker is clipped to the median norm (83-84). */
static void test_deepsight_blatant_among_honest(void **state)
{
    (void)state;
    enum { KH = FX_DS_HON, BAD = 5 }; /* fixture row 7 is the sixth honest-set row */
    static float U[KH * N];
    float counts[KH], out[N];
    for (size_t r = 0; r < KH; r++) {
        memcpy(U + r * N, fx_pr_U + (size_t)fx_ds_hon_rows[r] * N, N * sizeof *U);
        counts[r] = fx_pr_counts[fx_ds_hon_rows[r]];
    }
    assert_int_equal(fx_ds_hon_rows[BAD], 7);
    rule_t r;
    rule_open(&r, "deepsight", KH, ds_set);
    assert_int_equal(rule_run(&r, KH, U, counts, &r.probe.probe, out), FT_OK);
    double csum = 0;
    for (size_t i = 0; i < KH; i++)
        csum += counts[i];
    for (size_t i = 0; i < KH; i++) {
        int kept = r.dec[i].decision != FT_DECISION_DROPPED;
        if (kept != fx_ds_hon_kept[i])
            fail_msg("deepsight: update %zu kept %d, reference %d", i, kept, fx_ds_hon_kept[i]);
    }
    /* kept with its sample share; the clip (S / ||-10 x row 0||, about 1/10) is the bound */
    assert_int_equal(fx_ds_hon_kept[BAD], 1);
    assert_true(fabs(r.dec[BAD].weight - counts[BAD] / csum) < 1e-6);
    assert_true(r.dec[BAD].clip_factor < 0.11f);
    assert_close(out, fx_ds_hon_out, N, 1e-5, "deepsight (honest + blatant)");
    rule_close(&r);
}

/* ds_tau at its bounds: the backdoor cluster has 5 of 5 suspicious members, the honest
 * one 0 of 11; tau = 1 still rejects the first (5 < 5 is false), and tau = 1e-9 still
 * accepts the second (0 < 11e-9). */
static void test_deepsight_tau(void **state)
{
    (void)state;
    rule_t r;
    float out[N];
    const char *const tau1[] = {"defense.ds_seeds=3", "defense.ds_samples=20", "defense.ds_tau=1",
                                NULL};
    rule_open(&r, "deepsight", K, tau1);
    assert_int_equal(rule_run(&r, K, fx_pr_U, fx_pr_counts, &r.probe.probe, out), FT_OK);
    for (size_t i = 0; i < K; i++)
        assert_int_equal(r.dec[i].decision != FT_DECISION_DROPPED, fx_ds_kept[i]);
    rule_close(&r);
    const char *const tau0[] = {"defense.ds_seeds=3", "defense.ds_samples=20",
                                "defense.ds_tau=1e-9", NULL};
    rule_open(&r, "deepsight", K, tau0);
    assert_int_equal(rule_run(&r, K, fx_pr_U, fx_pr_counts, &r.probe.probe, out), FT_OK);
    for (size_t i = 0; i < K; i++)
        assert_int_equal(r.dec[i].decision != FT_DECISION_DROPPED, fx_ds_kept[i]);
    rule_close(&r);
}

static void test_flare_golden(void **state)
{
    (void)state;
    rule_t r;
    float out[N];
    rule_open(&r, "flare", K, fl_set);
    assert_int_equal(rule_run(&r, K, fx_pr_U, fx_pr_counts, &r.probe.probe, out), FT_OK);
    for (size_t i = 0; i < K; i++) {
        if (!(fabs(r.dec[i].weight - fx_fl_trust[i]) <= 1e-5 * (1 + fx_fl_trust[i])))
            fail_msg("flare: trust[%zu] = %.9g, reference %.9g", i, (double)r.dec[i].weight,
                     fx_fl_trust[i]);
        assert_int_equal(r.dec[i].decision == FT_DECISION_DROPPED, fx_fl_trust[i] == 0);
    }
    assert_int_equal(r.dec[7].decision, FT_DECISION_DROPPED); /* the blatant attacker */
    assert_close(out, fx_fl_out, N, 1e-5, "flare");
    rule_close(&r);
}

/* Without a probe both refuse the round with a message that says why; FLARE with one
 * server sample cannot estimate an MMD. */
static void test_no_probe(void **state)
{
    (void)state;
    rule_t r;
    float out[N];
    rule_open(&r, "deepsight", K, ds_set);
    assert_int_equal(rule_run(&r, K, fx_pr_U, fx_pr_counts, NULL, out), FT_EINVAL);
    assert_non_null(strstr(ft_error_message(), "probe"));
    rule_close(&r);
    rule_open(&r, "flare", K, fl_set);
    assert_int_equal(rule_run(&r, K, fx_pr_U, fx_pr_counts, NULL, out), FT_EINVAL);
    assert_non_null(strstr(ft_error_message(), "probe"));
    r.probe.probe.server_n = 1;
    assert_int_equal(rule_run(&r, K, fx_pr_U, fx_pr_counts, &r.probe.probe, out), FT_EINVAL);
    rule_close(&r);
}

/* K = 1: the one update is the aggregate (DeepSight: clipped to its own norm, i.e.
 * not at all); a row with one NaN is dropped by both, a 1e30 row by DeepSight, and the
 * output stays finite. */
static void test_minimum_and_nonfinite(void **state)
{
    (void)state;
    const char *names[] = {"deepsight", "flare"};
    for (int n = 0; n < 2; n++) {
        rule_t r;
        float out[N];
        rule_open(&r, names[n], 1, n ? fl_set : ds_set);
        assert_int_equal(rule_run(&r, 1, fx_pr_U, fx_pr_counts, &r.probe.probe, out), FT_OK);
        assert_close(out, fx_pr_U, N, 1e-6, names[n]);
        assert_true(fabsf(r.dec[0].weight - 1) < 1e-6f);
        rule_close(&r);
        static float V[K * N];
        memcpy(V, fx_pr_U, sizeof V);
        V[3 * N + 17] = NAN;
        for (size_t j = 0; j < N; j++)
            V[11 * N + j] = 1e30f;
        rule_open(&r, names[n], K, n ? fl_set : ds_set);
        assert_int_equal(rule_run(&r, K, V, fx_pr_counts, &r.probe.probe, out), FT_OK);
        assert_int_equal(r.dec[3].decision, FT_DECISION_DROPPED);
        /* FLARE does not bound magnitudes: a 1e30 row one client counts keeps a softmax
         * share (finite here); DeepSight's model of it gives non-finite DDifs */
        if (n == 0 && r.dec[11].weight != 0)
            fail_msg("%s: the 1e30 row has weight %g", names[n], (double)r.dec[11].weight);
        for (size_t j = 0; j < N; j++)
            if (!isfinite(out[j]))
                fail_msg("%s: out[%zu] = %g", names[n], j, (double)out[j]);
        rule_close(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deepsight_golden),
        cmocka_unit_test(test_deepsight_blatant_among_honest),
        cmocka_unit_test(test_deepsight_tau),
        cmocka_unit_test(test_flare_golden),
        cmocka_unit_test(test_no_probe),
        cmocka_unit_test(test_minimum_and_nonfinite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
