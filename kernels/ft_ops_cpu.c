/* ft_ops_cpu: the fast CPU back end (the default on a CPU).
 *
 * Convolution is im2col + BLAS sgemm (Chellapilla et al. 2006, "High Performance
 * Convolutional Neural Networks for Document Processing"): the patches of a chunk of
 * images become the columns of a K×(nb·P) matrix (K = Ci·kh·kw, P = Ho·Wo), so the
 * forward pass is one GEMM Y = W·cols, and the backward pass two: dW = dY·cols^T and
 * dcols = W^T·dY followed by col2im. Small output planes are batched several images
 * per GEMM so the GEMM is wide enough to run near peak; the bias add rides along the
 * pass that writes the output. Linear layers are one GEMM each. Everything else is a
 * plain loop written so gcc -O3 vectorises it; outside the GEMMs the time is memory
 * traffic, so a ReLU before a maxpool is fused into the pool (one pass fewer over the
 * conv output each way). No op allocates: conv2d's scratch is
 * the caller's workspace (ft_ops_t.conv2d_workspace). */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "ft_ops.h"
#include "ft_ops_host.h"
#include "ft_rng.h"

/* Output columns one conv GEMM aims for: planes smaller than this are batched.
 * Measured on Zen 4 (bench_blas, lenet5/paper-lenet/vgg9 training steps): 256 beats
 * 512-4096 everywhere; larger chunks push the im2col buffer out of L2 and the
 * writes into it become the bottleneck. */
#ifndef CONV_TARGET_COLS
#define CONV_TARGET_COLS 256
#endif

/* Images per conv chunk for shape s. */
static int conv_chunk_images(const ft_conv2d_shape_t *s)
{
    int P = s->Ho * s->Wo;
    int nb = (CONV_TARGET_COLS + P - 1) / P;
    if (nb > s->B)
        nb = s->B;
    return nb < 1 ? 1 : nb;
}

int ft_cpu_conv_chunk_images(const ft_conv2d_shape_t *s)
{
    return conv_chunk_images(s);
}

/* Sum of n floats in 16 interleaved partial sums: a plain serial sum cannot be
 * vectorised without -ffast-math, and its add latency chain is 16x slower. With copy,
 * the floats are also copied there in the same pass (conv2d_backward stages dY while
 * it sums the bias gradient). */
static inline float sum_floats_copy(const float *restrict a, size_t n, float *restrict copy)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) {
            acc[j] += a[i + j];
            if (copy)
                copy[i + j] = a[i + j];
        }
    float tail = 0.0f;
    for (; i < n; i++) {
        tail += a[i];
        if (copy)
            copy[i] = a[i];
    }
    for (int w = 8; w > 0; w /= 2)
        for (int j = 0; j < w; j++)
            acc[j] += acc[j + w];
    return acc[0] + tail;
}

static float sum_floats(const float *restrict a, size_t n)
{
    return sum_floats_copy(a, n, NULL);
}

/* Floats of the zero-padded image copy the stride-1 path stages a padded input in
 * (0 where it is not used). */
static size_t padded_image_floats(const ft_conv2d_shape_t *s)
{
    if (s->stride != 1 || s->pad == 0)
        return 0;
    return (size_t)s->Ci * (s->H + 2 * s->pad) * (s->W + 2 * s->pad);
}

/* Whether conv2d_backward computes dW^T = cols · dY^T (K×Co) and transposes it once at
 * the end, instead of dW = dY · cols^T: OpenBLAS runs the transposed product 4-6%
 * faster when there are many more patch rows than output channels (lenet5's and
 * paper-lenet's conv2, vgg9's 64->128) and up to 2% slower for vgg9's wide layers
 * and an 18-point loss for a 27-row first layer (measured one core, Cooperlake). */
static int dw_transposed(const ft_conv2d_shape_t *s)
{
    int K = s->Ci * s->kh * s->kw;
    return K > s->Co && s->Co <= 128;
}

static size_t cpu_conv2d_workspace(const ft_conv2d_shape_t *s)
{
    size_t K = (size_t)s->Ci * s->kh * s->kw, P = (size_t)s->Ho * s->Wo;
    size_t nb = (size_t)conv_chunk_images(s);
    /* cols (K × nb·P), a Co × nb·P output / dY staging block when batching, a
     * zero-padded copy of one image for the stride-1 path, and dW^T when used */
    return K * nb * P + (nb > 1 ? (size_t)s->Co * nb * P : 0) + padded_image_floats(s) +
           (dw_transposed(s) ? K * (size_t)s->Co : 0);
}

