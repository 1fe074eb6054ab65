/* ft_coord_secagg: the coordinator's side of secure aggregation — Bonawitz et al.,
 * "Practical Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017,
 * Fig. 4, the semi-honest variant (no signatures, no consistency check round),
 * over the existing wire (FT_MSG_SECAGG, one message per virtual client and stage).
 *
 * Round t runs as before until every sampled client has trained: a client answers
 * its Task with KEYS (its two X25519 public keys and the public facts of its update:
 * sample count, loss, timings) instead of an Update; the slot is then DONE. U1 = the
 * clients whose keys came. Then, each stage waiting until every client of a live
 * process answered or federation.round_timeout passed:
 *   ROSTER  → every u in U1: U1's public keys and t      ← SHARES (u's encrypted shares)
 *   DELIVER → every v in U2: the shares addressed to v   ← MASKED (y_v in Z_2^32)
 *   UNMASK  → every v in U3: survivors U3, dropped U2\U3 ← REVEAL (shares of b_u for u
 *                                                         in U3, of s_sk_u for the rest)
 * and the coordinator, from any t REVEALs, rebuilds b_u (u in U3) and s_sk_d (d
 * dropped), removes PRG(b_u) and each ±PRG(KA(s_sk_d, s_pk_u)) from Σ y, and decodes
 * Σ_{U3} w_u Δ_u / Σ_{U3} w_u (secagg/ft_fixed.h) into row 0 of the update matrix,
 * which the defense then aggregates as one update. Fewer than t clients at any
 * stage fail the attempt (FT_ESTATE): ft_coordinator.c retries the round with a
 * fresh sample, as a round that missed min_clients. Memory is allocated once: the
 * K×K share records, the K×K revealed shares and one N-vector of ring sums — no
 * K×N matrix (ft_coordinator.c sizes ft_global for one row). */
#include "ft_coordinator_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fixed.h"
#include "ft_log.h"
#include "ft_secagg.h"
#include "ft_sha256.h"
#include "ft_shamir.h"
#include "ft_timer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

_Static_assert(FT_WIRE_SA_SHARE_LEN == FT_SA_SHARE_LEN, "share record size");
_Static_assert(FT_WIRE_SA_KEYS_LEN == 2 * FT_SA_KEY_LEN, "key record size");
_Static_assert(FT_WIRE_SA_REVEAL_LEN == FT_SA_KEY_LEN, "reveal record size");
_Static_assert(FT_WIRE_SA_MAX_IDS == FT_SA_MAX_N, "clients per aggregation");

struct ft_coord_sa {
    size_t cap;        /* K: clients a round may have */
    size_t N;          /* parameters */
    ft_fixed_t fx;     /* the ring encoding */
    int awaiting;      /* the stage of the replies awaited (0: none) */
    unsigned n, t;     /* |U1|, Shamir threshold */
    uint32_t *ids;     /* n: U1, ascending (= the DONE slots in order) */
    int *slot;         /* n: the round slot of ids[i] */
    int *proc;         /* n: the process that holds client ids[i] */
    double *w;         /* n: weight n_c / N_round */
    uint8_t *keys;     /* cap×64: KEYS records by slot, then by U1 index */
    uint8_t *got_keys; /* cap: by slot */
    uint8_t *shares;   /* cap×cap×112: shares[u][v], u's share for v (U1 indices) */
    uint8_t *in2;      /* n: sent SHARES (U2) */
    uint8_t *in3;      /* n: sent MASKED (U3) */
    uint8_t *in4;      /* n: sent REVEAL (U4) */
    uint8_t *gone;     /* n: answered with an Error (left the round) */
    uint8_t *reveal;   /* cap×cap×32: reveal[v][u], v's share of u's secret */
    uint32_t *sum;     /* N: Σ y in Z_2^32 */
    uint8_t *xs;       /* cap: scratch share points */
    uint8_t *ybuf;     /* cap×32: scratch shares */
    uint32_t *list;    /* cap: scratch id list */
    uint32_t *list2;   /* cap: scratch id list */
    uint8_t *recs;     /* cap×112: scratch records to send */
};

