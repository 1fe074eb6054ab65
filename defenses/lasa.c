/* lasa: Xu, Zhang, Hu, Li, Wang and Li, "Achieving Byzantine-Resilient Federated
 * Learning via Layer-Adaptive Sparsified Model Aggregation" (LASA), arXiv 2409.01435,
 * 2024 (WACV 2025), Alg. 1 with Eqs. 4-8; ported from FLPoison aggregators/lasa.py
 * (LASA.aggregate, sparse_update, mz_score).
 *
 *  1. pre-aggregation clipping (Alg. 1 l. 3): every update is scaled to at most the
 *     median norm, x_i = min(1, med / ||Δ_i||) Δ_i;
 *  2. pre-aggregation sparsification (Eq. 4): each update keeps only its weight
 *     coordinates (2-D/4-D tensors; biases are never sparsified) whose |value| is
 *     strictly above its k-th largest, k = floor(M (1 - α)) of its M weight
 *     coordinates (α = defense.lasa_sparsity = 0.3). As in the reference, the
 *     sparsified copy only feeds the filters; the aggregate sums the clipped x_i;
 *  3. per layer l (each parameter tensor, from in->layer_ends; one layer = the whole
 *     vector when the caller gives no layout): magnitude filter on the layer norms
 *     of the sparsified updates, S1 = {i : |n_i - med(n)| / std(n) < λ_n} (median
 *     z-score, Eq. 6, std the population one, λ_n = defense.lasa_norm_z = 2), and a
 *     direction filter on the sign purity ρ_i = ½ Σ sgn / Σ |sgn| (1 - α) (Eq. 7),
 *     S2 = {i : MZ(ρ_i) < λ_s} (λ_s = defense.lasa_sign_z = 1). A zero std makes
 *     every z-score NaN in the reference: nobody passes; an empty S1 ∩ S2 falls back
 *     to every update (the reference's rule);
 *  4. the layer of the aggregate is the mean of the clipped layers of S1 ∩ S2
 *     (Eq. 8; sample-weighted, as fedtail's FedAvg; the reference means unweighted).
 *
 * Deviations, all at points where the reference fails or misbehaves: α = 0 skips the
 * sparsification (the reference then filters the all-ones mask); a layer whose
 * sparsified values are all zero has ρ = 0 (the reference's 0/0 = NaN); a zero row
 * is not scaled (the reference divides by its zero norm). Rows holding NaN/Inf are
 * dropped first; every statistic is over the finite rows.
 * Decisions: weight = Σ_l n_l [i ∈ B_l] w_i / W_l / N (its mean coefficient), so an
 * update kept in only some layers is REWEIGHTED, in none DROPPED, and CLIPPED when its
 * clip factor is below 1; score = the share of layers it was filtered out of. */
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_select.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>

typedef struct {
    double sparsity; /* defense.lasa_sparsity: α */
    double norm_z;   /* defense.lasa_norm_z: λ_n */
    double sign_z;   /* defense.lasa_sign_z: λ_s */
} lasa_t;

static int lasa_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    int rc = ft_check_float_range(d->src, "defense.lasa_sparsity", d->lasa_sparsity, 0, 1, 1, 0);
    if (rc == FT_OK)
        rc = ft_check_float_range(d->src, "defense.lasa_norm_z", d->lasa_norm_z, 0, 0, INFINITY, 0);
    if (rc == FT_OK)
        rc = ft_check_float_range(d->src, "defense.lasa_sign_z", d->lasa_sign_z, 0, 0, INFINITY, 0);
    return rc;
}

static int lasa_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                       void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    lasa_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "lasa: out of memory");
    s->sparsity = d->lasa_sparsity;
    s->norm_z = d->lasa_norm_z;
    s->sign_z = d->lasa_sign_z;
    *state = s;
    return FT_OK;
}

static size_t lasa_ws(size_t max_k, size_t N)
{
    return FT_WS_SLACK + 2 * ft_ws_bytes(max_k) + 8 * ft_ws_bytes(max_k * sizeof(double)) +
           ft_ws_bytes(max_k * sizeof(float)) + ft_ws_bytes(N * sizeof(ft_vi_t)) +
           ft_ws_bytes(N * sizeof(double));
}

