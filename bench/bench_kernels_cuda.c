/* bench_kernels_cuda: times every CUDA op on model-sized shapes, llm.c style: each
 * variant is first run once and checked against the CPU reference
 * (ft_ops_reference, with the tolerances of tests/test_kernels_cuda.c); only a
 * variant that agrees is timed. Prints milliseconds per call and GFLOP/s (GEMM ops:
 * 2 flops per multiply-add) or GB/s (memory-bound ops: bytes read + written once).
 *
 *   bench_kernels_cuda            on the device; says so and exits 0 without one
 *   bench_kernels_cuda --emulate  tiny shapes through the host emulation of the back
 *                                 end (checks the harness itself, not a speed)
 *
 * Exit status: 0, or 1 if a variant disagrees with the reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_lstm_ops.h"
#include "ft_ops.h"
#include "ft_ops_cuda.h"
#include "ft_rng.h"
#include "ft_timer.h"

static const ft_ops_t *G;                           /* back end under test */
static const ft_ops_t *const R = &ft_ops_reference; /* yardstick */
static int g_small;                                 /* --emulate: tiny shapes */
static int g_failed;                                /* variants that disagreed */

static float *host_uniform(size_t n, uint32_t tag, float lo, float hi)
{
    float *a = ft_malloc((n ? n : 1) * sizeof *a);
    if (!a) {
        fprintf(stderr, "bench_kernels_cuda: out of memory\n");
        exit(2);
    }
    ft_rng_t rng;
    ft_rng_init(&rng, 7, tag, 0, FT_RNG_TEST);
    for (size_t i = 0; i < n; i++)
        a[i] = lo + (hi - lo) * (float)ft_rng_uniform(&rng);
    return a;
}

static void *dev(const void *host, size_t bytes)
{
    void *d = G->alloc(bytes);
    if (!d) {
        fprintf(stderr, "bench_kernels_cuda: device allocation of %zu bytes failed\n", bytes);
        exit(2);
    }
    if (host)
        G->upload(d, host, bytes);
    return d;
}

/* Largest violation of |got - want| <= atol + rtol*|want| (in units of the bound;
 * > 1 fails; NaN on either side fails). */
static double check(const char *what, const void *dbuf, const float *want, size_t n, double atol,
                    double rtol)
{
    float *got = ft_malloc(n * sizeof *got);
    G->download(got, dbuf, n * sizeof *got);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        double bound = atol + rtol * fabs(w), v;
        if (isnan(g) || isnan(w))
            v = INFINITY;
        else if (bound == 0) /* exact ops: bitwise-equal values only */
            v = g == w ? 0 : INFINITY;
        else
            v = fabs(g - w) / bound;
        if (v > worst)
            worst = v;
    }
    ft_free(got);
    if (worst > 1) {
        fprintf(stderr, "  %s: disagrees with the reference (error %.3g x tolerance)\n", what,
                worst);
        g_failed++;
    }
    return worst;
}

/* Seconds per run of stmt: at least 3 runs and 0.2 s, after one warm-up. */
#define TIME_IT(secs, stmt)                                                                        \
    do {                                                                                           \
        stmt;                                                                                      \
        ft_cuda_synchronize();                                                                     \
        int it_ = 0;                                                                               \
        double t0_ = ft_now(), t_;                                                                 \
        do {                                                                                       \
            stmt;                                                                                  \
            it_++;                                                                                 \
            ft_cuda_synchronize();                                                                 \
            t_ = ft_now() - t0_;                                                                   \
        } while (it_ < 3 || t_ < 0.2);                                                             \
        (secs) = t_ / it_;                                                                         \
    } while (0)

static void row(const char *name, const char *shape, double secs, double work, const char *unit,
                double err)
{
    printf("%-22s %-30s %10.4f ms %10.1f %-7s  err %.2g\n", name, shape, secs * 1e3,
           work / secs / 1e9, unit, err);
}

