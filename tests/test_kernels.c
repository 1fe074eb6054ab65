/* Tests for kernels/: finite-difference gradient checks of every backward op on the
 * reference back end; the fast CPU back end (and CUDA, where built and a device is
 * present) against the reference on every op over the shapes of the built-in
 * models; NaN/Inf propagation; SGD against hand-worked (and PyTorch 1.13-checked)
 * values; dropout mask statistics and determinism; flat-vector ops against hand
 * values. */
#define _GNU_SOURCE /* sched_setaffinity */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_ops.h"
#include "ft_rng.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static ft_rng_t test_rng;

static int setup_rng(void **state)
{
    (void)state;
    ft_rng_init(&test_rng, 12345, 0, 0, FT_RNG_TEST);
    return 0;
}

static float uniform(float lo, float hi)
{
    return lo + (hi - lo) * (float)ft_rng_uniform(&test_rng);
}

static float *new_floats(size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    assert_non_null(p);
    return p;
}

static float *random_floats(size_t n, float lo, float hi)
{
    float *p = new_floats(n);
    for (size_t i = 0; i < n; i++)
        p[i] = uniform(lo, hi);
    return p;
}

static void fill_nan(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
}

/* Fails unless |got - want| <= atol + rtol*|want| everywhere; NaN anywhere is a
 * mismatch. */
static void assert_close(const float *got, const float *want, size_t n, double atol, double rtol,
                         const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= atol + rtol * fabs(want[i]))) {
            print_error("%s: element %zu: got %.9g want %.9g (atol %g rtol %g)\n", what, i, got[i],
                        want[i], atol, rtol);
            fail();
        }
    }
}

/* Fails unless got and want are NaN at the same places, equal infinities at the
 * same places, and returns how many NaNs there are. */
static size_t assert_same_nonfinite(const float *got, const float *want, size_t n, const char *what)
{
    size_t nans = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) != isnan(want[i]) || (isinf(want[i]) && got[i] != want[i])) {
            print_error("%s: element %zu: got %g want %g\n", what, i, got[i], want[i]);
            fail();
        }
        nans += isnan(want[i]) ? 1 : 0;
    }
    return nans;
}

/* The back ends under test besides the reference: cpu, and cuda where present. */
static const ft_ops_t *fast_backends[3];

static int setup_backends(void **state)
{
    setup_rng(state);
    int k = 0;
    fast_backends[k++] = &ft_ops_cpu;
    const ft_ops_t *cuda = ft_ops_find("cuda");
    if (cuda)
        fast_backends[k++] = cuda;
    fast_backends[k] = NULL;
    ft_ops_set_threads(1);
    return 0;
}

/* Back-end memory holding a copy of host data (NaN-filled where host is NULL). */
static float *to_dev(const ft_ops_t *ops, const float *host, size_t n)
{
    float *d = ops->alloc(sizeof(float) * (n ? n : 1));
    assert_non_null(d);
    if (host) {
        ops->upload(d, host, sizeof(float) * n);
    } else {
        float *nan = new_floats(n);
        fill_nan(nan, n);
        ops->upload(d, nan, sizeof(float) * n);
        free(nan);
    }
    return d;
}

static float *from_dev(const ft_ops_t *ops, const float *dev, size_t n)
{
    float *h = new_floats(n);
    ops->download(h, dev, sizeof(float) * n);
    return h;
}

/* ------------------------------------------- finite-difference gradient checks
 *
 * Every check uses the scalar L = sum_i r_i y_i (r a fixed random projection, so
 * dL/dy = r) unless the op has its own scalar loss (softmax cross-entropy), and
 * compares the analytic gradient from backward(dy = r) with the central difference
 * (L(v + eps) - L(v - eps)) / (2 eps), L evaluated in double from the float
 * forward outputs. For ops linear in the perturbed input the difference is exact up
 * to float rounding of y (|y| ~ 10, relative 6e-8, over 2 eps = 2e-2: ~1e-4), so
 * eps = 1e-2 and the tolerance 1e-3 + 1e-3|g|. Piecewise-linear ops (maxpool,
 * relu) use eps = 1e-3 on inputs at least 1e-2 from any kink, so no difference
 * straddles one. */

typedef double (*loss_fn)(void *ctx);

static void check_gradient(void *ctx, loss_fn loss, float *v, size_t n, const float *analytic,
                           float eps, double atol, double rtol, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        float keep = v[i];
        v[i] = keep + eps;
        double up = loss(ctx);
        v[i] = keep - eps;
        double down = loss(ctx);
        v[i] = keep;
        double numeric = (up - down) / (2.0 * (double)eps);
        double d = fabs(numeric - analytic[i]);
        if (!(d <= atol + rtol * fabs(numeric))) {
            print_error("%s: d/d[%zu]: numeric %.7g analytic %.7g\n", what, i, numeric,
                        analytic[i]);
            fail();
        }
    }
}

static double project(const float *y, const float *r, size_t n)
{
    double acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += (double)y[i] * r[i];
    return acc;
}

typedef struct {
    ft_conv2d_shape_t s; /* shape */
    float *x, *w, *b;    /* inputs */
    float *y, *r;        /* output, projection */
} conv_ctx_t;

static double conv_loss(void *p)
{
    conv_ctx_t *c = p;
    ft_ops_reference.conv2d_forward(&c->s, c->x, c->w, c->b, c->y, NULL);
    return project(c->y, c->r, (size_t)c->s.B * c->s.Co * c->s.Ho * c->s.Wo);
}

static void gradcheck_conv(int B, int Ci, int H, int W, int Co, int kh, int kw, int stride, int pad)
{
    conv_ctx_t c = {.s = {B, Ci, H, W, Co, kh, kw, stride, pad, 0, 0}};
    ft_conv2d_shape(&c.s);
    size_t nx = (size_t)B * Ci * H * W, nw = (size_t)Co * Ci * kh * kw;
    size_t ny = (size_t)B * Co * c.s.Ho * c.s.Wo;
    c.x = random_floats(nx, -1, 1);
    c.w = random_floats(nw, -1, 1);
    c.b = random_floats(Co, -1, 1);
    c.y = new_floats(ny);
    c.r = random_floats(ny, -1, 1);
    float *dx = new_floats(nx), *dw = new_floats(nw), *db = new_floats(Co);
    ft_ops_reference.conv2d_backward(&c.s, c.x, c.w, c.r, dx, dw, db, NULL);
    check_gradient(&c, conv_loss, c.x, nx, dx, 1e-2f, 1e-3, 1e-3, "conv dx");
    check_gradient(&c, conv_loss, c.w, nw, dw, 1e-2f, 1e-3, 1e-3, "conv dw");
    check_gradient(&c, conv_loss, c.b, Co, db, 1e-2f, 1e-3, 1e-3, "conv db");
    free(c.x), free(c.w), free(c.b), free(c.y), free(c.r), free(dx), free(dw), free(db);
}

static void test_gradcheck_conv2d(void **state)
{
    (void)state;
    gradcheck_conv(2, 3, 7, 6, 4, 3, 3, 1, 0); /* plain 3x3, non-square input */
    gradcheck_conv(2, 2, 9, 7, 3, 3, 2, 2, 1); /* stride 2, pad 1, non-square kernel */
    gradcheck_conv(1, 2, 6, 6, 2, 3, 3, 1, 1); /* "same" padding */
    gradcheck_conv(2, 1, 8, 7, 2, 5, 5, 3, 2); /* stride 3, wide padding */
}

typedef struct {
    int B, In, Out;   /* shape */
    float *x, *w, *b; /* inputs */
    float *y, *r;     /* output, projection */
} linear_ctx_t;

static double linear_loss(void *p)
{
    linear_ctx_t *c = p;
    ft_ops_reference.linear_forward(c->B, c->In, c->Out, c->x, c->w, c->b, c->y);
    return project(c->y, c->r, (size_t)c->B * c->Out);
}

