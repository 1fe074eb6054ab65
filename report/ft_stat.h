/* ft_stat: one number measured over several seeds — its mean, its sample standard
 * deviation and how many values it rests on — and how summaries print it.
 *
 * The standard deviation is the sample one (Bessel's correction, n − 1 in the
 * denominator): the seeds are a sample of the runs the experiment could have given,
 * and it is the estimate numpy.std(x, ddof=1) and pandas' .std() report. With one value
 * it is undefined, and the summaries omit it. */
#ifndef FT_STAT_H
#define FT_STAT_H

#include <stddef.h>

typedef struct {
    int n;       /* values counted (NaN values are not) */
    double mean; /* their mean; NaN when n = 0 */
    double std;  /* sample standard deviation, sqrt(Σ(x − mean)² / (n − 1)); NaN when n < 2 */
} ft_stat_t;

/* The mean and sample std of the finite values of x[0..n) into *out. Computed about
 * the first finite value (shifted data), so equal values give std exactly 0 and a
 * mean exactly equal to them. */
void ft_stat_of(const double *x /* n */, int n, ft_stat_t *out);

/* s in words into buf: "85.1 ± 1.2%" (percent: mean and std × 100, one decimal),
 * "85.1%" when n = 1, "-" when n = 0; not percent: "12.5 ± 0.7", "12.5", "-". */
void ft_stat_format(char *buf, size_t len, const ft_stat_t *s, int percent);

#endif
