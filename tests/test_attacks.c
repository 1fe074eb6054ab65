/* test_attacks: attacks/ — PGD projection, model-replacement scale, every baseline's
 * update transform (sign flip, Gaussian, ALIE, IPM), the BadNets trigger and label
 * flips, config checks and the registry — all against hand-worked values — then the
 * per-process environment (edge set, sample counts, backdoor test sets) and the
 * attacker's local update end to end on a small MLP. What every attack must satisfy
 * is test_attacks_contract.c; schedules and holdings are the scenario's
 * (test_scenario.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_attack.h"
#include "ft_attack_math.h"
#include "ft_config.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_model.h"
#include "ft_ops.h"
#include "ft_readers.h"
#include "ft_test_experiment.h"
#include "ft_test_tmpdir.h"
#include "ft_train.h"

/* ---- maths ------------------------------------------------------------------- */

static void check_projection(const ft_ops_t *ops)
{
    float w[2] = {3, 4}, wg[2] = {0, 0}, tmp[2];
    /* Outside the ball: w_g = 0, w = [3,4], eps 1 => [0.6, 0.8]; returns ||w - w_g|| = 5. */
    assert_float_equal(ft_attack_project_l2(ops, 2, w, wg, 1.0, tmp), 5.0, 1e-6);
    assert_float_equal(w[0], 0.6, 1e-6);
    assert_float_equal(w[1], 0.8, 1e-6);
    /* Inside: unchanged. */
    float v[2] = {0.3f, 0.4f};
    assert_float_equal(ft_attack_project_l2(ops, 2, v, wg, 1.0, tmp), 0.5, 1e-6);
    assert_float_equal(v[0], 0.3, 0);
    assert_float_equal(v[1], 0.4, 0);
    /* Around w_g = [1,1]: w = [4,5], eps 2.5 => [1 + 3/2, 1 + 4/2] = [2.5, 3]. */
    float u[2] = {4, 5}, ug[2] = {1, 1};
    ft_attack_project_l2(ops, 2, u, ug, 2.5, tmp);
    assert_float_equal(u[0], 2.5, 1e-6);
    assert_float_equal(u[1], 3.0, 1e-6);
}

static void test_projection(void **state)
{
    (void)state;
    check_projection(&ft_ops_reference);
    check_projection(&ft_ops_cpu);
}

static void test_replacement_scale(void **state)
{
    (void)state;
    assert_float_equal(ft_attack_replacement_scale(7, 1000, 100, 10), 7, 0);  /* attack.scale */
    assert_float_equal(ft_attack_replacement_scale(0, 1000, 100, 10), 10, 0); /* N/n_adv */
    assert_float_equal(ft_attack_replacement_scale(0, 3366, 166, 10), 3366.0 / 166, 1e-12);
    assert_float_equal(ft_attack_replacement_scale(0, 0, 100, 10), 10, 0); /* unknown: K */
}