static void test_gradcheck_linear(void **state)
{
    (void)state;
    linear_ctx_t c = {.B = 3, .In = 7, .Out = 5};
    c.x = random_floats(21, -1, 1);
    c.w = random_floats(35, -1, 1);
    c.b = random_floats(5, -1, 1);
    c.y = new_floats(15);
    c.r = random_floats(15, -1, 1);
    float *dx = new_floats(21), *dw = new_floats(35), *db = new_floats(5);
    ft_ops_reference.linear_backward(3, 7, 5, c.x, c.w, c.r, dx, dw, db);
    check_gradient(&c, linear_loss, c.x, 21, dx, 1e-2f, 1e-3, 1e-3, "linear dx");
    check_gradient(&c, linear_loss, c.w, 35, dw, 1e-2f, 1e-3, 1e-3, "linear dw");
    check_gradient(&c, linear_loss, c.b, 5, db, 1e-2f, 1e-3, 1e-3, "linear db");
    free(c.x), free(c.w), free(c.b), free(c.y), free(c.r), free(dx), free(dw), free(db);
}

typedef struct {
    int B, C, H, W, k, stride; /* shape */
    float *x, *y, *r;          /* input, output, projection */
    int32_t *argmax;           /* forward's choice */
} pool_ctx_t;

static double maxpool_loss(void *p)
{
    pool_ctx_t *c = p;
    ft_ops_reference.maxpool2d_forward(c->B, c->C, c->H, c->W, c->k, c->stride, c->x, c->y,
                                       c->argmax);
    int Ho = (c->H - c->k) / c->stride + 1, Wo = (c->W - c->k) / c->stride + 1;
    return project(c->y, c->r, (size_t)c->B * c->C * Ho * Wo);
}

static void gradcheck_maxpool(int B, int C, int H, int W, int k, int stride)
{
    pool_ctx_t c = {B, C, H, W, k, stride, NULL, NULL, NULL, NULL};
    size_t nx = (size_t)B * C * H * W;
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    size_t ny = (size_t)B * C * Ho * Wo;
    /* distinct values 0.02 apart, shuffled: no ties, no order change under +-1e-3 */
    uint32_t *perm = malloc(sizeof(uint32_t) * nx);
    for (size_t i = 0; i < nx; i++)
        perm[i] = (uint32_t)i;
    ft_rng_shuffle_u32(&test_rng, perm, nx);
    c.x = new_floats(nx);
    for (size_t i = 0; i < nx; i++)
        c.x[i] = 0.02f * (float)perm[i] - 1.0f;
    c.y = new_floats(ny);
    c.r = random_floats(ny, -1, 1);
    c.argmax = malloc(sizeof(int32_t) * ny);
    float *dx = new_floats(nx);
    maxpool_loss(&c);
    ft_ops_reference.maxpool2d_backward(B, C, H, W, k, stride, c.r, c.argmax, dx);
    check_gradient(&c, maxpool_loss, c.x, nx, dx, 1e-3f, 1e-3, 1e-3, "maxpool dx");
    free(perm), free(c.x), free(c.y), free(c.r), free(c.argmax), free(dx);
}

static void test_gradcheck_maxpool(void **state)
{
    (void)state;
    gradcheck_maxpool(2, 3, 6, 8, 2, 2); /* the models' 2x2/2 pool */
    gradcheck_maxpool(1, 2, 7, 7, 3, 2); /* overlapping windows */
}

static double avgpool_loss(void *p)
{
    pool_ctx_t *c = p;
    ft_ops_reference.avgpool_global_forward(c->B, c->C, c->H, c->W, c->x, c->y);
    return project(c->y, c->r, (size_t)c->B * c->C);
}

static void test_gradcheck_avgpool(void **state)
{
    (void)state;
    pool_ctx_t c = {2, 3, 4, 5, 0, 0, NULL, NULL, NULL, NULL};
    size_t nx = 2 * 3 * 4 * 5;
    c.x = random_floats(nx, -1, 1);
    c.y = new_floats(6);
    c.r = random_floats(6, -1, 1);
    float *dx = new_floats(nx);
    ft_ops_reference.avgpool_global_backward(2, 3, 4, 5, c.r, dx);
    check_gradient(&c, avgpool_loss, c.x, nx, dx, 1e-2f, 1e-4, 1e-3, "avgpool dx");
    free(c.x), free(c.y), free(c.r), free(dx);
}

typedef struct {
    size_t n;                /* elements */
    float *x, *y, *r, *mask; /* input, output, projection, dropout mask */
    float p;                 /* dropout probability */
} eltwise_ctx_t;

static double relu_loss(void *p)
{
    eltwise_ctx_t *c = p;
    ft_ops_reference.relu_forward(c->n, c->x, c->y);
    return project(c->y, c->r, c->n);
}

static void test_gradcheck_relu(void **state)
{
    (void)state;
    eltwise_ctx_t c = {.n = 64};
    c.x = new_floats(c.n);
    for (size_t i = 0; i < c.n; i++) /* |x| >= 0.05: away from the kink */
        c.x[i] = (i % 2 ? 1.0f : -1.0f) * uniform(0.05f, 1.0f);
    c.y = new_floats(c.n);
    c.r = random_floats(c.n, -1, 1);
    float *dx = new_floats(c.n);
    relu_loss(&c);
    ft_ops_reference.relu_backward(c.n, c.y, c.r, dx);
    check_gradient(&c, relu_loss, c.x, c.n, dx, 1e-3f, 1e-3, 1e-3, "relu dx");
    free(c.x), free(c.y), free(c.r), free(dx);
}

/* The mask is drawn once; the loss applies that fixed mask (the backward's
 * assumption) through the reference forward with the same stream. */
static double dropout_loss(void *p)
{
    eltwise_ctx_t *c = p;
    ft_ops_reference.dropout_forward(c->n, c->p, 99, 7, c->x, c->y, c->mask);
    return project(c->y, c->r, c->n);
}

static void test_gradcheck_dropout(void **state)
{
    (void)state;
    eltwise_ctx_t c = {.n = 50, .p = 0.4f};
    c.x = random_floats(c.n, -1, 1);
    c.y = new_floats(c.n);
    c.r = random_floats(c.n, -1, 1);
    c.mask = new_floats(c.n);
    float *dx = new_floats(c.n);
    dropout_loss(&c);
    ft_ops_reference.dropout_backward(c.n, c.r, c.mask, dx);
    check_gradient(&c, dropout_loss, c.x, c.n, dx, 1e-2f, 1e-4, 1e-3, "dropout dx");
    free(c.x), free(c.y), free(c.r), free(c.mask), free(dx);
}

typedef struct {
    int B, C;         /* shape */
    float *z, *probs; /* logits, probabilities */
    int32_t *labels;  /* targets */
} xent_ctx_t;

static double xent_loss(void *p)
{
    xent_ctx_t *c = p;
    return ft_ops_reference.softmax_xent_forward(c->B, c->C, c->z, c->labels, c->probs);
}

/* The loss is smooth: eps = 1e-2 leaves a truncation error ~eps^2 f'''/6 < 1e-4;
 * the float-rounded loss (~2, relative 6e-8) over 2 eps adds ~1e-5. */
static void test_gradcheck_softmax_xent(void **state)
{
    (void)state;
    xent_ctx_t c = {.B = 4, .C = 5};
    c.z = random_floats(20, -3, 3);
    c.probs = new_floats(20);
    int32_t labels[4] = {0, 4, 2, 2};
    c.labels = labels;
    float *dz = new_floats(20);
    xent_loss(&c);
    ft_ops_reference.softmax_xent_backward(4, 5, c.probs, labels, dz);
    check_gradient(&c, xent_loss, c.z, 20, dz, 1e-2f, 2e-4, 1e-3, "softmax-xent dlogits");
    free(c.z), free(c.probs), free(dz);
}

/* ------------------------------------------- fast back ends against the reference
 *
 * Inputs are U(-1, 1). The reference accumulates in double; a float GEMM over a
 * reduction of length K errs by about sqrt(K) * 6e-8 * (sum of |terms|) ~ 1e-5 K^0.5
 * to 1e-6 K in the worst case, so conv/linear use atol = 2e-6 K + 1e-5 and rtol 1e-4
 * (K the reduction length of the output compared); elementwise ops 1e-6 / 1e-6.
 * Every output buffer is filled with NaN before the call, so an op that forgets to
 * overwrite (or accumulates into) its output fails. */

static double gemm_atol(size_t k)
{
    return 2e-6 * (double)k + 1e-5;
}

