/* test_attacks_v2: the defining computation of each attack of issue 18 against
 * hand-worked values or a reference port — PGD's eps = auto, Neurotoxin's mask (and
 * that its training leaves the masked coordinates alone), the trigger shapes' pixels,
 * DBA's partition of the trigger and its attacker-to-part assignment, MinMax / MinSum's
 * gamma against a NumPy port of the authors' code (tests/fixtures/attacks/
 * gen_minmax.py), Fang's and Mimic's updates. What every attack must satisfy is
 * test_attacks_contract.c. */
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
#include "ft_attack.h"
#include "ft_attack_math.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_model.h"
#include "ft_ops.h"
#include "ft_readers.h"
#include "ft_test_experiment.h"
#include "ft_train.h"

/* ---- a small attacker on synthetic 1x12x12 data ------------------------------------ */

typedef struct {
    ft_dataset_t *train; /* 1200 synthetic samples, 4 classes */
    ft_model_t *m;       /* mlp 16 */
    ft_trainer_t *t;     /* its trainer */
    float *global;       /* N */
    float *delta;        /* N */
    size_t N;            /* parameters */
    uint32_t part[200];  /* the attacker's partition */
} rig_t;

static void rig_init(rig_t *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(ft_synthetic_make(1200, 1, 12, 12, 4, 11, 1, &r->train), FT_OK);
    assert_int_equal(ft_model_new("mlp", "16", 1, 12, 12, 4, 32, &ft_ops_cpu, &r->m), FT_OK);
    r->t = ft_trainer_new(r->m, 32);
    assert_non_null(r->t);
    r->N = ft_model_num_params(r->m);
    ft_rng_t rng;
    ft_rng_init(&rng, 1, 0, 0, FT_RNG_INIT);
    ft_model_init(r->m, &rng);
    r->global = ft_malloc(r->N * sizeof(float));
    r->delta = ft_malloc(r->N * sizeof(float));
    ft_model_get_params(r->m, r->global);
    for (uint32_t i = 0; i < 200; i++)
        r->part[i] = i * 5;
}

static void rig_free(rig_t *r)
{
    ft_trainer_destroy(&r->t);
    ft_model_destroy(&r->m);
    ft_dataset_destroy(&r->train);
    ft_free(r->global);
    ft_free(r->delta);
}

static ft_attack_task_t rig_task(rig_t *r)
{
    ft_attack_task_t k = {.round = 2,
                          .client_id = 9,
                          .global = r->global,
                          .train = r->train,
                          .part_idx = r->part,
                          .part_n = 200,
                          .opts = {.epochs = 1, .batch_size = 16, .lr = 0.1f, .momentum = 0}};
    return k;
}

static const char *const keys[] = {"attack.edge_size=20",       "attack.source_class=2",
                                   "attack.target_class=3",     "attack.clean_points=50",
                                   "federation.num_clients=10", "attack.honest_edge_holders=0",
                                   "attack.poison_points=40",   NULL};

/* Runs method with up to three extra keys on the rig; returns the environment. */
static ft_attack_env_t *run(rig_t *r, ft_attack_task_t *k, ft_attack_result_t *res,
                            const char *method, const char *e1, const char *e2, const char *e3)
{
    char buf[64];
    snprintf(buf, sizeof buf, "attack.method=%s", method);
    ft_config_t *cfg = ft_test_config(keys, (const char *[]){buf, NULL});
    const char *extra[] = {e1, e2, e3};
    for (int i = 0; i < 3; i++)
        if (extra[i])
            ft_test_set(cfg, extra[i]);
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_check(&exp), FT_OK);
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, r->train, &env), FT_OK);
    int rc = ft_attack_local_update(env, k, r->m, r->t, r->delta, res);
    if (rc)
        fail_msg("%s: %s", method, ft_error_message());
    ft_config_destroy(&cfg);
    return env;
}

static int check(const char *const *sets)
{
    ft_config_t *cfg = ft_test_config(keys, sets);
    ft_experiment_t exp;
    int rc = ft_experiment_read(cfg, &exp);
    if (rc == FT_OK)
        rc = ft_attack_check(&exp);
    ft_config_destroy(&cfg);
    return rc;
}

static size_t zeros(const float *v, size_t n)
{
    size_t z = 0;
    for (size_t j = 0; j < n; j++)
        z += v[j] == 0.0f;
    return z;
}

/* ---- PGD: attack.eps = auto ------------------------------------------------------- */

