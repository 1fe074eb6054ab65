/* IBA (attacks/iba.c) and the model's output backward it needs
 * (ft_model_backward_output):
 *   - one and two generator steps against a frozen classifier equal the PyTorch port
 *     (tests/fixtures/attacks/gen_iba.py): the perturbed images x' (some clamped at 0
 *     and 1), the loss, the generator's gradient through the classifier, tanh and the
 *     clamp, and its parameters after each Adam step, on the reference and cpu back
 *     ends;
 *   - the perturbation by hand: within eps of x and inside [0, 1], its gradient 0
 *     where the clamp cuts and eps (1 - tanh^2) elsewhere; Adam's first step;
 *   - the backdoor test set perturbs every image outside the target class with the
 *     generator of the state it is given (and the seeded initial one for none).
 *
 * Tolerances: float32 against torch's float64 — x' 1e-6, the loss 1e-5 relative, the
 * gradient |d| <= 1e-6 + 1e-3 |torch|, parameters after Adam |d| <= 1e-5 + 1e-4 |torch|
 * (Adam's step is about lr sign(g), so only a gradient's sign error would show). */
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
#include "ft_config.h"
#include "ft_error.h"
#include "ft_test_experiment.h"
#include "ft_test_fixture.h"

typedef struct {
    int B, c, h, w, k, target, hidden, hits[2];
    double eps, lr, mean, std, loss;
    size_t S, Nc, Ng;
    float *x, *cls, *gen, *xp, *grad, *p1, *p2;
} fixture_t;

static void load(fixture_t *fx)
{
    FILE *f = ft_test_fixture_open("attacks/iba.txt", "r");
    assert_int_equal(fscanf(f, "%d %d %d %d %d %d %d %lf %lf %lf %lf", &fx->B, &fx->c, &fx->h,
                            &fx->w, &fx->k, &fx->target, &fx->hidden, &fx->eps, &fx->lr, &fx->mean,
                            &fx->std),
                     11);
    fx->S = (size_t)fx->c * fx->h * fx->w;
    fx->Nc = 2 * 9 + 2 + 6 * 8 + 6 + (size_t)fx->k * 6 + fx->k;
    fx->Ng = fx->S * fx->hidden + fx->hidden + fx->hidden * fx->S + fx->S;
    fx->x = ft_test_fixture_take(f, (size_t)fx->B * fx->S);
    fx->cls = ft_test_fixture_take(f, fx->Nc);
    fx->gen = ft_test_fixture_take(f, fx->Ng);
    fx->xp = ft_test_fixture_take(f, (size_t)fx->B * fx->S);
    assert_int_equal(fscanf(f, "%lf", &fx->loss), 1);
    fx->grad = ft_test_fixture_take(f, fx->Ng);
    fx->p1 = ft_test_fixture_take(f, fx->Ng);
    fx->p2 = ft_test_fixture_take(f, fx->Ng);
    assert_int_equal(fscanf(f, "%d %d", &fx->hits[0], &fx->hits[1]), 2);
    fclose(f);
}

static void unload(fixture_t *fx)
{
    free(fx->x);
    free(fx->cls);
    free(fx->gen);
    free(fx->xp);
    free(fx->grad);
    free(fx->p1);
    free(fx->p2);
}

static const ft_layer_spec_t tiny[] = {
    {.kind = FT_LAYER_CONV2D, .out = 2, .kernel = 3, .stride = 1},
    {.kind = FT_LAYER_RELU},
    {.kind = FT_LAYER_MAXPOOL, .kernel = 2, .stride = 2},
    {.kind = FT_LAYER_FLATTEN},
    {.kind = FT_LAYER_LINEAR, .out = 6},
    {.kind = FT_LAYER_RELU},
    {.kind = FT_LAYER_LINEAR}};

