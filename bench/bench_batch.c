/* bench_batch: one round's local training of K clients, one by one (ft_train_run,
 * what a client process does per task) against all at once (ft_train_batch_run,
 * run.batch_clients = K), on the same back end — the targets of docs/gpu.md
 * "Batched clients": lenet5 on Fashion-MNIST-shaped data, 100 clients (600
 * samples each), 10 per round, 2 local epochs, batch 32: a batched round <= 0.15 s
 * and >= 5x the one-by-one round on one GPU; vgg9 on CIFAR-shaped data (500
 * samples a client), K = 10: >= 2x.
 *
 * The data is synthetic (data/ft_readers.h) with the real shapes: the work per step
 * depends only on them. Every client starts from the same model, with its own
 * samples and streams, SGD momentum 0.9 (the paper code's), lr 0.01. Before
 * anything is timed the two ways' K trained models are compared (the largest
 * |batched - alone| / (1 + |alone|) is printed; above 1e-2, or not finite, the
 * benchmark fails: llm.c's "validate, then time"). Then each way runs --rounds
 * timed rounds (the first, untimed, warmed everything up); rounds end with the
 * parameters downloaded, which waits for the device.
 *
 * usage: bench_batch [--device cuda|cpu|emulate] [--model lenet5|vgg9] [--k K]
 *                    [--samples N] [--epochs E] [--batch B] [--rounds R]
 * Prints one summary line per model and, for the issue's shapes, a "target" line
 * each saying MET or MISSED (exit status 0 either way; 1 on a failed validation or
 * set-up). Defaults: cuda, both models with the issue's shapes, 3 rounds. */
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_model.h"
#include "ft_model_batch.h"
#include "ft_ops.h"
#include "ft_ops_cuda.h"
#include "ft_readers.h"
#include "ft_rng.h"
#include "ft_timer.h"
#include "ft_train.h"
#include "ft_train_batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *model; /* built-in model */
    int c, h, w;       /* sample shape */
    uint32_t samples;  /* per client (issue's shape) */
    double max_round;  /* target: batched round at most this (s; 0: none) */
    double speedup;    /* target: batched at least this many times faster */
} shape_t;

static const shape_t shapes[] = {
    {"lenet5", 1, 28, 28, 600, 0.15, 5.0},
    {"vgg9", 3, 32, 32, 500, 0.0, 2.0},
};

typedef struct {
    const ft_ops_t *ops; /* back end */
    int K;               /* clients per round */
    int epochs;          /* local epochs */
    int batch;           /* batch size */
    int rounds;          /* timed rounds */
    uint32_t samples;    /* per client (0: the shape's) */
} opts_t;

/* One round one by one: each client (samples ids[k*n .. k*n+n)) from start, as
 * ft_local_train trains it. */
static int round_alone(ft_model_t *m, ft_trainer_t *tr, const ft_dataset_t *ds, uint32_t n,
                       const opts_t *o, const float *start, const uint32_t *ids, float **out)
{
    ft_train_opts_t to = {
        .epochs = o->epochs, .batch_size = o->batch, .lr = 0.01f, .momentum = 0.9f};
    for (int k = 0; k < o->K; k++) {
        ft_rng_t drop, shuf;
        ft_rng_init(&drop, 1, 1, (uint32_t)k, FT_RNG_DROPOUT);
        ft_rng_init(&shuf, 1, 1, (uint32_t)k, FT_RNG_SHUFFLE);
        ft_model_set_params(m, start);
        ft_model_set_training(m, 1);
        ft_model_set_dropout_stream(m, ft_rng_u64(&drop), 0);
        ft_train_result_t r;
        int rc = ft_train_run(tr, ds, ids + (size_t)k * n, n, &to, &shuf, 1, NULL, NULL, NULL, &r);
        if (rc != FT_OK)
            return rc;
        ft_model_get_params(m, out[k]);
    }
    return FT_OK;
}

