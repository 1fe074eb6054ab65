/* flame: Nguyen et al., "FLAME: Taming Backdoors in Federated Learning", USENIX
 * Security 2022, Algorithm 1; ported from FLPoison aggregators/flame.py (and
 * BackFed's FLAME), the authors' code being unpublished.
 *
 *  1. model filtering: HDBSCAN over the pairwise cosine distances 1 - cos(Δ_i, Δ_j)
 *     with min_cluster_size = K/2 + 1, min_samples = 1, allow_single_cluster (as the
 *     references call hdbscan.HDBSCAN); the updates labelled 0 (the majority
 *     cluster, the only one there can be) are admitted, the rest dropped;
 *  2. adaptive clipping: S = the median of the K updates' L2 norms (their distances
 *     to the global model); an admitted update is scaled by min(1, S / ||Δ_i||);
 *  3. the clipped admitted updates are averaged (sample-weighted, as fedtail's
 *     FedAvg; the references take a plain mean) and Gaussian noise of standard
 *     deviation σ = λ S is added to every coordinate (λ = defense.flame_lambda =
 *     0.001, the paper's value for image tasks; FLPoison instead scales the noise by
 *     each layer's std).
 *
 * The paper clusters the local models W_i; the updates Δ_i = W_i - G are used here
 * (as BackFed does), since the cosine of the models is dominated by the shared G.
 *
 * NaN/Inf: rows holding them are dropped first; the clustering (K/2 + 1 of the
 * finite rows) and the median are over the rest. Decisions: dropped, or kept /
 * reweighted (clipped) with weight = share and clip_factor = min(1, S/||Δ_i||);
 * score = the HDBSCAN label (-1: noise). */
#include "ft_alloc.h"
#include "ft_cluster.h"
#include "ft_defense.h"
#include "ft_defense_select.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>

typedef struct {
    double lambda; /* defense.flame_lambda: noise level */
} flame_t;

static int flame_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    return ft_check_float_range(d->src, "defense.flame_lambda", d->flame_lambda, 0, 1, INFINITY, 0);
}

static int flame_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                        void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    flame_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "flame: out of memory");
    s->lambda = d->flame_lambda;
    *state = s;
    return FT_OK;
}

static size_t flame_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + 2 * ft_ws_bytes(max_k) + ft_ws_bytes(max_k * sizeof(const float *)) +
           2 * ft_ws_bytes(max_k * max_k * sizeof(double)) +
           4 * ft_ws_bytes(max_k * sizeof(double)) + ft_ws_bytes(max_k * sizeof(int)) +
           ft_gram_ws(max_k) + ft_hdbscan_ws(max_k);
}

static int flame_aggregate(void *state, const ft_defense_input_t *in, float *out,
                           ft_defense_decision_t *dec, void *workspace)
{
    const flame_t *s = state;
    size_t K = in->K, N = in->N;
    if (s->lambda > 0 && !in->rng)
        return ft_error_set(FT_EINVAL, "flame: no random stream given for the noise");
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, flame_ws(K, N));
    uint8_t *fin = ft_ws_take(&ws, K);
    uint8_t *kept = ft_ws_take(&ws, K);
    const float **rows = ft_ws_take(&ws, K * sizeof(const float *));
    double *G = ft_ws_take(&ws, K * K * sizeof(double));
    double *D = ft_ws_take(&ws, K * K * sizeof(double));
    double *n2 = ft_ws_take(&ws, K * sizeof(double));
    double *tmp = ft_ws_take(&ws, K * sizeof(double));
    double *clip = ft_ws_take(&ws, K * sizeof(double));
    double *w = ft_ws_take(&ws, K * sizeof(double));
    int *labels = ft_ws_take(&ws, K * sizeof(int));
    size_t Kf = ft_rows_finite(in->updates, K, N, fin);
    if (Kf == 0)
        return ft_error_set(FT_EINVAL, "flame: every update holds NaN/Inf");
    size_t r = 0;
    for (size_t i = 0; i < K; i++)
        if (fin[i])
            rows[r++] = in->updates + i * N;
    /* 1. cosine distances (as sklearn's cosine_distances: clipped to [0, 2], a zero
     * vector at distance 1, the diagonal 0) and HDBSCAN */
    ft_gram(rows, Kf, N, G, n2, &ws);
    for (size_t a = 0; a < Kf; a++)
        for (size_t b = 0; b < Kf; b++) {
            double den = sqrt(n2[a]) * sqrt(n2[b]);
            double d = den > 0 ? 1.0 - G[a * Kf + b] / den : 1.0;
            D[a * Kf + b] = a == b ? 0.0 : fmin(fmax(d, 0.0), 2.0);
        }
    if (Kf >= 2)
        ft_hdbscan(D, Kf, Kf / 2 + 1, 1, 1, labels, &ws);
    else
        labels[0] = 0;
    /* 2. the median norm and clipping */
    for (size_t q = 0; q < Kf; q++)
        tmp[q] = sqrt(n2[q]);
    double S = ft_median_d(tmp, Kf);
    ft_decisions_init(dec, K, FT_DECISION_KEPT);
    r = 0;
    for (size_t i = 0; i < K; i++) {
        kept[i] = 0;
        clip[i] = 1;
        dec[i].score = -1;
        if (!fin[i])
            continue;
        double nrm = sqrt(n2[r]);
        dec[i].score = (float)labels[r];
        kept[i] = labels[r] == 0;
        clip[i] = nrm > S ? S / nrm : 1.0;
        r++;
    }
    int rc = ft_select_mean(in, kept, clip, out, dec, w);
    if (rc != FT_OK)
        return rc;
    /* 3. noise */
    double sigma = s->lambda * S;
    if (sigma > 0)
        for (size_t j = 0; j < N; j++)
            out[j] = (float)(out[j] + sigma * ft_rng_normal(in->rng));
    return FT_OK;
}

const ft_defense_t ft_defense_flame = {
    .name = "flame",
    .cite = "Nguyen et al. USENIX Security 2022 Alg. 1 (FLAME): HDBSCAN over cosine distances "
            "(min cluster K/2+1), clipping at the median norm S, noise N(0, (lambda S)^2)",
    .check_config = flame_check,
    .create = flame_create,
    .destroy = ft_defense_free_state,
    .workspace_size = flame_ws,
    .aggregate = flame_aggregate,
    .selects = 1,
};