static void test_transforms(void **state)
{
    (void)state;
    float d[3] = {1, -2, 0};
    ft_attack_sign_flip(3, d);
    assert_float_equal(d[0], -1, 0);
    assert_float_equal(d[1], 2, 0);
    assert_float_equal(d[2], 0, 0);

    /* Benign estimates [[1,2],[3,2],[5,8]]: mu = [3,4], population sigma =
     * [sqrt(8/3), sqrt(8)]. */
    const float est[6] = {1, 2, 3, 2, 5, 8};
    float out[2];
    ft_attack_alie(3, 2, est, 1.5, out);
    assert_float_equal(out[0], 3 - 1.5 * sqrt(8.0 / 3), 1e-6);
    assert_float_equal(out[1], 4 - 1.5 * sqrt(8.0), 1e-6);
    ft_attack_ipm(3, 2, est, 0.5, out);
    assert_float_equal(out[0], -1.5, 1e-7);
    assert_float_equal(out[1], -2.0, 1e-7);

    /* Phi^-1 and Baruch et al.'s z_max: n=10,m=2 -> s=4, Phi^-1(0.6); n=50,m=10 -> s=16,
     * Phi^-1(0.68); n=10,m=1 -> s=5, Phi^-1(0.5) = 0. */
    assert_float_equal(ft_normal_quantile(0.975), 1.959963985, 1e-8);
    assert_float_equal(ft_attack_alie_z(10, 2), 0.2533471031, 1e-8);
    assert_float_equal(ft_attack_alie_z(50, 10), 0.4676987991, 1e-8);
    assert_float_equal(ft_attack_alie_z(10, 1), 0.0, 1e-12);

    /* Gaussian update: mean 0, std noise_std; deterministic from the stream. */
    enum { NG = 200000 };
    float *g = ft_malloc(NG * sizeof *g), *g2 = ft_malloc(NG * sizeof *g2);
    ft_rng_t r1, r2;
    ft_rng_init(&r1, 9, 3, 4, FT_RNG_ATTACK);
    r2 = r1;
    ft_attack_gaussian(NG, 0.5, &r1, g);
    ft_attack_gaussian(NG, 0.5, &r2, g2);
    assert_memory_equal(g, g2, NG * sizeof *g);
    double s = 0, ss = 0;
    for (int i = 0; i < NG; i++) {
        s += g[i];
        ss += (double)g[i] * g[i];
    }
    double mean = s / NG, sd = sqrt(ss / NG - mean * mean);
    assert_true(fabs(mean) < 0.005);
    assert_true(fabs(sd - 0.5) < 0.005);
    ft_free(g);
    ft_free(g2);
}

static void test_trigger_and_flip(void **state)
{
    (void)state;
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_dataset_new(2, 3, 6, 6, 4, &ds), FT_OK);
    memset(ds->pixels, 7, 2 * 3 * 36);
    ft_attack_stamp_trigger(ds, 1, 2);
    /* Sample 0 untouched; sample 1: rows/cols 3..4 of every channel = checkerboard. */
    for (int i = 0; i < 3 * 36; i++)
        assert_int_equal(ds->pixels[i], 7);
    for (int ch = 0; ch < 3; ch++)
        for (int r = 0; r < 6; r++)
            for (int c = 0; c < 6; c++) {
                int v = ds->pixels[3 * 36 + ch * 36 + r * 6 + c];
                int expect = 7;
                if (r >= 3 && r <= 4 && c >= 3 && c <= 4)
                    expect = ((r - 3) + (c - 3)) % 2 == 0 ? 255 : 0;
                assert_int_equal(v, expect);
            }
    /* Float storage: 1.0 / 0.0. */
    ds->values = ft_calloc(2 * 3 * 36, sizeof(float));
    ft_free(ds->pixels);
    ds->pixels = NULL;
    ft_attack_stamp_trigger(ds, 0, 3);
    assert_float_equal(ds->values[2 * 6 + 2], 1.0, 0); /* (2,2): r=c=0 */
    assert_float_equal(ds->values[2 * 6 + 3], 0.0, 0);
    assert_float_equal(ds->values[36 + 4 * 6 + 4], 1.0, 0); /* channel 1, (4,4) */
    assert_float_equal(ds->values[5 * 6 + 5], 0.0, 0);      /* margin */

    const uint8_t lab[5] = {0, 1, 2, 0, 3};
    ft_dataset_t *l = NULL;
    assert_int_equal(ft_dataset_new(5, 1, 1, 1, 4, &l), FT_OK);
    memcpy(l->labels, lab, 5);
    ft_attack_flip_labels(l, 0, 2);
    const uint8_t want[5] = {2, 1, 2, 2, 3};
    assert_memory_equal(l->labels, want, 5);
    ft_dataset_destroy(&l);
    ft_dataset_destroy(&ds);
}

/* ---- config checks and the registry ------------------------------------------------ */

/* ft_experiment_read then ft_attack_check: the code of the first that fails. */
static int check(const char *const *sets)
{
    ft_config_t *cfg = ft_test_config(NULL, sets);
    ft_experiment_t exp;
    int rc = ft_experiment_read(cfg, &exp);
    if (rc == FT_OK)
        rc = ft_attack_check(&exp);
    ft_config_destroy(&cfg);
    return rc;
}

