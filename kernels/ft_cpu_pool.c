/* ft_cpu_pool: the cpu back end's pooling: max pooling (a 4-lane vector path for the
 * models' 2x2/2 windows, a plain loop for the rest), max pooling fused after a ReLU,
 * and global average pooling. Outside the GEMMs the time is memory traffic, so a ReLU
 * before a maxpool is fused into the pool: one pass fewer over the conv output each
 * way. Scan order and NaN rule are the reference's (ft_ops_reference.c). */
#include <string.h>

#include "ft_cpu_internal.h"
#include "ft_ops.h"

/* Same scan order and NaN rule as the reference: first maximum wins, NaN beats
 * numbers. */
static inline void maxpool_plane(int H, int W, int k, int stride, int Ho, int Wo,
                                 const float *restrict xp, float *restrict yp, int32_t *restrict ap)
{
    (void)H;
    for (int oh = 0; oh < Ho; oh++)
        for (int ow = 0; ow < Wo; ow++) {
            int best = oh * stride * W + ow * stride;
            float m = xp[best];
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    int at = (oh * stride + i) * W + ow * stride + j;
                    float v = xp[at];
                    if (v > m || (v != v && m == m)) {
                        m = v;
                        best = at;
                    }
                }
            yp[oh * Wo + ow] = m;
            ap[oh * Wo + ow] = best;
        }
}

/* The models' pool, 2x2 windows at stride 2, four windows per step in 4-lane vectors
 * (gcc's vectoriser left the generic loop's window scan mostly scalar). Same rule as
 * maxpool_plane: the window is scanned row by row, a value replaces the maximum when
 * it is larger, or NaN over a number. Lane masks are all-ones or zero, so selects are
 * bitwise blends. */
typedef int32_t ft_i4 __attribute__((vector_size(16), aligned(4), may_alias));

static inline ft_i4 blend_i4(ft_i4 take, ft_i4 a, ft_i4 b) /* take ? a : b */
{
    return (take & a) | (~take & b);
}

static inline void window_step(ft_f4 v, ft_i4 at, ft_f4 *m, ft_i4 *best)
{
    ft_i4 take = (v > *m) | ((v != v) & (*m == *m));
    *m = (ft_f4)blend_i4(take, (ft_i4)v, (ft_i4)*m);
    *best = blend_i4(take, at, *best);
}

static inline void maxpool2x2_plane(int W, int Ho, int Wo, int relu, const float *restrict xp,
                                    float *restrict yp, int32_t *restrict ap)
{
    /* Lane shuffles with __builtin_shufflevector (GCC >= 12 and clang alike; GCC's
     * __builtin_shuffle does not exist in clang, which builds the fuzz targets). */
    const ft_i4 even = {0, 2, 4, 6};
    for (int oh = 0; oh < Ho; oh++) {
        const float *r0 = xp + (size_t)2 * oh * W, *r1 = r0 + W;
        float *yr = yp + (size_t)oh * Wo;
        int32_t *ar = ap + (size_t)oh * Wo;
        int ow = 0;
        for (; ow + 4 <= Wo; ow += 4) {
            ft_f4 a0 = *(const ft_f4 *)(r0 + 2 * ow), a1 = *(const ft_f4 *)(r0 + 2 * ow + 4);
            ft_f4 b0 = *(const ft_f4 *)(r1 + 2 * ow), b1 = *(const ft_f4 *)(r1 + 2 * ow + 4);
            ft_i4 at = 2 * oh * W + 2 * ow + even;
            ft_f4 m = __builtin_shufflevector(a0, a1, 0, 2, 4, 6);
            ft_i4 best = at;
            window_step(__builtin_shufflevector(a0, a1, 1, 3, 5, 7), at + 1, &m, &best);
            window_step(__builtin_shufflevector(b0, b1, 0, 2, 4, 6), at + W, &m, &best);
            window_step(__builtin_shufflevector(b0, b1, 1, 3, 5, 7), at + W + 1, &m, &best);
            if (relu)
                m = (ft_f4)(~(m <= 0.0f) & (ft_i4)m); /* NaN stays */
            *(ft_f4 *)(yr + ow) = m;
            *(ft_i4 *)(ar + ow) = best;
        }
        for (; ow < Wo; ow++) {
            int at = 2 * oh * W + 2 * ow, best = at;
            float m = xp[at];
            const int offs[3] = {1, W, W + 1};
            for (int i = 0; i < 3; i++) {
                float v = xp[at + offs[i]];
                if (v > m || (v != v && m == m)) {
                    m = v;
                    best = at + offs[i];
                }
            }
            yr[ow] = relu && m <= 0.0f ? 0.0f : m;
            ar[ow] = best;
        }
    }
}

