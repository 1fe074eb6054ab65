/* signguard: Xu, Huang, Meng and Xu (and Zhu), "SignGuard: Byzantine-robust Federated
 * Learning through Collaborative Malicious Gradient Filtering", ICDCS 2022, Algorithm
 * 1; ported from FLPoison aggregators/signguard.py (there is no public authors' code
 * for the filter; Blades ports the same algorithm).
 *
 *  1. norm filter: S1 = {i : L·med < ||Δ_i|| < R·med}, med the median norm
 *     (defense.sg_lower = L = 0.1, defense.sg_upper = R = 3.0, as published);
 *  2. sign statistics: on a random window of floor(φ N) consecutive coordinates
 *     (φ = defense.sg_fraction = 0.1; its start uniform in [0, floor((1-φ) N)], as
 *     FLPoison draws it) each update's shares of positive, zero and negative signs,
 *     each feature divided by its maximum over the updates (+1e-8); the features
 *     are clustered and S2 is the largest cluster (lowest label on ties). The paper
 *     clusters with MeanShift; FLPoison's default, used here, is DBSCAN with
 *     eps = 0.05 and min_samples = 3 (ft_cluster.h). If DBSCAN finds no cluster
 *     (every point noise; the reference fails there), S2 is every update;
 *  3. the updates of S1 ∩ S2 are clipped to the median norm and averaged
 *     (sample-weighted, as fedtail's FedAvg; the reference means them unweighted).
 *
 * NaN/Inf: rows holding them are dropped first; the median and the features are over
 * the finite rows. The window comes from in->rng, independent of the row order.
 * Decisions: dropped, or kept / reweighted (clipped) with weight = share and
 * clip_factor = min(1, med / ||Δ_i||); score = ||Δ_i|| / med. */
#include "ft_alloc.h"
#include "ft_cluster.h"
#include "ft_defense.h"
#include "ft_defense_cores.h"
#include "ft_defense_select.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>
#include <stdio.h>

#define SG_EPS         0.05 /* FLPoison's DBSCAN eps */
#define SG_MIN_SAMPLES 3    /* FLPoison's DBSCAN min_samples */

typedef struct {
    double lower; /* defense.sg_lower: L */
    double upper; /* defense.sg_upper: R */
    double frac;  /* defense.sg_fraction: φ */
} sg_t;

static int sg_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    int rc = ft_check_float_range(d->src, "defense.sg_lower", d->sg_lower, 0, 1, 1, 0);
    if (rc == FT_OK)
        rc = ft_check_float_range(d->src, "defense.sg_upper", d->sg_upper, 1, 0, INFINITY, 0);
    if (rc == FT_OK)
        rc = ft_check_float_range(d->src, "defense.sg_fraction", d->sg_fraction, 0, 0, 1, 1);
    return rc;
}

static int sg_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                     void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    sg_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "signguard: out of memory");
    s->lower = d->sg_lower;
    s->upper = d->sg_upper;
    s->frac = d->sg_fraction;
    *state = s;
    return FT_OK;
}

static size_t sg_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + 2 * ft_ws_bytes(max_k) + 4 * ft_ws_bytes(max_k * sizeof(double)) +
           ft_ws_bytes(3 * max_k * sizeof(float)) + ft_ws_bytes(max_k * max_k * sizeof(double)) +
           ft_ws_bytes(2 * max_k * sizeof(int)) + ft_dbscan_ws(max_k);
}

/* Coordinates in the sign window: floor(φ N), at least 1. */
static size_t sg_window(const sg_t *s, size_t N)
{
    size_t n = (size_t)floor(s->frac * (double)N + 1e-9);
    return n ? n : 1;
}

