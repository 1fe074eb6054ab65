/* ft_defense_selftest: the aggregation-rule contract (see the header), on one rule.
 * The rounds are honest updates around a common direction mu (client noise 0.3;
 * ft_defense_selftest_round, which tests/test_defenses_contract.c uses too), K = 7
 * with f = 1 and K = 11 with f = 2. */
#include "ft_defense_selftest.h"

#include "fedtail/defense.h"
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_plugin.h"
#include "ft_defense_probe_mlp.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_rng.h"

#include <math.h>
#include <string.h>

/* Built-in rules by name (the lists the contract test always used); plug-ins by flags. */
ft_defense_selftest_expect_t ft_defense_selftest_expect(const ft_defense_t *d)
{
    if (ft_defense_is_plugin(d)) {
        uint32_t f = ft_defense_plugin_flags(d);
        return (ft_defense_selftest_expect_t){!(f & FEDTAIL_DEFENSE_NOT_ROBUST),
                                              !!(f & FEDTAIL_DEFENSE_PARTIAL_WEIGHTS),
                                              !!(f & FEDTAIL_DEFENSE_SIGNED_WEIGHTS)};
    }
    const char *n = d->name;
    int robust = strcmp(n, "fedavg") && strcmp(n, "none") && strcmp(n, "local-dp") &&
                 strcmp(n, "foolsgold") && strcmp(n, "rlr") && strcmp(n, "fldetector") &&
                 strcmp(n, "flare");
    return (ft_defense_selftest_expect_t){robust, !strcmp(n, "centered-clipping"),
                                          !strcmp(n, "rlr")};
}

int ft_defense_selftest_open(ft_defense_selftest_inst_t *x, const ft_config_t *base, size_t K,
                             int f, int identical)
{
    memset(x, 0, sizeof *x);
    char v[32];
    int rc = FT_ENOMEM;
    if (K > FT_SELFTEST_MAXK)
        return ft_error_set(FT_EINVAL, "selftest: K = %zu, at most %d", K, FT_SELFTEST_MAXK);
    if (!(x->cfg = ft_config_clone(base)))
        return ft_error_set(rc, "out of memory");
    snprintf(v, sizeof v, "%zu", K);
    if ((rc = ft_config_set_value(x->cfg, "federation.clients_per_round", v, "selftest")) ||
        (rc = ft_config_set_value(x->cfg, "federation.num_clients", "11", "selftest")))
        return rc;
    snprintf(v, sizeof v, "%d", f);
    if ((rc = ft_config_set_value(x->cfg, "defense.f", v, "selftest")))
        return rc;
    const char *ident[] = {"defense.norm_bound=1e6", "defense.stddev=0", "defense.tau=1e6",
                           "defense.flame_lambda=0", NULL};
    for (int i = 0; identical && ident[i]; i++)
        if ((rc = ft_config_set(x->cfg, ident[i], "selftest")))
            return rc;
    if ((rc = ft_experiment_read(x->cfg, &x->exp)) || (rc = ft_defense_check(&x->exp.defense, K)))
        return rc;
    x->d = ft_defense_for(&x->exp.defense);
    if ((rc = x->d->create(&x->exp.defense, K, FT_SELFTEST_N, FT_SELFTEST_MAXK, &x->state)))
        return rc;
    ft_probe_mlp_standard(&x->probe, 5);
    size_t ws = ft_defense_workspace(x->d, K, FT_SELFTEST_N, &x->probe.probe);
    if (!(x->ws = ft_malloc_aligned(ws ? ws : 64)))
        return ft_error_set(FT_ENOMEM, "out of memory for a %zu-byte workspace", ws);
    return FT_OK;
}

void ft_defense_selftest_close(ft_defense_selftest_inst_t *x)
{
    if (x->d && x->state)
        x->d->destroy(&x->state);
    ft_free_aligned(x->ws);
    x->ws = NULL;
    ft_config_destroy(&x->cfg);
}

int ft_defense_selftest_run(ft_defense_selftest_inst_t *x, int round, size_t K, float *U,
                            const float *counts, const uint32_t *ids, const float *server,
                            float *out)
{
    ft_rng_t rng;
    ft_rng_init(&rng, 5, (uint32_t)round, 0, FT_RNG_NOISE);
    for (size_t i = 0; i < K; i++)
        x->dec[i] = (ft_defense_decision_t){.clip_factor = 1, .contrib_norm = NAN};
    ft_defense_input_t in = {.round = round,
                             .K = K,
                             .N = FT_SELFTEST_N,
                             .updates = U,
                             .counts = counts,
                             .ids = ids,
                             .global = NULL,
                             .server_update = server,
                             .rng = &rng,
                             .probe = &x->probe.probe};
    return x->d->aggregate(x->state, &in, out, x->dec, x->ws);
}

