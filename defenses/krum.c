/* krum: Blanchard et al., "Machine Learning with Adversaries: Byzantine Tolerant
 * Gradient Descent", NeurIPS 2017, Sec. 4.
 *
 * score(i) = sum of the K - f - 2 smallest ||V_i - V_j||^2 over j != i (the paper's
 * "i -> j" neighbours); the update with the lowest score is the aggregate. f is the
 * assumed number of attackers (defense.f; the paper code of Wang et al. uses 1).
 * Krum needs K > 2f + 2, checked when the experiment is loaded and again per round
 * (a round that closes with fewer updates keeps the old model).
 *
 * Distances come from one Gram-matrix GEMM (ft_pdist2), not K^2 vector loops.
 * NaN/Inf: a row holding them is at distance +inf from everyone, so its score is
 * +inf and it can never win; the other rows' scores are unaffected as long as at
 * most f rows are bad. Ties go to the lowest index (client-id order). */
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_krum.h"
#include "ft_error.h"

#include <math.h>
#include <string.h>

size_t ft_krum_round_ws(size_t max_k)
{
    return ft_ws_bytes(max_k * max_k * sizeof(double)) + 2 * ft_ws_bytes(max_k * sizeof(double)) +
           ft_ws_bytes(max_k) + ft_gram_ws(max_k);
}

void ft_krum_scores_round(const ft_defense_input_t *in, size_t f, double **D, double **scores,
                          ft_ws_t *ws)
{
    size_t K = in->K;
    *D = ft_ws_take(ws, K * K * sizeof(double));
    *scores = ft_ws_take(ws, K * sizeof(double));
    double *tmp = ft_ws_take(ws, K * sizeof(double));
    uint8_t *active = ft_ws_take(ws, K);
    ft_pdist2(in->updates, K, in->N, *D, NULL, ws);
    memset(active, 1, K);
    ft_krum_scores(*D, K, active, K - f - 2, *scores, tmp);
}

int ft_krum_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                   void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    ft_krum_params_t *p = ft_calloc(1, sizeof *p);
    if (!p)
        return ft_error_set(FT_ENOMEM, "krum: out of memory");
    p->f = (size_t)d->f;
    p->m = (size_t)d->m;
    *state = p;
    return FT_OK;
}

int ft_krum_check_f(const ft_defense_cfg_t *d, size_t max_k, const ft_krum_bound_t *b)
{
    int64_t f = d->f;
    if (f < 0)
        return ft_config_error(d->src, "defense.f", "is %lld; must be >= 0", (long long)f);
    /* a bound beyond int64 (an absurd f) saturates: no K meets it */
    int64_t bound = f <= (INT64_MAX - b->add) / b->mult ? b->mult * f + b->add : INT64_MAX;
    int64_t k = (int64_t)max_k;
    if (b->strict ? k <= bound : k < bound)
        return ft_config_error(d->src, "defense.f",
                               "is %lld, but %s needs K %s %lldf + %lld = %lld updates per round "
                               "(federation.clients_per_round = %zu)",
                               (long long)f, b->rule, b->strict ? ">" : ">=", (long long)b->mult,
                               (long long)b->add, (long long)bound, max_k);
    return FT_OK;
}

int ft_krum_check_round(size_t K, size_t f, const ft_krum_bound_t *b)
{
    size_t bound = (size_t)b->mult * f + (size_t)b->add;
    if (b->strict ? K <= bound : K < bound)
        return ft_error_set(FT_EINVAL, "%s: %zu updates this round, but f = %zu needs K %s %zu",
                            b->name, K, f, b->strict ? ">" : ">=", bound);
    return FT_OK;
}

static const ft_krum_bound_t krum_bound = {
    .rule = "Krum", .name = "krum", .mult = 2, .add = 2, .strict = 1};

static int krum_check(const ft_defense_cfg_t *d, size_t max_k)
{
    return ft_krum_check_f(d, max_k, &krum_bound);
}

static size_t krum_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + ft_krum_round_ws(max_k);
}

static int krum_aggregate(void *state, const ft_defense_input_t *in, float *out,
                          ft_defense_decision_t *dec, void *workspace)
{
    const ft_krum_params_t *p = state;
    size_t K = in->K, N = in->N;
    int rc = ft_krum_check_round(K, p->f, &krum_bound);
    if (rc != FT_OK)
        return rc;
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, krum_ws(K, N));
    double *D, *scores;
    ft_krum_scores_round(in, p->f, &D, &scores, &ws);
    size_t best = K;
    for (size_t i = 0; i < K; i++)
        if (isfinite(scores[i]) && (best == K || scores[i] < scores[best]))
            best = i;
    if (best == K)
        return ft_error_set(FT_EINVAL, "krum: no update has a finite score (all hold NaN/Inf?)");
    ft_decisions_init(dec, K, FT_DECISION_DROPPED);
    for (size_t i = 0; i < K; i++)
        dec[i].score = (float)scores[i];
    dec[best].decision = FT_DECISION_KEPT;
    dec[best].weight = 1.0f;
    dec[best].contrib_norm = (float)sqrt(ft_sumsq(in->updates + best * N, N));
    memcpy(out, in->updates + best * N, N * sizeof *out);
    return FT_OK;
}

const ft_defense_t ft_defense_krum = {
    .name = "krum",
    .cite = "Blanchard et al. NeurIPS 2017 Sec. 4: argmin_i sum of the K-f-2 smallest "
            "||V_i - V_j||^2",
    .check_config = krum_check,
    .create = ft_krum_create,
    .destroy = ft_defense_free_state,
    .workspace_size = krum_ws,
    .aggregate = krum_aggregate,
    .selects = 1,
};