static void test_config_and_registry(void **state)
{
    (void)state;
    assert_int_equal(check((const char *[]){"attack.method=nope", NULL}), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.method"));
    assert_non_null(strstr(ft_error_message(), "none|blackbox|pgd|pixel-trigger"));
    assert_int_equal(check((const char *[]){"attack.method=pgd", NULL}), FT_OK);
    assert_int_equal(check((const char *[]){"attack.method=none", NULL}), FT_OK);
    /* holders (lowest ids) and the pool (top ids) may touch but not overlap */
    const char *pool7[] = {
        "attack.method=pgd",           "attack.fl_mode=fixed-pool",    "federation.num_clients=10",
        "attack.attacker_pool_size=3", "attack.honest_edge_holders=7", NULL};
    assert_int_equal(check(pool7), FT_OK);
    const char *pool8[] = {
        "attack.method=pgd",           "attack.fl_mode=fixed-pool",    "federation.num_clients=10",
        "attack.attacker_pool_size=3", "attack.honest_edge_holders=8", NULL};
    assert_int_equal(check(pool8), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.honest_edge_holders"));
    assert_int_equal(check((const char *[]){"attack.method=pgd", "attack.eps=0", NULL}),
                     FT_ECONFIG);
    assert_int_equal(check((const char *[]){"attack.method=pgd", "attack.eps=1e-9", NULL}), FT_OK);

    /* Contract: every plug-in is found by its name, cites its paper, does something. */
    int n = 0;
    for (int i = 0; ft_attack_registry[i]; i++, n++) {
        const ft_attack_t *a = ft_attack_registry[i];
        assert_ptr_equal(ft_attack_find(a->name), a);
        assert_non_null(a->cite);
        assert_true(strlen(a->cite) > 10);
        assert_true(a->trains || a->transform);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ft_attack_registry[j]->name, a->name);
    }
    assert_int_equal(n, 19);
    assert_null(ft_attack_find("none"));
    const char *names[] = {"blackbox",  "pgd",    "pixel-trigger", "label-flip", "sign-flip",
                           "gaussian",  "alie",   "ipm",           "neurotoxin", "dba",
                           "minmax",    "minsum", "fang",          "mimic",      "a3fl",
                           "chameleon", "iba",    "phrase",        "phrase-pgd"};
    for (int i = 0; i < 19; i++)
        assert_non_null(ft_attack_find(names[i]));
}

/* ---- the environment ------------------------------------------------------------- */

typedef struct {
    ft_dataset_t *train, *test;
} data_t;

static int data_setup(void **state)
{
    static data_t d;
    if (ft_synthetic_make(2000, 1, 8, 8, 4, 11, 1, &d.train) < 0 ||
        ft_synthetic_make(400, 1, 8, 8, 4, 11, 0, &d.test) < 0)
        return -1;
    *state = &d;
    return 0;
}

static int data_teardown(void **state)
{
    data_t *d = *state;
    ft_dataset_destroy(&d->train);
    ft_dataset_destroy(&d->test);
    return 0;
}

static const char *const edge_keys[] = {"attack.edge_size=20",       "attack.source_class=2",
                                        "attack.target_class=3",     "attack.clean_points=50",
                                        "federation.num_clients=10", NULL};

/* The experiment of an attack on the synthetic set (cfg kept alive in *cfg_out). */
static void edge_experiment(const char *method, const char *extra1, const char *extra2,
                            ft_config_t **cfg_out, ft_experiment_t *exp)
{
    char buf[64];
    snprintf(buf, sizeof buf, "attack.method=%s", method);
    ft_config_t *cfg = ft_test_config(edge_keys, (const char *[]){buf, extra1, NULL});
    if (extra1 && extra2)
        ft_test_set(cfg, extra2);
    ft_test_experiment(cfg, exp);
    *cfg_out = cfg;
}

static void test_env_edge(void **state)
{
    data_t *d = *state;
    ft_config_t *cfg;
    ft_experiment_t exp;
    edge_experiment("pgd", NULL, NULL, &cfg, &exp);
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, d->train, &env), FT_OK);
    assert_non_null(env->edge);
    const ft_edge_set_t *e = env->edge;
    assert_true(e->num_excluded >= 20);
    /* The backdoor test set is the held-out edge points, labelled target. */
    ft_dataset_t *bt = NULL;
    assert_int_equal(ft_attack_backdoor_test(env, d->test, NULL, &bt), FT_OK);
    assert_int_equal(bt->n, e->test->n);
    for (uint32_t i = 0; i < bt->n; i++)
        assert_int_equal(bt->labels[i], 3);
    assert_string_equal(bt->name, "backdoor-test/pgd");
    ft_dataset_destroy(&bt);
    /* Sample counts: attacker |D_adv| = edge points + min(50, part_n). */
    assert_int_equal(ft_attack_sample_count(env, 200), e->attack->n + 50);
    assert_int_equal(ft_attack_sample_count(env, 50), e->attack->n + 50);
    assert_int_equal(ft_attack_sample_count(env, 49), e->attack->n + 49);
    /* A second process derives the same set. */
    ft_attack_env_t *env2 = NULL;
    assert_int_equal(ft_attack_env_new(&exp, d->train, &env2), FT_OK);
    assert_int_equal(env2->edge->num_excluded, e->num_excluded);
    assert_memory_equal(env2->edge->excluded, e->excluded, e->num_excluded * 4);
    assert_memory_equal(env2->edge->attack_idx, e->attack_idx, e->attack->n * 4);
    ft_attack_env_destroy(&env2);
    ft_attack_env_destroy(&env);
    assert_null(env);
    ft_attack_env_destroy(&env); /* safe twice */
    ft_config_destroy(&cfg);

    /* method none: nothing changes. */
    edge_experiment("none", NULL, NULL, &cfg, &exp);
    assert_int_equal(ft_attack_env_new(&exp, d->train, &env), FT_OK);
    assert_null(env->attack);
    assert_null(env->edge);
    assert_int_equal(ft_attack_sample_count(env, 123), 123);
    assert_int_equal(ft_attack_backdoor_test(env, d->test, NULL, &bt), FT_OK);
    assert_null(bt);
    ft_attack_env_destroy(&env);
    ft_config_destroy(&cfg);

    /* The labels must exist in the dataset (4 classes: 3 is the last one). */
    edge_experiment("pgd", "attack.target_class=4", NULL, &cfg, &exp);
    assert_int_equal(ft_attack_env_new(&exp, d->train, &env), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.target_class"));
    assert_null(env);
    ft_config_destroy(&cfg);
    edge_experiment("none", "attack.source_class=4", NULL, &cfg, &exp);
    assert_int_equal(ft_attack_env_new(&exp, d->train, &env), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.source_class"));
    ft_config_destroy(&cfg);
}

static void test_env_backdoor_sets(void **state)
{
    data_t *d = *state;
    uint32_t non_target = 0, source = 0;
    for (uint32_t i = 0; i < d->test->n; i++) {
        non_target += d->test->labels[i] != 3;
        source += d->test->labels[i] == 2;
    }
    ft_config_t *cfg;
    ft_experiment_t exp;
    edge_experiment("pixel-trigger", "attack.trigger_size=3", NULL, &cfg, &exp);
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, d->train, &env), FT_OK);
    assert_null(env->edge);
    ft_dataset_t *bt = NULL;
    assert_int_equal(ft_attack_backdoor_test(env, d->test, NULL, &bt), FT_OK);
    assert_int_equal(bt->n, non_target);
    for (uint32_t i = 0; i < non_target; i++) {
        assert_int_equal(bt->labels[i], 3);
        assert_int_equal(bt->pixels[i * 64 + 4 * 8 + 4], 255); /* (4,4) */
        assert_int_equal(bt->pixels[i * 64 + 4 * 8 + 5], 0);   /* (4,5) */
    }
    ft_dataset_destroy(&bt);
    assert_int_equal(ft_attack_sample_count(env, 200), 50 + 100);
    assert_int_equal(ft_attack_sample_count(env, 20), 20 + 100);
    ft_attack_env_destroy(&env);
    ft_config_destroy(&cfg);
    edge_experiment("label-flip", NULL, NULL, &cfg, &exp);
    assert_int_equal(ft_attack_env_new(&exp, d->train, &env), FT_OK);
    assert_int_equal(ft_attack_backdoor_test(env, d->test, NULL, &bt), FT_OK);
    assert_int_equal(bt->n, source);
    for (uint32_t i = 0; i < bt->n; i++)
        assert_int_equal(bt->labels[i], 3);
    ft_dataset_destroy(&bt);
    assert_int_equal(ft_attack_sample_count(env, 200), 200);
    ft_attack_env_destroy(&env);
    ft_config_destroy(&cfg);
}

