/* deepsight: Rieger et al., "DeepSight: Mitigating Backdoor Attacks in Federated
 * Learning Through Deep Model Inspection", NDSS 2022, Algorithm 1 (and its §V); ported
 * from FLPoison aggregators/deepsight.py and BackFed's DeepSightServer (the authors'
 * code is unpublished). It needs the model probe (ft_defense_probe_t): the server runs
 * the global and each local model G + Δ_i on random inputs.
 *
 *  1. NEUPs (Eq. 2-3): the output layer's update energy per class c,
 *     e_c = |Δb_c| + Σ_d |ΔW_cd|, normalised NEUP_c = e_c² / Σ_c' e_c'²; threshold
 *     exceedings TE = #{c : NEUP_c > ξ max NEUP}, ξ = max(0.01, 1/C) (Eq. 4); an update
 *     is labelled suspicious when TE <= median(TE) / 2 (the classification boundary).
 *  2. DDifs (Eq. 1): for each of defense.ds_seeds noise sets of defense.ds_samples
 *     inputs (uniform [0,1), derived from run.seed by the probe, the same every round),
 *     DDif_c = mean over x of p_i(x)_c / (p_G(x)_c + 1e-30) with p the softmax of the
 *     logits (the paper's "predicted probabilities"; both ports divide raw outputs).
 *  3. Ensemble clustering: HDBSCAN (min_cluster_size 5, min_samples 3: the ports'
 *     settings) over the bias updates' cosine distances, the NEUPs' and each DDif set's
 *     Euclidean distances; each clustering becomes a 0/1 distance (0: same cluster, a
 *     noise point being its own cluster, as BackFed); their mean (the DDif sets' first
 *     averaged) is clustered again with allow_single_cluster (FLPoison).
 *  4. Voting: a cluster (noise excluded, as FLPoison) is accepted when fewer than
 *     τ = defense.ds_tau (0.33) of its members are suspicious.
 *  5. The accepted updates are clipped to the median L2 norm S of all updates and
 *     averaged (sample-weighted, as fedtail's FedAvg; the ports take a plain mean).
 *
 * With fewer than 5 finite updates HDBSCAN's sizes shrink to min(5, K) and
 * min(3, K - 1) (the ports would label everything noise and average nothing); one
 * finite update is accepted alone. NaN/Inf: a row holding them, or whose model gives
 * non-finite NEUPs or DDifs (a huge row), is dropped before everything else.
 * A scaled, sign-flipped copy of an honest update (issue 17's blatant attacker) has its
 * source's NEUPs and TE, so it is not suspicious and its cluster is accepted, as in the
 * reference: step 5 is what bounds it (docs/defenses.md, "The blatant attacker").
 * Decisions: dropped, or kept / reweighted (clipped) with clip_factor = min(1, S/||Δ_i||);
 * score = the final cluster label (-1: noise or a dropped row). */
#include "ft_alloc.h"
#include "ft_cluster.h"
#include "ft_defense.h"
#include "ft_defense_select.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>

enum { DS_MAX_SEEDS = 16, DS_BATCH = 64, DS_MCS = 5, DS_MIN_SAMPLES = 3 };

typedef struct {
    double tau;     /* defense.ds_tau */
    size_t seeds;   /* defense.ds_seeds */
    size_t samples; /* defense.ds_samples */
} deepsight_t;

static int ds_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    int rc = ft_check_float_range(d->src, "defense.ds_tau", d->ds_tau, 0, 0, 1, 1);
    if (rc == FT_OK)
        rc = ft_check_int_range(d->src, "defense.ds_seeds", d->ds_seeds, 1, DS_MAX_SEEDS, NULL);
    if (rc == FT_OK)
        rc = ft_check_int_range(d->src, "defense.ds_samples", d->ds_samples, 1, 1 << 20, NULL);
    return rc;
}

static int ds_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                     void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    deepsight_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "deepsight: out of memory");
    s->tau = d->ds_tau;
    s->seeds = (size_t)d->ds_seeds;
    s->samples = (size_t)d->ds_samples;
    *state = s;
    return FT_OK;
}

