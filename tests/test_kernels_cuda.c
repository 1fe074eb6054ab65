/* test_kernels_cuda: every op of the CUDA back end (kernels/cuda/) against the CPU
 * reference (ft_ops_reference), on seeded inputs.
 *
 *   test_kernels_cuda            the device table ft_ops_cuda(); exits 77 (skipped)
 *                                where no CUDA device is present. ctest label: gpu.
 *   test_kernels_cuda --emulate  the same tests on ft_ops_cuda_host_emulation(): the
 *                                back end's index maths (im2col/col2im layouts, cuBLAS
 *                                argument mapping, chunking, element bodies, the Philox
 *                                port) on host memory. Runs everywhere CUDA is built.
 *
 * Tolerances (|got - want| <= atol + rtol*|want|, a NaN on either side is a
 * mismatch):
 *   - GEMM ops (conv2d, linear; float32 accumulation on the GPU vs double in the
 *     reference, inputs in [-1, 1], at most ~150 terms): atol 1e-4, rtol 1e-4;
 *   - softmax probabilities and loss (device exp/log within 1 ulp of glibc's):
 *     atol 1e-7, rtol 1e-6;
 *   - dot/norm2 (double accumulation in another order): rtol 1e-12;
 *   - everything else is bit-identical by construction (same operation order, no FMA
 *     contraction: kernels/cuda is built with -fmad=false) and compared bitwise:
 *     relu, dropout mask and output, max-pool values/argmax/gradient, average
 *     pooling, softmax backward, SGD, axpy, scale, sub. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_ops.h"
#include "ft_ops_cuda.h"
#include "ft_rng.h"

static const ft_ops_t *G;                           /* the table under test */
static const ft_ops_t *const R = &ft_ops_reference; /* the yardstick */

/* ---- helpers -------------------------------------------------------------- */

static float *host_uniform(size_t n, uint32_t tag, float lo, float hi)
{
    float *a = ft_malloc((n ? n : 1) * sizeof *a);
    assert_non_null(a);
    ft_rng_t rng;
    ft_rng_init(&rng, 20240611, tag, 0, FT_RNG_TEST);
    for (size_t i = 0; i < n; i++)
        a[i] = lo + (hi - lo) * (float)ft_rng_uniform(&rng);
    return a;
}

static float *host_zeros(size_t n)
{
    float *a = ft_calloc(n ? n : 1, sizeof *a);
    assert_non_null(a);
    return a;
}

/* A buffer in G's memory holding bytes from host (or zeros when host is NULL). */
static void *dev(const void *host, size_t bytes)
{
    void *d = G->alloc(bytes);
    assert_non_null(d);
    if (host)
        G->upload(d, host, bytes);
    return d;
}

static float *down(const void *d, size_t n)
{
    float *h = host_zeros(n);
    G->download(h, d, n * sizeof(float));
    return h;
}

/* Mismatches of got against want under |got-want| <= atol + rtol*|want|; a NaN on
 * either side counts. Prints the first few. */
static size_t mismatches(const char *what, const float *got, const float *want, size_t n,
                         double atol, double rtol)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        int ok = !isnan(g) && !isnan(w) && fabs(g - w) <= atol + rtol * fabs(w);
        if (!ok && bad++ < 5)
            fprintf(stderr, "%s[%zu]: got %.9g want %.9g\n", what, i, g, w);
    }
    if (bad)
        fprintf(stderr, "%s: %zu of %zu mismatch\n", what, bad, n);
    return bad;
}

/* Bitwise comparison for the ops that are exact by construction. */
static void assert_bits(const char *what, const void *got, const void *want, size_t bytes)
{
    if (memcmp(got, want, bytes) != 0) {
        const uint32_t *g = got, *w = want;
        for (size_t i = 0; i < bytes / 4; i++)
            if (g[i] != w[i]) {
                fprintf(stderr, "%s[%zu]: got 0x%08x want 0x%08x\n", what, i, g[i], w[i]);
                break;
            }
        fail_msg("%s differs bitwise from the reference", what);
    }
}

#define GEMM_ATOL 1e-4
#define GEMM_RTOL 1e-4

/* ---- memory ------------------------------------------------------------- */

