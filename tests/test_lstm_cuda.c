/* test_lstm_cuda: the CUDA back end's text ops (kernels/cuda/ft_cuda_lstm.cu, reached as
 * ft_ops_t.lstm) against the reference LSTM ops, and the `lstm` model on that back
 * end against the same model on the fast CPU path (itself checked against PyTorch in
 * test_model_lstm), with the same parameters and batch.
 *
 *   test_lstm_cuda            the device table ft_ops_cuda(); exits 77 (skipped) where
 *                             no CUDA device is present. ctest label: gpu.
 *   test_lstm_cuda --emulate  the same tests on ft_ops_cuda_host_emulation(): the
 *                             back end's index maths (element bodies, cuBLAS argument
 *                             mapping, the atomic-free embedding scatter) on host
 *                             memory. Runs everywhere CUDA is built.
 *
 * Tolerances (|got - want| <= atol + rtol*|want|; a NaN on one side only is a
 * mismatch):
 *   - LSTM step forward/backward (float32 GEMMs on the device, double in the
 *     reference; inputs in [-1.5, 1.5], at most ~40 terms): atol 1e-5, rtol 1e-4, as
 *     the fast CPU path is held to in test_lstm_ops;
 *   - row scoring: top-1 exact; loss (device expf/logf within 1 ulp of glibc's, a
 *     float sum over V terms) atol 1e-5, rtol 1e-6;
 *   - softmax cross-entropy over a vocabulary (one block per row from 256 classes,
 *     kernels/cuda/ft_cuda_softmax.cu; double sums in another order, device exp/log):
 *     atol 1e-7, rtol 1e-6 as in test_kernels_cuda;
 *   - embedding forward and backward are bit-identical by construction (row copies;
 *     the scatter-add sums in the reference's order) and compared bitwise;
 *   - the model vs the CPU model: logits atol 1e-5, rtol 1e-4; loss rtol 1e-5;
 *     gradient atol 2e-6, rtol 1e-3 (the bounds test_model_lstm holds both CPU back
 *     ends to against torch); top-1 accuracy equal. */
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
#include "ft_error.h"
#include "ft_lstm_ops.h"
#include "ft_model_lstm.h"
#include "ft_ops.h"
#include "ft_ops_cuda.h"
#include "ft_rng.h"
#include "ft_test_fixture.h"
#include "ft_test_lstm_fixture.h"
#include "ft_text.h"

static const ft_ops_t *G;                                     /* the back end under test */
static const ft_lstm_ops_t *const R = &ft_lstm_ops_reference; /* the yardstick */

/* ---- helpers -------------------------------------------------------------- */

static void fill(float *a, size_t n, ft_rng_t *r, float scale)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(ft_rng_uniform(r) * 2.0 - 1.0) * scale;
}

/* A back-end copy of n bytes of host memory. */
static void *up(const void *host, size_t bytes)
{
    void *d = G->alloc(bytes);
    assert_non_null(d);
    G->upload(d, host, bytes);
    return d;
}

/* A host copy (ft_malloc) of n floats of back-end memory. */
static float *down(const void *dev, size_t n)
{
    float *h = ft_malloc(n * sizeof(float));
    assert_non_null(h);
    G->download(h, dev, n * sizeof(float));
    return h;
}

static void assert_close(const char *what, const float *got, const float *want, size_t n,
                         double atol, double rtol)
{
    for (size_t i = 0; i < n; i++) {
        int nan_g = isnan(got[i]), nan_w = isnan(want[i]);
        if (nan_g != nan_w ||
            (!nan_g && !(fabs((double)got[i] - want[i]) <= atol + rtol * fabs((double)want[i]))))
            fail_msg("%s[%zu]: got %.9g, want %.9g", what, i, got[i], want[i]);
    }
}

static void assert_bits(const char *what, const void *got, const void *want, size_t bytes)
{
    if (memcmp(got, want, bytes) != 0)
        fail_msg("%s: not bit-identical to the reference", what);
}

/* ---- ops ------------------------------------------------------------------ */

/* Lookup and sparse-row gradient, with ids repeating (the scatter's hard case), the
 * first and last rows of the table, and B = 1 / E = 1. */
