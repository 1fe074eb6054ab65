/* rflbat: Wang, Yu, Deng, Hu, Li and Yang, "RFLBAT: A Robust Federated Learning
 * Algorithm against Backdoor Attack", arXiv 2201.03772 (2022), Algorithm 1; ported
 * from BackFed backfed/servers/rflbat_server.py (detect_anomalies) and
 * defense_categories.py (gap_statistics).
 *
 *  1. PCA of the K updates to 2-D (exact: the top two eigenpairs of the centred Gram
 *     matrix, ft_linalg.h; BackFed's torch.pca_lowrank approximates the same);
 *  2. stage 1: each update's sum of 2-D Euclidean distances to the others; those
 *     below eps1 x the median are accepted (eps1 = defense.rflbat_eps1 = 10); if fewer
 *     than two are, the round is plain FedAvg over every update (as the reference);
 *  3. k-means (k-means++ seeding, Lloyd) on the accepted points with k chosen by the
 *     gap statistic (k <= 9, 5 uniform reference sets; ft_cluster.h);
 *  4. each cluster of two or more scores the median over its members of their mean
 *     cosine similarity to the cluster's updates (self included); the lowest score
 *     wins (backdoor updates resemble each other more than diverse honest ones do);
 *  5. stage 2: within the winning cluster, the updates whose 2-D distance sum is
 *     below eps2 x its median stay (eps2 = defense.rflbat_eps2 = 4); if none would
 *     (all identical: every sum 0), the cluster stays whole; if k-means left only
 *     singletons (the reference then averages nothing), stage 2 runs over all the
 *     accepted points;
 *  6. the survivors are averaged, sample-weighted (fedtail's FedAvg).
 *
 * Randomness (k-means++ seeds, the gap statistic's reference sets) comes from
 * in->rng. k-means++ is the plain D² seeding, not scikit-learn's greedy variant, and
 * an emptied cluster keeps its centre. NaN/Inf rows are dropped first.
 * Decisions: dropped or kept with weight = share; score = the stage-1 distance sum
 * over its median. */
#include "ft_alloc.h"
#include "ft_cluster.h"
#include "ft_defense.h"
#include "ft_defense_cores.h"
#include "ft_defense_select.h"
#include "ft_defense_util.h"
#include "ft_error.h"
#include "ft_linalg.h"

#include <math.h>
#include <string.h>

#define RFLBAT_KMAX 9   /* BackFed's K_max */
#define RFLBAT_B    5   /* its num_sampling */
#define RFLBAT_ITER 300 /* Lloyd steps */

typedef struct {
    double eps1; /* defense.rflbat_eps1 */
    double eps2; /* defense.rflbat_eps2 */
} rflbat_t;

static int rflbat_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    int rc = ft_check_float_range(d->src, "defense.rflbat_eps1", d->rflbat_eps1, 0, 0, INFINITY, 0);
    if (rc == FT_OK)
        rc = ft_check_float_range(d->src, "defense.rflbat_eps2", d->rflbat_eps2, 0, 0, INFINITY, 0);
    return rc;
}

static int rflbat_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                         void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    rflbat_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "rflbat: out of memory");
    s->eps1 = d->rflbat_eps1;
    s->eps2 = d->rflbat_eps2;
    *state = s;
    return FT_OK;
}

static size_t rflbat_ws(size_t max_k, size_t N)
{
    (void)N;
    size_t K = max_k;
    return FT_WS_SLACK + 3 * ft_ws_bytes(K) + ft_ws_bytes(K * sizeof(const float *)) +
           2 * ft_ws_bytes(K * K * sizeof(double)) + 8 * ft_ws_bytes(K * sizeof(double)) +
           ft_ws_bytes(2 * K * sizeof(double)) + ft_ws_bytes(2 * K * sizeof(double)) +
           ft_ws_bytes(2 * K * sizeof(int)) + ft_ws_bytes(K * sizeof(uint32_t)) +
           ft_ws_bytes(2 * K * sizeof(uint32_t)) + ft_ws_bytes(2 * sizeof(double)) + ft_gram_ws(K) +
           ft_sym_top_eig_ws(K) + ft_gap_ws(K, 2);
}

