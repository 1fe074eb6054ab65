/* flare: Wang et al., "FLARE: Defending Federated Learning against Model Poisoning
 * Attacks via Latent Space Representations", AsiaCCS 2022, Algorithm 1; ported from
 * BackFed's FlareServer (the authors' code is unpublished). It needs the model probe
 * with a server set (ft_defense_probe_t: FT_PROBE_MODEL | FT_PROBE_SERVER_SET): the
 * coordinator holds the FLTrust root set (defense.root_size samples, out of every
 * client's data) and runs each local model G + Δ_i on it.
 *
 *  1. PLRs: the penultimate-layer representations F_i (S×D) of the first
 *     S = defense.flare_samples server samples under model G + Δ_i;
 *  2. MMD (Eq. 1, BackFed's estimator): with the Gaussian kernel k(x, y) =
 *     exp(-||x - y||² / (2σ²)), MMD²(F_i, F_j) = Σ k(F_i, F_i) / (S(S-1)) +
 *     Σ k(F_j, F_j) / (S(S-1)) - 2 Σ k(F_i, F_j) / S², the sums over all pairs
 *     (the diagonal included, as BackFed). σ = defense.flare_sigma; 0 (the default)
 *     takes the median heuristic (Gretton et al., JMLR 2012, §8): σ = the median
 *     distance between the global model's representations of the S samples. BackFed
 *     fixes σ = 1, which on representations spread over more than a few units makes
 *     every kernel value vanish and the MMD nothing but the self terms (a blatant
 *     outlier then looks as near as anyone; tests/test_defenses_contract.c);
 *  3. nearest-neighbour counts (Eq. 2): each client counts the k = round(K ·
 *     defense.flare_k) others nearest in MMD (ties by client order; k at most K - 1);
 *     c_i = how often client i is counted;
 *  4. trust (Eq. 3): softmax of the counts, TS_i = e^{c_i} / Σ_j e^{c_j}, over the
 *     clients counted at least once; one nobody counts gets trust 0 (as BackFed's
 *     count / total gives it; under the plain softmax it would keep e^0 / Σ, a share
 *     of its poison);
 *  5. the aggregate Σ TS_i Δ_i (trust-weighted, not by sample count: the paper's rule).
 *
 * NaN/Inf: a row holding them, or whose model gives non-finite representations, is
 * dropped first; K = 1 finite row: it alone, trust 1. Decisions: dropped (trust 0) or
 * reweighted with weight = TS_i; score = c_i. */
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_select.h"
#include "ft_defense_util.h"
#include "ft_error.h"
#include "ft_ops.h"

#include <math.h>

typedef struct {
    double sigma;   /* defense.flare_sigma (0: median heuristic) */
    double k_share; /* defense.flare_k */
    size_t samples; /* defense.flare_samples */
} flare_t;

static int flare_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    int rc = ft_check_float_range(d->src, "defense.flare_k", d->flare_k, 0, 0, 1, 1);
    if (rc == FT_OK)
        rc = ft_check_float_range(d->src, "defense.flare_sigma", d->flare_sigma, 0, 1, INFINITY, 0);
    if (rc == FT_OK)
        rc =
            ft_check_int_range(d->src, "defense.flare_samples", d->flare_samples, 2, 1 << 16, NULL);
    if (rc == FT_OK && d->flare_samples > d->root_size)
        rc = ft_config_error(d->src, "defense.flare_samples",
                             "%lld server samples, but the server holds defense.root_size = "
                             "%lld",
                             (long long)d->flare_samples, (long long)d->root_size);
    return rc;
}

static int flare_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                        void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    flare_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "flare: out of memory");
    s->k_share = d->flare_k;
    s->sigma = d->flare_sigma;
    s->samples = (size_t)d->flare_samples;
    *state = s;
    return FT_OK;
}

static size_t flare_ws(size_t max_k, size_t N)
{
    (void)N;
    size_t K = max_k;
    return FT_WS_SLACK + ft_ws_bytes(K) + 2 * ft_ws_bytes(K * sizeof(int)) +
           5 * ft_ws_bytes(K * sizeof(double)) + ft_ws_bytes(K * K * sizeof(double));
}

