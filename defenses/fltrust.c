/* fltrust: Cao, Fang, Liu, Gong, "FLTrust: Byzantine-robust Federated Learning via
 * Trust Bootstrapping", NDSS 2021, Eqs. (3)-(5) / Algorithm 2:
 *   TS_i = ReLU(cos(g_i, g_0))                    trust score
 *   ḡ_i  = g_i · ||g_0|| / ||g_i||                 magnitude normalisation
 *   g    = (1 / sum_j TS_j) sum_i TS_i ḡ_i
 * where g_0 is the server's update from training on its small root set (the
 * coordinator passes it as server_update; defense.root_size is that set's size).
 * Sample counts are not used, as in the paper.
 *
 * Choices where the paper is silent: an update with zero or non-finite norm, or a
 * non-finite cosine (NaN/Inf inside), gets TS = 0; if every TS is 0 the aggregate
 * is the zero delta (the model stays); a server update with zero or non-finite
 * norm is an error. Report: score = TS_i, clip_factor = ||g_0|| / ||g_i||,
 * weight = TS_i / sum TS (the coefficient of the rescaled ḡ_i), contrib_norm =
 * weight ||g_0||; CLIPPED (rescaled by clip_factor, which may exceed 1), DROPPED
 * when TS_i = 0. It does not select: trust is a weight (the paper's Eq. 5), so no
 * TPR/FPR. */
#include "ft_defense.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>
#include <string.h>

static int fltrust_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    return ft_check_int_range(d->src, "defense.root_size", d->root_size, 1, INT32_MAX, NULL);
}

static size_t fltrust_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + ft_ws_bytes(max_k * sizeof(double));
}

static int fltrust_aggregate(void *state, const ft_defense_input_t *in, float *out,
                             ft_defense_decision_t *dec, void *workspace)
{
    (void)state;
    size_t K = in->K, N = in->N;
    if (!in->server_update)
        return ft_error_set(FT_EINVAL, "fltrust: no server update (root-set training) given");
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, fltrust_ws(K, N));
    double *w = ft_ws_take(&ws, K * sizeof(double));
    double n0 = sqrt(ft_sumsq(in->server_update, N));
    if (!(n0 > 0) || !isfinite(n0))
        return ft_error_set(FT_EINVAL, "fltrust: the server update has norm %g", n0);
    ft_decisions_init(dec, K, FT_DECISION_DROPPED);
    double total = 0;
    for (size_t i = 0; i < K; i++) {
        const float *g = in->updates + i * N;
        double ni = sqrt(ft_sumsq(g, N));
        double cs = ft_dot(g, in->server_update, N) / (ni * n0);
        double ts = (ni > 0 && isfinite(ni) && isfinite(cs) && cs > 0) ? fmin(cs, 1.0) : 0.0;
        dec[i].score = (float)ts;
        dec[i].clip_factor = ts > 0 ? (float)(n0 / ni) : 0.0f;
        w[i] = ts > 0 ? ts * (n0 / ni) : 0.0; /* TS_i times the rescaling */
        total += ts;
    }
    if (!(total > 0)) {
        memset(out, 0, N * sizeof *out);
        return FT_OK;
    }
    for (size_t i = 0; i < K; i++) {
        w[i] /= total;
        if (dec[i].score > 0) {
            dec[i].decision = FT_DECISION_CLIPPED; /* rescaled to ||g_0|| */
            dec[i].weight = (float)(dec[i].score / total);
            dec[i].contrib_norm = (float)(dec[i].score / total * n0);
        }
    }
    ft_weighted_sum_mat(in->updates, K, N, w, out);
    return FT_OK;
}

const ft_defense_t ft_defense_fltrust = {
    .name = "fltrust",
    .cite = "Cao et al. NDSS 2021, Eqs. 3-5: ReLU(cos(g_i, g_0)) trust, g_i rescaled to "
            "||g_0||, trust-weighted mean",
    .check_config = fltrust_check,
    .create = ft_defense_stateless_create,
    .destroy = ft_defense_free_state,
    .workspace_size = fltrust_ws,
    .aggregate = fltrust_aggregate,
    .needs_server_update = 1,
};
