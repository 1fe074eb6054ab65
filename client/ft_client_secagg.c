/* ft_client_secagg: the client's stages of secure aggregation (see the header). */
#include "ft_client_secagg.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fixed.h"
#include "ft_secagg.h"
#include "ft_sha256.h"
#include "ft_shamir.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

_Static_assert(FT_WIRE_SA_SHARE_LEN == FT_SA_SHARE_LEN, "share record size");
_Static_assert(FT_WIRE_SA_KEYS_LEN == 2 * FT_SA_KEY_LEN, "key record size");
_Static_assert(FT_WIRE_SA_MAX_IDS == FT_SA_MAX_N, "clients per aggregation");

/* One virtual client's round. */
typedef struct {
    uint32_t round, attempt, client_id;            /* whose state */
    int done;                                      /* last stage answered (FT_SA_STAGE_*) */
    ft_sa_secrets_t sec;                           /* key pairs and b */
    uint8_t keys[FT_WIRE_SA_KEYS_LEN];             /* c_pk || s_pk as sent */
    uint32_t *y;                                   /* N: x, then x + masks */
    uint8_t digest[32];                            /* SHA-256 of y's bytes */
    unsigned n, t, me;                             /* |U1|, threshold, my index in U1 */
    uint32_t ids[FT_SA_MAX_N];                     /* U1 */
    uint8_t pks[FT_SA_MAX_N][FT_WIRE_SA_KEYS_LEN]; /* U1's c_pk || s_pk */
    uint8_t in2[FT_SA_MAX_N];                      /* U1 members in U2 (DELIVER) */
    uint8_t sh_s[FT_SA_MAX_N][FT_SA_KEY_LEN];      /* my share of s_sk_u, by U1 index */
    uint8_t sh_b[FT_SA_MAX_N][FT_SA_KEY_LEN];      /* my share of b_u */
    uint8_t out[FT_SA_MAX_N * FT_SA_SHARE_LEN];    /* records to send */
    uint32_t list[FT_SA_MAX_N];                    /* ids to send */
} sa_state_t;

struct ft_client_sa {
    size_t N;                    /* parameters */
    ft_fixed_t fx;               /* encoding */
    double clip_norm;            /* L2 clip before encoding (0: none) */
    sa_state_t *st[FT_SA_MAX_N]; /* held clients (NULL: free) */
};

static void state_free(sa_state_t **s_p)
{
    if (!*s_p)
        return;
    sa_state_t *s = *s_p;
    ft_free_aligned(s->y);
    ft_sa_wipe(s, sizeof *s);
    ft_free(s);
    *s_p = NULL;
}

ft_client_sa_t *ft_client_sa_new(size_t N, const ft_security_cfg_t *sec, double clip_norm)
{
    if (ft_sa_init() != FT_OK)
        return NULL;
    ft_client_sa_t *sa = ft_calloc(1, sizeof *sa);
    if (!sa)
        return NULL;
    sa->N = N;
    sa->fx = (ft_fixed_t){.scale_bits = sec->secagg_scale_bits, .clip = sec->secagg_clip};
    sa->clip_norm = clip_norm;
    return sa;
}

void ft_client_sa_destroy(ft_client_sa_t **sa_p)
{
    if (!sa_p || !*sa_p)
        return;
    for (size_t i = 0; i < FT_SA_MAX_N; i++)
        state_free(&(*sa_p)->st[i]);
    ft_free(*sa_p);
    *sa_p = NULL;
}

size_t ft_client_sa_held(const ft_client_sa_t *sa)
{
    size_t n = 0;
    for (size_t i = 0; i < FT_SA_MAX_N; i++)
        n += sa->st[i] != NULL;
    return n;
}

