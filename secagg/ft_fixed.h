/* ft_fixed: float updates as fixed-point numbers in the ring Z_2^32, for secure
 * aggregation (masks are uniform in the ring, so the sum must be a ring sum).
 *
 * Client c with weight w_c = n_c / N_round (its sample count over the round's)
 * encodes q_c = round(S · clamp(w_c · Δ_c, -R, R)) mod 2^32, S = 2^scale_bits and
 * R = clip (security.secagg_scale_bits, security.secagg_clip); a NaN coordinate
 * encodes as 0, ±Inf as ±R. The server decodes the ring sum of k such vectors as a
 * signed 32-bit integer z and returns z / (S · W), W = Σ w_c over the clients
 * summed: the weighted FedAvg mean. No wrap-around is possible when
 * k · (R·S + 1/2) < 2^31 (ft_fixed_check). Then, for every coordinate whose weighted
 * values were within ±R,
 *     |decoded − Σ w_c Δ_c / W| <= k / (2 S W)      (each client rounds by <= 1/(2S))
 * plus float32 rounding of the result (ft_fixed_bound). With every sampled client
 * summed, W = 1. */
#ifndef FT_FIXED_H
#define FT_FIXED_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int scale_bits; /* S = 2^scale_bits */
    double clip;    /* R: each weighted coordinate is clamped to [-R, R] */
} ft_fixed_t;

/* FT_EINVAL (with a message naming the quantities) unless 1 <= scale_bits <= 30,
 * clip > 0 and k clients' sums cannot wrap: k · (clip · 2^scale_bits + 1/2) < 2^31. */
int ft_fixed_check(const ft_fixed_t *f, size_t k);

/* out[i] = round(S · clamp(weight · x[i], ±R)) mod 2^32 (NaN → 0). Returns how many
 * coordinates were clamped (NaN and ±Inf included). */
size_t ft_fixed_encode(const ft_fixed_t *f, const float *x /* N */, double weight, size_t N,
                       uint32_t *out /* N */);

/* out[i] = (int32) sum[i] / (S · total_weight). total_weight > 0. */
void ft_fixed_decode(const ft_fixed_t *f, const uint32_t *sum /* N */, size_t N,
                     double total_weight, float *out /* N */);

/* The stated bound on |decoded − exact weighted mean| per coordinate for k clients of
 * total weight W, unclipped values: k / (2 S W). */
double ft_fixed_bound(const ft_fixed_t *f, size_t k, double total_weight);

#endif