static void test_memory(void **state)
{
    (void)state;
    const size_t n = 1000;
    float *d = G->alloc(n * sizeof(float));
    assert_non_null(d);
    float *h = down(d, n);
    for (size_t i = 0; i < n; i++)
        assert_true(h[i] == 0.0f); /* alloc returns zeroed memory */
    float *src = host_uniform(n, 1, -1, 1);
    G->upload(d, src, n * sizeof(float));
    float *d2 = G->alloc(n * sizeof(float));
    G->copy(d2, d, n * sizeof(float));
    float *back = down(d2, n);
    assert_bits("upload/copy/download", back, src, n * sizeof(float));
    G->zero(d2 + 10, 20 * sizeof(float));
    float *z = down(d2, n);
    for (size_t i = 0; i < n; i++)
        assert_true(z[i] == (i >= 10 && i < 30 ? 0.0f : src[i]));
    void *empty = G->alloc(0);
    assert_non_null(empty); /* NULL means out of memory only */
    G->free(empty);
    G->free(NULL);
    G->free(d);
    G->free(d2);
    ft_free(h);
    ft_free(src);
    ft_free(back);
    ft_free(z);
}

static void test_find(void **state)
{
    (void)state;
    /* ft_ops_find("cuda") loads the same back end as a module (fedtail-cuda.so): present
     * exactly when a device is, and saying which */
    const ft_ops_t *found = ft_ops_find("cuda");
    assert_int_equal(found != NULL, ft_ops_cuda() != NULL);
    if (found) {
        assert_string_equal(found->name, "cuda");
        assert_string_equal(ft_ops_cuda_status(), ft_cuda_device_info());
    }
}

/* ---- conv2d -------------------------------------------------------------------- */

static void check_conv(int B, int Ci, int H, int W, int Co, int k, int stride, int pad,
                       uint32_t tag)
{
    ft_conv2d_shape_t s = {
        .B = B, .Ci = Ci, .H = H, .W = W, .Co = Co, .kh = k, .kw = k, .stride = stride, .pad = pad};
    ft_conv2d_shape(&s);
    size_t nx = (size_t)B * Ci * H * W, nw = (size_t)Co * Ci * k * k,
           ny = (size_t)B * Co * s.Ho * s.Wo;
    float *x = host_uniform(nx, tag, -1, 1), *w = host_uniform(nw, tag + 1, -1, 1),
          *b = host_uniform(Co, tag + 2, -1, 1), *dy = host_uniform(ny, tag + 3, -1, 1);
    float *y = host_zeros(ny), *dx = host_zeros(nx), *dw = host_zeros(nw), *db = host_zeros(Co);
    R->conv2d_forward(&s, x, w, b, y, NULL);
    R->conv2d_backward(&s, x, w, dy, dx, dw, db, NULL);

    size_t nws = G->conv2d_workspace(&s);
    float *gx = dev(x, nx * 4), *gw = dev(w, nw * 4), *gb = dev(b, Co * 4), *gdy = dev(dy, ny * 4);
    float *gy = dev(NULL, ny * 4), *gdx = dev(NULL, nx * 4), *gdw = dev(NULL, nw * 4),
          *gdb = dev(NULL, Co * 4), *ws = dev(NULL, nws * 4);
    /* Garbage in the outputs: backward must overwrite, never accumulate. */
    float *junk = host_uniform(nx > nw ? nx : nw, tag + 4, 5, 6);
    G->upload(gdx, junk, nx * 4);
    G->upload(gdw, junk, nw * 4);
    G->conv2d_forward(&s, gx, gw, gb, gy, ws);
    G->conv2d_backward(&s, gx, gw, gdy, gdx, gdw, gdb, ws);
    float *hy = down(gy, ny), *hdx = down(gdx, nx), *hdw = down(gdw, nw), *hdb = down(gdb, Co);
    assert_int_equal(mismatches("conv y", hy, y, ny, GEMM_ATOL, GEMM_RTOL), 0);
    assert_int_equal(mismatches("conv dx", hdx, dx, nx, GEMM_ATOL, GEMM_RTOL), 0);
    assert_int_equal(mismatches("conv dw", hdw, dw, nw, GEMM_ATOL, GEMM_RTOL), 0);
    assert_int_equal(mismatches("conv db", hdb, db, Co, GEMM_ATOL, GEMM_RTOL), 0);

    /* dx = NULL (first layer): dw and db alone. */
    G->zero(gdw, nw * 4);
    G->conv2d_backward(&s, gx, gw, gdy, NULL, gdw, gdb, ws);
    float *hdw2 = down(gdw, nw);
    assert_int_equal(mismatches("conv dw (no dx)", hdw2, dw, nw, GEMM_ATOL, GEMM_RTOL), 0);

    void *bufs[] = {gx, gw, gb, gdy, gy, gdx, gdw, gdb, ws};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        G->free(bufs[i]);
    float *hs[] = {x, w, b, dy, y, dx, dw, db, junk, hy, hdx, hdw, hdb, hdw2};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        ft_free(hs[i]);
}

