/* dnc: Divide-and-Conquer. Shejwalkar and Houmansadr, "Manipulating the Byzantine:
 * Optimizing Model Poisoning Attacks and Defenses for Federated Learning", NDSS
 * 2021, Algorithm 2; reference code vrt1shjwlkr/NDSS21-Model-Poisoning and FLPoison
 * aggregators/dnc.py.
 *
 * niters times: draw b of the N coordinates without replacement, centre the K
 * subsampled updates on their mean, take the top right singular vector v of the
 * centred matrix, score each update by (x_i - mu)·v squared, and keep the K - c f
 * lowest scores; the updates kept in every iteration are averaged (sample-weighted,
 * as fedtail's FedAvg; the reference means them unweighted, the same for equal
 * counts). The singular vector comes from the K×K Gram matrix (ft_linalg.h):
 * score_i = λ u_i² with (λ, u) its top eigenpair. Published parameters: b = 10000,
 * niters = 5 (FLPoison: b = 0.2 N), c = 1.
 *
 * NaN/Inf: rows holding them are dropped up front (they count among the K - c f
 * removed); the rest are scored. The coordinate subsamples come from in->rng
 * (partial Fisher-Yates), so a run is reproducible; they do not depend on the
 * order of the rows. Decisions: dropped or kept with weight = share; score = the
 * row's mean outlier score over the iterations. */
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_cores.h"
#include "ft_defense_select.h"
#include "ft_defense_util.h"
#include "ft_error.h"
#include "ft_linalg.h"

#include <math.h>
#include <string.h>

typedef struct {
    size_t iters;   /* defense.dnc_iters */
    size_t b;       /* defense.dnc_b, at most N */
    double c;       /* defense.dnc_c */
    size_t f;       /* defense.f */
    size_t max_k;   /* most updates per round */
    uint32_t *perm; /* N: coordinate indices, partially shuffled per iteration */
    double *X;      /* max_k×b: one centred subsample (too large for a (max_k, N) workspace) */
} dnc_t;

/* Updates removed each iteration: floor(c f), as the reference's int(K - c f). */
static size_t dnc_removed(double c, int64_t f)
{
    return (size_t)floor(c * (double)f + 1e-9);
}

static int dnc_check(const ft_defense_cfg_t *d, size_t max_k)
{
    int rc = ft_check_int_range(d->src, "defense.dnc_iters", d->dnc_iters, 1, 1000, NULL);
    if (rc == FT_OK)
        rc = ft_check_int_range(d->src, "defense.dnc_b", d->dnc_b, 1, INT64_C(1) << 31, NULL);
    if (rc == FT_OK)
        rc = ft_check_float_range(d->src, "defense.dnc_c", d->dnc_c, 0, 1, INFINITY, 0);
    if (rc == FT_OK)
        rc = ft_check_int_range(d->src, "defense.f", d->f, 0, (int64_t)max_k, NULL);
    if (rc == FT_OK && dnc_removed(d->dnc_c, d->f) >= max_k)
        return ft_config_error(d->src, "defense.f",
                               "dnc removes floor(c f) = %zu of K = %zu updates; must leave one",
                               dnc_removed(d->dnc_c, d->f), max_k);
    return rc;
}

static void dnc_destroy(void **state)
{
    dnc_t *s = state ? *state : NULL;
    if (!s)
        return;
    ft_free(s->perm);
    ft_free(s->X);
    ft_free(s);
    *state = NULL;
}

static int dnc_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                      void **state)
{
    (void)num_clients;
    dnc_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "dnc: out of memory");
    s->iters = (size_t)d->dnc_iters;
    s->b = (size_t)d->dnc_b < N ? (size_t)d->dnc_b : N;
    s->c = d->dnc_c;
    s->f = (size_t)d->f;
    s->max_k = max_k;
    s->perm = ft_malloc((N ? N : 1) * sizeof(uint32_t));
    s->X = ft_malloc((max_k * s->b > 0 ? max_k * s->b : 1) * sizeof(double));
    if (!s->perm || !s->X) {
        void *p = s;
        dnc_destroy(&p);
        return ft_error_set(FT_ENOMEM, "dnc: out of memory for %zu x %zu subsamples", max_k,
                            (size_t)d->dnc_b);
    }
    *state = s;
    return FT_OK;
}

size_t ft_dnc_iter_ws(size_t max_k)
{
    return ft_ws_bytes(max_k * max_k * sizeof(double)) + 2 * ft_ws_bytes(max_k * sizeof(double)) +
           ft_ws_bytes(max_k) + ft_sym_top_eig_ws(max_k);
}

