/* Tests for client/ft_client_secagg: one process holding several virtual clients
 * runs the protocol's client stages against a coordinator written out here from
 * the paper (Bonawitz et al. CCS 2017, Fig. 4): the unmasked sum after a dropout
 * equals the survivors' weighted mean within the fixed-point bound; a tampered
 * share makes the client leave the round; an unmask that would reveal both secrets
 * of a peer, or a second unmask, is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_client_secagg.h"
#include "ft_error.h"
#include "ft_fixed.h"
#include "ft_secagg.h"
#include "ft_shamir.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum { NC = 4, N = 700 };
static const uint32_t ids[NC] = {2, 5, 7, 9};
static const uint64_t samples[NC] = {10, 20, 30, 40};

typedef struct {
    ft_client_sa_t *sa;
    ft_security_cfg_t sec;
    float delta[NC][N];                      /* as trained */
    uint8_t keys[NC * 64];                   /* U1's c_pk || s_pk */
    uint8_t shares[NC][NC][FT_SA_SHARE_LEN]; /* [from][to] */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->sec = (ft_security_cfg_t){.secure_aggregation = 1,
                                 .secagg_threshold = 0.5,
                                 .secagg_scale_bits = 20,
                                 .secagg_clip = 8};
    f->sa = ft_client_sa_new(N, &f->sec, 0);
    assert_non_null(f->sa);
    srand(11);
    for (int u = 0; u < NC; u++)
        for (size_t i = 0; i < N; i++)
            f->delta[u][i] = (float)((rand() / (double)RAND_MAX - 0.5) * 0.2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    ft_client_sa_destroy(&f->sa);
    ft_client_sa_destroy(&f->sa); /* safe twice */
    free(f);
    return 0;
}

static ft_msg_secagg_t msg(int stage, uint32_t round, uint32_t to)
{
    ft_msg_secagg_t m = {.stage = (uint32_t)stage, .round = round, .attempt = 0, .client_id = to};
    return m;
}

/* KEYS and SHARES for the first n clients in round `round`. */
static void advertise_and_share(fixture_t *f, uint32_t round, int n, unsigned t)
{
    for (int u = 0; u < n; u++) {
        float copy[N];
        memcpy(copy, f->delta[u], sizeof copy);
        ft_msg_secagg_t k;
        assert_int_equal(ft_client_sa_begin(f->sa, round, 0, ids[u], copy, samples[u], 100, 1, &k),
                         FT_OK);
        assert_int_equal(k.stage, FT_SA_STAGE_KEYS);
        assert_int_equal(k.records_len, 64);
        memcpy(f->keys + u * 64, k.records, 64);
    }
    for (int u = 0; u < n; u++) {
        ft_msg_secagg_t in = msg(FT_SA_STAGE_ROSTER, round, ids[u]), out;
        in.threshold = t;
        in.ids = (uint32_t *)ids;
        in.num_ids = (size_t)n;
        in.records = f->keys;
        in.records_len = (size_t)n * 64;
        const void *pl;
        size_t len;
        assert_int_equal(ft_client_sa_handle(f->sa, &in, &out, &pl, &len), FT_OK);
        assert_int_equal(out.stage, FT_SA_STAGE_SHARES);
        assert_int_equal(out.num_ids, (size_t)n);
        assert_int_equal(out.records_len, (size_t)n * FT_SA_SHARE_LEN);
        for (int v = 0; v < n; v++)
            memcpy(f->shares[u][v], out.records + v * FT_SA_SHARE_LEN, FT_SA_SHARE_LEN);
    }
}