/* GCC turns short copy loops back into memcpy calls, whose call overhead dominates
 * the 5- to 30-float rows of im2col; this keeps them as inline (vector) loops. */
#if defined(__GNUC__) && !defined(__clang__)
#define FT_NO_MEMCPY_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define FT_NO_MEMCPY_IDIOM
#endif

/* An unaligned 4-float vector: with a constant length the row loops below become a
 * few straight vector moves, which gcc's own vectoriser did not emit for the
 * scatter-add (it kept 8 scalar adds per 8-float row). 16 bytes, the baseline x86-64
 * width: a wider generic vector is lowered through the stack there. */
typedef float ft_f4 __attribute__((vector_size(16), aligned(4), may_alias));

static inline void copy_floats(float *restrict d, const float *restrict s, int n)
{
    int j = 0;
    for (; j + 4 <= n; j += 4)
        *(ft_f4 *)(d + j) = *(const ft_f4 *)(s + j);
    for (; j < n; j++)
        d[j] = s[j];
}

static inline void add_floats(float *restrict d, const float *restrict s, int n)
{
    int j = 0;
    for (; j + 4 <= n; j += 4)
        *(ft_f4 *)(d + j) += *(const ft_f4 *)(s + j);
    for (; j < n; j++)
        d[j] += s[j];
}

/* Row-block copies between a Wo-wide packed block and a Wp-wide plane:
 * gather: d[r*Wo + j] = p[r*Wp + j]; scatter-add: p[r*Wp + j] += d[r*Wo + j]
 * (r < rows, j < Wo). Inlined with a constant Wo the inner loop becomes a few
 * straight vector moves: im2col rows are 2-32 floats, where a generic loop's
 * bookkeeping costs more than the copy itself. */
static inline void gather_rows(float *restrict d, const float *restrict p, int rows, int Wo, int Wp)
{
    for (int r = 0; r < rows; r++)
        copy_floats(d + (size_t)r * Wo, p + (size_t)r * Wp, Wo);
}

static inline void scatter_add_rows(float *restrict p, const float *restrict d, int rows, int Wo,
                                    int Wp)
{
    for (int r = 0; r < rows; r++)
        add_floats(p + (size_t)r * Wp, d + (size_t)r * Wo, Wo);
}

/* The widths the built-in models have, as compile-time constants. */
#define FT_ROW_WIDTHS(X) X(2) X(4) X(8) X(10) X(16) X(24) X(26) X(28) X(32)

FT_NO_MEMCPY_IDIOM static void gather_rows_any(float *restrict d, const float *restrict p, int rows,
                                               int Wo, int Wp)
{
#define FT_GATHER_CASE(n)                                                                          \
    case n: gather_rows(d, p, rows, n, Wp); return;
    switch (Wo) {
        FT_ROW_WIDTHS(FT_GATHER_CASE)
    default: gather_rows(d, p, rows, Wo, Wp);
    }
#undef FT_GATHER_CASE
}

static void scatter_add_rows_any(float *restrict p, const float *restrict d, int rows, int Wo,
                                 int Wp)
{
#define FT_SCATTER_CASE(n)                                                                         \
    case n: scatter_add_rows(p, d, rows, n, Wp); return;
    switch (Wo) {
        FT_ROW_WIDTHS(FT_SCATTER_CASE)
    default: scatter_add_rows(p, d, rows, Wo, Wp);
    }
#undef FT_SCATTER_CASE
}

/* Stride-1 im2col of one image: with the input zero-padded (into pbuf, whose
 * border stays zero) every patch row is Ho plain segments of Wo floats. */