/* ---- the attacker's local update end to end --------------------------------------- */

typedef struct {
    ft_model_t *m;
    ft_trainer_t *t;
    float *global;
    float *delta;
    size_t N;
    uint32_t part[200];
} rig_t;

static void rig_init(rig_t *r)
{
    assert_int_equal(ft_model_new("mlp", "16", 1, 8, 8, 4, 32, &ft_ops_cpu, &r->m), FT_OK);
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
        r->part[i] = i * 7; /* spread over the set */
}

static void rig_free(rig_t *r)
{
    ft_trainer_destroy(&r->t);
    ft_model_destroy(&r->m);
    ft_free(r->global);
    ft_free(r->delta);
}

static ft_attack_task_t rig_task(rig_t *r, const ft_dataset_t *train)
{
    ft_attack_task_t k = {.round = 3,
                          .client_id = 9,
                          .global = r->global,
                          .train = train,
                          .part_idx = r->part,
                          .part_n = 200,
                          .opts = {.epochs = 1, .batch_size = 16, .lr = 0.05f, .momentum = 0.9f}};
    return k;
}

static double norm(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return sqrt(s);
}

static void run_attack(data_t *d, rig_t *r, const char *method, const char *e1, const char *e2,
                       ft_attack_task_t *k, ft_attack_result_t *res, ft_attack_env_t **env_out)
{
    ft_config_t *cfg;
    ft_experiment_t exp;
    edge_experiment(method, e1, e2, &cfg, &exp);
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, d->train, &env), FT_OK);
    int rc = ft_attack_local_update(env, k, r->m, r->t, r->delta, res);
    if (rc)
        printf("%s: %s\n", method, ft_error_message());
    assert_int_equal(rc, FT_OK);
    for (size_t j = 0; j < r->N; j++)
        assert_true(isfinite(r->delta[j]));
    ft_config_destroy(&cfg);
    if (env_out)
        *env_out = env;
    else
        ft_attack_env_destroy(&env);
}