static void test_embedding(void **state)
{
    (void)state;
    const int shapes[][3] = {{1, 1, 3}, {9, 5, 6}, {40, 3, 4}}; /* B, E, V */
    for (int s = 0; s < 3; s++) {
        int B = shapes[s][0], E = shapes[s][1], V = shapes[s][2];
        ft_rng_t rng;
        ft_rng_init(&rng, 11, (uint64_t)s, 0, FT_RNG_TEST);
        int32_t *ids = ft_malloc((size_t)B * sizeof *ids);
        float *table = ft_malloc((size_t)V * E * sizeof(float));
        float *dy = ft_malloc((size_t)B * E * sizeof(float));
        float *y = ft_malloc((size_t)B * E * sizeof(float));
        float *dtable = ft_malloc((size_t)V * E * sizeof(float));
        assert_true(ids && table && dy && y && dtable);
        for (int b = 0; b < B; b++)
            ids[b] = b == 0 ? V - 1 : (int32_t)ft_rng_below(&rng, (uint32_t)V);
        fill(table, (size_t)V * E, &rng, 1.0f);
        fill(dy, (size_t)B * E, &rng, 1.0f);
        fill(dtable, (size_t)V * E, &rng, 0.5f); /* backward accumulates into this */
        int32_t *g_ids = up(ids, (size_t)B * sizeof *ids);
        float *g_table = up(table, (size_t)V * E * sizeof(float));
        float *g_dy = up(dy, (size_t)B * E * sizeof(float));
        float *g_y = G->alloc((size_t)B * E * sizeof(float));
        float *g_dtable = up(dtable, (size_t)V * E * sizeof(float));
        R->embedding_forward(B, E, ids, table, y);
        G->lstm->embedding_forward(B, E, g_ids, g_table, g_y);
        float *h = down(g_y, (size_t)B * E);
        assert_bits("embedding_forward", h, y, (size_t)B * E * sizeof(float));
        ft_free(h);
        R->embedding_backward(B, E, ids, dy, dtable);
        G->lstm->embedding_backward(B, E, g_ids, g_dy, g_dtable);
        G->lstm->embedding_backward(B, E, g_ids, g_dy, g_dtable); /* twice: adds twice */
        R->embedding_backward(B, E, ids, dy, dtable);
        h = down(g_dtable, (size_t)V * E);
        assert_bits("embedding_backward", h, dtable, (size_t)V * E * sizeof(float));
        ft_free(h);
        G->free(g_ids), G->free(g_table), G->free(g_dy), G->free(g_y), G->free(g_dtable);
        ft_free(ids), ft_free(table), ft_free(dy), ft_free(y), ft_free(dtable);
    }
}

/* One step forward and backward on shapes with size-1 and odd dimensions: gates, h, c;
 * dgates, dc, dx (and dx = NULL), dh_prev overwritten over garbage; weight and bias
 * gradients accumulated onto preset values. */