static void bench_conv(const char *name, int B, int Ci, int H, int W, int Co, int k, int pad)
{
    ft_conv2d_shape_t s = {
        .B = B, .Ci = Ci, .H = H, .W = W, .Co = Co, .kh = k, .kw = k, .stride = 1, .pad = pad};
    ft_conv2d_shape(&s);
    size_t nx = (size_t)B * Ci * H * W, nw = (size_t)Co * Ci * k * k,
           ny = (size_t)B * Co * s.Ho * s.Wo;
    float *x = host_uniform(nx, 1, -1, 1), *w = host_uniform(nw, 2, -1, 1),
          *b = host_uniform(Co, 3, -1, 1), *dy = host_uniform(ny, 4, -1, 1);
    float *y = ft_calloc(ny, 4), *dx = ft_calloc(nx, 4), *dw = ft_calloc(nw, 4),
          *db = ft_calloc(Co, 4);
    R->conv2d_forward(&s, x, w, b, y, NULL);
    R->conv2d_backward(&s, x, w, dy, dx, dw, db, NULL);
    float *gx = dev(x, nx * 4), *gw = dev(w, nw * 4), *gb = dev(b, Co * 4), *gdy = dev(dy, ny * 4);
    float *gy = dev(NULL, ny * 4), *gdx = dev(NULL, nx * 4), *gdw = dev(NULL, nw * 4),
          *gdb = dev(NULL, Co * 4), *ws = dev(NULL, G->conv2d_workspace(&s) * 4);
    char shape[64];
    snprintf(shape, sizeof shape, "%dx%dx%dx%d->%d k%d", B, Ci, H, W, Co, k);
    double macs = (double)ny * Ci * k * k, secs;

    G->conv2d_forward(&s, gx, gw, gb, gy, ws);
    double e = check("conv2d_forward", gy, y, ny, 1e-4, 1e-4);
    char label[64];
    snprintf(label, sizeof label, "%s fwd", name);
    if (e <= 1) {
        TIME_IT(secs, G->conv2d_forward(&s, gx, gw, gb, gy, ws));
        row(label, shape, secs, 2 * macs, "GFLOP/s", e);
    }
    G->conv2d_backward(&s, gx, gw, gdy, gdx, gdw, gdb, ws);
    e = check("conv2d_backward dx", gdx, dx, nx, 1e-4, 1e-4);
    double e2 = check("conv2d_backward dw", gdw, dw, nw, 1e-4, 1e-4);
    double e3 = check("conv2d_backward db", gdb, db, Co, 1e-4, 1e-4);
    e = fmax(e, fmax(e2, e3));
    snprintf(label, sizeof label, "%s bwd", name);
    if (e <= 1) {
        TIME_IT(secs, G->conv2d_backward(&s, gx, gw, gdy, gdx, gdw, gdb, ws));
        row(label, shape, secs, 4 * macs, "GFLOP/s", e);
    }
    void *d[] = {gx, gw, gb, gdy, gy, gdx, gdw, gdb, ws};
    for (size_t i = 0; i < sizeof d / sizeof *d; i++)
        G->free(d[i]);
    void *h[] = {x, w, b, dy, y, dx, dw, db};
    for (size_t i = 0; i < sizeof h / sizeof *h; i++)
        ft_free(h[i]);
}