static void test_eps_auto(void **state)
{
    (void)state;
    /* eps = 0.999 M / scale: M 2, factor 4 (N_round / n_adv) => 0.4995; no factor => M */
    assert_float_equal(ft_attack_auto_eps(2, 4), 0.4995, 1e-12);
    assert_float_equal(ft_attack_auto_eps(2, 0), 1.998, 1e-12);
    /* auto needs a norm bound to size against; a radius must be a number > 0 */
    assert_int_equal(check((const char *[]){"attack.method=pgd", "attack.eps=auto", NULL}),
                     FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.eps"));
    assert_int_equal(check((const char *[]){"attack.method=pgd", "attack.eps=auto",
                                            "defense.name=norm-clipping", NULL}),
                     FT_OK);
    assert_int_equal(check((const char *[]){"attack.method=neurotoxin", "attack.eps=auto",
                                            "defense.name=weak-dp", NULL}),
                     FT_OK);
    assert_int_equal(check((const char *[]){"attack.method=pgd", "attack.eps=two", NULL}),
                     FT_ECONFIG);
    assert_int_equal(check((const char *[]){"attack.method=pgd", "attack.eps=-1", NULL}),
                     FT_ECONFIG);

    /* End to end under norm-clipping with M = 0.5: without replacement the radius is
     * 0.999 M; with it and N_round = 4 |D_adv|, the update is projected to
     * 0.999 M / 4 and the scaled one lands just under M (not clipped). */
    rig_t r;
    rig_init(&r);
    ft_attack_task_t k = rig_task(&r);
    ft_attack_result_t res;
    ft_attack_env_t *env = run(&r, &k, &res, "pgd", "attack.eps=auto", "defense.name=norm-clipping",
                               "defense.norm_bound=0.5");
    ft_attack_env_destroy(&env);
    assert_true(res.projections > 0);
    assert_float_equal(res.norm, 0.999 * 0.5, 1e-5);
    k.round_samples = 4 * res.sample_count;
    ft_config_t *cfg = ft_test_config(keys, (const char *[]){"attack.method=pgd", NULL});
    ft_test_set(cfg, "attack.eps=auto");
    ft_test_set(cfg, "defense.name=norm-clipping");
    ft_test_set(cfg, "defense.norm_bound=0.5");
    ft_test_set(cfg, "attack.model_replacement=true");
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_env_new(&exp, r.train, &env), FT_OK);
    assert_int_equal(ft_attack_local_update(env, &k, r.m, r.t, r.delta, &res), FT_OK);
    assert_float_equal(res.scale, 4, 1e-12);
    assert_float_equal(res.norm_trained, 0.999 * 0.5 / 4, 1e-5);
    assert_float_equal(res.norm, 0.999 * 0.5, 4e-5);
    assert_true(res.norm < 0.5);
    ft_attack_env_destroy(&env);
    ft_config_destroy(&cfg);
    rig_free(&r);
}

/* ---- Neurotoxin ------------------------------------------------------------------- */

static void test_neurotoxin_mask(void **state)
{
    (void)state;
    const float g[6] = {0.5f, -0.1f, 0.3f, -0.1f, 0.0f, 2.0f};
    float mask[6];
    uint32_t order[6];
    /* |g| ascending: 0 (j4), 0.1 (j1), 0.1 (j3), 0.3 (j2), 0.5 (j0), 2 (j5); ratio 0.5
     * keeps floor(3) = 3: j4, j1, j3 — the top half by |g| is excluded */
    assert_int_equal(ft_attack_neurotoxin_mask(6, g, 0.5, mask, order), 3);
    const float want[6] = {0, 1, 0, 1, 1, 0};
    assert_memory_equal(mask, want, sizeof want);
    /* ratio 0.2: floor(1.2) = 1, the zero gradient only */
    assert_int_equal(ft_attack_neurotoxin_mask(6, g, 0.2, mask, order), 1);
    const float want1[6] = {0, 0, 0, 0, 1, 0};
    assert_memory_equal(mask, want1, sizeof want1);
    /* ratio 0.34: floor(2.04) = 2: j4 and of the tie j1 / j3 the lower index */
    assert_int_equal(ft_attack_neurotoxin_mask(6, g, 0.34, mask, order), 2);
    const float want2[6] = {0, 1, 0, 0, 1, 0};
    assert_memory_equal(mask, want2, sizeof want2);
    /* ratio 1: every coordinate */
    assert_int_equal(ft_attack_neurotoxin_mask(6, g, 1.0, mask, order), 6);
    for (int j = 0; j < 6; j++)
        assert_float_equal(mask[j], 1, 0);
    assert_int_equal(check((const char *[]){"attack.neurotoxin_ratio=0", NULL}), FT_ECONFIG);
    assert_int_equal(check((const char *[]){"attack.neurotoxin_ratio=1.5", NULL}), FT_ECONFIG);
}

/* Without momentum or weight decay, a masked coordinate never moves: at least
 * N - floor(N ratio) coordinates of the update are exactly 0, with neurotoxin and
 * with attack.grad_mask on the trigger data, where the unmasked attack moves them. */
static void test_neurotoxin_training(void **state)
{
    (void)state;
    rig_t r;
    rig_init(&r);
    ft_attack_task_t k = rig_task(&r);
    ft_attack_result_t res;
    size_t N = r.N, masked = N - (size_t)((double)N * 0.3);
    ft_attack_env_destroy(
        &(ft_attack_env_t *){run(&r, &k, &res, "pgd", "attack.eps=100", NULL, NULL)});
    size_t z_pgd = zeros(r.delta, N);
    ft_attack_env_destroy(&(ft_attack_env_t *){
        run(&r, &k, &res, "neurotoxin", "attack.eps=100", "attack.neurotoxin_ratio=0.3", NULL)});
    size_t z_nt = zeros(r.delta, N);
    assert_true(res.norm > 0);
    assert_true(z_nt >= masked);
    assert_true(z_pgd < masked / 2);
    ft_attack_env_destroy(
        &(ft_attack_env_t *){run(&r, &k, &res, "pixel-trigger", NULL, NULL, NULL)});
    size_t z_trig = zeros(r.delta, N);
    ft_attack_env_destroy(
        &(ft_attack_env_t *){run(&r, &k, &res, "pixel-trigger", "attack.grad_mask=true",
                                 "attack.neurotoxin_ratio=0.3", NULL)});
    assert_true(zeros(r.delta, N) >= masked);
    assert_true(z_trig < masked / 2);
    /* PGD still binds under the mask */
    ft_attack_env_destroy(
        &(ft_attack_env_t *){run(&r, &k, &res, "neurotoxin", "attack.eps=0.01", NULL, NULL)});
    assert_true(res.projections > 0);
    assert_true(res.norm <= 0.01 * (1 + 1e-5));
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eps_auto),
        cmocka_unit_test(test_neurotoxin_mask),
        cmocka_unit_test(test_neurotoxin_training),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
