/* ft_ops_reference: every op of ft_ops.h as plain, obviously-correct loops on host
 * memory (direct convolution, no BLAS). It is the yardstick the fast CPU path and
 * the CUDA back end are tested against, so clarity beats speed here; sums are
 * accumulated in double so the reference is the more accurate side of a
 * comparison. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "ft_lstm_ops.h"
#include "ft_ops.h"
#include "ft_ops_host.h"

static size_t ref_conv2d_workspace(const ft_conv2d_shape_t *s)
{
    (void)s;
    return 0;
}

/* y[b,co,oh,ow] = b[co] + sum_{ci,i,j} x[b,ci,oh*s-p+i,ow*s-p+j] w[co,ci,i,j] */
static void ref_conv2d_forward(const ft_conv2d_shape_t *s, const float *x, const float *w,
                               const float *bias, float *y, float *ws)
{
    (void)ws;
    for (int b = 0; b < s->B; b++)
        for (int co = 0; co < s->Co; co++)
            for (int oh = 0; oh < s->Ho; oh++)
                for (int ow = 0; ow < s->Wo; ow++) {
                    double acc = bias[co];
                    for (int ci = 0; ci < s->Ci; ci++)
                        for (int i = 0; i < s->kh; i++)
                            for (int j = 0; j < s->kw; j++) {
                                int ih = oh * s->stride - s->pad + i;
                                int iw = ow * s->stride - s->pad + j;
                                if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W)
                                    continue;
                                acc +=
                                    (double)x[(((size_t)b * s->Ci + ci) * s->H + ih) * s->W + iw] *
                                    w[(((size_t)co * s->Ci + ci) * s->kh + i) * s->kw + j];
                            }
                    y[(((size_t)b * s->Co + co) * s->Ho + oh) * s->Wo + ow] = (float)acc;
                }
}

static void ref_conv2d_backward(const ft_conv2d_shape_t *s, const float *x, const float *w,
                                const float *dy, float *dx, float *dw, float *db, float *ws)
{
    (void)ws;
    /* db[co] = sum over b, oh, ow of dy */
    for (int co = 0; co < s->Co; co++) {
        double acc = 0;
        for (int b = 0; b < s->B; b++)
            for (int k = 0; k < s->Ho * s->Wo; k++)
                acc += dy[((size_t)b * s->Co + co) * s->Ho * s->Wo + k];
        db[co] = (float)acc;
    }
    /* dw[co,ci,i,j] = sum over b, oh, ow of dy[b,co,oh,ow] x[b,ci,ih,iw] */
    for (int co = 0; co < s->Co; co++)
        for (int ci = 0; ci < s->Ci; ci++)
            for (int i = 0; i < s->kh; i++)
                for (int j = 0; j < s->kw; j++) {
                    double acc = 0;
                    for (int b = 0; b < s->B; b++)
                        for (int oh = 0; oh < s->Ho; oh++)
                            for (int ow = 0; ow < s->Wo; ow++) {
                                int ih = oh * s->stride - s->pad + i;
                                int iw = ow * s->stride - s->pad + j;
                                if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W)
                                    continue;
                                acc +=
                                    (double)
                                        dy[(((size_t)b * s->Co + co) * s->Ho + oh) * s->Wo + ow] *
                                    x[(((size_t)b * s->Ci + ci) * s->H + ih) * s->W + iw];
                            }
                    dw[(((size_t)co * s->Ci + ci) * s->kh + i) * s->kw + j] = (float)acc;
                }
    if (!dx)
        return;
    /* dx[b,ci,ih,iw] = sum over co, i, j with ih = oh*s-p+i, iw = ow*s-p+j of
     * dy[b,co,oh,ow] w[co,ci,i,j] */
    for (int b = 0; b < s->B; b++)
        for (int ci = 0; ci < s->Ci; ci++)
            for (int ih = 0; ih < s->H; ih++)
                for (int iw = 0; iw < s->W; iw++) {
                    double acc = 0;
                    for (int co = 0; co < s->Co; co++)
                        for (int i = 0; i < s->kh; i++)
                            for (int j = 0; j < s->kw; j++) {
                                int th = ih + s->pad - i, tw = iw + s->pad - j;
                                if (th < 0 || tw < 0 || th % s->stride || tw % s->stride)
                                    continue;
                                int oh = th / s->stride, ow = tw / s->stride;
                                if (oh >= s->Ho || ow >= s->Wo)
                                    continue;
                                acc +=
                                    (double)
                                        dy[(((size_t)b * s->Co + co) * s->Ho + oh) * s->Wo + ow] *
                                    w[(((size_t)co * s->Ci + ci) * s->kh + i) * s->kw + j];
                            }
                    dx[(((size_t)b * s->Ci + ci) * s->H + ih) * s->W + iw] = (float)acc;
                }
}