static void test_step(void **state)
{
    (void)state;
    const int shapes[][3] = {{1, 1, 1}, {3, 5, 4}, {7, 2, 3}, {2, 9, 5}}; /* B, In, H */
    for (int s = 0; s < 4; s++) {
        int B = shapes[s][0], In = shapes[s][1], H = shapes[s][2], Gs = 4 * H;
        size_t nx = (size_t)B * In, nh = (size_t)B * H, ng = (size_t)B * Gs;
        size_t nwi = (size_t)Gs * In, nwh = (size_t)Gs * H;
        ft_rng_t rng;
        ft_rng_init(&rng, 21, (uint64_t)s, 0, FT_RNG_TEST);
        /* host arrays: inputs, then what each side writes */
        float *x = ft_malloc(nx * 4), *hp = ft_malloc(nh * 4), *cp = ft_malloc(nh * 4);
        float *wih = ft_malloc(nwi * 4), *whh = ft_malloc(nwh * 4);
        float *bih = ft_malloc((size_t)Gs * 4), *bhh = ft_malloc((size_t)Gs * 4);
        float *gates = ft_malloc(ng * 4), *hh = ft_malloc(nh * 4), *c = ft_malloc(nh * 4);
        float *dh = ft_malloc(nh * 4), *dc = ft_malloc(nh * 4), *dg = ft_malloc(ng * 4);
        float *dx = ft_malloc(nx * 4), *dhp = ft_malloc(nh * 4);
        float *dwi = ft_malloc(nwi * 4), *dwh = ft_malloc(nwh * 4);
        float *dbi = ft_malloc((size_t)Gs * 4), *dbh = ft_malloc((size_t)Gs * 4);
        fill(x, nx, &rng, 1.0f), fill(hp, nh, &rng, 0.8f), fill(cp, nh, &rng, 1.5f);
        fill(wih, nwi, &rng, 0.6f), fill(whh, nwh, &rng, 0.6f);
        fill(bih, (size_t)Gs, &rng, 0.3f), fill(bhh, (size_t)Gs, &rng, 0.3f);
        fill(dh, nh, &rng, 1.0f), fill(dc, nh, &rng, 1.0f);
        fill(dwi, nwi, &rng, 0.2f), fill(dwh, nwh, &rng, 0.2f);
        fill(dbi, (size_t)Gs, &rng, 0.2f), fill(dbh, (size_t)Gs, &rng, 0.2f);
        float *g_x = up(x, nx * 4), *g_hp = up(hp, nh * 4), *g_cp = up(cp, nh * 4);
        float *g_wih = up(wih, nwi * 4), *g_whh = up(whh, nwh * 4);
        float *g_bih = up(bih, (size_t)Gs * 4), *g_bhh = up(bhh, (size_t)Gs * 4);
        float *g_dh = up(dh, nh * 4), *g_dc = up(dc, nh * 4);
        float *g_dwi = up(dwi, nwi * 4), *g_dwh = up(dwh, nwh * 4);
        float *g_dbi = up(dbi, (size_t)Gs * 4), *g_dbh = up(dbh, (size_t)Gs * 4);
        /* outputs start as garbage (NaN): forward and the overwriting gradients must
         * not read them */
        float *garbage = ft_malloc((ng > nx ? ng : nx) * 4);
        for (size_t i = 0; i < (ng > nx ? ng : nx); i++)
            garbage[i] = NAN;
        float *g_gates = up(garbage, ng * 4), *g_h = up(garbage, nh * 4),
              *g_c = up(garbage, nh * 4);
        float *g_dg = up(garbage, ng * 4), *g_dx = up(garbage, nx * 4),
              *g_dhp = up(garbage, nh * 4);

        R->lstm_step_forward(B, In, H, x, hp, cp, wih, whh, bih, bhh, gates, hh, c);
        G->lstm->lstm_step_forward(B, In, H, g_x, g_hp, g_cp, g_wih, g_whh, g_bih, g_bhh, g_gates,
                                   g_h, g_c);
        float *t;
        t = down(g_gates, ng), assert_close("gates", t, gates, ng, 1e-5, 1e-4), ft_free(t);
        t = down(g_h, nh), assert_close("h", t, hh, nh, 1e-5, 1e-4), ft_free(t);
        t = down(g_c, nh), assert_close("c", t, c, nh, 1e-5, 1e-4), ft_free(t);

        /* backward from the reference's forward activations on both sides, so the
         * comparison is of the backward alone */
        G->upload(g_gates, gates, ng * 4);
        G->upload(g_c, c, nh * 4);
        R->lstm_step_backward(B, In, H, x, hp, cp, wih, whh, gates, c, dh, dc, dg, dx, dhp, dwi,
                              dwh, dbi, dbh);
        G->lstm->lstm_step_backward(B, In, H, g_x, g_hp, g_cp, g_wih, g_whh, g_gates, g_c, g_dh,
                                    g_dc, g_dg, g_dx, g_dhp, g_dwi, g_dwh, g_dbi, g_dbh);
        t = down(g_dg, ng), assert_close("dgates", t, dg, ng, 1e-5, 1e-4), ft_free(t);
        t = down(g_dc, nh), assert_close("dc_prev", t, dc, nh, 1e-5, 1e-4), ft_free(t);
        t = down(g_dx, nx), assert_close("dx", t, dx, nx, 1e-5, 1e-4), ft_free(t);
        t = down(g_dhp, nh), assert_close("dh_prev", t, dhp, nh, 1e-5, 1e-4), ft_free(t);
        t = down(g_dwi, nwi), assert_close("dw_ih", t, dwi, nwi, 1e-5, 1e-4), ft_free(t);
        t = down(g_dwh, nwh), assert_close("dw_hh", t, dwh, nwh, 1e-5, 1e-4), ft_free(t);
        t = down(g_dbi, (size_t)Gs), assert_close("db_ih", t, dbi, (size_t)Gs, 1e-5, 1e-4),
        ft_free(t);
        t = down(g_dbh, (size_t)Gs), assert_close("db_hh", t, dbh, (size_t)Gs, 1e-5, 1e-4),
        ft_free(t);

        /* dx NULL (the first layer's input needs none): the rest as before, accumulated a
         * second time */
        G->upload(g_dc, dc, nh * 4); /* dc now holds the reference's d c_prev */
        R->lstm_step_backward(B, In, H, x, hp, cp, wih, whh, gates, c, dh, dc, dg, NULL, dhp, dwi,
                              dwh, dbi, dbh);
        G->lstm->lstm_step_backward(B, In, H, g_x, g_hp, g_cp, g_wih, g_whh, g_gates, g_c, g_dh,
                                    g_dc, g_dg, NULL, g_dhp, g_dwi, g_dwh, g_dbi, g_dbh);
        t = down(g_dhp, nh), assert_close("dh_prev (dx NULL)", t, dhp, nh, 1e-5, 1e-4), ft_free(t);
        t = down(g_dwi, nwi), assert_close("dw_ih twice", t, dwi, nwi, 1e-5, 1e-4), ft_free(t);
        t = down(g_dbh, (size_t)Gs), assert_close("db_hh twice", t, dbh, (size_t)Gs, 1e-5, 1e-4),
        ft_free(t);

        void *dev[] = {g_x,   g_hp,  g_cp,  g_wih,   g_whh, g_bih, g_bhh, g_dh, g_dc, g_dwi,
                       g_dwh, g_dbi, g_dbh, g_gates, g_h,   g_c,   g_dg,  g_dx, g_dhp};
        for (size_t i = 0; i < sizeof dev / sizeof *dev; i++)
            G->free(dev[i]);
        void *host[] = {x,  hp, cp, wih, whh, bih, bhh, gates, hh,  c,
                        dh, dc, dg, dx,  dhp, dwi, dwh, dbi,   dbh, garbage};
        for (size_t i = 0; i < sizeof host / sizeof *host; i++)
            ft_free(host[i]);
    }
}

