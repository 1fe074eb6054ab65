/* Tests for model/: built-in architectures (parameter counts worked out by hand),
 * layout names and hash, PyTorch-default initialisation, a finite-difference check
 * of whole-model gradients, dropout, SGD arithmetic, training determinism, the
 * trainer's hooks and evaluation. Checkpoints: test_model_ckpt.c; agreement with
 * PyTorch: test_model_torch.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_model.h"
#include "ft_model_input.h"
#include "ft_readers.h"
#include "ft_sgd.h"
#include "ft_sha256.h"
#include "ft_test_experiment.h"
#include "ft_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ft_model_t *build(const char *name, const char *hidden, int c, int h, int w, int B)
{
    ft_model_t *m = NULL;
    int rc = ft_model_new(name, hidden, c, h, w, 10, B, &ft_ops_cpu, &m);
    if (rc != FT_OK)
        fail_msg("ft_model_new(%s): %s", name, ft_error_message());
    return m;
}

/* --- architectures ---------------------------------------------------------- */

static void test_param_counts(void **state)
{
    (void)state;
    /* lenet5: conv1 20*1*25+20 = 520; conv2 50*20*25+50 = 25,050; 28->24->12->8->4,
     * fc1 800*500+500 = 400,500; fc2 500*10+10 = 5,010: 431,080. */
    ft_model_t *m = build("lenet5", NULL, 1, 28, 28, 1);
    assert_int_equal(ft_model_num_params(m), 431080);
    ft_model_destroy(&m);
    assert_null(m);
    /* paper-lenet: conv1 32*9+32 = 320; conv2 64*32*9+64 = 18,496; 28->26->24->12,
     * fc1 9216*128+128 = 1,179,776; fc2 128*10+10 = 1,290: 1,199,882. */
    m = build("paper-lenet", NULL, 1, 28, 28, 1);
    assert_int_equal(ft_model_num_params(m), 1199882);
    ft_model_destroy(&m);
    /* vgg9: 1,792 + 73,856 + 295,168 + 590,080 + 1,180,160 + 3 * 2,359,808 convs,
     * 32 -> 1 after five pools, linear 512*10+10 = 5,130: 9,225,610. */
    m = build("vgg9", NULL, 3, 32, 32, 1);
    assert_int_equal(ft_model_num_params(m), 9225610);
    assert_int_equal(ft_model_layout(m)->num_views, 18);
    ft_model_destroy(&m);
    /* mlp 200,200 on 784: 784*200+200 + 200*200+200 + 200*10+10 = 199,210 */
    m = build("mlp", "200,200", 1, 28, 28, 1);
    assert_int_equal(ft_model_num_params(m), 199210);
    ft_model_destroy(&m);
    /* mlp 64 on 3x32x32: 3072*64+64 + 64*10+10 = 197,322 */
    m = build("mlp", " 64 ", 3, 32, 32, 1);
    assert_int_equal(ft_model_num_params(m), 197322);
    ft_model_destroy(&m);
    /* mlp without hidden layers: logistic regression, 784*10+10 */
    m = build("mlp", "", 1, 28, 28, 1);
    assert_int_equal(ft_model_num_params(m), 7850);
    ft_model_destroy(&m);
}

static void test_layout_names(void **state)
{
    (void)state;
    ft_model_t *m = build("lenet5", NULL, 1, 28, 28, 1);
    const ft_layout_t *lay = ft_model_layout(m);
    /* PyTorch state_dict order of the paper's LeNet */
    static const struct {
        const char *name;
        int ndim, shape[4];
        size_t offset;
    } want[] = {
        {"conv1.weight", 4, {20, 1, 5, 5}, 0},    {"conv1.bias", 1, {20}, 500},
        {"conv2.weight", 4, {50, 20, 5, 5}, 520}, {"conv2.bias", 1, {50}, 25520},
        {"fc1.weight", 2, {500, 800}, 25570},     {"fc1.bias", 1, {500}, 425570},
        {"fc2.weight", 2, {10, 500}, 426070},     {"fc2.bias", 1, {10}, 431070},
    };
    assert_int_equal(lay->num_views, 8);
    for (int i = 0; i < 8; i++) {
        assert_string_equal(lay->views[i].name, want[i].name);
        assert_int_equal(lay->views[i].ndim, want[i].ndim);
        for (int d = 0; d < want[i].ndim; d++)
            assert_int_equal(lay->views[i].shape[d], want[i].shape[d]);
        assert_int_equal(lay->views[i].offset, want[i].offset);
    }
    assert_int_equal(lay->views[0].fan_in, 25);
    assert_int_equal(lay->views[4].fan_in, 800);
    /* Hash of the documented canonical text, computed with Python's hashlib:
     * "fedtail-layout 1\nconv1.weight 20x1x5x5 0\nconv1.bias 20 500\n...N 431080\n" */
    char hex[65];
    ft_sha256_hex(lay->hash, hex);
    assert_string_equal(hex, "9532fa0932a769ca03ef08a5dfe0ac2a8af166343c66bdbf7ad46198f977e9de");
    /* the same on another back end and batch size */
    ft_model_t *r = NULL;
    assert_int_equal(ft_model_new("lenet5", NULL, 1, 28, 28, 10, 7, &ft_ops_reference, &r), 0);
    assert_memory_equal(ft_model_layout(r)->hash, lay->hash, 32);
    ft_model_destroy(&r);
    /* and different for another layout */
    ft_model_t *p = build("paper-lenet", NULL, 1, 28, 28, 1);
    assert_memory_not_equal(ft_model_layout(p)->hash, lay->hash, 32);
    assert_string_equal(ft_model_layout(p)->views[4].name, "fc1.weight");
    ft_model_destroy(&p);
    ft_model_t *a = build("mlp", "200,200", 1, 28, 28, 1);
    ft_model_t *b = build("mlp", "200,100", 1, 28, 28, 1);
    assert_memory_not_equal(ft_model_layout(a)->hash, ft_model_layout(b)->hash, 32);
    ft_model_destroy(&a);
    ft_model_destroy(&b);
    ft_model_destroy(&m);
}

