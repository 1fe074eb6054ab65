/* ft_cuda_nn: convolution, linear layers and pooling for the CUDA back end.
 *
 * Convolution is im2col + GEMM (cuBLAS), over chunks of Bc images at a time so the
 * workspace stays bounded. For a chunk the column matrix is
 *     col[k][r],  k = (ci*kh + i)*kw + j < K = Ci*kh*kw,  r = b*P + p < L = Bc*P,
 * row-major, where P = Ho*Wo and p = oh*Wo + ow; it holds
 * x[b, ci, oh*stride - pad + i, ow*stride - pad + j] (0 outside the image). Then
 *     forward:  y_b (Co×P) = w (Co×K) · col_b (K×P)      (one strided-batched GEMM)
 *     dw       (Co×K) += dyT (Co×L) · col^T (L×K)        (one GEMM per chunk)
 *     dcol      (K×L)  = w^T (K×Co) · dyT (Co×L)         (one GEMM per chunk)
 * with dyT[co][b*P + p] = dy[b, co, p] (a permuted copy), and dx gathered back from
 * dcol by col2im (each input element sums its own patch entries: no atomics, so the
 * result is deterministic). cuBLAS is column-major: a row-major R×C matrix with row
 * length ld is, to cuBLAS, a C×R matrix with leading dimension ld; the comments at
 * each call give the mapping.
 *
 * Bias gradients and pooling sums accumulate in double like the reference; max-pool
 * backward gathers in the reference's order, so it is bit-identical. */
#include "ft_cuda_internal.h"

#include <assert.h>
#include <math.h>

extern "C" {
#include "ft_ops_cuda.h"
}

/* Largest workspace, in floats, the chunking aims for (64 MiB). */
#define FT_CONV_WS_TARGET ((size_t)1 << 24)

static int g_chunk_cap; /* ft_cuda_set_conv_chunk(); 0: no cap */

int ft_cuda_conv_chunk_cap(void)
{
    return g_chunk_cap;
}

extern "C" void ft_cuda_set_conv_chunk(int max_images)
{
    assert(max_images >= 0);
    g_chunk_cap = max_images;
}

/* Images per chunk for shape s: as many as fit the target, at least 1, at most B. */
static int conv_chunk(const ft_conv2d_shape_t *s)
{
    size_t P = (size_t)s->Ho * s->Wo, K = (size_t)s->Ci * s->kh * s->kw;
    size_t per_image = P * (K + s->Co);
    size_t bc = per_image ? FT_CONV_WS_TARGET / per_image : (size_t)s->B;
    if (bc < 1)
        bc = 1;
    if (g_chunk_cap > 0 && bc > (size_t)g_chunk_cap)
        bc = (size_t)g_chunk_cap;
    if (bc > (size_t)s->B)
        bc = (size_t)s->B;
    return (int)bc;
}

/* col (K × Bc*P) for the chunk of nb images starting at image b0. */
static size_t conv2d_workspace(const ft_conv2d_shape_t *s)
{
    size_t P = (size_t)s->Ho * s->Wo, K = (size_t)s->Ci * s->kh * s->kw;
    return (size_t)conv_chunk(s) * P * (K + s->Co);
}

template <bool H>
static void im2col(const ft_conv2d_shape_t *s, const float *x, int b0, int nb, float *col)
{
    const int Ci = s->Ci, H_ = s->H, W = s->W, kh = s->kh, kw = s->kw, stride = s->stride,
              pad = s->pad, Wo = s->Wo;
    const size_t P = (size_t)s->Ho * s->Wo, L = (size_t)nb * P;
    const size_t K = (size_t)Ci * kh * kw;
    const float *xb = x + (size_t)b0 * Ci * H_ * W;
    each<H>(K * L, [=] FT_HD(size_t idx) {
        size_t k = idx / L, r = idx % L;
        size_t b = r / P, p = r % P;
        int j = (int)(k % kw), i = (int)((k / kw) % kh), ci = (int)(k / ((size_t)kw * kh));
        int oh = (int)(p / Wo), ow = (int)(p % Wo);
        int ih = oh * stride - pad + i, iw = ow * stride - pad + j;
        float v = 0.0f;
        if (ih >= 0 && ih < H_ && iw >= 0 && iw < W)
            v = xb[((b * Ci + ci) * H_ + ih) * W + iw];
        col[idx] = v;
    });
}

