/* ft_local_dp: clipping and Gaussian noise of an honest client's update under
 * defense.name = local-dp (see ft_local_dp.h for the paper). BackFed
 * (backfed/clients/localdp_benign_client.py) clips and noises every minibatch gradient
 * instead (DP-SGD style, clip 1.0, σ 0.01); the issue asks for the update-level
 * mechanism, which needs no change to the trainer. As in BackFed, only honest
 * clients run it: an attacker does not follow the protocol. */
#include "ft_local_dp.h"

#include "ft_rng.h"

#include <math.h>
#include <string.h>

int ft_local_dp_on(const ft_experiment_t *exp)
{
    return exp->defense.name && strcmp(exp->defense.name, "local-dp") == 0;
}

void ft_local_dp_apply(const ft_experiment_t *exp, uint32_t round, uint32_t client, float *delta,
                       size_t N)
{
    if (!ft_local_dp_on(exp))
        return;
    double s2 = 0;
    for (size_t j = 0; j < N; j++)
        s2 += (double)delta[j] * (double)delta[j];
    double norm = sqrt(s2), M = exp->defense.norm_bound, sigma = exp->defense.stddev;
    double c = norm > M ? M / norm : 1.0;
    ft_rng_t rng;
    ft_rng_init(&rng, exp->run.seed, round, client, FT_RNG_LOCAL_DP);
    for (size_t j = 0; j < N; j++)
        delta[j] = (float)(c * (double)delta[j] + (sigma > 0 ? sigma * ft_rng_normal(&rng) : 0.0));
}