/* Images of a shape the model cannot take are refused naming their file, shape and
 * the model (not only "layer 3: conv 5x5 does not fit ..."); a test set of another
 * shape than the training set names both files. */
static void test_model_input_names_file(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_test_config(NULL, (const char *[]){"model.name=lenet5", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_dataset_t *small = NULL, *ok = NULL, *wide = NULL;
    assert_int_equal(ft_dataset_new(2, 1, 8, 8, 10, &small), FT_OK);
    assert_int_equal(ft_dataset_new(2, 1, 28, 28, 10, &ok), FT_OK);
    assert_int_equal(ft_dataset_new(2, 3, 32, 28, 10, &wide), FT_OK);
    snprintf(small->source, sizeof small->source, "/data/small-images-idx3-ubyte");
    snprintf(ok->name, sizeof ok->name, "mnist/train"); /* generated: no source file */
    snprintf(wide->source, sizeof wide->source, "/data/wide.npy");
    ft_model_t *m = NULL;
    assert_int_equal(ft_model_new_for_data(&exp.model, small, 10, 0, 1, &ft_ops_cpu, &m),
                     FT_ECONFIG);
    assert_null(m);
    const char *msg = ft_error_message();
    if (!strstr(msg, "/data/small-images-idx3-ubyte: images are 8x8x1, the model `lenet5` "
                     "cannot take them: layer 3") ||
        !strstr(msg, "(model.name at test)"))
        fail_msg("message: %s", msg);
    assert_int_equal(ft_model_new_for_data(&exp.model, ok, 10, 1, 1, &ft_ops_cpu, &m), FT_OK);
    assert_int_equal(ft_model_num_params(m), 431080);
    ft_model_destroy(&m);
    assert_int_equal(ft_model_input_match(&exp.model, ok, ok, "the test set"), FT_OK);
    assert_int_equal(ft_model_input_match(&exp.model, wide, ok, "the test set"), FT_EFORMAT);
    assert_string_equal(ft_error_message(), "/data/wide.npy: images are 32x28x3, the model "
                                            "`lenet5` expects 28x28x1 (the test set, mnist/train)");
    /* Channels alone differ. */
    wide->c = 1, wide->h = 28;
    assert_int_equal(ft_model_input_match(&exp.model, wide, ok, "the test set"), FT_OK);
    ok->c = 3;
    assert_int_equal(ft_model_input_match(&exp.model, wide, ok, "the test set"), FT_EFORMAT);
    ok->c = 1;
    ft_dataset_destroy(&small);
    ft_dataset_destroy(&ok);
    ft_dataset_destroy(&wide);
    ft_config_destroy(&cfg);
}

static void test_bad_models(void **state)
{
    (void)state;
    ft_model_t *m = (ft_model_t *)1;
    assert_int_equal(ft_model_new("resnet", NULL, 1, 28, 28, 10, 1, &ft_ops_cpu, &m), FT_ECONFIG);
    assert_null(m);
    assert_non_null(strstr(ft_error_message(), "resnet"));
    /* lenet5 needs at least 16x16: 8x8 -> 4 -> 2 -> conv 5x5 does not fit */
    assert_int_equal(ft_model_new("lenet5", NULL, 1, 8, 8, 10, 1, &ft_ops_cpu, &m), FT_ECONFIG);
    assert_int_equal(ft_model_new("mlp", "20,x", 1, 8, 8, 10, 1, &ft_ops_cpu, &m), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "model.hidden"));
    assert_int_equal(ft_model_new("mlp", "0", 1, 8, 8, 10, 1, &ft_ops_cpu, &m), FT_ECONFIG);
    static const ft_layer_spec_t no_head[] = {FT_L_CONV(4, 3, 1, 0), FT_L_RELU};
    assert_int_equal(ft_model_new_from_spec(no_head, 2, 1, 8, 8, 10, 1, &ft_ops_cpu, &m),
                     FT_ECONFIG);
    static const ft_layer_spec_t no_flatten[] = {FT_L_CONV(4, 3, 1, 0), FT_L_LIN(0)};
    assert_int_equal(ft_model_new_from_spec(no_flatten, 2, 1, 8, 8, 10, 1, &ft_ops_cpu, &m),
                     FT_ECONFIG);
    static const ft_layer_spec_t bad_drop[] = {FT_L_FLAT, FT_L_DROP(1.0f), FT_L_LIN(0)};
    assert_int_equal(ft_model_new_from_spec(bad_drop, 3, 1, 8, 8, 10, 1, &ft_ops_cpu, &m),
                     FT_ECONFIG);
    assert_null(m);
    /* allocation failures come back as FT_ENOMEM, leaking nothing (ASan builds) */
    for (unsigned long k = 1; k <= 4; k++) {
        ft_alloc_fail_after(k);
        int rc = ft_model_new("lenet5", NULL, 1, 28, 28, 10, 4, &ft_ops_cpu, &m);
        ft_alloc_fail_after(0);
        if (rc == FT_OK)
            ft_model_destroy(&m);
        else
            assert_int_equal(rc, FT_ENOMEM);
        assert_null(m);
    }
}

/* --- initialisation ------------------------------------------------------------ */

static void test_init_pytorch_default(void **state)
{
    (void)state;
    ft_model_t *m = build("lenet5", NULL, 1, 28, 28, 1);
    const ft_layout_t *lay = ft_model_layout(m);
    size_t N = ft_model_num_params(m);
    float *p = malloc(N * sizeof(float));
    float *q = malloc(N * sizeof(float));
    assert_non_null(p);
    assert_non_null(q);
    ft_model_get_params(m, p);
    for (size_t i = 0; i < N; i++)
        assert_true(p[i] == 0.0f); /* new models start at zero */
    ft_rng_t rng, copy;
    ft_rng_init(&rng, 42, 0, 0, FT_RNG_INIT);
    copy = rng;
    ft_model_init(m, &rng);
    ft_model_get_params(m, p);
    /* buffer order: element 0 is the first draw, scaled to conv1's bound 1/sqrt(25) */
    assert_true(fabsf(p[0] - (float)((2.0 * ft_rng_uniform(&copy) - 1.0) * 0.2)) < 1e-7f);
    for (int v = 0; v < lay->num_views; v++) {
        const ft_param_view_t *pv = &lay->views[v];
        double bound = 1.0 / sqrt((double)pv->fan_in), sum = 0, sq = 0, mx = 0;
        for (size_t i = 0; i < pv->count; i++) {
            double x = p[pv->offset + i];
            assert_true(fabs(x) <= bound * (1 + 1e-6));
            sum += x;
            sq += x * x;
            mx = fabs(x) > mx ? fabs(x) : mx;
        }
        if (pv->count >= 5000) {
            /* U(-b, b): mean 0, variance b^2/3, both within ~5 standard errors */
            double n = (double)pv->count, mean = sum / n, var = sq / n - mean * mean;
            assert_true(fabs(mean) < 5 * bound / sqrt(3 * n));
            assert_true(fabs(var / (bound * bound / 3) - 1) < 0.05);
            assert_true(mx > 0.99 * bound);
        }
    }
    /* same stream, same parameters; another seed, other parameters */
    ft_model_t *m2 = build("lenet5", NULL, 1, 28, 28, 1);
    ft_rng_init(&rng, 42, 0, 0, FT_RNG_INIT);
    ft_model_init(m2, &rng);
    ft_model_get_params(m2, q);
    assert_memory_equal(p, q, N * sizeof(float));
    ft_rng_init(&rng, 43, 0, 0, FT_RNG_INIT);
    ft_model_init(m2, &rng);
    ft_model_get_params(m2, q);
    assert_memory_not_equal(p, q, N * sizeof(float));
    ft_model_destroy(&m2);
    ft_model_destroy(&m);
    free(p);
    free(q);
}

/* --- finite-difference gradient check -------------------------------------------- */

/* Loss of m on (x, y) with the dropout stream reset, so every evaluation draws the
 * same masks. Reference back end: host memory. */
static double loss_at(ft_model_t *m, const float *x, const int32_t *y, int B, int C, float *probs)
{
    ft_model_set_dropout_stream(m, 99, 7);
    const float *logits = ft_model_forward(m, x, B);
    return ft_ops_reference.softmax_xent_forward(B, C, logits, y, probs);
}

static double numeric_grad(ft_model_t *m, float *p, size_t i, float eps, const float *x,
                           const int32_t *y, int B, int C, float *probs)
{
    float saved = p[i];
    p[i] = saved + eps;
    double lp = loss_at(m, x, y, B, C, probs);
    p[i] = saved - eps;
    double lm = loss_at(m, x, y, B, C, probs);
    p[i] = saved;
    return (lp - lm) / (2.0 * (double)eps);
}

/* Central differences on every parameter (eps 1e-3 in float32: rounding noise in
 * the loss ~1e-7 / 2e-3 = 5e-5) against ft_model_forward_backward; tolerance
 * 5e-4 + 2e-2 |analytic|. Inputs are random so no ReLU/maxpool decision sits within
 * eps of a kink. */
static void gradcheck(const ft_layer_spec_t *spec, int nl, int c, int h, int w, int C, int B,
                      int training)
{
    ft_model_t *m = NULL;
    assert_int_equal(ft_model_new_from_spec(spec, nl, c, h, w, C, B, &ft_ops_reference, &m), 0);
    ft_model_set_training(m, training);
    ft_rng_t rng;
    ft_rng_init(&rng, 5, 0, 0, FT_RNG_TEST);
    ft_model_init(m, &rng);
    size_t N = ft_model_num_params(m), n = (size_t)B * c * h * w;
    float *x = malloc(n * sizeof(float)), *probs = malloc((size_t)B * C * sizeof(float));
    float *g = malloc(N * sizeof(float));
    int32_t y[16];
    assert_true(B <= 16);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)ft_rng_normal(&rng);
    for (int b = 0; b < B; b++)
        y[b] = (int32_t)ft_rng_below(&rng, (uint32_t)C);
    ft_model_set_dropout_stream(m, 99, 7);
    double loss = ft_model_forward_backward(m, x, y, B);
    assert_true(fabs(loss - loss_at(m, x, y, B, C, probs)) < 1e-6);
    memcpy(g, ft_model_grads(m), N * sizeof(float));
    float *p = ft_model_params(m);
    const float eps = 1e-3f;
    size_t retried = 0;
    for (size_t i = 0; i < N; i++) {
        double num = numeric_grad(m, p, i, eps, x, y, B, C, probs);
        if (fabs(num - g[i]) <= 5e-4 + 2e-2 * fabs(g[i]))
            continue;
        /* a ReLU or maxpool decision within eps of its kink: the one-sided slopes
         * differ; a 4x smaller step (rounding noise ~2e-4) no longer crosses it */
        retried++;
        num = numeric_grad(m, p, i, eps / 4, x, y, B, C, probs);
        if (!(fabs(num - g[i]) <= 1e-3 + 2e-2 * fabs(g[i])))
            fail_msg("param %zu: analytic %.6g, numeric %.6g", i, (double)g[i], num);
    }
    assert_true(retried * 50 <= N); /* kinks are rare; a real error would fail widely */
    double gn = 0;
    for (size_t i = 0; i < N; i++)
        gn += (double)g[i] * g[i];
    assert_true(gn > 1e-6); /* the check is not vacuous */
    free(x);
    free(probs);
    free(g);
    ft_model_destroy(&m);
}