int ft_client_sa_begin(ft_client_sa_t *sa, uint32_t round, uint32_t attempt, uint32_t client_id,
                       float *delta, uint64_t num_samples, uint64_t round_samples, int self_clip,
                       ft_msg_secagg_t *keys)
{
    /* A new round (or attempt): what was held for another is of no use now. */
    int slot = -1;
    for (size_t i = 0; i < FT_SA_MAX_N; i++) {
        sa_state_t *s = sa->st[i];
        if (s && (s->round != round || s->attempt != attempt || s->client_id == client_id))
            state_free(&sa->st[i]);
        if (!sa->st[i] && slot < 0)
            slot = (int)i;
    }
    if (slot < 0)
        return ft_error_set(FT_ESTATE, "secure aggregation: %d clients already held in round %u",
                            FT_SA_MAX_N, round);
    if (!(round_samples > 0) || num_samples > round_samples)
        return ft_error_set(FT_EPROTO, "secure aggregation: %llu samples of a round of %llu",
                            (unsigned long long)num_samples, (unsigned long long)round_samples);
    sa_state_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "out of memory for secure aggregation");
    s->y = ft_malloc_aligned(sa->N * sizeof *s->y);
    int rc = s->y ? ft_sa_secrets_new(&s->sec) : ft_error_set(FT_ENOMEM, "out of memory");
    if (rc != FT_OK) {
        state_free(&s);
        return rc;
    }
    s->round = round;
    s->attempt = attempt;
    s->client_id = client_id;
    s->done = FT_SA_STAGE_KEYS;
    if (self_clip &&
        sa->clip_norm > 0) { /* self-enforced norm clipping: the server cannot check it */
        double sq = 0;
        for (size_t i = 0; i < sa->N; i++)
            sq += (double)delta[i] * delta[i];
        double norm = sqrt(sq);
        if (isfinite(norm) && norm > sa->clip_norm) {
            float f = (float)(sa->clip_norm / norm);
            for (size_t i = 0; i < sa->N; i++)
                delta[i] *= f;
        }
    }
    ft_fixed_encode(&sa->fx, delta, (double)num_samples / (double)round_samples, sa->N, s->y);
    memcpy(s->keys, s->sec.c_pk, FT_SA_KEY_LEN);
    memcpy(s->keys + FT_SA_KEY_LEN, s->sec.s_pk, FT_SA_KEY_LEN);
    sa->st[slot] = s;
    memset(keys, 0, sizeof *keys);
    keys->stage = FT_SA_STAGE_KEYS;
    keys->round = round;
    keys->attempt = attempt;
    keys->client_id = client_id;
    keys->records = s->keys;
    keys->records_len = sizeof s->keys;
    keys->num_samples = num_samples;
    return FT_OK;
}

static int find(const ft_client_sa_t *sa, const ft_msg_secagg_t *in)
{
    for (size_t i = 0; i < FT_SA_MAX_N; i++) {
        const sa_state_t *s = sa->st[i];
        if (s && s->client_id == in->client_id && s->round == in->round &&
            s->attempt == in->attempt)
            return (int)i;
    }
    return -1;
}

/* U1 index of id, or -1. */
static int index_of(const sa_state_t *s, uint32_t id)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->ids[i] == id)
            return (int)i;
    return -1;
}

/* ROSTER: check it, share s_sk and b among U1 (t of n), encrypt each share. */
static int on_roster(sa_state_t *s, const ft_msg_secagg_t *in, ft_msg_secagg_t *out)
{
    if (in->num_ids < 2 || in->threshold < 2 || in->threshold > in->num_ids)
        return ft_error_set(FT_EPROTO, "roster of %zu clients with threshold %u", in->num_ids,
                            in->threshold);
    s->n = (unsigned)in->num_ids;
    s->t = in->threshold;
    memcpy(s->ids, in->ids, s->n * sizeof *s->ids);
    memcpy(s->pks, in->records, s->n * (size_t)FT_WIRE_SA_KEYS_LEN);
    int me = index_of(s, s->client_id);
    if (me < 0 || memcmp(s->pks[me], s->keys, FT_WIRE_SA_KEYS_LEN) != 0)
        return ft_error_set(FT_EPROTO, "the roster does not hold this client's own keys");
    s->me = (unsigned)me;
    uint8_t xs[FT_SA_MAX_N];
    for (unsigned j = 0; j < s->n; j++)
        xs[j] = (uint8_t)(j + 1); /* holder j's share point: its U1 index + 1 */
    /* shares of s_sk then b, one row per holder */
    uint8_t sh_s[FT_SA_MAX_N * FT_SA_KEY_LEN], sh_b[FT_SA_MAX_N * FT_SA_KEY_LEN];
    int rc = ft_shamir_split(s->sec.s_sk, FT_SA_KEY_LEN, s->t, s->n, xs, sh_s);
    if (rc == FT_OK)
        rc = ft_shamir_split(s->sec.b, FT_SA_KEY_LEN, s->t, s->n, xs, sh_b);
    for (unsigned v = 0; v < s->n && rc == FT_OK; v++) {
        uint8_t key[FT_SA_KEY_LEN];
        if ((rc = ft_sa_agree(s->sec.c_sk, s->sec.c_pk, s->pks[v], FT_SA_PURPOSE_ENC, key)) !=
            FT_OK)
            break;
        ft_sa_share_t share = {.from = s->client_id, .to = s->ids[v]};
        memcpy(share.s_sk, sh_s + (size_t)v * FT_SA_KEY_LEN, FT_SA_KEY_LEN);
        memcpy(share.b, sh_b + (size_t)v * FT_SA_KEY_LEN, FT_SA_KEY_LEN);
        ft_sa_share_seal(&share, key, s->round, s->attempt, s->out + (size_t)v * FT_SA_SHARE_LEN);
        ft_sa_wipe(&share, sizeof share);
        ft_sa_wipe(key, sizeof key);
    }
    ft_sa_wipe(sh_s, sizeof sh_s);
    ft_sa_wipe(sh_b, sizeof sh_b);
    if (rc != FT_OK)
        return rc;
    out->stage = FT_SA_STAGE_SHARES;
    out->ids = s->ids;
    out->num_ids = s->n;
    out->records = s->out;
    out->records_len = (size_t)s->n * FT_SA_SHARE_LEN;
    s->done = FT_SA_STAGE_SHARES;
    return FT_OK;
}

