/* ft_local_dp: the client side of defense.name = local-dp: an honest client clips its
 * update and adds Gaussian noise before sending it (update-level local differential
 * privacy; Naseri, Hayes and De Cristofaro, "Local and Central Differential Privacy
 * for Robustness and Privacy in Federated Learning", NDSS 2022, LDP: Alg. 1 with the
 * clipping and noising moved from the server to each client). The server then
 * averages (defenses/local_dp.c). The client learns that local DP is on from the
 * experiment it reads (defense.name), never from defenses/. */
#ifndef FT_LOCAL_DP_H
#define FT_LOCAL_DP_H

#include <stddef.h>
#include <stdint.h>

#include "ft_experiment.h"

/* Whether exp asks the clients for local DP (defense.name = "local-dp"). */
int ft_local_dp_on(const ft_experiment_t *exp);

/* If local DP is on: delta (N) <- delta min(1, M / ||delta||) + N(0, σ² I), with
 * M = defense.norm_bound, σ = defense.stddev, the noise drawn in coordinate order
 * from the stream (run.seed, round, client, FT_RNG_LOCAL_DP), so a retried task sends
 * the same update. Otherwise delta is left alone. A zero delta is not scaled. */
void ft_local_dp_apply(const ft_experiment_t *exp, uint32_t round, uint32_t client, float *delta,
                       size_t N);

#endif
