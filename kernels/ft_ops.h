/* ft_ops: the tensor operations a model needs, as one interface with several back
 * ends (the ggml way): a plain CPU reference, a fast CPU path (BLAS GEMM + im2col,
 * the default), and CUDA where built. Models hold an ops table and call through it;
 * nothing above kernels/ knows which back end runs.
 *
 * Dimension letters: B batch, C/Ci/Co channels, H/W height/width, In/Out features,
 * n element count. Layouts are row-major, activations NCHW. All pointers given to
 * an ops table live in that back end's memory (host for CPU, device for CUDA);
 * alloc/upload/download move data across. Backward functions overwrite (never
 * accumulate into) their gradient outputs. */
#ifndef FT_OPS_H
#define FT_OPS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int B, Ci, H, W; /* input */
    int Co, kh, kw;  /* filters */
    int stride, pad; /* same in both directions */
    int Ho, Wo;      /* output, from ft_conv2d_shape() */
} ft_conv2d_shape_t;

/* Fills Ho/Wo from the other fields. */
void ft_conv2d_shape(ft_conv2d_shape_t *s);

struct ft_lstm_ops; /* ft_lstm_ops.h */

typedef struct ft_ops {
    const char *name; /* "reference", "cpu", "cuda" */

    /* memory */
    void *(*alloc)(size_t bytes); /* zeroed; NULL on OOM */
    void (*free)(void *ptr);      /* accepts NULL */
    void (*upload)(void *dst, const void *src_host, size_t bytes);
    void (*download)(void *dst_host, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*zero)(void *dst, size_t bytes);
    /* Optional: bytes alloc could still give (a device's free memory), for sizing
     * batches (run.batch_clients = 0); NULL where that is unknown (host back ends). */
    size_t (*mem_available)(void);

    /* Scratch floats conv2d needs for shape s (im2col buffers etc.). */
    size_t (*conv2d_workspace)(const ft_conv2d_shape_t *s);
    /* y B×Co×Ho×Wo = conv(x B×Ci×H×W, w Co×Ci×kh×kw) + b Co */
    void (*conv2d_forward)(const ft_conv2d_shape_t *s, const float *x, const float *w,
                           const float *b, float *y, float *ws);
    /* dx (may be NULL: first layer), dw, db from dy B×Co×Ho×Wo */
    void (*conv2d_backward)(const ft_conv2d_shape_t *s, const float *x, const float *w,
                            const float *dy, float *dx, float *dw, float *db, float *ws);

    /* y B×Out = x B×In · w^T (w Out×In) + b Out */
    void (*linear_forward)(int B, int In, int Out, const float *x, const float *w, const float *b,
                           float *y);
    /* dx B×In (may be NULL), dw Out×In, db Out */
    void (*linear_backward)(int B, int In, int Out, const float *x, const float *w, const float *dy,
                            float *dx, float *dw, float *db);

    /* k×k window, stride; y B×C×Ho×Wo with Ho = (H-k)/stride+1; argmax B×C×Ho×Wo
     * holds the input offset (within one channel plane) of each maximum. */
    void (*maxpool2d_forward)(int B, int C, int H, int W, int k, int stride, const float *x,
                              float *y, int32_t *argmax);
    void (*maxpool2d_backward)(int B, int C, int H, int W, int k, int stride, const float *dy,
                               const int32_t *argmax, float *dx);

    /* global average pool: x B×C×H×W -> y B×C */
    void (*avgpool_global_forward)(int B, int C, int H, int W, const float *x, float *y);
    void (*avgpool_global_backward)(int B, int C, int H, int W, const float *dy, float *dx);

    /* y = max(x, 0) (in place allowed); dx = dy where y > 0 */
    void (*relu_forward)(size_t n, const float *x, float *y);
    void (*relu_backward)(size_t n, const float *y, const float *dy, float *dx);

    /* Inverted dropout with drop probability p: mask[i] = keep ? 1/(1-p) : 0 where
     * keep is decided by Philox stream (seed, counter) at element i, so every back
     * end draws the same mask. y = x * mask. */
    void (*dropout_forward)(size_t n, float p, uint64_t seed, uint64_t counter, const float *x,
                            float *y, float *mask);
    void (*dropout_backward)(size_t n, const float *dy, const float *mask, float *dx);

    /* Mean softmax cross-entropy over B rows of C logits; labels B. Writes probs
     * B×C and returns the mean loss (host value). */
    float (*softmax_xent_forward)(int B, int C, const float *logits, const int32_t *labels,
                                  float *probs);
    /* dlogits = (probs - onehot(labels)) / B */
    void (*softmax_xent_backward)(int B, int C, const float *probs, const int32_t *labels,
                                  float *dlogits);

    /* PyTorch SGD: g = grad + wd*p; buf = momentum*buf + g; p -= lr*buf (buf starts 0;
     * momentum 0 means plain SGD and buf is not touched). */
    void (*sgd_step)(size_t n, float *params, const float *grads, float *momentum_buf, float lr,
                     float momentum, float weight_decay);

    /* Flat-vector reductions and updates, double-accumulated. */
    double (*dot)(size_t n, const float *a, const float *b);
    double (*norm2)(size_t n, const float *a);                         /* Euclidean norm */
    void (*axpy)(size_t n, float alpha, const float *x, float *y);     /* y += alpha*x */
    void (*scale)(size_t n, float alpha, float *x);                    /* x *= alpha */
    void (*sub)(size_t n, const float *a, const float *b, float *out); /* out = a - b */

    /* Optional fused ops (NULL where a back end lacks them; callers then run the
     * unfused ops). ReLU followed by max pooling, as one pass over x:
     * y = maxpool(relu(x)), computed as relu(maxpool(x)) (max is monotone), so x is
     * left unchanged; argmax as maxpool2d_forward gives for x. Where a window holds
     * no positive value y is +0 and argmax may differ from the unfused pair's, but
     * the gradient, which is 0 there, does not. */
    void (*relu_maxpool2d_forward)(int B, int C, int H, int W, int k, int stride, const float *x,
                                   float *y, int32_t *argmax);
    /* The gradient of that pair: dx B×C×H×W (overwritten) = maxpool2d_backward of
     * (dy where y > 0 or NaN, else 0), i.e. relu_backward folded in. */
    void (*relu_maxpool2d_backward)(int B, int C, int H, int W, int k, int stride, const float *y,
                                    const float *dy, const int32_t *argmax, float *dx);

    /* Optional batched ops: one call for K clients that each hold their own
     * parameters (model/ft_model_batch.c). Client k's weights, biases and
     * gradients are at w/b/dw/db + k*pstride (pstride = N: the K×N parameter
     * block); its activations are B rows at x/y/dx/dy + k*B*(floats per row).
     * All K clients run B rows (the shorter ones padded with zero rows, whose
     * dy is zero). NULL in a back end that lacks them: the model then loops over
     * the clients with the single-client ops (exact by construction), which is
     * what the CPU back ends do. */
    /* floats of ws conv2d_forward_batched/backward_batched need for K clients */
    size_t (*conv2d_workspace_batched)(int K, const ft_conv2d_shape_t *s);
    void (*conv2d_forward_batched)(int K, size_t pstride, const ft_conv2d_shape_t *s,
                                   const float *x, const float *w, const float *b, float *y,
                                   float *ws);
    void (*conv2d_backward_batched)(int K, size_t pstride, const ft_conv2d_shape_t *s,
                                    const float *x, const float *w, const float *dy, float *dx,
                                    float *dw, float *db, float *ws);
    void (*linear_forward_batched)(int K, size_t pstride, int B, int In, int Out, const float *x,
                                   const float *w, const float *b, float *y);
    void (*linear_backward_batched)(int K, size_t pstride, int B, int In, int Out, const float *x,
                                    const float *w, const float *dy, float *dx, float *dw,
                                    float *db);
    /* Softmax cross-entropy of K clients' B-row blocks (logits K×B×C, labels K×B):
     * probs K×B×C; loss[k] (host, K) = the mean over client k's first Bk[k] rows
     * (Bk host, K, 0..B; 0 gives 0), summed in row order as softmax_xent_forward
     * does, so each equals softmax_xent_forward(Bk[k], ...) on that block. */
    void (*softmax_xent_forward_batched)(int K, int B, const int *Bk, int C, const float *logits,
                                         const int32_t *labels, float *probs, float *loss);
    /* The text ops (embedding, LSTM steps, row scoring) on this back end's memory
     * (ft_lstm_ops.h), or NULL where the back end has none. Kept here so that the
     * CUDA module's table (and its host emulation) brings its own. */
    const struct ft_lstm_ops *lstm;
} ft_ops_t;