static void im2col_s1(const ft_conv2d_shape_t *s, const float *restrict x, float *restrict cols,
                      size_t ld, float *restrict pbuf)
{
    const int pad = s->pad, Hp = s->H + 2 * pad, Wp = s->W + 2 * pad;
    const float *planes = x;
    if (pad) {
        for (int c = 0; c < s->Ci; c++)
            for (int h = 0; h < s->H; h++)
                memcpy(pbuf + ((size_t)c * Hp + h + pad) * Wp + pad,
                       x + ((size_t)c * s->H + h) * s->W, sizeof(float) * s->W);
        planes = pbuf;
    }
    for (int c = 0; c < s->Ci; c++)
        for (int ki = 0; ki < s->kh; ki++)
            for (int kj = 0; kj < s->kw; kj++)
                gather_rows_any(cols + (size_t)((c * s->kh + ki) * s->kw + kj) * ld,
                                planes + ((size_t)c * Hp + ki) * Wp + kj, s->Ho, s->Wo, Wp);
}

/* Stride-1 col2im of one image into dx (overwritten), through pbuf when padded. */
static void col2im_s1(const ft_conv2d_shape_t *s, const float *restrict cols, size_t ld,
                      float *restrict dx, float *restrict pbuf)
{
    const int pad = s->pad, Hp = s->H + 2 * pad, Wp = s->W + 2 * pad;
    float *planes = pad ? pbuf : dx;
    memset(planes, 0, sizeof(float) * s->Ci * Hp * Wp);
    for (int c = 0; c < s->Ci; c++)
        for (int ki = 0; ki < s->kh; ki++)
            for (int kj = 0; kj < s->kw; kj++)
                scatter_add_rows_any(planes + ((size_t)c * Hp + ki) * Wp + kj,
                                     cols + (size_t)((c * s->kh + ki) * s->kw + kj) * ld, s->Ho,
                                     s->Wo, Wp);
    if (!pad)
        return;
    for (int c = 0; c < s->Ci; c++)
        for (int h = 0; h < s->H; h++)
            memcpy(dx + ((size_t)c * s->H + h) * s->W, pbuf + ((size_t)c * Hp + h + pad) * Wp + pad,
                   sizeof(float) * s->W);
    /* im2col_s1 relies on a zero border: clear what the patches added there */
    for (int c = 0; c < s->Ci; c++) {
        float *pl = pbuf + (size_t)c * Hp * Wp;
        memset(pl, 0, sizeof(float) * pad * Wp);
        memset(pl + (size_t)(Hp - pad) * Wp, 0, sizeof(float) * pad * Wp);
        for (int h = pad; h < Hp - pad; h++) {
            memset(pl + (size_t)h * Wp, 0, sizeof(float) * pad);
            memset(pl + (size_t)h * Wp + Wp - pad, 0, sizeof(float) * pad);
        }
    }
}

/* Writes the patches of one image x (Ci×H×W) into cols (K rows, leading dim ld). */
FT_NO_MEMCPY_IDIOM static void im2col(const ft_conv2d_shape_t *s, const float *restrict x,
                                      float *restrict cols, size_t ld)
{
    const int H = s->H, W = s->W, Ho = s->Ho, Wo = s->Wo, st = s->stride, pad = s->pad;
    for (int c = 0; c < s->Ci; c++)
        for (int ki = 0; ki < s->kh; ki++)
            for (int kj = 0; kj < s->kw; kj++) {
                float *dst = cols + (size_t)((c * s->kh + ki) * s->kw + kj) * ld;
                /* output columns whose input column iw = ow*st - pad + kj is inside */
                int lo = pad - kj > 0 ? (pad - kj + st - 1) / st : 0;
                int hi = (W - 1 + pad - kj) / st + 1;
                if (W - 1 + pad - kj < 0)
                    hi = 0;
                if (hi > Wo)
                    hi = Wo;
                if (lo > hi)
                    lo = hi;
                for (int oh = 0; oh < Ho; oh++) {
                    float *d = dst + (size_t)oh * Wo;
                    int ih = oh * st - pad + ki;
                    if (ih < 0 || ih >= H) {
                        memset(d, 0, sizeof(float) * Wo);
                        continue;
                    }
                    const float *src = x + ((size_t)c * H + ih) * W - pad + kj;
                    for (int ow = 0; ow < lo; ow++)
                        d[ow] = 0.0f;
                    if (st == 1) { /* rows are short: a loop beats a memcpy call */
                        for (int ow = lo; ow < hi; ow++)
                            d[ow] = src[ow];
                    } else {
                        for (int ow = lo; ow < hi; ow++)
                            d[ow] = src[(size_t)ow * st];
                    }
                    for (int ow = hi; ow < Wo; ow++)
                        d[ow] = 0.0f;
                }
            }
}