static void bench_linear(const char *name, int B, int In, int Out)
{
    size_t nx = (size_t)B * In, nw = (size_t)Out * In, ny = (size_t)B * Out;
    float *x = host_uniform(nx, 5, -1, 1), *w = host_uniform(nw, 6, -1, 1),
          *b = host_uniform(Out, 7, -1, 1), *dy = host_uniform(ny, 8, -1, 1);
    float *y = ft_calloc(ny, 4), *dx = ft_calloc(nx, 4), *dw = ft_calloc(nw, 4),
          *db = ft_calloc(Out, 4);
    R->linear_forward(B, In, Out, x, w, b, y);
    R->linear_backward(B, In, Out, x, w, dy, dx, dw, db);
    float *gx = dev(x, nx * 4), *gw = dev(w, nw * 4), *gb = dev(b, Out * 4), *gdy = dev(dy, ny * 4);
    float *gy = dev(NULL, ny * 4), *gdx = dev(NULL, nx * 4), *gdw = dev(NULL, nw * 4),
          *gdb = dev(NULL, Out * 4);
    char shape[64], label[64];
    snprintf(shape, sizeof shape, "%dx%d->%d", B, In, Out);
    double macs = (double)B * In * Out, secs;
    G->linear_forward(B, In, Out, gx, gw, gb, gy);
    double e = check("linear_forward", gy, y, ny, 1e-4, 1e-4);
    snprintf(label, sizeof label, "%s fwd", name);
    if (e <= 1) {
        TIME_IT(secs, G->linear_forward(B, In, Out, gx, gw, gb, gy));
        row(label, shape, secs, 2 * macs, "GFLOP/s", e);
    }
    G->linear_backward(B, In, Out, gx, gw, gdy, gdx, gdw, gdb);
    e = fmax(check("linear_backward dx", gdx, dx, nx, 1e-4, 1e-4),
             fmax(check("linear_backward dw", gdw, dw, nw, 1e-4, 1e-4),
                  check("linear_backward db", gdb, db, Out, 1e-4, 1e-4)));
    snprintf(label, sizeof label, "%s bwd", name);
    if (e <= 1) {
        TIME_IT(secs, G->linear_backward(B, In, Out, gx, gw, gdy, gdx, gdw, gdb));
        row(label, shape, secs, 4 * macs, "GFLOP/s", e);
    }
    void *d[] = {gx, gw, gb, gdy, gy, gdx, gdw, gdb};
    for (size_t i = 0; i < sizeof d / sizeof *d; i++)
        G->free(d[i]);
    void *h[] = {x, w, b, dy, y, dx, dw, db};
    for (size_t i = 0; i < sizeof h / sizeof *h; i++)
        ft_free(h[i]);
}

static void bench_maxpool(int B, int C, int H, int W)
{
    int Ho = H / 2, Wo = W / 2;
    size_t nx = (size_t)B * C * H * W, ny = (size_t)B * C * Ho * Wo;
    float *x = host_uniform(nx, 9, -1, 1), *dy = host_uniform(ny, 10, -1, 1);
    float *y = ft_calloc(ny, 4), *dx = ft_calloc(nx, 4);
    int32_t *am = ft_calloc(ny, 4);
    R->maxpool2d_forward(B, C, H, W, 2, 2, x, y, am);
    R->maxpool2d_backward(B, C, H, W, 2, 2, dy, am, dx);
    float *gx = dev(x, nx * 4), *gdy = dev(dy, ny * 4), *gy = dev(NULL, ny * 4),
          *gdx = dev(NULL, nx * 4);
    int32_t *gam = dev(NULL, ny * 4);
    char shape[64];
    snprintf(shape, sizeof shape, "%dx%dx%dx%d k2s2", B, C, H, W);
    double secs;
    G->maxpool2d_forward(B, C, H, W, 2, 2, gx, gy, gam);
    G->maxpool2d_backward(B, C, H, W, 2, 2, gdy, gam, gdx);
    double e = fmax(check("maxpool y", gy, y, ny, 0, 0), check("maxpool dx", gdx, dx, nx, 0, 0));
    if (e <= 1) {
        TIME_IT(secs, G->maxpool2d_forward(B, C, H, W, 2, 2, gx, gy, gam));
        row("maxpool fwd", shape, secs, 4.0 * (nx + 2 * ny), "GB/s", e);
        TIME_IT(secs, G->maxpool2d_backward(B, C, H, W, 2, 2, gdy, gam, gdx));
        row("maxpool bwd", shape, secs, 4.0 * (nx + 2 * ny), "GB/s", e);
    }
    G->free(gx);
    G->free(gdy);
    G->free(gy);
    G->free(gdx);
    G->free(gam);
    void *h[] = {x, dy, y, dx, am};
    for (size_t i = 0; i < sizeof h / sizeof *h; i++)
        ft_free(h[i]);
}

