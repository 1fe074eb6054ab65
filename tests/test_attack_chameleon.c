/* Chameleon (attacks/chameleon.c) and the model's feature backward it needs
 * (ft_model_forward_features / ft_model_backward_features):
 *   - the supervised contrastive loss, its gradient w.r.t. the features and the
 *     encoder's parameter gradient through the model equal the PyTorch port of the
 *     reference (tests/fixtures/attacks/gen_chameleon.py: a tiny conv net, a batch
 *     with a target class of four, a class of three and an anchor without positives),
 *     on the reference and cpu back ends (and cuda where present);
 *   - the loss on a hand-worked case (an anchor without positives adds 0; the target's
 *     anchors weigh scale times), and its gradient against central differences;
 *   - the contrastive stage's rate schedule (x0.005 at epochs 3, 5, 7, 9);
 *   - the attack's two stages: with no contrastive epoch the encoder stays the global
 *     one (stage 2 trains the classifier alone), with some it moves; with a radius
 *     below the unprojected update's norm the update stays within it.
 *
 * Tolerances: the model runs in float32 against torch's float64 — features and the
 * feature gradient |d| <= 1e-5 + 1e-4 |torch|, the loss 1e-5 relative, the parameter
 * gradient |d| <= 1e-5 + 1e-3 |torch| (sums of products in another order). */
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
    int B, c, h, w, k, target;
    double temp, scale, loss;
    size_t N, S;
    float *x, *params, *u, *du, *grads;
    int32_t *y;
} fixture_t;

enum { D = 6 }; /* the fixture net's feature width (fc1) */

static void load(fixture_t *fx)
{
    FILE *f = ft_test_fixture_open("attacks/chameleon.txt", "r");
    assert_int_equal(fscanf(f, "%d %d %d %d %d %d %lf %lf", &fx->B, &fx->c, &fx->h, &fx->w, &fx->k,
                            &fx->target, &fx->temp, &fx->scale),
                     8);
    fx->S = (size_t)fx->c * fx->h * fx->w;
    /* conv1 2x1x3x3 + 2, fc1 6x8 + 6, fc2 kx6 + k */
    fx->N = 2 * 9 + 2 + 6 * 8 + 6 + (size_t)fx->k * 6 + fx->k;
    fx->x = ft_test_fixture_take(f, (size_t)fx->B * fx->S);
    fx->y = malloc((size_t)fx->B * sizeof(int32_t));
    for (int i = 0; i < fx->B; i++)
        assert_int_equal(fscanf(f, "%d", &fx->y[i]), 1);
    fx->params = ft_test_fixture_take(f, fx->N);
    fx->u = ft_test_fixture_take(f, (size_t)fx->B * D);
    assert_int_equal(fscanf(f, "%lf", &fx->loss), 1);
    fx->du = ft_test_fixture_take(f, (size_t)fx->B * D);
    fx->grads = ft_test_fixture_take(f, fx->N);
    fclose(f);
}

static void unload(fixture_t *fx)
{
    free(fx->x);
    free(fx->y);
    free(fx->params);
    free(fx->u);
    free(fx->du);
    free(fx->grads);
}

/* gen_chameleon.py's Tiny: conv 2x3x3, relu, maxpool 2, flatten, fc 6, relu, fc k. */
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
    ft_model_t *m = NULL;
    assert_int_equal(ft_model_new_from_spec(tiny, 7, fx->c, fx->h, fx->w, fx->k, fx->B, ops, &m),
                     FT_OK);
    assert_int_equal(ft_model_num_params(m), fx->N);
    assert_int_equal(ft_model_feature_dim(m), D);
    size_t enc = ft_model_classifier_offset(m);
    assert_int_equal(enc, 2 * 9 + 2 + 6 * 8 + 6);
    ft_model_set_params(m, fx->params);
    size_t xb = (size_t)fx->B * fx->S * sizeof(float), fb = (size_t)fx->B * D * sizeof(float);
    float *x_dev = ops->alloc(xb), *df_dev = ops->alloc(fb);
    float u[64 * D], du[64 * D], *g = malloc(fx->N * sizeof(float));
    double *work = malloc(ft_attack_chameleon_work(fx->B, D) * sizeof(double));
    ops->upload(x_dev, fx->x, xb);
    const float *feat = ft_model_forward_features(m, x_dev, fx->B);
    ops->download(u, feat, fb);
    ft_test_expect_close("features", u, fx->u, (size_t)fx->B * D, 1e-5, 1e-4);
    double loss =
        ft_attack_chameleon_supcon(u, fx->y, fx->B, D, fx->target, fx->temp, fx->scale, du, work);
    assert_float_equal(loss, fx->loss, 1e-5 * fabs(fx->loss));
    ft_test_expect_close("d loss / d features", du, fx->du, (size_t)fx->B * D, 1e-5, 1e-4);
    /* the gradient buffer is overwritten: stale values must not survive */
    float *junk = malloc(fx->N * sizeof(float));
    for (size_t j = 0; j < fx->N; j++)
        junk[j] = 7.0f;
    ops->upload(ft_model_grads(m), junk, fx->N * sizeof(float));
    ops->upload(df_dev, du, fb);
    ft_model_backward_features(m, df_dev, fx->B);
    ops->download(g, ft_model_grads(m), fx->N * sizeof(float));
    ft_test_expect_close("d loss / d params", g, fx->grads, fx->N, 1e-5, 1e-3);
    for (size_t j = enc; j < fx->N; j++)
        assert_true(g[j] == 0.0f); /* the classifier: no gradient */
    free(junk);
    free(g);
    free(work);
    ops->free(x_dev);
    ops->free(df_dev);
    ft_model_destroy(&m);
}

