/* ft_secagg: the cryptography of secure aggregation (Bonawitz et al., "Practical
 * Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017, Fig. 4, the
 * semi-honest variant: no signatures, no consistency round), shared by the client
 * and the coordinator. Which messages carry what is coordinator/ft_coord_secagg.c
 * and client/ft_client_secagg.c; this file holds only the maths:
 *
 *   - two X25519 key pairs per client and round: (c_pk, c_sk) to encrypt the shares,
 *     (s_pk, s_sk) for the pairwise masks (libsodium crypto_kx_keypair);
 *   - agreement KA(sk_u, pk_v) = BLAKE2b-256(X25519(sk_u, pk_v) || pk_lo || pk_hi ||
 *     purpose), symmetric in u and v (pk_lo/pk_hi: the two public keys in byte order);
 *   - masks: PRG(seed) = ChaCha20 keystream (crypto_stream_chacha20, nonce = round and
 *     attempt) read as little-endian uint32, added to or subtracted from a ring vector
 *     (Z_2^32); y_u = x_u + PRG(b_u) + Σ_{v∈U2, v≠u} ±PRG(KA(s_sk_u, s_pk_v)), + when
 *     u < v (client ids), − otherwise, so the pairwise terms cancel in Σ_u y_u;
 *   - shares of s_sk_u and b_u (Shamir t-of-n, ft_shamir) to each v, encrypted with
 *     XChaCha20-Poly1305 (crypto_aead_xchacha20poly1305_ietf) under KA(c_sk_u, c_pk_v),
 *     with (version, round, attempt, u, v) as associated data: a share that is
 *     tampered with, replayed from another round or redirected fails to decrypt.
 * Masks cost no allocation (a 4 KiB keystream chunk on the stack). */
#ifndef FT_SECAGG_H
#define FT_SECAGG_H

#include <stddef.h>
#include <stdint.h>

#define FT_SA_KEY_LEN   32                         /* X25519 keys, seeds, agreed keys */
#define FT_SA_SHARE_PT  (8 + 2 * FT_SA_KEY_LEN)    /* u, v, share of s_sk, share of b */
#define FT_SA_SHARE_LEN (24 + FT_SA_SHARE_PT + 16) /* nonce || ciphertext || tag */
#define FT_SA_MAX_N     255                        /* clients in one aggregation (ft_shamir) */

/* One client's secrets for one round. */
typedef struct {
    uint8_t c_pk[FT_SA_KEY_LEN]; /* encryption key pair: public */
    uint8_t c_sk[FT_SA_KEY_LEN]; /* ... secret */
    uint8_t s_pk[FT_SA_KEY_LEN]; /* mask key pair: public */
    uint8_t s_sk[FT_SA_KEY_LEN]; /* ... secret */
    uint8_t b[FT_SA_KEY_LEN];    /* self-mask seed b_u */
} ft_sa_secrets_t;

/* What a share record holds once decrypted. */
typedef struct {
    uint32_t from;               /* u: whose secrets these are shares of */
    uint32_t to;                 /* v: the holder */
    uint8_t s_sk[FT_SA_KEY_LEN]; /* v's share of s_sk_u */
    uint8_t b[FT_SA_KEY_LEN];    /* v's share of b_u */
} ft_sa_share_t;

/* libsodium's sodium_init (idempotent). FT_ECRYPTO if it fails. */
int ft_sa_init(void);

/* Fresh key pairs and self-mask seed. FT_ECRYPTO. */
int ft_sa_secrets_new(ft_sa_secrets_t *s);
/* Wipes *s. */
void ft_sa_secrets_wipe(ft_sa_secrets_t *s);

/* pk = the X25519 public key of sk. FT_ECRYPTO. */
int ft_sa_public_key(const uint8_t sk[FT_SA_KEY_LEN], uint8_t pk[FT_SA_KEY_LEN]);
/* Zeroes n bytes at p in a way the compiler keeps (sodium_memzero). */
void ft_sa_wipe(void *p, size_t n);

/* Purposes of an agreed key (domain separation). */
#define FT_SA_PURPOSE_ENC  "fedtail-secagg-enc-v1"
#define FT_SA_PURPOSE_MASK "fedtail-secagg-mask-v1"

/* out = KA(my_sk, their_pk) for purpose (see above); my_pk is my_sk's public key.
 * FT_ECRYPTO for a low-order (malicious) public key. */
int ft_sa_agree(const uint8_t my_sk[FT_SA_KEY_LEN], const uint8_t my_pk[FT_SA_KEY_LEN],
                const uint8_t their_pk[FT_SA_KEY_LEN], const char *purpose,
                uint8_t out[FT_SA_KEY_LEN]);

/* y[i] += sign · PRG(seed)[i] mod 2^32 for i < N (sign = +1 or -1); the keystream's
 * nonce is (round, attempt). */
void ft_sa_mask(uint32_t *y /* N */, size_t N, const uint8_t seed[FT_SA_KEY_LEN], int sign,
                uint32_t round, uint32_t attempt);

/* Encrypts share under key (KA of the two encryption keys) into out
 * (FT_SA_SHARE_LEN bytes) with (round, attempt, from, to) as associated data. */
void ft_sa_share_seal(const ft_sa_share_t *share, const uint8_t key[FT_SA_KEY_LEN], uint32_t round,
                      uint32_t attempt, uint8_t out[FT_SA_SHARE_LEN]);

/* Decrypts a share record expected from `from` to `to` in (round, attempt).
 * FT_ECRYPTO ("share from client u: authentication failed") when it was tampered
 * with, encrypted under another key or for another round, or names other clients
 * than it was sent as; *share is then zeroed. */
int ft_sa_share_open(const uint8_t rec[FT_SA_SHARE_LEN], const uint8_t key[FT_SA_KEY_LEN],
                     uint32_t round, uint32_t attempt, uint32_t from, uint32_t to,
                     ft_sa_share_t *share);

/* Threshold t for n clients holding shares: floor(frac · n) + 1 clamped to [2, n]
 * (n >= 2); frac = security.secagg_threshold. */
unsigned ft_sa_threshold(double frac, unsigned n);

#endif