/* s[a] = sum over the listed points b != a of ||P_a - P_b|| (P: 2-D points). */
static void dist_sums(const double *P, const uint32_t *idx, size_t n, double *s)
{
    for (size_t a = 0; a < n; a++) {
        s[a] = 0;
        for (size_t b = 0; b < n; b++) {
            double dx = P[2 * idx[a]] - P[2 * idx[b]], dy = P[2 * idx[a] + 1] - P[2 * idx[b] + 1];
            s[a] += sqrt(dx * dx + dy * dy);
        }
    }
}

int ft_rflbat_core(void *state, const ft_defense_input_t *in, size_t n_clusters,
                   const uint32_t *init, float *out, ft_defense_decision_t *dec, void *workspace)
{
    const rflbat_t *p = state;
    size_t K = in->K, N = in->N;
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, rflbat_ws(K, N));
    uint8_t *fin = ft_ws_take(&ws, K);
    uint8_t *kept = ft_ws_take(&ws, K);
    (void)ft_ws_take(&ws, K);
    const float **rows = ft_ws_take(&ws, K * sizeof(const float *));
    double *G = ft_ws_take(&ws, K * K * sizeof(double));
    double *Gc = ft_ws_take(&ws, K * K * sizeof(double));
    double *n2 = ft_ws_take(&ws, K * sizeof(double));
    double *rmean = ft_ws_take(&ws, K * sizeof(double));
    double *s1 = ft_ws_take(&ws, K * sizeof(double));
    double *tmp = ft_ws_take(&ws, K * sizeof(double));
    double *w = ft_ws_take(&ws, K * sizeof(double));
    double *cs = ft_ws_take(&ws, K * sizeof(double));
    double *cnt = ft_ws_take(&ws, K * sizeof(double));
    double *score = ft_ws_take(&ws, K * sizeof(double));
    double *vec = ft_ws_take(&ws, 2 * K * sizeof(double));
    double *P = ft_ws_take(&ws, 2 * K * sizeof(double));
    int *lab = ft_ws_take(&ws, 2 * K * sizeof(int));
    uint32_t *frow = ft_ws_take(&ws, K * sizeof(uint32_t)); /* finite row -> row */
    uint32_t *acc = ft_ws_take(&ws, 2 * K * sizeof(uint32_t));
    uint32_t *mem = acc + K;
    double *lam = ft_ws_take(&ws, 2 * sizeof(double));
    double *Xf = vec; /* reused once the projection is formed */
    double centers[2 * RFLBAT_KMAX];
    uint32_t seeds[RFLBAT_KMAX];

    size_t Kf = ft_rows_finite(in->updates, K, N, fin);
    if (Kf == 0)
        return ft_error_set(FT_EINVAL, "rflbat: every update holds NaN/Inf");
    size_t r = 0;
    for (size_t i = 0; i < K; i++)
        if (fin[i]) {
            frow[r] = (uint32_t)i;
            rows[r++] = in->updates + i * N;
        }
    ft_decisions_init(dec, K, FT_DECISION_KEPT);
    ft_gram(rows, Kf, N, G, n2, &ws);
    /* 1. PCA: double-centred Gram, top two eigenpairs, coordinates sqrt(λ) u */
    double tot = 0;
    for (size_t a = 0; a < Kf; a++) {
        rmean[a] = 0;
        for (size_t b = 0; b < Kf; b++)
            rmean[a] += G[a * Kf + b] / (double)Kf;
        tot += rmean[a] / (double)Kf;
    }
    for (size_t a = 0; a < Kf; a++)
        for (size_t b = 0; b < Kf; b++)
            Gc[a * Kf + b] = G[a * Kf + b] - rmean[a] - rmean[b] + tot;
    size_t m = Kf < 2 ? Kf : 2;
    int rc = ft_sym_top_eig(Gc, Kf, m, lam, vec, &ws);
    if (rc != FT_OK)
        return rc;
    for (size_t a = 0; a < Kf; a++)
        for (size_t t = 0; t < 2; t++)
            P[2 * a + t] = t < m ? sqrt(fmax(lam[t], 0.0)) * vec[t * Kf + a] : 0.0;
    /* 2. stage 1 */
    for (size_t a = 0; a < Kf; a++)
        acc[a] = (uint32_t)a;
    dist_sums(P, acc, Kf, s1);
    memcpy(tmp, s1, Kf * sizeof(double));
    double med = ft_median_d(tmp, Kf);
    size_t na = 0;
    for (size_t a = 0; a < Kf; a++) {
        dec[frow[a]].score = med > 0 ? (float)(s1[a] / med) : 0.0f;
        if (s1[a] < p->eps1 * med)
            acc[na++] = (uint32_t)a;
    }
    for (size_t i = 0; i < K; i++)
        kept[i] = 0;
    if (na < 2) { /* the reference falls back to FedAvg over every update */
        for (size_t a = 0; a < Kf; a++)
            kept[frow[a]] = 1;
        return ft_select_mean(in, kept, NULL, out, dec, w);
    }
    /* 3. k-means on the accepted points, k by the gap statistic */
    for (size_t q = 0; q < na; q++) {
        Xf[2 * q] = P[2 * acc[q]];
        Xf[2 * q + 1] = P[2 * acc[q] + 1];
    }
    size_t kmax = na < RFLBAT_KMAX ? na : RFLBAT_KMAX;
    size_t k = n_clusters
                   ? (n_clusters < kmax ? n_clusters : kmax)
                   : ft_gap_statistic(Xf, na, 2, kmax, RFLBAT_B, FT_GAP_RFLBAT, in->rng, &ws);
    if (init)
        memcpy(seeds, init, k * sizeof(uint32_t));
    else
        ft_kmeanspp_init(Xf, na, 2, k, in->rng, seeds, tmp);
    ft_kmeans(Xf, na, 2, k, seeds, RFLBAT_ITER, lab, centers, cnt, NULL);
    /* 4. the cluster with the lowest median mean cosine similarity */
    size_t best = k;
    double best_score = INFINITY;
    for (size_t c = 0; c < k; c++) {
        size_t nm = 0;
        for (size_t q = 0; q < na; q++)
            if (lab[q] == (int)c)
                mem[nm++] = acc[q];
        score[c] = INFINITY;
        if (nm <= 1)
            continue;
        for (size_t a = 0; a < nm; a++) {
            cs[a] = 0;
            for (size_t b = 0; b < nm; b++) {
                double den = sqrt(n2[mem[a]]) * sqrt(n2[mem[b]]);
                cs[a] += (den > 0 ? G[mem[a] * Kf + mem[b]] / den : 0.0) / (double)nm;
            }
        }
        score[c] = ft_median_d(cs, nm);
        if (best == k || score[c] < best_score) {
            best = c;
            best_score = score[c];
        }
    }
    /* 5. stage 2 within the winner (every cluster a singleton — the reference then
     * averages nothing — : within all the accepted points) */
    size_t nm = 0;
    for (size_t q = 0; q < na; q++)
        if (best == k || lab[q] == (int)best)
            mem[nm++] = acc[q];
    dist_sums(P, mem, nm, s1);
    memcpy(tmp, s1, nm * sizeof(double));
    double med2 = ft_median_d(tmp, nm);
    size_t nk = 0;
    for (size_t a = 0; a < nm; a++)
        if (s1[a] < p->eps2 * med2) {
            kept[frow[mem[a]]] = 1;
            nk++;
        }
    if (nk == 0)
        for (size_t a = 0; a < nm; a++)
            kept[frow[mem[a]]] = 1;
    return ft_select_mean(in, kept, NULL, out, dec, w);
}

static int rflbat_aggregate(void *state, const ft_defense_input_t *in, float *out,
                            ft_defense_decision_t *dec, void *workspace)
{
    if (!in->rng)
        return ft_error_set(FT_EINVAL, "rflbat: no random stream given for k-means");
    return ft_rflbat_core(state, in, 0, NULL, out, dec, workspace);
}

const ft_defense_t ft_defense_rflbat = {
    .name = "rflbat",
    .cite = "Wang et al. 2022 (arXiv 2201.03772) Alg. 1 (RFLBAT): PCA to 2-D, distance-sum "
            "outlier removal, gap-statistic k-means, lowest-cosine cluster, second removal",
    .check_config = rflbat_check,
    .create = rflbat_create,
    .destroy = ft_defense_free_state,
    .workspace_size = rflbat_ws,
    .aggregate = rflbat_aggregate,
    .selects = 1,
};