/* relu, dropout, sgd (momentum), axpy, dot, norm2 on n floats. */
static void bench_vector(size_t n)
{
    float *a = host_uniform(n, 11, -1, 1), *b = host_uniform(n, 12, -1, 1),
          *m = host_uniform(n, 13, -1, 1);
    float *out = ft_calloc(n, 4), *mask = ft_calloc(n, 4);
    float *ga = dev(a, n * 4), *gb = dev(b, n * 4), *gm = dev(m, n * 4), *go = dev(NULL, n * 4),
          *gk = dev(NULL, n * 4);
    char shape[64];
    snprintf(shape, sizeof shape, "n=%zu", n);
    double secs, e, bytes = 4.0 * n;

    R->relu_forward(n, a, out);
    G->relu_forward(n, ga, go);
    if ((e = check("relu", go, out, n, 0, 0)) <= 1) {
        TIME_IT(secs, G->relu_forward(n, ga, go));
        row("relu fwd", shape, secs, 2 * bytes, "GB/s", e);
    }
    R->dropout_forward(n, 0.5f, 99, 3, a, out, mask);
    G->dropout_forward(n, 0.5f, 99, 3, ga, go, gk);
    if ((e = fmax(check("dropout y", go, out, n, 0, 0),
                  check("dropout mask", gk, mask, n, 0, 0))) <= 1) {
        TIME_IT(secs, G->dropout_forward(n, 0.5f, 99, 3, ga, go, gk));
        row("dropout fwd", shape, secs, 3 * bytes, "GB/s", e);
    }
    /* sgd: one step from the same state on both sides, then timed (state drifts). */
    G->copy(go, gb, n * 4);
    memcpy(out, b, n * 4);
    memcpy(mask, m, n * 4);
    R->sgd_step(n, out, a, mask, 0.01f, 0.9f, 5e-4f);
    G->sgd_step(n, go, ga, gm, 0.01f, 0.9f, 5e-4f);
    if ((e = fmax(check("sgd params", go, out, n, 0, 0),
                  check("sgd momentum", gm, mask, n, 0, 0))) <= 1) {
        TIME_IT(secs, G->sgd_step(n, go, ga, gm, 0.01f, 0.9f, 5e-4f));
        row("sgd_step (momentum)", shape, secs, 5 * bytes, "GB/s", e);
    }
    G->copy(go, gb, n * 4);
    memcpy(out, b, n * 4);
    R->axpy(n, 0.5f, a, out);
    G->axpy(n, 0.5f, ga, go);
    if ((e = check("axpy", go, out, n, 0, 0)) <= 1) {
        TIME_IT(secs, G->axpy(n, 0.5f, ga, go));
        row("axpy", shape, secs, 3 * bytes, "GB/s", e);
    }
    double want = R->dot(n, a, b), got = G->dot(n, ga, gb);
    e = fabs(got - want) / (1e-12 * fabs(want) + 1e-12);
    if (e > 1) {
        fprintf(stderr, "  dot: %.17g, reference %.17g\n", got, want);
        g_failed++;
    } else {
        volatile double sink;
        TIME_IT(secs, sink = G->dot(n, ga, gb));
        (void)sink;
        row("dot", shape, secs, 2 * bytes, "GB/s", e);
    }
    want = R->norm2(n, a);
    got = G->norm2(n, ga);
    e = fabs(got - want) / (1e-12 * want + 1e-12);
    if (e > 1) {
        fprintf(stderr, "  norm2: %.17g, reference %.17g\n", got, want);
        g_failed++;
    } else {
        volatile double sink;
        TIME_IT(secs, sink = G->norm2(n, ga));
        (void)sink;
        row("norm2", shape, secs, bytes, "GB/s", e);
    }
    G->free(ga);
    G->free(gb);
    G->free(gm);
    G->free(go);
    G->free(gk);
    void *h[] = {a, b, m, out, mask};
    for (size_t i = 0; i < sizeof h / sizeof *h; i++)
        ft_free(h[i]);
}

