/* bucketing: Karimireddy, He and Jaggi, "Byzantine-Robust Learning on Heterogeneous
 * Datasets via Bucketing", ICLR 2022, Algorithm 1; reference code
 * epfml/byzantine-robust-noniid-optimizer and FLPoison aggregators/bucketing.py.
 *
 * The K updates are randomly permuted, cut into ceil(K/s) buckets of s consecutive
 * updates (the last may be smaller), each bucket is averaged (plain mean, as the
 * paper), and a robust rule — defense.inner, any registry rule but bucketing itself,
 * stateful rules (FoolsGold) and rules needing a server update — aggregates the
 * bucket means. The inner rule reads its own keys from the same [defense] section
 * and is checked against K' = ceil(K/s) buckets. A bucket's sample count is the sum
 * of its members' (so a sample-weighting inner rule still weighs by data).
 *
 * The permutation comes from in->rng but depends on the client ids, not the row
 * order: each row gets a Philox key of (its client id, two draws) and the rows are
 * sorted by it, so permuting the clients permutes nothing in the output.
 *
 * NaN/Inf: a row holding them makes its bucket mean non-finite; the inner rule
 * copes with that as it does with any non-finite update (krum and median drop it).
 *
 * Decisions: each row inherits its bucket's decision, clip factor and score; its
 * weight is the bucket's weight over the bucket size (its coefficient in the
 * aggregate), so the weights sum as the inner rule's do. */
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_cores.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

extern const ft_defense_t ft_defense_bucketing;

typedef struct {
    const ft_defense_t *inner; /* the rule run on the bucket means */
    void *inner_state;         /* its state */
    size_t s;                  /* defense.bucket_size */
    size_t max_b;              /* most buckets per round, ceil(max_k / s) */
} bucketing_t;

static size_t n_buckets(size_t K, size_t s)
{
    return (K + s - 1) / s;
}

static int bucketing_check(const ft_defense_cfg_t *d, size_t max_k)
{
    int rc = ft_check_int_range(d->src, "defense.bucket_size", d->bucket_size, 1, (int64_t)max_k,
                                "(at most K = clients_per_round)");
    if (rc != FT_OK)
        return rc;
    const ft_defense_t *in = ft_defense_find(d->inner);
    if (!in || in == &ft_defense_bucketing)
        return ft_config_error(d->src, "defense.inner",
                               "'%s' is not a rule bucketing can run (any defense.name but "
                               "bucketing)",
                               d->inner);
    if (in->needs_server_update || in->state_save || in->needs_probe)
        return ft_config_error(d->src, "defense.inner", "'%s' %s; bucket means have none", d->inner,
                               in->needs_server_update ? "needs a server update"
                               : in->needs_probe       ? "judges each client's model"
                                                       : "keeps per-client history");
    size_t B = n_buckets(max_k, (size_t)d->bucket_size);
    rc = in->check_config ? in->check_config(d, B) : FT_OK;
    if (rc != FT_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ft_error_message());
        return ft_config_error(d->src, "defense.inner",
                               "'%s' runs on ceil(K/s) = %zu bucket means (K = %zu, s = %lld): %s",
                               d->inner, B, max_k, (long long)d->bucket_size, msg);
    }
    return FT_OK;
}

static void bucketing_destroy(void **state)
{
    bucketing_t *s = state ? *state : NULL;
    if (!s)
        return;
    if (s->inner_state)
        s->inner->destroy(&s->inner_state);
    ft_free(s);
    *state = NULL;
}

static int bucketing_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                            void **state)
{
    bucketing_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "bucketing: out of memory");
    s->inner = ft_defense_find(d->inner);
    s->s = (size_t)d->bucket_size;
    s->max_b = n_buckets(max_k, s->s);
    if (!s->inner || s->s < 1) {
        ft_free(s);
        return ft_error_set(FT_EINVAL, "bucketing: inner rule '%s' unknown", d->inner);
    }
    int rc = s->inner->create(d, s->max_b, N, num_clients, &s->inner_state);
    if (rc != FT_OK) {
        ft_free(s);
        return rc;
    }
    *state = s;
    return FT_OK;
}

/* Sized for the smallest bucket size (1: as many buckets as updates), since the
 * size is a parameter the workspace query does not see. */
static size_t bucketing_ws(size_t max_k, size_t N)
{
    return FT_WS_SLACK + ft_ws_bytes(max_k * N * sizeof(float)) +
           ft_ws_bytes(max_k * sizeof(float)) + 2 * ft_ws_bytes(max_k * sizeof(uint32_t)) +
           ft_ws_bytes(max_k * sizeof(uint64_t)) +
           ft_ws_bytes(max_k * sizeof(ft_defense_decision_t)) + ft_ws_bytes(N * sizeof(double));
}