template <bool H>
static void conv2d_forward(const ft_conv2d_shape_t *s, const float *x, const float *w,
                           const float *bias, float *y, float *ws)
{
    const int Co = s->Co, P = s->Ho * s->Wo, K = s->Ci * s->kh * s->kw, bc = conv_chunk(s);
    each<H>((size_t)s->B * Co * P, [=] FT_HD(size_t i) { y[i] = bias[(i / P) % Co]; });
    for (int b0 = 0; b0 < s->B; b0 += bc) {
        const int nb = s->B - b0 < bc ? s->B - b0 : bc, L = nb * P;
        im2col<H>(s, x, b0, nb, ws);
        /* Per image b: y_b^T (P×Co, ld P) += col_b^T (P×K: col + b*P, ld L) · w^T
         * (K×Co: w, ld K); images step P in col and Co*P in y. */
        gemm<H>(0, 0, P, Co, K, ws, L, P, w, K, 0, 1.0f, y + (size_t)b0 * Co * P, P,
                (long long)Co * P, nb);
    }
}

template <bool H>
static void conv2d_backward(const ft_conv2d_shape_t *s, const float *x, const float *w,
                            const float *dy, float *dx, float *dw, float *db, float *ws)
{
    const int Ci = s->Ci, H_ = s->H, W = s->W, kh = s->kh, kw = s->kw, stride = s->stride,
              pad = s->pad, Co = s->Co, Ho = s->Ho, Wo = s->Wo;
    const int P = Ho * Wo, K = Ci * kh * kw, bc = conv_chunk(s);
    channel_sum<H>(s->B, Co, P, dy, db);
    for (int b0 = 0; b0 < s->B; b0 += bc) {
        const int nb = s->B - b0 < bc ? s->B - b0 : bc, L = nb * P;
        float *col = ws, *dyT = ws + (size_t)K * L;
        im2col<H>(s, x, b0, nb, col);
        const float *dyb = dy + (size_t)b0 * Co * P;
        each<H>((size_t)Co * L, [=] FT_HD(size_t idx) {
            size_t co = idx / L, r = idx % L, b = r / P, p = r % P;
            dyT[idx] = dyb[(b * Co + co) * P + p];
        });
        /* dw^T (K×Co, ld K) (+)= col (L×K col-major = col, ld L)^T · dyT (L×Co, ld L). */
        gemm<H>(1, 0, K, Co, L, col, L, 0, dyT, L, 0, b0 == 0 ? 0.0f : 1.0f, dw, K, 0, 1);
        if (!dx)
            continue;
        /* dcol^T (L×K, ld L) = dyT (L×Co, ld L) · (w^T (K×Co, ld K))^T, into col. */
        gemm<H>(0, 1, L, K, Co, dyT, L, 0, w, K, 0, 0.0f, col, L, 0, 1);
        float *dxb = dx + (size_t)b0 * Ci * H_ * W;
        each<H>((size_t)nb * Ci * H_ * W, [=] FT_HD(size_t idx) {
            int iw = (int)(idx % W), ih = (int)((idx / W) % H_);
            size_t plane = idx / ((size_t)W * H_);
            int ci = (int)(plane % Ci);
            size_t b = plane / Ci;
            float acc = 0.0f;
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++) {
                    int th = ih + pad - i, tw = iw + pad - j;
                    if (th < 0 || tw < 0 || th % stride || tw % stride)
                        continue;
                    int oh = th / stride, ow = tw / stride;
                    if (oh >= Ho || ow >= Wo)
                        continue;
                    size_t k = ((size_t)ci * kh + i) * kw + j;
                    acc += col[k * L + b * P + (size_t)oh * Wo + ow];
                }
            dxb[idx] = acc;
        });
    }
}

template <bool H>
static void linear_forward(int B, int In, int Out, const float *x, const float *w,
                           const float *bias, float *y)
{
    each<H>((size_t)B * Out, [=] FT_HD(size_t i) { y[i] = bias[i % Out]; });
    /* y^T (Out×B, ld Out) += (w (In×Out col-major, ld In))^T · x^T (In×B, ld In). */
    gemm<H>(1, 0, Out, B, In, w, In, 0, x, In, 0, 1.0f, y, Out, 0, 1);
}

