/* sign-flip: the sign-flipping attack of Li et al., "RSA: Byzantine-Robust Stochastic
 * Aggregation Methods for Distributed Learning from Heterogeneous Datasets", AAAI 2019:
 * the attacker computes its honest update on its own partition and sends its
 * negation. */
#include "ft_attack_internal.h"

void ft_attack_sign_flip(size_t N, float *delta)
{
    for (size_t j = 0; j < N; j++)
        delta[j] = -delta[j];
}

static int transform(ft_attack_ctx_t *c, float *delta)
{
    const ft_attack_task_t *k = c->task;
    int rc =
        ft_attack_train_delta(c, k->train, k->part_idx, k->part_n, &k->opts, NULL, delta, NULL);
    if (rc == FT_OK)
        ft_attack_sign_flip(c->N, delta);
    return rc;
}

const ft_attack_t ft_sign_flip_attack = {
    .name = "sign-flip",
    .cite = "Li et al. AAAI 2019 (RSA), sign-flipping attack: send -(benign update)",
    .transform = transform,
};