static void check_backend(const fixture_t *fx, const ft_ops_t *ops)
{
    ft_model_t *cls = NULL, *gen = NULL;
    assert_int_equal(ft_model_new_from_spec(tiny, 7, fx->c, fx->h, fx->w, fx->k, fx->B, ops, &cls),
                     FT_OK);
    ft_attack_cfg_t p;
    memset(&p, 0, sizeof p);
    p.iba_hidden = fx->hidden;
    assert_int_equal(ft_attack_iba_generator_new(&p, fx->c, fx->h, fx->w, fx->B, ops, &gen), FT_OK);
    assert_int_equal(ft_model_num_params(cls), fx->Nc);
    assert_int_equal(ft_model_num_params(gen), fx->Ng);
    ft_model_set_params(cls, fx->cls);
    ft_model_set_params(gen, fx->gen);
    ft_model_set_training(cls, 0);
    float mean[FT_MAX_CHANNELS] = {(float)fx->mean}, std[FT_MAX_CHANNELS] = {(float)fx->std};
    ft_attack_iba_step_t s;
    assert_int_equal(
        ft_attack_iba_step_init(&s, gen, cls, fx->B, mean, std, fx->target, fx->eps, fx->lr),
        FT_OK);
    assert_int_equal(ft_attack_iba_step(&s, fx->x, fx->B), fx->hits[0]);
    ft_test_expect_close("x'", s.xp, fx->xp, (size_t)fx->B * fx->S, 1e-6, 0);
    assert_float_equal(s.loss, fx->loss, 1e-5 * fx->loss);
    ft_test_expect_close("generator gradient", s.grad, fx->grad, fx->Ng, 1e-6, 1e-3);
    float *got = malloc(fx->Ng * sizeof *got);
    ft_model_get_params(gen, got);
    ft_test_expect_close("after one Adam step", got, fx->p1, fx->Ng, 1e-5, 1e-4);
    assert_int_equal(ft_attack_iba_step(&s, fx->x, fx->B), fx->hits[1]);
    ft_model_get_params(gen, got);
    ft_test_expect_close("after two", got, fx->p2, fx->Ng, 1e-5, 1e-4);
    free(got);
    ft_attack_iba_step_free(&s);
    ft_model_destroy(&cls);
    ft_model_destroy(&gen);
}

static void test_generator_step_matches_torch(void **state)
{
    (void)state;
    fixture_t fx;
    load(&fx);
    check_backend(&fx, &ft_ops_reference);
    check_backend(&fx, &ft_ops_cpu);
    unload(&fx);
}

/* The same on the CUDA back end; skipped where it is not built or no GPU is present. */
static void test_generator_step_cuda(void **state)
{
    (void)state;
    const ft_ops_t *ops = ft_ops_find("cuda");
    if (!ops)
        skip();
    fixture_t fx;
    load(&fx);
    check_backend(&fx, ops);
    unload(&fx);
}

static void test_perturbation_by_hand(void **state)
{
    (void)state;
    /* x, o: inside; pushed below 0; pushed above 1; exactly at the bound 1 */
    const float x[] = {0.5f, 0.05f, 0.95f, 0.5f};
    const float o[] = {0.3f, -3.0f, 3.0f, 0.0f};
    float xp[4], d[4];
    const float one[] = {1, 1, 1, 1};
    ft_attack_iba_perturb(x, o, 4, 0.1, xp);
    assert_float_equal(xp[0], 0.5 + 0.1 * tanh(0.3), 1e-7);
    assert_true(xp[1] == 0.0f && xp[2] == 1.0f);
    assert_float_equal(xp[3], 0.5, 0);
    for (int j = 0; j < 4; j++)
        assert_true(fabsf(xp[j] - x[j]) <= 0.1f + 1e-7f && xp[j] >= 0 && xp[j] <= 1);
    ft_attack_iba_perturb_backward(x, o, 4, 0.1, one, d);
    assert_float_equal(d[0], 0.1 * (1 - tanh(0.3) * tanh(0.3)), 1e-7);
    assert_true(d[1] == 0.0f && d[2] == 0.0f); /* clamped: no gradient */
    assert_float_equal(d[3], 0.1, 1e-7);       /* tanh'(0) = 1 */
    /* Adam's first step: m_hat = g, v_hat = g^2, p -= lr g / (|g| + 1e-8) */
    float pp[3] = {1, 1, 1}, g[3] = {0.5f, -2.0f, 0.0f}, m[3] = {0}, v[3] = {0};
    ft_attack_adam_step(3, pp, g, m, v, 1, 0.01);
    assert_float_equal(pp[0], 1 - 0.01 * 0.5 / (0.5 + 1e-8), 1e-7);
    assert_float_equal(pp[1], 1 + 0.01 * 2.0 / (2.0 + 1e-8), 1e-7);
    assert_float_equal(pp[2], 1, 0);
}

