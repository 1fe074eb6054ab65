/* ft_cuda_core: the CUDA back end's process state, error handling, memory
 * functions, the GEMM and reduction executors (device and host emulation), and the
 * two ops tables (ft_ops_cuda() on the device, ft_ops_cuda_host_emulation() on host
 * memory). The ops themselves are in ft_cuda_ops.cu and ft_cuda_nn.cu. */
#include "ft_cuda_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern "C" {
#include "ft_alloc.h"
#include "ft_ops_cuda.h"
}

ft_cuda_ctx_t ft_cuda_ctx;

void ft_cuda_fail(const char *file, int line, const char *call, const char *what)
{
    ft_error_set(FT_ESTATE, "%s:%d: %s failed: %s", file, line, call, what);
    fprintf(stderr, "fedtail: CUDA error at %s:%d: %s: %s (aborting; see docs/gpu.md)\n", file,
            line, call, what);
    fflush(stderr);
    abort();
}

void ft_cuda_check_launch(const char *file, int line)
{
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess && ft_cuda_ctx.sync)
        e = cudaDeviceSynchronize();
    if (e != cudaSuccess)
        ft_cuda_fail(file, line, "kernel launch", cudaGetErrorString(e));
}

/* ---- scratch ---------------------------------------------------------------- */

static void *g_host_scratch;     /* emulation scratch (host) */
static size_t g_host_scratch_sz; /* bytes in g_host_scratch */

template <> void *ft_cuda_scratch<false>(size_t bytes)
{
    if (bytes > ft_cuda_ctx.scratch_size) {
        FT_CUDA_CHECK(cudaFree(ft_cuda_ctx.scratch));
        ft_cuda_ctx.scratch = NULL;
        ft_cuda_ctx.scratch_size = 0;
        FT_CUDA_CHECK(cudaMalloc(&ft_cuda_ctx.scratch, bytes));
        ft_cuda_ctx.scratch_size = bytes;
    }
    return ft_cuda_ctx.scratch;
}

template <> void *ft_cuda_scratch<true>(size_t bytes)
{
    if (bytes > g_host_scratch_sz) {
        void *p = ft_realloc(g_host_scratch, bytes);
        if (!p)
            ft_cuda_fail(__FILE__, __LINE__, "ft_realloc", "out of host memory for scratch");
        g_host_scratch = p;
        g_host_scratch_sz = bytes;
    }
    return g_host_scratch;
}

/* ---- GEMM --------------------------------------------------------------------- */

template <>
void gemm<false>(int trans_a, int trans_b, int m, int n, int k, const float *A, int lda,
                 long long stride_a, const float *B, int ldb, long long stride_b, float beta,
                 float *C, int ldc, long long stride_c, int batch)
{
    const float one = 1.0f;
    cublasOperation_t ta = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t tb = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (m == 0 || n == 0 || batch == 0)
        return;
    if (batch == 1)
        FT_CUBLAS_CHECK(
            cublasSgemm(ft_cuda_ctx.blas, ta, tb, m, n, k, &one, A, lda, B, ldb, &beta, C, ldc));
    else
        FT_CUBLAS_CHECK(cublasSgemmStridedBatched(ft_cuda_ctx.blas, ta, tb, m, n, k, &one, A, lda,
                                                  stride_a, B, ldb, stride_b, &beta, C, ldc,
                                                  stride_c, batch));
    if (ft_cuda_ctx.sync)
        FT_CUDA_CHECK(cudaDeviceSynchronize());
}

/* The definition from the cuBLAS documentation, written out: element (i, j) of a
 * column-major matrix X with leading dimension ld is X[i + j*ld]. */
template <>
void gemm<true>(int trans_a, int trans_b, int m, int n, int k, const float *A, int lda,
                long long stride_a, const float *B, int ldb, long long stride_b, float beta,
                float *C, int ldc, long long stride_c, int batch)
{
    for (int t = 0; t < batch; t++) {
        const float *At = A + t * stride_a, *Bt = B + t * stride_b;
        float *Ct = C + t * stride_c;
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                double acc = 0;
                for (int l = 0; l < k; l++) {
                    float a = trans_a ? At[l + (size_t)i * lda] : At[i + (size_t)l * lda];
                    float b = trans_b ? Bt[j + (size_t)l * ldb] : Bt[l + (size_t)j * ldb];
                    acc += (double)a * b;
                }
                float *c = &Ct[i + (size_t)j * ldc];
                /* beta 0 overwrites, as cuBLAS does (C may hold garbage or NaN). */
                *c = beta == 0.0f ? (float)acc : (float)(acc + (double)beta * *c);
            }
    }
}

/* ---- reductions ----------------------------------------------------------------- */

#define FT_RED_THREADS    256
#define FT_RED_MAX_BLOCKS 1024