/* Adds the patch gradients cols (K rows, leading dim ld) into dx (Ci×H×W, zeroed
 * here first). */
static void col2im(const ft_conv2d_shape_t *s, const float *restrict cols, size_t ld,
                   float *restrict dx)
{
    const int H = s->H, W = s->W, Ho = s->Ho, Wo = s->Wo, st = s->stride, pad = s->pad;
    memset(dx, 0, sizeof(float) * s->Ci * H * W);
    for (int c = 0; c < s->Ci; c++)
        for (int ki = 0; ki < s->kh; ki++)
            for (int kj = 0; kj < s->kw; kj++) {
                const float *srcrow = cols + (size_t)((c * s->kh + ki) * s->kw + kj) * ld;
                int lo = pad - kj > 0 ? (pad - kj + st - 1) / st : 0;
                int hi = (W - 1 + pad - kj) / st + 1;
                if (W - 1 + pad - kj < 0)
                    hi = 0;
                if (hi > Wo)
                    hi = Wo;
                for (int oh = 0; oh < Ho; oh++) {
                    int ih = oh * st - pad + ki;
                    if (ih < 0 || ih >= H)
                        continue;
                    const float *sr = srcrow + (size_t)oh * Wo;
                    float *d = dx + ((size_t)c * H + ih) * W - pad + kj;
                    if (st == 1) {
                        for (int ow = lo; ow < hi; ow++)
                            d[ow] += sr[ow];
                    } else {
                        for (int ow = lo; ow < hi; ow++)
                            d[(size_t)ow * st] += sr[ow];
                    }
                }
            }
}

/* im2col by the fastest route for s. pbuf: the padded-image workspace, border 0. */
static void patches(const ft_conv2d_shape_t *s, const float *x, float *cols, size_t ld, float *pbuf)
{
    if (s->stride == 1)
        im2col_s1(s, x, cols, ld, pbuf);
    else
        im2col(s, x, cols, ld);
}

/* col2im by the fastest route for s; dx is overwritten. */
static void unpatches(const ft_conv2d_shape_t *s, const float *cols, size_t ld, float *dx,
                      float *pbuf)
{
    if (s->stride == 1)
        col2im_s1(s, cols, ld, dx, pbuf);
    else
        col2im(s, cols, ld, dx);
}

static void cpu_conv2d_forward(const ft_conv2d_shape_t *s, const float *x, const float *w,
                               const float *bias, float *y, float *ws)
{
    const int K = s->Ci * s->kh * s->kw, P = s->Ho * s->Wo, Co = s->Co;
    const size_t xsz = (size_t)s->Ci * s->H * s->W, ysz = (size_t)Co * P;
    const int nb = conv_chunk_images(s);
    float *cols = ws;
    float *ybuf = ws + (size_t)K * nb * P;
    float *pbuf = ybuf + (nb > 1 ? (size_t)Co * nb * P : 0);
    if (padded_image_floats(s))
        memset(pbuf, 0, sizeof(float) * padded_image_floats(s)); /* the border stays 0 */
    for (int b0 = 0; b0 < s->B; b0 += nb) {
        int n = s->B - b0 < nb ? s->B - b0 : nb;
        size_t ld = (size_t)n * P;
        for (int i = 0; i < n; i++)
            patches(s, x + (b0 + i) * xsz, cols + (size_t)i * P, ld, pbuf);
        if (n == 1) {
            /* GEMM straight into y, starting from the bias (beta = 1) */
            float *yb = y + b0 * ysz;
            for (int co = 0; co < Co; co++)
                for (int k = 0; k < P; k++)
                    yb[(size_t)co * P + k] = bias[co];
            ft_sgemm(0, 0, Co, P, K, 1.0f, w, K, cols, (int)ld, 1.0f, yb, P);
        } else {
            /* Co × n·P block, then scattered to NCHW with the bias added */
            ft_sgemm(0, 0, Co, (int)ld, K, 1.0f, w, K, cols, (int)ld, 0.0f, ybuf, (int)ld);
            for (int i = 0; i < n; i++)
                for (int co = 0; co < Co; co++) {
                    const float *src = ybuf + (size_t)co * ld + (size_t)i * P;
                    float *dst = y + (b0 + i) * ysz + (size_t)co * P;
                    const float bc = bias[co];
                    for (int k = 0; k < P; k++)
                        dst[k] = src[k] + bc;
                }
        }
    }
}

