/* ft_cpu_conv: the cpu back end's convolution.
 *
 * Convolution is im2col + BLAS sgemm (Chellapilla et al. 2006, "High Performance
 * Convolutional Neural Networks for Document Processing"): the patches of a chunk of
 * images become the columns of a K×(nb·P) matrix (K = Ci·kh·kw, P = Ho·Wo), so the
 * forward pass is one GEMM Y = W·cols, and the backward pass two: dW = dY·cols^T and
 * dcols = W^T·dY followed by col2im. Small output planes are batched several images
 * per GEMM so the GEMM is wide enough to run near peak; the bias add rides along the
 * pass that writes the output. No op allocates: conv2d's scratch is the caller's
 * workspace (ft_ops_t.conv2d_workspace, sized by ft_cpu_conv2d_workspace). */
#include <string.h>

#include "ft_cpu_internal.h"
#include "ft_ops.h"
#include "ft_ops_host.h"

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

size_t ft_cpu_conv2d_workspace(const ft_conv2d_shape_t *s)
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

void ft_cpu_conv2d_forward(const ft_conv2d_shape_t *s, const float *x, const float *w,
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

void ft_cpu_conv2d_backward(const ft_conv2d_shape_t *s, const float *x, const float *w,
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
