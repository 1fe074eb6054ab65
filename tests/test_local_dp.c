/* test_local_dp: client/ft_local_dp — the client side of defense.name = local-dp.
 * Off for any other rule; clipping to defense.norm_bound hand-worked (3-4-0 triangle);
 * below the bound and a zero update untouched; the noise N(0, σ²) is keyed by
 * (seed, round, client) (same key: same update; another round or client: another)
 * and has the stated mean and spread over 200000 draws (seeded, so deterministic;
 * the tolerances are 6 standard errors). The server side is FedAvg, checked by the
 * defenses' contract and weights tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_local_dp.h"

static ft_experiment_t exp_with(const char *name, double bound, double sigma)
{
    ft_experiment_t e;
    memset(&e, 0, sizeof e);
    e.defense.name = name;
    e.defense.norm_bound = bound;
    e.defense.stddev = sigma;
    e.run.seed = 7;
    return e;
}

static void test_clip(void **state)
{
    (void)state;
    ft_experiment_t off = exp_with("fedavg", 1, 0.5), on = exp_with("local-dp", 1, 0);
    float x[3] = {3, 4, 0};
    ft_local_dp_apply(&off, 1, 2, x, 3);
    assert_true(x[0] == 3 && x[1] == 4 && x[2] == 0);
    assert_false(ft_local_dp_on(&off));
    assert_true(ft_local_dp_on(&on));
    ft_local_dp_apply(&on, 1, 2, x, 3); /* ||x|| = 5 > 1: scaled by 1/5 */
    assert_true(fabsf(x[0] - 0.6f) < 1e-7f && fabsf(x[1] - 0.8f) < 1e-7f && x[2] == 0);
    float y[2] = {0.3f, 0.4f}; /* norm 0.5 < 1: untouched */
    ft_local_dp_apply(&on, 1, 2, y, 2);
    assert_true(y[0] == 0.3f && y[1] == 0.4f);
    float z[2] = {0, 0};
    ft_local_dp_apply(&on, 1, 2, z, 2);
    assert_true(z[0] == 0 && z[1] == 0);
}

static void test_noise(void **state)
{
    (void)state;
    enum { N = 200000 };
    const double sigma = 0.05;
    ft_experiment_t on = exp_with("local-dp", 1e9, sigma);
    float *a = ft_calloc(N, sizeof *a), *b = ft_calloc(N, sizeof *b);
    float *c = ft_calloc(N, sizeof *c), *d = ft_calloc(N, sizeof *d);
    assert_true(a && b && c && d);
    ft_local_dp_apply(&on, 3, 5, a, N);
    ft_local_dp_apply(&on, 3, 5, b, N);
    ft_local_dp_apply(&on, 3, 6, c, N);
    ft_local_dp_apply(&on, 4, 5, d, N);
    assert_memory_equal(a, b, N * sizeof *a);
    assert_memory_not_equal(a, c, N * sizeof *a);
    assert_memory_not_equal(a, d, N * sizeof *a);
    double m = 0, v = 0;
    for (size_t j = 0; j < N; j++)
        m += a[j];
    m /= N;
    for (size_t j = 0; j < N; j++)
        v += (a[j] - m) * (a[j] - m);
    double sd = sqrt(v / (N - 1));
    assert_true(fabs(m) < 6 * sigma / sqrt(N));
    assert_true(fabs(sd - sigma) < 6 * sigma / sqrt(2.0 * N));
    /* the noise is added after clipping: a long update lands at norm ~ sqrt(M² + N σ²) */
    ft_experiment_t tight = exp_with("local-dp", 2, sigma);
    for (size_t j = 0; j < N; j++)
        b[j] = 1.0f;
    ft_local_dp_apply(&tight, 3, 5, b, N);
    double s2 = 0;
    for (size_t j = 0; j < N; j++)
        s2 += (double)b[j] * b[j];
    double want = sqrt(4 + N * sigma * sigma);
    assert_true(fabs(sqrt(s2) - want) < 0.02 * want);
    ft_free(a);
    ft_free(b);
    ft_free(c);
    ft_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_noise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