static void test_gradcheck_convnet(void **state)
{
    (void)state;
    /* conv (pad, stride) + relu + maxpool + conv + relu + flatten + linear + relu + linear */
    static const ft_layer_spec_t spec[] = {FT_L_CONV(3, 3, 1, 1), FT_L_RELU, FT_L_POOL(2),
                                           FT_L_CONV(4, 2, 2, 0), FT_L_RELU, FT_L_FLAT,
                                           FT_L_LIN(6),           FT_L_RELU, FT_L_LIN(0)};
    gradcheck(spec, 9, 2, 8, 8, 3, 3, 1);
}

static void test_gradcheck_gap_dropout(void **state)
{
    (void)state;
    /* global average pool and an active dropout layer (fixed stream) */
    static const ft_layer_spec_t spec[] = {
        FT_L_CONV(5, 3, 1, 0), FT_L_RELU, FT_L_GAP,        FT_L_FLAT,
        FT_L_LIN(8),           FT_L_RELU, FT_L_DROP(0.4f), FT_L_LIN(0)};
    gradcheck(spec, 8, 2, 6, 6, 4, 4, 1);
}

static void test_gradcheck_mlp(void **state)
{
    (void)state;
    static const ft_layer_spec_t spec[] = {FT_L_FLAT,   FT_L_LIN(7), FT_L_RELU,
                                           FT_L_LIN(5), FT_L_RELU,   FT_L_LIN(0)};
    gradcheck(spec, 6, 1, 4, 3, 3, 5, 1);
    /* eval mode: dropout is the identity in forward and backward */
    static const ft_layer_spec_t spec2[] = {FT_L_FLAT, FT_L_DROP(0.5f), FT_L_LIN(6), FT_L_RELU,
                                            FT_L_LIN(0)};
    gradcheck(spec2, 5, 1, 3, 3, 3, 2, 0);
}