/* Backward of a 2x2/2 pool whose windows tile the plane exactly (H and W even): each
 * input belongs to one window, so the plane is written once, value or 0, with no
 * zeroing pass. val = d, or 0 where the fused ReLU's output y is <= 0. */
static inline void maxpool2x2_backward_plane(int W, int Ho, int Wo, const float *restrict y,
                                             const float *restrict d, const int32_t *restrict a,
                                             float *restrict g)
{
    const ft_i4 even = {0, 2, 4, 6};
    for (int oh = 0; oh < Ho; oh++) {
        float *g0 = g + (size_t)2 * oh * W, *g1 = g0 + W;
        const float *dr = d + (size_t)oh * Wo, *yr = y ? y + (size_t)oh * Wo : NULL;
        const int32_t *ar = a + (size_t)oh * Wo;
        int ow = 0;
        for (; ow + 4 <= Wo; ow += 4) {
            ft_i4 val = *(const ft_i4 *)(dr + ow), am = *(const ft_i4 *)(ar + ow);
            if (yr)
                val &= ~(*(const ft_f4 *)(yr + ow) <= 0.0f);
            ft_i4 at = 2 * oh * W + 2 * ow + even;
            ft_i4 e0 = (am == at) & val, o0 = (am == at + 1) & val;
            ft_i4 e1 = (am == at + W) & val, o1 = (am == at + W + 1) & val;
            /* interleave (e, o) lane pairs back into two input rows */
            *(ft_f4 *)(g0 + 2 * ow) = (ft_f4)__builtin_shufflevector(e0, o0, 0, 4, 1, 5);
            *(ft_f4 *)(g0 + 2 * ow + 4) = (ft_f4)__builtin_shufflevector(e0, o0, 2, 6, 3, 7);
            *(ft_f4 *)(g1 + 2 * ow) = (ft_f4)__builtin_shufflevector(e1, o1, 0, 4, 1, 5);
            *(ft_f4 *)(g1 + 2 * ow + 4) = (ft_f4)__builtin_shufflevector(e1, o1, 2, 6, 3, 7);
        }
        for (; ow < Wo; ow++) {
            float v = yr && yr[ow] <= 0.0f ? 0.0f : dr[ow];
            int at = 2 * oh * W + 2 * ow;
            g0[2 * ow] = ar[ow] == at ? v : 0.0f;
            g0[2 * ow + 1] = ar[ow] == at + 1 ? v : 0.0f;
            g1[2 * ow] = ar[ow] == at + W ? v : 0.0f;
            g1[2 * ow + 1] = ar[ow] == at + W + 1 ? v : 0.0f;
        }
    }
}

/* Max pooling of B·C planes; with relu, each output plane then goes through the
 * ReLU while it is still in L1. */
static void maxpool_planes(int B, int C, int H, int W, int k, int stride, int relu, const float *x,
                           float *y, int32_t *argmax)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    size_t in = (size_t)H * W, out = (size_t)Ho * Wo;
    for (size_t plane = 0; plane < (size_t)B * C; plane++) {
        float *yp = y + plane * out;
        if (k == 2 && stride == 2) {
            maxpool2x2_plane(W, Ho, Wo, relu, x + plane * in, yp, argmax + plane * out);
            continue;
        }
        maxpool_plane(H, W, k, stride, Ho, Wo, x + plane * in, yp, argmax + plane * out);
        if (relu)
            for (size_t o = 0; o < out; o++)
                yp[o] = yp[o] <= 0.0f ? 0.0f : yp[o]; /* NaN stays */
    }
}

