/* bulyan: El Mhamdi, Guerraoui, Rouault, "The Hidden Vulnerability of Distributed
 * Learning in Byzantium", ICML 2018, Sec. 4 (Bulyan over Krum).
 *
 * 1. Selection: theta = K - 2f updates are chosen by applying Krum recursively: at
 *    each step Krum (Blanchard et al. 2017) picks the lowest-score update of the
 *    remaining set R and removes it from R. The score in a set of r updates sums the
 *    r - f - 2 nearest squared distances (at least 1: in the last steps r - f - 2
 *    can reach 0, where the paper's bound is loose). Ties go to the smaller sum of
 *    distances to all remaining updates, then to the lower index.
 * 2. Aggregation: at each coordinate, beta = theta - 2f values closest to the
 *    coordinate-wise median of the theta selected values are averaged.
 * Requires K >= 4f + 3 (checked at load time and per round).
 *
 * Distances come from one Gram-matrix GEMM, computed once (removal just shrinks the
 * active set). NaN/Inf: such rows are at distance +inf, score +inf and are never
 * selected while a finite one remains; in step 2 non-finite values are also left
 * out per coordinate. Report: score = Krum score in the full set; selected updates
 * are REWEIGHTED with weight = average share of the output, the rest DROPPED. It
 * selects (ft_defense.h): the updates left out by step 1 count as detected. */
#include "ft_defense.h"
#include "ft_defense_krum.h"
#include "ft_error.h"

#include <math.h>
#include <string.h>

static const ft_krum_bound_t bulyan_bound = {
    .rule = "Bulyan", .name = "bulyan", .mult = 4, .add = 3, .strict = 0};

static int bulyan_check(const ft_defense_cfg_t *d, size_t max_k)
{
    return ft_krum_check_f(d, max_k, &bulyan_bound);
}

static size_t bulyan_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + ft_krum_round_ws(max_k) + 2 * ft_ws_bytes(max_k * sizeof(double)) +
           ft_ws_bytes(max_k) + ft_coord_ws(max_k);
}

/* Step 2 at one coordinate. */
typedef struct {
    const float *U; /* K×N updates */
    size_t N;       /* parameters */
    size_t beta;    /* values averaged: theta - 2f */
} bulyan_coord_t;

/* ft_coord_fn (ctx: bulyan_coord_t): the mean of the beta values of the selected
 * set closest to its median at j. */
static double bulyan_coord(const void *ctx, size_t j, ft_vi_t *a, size_t n, double *share,
                           double *used)
{
    const bulyan_coord_t *b = ctx;
    const float *U = b->U;
    size_t N = b->N;
    uint32_t lo, hi;
    double med = ft_median_vi(a, n, &lo, &hi);
    size_t take = b->beta < n ? b->beta : n;
    for (size_t t = 0; t < n; t++)
        a[t].v = (float)fabs((double)U[a[t].i * N + j] - med);
    if (take < n)
        ft_select_kth(a, n, take - 1);
    double sum = 0;
    for (size_t t = 0; t < take; t++) {
        sum += U[a[t].i * N + j];
        share[a[t].i] += 1.0 / (double)take;
        used[a[t].i] += 1;
    }
    return sum / (double)take;
}

static int bulyan_aggregate(void *state, const ft_defense_input_t *in, float *out,
                            ft_defense_decision_t *dec, void *workspace)
{
    const ft_krum_params_t *p = state;
    size_t K = in->K, N = in->N, f = p->f;
    int rc = ft_krum_check_round(K, f, &bulyan_bound);
    if (rc != FT_OK)
        return rc;
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, bulyan_ws(K, N));
    double *scores = ft_ws_take(&ws, K * sizeof(double));
    double *tmp = ft_ws_take(&ws, K * sizeof(double));
    uint8_t *active = ft_ws_take(&ws, K);
    ft_coord_t c;
    ft_coord_take(&c, &ws, K);
    double *D, *full;
    ft_krum_scores_round(in, f, &D, &full, &ws);

    /* 1. recursive Krum: theta selections; `active` = still in R. */
    size_t theta = K - 2 * f, selected = 0;
    memset(active, 1, K);
    ft_decisions_init(dec, K, FT_DECISION_DROPPED);
    for (size_t i = 0; i < K; i++)
        dec[i].score = (float)full[i];
    for (; selected < theta; selected++) {
        size_t r = K - selected;
        size_t nb = r > f + 3 ? r - f - 2 : 1;
        ft_krum_scores(D, K, active, nb, scores, tmp);
        /* With few neighbours a tie is the rule, not the exception (two mutual
         * nearest neighbours share the score), so ties go to the smaller sum of
         * distances to all remaining updates, then to the lower index: the choice
         * does not depend on the order of the clients. */
        size_t best = K;
        double best_sum = INFINITY;
        for (size_t i = 0; i < K; i++) {
            if (!active[i] || !isfinite(scores[i]))
                continue;
            double sum = 0;
            for (size_t k = 0; k < K; k++)
                if (active[k] && k != i)
                    sum += D[i * K + k];
            if (best == K || scores[i] < scores[best] ||
                (scores[i] == scores[best] && sum < best_sum)) {
                best = i;
                best_sum = sum;
            }
        }
        if (best == K)
            break;
        active[best] = 0;
        dec[best].decision = FT_DECISION_REWEIGHTED;
    }
    if (selected <= 2 * f)
        return ft_error_set(FT_EINVAL, "bulyan: only %zu updates with finite distances", selected);
    /* sel = the selected set = rows marked REWEIGHTED; reuse `active` for it. */
    for (size_t i = 0; i < K; i++)
        active[i] = dec[i].decision == FT_DECISION_REWEIGHTED;

    /* 2. per coordinate: mean of the beta values closest to the median. */
    const bulyan_coord_t step2 = {.U = in->updates, .N = N, .beta = selected - 2 * f};
    ft_coordwise(in->updates, K, N, active, bulyan_coord, &step2, &c, out);
    for (size_t i = 0; i < K; i++)
        if (active[i]) {
            dec[i].weight = N ? (float)(c.share[i] / (double)N) : 0.0f;
            dec[i].contrib_norm = (float)sqrt(c.sq[i]);
        }
    return FT_OK;
}

const ft_defense_t ft_defense_bulyan = {
    .name = "bulyan",
    .cite = "El Mhamdi et al. ICML 2018 Sec. 4: theta = K-2f by recursive Krum, then per "
            "coordinate the mean of the beta = theta-2f values closest to the median",
    .check_config = bulyan_check,
    .create = ft_krum_create,
    .destroy = ft_defense_free_state,
    .workspace_size = bulyan_ws,
    .aggregate = bulyan_aggregate,
    .selects = 1,
};