static void count_step(void *user, int epoch, int batch, ft_model_t *m)
{
    (void)epoch;
    (void)batch;
    (void)m;
    (*(int *)user)++;
}

static void test_local_update(void **state)
{
    data_t *d = *state;
    rig_t r;
    rig_init(&r);
    ft_attack_task_t k = rig_task(&r, d->train);
    ft_attack_result_t res;
    ft_attack_env_t *env = NULL;

    /* pgd: the update lands inside the eps ball (projection at the end of each epoch);
     * the client's own hooks still run at every step. */
    int steps = 0;
    const ft_train_hooks_t outer = {.after_step = count_step, .user = &steps};
    k.outer = &outer;
    run_attack(d, &r, "pgd", "attack.eps=0.05", "attack.adv_epochs=2", &k, &res, &env);
    assert_int_equal(steps, 2 * (int)((res.sample_count + 15) / 16));
    k.outer = NULL;
    assert_true(norm(r.delta, r.N) <= 0.05 + 1e-5);
    assert_true(res.projections > 0);
    assert_int_equal(res.sample_count, env->edge->attack->n + 50);
    assert_float_equal(res.scale, 1, 0);
    ft_attack_env_destroy(&env);

    /* blackbox + model replacement: the update is scaled by N_round / n_adv. */
    run_attack(d, &r, "blackbox", NULL, NULL, &k, &res, &env);
    double plain = res.norm;
    assert_true(plain > 0);
    ft_attack_env_destroy(&env);
    k.round_samples = 10 * res.sample_count;
    run_attack(d, &r, "blackbox", "attack.model_replacement=true", NULL, &k, &res, NULL);
    assert_float_equal(res.scale, 10, 1e-12);
    assert_float_equal(res.norm, 10 * plain, 1e-4 * plain);
    assert_float_equal(res.norm_trained, plain, 1e-6 * plain);
    k.round_samples = 0;

    /* prox changes the trajectory. */
    run_attack(d, &r, "blackbox", "attack.prox=true", NULL, &k, &res, NULL);
    assert_true(fabs(res.norm - plain) > 1e-6 * plain);

    /* sign-flip: exactly the negated honest update (same shuffle stream). */
    run_attack(d, &r, "sign-flip", NULL, NULL, &k, &res, NULL);
    float *honest = ft_malloc(r.N * sizeof(float));
    ft_model_set_params(r.m, r.global);
    ft_rng_t rng;
    ft_rng_init(&rng, 1, 3, 9, FT_RNG_SHUFFLE);
    assert_int_equal(
        ft_train_run(r.t, d->train, r.part, 200, &k.opts, &rng, 1, NULL, NULL, NULL, NULL), FT_OK);
    ft_model_get_params(r.m, honest);
    for (size_t j = 0; j < r.N; j++)
        assert_float_equal(r.delta[j], -(honest[j] - r.global[j]), 1e-7);
    assert_int_equal(res.sample_count, 200);
    ft_free(honest);

    /* gaussian: no training, noise of the configured std. */
    run_attack(d, &r, "gaussian", "attack.noise_std=0.2", NULL, &k, &res, NULL);
    assert_float_equal(res.norm_trained, 0, 0);
    assert_float_equal(res.norm / sqrt((double)r.N), 0.2, 0.02);

    /* alie / ipm from benign estimates; label-flip and pixel-trigger train. */
    run_attack(d, &r, "alie", "attack.alie_z=1", "attack.num_benign_estimates=3", &k, &res, NULL);
    assert_true(res.norm > 0);
    run_attack(d, &r, "ipm", "attack.ipm_epsilon=0.5", NULL, &k, &res, NULL);
    assert_true(res.norm > 0);
    run_attack(d, &r, "label-flip", NULL, NULL, &k, &res, NULL);
    assert_true(res.norm > 0);
    run_attack(d, &r, "pixel-trigger", NULL, NULL, &k, &res, NULL);
    assert_int_equal(res.sample_count, 150);
    assert_true(res.norm > 0);
    rig_free(&r);
}