static size_t flare_probe_ws(size_t max_k, const ft_defense_probe_t *p)
{
    size_t S = p->server_n;
    return FT_WS_SLACK + ft_ws_bytes((max_k + 1) * S * p->feat_dim * sizeof(float)) +
           ft_ws_bytes(S * S * sizeof(double)) + ft_ws_bytes(S * S * sizeof(float)) +
           ft_ws_bytes(max_k * S * sizeof(double));
}

static double sqdist(const float *x, const float *y, size_t D)
{
    double d2 = 0;
    for (size_t k = 0; k < D; k++) {
        double t = (double)x[k] - y[k];
        d2 += t * t;
    }
    return d2;
}

/* Σ_a Σ_b exp(-||X_a - Y_b||² g) over S×D representations X, Y (squared norms nx,
 * ny: S each), g = 1 / (2σ²): the cross products X Yᵀ in one sgemm into XY (S×S),
 * ||x - y||² = ||x||² + ||y||² - 2 x·y (clamped at 0). */
static double kernel_sum(const float *X, const float *Y, const double *nx, const double *ny,
                         size_t S, size_t D, double g, float *XY)
{
    ft_sgemm(0, 1, (int)S, (int)S, (int)D, 1.0f, X, (int)D, Y, (int)D, 0.0f, XY, (int)S);
    double sum = 0;
    for (size_t a = 0; a < S; a++)
        for (size_t b = 0; b < S; b++) {
            double d2 = nx[a] + ny[b] - 2 * (double)XY[a * S + b];
            sum += exp(-(d2 > 0 ? d2 : 0) * g);
        }
    return sum;
}

