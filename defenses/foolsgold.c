/* foolsgold: Fung, Yoon, Beschastnikh, "The Limitations of Federated Learning in
 * Sybil Settings", RAID 2020, Algorithm 1 (and the authors' reference code).
 *
 * Each client's history H_i is the sum of all its updates so far (kept across rounds,
 * saved in checkpoints). Per round, over the clients of the round:
 *   cs_ij = cos(H_i, H_j) (i != j),  v_i = max_j cs_ij
 *   pardoning: cs_ij <- cs_ij * v_i / v_j  if v_j > v_i
 *   alpha_i = 1 - max_j cs_ij, clipped to [0, 1];  alpha <- alpha / max(alpha)
 *   alpha_i = 0.99 where alpha_i = 1;  alpha_i = kappa (ln(alpha_i / (1 - alpha_i)) + 0.5)
 *   clipped to [0, 1] (kappa = defense.fg_confidence; the reference code uses 1).
 * The aggregate is sum_i alpha_i n_i Δ_i / sum_i alpha_i n_i: FedAvg when nobody looks
 * like a sybil (the reference code takes a learning-rate step along sum alpha_i Δ_i;
 * normalising keeps the delta on FedAvg's scale).
 *
 * Cosines come from one Gram matrix of the round's histories (ft_gram, panel-copied
 * GEMM). Choices where the paper is silent: if every alpha is 0 before rescaling
 * (all histories identical) every client gets alpha = 1 instead of 0/0; a client
 * with a zero history has cosine 0 to everyone; an update holding NaN/Inf is dropped
 * and not added to the history (it would poison it for good). FoolsGold targets
 * sybils, not magnitude: one huge update passes with its alpha. Memory: the history
 * is num_clients × N floats, zero pages from calloc (only clients that took part
 * use memory). Report: score = max_j cs_ij after pardoning, weight = share. It
 * does not select (ft_defense.h): alpha is a per-client learning rate (the paper's
 * Alg. 1), a weight, not a verdict; alpha = 0 shows as DROPPED with weight 0. */
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>
#include <string.h>

typedef struct {
    double kappa;       /* confidence of the logit (defense.fg_confidence) */
    size_t num_clients; /* history rows */
    size_t N;           /* parameters */
    float *history;     /* num_clients×N: sum of each client's updates */
    uint8_t *seen;      /* num_clients: 1 once the client's history is nonzero */
} fg_t;

static const char fg_magic[8] = {'F', 'T', 'F', 'G', 'H', 'I', 'S', '1'};

/* federation.num_clients, the history rows, needs no check here: ft_experiment_read
 * keeps it in [1, 10^6], so every client id fits the uint32 ids. */
static int fg_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    return ft_check_float_range(d->src, "defense.fg_confidence", d->fg_confidence, 0, 0, INFINITY,
                                0);
}

static void fg_destroy(void **state)
{
    if (!state || !*state)
        return;
    fg_t *s = *state;
    ft_free(s->history);
    ft_free(s->seen);
    ft_free(s);
    *state = NULL;
}

static int fg_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                     void **state)
{
    (void)max_k;
    fg_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "foolsgold: out of memory");
    s->kappa = d->fg_confidence;
    s->num_clients = num_clients;
    s->N = N;
    s->history = ft_calloc(num_clients * N, sizeof(float));
    s->seen = ft_calloc(num_clients ? num_clients : 1, 1);
    if (!s->history || !s->seen) {
        fg_destroy((void **)&s);
        return ft_error_set(FT_ENOMEM, "foolsgold: out of memory for %zu client histories of %zu",
                            num_clients, N);
    }
    *state = s;
    return FT_OK;
}

static size_t fg_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + ft_ws_bytes(max_k * sizeof(float *)) +
           ft_ws_bytes(max_k * sizeof(size_t)) + 2 * ft_ws_bytes(max_k * max_k * sizeof(double)) +
           4 * ft_ws_bytes(max_k * sizeof(double)) + ft_gram_ws(max_k);
}

