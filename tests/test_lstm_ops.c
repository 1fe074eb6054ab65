/* test_lstm_ops: the LSTM ops (kernels/ft_lstm_ops.h). The reference step's forward is
 * checked against the cell equations worked by hand for one unit, its backward
 * against central finite differences of a scalar loss in double precision; the fast
 * CPU path is then checked against the reference, including accumulation into the
 * weight gradients and NaN inputs propagating (not being masked).
 *
 * Tolerances: fast vs reference |d| <= 1e-5 + 1e-4 |ref| (float sums in a different
 * order); finite differences (step 1e-3 in float) |d| <= 2e-3 + 2e-2 |analytic|. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ft_lstm_ops.h"
#include "ft_rng.h"

#define B  3
#define IN 5
#define H  4
#define G  (4 * H)

/* One step's inputs and parameters. */
typedef struct {
    float x[B * IN], hp[B * H], cp[B * H];
    float wih[G * IN], whh[G * H], bih[G], bhh[G];
    float wh[B * H], wc[B * H]; /* loss = sum wh*h + sum wc*c */
} step_t;

static void fill(float *a, int n, ft_rng_t *r, float scale)
{
    for (int i = 0; i < n; i++)
        a[i] = (float)(ft_rng_uniform(r) * 2.0 - 1.0) * scale;
}

static void make_step(step_t *s, uint64_t seed)
{
    ft_rng_t r;
    ft_rng_init(&r, seed, 0, 0, FT_RNG_TEST);
    fill(s->x, B * IN, &r, 1.0f);
    fill(s->hp, B * H, &r, 0.8f);
    fill(s->cp, B * H, &r, 1.5f);
    fill(s->wih, G * IN, &r, 0.6f);
    fill(s->whh, G * H, &r, 0.6f);
    fill(s->bih, G, &r, 0.3f);
    fill(s->bhh, G, &r, 0.3f);
    fill(s->wh, B * H, &r, 1.0f);
    fill(s->wc, B * H, &r, 1.0f);
}

static double loss_of(const ft_lstm_ops_t *ops, const step_t *s)
{
    float gates[B * G], h[B * H], c[B * H];
    ops->lstm_step_forward(B, IN, H, s->x, s->hp, s->cp, s->wih, s->whh, s->bih, s->bhh, gates, h,
                           c);
    double l = 0;
    for (int i = 0; i < B * H; i++)
        l += (double)s->wh[i] * h[i] + (double)s->wc[i] * c[i];
    return l;
}

/* All gradients of loss_of from one backward step. */
typedef struct {
    float dx[B * IN], dhp[B * H], dcp[B * H];
    float dwih[G * IN], dwhh[G * H], dbih[G], dbhh[G];
} grads_t;

static void backward(const ft_lstm_ops_t *ops, const step_t *s, grads_t *g, float preset)
{
    float gates[B * G], h[B * H], c[B * H], dgates[B * G];
    ops->lstm_step_forward(B, IN, H, s->x, s->hp, s->cp, s->wih, s->whh, s->bih, s->bhh, gates, h,
                           c);
    for (int i = 0; i < G * IN; i++)
        g->dwih[i] = preset;
    for (int i = 0; i < G * H; i++)
        g->dwhh[i] = preset;
    for (int i = 0; i < G; i++)
        g->dbih[i] = g->dbhh[i] = preset;
    memcpy(g->dcp, s->wc, sizeof g->dcp); /* d loss / d c enters as dc */
    ops->lstm_step_backward(B, IN, H, s->x, s->hp, s->cp, s->wih, s->whh, gates, c, s->wh, g->dcp,
                            dgates, g->dx, g->dhp, g->dwih, g->dwhh, g->dbih, g->dbhh);
}

static float sig(float a)
{
    return 1.0f / (1.0f + expf(-a));
}

/* Unit j = 0 of sample 0 by the equations, written out. */
static void test_forward_by_hand(void **state)
{
    (void)state;
    step_t s;
    make_step(&s, 1);
    float a[4];
    for (int q = 0; q < 4; q++) {
        int r = q * H; /* row of gate q for unit 0 */
        double v = s.bih[r] + s.bhh[r];
        for (int k = 0; k < IN; k++)
            v += s.x[k] * s.wih[r * IN + k];
        for (int k = 0; k < H; k++)
            v += s.hp[k] * s.whh[r * H + k];
        a[q] = (float)v;
    }
    float i = sig(a[0]), f = sig(a[1]), g = tanhf(a[2]), o = sig(a[3]);
    float c = f * s.cp[0] + i * g, h = o * tanhf(c);
    const ft_lstm_ops_t *all[] = {&ft_lstm_ops_reference, &ft_lstm_ops_cpu};
    for (int k = 0; k < 2; k++) {
        float gates[B * G], hh[B * H], cc[B * H];
        all[k]->lstm_step_forward(B, IN, H, s.x, s.hp, s.cp, s.wih, s.whh, s.bih, s.bhh, gates, hh,
                                  cc);
        assert_float_equal(gates[0], i, 1e-6);
        assert_float_equal(gates[H], f, 1e-6);
        assert_float_equal(gates[2 * H], g, 1e-6);
        assert_float_equal(gates[3 * H], o, 1e-6);
        assert_float_equal(cc[0], c, 1e-6);
        assert_float_equal(hh[0], h, 1e-6);
    }
}

static void check_fd(float *param, int n, const float *analytic, step_t *s)
{
    for (int i = 0; i < n; i++) {
        float keep = param[i];
        param[i] = keep + 1e-3f;
        double lp = loss_of(&ft_lstm_ops_reference, s);
        param[i] = keep - 1e-3f;
        double lm = loss_of(&ft_lstm_ops_reference, s);
        param[i] = keep;
        double fd = (lp - lm) / 2e-3;
        if (fabs(fd - analytic[i]) > 2e-3 + 2e-2 * fabs(analytic[i]))
            fail_msg("element %d: finite difference %g, analytic %g", i, fd, analytic[i]);
    }
}

