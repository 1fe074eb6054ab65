/* ft_fixed: fixed-point encoding into Z_2^32 (see ft_fixed.h). */
#include "ft_fixed.h"

#include "ft_error.h"

#include <math.h>

int ft_fixed_check(const ft_fixed_t *f, size_t k)
{
    if (f->scale_bits < 1 || f->scale_bits > 30)
        return ft_error_set(FT_EINVAL, "scale_bits = %d must lie in [1, 30]", f->scale_bits);
    if (!(f->clip > 0) || !isfinite(f->clip))
        return ft_error_set(FT_EINVAL, "clip = %g must be a positive number", f->clip);
    double worst = (double)k * (f->clip * ldexp(1.0, f->scale_bits) + 0.5);
    if (worst >= 2147483648.0)
        return ft_error_set(FT_EINVAL,
                            "%zu clients at clip = %g and scale 2^%d can sum to %.3g, past the "
                            "ring's 2^31 (lower the clip or the scale bits)",
                            k, f->clip, f->scale_bits, worst);
    return FT_OK;
}

size_t ft_fixed_encode(const ft_fixed_t *f, const float *x, double weight, size_t N, uint32_t *out)
{
    double S = ldexp(1.0, f->scale_bits), R = f->clip;
    size_t clamped = 0;
    for (size_t i = 0; i < N; i++) {
        double v = weight * (double)x[i];
        if (isnan(v)) {
            v = 0;
            clamped++;
        } else if (v > R) {
            v = R;
            clamped++;
        } else if (v < -R) {
            v = -R;
            clamped++;
        }
        int64_t q = (int64_t)llrint(v * S);
        out[i] = (uint32_t)q; /* two's complement: q mod 2^32 */
    }
    return clamped;
}

void ft_fixed_decode(const ft_fixed_t *f, const uint32_t *sum, size_t N, double total_weight,
                     float *out)
{
    double inv = 1.0 / (ldexp(1.0, f->scale_bits) * total_weight);
    for (size_t i = 0; i < N; i++) {
        /* the ring element's signed representative in [-2^31, 2^31) */
        int64_t z = sum[i] >= 0x80000000u ? (int64_t)sum[i] - 4294967296LL : (int64_t)sum[i];
        out[i] = (float)((double)z * inv);
    }
}

double ft_fixed_bound(const ft_fixed_t *f, size_t k, double total_weight)
{
    return (double)k / (2.0 * ldexp(1.0, f->scale_bits) * total_weight);
}