/* The inner rule's workspace follows ours; bucketing asks for both at once. */
static size_t bucketing_ws_total(size_t max_k, size_t N)
{
    size_t inner = 0;
    for (size_t i = 0; ft_defense_registry[i]; i++)
        if (ft_defense_registry[i] != &ft_defense_bucketing) {
            size_t w = ft_defense_registry[i]->workspace_size(max_k, N);
            inner = w > inner ? w : inner;
        }
    return bucketing_ws(max_k, N) + inner;
}

int ft_bucketing_core(void *state, const ft_defense_input_t *in, const uint32_t *perm, float *out,
                      ft_defense_decision_t *dec, void *workspace)
{
    bucketing_t *s = state;
    size_t K = in->K, N = in->N, B = n_buckets(K, s->s);
    size_t own = bucketing_ws(K, N);
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, own);
    float *M = ft_ws_take(&ws, K * N * sizeof(float));
    float *cnt = ft_ws_take(&ws, K * sizeof(float));
    (void)ft_ws_take(&ws, K * sizeof(uint32_t)); /* the permutation (aggregate's) */
    (void)ft_ws_take(&ws, K * sizeof(uint64_t)); /* its sort keys */
    uint32_t *bid = ft_ws_take(&ws, K * sizeof(uint32_t));
    ft_defense_decision_t *bdec = ft_ws_take(&ws, K * sizeof(ft_defense_decision_t));
    double *acc = ft_ws_take(&ws, N * sizeof(double));
    for (size_t t = 0; t < B; t++) {
        size_t lo = t * s->s, hi = lo + s->s < K ? lo + s->s : K;
        memset(acc, 0, N * sizeof(double));
        cnt[t] = 0;
        for (size_t r = lo; r < hi; r++) {
            ft_axpy_d(acc, N, 1.0 / (double)(hi - lo), in->updates + (size_t)perm[r] * N);
            cnt[t] += in->counts[perm[r]];
        }
        for (size_t j = 0; j < N; j++)
            M[t * N + j] = (float)acc[j];
        bid[t] = (uint32_t)t;
    }
    ft_defense_input_t sub = *in;
    sub.K = B;
    sub.updates = M;
    sub.counts = cnt;
    sub.ids = bid;
    sub.server_update = NULL;
    /* the inner workspace starts at the end of ours (64-byte aligned) */
    int rc = s->inner->aggregate(s->inner_state, &sub, out, bdec, (uint8_t *)workspace + own);
    if (rc != FT_OK)
        return rc;
    for (size_t t = 0; t < B; t++) {
        size_t lo = t * s->s, hi = lo + s->s < K ? lo + s->s : K;
        for (size_t r = lo; r < hi; r++) {
            dec[perm[r]] = bdec[t];
            dec[perm[r]].weight = bdec[t].weight / (float)(hi - lo);
        }
    }
    return FT_OK;
}

static int bucketing_aggregate(void *state, const ft_defense_input_t *in, float *out,
                               ft_defense_decision_t *dec, void *workspace)
{
    size_t K = in->K, N = in->N;
    if (!in->rng)
        return ft_error_set(FT_EINVAL, "bucketing: no random stream given for the permutation");
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, bucketing_ws(K, N));
    (void)ft_ws_take(&ws, K * N * sizeof(float));
    (void)ft_ws_take(&ws, K * sizeof(float));
    uint32_t *perm = ft_ws_take(&ws, K * sizeof(uint32_t));
    uint64_t *key = ft_ws_take(&ws, K * sizeof(uint64_t));
    uint32_t pk[2] = {ft_rng_u32(in->rng), ft_rng_u32(in->rng)};
    for (size_t i = 0; i < K; i++) {
        uint32_t ctr[4] = {in->ids[i], 0, 0x6275636bu /* "buck" */, 0}, o[4];
        ft_philox4x32(ctr, pk, o);
        key[i] = ((uint64_t)o[0] << 32 | o[1]);
        perm[i] = (uint32_t)i;
    }
    /* insertion sort of the rows by (key, id): K is small */
    for (size_t i = 1; i < K; i++) {
        uint32_t r = perm[i];
        size_t j = i;
        while (j > 0 && (key[perm[j - 1]] > key[r] ||
                         (key[perm[j - 1]] == key[r] && in->ids[perm[j - 1]] > in->ids[r]))) {
            perm[j] = perm[j - 1];
            j--;
        }
        perm[j] = r;
    }
    return ft_bucketing_core(state, in, perm, out, dec, workspace);
}

const ft_defense_t ft_defense_bucketing = {
    .name = "bucketing",
    .cite = "Karimireddy et al. ICLR 2022 Alg. 1: random buckets of s updates averaged, then "
            "defense.inner on the bucket means",
    .check_config = bucketing_check,
    .create = bucketing_create,
    .destroy = bucketing_destroy,
    .workspace_size = bucketing_ws_total,
    .aggregate = bucketing_aggregate,
};
