/* ft_defense_select: sample-weighted mean of the kept (and clipped) rows, with the
 * decisions; see ft_defense_select.h. */
#include "ft_defense_select.h"

#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>

size_t ft_rows_finite(const float *U, size_t K, size_t N, uint8_t *finite)
{
    size_t n = 0;
    for (size_t i = 0; i < K; i++) {
        const float *x = U + i * N;
        /* 0 * x is NaN exactly where x is NaN or ±Inf; summing it vectorises, where an
         * early-exit isfinite loop does not */
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        size_t j = 0;
        for (; j + 4 <= N; j += 4) {
            s0 += 0.0f * x[j];
            s1 += 0.0f * x[j + 1];
            s2 += 0.0f * x[j + 2];
            s3 += 0.0f * x[j + 3];
        }
        for (; j < N; j++)
            s0 += 0.0f * x[j];
        uint8_t ok = isfinite(s0 + s1 + s2 + s3) != 0;
        finite[i] = ok;
        n += ok;
    }
    return n;
}

int ft_select_mean(const ft_defense_input_t *in, const uint8_t *kept, const double *clip,
                   float *out, ft_defense_decision_t *dec, double *w)
{
    size_t K = in->K;
    double total = 0;
    size_t nkept = 0;
    for (size_t i = 0; i < K; i++) {
        if (!kept[i])
            continue;
        if (!isfinite(in->counts[i]) || in->counts[i] < 0)
            return ft_error_set(FT_EINVAL, "sample count of update %zu is %g (must be >= 0)", i,
                                (double)in->counts[i]);
        total += in->counts[i];
        nkept++;
    }
    if (nkept == 0)
        return ft_error_set(FT_EINVAL, "no update was kept");
    if (!(total > 0))
        return ft_error_set(FT_EINVAL, "the kept updates have no samples");
    for (size_t i = 0; i < K; i++) {
        float score = dec[i].score;
        if (!kept[i]) {
            dec[i] = (ft_defense_decision_t){FT_DECISION_DROPPED, 1.0f, score, 0.0f, 0.0f};
            w[i] = 0;
            continue;
        }
        double share = in->counts[i] / total, c = clip ? clip[i] : 1.0;
        w[i] = share * c;
        dec[i] = (ft_defense_decision_t){c != 1.0 ? FT_DECISION_CLIPPED : FT_DECISION_KEPT,
                                         (float)c, score, (float)share, 0.0f};
    }
    ft_weighted_sum_mat(in->updates, K, in->N, w, out);
    ft_decisions_set_contrib(dec, K, in->updates, in->N);
    return FT_OK;
}

double ft_median_d(double *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double x = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > x; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
    return n % 2 ? a[n / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}
