/* fldetector: Zhang, Cao, Jia and Gong, "FLDetector: Defending Federated Learning
 * Against Model Poisoning Attacks via Detecting Malicious Clients", KDD 2022,
 * Algorithm 1; reference code zaixizhang/FLDetector, ported from FLPoison
 * aggregators/fldetector.py.
 *
 * Each round t the server predicts every client's update from its previous one:
 * ĝ_i^t = g_i^{t-1} + Ĥ^t (w^t - w^{t-1}), with Ĥ^t v the L-BFGS estimate
 * (ft_lbfgs_hvp) from the last N_w pairs (Δw, Δg) of the global model's steps (Δw =
 * the aggregate of a round, Δg = its change from the previous aggregate, as FLPoison
 * stores them) and v = the last aggregate. The suspicious score of a client is
 * d_i = ||ĝ_i - g_i|| normalised to sum 1 over the round; its mean over the last N_w
 * rounds is clustered: if the gap statistic (FLPoison's: inertia, 20 uniform
 * reference sets, k <= 10; ft_cluster.h) finds k >= 2 clusters, 1-D 2-means splits the
 * clients and those of the cluster with the larger mean score are dropped. The kept
 * updates are averaged (sample-weighted). Scores start once t > defense.fld_start +
 * N_w (N_w = defense.fld_window; FLPoison: start 50, window 10); detection once N_w + 1
 * rounds were scored.
 *
 * Departures: FLPoison's gap statistic returns k + 1 for the gap rule's k (so it
 * always finds >= 2 clusters and drops a cluster every round); the paper's rule is
 * used here (k = 1: no attack, nobody dropped). The reference assumes every client
 * takes part in every round; here state is per client id: a client is scored in a
 * round only if it sent an update in the round before, and its window mean is over
 * the rounds it was scored (a client never scored is not clustered and is kept).
 *
 * State (checkpointed by state_save / state_load, so a --resume continues the same
 * windows): the (Δw, Δg) ring, the last aggregate, each client's last update and the
 * round it came from, and each client's score ring. NaN/Inf rows are dropped and not
 * remembered. Decisions: dropped or kept with weight = share; score = the window
 * mean suspicious score (0 before detection starts). */
#include "ft_alloc.h"
#include "ft_cluster.h"
#include "ft_defense.h"
#include "ft_defense_select.h"
#include "ft_defense_util.h"
#include "ft_error.h"
#include "ft_linalg.h"

#include <math.h>
#include <string.h>

#define FLD_KMAX 10 /* FLPoison's K_max */
#define FLD_B    20 /* its num_sampling */
#define FLD_MAXW 64 /* most window rounds */

static const uint8_t fld_magic[8] = {'F', 'T', 'F', 'L', 'D', 'v', '1', 0};

typedef struct {
    size_t w;      /* defense.fld_window: N_w */
    int64_t start; /* defense.fld_start */
    size_t N;      /* parameters */
    size_t nc;     /* clients (ids < nc) */
    size_t max_k;  /* most updates per round */
    /* -- state saved in checkpoints, from here -- */
    uint64_t hist_n;     /* (Δw, Δg) pairs held, <= w */
    uint64_t hist_head;  /* ring slot of the next pair */
    uint64_t scored;     /* rounds in which scores were computed */
    uint64_t have_last;  /* last_agg holds an aggregate */
    float *S;            /* w×N: Δw ring */
    float *Y;            /* w×N: Δg ring */
    float *last_agg;     /* N: the last aggregate */
    float *last_upd;     /* nc×N: each client's last finite update */
    int64_t *last_round; /* nc: the round of last_upd (-1: none) */
    double *score;       /* w×nc: score ring (slot = scored % w) */
    uint8_t *valid;      /* w×nc: the slot holds a score of that client */
    /* -- scratch, not state -- */
    float *hvp; /* N */
} fld_t;

static int fld_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    int rc = ft_check_int_range(d->src, "defense.fld_window", d->fld_window, 1, FLD_MAXW, NULL);
    if (rc == FT_OK)
        rc = ft_check_int_range(d->src, "defense.fld_start", d->fld_start, 0, INT64_C(1) << 40,
                                NULL);
    return rc;
}