int ft_dnc_iter(const float *U, size_t N, const uint32_t *rows, size_t Kf, const uint32_t *cols,
                size_t b, size_t keep, size_t iters, double *X, uint8_t *kept, double *score,
                ft_ws_t *ws)
{
    ft_ws_t w = *ws; /* scratch for this iteration only */
    double *G = ft_ws_take(&w, Kf * Kf * sizeof(double));
    double *u = ft_ws_take(&w, Kf * sizeof(double));
    double *s = ft_ws_take(&w, Kf * sizeof(double));
    uint8_t *taken = ft_ws_take(&w, Kf);
    for (size_t r = 0; r < Kf; r++)
        for (size_t j = 0; j < b; j++)
            X[r * b + j] = U[(size_t)rows[r] * N + cols[j]];
    ft_center_cols(X, Kf, b);
    ft_gram_dd(X, Kf, b, G);
    double lambda;
    int rc = ft_sym_top_eig(G, Kf, 1, &lambda, u, &w);
    if (rc != FT_OK)
        return rc;
    for (size_t r = 0; r < Kf; r++)
        s[r] = fmax(lambda, 0.0) * u[r] * u[r];
    size_t k = keep < Kf ? keep : Kf;
    memset(taken, 0, Kf);
    for (size_t n = 0; n < k; n++) {
        size_t best = Kf;
        for (size_t r = 0; r < Kf; r++)
            if (!taken[r] && (best == Kf || s[r] < s[best]))
                best = r;
        taken[best] = 1;
    }
    for (size_t r = 0; r < Kf; r++) {
        if (!taken[r])
            kept[rows[r]] = 0;
        score[rows[r]] += s[r] / (double)iters;
    }
    return FT_OK;
}

static size_t dnc_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + 2 * ft_ws_bytes(max_k) + 2 * ft_ws_bytes(max_k * sizeof(double)) +
           ft_ws_bytes(max_k * sizeof(uint32_t)) + ft_dnc_iter_ws(max_k);
}

static int dnc_aggregate(void *state, const ft_defense_input_t *in, float *out,
                         ft_defense_decision_t *dec, void *workspace)
{
    dnc_t *p = state;
    size_t K = in->K, N = in->N;
    size_t b = p->b < N ? p->b : N;
    size_t removed = dnc_removed(p->c, (int64_t)p->f);
    if (removed >= K)
        return ft_error_set(FT_EINVAL, "dnc: removes %zu of K = %zu updates", removed, K);
    if (!in->rng)
        return ft_error_set(FT_EINVAL, "dnc: no random stream given for the subsamples");
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, dnc_ws(K, N));
    uint8_t *fin = ft_ws_take(&ws, K);
    uint8_t *kept = ft_ws_take(&ws, K);
    double *score = ft_ws_take(&ws, K * sizeof(double));
    double *w = ft_ws_take(&ws, K * sizeof(double));
    uint32_t *rows = ft_ws_take(&ws, K * sizeof(uint32_t));
    ft_rows_finite(in->updates, K, N, fin);
    size_t Kf = 0;
    for (size_t i = 0; i < K; i++) {
        kept[i] = fin[i];
        score[i] = 0;
        if (fin[i])
            rows[Kf++] = (uint32_t)i;
    }
    if (Kf == 0)
        return ft_error_set(FT_EINVAL, "dnc: every update holds NaN/Inf");
    for (size_t j = 0; j < N; j++)
        p->perm[j] = (uint32_t)j;
    for (size_t it = 0; it < p->iters; it++) {
        /* b draws of a partial Fisher-Yates: a uniform subset without replacement */
        for (size_t j = 0; j < b; j++) {
            size_t r = j + ft_rng_below(in->rng, (uint32_t)(N - j));
            uint32_t t = p->perm[j];
            p->perm[j] = p->perm[r];
            p->perm[r] = t;
        }
        int rc = ft_dnc_iter(in->updates, N, rows, Kf, p->perm, b, K - removed, p->iters, p->X,
                             kept, score, &ws);
        if (rc != FT_OK)
            return rc;
    }
    ft_decisions_init(dec, K, FT_DECISION_KEPT);
    for (size_t i = 0; i < K; i++)
        dec[i].score = fin[i] ? (float)score[i] : INFINITY;
    return ft_select_mean(in, kept, NULL, out, dec, w);
}

const ft_defense_t ft_defense_dnc = {
    .name = "dnc",
    .cite = "Shejwalkar & Houmansadr NDSS 2021 Alg. 2 (Divide-and-Conquer): niters subsamples, "
            "top singular vector of the centred updates, drop the c f highest scores, "
            "intersect, average",
    .check_config = dnc_check,
    .create = dnc_create,
    .destroy = dnc_destroy,
    .workspace_size = dnc_ws,
    .aggregate = dnc_aggregate,
    .selects = 1,
};
