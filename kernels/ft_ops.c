/* ft_ops: what every back end shares: the conv output shape, the back-end
 * registry (ft_ops_find), the BLAS thread count, the row-major sgemm wrapper, the
 * Philox dropout decision, and host-memory helpers for the CPU back ends. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "ft_ops.h"

#include <assert.h>
#include <cblas.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_rng.h"

void ft_conv2d_shape(ft_conv2d_shape_t *s)
{
    assert(s->stride > 0 && s->pad >= 0 && s->kh > 0 && s->kw > 0);
    s->Ho = (s->H + 2 * s->pad - s->kh) / s->stride + 1;
    s->Wo = (s->W + 2 * s->pad - s->kw) / s->stride + 1;
}

/* ---- the CUDA back end, loaded on first use -------------------------------------
 * kernels/cuda/ builds it as a module, fedtail-cuda.so beside the fedtail executable,
 * which ft_ops_find("cuda") opens the first time it is asked: a process on the CPU
 * never maps the CUDA libraries, whose load-time set-up costs ~150 MiB of resident
 * memory per process (docs/PERFORMANCE.md §5). The module's ft_ symbols (allocation,
 * errors) resolve to the executable's own, which exports them (CMAKE_ENABLE_EXPORTS).
 * Where the module is looked for: $FEDTAIL_CUDA_MODULE, then beside the running
 * executable, then where the build put it (FT_CUDA_MODULE_PATH, for test programs). */
#ifdef FT_CUDA_MODULE_PATH
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_once_t cuda_once = PTHREAD_ONCE_INIT;
static const ft_ops_t *cuda_ops;
static char cuda_status[512] = "the CUDA back end has not been asked for";

static void *open_module(const char *path)
{
    if (!path || access(path, F_OK) != 0)
        return NULL;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        snprintf(cuda_status, sizeof cuda_status, "%s", dlerror());
    return h;
}

static void load_cuda_module(void)
{
    const char *missing = "fedtail-cuda.so not found (looked beside the executable and at %s)";
    snprintf(cuda_status, sizeof cuda_status, missing, FT_CUDA_MODULE_PATH);
    char beside[4096];
    ssize_t n = readlink("/proc/self/exe", beside, sizeof beside - 32);
    if (n > 0) {
        beside[n] = 0;
        char *slash = strrchr(beside, '/');
        strcpy(slash ? slash + 1 : beside, "fedtail-cuda.so");
    }
    void *h = open_module(getenv("FEDTAIL_CUDA_MODULE"));
    if (!h && n > 0)
        h = open_module(beside);
    if (!h)
        h = open_module(FT_CUDA_MODULE_PATH);
    if (!h)
        return;
    /* POSIX's way to take a function from dlsym without an object-to-function cast */
    const ft_ops_t *(*entry)(void);
    const char *(*info)(void);
    *(void **)&entry = dlsym(h, "ft_ops_cuda");
    *(void **)&info = dlsym(h, "ft_cuda_device_info");
    if (!entry || !info) {
        snprintf(cuda_status, sizeof cuda_status, "fedtail-cuda.so lacks ft_ops_cuda");
        return;
    }
    cuda_ops = entry();
    snprintf(cuda_status, sizeof cuda_status, "%s", info());
}

static const ft_ops_t *cuda_backend(void)
{
    pthread_once(&cuda_once, load_cuda_module);
    return cuda_ops;
}

const char *ft_ops_cuda_status(void)
{
    pthread_once(&cuda_once, load_cuda_module);
    return cuda_status;
}
#else
static const ft_ops_t *cuda_backend(void)
{
    return NULL;
}

const char *ft_ops_cuda_status(void)
{
    return "this build has no CUDA back end";
}
#endif

const ft_ops_t *ft_ops_find(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "reference") == 0)
        return &ft_ops_reference;
    if (strcmp(name, "cpu") == 0)
        return &ft_ops_cpu;
    if (strcmp(name, "cuda") == 0)
        return cuda_backend();
    return NULL;
}

int ft_ops_cpus_allowed(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

void ft_ops_set_threads(int threads)
{
    assert(threads > 0);
    /* More BLAS threads than the CPUs this process may run on only adds contention
     * and per-thread buffers (OpenBLAS's shutdown with thousands of them hung under a
     * memory limit): run.threads is an upper bound, capped by the affinity mask. */
    int cpus = ft_ops_cpus_allowed();
    openblas_set_num_threads(threads < cpus ? threads : cpus);
}

int ft_ops_threads(void)
{
    return openblas_get_num_threads();
}

void ft_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void ft_ssyrk(int M, int K, float alpha, const float *A, int lda, float beta, float *C, int ldc)
{
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, M, K, alpha, A, lda, beta, C, ldc);
}

int ft_dropout_keep(uint64_t seed, uint64_t counter, size_t i, float p)
{
    const uint64_t block = (uint64_t)(i / 4);
    const uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), (uint32_t)block,
                             (uint32_t)(block >> 32)};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t out[4];
    ft_philox4x32(ctr, key, out);
    /* keep iff word >= p * 2^32, compared exactly in double */
    return (double)out[i % 4] >= (double)p * 4294967296.0;
}
