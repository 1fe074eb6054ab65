/* test_clip_grad: total-norm gradient clipping (ft_train_clip_grad_norm, the
 * federation.clip_grad_norm / train.clip_grad_norm option) against hand-worked values
 * of torch.nn.utils.clip_grad_norm_ (PyTorch 1.13): coef = max / (norm + 1e-6),
 * applied only when below 1. The gradient (3, 4, 0, 0) has norm 5:
 *   max 10        -> unchanged                       (coef 2)
 *   max 5.000002  -> unchanged, just under the bound (coef 5.000002 / 5.000001 > 1)
 *   max 5.0000005 -> scaled, just over               (coef 5.0000005 / 5.000001 < 1)
 *   max 5         -> scaled by 5 / 5.000001 (the norm equal to max still clips)
 *   max 2.5       -> (1.4999997, 1.9999996, 0, 0)
 * and in the training loop: one plain SGD step with the clip moves the parameters by
 * the unclipped step times max / (|g| + 1e-6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>

#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_model.h"
#include "ft_ops.h"
#include "ft_rng.h"
#include "ft_train.h"

/* A 1-input, 2-class linear model: N = 4 (fc weight 2, bias 2). */
static ft_model_t *tiny(void)
{
    ft_model_t *m;
    assert_int_equal(ft_model_new("mlp", "", 1, 1, 1, 2, 4, &ft_ops_cpu, &m), FT_OK);
    assert_int_equal(ft_model_num_params(m), 4);
    return m;
}

static void set_grads(ft_model_t *m, float a, float b)
{
    float *g = ft_model_grads(m);
    g[0] = a, g[1] = b, g[2] = 0.0f, g[3] = 0.0f;
}

static void expect(ft_model_t *m, double max, double coef)
{
    set_grads(m, 3.0f, 4.0f);
    double norm = ft_train_clip_grad_norm(m, max);
    assert_float_equal(norm, 5.0, 1e-12);
    const float *g = ft_model_grads(m);
    if (coef == 1.0) {
        assert_true(g[0] == 3.0f && g[1] == 4.0f); /* bit for bit untouched */
    } else {
        assert_float_equal(g[0], 3.0 * coef, 2e-7);
        assert_float_equal(g[1], 4.0 * coef, 2e-7);
        assert_true(g[0] < 3.0f && g[1] < 4.0f);
    }
    assert_true(g[2] == 0.0f && g[3] == 0.0f);
}

static void test_boundaries(void **state)
{
    (void)state;
    ft_model_t *m = tiny();
    expect(m, 10.0, 1.0);
    expect(m, 5.000002, 1.0);
    expect(m, 5.0000005, 5.0000005 / 5.000001);
    expect(m, 5.0, 5.0 / 5.000001);
    expect(m, 2.5, 0.49999990000002);
    /* the hand-worked digits of the last case */
    const float *g = ft_model_grads(m);
    assert_float_equal(g[0], 1.4999997, 1e-7);
    assert_float_equal(g[1], 1.9999996, 1e-7);
    /* a NaN gradient: the norm says so and nothing is scaled */
    set_grads(m, NAN, 4.0f);
    assert_true(isnan(ft_train_clip_grad_norm(m, 1.0)));
    assert_true(ft_model_grads(m)[1] == 4.0f);
    ft_model_destroy(&m);
}

/* One SGD step (momentum 0, one sample) with and without the clip. */
static void step(ft_model_t *m, const ft_dataset_t *ds, const float *p0, double clip, float *delta)
{
    ft_model_set_params(m, p0);
    ft_trainer_t *t = ft_trainer_new(m, 4);
    assert_non_null(t);
    ft_train_opts_t o = {.epochs = 1, .batch_size = 1, .lr = 0.5f, .clip_grad_norm = clip};
    ft_rng_t rng;
    ft_rng_init(&rng, 1, 0, 0, FT_RNG_TEST);
    assert_int_equal(ft_train_run(t, ds, NULL, 1, &o, &rng, 1, NULL, NULL, NULL, NULL), FT_OK);
    const float *p = ft_model_params(m);
    for (int i = 0; i < 4; i++)
        delta[i] = p[i] - p0[i];
    ft_trainer_destroy(&t);
}

static void test_in_training(void **state)
{
    (void)state;
    ft_model_t *m = tiny();
    ft_dataset_t *ds;
    assert_int_equal(ft_dataset_new(1, 1, 1, 1, 2, &ds), FT_OK);
    ds->pixels[0] = 255; /* x = (1 - 0.0) / 1 with mean 0, std 1 */
    ds->labels[0] = 1;
    const float p0[4] = {0.3f, -0.2f, 0.1f, 0.4f};
    float off[4], on[4];
    step(m, ds, p0, 0.0, off);
    double gnorm = 0;
    for (int i = 0; i < 4; i++)
        gnorm += (double)off[i] * off[i];
    gnorm = sqrt(gnorm) / 0.5; /* |g| = |step| / lr */
    assert_true(gnorm > 0.1);
    double max = gnorm / 4;
    step(m, ds, p0, max, on);
    for (int i = 0; i < 4; i++)
        assert_float_equal(on[i], off[i] * max / (gnorm + 1e-6), 1e-6);
    step(m, ds, p0, gnorm * 2, on); /* above the norm: the same step */
    for (int i = 0; i < 4; i++)
        assert_float_equal(on[i], off[i], 1e-7);
    ft_dataset_destroy(&ds);
    ft_model_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_in_training),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