static void compare_conv(const ft_ops_t *ops, int B, int Ci, int H, int W, int Co, int kh, int kw,
                         int stride, int pad, int with_dx)
{
    ft_conv2d_shape_t s = {B, Ci, H, W, Co, kh, kw, stride, pad, 0, 0};
    ft_conv2d_shape(&s);
    size_t nx = (size_t)B * Ci * H * W, nw = (size_t)Co * Ci * kh * kw;
    size_t ny = (size_t)B * Co * s.Ho * s.Wo;
    float *x = random_floats(nx, -1, 1), *w = random_floats(nw, -1, 1);
    float *b = random_floats(Co, -1, 1), *dy = random_floats(ny, -1, 1);
    float *y = new_floats(ny), *dx = new_floats(nx), *dw = new_floats(nw), *db = new_floats(Co);
    ft_ops_reference.conv2d_forward(&s, x, w, b, y, NULL);
    ft_ops_reference.conv2d_backward(&s, x, w, dy, dx, dw, db, NULL);

    float *dx_ = to_dev(ops, x, nx), *dw_ = to_dev(ops, w, nw), *db_ = to_dev(ops, b, Co);
    float *ddy = to_dev(ops, dy, ny), *dy_out = to_dev(ops, NULL, ny);
    float *gx = with_dx ? to_dev(ops, NULL, nx) : NULL, *gw = to_dev(ops, NULL, nw);
    float *gb = to_dev(ops, NULL, Co);
    size_t wsn = ops->conv2d_workspace(&s);
    float *ws = to_dev(ops, NULL, wsn);
    unsigned long allocs = ft_alloc_count();
    ops->conv2d_forward(&s, dx_, dw_, db_, dy_out, ws);
    ops->conv2d_backward(&s, dx_, dw_, ddy, gx, gw, gb, ws);
    assert_int_equal(ft_alloc_count(), allocs); /* no allocation inside ops */

    char what[160];
    size_t K = (size_t)Ci * kh * kw;
    float *h = from_dev(ops, dy_out, ny);
    snprintf(what, sizeof what, "%s conv y B%d Ci%d %dx%d Co%d k%dx%d s%d p%d", ops->name, B, Ci, H,
             W, Co, kh, kw, stride, pad);
    assert_close(h, y, ny, gemm_atol(K), 1e-4, what);
    free(h);
    if (with_dx) {
        h = from_dev(ops, gx, nx);
        snprintf(what, sizeof what, "%s conv dx B%d Ci%d %dx%d Co%d", ops->name, B, Ci, H, W, Co);
        assert_close(h, dx, nx, gemm_atol((size_t)Co * kh * kw), 1e-4, what);
        free(h);
    }
    h = from_dev(ops, gw, nw);
    snprintf(what, sizeof what, "%s conv dw B%d Ci%d %dx%d Co%d", ops->name, B, Ci, H, W, Co);
    assert_close(h, dw, nw, gemm_atol((size_t)B * s.Ho * s.Wo), 1e-4, what);
    free(h);
    h = from_dev(ops, gb, Co);
    snprintf(what, sizeof what, "%s conv db B%d Ci%d %dx%d Co%d", ops->name, B, Ci, H, W, Co);
    assert_close(h, db, Co, gemm_atol((size_t)B * s.Ho * s.Wo), 1e-4, what);
    free(h);

    ops->free(dx_), ops->free(dw_), ops->free(db_), ops->free(ddy), ops->free(dy_out);
    ops->free(gx), ops->free(gw), ops->free(gb), ops->free(ws);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
}

static void test_agree_conv2d(void **state)
{
    (void)state;
    for (int k = 0; fast_backends[k]; k++) {
        const ft_ops_t *ops = fast_backends[k];
        /* lenet5: 1@28x28 -> 6@5x5 pad 2 (first layer: no dx), 6@14x14 -> 16@5x5 */
        compare_conv(ops, 32, 1, 28, 28, 6, 5, 5, 1, 2, 0);
        compare_conv(ops, 32, 1, 28, 28, 6, 5, 5, 1, 2, 1);
        compare_conv(ops, 32, 6, 14, 14, 16, 5, 5, 1, 0, 1);
        compare_conv(ops, 7, 1, 32, 32, 6, 5, 5, 1, 0, 1); /* lenet5 on 32x32 */
        /* paper-lenet: 1@28x28 -> 32@3x3, 32@26x26 -> 64@3x3 */
        compare_conv(ops, 5, 1, 28, 28, 32, 3, 3, 1, 0, 1);
        compare_conv(ops, 2, 32, 26, 26, 64, 3, 3, 1, 0, 1);
        /* vgg-like 3x3 pad 1: first layer and a middle layer */
        compare_conv(ops, 3, 3, 32, 32, 16, 3, 3, 1, 1, 0);
        compare_conv(ops, 5, 16, 16, 16, 32, 3, 3, 1, 1, 1);
        compare_conv(ops, 9, 32, 4, 4, 32, 3, 3, 1, 1, 1); /* tiny planes: many per GEMM */
        /* stride, non-square kernels and inputs, 1x1, kernel wider than padding */
        compare_conv(ops, 5, 3, 11, 8, 4, 3, 2, 2, 1, 1);
        compare_conv(ops, 3, 8, 5, 5, 4, 1, 1, 1, 0, 1);
        compare_conv(ops, 2, 2, 2, 3, 3, 3, 3, 2, 1, 1);
        compare_conv(ops, 3, 2, 10, 9, 3, 5, 5, 3, 2, 1);
        compare_conv(ops, 1, 2, 9, 7, 3, 4, 3, 2, 0, 1);
        /* stride 1 with padding through the padded-copy path: an odd width, several
         * images per GEMM (the border must stay zero between images) */
        compare_conv(ops, 6, 3, 7, 5, 4, 3, 3, 1, 1, 1);
        compare_conv(ops, 4, 2, 6, 6, 3, 5, 3, 1, 2, 1);
    }
}

static void compare_linear(const ft_ops_t *ops, int B, int In, int Out, int with_dx)
{
    size_t nx = (size_t)B * In, nw = (size_t)Out * In, ny = (size_t)B * Out;
    float *x = random_floats(nx, -1, 1), *w = random_floats(nw, -1, 1);
    float *b = random_floats(Out, -1, 1), *dy = random_floats(ny, -1, 1);
    float *y = new_floats(ny), *dx = new_floats(nx), *dw = new_floats(nw), *db = new_floats(Out);
    ft_ops_reference.linear_forward(B, In, Out, x, w, b, y);
    ft_ops_reference.linear_backward(B, In, Out, x, w, dy, dx, dw, db);
    float *x_ = to_dev(ops, x, nx), *w_ = to_dev(ops, w, nw), *b_ = to_dev(ops, b, Out);
    float *dy_ = to_dev(ops, dy, ny), *y_ = to_dev(ops, NULL, ny);
    float *gx = with_dx ? to_dev(ops, NULL, nx) : NULL, *gw = to_dev(ops, NULL, nw);
    float *gb = to_dev(ops, NULL, Out);
    ops->linear_forward(B, In, Out, x_, w_, b_, y_);
    ops->linear_backward(B, In, Out, x_, w_, dy_, gx, gw, gb);
    char what[96];
    snprintf(what, sizeof what, "%s linear B%d In%d Out%d", ops->name, B, In, Out);
    float *h = from_dev(ops, y_, ny);
    assert_close(h, y, ny, gemm_atol(In), 1e-4, what);
    free(h);
    if (with_dx) {
        h = from_dev(ops, gx, nx);
        assert_close(h, dx, nx, gemm_atol(Out), 1e-4, what);
        free(h);
    }
    h = from_dev(ops, gw, nw);
    assert_close(h, dw, nw, gemm_atol(B), 1e-4, what);
    free(h);
    h = from_dev(ops, gb, Out);
    assert_close(h, db, Out, gemm_atol(B), 1e-4, what);
    free(h);
    ops->free(x_), ops->free(w_), ops->free(b_), ops->free(dy_), ops->free(y_), ops->free(gx);
    ops->free(gw), ops->free(gb);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
}

static void test_agree_linear(void **state)
{
    (void)state;
    for (int k = 0; fast_backends[k]; k++) {
        const ft_ops_t *ops = fast_backends[k];
        compare_linear(ops, 32, 400, 120, 1); /* lenet5 */
        compare_linear(ops, 32, 120, 84, 1);
        compare_linear(ops, 32, 84, 10, 1);
        compare_linear(ops, 32, 9216, 128, 1); /* paper-lenet */
        compare_linear(ops, 32, 128, 10, 1);
        compare_linear(ops, 32, 512, 10, 1); /* vgg9 head */
        compare_linear(ops, 1, 5, 3, 1);
        compare_linear(ops, 7, 13, 11, 0);
    }
}