static void fld_destroy(void **state)
{
    fld_t *s = state ? *state : NULL;
    if (!s)
        return;
    ft_free(s->S);
    ft_free(s->Y);
    ft_free(s->last_agg);
    ft_free(s->last_upd);
    ft_free(s->last_round);
    ft_free(s->score);
    ft_free(s->valid);
    ft_free(s->hvp);
    ft_free(s);
    *state = NULL;
}

static void fld_reset(fld_t *s)
{
    s->hist_n = s->hist_head = s->scored = s->have_last = 0;
    for (size_t c = 0; c < s->nc; c++)
        s->last_round[c] = -1;
    memset(s->valid, 0, s->w * s->nc);
}

static int fld_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                      void **state)
{
    fld_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "fldetector: out of memory");
    s->w = (size_t)d->fld_window;
    s->start = d->fld_start;
    s->N = N;
    s->nc = num_clients;
    s->max_k = max_k;
    size_t n1 = N ? N : 1, nc = num_clients ? num_clients : 1;
    s->S = ft_malloc(s->w * n1 * sizeof(float));
    s->Y = ft_malloc(s->w * n1 * sizeof(float));
    s->last_agg = ft_calloc(n1, sizeof(float));
    s->last_upd = ft_malloc(nc * n1 * sizeof(float));
    s->last_round = ft_malloc(nc * sizeof(int64_t));
    s->score = ft_calloc(s->w * nc, sizeof(double));
    s->valid = ft_calloc(s->w * nc, 1);
    s->hvp = ft_malloc(n1 * sizeof(float));
    if (!s->S || !s->Y || !s->last_agg || !s->last_upd || !s->last_round || !s->score ||
        !s->valid || !s->hvp) {
        void *p = s;
        fld_destroy(&p);
        return ft_error_set(FT_ENOMEM, "fldetector: out of memory for %zu clients x %zu", nc, n1);
    }
    fld_reset(s);
    *state = s;
    return FT_OK;
}

static size_t fld_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + 2 * ft_ws_bytes(max_k) + 5 * ft_ws_bytes(max_k * sizeof(double)) +
           ft_ws_bytes(max_k * sizeof(int)) + 2 * ft_ws_bytes(FLD_MAXW * sizeof(float *)) +
           ft_ws_bytes(FT_LBFGS_WORK(FLD_MAXW) * sizeof(double)) + ft_gap_ws(max_k, 1);
}