/* --- dropout ------------------------------------------------------------------------ */

/* flatten -> dropout(p) -> identity linear: the logits are the dropout output. */
static void dropout_model(const ft_ops_t *ops, float p, int K, int B, ft_model_t **out)
{
    ft_layer_spec_t spec[] = {FT_L_FLAT, FT_L_DROP(p), FT_L_LIN(0)};
    assert_int_equal(ft_model_new_from_spec(spec, 3, 1, 1, K, K, B, ops, out), 0);
    float *w = calloc((size_t)K * K + K, sizeof(float));
    for (int i = 0; i < K; i++)
        w[(size_t)i * K + i] = 1.0f;
    ft_model_set_params(*out, w);
    free(w);
}

static void test_dropout(void **state)
{
    (void)state;
    const int K = 1000, B = 8;
    const float p = 0.3f;
    ft_model_t *m = NULL, *r = NULL;
    dropout_model(&ft_ops_cpu, p, K, B, &m);
    dropout_model(&ft_ops_reference, p, K, B, &r);
    float *x = malloc((size_t)B * K * sizeof(float));
    float *a = malloc((size_t)B * K * sizeof(float)), *b = malloc((size_t)B * K * sizeof(float));
    for (int i = 0; i < B * K; i++)
        x[i] = 1.0f;
    ft_model_set_dropout_stream(m, 1234, 0);
    memcpy(a, ft_model_forward(m, x, B), (size_t)B * K * sizeof(float));
    assert_int_equal(ft_model_dropout_counter(m), 1);
    /* dropped share ~ p: 8000 draws, standard error 0.005 */
    int zeros = 0;
    for (int i = 0; i < B * K; i++) {
        if (a[i] == 0.0f)
            zeros++;
        else
            assert_true(a[i] == 1.0f / (1.0f - p)); /* inverted dropout */
    }
    assert_true(fabs((double)zeros / (B * K) - p) < 0.025);
    /* the counter advanced: the next pass draws another mask */
    memcpy(b, ft_model_forward(m, x, B), (size_t)B * K * sizeof(float));
    assert_memory_not_equal(a, b, (size_t)B * K * sizeof(float));
    /* the same stream gives the same mask, on every back end */
    ft_model_set_dropout_stream(r, 1234, 0);
    assert_memory_equal(a, ft_model_forward(r, x, B), (size_t)B * K * sizeof(float));
    /* eval mode: identity, counter untouched */
    ft_model_set_training(m, 0);
    uint64_t ctr = ft_model_dropout_counter(m);
    const float *e = ft_model_forward(m, x, B);
    for (int i = 0; i < B * K; i++)
        assert_true(e[i] == 1.0f);
    assert_int_equal(ft_model_dropout_counter(m), ctr);
    assert_false(ft_model_training(m));
    free(x);
    free(a);
    free(b);
    ft_model_destroy(&m);
    ft_model_destroy(&r);
}

/* --- SGD ------------------------------------------------------------------------------- */

static void test_sgd_hand_values(void **state)
{
    (void)state;
    /* logistic regression on 1x1x2 inputs, 2 classes: 2*2 + 2 = 6 parameters */
    ft_model_t *m = NULL;
    assert_int_equal(ft_model_new("mlp", "", 1, 1, 2, 2, 1, &ft_ops_cpu, &m), 0);
    assert_int_equal(ft_model_num_params(m), 6);
    float ones[6] = {1, 1, 1, 1, 1, 1}, half[6] = {.5f, .5f, .5f, .5f, .5f, .5f}, p[6];
    ft_model_set_params(m, ones);
    memcpy(ft_model_grads(m), half, sizeof half); /* cpu back end: host memory */
    ft_sgd_t *sgd = ft_sgd_new(m, 0.9f, 0.1f);
    assert_non_null(sgd);
    /* torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.1), grad 0.5, p0 = 1:
     * step 1: g = 0.5 + 0.1*1 = 0.6, buf = 0.6, p = 1 - 0.06 = 0.94
     * step 2: g = 0.5 + 0.094 = 0.594, buf = 0.54 + 0.594 = 1.134, p = 0.8266
     * reset, step 3: g = 0.5 + 0.08266 = 0.58266, buf = g, p = 0.768334 */
    ft_sgd_step(sgd, 0.1f);
    ft_model_get_params(m, p);
    assert_true(fabsf(p[0] - 0.94f) < 1e-6f);
    ft_sgd_step(sgd, 0.1f);
    ft_model_get_params(m, p);
    assert_true(fabsf(p[3] - 0.8266f) < 1e-6f);
    ft_sgd_reset(sgd);
    ft_sgd_step(sgd, 0.1f);
    ft_model_get_params(m, p);
    assert_true(fabsf(p[5] - 0.768334f) < 1e-6f);
    /* plain SGD without decay: p -= lr * g */
    ft_sgd_set(sgd, 0.0f, 0.0f);
    ft_sgd_step(sgd, 0.1f);
    ft_model_get_params(m, p);
    assert_true(fabsf(p[1] - (0.768334f - 0.05f)) < 1e-6f);
    ft_sgd_destroy(&sgd);
    assert_null(sgd);
    ft_sgd_destroy(&sgd); /* safe twice */
    ft_model_destroy(&m);
}

