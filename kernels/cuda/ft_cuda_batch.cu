/* ft_cuda_batch: the batched ops of the CUDA back end (ft_ops.h, "*_batched"): K
 * clients, each with its own parameters at stride pstride in a K×N block, through
 * one strided-batched cuBLAS GEMM per product instead of K (model/ft_model_batch.c
 * calls them; docs/gpu.md, "Batched clients").
 *
 * Client t's activations are its B rows at t·B·(row floats). Convolution is the
 * single-client im2col + GEMM of ft_cuda_nn.cu with the client as the GEMM's batch
 * index: for a chunk of nb images of every client (L = nb·P columns, Kc = Ci·kh·kw),
 *     col_t   (Kc×L)  im2col of client t's images b0..b0+nb-1 (one kernel for all t)
 *     forward:  yT_t (Co×L) = bias_t + w_t (Co×Kc) · col_t     (batch K), then yT -> y
 *     dw_t   (Co×Kc) (+)= dyT_t (Co×L) · col_t^T              (batch K)
 *     dcol_t (Kc×L)   = w_t^T · dyT_t                          (batch K), col2im -> dx
 * with yT/dyT the (b, co, p) -> (co, b·P + p) permutation. Linear layers are the
 * three GEMMs of ft_cuda_nn.cu with batch K. The GEMM's sums and their order are
 * the single-client op's (bit-identical in host emulation, where a client's padded
 * rows only add exact zeros); on the device cuBLAS may pick another kernel for the
 * batched shape, so results agree within the GEMM tolerance of docs/gpu.md. */
#include "ft_cuda_internal.h"

#include <assert.h>

/* Largest workspace, in floats, the chunking aims for (256 MiB for all K). */
#define FT_BATCH_WS_TARGET ((size_t)1 << 26)

/* Images per client per chunk: as many as fit the target for K clients, >= 1. */
static int batch_chunk(int K, const ft_conv2d_shape_t *s)
{
    size_t P = (size_t)s->Ho * s->Wo, Kc = (size_t)s->Ci * s->kh * s->kw;
    size_t per_image = (size_t)K * P * (Kc + s->Co);
    size_t bc = per_image ? FT_BATCH_WS_TARGET / per_image : (size_t)s->B;
    if (bc < 1)
        bc = 1;
    int cap = ft_cuda_conv_chunk_cap();
    if (cap > 0 && bc > (size_t)cap)
        bc = (size_t)cap;
    if (bc > (size_t)s->B)
        bc = (size_t)s->B;
    return (int)bc;
}

/* col for K clients, then the K permuted outputs / gradients. */
static size_t conv2d_workspace_batched(int K, const ft_conv2d_shape_t *s)
{
    size_t P = (size_t)s->Ho * s->Wo, Kc = (size_t)s->Ci * s->kh * s->kw;
    return (size_t)K * batch_chunk(K, s) * P * (Kc + s->Co);
}

/* col_t[k][r] for every client t of the chunk b0..b0+nb-1 (ft_cuda_nn.cu's im2col
 * with the client index in front). */
template <bool H>
static void im2col_batched(int K, const ft_conv2d_shape_t *s, const float *x, int b0, int nb,
                           float *col)
{
    const int Ci = s->Ci, H_ = s->H, W = s->W, kh = s->kh, kw = s->kw, stride = s->stride,
              pad = s->pad, Wo = s->Wo, B = s->B;
    const size_t P = (size_t)s->Ho * s->Wo, L = (size_t)nb * P;
    const size_t Kc = (size_t)Ci * kh * kw, img = (size_t)Ci * H_ * W;
    each<H>((size_t)K * Kc * L, [=] FT_HD(size_t idx) {
        size_t t = idx / (Kc * L), rest = idx % (Kc * L);
        size_t k = rest / L, r = rest % L;
        size_t b = r / P, p = r % P;
        int j = (int)(k % kw), i = (int)((k / kw) % kh), ci = (int)(k / ((size_t)kw * kh));
        int oh = (int)(p / Wo), ow = (int)(p % Wo);
        int ih = oh * stride - pad + i, iw = ow * stride - pad + j;
        const float *xb = x + (t * B + b0 + b) * img;
        float v = 0.0f;
        if (ih >= 0 && ih < H_ && iw >= 0 && iw < W)
            v = xb[((size_t)ci * H_ + ih) * W + iw];
        col[idx] = v;
    });
}

