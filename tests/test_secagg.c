/* Tests for secagg/: the maths of secure aggregation (Bonawitz et al. CCS 2017).
 * Golden values are hand-worked (GF(2^8) products from FIPS-197 §4.2, a degree-1
 * sharing worked by hand) or come from libsodium's one-shot primitives directly
 * (the keystream the chunked mask must equal); the rest are exact identities of the
 * protocol: masks cancel, any t shares rebuild, t-1 do not, tampering fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_error.h"
#include "ft_fixed.h"
#include "ft_secagg.h"
#include "ft_shamir.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void test_gf256_hand_worked(void **state)
{
    (void)state;
    /* FIPS-197 §4.2: {57}·{83} = {c1}, {57}·{13} = {fe} */
    assert_int_equal(ft_gf256_mul(0x57, 0x83), 0xc1);
    assert_int_equal(ft_gf256_mul(0x57, 0x13), 0xfe);
    assert_int_equal(ft_gf256_mul(0x57, 0x01), 0x57);
    assert_int_equal(ft_gf256_mul(0x00, 0xff), 0x00);
}

static void test_shamir_hand_worked(void **state)
{
    (void)state;
    /* f(x) = 0x42 + 0x17 x: f(1) = 0x42 ^ 0x17 = 0x55, f(2) = 0x42 ^ 0x2e = 0x6c */
    const uint8_t xs[2] = {1, 2}, ys[2] = {0x55, 0x6c};
    uint8_t s = 0;
    assert_int_equal(ft_shamir_combine(xs, ys, 2, 2, 1, &s), FT_OK);
    assert_int_equal(s, 0x42);
    const uint8_t xr[2] = {2, 1}, yr[2] = {0x6c, 0x55}; /* order does not matter */
    assert_int_equal(ft_shamir_combine(xr, yr, 2, 2, 1, &s), FT_OK);
    assert_int_equal(s, 0x42);
}

/* Every t-subset of a t-of-n sharing rebuilds the secret; t-1 are refused, and
 * interpolating t-1 points as if the threshold were t-1 gives a wrong secret. */
static void check_sharing(unsigned t, unsigned n)
{
    uint8_t secret[32], got[32], xs[255], shares[255 * 32];
    randombytes_buf(secret, sizeof secret);
    for (unsigned j = 0; j < n; j++)
        xs[j] = (uint8_t)(j + 1);
    assert_int_equal(ft_shamir_split(secret, 32, t, n, xs, shares), FT_OK);
    uint8_t sx[255], sy[255 * 32];
    for (int trial = 0; trial < 20; trial++) {
        /* a random t-subset in a random order */
        unsigned perm[255];
        for (unsigned j = 0; j < n; j++)
            perm[j] = j;
        for (unsigned j = n - 1; j > 0; j--) {
            unsigned k = randombytes_uniform(j + 1), tmp = perm[j];
            perm[j] = perm[k];
            perm[k] = tmp;
        }
        for (unsigned j = 0; j < t; j++) {
            sx[j] = xs[perm[j]];
            memcpy(sy + j * 32, shares + perm[j] * 32, 32);
        }
        memset(got, 0, sizeof got);
        assert_int_equal(ft_shamir_combine(sx, sy, t, t, 32, got), FT_OK);
        assert_memory_equal(got, secret, 32);
        assert_int_equal(ft_shamir_combine(sx, sy, t - 1, t, 32, got), FT_ESTATE);
        if (t >= 2) {
            assert_int_equal(ft_shamir_combine(sx, sy, t - 1, t - 1, 32, got), FT_OK);
            assert_memory_not_equal(got, secret, 32);
        }
    }
}

static void test_shamir_any_t(void **state)
{
    (void)state;
    check_sharing(3, 5);
    check_sharing(2, 2);
    check_sharing(5, 5);    /* t = n */
    check_sharing(1, 4);    /* t = 1: every share is the secret */
    check_sharing(86, 255); /* the largest round */
}

