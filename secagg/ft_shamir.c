/* ft_shamir: Shamir sharing over GF(2^8) (see ft_shamir.h). */
#include "ft_shamir.h"

#include "ft_error.h"

#include <sodium.h>
#include <string.h>

uint8_t ft_gf256_mul(uint8_t a, uint8_t b)
{
    uint8_t p = 0;
    for (int i = 0; i < 8; i++) {
        p ^= (uint8_t)(-(b & 1) & a);
        uint8_t hi = (uint8_t)(-(a >> 7)); /* 0xff when the top bit is set */
        a = (uint8_t)((a << 1) ^ (hi & 0x1b));
        b >>= 1;
    }
    return p;
}

/* a^254 = a^-1 in GF(2^8) (0 for 0). */
static uint8_t gf_inv(uint8_t a)
{
    uint8_t r = 1, x = a;
    for (int e = 254; e; e >>= 1) {
        if (e & 1)
            r = ft_gf256_mul(r, x);
        x = ft_gf256_mul(x, x);
    }
    return r;
}

static int points_ok(const uint8_t *xs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (!xs[i])
            return 0;
        for (unsigned j = 0; j < i; j++)
            if (xs[j] == xs[i])
                return 0;
    }
    return 1;
}

int ft_shamir_split(const uint8_t *secret, size_t len, unsigned t, unsigned n, const uint8_t *xs,
                    uint8_t *shares)
{
    if (t < 1 || t > n || n > FT_SHAMIR_MAX_N || !points_ok(xs, n))
        return ft_error_set(FT_EINVAL,
                            "shamir: need 1 <= t = %u <= n = %u <= %d distinct nonzero "
                            "points",
                            t, n, FT_SHAMIR_MAX_N);
    uint8_t coef[FT_SHAMIR_MAX_N]; /* f's coefficients 1..t-1 for one byte */
    for (size_t b = 0; b < len; b++) {
        randombytes_buf(coef, t - 1 ? t - 1 : 1);
        for (unsigned j = 0; j < n; j++) {
            /* Horner: f(x) = s + x (c1 + x (c2 + ...)) */
            uint8_t y = 0;
            for (unsigned k = t - 1; k >= 1; k--)
                y = ft_gf256_mul((uint8_t)(y ^ coef[k - 1]), xs[j]);
            shares[(size_t)j * len + b] = (uint8_t)(y ^ secret[b]);
        }
    }
    sodium_memzero(coef, sizeof coef);
    return FT_OK;
}

int ft_shamir_combine(const uint8_t *xs, const uint8_t *shares, unsigned k, unsigned t, size_t len,
                      uint8_t *secret)
{
    if (k < t)
        return ft_error_set(FT_ESTATE, "shamir: %u shares, %u needed", k, t);
    if (t < 1 || t > FT_SHAMIR_MAX_N || !points_ok(xs, t))
        return ft_error_set(FT_EINVAL, "shamir: a zero or repeated share point");
    uint8_t lag[FT_SHAMIR_MAX_N]; /* Lagrange basis at 0: prod_{j!=i} x_j / (x_j - x_i) */
    for (unsigned i = 0; i < t; i++) {
        uint8_t num = 1, den = 1;
        for (unsigned j = 0; j < t; j++)
            if (j != i) {
                num = ft_gf256_mul(num, xs[j]);
                den = ft_gf256_mul(den, (uint8_t)(xs[j] ^ xs[i]));
            }
        lag[i] = ft_gf256_mul(num, gf_inv(den));
    }
    for (size_t b = 0; b < len; b++) {
        uint8_t s = 0;
        for (unsigned i = 0; i < t; i++)
            s ^= ft_gf256_mul(lag[i], shares[(size_t)i * len + b]);
        secret[b] = s;
    }
    return FT_OK;
}