static void cpu_conv2d_backward(const ft_conv2d_shape_t *s, const float *x, const float *w,
                                const float *dy, float *dx, float *dw, float *db, float *ws)
{
    const int K = s->Ci * s->kh * s->kw, P = s->Ho * s->Wo, Co = s->Co;
    const size_t xsz = (size_t)s->Ci * s->H * s->W, ysz = (size_t)Co * P;
    const int nb = conv_chunk_images(s);
    float *cols = ws;
    float *dybuf = ws + (size_t)K * nb * P;
    float *pbuf = dybuf + (nb > 1 ? (size_t)Co * nb * P : 0);
    float *dwt = dw_transposed(s) ? pbuf + padded_image_floats(s) : NULL; /* K×Co */
    if (padded_image_floats(s))
        memset(pbuf, 0, sizeof(float) * padded_image_floats(s));

    /* db[co] sums image by image, in image order, whether or not dY is staged */
    for (int co = 0; co < Co; co++)
        db[co] = 0.0f;
    for (int b0 = 0; b0 < s->B; b0 += nb) {
        int n = s->B - b0 < nb ? s->B - b0 : nb;
        size_t ld = (size_t)n * P;
        const float *dyc = dy + b0 * ysz; /* Co × n·P, leading dim ld */
        for (int i = 0; i < n; i++)
            for (int co = 0; co < Co; co++) {
                const float *row = dy + (b0 + i) * ysz + (size_t)co * P;
                if (n > 1)
                    db[co] +=
                        sum_floats_copy(row, (size_t)P, dybuf + (size_t)co * ld + (size_t)i * P);
                else
                    db[co] += sum_floats(row, (size_t)P);
            }
        if (n > 1)
            dyc = dybuf;
        for (int i = 0; i < n; i++)
            patches(s, x + (b0 + i) * xsz, cols + (size_t)i * P, ld, pbuf);
        const float beta = b0 == 0 ? 0.0f : 1.0f;
        if (dwt) /* dW^T (K×Co) (+)= cols · dY^T */
            ft_sgemm(0, 1, K, Co, (int)ld, 1.0f, cols, (int)ld, dyc, (int)ld, beta, dwt, Co);
        else /* dW (Co×K) (+)= dY (Co × n·P) · cols^T */
            ft_sgemm(0, 1, Co, K, (int)ld, 1.0f, dyc, (int)ld, cols, (int)ld, beta, dw, K);
        if (dx) {
            /* dcols (K × n·P) = W^T · dY, reusing the cols buffer */
            ft_sgemm(1, 0, K, (int)ld, Co, 1.0f, w, K, dyc, (int)ld, 0.0f, cols, (int)ld);
            for (int i = 0; i < n; i++)
                unpatches(s, cols + (size_t)i * P, ld, dx + (b0 + i) * xsz, pbuf);
        }
    }
    if (dwt)
        for (int co = 0; co < Co; co++)
            for (int k = 0; k < K; k++)
                dw[(size_t)co * K + k] = dwt[(size_t)k * Co + co];
}

/* Largest B×Out output the forward computes transposed (through a stack copy). */
#ifndef LINEAR_T_MAX
#define LINEAR_T_MAX 16384
#endif

static void cpu_linear_forward(int B, int In, int Out, const float *x, const float *w,
                               const float *bias, float *y)
{
    if ((size_t)B * Out <= LINEAR_T_MAX && Out >= 32 && In >= 256) {
        /* y^T = W · x^T runs 1.2-1.4x faster in OpenBLAS than x · W^T when B is
         * small and In large (bench_blas: 9216->128 at B 32); y holds y^T until
         * it is transposed back with the bias added. */
        float t[LINEAR_T_MAX];
        ft_sgemm(0, 1, Out, B, In, 1.0f, w, In, x, In, 0.0f, t, B);
        for (int b = 0; b < B; b++)
            for (int o = 0; o < Out; o++)
                y[(size_t)b * Out + o] = t[(size_t)o * B + b] + bias[o];
        return;
    }
    for (int b = 0; b < B; b++)
        memcpy(y + (size_t)b * Out, bias, sizeof(float) * Out);
    ft_sgemm(0, 1, B, Out, In, 1.0f, x, In, w, In, 1.0f, y, Out);
}