static void compare_maxpool(const ft_ops_t *ops, int B, int C, int H, int W, int k, int stride)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    size_t nx = (size_t)B * C * H * W, ny = (size_t)B * C * Ho * Wo;
    float *x = random_floats(nx, -1, 1), *dy = random_floats(ny, -1, 1);
    for (size_t i = 0; i < nx; i += 7) /* some ties: the first maximum must win everywhere */
        x[i] = 0.5f;
    for (size_t i = 5; i < nx; i += 17) /* NaN beats numbers, and the first NaN wins */
        x[i] = NAN;
    float *y = new_floats(ny), *dx = new_floats(nx);
    int32_t *am = malloc(sizeof(int32_t) * ny), *am2 = malloc(sizeof(int32_t) * ny);
    ft_ops_reference.maxpool2d_forward(B, C, H, W, k, stride, x, y, am);
    ft_ops_reference.maxpool2d_backward(B, C, H, W, k, stride, dy, am, dx);
    float *x_ = to_dev(ops, x, nx), *y_ = to_dev(ops, NULL, ny), *dy_ = to_dev(ops, dy, ny);
    float *dx_ = to_dev(ops, NULL, nx);
    int32_t *am_ = ops->alloc(sizeof(int32_t) * ny);
    ops->maxpool2d_forward(B, C, H, W, k, stride, x_, y_, am_);
    ops->maxpool2d_backward(B, C, H, W, k, stride, dy_, am_, dx_);
    ops->download(am2, am_, sizeof(int32_t) * ny);
    assert_memory_equal(am2, am, sizeof(int32_t) * ny);
    float *h = from_dev(ops, y_, ny);
    assert_memory_equal(h, y, sizeof(float) * ny); /* bit for bit, NaN included */
    free(h);
    h = from_dev(ops, dx_, nx);
    assert_close(h, dx, nx, 1e-6, 1e-6, "maxpool dx");
    free(h);
    ops->free(x_), ops->free(y_), ops->free(dy_), ops->free(dx_), ops->free(am_);
    free(x), free(dy), free(y), free(dx), free(am), free(am2);
}

/* The fused relu + maxpool pair: the reference's fused op against the unfused
 * reference ops (relu, pool; pool backward, relu backward), then ops's fused op
 * against the reference's. Half the inputs are negative, so some windows hold no
 * positive value; ties at 0.5 and at 0 test the first-maximum rule. */
static void compare_relu_maxpool(const ft_ops_t *ops, int B, int C, int H, int W, int k, int stride)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    size_t nx = (size_t)B * C * H * W, ny = (size_t)B * C * Ho * Wo;
    float *x = random_floats(nx, -1, 0.6f), *dy = random_floats(ny, -1, 1);
    for (size_t i = 0; i < nx; i += 7)
        x[i] = 0.5f;
    for (size_t i = 3; i < nx; i += 11)
        x[i] = 0.0f;
    for (size_t i = 5; i < nx; i += 17) /* NaN passes the ReLU and wins its window */
        x[i] = NAN;
    float *r = new_floats(nx), *yu = new_floats(ny), *du = new_floats(nx), *dr = new_floats(nx);
    float *y = new_floats(ny), *dx = new_floats(nx);
    int32_t *amu = malloc(sizeof(int32_t) * ny), *am = malloc(sizeof(int32_t) * ny);
    int32_t *am2 = malloc(sizeof(int32_t) * ny);
    /* unfused */
    ft_ops_reference.relu_forward(nx, x, r);
    ft_ops_reference.maxpool2d_forward(B, C, H, W, k, stride, r, yu, amu);
    ft_ops_reference.maxpool2d_backward(B, C, H, W, k, stride, dy, amu, dr);
    ft_ops_reference.relu_backward(nx, r, dr, du);
    /* fused reference */
    ft_ops_reference.relu_maxpool2d_forward(B, C, H, W, k, stride, x, y, am);
    ft_ops_reference.relu_maxpool2d_backward(B, C, H, W, k, stride, y, dy, am, dx);
    assert_memory_equal(y, yu, sizeof(float) * ny);
    assert_close(dx, du, nx, 1e-6, 1e-6, "fused relu+maxpool dx vs unfused");
    /* ops's fused op against the reference's */
    assert_non_null(ops->relu_maxpool2d_forward);
    float *x_ = to_dev(ops, x, nx), *y_ = to_dev(ops, NULL, ny), *dy_ = to_dev(ops, dy, ny);
    float *dx_ = to_dev(ops, NULL, nx);
    int32_t *am_ = ops->alloc(sizeof(int32_t) * ny);
    ops->relu_maxpool2d_forward(B, C, H, W, k, stride, x_, y_, am_);
    ops->relu_maxpool2d_backward(B, C, H, W, k, stride, y_, dy_, am_, dx_);
    ops->download(am2, am_, sizeof(int32_t) * ny);
    assert_memory_equal(am2, am, sizeof(int32_t) * ny);
    float *h = from_dev(ops, x_, nx);
    assert_memory_equal(h, x, sizeof(float) * nx); /* x is left alone */
    free(h);
    h = from_dev(ops, y_, ny);
    assert_memory_equal(h, y, sizeof(float) * ny);
    free(h);
    h = from_dev(ops, dx_, nx);
    assert_close(h, dx, nx, 1e-6, 1e-6, "fused relu+maxpool dx");
    free(h);
    ops->free(x_), ops->free(y_), ops->free(dy_), ops->free(dx_), ops->free(am_);
    free(x), free(dy), free(r), free(yu), free(du), free(dr), free(y), free(dx);
    free(amu), free(am), free(am2);
}

static void compare_avgpool(const ft_ops_t *ops, int B, int C, int H, int W)
{
    size_t nx = (size_t)B * C * H * W, ny = (size_t)B * C;
    float *x = random_floats(nx, -1, 1), *dy = random_floats(ny, -1, 1);
    float *y = new_floats(ny), *dx = new_floats(nx);
    ft_ops_reference.avgpool_global_forward(B, C, H, W, x, y);
    ft_ops_reference.avgpool_global_backward(B, C, H, W, dy, dx);
    float *x_ = to_dev(ops, x, nx), *y_ = to_dev(ops, NULL, ny), *dy_ = to_dev(ops, dy, ny);
    float *dx_ = to_dev(ops, NULL, nx);
    ops->avgpool_global_forward(B, C, H, W, x_, y_);
    ops->avgpool_global_backward(B, C, H, W, dy_, dx_);
    float *h = from_dev(ops, y_, ny);
    assert_close(h, y, ny, 1e-5, 1e-5, "avgpool y");
    free(h);
    h = from_dev(ops, dx_, nx);
    assert_close(h, dx, nx, 1e-7, 1e-6, "avgpool dx");
    free(h);
    ops->free(x_), ops->free(y_), ops->free(dy_), ops->free(dx_);
    free(x), free(dy), free(y), free(dx);
}

static void test_agree_pooling(void **state)
{
    (void)state;
    for (int k = 0; fast_backends[k]; k++) {
        const ft_ops_t *ops = fast_backends[k];
        compare_maxpool(ops, 32, 6, 28, 28, 2, 2); /* lenet5 */
        compare_maxpool(ops, 32, 16, 10, 10, 2, 2);
        compare_maxpool(ops, 4, 64, 24, 24, 2, 2); /* paper-lenet */
        compare_maxpool(ops, 3, 5, 7, 9, 3, 2);    /* overlapping, odd sizes */
        compare_maxpool(ops, 2, 3, 8, 8, 3, 1);
        compare_maxpool(ops, 2, 3, 5, 5, 2, 2);              /* odd input: last row/column unused */
        if (ops->relu_maxpool2d_forward) {                   /* optional: cuda may lack it */
            compare_relu_maxpool(ops, 32, 20, 24, 24, 2, 2); /* lenet5 */
            compare_relu_maxpool(ops, 4, 64, 24, 24, 2, 2);  /* paper-lenet */
            compare_relu_maxpool(ops, 3, 5, 7, 9, 3, 2);     /* overlapping, odd sizes */
            compare_relu_maxpool(ops, 2, 3, 5, 5, 2, 2);     /* last row/column unused */
        }
        compare_avgpool(ops, 32, 512, 2, 2); /* vgg9 */
        compare_avgpool(ops, 3, 5, 7, 3);
    }
}