/* --- training ------------------------------------------------------------------------ */

static ft_dataset_t *synth(uint32_t n, int c, int h, int w, int split)
{
    ft_dataset_t *ds = NULL;
    if (ft_synthetic_make(n, c, h, w, 10, 7, split, &ds) != FT_OK)
        fail_msg("ft_synthetic_make: %s", ft_error_message());
    return ds;
}

/* A small conv net with dropout, trained from seed for 2 epochs; params into out. */
static void train_small(uint64_t seed, const ft_dataset_t *ds, const ft_ops_t *ops, float *out,
                        size_t *n_out)
{
    static const ft_layer_spec_t spec[] = {
        FT_L_CONV(4, 3, 1, 1), FT_L_RELU,    FT_L_POOL(2), FT_L_FLAT,
        FT_L_DROP(0.25f),      FT_L_LIN(16), FT_L_RELU,    FT_L_LIN(0)};
    ft_model_t *m = NULL;
    assert_int_equal(ft_model_new_from_spec(spec, 8, ds->c, ds->h, ds->w, 10, 16, ops, &m), 0);
    ft_rng_t init, shuffle, drop;
    ft_rng_init(&init, seed, 0, 0, FT_RNG_INIT);
    ft_rng_init(&shuffle, seed, 0, 0, FT_RNG_SHUFFLE);
    ft_rng_init(&drop, seed, 0, 0, FT_RNG_DROPOUT);
    ft_model_init(m, &init);
    ft_model_set_dropout_stream(m, ft_rng_u64(&drop), 0);
    ft_trainer_t *t = ft_trainer_new(m, 16);
    assert_non_null(t);
    ft_train_opts_t opts = {
        .epochs = 2, .batch_size = 16, .lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-4f};
    assert_int_equal(ft_train_run(t, ds, NULL, 0, &opts, &shuffle, 1, NULL, NULL, NULL, NULL), 0);
    *n_out = ft_model_num_params(m);
    ft_model_get_params(m, out);
    ft_trainer_destroy(&t);
    assert_null(t);
    ft_model_destroy(&m);
}

static void test_training_determinism(void **state)
{
    (void)state;
    ft_dataset_t *ds = synth(100, 1, 8, 8, 0);
    float a[2000], b[2000], c[2000];
    size_t na, nb, nc;
    train_small(1, ds, &ft_ops_cpu, a, &na);
    train_small(1, ds, &ft_ops_cpu, b, &nb);
    train_small(2, ds, &ft_ops_cpu, c, &nc);
    assert_true(na <= 2000 && na == nb && na == nc);
    assert_memory_equal(a, b, na * sizeof(float)); /* bit-identical */
    assert_memory_not_equal(a, c, na * sizeof(float));
    /* the reference back end follows the same path to float rounding */
    train_small(1, ds, &ft_ops_reference, c, &nc);
    double d = 0, s = 0;
    for (size_t i = 0; i < na; i++) {
        d += ((double)a[i] - c[i]) * ((double)a[i] - c[i]);
        s += (double)a[i] * a[i];
    }
    assert_true(sqrt(d / s) < 1e-4);
    ft_dataset_destroy(&ds);
}

/* Hook bookkeeping for test_train_hooks. */
typedef struct {
    int steps, epochs, progress, before; /* calls of each hook */
    int last_batch;                      /* batch index of the last after_step */
    unsigned long allocs_first;          /* ft_alloc_count() after the first step */
    int alloc_changed;                   /* a later step allocated */
    int zero_grads;                      /* before_step zeroes the gradient */
} hook_log_t;

static void h_after_step(void *user, int epoch, int batch, ft_model_t *m)
{
    (void)epoch;
    (void)m;
    hook_log_t *h = user;
    if (h->steps++ == 0)
        h->allocs_first = ft_alloc_count();
    else if (ft_alloc_count() != h->allocs_first)
        h->alloc_changed = 1;
    h->last_batch = batch;
}

static void h_after_epoch(void *user, int epoch, ft_model_t *m)
{
    (void)m;
    hook_log_t *h = user;
    assert_int_equal(epoch, h->epochs);
    h->epochs++;
}

static void h_before_step(void *user, ft_model_t *m)
{
    hook_log_t *h = user;
    h->before++;
    if (h->zero_grads)
        memset(ft_model_grads(m), 0, ft_model_num_params(m) * sizeof(float));
}

static void h_progress(void *user, int epoch, double loss, double seconds)
{
    (void)epoch;
    hook_log_t *h = user;
    assert_true(isfinite(loss) && seconds >= 0);
    h->progress++;
}