/* Writes n 8x8 float images whose id (first_id + i) is readable from pixel 0. */
static void write_edge_npy(const char *path, int n, int first_id)
{
    float *img = ft_malloc((size_t)n * 64 * sizeof *img);
    for (int i = 0; i < n * 64; i++)
        img[i] = (float)(first_id + i / 64) * 0.001f;
    const int shape[3] = {n, 8, 8};
    assert_int_equal(ft_npy_write_floats(path, img, shape, 3), FT_OK);
    ft_free(img);
}

/* The paper code's attacker data (utils.py load_poisoned_dataset, CIFAR / Southwest):
 * D_adv = edge_points images sampled from the edge file, labelled target, + clean_points
 * images drawn from the whole training set; the backdoor test set is the separate test
 * file. Here 10 of 40 edge images + 25 clean ones, and a 12-image test file. */
static void test_official_dadv(void **state)
{
    data_t *d = *state;
    char dir[FT_TEST_TMPDIR_MAX], ef[FT_TEST_TMPDIR_MAX + 16], tf[FT_TEST_TMPDIR_MAX + 16];
    assert_int_equal(ft_test_tmpdir_make(dir, sizeof dir, "dadv"), 0);
    ft_test_tmpdir_path(ef, sizeof ef, dir, "edge.npy");
    ft_test_tmpdir_path(tf, sizeof tf, dir, "edge_test.npy");
    write_edge_npy(ef, 40, 0);
    write_edge_npy(tf, 12, 500);
    char e1[FT_TEST_TMPDIR_MAX + 64], e2[FT_TEST_TMPDIR_MAX + 64];
    snprintf(e1, sizeof e1, "attack.edge_file=%s", ef);
    snprintf(e2, sizeof e2, "attack.edge_test_file=%s", tf);
    ft_config_t *cfg = ft_test_config(
        edge_keys, (const char *[]){"attack.method=blackbox", "attack.edge_source=file", e1, e2,
                                    "attack.edge_points=10", "attack.clean_points=25",
                                    "attack.clean_from=train", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, d->train, &env), FT_OK);
    rig_t r;
    rig_init(&r);
    ft_attack_task_t k = rig_task(&r, d->train);
    k.part_n = 20; /* a small partition: the clean points are not limited by it */
    ft_dataset_t *dadv = NULL;
    assert_int_equal(ft_attack_dadv(env, &k, &dadv), FT_OK);
    assert_int_equal(dadv->n, 35);
    assert_int_equal(ft_attack_sample_count(env, k.part_n), 35);
    /* first the 10 edge images, labelled target (3), each from the file, distinct */
    int seen[40] = {0};
    for (uint32_t i = 0; i < 10; i++) {
        assert_int_equal(dadv->labels[i], 3);
        int id = (int)lrintf(dadv->values[i * 64] * 1000.0f);
        assert_true(id >= 0 && id < 40);
        assert_int_equal(seen[id]++, 0);
    }
    /* then 25 training images with their own labels, not all from the partition */
    int outside = 0;
    for (uint32_t i = 10; i < 35; i++) {
        int found = -1;
        for (uint32_t j = 0; j < d->train->n && found < 0; j++) {
            int same = dadv->labels[i] == d->train->labels[j];
            for (int q = 0; q < 64 && same; q++)
                same = lrintf(dadv->values[i * 64 + q] * 255.0f) == d->train->pixels[j * 64 + q];
            if (same)
                found = (int)j;
        }
        assert_true(found >= 0);
        int in_part = 0;
        for (uint32_t q = 0; q < k.part_n; q++)
            in_part |= k.part_idx[q] == (uint32_t)found;
        outside += !in_part;
    }
    assert_true(outside > 0);
    ft_dataset_destroy(&dadv);
    /* the backdoor test set is the test file, labelled target */
    ft_dataset_t *bt = NULL;
    assert_int_equal(ft_attack_backdoor_test(env, d->test, NULL, &bt), FT_OK);
    assert_int_equal(bt->n, 12);
    for (uint32_t i = 0; i < 12; i++) {
        assert_int_equal(bt->labels[i], 3);
        assert_int_equal((int)lrintf(bt->values[i * 64] * 1000.0f), 500 + (int)i);
    }
    ft_dataset_destroy(&bt);
    /* from the partition (the default), the clean points are capped by it */
    ft_attack_env_destroy(&env);
    ft_test_set(cfg, "attack.clean_from=partition");
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_env_new(&exp, d->train, &env), FT_OK);
    assert_int_equal(ft_attack_sample_count(env, k.part_n), 10 + 20);
    ft_attack_env_destroy(&env);
    rig_free(&r);
    ft_config_destroy(&cfg);
    assert_int_equal(ft_test_tmpdir_remove(dir), 0);
}