void ft_cpu_maxpool2d_forward(int B, int C, int H, int W, int k, int stride, const float *x,
                              float *y, int32_t *argmax)
{
    maxpool_planes(B, C, H, W, k, stride, 0, x, y, argmax);
}

/* Pool backward of one plane: g (in floats) overwritten from d, a (out each). With y
 * (the fused ReLU's output), a window's gradient is dropped where y <= 0. Zeroing
 * plane by plane keeps the plane in L1 for the scatter that follows; one memset of
 * the whole tensor first pushed it out to L2 or memory. */
static inline void maxpool_backward_plane(size_t in, size_t out, const float *restrict y,
                                          const float *restrict d, const int32_t *restrict a,
                                          float *restrict g)
{
    memset(g, 0, sizeof(float) * in);
    if (y) {
        for (size_t o = 0; o < out; o++) /* branch-free: the sign of y is a coin toss */
            g[a[o]] += y[o] <= 0.0f ? 0.0f : d[o];
    } else {
        for (size_t o = 0; o < out; o++)
            g[a[o]] += d[o];
    }
}

/* One plane's pool backward by the fastest route; y: the fused ReLU's output or NULL. */
static inline void pool_backward_plane(int H, int W, int k, int stride, const float *y,
                                       const float *d, const int32_t *a, float *g)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    /* below 8 columns (lenet5's 8x8 conv2 output) the memset and scatter measured faster */
    if (k == 2 && stride == 2 && H % 2 == 0 && W % 2 == 0 && Wo >= 8)
        maxpool2x2_backward_plane(W, Ho, Wo, y, d, a, g);
    else
        maxpool_backward_plane((size_t)H * W, (size_t)Ho * Wo, y, d, a, g);
}

void ft_cpu_maxpool2d_backward(int B, int C, int H, int W, int k, int stride, const float *dy,
                               const int32_t *argmax, float *dx)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    size_t in = (size_t)H * W, out = (size_t)Ho * Wo;
    for (size_t plane = 0; plane < (size_t)B * C; plane++)
        pool_backward_plane(H, W, k, stride, NULL, dy + plane * out, argmax + plane * out,
                            dx + plane * in);
}

/* ReLU + maxpool in one pass: the pool runs on x and the ReLU on its outputs (a
 * quarter as many for 2x2 windows); the unfused pair reads and writes all of x once
 * more. */
void ft_cpu_relu_maxpool2d_forward(int B, int C, int H, int W, int k, int stride, const float *x,
                                   float *y, int32_t *argmax)
{
    maxpool_planes(B, C, H, W, k, stride, 1, x, y, argmax);
}

void ft_cpu_relu_maxpool2d_backward(int B, int C, int H, int W, int k, int stride, const float *y,
                                    const float *dy, const int32_t *argmax, float *dx)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    size_t in = (size_t)H * W, out = (size_t)Ho * Wo;
    for (size_t plane = 0; plane < (size_t)B * C; plane++)
        pool_backward_plane(H, W, k, stride, y + plane * out, dy + plane * out,
                            argmax + plane * out, dx + plane * in);
}

void ft_cpu_avgpool_global_forward(int B, int C, int H, int W, const float *x, float *y)
{
    size_t hw = (size_t)H * W;
    for (size_t plane = 0; plane < (size_t)B * C; plane++) {
        y[plane] = sum_floats(x + plane * hw, hw) / (float)hw;
    }
}

void ft_cpu_avgpool_global_backward(int B, int C, int H, int W, const float *dy, float *dx)
{
    size_t hw = (size_t)H * W;
    for (size_t plane = 0; plane < (size_t)B * C; plane++) {
        float g = dy[plane] / (float)hw;
        float *d = dx + plane * hw;
        for (size_t i = 0; i < hw; i++)
            d[i] = g;
    }
}