static void bench_softmax(int B, int C)
{
    size_t n = (size_t)B * C;
    float *z = host_uniform(n, 14, -5, 5), *p = ft_calloc(n, 4);
    int32_t *labels = ft_calloc(B, 4);
    for (int b = 0; b < B; b++)
        labels[b] = b % C;
    float loss = R->softmax_xent_forward(B, C, z, labels, p);
    float *gz = dev(z, n * 4), *gp = dev(NULL, n * 4);
    int32_t *gl = dev(labels, (size_t)B * 4);
    float gloss = G->softmax_xent_forward(B, C, gz, gl, gp);
    double e = fmax(check("softmax probs", gp, p, n, 1e-7, 1e-6),
                    fabs(gloss - loss) / (1e-7 + 1e-6 * fabs(loss)));
    char shape[64];
    snprintf(shape, sizeof shape, "%dx%d", B, C);
    if (e <= 1) {
        double secs;
        volatile float sink;
        TIME_IT(secs, sink = G->softmax_xent_forward(B, C, gz, gl, gp));
        (void)sink;
        row("softmax_xent fwd", shape, secs, 4.0 * (2 * n + B), "GB/s", e);
    } else {
        fprintf(stderr, "  softmax loss %.9g, reference %.9g\n", gloss, loss);
        g_failed++;
    }
    G->free(gz);
    G->free(gp);
    G->free(gl);
    ft_free(z);
    ft_free(p);
    ft_free(labels);
}

/* One LSTM step forward and backward (B sequences, In inputs, H hidden: the gate
 * GEMMs and the cell kernels) and the embedding gradient over TB = T·B rows of E
 * columns, each checked against the reference LSTM ops (tolerances of
 * tests/test_lstm_cuda.c) before it is timed. */