/* DELIVER to client v the shares of U2 = the first n2 clients. */
static int deliver(fixture_t *f, uint32_t round, int v, int n2, uint32_t *sum, int tamper)
{
    uint8_t recs[NC * FT_SA_SHARE_LEN];
    for (int u = 0; u < n2; u++)
        memcpy(recs + u * FT_SA_SHARE_LEN, f->shares[u][v], FT_SA_SHARE_LEN);
    if (tamper)
        recs[FT_SA_SHARE_LEN + 40] ^= 0x80; /* client 1's share for v */
    ft_msg_secagg_t in = msg(FT_SA_STAGE_DELIVER, round, ids[v]), out;
    in.ids = (uint32_t *)ids;
    in.num_ids = (size_t)n2;
    in.records = recs;
    in.records_len = (size_t)n2 * FT_SA_SHARE_LEN;
    const void *pl;
    size_t len;
    int rc = ft_client_sa_handle(f->sa, &in, &out, &pl, &len);
    if (rc != FT_OK)
        return rc;
    assert_int_equal(out.stage, FT_SA_STAGE_MASKED);
    assert_int_equal(len, N * 4);
    const uint8_t *b = pl;
    for (size_t i = 0; i < N; i++)
        sum[i] += (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                  (uint32_t)b[4 * i + 3] << 24;
    return FT_OK;
}

static void test_dropout_sum(void **state)
{
    fixture_t *f = *state;
    const unsigned t = 3;
    advertise_and_share(f, 1, NC, t);
    static uint32_t sum[N];
    memset(sum, 0, sizeof sum);
    /* client 9 (index 3) shared, then died: no masked input */
    for (int v = 0; v < 3; v++)
        assert_int_equal(deliver(f, 1, v, NC, sum, 0), FT_OK);
    /* UNMASK: survivors {2, 5, 7}, dropped {9}; collect reveals */
    uint8_t rev[3][NC * 32];
    uint32_t surv[3] = {2, 5, 7}, drop[1] = {9};
    for (int v = 0; v < 3; v++) {
        ft_msg_secagg_t in = msg(FT_SA_STAGE_UNMASK, 1, ids[v]), out;
        in.ids = surv;
        in.num_ids = 3;
        in.dropped = drop;
        in.num_dropped = 1;
        const void *pl;
        size_t len;
        assert_int_equal(ft_client_sa_handle(f->sa, &in, &out, &pl, &len), FT_OK);
        assert_int_equal(out.stage, FT_SA_STAGE_REVEAL);
        assert_int_equal(out.num_ids, NC);
        memcpy(rev[v], out.records, NC * 32);
        /* a second unmask (e.g. with another split) is refused */
        assert_int_equal(ft_client_sa_handle(f->sa, &in, &out, &pl, &len), FT_ESTATE);
    }
    /* the coordinator's part: rebuild and remove */
    uint8_t xs[3] = {1, 2, 3}, ys[3 * 32], secret[32], seed[32];
    for (int u = 0; u < NC; u++) {
        for (int v = 0; v < 3; v++)
            memcpy(ys + v * 32, rev[v] + u * 32, 32);
        assert_int_equal(ft_shamir_combine(xs, ys, 3, t, 32, secret), FT_OK);
        if (u < 3) {
            ft_sa_mask(sum, N, secret, -1, 1, 0);
            continue;
        }
        const uint8_t *s_pk_d = f->keys + u * 64 + 32;
        for (int v = 0; v < 3; v++) {
            assert_int_equal(
                ft_sa_agree(secret, s_pk_d, f->keys + v * 64 + 32, FT_SA_PURPOSE_MASK, seed),
                FT_OK);
            ft_sa_mask(sum, N, seed, ids[v] < ids[u] ? -1 : 1, 1, 0);
        }
    }
    const ft_fixed_t fx = {.scale_bits = 20, .clip = 8};
    float out[N];
    double W = 60.0 / 100.0;
    ft_fixed_decode(&fx, sum, N, W, out);
    double bound = ft_fixed_bound(&fx, 3, W);
    for (size_t i = 0; i < N; i++) {
        double exact = 0;
        for (int u = 0; u < 3; u++)
            exact += (double)samples[u] / 100.0 * f->delta[u][i];
        exact /= W;
        assert_true(fabs(out[i] - exact) <= bound + fabs(exact) * 6e-8);
    }
}

static void test_tampered_share_leaves_round(void **state)
{
    fixture_t *f = *state;
    advertise_and_share(f, 2, 3, 2);
    assert_int_equal(ft_client_sa_held(f->sa), 3);
    static uint32_t sum[N];
    assert_int_equal(deliver(f, 2, 0, 3, sum, 1), FT_ECRYPTO);
    assert_int_equal(ft_client_sa_held(f->sa), 2); /* client 2 left the round */
    /* its next stage finds nothing */
    assert_int_equal(deliver(f, 2, 0, 3, sum, 0), FT_ENOTFOUND);
    assert_int_equal(deliver(f, 2, 1, 3, sum, 0), FT_OK);
}

static void test_unmask_must_split_u2(void **state)
{
    fixture_t *f = *state;
    advertise_and_share(f, 3, 3, 2);
    static uint32_t sum[N];
    for (int v = 0; v < 3; v++)
        assert_int_equal(deliver(f, 3, v, 3, sum, 0), FT_OK);
    const void *pl;
    size_t len;
    ft_msg_secagg_t out;
    /* leaves client 7 out: neither survivor nor dropped */
    uint32_t surv[2] = {2, 5};
    ft_msg_secagg_t in = msg(FT_SA_STAGE_UNMASK, 3, 2);
    in.ids = surv;
    in.num_ids = 2;
    assert_int_equal(ft_client_sa_handle(f->sa, &in, &out, &pl, &len), FT_EPROTO);
    /* names a client that never shared */
    uint32_t surv2[3] = {5, 7, 9}, drop[1] = {2};
    in = msg(FT_SA_STAGE_UNMASK, 3, 5);
    in.ids = surv2;
    in.num_ids = 3;
    in.dropped = drop;
    in.num_dropped = 1;
    assert_int_equal(ft_client_sa_handle(f->sa, &in, &out, &pl, &len), FT_EPROTO);
    /* counts the recipient itself as dropped */
    uint32_t surv3[2] = {2, 5}, drop3[1] = {7};
    in = msg(FT_SA_STAGE_UNMASK, 3, 7);
    in.ids = surv3;
    in.num_ids = 2;
    in.dropped = drop3;
    in.num_dropped = 1;
    assert_int_equal(ft_client_sa_handle(f->sa, &in, &out, &pl, &len), FT_EPROTO);
    /* a stage out of order: a roster after masking */
    assert_int_equal(ft_client_sa_held(f->sa), 0);
}

static void test_roster_without_own_keys(void **state)
{
    fixture_t *f = *state;
    advertise_and_share(f, 4, 2, 2);
    /* a new roster for a fresh client whose keys were swapped by the server */
    float copy[N] = {0};
    ft_msg_secagg_t k;
    assert_int_equal(ft_client_sa_begin(f->sa, 4, 0, 7, copy, 5, 100, 1, &k), FT_OK);
    uint8_t keys[2 * 64];
    memcpy(keys, f->keys, 64);
    randombytes_buf(keys + 64, 64); /* not client 7's keys */
    uint32_t two[2] = {2, 7};
    ft_msg_secagg_t in = msg(FT_SA_STAGE_ROSTER, 4, 7), out;
    in.threshold = 2;
    in.ids = two;
    in.num_ids = 2;
    in.records = keys;
    in.records_len = sizeof keys;
    const void *pl;
    size_t len;
    assert_int_equal(ft_client_sa_handle(f->sa, &in, &out, &pl, &len), FT_EPROTO);
}

/* The Welcome's clip: an honest client clips its update to the L2 bound before
 * encoding; one that does not self-clip (an attacker) sends it whole. */
static void test_self_enforced_clip(void **state)
{
    fixture_t *f = *state;
    ft_client_sa_t *sa = ft_client_sa_new(N, &f->sec, 0.5);
    assert_non_null(sa);
    static float d[N];
    for (size_t i = 0; i < N; i++)
        d[i] = (i % 2 ? 0.1f : -0.1f); /* norm 0.1 sqrt(700) = 2.65 */
    ft_msg_secagg_t k;
    assert_int_equal(ft_client_sa_begin(sa, 1, 0, 2, d, 10, 10, 1, &k), FT_OK);
    double sq = 0;
    for (size_t i = 0; i < N; i++)
        sq += (double)d[i] * d[i];
    assert_true(fabs(sqrt(sq) - 0.5) < 1e-5);
    for (size_t i = 0; i < N; i++)
        d[i] = (i % 2 ? 0.1f : -0.1f);
    assert_int_equal(ft_client_sa_begin(sa, 1, 0, 5, d, 10, 10, 0, &k), FT_OK);
    assert_true(d[0] == -0.1f && d[1] == 0.1f);
    /* a norm under the bound is left alone */
    for (size_t i = 0; i < N; i++)
        d[i] = i == 0 ? 0.25f : 0.0f;
    assert_int_equal(ft_client_sa_begin(sa, 1, 0, 7, d, 10, 10, 1, &k), FT_OK);
    assert_true(d[0] == 0.25f);
    assert_int_equal(ft_client_sa_held(sa), 3);
    /* a new round drops the old states */
    assert_int_equal(ft_client_sa_begin(sa, 2, 0, 7, d, 10, 10, 1, &k), FT_OK);
    assert_int_equal(ft_client_sa_held(sa), 1);
    /* more samples than the round holds is refused */
    assert_int_equal(ft_client_sa_begin(sa, 2, 0, 9, d, 11, 10, 1, &k), FT_EPROTO);
    ft_client_sa_destroy(&sa);
    assert_null(sa);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dropout_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_share_leaves_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmask_must_split_u2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roster_without_own_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_enforced_clip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
