/* ft_cpu_internal: what the files of the fast CPU back end share. ft_ops_cpu.c holds
 * the vtable (ft_ops_cpu) and the small element-wise, linear, loss and SGD ops; the
 * convolution (ft_cpu_conv.c), pooling (ft_cpu_pool.c) and dropout (ft_cpu_dropout.c)
 * ops live in their own files and are declared here for the vtable. Also here: the
 * inline helpers two of those files use. Not for use outside kernels/. */
#ifndef FT_CPU_INTERNAL_H
#define FT_CPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ft_ops.h"

/* An unaligned 4-float vector (im2col's row copies, the 2x2 pool's window scan): with
 * a constant length the im2col row loops become a few straight vector moves, which
 * gcc's own vectoriser did not emit for the scatter-add (it kept 8 scalar adds per
 * 8-float row). 16 bytes, the baseline x86-64 width: a wider generic vector is
 * lowered through the stack there. */
typedef float ft_f4 __attribute__((vector_size(16), aligned(4), may_alias));

/* Sum of n floats in 16 interleaved partial sums (conv2d_backward's bias gradient,
 * the global average pool): a plain serial sum cannot be vectorised without
 * -ffast-math, and its add latency chain is 16x slower. With copy, the floats are also
 * copied there in the same pass (conv2d_backward stages dY while it sums the bias
 * gradient). */
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

static inline float sum_floats(const float *restrict a, size_t n)
{
    return sum_floats_copy(a, n, NULL);
}

/* ft_cpu_conv.c: im2col + sgemm convolution; the ft_ops_t entries of the same name. */
size_t ft_cpu_conv2d_workspace(const ft_conv2d_shape_t *s);
void ft_cpu_conv2d_forward(const ft_conv2d_shape_t *s, const float *x, const float *w,
                           const float *bias, float *y, float *ws);
void ft_cpu_conv2d_backward(const ft_conv2d_shape_t *s, const float *x, const float *w,
                            const float *dy, float *dx, float *dw, float *db, float *ws);

/* ft_cpu_pool.c: max pooling (alone and fused after a ReLU) and global average
 * pooling; the ft_ops_t entries of the same name. */
void ft_cpu_maxpool2d_forward(int B, int C, int H, int W, int k, int stride, const float *x,
                              float *y, int32_t *argmax);
void ft_cpu_maxpool2d_backward(int B, int C, int H, int W, int k, int stride, const float *dy,
                               const int32_t *argmax, float *dx);
void ft_cpu_relu_maxpool2d_forward(int B, int C, int H, int W, int k, int stride, const float *x,
                                   float *y, int32_t *argmax);
void ft_cpu_relu_maxpool2d_backward(int B, int C, int H, int W, int k, int stride, const float *y,
                                    const float *dy, const int32_t *argmax, float *dx);
void ft_cpu_avgpool_global_forward(int B, int C, int H, int W, const float *x, float *y);
void ft_cpu_avgpool_global_backward(int B, int C, int H, int W, const float *dy, float *dx);

/* ft_cpu_dropout.c: dropout with philox16 counter-based masks; the ft_ops_t entries
 * of the same name. */
void ft_cpu_dropout_forward(size_t n, float p, uint64_t seed, uint64_t counter, const float *x,
                            float *y, float *mask);
void ft_cpu_dropout_backward(size_t n, const float *restrict dy, const float *restrict mask,
                             float *restrict dx);

#endif