/* A NaN in one sequence's input (a legitimate poisoned value) reaches that sequence's
 * h and c and no other's. */
static void test_step_nan(void **state)
{
    (void)state;
    enum { B = 3, IN = 4, H = 2, GS = 4 * H };
    ft_rng_t rng;
    ft_rng_init(&rng, 31, 0, 0, FT_RNG_TEST);
    float x[B * IN], hp[B * H], cp[B * H], wih[GS * IN], whh[GS * H], bih[GS], bhh[GS];
    fill(x, B * IN, &rng, 1.0f), fill(hp, B * H, &rng, 1.0f), fill(cp, B * H, &rng, 1.0f);
    fill(wih, GS * IN, &rng, 0.5f), fill(whh, GS * H, &rng, 0.5f);
    fill(bih, GS, &rng, 0.5f), fill(bhh, GS, &rng, 0.5f);
    x[IN + 2] = NAN; /* sequence 1 */
    float *g_x = up(x, sizeof x), *g_hp = up(hp, sizeof hp), *g_cp = up(cp, sizeof cp);
    float *g_wih = up(wih, sizeof wih), *g_whh = up(whh, sizeof whh);
    float *g_bih = up(bih, sizeof bih), *g_bhh = up(bhh, sizeof bhh);
    float *g_gates = G->alloc(B * GS * 4), *g_h = G->alloc(B * H * 4), *g_c = G->alloc(B * H * 4);
    G->lstm->lstm_step_forward(B, IN, H, g_x, g_hp, g_cp, g_wih, g_whh, g_bih, g_bhh, g_gates, g_h,
                               g_c);
    float *h = down(g_h, B * H), *c = down(g_c, B * H);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < H; j++) {
            assert_int_equal(!!isnan(h[b * H + j]), b == 1);
            assert_int_equal(!!isnan(c[b * H + j]), b == 1);
        }
    ft_free(h), ft_free(c);
    void *dev[] = {g_x, g_hp, g_cp, g_wih, g_whh, g_bih, g_bhh, g_gates, g_h, g_c};
    for (size_t i = 0; i < sizeof dev / sizeof *dev; i++)
        G->free(dev[i]);
}

/* Top-1 (the first of tied maxima) and per-row cross-entropy over a 50,000-word
 * vocabulary (the paper's Reddit size), unscored targets (-1, V) and loss NULL. */