static void test_agree_elementwise(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 5, 64, 1001, 32 * 6 * 28 * 28};
    for (int k = 0; fast_backends[k]; k++) {
        const ft_ops_t *ops = fast_backends[k];
        for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
            size_t n = sizes[t];
            float *x = random_floats(n, -1, 1), *dy = random_floats(n, -1, 1);
            float *y = new_floats(n), *dx = new_floats(n), *mask = new_floats(n);
            float *x_ = to_dev(ops, x, n), *dy_ = to_dev(ops, dy, n), *y_ = to_dev(ops, NULL, n);
            float *dx_ = to_dev(ops, NULL, n), *m_ = to_dev(ops, NULL, n);
            float *h;

            ft_ops_reference.relu_forward(n, x, y);
            ft_ops_reference.relu_backward(n, y, dy, dx);
            ops->relu_forward(n, x_, y_);
            ops->relu_backward(n, y_, dy_, dx_);
            h = from_dev(ops, y_, n);
            assert_close(h, y, n, 0, 0, "relu y");
            free(h);
            h = from_dev(ops, dx_, n);
            assert_close(h, dx, n, 0, 0, "relu dx");
            free(h);
            ops->relu_forward(n, x_, x_); /* in place */
            h = from_dev(ops, x_, n);
            assert_close(h, y, n, 0, 0, "relu in place");
            free(h);
            ops->upload(x_, x, sizeof(float) * n);

            ft_ops_reference.dropout_forward(n, 0.3f, 42, 1000 + t, x, y, mask);
            ft_ops_reference.dropout_backward(n, dy, mask, dx);
            ops->dropout_forward(n, 0.3f, 42, 1000 + t, x_, y_, m_);
            ops->dropout_backward(n, dy_, m_, dx_);
            h = from_dev(ops, m_, n);
            assert_close(h, mask, n, 0, 0, "dropout mask");
            free(h);
            h = from_dev(ops, y_, n);
            assert_close(h, y, n, 1e-7, 1e-6, "dropout y");
            free(h);
            h = from_dev(ops, dx_, n);
            assert_close(h, dx, n, 1e-7, 1e-6, "dropout dx");
            free(h);

            ops->free(x_), ops->free(dy_), ops->free(y_), ops->free(dx_), ops->free(m_);
            free(x), free(dy), free(y), free(dx), free(mask);
        }
    }
}

static void test_agree_softmax_xent(void **state)
{
    (void)state;
    const int shapes[][2] = {{32, 10}, {1, 2}, {7, 100}, {5, 3}};
    for (int k = 0; fast_backends[k]; k++) {
        const ft_ops_t *ops = fast_backends[k];
        for (int t = 0; t < 4; t++) {
            int B = shapes[t][0], C = shapes[t][1];
            size_t n = (size_t)B * C;
            /* t = 3: logits in the thousands (exp overflows without the max shift) */
            float range = t == 3 ? 3000.0f : 5.0f;
            float *z = random_floats(n, -range, range), *p = new_floats(n), *dz = new_floats(n);
            int32_t *labels = malloc(sizeof(int32_t) * B);
            for (int b = 0; b < B; b++)
                labels[b] = (int32_t)ft_rng_below(&test_rng, C);
            float loss = ft_ops_reference.softmax_xent_forward(B, C, z, labels, p);
            ft_ops_reference.softmax_xent_backward(B, C, p, labels, dz);
            float *z_ = to_dev(ops, z, n), *p_ = to_dev(ops, NULL, n), *dz_ = to_dev(ops, NULL, n);
            int32_t *l_ = ops->alloc(sizeof(int32_t) * B);
            ops->upload(l_, labels, sizeof(int32_t) * B);
            float loss2 = ops->softmax_xent_forward(B, C, z_, l_, p_);
            ops->softmax_xent_backward(B, C, p_, l_, dz_);
            assert_true(isfinite(loss));
            assert_true(fabsf(loss2 - loss) <= 1e-5f + 1e-5f * fabsf(loss));
            float *h = from_dev(ops, p_, n);
            assert_close(h, p, n, 1e-6, 1e-5, "softmax probs");
            free(h);
            h = from_dev(ops, dz_, n);
            assert_close(h, dz, n, 1e-7, 1e-5, "softmax dlogits");
            free(h);
            ops->free(z_), ops->free(p_), ops->free(dz_), ops->free(l_);
            free(z), free(p), free(dz), free(labels);
        }
    }
}

static void test_agree_vector_ops(void **state)
{
    (void)state;
    const size_t n = 100003;
    for (int k = 0; fast_backends[k]; k++) {
        const ft_ops_t *ops = fast_backends[k];
        float *a = random_floats(n, -1, 1), *b = random_floats(n, -1, 1);
        float *g = random_floats(n, -1, 1), *buf = random_floats(n, -1, 1);
        float *a_ = to_dev(ops, a, n), *b_ = to_dev(ops, b, n), *g_ = to_dev(ops, g, n);
        float *buf_ = to_dev(ops, buf, n), *o_ = to_dev(ops, NULL, n);
        double d0 = ft_ops_reference.dot(n, a, b), d1 = ops->dot(n, a_, b_);
        assert_true(fabs(d1 - d0) <= 1e-9 * n);
        d0 = ft_ops_reference.norm2(n, a), d1 = ops->norm2(n, a_);
        assert_true(fabs(d1 - d0) <= 1e-12 * n);

        float *out = new_floats(n), *h;
        ft_ops_reference.sub(n, a, b, out);
        ops->sub(n, a_, b_, o_);
        h = from_dev(ops, o_, n);
        assert_close(h, out, n, 0, 0, "sub");
        free(h);
        ft_ops_reference.axpy(n, -0.37f, a, b);
        ops->axpy(n, -0.37f, a_, b_);
        h = from_dev(ops, b_, n);
        assert_close(h, b, n, 1e-7, 1e-6, "axpy");
        free(h);
        ft_ops_reference.scale(n, 1.7f, a);
        ops->scale(n, 1.7f, a_);
        h = from_dev(ops, a_, n);
        assert_close(h, a, n, 0, 0, "scale");
        free(h);
        for (int step = 0; step < 3; step++) {
            ft_ops_reference.sgd_step(n, a, g, buf, 0.05f, 0.9f, 5e-4f);
            ops->sgd_step(n, a_, g_, buf_, 0.05f, 0.9f, 5e-4f);
        }
        h = from_dev(ops, a_, n);
        assert_close(h, a, n, 1e-7, 1e-6, "sgd params");
        free(h);
        h = from_dev(ops, buf_, n);
        assert_close(h, buf, n, 1e-7, 1e-6, "sgd momentum");
        free(h);
        ops->free(a_), ops->free(b_), ops->free(g_), ops->free(buf_), ops->free(o_);
        free(a), free(b), free(g), free(buf), free(out);
    }
}

/* ------------------------------------------------------- NaN / Inf propagation */

