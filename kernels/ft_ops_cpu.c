/* ft_ops_cpu: the fast CPU back end (the default on a CPU).
 *
 * Convolution is im2col + BLAS sgemm (Chellapilla et al. 2006, "High Performance
 * Convolutional Neural Networks for Document Processing"): the patches of a chunk of
 * images become the columns of a K×(nb·P) matrix (K = Ci·kh·kw, P = Ho·Wo), so the
 * forward pass is one GEMM Y = W·cols, and the backward pass two: dW = dY·cols^T and
 * dcols = W^T·dY followed by col2im. Small output planes are batched several images
 * per GEMM so the GEMM is wide enough to run near peak; the bias add rides along the
 * pass that writes the output. Linear layers are one GEMM each. Everything else is a
 * plain loop written so gcc -O3 vectorises it. No op allocates: conv2d's scratch is
 * the caller's workspace (ft_ops_t.conv2d_workspace). */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "ft_ops.h"
#include "ft_ops_host.h"
#include "ft_rng.h"

/* Output columns one conv GEMM aims for: planes smaller than this are batched. */
#define CONV_TARGET_COLS 1024

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

static size_t cpu_conv2d_workspace(const ft_conv2d_shape_t *s)
{
    size_t K = (size_t)s->Ci * s->kh * s->kw, P = (size_t)s->Ho * s->Wo;
    size_t nb = (size_t)conv_chunk_images(s);
    /* cols (K × nb·P), plus a Co × nb·P output / dY staging block when batching */
    return K * nb * P + (nb > 1 ? (size_t)s->Co * nb * P : 0);
}

/* Writes the patches of one image x (Ci×H×W) into cols (K rows, leading dim ld). */
static void im2col(const ft_conv2d_shape_t *s, const float *restrict x, float *restrict cols,
                   size_t ld)
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
                    if (st == 1) {
                        memcpy(d + lo, src + lo, sizeof(float) * (hi - lo));
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

static void cpu_conv2d_forward(const ft_conv2d_shape_t *s, const float *x, const float *w,
                               const float *bias, float *y, float *ws)
{
    const int K = s->Ci * s->kh * s->kw, P = s->Ho * s->Wo, Co = s->Co;
    const size_t xsz = (size_t)s->Ci * s->H * s->W, ysz = (size_t)Co * P;
    const int nb = conv_chunk_images(s);
    float *cols = ws;
    float *ybuf = ws + (size_t)K * nb * P;
    for (int b0 = 0; b0 < s->B; b0 += nb) {
        int n = s->B - b0 < nb ? s->B - b0 : nb;
        size_t ld = (size_t)n * P;
        for (int i = 0; i < n; i++)
            im2col(s, x + (b0 + i) * xsz, cols + (size_t)i * P, ld);
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

    for (int co = 0; co < Co; co++) {
        float acc = 0.0f;
        for (int b = 0; b < s->B; b++) {
            const float *d = dy + b * ysz + (size_t)co * P;
            float part = 0.0f;
            for (int k = 0; k < P; k++)
                part += d[k];
            acc += part;
        }
        db[co] = acc;
    }

    for (int b0 = 0; b0 < s->B; b0 += nb) {
        int n = s->B - b0 < nb ? s->B - b0 : nb;
        size_t ld = (size_t)n * P;
        const float *dyc = dy + b0 * ysz; /* Co × n·P, leading dim ld */
        if (n > 1) {
            for (int i = 0; i < n; i++)
                for (int co = 0; co < Co; co++)
                    memcpy(dybuf + (size_t)co * ld + (size_t)i * P, dy + (b0 + i) * ysz + co * P,
                           sizeof(float) * P);
            dyc = dybuf;
        }
        for (int i = 0; i < n; i++)
            im2col(s, x + (b0 + i) * xsz, cols + (size_t)i * P, ld);
        /* dW (Co×K) (+)= dY (Co × n·P) · cols^T */
        ft_sgemm(0, 1, Co, K, (int)ld, 1.0f, dyc, (int)ld, cols, (int)ld, b0 == 0 ? 0.0f : 1.0f, dw,
                 K);
        if (dx) {
            /* dcols (K × n·P) = W^T · dY, reusing the cols buffer */
            ft_sgemm(1, 0, K, (int)ld, Co, 1.0f, w, K, dyc, (int)ld, 0.0f, cols, (int)ld);
            for (int i = 0; i < n; i++)
                col2im(s, cols + (size_t)i * P, ld, dx + (b0 + i) * xsz);
        }
    }
}

static void cpu_linear_forward(int B, int In, int Out, const float *x, const float *w,
                               const float *bias, float *y)
{
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

static void cpu_maxpool2d_forward(int B, int C, int H, int W, int k, int stride, const float *x,
                                  float *y, int32_t *argmax)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    size_t in = (size_t)H * W, out = (size_t)Ho * Wo;
    for (size_t plane = 0; plane < (size_t)B * C; plane++) {
        if (k == 2 && stride == 2) /* constant window: unrolled by the compiler */
            maxpool_plane(H, W, 2, 2, Ho, Wo, x + plane * in, y + plane * out,
                          argmax + plane * out);
        else
            maxpool_plane(H, W, k, stride, Ho, Wo, x + plane * in, y + plane * out,
                          argmax + plane * out);
    }
}

static void cpu_maxpool2d_backward(int B, int C, int H, int W, int k, int stride, const float *dy,
                                   const int32_t *argmax, float *dx)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    size_t in = (size_t)H * W, out = (size_t)Ho * Wo;
    memset(dx, 0, sizeof(float) * B * C * in);
    for (size_t plane = 0; plane < (size_t)B * C; plane++) {
        const float *d = dy + plane * out;
        const int32_t *a = argmax + plane * out;
        float *g = dx + plane * in;
        for (size_t o = 0; o < out; o++)
            g[a[o]] += d[o];
    }
}

static void cpu_avgpool_global_forward(int B, int C, int H, int W, const float *x, float *y)
{
    size_t hw = (size_t)H * W;
    for (size_t plane = 0; plane < (size_t)B * C; plane++) {
        const float *xp = x + plane * hw;
        float acc = 0.0f;
        for (size_t i = 0; i < hw; i++)
            acc += xp[i];
        y[plane] = acc / (float)hw;
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
    for (size_t i = 0; i < n; i++)
        dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
}

/* One Philox block per four elements (ft_dropout_keep draws the same words). */
static void cpu_dropout_forward(size_t n, float p, uint64_t seed, uint64_t counter, const float *x,
                                float *y, float *mask)
{
    const float scale = 1.0f / (1.0f - p);
    const double thr = (double)p * 4294967296.0;
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    for (size_t i0 = 0; i0 < n; i0 += 4) {
        uint64_t block = (uint64_t)(i0 / 4);
        const uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), (uint32_t)block,
                                 (uint32_t)(block >> 32)};
        uint32_t r[4];
        ft_philox4x32(ctr, key, r);
        for (size_t j = 0; j < 4 && i0 + j < n; j++) {
            float m = (double)r[j] >= thr ? scale : 0.0f;
            mask[i0 + j] = m;
            y[i0 + j] = x[i0 + j] * m;
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

static void cpu_axpy(size_t n, float alpha, const float *restrict x, float *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

static void cpu_scale(size_t n, float alpha, float *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}

static void cpu_sub(size_t n, const float *a, const float *b, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] - b[i];
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
    .axpy = cpu_axpy,
    .scale = cpu_scale,
    .sub = cpu_sub,
};
