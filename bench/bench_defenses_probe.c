/* bench_defenses_probe: seconds per aggregation of the probe rules (DeepSight, FLARE:
 * their cost is the model runs, K x seeds x samples or K x server samples forward
 * passes) at K = 10/30/100 for the lenet5 and paper-lenet models on Fashion-MNIST-shaped
 * inputs (1x28x28, 10 classes), through the coordinator's model probe
 * (coordinator/ft_probe.h), with FedAvg and FLAME timed on the same updates in the same
 * run as the reference points. Median of --reps runs (default 3) after one warm-up.
 *
 * usage: bench_defenses_probe [--reps R] */
#include "ft_alloc.h"
#include "ft_blas_setup.h"
#include "ft_config.h"
#include "ft_dataset.h"
#include "ft_defense.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_model.h"
#include "ft_ops.h"
#include "ft_probe.h"
#include "ft_rng.h"
#include "ft_timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    ft_blas_setup(argv);
    int reps = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_defenses_probe [--reps R]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 64)
        reps = 3;
    ft_ops_set_threads(1);
    const char *models[] = {"lenet5", "paper-lenet"};
    const char *rules[] = {"fedavg", "flame", "deepsight", "flare"};
    const size_t Ks[] = {10, 30, 100};
    enum { SERVER = 100 };
    printf("%-12s %4s %8s  %-10s %10s\n", "model", "K", "N", "defense", "seconds");
    int failed = 0;
    for (int m = 0; m < 2; m++) {
        ft_config_t *base = ft_config_new();
        ft_config_set_value(base, "model.name", models[m], "bench");
        ft_experiment_t exp;
        if (ft_experiment_read(base, &exp) != FT_OK) {
            fprintf(stderr, "%s\n", ft_error_message());
            return 1;
        }
        ft_probe_t *probe = NULL;
        ft_model_t *tmp = NULL; /* N and a global model from the zoo's initialisation */
        if (ft_model_new_inference(models[m], NULL, 1, 28, 28, 10, 1, &ft_ops_cpu, &tmp) != FT_OK) {
            fprintf(stderr, "%s\n", ft_error_message());
            return 1;
        }
        size_t N = ft_model_num_params(tmp);
        float *G = ft_malloc(N * sizeof(float));
        ft_rng_t rng;
        ft_rng_init(&rng, 1, 0, 0, FT_RNG_INIT);
        ft_model_init(tmp, &rng);
        ft_model_get_params(tmp, G);
        ft_model_destroy(&tmp);
        if (ft_probe_new(&exp, 1, 28, 28, 10, N, SERVER, &probe) != FT_OK) {
            fprintf(stderr, "%s\n", ft_error_message());
            return 1;
        }
        /* a server set of SERVER samples: uniform noise images, normalised as FMNIST */
        ft_dataset_t *ds = NULL;
        ft_dataset_new(SERVER, 1, 28, 28, 10, &ds);
        uint32_t idx[SERVER];
        ft_rng_init(&rng, 2, 0, 0, FT_RNG_TEST);
        for (size_t i = 0; i < (size_t)SERVER * 784; i++)
            ds->pixels[i] = (uint8_t)ft_rng_below(&rng, 256);
        for (uint32_t i = 0; i < SERVER; i++)
            idx[i] = i;
        ds->mean[0] = 0.2860f;
        ds->std[0] = 0.3530f;
        ft_probe_set_server(probe, ds, idx, SERVER);
        ft_dataset_destroy(&ds);
        for (size_t k = 0; k < 3; k++) {
            size_t K = Ks[k];
            float *U = ft_malloc_aligned(K * N * sizeof(float)),
                  *V = ft_malloc(K * N * sizeof(float));
            float *out = ft_malloc(N * sizeof(float)), counts[100];
            uint32_t ids[100];
            ft_defense_decision_t dec[100];
            ft_rng_init(&rng, 3, 0, 0, FT_RNG_TEST);
            for (size_t i = 0; i < K; i++) {
                for (size_t j = 0; j < N; j++)
                    V[i * N + j] = 0.01f * (float)ft_rng_normal(&rng);
                counts[i] = 10;
                ids[i] = (uint32_t)i;
            }
            for (int r = 0; r < 4; r++) {
                ft_config_t *cfg = ft_config_clone(base);
                char kv[32];
                snprintf(kv, sizeof kv, "%zu", K);
                ft_config_set_value(cfg, "defense.name", rules[r], "bench");
                ft_config_set_value(cfg, "federation.clients_per_round", kv, "bench");
                ft_config_set_value(cfg, "federation.num_clients", kv, "bench");
                const ft_defense_t *d = ft_defense_find(rules[r]);
                void *state = NULL;
                if (ft_experiment_read(cfg, &exp) != FT_OK ||
                    ft_defense_check(&exp.defense, K) != FT_OK ||
                    d->create(&exp.defense, K, N, K, &state) != FT_OK) {
                    printf("%-12s %4zu %8zu  %-10s %10s (%s)\n", models[m], K, N, rules[r],
                           "skipped", ft_error_message());
                    failed = 1;
                    ft_config_destroy(&cfg);
                    continue;
                }
                const ft_defense_probe_t *p = d->needs_probe ? ft_probe_get(probe) : NULL;
                void *ws = ft_malloc(ft_defense_workspace(d, K, N, p));
                double t[65];
                int rc = FT_OK;
                for (int rep = -1; rep < reps && rc == FT_OK; rep++) {
                    memcpy(U, V, K * N * sizeof(float));
                    ft_rng_init(&rng, 1, (uint32_t)(rep + 2), 0, FT_RNG_NOISE);
                    ft_defense_input_t in = {.round = rep + 2,
                                             .K = K,
                                             .N = N,
                                             .updates = U,
                                             .counts = counts,
                                             .ids = ids,
                                             .global = G,
                                             .rng = &rng,
                                             .probe = p};
                    double t0 = ft_now();
                    rc = d->aggregate(state, &in, out, dec, ws);
                    if (rep >= 0)
                        t[rep] = ft_now() - t0;
                }
                if (rc != FT_OK) {
                    printf("%-12s %4zu %8zu  %-10s %10s (%s)\n", models[m], K, N, rules[r],
                           "failed", ft_error_message());
                    failed = 1;
                } else {
                    qsort(t, (size_t)reps, sizeof *t, cmp_double);
                    printf("%-12s %4zu %8zu  %-10s %10.4f\n", models[m], K, N, rules[r],
                           t[reps / 2]);
                }
                fflush(stdout);
                ft_free(ws);
                d->destroy(&state);
                ft_config_destroy(&cfg);
            }
            ft_free_aligned(U);
            ft_free(V);
            ft_free(out);
        }
        ft_probe_destroy(&probe);
        ft_free(G);
        ft_config_destroy(&base);
    }
    return failed;
}