static void test_nonfinite_propagate(void **state)
{
    (void)state;
    const ft_ops_t *all[4] = {&ft_ops_reference, NULL, NULL, NULL};
    for (int k = 0; fast_backends[k]; k++)
        all[k + 1] = fast_backends[k];
    /* conv: a NaN and an Inf in x; each back end's output has NaN exactly where the
     * reference has (the NaN's receptive field, plus Inf*(+-w) sums that meet it) */
    ft_conv2d_shape_t s = {2, 3, 9, 9, 4, 3, 3, 1, 1, 0, 0};
    ft_conv2d_shape(&s);
    size_t nx = 2 * 3 * 81, nw = 4 * 27, ny = 2 * 4 * 81;
    float *x = random_floats(nx, -1, 1), *w = random_floats(nw, -1, 1);
    float *b = random_floats(4, -1, 1), *dy = random_floats(ny, -1, 1);
    x[40] = NAN;
    x[81 * 3 + 10] = INFINITY;
    float *yref = new_floats(ny), *dxref = new_floats(nx), *dwref = new_floats(nw);
    float *dbref = new_floats(4);
    ft_ops_reference.conv2d_forward(&s, x, w, b, yref, NULL);
    ft_ops_reference.conv2d_backward(&s, x, w, dy, dxref, dwref, dbref, NULL);
    for (int k = 1; all[k]; k++) {
        const ft_ops_t *ops = all[k];
        float *x_ = to_dev(ops, x, nx), *w_ = to_dev(ops, w, nw), *b_ = to_dev(ops, b, 4);
        float *dy_ = to_dev(ops, dy, ny), *y_ = to_dev(ops, NULL, ny);
        float *gx = to_dev(ops, NULL, nx), *gw = to_dev(ops, NULL, nw), *gb = to_dev(ops, NULL, 4);
        float *ws = to_dev(ops, NULL, ops->conv2d_workspace(&s));
        ops->conv2d_forward(&s, x_, w_, b_, y_, ws);
        ops->conv2d_backward(&s, x_, w_, dy_, gx, gw, gb, ws);
        float *h = from_dev(ops, y_, ny);
        assert_true(assert_same_nonfinite(h, yref, ny, "conv y") >= 9);
        free(h);
        h = from_dev(ops, gw, nw);
        assert_true(assert_same_nonfinite(h, dwref, nw, "conv dw") > 0);
        free(h);
        h = from_dev(ops, gx, nx);
        assert_same_nonfinite(h, dxref, nx, "conv dx"); /* dx does not depend on x */
        free(h);
        ops->free(x_), ops->free(w_), ops->free(b_), ops->free(dy_), ops->free(y_);
        ops->free(gx), ops->free(gw), ops->free(gb), ops->free(ws);
    }

    for (int k = 0; all[k]; k++) {
        const ft_ops_t *ops = all[k];
        /* linear: NaN in one input row makes that output row NaN only */
        float xin[6] = {1, NAN, 2, 3, 4, 5}, win[6] = {1, 2, 3, 4, 5, 6}, bin[2] = {0, 1};
        float *x_ = to_dev(ops, xin, 6), *w_ = to_dev(ops, win, 6), *b_ = to_dev(ops, bin, 2);
        float *y_ = to_dev(ops, NULL, 4);
        ops->linear_forward(2, 3, 2, x_, w_, b_, y_);
        float *h = from_dev(ops, y_, 4);
        assert_true(isnan(h[0]) && isnan(h[1]));
        assert_float_equal(h[2], 3 * 1 + 4 * 2 + 5 * 3 + 0, 1e-6); /* 26 */
        assert_float_equal(h[3], 3 * 4 + 4 * 5 + 5 * 6 + 1, 1e-6); /* 63 */
        free(h);
        /* relu keeps NaN and +Inf, zeroes -Inf */
        float r[4] = {NAN, INFINITY, -INFINITY, -1};
        ops->upload(y_, r, sizeof r);
        ops->relu_forward(4, y_, y_);
        h = from_dev(ops, y_, 4);
        assert_true(isnan(h[0]) && isinf(h[1]) && h[1] > 0 && h[2] == 0 && h[3] == 0);
        free(h);
        /* maxpool: a NaN wins its window */
        float mp[8] = {1, NAN, 3, 4, 5, 6, 7, 8};
        float *mp_ = to_dev(ops, mp, 8), *mo_ = to_dev(ops, NULL, 2);
        int32_t *am_ = ops->alloc(2 * sizeof(int32_t)), am[2];
        ops->maxpool2d_forward(1, 1, 2, 4, 2, 2, mp_, mo_, am_);
        h = from_dev(ops, mo_, 2);
        ops->download(am, am_, sizeof am);
        assert_true(isnan(h[0]));
        assert_int_equal(am[0], 1);
        assert_float_equal(h[1], 8, 0);
        assert_int_equal(am[1], 7);
        free(h);
        /* fused relu + maxpool: the NaN still wins its window and takes the gradient;
         * a window of negatives gives +0 and no gradient */
        if (ops->relu_maxpool2d_forward) {
            float rp[8] = {-1, NAN, -3, -4, -5, -6, -7, -8}, g[2] = {0.5f, 0.25f}, gx[8];
            float *g_ = to_dev(ops, g, 2), *gx_ = to_dev(ops, NULL, 8);
            ops->upload(mp_, rp, sizeof rp);
            ops->relu_maxpool2d_forward(1, 1, 2, 4, 2, 2, mp_, mo_, am_);
            ops->relu_maxpool2d_backward(1, 1, 2, 4, 2, 2, mo_, g_, am_, gx_);
            h = from_dev(ops, mo_, 2);
            assert_true(isnan(h[0]));
            assert_true(h[1] == 0.0f && !signbit(h[1]));
            free(h);
            ops->download(gx, gx_, sizeof gx);
            for (int i = 0; i < 8; i++)
                assert_float_equal(gx[i], i == 1 ? 0.5f : 0.0f, 0);
            ops->free(g_), ops->free(gx_);
        }
        /* softmax with an Inf logit: NaN loss, no crash */
        float z[3] = {1, INFINITY, 2};
        int32_t lab = 0, *l_ = ops->alloc(sizeof(int32_t));
        ops->upload(l_, &lab, sizeof lab);
        float *z_ = to_dev(ops, z, 3), *p_ = to_dev(ops, NULL, 3);
        float loss = ops->softmax_xent_forward(1, 3, z_, l_, p_);
        assert_false(isfinite(loss));
        /* dot/norm of a vector holding NaN */
        float v[3] = {1, NAN, 2};
        float *v_ = to_dev(ops, v, 3);
        assert_true(isnan(ops->dot(3, v_, v_)));
        assert_true(isnan(ops->norm2(3, v_)));
        ops->free(x_), ops->free(w_), ops->free(b_), ops->free(y_), ops->free(mp_);
        ops->free(mo_), ops->free(am_), ops->free(l_), ops->free(z_), ops->free(p_);
        ops->free(v_);
    }
    free(x), free(w), free(b), free(dy), free(yref), free(dxref), free(dwref), free(dbref);
}

/* --------------------------------------------------------- hand-worked values */

/* torch.optim.SGD(lr 0.1, momentum 0.9, weight_decay 0.01) on p = (1, -2) with
 * grads (0.5, 0.25), (0.5, -1), (0.5, 0). Worked by hand for element 0:
 *   g = 0.5 + 0.01*1 = 0.51,          buf = 0.51,                  p = 0.949
 *   g = 0.5 + 0.00949 = 0.50949,      buf = 0.459 + 0.50949 = 0.96849, p = 0.852151
 *   g = 0.5 + 0.00852151,             buf = 1.38016251,            p = 0.714134749
 * and element 1: p = -2.023, -1.941677, -1.866544623; buf = 0.23, -0.81323,
 * -0.75132377. PyTorch 1.13 prints the same to float precision. */
static void test_sgd_hand_values(void **state)
{
    (void)state;
    const ft_ops_t *all[3] = {&ft_ops_reference, &ft_ops_cpu, NULL};
    const float grads[3][2] = {{0.5f, 0.25f}, {0.5f, -1.0f}, {0.5f, 0.0f}};
    const double want_p[3][2] = {
        {0.949, -2.023}, {0.852151, -1.941677}, {0.714134749, -1.866544623}};
    const double want_buf[3][2] = {{0.51, 0.23}, {0.96849, -0.81323}, {1.38016251, -0.75132377}};
    for (int k = 0; all[k]; k++) {
        float p[2] = {1.0f, -2.0f}, buf[2] = {0, 0};
        for (int step = 0; step < 3; step++) {
            all[k]->sgd_step(2, p, grads[step], buf, 0.1f, 0.9f, 0.01f);
            for (int i = 0; i < 2; i++) {
                assert_float_equal(p[i], want_p[step][i], 1e-6);
                assert_float_equal(buf[i], want_buf[step][i], 1e-6);
            }
        }
        /* plain SGD (momentum 0): p -= lr (g + wd p); the buffer is never touched */
        float q[2] = {1.0f, -2.0f};
        all[k]->sgd_step(2, q, grads[0], NULL, 0.1f, 0.0f, 0.01f);
        assert_float_equal(q[0], 0.949, 1e-6);
        assert_float_equal(q[1], -2.023, 1e-6);
        all[k]->sgd_step(2, q, grads[1], NULL, 0.5f, 0.0f, 0.0f);
        assert_float_equal(q[0], 0.699, 1e-6);
        assert_float_equal(q[1], -1.523, 1e-6);
    }
}

/* logits (1, 2, 3), label 2: loss = log(e + e^2 + e^3) - 3 = 0.4076059644; probs
 * (0.0900306, 0.2447285, 0.6652410); logits (1000, 0): loss 0 for label 0 and 1000
 * for label 1 (exp(1000) overflows unless the max is subtracted). */