static void bench_lstm(int B, int In, int H, int T, int E, int V)
{
    const ft_lstm_ops_t *RL = &ft_lstm_ops_reference, *GL = G->lstm;
    int Gs = 4 * H;
    size_t nx = (size_t)B * In, nh = (size_t)B * H, ng = (size_t)B * Gs;
    size_t nwi = (size_t)Gs * In, nwh = (size_t)Gs * H;
    float *x = host_uniform(nx, 20, -1, 1), *hp = host_uniform(nh, 21, -1, 1);
    float *cp = host_uniform(nh, 22, -1, 1), *wih = host_uniform(nwi, 23, -0.1f, 0.1f);
    float *whh = host_uniform(nwh, 24, -0.1f, 0.1f),
          *bih = host_uniform((size_t)Gs, 25, -0.1f, 0.1f);
    float *bhh = host_uniform((size_t)Gs, 26, -0.1f, 0.1f), *dh = host_uniform(nh, 27, -1, 1);
    float *dc = host_uniform(nh, 28, -1, 1);
    float *gates = ft_calloc(ng, 4), *h = ft_calloc(nh, 4), *c = ft_calloc(nh, 4);
    float *dg = ft_calloc(ng, 4), *dx = ft_calloc(nx, 4), *dhp = ft_calloc(nh, 4);
    float *dwi = ft_calloc(nwi, 4), *dwh = ft_calloc(nwh, 4), *dbi = ft_calloc(Gs, 4);
    float *dbh = ft_calloc(Gs, 4);
    float *g_x = dev(x, nx * 4), *g_hp = dev(hp, nh * 4), *g_cp = dev(cp, nh * 4);
    float *g_wih = dev(wih, nwi * 4), *g_whh = dev(whh, nwh * 4), *g_bih = dev(bih, Gs * 4);
    float *g_bhh = dev(bhh, Gs * 4), *g_dh = dev(dh, nh * 4), *g_dc = dev(dc, nh * 4);
    float *g_gates = dev(NULL, ng * 4), *g_h = dev(NULL, nh * 4), *g_c = dev(NULL, nh * 4);
    float *g_dg = dev(NULL, ng * 4), *g_dx = dev(NULL, nx * 4), *g_dhp = dev(NULL, nh * 4);
    float *g_dwi = dev(NULL, nwi * 4), *g_dwh = dev(NULL, nwh * 4), *g_dbi = dev(NULL, Gs * 4);
    float *g_dbh = dev(NULL, Gs * 4);
    char shape[64];
    snprintf(shape, sizeof shape, "B%d In%d H%d", B, In, H);
    RL->lstm_step_forward(B, In, H, x, hp, cp, wih, whh, bih, bhh, gates, h, c);
    GL->lstm_step_forward(B, In, H, g_x, g_hp, g_cp, g_wih, g_whh, g_bih, g_bhh, g_gates, g_h, g_c);
    double e = fmax(check("lstm gates", g_gates, gates, ng, 1e-5, 1e-4),
                    check("lstm h", g_h, h, nh, 1e-5, 1e-4));
    double flops = 2.0 * B * Gs * (In + H);
    if (e <= 1) {
        double secs;
        TIME_IT(secs, GL->lstm_step_forward(B, In, H, g_x, g_hp, g_cp, g_wih, g_whh, g_bih, g_bhh,
                                            g_gates, g_h, g_c));
        row("lstm step fwd", shape, secs, flops, "GFLOP/s", e);
    }
    /* backward from the same forward state; dc is in/out, so checked on one call */
    G->upload(g_gates, gates, ng * 4);
    G->upload(g_c, c, nh * 4);
    RL->lstm_step_backward(B, In, H, x, hp, cp, wih, whh, gates, c, dh, dc, dg, dx, dhp, dwi, dwh,
                           dbi, dbh);
    GL->lstm_step_backward(B, In, H, g_x, g_hp, g_cp, g_wih, g_whh, g_gates, g_c, g_dh, g_dc, g_dg,
                           g_dx, g_dhp, g_dwi, g_dwh, g_dbi, g_dbh);
    e = fmax(fmax(check("lstm dx", g_dx, dx, nx, 1e-5, 1e-4),
                  check("lstm dh_prev", g_dhp, dhp, nh, 1e-5, 1e-4)),
             check("lstm dw_hh", g_dwh, dwh, nwh, 1e-5, 1e-4));
    if (e <= 1) {
        double secs;
        TIME_IT(secs,
                GL->lstm_step_backward(B, In, H, g_x, g_hp, g_cp, g_wih, g_whh, g_gates, g_c, g_dh,
                                       g_dc, g_dg, g_dx, g_dhp, g_dwi, g_dwh, g_dbi, g_dbh));
        row("lstm step bwd", shape, secs, 2.0 * flops, "GFLOP/s", e);
    }
    /* the embedding gradient: T·B rows, ids drawn from the first V/8 words so that they
     * repeat, as a corpus's frequent words do */
    int TB = T * B;
    int32_t *ids = ft_malloc((size_t)TB * 4);
    float *dy = host_uniform((size_t)TB * E, 29, -1, 1), *dt = ft_calloc((size_t)V * E, 4);
    ft_rng_t rng;
    ft_rng_init(&rng, 7, 30, 0, FT_RNG_TEST);
    for (int i = 0; i < TB; i++)
        ids[i] = (int32_t)ft_rng_below(&rng, (uint32_t)(V / 8 > 0 ? V / 8 : 1));
    int32_t *g_ids = dev(ids, (size_t)TB * 4);
    float *g_dy = dev(dy, (size_t)TB * E * 4), *g_dt = dev(NULL, (size_t)V * E * 4);
    RL->embedding_backward(TB, E, ids, dy, dt);
    GL->embedding_backward(TB, E, g_ids, g_dy, g_dt);
    e = check("embedding backward", g_dt, dt, (size_t)V * E, 0, 0);
    snprintf(shape, sizeof shape, "TB%d E%d V%d", TB, E, V);
    if (e <= 1) {
        double secs;
        TIME_IT(secs, GL->embedding_backward(TB, E, g_ids, g_dy, g_dt));
        row("embedding bwd", shape, secs, 4.0 * 3 * TB * E, "GB/s", e);
    }
    void *d[] = {g_x, g_hp, g_cp, g_wih, g_whh, g_bih, g_bhh, g_dh,  g_dc,  g_gates, g_h,
                 g_c, g_dg, g_dx, g_dhp, g_dwi, g_dwh, g_dbi, g_dbh, g_ids, g_dy,    g_dt};
    for (size_t i = 0; i < sizeof d / sizeof *d; i++)
        G->free(d[i]);
    void *hs[] = {x, hp, cp, wih, whh, bih, bhh, dh,  dc,  gates, h,
                  c, dg, dx, dhp, dwi, dwh, dbi, dbh, ids, dy,    dt};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        ft_free(hs[i]);
}

