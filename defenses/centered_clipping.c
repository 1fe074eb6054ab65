/* centered-clipping: Karimireddy, He, Jaggi, "Learning from History for Byzantine
 * Robust Optimization", ICML 2021, Eq. (CC) / Algorithm 2:
 *   v <- v + (1/K) sum_i (x_i - v) min(1, tau / ||x_i - v||), repeated L times
 * (tau = defense.tau, L = defense.cc_iters). As in the authors' code
 * (epfml/byzantine-robust-optimizer, Clipping), v starts at the previous round's
 * aggregate (0 in the first round) and the result becomes the next round's start;
 * that v is the rule's state and is saved in checkpoints. Unweighted (1/K), as in
 * the paper.
 *
 * NaN/Inf: an update whose distance to v is not finite gets clip factor 0 (it is
 * dropped; the 1/K stays). Each iteration is two sweeps over the updates: distances,
 * then the clipped step, accumulated in double. Report: clip_factor and score =
 * ||x_i - v|| of the last iteration; KEPT if unclipped, CLIPPED if clipped, DROPPED
 * with weight 0. Weight: one iteration is v' = (1 - sum_i c_i/K) v + sum_i (c_i/K) x_i,
 * so after L of them the aggregate is b_0 v_0 + sum_i b_i x_i with b_i <- (1 - sum_k
 * c_k/K) b_i + c_i/K; weight_i = b_i, and 1 - sum_i b_i is the previous centre's
 * share (the rule's momentum), so the weights sum to less than 1 when it clips.
 * It does not select: no TPR/FPR. */
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>
#include <string.h>

typedef struct {
    double tau; /* clipping radius (defense.tau) */
    int iters;  /* L (defense.cc_iters) */
    size_t N;   /* parameters */
    float *v;   /* N: the centre, i.e. last round's aggregate */
} cc_t;

static const char cc_magic[8] = {'F', 'T', 'C', 'C', 'M', 'O', 'M', '1'};

enum { CC_BLOCK = 1024 };

static int cc_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    int rc = ft_check_float_range(d->src, "defense.tau", d->tau, 0, 0, INFINITY, 0);
    if (rc == FT_OK)
        rc = ft_check_int_range(d->src, "defense.cc_iters", d->cc_iters, 1, 1000000, NULL);
    return rc;
}

static void cc_destroy(void **state)
{
    if (!state || !*state)
        return;
    cc_t *s = *state;
    ft_free(s->v);
    ft_free(s);
    *state = NULL;
}

static int cc_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                     void **state)
{
    (void)max_k;
    (void)num_clients;
    cc_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "centered-clipping: out of memory");
    s->tau = d->tau;
    s->iters = (int)d->cc_iters;
    s->N = N;
    s->v = ft_calloc(N ? N : 1, sizeof(float));
    if (!s->v) {
        cc_destroy((void **)&s);
        return ft_error_set(FT_ENOMEM, "centered-clipping: out of memory");
    }
    *state = s;
    return FT_OK;
}

static size_t cc_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + 3 * ft_ws_bytes(max_k * sizeof(double));
}

