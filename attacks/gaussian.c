/* gaussian: the Gaussian Byzantine update of Blanchard et al., "Machine Learning with
 * Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS 2017, §5: the attacker
 * sends delta ~ N(0, noise_std^2 I) without training, drawn from the stream
 * (seed, round, client, FT_RNG_ATTACK). */
#include "ft_attack_internal.h"

void ft_attack_gaussian(size_t N, double std, ft_rng_t *rng, float *delta)
{
    for (size_t j = 0; j < N; j++)
        delta[j] = (float)(std * ft_rng_normal(rng));
}

static int transform(ft_attack_ctx_t *c, float *delta)
{
    ft_rng_t rng;
    ft_rng_init(&rng, c->env->seed, (uint32_t)c->task->round, c->task->client_id, FT_RNG_ATTACK);
    ft_attack_gaussian(c->N, c->env->p.noise_std, &rng, delta);
    return FT_OK;
}

const ft_attack_t ft_gaussian_attack = {
    .name = "gaussian",
    .cite = "Blanchard et al. NeurIPS 2017, §5: Gaussian update N(0, noise_std^2 I)",
    .transform = transform,
};
