/* Agreement of model/ with PyTorch 1.13: lenet5 and paper-lenet (dropout off) start
 * from torch's own initial weights (tests/fixtures/torch, written by
 * gen_fixtures.py), and this test compares our logits, loss, flat gradient and the
 * losses and parameters of 5 SGD steps (momentum 0.9, weight decay 5e-4, lr 0.01)
 * with torch's, on the reference and cpu back ends, and on cuda where present
 * (skipped otherwise).
 *
 * Tolerances (float32 everywhere, sums in different orders):
 *   logits: |d| <= 1e-4 + 1e-3 |torch|
 *   loss and step losses: |d| <= 1e-4 |torch| (step 5: 1e-3, errors compound)
 *   gradient: |d| <= 1e-5 + 1e-3 |torch|, element by element
 *   parameters after 5 steps: |d| <= 1e-5 + 1e-3 |torch|, and their change over
 *   the 5 steps within 1e-4 relative (L2 over the sampled elements) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_model.h"
#include "ft_sgd.h"
#include "ft_test_fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One model's fixture set. */
typedef struct {
    int B;           /* batch */
    size_t N;        /* parameters */
    int stride;      /* gradient sampling stride */
    float loss;      /* first loss */
    float steps[5];  /* loss before each SGD step */
    float *input;    /* B×1×28×28 */
    int32_t *labels; /* B */
    float *weights;  /* N, decoded from float16 */
    float *logits;   /* B×10 */
    float *grads;    /* ceil(N / stride) */
    float *final;    /* ceil(N / 97) */
    float *dx;       /* B×1×28×28: d loss / d input */
} fixture_t;

static void *read_raw(const char *tag, const char *suffix, size_t expect_bytes)
{
    char rel[256];
    snprintf(rel, sizeof rel, "torch/%s%s", tag, suffix);
    return ft_test_fixture_read(rel, expect_bytes);
}

/* IEEE half to float, subnormals included. */
static float half_to_float(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)mant, -24);
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexpf((float)(mant | 0x400), exp - 25);
    return sign ? -v : v;
}

static void load_fixture(const char *tag, fixture_t *fx)
{
    memset(fx, 0, sizeof *fx);
    char rel[256];
    snprintf(rel, sizeof rel, "torch/%s.txt", tag);
    FILE *f = ft_test_fixture_open(rel, "r");
    assert_int_equal(fscanf(f, " B %d N %zu stride %d loss %f steps %f %f %f %f %f", &fx->B, &fx->N,
                            &fx->stride, &fx->loss, &fx->steps[0], &fx->steps[1], &fx->steps[2],
                            &fx->steps[3], &fx->steps[4]),
                     9);
    fclose(f);
    size_t B = (size_t)fx->B;
    fx->input = read_raw(tag, "_input.f32", B * 784 * sizeof(float));
    fx->labels = read_raw(tag, "_labels.i32", B * sizeof(int32_t));
    fx->logits = read_raw(tag, "_logits.f32", B * 10 * sizeof(float));
    size_t ng = (fx->N + (size_t)fx->stride - 1) / (size_t)fx->stride;
    fx->grads = read_raw(tag, "_grads.f32", ng * sizeof(float));
    fx->final = read_raw(tag, "_final.f32", (fx->N + 96) / 97 * sizeof(float));
    fx->dx = read_raw(tag, "_dx.f32", B * 784 * sizeof(float));
    uint16_t *w16 = read_raw(tag, "_weights.f16", fx->N * sizeof(uint16_t));
    fx->weights = malloc(fx->N * sizeof(float));
    assert_non_null(fx->weights);
    for (size_t i = 0; i < fx->N; i++)
        fx->weights[i] = half_to_float(w16[i]);
    free(w16);
}

static void free_fixture(fixture_t *fx)
{
    free(fx->input);
    free(fx->labels);
    free(fx->weights);
    free(fx->logits);
    free(fx->grads);
    free(fx->final);
    free(fx->dx);
}

