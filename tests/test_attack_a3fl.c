/* A3FL (attacks/a3fl.c): the unlearning model's weight and the trigger's mask on
 * hand-worked cases; the trigger search against a PyTorch port of the authors' code
 * (tests/fixtures/attacks/gen_a3fl.py: a tiny conv net, one search from the initial
 * trigger and one from the state it returned); the backdoor test set stamped with a
 * given state. */
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
#include "ft_test_experiment.h"
#include "ft_train.h"
#include "ft_test_fixture.h"

/* ---- the weight: mean cosine over the conv tensors ------------------------------- */

static void test_weight(void **state)
{
    (void)state;
    ft_param_view_t v[3] = {{.name = "conv1.weight", .offset = 0, .count = 2},
                            {.name = "conv1.bias", .offset = 2, .count = 1},
                            {.name = "fc1.weight", .offset = 3, .count = 2}};
    ft_layout_t L = {.num_views = 3, .views = v, .num_params = 5};
    /* conv1.weight: (1,0).(0,1) = 0; conv1.bias: 2.3 / (2 3) = 1; fc1 is left out
     * though it would pull the mean down (cos -1) */
    const float a[5] = {1, 0, 2, 5, 5}, g[5] = {0, 1, 3, -5, -5};
    assert_float_equal(ft_attack_a3fl_weight(&L, a, g), 0.5, 1e-12);
    /* opposite gradients: -1 */
    const float na[5] = {-1, -2, -3, 0, 0}, ng[5] = {1, 2, 3, 0, 0};
    assert_float_equal(ft_attack_a3fl_weight(&L, na, ng), -1.0, 1e-12);
    /* a zero gradient: the cosine's eps keeps it 0, not NaN */
    const float z[5] = {0};
    assert_float_equal(ft_attack_a3fl_weight(&L, z, g), 0.0, 1e-12);
    /* no conv tensor at all: every tensor counts, (0 + 1 + -1) / 3 */
    snprintf(v[0].name, sizeof v[0].name, "fc1.weight");
    snprintf(v[1].name, sizeof v[1].name, "fc1.bias");
    snprintf(v[2].name, sizeof v[2].name, "fc2.weight");
    assert_float_equal(ft_attack_a3fl_weight(&L, a, g), 0.0, 1e-12);
}

/* ---- the mask ----------------------------------------------------------------------- */

static void test_mask(void **state)
{
    (void)state;
    ft_attack_cfg_t p = {.trigger_size = 3, .trigger_row = -1, .trigger_col = -1};
    float m[2 * 8 * 8];
    ft_attack_a3fl_mask(&p, 2, 8, 8, m);
    /* attacker.py:31: mask[:, :, 2:2+size, 2:2+size] = 1, every channel */
    for (int ch = 0; ch < 2; ch++)
        for (int r = 0; r < 8; r++)
            for (int c = 0; c < 8; c++)
                assert_true(m[ch * 64 + r * 8 + c] ==
                            (r >= 2 && r < 5 && c >= 2 && c < 5 ? 1.0f : 0.0f));
    /* moved to row 6, col 0 on an 8-row image: cut at the edge, nothing wraps */
    p.trigger_row = 6, p.trigger_col = 0;
    ft_attack_a3fl_mask(&p, 1, 8, 8, m);
    int on = 0;
    for (int j = 0; j < 64; j++)
        on += m[j] == 1.0f;
    assert_int_equal(on, 2 * 3);
    assert_true(m[6 * 8 + 0] == 1.0f && m[7 * 8 + 2] == 1.0f && m[7 * 8 + 3] == 0.0f);
}

/* ---- the search against the PyTorch port ---------------------------------------- */

typedef struct {
    int n, c, h, w, k, target, size, row, col, iters, adv_epochs;
    double lr, lambda, mean, std;
    float *x, *params, *t1, *t2;
    int *y;
    size_t N, S;
} fixture_t;