/* The plain, obviously-correct reference: loops only. */
extern const ft_ops_t ft_ops_reference;
/* The fast CPU path (BLAS sgemm, im2col): the default on a CPU. */
extern const ft_ops_t ft_ops_cpu;

/* Finds a back end by name ("reference", "cpu", "cuda"); NULL if not built or no
 * device is present. */
const ft_ops_t *ft_ops_find(const char *name);

/* What ft_ops_find("cuda") found: the device it uses ("NVIDIA H200, sm_90, 139 GiB"),
 * or why there is none (no CUDA back end built, its module not found or not
 * loadable, no device). Never NULL. The back end itself is a module loaded on first
 * use (kernels/ft_ops.c); programs that link kernels/cuda/ statically (its tests and
 * benchmark) reach it directly through ft_ops_cuda.h. */
const char *ft_ops_cuda_status(void);

/* Sets the number of BLAS threads for this process (run.threads), capped at the CPUs
 * in the process's affinity mask (ft_ops_cpus_allowed). */
void ft_ops_set_threads(int threads);

/* The BLAS threads this process uses now. */
int ft_ops_threads(void);

/* The CPUs this process may run on (sched_getaffinity; 1 if that fails). */
int ft_ops_cpus_allowed(void);

/* Single-precision GEMM on host memory through the fast BLAS path:
 * C M×N = alpha * op(A) op(B) + beta * C, row-major. Used by defenses (Gram matrices). */
void ft_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);

/* Symmetric rank-k update on host memory: the upper triangle of C M×M = alpha * A Aᵀ
 * + beta * C (A M×K row-major); the lower triangle is left untouched. Half the work
 * of ft_sgemm for a Gram matrix. */
void ft_ssyrk(int M, int K, float alpha, const float *A, int lda, float beta, float *C, int ldc);

/* The Gram matrix of M rows of N floats, upper triangle with the diagonal:
 * G[i*M + k] = sum_j rows[i][j] rows[k][j] for k >= i, float sums per panel of columns
 * added in double; the lower triangle is left untouched. Register-tiled AVX-512 for
 * the small M of a round (ft_gram_kernel.c). Returns 1 when done, 0 (G untouched)
 * when this CPU or this M is for the BLAS route instead. */
int ft_gram_tiled(const float *const *rows, int M, size_t N, double *G);

/* Nonzero when ft_gram_tiled's kernel runs on this CPU. */
int ft_gram_tiled_available(void);

/* Philox-based keep decision shared by every dropout back end: nonzero to keep
 * element i of the mask drawn with (seed, counter). */
int ft_dropout_keep(uint64_t seed, uint64_t counter, size_t i, float p);

#endif
