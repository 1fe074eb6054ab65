/* Contract test over the whole defense registry: every rule, the same invariants.
 *  - identical updates come back unchanged (with parameters that make that true:
 *    a large clipping bound, no noise);
 *  - permuting the clients (updates, counts and ids together) permutes nothing in
 *    the output;
 *  - finite in, finite out;
 *  - with f updates of +1e30, -1e30, +-1e30 or NaN among K, the robust rules'
 *    output stays finite and bounded, and no rule crashes;
 *  - nothing is allocated per round after create (ft_alloc_count; in
 *    ft_defense_selftest, shared with `fedtail selftest-defense`);
 *  - the weights (each row's mean coefficient in the aggregate, ft_defense.h) sum
 *    to 1 on random inputs and with NaN/huge rows among them (centered clipping: at
 *    most 1, the rest is its previous centre), a row of NaN gets weight 0, and the
 *    contribution norms are reported, finite, and at least ||out|| in sum (the
 *    contributions add up to the aggregate; weak-dp's noise and the centre aside);
 *  - two runs on the same random stream agree bit for bit (ft_defense_selftest);
 *  - a blatant attacker (-10x an honest update) gets no weight from any filtering
 *    rule (issue 17). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_defense.h"
#include "ft_defense_probe_mlp.h"
#include "ft_defense_selftest.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { N = FT_SELFTEST_N, MAXK = FT_SELFTEST_MAXK };

/* Rules that promise a bounded output under f outliers (ft_defense_selftest_expect):
 * fedavg/none are the undefended baseline; FoolsGold targets sybils, not magnitudes;
 * local-dp's server averages (the honest clients clip; an attacker does not); FLARE
 * weights whole rows by trust and clips nothing (a 1e30 row its MMD happens to place
 * near one client keeps a softmax share). */
static int is_robust(const ft_defense_t *d)
{
    return ft_defense_selftest_expect(d).robust;
}

/* The library's instance of d with K, f, and this test's parameters: beta and the
 * centred-clipping iterations always, and unless identical (where the library sets
 * bounds that keep identical updates unchanged) bounds and noise a robust round has. */
static void open_rule(ft_defense_selftest_inst_t *x, const ft_defense_t *d, size_t K, int f,
                      int identical)
{
    ft_config_t *base = ft_config_new();
    assert_non_null(base);
    assert_int_equal(ft_config_set_value(base, "defense.name", d->name, "test"), FT_OK);
    const char *common[] = {"defense.beta=0.2", "defense.cc_iters=3", NULL};
    for (int i = 0; common[i]; i++)
        assert_int_equal(ft_config_set(base, common[i], "test"), FT_OK);
    const char *robust[] = {"defense.norm_bound=5", "defense.stddev=0.025", "defense.tau=10", NULL};
    for (int i = 0; !identical && robust[i]; i++)
        assert_int_equal(ft_config_set(base, robust[i], "test"), FT_OK);
    if (ft_defense_selftest_open(x, base, K, f, identical) != FT_OK)
        fail_msg("%s: %s", d->name, ft_error_message());
    ft_config_destroy(&base);
}

/* The share invariants above, after a round of x over U (K×N, as given to it). */
static void check_shares(const ft_defense_selftest_inst_t *x, size_t K, const float *U,
                         const float *out, int noise)
{
    const char *name = x->d->name;
    int centred = strcmp(name, "centered-clipping") == 0;
    /* RLR flips the sign of a coordinate's coefficients: its weights are signed and
     * sum to 1 - 2 x (the share of flipped coordinates) at most (ft_defense.h). */
    int signed_weights = strcmp(name, "rlr") == 0;
    double sum = 0, contrib = 0, out2 = 0;
    for (size_t i = 0; i < K; i++) {
        const ft_defense_decision_t *e = &x->dec[i];
        if (!(isfinite(e->weight) && e->weight >= (signed_weights ? -1.0f : -1e-7f)))
            fail_msg("%s: weight[%zu] = %g", name, i, (double)e->weight);
        if (!(isfinite(e->contrib_norm) && e->contrib_norm >= 0))
            fail_msg("%s: contrib_norm[%zu] = %g", name, i, (double)e->contrib_norm);
        int all_nan = 1;
        for (size_t j = 0; j < N && all_nan; j++)
            all_nan = isnan(U[i * N + j]);
        if (all_nan && (e->weight != 0 || e->decision != FT_DECISION_DROPPED))
            fail_msg("%s: a NaN row has weight %g, decision %d", name, (double)e->weight,
                     (int)e->decision);
        sum += e->weight;
        contrib += e->contrib_norm;
    }
    if (centred || signed_weights ? !(sum <= 1 + 1e-6) : !(fabs(sum - 1) <= 1e-6))
        fail_msg("%s: the weights sum to %.9g", name, sum);
    for (size_t j = 0; j < N; j++)
        out2 += (double)out[j] * out[j];
    if (!noise && !centred && !(contrib >= sqrt(out2) * (1 - 1e-4)))
        fail_msg("%s: contributions sum to %.9g < ||out|| = %.9g", name, contrib, sqrt(out2));
}