static void test_score_rows(void **state)
{
    (void)state;
    enum { ROWS = 5, V = 50000 };
    ft_rng_t rng;
    ft_rng_init(&rng, 41, 0, 0, FT_RNG_TEST);
    float *z = ft_malloc((size_t)ROWS * V * sizeof(float));
    assert_non_null(z);
    fill(z, (size_t)ROWS * V, &rng, 8.0f);
    z[(size_t)1 * V + 7] = z[(size_t)1 * V + 40000] = 9.5f; /* a tie: 7 wins */
    z[(size_t)3 * V + V - 1] = 20.0f;                       /* the last word */
    int32_t targets[ROWS] = {3, 7, -1, V - 1, V};
    int32_t best[ROWS], g_best_h[ROWS];
    double loss[ROWS], g_loss_h[ROWS];
    ft_lstm_host_score_rows(ROWS, V, z, targets, best, loss);
    float *g_z = up(z, (size_t)ROWS * V * sizeof(float));
    int32_t *g_t = up(targets, sizeof targets);
    int32_t *g_best = G->alloc(sizeof best);
    double *g_loss = G->alloc(sizeof loss);
    G->lstm->score_rows(ROWS, V, g_z, g_t, g_best, g_loss);
    G->download(g_best_h, g_best, sizeof best);
    G->download(g_loss_h, g_loss, sizeof loss);
    assert_int_equal(best[1], 7);
    assert_int_equal(best[3], V - 1);
    for (int r = 0; r < ROWS; r++) {
        assert_int_equal(g_best_h[r], best[r]);
        assert_float_equal(g_loss_h[r], loss[r], 1e-5 + 1e-6 * fabs(loss[r]));
    }
    assert_true(loss[0] > 0 && g_loss_h[2] == 0.0 && g_loss_h[4] == 0.0);
    G->zero(g_best, sizeof best);
    G->lstm->score_rows(ROWS, V, g_z, NULL, g_best, NULL);
    G->download(g_best_h, g_best, sizeof best);
    assert_memory_equal(g_best_h, best, sizeof best);
    G->free(g_z), G->free(g_t), G->free(g_best), G->free(g_loss);
    ft_free(z);
}

/* The decoder's softmax cross-entropy (ft_ops.h) at vocabulary sizes: 70 rows (T×B)
 * of 50,000 logits, and both sides of the switch from one thread per row to one
 * block per row (255 | 256 classes, 257, a single row), rows near -1000 and with a
 * spike of 900 (the maximum must be subtracted), forward (probabilities, mean loss)
 * and backward; then a NaN in one row of a vocabulary-sized batch, which makes
 * that row's probabilities and the loss NaN, as in the reference. */
static void test_softmax_large_vocab(void **state)
{
    (void)state;
    const int shapes[][2] = {{70, 50000}, {3, 255}, {3, 256}, {1, 257}, {5, 1000}};
    for (int k = 0; k < 6; k++) {
        int rows = k < 5 ? shapes[k][0] : 4, V = k < 5 ? shapes[k][1] : 3000;
        size_t n = (size_t)rows * V;
        ft_rng_t rng;
        ft_rng_init(&rng, 51, (uint64_t)k, 0, FT_RNG_TEST);
        float *z = ft_malloc(n * 4), *p = ft_malloc(n * 4), *d = ft_malloc(n * 4);
        int32_t *labels = ft_malloc((size_t)rows * sizeof(int32_t));
        assert_true(z && p && d && labels);
        fill(z, n, &rng, 6.0f);
        for (int r = 0; r < rows; r++)
            labels[r] = r == 0 ? V - 1 : (int32_t)ft_rng_below(&rng, (uint32_t)V);
        if (k == 4) { /* stability: exp(z) over- or underflows unless the max is subtracted */
            for (int c = 0; c < V; c++)
                z[c] -= 1000.0f, z[(size_t)V + c] += 80.0f;
            z[(size_t)V + V - 1] = 900.0f; /* the last column of row 1 */
        }
        if (k == 5)
            z[(size_t)2 * V + 1234] = NAN; /* row 2 */
        float loss = ft_ops_reference.softmax_xent_forward(rows, V, z, labels, p);
        ft_ops_reference.softmax_xent_backward(rows, V, p, labels, d);
        float *g_z = up(z, n * 4), *g_p = G->alloc(n * 4), *g_d = G->alloc(n * 4);
        int32_t *g_l = up(labels, (size_t)rows * sizeof(int32_t));
        float g_loss = G->softmax_xent_forward(rows, V, g_z, g_l, g_p);
        if (k == 5)
            assert_true(isnan(loss) && isnan(g_loss));
        else
            assert_float_equal(g_loss, loss, 1e-7 + 1e-6 * fabs(loss));
        float *t = down(g_p, n);
        assert_close("probs", t, p, n, 1e-7, 1e-6); /* NaN where the reference has NaN */
        if (k == 5)
            for (int c = 0; c < V; c++)
                assert_true(isnan(t[(size_t)2 * V + c]) && !isnan(t[(size_t)1 * V + c]));
        ft_free(t);
        G->softmax_xent_backward(rows, V, g_p, g_l, g_d);
        t = down(g_d, n);
        assert_close("dlogits", t, d, n, 1e-7 / rows, 1e-6);
        ft_free(t);
        G->free(g_z), G->free(g_p), G->free(g_d), G->free(g_l);
        ft_free(z), ft_free(p), ft_free(d), ft_free(labels);
    }
}