static void test_contrastive_step_matches_torch(void **state)
{
    (void)state;
    fixture_t fx;
    load(&fx);
    assert_true(fx.B <= 64);
    check_backend(&fx, &ft_ops_reference);
    check_backend(&fx, &ft_ops_cpu);
    unload(&fx);
}

/* The same on the CUDA back end; skipped where it is not built or no GPU is present. */
static void test_contrastive_step_cuda(void **state)
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

/* u1 = (1, 0), u2 = (0, 1), u3 = (2, 0) (normalised: (1, 0)); labels 0, 0, 1; T = 1.
 * Anchor 1: z12 = 0, z13 = 1, positive 2: loss = log(e^0 + e^1) - 0.
 * Anchor 2: z21 = z23 = 0, positive 1: loss = log 2.
 * Anchor 3: no positive: 0. Mean over the three anchors. */
static void test_supcon_by_hand(void **state)
{
    (void)state;
    const float u[] = {1, 0, 0, 1, 2, 0};
    const int32_t y[] = {0, 0, 1};
    float du[6];
    double work[32];
    assert_true(ft_attack_chameleon_work(3, 2) <= 32);
    double want = (log(1 + exp(1.0)) + log(2.0)) / 3;
    assert_float_equal(ft_attack_chameleon_supcon(u, y, 3, 2, 5, 1.0, 6.0, du, work), want, 1e-12);
    /* class 0 the target: its anchors weigh scale = 2 times; class 1's still adds 0 */
    assert_float_equal(ft_attack_chameleon_supcon(u, y, 3, 2, 0, 1.0, 2.0, du, work), 2 * want,
                       1e-12);
    /* the gradient against central differences, at a point off the axes */
    const float v[] = {0.9f, 0.3f, -0.2f, 1.1f, 1.5f, 0.4f};
    float dv[6], vp[6], dd[6];
    ft_attack_chameleon_supcon(v, y, 3, 2, 0, 0.5, 3.0, dv, work);
    for (int j = 0; j < 6; j++) {
        const float h = 1e-3f;
        memcpy(vp, v, sizeof vp);
        vp[j] = v[j] + h;
        double lp = ft_attack_chameleon_supcon(vp, y, 3, 2, 0, 0.5, 3.0, dd, work);
        vp[j] = v[j] - h;
        double lm = ft_attack_chameleon_supcon(vp, y, 3, 2, 0, 0.5, 3.0, dd, work);
        assert_float_equal(dv[j], (lp - lm) / (2 * h), 1e-3);
    }
    /* one anchor alone in its class and everyone else alike: no positive anywhere */
    const int32_t lone[] = {0, 1, 2};
    assert_float_equal(ft_attack_chameleon_supcon(v, lone, 3, 2, 0, 0.5, 3.0, dv, work), 0, 0);
    for (int j = 0; j < 6; j++)
        assert_true(dv[j] == 0.0f);
}

static void test_lr_schedule(void **state)
{
    (void)state;
    const double g = 0.005;
    assert_float_equal(ft_attack_chameleon_lr(0.05, 1), 0.05, 1e-15);
    assert_float_equal(ft_attack_chameleon_lr(0.05, 2), 0.05, 1e-15);
    assert_float_equal(ft_attack_chameleon_lr(0.05, 3), 0.05 * g, 1e-15);
    assert_float_equal(ft_attack_chameleon_lr(0.05, 4), 0.05 * g, 1e-15);
    assert_float_equal(ft_attack_chameleon_lr(0.05, 5), 0.05 * g * g, 1e-15);
    assert_float_equal(ft_attack_chameleon_lr(0.05, 9), 0.05 * g * g * g * g, 1e-20);
    assert_float_equal(ft_attack_chameleon_lr(0.05, 10), 0.05 * g * g * g * g, 1e-20);
}

