/* bench_blas: how fast this machine's BLAS runs the GEMMs fedtail issues, on one
 * core, and how close the cpu back end's convolutions come to that.
 *
 * Prints the OpenBLAS kernel in use (after ft_blas_setup's repair), single-thread
 * sgemm GFLOP/s for square sizes, then for every conv layer of lenet5, paper-lenet
 * and vgg9 at batch 32: the raw GEMMs the cpu back end issues for it (forward
 * W·cols, dW = dY·cols^T, dcols = W^T·dY) and the whole ft_ops_cpu conv
 * forward+backward (im2col, col2im, bias included) as effective GFLOP/s of the same
 * arithmetic. Every figure is the median of several repeats in wall-clock time
 * (on a shared machine, quote it with the load average; thread CPU time is no
 * better under KVM, where it was seen to over-report by 1.5x). Usage:
 * bench_blas [repeats] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_blas_setup.h"
#include "ft_ops.h"
#include "ft_ops_host.h"
#include "ft_timer.h"

static int repeats = 7;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef void (*work_fn)(void *ctx);

/* Median seconds per call of fn: each repeat runs it until >= 30 ms have passed. */
static double median_seconds(work_fn fn, void *ctx)
{
    double t[64];
    int n = repeats < 64 ? repeats : 64;
    fn(ctx); /* warm caches and BLAS buffers */
    for (int r = 0; r < n; r++) {
        int calls = 0;
        double t0 = ft_now(), el;
        do {
            fn(ctx);
            calls++;
            el = ft_now() - t0;
        } while (el < 0.03);
        t[r] = el / calls;
    }
    qsort(t, n, sizeof(double), cmp_double);
    return t[n / 2];
}

typedef struct {
    int ta, tb, M, N, K; /* GEMM shape: C M×N = op(A) M×K · op(B) K×N */
    float *A, *B, *C;    /* operands */
} gemm_ctx_t;

static void run_gemm(void *p)
{
    gemm_ctx_t *g = p;
    ft_sgemm(g->ta, g->tb, g->M, g->N, g->K, 1.0f, g->A, g->ta ? g->M : g->K, g->B,
             g->tb ? g->K : g->N, 0.0f, g->C, g->N);
}

static float *random_buffer(size_t n)
{
    float *p = ft_host_alloc(sizeof(float) * (n ? n : 1));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return p;
}

static double gemm_gflops(int ta, int tb, int M, int N, int K)
{
    gemm_ctx_t g = {ta,
                    tb,
                    M,
                    N,
                    K,
                    random_buffer((size_t)M * K),
                    random_buffer((size_t)K * N),
                    random_buffer((size_t)M * N)};
    double s = median_seconds(run_gemm, &g);
    ft_host_free(g.A), ft_host_free(g.B), ft_host_free(g.C);
    return 2.0 * M * N * K / s / 1e9;
}

typedef struct {
    ft_conv2d_shape_t s;                           /* layer shape */
    float *x, *w, *b, *y, *dy, *dx, *dw, *db, *ws; /* buffers */
    int first;                                     /* first layer: no dx */
} conv_ctx_t;

static void run_conv(void *p)
{
    conv_ctx_t *c = p;
    ft_ops_cpu.conv2d_forward(&c->s, c->x, c->w, c->b, c->y, c->ws);
    ft_ops_cpu.conv2d_backward(&c->s, c->x, c->w, c->dy, c->first ? NULL : c->dx, c->dw, c->db,
                               c->ws);
}

typedef struct {
    const char *model; /* model name */
    int Ci, H, Co, k, pad;
} layer_t;

