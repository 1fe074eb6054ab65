/* ft_shamir: Shamir t-of-n secret sharing over GF(2^8), byte by byte.
 *
 * Shamir, "How to share a secret", CACM 1979. Each byte s of a secret is the constant
 * term of a random polynomial f of degree t-1 over GF(2^8) (the AES field,
 * x^8 + x^4 + x^3 + x + 1); holder j gets f(x_j) at its own nonzero point x_j. Any t
 * shares give f(0) by Lagrange interpolation; t-1 shares are uniformly distributed
 * whatever the secret (information-theoretic). Points are bytes, so at most 255
 * holders: secure aggregation caps a round at FT_SHAMIR_MAX_N clients. The field
 * arithmetic is branch-free (no table indexed by a secret). Used by ft_secagg for
 * the self-mask seeds and the mask keys of Bonawitz et al. CCS 2017. */
#ifndef FT_SHAMIR_H
#define FT_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#define FT_SHAMIR_MAX_N 255 /* holders: the nonzero points of GF(2^8) */

/* Splits secret[0..len) into n shares (shares: n×len, row j for holder point xs[j]),
 * any t of which reconstruct it. Coefficients come from libsodium's randombytes.
 * FT_EINVAL (nothing written) unless 1 <= t <= n <= 255 and the xs are nonzero and
 * distinct. */
int ft_shamir_split(const uint8_t *secret, size_t len, unsigned t, unsigned n,
                    const uint8_t *xs /* n */, uint8_t *shares /* n×len */);

/* Reconstructs the secret (len bytes) from k shares (rows of shares, k×len, at the
 * points xs[0..k)) of a t-of-n sharing, using the first t. FT_ESTATE when k < t (a
 * t-1 subset says nothing about the secret, so none is attempted); FT_EINVAL for
 * a zero or repeated point among the first t; secret is then unchanged. */
int ft_shamir_combine(const uint8_t *xs /* k */, const uint8_t *shares /* k×len */, unsigned k,
                      unsigned t, size_t len, uint8_t *secret /* len */);

/* GF(2^8) product (exposed for the tests' hand-worked values). */
uint8_t ft_gf256_mul(uint8_t a, uint8_t b);

#endif