template <bool H>
static void linear_backward(int B, int In, int Out, const float *x, const float *w, const float *dy,
                            float *dx, float *dw, float *db)
{
    each<H>((size_t)Out, [=] FT_HD(size_t o) {
        double acc = 0;
        for (int b = 0; b < B; b++)
            acc += dy[(size_t)b * Out + o];
        db[o] = (float)acc;
    });
    /* dw^T (In×Out, ld In) = x^T (In×B, ld In) · (dy^T (Out×B, ld Out))^T. */
    gemm<H>(0, 1, In, Out, B, x, In, 0, dy, Out, 0, 0.0f, dw, In, 0, 1);
    if (dx) /* dx^T (In×B, ld In) = w^T (In×Out, ld In) · dy^T (Out×B, ld Out). */
        gemm<H>(0, 0, In, B, Out, w, In, 0, dy, Out, 0, 0.0f, dx, In, 0, 1);
}

/* First maximum in row-major window order wins; a NaN beats any number. */
template <bool H>
static void maxpool2d_forward(int B, int C, int H_, int W, int k, int stride, const float *x,
                              float *y, int32_t *argmax)
{
    const int Ho = (H_ - k) / stride + 1, Wo = (W - k) / stride + 1;
    each<H>((size_t)B * C * Ho * Wo, [=] FT_HD(size_t idx) {
        size_t plane = idx / ((size_t)Ho * Wo);
        int o = (int)(idx % ((size_t)Ho * Wo)), oh = o / Wo, ow = o % Wo;
        const float *xp = x + plane * H_ * W;
        int best = oh * stride * W + ow * stride;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                int at = (oh * stride + i) * W + ow * stride + j;
                if (xp[at] > xp[best] || (isnan(xp[at]) && !isnan(xp[best])))
                    best = at;
            }
        y[idx] = xp[best];
        argmax[idx] = best;
    });
}

/* Gather form: each input element sums dy over the windows whose argmax is it, in
 * ascending output order, the order in which the reference scatters. */
template <bool H>
static void maxpool2d_backward(int B, int C, int H_, int W, int k, int stride, const float *dy,
                               const int32_t *argmax, float *dx)
{
    const int Ho = (H_ - k) / stride + 1, Wo = (W - k) / stride + 1;
    each<H>((size_t)B * C * H_ * W, [=] FT_HD(size_t idx) {
        size_t plane = idx / ((size_t)H_ * W);
        int at = (int)(idx % ((size_t)H_ * W)), ih = at / W, iw = at % W;
        /* windows containing row ih: oh*stride <= ih <= oh*stride + k - 1 */
        int oh0 = ih - k + 1 <= 0 ? 0 : (ih - k + 1 + stride - 1) / stride;
        int oh1 = ih / stride < Ho - 1 ? ih / stride : Ho - 1;
        int ow0 = iw - k + 1 <= 0 ? 0 : (iw - k + 1 + stride - 1) / stride;
        int ow1 = iw / stride < Wo - 1 ? iw / stride : Wo - 1;
        const float *dyp = dy + plane * Ho * Wo;
        const int32_t *ap = argmax + plane * Ho * Wo;
        float acc = 0.0f;
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++)
                if (ap[oh * Wo + ow] == at)
                    acc += dyp[oh * Wo + ow];
        dx[idx] = acc;
    });
}

template <bool H>
static void avgpool_global_forward(int B, int C, int H_, int W, const float *x, float *y)
{
    const int HW = H_ * W;
    each<H>((size_t)B * C, [=] FT_HD(size_t plane) {
        double acc = 0;
        for (int i = 0; i < HW; i++)
            acc += x[plane * HW + i];
        y[plane] = (float)(acc / HW);
    });
}

template <bool H>
static void avgpool_global_backward(int B, int C, int H_, int W, const float *dy, float *dx)
{
    const int HW = H_ * W;
    each<H>((size_t)B * C * HW, [=] FT_HD(size_t i) { dx[i] = dy[i / HW] / (float)HW; });
}

template <bool H> void ft_cuda_fill_nn(ft_ops_t *t)
{
    t->conv2d_workspace = conv2d_workspace;
    t->conv2d_forward = conv2d_forward<H>;
    t->conv2d_backward = conv2d_backward<H>;
    t->linear_forward = linear_forward<H>;
    t->linear_backward = linear_backward<H>;
    t->maxpool2d_forward = maxpool2d_forward<H>;
    t->maxpool2d_backward = maxpool2d_backward<H>;
    t->avgpool_global_forward = avgpool_global_forward<H>;
    t->avgpool_global_backward = avgpool_global_backward<H>;
}

template void ft_cuda_fill_nn<false>(ft_ops_t *t);
template void ft_cuda_fill_nn<true>(ft_ops_t *t);