static void test_backward_finite_differences(void **state)
{
    (void)state;
    step_t s;
    make_step(&s, 2);
    grads_t g;
    backward(&ft_lstm_ops_reference, &s, &g, 0.0f);
    check_fd(s.x, B * IN, g.dx, &s);
    check_fd(s.hp, B * H, g.dhp, &s);
    check_fd(s.cp, B * H, g.dcp, &s);
    check_fd(s.wih, G * IN, g.dwih, &s);
    check_fd(s.whh, G * H, g.dwhh, &s);
    check_fd(s.bih, G, g.dbih, &s);
    check_fd(s.bhh, G, g.dbhh, &s);
}

static void near(const float *got, const float *want, int n)
{
    for (int i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-5f + 1e-4f * fabsf(want[i])))
            fail_msg("element %d: cpu %g, reference %g", i, got[i], want[i]);
}

/* The fast path against the reference, weight gradients accumulated onto 0.5. */
static void test_cpu_matches_reference(void **state)
{
    (void)state;
    for (uint64_t seed = 3; seed < 6; seed++) {
        step_t s;
        make_step(&s, seed);
        grads_t r, c;
        backward(&ft_lstm_ops_reference, &s, &r, 0.5f);
        backward(&ft_lstm_ops_cpu, &s, &c, 0.5f);
        near(c.dx, r.dx, B * IN);
        near(c.dhp, r.dhp, B * H);
        near(c.dcp, r.dcp, B * H);
        near(c.dwih, r.dwih, G * IN);
        near(c.dwhh, r.dwhh, G * H);
        near(c.dbih, r.dbih, G);
        near(c.dbhh, r.dbhh, G);
        grads_t z;
        backward(&ft_lstm_ops_reference, &s, &z, 0.0f);
        assert_float_equal(r.dbih[1], z.dbih[1] + 0.5f, 1e-6); /* accumulated, not overwritten */
    }
}

static void test_embedding(void **state)
{
    (void)state;
    const float table[4 * 2] = {0, 1, 10, 11, 20, 21, 30, 31};
    const int32_t ids[3] = {2, 0, 2};
    const float dy[3 * 2] = {1, 2, 3, 4, 5, 6};
    const ft_lstm_ops_t *all[] = {&ft_lstm_ops_reference, &ft_lstm_ops_cpu};
    for (int k = 0; k < 2; k++) {
        float y[6], dt[8] = {0};
        all[k]->embedding_forward(3, 2, ids, table, y);
        const float wy[6] = {20, 21, 0, 1, 20, 21};
        assert_memory_equal(y, wy, sizeof wy);
        all[k]->embedding_backward(3, 2, ids, dy, dt);
        const float wd[8] = {3, 4, 0, 0, 6, 8, 0, 0}; /* row 2 gets both of its uses */
        assert_memory_equal(dt, wd, sizeof wd);
    }
}

/* A NaN in the input reaches the outputs on both paths (not clamped away). */
static void test_nan_propagates(void **state)
{
    (void)state;
    const ft_lstm_ops_t *all[] = {&ft_lstm_ops_reference, &ft_lstm_ops_cpu};
    for (int k = 0; k < 2; k++) {
        step_t s;
        make_step(&s, 9);
        s.x[0] = NAN;
        float gates[B * G], h[B * H], c[B * H];
        all[k]->lstm_step_forward(B, IN, H, s.x, s.hp, s.cp, s.wih, s.whh, s.bih, s.bhh, gates, h,
                                  c);
        assert_true(isnan(h[0]) && isnan(c[0]));
        assert_false(isnan(h[H])); /* sample 1 is untouched */
    }
}

/* Row scoring worked by hand: row 0 = (1, 3, 3, 2) has its maximum twice (the first,
 * index 1, is top-1) and target 0: loss = log(e^-2 + 1 + 1 + e^-1) + 3 - 1; row 1 =
 * (0, 0, 0, 5) has top-1 3 and an unscored target (-1, then V): loss 0. Both CPU
 * tables use the same function. */
static void test_score_rows_by_hand(void **state)
{
    (void)state;
    const float z[8] = {1, 3, 3, 2, 0, 0, 0, 5};
    int32_t targets[2] = {0, -1}, best[2] = {-7, -7};
    double loss[2] = {-7, -7};
    assert_ptr_equal(ft_lstm_ops_reference.score_rows, ft_lstm_ops_cpu.score_rows);
    ft_lstm_ops_reference.score_rows(2, 4, z, targets, best, loss);
    assert_int_equal(best[0], 1);
    assert_int_equal(best[1], 3);
    assert_float_equal(loss[0], log(exp(-2.0) + 2.0 + exp(-1.0)) + 2.0, 1e-6);
    assert_true(loss[1] == 0.0);
    targets[1] = 4; /* V: outside the vocabulary, not scored either */
    ft_lstm_ops_cpu.score_rows(2, 4, z, targets, best, loss);
    assert_true(loss[1] == 0.0);
    best[0] = best[1] = -7;
    ft_lstm_ops_cpu.score_rows(2, 4, z, NULL, best, NULL); /* top-1 only */
    assert_int_equal(best[0], 1);
    assert_int_equal(best[1], 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_by_hand),
        cmocka_unit_test(test_backward_finite_differences),
        cmocka_unit_test(test_cpu_matches_reference),
        cmocka_unit_test(test_embedding),
        cmocka_unit_test(test_nan_propagates),
        cmocka_unit_test(test_score_rows_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