/* The same round with all K at once. */
static int round_batched(ft_train_batch_t *tb, const ft_dataset_t *ds, uint32_t n, const opts_t *o,
                         const float *start, uint32_t *ids, float **out)
{
    ft_train_batch_task_t tasks[64];
    ft_rng_t shuf[64];
    ft_train_result_t res[64];
    for (int k = 0; k < o->K; k++) {
        ft_rng_t drop;
        ft_rng_init(&drop, 1, 1, (uint32_t)k, FT_RNG_DROPOUT);
        ft_rng_init(&shuf[k], 1, 1, (uint32_t)k, FT_RNG_SHUFFLE);
        tasks[k] = (ft_train_batch_task_t){.ds = ds,
                                           .idx = ids + (size_t)k * n,
                                           .n = n,
                                           .lr = 0.01f,
                                           .shuffle_rng = &shuf[k],
                                           .dropout_seed = ft_rng_u64(&drop),
                                           .start = start};
    }
    ft_train_opts_t to = {.epochs = o->epochs, .batch_size = o->batch, .momentum = 0.9f};
    return ft_train_batch_run(tb, tasks, o->K, &to, NULL, NULL, out, res);
}

static int bench(const shape_t *s, const opts_t *o)
{
    uint32_t n = o->samples ? o->samples : s->samples;
    int issue_shape = !o->samples && o->K == 10 && o->epochs == 2 && o->batch == 32;
    ft_dataset_t *ds = NULL;
    ft_model_t *m = NULL;
    ft_trainer_t *tr = NULL;
    ft_model_batch_t *mb = NULL;
    ft_train_batch_t *tb = NULL;
    float *start = NULL, *alone[64] = {0}, *batched[64] = {0};
    uint32_t *ids = NULL;
    int rc = ft_synthetic_make((uint32_t)o->K * n, s->c, s->h, s->w, 10, 3, 1, &ds);
    if (rc == FT_OK)
        rc = ft_model_new(s->model, "", s->c, s->h, s->w, 10, o->batch, o->ops, &m);
    if (rc == FT_OK)
        rc = ft_model_batch_new(m, o->K, o->batch, &mb);
    if (rc != FT_OK)
        goto done;
    size_t N = ft_model_num_params(m);
    tr = ft_trainer_new(m, o->batch);
    tb = ft_train_batch_new(mb);
    start = malloc(N * sizeof(float));
    ids = malloc((size_t)o->K * n * sizeof *ids);
    int ok = tr && tb && start && ids;
    for (int k = 0; k < o->K && ok; k++) {
        alone[k] = malloc(N * sizeof(float));
        batched[k] = malloc(N * sizeof(float));
        ok = alone[k] && batched[k];
    }
    if (!ok) {
        rc = ft_error_set(FT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < (size_t)o->K * n; i++)
        ids[i] = (uint32_t)i;
    ft_rng_t init;
    ft_rng_init(&init, 1, 0, 0, FT_RNG_INIT);
    ft_model_init(m, &init);
    ft_model_get_params(m, start);

    /* validate (and warm up) */
    if ((rc = round_alone(m, tr, ds, n, o, start, ids, alone)) != FT_OK ||
        (rc = round_batched(tb, ds, n, o, start, ids, batched)) != FT_OK)
        goto done;
    double worst = 0;
    for (int k = 0; k < o->K; k++)
        for (size_t i = 0; i < N; i++) {
            double d =
                fabs((double)batched[k][i] - alone[k][i]) / (1.0 + fabs((double)alone[k][i]));
            if (!(d <= worst)) /* NaN too */
                worst = d;
        }
    if (!(worst <= 1e-2)) {
        rc = ft_error_set(FT_ESTATE, "%s: batched and one-by-one models differ by %g", s->model,
                          worst);
        goto done;
    }
    double t_alone = 0, t_batch = 0;
    for (int r = 0; r < o->rounds; r++) {
        double t0 = ft_now();
        if ((rc = round_alone(m, tr, ds, n, o, start, ids, alone)) != FT_OK)
            goto done;
        double t1 = ft_now();
        if ((rc = round_batched(tb, ds, n, o, start, ids, batched)) != FT_OK)
            goto done;
        t_alone += t1 - t0;
        t_batch += ft_now() - t1;
    }
    t_alone /= o->rounds;
    t_batch /= o->rounds;
    double speedup = t_batch > 0 ? t_alone / t_batch : 0;
    printf("%-7s K=%d, %u samples a client, %d epochs, batch %d on %s (%s): one by one %.3f "
           "s/round, batched %.3f s/round, speedup %.2fx, largest difference %.2g, %zu MiB "
           "for the batch\n",
           s->model, o->K, n, o->epochs, o->batch, o->ops->name,
           ft_model_batch_padded(mb) ? "batched ops" : "per client", t_alone, t_batch, speedup,
           worst, ft_model_batch_memory_bytes(mb) >> 20);
    if (issue_shape) {
        if (s->max_round > 0)
            printf("target %s batched round <= %.2f s: %s (%.3f s)\n", s->model, s->max_round,
                   t_batch <= s->max_round ? "MET" : "MISSED", t_batch);
        printf("target %s batched >= %.0fx one by one: %s (%.2fx)\n", s->model, s->speedup,
               speedup >= s->speedup ? "MET" : "MISSED", speedup);
    }
done:
    for (int k = 0; k < 64; k++) {
        free(alone[k]);
        free(batched[k]);
    }
    free(start);
    free(ids);
    ft_train_batch_destroy(&tb);
    ft_model_batch_destroy(&mb);
    ft_trainer_destroy(&tr);
    ft_model_destroy(&m);
    ft_dataset_destroy(&ds);
    if (rc != FT_OK)
        fprintf(stderr, "bench_batch: %s: %s\n", s->model, ft_error_message());
    return rc;
}

int main(int argc, char **argv)
{
    opts_t o = {.K = 10, .epochs = 2, .batch = 32, .rounds = 3};
    const char *device = "cuda", *model = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--device"))
            device = v;
        else if (!strcmp(k, "--model"))
            model = v;
        else if (!strcmp(k, "--k"))
            o.K = atoi(v);
        else if (!strcmp(k, "--samples"))
            o.samples = (uint32_t)atoi(v);
        else if (!strcmp(k, "--epochs"))
            o.epochs = atoi(v);
        else if (!strcmp(k, "--batch"))
            o.batch = atoi(v);
        else if (!strcmp(k, "--rounds"))
            o.rounds = atoi(v);
        else {
            fprintf(stderr, "bench_batch: unknown option %s (see the file's header)\n", k);
            return 2;
        }
    }
    if ((argc - 1) % 2 || o.K < 1 || o.K > 64 || o.epochs < 1 || o.batch < 1 || o.rounds < 1) {
        fprintf(stderr, "bench_batch: bad arguments (K 1..64, epochs, batch, rounds >= 1)\n");
        return 2;
    }
    if (!strcmp(device, "cuda")) {
        o.ops = ft_ops_cuda();
        if (!o.ops) {
            fprintf(stderr, "bench_batch: no CUDA device: %s\n", ft_cuda_device_info());
            return 1;
        }
        printf("device: %s\n", ft_cuda_device_info());
    } else if (!strcmp(device, "emulate")) {
        o.ops = ft_ops_cuda_host_emulation();
    } else if (!strcmp(device, "cpu")) {
        o.ops = &ft_ops_cpu;
    } else {
        fprintf(stderr, "bench_batch: --device %s: cuda, cpu or emulate\n", device);
        return 2;
    }
    int failed = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (!model || !strcmp(model, shapes[i].model))
            failed |= bench(&shapes[i], &o) != FT_OK;
    return failed;
}