/* DELIVER: open the shares U2 sent me, then mask: y = x + PRG(b) + Σ ±PRG(s_uv). */
static int on_deliver(const ft_client_sa_t *sa, sa_state_t *s, const ft_msg_secagg_t *in,
                      ft_msg_secagg_t *out, const void **payload, size_t *payload_len)
{
    if (in->num_ids < s->t)
        return ft_error_set(FT_ESTATE, "%zu clients sent shares, below the threshold t = %u",
                            in->num_ids, s->t);
    memset(s->in2, 0, sizeof s->in2);
    for (size_t k = 0; k < in->num_ids; k++) {
        int u = index_of(s, in->ids[k]);
        if (u < 0)
            return ft_error_set(FT_EPROTO, "shares from client %u, not in U1", in->ids[k]);
        s->in2[u] = 1;
    }
    if (!s->in2[s->me])
        return ft_error_set(FT_EPROTO, "this client's own shares are missing from U2");
    int rc = FT_OK;
    for (size_t k = 0; k < in->num_ids && rc == FT_OK; k++) {
        int u = index_of(s, in->ids[k]);
        uint8_t key[FT_SA_KEY_LEN];
        ft_sa_share_t share;
        if ((rc = ft_sa_agree(s->sec.c_sk, s->sec.c_pk, s->pks[u], FT_SA_PURPOSE_ENC, key)) ==
                FT_OK &&
            (rc = ft_sa_share_open(in->records + k * FT_SA_SHARE_LEN, key, s->round, s->attempt,
                                   s->ids[u], s->client_id, &share)) == FT_OK) {
            memcpy(s->sh_s[u], share.s_sk, FT_SA_KEY_LEN);
            memcpy(s->sh_b[u], share.b, FT_SA_KEY_LEN);
        }
        ft_sa_wipe(&share, sizeof share);
        ft_sa_wipe(key, sizeof key);
    }
    if (rc != FT_OK)
        return rc;
    ft_sa_mask(s->y, sa->N, s->sec.b, 1, s->round, s->attempt);
    for (unsigned v = 0; v < s->n && rc == FT_OK; v++) {
        if (v == s->me || !s->in2[v])
            continue;
        uint8_t seed[FT_SA_KEY_LEN];
        rc = ft_sa_agree(s->sec.s_sk, s->sec.s_pk, s->pks[v] + FT_SA_KEY_LEN, FT_SA_PURPOSE_MASK,
                         seed);
        if (rc == FT_OK)
            ft_sa_mask(s->y, sa->N, seed, s->client_id < s->ids[v] ? 1 : -1, s->round, s->attempt);
        ft_sa_wipe(seed, sizeof seed);
    }
    if (rc != FT_OK)
        return rc;
    /* the ring vector's bytes, little-endian */
    uint8_t *b = (uint8_t *)s->y;
    for (size_t i = 0; i < sa->N; i++) {
        uint32_t v = s->y[i];
        b[4 * i] = (uint8_t)v;
        b[4 * i + 1] = (uint8_t)(v >> 8);
        b[4 * i + 2] = (uint8_t)(v >> 16);
        b[4 * i + 3] = (uint8_t)(v >> 24);
    }
    ft_sha256(b, sa->N * 4, s->digest);
    out->stage = FT_SA_STAGE_MASKED;
    out->num_params = sa->N;
    memcpy(out->digest, s->digest, 32);
    *payload = s->y;
    *payload_len = sa->N * 4;
    s->done = FT_SA_STAGE_MASKED;
    return FT_OK;
}