/* ---- the two stages on a small synthetic task ------------------------------------- */

static void run_attack(int contrastive_epochs, double radius, float *delta, size_t *N, size_t *enc)
{
    char ep[64], rad[64];
    snprintf(ep, sizeof ep, "attack.chameleon_epochs=%d", contrastive_epochs);
    snprintf(rad, sizeof rad, "attack.chameleon_norm=%.9g", radius);
    const char *sets[] = {"attack.method=chameleon",
                          "attack.target_class=1",
                          "attack.poison_points=16",
                          "attack.clean_points=16",
                          "attack.trigger_shape=square",
                          "attack.trigger_size=2",
                          "federation.batch_size=8",
                          ep,
                          rad,
                          NULL};
    ft_config_t *cfg = ft_test_config(ft_test_population, sets);
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_check(&exp), FT_OK);
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_dataset_new(32, 1, 6, 6, 3, &ds), FT_OK);
    ft_rng_t rng;
    ft_rng_init(&rng, 11, 0, 0, FT_RNG_INIT);
    for (uint32_t i = 0; i < 32; i++) {
        ds->labels[i] = (uint8_t)(i % 3);
        for (int j = 0; j < 36; j++)
            ds->pixels[i * 36 + j] = (uint8_t)(ft_rng_u64(&rng) >> 56);
    }
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, ds, &env), FT_OK);
    ft_model_t *m = NULL;
    assert_int_equal(ft_model_new_from_spec(tiny, 7, 1, 6, 6, 3, 8, &ft_ops_cpu, &m), FT_OK);
    ft_model_init(m, &rng);
    *N = ft_model_num_params(m);
    *enc = ft_model_classifier_offset(m);
    float *global = ft_malloc(*N * sizeof(float));
    ft_model_get_params(m, global);
    ft_trainer_t *tr = ft_trainer_new(m, 8);
    uint32_t part[32];
    for (uint32_t i = 0; i < 32; i++)
        part[i] = i;
    ft_attack_task_t k = {.round = 1,
                          .client_id = 0,
                          .global = global,
                          .train = ds,
                          .part_idx = part,
                          .part_n = 32,
                          .opts = {.epochs = 1, .batch_size = 8, .lr = 0.05f}};
    ft_attack_result_t res;
    if (ft_attack_local_update(env, &k, m, tr, delta, &res) != FT_OK)
        fail_msg("chameleon: %s", ft_error_message());
    assert_int_equal(res.sample_count, 32);
    ft_free(global);
    ft_trainer_destroy(&tr);
    ft_model_destroy(&m);
    ft_attack_env_destroy(&env);
    ft_dataset_destroy(&ds);
    ft_config_destroy(&cfg);
}

static void test_stages(void **state)
{
    (void)state;
    float d0[512], d2[512];
    size_t N, enc;
    run_attack(0, 0, d0, &N, &enc);
    assert_true(N <= 512 && enc > 0 && enc < N);
    double e0 = 0, c0 = 0, e2 = 0;
    for (size_t j = 0; j < enc; j++)
        e0 += fabsf(d0[j]);
    for (size_t j = enc; j < N; j++)
        c0 += fabsf(d0[j]);
    assert_true(e0 == 0.0); /* stage 2 alone: the encoder frozen at the global model */
    assert_true(c0 > 0.0);  /* the classifier trained */
    run_attack(2, 0, d2, &N, &enc);
    double n2 = 0;
    for (size_t j = 0; j < enc; j++)
        e2 += fabsf(d2[j]);
    for (size_t j = 0; j < N; j++)
        n2 += (double)d2[j] * d2[j];
    assert_true(e2 > 0.0); /* stage 1 moved the encoder */
    /* a radius below that update's norm: every step projected, the update within it */
    double r = sqrt(n2) / 4, nr = 0;
    run_attack(2, r, d2, &N, &enc);
    for (size_t j = 0; j < N; j++)
        nr += (double)d2[j] * d2[j];
    assert_true(sqrt(nr) <= r * (1 + 1e-5) && sqrt(nr) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contrastive_step_matches_torch),
        cmocka_unit_test(test_contrastive_step_cuda),
        cmocka_unit_test(test_supcon_by_hand),
        cmocka_unit_test(test_lr_schedule),
        cmocka_unit_test(test_stages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