static void test_train_hooks_and_learning(void **state)
{
    (void)state;
    ft_dataset_t *train = synth(300, 1, 6, 6, 0), *test = synth(200, 1, 6, 6, 1);
    ft_model_t *m = NULL;
    assert_int_equal(ft_model_new("mlp", "32", 1, 6, 6, 10, 64, &ft_ops_cpu, &m), 0);
    ft_rng_t rng;
    ft_rng_init(&rng, 3, 0, 0, FT_RNG_INIT);
    ft_model_init(m, &rng);
    ft_trainer_t *t = ft_trainer_new(m, 32);
    assert_non_null(t);
    ft_eval_t before, after;
    assert_int_equal(ft_model_evaluate(m, test, NULL, 0, &before), 0);

    /* before_step zeroing the gradient with no momentum or decay: nothing moves */
    hook_log_t h = {0};
    h.zero_grads = 1;
    ft_train_hooks_t hooks = {h_after_step, h_after_epoch, h_before_step, &h};
    ft_train_opts_t opts = {.epochs = 1, .batch_size = 32, .lr = 0.1f};
    size_t N = ft_model_num_params(m);
    float *p0 = malloc(N * sizeof(float)), *p1 = malloc(N * sizeof(float));
    ft_model_get_params(m, p0);
    assert_int_equal(ft_train_run(t, train, NULL, 0, &opts, &rng, 1, &hooks, NULL, NULL, NULL), 0);
    ft_model_get_params(m, p1);
    assert_memory_equal(p0, p1, N * sizeof(float));
    assert_int_equal(h.before, 10); /* ceil(300 / 32) */

    /* real training on a subset: hooks counted, no allocation per step, it learns */
    memset(&h, 0, sizeof h);
    uint32_t idx[250];
    for (uint32_t i = 0; i < 250; i++)
        idx[i] = i + 50;
    opts = (ft_train_opts_t){.epochs = 4, .batch_size = 32, .lr = 0.05f, .momentum = 0.9f};
    ft_train_result_t res;
    assert_int_equal(ft_train_run(t, train, idx, 250, &opts, &rng, 1, &hooks, h_progress, &h, &res),
                     0);
    assert_int_equal(h.steps, 4 * 8); /* ceil(250 / 32) = 8 per epoch */
    assert_int_equal(h.last_batch, 7);
    assert_int_equal(h.epochs, 4);
    assert_int_equal(h.progress, 4);
    assert_false(h.alloc_changed);
    assert_int_equal(res.samples, 1000);
    assert_true(res.mean_loss >= 0 && res.mean_loss < 2.0); /* chance: ln 10 = 2.30 */
    assert_true(fabs(ft_trainer_epoch_loss(t) - res.mean_loss) < 1e-9);
    assert_int_equal(ft_model_evaluate(m, test, NULL, 0, &after), 0);
    assert_true(after.accuracy > 0.9);
    assert_true(after.loss < before.loss);

    /* batch larger than the trainer's staging buffers */
    opts.batch_size = 33;
    assert_int_equal(ft_train_run(t, train, NULL, 0, &opts, &rng, 1, NULL, NULL, NULL, NULL),
                     FT_EINVAL);
    free(p0);
    free(p1);
    ft_trainer_destroy(&t);
    ft_model_destroy(&m);
    ft_dataset_destroy(&train);
    ft_dataset_destroy(&test);
}

static void test_evaluate_matches_forward(void **state)
{
    (void)state;
    ft_dataset_t *ds = synth(103, 1, 6, 6, 1);
    ft_model_t *m = NULL;
    static const ft_layer_spec_t spec[] = {FT_L_FLAT, FT_L_DROP(0.5f), FT_L_LIN(12), FT_L_RELU,
                                           FT_L_LIN(0)};
    assert_int_equal(ft_model_new_from_spec(spec, 5, 1, 6, 6, 10, 16, &ft_ops_cpu, &m), 0);
    ft_rng_t rng;
    ft_rng_init(&rng, 8, 0, 0, FT_RNG_INIT);
    ft_model_init(m, &rng);
    ft_eval_t ev;
    assert_int_equal(ft_model_evaluate(m, ds, NULL, 0, &ev), 0);
    assert_true(ft_model_training(m)); /* restored */
    /* one sample at a time, dropout off, by hand */
    ft_model_set_training(m, 0);
    float x[36];
    int32_t y;
    uint32_t correct = 0, cls_count[10] = {0}, cls_correct[10] = {0}, pred[10] = {0};
    double loss = 0;
    for (uint32_t i = 0; i < ds->n; i++) {
        ft_dataset_gather(ds, &i, 1, x, &y);
        const float *z = ft_model_forward(m, x, 1);
        int best = 0;
        double mx = z[0], se = 0;
        for (int k = 1; k < 10; k++)
            if (z[k] > z[best])
                best = k;
        mx = z[best];
        for (int k = 0; k < 10; k++)
            se += exp((double)z[k] - mx);
        loss += log(se) + mx - z[y];
        correct += best == y;
        cls_count[y]++;
        cls_correct[y] += best == y;
        pred[best]++;
    }
    assert_int_equal(ev.count, 103);
    assert_true(fabs(ev.accuracy - (double)correct / 103) < 1e-12);
    assert_true(fabs(ev.loss - loss / 103) < 1e-4);
    for (int k = 0; k < 10; k++) {
        assert_int_equal(ev.class_count[k], cls_count[k]);
        assert_int_equal(ev.class_correct[k], cls_correct[k]);
        assert_int_equal(ev.predicted_as[k], pred[k]);
    }
    /* a subset */
    uint32_t idx[3] = {5, 0, 100};
    assert_int_equal(ft_model_evaluate(m, ds, idx, 3, &ev), 0);
    assert_int_equal(ev.count, 3);
    uint32_t total = 0;
    for (int k = 0; k < 10; k++)
        total += ev.class_count[k];
    assert_int_equal(total, 3);
    /* wrong sample shape */
    ft_dataset_t *other = synth(4, 1, 5, 5, 1);
    assert_int_equal(ft_model_evaluate(m, other, NULL, 0, &ev), FT_EINVAL);
    ft_dataset_destroy(&other);
    ft_dataset_destroy(&ds);
    ft_model_destroy(&m);
}