template <bool H>
static void conv2d_forward_batched(int K, size_t pstride, const ft_conv2d_shape_t *s,
                                   const float *x, const float *w, const float *bias, float *y,
                                   float *ws)
{
    const int Co = s->Co, P = s->Ho * s->Wo, Kc = s->Ci * s->kh * s->kw, B = s->B;
    const int bc = batch_chunk(K, s);
    float *col = ws, *yT = ws + (size_t)K * Kc * bc * P;
    for (int b0 = 0; b0 < B; b0 += bc) {
        const int nb = B - b0 < bc ? B - b0 : bc;
        const size_t L = (size_t)nb * P;
        im2col_batched<H>(K, s, x, b0, nb, col);
        each<H>((size_t)K * Co * L, [=] FT_HD(size_t i) {
            size_t t = i / ((size_t)Co * L), co = (i / L) % Co;
            yT[i] = bias[t * pstride + co];
        });
        /* Per client t: yT_t^T (L×Co, ld L) += col_t^T (L×Kc: col_t, ld L) · w_t^T
         * (Kc×Co: w_t, ld Kc); clients step Kc·L in col, pstride in w, Co·L in yT. */
        gemm<H>(0, 0, (int)L, Co, Kc, col, (int)L, (long long)Kc * L, w, Kc, (long long)pstride,
                1.0f, yT, (int)L, (long long)Co * L, K);
        each<H>((size_t)K * Co * L, [=] FT_HD(size_t i) {
            size_t t = i / ((size_t)Co * L), co = (i / L) % Co, r = i % L;
            size_t b = r / P, p = r % P;
            y[((t * B + b0 + b) * Co + co) * P + p] = yT[i];
        });
    }
}

template <bool H>
static void conv2d_backward_batched(int K, size_t pstride, const ft_conv2d_shape_t *s,
                                    const float *x, const float *w, const float *dy, float *dx,
                                    float *dw, float *db, float *ws)
{
    const int Ci = s->Ci, H_ = s->H, W = s->W, kh = s->kh, kw = s->kw, stride = s->stride,
              pad = s->pad, Co = s->Co, Ho = s->Ho, Wo = s->Wo, B = s->B;
    const int P = Ho * Wo, Kc = Ci * kh * kw, bc = batch_chunk(K, s);
    float *col = ws, *dyT = ws + (size_t)K * Kc * bc * P;
    for (int t = 0; t < K; t++) /* one block per channel, double sums: per client */
        channel_sum<H>(B, Co, P, dy + (size_t)t * B * Co * P, db + (size_t)t * pstride);
    for (int b0 = 0; b0 < B; b0 += bc) {
        const int nb = B - b0 < bc ? B - b0 : bc;
        const size_t L = (size_t)nb * P;
        im2col_batched<H>(K, s, x, b0, nb, col);
        each<H>((size_t)K * Co * L, [=] FT_HD(size_t i) {
            size_t t = i / ((size_t)Co * L), co = (i / L) % Co, r = i % L;
            size_t b = r / P, p = r % P;
            dyT[i] = dy[((t * B + b0 + b) * Co + co) * P + p];
        });
        /* dw_t^T (Kc×Co, ld Kc) (+)= col_t (L×Kc col-major, ld L)^T · dyT_t (L×Co, ld L) */
        gemm<H>(1, 0, Kc, Co, (int)L, col, (int)L, (long long)Kc * L, dyT, (int)L,
                (long long)Co * L, b0 == 0 ? 0.0f : 1.0f, dw, Kc, (long long)pstride, K);
        if (!dx)
            continue;
        /* dcol_t^T (L×Kc, ld L) = dyT_t (L×Co, ld L) · (w_t^T (Kc×Co, ld Kc))^T, into col */
        gemm<H>(0, 1, (int)L, Kc, Co, dyT, (int)L, (long long)Co * L, w, Kc, (long long)pstride,
                0.0f, col, (int)L, (long long)Kc * L, K);
        const size_t img = (size_t)Ci * H_ * W;
        each<H>((size_t)K * nb * img, [=] FT_HD(size_t idx) {
            size_t t = idx / ((size_t)nb * img), rest = idx % ((size_t)nb * img);
            int iw = (int)(rest % W), ih = (int)((rest / W) % H_);
            size_t plane = rest / ((size_t)W * H_);
            int ci = (int)(plane % Ci);
            size_t b = plane / Ci;
            const float *colt = col + t * Kc * L;
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
                    acc += colt[k * L + b * P + (size_t)oh * Wo + ow];
                }
            dx[(t * B + b0) * img + rest] = acc;
        });
    }
}