static void test_shamir_every_subset(void **state)
{
    (void)state;
    uint8_t secret[32], got[32], xs[5] = {1, 2, 3, 4, 5}, shares[5 * 32];
    randombytes_buf(secret, sizeof secret);
    assert_int_equal(ft_shamir_split(secret, 32, 3, 5, xs, shares), FT_OK);
    int subsets = 0;
    for (unsigned a = 0; a < 5; a++)
        for (unsigned b = a + 1; b < 5; b++)
            for (unsigned c = b + 1; c < 5; c++) {
                uint8_t sx[3] = {xs[a], xs[b], xs[c]}, sy[96];
                memcpy(sy, shares + a * 32, 32);
                memcpy(sy + 32, shares + b * 32, 32);
                memcpy(sy + 64, shares + c * 32, 32);
                assert_int_equal(ft_shamir_combine(sx, sy, 3, 3, 32, got), FT_OK);
                assert_memory_equal(got, secret, 32);
                subsets++;
            }
    assert_int_equal(subsets, 10);
}

static void test_shamir_bad_arguments(void **state)
{
    (void)state;
    uint8_t secret[4] = {1, 2, 3, 4}, shares[4 * 4], got[4];
    const uint8_t ok[3] = {1, 2, 3}, zero[3] = {1, 0, 3}, dup[3] = {1, 2, 1};
    assert_int_equal(ft_shamir_split(secret, 4, 4, 3, ok, shares), FT_EINVAL); /* t > n */
    assert_int_equal(ft_shamir_split(secret, 4, 0, 3, ok, shares), FT_EINVAL);
    assert_int_equal(ft_shamir_split(secret, 4, 2, 3, zero, shares), FT_EINVAL);
    assert_int_equal(ft_shamir_split(secret, 4, 2, 3, dup, shares), FT_EINVAL);
    assert_int_equal(ft_shamir_split(secret, 4, 2, 3, ok, shares), FT_OK);
    assert_int_equal(ft_shamir_combine(dup, shares, 3, 3, 4, got), FT_EINVAL);
    assert_int_equal(ft_shamir_combine(zero, shares, 3, 3, 4, got), FT_EINVAL);
}

/* The chunked mask equals libsodium's one-shot ChaCha20 keystream, read LE. */
static void test_mask_is_chacha20(void **state)
{
    (void)state;
    enum { N = 3001 }; /* past two 1024-word chunks, not a multiple of a block */
    static uint32_t y[N];
    static uint8_t ks[N * 4];
    uint8_t seed[32], nonce[8] = {7, 0, 0, 0, 2, 0, 0, 0}; /* round 7, attempt 2 */
    randombytes_buf(seed, sizeof seed);
    memset(y, 0, sizeof y);
    ft_sa_mask(y, N, seed, 1, 7, 2);
    crypto_stream_chacha20(ks, sizeof ks, nonce, seed);
    for (size_t i = 0; i < N; i++) {
        uint32_t r = (uint32_t)ks[4 * i] | (uint32_t)ks[4 * i + 1] << 8 |
                     (uint32_t)ks[4 * i + 2] << 16 | (uint32_t)ks[4 * i + 3] << 24;
        assert_int_equal(y[i], r);
    }
    ft_sa_mask(y, N, seed, -1, 7, 2);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(y[i], 0);
    /* another round is another stream */
    ft_sa_mask(y, N, seed, 1, 8, 2);
    size_t same = 0;
    for (size_t i = 0; i < N; i++) {
        uint32_t r = (uint32_t)ks[4 * i] | (uint32_t)ks[4 * i + 1] << 8 |
                     (uint32_t)ks[4 * i + 2] << 16 | (uint32_t)ks[4 * i + 3] << 24;
        same += y[i] == r;
    }
    assert_true(same < 3);
}

static void test_agree_symmetric(void **state)
{
    (void)state;
    ft_sa_secrets_t a, b;
    assert_int_equal(ft_sa_secrets_new(&a), FT_OK);
    assert_int_equal(ft_sa_secrets_new(&b), FT_OK);
    uint8_t k1[32], k2[32], k3[32], pk[32];
    assert_int_equal(ft_sa_agree(a.s_sk, a.s_pk, b.s_pk, FT_SA_PURPOSE_MASK, k1), FT_OK);
    assert_int_equal(ft_sa_agree(b.s_sk, b.s_pk, a.s_pk, FT_SA_PURPOSE_MASK, k2), FT_OK);
    assert_memory_equal(k1, k2, 32);
    assert_int_equal(ft_sa_agree(a.s_sk, a.s_pk, b.s_pk, FT_SA_PURPOSE_ENC, k3), FT_OK);
    assert_memory_not_equal(k1, k3, 32); /* purposes are separated */
    assert_int_equal(ft_sa_public_key(a.s_sk, pk), FT_OK);
    assert_memory_equal(pk, a.s_pk, 32);
    uint8_t low[32] = {0}; /* the identity: a low-order point */
    assert_int_equal(ft_sa_agree(a.s_sk, a.s_pk, low, FT_SA_PURPOSE_MASK, k3), FT_ECRYPTO);
}