/* ---- the model -------------------------------------------------------------- */

/* One torch fixture (tests/fixtures/torch/gen_lstm.py): sizes, ids, weights. */
typedef struct {
    ft_lstm_spec_t spec; /* sizes (max_batch B) */
    int B;               /* batch */
    size_t N;            /* parameters */
    int32_t *ids;        /* B×(T+1), or B×T for the classifier */
    int32_t *labels;     /* B (classifier) */
    float *weights;      /* N */
} fixture_t;

static void load_fixture(const char *tag, fixture_t *fx)
{
    char rel[256];
    memset(fx, 0, sizeof *fx);
    ft_lstm_spec_t *s = &fx->spec;
    double loss, gnorm;
    if (!ft_test_lstm_fixture_header(tag, s, &fx->B, &fx->N, &loss, &gnorm, &s->classes))
        s->classes = 0;
    s->max_batch = fx->B;
    size_t per = (size_t)s->seq_len + (s->classes ? 0 : 1);
    snprintf(rel, sizeof rel, "torch/lstm_%s_ids.i32", tag);
    fx->ids = ft_test_fixture_read(rel, per * fx->B * sizeof(int32_t));
    snprintf(rel, sizeof rel, "torch/lstm_%s_weights.f32", tag);
    fx->weights = ft_test_fixture_read(rel, fx->N * sizeof(float));
    if (s->classes) {
        snprintf(rel, sizeof rel, "torch/lstm_%s_labels.i32", tag);
        fx->labels = ft_test_fixture_read(rel, (size_t)fx->B * sizeof(int32_t));
    }
}

static void free_fixture(fixture_t *fx)
{
    free(fx->ids), free(fx->weights), free(fx->labels);
}

/* The fixture's model on ops, with its weights and dropout p. */
static ft_lstm_model_t *model_on(const fixture_t *fx, const ft_ops_t *ops, float dropout)
{
    ft_lstm_spec_t s = fx->spec;
    s.dropout = dropout;
    ft_lstm_model_t *m;
    assert_int_equal(ft_lstm_new(&s, ops, &m), FT_OK);
    assert_int_equal(ft_lstm_num_params(m), fx->N);
    ops->upload(ft_lstm_params(m), fx->weights, fx->N * sizeof(float));
    ft_lstm_set_dropout_stream(m, 99, 3);
    return m;
}

static void compare_grads(const char *what, ft_lstm_model_t *g, ft_lstm_model_t *c, size_t N)
{
    float *gg = down(ft_lstm_grads(g), N);
    assert_close(what, gg, ft_lstm_grads(c), N, 2e-6, 1e-3);
    ft_free(gg);
}

/* Next-word models (untied 2 layers, tied 1 layer), without and with dropout (the
 * masks are the same Philox draws on both back ends): logits, loss, every gradient
 * element, after a smaller batch ran first; then evaluation's top-1 and loss. */
static void next_word(const char *tag)
{
    fixture_t fx;
    load_fixture(tag, &fx);
    int T = fx.spec.seq_len, B = fx.B, V = fx.spec.vocab;
    size_t TBV = (size_t)T * B * V;
    for (int drop = 0; drop < 2; drop++) {
        float p = drop ? 0.3f : 0.0f;
        ft_lstm_model_t *g = model_on(&fx, G, p), *c = model_on(&fx, &ft_ops_cpu, p);
        ft_lstm_set_training(g, 0), ft_lstm_set_training(c, 0);
        float *z = down(ft_lstm_forward(g, fx.ids, B), TBV);
        assert_close("logits", z, ft_lstm_forward(c, fx.ids, B), TBV, 1e-5, 1e-4);
        ft_free(z);
        ft_lstm_set_training(g, 1), ft_lstm_set_training(c, 1);
        if (B > 1) { /* a smaller batch first: its steps must not leak into the next pass */
            ft_lstm_forward_backward(g, fx.ids + (T + 1), 1);
            ft_lstm_forward_backward(c, fx.ids + (T + 1), 1);
        }
        float lg = ft_lstm_forward_backward(g, fx.ids, B);
        float lc = ft_lstm_forward_backward(c, fx.ids, B);
        assert_float_equal(lg, lc, 1e-5 * lc);
        assert_int_equal(ft_lstm_dropout_counter(g), ft_lstm_dropout_counter(c));
        compare_grads(tag, g, c, fx.N);
        /* the gradient norm and clipping run through the back end's reductions */
        double ng = ft_lstm_clip_grad(g, 0.01), nc = ft_lstm_clip_grad(c, 0.01);
        assert_float_equal(ng, nc, 1e-5 * nc);
        compare_grads("clipped", g, c, fx.N);
        /* evaluation: top-1 accuracy and loss (dropout off inside, restored after) */
        ft_lstm_eval_t eg, ec;
        ft_lstm_evaluate(g, fx.ids, NULL, (uint32_t)B, &eg);
        ft_lstm_evaluate(c, fx.ids, NULL, (uint32_t)B, &ec);
        assert_int_equal(eg.count, ec.count);
        assert_float_equal(eg.accuracy, ec.accuracy, 0.0);
        assert_float_equal(eg.loss, ec.loss, 1e-5 * ec.loss);
        ft_lstm_destroy(&g);
        ft_lstm_destroy(&c);
        assert_null(g);
    }
    free_fixture(&fx);
}