static int flare_aggregate(void *state, const ft_defense_input_t *in, float *out,
                           ft_defense_decision_t *dec, void *workspace)
{
    const flare_t *s = state;
    const ft_defense_probe_t *p = in->probe;
    size_t K = in->K, N = in->N;
    if (!p || !p->run || !p->server_x)
        return ft_error_set(FT_EINVAL, "flare: no model probe with a server set given (it "
                                       "compares the models' representations of the root set)");
    size_t S = s->samples < p->server_n ? s->samples : p->server_n, D = p->feat_dim, I = p->in_dim;
    if (S < 2)
        return ft_error_set(FT_EINVAL, "flare: %zu server samples (at least 2 needed)", S);
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, flare_ws(K, N) + flare_probe_ws(K, p));
    uint8_t *fin = ft_ws_take(&ws, K);
    int *rowof = ft_ws_take(&ws, K * sizeof(int));
    int *order = ft_ws_take(&ws, K * sizeof(int));
    double *self = ft_ws_take(&ws, K * sizeof(double));
    double *votes = ft_ws_take(&ws, K * sizeof(double));
    double *trust = ft_ws_take(&ws, K * sizeof(double));
    double *dist = ft_ws_take(&ws, K * sizeof(double));
    double *w = ft_ws_take(&ws, K * sizeof(double));
    double *M = ft_ws_take(&ws, K * K * sizeof(double));
    float *F = ft_ws_take(&ws, K * S * D * sizeof(float));
    float *FG = ft_ws_take(&ws, S * D * sizeof(float));
    double *pd = ft_ws_take(&ws, S * S * sizeof(double));
    float *XY = ft_ws_take(&ws, S * S * sizeof(float));
    double *n2 = ft_ws_take(&ws, K * S * sizeof(double));

    /* 1. representations of the server samples, batch by batch (the global model's
     * first when σ comes from them) */
    double sigma = s->sigma;
    if (sigma == 0) {
        for (size_t first = 0; first < S; first += p->max_batch) {
            size_t nb = S - first < p->max_batch ? S - first : p->max_batch;
            int rc =
                p->run(p->ctx, in->global, NULL, p->server_x + first * I, nb, NULL, FG + first * D);
            if (rc != FT_OK)
                return rc;
        }
        size_t m = 0;
        for (size_t a = 0; a < S; a++)
            for (size_t b = a + 1; b < S; b++)
                pd[m++] = sqrt(sqdist(FG + a * D, FG + b * D, D));
        sigma = ft_median_d(pd, m);
        if (!(sigma > 0 && isfinite(sigma)))
            sigma = 1; /* a constant (or broken) global representation: BackFed's σ */
    }
    double g = 1 / (2 * sigma * sigma);
    ft_rows_finite(in->updates, K, N, fin);
    size_t n = 0;
    for (size_t i = 0; i < K; i++) {
        if (!fin[i])
            continue;
        float *f = F + n * S * D;
        for (size_t first = 0; first < S; first += p->max_batch) {
            size_t nb = S - first < p->max_batch ? S - first : p->max_batch;
            int rc = p->run(p->ctx, in->global, in->updates + i * N, p->server_x + first * I, nb,
                            NULL, f + first * D);
            if (rc != FT_OK)
                return rc;
        }
        for (size_t q = 0; q < S * D && fin[i]; q++)
            fin[i] = isfinite(f[q]) != 0;
        if (fin[i])
            rowof[n++] = (int)i;
    }
    if (n == 0)
        return ft_error_set(FT_EINVAL, "flare: no update is finite");
    /* 2. pairwise MMD */
    double ss = (double)S * (double)(S - 1), s2 = (double)S * (double)S;
    for (size_t q = 0; q < n * S; q++)
        n2[q] = ft_sumsq(F + q * D, D);
    for (size_t a = 0; a < n; a++)
        self[a] = kernel_sum(F + a * S * D, F + a * S * D, n2 + a * S, n2 + a * S, S, D, g, XY);
    for (size_t a = 0; a < n; a++) {
        M[a * n + a] = 0;
        for (size_t b = a + 1; b < n; b++)
            M[a * n + b] = M[b * n + a] =
                self[a] / ss + self[b] / ss -
                2 * kernel_sum(F + a * S * D, F + b * S * D, n2 + a * S, n2 + b * S, S, D, g, XY) /
                    s2;
    }
    /* 3. each client counts its k nearest others */
    size_t k = (size_t)nearbyint((double)n * s->k_share);
    if (k > n - 1)
        k = n - 1;
    for (size_t a = 0; a < n; a++)
        votes[a] = 0;
    for (size_t a = 0; a < n; a++) {
        size_t m = 0;
        for (size_t b = 0; b < n; b++) {
            if (b == a)
                continue;
            /* insertion by (distance, index): a stable argsort */
            size_t q = m++;
            while (q > 0 && dist[q - 1] > M[a * n + b]) {
                dist[q] = dist[q - 1];
                order[q] = order[q - 1];
                q--;
            }
            dist[q] = M[a * n + b];
            order[q] = (int)b;
        }
        for (size_t q = 0; q < k; q++)
            votes[order[q]] += 1;
    }
    /* 4. trust: softmax over the counted clients */
    double cmax = 0, tot = 0;
    for (size_t a = 0; a < n; a++)
        cmax = fmax(cmax, votes[a]);
    for (size_t a = 0; a < n; a++)
        tot += (trust[a] = n == 1 || votes[a] > 0 ? exp(votes[a] - cmax) : 0.0);
    /* 5. the trust-weighted sum */
    for (size_t i = 0; i < K; i++)
        w[i] = 0;
    ft_decisions_init(dec, K, FT_DECISION_DROPPED);
    for (size_t a = 0; a < n; a++) {
        size_t i = (size_t)rowof[a];
        w[i] = trust[a] / tot;
        dec[i].score = (float)votes[a];
        dec[i].weight = (float)w[i];
        dec[i].decision = w[i] > 0 ? FT_DECISION_REWEIGHTED : FT_DECISION_DROPPED;
    }
    /* rows of weight 0 are skipped, so a NaN row never reaches the sum */
    ft_weighted_sum_mat(in->updates, K, N, w, out);
    ft_decisions_set_contrib(dec, K, in->updates, N);
    return FT_OK;
}

const ft_defense_t ft_defense_flare = {
    .name = "flare",
    .cite = "Wang et al. AsiaCCS 2022 Alg. 1 (FLARE): MMD between penultimate representations "
            "of a server set, nearest-neighbour counts, softmax trust, trust-weighted sum",
    .check_config = flare_check,
    .create = flare_create,
    .destroy = ft_defense_free_state,
    .workspace_size = flare_ws,
    .aggregate = flare_aggregate,
    .selects = 1,
    .needs_probe = FT_PROBE_MODEL | FT_PROBE_SERVER_SET,
    .probe_workspace_size = flare_probe_ws,
};