static void test_softmax_hand_values(void **state)
{
    (void)state;
    const ft_ops_t *all[3] = {&ft_ops_reference, &ft_ops_cpu, NULL};
    for (int k = 0; all[k]; k++) {
        float z[3] = {1, 2, 3}, p[3], dz[4];
        int32_t lab = 2;
        float loss = all[k]->softmax_xent_forward(1, 3, z, &lab, p);
        assert_float_equal(loss, 0.4076059644, 1e-6);
        assert_float_equal(p[0], 0.0900306, 1e-6);
        assert_float_equal(p[1], 0.2447285, 1e-6);
        assert_float_equal(p[2], 0.6652410, 1e-6);
        all[k]->softmax_xent_backward(1, 3, p, &lab, dz);
        assert_float_equal(dz[2], 0.6652410 - 1, 1e-6);
        float big[4] = {1000, 0, 1000, 0}, pb[4];
        int32_t labs[2] = {0, 1};
        loss = all[k]->softmax_xent_forward(2, 2, big, labs, pb);
        assert_float_equal(loss, 500.0, 1e-3); /* mean of 0 and 1000 */
        assert_float_equal(pb[0], 1.0, 0);
        assert_float_equal(pb[1], 0.0, 0);
        all[k]->softmax_xent_backward(2, 2, pb, labs, dz);
        assert_float_equal(dz[0], 0.0, 0);
        assert_float_equal(dz[2], 0.5, 0); /* (1 - 0) / B */
        assert_float_equal(dz[3], -0.5, 0);
    }
}

static void test_vector_hand_values(void **state)
{
    (void)state;
    const ft_ops_t *all[3] = {&ft_ops_reference, &ft_ops_cpu, NULL};
    for (int k = 0; all[k]; k++) {
        const ft_ops_t *o = all[k];
        /* 11 elements: not a multiple of any vector width */
        float a[11] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
        float b[11] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1};
        assert_float_equal(o->dot(11, a, b), 44, 0);             /* 1+..+10 - 11 */
        assert_float_equal(o->norm2(11, a), sqrt(506.0), 1e-12); /* sum k^2, k=1..11 */
        float c[2] = {3, 4};
        assert_float_equal(o->norm2(2, c), 5.0, 0);
        assert_float_equal(o->dot(0, a, b), 0.0, 0);
        /* 1e8 + 1 - 1e8 in float would be 0; double accumulation keeps the 1 */
        float big[3] = {1e8f, 1.0f, -1e8f}, ones[3] = {1, 1, 1};
        assert_float_equal(o->dot(3, big, ones), 1.0, 0);
        float y[3] = {1, 2, 3}, x[3] = {10, 20, 30}, out[3];
        o->axpy(3, 0.5f, x, y);
        assert_float_equal(y[0], 6, 0);
        assert_float_equal(y[1], 12, 0);
        assert_float_equal(y[2], 18, 0);
        o->scale(3, -2.0f, y);
        assert_float_equal(y[0], -12, 0);
        assert_float_equal(y[2], -36, 0);
        o->sub(3, x, y, out);
        assert_float_equal(out[0], 22, 0);
        assert_float_equal(out[1], 44, 0);
        assert_float_equal(out[2], 66, 0);
    }
}

/* 2×3 · 3×2 and its transposed forms against hand products. */
static void test_sgemm_hand_values(void **state)
{
    (void)state;
    const float A[6] = {1, 2, 3, 4, 5, 6};    /* 2×3 */
    const float B[6] = {7, 8, 9, 10, 11, 12}; /* 3×2 */
    float C[4] = {1, 1, 1, 1};
    ft_sgemm(0, 0, 2, 2, 3, 1.0f, A, 3, B, 2, 0.0f, C, 2);
    assert_float_equal(C[0], 58, 0); /* 1*7 + 2*9 + 3*11 */
    assert_float_equal(C[1], 64, 0);
    assert_float_equal(C[2], 139, 0);
    assert_float_equal(C[3], 154, 0);
    /* A^T A (3×3), alpha 2, beta 1 on ones: 2 * [17 22 27; 22 29 36; 27 36 45] + 1 */
    float G[9];
    for (int i = 0; i < 9; i++)
        G[i] = 1;
    ft_sgemm(1, 0, 3, 3, 2, 2.0f, A, 3, A, 3, 1.0f, G, 3);
    assert_float_equal(G[0], 35, 0);
    assert_float_equal(G[1], 45, 0);
    assert_float_equal(G[4], 59, 0);
    assert_float_equal(G[8], 91, 0);
    /* A A^T (2×2) = [14 32; 32 77] */
    ft_sgemm(0, 1, 2, 2, 3, 1.0f, A, 3, A, 3, 0.0f, C, 2);
    assert_float_equal(C[0], 14, 0);
    assert_float_equal(C[1], 32, 0);
    assert_float_equal(C[3], 77, 0);
}

/* ft_gram_tiled: hand values, then every tile shape (M not a multiple of the 4-row
 * tile, N not a multiple of the 16-float vector nor of the panel width, rows not
 * contiguous) against a double reference, with the lower triangle left as it was. */
static void test_gram_tiled(void **state)
{
    (void)state;
    if (!ft_gram_tiled_available()) {
        print_message("no AVX-512 on this CPU: the tiled Gram kernel is not used\n");
        const float r[3] = {1, 2, 3};
        const float *rows1[1] = {r};
        double g = -1;
        assert_int_equal(ft_gram_tiled(rows1, 1, 3, &g), 0);
        assert_true(g == -1); /* untouched: the caller takes the BLAS route */
        return;
    }
    const float A[6] = {1, 2, 3, 4, 5, 6}; /* 2×3: A Aᵀ = [14 32; 32 77] */
    const float *rows2[2] = {A, A + 3};
    double C[4] = {-1, -1, -1, -1};
    assert_int_equal(ft_gram_tiled(rows2, 2, 3, C), 1);
    assert_true(C[0] == 14 && C[1] == 32 && C[3] == 77);
    assert_true(C[2] == -1); /* lower triangle untouched */

    const int Ms[] = {1, 3, 4, 5, 17, 30, 63, 64, 100, 127};
    const size_t Ns[] = {1, 15, 16, 17, 1000, 5000};
    for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++)
        for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++) {
            int M = Ms[mi];
            size_t N = Ns[ni], stride = N + 3;
            float *X = malloc((size_t)M * stride * sizeof *X);
            const float **rows = malloc((size_t)M * sizeof *rows);
            double *G = malloc((size_t)M * M * sizeof *G);
            for (size_t i = 0; i < (size_t)M * stride; i++)
                X[i] = uniform(-1, 1);
            for (int i = 0; i < M; i++)
                rows[i] = X + (size_t)(M - 1 - i) * stride; /* reversed: not one block */
            for (int i = 0; i < M * M; i++)
                G[i] = 1234.5;
            assert_int_equal(ft_gram_tiled(rows, M, N, G), 1);
            for (int i = 0; i < M; i++)
                for (int k = 0; k < M; k++) {
                    if (k < i) {
                        assert_true(G[i * M + k] == 1234.5);
                        continue;
                    }
                    double ref = 0, mag = 0;
                    for (size_t j = 0; j < N; j++) {
                        ref += (double)rows[i][j] * rows[k][j];
                        mag += fabs((double)rows[i][j] * rows[k][j]);
                    }
                    if (fabs(G[i * M + k] - ref) > 1e-5 * mag + 1e-9)
                        fail_msg("M=%d N=%zu G[%d][%d] = %g, reference %g", M, N, i, k,
                                 G[i * M + k], ref);
                }
            free(X);
            free(rows);
            free(G);
        }
    assert_int_equal(ft_gram_tiled(rows2, 128, 3, C), 0); /* large M: the BLAS route */
}

/* ---------------------------------------------------------------- dropout */

