/* test_client: client/ — a process's local training: two processes derive the same
 * partition and train any client id to the same update (a pure function of config,
 * round, client and global model), bad tasks are refused, an attacker task runs the
 * attack (deterministic, |D_adv| reported, model replacement scaling exactly), the
 * root set the Welcome announces is held out, and a missing GPU fails before any
 * data is loaded. Expected values are hand-worked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_local.h"
#include "ft_ops.h"
#include "ft_test_experiment.h"

static const char *const *const base = ft_test_population;

static const char *const dirichlet[] = {"data.dataset=synthetic",
                                        "data.synthetic_train=300",
                                        "data.synthetic_test=50",
                                        "data.synthetic_shape=1,8,8",
                                        "model.name=mlp",
                                        "model.hidden=16",
                                        "federation.num_clients=10",
                                        "federation.clients_per_round=3",
                                        "federation.local_epochs=1",
                                        "federation.batch_size=8",
                                        "federation.partition=dirichlet",
                                        "federation.min_size=5",
                                        NULL};

static void test_local_derivation(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_test_config(dirichlet, NULL);
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_local_t *a, *b;
    assert_int_equal(ft_local_new(&exp, 0, &a), FT_OK);
    assert_int_equal(ft_local_new(&exp, 0, &b), FT_OK);
    uint32_t total = 0;
    int unequal = 0;
    for (uint32_t c = 0; c < 10; c++) {
        assert_int_equal(ft_local_num_samples(a, c), ft_local_num_samples(b, c));
        assert_true(ft_local_num_samples(a, c) >= 5); /* dirichlet min_size */
        unequal |= ft_local_num_samples(a, c) != 30;
        total += ft_local_num_samples(a, c);
    }
    assert_int_equal(total, 300);
    assert_true(unequal); /* dirichlet, not iid */
    assert_int_equal(ft_local_num_samples(a, 10), 0);
    size_t N = ft_local_num_params(a);
    assert_int_equal(N, 64 * 16 + 16 + 16 * 10 + 10);
    assert_memory_equal(ft_local_layout_hash(a), ft_local_layout_hash(b), 32);
    float *g = calloc(N, 4), *d1 = calloc(N, 4), *d2 = calloc(N, 4), *d3 = calloc(N, 4);
    for (size_t i = 0; i < N; i++)
        g[i] = 0.01f * (float)((i * 7919) % 13) - 0.06f;
    ft_local_task_t t = {.round = 2, .client_id = 4, .lr = 0.05f};
    ft_local_result_t r1, r2, r3;
    assert_int_equal(ft_local_train(a, &t, g, d1, NULL, &r1), FT_OK);
    /* the other process, after training someone else first */
    ft_local_task_t other = {.round = 2, .client_id = 7, .lr = 0.05f};
    assert_int_equal(ft_local_train(b, &other, g, d3, NULL, &r3), FT_OK);
    assert_int_equal(ft_local_train(b, &t, g, d2, NULL, &r2), FT_OK);
    assert_memory_equal(d1, d2, N * 4);
    assert_true(r1.train_loss == r2.train_loss);
    assert_int_equal(r1.num_samples, ft_local_num_samples(a, 4));
    assert_memory_not_equal(d1, d3, N * 4);
    double norm = 0;
    for (size_t i = 0; i < N; i++)
        norm += (double)d1[i] * d1[i];
    assert_true(norm > 0 && isfinite(norm));
    t.round = 3; /* another round shuffles differently */
    assert_int_equal(ft_local_train(a, &t, g, d3, NULL, &r3), FT_OK);
    assert_memory_not_equal(d1, d3, N * 4);
    t.client_id = 99;
    assert_int_equal(ft_local_train(a, &t, g, d3, NULL, &r3), FT_EINVAL);
    t.client_id = 1;
    t.attacker = 1;
    /* an attacker task while attack.method = none */
    assert_int_equal(ft_local_train(a, &t, g, d3, NULL, &r3), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.method = none"));
    free(g);
    free(d1);
    free(d2);
    free(d3);
    ft_local_destroy(&a);
    ft_local_destroy(&b);
    assert_null(a);
    ft_config_destroy(&cfg);
}

/* An attacker task runs the attack: deterministic, reports |D_adv|, and with model
 * replacement its update is the trained one scaled by N_round / n_adv. */