static void test_conv2d(void **state)
{
    (void)state;
    check_conv(3, 2, 7, 6, 4, 3, 1, 1, 100);   /* same padding, odd sizes */
    check_conv(2, 3, 9, 9, 5, 5, 2, 2, 110);   /* stride 2 */
    check_conv(2, 4, 5, 5, 3, 1, 1, 0, 120);   /* 1x1 */
    check_conv(4, 1, 28, 28, 6, 5, 1, 0, 130); /* LeNet-5 first layer */
    check_conv(2, 6, 12, 12, 16, 5, 1, 0, 140);
    check_conv(1, 3, 8, 8, 4, 3, 3, 1, 150); /* stride > 1 with gaps in dx */
}

/* Small chunks: several GEMM rounds per call, a partial last chunk, dw accumulated
 * across chunks. */
static void test_conv2d_chunked(void **state)
{
    (void)state;
    ft_cuda_set_conv_chunk(2);
    check_conv(5, 3, 8, 7, 4, 3, 1, 1, 200);
    check_conv(2, 2, 6, 6, 3, 3, 2, 0, 210);
    ft_cuda_set_conv_chunk(1);
    check_conv(3, 2, 6, 6, 3, 3, 1, 1, 220);
    ft_cuda_set_conv_chunk(0);
}

/* ---- linear ------------------------------------------------------------------------ */

static void check_linear(int B, int In, int Out, uint32_t tag)
{
    size_t nx = (size_t)B * In, nw = (size_t)Out * In, ny = (size_t)B * Out;
    float *x = host_uniform(nx, tag, -1, 1), *w = host_uniform(nw, tag + 1, -1, 1),
          *b = host_uniform(Out, tag + 2, -1, 1), *dy = host_uniform(ny, tag + 3, -1, 1);
    float *y = host_zeros(ny), *dx = host_zeros(nx), *dw = host_zeros(nw), *db = host_zeros(Out);
    R->linear_forward(B, In, Out, x, w, b, y);
    R->linear_backward(B, In, Out, x, w, dy, dx, dw, db);
    float *gx = dev(x, nx * 4), *gw = dev(w, nw * 4), *gb = dev(b, Out * 4), *gdy = dev(dy, ny * 4);
    float *gy = dev(NULL, ny * 4), *gdx = dev(NULL, nx * 4), *gdw = dev(NULL, nw * 4),
          *gdb = dev(NULL, Out * 4);
    float *junk = host_uniform(nx > nw ? nx : nw, tag + 4, 5, 6);
    G->upload(gdx, junk, nx * 4);
    G->upload(gdw, junk, nw * 4);
    G->linear_forward(B, In, Out, gx, gw, gb, gy);
    G->linear_backward(B, In, Out, gx, gw, gdy, gdx, gdw, gdb);
    float *hy = down(gy, ny), *hdx = down(gdx, nx), *hdw = down(gdw, nw), *hdb = down(gdb, Out);
    assert_int_equal(mismatches("linear y", hy, y, ny, GEMM_ATOL, GEMM_RTOL), 0);
    assert_int_equal(mismatches("linear dx", hdx, dx, nx, GEMM_ATOL, GEMM_RTOL), 0);
    assert_int_equal(mismatches("linear dw", hdw, dw, nw, GEMM_ATOL, GEMM_RTOL), 0);
    assert_int_equal(mismatches("linear db", hdb, db, Out, GEMM_ATOL, GEMM_RTOL), 0);
    G->upload(gdw, junk, nw * 4);
    G->linear_backward(B, In, Out, gx, gw, gdy, NULL, gdw, gdb);
    float *hdw2 = down(gdw, nw);
    assert_int_equal(mismatches("linear dw (no dx)", hdw2, dw, nw, GEMM_ATOL, GEMM_RTOL), 0);
    void *bufs[] = {gx, gw, gb, gdy, gy, gdx, gdw, gdb};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        G->free(bufs[i]);
    float *hs[] = {x, w, b, dy, y, dx, dw, db, junk, hy, hdx, hdw, hdb, hdw2};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        ft_free(hs[i]);
}