void ft_coord_sa_destroy(ft_coord_sa_t **sa_p)
{
    if (!sa_p || !*sa_p)
        return;
    ft_coord_sa_t *s = *sa_p;
    ft_free(s->ids);
    ft_free(s->slot);
    ft_free(s->proc);
    ft_free(s->w);
    ft_free(s->keys);
    ft_free(s->got_keys);
    ft_free(s->shares);
    ft_free(s->in2);
    ft_free(s->in3);
    ft_free(s->in4);
    ft_free(s->gone);
    if (s->reveal)
        ft_sa_wipe(s->reveal, s->cap * s->cap * FT_SA_KEY_LEN);
    ft_free(s->reveal);
    ft_free_aligned(s->sum);
    ft_free(s->xs);
    ft_free(s->ybuf);
    ft_free(s->list);
    ft_free(s->list2);
    ft_free(s->recs);
    ft_free(s);
    *sa_p = NULL;
}

int ft_coord_sa_new(size_t K, size_t N, const ft_security_cfg_t *sec, ft_coord_sa_t **out)
{
    *out = NULL;
    int rc = ft_sa_init();
    if (rc != FT_OK)
        return rc;
    ft_coord_sa_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "out of memory");
    s->cap = K;
    s->N = N;
    s->fx = (ft_fixed_t){.scale_bits = sec->secagg_scale_bits, .clip = sec->secagg_clip};
    s->ids = ft_calloc(K, sizeof *s->ids);
    s->slot = ft_calloc(K, sizeof *s->slot);
    s->proc = ft_calloc(K, sizeof *s->proc);
    s->w = ft_calloc(K, sizeof *s->w);
    s->keys = ft_calloc(K, FT_WIRE_SA_KEYS_LEN);
    s->got_keys = ft_calloc(K, 1);
    s->shares = ft_calloc(K * K, FT_SA_SHARE_LEN);
    s->in2 = ft_calloc(K, 1);
    s->in3 = ft_calloc(K, 1);
    s->in4 = ft_calloc(K, 1);
    s->gone = ft_calloc(K, 1);
    s->reveal = ft_calloc(K * K, FT_SA_KEY_LEN);
    s->sum = ft_malloc_aligned(N * sizeof *s->sum);
    s->xs = ft_calloc(K, 1);
    s->ybuf = ft_calloc(K, FT_SA_KEY_LEN);
    s->list = ft_calloc(K, sizeof *s->list);
    s->list2 = ft_calloc(K, sizeof *s->list2);
    s->recs = ft_calloc(K, FT_SA_SHARE_LEN);
    if (!s->ids || !s->slot || !s->proc || !s->w || !s->keys || !s->got_keys || !s->shares ||
        !s->in2 || !s->in3 || !s->in4 || !s->gone || !s->reveal || !s->sum || !s->xs || !s->ybuf ||
        !s->list || !s->list2 || !s->recs) {
        ft_coord_sa_destroy(&s);
        return ft_error_set(FT_ENOMEM, "out of memory for secure aggregation (K = %zu)", K);
    }
    *out = s;
    return FT_OK;
}

void ft_coord_sa_begin_round(ft_coord_sa_t *s)
{
    s->awaiting = FT_SA_STAGE_KEYS;
    s->n = s->t = 0;
    memset(s->got_keys, 0, s->cap);
}

int ft_coord_sa_survivor(const ft_coord_sa_t *s, int slot)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->slot[i] == slot)
            return s->in3[i];
    return 0;
}

