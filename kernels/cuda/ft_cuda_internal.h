/* ft_cuda_internal: what the CUDA back end's translation units share: error
 * checks, the per-process context (cuBLAS handle, reduction scratch), and the two
 * executors every op is written against.
 *
 * Each op is a template on H (host emulation or device). Its per-element work is a
 * __host__ __device__ lambda handed to each<H>(n, f): on the device one CUDA thread
 * per index (grid-stride loop), in emulation a plain loop. GEMMs go through
 * gemm<H>(), which is cuBLAS on the device and a direct column-major loop with the
 * same argument meaning in emulation. So the emulated table (tests without a GPU)
 * runs the very index maths the device runs.
 *
 * Error policy (see docs/gpu.md): a CUDA or cuBLAS error inside an op is either a
 * programmer error (bad shape or pointer, an illegal address) or a device fault,
 * and CUDA errors are sticky: the context is unusable afterwards. The ops interface
 * has no error return, so FT_CUDA_CHECK records the error with ft_error_set(), prints
 * it with file and line, and aborts, like a failed assert. Out-of-memory in alloc
 * is the one run-time condition: alloc returns NULL with FT_ENOMEM set. */
#ifndef FT_CUDA_INTERNAL_H
#define FT_CUDA_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "ft_error.h"
#include "ft_ops.h"
}

#define FT_HD __host__ __device__

/* Aborts with a message naming the failed call; never returns. */
[[noreturn]] void ft_cuda_fail(const char *file, int line, const char *call, const char *what);

#define FT_CUDA_CHECK(call)                                                                        \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess)                                                                     \
            ft_cuda_fail(__FILE__, __LINE__, #call, cudaGetErrorString(e_));                       \
    } while (0)

#define FT_CUBLAS_CHECK(call)                                                                      \
    do {                                                                                           \
        cublasStatus_t s_ = (call);                                                                \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                           \
            ft_cuda_fail(__FILE__, __LINE__, #call, cublasGetStatusString(s_));                    \
    } while (0)

/* Checks the launch just made; with FT_CUDA_SYNC=1 in the environment also waits
 * for it, so an asynchronous fault is reported at the kernel that caused it. */
void ft_cuda_check_launch(const char *file, int line);
#define FT_CUDA_LAUNCHED() ft_cuda_check_launch(__FILE__, __LINE__)

/* Per-process state of the device back end; one host thread uses an ops table at a
 * time (the scratch buffer is shared). */
typedef struct {
    cublasHandle_t blas; /* cuBLAS handle on the default stream, FP32 math (no TF32) */
    void *scratch;       /* device scratch for reduction partials / per-row losses */
    size_t scratch_size; /* bytes in scratch */
    int sync;            /* FT_CUDA_SYNC: synchronise after every launch */
} ft_cuda_ctx_t;

extern ft_cuda_ctx_t ft_cuda_ctx;

/* Scratch of at least bytes in the back end's memory (device, or host in
 * emulation); grows on demand, kept for the life of the process. */
template <bool H> void *ft_cuda_scratch(size_t bytes);

/* ft_cuda_set_conv_chunk()'s cap on the images per convolution chunk (0: none);
 * the batched convolution (ft_cuda_batch.cu) honours it too. */
int ft_cuda_conv_chunk_cap(void);

/* Threads per block for the element-wise kernels. */
#define FT_CUDA_THREADS 256

template <typename F> __global__ void ft_cuda_each_kernel(size_t n, F f)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        f(i);
}

/* Runs f(i) for every i in [0, n). */
template <bool H, typename F> static inline void each(size_t n, F f)
{
    if (n == 0)
        return;
    if constexpr (H) {
        for (size_t i = 0; i < n; i++)
            f(i);
    } else {
        size_t blocks = (n + FT_CUDA_THREADS - 1) / FT_CUDA_THREADS;
        if (blocks > (1u << 20))
            blocks = 1u << 20; /* grid-stride loop covers the rest */
        ft_cuda_each_kernel<<<(unsigned)blocks, FT_CUDA_THREADS>>>(n, f);
        FT_CUDA_LAUNCHED();
    }
}

/* Column-major, cuBLAS meaning: for each of batch matrices t,
 * C_t (m×n, ldc) = op(A_t) op(B_t) + beta C_t, with op(X) = X^T when trans is
 * nonzero, A_t = A + t*stride_a, and so on (alpha is 1). */
template <bool H>
void gemm(int trans_a, int trans_b, int m, int n, int k, const float *A, int lda,
          long long stride_a, const float *B, int ldb, long long stride_b, float beta, float *C,
          int ldc, long long stride_c, int batch);

/* sum_i a[i]*b[i] accumulated in double (device: two-pass block reduction with a
 * fixed grid, so the result is deterministic). */
template <bool H> double dot(size_t n, const float *a, const float *b);

/* db[c] = sum over b < B, p < P of dy[(b*C + c)*P + p], accumulated in double. */
template <bool H> void channel_sum(int B, int C, int P, const float *dy, float *db);

/* Softmax cross-entropy forward rows of C >= FT_SOFTMAX_BLOCK_CLASSES classes (a
 * vocabulary), one block per row (ft_cuda_softmax.cu): probs B×C, rows[b] the row
 * loss and rows[B + b] 1 for a label outside [0, C), as ft_cuda_ops.cu's
 * softmax_xent_forward expects them. */