static void test_linear(void **state)
{
    (void)state;
    check_linear(5, 37, 11, 300);
    check_linear(1, 8, 3, 310);
    check_linear(32, 120, 84, 320); /* LeNet-5 fc2 */
}

/* ---- pooling ---------------------------------------------------------------------- */

static void check_maxpool(int B, int C, int H, int W, int k, int stride, int with_nan, uint32_t tag)
{
    int Ho = (H - k) / stride + 1, Wo = (W - k) / stride + 1;
    size_t nx = (size_t)B * C * H * W, ny = (size_t)B * C * Ho * Wo;
    float *x = host_uniform(nx, tag, -1, 1), *dy = host_uniform(ny, tag + 1, -1, 1);
    if (with_nan)
        for (size_t i = 3; i < nx; i += 17)
            x[i] = NAN;
    /* Repeated values: the first maximum must win on both sides. */
    for (size_t i = 0; i + 1 < nx; i += 5)
        x[i + 1] = x[i];
    float *y = host_zeros(ny), *dx = host_zeros(nx);
    int32_t *am = ft_calloc(ny, sizeof *am);
    R->maxpool2d_forward(B, C, H, W, k, stride, x, y, am);
    R->maxpool2d_backward(B, C, H, W, k, stride, dy, am, dx);
    float *gx = dev(x, nx * 4), *gdy = dev(dy, ny * 4), *gy = dev(NULL, ny * 4),
          *gdx = dev(NULL, nx * 4);
    int32_t *gam = dev(NULL, ny * 4);
    float *junk = host_uniform(nx, tag + 2, 5, 6);
    G->upload(gdx, junk, nx * 4);
    G->maxpool2d_forward(B, C, H, W, k, stride, gx, gy, gam);
    G->maxpool2d_backward(B, C, H, W, k, stride, gdy, gam, gdx);
    float *hy = down(gy, ny), *hdx = down(gdx, nx);
    int32_t *ham = ft_calloc(ny, sizeof *ham);
    G->download(ham, gam, ny * 4);
    assert_bits("maxpool y", hy, y, ny * 4);
    assert_bits("maxpool argmax", ham, am, ny * 4);
    assert_bits("maxpool dx", hdx, dx, nx * 4);
    G->free(gx);
    G->free(gdy);
    G->free(gy);
    G->free(gdx);
    G->free(gam);
    void *hs[] = {x, dy, y, dx, am, junk, hy, hdx, ham};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        ft_free(hs[i]);
}

static void test_maxpool(void **state)
{
    (void)state;
    check_maxpool(2, 3, 8, 8, 2, 2, 0, 400);
    check_maxpool(2, 2, 7, 9, 3, 2, 0, 410); /* overlapping windows, leftover border */
    check_maxpool(1, 2, 6, 6, 3, 1, 0, 420); /* stride 1: an input in up to 9 windows */
    check_maxpool(2, 2, 8, 8, 2, 2, 1, 430); /* NaN propagates like the reference */
}

static void test_avgpool(void **state)
{
    (void)state;
    const int B = 3, C = 5, H = 4, W = 3;
    size_t nx = (size_t)B * C * H * W, ny = (size_t)B * C;
    float *x = host_uniform(nx, 500, -1, 1), *dy = host_uniform(ny, 501, -1, 1);
    float *y = host_zeros(ny), *dx = host_zeros(nx);
    R->avgpool_global_forward(B, C, H, W, x, y);
    R->avgpool_global_backward(B, C, H, W, dy, dx);
    float *gx = dev(x, nx * 4), *gdy = dev(dy, ny * 4), *gy = dev(NULL, ny * 4),
          *gdx = dev(NULL, nx * 4);
    G->avgpool_global_forward(B, C, H, W, gx, gy);
    G->avgpool_global_backward(B, C, H, W, gdy, gdx);
    float *hy = down(gy, ny), *hdx = down(gdx, nx);
    assert_bits("avgpool y", hy, y, ny * 4);
    assert_bits("avgpool dx", hdx, dx, nx * 4);
    G->free(gx);
    G->free(gdy);
    G->free(gy);
    G->free(gdx);
    void *hs[] = {x, dy, y, dx, hy, hdx};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        ft_free(hs[i]);
}