static int fg_aggregate(void *state, const ft_defense_input_t *in, float *out,
                        ft_defense_decision_t *dec, void *workspace)
{
    fg_t *s = state;
    size_t K = in->K, N = in->N;
    if (!in->ids)
        return ft_error_set(FT_EINVAL, "foolsgold: client ids are required");
    for (size_t i = 0; i < K; i++)
        if (in->ids[i] >= s->num_clients)
            return ft_error_set(FT_EINVAL, "foolsgold: client id %u >= num_clients %zu", in->ids[i],
                                s->num_clients);
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, fg_ws(K, N));
    const float **rows = ft_ws_take(&ws, K * sizeof(float *));
    size_t *idx = ft_ws_take(&ws, K * sizeof(size_t));
    double *G = ft_ws_take(&ws, K * K * sizeof(double));
    double *cs = ft_ws_take(&ws, K * K * sizeof(double));
    double *norms2 = ft_ws_take(&ws, K * sizeof(double));
    double *v = ft_ws_take(&ws, K * sizeof(double));
    double *alpha = ft_ws_take(&ws, K * sizeof(double));
    double *sw = ft_ws_take(&ws, K * sizeof(double));
    int rc = ft_count_weights(in->counts, K, sw);
    if (rc != FT_OK)
        return rc;
    ft_decisions_init(dec, K, FT_DECISION_DROPPED);

    /* Finite updates join their client's history; n of them take part. */
    size_t n = 0;
    for (size_t i = 0; i < K; i++) {
        const float *x = in->updates + i * N;
        if (!isfinite(ft_sumsq(x, N))) {
            dec[i].clip_factor = 0.0f;
            continue;
        }
        float *h = s->history + (size_t)in->ids[i] * N;
        for (size_t j = 0; j < N; j++)
            h[j] += x[j];
        s->seen[in->ids[i]] = 1;
        rows[n] = h;
        idx[n++] = i;
    }
    if (n == 0)
        return ft_error_set(FT_EINVAL, "foolsgold: every update holds NaN/Inf");
    ft_gram(rows, n, N, G, norms2, &ws);

    for (size_t a = 0; a < n; a++) {
        v[a] = n > 1 ? -INFINITY : 0;
        for (size_t b = 0; b < n; b++) {
            double den = sqrt(norms2[a]) * sqrt(norms2[b]);
            double c =
                a == b ? 0 : (den > 0 && isfinite(G[a * n + b] / den) ? G[a * n + b] / den : 0);
            cs[a * n + b] = c;
            if (a != b && c > v[a])
                v[a] = c;
        }
    }
    double amax = 0;
    for (size_t a = 0; a < n; a++) {
        double m = n > 1 ? -INFINITY : 0;
        for (size_t b = 0; b < n; b++) {
            if (a == b)
                continue;
            double c = cs[a * n + b];
            if (v[b] > v[a] && v[b] > 0)
                c *= v[a] / v[b]; /* pardoning */
            if (c > m)
                m = c;
        }
        dec[idx[a]].score = (float)m;
        alpha[a] = fmin(1.0, fmax(0.0, 1.0 - m));
        if (alpha[a] > amax)
            amax = alpha[a];
    }
    for (size_t a = 0; a < n; a++) {
        double w = amax > 0 ? alpha[a] / amax : 1.0;
        if (w >= 1.0)
            w = 0.99;
        w = w > 0 ? s->kappa * (log(w / (1.0 - w)) + 0.5) : 0.0;
        alpha[a] = isfinite(w) ? fmin(1.0, fmax(0.0, w)) : 0.0;
    }
    double total = 0;
    for (size_t a = 0; a < n; a++)
        total += alpha[a] * sw[idx[a]];
    double *w = v; /* reuse: per-update weights over all K */
    for (size_t i = 0; i < K; i++)
        w[i] = 0;
    if (!(total > 0)) {
        memset(out, 0, N * sizeof *out);
        return FT_OK; /* everyone looks like a sybil: no change this round */
    }
    for (size_t a = 0; a < n; a++) {
        size_t i = idx[a];
        w[i] = alpha[a] * sw[i] / total;
        dec[i].weight = (float)w[i];
        dec[i].decision = alpha[a] >= 1.0 ? FT_DECISION_KEPT
                          : alpha[a] > 0  ? FT_DECISION_REWEIGHTED
                                          : FT_DECISION_DROPPED;
    }
    ft_weighted_sum_mat(in->updates, K, N, w, out);
    ft_decisions_set_contrib(dec, K, in->updates, N);
    return FT_OK;
}