static void test_local_attacker(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_test_config(base, (const char *[]){"attack.method=blackbox", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_local_t *a;
    assert_int_equal(ft_local_new(&exp, 0, &a), FT_OK);
    size_t N = ft_local_num_params(a);
    float *g = ft_calloc(N, 4), *d1 = ft_calloc(N, 4), *d2 = ft_calloc(N, 4), *h = ft_calloc(N, 4);
    for (size_t i = 0; i < N; i++)
        g[i] = 0.01f * (float)((i * 7919) % 13) - 0.06f;
    ft_local_task_t t = {.round = 1, .client_id = 9, .lr = 0.05f, .attacker = 1};
    ft_local_result_t r1, r2, rh;
    assert_int_equal(ft_local_train(a, &t, g, d1, NULL, &r1), FT_OK);
    /* an honest task in between must not change the attacker's result */
    ft_local_task_t ht = {.round = 1, .client_id = 9, .lr = 0.05f};
    assert_int_equal(ft_local_train(a, &ht, g, h, NULL, &rh), FT_OK);
    assert_int_equal(rh.num_samples, ft_local_num_samples(a, 9));
    assert_int_equal(ft_local_train(a, &t, g, d2, NULL, &r2), FT_OK);
    assert_memory_equal(d1, d2, N * 4);
    assert_memory_not_equal(d1, h, N * 4); /* it trained on D_adv, not its partition */
    uint32_t n9 = ft_local_num_samples(a, 9);
    uint64_t nadv = r1.num_samples;
    assert_true(nadv > (n9 < 100 ? n9 : 100)); /* edge points + clean points */
    ft_local_destroy(&a);

    /* model replacement with N_round = 4 n_adv: exactly 4x the plain update */
    ft_test_set(cfg, "attack.model_replacement=true");
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_local_new(&exp, 0, &a), FT_OK);
    t.round_samples = 4 * nadv;
    t.round_attackers = 1;
    assert_int_equal(ft_local_train(a, &t, g, d2, NULL, &r2), FT_OK);
    for (size_t i = 0; i < N; i++)
        assert_true(fabsf(d2[i] - 4.0f * d1[i]) <= 1e-6f * (1.0f + fabsf(d2[i])));
    ft_local_destroy(&a);
    ft_free(g);
    ft_free(d1);
    ft_free(d2);
    ft_free(h);
    ft_config_destroy(&cfg);
}

/* The root set the Welcome announces is held out of every partition. */
/* One task's update from a fresh process with the population, attack.method =
 * blackbox and the given assignments (NULL-terminated). */
static void update_with(const char *const *sets, int attacker, float *delta, size_t N)
{
    ft_config_t *cfg = ft_test_config(base, (const char *[]){"attack.method=blackbox", NULL});
    for (int i = 0; sets[i]; i++)
        ft_test_set(cfg, sets[i]);
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_local_t *l;
    assert_int_equal(ft_local_new(&exp, 0, &l), FT_OK);
    assert_int_equal(ft_local_num_params(l), N);
    float *g = ft_calloc(N, 4);
    for (size_t i = 0; i < N; i++)
        g[i] = 0.01f * (float)((i * 7919) % 13) - 0.06f;
    ft_local_task_t t = {.round = 2, .client_id = 9, .lr = 0.05f, .attacker = attacker};
    ft_local_result_t r;
    assert_int_equal(ft_local_train(l, &t, g, delta, NULL, &r), FT_OK);
    ft_free(g);
    ft_local_destroy(&l);
    ft_config_destroy(&cfg);
}

/* data.augment reaches honest training, data.augment_attack the attacker's, each only
 * its own role, reproducibly (the stream is keyed by seed, round and client). */
static void test_local_augmentation(void **state)
{
    (void)state;
    const size_t N = 64 * 16 + 16 + 16 * 10 + 10;
    float *h0 = ft_calloc(N, 4), *h1 = ft_calloc(N, 4), *h2 = ft_calloc(N, 4);
    float *a0 = ft_calloc(N, 4), *a1 = ft_calloc(N, 4), *a2 = ft_calloc(N, 4);
    const char *none[] = {NULL};
    const char *honest_on[] = {"data.augment=crop-flip-reflect", "data.augment_attack=none", NULL};
    const char *attack_on[] = {"data.augment_attack=crop-flip-zero", NULL};
    const char *both_same[] = {"data.augment=crop-flip-zero", NULL};

    update_with(none, 0, h0, N);
    update_with(honest_on, 0, h1, N);
    assert_memory_not_equal(h0, h1, N * 4);
    update_with(honest_on, 0, h2, N); /* another process: the same update */
    assert_memory_equal(h1, h2, N * 4);
    update_with(attack_on, 0, h2, N); /* the attacker's mode is not the honest one */
    assert_memory_equal(h0, h2, N * 4);

    update_with(none, 1, a0, N);
    update_with(honest_on, 1, a1, N); /* nor the honest mode the attacker's */
    assert_memory_equal(a0, a1, N * 4);
    update_with(attack_on, 1, a1, N);
    assert_memory_not_equal(a0, a1, N * 4);
    update_with(both_same, 1, a2, N); /* augment_attack = same follows data.augment */
    assert_memory_equal(a1, a2, N * 4);
    ft_free(h0);
    ft_free(h1);
    ft_free(h2);
    ft_free(a0);
    ft_free(a1);
    ft_free(a2);
}

static void test_local_root_set(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_test_config(base, (const char *[]){"defense.root_size=50", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_local_t *with, *without;
    assert_int_equal(ft_local_new(&exp, 1, &with), FT_OK);
    assert_int_equal(ft_local_new(&exp, 0, &without), FT_OK);
    uint32_t a = 0, b = 0;
    for (uint32_t c = 0; c < 10; c++) {
        a += ft_local_num_samples(with, c);
        b += ft_local_num_samples(without, c);
    }
    assert_int_equal(b, 400);
    assert_int_equal(a, 350);
    ft_local_destroy(&with);
    ft_local_destroy(&without);
    ft_config_destroy(&cfg);
}

/* run.device = cuda without a GPU fails before the data is loaded (data.path would
 * be refused otherwise), never a silent CPU fallback. */
static void test_local_no_gpu(void **state)
{
    (void)state;
    if (getenv("CUDA_VISIBLE_DEVICES") != NULL || ft_ops_find("cuda") != NULL)
        skip();
    ft_config_t *cfg =
        ft_test_config(NULL, (const char *[]){"run.device=cuda", "data.dataset=mnist", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_local_t *l;
    assert_int_equal(ft_local_new(&exp, 0, &l), FT_EUNSUPPORTED);
    assert_non_null(strstr(ft_error_message(), "no CUDA device is available"));
    assert_null(l);
    ft_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_derivation),   cmocka_unit_test(test_local_attacker),
        cmocka_unit_test(test_local_augmentation), cmocka_unit_test(test_local_root_set),
        cmocka_unit_test(test_local_no_gpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