static void ref_linear_forward(int B, int In, int Out, const float *x, const float *w,
                               const float *bias, float *y)
{
    for (int b = 0; b < B; b++)
        for (int o = 0; o < Out; o++) {
            double acc = bias[o];
            for (int i = 0; i < In; i++)
                acc += (double)x[(size_t)b * In + i] * w[(size_t)o * In + i];
            y[(size_t)b * Out + o] = (float)acc;
        }
}

static void ref_linear_backward(int B, int In, int Out, const float *x, const float *w,
                                const float *dy, float *dx, float *dw, float *db)
{
    for (int o = 0; o < Out; o++) {
        double acc = 0;
        for (int b = 0; b < B; b++)
            acc += dy[(size_t)b * Out + o];
        db[o] = (float)acc;
        for (int i = 0; i < In; i++) {
            acc = 0;
            for (int b = 0; b < B; b++)
                acc += (double)dy[(size_t)b * Out + o] * x[(size_t)b * In + i];
            dw[(size_t)o * In + i] = (float)acc;
        }
    }
    if (!dx)
        return;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < In; i++) {
            double acc = 0;
            for (int o = 0; o < Out; o++)
                acc += (double)dy[(size_t)b * Out + o] * w[(size_t)o * In + i];
            dx[(size_t)b * In + i] = (float)acc;
        }
}

/* Window scanned row by row; the first maximum wins, and a NaN wins over numbers
 * (like PyTorch), so NaN propagates. */
static void ref_maxpool2d_forward(int B, int C, int H, int W, int k, int stride, const float *x,
                                  float *y, int32_t *argmax)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    for (size_t plane = 0; plane < (size_t)B * C; plane++) {
        const float *xp = x + plane * H * W;
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++) {
                int best = oh * stride * W + ow * stride;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        int at = (oh * stride + i) * W + ow * stride + j;
                        if (xp[at] > xp[best] || (isnan(xp[at]) && !isnan(xp[best])))
                            best = at;
                    }
                y[plane * Ho * Wo + (size_t)oh * Wo + ow] = xp[best];
                argmax[plane * Ho * Wo + (size_t)oh * Wo + ow] = best;
            }
    }
}

static void ref_maxpool2d_backward(int B, int C, int H, int W, int k, int stride, const float *dy,
                                   const int32_t *argmax, float *dx)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    memset(dx, 0, sizeof(float) * B * C * H * W);
    for (size_t plane = 0; plane < (size_t)B * C; plane++)
        for (int o = 0; o < Ho * Wo; o++)
            dx[plane * H * W + argmax[plane * Ho * Wo + o]] += dy[plane * Ho * Wo + o];
}

static void ref_avgpool_global_forward(int B, int C, int H, int W, const float *x, float *y)
{
    for (size_t plane = 0; plane < (size_t)B * C; plane++) {
        double acc = 0;
        for (int i = 0; i < H * W; i++)
            acc += x[plane * H * W + i];
        y[plane] = (float)(acc / (H * W));
    }
}

static void ref_avgpool_global_backward(int B, int C, int H, int W, const float *dy, float *dx)
{
    for (size_t plane = 0; plane < (size_t)B * C; plane++)
        for (int i = 0; i < H * W; i++)
            dx[plane * H * W + i] = dy[plane] / (float)(H * W);
}

/* NaN passes through (x < 0 is false for NaN), as in PyTorch. */
static void ref_relu_forward(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

/* dx = 0 where y <= 0, dy elsewhere (PyTorch's threshold_backward). */
static void ref_relu_backward(size_t n, const float *y, const float *dy, float *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
}

/* ReLU then max pooling, as maxpool followed by ReLU on the (fewer) outputs; +0
 * where the window's maximum is not positive. */
static void ref_relu_maxpool2d_forward(int B, int C, int H, int W, int k, int stride,
                                       const float *x, float *y, int32_t *argmax)
{
    ref_maxpool2d_forward(B, C, H, W, k, stride, x, y, argmax);
    size_t ny = (size_t)B * C * ((H - k) / stride + 1) * ((W - k) / stride + 1);
    for (size_t i = 0; i < ny; i++)
        y[i] = y[i] > 0.0f || isnan(y[i]) ? y[i] : 0.0f;
}

/* The pair's gradient: a window's dy reaches its argmax only where its y passed
 * the ReLU (y > 0, or NaN as relu_backward lets through). */
static void ref_relu_maxpool2d_backward(int B, int C, int H, int W, int k, int stride,
                                        const float *y, const float *dy, const int32_t *argmax,
                                        float *dx)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    memset(dx, 0, sizeof(float) * B * C * H * W);
    for (size_t plane = 0; plane < (size_t)B * C; plane++)
        for (int o = 0; o < Ho * Wo; o++) {
            size_t at = plane * Ho * Wo + o;
            if (!(y[at] <= 0.0f))
                dx[plane * H * W + argmax[at]] += dy[at];
        }
}