/* Checkpoint layout: magic, u64 num_clients, u64 N, u64 count of seen clients, then
 * for each seen client (ascending id): u64 id, N float32 (host order, little-endian
 * on every platform fedtail supports). */
static size_t fg_save(const void *state, uint8_t *buf, size_t cap)
{
    const fg_t *s = state;
    uint64_t seen = 0;
    for (size_t c = 0; c < s->num_clients; c++)
        seen += s->seen[c];
    size_t need = sizeof fg_magic + 3 * sizeof(uint64_t) +
                  (size_t)seen * (sizeof(uint64_t) + s->N * sizeof(float));
    if (!buf || cap < need)
        return need;
    uint8_t *p = buf;
    uint64_t hdr[3] = {s->num_clients, s->N, seen};
    memcpy(p, fg_magic, sizeof fg_magic);
    p += sizeof fg_magic;
    memcpy(p, hdr, sizeof hdr);
    p += sizeof hdr;
    for (size_t c = 0; c < s->num_clients; c++) {
        if (!s->seen[c])
            continue;
        uint64_t id = c;
        memcpy(p, &id, sizeof id);
        p += sizeof id;
        memcpy(p, s->history + c * s->N, s->N * sizeof(float));
        p += s->N * sizeof(float);
    }
    return need;
}

static int fg_load(void *state, const uint8_t *buf, size_t len)
{
    fg_t *s = state;
    uint64_t hdr[3];
    if (len < sizeof fg_magic + sizeof hdr || memcmp(buf, fg_magic, sizeof fg_magic) != 0)
        return ft_error_set(FT_EFORMAT, "foolsgold state: bad header");
    memcpy(hdr, buf + sizeof fg_magic, sizeof hdr);
    if (hdr[0] != s->num_clients || hdr[1] != s->N)
        return ft_error_set(
            FT_EFORMAT, "foolsgold state: for %llu clients × %llu parameters, expected %zu × %zu",
            (unsigned long long)hdr[0], (unsigned long long)hdr[1], s->num_clients, s->N);
    size_t row = sizeof(uint64_t) + s->N * sizeof(float);
    if (hdr[2] > s->num_clients || len != sizeof fg_magic + sizeof hdr + (size_t)hdr[2] * row)
        return ft_error_set(FT_EFORMAT, "foolsgold state: truncated or oversized");
    /* Validate every id before changing anything, so a bad state leaves s intact. */
    const uint8_t *p = buf + sizeof fg_magic + sizeof hdr;
    for (uint64_t r = 0; r < hdr[2]; r++) {
        uint64_t id;
        memcpy(&id, p + r * row, sizeof id);
        if (id >= s->num_clients)
            return ft_error_set(FT_EFORMAT, "foolsgold state: client id %llu out of range",
                                (unsigned long long)id);
    }
    for (size_t c = 0; c < s->num_clients; c++) /* only touched rows hold data */
        if (s->seen[c])
            memset(s->history + c * s->N, 0, s->N * sizeof(float));
    memset(s->seen, 0, s->num_clients);
    for (uint64_t r = 0; r < hdr[2]; r++) {
        uint64_t id;
        memcpy(&id, p + r * row, sizeof id);
        memcpy(s->history + id * s->N, p + r * row + sizeof id, s->N * sizeof(float));
        s->seen[id] = 1;
    }
    return FT_OK;
}

const ft_defense_t ft_defense_foolsgold = {
    .name = "foolsgold",
    .cite = "Fung et al. RAID 2020, Alg. 1: cosine similarity of update histories, pardoning, "
            "logit with confidence kappa",
    .check_config = fg_check,
    .create = fg_create,
    .destroy = fg_destroy,
    .workspace_size = fg_ws,
    .aggregate = fg_aggregate,
    .state_save = fg_save,
    .state_load = fg_load,
};
