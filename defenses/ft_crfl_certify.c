/* ft_crfl_certify: CRFL's certified radius (Xie et al., ICML 2021, Theorem 1) and the
 * confidence bounds it is fed. See ft_crfl_certify.h for the reference lines. */
#include "ft_crfl_certify.h"

#include <assert.h>
#include <math.h>

void ft_crfl_top2(const uint32_t *votes, int C, int *k_a, uint32_t *n_a, uint32_t *n_b)
{
    assert(C >= 1);
    int a = 0;
    for (int c = 1; c < C; c++)
        if (votes[c] > votes[a])
            a = c;
    uint32_t b = 0;
    for (int c = 0; c < C; c++)
        if (c != a && votes[c] > b)
            b = votes[c];
    *k_a = a;
    *n_a = votes[a];
    *n_b = b;
}

/* The continued fraction of I_x(a, b) (DLMF 8.17.22) by the modified Lentz method;
 * converges fast for x < (a + 1) / (a + b + 2). */
static double beta_cf(double x, double a, double b)
{
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    d = 1 / (fabs(d) < tiny ? tiny : d);
    double f = d;
    for (int m = 1; m <= 10000; m++) {
        for (int odd = 0; odd < 2; odd++) {
            double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1 + num * d;
            d = 1 / (fabs(d) < tiny ? tiny : d);
            c = 1 + num / c;
            c = fabs(c) < tiny ? tiny : c;
            f *= c * d;
            if (odd && fabs(c * d - 1) < 1e-16)
                return f;
        }
    }
    return f;
}

/* The regularised incomplete beta function I_x(a, b). */
static double beta_inc(double x, double a, double b)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double front = exp(a * log(x) + b * log1p(-x) + lgamma(a + b) - lgamma(a) - lgamma(b));
    if (x < (a + 1) / (a + b + 2))
        return front * beta_cf(x, a, b) / a;
    return 1 - front * beta_cf(1 - x, b, a) / b;
}

double ft_beta_quantile(double p, double a, double b)
{
    assert(a > 0 && b > 0 && p >= 0 && p <= 1);
    if (p <= 0 || p >= 1)
        return p <= 0 ? 0.0 : 1.0;
    double lo = 0, hi = 1;
    /* I_x is increasing in x: bisection to the double's resolution */
    for (int it = 0; it < 200 && hi - lo > 1e-17; it++) {
        double mid = 0.5 * (lo + hi);
        if (beta_inc(mid, a, b) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

void ft_crfl_bounds(uint32_t n_a, uint32_t n_b, uint32_t M, double alpha, ft_crfl_bound_t how,
                    double *pa, double *pb)
{
    assert(M >= 1 && n_a + (uint64_t)n_b <= M && alpha > 0 && alpha < 1);
    if (how == FT_CRFL_HOEFFDING) {
        double h = sqrt(log(1 / alpha) / 2 / M);
        *pa = fmax(1e-8, (double)n_a / M - h);
        *pb = fmin(1 - 1e-8, (double)n_b / M + h);
        return;
    }
    /* Clopper-Pearson: the one-sided bounds are Beta quantiles */
    *pa = n_a == 0 ? 0.0 : ft_beta_quantile(alpha, n_a, (double)(M - n_a) + 1);
    *pb = n_b >= M ? 1.0 : ft_beta_quantile(1 - alpha, (double)n_b + 1, (double)(M - n_b));
}

/* 2 Φ(x) - 1 = erf(x / √2): the chance a Gaussian coordinate stays inside ±x σ. */
static double contraction(double rho, double sigma)
{
    return erf(rho / sigma / sqrt(2.0));
}

double ft_crfl_radius(const ft_crfl_threat_t *t, double pa, double pb)
{
    if (pa >= 1)
        return INFINITY;
    if (!(pa > pb))
        return -1;
    if (t->R <= 0)
        return 0;
    double s = sqrt(pa) - sqrt(pb);
    double frac = -log(1 - s * s) * t->sigma_train * t->sigma_train;
    double lz2 = 2 + 2 * t->rho + t->rho * t->rho; /* L_z² (certify_mnist.py:116) */
    double den = 2.0 * t->R * t->tau * t->tau * lz2 * t->w2 * t->gamma * t->gamma * t->eta *
                 t->eta * t->q * t->q;
    double contract = 1;
    for (int r = t->t_adv + 1; r < t->T; r++)
        contract *= contraction(t->rho, t->sigma_train);
    contract *= contraction(t->rho, t->sigma_test);
    return sqrt(frac / (den * contract));
}