/* Bonawitz et al. Fig. 4 end to end on the maths: n clients mask, one drops after
 * sharing, the server rebuilds the survivors' b and the dropped client's s_sk from
 * t shares, and the unmasked sum equals the survivors' ring sum exactly. */
static void test_masks_cancel_and_dropout(void **state)
{
    (void)state;
    enum { n = 5, N = 2500, t = 3, DROP = 2 };
    static uint32_t x[n][N], y[n][N], sum[N], want[N];
    ft_sa_secrets_t sec[n];
    uint32_t ids[n] = {3, 8, 11, 20, 41};
    uint8_t xs[n], sh_s[n][n * 32], sh_b[n][n * 32]; /* sh_*[u]: u's secret, row v */
    for (int u = 0; u < n; u++)
        xs[u] = (uint8_t)(u + 1);
    for (int u = 0; u < n; u++) {
        assert_int_equal(ft_sa_secrets_new(&sec[u]), FT_OK);
        randombytes_buf(x[u], sizeof x[u]);
        assert_int_equal(ft_shamir_split(sec[u].s_sk, 32, t, n, xs, sh_s[u]), FT_OK);
        assert_int_equal(ft_shamir_split(sec[u].b, 32, t, n, xs, sh_b[u]), FT_OK);
    }
    for (int u = 0; u < n; u++) {
        memcpy(y[u], x[u], sizeof y[u]);
        ft_sa_mask(y[u], N, sec[u].b, 1, 1, 0);
        for (int v = 0; v < n; v++) {
            if (v == u)
                continue;
            uint8_t seed[32];
            assert_int_equal(
                ft_sa_agree(sec[u].s_sk, sec[u].s_pk, sec[v].s_pk, FT_SA_PURPOSE_MASK, seed),
                FT_OK);
            ft_sa_mask(y[u], N, seed, ids[u] < ids[v] ? 1 : -1, 1, 0);
        }
    }
    /* no dropout: the pairwise masks cancel; removing the self masks leaves Σ x */
    memset(sum, 0, sizeof sum);
    memset(want, 0, sizeof want);
    for (int u = 0; u < n; u++)
        for (size_t i = 0; i < N; i++) {
            sum[i] += y[u][i];
            want[i] += x[u][i];
        }
    for (int u = 0; u < n; u++)
        ft_sa_mask(sum, N, sec[u].b, -1, 1, 0);
    assert_memory_equal(sum, want, sizeof sum);
    /* client DROP never sends y: survivors' sum, b from shares, DROP's masks removed
     * with its s_sk rebuilt from the shares of clients 0, 3, 4 */
    memset(sum, 0, sizeof sum);
    memset(want, 0, sizeof want);
    for (int u = 0; u < n; u++)
        if (u != DROP)
            for (size_t i = 0; i < N; i++) {
                sum[i] += y[u][i];
                want[i] += x[u][i];
            }
    const int helpers[t] = {0, 3, 4};
    uint8_t hx[t], hy[t * 32], secret[32];
    for (int k = 0; k < t; k++)
        hx[k] = xs[helpers[k]];
    for (int u = 0; u < n; u++) {
        for (int k = 0; k < t; k++)
            memcpy(hy + k * 32, (u == DROP ? sh_s[u] : sh_b[u]) + helpers[k] * 32, 32);
        assert_int_equal(ft_shamir_combine(hx, hy, t, t, 32, secret), FT_OK);
        if (u != DROP) {
            assert_memory_equal(secret, sec[u].b, 32);
            ft_sa_mask(sum, N, secret, -1, 1, 0);
            continue;
        }
        assert_memory_equal(secret, sec[u].s_sk, 32);
        for (int v = 0; v < n; v++) {
            if (v == DROP)
                continue;
            uint8_t seed[32];
            assert_int_equal(
                ft_sa_agree(secret, sec[u].s_pk, sec[v].s_pk, FT_SA_PURPOSE_MASK, seed), FT_OK);
            ft_sa_mask(sum, N, seed, ids[v] < ids[u] ? -1 : 1, 1, 0);
        }
    }
    assert_memory_equal(sum, want, sizeof sum);
}

