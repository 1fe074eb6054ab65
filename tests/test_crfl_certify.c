/* CRFL's test-time certification (defenses/ft_crfl_certify.h) against the NumPy port
 * of the authors' code (tests/fixtures/defenses/gen_crfl_certify.py): the top-2 votes
 * with ties, the Hoeffding and Clopper-Pearson bounds at every edge (no votes, all
 * votes, n_A + n_B = M), the radius (not certified when p_A <= p_B, infinite at
 * p_A = 1, the per-round factor), and the Beta quantile's closed forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_crfl_certify.h"

#include "fixtures/defenses/crfl_certify_golden.h"

#include <math.h>
#include <stdio.h>

static int close_to(double got, double want, double rtol)
{
    if (isinf(want))
        return isinf(got) && (got > 0) == (want > 0);
    return fabs(got - want) <= rtol * (1 + fabs(want));
}

static ft_crfl_threat_t fixture_threat(void)
{
    ft_crfl_threat_t t = {.sigma_train = fx_cert_threat.sigma_train,
                          .sigma_test = fx_cert_threat.sigma_test,
                          .rho = fx_cert_threat.rho,
                          .eta = fx_cert_threat.eta,
                          .tau = fx_cert_threat.tau,
                          .T = fx_cert_threat.T,
                          .t_adv = fx_cert_threat.t_adv,
                          .R = fx_cert_threat.R,
                          .w2 = fx_cert_threat.w2,
                          .gamma = fx_cert_threat.gamma,
                          .q = fx_cert_threat.q};
    return t;
}

static void test_top2(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fx_top2 / sizeof fx_top2[0]; i++) {
        int ka;
        uint32_t na, nb;
        ft_crfl_top2(fx_top2_counts[i], 4, &ka, &na, &nb);
        if (ka != fx_top2[i][0] || (int)na != fx_top2[i][1] || (int)nb != fx_top2[i][2])
            fail_msg("top2 case %zu: got (%d, %u, %u), reference (%d, %d, %d)", i, ka, na, nb,
                     fx_top2[i][0], fx_top2[i][1], fx_top2[i][2]);
    }
}

static void test_bounds_and_radius(void **state)
{
    (void)state;
    ft_crfl_threat_t t = fixture_threat();
    int certified = 0, abstained = 0;
    for (size_t i = 0; i < sizeof fx_cert / sizeof fx_cert[0]; i++) {
        double pa, pb;
        ft_crfl_bounds(fx_cert[i].na, fx_cert[i].nb, fx_cert[i].M, fx_cert[i].alpha,
                       (ft_crfl_bound_t)fx_cert[i].how, &pa, &pb);
        double r = ft_crfl_radius(&t, pa, pb);
        if (!close_to(pa, fx_cert[i].pa, 1e-9) || !close_to(pb, fx_cert[i].pb, 1e-9) ||
            !close_to(r, fx_cert[i].radius, 1e-7))
            fail_msg("case %zu (%u, %u of %u, alpha %g, bound %d): pA %.17g pB %.17g radius "
                     "%.17g; reference %.17g %.17g %.17g",
                     i, fx_cert[i].na, fx_cert[i].nb, fx_cert[i].M, fx_cert[i].alpha,
                     fx_cert[i].how, pa, pb, r, fx_cert[i].pa, fx_cert[i].pb, fx_cert[i].radius);
        certified += r > 0;
        abstained += r < 0;
    }
    /* the fixture covers both outcomes */
    assert_true(certified > 5 && abstained > 5);
    /* a small rho / sigma: the per-round factors matter; t_adv = T - 1: only the test one */
    ft_crfl_threat_t t2 = t;
    t2.sigma_train = 1.5;
    t2.sigma_test = 3.0;
    t2.t_adv = 19;
    double pa, pb;
    ft_crfl_bounds(90, 5, 100, 0.001, FT_CRFL_HOEFFDING, &pa, &pb);
    assert_true(close_to(ft_crfl_radius(&t2, pa, pb), fx_cert_t2_radius, 1e-7));
    /* p_A = 1 (no bound taken): infinite; p_A = p_B: not certified; R = 0: radius 0 */
    assert_true(isinf(ft_crfl_radius(&t, 1.0, 0.0)));
    assert_true(ft_crfl_radius(&t, 0.4, 0.4) == -1);
    t2.R = 0;
    assert_true(ft_crfl_radius(&t2, 0.9, 0.05) == 0);
}

/* Hand-worked: Beta(k, 1) has CDF x^k, Beta(1, k) has 1 - (1 - x)^k, Beta(a, a) is
 * symmetric (median 1/2). */
static void test_beta_quantile(void **state)
{
    (void)state;
    for (int k = 1; k <= 50; k += 7)
        for (double p = 0.001; p < 1; p += 0.2) {
            assert_true(fabs(ft_beta_quantile(p, k, 1) - pow(p, 1.0 / k)) < 1e-12);
            assert_true(fabs(ft_beta_quantile(p, 1, k) - (1 - pow(1 - p, 1.0 / k))) < 1e-12);
        }
    assert_true(fabs(ft_beta_quantile(0.5, 37, 37) - 0.5) < 1e-12);
    assert_true(ft_beta_quantile(0, 2, 3) < 1e-15 && ft_beta_quantile(1, 2, 3) > 1 - 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top2),
        cmocka_unit_test(test_bounds_and_radius),
        cmocka_unit_test(test_beta_quantile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