static void test_no_allocation_per_step(void **state)
{
    (void)state;
    ft_model_t *m = build("paper-lenet", NULL, 1, 28, 28, 2);
    ft_rng_t rng;
    ft_rng_init(&rng, 1, 0, 0, FT_RNG_INIT);
    ft_model_init(m, &rng);
    float *x = calloc(2 * 784, sizeof(float));
    int32_t y[2] = {3, 7};
    ft_sgd_t *sgd = ft_sgd_new(m, 0.9f, 0.0f);
    unsigned long a0 = ft_alloc_count();
    for (int s = 0; s < 2; s++) {
        float loss = ft_model_forward_backward(m, x, y, 2);
        assert_true(isfinite(loss));
        ft_sgd_step(sgd, 0.01f);
    }
    assert_int_equal(ft_alloc_count(), a0);
    ft_sgd_destroy(&sgd);
    free(x);
    ft_model_destroy(&m);
}

/* One training step's loss, logits and gradients of spec on ops (fixed init, input
 * and dropout stream). */
static void step_on(const ft_layer_spec_t *spec, int nl, const ft_ops_t *ops, int B, float *loss,
                    float *logits, float *grads)
{
    ft_model_t *m = NULL;
    assert_int_equal(ft_model_new_from_spec(spec, nl, 1, 28, 28, 10, B, ops, &m), 0);
    ft_rng_t rng;
    ft_rng_init(&rng, 11, 0, 0, FT_RNG_TEST);
    ft_model_init(m, &rng);
    float *x = malloc((size_t)B * 784 * sizeof(float));
    int32_t y[8];
    for (size_t i = 0; i < (size_t)B * 784; i++)
        x[i] = (float)ft_rng_normal(&rng);
    for (int b = 0; b < B; b++)
        y[b] = (int32_t)ft_rng_below(&rng, 10);
    ft_model_set_dropout_stream(m, 3, 0);
    *loss = ft_model_forward_backward(m, x, y, B);
    memcpy(logits, ft_model_forward(m, x, B), (size_t)B * 10 * sizeof(float));
    memcpy(grads, ft_model_grads(m), ft_model_num_params(m) * sizeof(float));
    free(x);
    ft_model_destroy(&m);
}

/* ReLU + maxpool pairs run as the back end's fused op; a back end without it (the
 * pointers NULL) runs the two ops. Both give bit-identical losses, logits and
 * gradients, for the built-in shapes and for a ReLU that is the first layer (its
 * output buffer is not the input's). */
static void test_fused_relu_pool_matches_unfused(void **state)
{
    (void)state;
    static const ft_layer_spec_t lenet[] = {FT_L_CONV(20, 5, 1, 0),
                                            FT_L_RELU,
                                            FT_L_POOL(2),
                                            FT_L_CONV(50, 5, 1, 0),
                                            FT_L_RELU,
                                            FT_L_POOL(2),
                                            FT_L_FLAT,
                                            FT_L_LIN(500),
                                            FT_L_RELU,
                                            FT_L_LIN(0)};
    static const ft_layer_spec_t paper[] = {FT_L_CONV(32, 3, 1, 0),
                                            FT_L_RELU,
                                            FT_L_CONV(64, 3, 1, 0),
                                            FT_L_RELU,
                                            FT_L_POOL(2),
                                            FT_L_DROP(0.25f),
                                            FT_L_FLAT,
                                            FT_L_LIN(128),
                                            FT_L_RELU,
                                            FT_L_DROP(0.5f),
                                            FT_L_LIN(0)};
    static const ft_layer_spec_t first[] = {FT_L_RELU,  FT_L_POOL(2), FT_L_CONV(4, 3, 1, 1),
                                            FT_L_RELU,  FT_L_POOL(2), FT_L_FLAT,
                                            FT_L_LIN(0)};
    const struct {
        const ft_layer_spec_t *spec;
        int nl;
    } cases[] = {{lenet, 10}, {paper, 11}, {first, 7}};
    ft_ops_t unfused = ft_ops_cpu;
    unfused.relu_maxpool2d_forward = NULL;
    unfused.relu_maxpool2d_backward = NULL;
    assert_non_null(ft_ops_cpu.relu_maxpool2d_forward);
    const int B = 3;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ft_model_t *m = NULL;
        assert_int_equal(
            ft_model_new_from_spec(cases[c].spec, cases[c].nl, 1, 28, 28, 10, B, &ft_ops_cpu, &m),
            0);
        size_t N = ft_model_num_params(m);
        ft_model_destroy(&m);
        float la, lb, za[30], zb[30];
        float *ga = malloc(N * sizeof(float)), *gb = malloc(N * sizeof(float));
        step_on(cases[c].spec, cases[c].nl, &ft_ops_cpu, B, &la, za, ga);
        step_on(cases[c].spec, cases[c].nl, &unfused, B, &lb, zb, gb);
        assert_true(isfinite(la) && la == lb);
        assert_memory_equal(za, zb, sizeof za);
        assert_memory_equal(ga, gb, N * sizeof(float));
        free(ga);
        free(gb);
    }
}

/* An inference model (ft_model_new_inference) gives bit-identical logits and the
 * same evaluation as a training model in eval mode with the same parameters, while
 * holding far less memory: no gradients and two activation buffers. Covers a relu on
 * the input, a leading dropout, global average pooling and the built-in nets. */