#define FT_SOFTMAX_BLOCK_CLASSES 256
template <bool H>
void ft_cuda_softmax_rows(int B, int C, const float *logits, const int32_t *labels, float *probs,
                          double *rows);
template <>
void ft_cuda_softmax_rows<false>(int B, int C, const float *logits, const int32_t *labels,
                                 float *probs, double *rows);
template <>
void ft_cuda_softmax_rows<true>(int B, int C, const float *logits, const int32_t *labels,
                                float *probs, double *rows);

/* Both variants of each executor are explicit specialisations in ft_cuda_core.cu. */
template <> void *ft_cuda_scratch<false>(size_t bytes);
template <> void *ft_cuda_scratch<true>(size_t bytes);
template <>
void gemm<false>(int, int, int, int, int, const float *, int, long long, const float *, int,
                 long long, float, float *, int, long long, int);
template <>
void gemm<true>(int, int, int, int, int, const float *, int, long long, const float *, int,
                long long, float, float *, int, long long, int);
template <> double dot<false>(size_t n, const float *a, const float *b);
template <> double dot<true>(size_t n, const float *a, const float *b);
template <> void channel_sum<false>(int B, int C, int P, const float *dy, float *db);
template <> void channel_sum<true>(int B, int C, int P, const float *dy, float *db);

/* One row of the softmax cross-entropy (the one-thread-per-row path of
 * ft_cuda_xent_rows below): probs of the C logits z, and the row's loss (0 with
 * *bad = 1 for a label outside [0, C)). In double, as the reference. */
static FT_HD inline double ft_cuda_xent_row(int C, const float *z, int32_t label, float *pr,
                                            int *bad)
{
    double m = z[0];
    for (int c = 1; c < C; c++)
        if (z[c] > m)
            m = z[c];
    double sum = 0;
    for (int c = 0; c < C; c++)
        sum += exp(z[c] - m);
    for (int c = 0; c < C; c++)
        pr[c] = (float)(exp(z[c] - m) / sum);
    *bad = label < 0 || label >= C;
    return *bad ? 0.0 : log(sum) + m - z[label];
}

/* The softmax cross-entropy forward of R rows of C classes that softmax_xent_forward
 * (ft_cuda_ops.cu) and its batched form (ft_cuda_batch.cu) share: writes probs (R×C)
 * and returns the back end's scratch (device memory, or host in emulation) holding
 * rows[r], row r's loss in double, and rows[R + r], 1 for a label outside [0, C). From
 * FT_SOFTMAX_BLOCK_CLASSES classes up (a vocabulary) a block per row
 * (ft_cuda_softmax_rows), below that one thread per row. The scratch is valid until
 * the next op that uses it. */
template <bool H>
static inline const double *ft_cuda_xent_rows(size_t R, int C, const float *logits,
                                              const int32_t *labels, float *probs)
{
    double *rows = (double *)ft_cuda_scratch<H>(2 * R * sizeof(double));
    const int wide = C >= FT_SOFTMAX_BLOCK_CLASSES;
    if (wide)
        ft_cuda_softmax_rows<H>((int)R, C, logits, labels, probs, rows);
    /* the rows here, one thread each, unless done above (0 rows) */
    each<H>(wide ? 0 : R, [=] FT_HD(size_t r) {
        int bad;
        rows[r] = ft_cuda_xent_row(C, logits + r * C, labels[r], probs + r * C, &bad);
        rows[R + r] = bad ? 1.0 : 0.0;
    });
    return rows;
}

/* Brings ft_cuda_xent_rows' R rows to the host, one copy per 256 rows, and calls
 * row(r, loss, bad) for r = 0, 1, ..., R-1 in that order (bad nonzero for a label out
 * of range: the caller asserts where the row counts), so the caller sums the losses
 * in row order, as the reference does. A failed copy aborts (FT_CUDA_CHECK). */
template <bool H, typename F>
static inline void ft_cuda_xent_rows_each(const double *rows, size_t R, F row)
{
    double host_rows[512];
    for (size_t r0 = 0; r0 < R; r0 += 256) {
        size_t nr = R - r0 < 256 ? R - r0 : 256;
        if constexpr (H) {
            for (size_t i = 0; i < nr; i++) {
                host_rows[i] = rows[r0 + i];
                host_rows[256 + i] = rows[R + r0 + i];
            }
        } else {
            FT_CUDA_CHECK(
                cudaMemcpy(host_rows, rows + r0, nr * sizeof(double), cudaMemcpyDeviceToHost));
            FT_CUDA_CHECK(cudaMemcpy(host_rows + 256, rows + R + r0, nr * sizeof(double),
                                     cudaMemcpyDeviceToHost));
        }
        for (size_t i = 0; i < nr; i++)
            row(r0 + i, host_rows[i], host_rows[256 + i] != 0.0);
    }
}

/* Fill the op slots of an ops table (ft_cuda_ops.cu: element-wise, loss, SGD and
 * vector ops; ft_cuda_nn.cu: conv, linear, pooling). */
template <bool H> void ft_cuda_fill_ops(ft_ops_t *t);
template <bool H> void ft_cuda_fill_nn(ft_ops_t *t);
/* ft_cuda_batch.cu: the *_batched ops (K clients' parameters at once). */
template <bool H> void ft_cuda_fill_batch(ft_ops_t *t);
/* Points t->lstm at the back end's text ops (ft_cuda_lstm.cu: embedding, LSTM steps,
 * row scoring; ft_lstm_ops.h). */
template <bool H> void ft_cuda_fill_lstm(ft_ops_t *t);

#endif
