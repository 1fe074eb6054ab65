/* norm-clipping: norm-difference clipping (NDC), the paper's first defense.
 *
 * Sun et al., "Can You Really Backdoor Federated Learning?", 2019, Sec. 3; as used
 * by Wang et al. NeurIPS 2020 ("Attack of the Tails", Sec. 4, and the paper code's
 * WeightDiffClippingDefense): per client, Δ <- Δ / max(1, ||Δ||_2 / M), then
 * FedAvg weighted by sample count.
 *
 * The clip is folded into the averaging weight (w_i = n_i c_i / sum n), so the
 * updates are read once and not modified. NaN/Inf: an update whose norm is not
 * finite cannot be clipped meaningfully (0 * Inf = NaN), so it is dropped and the
 * sample-count weights renormalised over the remaining clients; the output norm
 * is then at most M. Report: score = ||Δ|| before clipping, clip_factor = c_i,
 * weight = n_i / sum n (the clipped row's coefficient: clipping shrinks the vector,
 * not the weight; contrib_norm = weight c_i ||Δ|| shows that); CLIPPED when c_i < 1
 * (an update exactly at the bound is KEPT). It does not select: no TPR/FPR. */
#include "ft_defense.h"
#include "ft_defense_ndc.h"
#include "ft_defense_util.h"
#include "ft_error.h"
#include "ft_alloc.h"

#include <math.h>

typedef struct {
    double M; /* L2 norm bound (defense.norm_bound) */
} ndc_t;

size_t ft_ndc_ws(size_t max_k)
{
    return FT_WS_SLACK + 2 * ft_ws_bytes(max_k * sizeof(double));
}

int ft_ndc_aggregate(double M, const ft_defense_input_t *in, float *out, ft_defense_decision_t *dec,
                     void *workspace, size_t ws_bytes)
{
    size_t K = in->K, N = in->N;
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, ws_bytes);
    double *sw = ft_ws_take(&ws, K * sizeof(double));
    double *w = ft_ws_take(&ws, K * sizeof(double));
    int rc = ft_count_weights(in->counts, K, sw);
    if (rc != FT_OK)
        return rc;
    ft_decisions_init(dec, K, FT_DECISION_KEPT);
    double kept = 0;
    for (size_t i = 0; i < K; i++) {
        double norm = sqrt(ft_sumsq(in->updates + i * N, N));
        dec[i].score = (float)norm;
        if (!isfinite(norm)) {
            dec[i].decision = FT_DECISION_DROPPED;
            dec[i].clip_factor = 0.0f;
            w[i] = 0;
            continue;
        }
        /* ||Δ|| = M exactly gives c = 1: at the bound is not clipped. */
        double c = 1.0 / fmax(1.0, norm / M);
        w[i] = c; /* times the share, below */
        dec[i].clip_factor = (float)c;
        if (c < 1.0)
            dec[i].decision = FT_DECISION_CLIPPED;
        kept += sw[i];
    }
    if (!(kept > 0))
        return ft_error_set(FT_EINVAL, "norm clipping: no update with a finite norm and a "
                                       "positive sample count");
    for (size_t i = 0; i < K; i++) {
        if (dec[i].decision == FT_DECISION_DROPPED)
            continue;
        double share = sw[i] / kept;
        dec[i].weight = (float)share;
        dec[i].contrib_norm = (float)(share * w[i] * dec[i].score); /* share c ||Δ|| */
        w[i] *= share;
    }
    ft_weighted_sum_mat(in->updates, K, N, w, out);
    return FT_OK;
}

static int ndc_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    return ft_check_float_range(d->src, "defense.norm_bound", d->norm_bound, 0, 0, INFINITY, 0);
}

static int ndc_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                      void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    ndc_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "norm-clipping: out of memory");
    s->M = d->norm_bound;
    *state = s;
    return FT_OK;
}

static size_t ndc_ws(size_t max_k, size_t N)
{
    (void)N;
    return ft_ndc_ws(max_k);
}

static int ndc_aggregate(void *state, const ft_defense_input_t *in, float *out,
                         ft_defense_decision_t *dec, void *workspace)
{
    const ndc_t *s = state;
    return ft_ndc_aggregate(s->M, in, out, dec, workspace, ft_ndc_ws(in->K));
}

const ft_defense_t ft_defense_norm_clipping = {
    .name = "norm-clipping",
    .cite = "Sun et al. 2019 Sec. 3 / Wang et al. NeurIPS 2020 Sec. 4: "
            "Δ <- Δ / max(1, ||Δ||/M), then FedAvg",
    .check_config = ndc_check,
    .create = ndc_create,
    .destroy = ft_defense_free_state,
    .workspace_size = ndc_ws,
    .aggregate = ndc_aggregate,
    .secagg = FT_DEFENSE_SECAGG_CLIENT_CLIP,
};