static void test_share_tamper_rejected(void **state)
{
    (void)state;
    uint8_t key[32], other[32], rec[FT_SA_SHARE_LEN], bad[FT_SA_SHARE_LEN];
    randombytes_buf(key, sizeof key);
    randombytes_buf(other, sizeof other);
    ft_sa_share_t in = {.from = 4, .to = 9}, out;
    randombytes_buf(in.s_sk, 32);
    randombytes_buf(in.b, 32);
    ft_sa_share_seal(&in, key, 3, 1, rec);
    assert_int_equal(ft_sa_share_open(rec, key, 3, 1, 4, 9, &out), FT_OK);
    assert_memory_equal(out.s_sk, in.s_sk, 32);
    assert_memory_equal(out.b, in.b, 32);
    /* a flipped bit anywhere: nonce, ciphertext, tag */
    for (size_t at = 0; at < FT_SA_SHARE_LEN; at += 7) {
        memcpy(bad, rec, sizeof bad);
        bad[at] ^= 0x01;
        assert_int_equal(ft_sa_share_open(bad, key, 3, 1, 4, 9, &out), FT_ECRYPTO);
        uint8_t zero[32] = {0};
        assert_memory_equal(out.s_sk, zero, 32); /* nothing is left on failure */
    }
    /* another key, round, attempt, sender or recipient */
    assert_int_equal(ft_sa_share_open(rec, other, 3, 1, 4, 9, &out), FT_ECRYPTO);
    assert_int_equal(ft_sa_share_open(rec, key, 4, 1, 4, 9, &out), FT_ECRYPTO);
    assert_int_equal(ft_sa_share_open(rec, key, 3, 0, 4, 9, &out), FT_ECRYPTO);
    assert_int_equal(ft_sa_share_open(rec, key, 3, 1, 5, 9, &out), FT_ECRYPTO);
    assert_int_equal(ft_sa_share_open(rec, key, 3, 1, 4, 8, &out), FT_ECRYPTO);
}

static void test_fixed_round_trip(void **state)
{
    (void)state;
    enum { K = 10, N = 4000 };
    const ft_fixed_t fx = {.scale_bits = 20, .clip = 8};
    static float x[K][N], out[N];
    static uint32_t q[N], sum[N];
    double w[K], W = 0;
    for (int k = 0; k < K; k++) {
        w[k] = (double)(k + 1) / 55.0; /* Σ = 1 */
        W += w[k];
    }
    srand(5);
    memset(sum, 0, sizeof sum);
    for (int k = 0; k < K; k++) {
        for (size_t i = 0; i < N; i++)
            x[k][i] = (float)((rand() / (double)RAND_MAX - 0.5) * 20.0); /* |x| <= 10 */
        assert_int_equal(ft_fixed_encode(&fx, x[k], w[k], N, q), 0);
        for (size_t i = 0; i < N; i++)
            sum[i] += q[i];
    }
    ft_fixed_decode(&fx, sum, N, W, out);
    double bound = ft_fixed_bound(&fx, K, W), worst = 0;
    assert_true(fabs(bound - K / (2.0 * 1048576.0)) < 1e-15); /* k / (2 S W) with W = 1 */
    for (size_t i = 0; i < N; i++) {
        double exact = 0;
        for (int k = 0; k < K; k++)
            exact += w[k] * (double)x[k][i];
        exact /= W;
        double err = fabs((double)out[i] - exact);
        /* plus float32's rounding of the result */
        assert_true(err <= bound + fabs(exact) * 6e-8);
        if (err > worst)
            worst = err;
    }
    assert_true(worst > 0); /* the encoding is lossy: the bound is not vacuous */
    /* half the clients gone: W = Σ of the rest, the bound grows by 1/W */
    memset(sum, 0, sizeof sum);
    double W2 = 0;
    for (int k = 0; k < K; k += 2) {
        ft_fixed_encode(&fx, x[k], w[k], N, q);
        for (size_t i = 0; i < N; i++)
            sum[i] += q[i];
        W2 += w[k];
    }
    ft_fixed_decode(&fx, sum, N, W2, out);
    for (size_t i = 0; i < N; i++) {
        double exact = 0;
        for (int k = 0; k < K; k += 2)
            exact += w[k] * (double)x[k][i];
        exact /= W2;
        assert_true(fabs((double)out[i] - exact) <=
                    ft_fixed_bound(&fx, K / 2, W2) + fabs(exact) * 6e-8);
    }
}