static void test_identical_unchanged(void **state)
{
    (void)state;
    const size_t K = 7;
    static float U[MAXK * N], out[N], x[N], counts[MAXK], server[N];
    uint32_t ids[MAXK];
    ft_defense_selftest_round(11, K, 1, U, counts, ids, server);
    memcpy(x, U, sizeof x);
    for (size_t r = 0; ft_defense_registry[r]; r++) {
        ft_defense_selftest_inst_t in;
        open_rule(&in, ft_defense_registry[r], K, 1, 1);
        for (size_t i = 0; i < K; i++)
            memcpy(U + i * N, x, sizeof x);
        assert_int_equal(ft_defense_selftest_run(&in, 1, K, U, counts, ids, x, out), FT_OK);
        check_shares(&in, K, U, out, 0);
        for (size_t j = 0; j < N; j++)
            if (!(fabsf(out[j] - x[j]) <= 1e-6f * (1 + fabsf(x[j]))))
                fail_msg("%s: out[%zu] = %.9g, update %.9g", in.d->name, j, (double)out[j],
                         (double)x[j]);
        ft_defense_selftest_close(&in);
    }
}

/* A rule that runs under secure aggregation (ft_defense_t.secagg) gets the round's
 * weighted mean as one update of weight 1 (coordinator/ft_coord_close.c): it must
 * neither select nor need a server update, and, with nothing to clip (norm bounds
 * far away) and no noise, give that update back. Everything else is refused. */
static void test_secagg_rules_take_the_mean(void **state)
{
    (void)state;
    static float U[MAXK * N], out[N], x[N], counts[MAXK], server[N];
    uint32_t ids[MAXK];
    ft_defense_selftest_round(13, 1, 1, U, counts, ids, server);
    memcpy(x, U, sizeof x);
    const float one = 1.0f;
    int runs = 0;
    for (size_t r = 0; ft_defense_registry[r]; r++) {
        const ft_defense_t *d = ft_defense_registry[r];
        if (!d->secagg)
            continue;
        assert_true(d->secagg == FT_DEFENSE_SECAGG_SUM ||
                    d->secagg == FT_DEFENSE_SECAGG_CLIENT_CLIP);
        assert_false(d->selects);
        assert_false(d->needs_server_update);
        ft_defense_selftest_inst_t in;
        open_rule(&in, d, 2, 0, 1);
        memcpy(U, x, sizeof x);
        assert_int_equal(ft_defense_selftest_run(&in, 1, 1, U, &one, ids, NULL, out), FT_OK);
        for (size_t j = 0; j < N; j++)
            if (!(fabsf(out[j] - x[j]) <= 1e-6f * (1 + fabsf(x[j]))))
                fail_msg("%s: out[%zu] = %.9g, mean %.9g", d->name, j, (double)out[j],
                         (double)x[j]);
        ft_defense_selftest_close(&in);
        runs++;
    }
    assert_int_equal(runs, 6); /* fedavg none norm-clipping weak-dp crfl local-dp */
}

