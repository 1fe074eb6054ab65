/* ft_ops_cpu: the fast CPU back end (the default on a CPU): its vtable, ft_ops_cpu,
 * and the small ops. Convolution (im2col + sgemm) is in ft_cpu_conv.c, pooling in
 * ft_cpu_pool.c and dropout in ft_cpu_dropout.c, declared in ft_cpu_internal.h.
 *
 * Linear layers are one GEMM each. Everything else here is a plain loop written so
 * gcc -O3 vectorises it; outside the GEMMs the time is memory traffic. No op
 * allocates. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "ft_cpu_internal.h"
#include "ft_lstm_ops.h"
#include "ft_ops.h"
#include "ft_ops_host.h"

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
    .conv2d_workspace = ft_cpu_conv2d_workspace,
    .conv2d_forward = ft_cpu_conv2d_forward,
    .conv2d_backward = ft_cpu_conv2d_backward,
    .linear_forward = cpu_linear_forward,
    .linear_backward = cpu_linear_backward,
    .maxpool2d_forward = ft_cpu_maxpool2d_forward,
    .maxpool2d_backward = ft_cpu_maxpool2d_backward,
    .avgpool_global_forward = ft_cpu_avgpool_global_forward,
    .avgpool_global_backward = ft_cpu_avgpool_global_backward,
    .relu_forward = cpu_relu_forward,
    .relu_backward = cpu_relu_backward,
    .dropout_forward = ft_cpu_dropout_forward,
    .dropout_backward = ft_cpu_dropout_backward,
    .softmax_xent_forward = cpu_softmax_xent_forward,
    .softmax_xent_backward = cpu_softmax_xent_backward,
    .sgd_step = cpu_sgd_step,
    .dot = cpu_dot,
    .norm2 = cpu_norm2,
    .axpy = ft_host_axpy,
    .scale = ft_host_scale,
    .sub = ft_host_sub,
    .relu_maxpool2d_forward = ft_cpu_relu_maxpool2d_forward,
    .relu_maxpool2d_backward = ft_cpu_relu_maxpool2d_backward,
    .lstm = &ft_lstm_ops_cpu,
};