static void test_backdoor_test_uses_state(void **state)
{
    (void)state;
    ft_dataset_t *test = NULL;
    assert_int_equal(ft_dataset_new(6, 1, 8, 8, 4, &test), FT_OK);
    for (uint32_t i = 0; i < 6; i++) {
        test->labels[i] = (uint8_t)(i % 3); /* two images of target class 2 */
        for (int j = 0; j < 64; j++)
            test->pixels[i * 64 + j] = (uint8_t)(i * 40 + j);
    }
    const char *sets[] = {"attack.method=iba", "attack.target_class=2", "attack.iba_hidden=3",
                          "attack.iba_eps=0.25", NULL};
    ft_config_t *cfg = ft_test_config(ft_test_population, sets);
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_check(&exp), FT_OK);
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, test, &env), FT_OK);
    size_t G = ft_attack_state_floats(env);
    assert_int_equal(G, 64 * 3 + 3 + 3 * 64 + 64);
    float *st = malloc(G * sizeof *st);
    for (size_t j = 0; j < G; j++)
        st[j] = (float)sin((double)j) * 0.5f;
    ft_model_t *gen = NULL;
    assert_int_equal(ft_attack_iba_generator_new(&exp.attack, 1, 8, 8, 8, &ft_ops_cpu, &gen),
                     FT_OK);
    ft_model_set_params(gen, st);
    ft_dataset_t *bt = NULL, *bt0 = NULL, *bt0b = NULL;
    assert_int_equal(ft_attack_backdoor_test(env, test, st, &bt), FT_OK);
    assert_int_equal(bt->n, 4);
    float x[4 * 64], o[4 * 64], xp[4 * 64];
    uint32_t others[4] = {0, 1, 3, 4};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 64; j++)
            x[i * 64 + j] = (float)test->pixels[others[i] * 64 + j] / 255.0f;
    float *x_dev = ft_ops_cpu.alloc(sizeof x);
    ft_ops_cpu.upload(x_dev, x, sizeof x);
    ft_ops_cpu.download(o, ft_model_forward(gen, x_dev, 4), sizeof o);
    ft_attack_iba_perturb(x, o, 4 * 64, 0.25, xp);
    for (uint32_t i = 0; i < bt->n; i++) {
        assert_int_equal(bt->labels[i], 2);
        for (int j = 0; j < 64; j++)
            assert_float_equal(bt->values[i * 64 + j], xp[i * 64 + j], 1e-6);
    }
    /* no state: the seeded initial generator, the same every time, not the state's */
    assert_int_equal(ft_attack_backdoor_test(env, test, NULL, &bt0), FT_OK);
    assert_int_equal(ft_attack_backdoor_test(env, test, NULL, &bt0b), FT_OK);
    assert_memory_equal(bt0->values, bt0b->values, 4 * 64 * sizeof(float));
    assert_true(memcmp(bt0->values, bt->values, 4 * 64 * sizeof(float)) != 0);
    ft_ops_cpu.free(x_dev);
    ft_dataset_destroy(&bt);
    ft_dataset_destroy(&bt0);
    ft_dataset_destroy(&bt0b);
    ft_model_destroy(&gen);
    free(st);
    ft_attack_env_destroy(&env);
    ft_config_destroy(&cfg);
    ft_dataset_destroy(&test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator_step_matches_torch),
        cmocka_unit_test(test_generator_step_cuda),
        cmocka_unit_test(test_perturbation_by_hand),
        cmocka_unit_test(test_backdoor_test_uses_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
