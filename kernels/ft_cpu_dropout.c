/* ft_cpu_dropout: the cpu back end's dropout. The keep decisions come from a
 * counter-based RNG, Philox4x32-10, and are exactly ft_dropout_keep's (ft_ops.c, the
 * reference back end's rule), so a mask depends only on (seed, counter, element) and
 * not on the back end; 16 Philox blocks (64 decisions) are drawn per call, by an AVX2
 * build where the CPU has it. */
#include <math.h>
#include <string.h>

#include "ft_cpu_internal.h"
#include "ft_ops.h"

/* Philox4x32-10 (Salmon et al. SC'11), the same function as common's
 * ft_philox4x32, on 16 counters at once in structure-of-arrays form: block j has
 * counter words (ctr0, ctr1, lo(b0+j), hi(b0+j)). out[4j+w] is word w of block j,
 * i.e. the word of element 4(b0+j)+w. MULHI(a, M) is the high half of the 64-bit
 * product a*M. Two builds: gcc does not vectorise the 32x32->64 multiply, so the
 * AVX2 build computes the high half from 16-bit pieces in 32-bit lanes (Warren,
 * Hacker's Delight, 8-2 "mulhu"), 3.5x faster than the scalar build (4.7 vs 16 ns
 * per block on Zen 4), which plain SSE2 would make slower instead. */
#define PHILOX16_BODY(MULHI)                                                                       \
    uint32_t c0[16], c1[16], c2[16], c3[16];                                                       \
    for (int j = 0; j < 16; j++) {                                                                 \
        c0[j] = ctr0;                                                                              \
        c1[j] = ctr1;                                                                              \
        c2[j] = (uint32_t)(b0 + (uint64_t)j);                                                      \
        c3[j] = (uint32_t)((b0 + (uint64_t)j) >> 32);                                              \
    }                                                                                              \
    uint32_t k0 = key_in[0], k1 = key_in[1];                                                       \
    for (int r = 0; r < 10; r++) {                                                                 \
        for (int j = 0; j < 16; j++) {                                                             \
            uint32_t h0 = MULHI(c0[j], 0xD2511F53u), h1 = MULHI(c2[j], 0xCD9E8D57u);               \
            uint32_t l0 = 0xD2511F53u * c0[j], l1 = 0xCD9E8D57u * c2[j];                           \
            c0[j] = h1 ^ c1[j] ^ k0;                                                               \
            c2[j] = h0 ^ c3[j] ^ k1;                                                               \
            c1[j] = l1;                                                                            \
            c3[j] = l0;                                                                            \
        }                                                                                          \
        k0 += 0x9E3779B9u;                                                                         \
        k1 += 0xBB67AE85u;                                                                         \
    }                                                                                              \
    for (int j = 0; j < 16; j++) {                                                                 \
        out[4 * j + 0] = c0[j];                                                                    \
        out[4 * j + 1] = c1[j];                                                                    \
        out[4 * j + 2] = c2[j];                                                                    \
        out[4 * j + 3] = c3[j];                                                                    \
    }

static inline uint32_t mulhi_u64(uint32_t a, uint32_t m)
{
    return (uint32_t)(((uint64_t)a * m) >> 32);
}

static inline uint32_t mulhi_u16(uint32_t a, uint32_t m)
{
    uint32_t al = a & 0xffffu, ah = a >> 16, ml = m & 0xffffu, mh = m >> 16;
    uint32_t t = al * ml;
    uint32_t m1 = ah * ml + (t >> 16);
    uint32_t m2 = al * mh + (m1 & 0xffffu);
    return ah * mh + (m1 >> 16) + (m2 >> 16);
}

static void philox16_scalar(uint32_t ctr0, uint32_t ctr1, uint64_t b0, const uint32_t key_in[2],
                            uint32_t *restrict out /* 64 */)
{
    PHILOX16_BODY(mulhi_u64)
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define FT_HAVE_PHILOX16_AVX2 1
__attribute__((target("avx2"))) static void philox16_avx2(uint32_t ctr0, uint32_t ctr1, uint64_t b0,
                                                          const uint32_t key_in[2],
                                                          uint32_t *restrict out /* 64 */)
{
    PHILOX16_BODY(mulhi_u16)
}
#endif

typedef void (*philox16_fn)(uint32_t, uint32_t, uint64_t, const uint32_t *, uint32_t *);

/* The fastest philox16 build this CPU runs. */
static philox16_fn philox16_pick(void)
{
#ifdef FT_HAVE_PHILOX16_AVX2
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        return philox16_avx2;
#endif
    return philox16_scalar;
}

/* Applies 64 (or m < 64 at the end) decisions: mask = keep ? scale : 0, y = x mask. */
static void dropout_apply(size_t m, const uint32_t *restrict words, uint32_t thr, int keep_none,
                          float scale, const float *restrict x, float *restrict y,
                          float *restrict mask)
{
    float k[64];
    for (int e = 0; e < 64; e++)
        k[e] = words[e] >= thr ? scale : 0.0f;
    if (keep_none)
        for (int e = 0; e < 64; e++)
            k[e] = 0.0f;
    for (size_t e = 0; e < m; e++) {
        mask[e] = k[e];
        y[e] = x[e] * k[e];
    }
}

/* Element i keeps iff word i%4 of block i/4 >= p 2^32 (exactly ft_dropout_keep);
 * 64 elements per philox16 call. y may alias x. */
void ft_cpu_dropout_forward(size_t n, float p, uint64_t seed, uint64_t counter, const float *x,
                            float *y, float *mask)
{
    const float scale = 1.0f / (1.0f - p);
    /* p 2^32 is exact in double; word >= p 2^32 <=> word >= ceil(p 2^32) */
    const double thr_d = ceil((double)p * 4294967296.0);
    const int keep_none = thr_d > 4294967295.0;
    const uint32_t thr = keep_none ? 0 : (uint32_t)thr_d;
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const philox16_fn philox16 = philox16_pick();
    uint32_t words[64];
    for (size_t i0 = 0; i0 < n; i0 += 64) {
        philox16((uint32_t)counter, (uint32_t)(counter >> 32), (uint64_t)(i0 / 4), key, words);
        size_t m = n - i0 < 64 ? n - i0 : 64;
        if (x == y) {
            float tmp[64];
            memcpy(tmp, x + i0, sizeof(float) * m);
            dropout_apply(m, words, thr, keep_none, scale, tmp, y + i0, mask + i0);
        } else {
            dropout_apply(m, words, thr, keep_none, scale, x + i0, y + i0, mask + i0);
        }
    }
}

void ft_cpu_dropout_backward(size_t n, const float *restrict dy, const float *restrict mask,
                             float *restrict dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * mask[i];
}