/* ok[i] &= (|v_i - med| / std < bound) over the finite rows (std the population
 * one; a zero std fails everyone, as the reference's NaN z-scores). */
static void mz_filter(const double *v, const uint8_t *fin, size_t K, double bound, double *tmp,
                      uint8_t *ok)
{
    size_t n = 0;
    double mean = 0;
    for (size_t i = 0; i < K; i++)
        if (fin[i]) {
            tmp[n++] = v[i];
            mean += v[i];
        }
    mean /= (double)n;
    double var = 0;
    for (size_t i = 0; i < K; i++)
        if (fin[i])
            var += (v[i] - mean) * (v[i] - mean);
    double sd = sqrt(var / (double)n), med = ft_median_d(tmp, n);
    for (size_t i = 0; i < K; i++)
        ok[i] = ok[i] && fin[i] && fabs(v[i] - med) / sd < bound;
}

/* The k-th largest |x| over row x's weight coordinates (the reference's
 * np.partition(all, -k)[-k]; k = 0 reads its index 0: the smallest). a: N scratch. */
static float row_threshold(const ft_defense_input_t *in, const float *x, size_t L,
                           const size_t *ends, double keep, ft_vi_t *a)
{
    size_t M = 0, b = 0;
    for (size_t l = 0; l < L; l++) {
        size_t e = ends ? ends[l] : in->N;
        if (!in->layer_is_weight || in->layer_is_weight[l])
            for (size_t j = b; j < e; j++)
                a[M++] = (ft_vi_t){fabsf(x[j]), (uint32_t)j};
        b = e;
    }
    if (M == 0)
        return -1.0f; /* no weights: nothing to sparsify */
    size_t k = (size_t)floor((double)M * keep + 1e-9);
    size_t idx = k ? M - k : 0;
    ft_select_kth(a, M, idx);
    return a[idx].v;
}