/* U1 index of client id, or -1. */
static int index_of(const ft_coord_sa_t *s, uint32_t id)
{
    unsigned lo = 0, hi = s->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (s->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->ids[lo] == id ? (int)lo : -1;
}

/* ---- receiving -------------------------------------------------------------------- */

/* KEYS: the training result of an assigned task, checked as an Update is
 * (docs/protocol.md) but for its vector, which never comes. */
static void on_keys(ft_coordinator_t *c, int p, const ft_msg_secagg_t *a)
{
    ft_coord_sa_t *s = c->sa;
    ft_round_t *r = c->round;
    ft_proc_t *pr = &c->procs.procs[p];
    char why[FT_WIRE_REASON_LEN];
    int slot = ft_round_find(r, a->client_id);
    if (slot < 0 || r->slots[slot].state != FT_SLOT_ASSIGNED || r->slots[slot].process != p) {
        snprintf(why, sizeof why, "client %u %s", a->client_id,
                 slot < 0                               ? "was not sampled this round"
                 : r->slots[slot].state == FT_SLOT_DONE ? "already sent its keys"
                                                        : "is not assigned to this process");
        ft_coord_reject(c, p, "secagg keys", why);
        return;
    }
    uint64_t expected = ft_scenario_client_samples(c->scn, a->client_id, r->slots[slot].attacker);
    int rc = FT_OK;
    if (a->num_samples != expected)
        rc = ft_error_set(FT_EPROTO, "num_samples = %llu, expected %llu",
                          (unsigned long long)a->num_samples, (unsigned long long)expected);
    else if (a->num_params != c->N)
        rc = ft_error_set(FT_EPROTO, "N = %llu, expected %zu", (unsigned long long)a->num_params,
                          c->N);
    else if (memcmp(a->layout_hash, ft_global_layout_hash(c->g), 32) != 0)
        rc = ft_error_set(FT_EPROTO, "model layout hash differs from the coordinator's");
    if (rc != FT_OK) {
        snprintf(why, sizeof why, "client %u: %s", a->client_id, ft_error_message());
        ft_round_requeue(r, slot);
        pr->state = FT_PROC_IDLE;
        pr->slot = -1;
        ft_coord_reject(c, p, "secagg keys", why);
        return;
    }
    memcpy(s->keys + (size_t)slot * FT_WIRE_SA_KEYS_LEN, a->records, FT_WIRE_SA_KEYS_LEN);
    s->got_keys[slot] = 1;
    ft_coord_accept_update(c, p, slot, a->round, a->client_id, a->num_samples, a->train_loss,
                           a->train_s, 1);
    r->slots[slot].process = p; /* who holds the client's secrets (DONE slots only here) */
}

/* Whether two id lists are equal. */
static int same_ids(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* A stage message of client i (of U1, from its own process) that fails its checks:
 * rejected, and the client leaves the round (no stage waits for it: a tampered or
 * repeated message is not followed by a good one). */
static void reject_client(ft_coordinator_t *c, int p, int i, const char *why)
{
    c->sa->gone[i] = 1;
    ft_coord_reject(c, p, "secagg", why);
}

void ft_coord_sa_on_msg(ft_coordinator_t *c, int p, ft_link_in_t *in)
{
    ft_coord_sa_t *s = c->sa;
    const ft_msg_secagg_t *a = &in->msg.u.secagg;
    char why[FT_WIRE_REASON_LEN];
    const char *stage = ft_sa_stage_name((int)a->stage);
    if (!s) {
        ft_coord_reject(c, p, "secagg", "secure aggregation is off in this run");
        return;
    }
    if (a->round != c->round->round || a->attempt != c->round->attempt) {
        snprintf(why, sizeof why, "%s for round %u attempt %u (now %u attempt %u)", stage, a->round,
                 a->attempt, c->round->round, c->round->attempt);
        ft_coord_reject(c, p, "secagg", why);
        return;
    }
    if ((int)a->stage != s->awaiting) {
        snprintf(why, sizeof why, "%s while the round awaits %s", stage,
                 s->awaiting ? ft_sa_stage_name(s->awaiting) : "nothing");
        ft_coord_reject(c, p, "secagg", why);
        return;
    }
    if (a->stage == FT_SA_STAGE_KEYS) {
        on_keys(c, p, a);
        return;
    }
    int i = index_of(s, a->client_id);
    if (i < 0 || s->proc[i] != p) {
        snprintf(why, sizeof why, "%s from client %u, %s", stage, a->client_id,
                 i < 0 ? "which is not in this round's U1" : "held by another process");
        ft_coord_reject(c, p, "secagg", why);
        return;
    }
    switch (a->stage) {
    case FT_SA_STAGE_SHARES:
        if (s->in2[i]) {
            reject_client(c, p, i, "shares sent twice");
            return;
        }
        if (!same_ids(a->ids, a->num_ids, s->ids, s->n)) {
            snprintf(why, sizeof why, "client %u: shares not for this round's U1", a->client_id);
            reject_client(c, p, i, why);
            return;
        }
        memcpy(s->shares + (size_t)i * s->cap * FT_SA_SHARE_LEN, a->records, a->records_len);
        s->in2[i] = 1;
        break;
    case FT_SA_STAGE_MASKED: {
        if (s->in3[i] || !s->in2[i]) {
            reject_client(c, p, i,
                          s->in3[i] ? "masked input sent twice" : "masked input from outside U2");
            return;
        }
        int rc = a->num_params == c->N
                     ? ft_wire_check_vector(ft_link_payload(in), ft_link_payload_len(in), c->N,
                                            a->digest)
                     : ft_error_set(FT_EPROTO, "N = %llu, expected %zu",
                                    (unsigned long long)a->num_params, c->N);
        if (rc != FT_OK) {
            snprintf(why, sizeof why, "client %u: masked input: %s", a->client_id,
                     ft_error_message());
            reject_client(c, p, i, why);
            return;
        }
        const uint8_t *b = ft_link_payload(in);
        for (size_t j = 0; j < c->N; j++) {
            const uint8_t *q = b + 4 * j;
            s->sum[j] +=
                (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
        }
        s->in3[i] = 1;
        break;
    }
    case FT_SA_STAGE_REVEAL: {
        if (s->in4[i] || !s->in3[i]) {
            reject_client(c, p, i, s->in4[i] ? "shares revealed twice" : "reveal from outside U3");
            return;
        }
        /* The subjects must be exactly U2 (survivors' b, the dropped's s_sk). */
        size_t m = 0;
        for (unsigned u = 0; u < s->n; u++)
            if (s->in2[u])
                s->list[m++] = s->ids[u];
        if (!same_ids(a->ids, a->num_ids, s->list, m)) {
            snprintf(why, sizeof why, "client %u: revealed shares not of this round's U2",
                     a->client_id);
            reject_client(c, p, i, why);
            return;
        }
        for (size_t k = 0; k < m; k++) {
            int u = index_of(s, a->ids[k]);
            memcpy(s->reveal + ((size_t)i * s->cap + (size_t)u) * FT_SA_KEY_LEN,
                   a->records + k * FT_SA_KEY_LEN, FT_SA_KEY_LEN);
        }
        s->in4[i] = 1;
        break;
    }
    default:
        snprintf(why, sizeof why, "%s is not a stage a client sends", stage);
        reject_client(c, p, i, why);
        return;
    }
}

void ft_coord_sa_on_error(ft_coordinator_t *c, int p, const ft_msg_error_t *e)
{
    ft_coord_sa_t *s = c->sa;
    if (!s || !s->n || e->round != c->round->round)
        return;
    int i = index_of(s, e->client_id);
    if (i >= 0 && s->proc[i] == p)
        s->gone[i] = 1;
}

/* ---- the stages -------------------------------------------------------------------- */

/* Clients of U1 in flag set `have` (NULL: all). */
static unsigned count(const ft_coord_sa_t *s, const uint8_t *have)
{
    unsigned k = 0;
    for (unsigned i = 0; i < s->n; i++)
        k += have ? have[i] != 0 : 1;
    return k;
}

/* Polls until every client in `asked` whose process is alive is in `got`, or the
 * stage's deadline. FT_OK, or the poll's error (interrupt, socket). */
static int await(ft_coordinator_t *c, const uint8_t *asked, const uint8_t *got, int stage)
{
    ft_coord_sa_t *s = c->sa;
    s->awaiting = stage;
    double deadline = ft_now() + c->exp.federation.round_timeout;
    for (;;) {
        int pending = 0;
        for (unsigned i = 0; i < s->n; i++)
            if ((!asked || asked[i]) && !got[i] && !s->gone[i] &&
                c->procs.procs[s->proc[i]].state != FT_PROC_DEAD)
                pending = 1;
        if (!pending || ft_now() >= deadline)
            break;
        int rc = ft_coord_poll(c);
        if (rc != FT_OK) {
            s->awaiting = 0;
            return rc;
        }
    }
    s->awaiting = 0;
    return FT_OK;
}

static void base_msg(const ft_coordinator_t *c, ft_msg_t *m, int stage, uint32_t to)
{
    ft_msg_init(m, FT_MSG_SECAGG);
    m->u.secagg.stage = (uint32_t)stage;
    m->u.secagg.round = c->round->round;
    m->u.secagg.attempt = c->round->attempt;
    m->u.secagg.client_id = to;
}

/* Sends to every client of U1 in `to` whose process is alive. */
static void send_each(ft_coordinator_t *c, const uint8_t *to, ft_msg_t *m,
                      void (*fill)(ft_coordinator_t *c, unsigned i, ft_msg_t *m))
{
    ft_coord_sa_t *s = c->sa;
    for (unsigned i = 0; i < s->n; i++) {
        if ((to && !to[i]) || c->procs.procs[s->proc[i]].state == FT_PROC_DEAD)
            continue;
        m->u.secagg.client_id = s->ids[i];
        if (fill)
            fill(c, i, m);
        ft_coord_send(c, s->proc[i], m, NULL);
    }
}

/* DELIVER to v: the shares U2 sent it. */
static void fill_deliver(ft_coordinator_t *c, unsigned v, ft_msg_t *m)
{
    ft_coord_sa_t *s = c->sa;
    size_t k = 0;
    for (unsigned u = 0; u < s->n; u++)
        if (s->in2[u]) {
            memcpy(s->recs + k * FT_SA_SHARE_LEN,
                   s->shares + ((size_t)u * s->cap + v) * FT_SA_SHARE_LEN, FT_SA_SHARE_LEN);
            k++;
        }
    m->u.secagg.records = s->recs;
    m->u.secagg.records_len = k * FT_SA_SHARE_LEN;
}

/* Rebuilds subject u's secret from the first t revealers. FT_ESTATE below t. */
static int rebuild(ft_coord_sa_t *s, unsigned u, uint8_t out[FT_SA_KEY_LEN])
{
    unsigned k = 0;
    for (unsigned v = 0; v < s->n && k < s->t; v++)
        if (s->in4[v]) {
            s->xs[k] = (uint8_t)(v + 1);
            memcpy(s->ybuf + (size_t)k * FT_SA_KEY_LEN,
                   s->reveal + ((size_t)v * s->cap + u) * FT_SA_KEY_LEN, FT_SA_KEY_LEN);
            k++;
        }
    return ft_shamir_combine(s->xs, s->ybuf, k, s->t, FT_SA_KEY_LEN, out);
}

/* Fewer than t at a stage: the attempt fails (retried by ft_coordinator.c). */
static int below(ft_coordinator_t *c, const char *what, unsigned got)
{
    ft_coord_sa_t *s = c->sa;
    return ft_error_set(FT_ESTATE,
                        "secure aggregation: %u of %u clients %s, below the threshold t = %u: "
                        "the round's masked sum cannot be unmasked",
                        got, s->n, what, s->t);
}

static void sa_event(ft_coordinator_t *c, const char *outcome, double t0)
{
    ft_coord_sa_t *s = c->sa;
    ft_events_begin(c->ev, "secagg");
    ft_events_int(c->ev, "round", c->round->round);
    ft_events_int(c->ev, "attempt", c->round->attempt);
    ft_events_int(c->ev, "u1", s->n);
    ft_events_int(c->ev, "threshold", s->t);
    ft_events_int(c->ev, "u2", count(s, s->in2));
    ft_events_int(c->ev, "u3", count(s, s->in3));
    ft_events_int(c->ev, "u4", count(s, s->in4));
    ft_events_str(c->ev, "outcome", outcome);
    ft_events_num(c->ev, "secagg_s", ft_now() - t0);
    ft_events_end(c->ev);
}

int ft_coord_sa_run(ft_coordinator_t *c, double *total_weight)
{
    ft_coord_sa_t *s = c->sa;
    ft_round_t *r = c->round;
    double t0 = ft_now();
    s->n = 0;
    for (size_t i = 0; i < r->K; i++)
        if (r->slots[i].state == FT_SLOT_DONE && s->got_keys[i]) {
            unsigned k = s->n++;
            s->ids[k] = r->slots[i].client_id;
            s->slot[k] = (int)i;
            s->proc[k] = r->slots[i].process;
            s->w[k] = (double)r->slots[i].num_samples / (double)c->round_samples;
            if (k != i)
                memmove(s->keys + (size_t)k * FT_WIRE_SA_KEYS_LEN,
                        s->keys + i * FT_WIRE_SA_KEYS_LEN, FT_WIRE_SA_KEYS_LEN);
        }
    memset(s->in2, 0, s->cap);
    memset(s->in3, 0, s->cap);
    memset(s->in4, 0, s->cap);
    memset(s->gone, 0, s->cap);
    memset(s->sum, 0, s->N * sizeof *s->sum);
    s->awaiting = 0;
    if (s->n < 2) {
        s->t = 2;
        sa_event(c, "too_few", t0);
        return below(c, "advertised keys", s->n);
    }
    s->t = ft_sa_threshold(c->exp.security.secagg_threshold, s->n);
    int rc;
    ft_msg_t m;
    /* ROSTER: U1, its public keys, t. */
    base_msg(c, &m, FT_SA_STAGE_ROSTER, 0);
    m.u.secagg.threshold = s->t;
    m.u.secagg.ids = s->ids;
    m.u.secagg.num_ids = s->n;
    m.u.secagg.records = s->keys;
    m.u.secagg.records_len = (size_t)s->n * FT_WIRE_SA_KEYS_LEN;
    send_each(c, NULL, &m, NULL);
    if ((rc = await(c, NULL, s->in2, FT_SA_STAGE_SHARES)) != FT_OK)
        return rc;
    unsigned n2 = count(s, s->in2);
    if (n2 < s->t) {
        sa_event(c, "failed_shares", t0);
        return below(c, "sent their shares", n2);
    }
    /* DELIVER: to each v in U2, the shares from U2. */
    base_msg(c, &m, FT_SA_STAGE_DELIVER, 0);
    size_t k = 0;
    for (unsigned u = 0; u < s->n; u++)
        if (s->in2[u])
            s->list[k++] = s->ids[u];
    m.u.secagg.ids = s->list;
    m.u.secagg.num_ids = k;
    send_each(c, s->in2, &m, fill_deliver);
    if ((rc = await(c, s->in2, s->in3, FT_SA_STAGE_MASKED)) != FT_OK)
        return rc;
    unsigned n3 = count(s, s->in3);
    if (n3 < s->t) {
        sa_event(c, "failed_masked", t0);
        return below(c, "sent masked inputs", n3);
    }
    /* UNMASK: survivors U3 and the dropped U2 \ U3. */
    base_msg(c, &m, FT_SA_STAGE_UNMASK, 0);
    size_t ns = 0, nd = 0;
    for (unsigned u = 0; u < s->n; u++) {
        if (s->in3[u])
            s->list[ns++] = s->ids[u];
        else if (s->in2[u])
            s->list2[nd++] = s->ids[u];
    }
    m.u.secagg.ids = s->list;
    m.u.secagg.num_ids = ns;
    m.u.secagg.dropped = s->list2;
    m.u.secagg.num_dropped = nd;
    send_each(c, s->in3, &m, NULL);
    if ((rc = await(c, s->in3, s->in4, FT_SA_STAGE_REVEAL)) != FT_OK)
        return rc;
    unsigned n4 = count(s, s->in4);
    if (n4 < s->t) {
        sa_event(c, "failed_reveal", t0);
        return below(c, "revealed their shares", n4);
    }
    /* Unmask: the self masks of U3, and the dropped clients' pairwise masks. */
    uint8_t secret[FT_SA_KEY_LEN], seed[FT_SA_KEY_LEN], pk[FT_SA_KEY_LEN];
    for (unsigned u = 0; u < s->n && rc == FT_OK; u++) {
        if (!s->in2[u])
            continue;
        if ((rc = rebuild(s, u, secret)) != FT_OK)
            break;
        if (s->in3[u]) {
            ft_sa_mask(s->sum, s->N, secret, -1, r->round, r->attempt);
            continue;
        }
        /* s_sk_d must be the secret of the s_pk_d it advertised: a check that the
         * revealed shares were consistent. */
        const uint8_t *s_pk_d = s->keys + (size_t)u * FT_WIRE_SA_KEYS_LEN + FT_SA_KEY_LEN;
        if (ft_sa_public_key(secret, pk) != FT_OK || memcmp(pk, s_pk_d, FT_SA_KEY_LEN) != 0) {
            rc = ft_error_set(FT_ECRYPTO,
                              "secure aggregation: the shares revealed for dropped client %u "
                              "do not rebuild its mask key",
                              s->ids[u]);
            break;
        }
        for (unsigned v = 0; v < s->n && rc == FT_OK; v++) {
            if (!s->in3[v])
                continue;
            const uint8_t *s_pk_v = s->keys + (size_t)v * FT_WIRE_SA_KEYS_LEN + FT_SA_KEY_LEN;
            if ((rc = ft_sa_agree(secret, s_pk_d, s_pk_v, FT_SA_PURPOSE_MASK, seed)) != FT_OK)
                break;
            /* y_v holds +PRG when v < d, -PRG otherwise: take it back out. */
            ft_sa_mask(s->sum, s->N, seed, s->ids[v] < s->ids[u] ? -1 : 1, r->round, r->attempt);
        }
    }
    ft_sa_wipe(secret, sizeof secret);
    ft_sa_wipe(seed, sizeof seed);
    if (rc != FT_OK) {
        sa_event(c, "failed_unmask", t0);
        return rc;
    }
    double W = 0;
    for (unsigned u = 0; u < s->n; u++)
        if (s->in3[u])
            W += s->w[u];
    ft_fixed_decode(&s->fx, s->sum, s->N, W, ft_global_row(c->g, 0));
    *total_weight = W;
    sa_event(c, "ok", t0);
    FT_LOG(FT_LOG_DEBUG, "round %u: secure aggregation of %u clients (U1 %u, t %u)", r->round, n3,
           s->n, s->t);
    return FT_OK;
}
