/* ft_defense_ndc: norm-difference clipping shared by norm-clipping and weak-dp
 * (internal to defenses/). */
#ifndef FT_DEFENSE_NDC_H
#define FT_DEFENSE_NDC_H

#include "ft_defense.h"

/* Workspace bytes of ft_ndc_aggregate for up to max_k updates. */
size_t ft_ndc_ws(size_t max_k);

/* Clips each update to L2 norm bound M (Δ <- Δ / max(1, ||Δ||/M)) and writes the
 * sample-count weighted mean of the clipped updates into out (N). Updates whose norm
 * is not finite (NaN/Inf inside) are dropped and the weights renormalised over the
 * rest. FT_EINVAL if the counts are invalid or every update is dropped. */
int ft_ndc_aggregate(double M, const ft_defense_input_t *in, float *out, ft_defense_decision_t *dec,
                     void *workspace, size_t ws_bytes);

#endif
