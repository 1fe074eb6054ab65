/* ft_stat: mean and sample standard deviation over seeds, and their text form. */
#include "ft_stat.h"

#include <math.h>
#include <stdio.h>

void ft_stat_of(const double *x, int n, ft_stat_t *out)
{
    double shift = NAN, sum = 0;
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        if (count == 0)
            shift = x[i];
        sum += x[i] - shift;
        count++;
    }
    out->n = count;
    out->mean = count ? shift + sum / count : NAN;
    out->std = NAN;
    if (count < 2)
        return;
    /* Two passes about the shifted mean: no cancellation of large squares. */
    double d_mean = sum / count, ss = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) {
            double d = (x[i] - shift) - d_mean;
            ss += d * d;
        }
    out->std = sqrt(ss / (count - 1));
}

void ft_stat_format(char *buf, size_t len, const ft_stat_t *s, int percent)
{
    double k = percent ? 100.0 : 1.0;
    const char *unit = percent ? "%" : "";
    if (s->n == 0)
        snprintf(buf, len, "-");
    else if (s->n == 1 || isnan(s->std))
        snprintf(buf, len, "%.1f%s", k * s->mean, unit);
    else
        snprintf(buf, len, "%.1f ± %.1f%s", k * s->mean, k * s->std, unit);
}