/* ---- element-wise ---------------------------------------------------------------- */

static void test_relu(void **state)
{
    (void)state;
    const size_t n = 5003;
    float *x = host_uniform(n, 600, -1, 1), *dy = host_uniform(n, 601, -1, 1);
    x[7] = NAN;
    x[8] = -0.0f;
    x[9] = 0.0f;
    float *y = host_zeros(n), *dx = host_zeros(n);
    R->relu_forward(n, x, y);
    R->relu_backward(n, y, dy, dx);
    float *gx = dev(x, n * 4), *gy = dev(NULL, n * 4), *gdy = dev(dy, n * 4),
          *gdx = dev(NULL, n * 4);
    G->relu_forward(n, gx, gy);
    G->relu_backward(n, gy, gdy, gdx);
    float *hy = down(gy, n), *hdx = down(gdx, n);
    assert_bits("relu y", hy, y, n * 4);
    assert_bits("relu dx", hdx, dx, n * 4);
    G->relu_forward(n, gx, gx); /* in place */
    float *hx = down(gx, n);
    assert_bits("relu in place", hx, y, n * 4);
    G->free(gx);
    G->free(gy);
    G->free(gdy);
    G->free(gdx);
    void *hs[] = {x, dy, y, dx, hy, hdx, hx};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        ft_free(hs[i]);
}

static void check_dropout(size_t n, float p, uint64_t seed, uint64_t counter)
{
    float *x = host_uniform(n, 700, -1, 1), *dy = host_uniform(n, 701, -1, 1);
    float *y = host_zeros(n), *mask = host_zeros(n), *dx = host_zeros(n);
    R->dropout_forward(n, p, seed, counter, x, y, mask);
    R->dropout_backward(n, dy, mask, dx);
    float *gx = dev(x, n * 4), *gy = dev(NULL, n * 4), *gm = dev(NULL, n * 4),
          *gdy = dev(dy, n * 4), *gdx = dev(NULL, n * 4);
    G->dropout_forward(n, p, seed, counter, gx, gy, gm);
    G->dropout_backward(n, gdy, gm, gdx);
    float *hy = down(gy, n), *hm = down(gm, n), *hdx = down(gdx, n);
    assert_bits("dropout mask", hm, mask, n * 4);
    assert_bits("dropout y", hy, y, n * 4);
    assert_bits("dropout dx", hdx, dx, n * 4);
    G->free(gx);
    G->free(gy);
    G->free(gm);
    G->free(gdy);
    G->free(gdx);
    void *hs[] = {x, dy, y, mask, dx, hy, hm, hdx};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        ft_free(hs[i]);
}

static void test_dropout(void **state)
{
    (void)state;
    check_dropout(1003, 0.3f, 0x0123456789abcdefULL, 0xfedcba9876543210ULL); /* n % 4 != 0 */
    check_dropout(4096, 0.5f, 42, 7);
    check_dropout(5, 0.0f, 1, 2); /* keep everything, scale 1 */
    check_dropout(64, 0.9f, 3, (uint64_t)1 << 40);
}

static void test_softmax_xent(void **state)
{
    (void)state;
    const int B = 37, C = 10;
    size_t n = (size_t)B * C;
    float *z = host_uniform(n, 800, -8, 8);
    z[5] = 80.0f; /* a large logit: the max subtraction must keep it finite */
    int32_t labels[37];
    for (int b = 0; b < B; b++)
        labels[b] = (b * 7) % C;
    float *p = host_zeros(n), *dz = host_zeros(n);
    float loss = R->softmax_xent_forward(B, C, z, labels, p);
    R->softmax_xent_backward(B, C, p, labels, dz);
    float *gz = dev(z, n * 4), *gp = dev(NULL, n * 4), *gdz = dev(NULL, n * 4);
    int32_t *gl = dev(labels, sizeof labels);
    float gloss = G->softmax_xent_forward(B, C, gz, gl, gp);
    float *hp = down(gp, n);
    assert_int_equal(mismatches("softmax probs", hp, p, n, 1e-7, 1e-6), 0);
    assert_int_equal(mismatches("softmax loss", &gloss, &loss, 1, 1e-7, 1e-6), 0);
    /* Backward from the reference's probabilities: exact. */
    G->upload(gp, p, n * 4);
    G->softmax_xent_backward(B, C, gp, gl, gdz);
    float *hdz = down(gdz, n);
    assert_bits("softmax dlogits", hdz, dz, n * 4);
    G->free(gz);
    G->free(gp);
    G->free(gdz);
    G->free(gl);
    void *hs[] = {z, p, dz, hp, hdz};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        ft_free(hs[i]);
}