static size_t ds_ws(size_t max_k, size_t N)
{
    (void)N;
    size_t K = max_k;
    return FT_WS_SLACK + 3 * ft_ws_bytes(K) + ft_ws_bytes(K * sizeof(const float *)) +
           6 * ft_ws_bytes(K * sizeof(double)) + 2 * ft_ws_bytes(K * sizeof(int)) +
           4 * ft_ws_bytes(K * K * sizeof(double)) + ft_hdbscan_ws(K);
}

static size_t batch_of(const ft_defense_probe_t *p)
{
    return p->max_batch < DS_BATCH ? p->max_batch : DS_BATCH;
}

static size_t ds_probe_ws(size_t max_k, const ft_defense_probe_t *p)
{
    size_t B = batch_of(p), C = p->num_classes;
    return FT_WS_SLACK + ft_ws_bytes((DS_MAX_SEEDS + 2) * max_k * C * sizeof(double)) +
           ft_ws_bytes(B * p->in_dim * sizeof(float)) + ft_ws_bytes(B * C * sizeof(float)) +
           ft_ws_bytes(B * C * sizeof(double));
}

/* Row-wise softmax of B×C logits into p (double). */
static void softmax(const float *z, size_t B, size_t C, double *p)
{
    for (size_t b = 0; b < B; b++) {
        double m = -INFINITY, sum = 0;
        for (size_t c = 0; c < C; c++)
            m = fmax(m, (double)z[b * C + c]);
        for (size_t c = 0; c < C; c++)
            sum += (p[b * C + c] = exp((double)z[b * C + c] - m));
        for (size_t c = 0; c < C; c++)
            p[b * C + c] /= sum;
    }
}

/* Euclidean distances of n points X (n×d) into D (n×n). */
static void euclid(const double *X, size_t n, size_t d, double *D)
{
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++) {
            double s = 0;
            for (size_t k = 0; k < d; k++) {
                double t = X[a * d + k] - X[b * d + k];
                s += t * t;
            }
            D[a * n + b] = a == b ? 0.0 : sqrt(s);
        }
}

/* HDBSCAN of D (n×n) with the ports' sizes, shrunk for small n. */
static void cluster(const double *D, size_t n, int allow_single, int *labels, ft_ws_t *ws)
{
    size_t mcs = n < DS_MCS ? n : DS_MCS, ms = n - 1 < DS_MIN_SAMPLES ? n - 1 : DS_MIN_SAMPLES;
    ft_hdbscan(D, n, mcs, ms, allow_single, labels, ws);
}

/* acc (n×n) += w × the 0/1 distance of a clustering: 0 within a cluster (noise points
 * are each their own), else 1. */
static void add_cluster_dists(const int *lab, size_t n, double w, double *acc)
{
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++)
            acc[a * n + b] += a == b || (lab[a] == lab[b] && lab[a] != -1) ? 0.0 : w;
}