static void load(fixture_t *fx)
{
    FILE *f = ft_test_fixture_open("attacks/a3fl.txt", "r");
    assert_int_equal(fscanf(f, "%d %d %d %d %d %d %d %d %d %d %d %lf %lf %lf %lf", &fx->n, &fx->c,
                            &fx->h, &fx->w, &fx->k, &fx->target, &fx->size, &fx->row, &fx->col,
                            &fx->iters, &fx->adv_epochs, &fx->lr, &fx->lambda, &fx->mean, &fx->std),
                     15);
    fx->S = (size_t)fx->c * fx->h * fx->w;
    fx->N = (size_t)2 * fx->c * 9 + 2 + (size_t)fx->k * 2 * (fx->h - 2) * (fx->w - 2) + fx->k;
    fx->x = ft_test_fixture_take(f, (size_t)fx->n * fx->S);
    fx->y = malloc((size_t)fx->n * sizeof(int));
    for (int i = 0; i < fx->n; i++)
        assert_int_equal(fscanf(f, "%d", &fx->y[i]), 1);
    fx->params = ft_test_fixture_take(f, fx->N);
    fx->t1 = ft_test_fixture_take(f, fx->S);
    fx->t2 = ft_test_fixture_take(f, fx->S);
    fclose(f);
}

static void unload(fixture_t *fx)
{
    free(fx->x);
    free(fx->y);
    free(fx->params);
    free(fx->t1);
    free(fx->t2);
}

/* The fixture's samples as a float dataset whose normalisation gives back x. */
static ft_dataset_t *fixture_dataset(const fixture_t *fx)
{
    ft_dataset_t *u8 = NULL, *ds = NULL;
    assert_int_equal(ft_dataset_new((uint32_t)fx->n, fx->c, fx->h, fx->w, fx->k, &u8), FT_OK);
    assert_int_equal(ft_dataset_to_float(u8, &ds), FT_OK);
    ft_dataset_destroy(&u8);
    for (int ch = 0; ch < fx->c; ch++)
        ds->mean[ch] = (float)fx->mean, ds->std[ch] = (float)fx->std;
    for (size_t j = 0; j < (size_t)fx->n * fx->S; j++)
        ds->values[j] = (float)(fx->x[j] * fx->std + fx->mean);
    for (int i = 0; i < fx->n; i++)
        ds->labels[i] = (uint8_t)fx->y[i];
    return ds;
}

/* Runs the attack's local update on the fixture; the trigger it returns into t. */
static void run_search(const fixture_t *fx, ft_dataset_t *ds, const float *state_in, float *t)
{
    char sets[8][64];
    snprintf(sets[0], 64, "attack.target_class=%d", fx->target);
    snprintf(sets[1], 64, "attack.trigger_size=%d", fx->size);
    snprintf(sets[2], 64, "attack.a3fl_iterations=%d", fx->iters);
    snprintf(sets[3], 64, "attack.a3fl_adv_epochs=%d", fx->adv_epochs);
    snprintf(sets[4], 64, "attack.a3fl_trigger_lr=%.9g", fx->lr);
    snprintf(sets[5], 64, "attack.a3fl_lambda=%.9g", fx->lambda);
    snprintf(sets[6], 64, "federation.batch_size=%d", fx->n);
    snprintf(sets[7], 64, "attack.clean_points=%d", fx->n);
    const char *all[] = {"attack.method=a3fl",
                         "attack.poison_points=4",
                         sets[0],
                         sets[1],
                         sets[2],
                         sets[3],
                         sets[4],
                         sets[5],
                         sets[6],
                         sets[7],
                         NULL};
    ft_config_t *cfg = ft_test_config(ft_test_population, all);
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_check(&exp), FT_OK);
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, ds, &env), FT_OK);
    assert_int_equal(ft_attack_state_floats(env), fx->S);

    const ft_layer_spec_t layers[] = {{.kind = FT_LAYER_CONV2D, .out = 2, .kernel = 3, .stride = 1},
                                      {.kind = FT_LAYER_RELU},
                                      {.kind = FT_LAYER_FLATTEN},
                                      {.kind = FT_LAYER_LINEAR}};
    ft_model_t *m = NULL;
    assert_int_equal(
        ft_model_new_from_spec(layers, 4, fx->c, fx->h, fx->w, fx->k, fx->n, &ft_ops_reference, &m),
        FT_OK);
    assert_int_equal(ft_model_num_params(m), fx->N);
    ft_trainer_t *tr = ft_trainer_new(m, fx->n);
    uint32_t part[64];
    for (int i = 0; i < fx->n; i++)
        part[i] = (uint32_t)i;
    float *delta = ft_malloc(fx->N * sizeof(float));
    ft_attack_task_t k = {.round = 1,
                          .client_id = 3,
                          .global = fx->params,
                          .train = ds,
                          .part_idx = part,
                          .part_n = (uint32_t)fx->n,
                          .opts = {.epochs = 1, .batch_size = fx->n, .lr = 0.01f},
                          .state = state_in,
                          .state_out = t};
    ft_attack_result_t res;
    if (ft_attack_local_update(env, &k, m, tr, delta, &res) != FT_OK)
        fail_msg("a3fl: %s", ft_error_message());
    ft_free(delta);
    ft_trainer_destroy(&tr);
    ft_model_destroy(&m);
    ft_attack_env_destroy(&env);
    ft_config_destroy(&cfg);
}