static void cpu_linear_backward(int B, int In, int Out, const float *x, const float *w,
                                const float *dy, float *dx, float *dw, float *db)
{
    for (int o = 0; o < Out; o++)
        db[o] = 0.0f;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < Out; o++)
            db[o] += dy[(size_t)b * Out + o];
    /* dW (Out×In) = dY^T · X */
    ft_sgemm(1, 0, Out, In, B, 1.0f, dy, Out, x, In, 0.0f, dw, In);
    /* dX (B×In) = dY · W */
    if (dx)
        ft_sgemm(0, 0, B, In, Out, 1.0f, dy, Out, w, In, 0.0f, dx, In);
}

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
    const ft_i4 even = {0, 2, 4, 6}, odd = {1, 3, 5, 7};
    for (int oh = 0; oh < Ho; oh++) {
        const float *r0 = xp + (size_t)2 * oh * W, *r1 = r0 + W;
        float *yr = yp + (size_t)oh * Wo;
        int32_t *ar = ap + (size_t)oh * Wo;
        int ow = 0;
        for (; ow + 4 <= Wo; ow += 4) {
            ft_f4 a0 = *(const ft_f4 *)(r0 + 2 * ow), a1 = *(const ft_f4 *)(r0 + 2 * ow + 4);
            ft_f4 b0 = *(const ft_f4 *)(r1 + 2 * ow), b1 = *(const ft_f4 *)(r1 + 2 * ow + 4);
            ft_i4 at = 2 * oh * W + 2 * ow + even;
            ft_f4 m = __builtin_shuffle(a0, a1, even);
            ft_i4 best = at;
            window_step(__builtin_shuffle(a0, a1, odd), at + 1, &m, &best);
            window_step(__builtin_shuffle(b0, b1, even), at + W, &m, &best);
            window_step(__builtin_shuffle(b0, b1, odd), at + W + 1, &m, &best);
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
    const ft_i4 even = {0, 2, 4, 6}, lo = {0, 4, 1, 5}, hi = {2, 6, 3, 7};
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
            *(ft_f4 *)(g0 + 2 * ow) = (ft_f4)__builtin_shuffle(e0, o0, lo);
            *(ft_f4 *)(g0 + 2 * ow + 4) = (ft_f4)__builtin_shuffle(e0, o0, hi);
            *(ft_f4 *)(g1 + 2 * ow) = (ft_f4)__builtin_shuffle(e1, o1, lo);
            *(ft_f4 *)(g1 + 2 * ow + 4) = (ft_f4)__builtin_shuffle(e1, o1, hi);
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

static void cpu_maxpool2d_forward(int B, int C, int H, int W, int k, int stride, const float *x,
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

static void cpu_maxpool2d_backward(int B, int C, int H, int W, int k, int stride, const float *dy,
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
static void cpu_relu_maxpool2d_forward(int B, int C, int H, int W, int k, int stride,
                                       const float *x, float *y, int32_t *argmax)
{
    maxpool_planes(B, C, H, W, k, stride, 1, x, y, argmax);
}

static void cpu_relu_maxpool2d_backward(int B, int C, int H, int W, int k, int stride,
                                        const float *y, const float *dy, const int32_t *argmax,
                                        float *dx)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    size_t in = (size_t)H * W, out = (size_t)Ho * Wo;
    for (size_t plane = 0; plane < (size_t)B * C; plane++)
        pool_backward_plane(H, W, k, stride, y + plane * out, dy + plane * out,
                            argmax + plane * out, dx + plane * in);
}

static void cpu_avgpool_global_forward(int B, int C, int H, int W, const float *x, float *y)
{
    size_t hw = (size_t)H * W;
    for (size_t plane = 0; plane < (size_t)B * C; plane++) {
        y[plane] = sum_floats(x + plane * hw, hw) / (float)hw;
    }
}

static void cpu_avgpool_global_backward(int B, int C, int H, int W, const float *dy, float *dx)
{
    size_t hw = (size_t)H * W;
    for (size_t plane = 0; plane < (size_t)B * C; plane++) {
        float g = dy[plane] / (float)hw;
        float *d = dx + plane * hw;
        for (size_t i = 0; i < hw; i++)
            d[i] = g;
    }
}

static void cpu_relu_forward(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

static void cpu_relu_backward(size_t n, const float *restrict y, const float *restrict dy,
                              float *restrict dx)
{
    /* dy loaded unconditionally: a conditional load stops gcc vectorising */
    for (size_t i = 0; i < n; i++) {
        float g = dy[i];
        dx[i] = y[i] <= 0.0f ? 0.0f : g;
    }
}

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
static void cpu_dropout_forward(size_t n, float p, uint64_t seed, uint64_t counter, const float *x,
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

static void cpu_dropout_backward(size_t n, const float *restrict dy, const float *restrict mask,
                                 float *restrict dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * mask[i];
}

static float cpu_softmax_xent_forward(int B, int C, const float *logits, const int32_t *labels,
                                      float *probs)
{
    double total = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * C;
        float *p = probs + (size_t)b * C;
        assert(labels[b] >= 0 && labels[b] < C);
        float m = z[0];
        for (int c = 1; c < C; c++)
            m = z[c] > m ? z[c] : m;
        double sum = 0;
        for (int c = 0; c < C; c++) {
            p[c] = expf(z[c] - m);
            sum += p[c];
        }
        float inv = (float)(1.0 / sum);
        for (int c = 0; c < C; c++)
            p[c] *= inv;
        total += log(sum) + (double)m - (double)z[labels[b]];
    }
    return (float)(total / B);
}

static void cpu_softmax_xent_backward(int B, int C, const float *probs, const int32_t *labels,
                                      float *dlogits)
{
    const float inv = 1.0f / (float)B;
    for (size_t i = 0; i < (size_t)B * C; i++)
        dlogits[i] = probs[i] * inv;
    for (int b = 0; b < B; b++)
        dlogits[(size_t)b * C + labels[b]] = (probs[(size_t)b * C + labels[b]] - 1.0f) * inv;
}

static void cpu_sgd_step(size_t n, float *restrict params, const float *restrict grads,
                         float *restrict momentum_buf, float lr, float momentum, float weight_decay)
{
    if (momentum != 0.0f) {
        for (size_t i = 0; i < n; i++) {
            float g = grads[i] + weight_decay * params[i];
            float v = momentum * momentum_buf[i] + g;
            momentum_buf[i] = v;
            params[i] = params[i] + -lr * v;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float g = grads[i] + weight_decay * params[i];
            params[i] = params[i] + -lr * g;
        }
    }
}

/* Eight independent double accumulators: vectorisable without reassociation. */
static double cpu_dot(size_t n, const float *restrict a, const float *restrict b)
{
    double acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += (double)a[i + j] * (double)b[i + j];
    double total = 0;
    for (; i < n; i++)
        total += (double)a[i] * b[i];
    return total +
           (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
}

static double cpu_norm2(size_t n, const float *a)
{
    return sqrt(cpu_dot(n, a, a));
}

const ft_ops_t ft_ops_cpu = {
    .name = "cpu",
    .alloc = ft_host_alloc,
    .free = ft_host_free,
    .upload = ft_host_copy,
    .download = ft_host_copy,
    .copy = ft_host_copy,
    .zero = ft_host_zero,
    .conv2d_workspace = cpu_conv2d_workspace,
    .conv2d_forward = cpu_conv2d_forward,
    .conv2d_backward = cpu_conv2d_backward,
    .linear_forward = cpu_linear_forward,
    .linear_backward = cpu_linear_backward,
    .maxpool2d_forward = cpu_maxpool2d_forward,
    .maxpool2d_backward = cpu_maxpool2d_backward,
    .avgpool_global_forward = cpu_avgpool_global_forward,
    .avgpool_global_backward = cpu_avgpool_global_backward,
    .relu_forward = cpu_relu_forward,
    .relu_backward = cpu_relu_backward,
    .dropout_forward = cpu_dropout_forward,
    .dropout_backward = cpu_dropout_backward,
    .softmax_xent_forward = cpu_softmax_xent_forward,
    .softmax_xent_backward = cpu_softmax_xent_backward,
    .sgd_step = cpu_sgd_step,
    .dot = cpu_dot,
    .norm2 = cpu_norm2,
    .axpy = ft_host_axpy,
    .scale = ft_host_scale,
    .sub = ft_host_sub,
    .relu_maxpool2d_forward = cpu_relu_maxpool2d_forward,
    .relu_maxpool2d_backward = cpu_relu_maxpool2d_backward,
};