/* Tree-reduces s[0..FT_RED_THREADS) into s[0]; all threads of the block call it. */
static __device__ void block_reduce(double *s)
{
    for (int w = FT_RED_THREADS / 2; w > 0; w /= 2) {
        __syncthreads();
        if ((int)threadIdx.x < w)
            s[threadIdx.x] += s[threadIdx.x + w];
    }
    __syncthreads();
}

static __global__ void dot_partial_kernel(size_t n, const float *a, const float *b, double *part)
{
    __shared__ double s[FT_RED_THREADS];
    double acc = 0;
    for (size_t i = (size_t)blockIdx.x * FT_RED_THREADS + threadIdx.x; i < n;
         i += (size_t)gridDim.x * FT_RED_THREADS)
        acc += (double)a[i] * b[i];
    s[threadIdx.x] = acc;
    block_reduce(s);
    if (threadIdx.x == 0)
        part[blockIdx.x] = s[0];
}

static __global__ void sum_partials_kernel(int count, double *part)
{
    __shared__ double s[FT_RED_THREADS];
    double acc = 0;
    for (int i = threadIdx.x; i < count; i += FT_RED_THREADS)
        acc += part[i];
    s[threadIdx.x] = acc;
    block_reduce(s);
    if (threadIdx.x == 0)
        part[count] = s[0];
}

template <> double dot<false>(size_t n, const float *a, const float *b)
{
    if (n == 0)
        return 0.0;
    /* The grid depends on n only, so the summation order (and the result) is the
     * same on every call. */
    size_t blocks = (n + FT_RED_THREADS - 1) / FT_RED_THREADS;
    if (blocks > FT_RED_MAX_BLOCKS)
        blocks = FT_RED_MAX_BLOCKS;
    double *part = (double *)ft_cuda_scratch<false>((blocks + 1) * sizeof(double));
    dot_partial_kernel<<<(unsigned)blocks, FT_RED_THREADS>>>(n, a, b, part);
    FT_CUDA_LAUNCHED();
    sum_partials_kernel<<<1, FT_RED_THREADS>>>((int)blocks, part);
    FT_CUDA_LAUNCHED();
    double r;
    FT_CUDA_CHECK(cudaMemcpy(&r, part + blocks, sizeof r, cudaMemcpyDeviceToHost));
    return r;
}

template <> double dot<true>(size_t n, const float *a, const float *b)
{
    double acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += (double)a[i] * b[i];
    return acc;
}

static __global__ void channel_sum_kernel(int B, int C, int P, const float *dy, float *db)
{
    __shared__ double s[FT_RED_THREADS];
    const int c = blockIdx.x;
    const size_t total = (size_t)B * P;
    double acc = 0;
    for (size_t idx = threadIdx.x; idx < total; idx += FT_RED_THREADS) {
        size_t b = idx / P, p = idx % P;
        acc += dy[(b * C + c) * P + p];
    }
    s[threadIdx.x] = acc;
    block_reduce(s);
    if (threadIdx.x == 0)
        db[c] = (float)s[0];
}

template <> void channel_sum<false>(int B, int C, int P, const float *dy, float *db)
{
    if (C == 0)
        return;
    channel_sum_kernel<<<C, FT_RED_THREADS>>>(B, C, P, dy, db);
    FT_CUDA_LAUNCHED();
}

template <> void channel_sum<true>(int B, int C, int P, const float *dy, float *db)
{
    for (int c = 0; c < C; c++) {
        double acc = 0;
        for (int b = 0; b < B; b++)
            for (int p = 0; p < P; p++)
                acc += dy[((size_t)b * C + c) * P + p];
        db[c] = (float)acc;
    }
}

/* ---- memory ------------------------------------------------------------------------ */

static void *dev_alloc(size_t bytes)
{
    void *p = NULL;
    /* One byte for a zero-size request, so that NULL always means out of memory. */
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError(); /* not sticky: clear it */
        ft_error_set(FT_ENOMEM, "cuda: cudaMalloc of %zu bytes failed: out of device memory",
                     bytes);
        return NULL;
    }
    FT_CUDA_CHECK(e);
    FT_CUDA_CHECK(cudaMemset(p, 0, bytes ? bytes : 1));
    return p;
}

static void dev_free(void *ptr)
{
    if (ptr)
        FT_CUDA_CHECK(cudaFree(ptr));
}

static void dev_upload(void *dst, const void *src_host, size_t bytes)
{
    if (bytes)
        FT_CUDA_CHECK(cudaMemcpy(dst, src_host, bytes, cudaMemcpyHostToDevice));
}

static void dev_download(void *dst_host, const void *src, size_t bytes)
{
    if (bytes)
        FT_CUDA_CHECK(cudaMemcpy(dst_host, src, bytes, cudaMemcpyDeviceToHost));
}

static void dev_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        FT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}

static size_t dev_mem_available(void)
{
    size_t free_b = 0, total_b = 0;
    FT_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    return free_b;
}