static void ref_dropout_forward(size_t n, float p, uint64_t seed, uint64_t counter, const float *x,
                                float *y, float *mask)
{
    float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = ft_dropout_keep(seed, counter, i, p) ? scale : 0.0f;
        y[i] = x[i] * mask[i];
    }
}

static void ref_dropout_backward(size_t n, const float *dy, const float *mask, float *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * mask[i];
}

/* probs = softmax(logits) with the row maximum subtracted; loss_b = logsumexp - logit_label. */
static float ref_softmax_xent_forward(int B, int C, const float *logits, const int32_t *labels,
                                      float *probs)
{
    double total = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * C;
        float *p = probs + (size_t)b * C;
        assert(labels[b] >= 0 && labels[b] < C);
        double m = z[0];
        for (int c = 1; c < C; c++)
            if (z[c] > m)
                m = z[c];
        double sum = 0;
        for (int c = 0; c < C; c++)
            sum += exp(z[c] - m);
        for (int c = 0; c < C; c++)
            p[c] = (float)(exp(z[c] - m) / sum);
        total += log(sum) + m - z[labels[b]];
    }
    return (float)(total / B);
}

static void ref_softmax_xent_backward(int B, int C, const float *probs, const int32_t *labels,
                                      float *dlogits)
{
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            dlogits[(size_t)b * C + c] =
                (probs[(size_t)b * C + c] - (c == labels[b] ? 1.0f : 0.0f)) / (float)B;
}

/* torch.optim.SGD, dampening 0, nesterov off. */
static void ref_sgd_step(size_t n, float *params, const float *grads, float *momentum_buf, float lr,
                         float momentum, float weight_decay)
{
    for (size_t i = 0; i < n; i++) {
        float g = grads[i] + weight_decay * params[i];
        if (momentum != 0.0f) {
            momentum_buf[i] = momentum * momentum_buf[i] + g;
            g = momentum_buf[i];
        }
        params[i] = params[i] + -lr * g;
    }
}

static double ref_dot(size_t n, const float *a, const float *b)
{
    double acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += (double)a[i] * b[i];
    return acc;
}

static double ref_norm2(size_t n, const float *a)
{
    return sqrt(ref_dot(n, a, a));
}

const ft_ops_t ft_ops_reference = {
    .name = "reference",
    .alloc = ft_host_alloc,
    .free = ft_host_free,
    .upload = ft_host_copy,
    .download = ft_host_copy,
    .copy = ft_host_copy,
    .zero = ft_host_zero,
    .conv2d_workspace = ref_conv2d_workspace,
    .conv2d_forward = ref_conv2d_forward,
    .conv2d_backward = ref_conv2d_backward,
    .linear_forward = ref_linear_forward,
    .linear_backward = ref_linear_backward,
    .maxpool2d_forward = ref_maxpool2d_forward,
    .maxpool2d_backward = ref_maxpool2d_backward,
    .avgpool_global_forward = ref_avgpool_global_forward,
    .avgpool_global_backward = ref_avgpool_global_backward,
    .relu_forward = ref_relu_forward,
    .relu_backward = ref_relu_backward,
    .dropout_forward = ref_dropout_forward,
    .dropout_backward = ref_dropout_backward,
    .softmax_xent_forward = ref_softmax_xent_forward,
    .softmax_xent_backward = ref_softmax_xent_backward,
    .sgd_step = ref_sgd_step,
    .dot = ref_dot,
    .norm2 = ref_norm2,
    .axpy = ft_host_axpy,
    .scale = ft_host_scale,
    .sub = ft_host_sub,
    .relu_maxpool2d_forward = ref_relu_maxpool2d_forward,
    .relu_maxpool2d_backward = ref_relu_maxpool2d_backward,
    .lstm = &ft_lstm_ops_reference,
};