static void test_permutation_invariant(void **state)
{
    (void)state;
    const size_t K = 7;
    const size_t perm[7] = {3, 6, 0, 5, 1, 4, 2};
    static float U[MAXK * N], P[MAXK * N], out[N], outp[N], counts[MAXK], countsp[MAXK], server[N];
    uint32_t ids[MAXK], idsp[MAXK];
    for (size_t r = 0; ft_defense_registry[r]; r++) {
        ft_defense_selftest_round(12, K, 1, U, counts, ids, server);
        for (size_t i = 0; i < K; i++) {
            memcpy(P + i * N, U + perm[i] * N, N * sizeof(float));
            countsp[i] = counts[perm[i]];
            idsp[i] = ids[perm[i]];
        }
        ft_defense_selftest_inst_t a, b;
        open_rule(&a, ft_defense_registry[r], K, 1, 0);
        open_rule(&b, ft_defense_registry[r], K, 1, 0);
        assert_int_equal(ft_defense_selftest_run(&a, 1, K, U, counts, ids, server, out), FT_OK);
        assert_int_equal(ft_defense_selftest_run(&b, 1, K, P, countsp, idsp, server, outp), FT_OK);
        for (size_t j = 0; j < N; j++)
            if (!(fabsf(out[j] - outp[j]) <= 1e-5f * (1 + fabsf(out[j]))))
                fail_msg("%s: out[%zu] = %.9g, permuted %.9g", a.d->name, j, (double)out[j],
                         (double)outp[j]);
        for (size_t i = 0; i < K; i++) {
            if (b.dec[i].decision != a.dec[perm[i]].decision ||
                !(fabsf(b.dec[i].weight - a.dec[perm[i]].weight) <= 1e-5f))
                fail_msg("%s: update %zu: decision %d weight %g, permuted %d %g", a.d->name, i,
                         (int)a.dec[perm[i]].decision, (double)a.dec[perm[i]].weight,
                         (int)b.dec[i].decision, (double)b.dec[i].weight);
        }
        ft_defense_selftest_close(&a);
        ft_defense_selftest_close(&b);
    }
}

static void test_finite_in_finite_out(void **state)
{
    (void)state;
    static float U[MAXK * N], out[N], counts[MAXK], server[N];
    uint32_t ids[MAXK];
    for (size_t K = 7; K <= MAXK; K += 4)
        for (size_t r = 0; ft_defense_registry[r]; r++) {
            ft_defense_selftest_round(13 + K, K, 1, U, counts, ids, server);
            ft_defense_selftest_inst_t a;
            open_rule(&a, ft_defense_registry[r], K, K == 7 ? 1 : 2, 0);
            for (int round = 1; round <= 3; round++) {
                static float U0[MAXK * N];
                memcpy(U0, U, K * N * sizeof *U); /* a rule may clip U in place */
                assert_int_equal(ft_defense_selftest_run(&a, round, K, U, counts, ids, server, out),
                                 FT_OK);
                check_shares(&a, K, U0, out, strcmp(a.d->name, "weak-dp") == 0);
                memcpy(U, U0, K * N * sizeof *U);
                for (size_t j = 0; j < N; j++)
                    if (!isfinite(out[j]))
                        fail_msg("%s: out[%zu] = %g", a.d->name, j, (double)out[j]);
                for (size_t i = 0; i < K; i++)
                    assert_true(isfinite(a.dec[i].weight));
            }
            ft_defense_selftest_close(&a);
        }
}

typedef enum { PAY_POS, PAY_NEG, PAY_ALT, PAY_NAN, PAY_NAN_ONE, PAY_COUNT } payload_t;