void ft_defense_selftest_round(uint64_t seed, size_t K, float scale, float *U, float *counts,
                               uint32_t *ids, float *server)
{
    ft_rng_t rng;
    ft_rng_init(&rng, seed, 0, 0, FT_RNG_TEST);
    static float mu[FT_SELFTEST_N];
    for (size_t j = 0; j < FT_SELFTEST_N; j++)
        mu[j] = (float)ft_rng_normal(&rng);
    for (size_t i = 0; i < K; i++) {
        for (size_t j = 0; j < FT_SELFTEST_N; j++)
            U[i * FT_SELFTEST_N + j] = scale * (mu[j] + 0.3f * (float)ft_rng_normal(&rng));
        counts[i] = (float)(1 + ft_rng_below(&rng, 20));
        ids[i] = (uint32_t)i;
    }
    for (size_t j = 0; j < FT_SELFTEST_N; j++)
        server[j] = scale * (mu[j] + 0.3f * (float)ft_rng_normal(&rng));
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(log, "%s: ", name);                                                                \
        fprintf(log, __VA_ARGS__);                                                                 \
        fputc('\n', log);                                                                          \
        fails++;                                                                                   \
    } while (0)

/* Weights and contributions of one round (U as the rule received it). */
static int check_shares(const char *name, const ft_defense_selftest_expect_t *ex,
                        const ft_defense_selftest_inst_t *x, size_t K, const float *U, FILE *log)
{
    int fails = 0;
    double sum = 0;
    for (size_t i = 0; i < K; i++) {
        const ft_defense_decision_t *e = &x->dec[i];
        if (!(isfinite(e->weight) && e->weight >= (ex->signedw ? -1.0f : -1e-6f)))
            FAIL("weight[%zu] = %g", i, (double)e->weight);
        if (!(isfinite(e->contrib_norm) && e->contrib_norm >= 0))
            FAIL("contrib_norm[%zu] = %g (not reported?)", i, (double)e->contrib_norm);
        int all_nan = 1;
        for (size_t j = 0; j < FT_SELFTEST_N && all_nan; j++)
            all_nan = isnan(U[i * FT_SELFTEST_N + j]);
        if (all_nan && e->weight != 0)
            FAIL("a NaN row has weight %g", (double)e->weight);
        sum += e->weight;
    }
    if (ex->partial || ex->signedw ? !(sum <= 1 + 1e-5) : !(fabs(sum - 1) <= 1e-5))
        FAIL("the weights sum to %.9g, not 1", sum);
    return fails;
}

