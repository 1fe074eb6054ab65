/* ft_secagg: key agreement, masks and share encryption for secure aggregation (see
 * ft_secagg.h for the protocol and the constructions). */
#include "ft_secagg.h"

#include "ft_error.h"

#include <assert.h>
#include <math.h>
#include <sodium.h>
#include <string.h>

int ft_sa_init(void)
{
    return sodium_init() < 0 ? ft_error_set(FT_ECRYPTO, "libsodium failed to initialise") : FT_OK;
}

int ft_sa_secrets_new(ft_sa_secrets_t *s)
{
    int rc = ft_sa_init();
    if (rc != FT_OK)
        return rc;
    if (crypto_kx_keypair(s->c_pk, s->c_sk) != 0 || crypto_kx_keypair(s->s_pk, s->s_sk) != 0)
        return ft_error_set(FT_ECRYPTO, "secure aggregation: key generation failed");
    randombytes_buf(s->b, sizeof s->b);
    return FT_OK;
}

void ft_sa_secrets_wipe(ft_sa_secrets_t *s)
{
    sodium_memzero(s, sizeof *s);
}

int ft_sa_public_key(const uint8_t sk[FT_SA_KEY_LEN], uint8_t pk[FT_SA_KEY_LEN])
{
    return crypto_scalarmult_base(pk, sk) == 0
               ? FT_OK
               : ft_error_set(FT_ECRYPTO, "secure aggregation: not an X25519 secret key");
}

void ft_sa_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

int ft_sa_agree(const uint8_t my_sk[FT_SA_KEY_LEN], const uint8_t my_pk[FT_SA_KEY_LEN],
                const uint8_t their_pk[FT_SA_KEY_LEN], const char *purpose,
                uint8_t out[FT_SA_KEY_LEN])
{
    uint8_t q[crypto_scalarmult_BYTES];
    if (crypto_scalarmult(q, my_sk, their_pk) != 0) {
        memset(out, 0, FT_SA_KEY_LEN);
        return ft_error_set(FT_ECRYPTO, "secure aggregation: a public key of low order");
    }
    int mine_first = memcmp(my_pk, their_pk, FT_SA_KEY_LEN) < 0;
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, FT_SA_KEY_LEN);
    crypto_generichash_update(&h, q, sizeof q);
    crypto_generichash_update(&h, mine_first ? my_pk : their_pk, FT_SA_KEY_LEN);
    crypto_generichash_update(&h, mine_first ? their_pk : my_pk, FT_SA_KEY_LEN);
    crypto_generichash_update(&h, (const uint8_t *)purpose, strlen(purpose));
    crypto_generichash_final(&h, out, FT_SA_KEY_LEN);
    sodium_memzero(q, sizeof q);
    return FT_OK;
}

void ft_sa_mask(uint32_t *y, size_t N, const uint8_t seed[FT_SA_KEY_LEN], int sign, uint32_t round,
                uint32_t attempt)
{
    assert(sign == 1 || sign == -1);
    enum { WORDS = 1024 }; /* 4 KiB: 64 ChaCha20 blocks */
    static const uint8_t zero[WORDS * 4];
    uint8_t ks[WORDS * 4];
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
    for (int i = 0; i < 4; i++) {
        nonce[i] = (uint8_t)(round >> (8 * i));
        nonce[4 + i] = (uint8_t)(attempt >> (8 * i));
    }
    for (size_t at = 0; at < N; at += WORDS) {
        size_t n = N - at < WORDS ? N - at : WORDS;
        /* block counter at/16: 16 words per 64-byte block, chunks are block-aligned */
        crypto_stream_chacha20_xor_ic(ks, zero, n * 4, nonce, (uint64_t)(at / 16), seed);
        for (size_t i = 0; i < n; i++) {
            uint32_t r = (uint32_t)ks[4 * i] | (uint32_t)ks[4 * i + 1] << 8 |
                         (uint32_t)ks[4 * i + 2] << 16 | (uint32_t)ks[4 * i + 3] << 24;
            y[at + i] = sign > 0 ? y[at + i] + r : y[at + i] - r;
        }
    }
    sodium_memzero(ks, sizeof ks);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Associated data: version tag, round, attempt, from, to. */
static void make_ad(uint8_t ad[20], uint32_t round, uint32_t attempt, uint32_t from, uint32_t to)
{
    memcpy(ad, "sa01", 4);
    put_u32(ad + 4, round);
    put_u32(ad + 8, attempt);
    put_u32(ad + 12, from);
    put_u32(ad + 16, to);
}

void ft_sa_share_seal(const ft_sa_share_t *share, const uint8_t key[FT_SA_KEY_LEN], uint32_t round,
                      uint32_t attempt, uint8_t out[FT_SA_SHARE_LEN])
{
    uint8_t pt[FT_SA_SHARE_PT], ad[20];
    put_u32(pt, share->from);
    put_u32(pt + 4, share->to);
    memcpy(pt + 8, share->s_sk, FT_SA_KEY_LEN);
    memcpy(pt + 8 + FT_SA_KEY_LEN, share->b, FT_SA_KEY_LEN);
    make_ad(ad, round, attempt, share->from, share->to);
    uint8_t *nonce = out, *ct = out + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &clen, pt, sizeof pt, ad, sizeof ad, NULL, nonce,
                                               key);
    assert(clen == FT_SA_SHARE_PT + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    sodium_memzero(pt, sizeof pt);
}

int ft_sa_share_open(const uint8_t rec[FT_SA_SHARE_LEN], const uint8_t key[FT_SA_KEY_LEN],
                     uint32_t round, uint32_t attempt, uint32_t from, uint32_t to,
                     ft_sa_share_t *share)
{
    uint8_t pt[FT_SA_SHARE_PT], ad[20];
    make_ad(ad, round, attempt, from, to);
    const uint8_t *nonce = rec, *ct = rec + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    unsigned long long plen = 0;
    memset(share, 0, sizeof *share);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            pt, &plen, NULL, ct, FT_SA_SHARE_LEN - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad,
            sizeof ad, nonce, key) != 0 ||
        plen != FT_SA_SHARE_PT || get_u32(pt) != from || get_u32(pt + 4) != to) {
        sodium_memzero(pt, sizeof pt);
        return ft_error_set(FT_ECRYPTO,
                            "share from client %u to client %u: authentication failed (tampered "
                            "with, or not for this round)",
                            from, to);
    }
    share->from = from;
    share->to = to;
    memcpy(share->s_sk, pt + 8, FT_SA_KEY_LEN);
    memcpy(share->b, pt + 8 + FT_SA_KEY_LEN, FT_SA_KEY_LEN);
    sodium_memzero(pt, sizeof pt);
    return FT_OK;
}

unsigned ft_sa_threshold(double frac, unsigned n)
{
    assert(n >= 2);
    double t = floor(frac * (double)n) + 1;
    if (t < 2)
        t = 2;
    if (t > n)
        t = n;
    return (unsigned)t;
}
