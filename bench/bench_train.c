/* bench_train: single-core local-training throughput of fedtail's models, and the
 * single-core sgemm GFLOP/s of the BLAS in use, measured in the same process so each
 * model's achieved FLOP/s can be read as a share of the machine's practical peak.
 *
 * usage: bench_train [MODEL BATCH STEPS]...   (default: the issue 9 grid)
 * Prints one JSON object per line: {"what":"sgemm"|"train", ...}. The peer,
 * bench/peers/torch_train.py, prints the same lines for PyTorch; bench/train_vs_torch.sh
 * runs both alternately and reports medians and ratios. */
#include "ft_blas_setup.h"
#include "ft_dataset.h"
#include "ft_model.h"
#include "ft_ops.h"
#include "ft_rng.h"
#include "ft_sgd.h"
#include "ft_timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Training FLOPs per sample: 3x the forward multiply-adds x 2 (forward, input
 * gradient, weight gradient), less the input gradient of the first layer, which no
 * one needs. Forward MACs, worked by hand from the architectures:
 *  lenet5: conv1 20*25*24*24 + conv2 50*500*8*8 + fc 800*500 + 500*10 = 2,293,000
 *  paper-lenet: conv1 32*9*26*26 + conv2 64*288*24*24 + fc 9216*128 + 128*10 = 11,992,448
 *  vgg9 (32x32x3): 64*27*1024 + 128*576*256 + 256*1152*64 + 256*2304*64 + 512*2304*16
 *        + 512*4608*16 + 2 * 512*4608*4 + 512*10 = 152,768,512 */
typedef struct {
    const char *name;  /* built-in model */
    int c, h, w;       /* input shape */
    double fwd_macs;   /* forward multiply-adds per sample */
    double first_macs; /* forward MACs of the first layer (no input gradient) */
} bench_model_t;

static const bench_model_t models[] = {
    {"lenet5", 1, 28, 28, 2293000.0, 288000.0},
    {"paper-lenet", 1, 28, 28, 11992448.0, 194688.0},
    {"vgg9", 3, 32, 32, 152768512.0, 1769472.0},
};

static double train_flops(const bench_model_t *m)
{
    return 6.0 * m->fwd_macs - 2.0 * m->first_macs;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double sgemm_gflops(int n, int reps)
{
    float *a = malloc(sizeof(float) * (size_t)n * (size_t)n);
    float *b = malloc(sizeof(float) * (size_t)n * (size_t)n);
    float *c = calloc((size_t)n * (size_t)n, sizeof(float));
    for (size_t i = 0; i < (size_t)n * (size_t)n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    double best[16];
    for (int r = 0; r < reps; r++) {
        double t = ft_now();
        ft_sgemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        best[r] = ft_now() - t;
    }
    qsort(best, (size_t)reps, sizeof(double), cmp_double);
    free(a);
    free(b);
    free(c);
    return 2.0 * n * (double)n * n / best[reps / 2] / 1e9;
}

static int bench_model(const bench_model_t *bm, int batch, int steps)
{
    if (batch < 1 || steps < 1) {
        fprintf(stderr, "bench_train: %s: batch and steps must be >= 1 (got %d, %d)\n", bm->name,
                batch, steps);
        return 1;
    }
    ft_model_t *m = NULL;
    if (ft_model_new(bm->name, "", bm->c, bm->h, bm->w, 10, batch, &ft_ops_cpu, &m) != 0)
        return 1;
    ft_rng_t rng;
    ft_rng_init(&rng, 1, 0, 0, FT_RNG_INIT);
    ft_model_init(m, &rng);
    ft_sgd_t *sgd = ft_sgd_new(m, 0.9f, 0.0f);
    size_t per = (size_t)bm->c * bm->h * bm->w;
    float *x = malloc(sizeof(float) * per * (size_t)batch);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)batch);
    double *times = malloc(sizeof(double) * (size_t)steps);
    if (!sgd || !x || !y || !times) {
        fprintf(stderr, "bench_train: out of memory\n");
        free(x);
        free(y);
        free(times);
        ft_sgd_destroy(&sgd);
        ft_model_destroy(&m);
        return 1;
    }
    for (size_t i = 0; i < per * (size_t)batch; i++)
        x[i] = (float)ft_rng_normal(&rng);
    for (int i = 0; i < batch; i++)
        y[i] = (int32_t)ft_rng_below(&rng, 10);
    ft_model_forward_backward(m, x, y, batch); /* warm-up */
    ft_sgd_step(sgd, 0.01f);
    for (int s = 0; s < steps; s++) {
        double t = ft_now();
        ft_model_forward_backward(m, x, y, batch);
        ft_sgd_step(sgd, 0.01f);
        times[s] = ft_now() - t;
    }
    qsort(times, (size_t)steps, sizeof(double), cmp_double);
    double step = times[steps / 2];
    printf("{\"what\":\"train\",\"impl\":\"fedtail\",\"model\":\"%s\",\"batch\":%d,"
           "\"samples_per_s\":%.1f,\"gflops\":%.2f}\n",
           bm->name, batch, batch / step, train_flops(bm) * batch / step / 1e9);
    fflush(stdout);
    free(times);
    free(x);
    free(y);
    ft_sgd_destroy(&sgd);
    ft_model_destroy(&m);
    return 0;
}

int main(int argc, char **argv)
{
    ft_blas_setup(argv);
    ft_ops_set_threads(1);
    printf("{\"what\":\"sgemm\",\"impl\":\"fedtail\",\"blas\":\"OpenBLAS %s\",\"n\":1024,"
           "\"gflops\":%.1f}\n",
           ft_blas_corename(), sgemm_gflops(1024, 5));
    fflush(stdout);
    if (argc > 1) {
        int failed = 0;
        for (int i = 1; i + 2 < argc; i += 3)
            for (size_t k = 0; k < sizeof models / sizeof models[0]; k++)
                if (strcmp(models[k].name, argv[i]) == 0)
                    failed |= bench_model(&models[k], atoi(argv[i + 1]), atoi(argv[i + 2]));
        return failed;
    }
    bench_model(&models[0], 32, 41);
    bench_model(&models[0], 512, 9);
    bench_model(&models[1], 32, 21);
    bench_model(&models[1], 512, 5);
    bench_model(&models[2], 32, 5);
    bench_model(&models[2], 512, 3);
    return 0;
}