static void test_fixed_clip_and_nonfinite(void **state)
{
    (void)state;
    const ft_fixed_t fx = {.scale_bits = 4, .clip = 2};
    const float x[7] = {1.0f, -1.0f, 2.0f, 2.5f, -3.0f, NAN, INFINITY};
    uint32_t q[7];
    float out[7];
    /* weight 1: 2.0 is at the clip (kept), 2.5 and -3 are clamped, NaN and Inf too */
    assert_int_equal(ft_fixed_encode(&fx, x, 1.0, 7, q), 4);
    assert_int_equal(q[0], 16u);
    assert_int_equal(q[1], (uint32_t)-16);
    ft_fixed_decode(&fx, q, 7, 1.0, out);
    const float want[7] = {1.0f, -1.0f, 2.0f, 2.0f, -2.0f, 0.0f, 2.0f};
    for (int i = 0; i < 7; i++)
        assert_true(out[i] == want[i]);
    /* rounding to the nearest step: 1/16 */
    const float y[2] = {0.03f, -0.04f};
    ft_fixed_encode(&fx, y, 1.0, 2, q);
    assert_int_equal(q[0], 0u);           /* 0.48 steps -> 0 */
    assert_int_equal(q[1], (uint32_t)-1); /* -0.64 steps -> -1 */
    /* a negative sum of many clients decodes through the wrap */
    uint32_t s = 0;
    for (int k = 0; k < 100; k++)
        s += (uint32_t)-32; /* -2 at scale 16 */
    ft_fixed_decode(&fx, &s, 1, 1.0, out);
    assert_true(out[0] == -200.0f);
}

static void test_fixed_check_boundary(void **state)
{
    (void)state;
    /* 100 · (R · 2^20 + 1/2) < 2^31  <=>  R < 20.4799995... */
    ft_fixed_t fx = {.scale_bits = 20, .clip = 20.47};
    assert_int_equal(ft_fixed_check(&fx, 100), FT_OK);
    fx.clip = 20.48;
    assert_int_equal(ft_fixed_check(&fx, 100), FT_EINVAL);
    fx.clip = 8;
    assert_int_equal(ft_fixed_check(&fx, 255), FT_OK);
    fx.scale_bits = 31;
    assert_int_equal(ft_fixed_check(&fx, 2), FT_EINVAL);
    fx.scale_bits = 20;
    fx.clip = NAN;
    assert_int_equal(ft_fixed_check(&fx, 2), FT_EINVAL);
}

static void test_threshold(void **state)
{
    (void)state;
    assert_int_equal(ft_sa_threshold(0.5, 2), 2);
    assert_int_equal(ft_sa_threshold(0.5, 4), 3);
    assert_int_equal(ft_sa_threshold(0.5, 5), 3);
    assert_int_equal(ft_sa_threshold(0.5, 10), 6);
    assert_int_equal(ft_sa_threshold(0.01, 10), 2);  /* at least 2 */
    assert_int_equal(ft_sa_threshold(0.99, 10), 10); /* at most n */
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gf256_hand_worked),
        cmocka_unit_test(test_shamir_hand_worked),
        cmocka_unit_test(test_shamir_any_t),
        cmocka_unit_test(test_shamir_every_subset),
        cmocka_unit_test(test_shamir_bad_arguments),
        cmocka_unit_test(test_mask_is_chacha20),
        cmocka_unit_test(test_agree_symmetric),
        cmocka_unit_test(test_masks_cancel_and_dropout),
        cmocka_unit_test(test_share_tamper_rejected),
        cmocka_unit_test(test_fixed_round_trip),
        cmocka_unit_test(test_fixed_clip_and_nonfinite),
        cmocka_unit_test(test_fixed_check_boundary),
        cmocka_unit_test(test_threshold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