static int fld_aggregate(void *state, const ft_defense_input_t *in, float *out,
                         ft_defense_decision_t *dec, void *workspace)
{
    fld_t *s = state;
    size_t K = in->K, N = in->N, w = s->w;
    if (N != s->N)
        return ft_error_set(FT_EINVAL, "fldetector: %zu parameters, created for %zu", N, s->N);
    for (size_t i = 0; i < K; i++)
        if (in->ids[i] >= s->nc)
            return ft_error_set(FT_EINVAL, "fldetector: client id %u >= %zu clients", in->ids[i],
                                s->nc);
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, fld_ws(K, N));
    uint8_t *fin = ft_ws_take(&ws, K);
    uint8_t *kept = ft_ws_take(&ws, K);
    double *d = ft_ws_take(&ws, K * sizeof(double));
    double *mean = ft_ws_take(&ws, K * sizeof(double));
    double *x = ft_ws_take(&ws, K * sizeof(double));
    double *tmp = ft_ws_take(&ws, K * sizeof(double));
    double *wts = ft_ws_take(&ws, K * sizeof(double));
    int *lab = ft_ws_take(&ws, K * sizeof(int));
    const float **Sp = ft_ws_take(&ws, FLD_MAXW * sizeof(float *));
    const float **Yp = ft_ws_take(&ws, FLD_MAXW * sizeof(float *));
    double *lw = ft_ws_take(&ws, FT_LBFGS_WORK(FLD_MAXW) * sizeof(double));
    ft_rows_finite(in->updates, K, N, fin);
    ft_decisions_init(dec, K, FT_DECISION_KEPT);
    for (size_t i = 0; i < K; i++)
        kept[i] = fin[i];

    /* 1. suspicious scores from the L-BFGS prediction */
    if ((int64_t)in->round > s->start + (int64_t)w && s->hist_n == w) {
        for (size_t a = 0; a < w; a++) { /* oldest first */
            size_t slot = (s->hist_head + a) % w;
            Sp[a] = s->S + slot * N;
            Yp[a] = s->Y + slot * N;
        }
        int rc = ft_lbfgs_hvp(Sp, Yp, w, N, s->last_agg, s->hvp, lw);
        if (rc == FT_OK) {
            size_t slot = s->scored % w;
            double total = 0;
            for (size_t c = 0; c < s->nc; c++)
                s->valid[slot * s->nc + c] = 0;
            for (size_t i = 0; i < K; i++) {
                uint32_t c = in->ids[i];
                d[i] = -1;
                if (!fin[i] || s->last_round[c] != (int64_t)in->round - 1)
                    continue;
                const float *g = in->updates + i * N, *p = s->last_upd + (size_t)c * N;
                double e2 = 0;
                for (size_t j = 0; j < N; j++) {
                    double e = (double)p[j] + s->hvp[j] - g[j];
                    e2 += e * e;
                }
                d[i] = sqrt(e2);
                total += d[i];
            }
            for (size_t i = 0; i < K; i++)
                if (d[i] >= 0) {
                    size_t c = in->ids[i];
                    s->score[slot * s->nc + c] = total > 0 ? d[i] / total : 0.0;
                    s->valid[slot * s->nc + c] = 1;
                }
            s->scored++;
        }
    }

    /* 2. detection over the window means */
    if (s->scored > w) {
        size_t n = 0;
        for (size_t i = 0; i < K; i++) {
            size_t c = in->ids[i], m = 0;
            mean[i] = 0;
            for (size_t a = 0; a < w; a++)
                if (s->valid[a * s->nc + c]) {
                    mean[i] += s->score[a * s->nc + c];
                    m++;
                }
            mean[i] = m ? mean[i] / (double)m : -1;
            dec[i].score = m ? (float)mean[i] : 0.0f;
            if (m && fin[i])
                x[n++] = mean[i];
        }
        size_t kmax = n < FLD_KMAX ? n : FLD_KMAX;
        if (n >= 2 &&
            ft_gap_statistic(x, n, 1, kmax, FLD_B, FT_GAP_FLDETECTOR, in->rng, &ws) >= 2) {
            ft_two_means_1d(x, n, lab, tmp);
            size_t q = 0;
            for (size_t i = 0; i < K; i++)
                if (mean[i] >= 0 && fin[i]) {
                    if (lab[q])
                        kept[i] = 0;
                    q++;
                }
        }
    }
    int rc = ft_select_mean(in, kept, NULL, out, dec, wts);
    if (rc != FT_OK)
        return rc;

    /* 3. remember: the step pair, the aggregate, each client's update */
    size_t slot = s->hist_head;
    for (size_t j = 0; j < N; j++) {
        s->S[slot * N + j] = out[j];
        s->Y[slot * N + j] = out[j] - (s->have_last ? s->last_agg[j] : 0.0f);
    }
    s->hist_head = (s->hist_head + 1) % w;
    s->hist_n = s->hist_n < w ? s->hist_n + 1 : w;
    memcpy(s->last_agg, out, N * sizeof(float));
    s->have_last = 1;
    for (size_t i = 0; i < K; i++)
        if (fin[i]) {
            memcpy(s->last_upd + (size_t)in->ids[i] * N, in->updates + i * N, N * sizeof(float));
            s->last_round[in->ids[i]] = in->round;
        }
    return FT_OK;
}

/* Bytes of the saved state: header, then the arrays in field order. */
static size_t fld_bytes(const fld_t *s)
{
    return sizeof fld_magic + 7 * sizeof(uint64_t) + 2 * s->w * s->N * sizeof(float) +
           s->N * sizeof(float) + s->nc * s->N * sizeof(float) + s->nc * sizeof(int64_t) +
           s->w * s->nc * (sizeof(double) + 1);
}