static void test_attackers_bounded(void **state)
{
    (void)state;
    static float U[MAXK * N], out[N], counts[MAXK], server[N];
    uint32_t ids[MAXK];
    const struct {
        size_t K;
        int f;
    } cases[] = {{7, 1}, {11, 2}};
    for (int c = 0; c < 2; c++) {
        size_t K = cases[c].K;
        int f = cases[c].f;
        for (int pay = 0; pay < PAY_COUNT; pay++)
            for (size_t r = 0; ft_defense_registry[r]; r++) {
                const ft_defense_t *d = ft_defense_registry[r];
                ft_defense_selftest_round(20 + (uint64_t)pay, K, 1, U, counts, ids, server);
                double honest_max = 0;
                for (size_t j = 0; j < K * N; j++)
                    honest_max = fmax(honest_max, fabs(U[j]));
                /* attackers at rows 1, 4 (spread through client-id order) */
                for (int a = 0; a < f; a++) {
                    float *x = U + (size_t)(1 + 3 * a) * N;
                    for (size_t j = 0; j < N; j++) {
                        switch ((payload_t)pay) {
                        case PAY_POS: x[j] = 1e30f; break;
                        case PAY_NEG: x[j] = -1e30f; break;
                        case PAY_ALT: x[j] = j % 2 ? 1e30f : -1e30f; break;
                        case PAY_NAN: x[j] = NAN; break;
                        case PAY_NAN_ONE: x[j] = j == 17 ? NAN : x[j]; break;
                        case PAY_COUNT: break;
                        }
                    }
                }
                ft_defense_selftest_inst_t in;
                open_rule(&in, d, K, f, 0);
                int rc = ft_defense_selftest_run(&in, 1, K, U, counts, ids, server, out);
                if (!is_robust(d) && strcmp(d->name, "foolsgold") != 0) {
                    ft_defense_selftest_close(&in); /* the baseline: it only must not crash */
                    continue;
                }
                if (rc != FT_OK)
                    fail_msg("%s (K %zu, payload %d): %s", d->name, K, pay, ft_error_message());
                check_shares(&in, K, U, out, strcmp(d->name, "weak-dp") == 0);
                double bound = is_robust(d) ? 2 * honest_max : 1e38;
                for (size_t j = 0; j < N; j++)
                    if (!(isfinite(out[j]) && fabs(out[j]) <= bound))
                        fail_msg("%s (K %zu, payload %d): out[%zu] = %g, bound %g", d->name, K, pay,
                                 j, (double)out[j], bound);
                ft_defense_selftest_close(&in);
            }
    }
}

/* Issue 17's blatant attacker: one update -10x an honest one (ten times the norm,
 * opposite direction) among K = 12. Every filtering rule gives it weight 0 (and
 * marks it dropped); every rule's output stays finite. Rules not listed (averaging,
 * clipping, coordinate-wise) only need the finite output. */