static void expect_trigger(const char *what, const float *got, const float *want, size_t S)
{
    int moved = 0;
    for (size_t j = 0; j < S; j++) {
        if (fabsf(got[j] - want[j]) > 1e-5f)
            fail_msg("%s[%zu]: got %.7g, torch %.7g", what, j, got[j], want[j]);
        moved += want[j] != 0.5f;
    }
    assert_true(moved > 0); /* the fixture's search moved the trigger */
}

static void test_search_matches_torch(void **state)
{
    (void)state;
    fixture_t fx;
    load(&fx);
    ft_dataset_t *ds = fixture_dataset(&fx);
    float *t1 = ft_malloc(fx.S * sizeof(float)), *t2 = ft_malloc(fx.S * sizeof(float));
    run_search(&fx, ds, NULL, t1); /* the first attack round: from the initial 0.5 */
    expect_trigger("first search", t1, fx.t1, fx.S);
    run_search(&fx, ds, t1, t2); /* the next: from the state the first one returned */
    expect_trigger("second search", t2, fx.t2, fx.S);
    ft_free(t1);
    ft_free(t2);
    ft_dataset_destroy(&ds);
    unload(&fx);
}

/* ---- the backdoor test set for a state ------------------------------------------- */

static void test_backdoor_test_uses_state(void **state)
{
    (void)state;
    ft_dataset_t *test = NULL;
    assert_int_equal(ft_dataset_new(6, 1, 8, 8, 4, &test), FT_OK);
    for (uint32_t i = 0; i < 6; i++)
        test->labels[i] = (uint8_t)(i % 3); /* two images of target class 2 */
    test->mean[0] = 0.25f, test->std[0] = 0.5f;
    memset(test->pixels, 51, 6 * 64); /* 0.2 */
    const char *sets[] = {"attack.method=a3fl", "attack.target_class=2", "attack.trigger_size=2",
                          NULL};
    ft_config_t *cfg = ft_test_config(ft_test_population, sets);
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, test, &env), FT_OK);
    float st[64];
    for (int j = 0; j < 64; j++)
        st[j] = -1.5f + 0.01f * (float)j;
    for (int pass = 0; pass < 2; pass++) {
        ft_dataset_t *bt = NULL;
        assert_int_equal(ft_attack_backdoor_test(env, test, pass ? st : NULL, &bt), FT_OK);
        assert_int_equal(bt->n, 4); /* the images outside the target class */
        assert_non_null(bt->values);
        for (uint32_t i = 0; i < bt->n; i++) {
            assert_int_equal(bt->labels[i], 2);
            for (int j = 0; j < 64; j++) {
                int r = j / 8, c = j % 8, on = r >= 2 && r < 4 && c >= 2 && c < 4;
                /* on the mask, the value normalising to the trigger: t std + mean */
                float t = pass ? st[j] : 0.5f;
                float want = on ? t * 0.5f + 0.25f : 0.2f;
                assert_float_equal(bt->values[i * 64 + j], want, 1e-6);
            }
        }
        ft_dataset_destroy(&bt);
    }
    ft_attack_env_destroy(&env);
    ft_config_destroy(&cfg);
    ft_dataset_destroy(&test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weight),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_search_matches_torch),
        cmocka_unit_test(test_backdoor_test_uses_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