/* attack.adaptive_eps (the paper code under Krum / Multi-Krum, fl_trainer.py:463-466):
 * the PGD radius of round t is eps * lr_decay^(t-1), so a projected update's norm
 * decays round by round; off (or fedavg under auto) it stays eps. And adv_lr decays
 * with the same factor (fl_trainer.py:449). */
static void test_adaptive_eps(void **state)
{
    data_t *d = *state;
    rig_t r;
    rig_init(&r);
    ft_attack_task_t k = rig_task(&r, d->train);
    ft_attack_result_t res;
    const double eps = 0.05, gamma = 0.8;
    const char *cases[][2] = {{"defense.name=krum", "attack.adaptive_eps=auto"},
                              {"defense.name=multi-krum", "attack.adaptive_eps=auto"},
                              {"defense.name=fedavg", "attack.adaptive_eps=on"},
                              {"defense.name=fedavg", "attack.adaptive_eps=auto"},
                              {"defense.name=krum", "attack.adaptive_eps=off"}};
    const int adaptive[5] = {1, 1, 1, 0, 0};
    for (int c = 0; c < 5; c++) {
        for (int t = 1; t <= 4; t++) {
            ft_config_t *cfg;
            ft_experiment_t exp;
            edge_experiment("pgd", "attack.eps=0.05", "federation.lr_decay=0.8", &cfg, &exp);
            ft_test_set(cfg, cases[c][0]);
            ft_test_set(cfg, cases[c][1]);
            ft_test_experiment(cfg, &exp);
            ft_attack_env_t *env = NULL;
            assert_int_equal(ft_attack_env_new(&exp, d->train, &env), FT_OK);
            assert_int_equal(env->adaptive_eps, adaptive[c]);
            k.round = t;
            assert_int_equal(ft_attack_local_update(env, &k, r.m, r.t, r.delta, &res), FT_OK);
            double want = eps * (adaptive[c] ? pow(gamma, t - 1) : 1.0);
            assert_true(res.projections > 0); /* the radius binds */
            assert_float_equal(norm(r.delta, r.N), want, 1e-4 * want);
            ft_attack_env_destroy(&env);
            ft_config_destroy(&cfg);
        }
    }
    rig_free(&r);
}