/* UNMASK: b's share for each survivor, s_sk's share for each dropped client; the
 * two sets must split exactly the U2 this client masked with. */
static int on_unmask(sa_state_t *s, const ft_msg_secagg_t *in, ft_msg_secagg_t *out)
{
    if (in->num_ids < s->t)
        return ft_error_set(FT_ESTATE, "%zu survivors, below the threshold t = %u", in->num_ids,
                            s->t);
    uint8_t role[FT_SA_MAX_N] = {0}; /* 1 survivor, 2 dropped */
    for (int pass = 0; pass < 2; pass++) {
        const uint32_t *ids = pass ? in->dropped : in->ids;
        size_t n = pass ? in->num_dropped : in->num_ids;
        for (size_t k = 0; k < n; k++) {
            int u = index_of(s, ids[k]);
            if (u < 0 || !s->in2[u] || role[u])
                return ft_error_set(FT_EPROTO, "unmask names client %u, not in U2", ids[k]);
            role[u] = (uint8_t)(pass + 1);
        }
    }
    if (role[s->me] != 1)
        return ft_error_set(FT_EPROTO, "unmask does not count this client among the survivors");
    size_t m = 0;
    for (unsigned u = 0; u < s->n; u++) {
        if (!s->in2[u])
            continue;
        if (!role[u])
            return ft_error_set(FT_EPROTO, "unmask leaves client %u of U2 out", s->ids[u]);
        s->list[m] = s->ids[u];
        memcpy(s->out + m * FT_SA_KEY_LEN, role[u] == 1 ? s->sh_b[u] : s->sh_s[u], FT_SA_KEY_LEN);
        m++;
    }
    out->stage = FT_SA_STAGE_REVEAL;
    out->ids = s->list;
    out->num_ids = m;
    out->records = s->out;
    out->records_len = m * FT_SA_KEY_LEN;
    s->done = FT_SA_STAGE_REVEAL;
    return FT_OK;
}

int ft_client_sa_handle(ft_client_sa_t *sa, const ft_msg_secagg_t *in, ft_msg_secagg_t *reply,
                        const void **payload, size_t *payload_len)
{
    memset(reply, 0, sizeof *reply);
    *payload = NULL;
    *payload_len = 0;
    int i = find(sa, in);
    if (i < 0)
        return ft_error_set(FT_ENOTFOUND,
                            "secure aggregation: %s for client %u round %u, which this process "
                            "does not hold",
                            ft_sa_stage_name((int)in->stage), in->client_id, in->round);
    sa_state_t *s = sa->st[i];
    static const int before[FT_SA_STAGE_COUNT_] = {
        [FT_SA_STAGE_ROSTER] = FT_SA_STAGE_KEYS,
        [FT_SA_STAGE_DELIVER] = FT_SA_STAGE_SHARES,
        [FT_SA_STAGE_UNMASK] = FT_SA_STAGE_MASKED,
    };
    int rc;
    if (in->stage >= FT_SA_STAGE_COUNT_ || !before[in->stage] || s->done != before[in->stage])
        rc = ft_error_set(FT_ESTATE, "%s out of order", ft_sa_stage_name((int)in->stage));
    else if (in->stage == FT_SA_STAGE_ROSTER)
        rc = on_roster(s, in, reply);
    else if (in->stage == FT_SA_STAGE_DELIVER)
        rc = on_deliver(sa, s, in, reply, payload, payload_len);
    else
        rc = on_unmask(s, in, reply);
    if (rc != FT_OK) {
        char why[FT_WIRE_REASON_LEN];
        snprintf(why, sizeof why, "%s", ft_error_message());
        state_free(&sa->st[i]); /* abort: the client leaves this round */
        *payload = NULL;
        return ft_error_set(rc, "secure aggregation, client %u round %u: %s", in->client_id,
                            in->round, why);
    }
    reply->round = s->round;
    reply->attempt = s->attempt;
    reply->client_id = s->client_id;
    return FT_OK;
}