static void dev_zero(void *dst, size_t bytes)
{
    if (bytes)
        FT_CUDA_CHECK(cudaMemset(dst, 0, bytes));
}

static void *host_alloc(size_t bytes)
{
    void *p = ft_calloc(1, bytes ? bytes : 1);
    if (!p)
        ft_error_set(FT_ENOMEM, "cuda emulation: allocation of %zu bytes failed", bytes);
    return p;
}

static void host_free(void *ptr)
{
    ft_free(ptr);
}

static void host_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        memcpy(dst, src, bytes);
}

static void host_zero(void *dst, size_t bytes)
{
    if (bytes)
        memset(dst, 0, bytes);
}

/* ---- tables ----------------------------------------------------------------------- */

static ft_ops_t g_dev_ops;          /* the device table, filled once */
static const ft_ops_t *g_dev_found; /* &g_dev_ops, or NULL without a usable device */
static char g_info[512];            /* ft_cuda_device_info() text */
static pthread_once_t g_dev_once = PTHREAD_ONCE_INIT;

static void dev_init(void)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        snprintf(g_info, sizeof g_info, "no CUDA device: %s",
                 e != cudaSuccess ? cudaGetErrorString(e) : "device count is 0");
        (void)cudaGetLastError();
        return;
    }
    int dev = 0;
    cudaDeviceProp prop;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&prop, dev) != cudaSuccess) {
        snprintf(g_info, sizeof g_info, "CUDA device %d cannot be queried", dev);
        (void)cudaGetLastError();
        return;
    }
    cublasStatus_t s = cublasCreate(&ft_cuda_ctx.blas);
    if (s != CUBLAS_STATUS_SUCCESS) {
        snprintf(g_info, sizeof g_info, "%.256s: cublasCreate failed: %.128s", prop.name,
                 cublasGetStatusString(s));
        (void)cudaGetLastError();
        return;
    }
    /* Plain FP32 GEMMs (no TF32 tensor-core rounding), so that results stay within
     * float tolerance of the CPU back ends. */
    FT_CUBLAS_CHECK(cublasSetMathMode(ft_cuda_ctx.blas, CUBLAS_DEFAULT_MATH));
    const char *sync = getenv("FT_CUDA_SYNC");
    ft_cuda_ctx.sync = sync && sync[0] && strcmp(sync, "0") != 0;
    snprintf(g_info, sizeof g_info, "%.256s, sm_%d%d, %.0f GiB", prop.name, prop.major, prop.minor,
             (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));

    ft_ops_t *t = &g_dev_ops;
    t->name = "cuda";
    t->alloc = dev_alloc;
    t->free = dev_free;
    t->upload = dev_upload;
    t->download = dev_download;
    t->copy = dev_copy;
    t->zero = dev_zero;
    t->mem_available = dev_mem_available;
    ft_cuda_fill_ops<false>(t);
    ft_cuda_fill_nn<false>(t);
    ft_cuda_fill_batch<false>(t);
    ft_cuda_fill_lstm<false>(t);
    g_dev_found = t;

    /* FT_CUDA_TRACE=FILE: each process that starts the back end appends a line, so
     * a script can prove a run really trained on the GPU (tests/gpu/check.sh). */
    const char *trace = getenv("FT_CUDA_TRACE");
    if (trace && trace[0]) {
        FILE *f = fopen(trace, "a");
        if (f) {
            fprintf(f, "%ld %s\n", (long)getpid(), g_info);
            fclose(f);
        }
    }
}

extern "C" const ft_ops_t *ft_ops_cuda(void)
{
    pthread_once(&g_dev_once, dev_init);
    if (!g_dev_found)
        ft_error_set(FT_EUNSUPPORTED, "cuda back end unavailable: %s", g_info);
    return g_dev_found;
}

extern "C" const char *ft_cuda_device_info(void)
{
    pthread_once(&g_dev_once, dev_init);
    return g_info;
}

extern "C" void ft_cuda_synchronize(void)
{
    if (ft_ops_cuda())
        FT_CUDA_CHECK(cudaDeviceSynchronize());
}

static ft_ops_t g_host_ops; /* the emulation table, filled once */
static pthread_once_t g_host_once = PTHREAD_ONCE_INIT;

static void host_init(void)
{
    ft_ops_t *t = &g_host_ops;
    t->name = "cuda-emulated";
    t->alloc = host_alloc;
    t->free = host_free;
    t->upload = host_copy;
    t->download = host_copy;
    t->copy = host_copy;
    t->zero = host_zero;
    ft_cuda_fill_ops<true>(t);
    ft_cuda_fill_nn<true>(t);
    ft_cuda_fill_batch<true>(t);
    ft_cuda_fill_lstm<true>(t);
}

extern "C" const ft_ops_t *ft_ops_cuda_host_emulation(void)
{
    pthread_once(&g_host_once, host_init);
    return &g_host_ops;
}