static void test_blatant_attacker(void **state)
{
    (void)state;
    enum { KB = 12 };
    static float U[KB * N], out[N], counts[KB], server[N], global[N];
    uint32_t ids[KB];
    const struct {
        const char *name;  /* a filtering rule */
        const char *extra; /* its settings for K = 12, f = 1 */
    } filters[] = {
        {"krum", NULL},
        {"multi-krum", NULL},
        {"dnc", "defense.dnc_b=500"},
        {"signguard", NULL},
        {"flame", NULL},
        {"rflbat", NULL},
        {"bucketing", "defense.inner=krum"},
        {"fltrust", NULL},
        {"bulyan", NULL},
        {"lasa", NULL},
        {"flare", NULL},
    };
    for (size_t r = 0; ft_defense_registry[r]; r++) {
        const ft_defense_t *d = ft_defense_registry[r];
        const char *extra = NULL;
        int filtering = 0;
        for (size_t k = 0; k < sizeof filters / sizeof filters[0]; k++)
            if (strcmp(filters[k].name, d->name) == 0) {
                filtering = 1;
                extra = filters[k].extra;
            }
        for (int seed = 0; seed < 3; seed++) {
            ft_rng_t rng;
            ft_rng_init(&rng, 50 + (uint64_t)seed, 0, 0, FT_RNG_TEST);
            float mu[N];
            for (size_t j = 0; j < N; j++)
                mu[j] = (float)ft_rng_normal(&rng);
            for (size_t i = 0; i < KB; i++) {
                for (size_t j = 0; j < N; j++)
                    U[i * N + j] = mu[j] + 0.5f * (float)ft_rng_normal(&rng);
                counts[i] = (float)(1 + i % 5);
                ids[i] = (uint32_t)i;
            }
            for (size_t j = 0; j < N; j++) {
                U[5 * N + j] = -10.0f * U[2 * N + j];
                server[j] = mu[j];
                global[j] = 3.0f * (float)ft_rng_normal(&rng);
            }
            ft_config_t *cfg = ft_config_new();
            assert_non_null(cfg);
            assert_int_equal(ft_config_set_value(cfg, "defense.name", d->name, "test"), FT_OK);
            assert_int_equal(ft_config_set(cfg, "federation.clients_per_round=12", "test"), FT_OK);
            if (extra)
                assert_int_equal(ft_config_set(cfg, extra, "test"), FT_OK);
            ft_experiment_t exp;
            if (ft_experiment_read(cfg, &exp) != FT_OK ||
                ft_defense_check(&exp.defense, KB) != FT_OK)
                fail_msg("%s: %s", d->name, ft_error_message());
            void *st = NULL;
            assert_int_equal(d->create(&exp.defense, KB, N, KB, &st), FT_OK);
            ft_probe_mlp_t probe;
            ft_probe_mlp_standard(&probe, 7);
            void *ws = ft_malloc(ft_defense_workspace(d, KB, N, &probe.probe));
            ft_defense_decision_t dec[KB];
            ft_rng_init(&rng, 7, 1, 0, FT_RNG_NOISE);
            ft_defense_input_t in = {.round = 1,
                                     .K = KB,
                                     .N = N,
                                     .updates = U,
                                     .counts = counts,
                                     .ids = ids,
                                     /* the probe rules judge the models G + U_i */
                                     .global = d->needs_probe ? global : NULL,
                                     .server_update = server,
                                     .rng = &rng,
                                     .probe = &probe.probe};
            if (d->aggregate(st, &in, out, dec, ws) != FT_OK)
                fail_msg("%s: %s", d->name, ft_error_message());
            for (size_t j = 0; j < N; j++)
                if (!isfinite(out[j]))
                    fail_msg("%s: out[%zu] = %g", d->name, j, (double)out[j]);
            /* DeepSight keeps it, as its reference does, and only clips it: its filter
             * labels an update suspicious by few threshold exceedings of its NEUPs, which
             * are scale- and sign-free (-10 x row 2 has row 2's NEUPs and TE), and
             * accepts any cluster under tau suspicious members (FLPoison
             * aggregators/deepsight.py:66, 72-78); its clipping layer (83-84) bounds
             * it to the median norm (clip factor about 1/10 here). docs/defenses.md,
             * "The blatant attacker", has the whole argument. */
            if (strcmp(d->name, "deepsight") == 0 &&
                (dec[5].decision == FT_DECISION_DROPPED || !(dec[5].weight > 0) ||
                 !(dec[5].clip_factor <= 0.12f)))
                fail_msg("deepsight (seed %d): the blatant attacker has decision %d, weight %g, "
                         "clip %g (the reference keeps it, clipped to the median norm)",
                         seed, (int)dec[5].decision, (double)dec[5].weight,
                         (double)dec[5].clip_factor);
            if (filtering && (dec[5].weight != 0 || dec[5].decision != FT_DECISION_DROPPED))
                fail_msg("%s (seed %d): the blatant attacker has weight %g", d->name, seed,
                         (double)dec[5].weight);
            d->destroy(&st);
            ft_free(ws);
            ft_config_destroy(&cfg);
        }
    }
}

/* The contract's library half (ft_defense_selftest.h: weights, NaN rows, identical
 * updates, determinism, no allocation per round), the same code `fedtail
 * selftest-defense` runs on a plug-in, on every registered rule. */
static void test_selftest_library(void **state)
{
    (void)state;
    for (size_t r = 0; ft_defense_registry[r]; r++) {
        ft_config_t *cfg = ft_config_new();
        assert_non_null(cfg);
        assert_int_equal(
            ft_config_set_value(cfg, "defense.name", ft_defense_registry[r]->name, "test"), FT_OK);
        const char *robust[] = {"defense.beta=0.2",     "defense.cc_iters=3",
                                "defense.norm_bound=5", "defense.stddev=0.025",
                                "defense.tau=10",       NULL};
        for (int i = 0; robust[i]; i++)
            assert_int_equal(ft_config_set(cfg, robust[i], "test"), FT_OK);
        int fails = ft_defense_selftest(cfg, stderr);
        if (fails != 0)
            fail_msg("%s: %d contract checks failed (%s)", ft_defense_registry[r]->name, fails,
                     fails < 0 ? ft_error_message() : "above");
        ft_config_destroy(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_unchanged),
        cmocka_unit_test(test_permutation_invariant),
        cmocka_unit_test(test_finite_in_finite_out),
        cmocka_unit_test(test_attackers_bounded),
        cmocka_unit_test(test_blatant_attacker),
        cmocka_unit_test(test_selftest_library),
        cmocka_unit_test(test_secagg_rules_take_the_mean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