static uint8_t *put(uint8_t *p, const void *src, size_t n)
{
    memcpy(p, src, n);
    return p + n;
}

static const uint8_t *get(void *dst, const uint8_t *p, size_t n)
{
    memcpy(dst, p, n);
    return p + n;
}

static size_t fld_save(const void *state, uint8_t *buf, size_t cap)
{
    const fld_t *s = state;
    size_t need = fld_bytes(s);
    if (!buf || cap < need)
        return need;
    uint8_t *p = buf;
    uint64_t hdr[7] = {s->w, s->N, s->nc, s->hist_n, s->hist_head, s->scored, s->have_last};
    p = put(p, fld_magic, sizeof fld_magic);
    p = put(p, hdr, sizeof hdr);
    p = put(p, s->S, s->w * s->N * sizeof(float));
    p = put(p, s->Y, s->w * s->N * sizeof(float));
    p = put(p, s->last_agg, s->N * sizeof(float));
    p = put(p, s->last_upd, s->nc * s->N * sizeof(float));
    p = put(p, s->last_round, s->nc * sizeof(int64_t));
    p = put(p, s->score, s->w * s->nc * sizeof(double));
    p = put(p, s->valid, s->w * s->nc);
    return need;
}

static int fld_load(void *state, const uint8_t *buf, size_t len)
{
    fld_t *s = state;
    uint64_t hdr[7];
    if (len != fld_bytes(s) || memcmp(buf, fld_magic, sizeof fld_magic) != 0)
        return ft_error_set(FT_EFORMAT,
                            "fldetector state: bad header or size (%zu bytes, "
                            "expected %zu)",
                            len, fld_bytes(s));
    const uint8_t *p = buf + sizeof fld_magic;
    p = get(hdr, p, sizeof hdr);
    if (hdr[0] != s->w || hdr[1] != s->N || hdr[2] != s->nc || hdr[3] > s->w || hdr[4] >= s->w ||
        hdr[6] > 1)
        return ft_error_set(FT_EFORMAT,
                            "fldetector state: for window %llu, %llu parameters, %llu clients; "
                            "expected %zu, %zu, %zu",
                            (unsigned long long)hdr[0], (unsigned long long)hdr[1],
                            (unsigned long long)hdr[2], s->w, s->N, s->nc);
    const uint8_t *q = p + (2 * s->w * s->N + s->N + s->nc * s->N) * sizeof(float);
    for (size_t c = 0; c < s->nc; c++) { /* validate before changing anything */
        int64_t r;
        memcpy(&r, q + c * sizeof r, sizeof r);
        if (r < -1)
            return ft_error_set(FT_EFORMAT, "fldetector state: bad round %lld", (long long)r);
    }
    const uint8_t *v = q + s->nc * sizeof(int64_t) + s->w * s->nc * sizeof(double);
    for (size_t a = 0; a < s->w * s->nc; a++)
        if (v[a] > 1)
            return ft_error_set(FT_EFORMAT, "fldetector state: bad score flag");
    s->hist_n = hdr[3];
    s->hist_head = hdr[4];
    s->scored = hdr[5];
    s->have_last = hdr[6];
    p = get(s->S, p, s->w * s->N * sizeof(float));
    p = get(s->Y, p, s->w * s->N * sizeof(float));
    p = get(s->last_agg, p, s->N * sizeof(float));
    p = get(s->last_upd, p, s->nc * s->N * sizeof(float));
    p = get(s->last_round, p, s->nc * sizeof(int64_t));
    p = get(s->score, p, s->w * s->nc * sizeof(double));
    p = get(s->valid, p, s->w * s->nc);
    return FT_OK;
}

const ft_defense_t ft_defense_fldetector = {
    .name = "fldetector",
    .cite = "Zhang et al. KDD 2022 Alg. 1 (FLDetector): L-BFGS-predicted updates, suspicious "
            "scores over a window, gap statistic then 2-means removes the high-score cluster",
    .check_config = fld_check,
    .create = fld_create,
    .destroy = fld_destroy,
    .workspace_size = fld_ws,
    .aggregate = fld_aggregate,
    .state_save = fld_save,
    .state_load = fld_load,
    .selects = 1,
};