static void test_model_untied(void **state)
{
    (void)state;
    next_word("untied");
}

static void test_model_tied(void **state)
{
    (void)state;
    next_word("tied");
}

/* The classifier on the last step (the Sentiment140 shape): logits, loss, gradient;
 * labels in back-end memory. */
static void test_model_classifier(void **state)
{
    (void)state;
    fixture_t fx;
    load_fixture("cls", &fx);
    int B = fx.B, C = fx.spec.classes, T = fx.spec.seq_len;
    ft_lstm_model_t *g = model_on(&fx, G, 0.0f), *c = model_on(&fx, &ft_ops_cpu, 0.0f);
    int32_t *g_labels = up(fx.labels, (size_t)B * sizeof(int32_t));
    float *z = down(ft_lstm_classify(g, fx.ids, B), (size_t)B * C);
    assert_close("class logits", z, ft_lstm_classify(c, fx.ids, B), (size_t)B * C, 1e-5, 1e-4);
    ft_free(z);
    ft_lstm_classify_backward(g, fx.ids + T, g_labels + 1, 1); /* a smaller batch first */
    ft_lstm_classify_backward(c, fx.ids + T, fx.labels + 1, 1);
    float lg = ft_lstm_classify_backward(g, fx.ids, g_labels, B);
    float lc = ft_lstm_classify_backward(c, fx.ids, fx.labels, B);
    assert_float_equal(lg, lc, 1e-5 * lc);
    compare_grads("cls", g, c, fx.N);
    G->free(g_labels);
    ft_lstm_destroy(&g);
    ft_lstm_destroy(&c);
    free_fixture(&fx);
}

/* lstm-sentiment (one sigmoid logit, BCE, padding row, no embedding dropout) against the
 * CPU model, dropout 0.5 on both (the same Philox masks): logits, loss, every gradient
 * element (the padding row's zero), the host copy of the logits; labels in back-end
 * memory. */
static void test_model_sentiment(void **state)
{
    (void)state;
    fixture_t fx;
    load_fixture("sent", &fx); /* its 11th value is the padding id, not a class count */
    fx.spec.pad_id = fx.spec.classes;
    fx.spec.classes = 1, fx.spec.arch = FT_LSTM_SENTIMENT;
    free(fx.labels);
    fx.labels = ft_test_fixture_read("torch/lstm_sent_labels.i32", (size_t)fx.B * sizeof(int32_t));
    int B = fx.B, T = fx.spec.seq_len;
    ft_lstm_model_t *g = model_on(&fx, G, 0.5f), *c = model_on(&fx, &ft_ops_cpu, 0.5f);
    int32_t *g_labels = up(fx.labels, (size_t)B * sizeof(int32_t));
    ft_lstm_set_training(g, 0), ft_lstm_set_training(c, 0);
    const float *zh = ft_lstm_classify_host(g, fx.ids, B);
    assert_close("sentiment logits", zh, ft_lstm_classify(c, fx.ids, B), (size_t)B, 1e-5, 1e-4);
    ft_lstm_set_training(g, 1), ft_lstm_set_training(c, 1);
    ft_lstm_classify_backward(g, fx.ids + T, g_labels + 1, 1); /* a smaller batch first */
    ft_lstm_classify_backward(c, fx.ids + T, fx.labels + 1, 1);
    float lg = ft_lstm_classify_backward(g, fx.ids, g_labels, B);
    float lc = ft_lstm_classify_backward(c, fx.ids, fx.labels, B);
    assert_float_equal(lg, lc, 1e-5 * lc);
    assert_int_equal(ft_lstm_dropout_counter(g), ft_lstm_dropout_counter(c));
    compare_grads("sent", g, c, fx.N);
    float *gg = down(ft_lstm_grads(g), fx.N);
    for (int e = 0; e < fx.spec.emb; e++)
        assert_true(gg[(size_t)fx.spec.pad_id * fx.spec.emb + e] == 0.0f);
    ft_free(gg);
    G->free(g_labels);
    ft_lstm_destroy(&g);
    ft_lstm_destroy(&c);
    free_fixture(&fx);
}

