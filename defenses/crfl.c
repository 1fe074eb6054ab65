/* crfl: certifiably robust FL, the training part. Xie, Chen, Chen and Li, "CRFL:
 * Certifiably Robust Federated Learning against Backdoor Attacks", ICML 2021,
 * Algorithm 1 (server): w_{t+1} = Clip_ρ(Σ_i p_i w_i^{t+1}) + N(0, σ² I), with
 * Clip_ρ(w) = w / max(1, ||w||_2 / ρ); reference code AI-secure/CRFL
 * (main.py: model clipping and parameter smoothing each round) and FLPoison
 * aggregators/crfl.py (which clips the mean *update*, with +1e-10 in the norm).
 *
 * Here the aggregate is a delta: with the global model G given, the new model is
 * m = G + mean, clipped to norm ρ = defense.norm_bound, and the delta returned is
 * Clip_ρ(m) - G + σ z (σ = defense.stddev, z from the round's noise stream). Without
 * G (offline replay by `fedtail aggregate`), the mean update itself is clipped, as
 * FLPoison does. The mean is sample-weighted (p_i = n_i / Σ n).
 *
 * NaN/Inf: rows holding them are dropped before the mean (weights renormalised), so
 * the output is finite and of norm at most ρ + noise (plus ||G||). The certified
 * radius (test-time smoothing, Theorem 1) is `fedtail certify`'s (cli/cmd_certify.c,
 * defenses/ft_crfl_certify.c).
 *
 * Decisions: finite rows kept with weight = share; clip_factor = the scale the
 * clipping applied to the mean (REWEIGHTED when < 1); score = the clipped norm's
 * argument (||m||). */
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_select.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>

typedef struct {
    double rho;    /* defense.norm_bound: model norm bound */
    double stddev; /* defense.stddev: noise std */
} crfl_t;

static int crfl_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    int rc = ft_check_float_range(d->src, "defense.norm_bound", d->norm_bound, 0, 0, INFINITY, 0);
    if (rc == FT_OK)
        rc = ft_check_float_range(d->src, "defense.stddev", d->stddev, 0, 1, INFINITY, 0);
    return rc;
}

static int crfl_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                       void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    crfl_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "crfl: out of memory");
    s->rho = d->norm_bound;
    s->stddev = d->stddev;
    *state = s;
    return FT_OK;
}

static size_t crfl_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + ft_ws_bytes(max_k) + ft_ws_bytes(max_k * sizeof(double));
}

static int crfl_aggregate(void *state, const ft_defense_input_t *in, float *out,
                          ft_defense_decision_t *dec, void *workspace)
{
    const crfl_t *s = state;
    size_t K = in->K, N = in->N;
    if (s->stddev > 0 && !in->rng)
        return ft_error_set(FT_EINVAL, "crfl: no random stream given for the noise");
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, crfl_ws(K, N));
    uint8_t *fin = ft_ws_take(&ws, K);
    double *w = ft_ws_take(&ws, K * sizeof(double));
    ft_rows_finite(in->updates, K, N, fin);
    ft_decisions_init(dec, K, FT_DECISION_KEPT);
    int rc = ft_select_mean(in, fin, NULL, out, dec, w);
    if (rc != FT_OK)
        return rc;
    const float *G = in->global;
    double n2 = 0;
    for (size_t j = 0; j < N; j++) {
        double m = (double)out[j] + (G ? G[j] : 0.0);
        n2 += m * m;
    }
    double norm = sqrt(n2);
    double c = norm > s->rho ? s->rho / norm : 1.0;
    for (size_t j = 0; j < N; j++) {
        double g = G ? G[j] : 0.0;
        double v = c * ((double)out[j] + g) - g;
        if (s->stddev > 0)
            v += s->stddev * ft_rng_normal(in->rng);
        out[j] = (float)v;
    }
    for (size_t i = 0; i < K; i++) {
        if (!fin[i])
            continue;
        dec[i].score = (float)norm;
        dec[i].clip_factor = (float)c;
        if (c < 1.0)
            dec[i].decision = FT_DECISION_REWEIGHTED;
    }
    return FT_OK;
}

const ft_defense_t ft_defense_crfl = {
    .name = "crfl",
    .cite = "Xie et al. ICML 2021 Alg. 1: w <- Clip_rho(sum_i p_i w_i) + N(0, sigma^2 I) each "
            "round",
    .check_config = crfl_check,
    .create = crfl_create,
    .destroy = ft_defense_free_state,
    .workspace_size = crfl_ws,
    .aggregate = crfl_aggregate,
    .secagg = FT_DEFENSE_SECAGG_SUM,
};