/* adv_lr in round t is adv_lr * lr_decay^(t-1): training at adv_lr 0.1 in round 3 with
 * decay 0.5 is training at 0.025 in round 1. */
static void test_adv_lr_decay(void **state)
{
    data_t *d = *state;
    rig_t r;
    rig_init(&r);
    ft_attack_task_t k = rig_task(&r, d->train);
    float *a = ft_malloc(r.N * sizeof(float));
    ft_attack_result_t res;
    ft_config_t *cfg;
    ft_experiment_t exp;
    edge_experiment("blackbox", "attack.adv_lr=0.1", "federation.lr_decay=0.5", &cfg, &exp);
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, d->train, &env), FT_OK);
    k.round = 3;
    k.opts.lr = 999; /* the honest lr does not enter an attacker's own adv_lr */
    assert_int_equal(ft_attack_local_update(env, &k, r.m, r.t, a, &res), FT_OK);
    ft_attack_env_destroy(&env);
    ft_config_destroy(&cfg);
    /* the same data and shuffle stream (round 3) at adv_lr 0.025 and no decay */
    edge_experiment("blackbox", "attack.adv_lr=0.025", NULL, &cfg, &exp);
    assert_int_equal(ft_attack_env_new(&exp, d->train, &env), FT_OK);
    assert_int_equal(ft_attack_local_update(env, &k, r.m, r.t, r.delta, &res), FT_OK);
    assert_memory_equal(a, r.delta, r.N * sizeof(float));
    ft_attack_env_destroy(&env);
    ft_config_destroy(&cfg);
    ft_free(a);
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_projection),          cmocka_unit_test(test_replacement_scale),
        cmocka_unit_test(test_transforms),          cmocka_unit_test(test_trigger_and_flip),
        cmocka_unit_test(test_config_and_registry), cmocka_unit_test(test_env_edge),
        cmocka_unit_test(test_env_backdoor_sets),   cmocka_unit_test(test_local_update),
        cmocka_unit_test(test_adaptive_eps),        cmocka_unit_test(test_adv_lr_decay),
        cmocka_unit_test(test_official_dadv),
    };
    return cmocka_run_group_tests(tests, data_setup, data_teardown);
}
