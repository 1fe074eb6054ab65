/* ft_cuda_softmax: the softmax cross-entropy forward for rows of many classes — a
 * language model's vocabulary — on the CUDA back end. One block of FT_SOFTMAX_LANES
 * threads per row instead of one thread per row (ft_cuda_ops.cu, which keeps the
 * few-class rows of image models): lane l takes columns l, l + LANES, ...; the
 * row's maximum and its sum of exponentials are reduced over the lanes by a fixed
 * tree in double, so the result is the same on every call, and the emulation runs
 * the same lanes and the same tree serially (bit-identical to the device but for
 * the device's exp/log). With one thread per row, T·B ≈ 1,000 rows of a
 * 50,000-word vocabulary were about 1,000 threads each walking 150,000 double
 * exponentials in sequence; here every row has 256 lanes in parallel.
 *
 * Semantics are the reference's (kernels/ft_ops_reference.c): m = the row maximum,
 * probs = exp(z - m) / sum in double, row loss = log(sum) + m - z[label]; a NaN in
 * a row makes its probabilities and loss NaN. The order of the double sums differs
 * from the reference's sequential one (relative differences ~1e-16). */
#include "ft_cuda_internal.h"

#include <math.h>

/* Threads (lanes) per row; a power of two. */
#define FT_SOFTMAX_LANES 256

/* Lane l's maximum over its columns, -inf where it has none. The reference starts
 * from z[0] and keeps a value only when strictly greater; a lane starts from its
 * first column, so NaNs propagate as there (through the sum below). */
static FT_HD inline double lane_max(const float *z, int C, int l)
{
    double m = l < C ? (double)z[l] : -INFINITY;
    for (int c = l + FT_SOFTMAX_LANES; c < C; c += FT_SOFTMAX_LANES)
        if (z[c] > m)
            m = z[c];
    return m;
}

static FT_HD inline double lane_sum(const float *z, int C, int l, double m)
{
    double s = 0;
    for (int c = l; c < C; c += FT_SOFTMAX_LANES)
        s += exp(z[c] - m);
    return s;
}

static FT_HD inline void lane_probs(const float *z, float *p, int C, int l, double m, double sum)
{
    for (int c = l; c < C; c += FT_SOFTMAX_LANES)
        p[c] = (float)(exp(z[c] - m) / sum);
}

/* rows[b] = the row loss, rows[B + b] = 1 for a label outside [0, C) (the caller
 * asserts), as the one-thread-per-row kernel writes them. */
static FT_HD inline void row_loss(int B, int C, int b, const float *z, int32_t label, double m,
                                  double sum, double *rows)
{
    int bad = label < 0 || label >= C;
    rows[b] = bad ? 0.0 : log(sum) + m - z[bad ? 0 : label];
    rows[B + b] = bad ? 1.0 : 0.0;
}

/* One tree level: s[i] combines s[i + w] (max keeps s[i] unless s[i + w] is greater). */
static FT_HD inline void tree_step(double *s, int i, int w, int is_max)
{
    if (is_max) {
        if (s[i + w] > s[i])
            s[i] = s[i + w];
    } else
        s[i] += s[i + w];
}

static __global__ void softmax_rows_kernel(int B, int C, const float *logits, const int32_t *labels,
                                           float *probs, double *rows)
{
    __shared__ double s[FT_SOFTMAX_LANES];
    const int b = blockIdx.x, l = threadIdx.x;
    const float *z = logits + (size_t)b * C;
    double m = 0;
    for (int pass = 0; pass < 2; pass++) { /* 0: the maximum, 1: the sum */
        s[l] = pass ? lane_sum(z, C, l, m) : lane_max(z, C, l);
        for (int w = FT_SOFTMAX_LANES / 2; w > 0; w /= 2) {
            __syncthreads();
            if (l < w)
                tree_step(s, l, w, !pass);
        }
        __syncthreads();
        if (!pass) {
            m = s[0];
            __syncthreads(); /* everyone has read s[0] before it is overwritten */
        }
    }
    const double sum = s[0];
    lane_probs(z, probs + (size_t)b * C, C, l, m, sum);
    if (l == 0)
        row_loss(B, C, b, z, labels[b], m, sum, rows);
}

template <>
void ft_cuda_softmax_rows<false>(int B, int C, const float *logits, const int32_t *labels,
                                 float *probs, double *rows)
{
    if (B == 0)
        return;
    softmax_rows_kernel<<<(unsigned)B, FT_SOFTMAX_LANES>>>(B, C, logits, labels, probs, rows);
    FT_CUDA_LAUNCHED();
}

/* The same lanes and tree, one after another. */
template <>
void ft_cuda_softmax_rows<true>(int B, int C, const float *logits, const int32_t *labels,
                                float *probs, double *rows)
{
    double s[FT_SOFTMAX_LANES];
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * C;
        double m = 0;
        for (int pass = 0; pass < 2; pass++) {
            for (int l = 0; l < FT_SOFTMAX_LANES; l++)
                s[l] = pass ? lane_sum(z, C, l, m) : lane_max(z, C, l);
            for (int w = FT_SOFTMAX_LANES / 2; w > 0; w /= 2)
                for (int l = 0; l < w; l++)
                    tree_step(s, l, w, !pass);
            if (!pass)
                m = s[0];
        }
        const double sum = s[0];
        for (int l = 0; l < FT_SOFTMAX_LANES; l++)
            lane_probs(z, probs + (size_t)b * C, C, l, m, sum);
        row_loss(B, C, b, z, labels[b], m, sum, rows);
    }
}
