/* ft_cuda_ops: the element-wise ops (relu, dropout, softmax cross-entropy, SGD,
 * axpy/scale/sub) and the flat-vector reductions of the CUDA back end.
 *
 * Every body mirrors kernels/ft_ops_reference.c operation for operation, and the
 * back end is compiled with -fmad=false (no fused multiply-add contraction), so
 * these ops give bit-identical floats to the CPU reference; only dot/norm2 (a
 * different double summation order) and the softmax (device exp/log) may differ in
 * the last bits. Dropout draws its mask with the same Philox4x32-10 function as
 * ft_dropout_keep() (kernels/ft_ops.c), ported below. */
#include "ft_cuda_internal.h"

#include <assert.h>
#include <math.h>

/* Philox4x32-10 (Salmon et al., SC'11), exactly as common/ft_rng.c computes it. */
static FT_HD inline void philox4x32(const uint32_t in[4], const uint32_t key_in[2], uint32_t out[4])
{
    uint32_t c0 = in[0], c1 = in[1], c2 = in[2], c3 = in[3];
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* ft_dropout_keep() for the four elements 4*block .. 4*block+3 at once: the counter
 * is (counter lo, counter hi, block lo, block hi), the key the seed, and element i
 * is kept iff word i%4 >= p * 2^32, compared exactly in double. */
static FT_HD inline void dropout_keep4(uint64_t seed, uint64_t counter, uint64_t block, float p,
                                       int keep[4])
{
    const uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), (uint32_t)block,
                             (uint32_t)(block >> 32)};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t out[4];
    philox4x32(ctr, key, out);
    const double threshold = (double)p * 4294967296.0;
    for (int w = 0; w < 4; w++)
        keep[w] = (double)out[w] >= threshold;
}

template <bool H> static void relu_forward(size_t n, const float *x, float *y)
{
    each<H>(n, [=] FT_HD(size_t i) {
        float v = x[i];
        y[i] = v < 0.0f ? 0.0f : v; /* NaN passes through */
    });
}

template <bool H> static void relu_backward(size_t n, const float *y, const float *dy, float *dx)
{
    each<H>(n, [=] FT_HD(size_t i) { dx[i] = y[i] <= 0.0f ? 0.0f : dy[i]; });
}

template <bool H>
static void dropout_forward(size_t n, float p, uint64_t seed, uint64_t counter, const float *x,
                            float *y, float *mask)
{
    const float scale = 1.0f / (1.0f - p);
    /* One thread per Philox block of four elements. */
    each<H>((n + 3) / 4, [=] FT_HD(size_t blk) {
        int keep[4];
        dropout_keep4(seed, counter, blk, p, keep);
        for (int w = 0; w < 4; w++) {
            size_t i = blk * 4 + w;
            if (i < n) {
                float m = keep[w] ? scale : 0.0f;
                mask[i] = m;
                y[i] = x[i] * m;
            }
        }
    });
}

template <bool H>
static void dropout_backward(size_t n, const float *dy, const float *mask, float *dx)
{
    each<H>(n, [=] FT_HD(size_t i) { dx[i] = dy[i] * mask[i]; });
}

/* One thread per row: B rows of C logits (C is small: classes). Per-row losses go
 * to scratch and are summed in row order on the host, in double, as the reference
 * does; a label outside [0, C) is flagged and trips an assert (programmer error).
 * From FT_SOFTMAX_BLOCK_CLASSES classes up (a vocabulary) the rows take one block
 * each instead (ft_cuda_softmax.cu), filling the same scratch. */
template <bool H>
static float softmax_xent_forward(int B, int C, const float *logits, const int32_t *labels,
                                  float *probs)
{
    assert(B > 0 && C > 0);
    const double *rows = ft_cuda_xent_rows<H>((size_t)B, C, logits, labels, probs);
    double total = 0;
    ft_cuda_xent_rows_each<H>(rows, (size_t)B, [&](size_t, double loss, int bad) {
        assert(!bad && "softmax_xent_forward: label out of range");
        (void)bad;
        total += loss;
    });
    return (float)(total / B);
}

template <bool H>
static void softmax_xent_backward(int B, int C, const float *probs, const int32_t *labels,
                                  float *dlogits)
{
    each<H>((size_t)B * C, [=] FT_HD(size_t i) {
        size_t b = i / C;
        int c = (int)(i % C);
        dlogits[i] = (probs[i] - (c == labels[b] ? 1.0f : 0.0f)) / (float)B;
    });
}

/* torch.optim.SGD, dampening 0, nesterov off; same operation order as the reference. */
template <bool H>
static void sgd_step(size_t n, float *params, const float *grads, float *momentum_buf, float lr,
                     float momentum, float weight_decay)
{
    if (momentum != 0.0f)
        each<H>(n, [=] FT_HD(size_t i) {
            float g = grads[i] + weight_decay * params[i];
            momentum_buf[i] = momentum * momentum_buf[i] + g;
            g = momentum_buf[i];
            params[i] = params[i] + -lr * g;
        });
    else
        each<H>(n, [=] FT_HD(size_t i) {
            float g = grads[i] + weight_decay * params[i];
            params[i] = params[i] + -lr * g;
        });
}

template <bool H> static double dot_op(size_t n, const float *a, const float *b)
{
    return dot<H>(n, a, b);
}

template <bool H> static double norm2_op(size_t n, const float *a)
{
    return sqrt(dot<H>(n, a, a));
}

template <bool H> static void axpy(size_t n, float alpha, const float *x, float *y)
{
    each<H>(n, [=] FT_HD(size_t i) { y[i] += alpha * x[i]; });
}

template <bool H> static void scale(size_t n, float alpha, float *x)
{
    each<H>(n, [=] FT_HD(size_t i) { x[i] *= alpha; });
}

template <bool H> static void sub(size_t n, const float *a, const float *b, float *out)
{
    each<H>(n, [=] FT_HD(size_t i) { out[i] = a[i] - b[i]; });
}

template <bool H> void ft_cuda_fill_ops(ft_ops_t *t)
{
    t->relu_forward = relu_forward<H>;
    t->relu_backward = relu_backward<H>;
    t->dropout_forward = dropout_forward<H>;
    t->dropout_backward = dropout_backward<H>;
    t->softmax_xent_forward = softmax_xent_forward<H>;
    t->softmax_xent_backward = softmax_xent_backward<H>;
    t->sgd_step = sgd_step<H>;
    t->dot = dot_op<H>;
    t->norm2 = norm2_op<H>;
    t->axpy = axpy<H>;
    t->scale = scale<H>;
    t->sub = sub<H>;
}

template void ft_cuda_fill_ops<false>(ft_ops_t *t);
template void ft_cuda_fill_ops<true>(ft_ops_t *t);