int ft_defense_selftest(const ft_config_t *base, FILE *log)
{
    static float U[FT_SELFTEST_MAXK * FT_SELFTEST_N], U0[FT_SELFTEST_MAXK * FT_SELFTEST_N],
        out[FT_SELFTEST_N], out2[FT_SELFTEST_N], x1[FT_SELFTEST_N];
    static float counts[FT_SELFTEST_MAXK], server[FT_SELFTEST_N];
    uint32_t ids[FT_SELFTEST_MAXK];
    int fails = 0, rc;
    ft_defense_selftest_inst_t a, b;
    char name[128];
    if ((rc = ft_defense_selftest_open(&a, base, 7, 1, 0)) != FT_OK) {
        ft_defense_selftest_close(&a);
        return rc;
    }
    snprintf(name, sizeof name, "%s", a.d->name);
    ft_defense_selftest_expect_t ex = ft_defense_selftest_expect(a.d);
    ft_defense_selftest_close(&a);
    /* finite in, finite out, the weights; K = 7, f = 1 and K = 11, f = 2, 3 rounds */
    for (size_t K = 7; K <= FT_SELFTEST_MAXK; K += 4) {
        if ((rc = ft_defense_selftest_open(&a, base, K, K == 7 ? 1 : 2, 0)) != FT_OK)
            goto setup;
        unsigned long allocs = ft_alloc_count();
        for (int round = 1; round <= 3; round++) {
            ft_defense_selftest_round(13 + K + (uint64_t)round, K, 1, U, counts, ids, server);
            memcpy(U0, U, K * FT_SELFTEST_N * sizeof *U);
            if ((rc = ft_defense_selftest_run(&a, round, K, U, counts, ids, server, out)) !=
                FT_OK) {
                FAIL("K %zu round %d: no aggregate on finite input: %s", K, round,
                     ft_error_message());
                continue;
            }
            fails += check_shares(name, &ex, &a, K, U0, log);
            for (size_t j = 0; j < FT_SELFTEST_N; j++)
                if (!isfinite(out[j])) {
                    FAIL("K %zu round %d: out[%zu] = %g on finite input", K, round, j,
                         (double)out[j]);
                    break;
                }
        }
        if (ft_alloc_count() != allocs)
            FAIL("allocated %lu times in 3 rounds (K %zu)", ft_alloc_count() - allocs, K);
        ft_defense_selftest_close(&a);
    }
    /* a NaN row (client 1) among 7 */
    if ((rc = ft_defense_selftest_open(&a, base, 7, 1, 0)) != FT_OK)
        goto setup;
    ft_defense_selftest_round(21, 7, 1, U, counts, ids, server);
    for (size_t j = 0; j < FT_SELFTEST_N; j++)
        U[FT_SELFTEST_N + j] = NAN;
    memcpy(U0, U, 7 * FT_SELFTEST_N * sizeof *U);
    unsigned long allocs = ft_alloc_count();
    rc = ft_defense_selftest_run(&a, 1, 7, U, counts, ids, server, out);
    if (ft_alloc_count() != allocs)
        FAIL("allocated %lu times in a round with a NaN row", ft_alloc_count() - allocs);
    if (ex.robust) {
        if (rc != FT_OK)
            FAIL("a NaN row: no aggregate: %s", ft_error_message());
        else {
            fails += check_shares(name, &ex, &a, 7, U0, log);
            for (size_t j = 0; j < FT_SELFTEST_N; j++)
                if (!isfinite(out[j])) {
                    FAIL("a NaN row: out[%zu] = %g", j, (double)out[j]);
                    break;
                }
        }
    }
    ft_defense_selftest_close(&a);
    /* identical updates come back unchanged (small, inside every bound) */
    if ((rc = ft_defense_selftest_open(&a, base, 7, 1, 1)) != FT_OK)
        goto setup;
    ft_defense_selftest_round(11, 7, 0.01f, U, counts, ids, server);
    memcpy(x1, U, sizeof x1);
    for (size_t i = 0; i < 7; i++)
        memcpy(U + i * FT_SELFTEST_N, x1, sizeof x1);
    int noisy = ft_defense_is_plugin(a.d) && (ft_defense_plugin_flags(a.d) & FEDTAIL_DEFENSE_NOISY);
    if ((rc = ft_defense_selftest_run(&a, 1, 7, U, counts, ids, x1, out)) != FT_OK)
        FAIL("identical updates: no aggregate: %s", ft_error_message());
    else
        for (size_t j = 0; j < FT_SELFTEST_N && !noisy; j++)
            if (!(fabsf(out[j] - x1[j]) <= 1e-6f * (1 + fabsf(x1[j])))) {
                FAIL("identical updates: out[%zu] = %.9g, update %.9g", j, (double)out[j],
                     (double)x1[j]);
                break;
            }
    ft_defense_selftest_close(&a);
    /* determinism: two fresh instances, same rounds, same stream */
    memset(&b, 0, sizeof b);
    if ((rc = ft_defense_selftest_open(&a, base, 11, 2, 0)) != FT_OK ||
        (rc = ft_defense_selftest_open(&b, base, 11, 2, 0)))
        goto setup2;
    for (int round = 1; round <= 2; round++) {
        ft_defense_selftest_round(40 + (uint64_t)round, 11, 1, U, counts, ids, server);
        memcpy(U0, U, sizeof U0);
        int ra = ft_defense_selftest_run(&a, round, 11, U, counts, ids, server, out);
        int rb = ft_defense_selftest_run(&b, round, 11, U0, counts, ids, server, out2);
        if (ra != rb || (ra == FT_OK && memcmp(out, out2, sizeof out) != 0) ||
            memcmp(a.dec, b.dec, 11 * sizeof a.dec[0]) != 0)
            FAIL("round %d: two instances on the same input disagree", round);
    }
    ft_defense_selftest_close(&a);
    ft_defense_selftest_close(&b);
    return fails;
setup2:
    ft_defense_selftest_close(&b);
setup:
    ft_defense_selftest_close(&a);
    return rc;
}