int main(int argc, char **argv)
{
    g_small = argc > 1 && strcmp(argv[1], "--emulate") == 0;
    G = g_small ? ft_ops_cuda_host_emulation() : ft_ops_cuda();
    if (!G) {
        printf("bench_kernels_cuda: skipped: %s\n", ft_cuda_device_info());
        return 0;
    }
    printf("bench_kernels_cuda: %s (%s); each variant checked against ft_ops_reference first\n",
           G->name, g_small ? "host emulation, tiny shapes" : ft_cuda_device_info());
    printf("%-22s %-30s %13s %18s\n", "variant", "shape", "time", "throughput");
    int B = g_small ? 2 : 32;
    bench_conv("conv lenet5.c1", B, 1, 28, 28, 6, 5, 2);
    bench_conv("conv lenet5.c2", B, 6, 14, 14, 16, 5, 0);
    bench_conv("conv vgg9 32x32", B, g_small ? 4 : 32, g_small ? 8 : 32, g_small ? 8 : 32, 64, 3,
               1);
    bench_conv("conv vgg9 8x8", B, g_small ? 8 : 128, 8, 8, g_small ? 16 : 256, 3, 1);
    bench_linear("linear lenet5.fc1", g_small ? 4 : 64, 400, 120);
    bench_linear("linear vgg9.fc", g_small ? 4 : 64, g_small ? 64 : 512, g_small ? 64 : 512);
    bench_maxpool(B, g_small ? 4 : 64, g_small ? 8 : 32, g_small ? 8 : 32);
    bench_softmax(g_small ? 16 : 4096, 10);
    /* a next-word decoder's rows: T·B = 64·20 over the paper's 50,000-word vocabulary */
    bench_softmax(g_small ? 4 : 1280, g_small ? 300 : 50000);
    /* the paper's Reddit LSTM (E = H = 200, batch 20, T 64) */
    bench_lstm(g_small ? 3 : 20, g_small ? 5 : 200, g_small ? 4 : 200, g_small ? 3 : 64,
               g_small ? 6 : 200, g_small ? 40 : 50000);
    bench_vector(g_small ? 4099 : (size_t)1 << 24);
    if (g_failed) {
        printf("bench_kernels_cuda: %d check(s) disagreed with the reference; not timed\n",
               g_failed);
        return 1;
    }
    return 0;
}