static int ds_aggregate(void *state, const ft_defense_input_t *in, float *out,
                        ft_defense_decision_t *dec, void *workspace)
{
    const deepsight_t *s = state;
    const ft_defense_probe_t *p = in->probe;
    size_t K = in->K, N = in->N;
    if (!p || !p->run || !p->noise)
        return ft_error_set(FT_EINVAL, "deepsight: no model probe given (it runs the models "
                                       "on noise inputs at the server)");
    size_t C = p->num_classes, D = p->feat_dim, I = p->in_dim, B = batch_of(p);
    if (C < 2 || p->head_b + C > N || p->head_w + C * D > N)
        return ft_error_set(FT_EINVAL,
                            "deepsight: the probe's classifier (%zu classes at %zu, "
                            "%zu) lies outside the %zu parameters",
                            C, p->head_w, p->head_b, N);
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, ds_ws(K, N) + ds_probe_ws(K, p));
    uint8_t *fin = ft_ws_take(&ws, K);
    uint8_t *kept = ft_ws_take(&ws, K);
    uint8_t *susp = ft_ws_take(&ws, K);
    const float **rows = ft_ws_take(&ws, K * sizeof(const float *));
    double *te = ft_ws_take(&ws, K * sizeof(double));
    double *nrm = ft_ws_take(&ws, K * sizeof(double));
    double *tmp = ft_ws_take(&ws, K * sizeof(double));
    double *clip = ft_ws_take(&ws, K * sizeof(double));
    double *w = ft_ws_take(&ws, K * sizeof(double));
    double *bias = ft_ws_take(&ws, K * sizeof(double)); /* scratch: cosine norms */
    int *labels = ft_ws_take(&ws, K * sizeof(int));
    int *rowof = ft_ws_take(&ws, K * sizeof(int));
    double *Dm = ft_ws_take(&ws, K * K * sizeof(double));
    double *Dd = ft_ws_take(&ws, K * K * sizeof(double));
    double *Mdd = ft_ws_take(&ws, K * K * sizeof(double));
    double *M = ft_ws_take(&ws, K * K * sizeof(double));
    double *neup = ft_ws_take(&ws, K * C * sizeof(double));
    double *dbias = ft_ws_take(&ws, K * C * sizeof(double));
    double *ddif = ft_ws_take(&ws, DS_MAX_SEEDS * K * C * sizeof(double));
    float *x = ft_ws_take(&ws, B * I * sizeof(float));
    float *z = ft_ws_take(&ws, B * C * sizeof(float));
    double *pg = ft_ws_take(&ws, B * C * sizeof(double));

    ft_rows_finite(in->updates, K, N, fin);
    /* 1. NEUPs and threshold exceedings of the output layer's update */
    double xi = fmax(0.01, 1.0 / (double)C);
    for (size_t i = 0; i < K; i++) {
        if (!fin[i])
            continue;
        const float *u = in->updates + i * N;
        double tot = 0, mx = 0;
        for (size_t c = 0; c < C; c++) {
            double e = fabs((double)u[p->head_b + c]);
            for (size_t k = 0; k < D; k++)
                e += fabs((double)u[p->head_w + c * D + k]);
            neup[i * C + c] = e * e;
            dbias[i * C + c] = u[p->head_b + c];
            tot += e * e;
        }
        for (size_t c = 0; c < C; c++) {
            neup[i * C + c] = tot > 0 && isfinite(tot) ? neup[i * C + c] / tot : 1.0 / (double)C;
            mx = fmax(mx, neup[i * C + c]);
        }
        te[i] = 0;
        for (size_t c = 0; c < C; c++)
            te[i] += neup[i * C + c] > xi * mx;
        fin[i] = isfinite(tot) != 0;
    }
    /* 2. DDifs: noise batch by noise batch, the global model's probabilities once */
    for (size_t t = 0; t < s->seeds; t++) {
        double *dd = ddif + t * K * C;
        for (size_t q = 0; q < K * C; q++)
            dd[q] = 0;
        for (size_t first = 0; first < s->samples; first += B) {
            size_t nb = s->samples - first < B ? s->samples - first : B;
            p->noise(p->ctx, (uint32_t)t, first, nb, x);
            int rc = p->run(p->ctx, in->global, NULL, x, nb, z, NULL);
            if (rc != FT_OK)
                return rc;
            softmax(z, nb, C, pg);
            for (size_t i = 0; i < K; i++) {
                if (!fin[i])
                    continue;
                if ((rc = p->run(p->ctx, in->global, in->updates + i * N, x, nb, z, NULL)) != FT_OK)
                    return rc;
                /* the local model's softmax, sample by sample */
                for (size_t b = 0; b < nb; b++) {
                    double m = -INFINITY, sum = 0;
                    for (size_t c = 0; c < C; c++)
                        m = fmax(m, (double)z[b * C + c]);
                    for (size_t c = 0; c < C; c++)
                        sum += exp((double)z[b * C + c] - m);
                    for (size_t c = 0; c < C; c++)
                        dd[i * C + c] +=
                            exp((double)z[b * C + c] - m) / sum / (pg[b * C + c] + 1e-30);
                }
            }
        }
        for (size_t i = 0; i < K; i++)
            for (size_t c = 0; c < C && fin[i]; c++) {
                dd[i * C + c] /= (double)s->samples;
                fin[i] = isfinite(dd[i * C + c]) != 0;
            }
    }
    /* the usable rows, compacted: statistics of row r = client rowof[r] */
    size_t n = 0;
    for (size_t i = 0; i < K; i++)
        if (fin[i]) {
            rows[n] = in->updates + i * N;
            rowof[n++] = (int)i;
        }
    if (n == 0)
        return ft_error_set(FT_EINVAL, "deepsight: no update is finite");
    for (size_t r = 0; r < n; r++) {
        size_t i = (size_t)rowof[r];
        tmp[r] = te[i];
        for (size_t c = 0; c < C; c++) {
            neup[r * C + c] = neup[i * C + c];
            dbias[r * C + c] = dbias[i * C + c];
            for (size_t t = 0; t < s->seeds; t++)
                ddif[(t * K + r) * C + c] = ddif[(t * K + i) * C + c];
        }
        te[r] = tmp[r];
    }
    double bound = ft_median_d(tmp, n) / 2;
    for (size_t r = 0; r < n; r++)
        susp[r] = te[r] <= bound;

    /* 3. ensemble clustering */
    if (n >= 2) {
        for (size_t q = 0; q < n * n; q++)
            M[q] = Mdd[q] = 0;
        for (size_t t = 0; t < s->seeds; t++) {
            euclid(ddif + t * K * C, n, C, Dd);
            cluster(Dd, n, 0, labels, &ws);
            add_cluster_dists(labels, n, 1.0 / (double)s->seeds, Mdd);
        }
        euclid(neup, n, C, Dm);
        cluster(Dm, n, 0, labels, &ws);
        add_cluster_dists(labels, n, 1.0 / 3, M);
        /* cosine distances of the bias updates (sklearn: a zero vector at distance 1) */
        for (size_t a = 0; a < n; a++) {
            double s2 = 0;
            for (size_t c = 0; c < C; c++)
                s2 += dbias[a * C + c] * dbias[a * C + c];
            bias[a] = sqrt(s2);
        }
        for (size_t a = 0; a < n; a++)
            for (size_t b = 0; b < n; b++) {
                double dot = 0;
                for (size_t c = 0; c < C; c++)
                    dot += dbias[a * C + c] * dbias[b * C + c];
                double den = bias[a] * bias[b];
                double d = den > 0 ? 1.0 - dot / den : 1.0;
                Dm[a * n + b] = a == b ? 0.0 : fmin(fmax(d, 0.0), 2.0);
            }
        cluster(Dm, n, 0, labels, &ws);
        add_cluster_dists(labels, n, 1.0 / 3, M);
        for (size_t q = 0; q < n * n; q++)
            M[q] += Mdd[q] / 3;
        cluster(M, n, 1, labels, &ws);
    } else {
        labels[0] = 0;
    }

    /* 4. labelled-cluster voting: tmp[c] suspicious members, w[c] members of cluster c */
    for (size_t r = 0; r < n; r++)
        tmp[r] = w[r] = 0;
    for (size_t r = 0; r < n; r++)
        if (labels[r] >= 0) {
            tmp[labels[r]] += susp[r];
            w[labels[r]] += 1;
        }
    /* 5. clipping at the median norm of the finite updates */
    for (size_t r = 0; r < n; r++)
        nrm[r] = sqrt(ft_sumsq(rows[r], N));
    for (size_t r = 0; r < n; r++)
        bias[r] = nrm[r];
    double S = ft_median_d(bias, n);
    ft_decisions_init(dec, K, FT_DECISION_KEPT);
    for (size_t i = 0; i < K; i++) {
        kept[i] = 0;
        clip[i] = 1;
        dec[i].score = -1;
    }
    for (size_t r = 0; r < n; r++) {
        size_t i = (size_t)rowof[r];
        int l = labels[r];
        dec[i].score = (float)l;
        kept[i] = l >= 0 && tmp[l] < s->tau * w[l];
        clip[i] = nrm[r] > S ? S / nrm[r] : 1.0;
    }
    return ft_select_mean(in, kept, clip, out, dec, w);
}

const ft_defense_t ft_defense_deepsight = {
    .name = "deepsight",
    .cite = "Rieger et al. NDSS 2022 Alg. 1 (DeepSight): NEUPs and threshold exceedings, DDifs "
            "on noise inputs, HDBSCAN ensemble clustering, labelled-cluster voting (tau), "
            "clipping at the median norm",
    .check_config = ds_check,
    .create = ds_create,
    .destroy = ft_defense_free_state,
    .workspace_size = ds_ws,
    .aggregate = ds_aggregate,
    .selects = 1,
    .needs_probe = FT_PROBE_MODEL,
    .probe_workspace_size = ds_probe_ws,
};