static void check_inference_same(const ft_layer_spec_t *spec, int nl, const char *name, int c,
                                 int h, int w, int B)
{
    ft_model_t *tr = NULL, *inf = NULL;
    if (spec) {
        assert_int_equal(ft_model_new_from_spec(spec, nl, c, h, w, 10, B, &ft_ops_cpu, &tr), 0);
        assert_int_equal(
            ft_model_new_from_spec_inference(spec, nl, c, h, w, 10, B, &ft_ops_cpu, &inf), 0);
    } else {
        assert_int_equal(ft_model_new(name, "", c, h, w, 10, B, &ft_ops_cpu, &tr), 0);
        assert_int_equal(ft_model_new_inference(name, "", c, h, w, 10, B, &ft_ops_cpu, &inf), 0);
    }
    assert_false(ft_model_is_inference(tr));
    assert_true(ft_model_is_inference(inf));
    assert_false(ft_model_training(inf));
    assert_null(ft_model_grads(inf));
    assert_memory_equal(ft_model_layout(tr)->hash, ft_model_layout(inf)->hash, 32);
    size_t N = ft_model_num_params(tr);
    ft_rng_t rng;
    ft_rng_init(&rng, 21, 0, 0, FT_RNG_INIT);
    ft_model_init(tr, &rng);
    float *p = malloc(N * sizeof(float));
    ft_model_get_params(tr, p);
    ft_model_set_params(inf, p);
    ft_model_set_training(tr, 0);
    size_t in = (size_t)B * c * h * w;
    float *x = malloc(in * sizeof(float)), *x0 = malloc(in * sizeof(float));
    ft_rng_init(&rng, 22, 0, 0, FT_RNG_INIT);
    for (size_t i = 0; i < in; i++)
        x[i] = x0[i] = (float)(2.0 * ft_rng_uniform(&rng) - 1.0);
    for (int b = B; b >= 1; b -= B > 1 ? B - 1 : 1) { /* the full batch and one sample */
        const float *zt = ft_model_forward(tr, x, b);
        float zt_copy[64 * 10];
        memcpy(zt_copy, zt, (size_t)b * 10 * sizeof(float));
        const float *zi = ft_model_forward(inf, x, b);
        assert_memory_equal(zt_copy, zi, (size_t)b * 10 * sizeof(float));
        assert_memory_equal(x, x0, in * sizeof(float)); /* the input is untouched */
    }
    ft_dataset_t *ds = synth((uint32_t)(2 * B + 3), c, h, w, 1);
    ft_eval_t et, ei;
    assert_int_equal(ft_model_evaluate(tr, ds, NULL, 0, &et), 0);
    assert_int_equal(ft_model_evaluate(inf, ds, NULL, 0, &ei), 0);
    assert_memory_equal(&et, &ei, sizeof et);
    assert_false(ft_model_training(inf));
    /* at least the gradient buffer (N floats) less */
    size_t mt = ft_model_memory_bytes(tr), mi = ft_model_memory_bytes(inf);
    assert_true(mi > N * sizeof(float));
    assert_true(mi + N * sizeof(float) <= mt);
    ft_dataset_destroy(&ds);
    free(p);
    free(x);
    free(x0);
    ft_model_destroy(&tr);
    ft_model_destroy(&inf);
}

static void test_inference_model(void **state)
{
    (void)state;
    static const ft_layer_spec_t relu_first[] = {FT_L_RELU,
                                                 FT_L_CONV(4, 3, 1, 1),
                                                 FT_L_RELU,
                                                 FT_L_POOL(2),
                                                 FT_L_CONV(6, 3, 1, 0),
                                                 FT_L_GAP,
                                                 FT_L_FLAT,
                                                 FT_L_LIN(0)};
    static const ft_layer_spec_t drop_first[] = {FT_L_DROP(0.5f), FT_L_FLAT,        FT_L_LIN(16),
                                                 FT_L_RELU,       FT_L_DROP(0.25f), FT_L_LIN(0)};
    check_inference_same(relu_first, 8, NULL, 2, 8, 8, 16);
    check_inference_same(drop_first, 6, NULL, 1, 6, 6, 16);
    check_inference_same(NULL, 0, "lenet5", 1, 28, 28, 16);
    check_inference_same(NULL, 0, "paper-lenet", 1, 28, 28, 16);
    check_inference_same(NULL, 0, "vgg9", 3, 32, 32, 2);
    /* the coordinator's case: paper-lenet at run.eval_batch = 500 (sizes only) */
    ft_model_t *tr = NULL, *inf = NULL;
    assert_int_equal(ft_model_new("paper-lenet", "", 1, 28, 28, 10, 500, &ft_ops_cpu, &tr), 0);
    assert_int_equal(
        ft_model_new_inference("paper-lenet", "", 1, 28, 28, 10, 500, &ft_ops_cpu, &inf), 0);
    /* activations by hand: conv1 32x26x26 = 21632, conv2 64x24x24 = 36864 floats per
     * sample; inference holds conv2's input and output side by side, 500 x (21632 + 36864)
     * floats (the largest pair; two buffers of the largest output would be 500 x 73728)
     * and 16 floats of alignment slack,
     * pool argmax 500 x 9216, params and probabilities, plus the conv workspace; training
     * one buffer per layer plus gradients */
    size_t act = (500 * (21632 + 36864) + 16) * sizeof(float) + 500 * 9216 * sizeof(int32_t);
    size_t fixed = 1199882 * sizeof(float) + 500 * 10 * sizeof(float);
    size_t ws = ft_ops_cpu.conv2d_workspace(&(ft_conv2d_shape_t){.B = 500,
                                                                 .Ci = 32,
                                                                 .H = 26,
                                                                 .W = 26,
                                                                 .Co = 64,
                                                                 .kh = 3,
                                                                 .kw = 3,
                                                                 .stride = 1,
                                                                 .pad = 0,
                                                                 .Ho = 24,
                                                                 .Wo = 24});
    assert_int_equal(ft_model_memory_bytes(inf), act + fixed + ws * sizeof(float));
    assert_true(2 * ft_model_memory_bytes(inf) < ft_model_memory_bytes(tr));
    ft_model_destroy(&tr);
    ft_model_destroy(&inf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_counts),
        cmocka_unit_test(test_layout_names),
        cmocka_unit_test(test_bad_models),
        cmocka_unit_test(test_model_input_names_file),
        cmocka_unit_test(test_init_pytorch_default),
        cmocka_unit_test(test_gradcheck_convnet),
        cmocka_unit_test(test_gradcheck_gap_dropout),
        cmocka_unit_test(test_gradcheck_mlp),
        cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_sgd_hand_values),
        cmocka_unit_test(test_training_determinism),
        cmocka_unit_test(test_train_hooks_and_learning),
        cmocka_unit_test(test_evaluate_matches_forward),
        cmocka_unit_test(test_no_allocation_per_step),
        cmocka_unit_test(test_fused_relu_pool_matches_unfused),
        cmocka_unit_test(test_inference_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