/* The lstm behind ft_model_t, as training and the coordinator use it: inputs as
 * floats in back-end memory (downloaded and decoded), the gradient, and
 * ft_model_evaluate's scored-only top-1 and loss (two targets marked not scored). */
static void test_model_interface(void **state)
{
    (void)state;
    fixture_t fx;
    load_fixture("untied", &fx);
    int T = fx.spec.seq_len, B = fx.B;
    size_t cells = (size_t)B * (T + 1);
    float *x = ft_malloc(cells * sizeof(float));
    assert_non_null(x);
    for (size_t i = 0; i < cells; i++)
        x[i] = (float)fx.ids[i];
    x[2] = ft_text_unscored(fx.ids[2]);
    x[(size_t)(T + 1) + T] = ft_text_unscored(fx.ids[(size_t)(T + 1) + T]);
    ft_model_t *mg, *mc;
    assert_int_equal(ft_model_new_lstm(&fx.spec, G, &mg), FT_OK);
    assert_int_equal(ft_model_new_lstm(&fx.spec, &ft_ops_cpu, &mc), FT_OK);
    ft_model_set_params(mg, fx.weights);
    ft_model_set_params(mc, fx.weights);
    float *g_x = up(x, cells * sizeof(float));
    float lg = ft_model_forward_backward(mg, g_x, NULL, B);
    float lc = ft_model_forward_backward(mc, x, NULL, B);
    assert_float_equal(lg, lc, 1e-5 * lc);
    float *gg = down(ft_model_grads(mg), fx.N);
    assert_close("model grads", gg, ft_model_grads(mc), fx.N, 2e-6, 1e-3);
    ft_free(gg);
    /* parameters read back through the interface are what was set */
    float *back = ft_malloc(fx.N * sizeof(float));
    ft_model_get_params(mg, back);
    assert_memory_equal(back, fx.weights, fx.N * sizeof(float));
    ft_free(back);
    ft_dataset_t ds = {.n = (uint32_t)B, .c = 1, .h = 1, .w = T + 1, .values = x};
    snprintf(ds.name, sizeof ds.name, "fixture");
    ft_eval_t eg, ec;
    assert_int_equal(ft_model_evaluate(mg, &ds, NULL, 0, &eg), FT_OK);
    assert_int_equal(ft_model_evaluate(mc, &ds, NULL, 0, &ec), FT_OK);
    assert_int_equal(eg.count, (uint32_t)(T * B - 2)); /* the two unscored targets */
    assert_int_equal(eg.count, ec.count);
    assert_float_equal(eg.accuracy, ec.accuracy, 0.0);
    assert_float_equal(eg.loss, ec.loss, 1e-5 * ec.loss);
    G->free(g_x);
    ft_free(x);
    ft_model_destroy(&mg);
    ft_model_destroy(&mc);
    free_fixture(&fx);
}

int main(int argc, char **argv)
{
    int emulate = argc > 1 && strcmp(argv[1], "--emulate") == 0;
    G = emulate ? ft_ops_cuda_host_emulation() : ft_ops_cuda();
    if (!G) {
        printf("test_lstm_cuda: skipped: %s\n", ft_cuda_device_info());
        return 77;
    }
    if (!emulate)
        printf("test_lstm_cuda: device %s\n", ft_cuda_device_info());
    if (!G->lstm) {
        printf("test_lstm_cuda: the %s table has no LSTM ops\n", G->name);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedding),
        cmocka_unit_test(test_step),
        cmocka_unit_test(test_step_nan),
        cmocka_unit_test(test_score_rows),
        cmocka_unit_test(test_softmax_large_vocab),
        cmocka_unit_test(test_model_untied),
        cmocka_unit_test(test_model_tied),
        cmocka_unit_test(test_model_classifier),
        cmocka_unit_test(test_model_sentiment),
        cmocka_unit_test(test_model_interface),
    };
    return cmocka_run_group_tests_name(emulate ? "lstm_cuda_emulated" : "lstm_cuda", tests, NULL,
                                       NULL);
}