static void compare_with_torch(const char *tag, const char *backend)
{
    const ft_ops_t *ops = ft_ops_find(backend);
    if (!ops && strcmp(backend, "cuda") == 0)
        skip(); /* not built, or no GPU here */
    assert_non_null(ops);
    fixture_t fx;
    load_fixture(tag, &fx);
    ft_model_t *m = NULL;
    assert_int_equal(ft_model_new(tag, NULL, 1, 28, 28, 10, fx.B, ops, &m), 0);
    assert_int_equal(ft_model_num_params(m), fx.N);
    ft_model_set_params(m, fx.weights);
    ft_model_set_training(m, 0); /* torch's models were built without dropout */

    size_t xbytes = (size_t)fx.B * 784 * sizeof(float);
    float *x = ops->alloc(xbytes);
    int32_t *y = ops->alloc((size_t)fx.B * sizeof(int32_t));
    ops->upload(x, fx.input, xbytes);
    ops->upload(y, fx.labels, (size_t)fx.B * sizeof(int32_t));

    float logits[64 * 10];
    ops->download(logits, ft_model_forward(m, x, fx.B), (size_t)fx.B * 10 * sizeof(float));
    for (int i = 0; i < fx.B * 10; i++)
        ft_test_check_close("logits", (size_t)i, logits[i], fx.logits[i], 1e-4, 1e-3);

    float loss = ft_model_forward_backward(m, x, y, fx.B);
    ft_test_check_close("loss", 0, loss, fx.loss, 0, 1e-4);
    float *g = malloc(fx.N * sizeof(float));
    assert_non_null(g);
    ops->download(g, ft_model_grads(m), fx.N * sizeof(float));
    for (size_t i = 0, k = 0; i < fx.N; i += (size_t)fx.stride, k++)
        ft_test_check_close("grad", i, g[i], fx.grads[k], 1e-5, 1e-3);

    /* The input gradient (trigger optimisation): the same loss and parameter
     * gradient, and d loss / d x as torch's x.grad. */
    float *dx_dev = ops->alloc(xbytes), *dx = malloc(xbytes), *g2 = malloc(fx.N * sizeof(float));
    assert_true(dx_dev && dx && g2);
    assert_true(ft_model_forward_backward_input(m, x, y, fx.B, dx_dev) == loss);
    ops->download(g2, ft_model_grads(m), fx.N * sizeof(float));
    assert_memory_equal(g2, g, fx.N * sizeof(float));
    ops->download(dx, dx_dev, xbytes);
    double dmax = 0.0;
    for (int i = 0; i < fx.B * 784; i++) {
        ft_test_check_close("dx", (size_t)i, dx[i], fx.dx[i], 1e-6, 1e-3);
        dmax = fmax(dmax, fabs(fx.dx[i]));
    }
    assert_true(dmax > 1e-4); /* the fixture's gradient is not all zeros */
    free(g2);
    free(dx);
    ops->free(dx_dev);

    ft_sgd_t *sgd = ft_sgd_new(m, 0.9f, 5e-4f);
    assert_non_null(sgd);
    for (int s = 0; s < 5; s++) {
        float l = ft_model_forward_backward(m, x, y, fx.B);
        ft_test_check_close("step loss", (size_t)s, l, fx.steps[s], 0, s < 4 ? 1e-4 : 1e-3);
        ft_sgd_step(sgd, 0.01f);
    }
    float *p = g;
    ft_model_get_params(m, p);
    /* The parameters themselves, and their change over the 5 steps: weight decay moves
     * a parameter by only ~lr * wd * p per step, so the change is compared as a
     * relative norm over all sampled elements (tolerance 1e-4; leaving weight decay
     * out makes it ~2e-3, correct code ~5e-7). */
    double dd = 0.0, dn = 0.0;
    for (size_t i = 0, k = 0; i < fx.N; i += 97, k++) {
        ft_test_check_close("param after 5 steps", i, p[i], fx.final[k], 1e-5, 1e-3);
        double ours = (double)p[i] - fx.weights[i], torch = (double)fx.final[k] - fx.weights[i];
        dd += (ours - torch) * (ours - torch);
        dn += torch * torch;
    }
    double rel = sqrt(dd / dn);
    if (getenv("FT_TEST_VERBOSE"))
        fprintf(stderr, "%s/%s: relative error of the 5-step change %.3g\n", tag, backend, rel);
    assert_true(rel < 1e-4);

    ft_sgd_destroy(&sgd);
    free(g);
    ops->free(x);
    ops->free(y);
    ft_model_destroy(&m);
    free_fixture(&fx);
}

static void test_lenet5_reference(void **state)
{
    (void)state;
    compare_with_torch("lenet5", "reference");
}

static void test_lenet5_cpu(void **state)
{
    (void)state;
    compare_with_torch("lenet5", "cpu");
}

static void test_paper_lenet_reference(void **state)
{
    (void)state;
    compare_with_torch("paper-lenet", "reference");
}

static void test_paper_lenet_cpu(void **state)
{
    (void)state;
    compare_with_torch("paper-lenet", "cpu");
}

static void test_lenet5_cuda(void **state)
{
    (void)state;
    compare_with_torch("lenet5", "cuda");
}

static void test_paper_lenet_cuda(void **state)
{
    (void)state;
    compare_with_torch("paper-lenet", "cuda");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lenet5_reference),      cmocka_unit_test(test_lenet5_cpu),
        cmocka_unit_test(test_paper_lenet_reference), cmocka_unit_test(test_paper_lenet_cpu),
        cmocka_unit_test(test_lenet5_cuda),           cmocka_unit_test(test_paper_lenet_cuda),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
