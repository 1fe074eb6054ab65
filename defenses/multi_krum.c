/* multi-krum: Blanchard et al., NeurIPS 2017, Sec. 4 ("Multi-Krum").
 *
 * Krum scores as in krum.c; the m updates with the lowest scores are kept and
 * averaged weighted by sample count, as the paper code of Wang et al. does
 * (np.average over the selected with weights n_i / sum n_sel). m = K - f by
 * default (defense.m = 0), else defense.m (at most the round's K).
 *
 * NaN/Inf: rows holding them score +inf and are never kept (if fewer than m rows
 * have a finite score, only those are kept). Ties go to the lowest index. */
#include "ft_defense.h"
#include "ft_defense_krum.h"
#include "ft_error.h"

#include <math.h>

static const ft_krum_bound_t mkrum_bound = {
    .rule = "Multi-Krum", .name = "multi-krum", .mult = 2, .add = 2, .strict = 1};

static int mkrum_check(const ft_defense_cfg_t *d, size_t max_k)
{
    int rc = ft_krum_check_f(d, max_k, &mkrum_bound);
    if (rc != FT_OK)
        return rc;
    int64_t m = d->m;
    if (m != 0 && (m < 1 || m > (int64_t)max_k))
        return ft_config_error(d->src, "defense.m", "is %lld; must be 0 (K - f) or in [1, K = %zu]",
                               (long long)m, max_k);
    return FT_OK;
}

static size_t mkrum_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + ft_krum_round_ws(max_k) + ft_ws_bytes(max_k * sizeof(double)) +
           ft_ws_bytes(max_k * sizeof(uint8_t));
}

static int mkrum_aggregate(void *state, const ft_defense_input_t *in, float *out,
                           ft_defense_decision_t *dec, void *workspace)
{
    const ft_krum_params_t *p = state;
    size_t K = in->K, N = in->N;
    int rc = ft_krum_check_round(K, p->f, &mkrum_bound);
    if (rc != FT_OK)
        return rc;
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, mkrum_ws(K, N));
    double *w = ft_ws_take(&ws, K * sizeof(double));
    uint8_t *sel = ft_ws_take(&ws, K);
    double *D, *scores;
    ft_krum_scores_round(in, p->f, &D, &scores, &ws);
    size_t m = p->m ? (p->m < K ? p->m : K) : K - p->f;
    ft_decisions_init(dec, K, FT_DECISION_DROPPED);
    for (size_t i = 0; i < K; i++) {
        sel[i] = 0;
        w[i] = 0;
        dec[i].score = (float)scores[i];
    }
    /* m rounds of "lowest finite unselected score, lowest index on ties". */
    size_t kept = 0;
    double total = 0;
    for (; kept < m; kept++) {
        size_t best = K;
        for (size_t i = 0; i < K; i++)
            if (!sel[i] && isfinite(scores[i]) && (best == K || scores[i] < scores[best]))
                best = i;
        if (best == K)
            break;
        sel[best] = 1;
        if (!isfinite(in->counts[best]) || in->counts[best] < 0)
            return ft_error_set(FT_EINVAL, "sample count of update %zu is %g (must be >= 0)", best,
                                (double)in->counts[best]);
        total += in->counts[best];
    }
    if (kept == 0)
        return ft_error_set(FT_EINVAL,
                            "multi-krum: no update has a finite score (all hold NaN/Inf?)");
    if (!(total > 0))
        return ft_error_set(FT_EINVAL, "multi-krum: the kept updates have no samples");
    for (size_t i = 0; i < K; i++) {
        if (!sel[i])
            continue;
        w[i] = in->counts[i] / total;
        dec[i].decision = FT_DECISION_KEPT;
        dec[i].weight = (float)w[i];
    }
    ft_weighted_sum_mat(in->updates, K, N, w, out);
    ft_decisions_set_contrib(dec, K, in->updates, N);
    return FT_OK;
}

const ft_defense_t ft_defense_multi_krum = {
    .name = "multi-krum",
    .cite = "Blanchard et al. NeurIPS 2017 Sec. 4 (Multi-Krum): sample-weighted mean of the m "
            "lowest Krum scores",
    .check_config = mkrum_check,
    .create = ft_krum_create,
    .destroy = ft_defense_free_state,
    .workspace_size = mkrum_ws,
    .aggregate = mkrum_aggregate,
    .selects = 1,
};