template <bool H>
static void linear_forward_batched(int K, size_t pstride, int B, int In, int Out, const float *x,
                                   const float *w, const float *bias, float *y)
{
    each<H>((size_t)K * B * Out, [=] FT_HD(size_t i) {
        size_t t = i / ((size_t)B * Out);
        y[i] = bias[t * pstride + i % Out];
    });
    /* y_t^T (Out×B, ld Out) += (w_t (In×Out col-major, ld In))^T · x_t^T (In×B, ld In) */
    gemm<H>(1, 0, Out, B, In, w, In, (long long)pstride, x, In, (long long)B * In, 1.0f, y, Out,
            (long long)B * Out, K);
}

template <bool H>
static void linear_backward_batched(int K, size_t pstride, int B, int In, int Out, const float *x,
                                    const float *w, const float *dy, float *dx, float *dw,
                                    float *db)
{
    each<H>((size_t)K * Out, [=] FT_HD(size_t i) {
        size_t t = i / Out, o = i % Out;
        const float *dyt = dy + t * B * Out;
        double acc = 0;
        for (int b = 0; b < B; b++)
            acc += dyt[(size_t)b * Out + o];
        db[t * pstride + o] = (float)acc;
    });
    /* dw_t^T (In×Out, ld In) = x_t^T (In×B, ld In) · (dy_t^T (Out×B, ld Out))^T */
    gemm<H>(0, 1, In, Out, B, x, In, (long long)B * In, dy, Out, (long long)B * Out, 0.0f, dw, In,
            (long long)pstride, K);
    if (dx) /* dx_t^T (In×B, ld In) = w_t^T (In×Out, ld In) · dy_t^T (Out×B, ld Out) */
        gemm<H>(0, 0, In, B, Out, w, In, (long long)pstride, dy, Out, (long long)B * Out, 0.0f, dx,
                In, (long long)B * In, K);
}

/* One thread per row of all K·B rows (a block per row from FT_SOFTMAX_BLOCK_CLASSES
 * classes, as the single op); the per-row losses come back in one copy per 256 rows and each
 * client's first Bk[t] are summed in row order, in double, as softmax_xent_forward sums its B. */
template <bool H>
static void softmax_xent_forward_batched(int K, int B, const int *Bk, int C, const float *logits,
                                         const int32_t *labels, float *probs, float *loss)
{
    assert(K > 0 && B > 0 && C > 0);
    const size_t R = (size_t)K * B;
    const double *rows = ft_cuda_xent_rows<H>(R, C, logits, labels, probs);
    double total = 0;
    ft_cuda_xent_rows_each<H>(rows, R, [&](size_t r, double row_loss, int bad) {
        size_t t = r / B, b = r % B;
        if (b == 0)
            total = 0;
        if ((int)b < Bk[t]) {
            assert(!bad && "softmax_xent_forward_batched: label out of range");
            total += row_loss;
        }
        (void)bad;
        if (b == (size_t)B - 1)
            loss[t] = Bk[t] ? (float)(total / Bk[t]) : 0.0f;
    });
}

template <bool H> void ft_cuda_fill_batch(ft_ops_t *t)
{
    t->conv2d_workspace_batched = conv2d_workspace_batched;
    t->conv2d_forward_batched = conv2d_forward_batched<H>;
    t->conv2d_backward_batched = conv2d_backward_batched<H>;
    t->linear_forward_batched = linear_forward_batched<H>;
    t->linear_backward_batched = linear_backward_batched<H>;
    t->softmax_xent_forward_batched = softmax_xent_forward_batched<H>;
}

template void ft_cuda_fill_batch<false>(ft_ops_t *t);
template void ft_cuda_fill_batch<true>(ft_ops_t *t);