int ft_signguard_core(void *state, const ft_defense_input_t *in, size_t start, float *out,
                      ft_defense_decision_t *dec, void *workspace)
{
    const sg_t *s = state;
    size_t K = in->K, N = in->N, nsel = sg_window(s, N);
    if (start + nsel > N)
        return ft_error_set(FT_EINVAL, "signguard: window [%zu, %zu) beyond N = %zu", start,
                            start + nsel, N);
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, sg_ws(K, N));
    uint8_t *fin = ft_ws_take(&ws, K);
    uint8_t *kept = ft_ws_take(&ws, K);
    double *norm = ft_ws_take(&ws, K * sizeof(double));
    double *tmp = ft_ws_take(&ws, K * sizeof(double));
    double *clip = ft_ws_take(&ws, K * sizeof(double));
    double *w = ft_ws_take(&ws, K * sizeof(double));
    float *F = ft_ws_take(&ws, 3 * K * sizeof(float));
    double *D = ft_ws_take(&ws, K * K * sizeof(double));
    int *labels = ft_ws_take(&ws, 2 * K * sizeof(int));
    int *sizes = labels + K;
    size_t Kf = ft_rows_finite(in->updates, K, N, fin);
    if (Kf == 0)
        return ft_error_set(FT_EINVAL, "signguard: every update holds NaN/Inf");
    /* 1. norm filter */
    size_t nf = 0;
    for (size_t i = 0; i < K; i++) {
        norm[i] = fin[i] ? sqrt(ft_sumsq(in->updates + i * N, N)) : INFINITY;
        if (fin[i])
            tmp[nf++] = norm[i];
    }
    double med = ft_median_d(tmp, nf);
    /* 2. sign statistics of the finite rows (float, as the reference's float32) */
    float mx[3] = {0, 0, 0};
    size_t r = 0;
    for (size_t i = 0; i < K; i++) {
        if (!fin[i])
            continue;
        const float *x = in->updates + i * N + start;
        size_t c[3] = {0, 0, 0};
        for (size_t j = 0; j < nsel; j++)
            c[x[j] > 0 ? 0 : x[j] == 0 ? 1 : 2]++;
        for (int t = 0; t < 3; t++) {
            F[r * 3 + t] = (float)c[t] / (float)nsel;
            mx[t] = F[r * 3 + t] > mx[t] ? F[r * 3 + t] : mx[t];
        }
        r++;
    }
    for (int t = 0; t < 3; t++) {
        float den = (float)((double)mx[t] + 1e-8);
        for (size_t q = 0; q < Kf; q++)
            F[q * 3 + t] = F[q * 3 + t] / den;
    }
    for (size_t a = 0; a < Kf; a++)
        for (size_t b = 0; b < Kf; b++) {
            double s2 = 0;
            for (int t = 0; t < 3; t++) {
                double d = (double)F[a * 3 + t] - (double)F[b * 3 + t];
                s2 += d * d;
            }
            D[a * Kf + b] = sqrt(s2);
        }
    int ncl = ft_dbscan(D, Kf, SG_EPS, SG_MIN_SAMPLES, labels, &ws);
    int best = -1;
    for (int c = 0; c < ncl; c++) {
        sizes[c] = 0;
        for (size_t q = 0; q < Kf; q++)
            sizes[c] += labels[q] == c;
        if (best < 0 || sizes[c] > sizes[best])
            best = c;
    }
    /* 3. intersection, clipping to the median norm */
    ft_decisions_init(dec, K, FT_DECISION_KEPT);
    r = 0;
    for (size_t i = 0; i < K; i++) {
        kept[i] = 0;
        clip[i] = 1;
        dec[i].score = med > 0 ? (float)(norm[i] / med) : INFINITY;
        if (!fin[i])
            continue;
        int in_s2 = best < 0 || labels[r] == best;
        r++;
        kept[i] = in_s2 && norm[i] > s->lower * med && norm[i] < s->upper * med;
        clip[i] = norm[i] > med ? med / norm[i] : 1.0;
    }
    int rc = ft_select_mean(in, kept, clip, out, dec, w);
    if (rc != FT_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", ft_error_message());
        return ft_error_set(rc, "signguard: %s", msg);
    }
    return FT_OK;
}

static int sg_aggregate(void *state, const ft_defense_input_t *in, float *out,
                        ft_defense_decision_t *dec, void *workspace)
{
    const sg_t *s = state;
    if (!in->rng)
        return ft_error_set(FT_EINVAL, "signguard: no random stream given for the window");
    size_t nsel = sg_window(s, in->N);
    size_t hi = nsel < in->N ? in->N - nsel : 0;
    size_t start = ft_rng_below(in->rng, (uint32_t)(hi + 1));
    return ft_signguard_core(state, in, start, out, dec, workspace);
}

const ft_defense_t ft_defense_signguard = {
    .name = "signguard",
    .cite = "Xu et al. ICDCS 2022 Alg. 1 (SignGuard): norm filter [L, R] x median, sign "
            "statistics clustered (DBSCAN, as FLPoison), intersection clipped to the median "
            "norm and averaged",
    .check_config = sg_check,
    .create = sg_create,
    .destroy = ft_defense_free_state,
    .workspace_size = sg_ws,
    .aggregate = sg_aggregate,
    .selects = 1,
};
