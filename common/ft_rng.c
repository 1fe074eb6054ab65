/* ft_rng: Philox4x32-10 block function and the distributions built on it. */
#include "ft_rng.h"

#include <assert.h>
#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void philox_round(uint32_t ctr[4], const uint32_t key[2])
{
    uint64_t p0 = (uint64_t)PHILOX_M0 * ctr[0];
    uint64_t p1 = (uint64_t)PHILOX_M1 * ctr[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t out[4] = {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};
    ctr[0] = out[0];
    ctr[1] = out[1];
    ctr[2] = out[2];
    ctr[3] = out[3];
}

void ft_philox4x32(const uint32_t in[4], const uint32_t key_in[2], uint32_t out[4])
{
    uint32_t ctr[4] = {in[0], in[1], in[2], in[3]};
    uint32_t key[2] = {key_in[0], key_in[1]};
    for (int i = 0; i < 10; i++) {
        philox_round(ctr, key);
        key[0] += PHILOX_W0;
        key[1] += PHILOX_W1;
    }
    out[0] = ctr[0];
    out[1] = ctr[1];
    out[2] = ctr[2];
    out[3] = ctr[3];
}

void ft_rng_init(ft_rng_t *rng, uint64_t seed, uint32_t round, uint32_t client, uint32_t purpose)
{
    rng->key[0] = (uint32_t)seed;
    rng->key[1] = (uint32_t)(seed >> 32);
    rng->ctr[0] = 0;
    rng->ctr[1] = round;
    rng->ctr[2] = client;
    rng->ctr[3] = purpose;
    rng->used = 4;
}

uint32_t ft_rng_u32(ft_rng_t *rng)
{
    if (rng->used == 4) {
        ft_philox4x32(rng->ctr, rng->key, rng->buf);
        rng->ctr[0]++;
        rng->used = 0;
    }
    return rng->buf[rng->used++];
}

uint64_t ft_rng_u64(ft_rng_t *rng)
{
    uint64_t hi = ft_rng_u32(rng);
    return (hi << 32) | ft_rng_u32(rng);
}

double ft_rng_uniform(ft_rng_t *rng)
{
    return (double)(ft_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
}

uint32_t ft_rng_below(ft_rng_t *rng, uint32_t n)
{
    assert(n > 0);
    uint64_t m = (uint64_t)ft_rng_u32(rng) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)ft_rng_u32(rng) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double ft_rng_normal(ft_rng_t *rng)
{
    double u1 = ft_rng_uniform(rng);
    double u2 = ft_rng_uniform(rng);
    /* 1 - u1 lies in (0, 1], so the log is finite. */
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

double ft_rng_gamma(ft_rng_t *rng, double shape)
{
    assert(shape > 0);
    if (shape < 1.0) {
        /* Gamma(a) = Gamma(a + 1) * U^(1/a) (Marsaglia-Tsang, section 6). */
        double u = ft_rng_uniform(rng);
        return ft_rng_gamma(rng, shape + 1.0) * pow(1.0 - u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = ft_rng_normal(rng);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = ft_rng_uniform(rng);
        if (u < 1.0 - 0.0331 * x * x * x * x)
            return d * v;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v;
    }
}

void ft_rng_shuffle_u32(ft_rng_t *rng, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = ft_rng_below(rng, (uint32_t)i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