static void test_dropout_statistics(void **state)
{
    (void)state;
    const size_t n = 200000;
    const float ps[3] = {0.5f, 0.25f, 0.9f};
    float *x = new_floats(n), *y = new_floats(n), *mask = new_floats(n), *mask2 = new_floats(n);
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f + (float)(i % 3);
    for (int t = 0; t < 3; t++) {
        float p = ps[t], scale = 1.0f / (1.0f - p);
        ft_ops_cpu.dropout_forward(n, p, 2024, 5, x, y, mask);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            assert_true(mask[i] == 0.0f || mask[i] == scale);
            assert_true(y[i] == x[i] * mask[i]);
            kept += mask[i] != 0.0f;
        }
        /* kept ~ Binomial(n, 1-p): within 5 standard deviations */
        double mean = n * (1.0 - p), sd = sqrt(n * p * (1.0 - p));
        assert_true(fabs((double)kept - mean) <= 5 * sd);
        /* same (seed, counter): same mask */
        ft_ops_cpu.dropout_forward(n, p, 2024, 5, x, y, mask2);
        assert_memory_equal(mask, mask2, sizeof(float) * n);
        /* another counter or seed: a different mask; independent masks disagree at
         * about 2p(1-p) of positions */
        for (int which = 0; which < 2; which++) {
            ft_ops_cpu.dropout_forward(n, p, which ? 2025 : 2024, which ? 5 : 6, x, y, mask2);
            size_t differ = 0;
            for (size_t i = 0; i < n; i++)
                differ += mask[i] != mask2[i];
            double want = 2.0 * p * (1.0 - p) * n;
            assert_true(fabs((double)differ - want) <= 0.05 * want);
        }
    }
    /* p = 0: everything kept with scale 1 */
    ft_ops_cpu.dropout_forward(n, 0.0f, 1, 2, x, y, mask);
    for (size_t i = 0; i < n; i++)
        assert_true(mask[i] == 1.0f && y[i] == x[i]);
    free(x), free(y), free(mask), free(mask2);
}

/* ft_dropout_keep follows its spec: Philox4x32-10 of counter words (counter lo,
 * counter hi, i/4 lo, i/4 hi) and key = seed, word i%4, keep iff word >= p 2^32. */
static void test_dropout_keep_spec(void **state)
{
    (void)state;
    const uint64_t seed = 0x0123456789abcdefULL, counter = 0xfedcba9876543210ULL;
    const size_t idx[] = {0, 1, 2, 3, 4, 7, 12345, ((size_t)1 << 34) + 6};
    const uint32_t key[2] = {0x89abcdefu, 0x01234567u};
    for (size_t t = 0; t < sizeof idx / sizeof idx[0]; t++) {
        size_t i = idx[t];
        uint64_t blk = i / 4;
        uint32_t ctr[4] = {0x76543210u, 0xfedcba98u, (uint32_t)blk, (uint32_t)(blk >> 32)};
        uint32_t out[4];
        ft_philox4x32(ctr, key, out);
        uint32_t word = out[i % 4];
        /* the largest float p with p 2^32 <= word keeps; the next float up drops:
         * any other word would (almost surely) fall outside that window */
        float p_lo = (float)((double)word / 4294967296.0);
        if ((double)p_lo * 4294967296.0 > (double)word)
            p_lo = nextafterf(p_lo, 0.0f);
        float p_hi = nextafterf(p_lo, 1.0f);
        assert_int_equal(ft_dropout_keep(seed, counter, i, p_lo), 1);
        assert_int_equal(ft_dropout_keep(seed, counter, i, p_hi), 0);
        assert_int_equal(ft_dropout_keep(seed, counter, i, 0.0f), 1);
        assert_int_equal(ft_dropout_keep(seed, counter, i, 1.0f), 0);
    }
    /* each back end's mask matches ft_dropout_keep element by element */
    const size_t n = 1003;
    float *x = random_floats(n, -1, 1), *y = new_floats(n), *mask = new_floats(n);
    const ft_ops_t *all[4] = {&ft_ops_reference, NULL, NULL, NULL};
    for (int k = 0; fast_backends[k]; k++)
        all[k + 1] = fast_backends[k];
    for (int k = 0; all[k]; k++) {
        float *x_ = to_dev(all[k], x, n), *y_ = to_dev(all[k], NULL, n);
        float *m_ = to_dev(all[k], NULL, n);
        all[k]->dropout_forward(n, 0.35f, seed, counter, x_, y_, m_);
        all[k]->download(mask, m_, sizeof(float) * n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(mask[i] != 0.0f, ft_dropout_keep(seed, counter, i, 0.35f));
        all[k]->free(x_), all[k]->free(y_), all[k]->free(m_);
    }
    free(x), free(y), free(mask);
}

/* ---------------------------------------------------------------- registry */

static void test_find(void **state)
{
    (void)state;
    assert_ptr_equal(ft_ops_find("reference"), &ft_ops_reference);
    assert_ptr_equal(ft_ops_find("cpu"), &ft_ops_cpu);
    assert_null(ft_ops_find("tpu"));
    assert_null(ft_ops_find(NULL));
    const ft_ops_t *cuda = ft_ops_find("cuda");
    if (cuda)
        assert_string_equal(cuda->name, "cuda");
    assert_string_equal(ft_ops_reference.name, "reference");
    assert_string_equal(ft_ops_cpu.name, "cpu");
    /* alloc is zeroed and aligned for vector loads */
    float *p = ft_ops_cpu.alloc(1000);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 64, 0);
    for (int i = 0; i < 250; i++)
        assert_true(p[i] == 0.0f);
    ft_ops_cpu.free(p);
    ft_ops_cpu.free(NULL);
    /* shape */
    ft_conv2d_shape_t s = {1, 1, 28, 28, 6, 5, 5, 1, 2, 0, 0};
    ft_conv2d_shape(&s);
    assert_int_equal(s.Ho, 28);
    assert_int_equal(s.Wo, 28);
    ft_conv2d_shape_t s2 = {1, 1, 9, 7, 1, 3, 2, 2, 1, 0, 0};
    ft_conv2d_shape(&s2);
    assert_int_equal(s2.Ho, 5); /* (9 + 2 - 3)/2 + 1 */
    assert_int_equal(s2.Wo, 4); /* (7 + 2 - 2)/2 + 1 */
}

/* run.threads is capped at the CPUs of the affinity mask: with the process pinned to
 * one CPU, asking for 8 (or 1024) BLAS threads gives 1; the mask restored, at most
 * its CPU count. */
static void test_threads_capped_by_affinity(void **state)
{
    (void)state;
    cpu_set_t all, one;
    assert_int_equal(sched_getaffinity(0, sizeof all, &all), 0);
    int first = 0;
    while (!CPU_ISSET(first, &all))
        first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    assert_int_equal(ft_ops_cpus_allowed(), 1);
    ft_ops_set_threads(8);
    assert_int_equal(ft_ops_threads(), 1);
    ft_ops_set_threads(1024);
    assert_int_equal(ft_ops_threads(), 1);
    assert_int_equal(sched_setaffinity(0, sizeof all, &all), 0);
    int cpus = ft_ops_cpus_allowed();
    assert_int_equal(cpus, CPU_COUNT(&all));
    ft_ops_set_threads(1024);
    assert_true(ft_ops_threads() >= 1 && ft_ops_threads() <= cpus);
    ft_ops_set_threads(1);
    assert_int_equal(ft_ops_threads(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_threads_capped_by_affinity),
        cmocka_unit_test(test_sgemm_hand_values),
        cmocka_unit_test_setup(test_gram_tiled, setup_rng),
        cmocka_unit_test(test_vector_hand_values),
        cmocka_unit_test(test_sgd_hand_values),
        cmocka_unit_test(test_softmax_hand_values),
        cmocka_unit_test_setup(test_gradcheck_conv2d, setup_rng),
        cmocka_unit_test_setup(test_gradcheck_linear, setup_rng),
        cmocka_unit_test_setup(test_gradcheck_maxpool, setup_rng),
        cmocka_unit_test_setup(test_gradcheck_avgpool, setup_rng),
        cmocka_unit_test_setup(test_gradcheck_relu, setup_rng),
        cmocka_unit_test_setup(test_gradcheck_dropout, setup_rng),
        cmocka_unit_test_setup(test_gradcheck_softmax_xent, setup_rng),
        cmocka_unit_test_setup(test_agree_conv2d, setup_backends),
        cmocka_unit_test_setup(test_agree_linear, setup_backends),
        cmocka_unit_test_setup(test_agree_pooling, setup_backends),
        cmocka_unit_test_setup(test_agree_elementwise, setup_backends),
        cmocka_unit_test_setup(test_agree_softmax_xent, setup_backends),
        cmocka_unit_test_setup(test_agree_vector_ops, setup_backends),
        cmocka_unit_test_setup(test_nonfinite_propagate, setup_backends),
        cmocka_unit_test_setup(test_dropout_statistics, setup_backends),
        cmocka_unit_test_setup(test_dropout_keep_spec, setup_backends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