static int cc_aggregate(void *state, const ft_defense_input_t *in, float *out,
                        ft_defense_decision_t *dec, void *workspace)
{
    cc_t *s = state;
    size_t K = in->K, N = in->N;
    if (N != s->N)
        return ft_error_set(FT_EINVAL, "centered-clipping: N = %zu, created for %zu", N, s->N);
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, cc_ws(K, N));
    double *dist = ft_ws_take(&ws, K * sizeof(double));
    double *c = ft_ws_take(&ws, K * sizeof(double));
    double *b = ft_ws_take(&ws, K * sizeof(double));
    const float *U = in->updates;
    float *v = s->v;
    for (size_t i = 0; i < K; i++)
        b[i] = 0;
    for (int l = 0; l < s->iters; l++) {
        for (size_t i = 0; i < K; i++)
            dist[i] = sqrt(ft_dist2(U + i * N, v, N));
        double keep = 1; /* v_{l+1} = keep v_l + sum_i (c_i / K) x_i */
        for (size_t i = 0; i < K; i++) {
            c[i] = !isfinite(dist[i]) ? 0.0 : (dist[i] > s->tau ? s->tau / dist[i] : 1.0);
            keep -= c[i] / (double)K;
        }
        for (size_t i = 0; i < K; i++)
            b[i] = keep * b[i] + c[i] / (double)K;
        double acc[CC_BLOCK];
        for (size_t j0 = 0; j0 < N; j0 += CC_BLOCK) {
            size_t nb = N - j0 < CC_BLOCK ? N - j0 : CC_BLOCK;
            memset(acc, 0, nb * sizeof *acc);
            for (size_t i = 0; i < K; i++) {
                if (c[i] == 0)
                    continue;
                const float *x = U + i * N + j0;
                for (size_t j = 0; j < nb; j++)
                    acc[j] += c[i] * ((double)x[j] - v[j0 + j]);
            }
            for (size_t j = 0; j < nb; j++)
                v[j0 + j] = (float)(v[j0 + j] + acc[j] / (double)K);
        }
    }
    memcpy(out, v, N * sizeof *out);
    ft_decisions_init(dec, K, FT_DECISION_KEPT);
    for (size_t i = 0; i < K; i++) {
        dec[i].clip_factor = (float)c[i];
        dec[i].score = (float)dist[i];
        dec[i].weight = (float)b[i];
        dec[i].contrib_norm = b[i] != 0 ? (float)(b[i] * sqrt(ft_sumsq(U + i * N, N))) : 0.0f;
        if (b[i] == 0)
            dec[i].decision = FT_DECISION_DROPPED;
        else if (c[i] < 1)
            dec[i].decision = FT_DECISION_CLIPPED;
    }
    return FT_OK;
}

/* Checkpoint layout: magic, u64 N, N float32. */
static size_t cc_save(const void *state, uint8_t *buf, size_t cap)
{
    const cc_t *s = state;
    size_t need = sizeof cc_magic + sizeof(uint64_t) + s->N * sizeof(float);
    if (!buf || cap < need)
        return need;
    uint64_t n = s->N;
    memcpy(buf, cc_magic, sizeof cc_magic);
    memcpy(buf + sizeof cc_magic, &n, sizeof n);
    memcpy(buf + sizeof cc_magic + sizeof n, s->v, s->N * sizeof(float));
    return need;
}

static int cc_load(void *state, const uint8_t *buf, size_t len)
{
    cc_t *s = state;
    uint64_t n;
    if (len < sizeof cc_magic + sizeof n || memcmp(buf, cc_magic, sizeof cc_magic) != 0)
        return ft_error_set(FT_EFORMAT, "centered-clipping state: bad header");
    memcpy(&n, buf + sizeof cc_magic, sizeof n);
    if (n != s->N || len != sizeof cc_magic + sizeof n + s->N * sizeof(float))
        return ft_error_set(FT_EFORMAT, "centered-clipping state: for N = %llu, expected %zu",
                            (unsigned long long)n, s->N);
    memcpy(s->v, buf + sizeof cc_magic + sizeof n, s->N * sizeof(float));
    return FT_OK;
}

const ft_defense_t ft_defense_centered_clipping = {
    .name = "centered-clipping",
    .cite = "Karimireddy et al. ICML 2021, Alg. 2: v <- v + (1/K) sum (x_i - v) "
            "min(1, tau/||x_i - v||), L times, v from the previous round",
    .check_config = cc_check,
    .create = cc_create,
    .destroy = cc_destroy,
    .workspace_size = cc_ws,
    .aggregate = cc_aggregate,
    .state_save = cc_save,
    .state_load = cc_load,
};