static int lasa_aggregate(void *state, const ft_defense_input_t *in, float *out,
                          ft_defense_decision_t *dec, void *workspace)
{
    const lasa_t *s = state;
    size_t K = in->K, N = in->N;
    size_t L = in->layer_ends && in->num_layers ? in->num_layers : 1;
    const size_t *ends = in->layer_ends && in->num_layers ? in->layer_ends : NULL;
    if (ends && ends[L - 1] != N)
        return ft_error_set(FT_EINVAL, "lasa: the layout ends at %zu, the updates have N = %zu",
                            ends[L - 1], N);
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, lasa_ws(K, N));
    uint8_t *fin = ft_ws_take(&ws, K);
    uint8_t *ok = ft_ws_take(&ws, K);
    double *clip = ft_ws_take(&ws, K * sizeof(double));
    double *tmp = ft_ws_take(&ws, K * sizeof(double));
    double *lnorm = ft_ws_take(&ws, K * sizeof(double));
    double *rho = ft_ws_take(&ws, K * sizeof(double));
    double *raw2 = ft_ws_take(&ws, K * sizeof(double));
    double *weight = ft_ws_take(&ws, K * sizeof(double));
    double *contrib2 = ft_ws_take(&ws, K * sizeof(double));
    double *skipped = ft_ws_take(&ws, K * sizeof(double));
    float *thr = ft_ws_take(&ws, K * sizeof(float));
    ft_vi_t *a = ft_ws_take(&ws, N * sizeof(ft_vi_t));
    double *acc = ft_ws_take(&ws, N * sizeof(double));
    size_t Kf = ft_rows_finite(in->updates, K, N, fin);
    if (Kf == 0)
        return ft_error_set(FT_EINVAL, "lasa: every update holds NaN/Inf");
    for (size_t i = 0; i < K; i++)
        if (fin[i] && (!isfinite(in->counts[i]) || in->counts[i] < 0))
            return ft_error_set(FT_EINVAL, "lasa: sample count of update %zu is %g", i,
                                (double)in->counts[i]);
    /* 1. clipping to the median norm */
    size_t nf = 0;
    for (size_t i = 0; i < K; i++)
        if (fin[i])
            tmp[nf++] = sqrt(ft_sumsq(in->updates + i * N, N));
    double med = ft_median_d(tmp, nf);
    for (size_t i = 0; i < K; i++) {
        double nrm = fin[i] ? sqrt(ft_sumsq(in->updates + i * N, N)) : 0;
        clip[i] = nrm > med ? med / nrm : 1.0;
        weight[i] = contrib2[i] = skipped[i] = 0;
        /* 2. each row's sparsification threshold */
        thr[i] = fin[i] && s->sparsity > 0
                     ? row_threshold(in, in->updates + i * N, L, ends, 1 - s->sparsity, a)
                     : -1.0f;
    }
    /* 3-4. layer by layer */
    size_t b = 0;
    for (size_t l = 0; l < L; l++) {
        size_t e = ends ? ends[l] : N;
        if (e < b)
            return ft_error_set(FT_EINVAL, "lasa: layer %zu ends at %zu, before %zu", l, e, b);
        int sparse = !in->layer_is_weight || in->layer_is_weight[l];
        for (size_t i = 0; i < K; i++) {
            lnorm[i] = rho[i] = raw2[i] = 0;
            if (!fin[i])
                continue;
            const float *x = in->updates + i * N;
            float t = sparse ? thr[i] : -1.0f;
            double n2 = 0, r2 = 0;
            size_t pos = 0, neg = 0;
            for (size_t j = b; j < e; j++) {
                double v = x[j];
                r2 += v * v;
                if (!(fabsf(x[j]) > t))
                    continue;
                n2 += v * v;
                pos += v > 0;
                neg += v < 0;
            }
            lnorm[i] = sqrt(n2);
            raw2[i] = r2;
            rho[i] = pos + neg ? 0.5 * ((double)pos - (double)neg) / (double)(pos + neg) *
                                     (1 - s->sparsity)
                               : 0.0;
        }
        size_t nb = 0;
        for (size_t i = 0; i < K; i++)
            ok[i] = fin[i];
        mz_filter(lnorm, fin, K, s->norm_z, tmp, ok);
        mz_filter(rho, fin, K, s->sign_z, tmp, ok);
        for (size_t i = 0; i < K; i++)
            nb += ok[i];
        if (nb == 0)
            for (size_t i = 0; i < K; i++)
                ok[i] = fin[i];
        double W = 0;
        for (size_t i = 0; i < K; i++)
            W += ok[i] ? in->counts[i] : 0;
        if (!(W > 0))
            return ft_error_set(FT_EINVAL, "lasa: the updates kept at layer %zu have no samples",
                                l);
        for (size_t j = b; j < e; j++)
            acc[j] = 0;
        for (size_t i = 0; i < K; i++) {
            if (!ok[i]) {
                skipped[i] += 1;
                continue;
            }
            double c = in->counts[i] / W * clip[i];
            ft_axpy_d(acc + b, e - b, c, in->updates + i * N + b);
            weight[i] += (double)(e - b) * in->counts[i] / W;
            contrib2[i] += c * c * raw2[i];
        }
        for (size_t j = b; j < e; j++)
            out[j] = (float)acc[j];
        b = e;
    }
    for (size_t i = 0; i < K; i++) {
        double w = N ? weight[i] / (double)N : 0;
        ft_decision_t d = w == 0           ? FT_DECISION_DROPPED
                          : clip[i] != 1.0 ? FT_DECISION_CLIPPED
                          : skipped[i] > 0 ? FT_DECISION_REWEIGHTED
                                           : FT_DECISION_KEPT;
        dec[i] = (ft_defense_decision_t){d, w == 0 ? 1.0f : (float)clip[i],
                                         (float)(skipped[i] / (double)L), (float)w,
                                         (float)sqrt(contrib2[i])};
    }
    return FT_OK;
}

const ft_defense_t ft_defense_lasa = {
    .name = "lasa",
    .cite = "Xu et al. 2024 (LASA) Alg. 1, Eqs. 4-8: median-norm clipping, top-k "
            "sparsification, per-layer median z-score filters on norm and sign purity, "
            "layer-wise mean of the survivors",
    .check_config = lasa_check,
    .create = lasa_create,
    .destroy = ft_defense_free_state,
    .workspace_size = lasa_ws,
    .aggregate = lasa_aggregate,
    .selects = 1,
};