static void bench_layer(const layer_t *L, int B)
{
    conv_ctx_t c = {.s = {B, L->Ci, L->H, L->H, L->Co, L->k, L->k, 1, L->pad, 0, 0}};
    ft_conv2d_shape(&c.s);
    c.first = L->Ci <= 3;
    int P = c.s.Ho * c.s.Wo, K = L->Ci * L->k * L->k, nb = ft_cpu_conv_chunk_images(&c.s);
    int N = nb * P;
    double fwd = gemm_gflops(0, 0, L->Co, N, K);
    double dw = gemm_gflops(0, 1, L->Co, K, N);
    double dcols = c.first ? 0.0 : gemm_gflops(1, 0, K, N, L->Co);
    size_t nx = (size_t)B * L->Ci * L->H * L->H, ny = (size_t)B * L->Co * P;
    size_t nw = (size_t)L->Co * K;
    c.x = random_buffer(nx), c.w = random_buffer(nw), c.b = random_buffer(L->Co);
    c.y = random_buffer(ny), c.dy = random_buffer(ny), c.dx = random_buffer(nx);
    c.dw = random_buffer(nw), c.db = random_buffer(L->Co);
    c.ws = random_buffer(ft_ops_cpu.conv2d_workspace(&c.s));
    double sec = median_seconds(run_conv, &c);
    double flops = 2.0 * B * P * (double)K * L->Co * (c.first ? 2 : 3);
    printf("%-12s %4d->%-4d %2dx%-2d k%d p%d | GEMM %4d x %5d x %5d | fwd %6.1f dW %6.1f dX %6.1f "
           "| conv f+b %7.2f ms %6.1f GFLOP/s\n",
           L->model, L->Ci, L->Co, L->H, L->H, L->k, L->pad, L->Co, N, K, fwd, dw, dcols, sec * 1e3,
           flops / sec / 1e9);
    ft_host_free(c.x), ft_host_free(c.w), ft_host_free(c.b), ft_host_free(c.y);
    ft_host_free(c.dy), ft_host_free(c.dx), ft_host_free(c.dw), ft_host_free(c.db);
    ft_host_free(c.ws);
}

int main(int argc, char **argv)
{
    ft_blas_setup(argv);
    if (argc > 1)
        repeats = atoi(argv[1]) > 0 ? atoi(argv[1]) : repeats;
    ft_ops_set_threads(1);
    const char *env = getenv("OPENBLAS_CORETYPE");
    printf("OpenBLAS core: %s (OPENBLAS_CORETYPE=%s), 1 thread, median of %d\n", ft_blas_corename(),
           env ? env : "unset", repeats);
    const int sq[] = {128, 256, 512, 1024};
    for (int i = 0; i < 4; i++)
        printf("sgemm %4d^3: %6.1f GFLOP/s\n", sq[i], gemm_gflops(0, 0, sq[i], sq[i], sq[i]));

    const layer_t layers[] = {
        {"lenet5", 1, 28, 20, 5, 0},      {"lenet5", 20, 12, 50, 5, 0},
        {"paper-lenet", 1, 28, 32, 3, 0}, {"paper-lenet", 32, 26, 64, 3, 0},
        {"vgg9", 3, 32, 64, 3, 1},        {"vgg9", 64, 16, 128, 3, 1},
        {"vgg9", 128, 8, 256, 3, 1},      {"vgg9", 256, 8, 256, 3, 1},
        {"vgg9", 256, 4, 512, 3, 1},      {"vgg9", 512, 4, 512, 3, 1},
        {"vgg9", 512, 2, 512, 3, 1},
    };
    printf(
        "conv layers at batch 32 (GFLOP/s; conv f+b counts 2 GEMMs for a first layer, else 3):\n");
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        bench_layer(&layers[i], 32);
    printf("linear layers at batch 32 (y = x·W^T, dW = dY^T·X, dX = dY·W):\n");
    const int lin[][2] = {{800, 500}, {500, 10}, {9216, 128}, {128, 10}, {512, 10}};
    for (int i = 0; i < 5; i++) {
        int In = lin[i][0], Out = lin[i][1];
        printf("linear %5d->%-4d fwd %6.1f dW %6.1f dX %6.1f\n", In, Out,
               gemm_gflops(0, 1, 32, Out, In), gemm_gflops(1, 0, Out, In, 32),
               gemm_gflops(0, 0, 32, In, Out));
    }
    return 0;
}