static void check_sgd(float lr, float momentum, float wd)
{
    const size_t n = 3001;
    float *pr = host_uniform(n, 900, -1, 1), *g = host_uniform(n, 901, -1, 1),
          *buf = host_uniform(n, 902, -1, 1);
    float *gp = dev(pr, n * 4), *gg = dev(g, n * 4), *gb = dev(buf, n * 4);
    for (int step = 0; step < 3; step++) {
        R->sgd_step(n, pr, g, buf, lr, momentum, wd);
        G->sgd_step(n, gp, gg, gb, lr, momentum, wd);
    }
    float *hp = down(gp, n), *hb = down(gb, n);
    assert_bits("sgd params", hp, pr, n * 4);
    assert_bits("sgd momentum", hb, buf, n * 4);
    G->free(gp);
    G->free(gg);
    G->free(gb);
    void *hs[] = {pr, g, buf, hp, hb};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        ft_free(hs[i]);
}

static void test_sgd(void **state)
{
    (void)state;
    check_sgd(0.1f, 0.9f, 5e-4f);
    check_sgd(0.05f, 0.0f, 0.0f); /* plain SGD: the buffer is not touched */
    check_sgd(0.02f, 0.0f, 1e-3f);
}

static void test_vector_ops(void **state)
{
    (void)state;
    const size_t n = 100003; /* several reduction blocks, a partial last one */
    float *a = host_uniform(n, 1000, -1, 1), *b = host_uniform(n, 1001, -1, 1);
    float *ga = dev(a, n * 4), *gb = dev(b, n * 4), *go = dev(NULL, n * 4);
    double d = G->dot(n, ga, gb), dr = R->dot(n, a, b);
    assert_true(fabs(d - dr) <= 1e-12 * fabs(dr) + 1e-12);
    double nr = G->norm2(n, ga), nrr = R->norm2(n, a);
    assert_true(fabs(nr - nrr) <= 1e-12 * nrr);
    assert_true(G->dot(0, ga, gb) == 0.0);
    assert_true(G->norm2(1, ga) == fabs((double)a[0]));

    float *o = host_zeros(n);
    R->sub(n, a, b, o);
    G->sub(n, ga, gb, go);
    float *h = down(go, n);
    assert_bits("sub", h, o, n * 4);
    ft_free(h);
    R->axpy(n, -0.37f, a, b);
    G->axpy(n, -0.37f, ga, gb);
    h = down(gb, n);
    assert_bits("axpy", h, b, n * 4);
    ft_free(h);
    R->scale(n, 1.7f, a);
    G->scale(n, 1.7f, ga);
    h = down(ga, n);
    assert_bits("scale", h, a, n * 4);
    ft_free(h);
    /* NaN in a vector (a legitimate attack payload) propagates through the reductions. */
    float nan = NAN;
    G->upload(ga + 17, &nan, 4);
    assert_true(isnan(G->norm2(n, ga)));
    G->free(ga);
    G->free(gb);
    G->free(go);
    ft_free(a);
    ft_free(b);
    ft_free(o);
}

int main(int argc, char **argv)
{
    int emulate = argc > 1 && strcmp(argv[1], "--emulate") == 0;
    G = emulate ? ft_ops_cuda_host_emulation() : ft_ops_cuda();
    if (!G) {
        printf("test_kernels_cuda: skipped: %s\n", ft_cuda_device_info());
        return 77;
    }
    if (!emulate)
        printf("test_kernels_cuda: device %s\n", ft_cuda_device_info());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory),  cmocka_unit_test(test_find),
        cmocka_unit_test(test_conv2d),  cmocka_unit_test(test_conv2d_chunked),
        cmocka_unit_test(test_linear),  cmocka_unit_test(test_maxpool),
        cmocka_unit_test(test_avgpool), cmocka_unit_test(test_relu),
        cmocka_unit_test(test_dropout), cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_sgd),     cmocka_unit_test(test_vector_ops),
    };
    return cmocka_run_group_tests_name(emulate ? "kernels_cuda_emulated" : "kernels_cuda", tests,
                                       NULL, NULL);
}
