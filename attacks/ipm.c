/* ipm: inner-product manipulation, Xie et al., "Fall of Empires: Breaking Byzantine-
 * tolerant SGD by Inner Product Manipulation", UAI 2019, §3 — every attacker sends
 * -epsilon times the mean of benign estimates (ft_attack_benign.c), so the aggregate's
 * inner product with the true gradient turns negative. */
#include "ft_attack_internal.h"

#include "ft_alloc.h"

#include <assert.h>

void ft_attack_ipm(size_t B, size_t N, const float *benign, double epsilon, float *out)
{
    assert(B >= 1);
    for (size_t j = 0; j < N; j++) {
        double mu = 0;
        for (size_t b = 0; b < B; b++)
            mu += benign[b * N + j];
        out[j] = (float)(-epsilon * mu / (double)B);
    }
}

static int transform(ft_attack_ctx_t *c, float *delta)
{
    size_t B;
    float *est;
    int rc = ft_attack_benign_estimates(c, &B, &est);
    if (rc != FT_OK)
        return rc;
    ft_attack_ipm(B, c->N, est, c->env->p.ipm_epsilon, delta);
    ft_free(est);
    return FT_OK;
}

const ft_attack_t ft_ipm_attack = {
    .name = "ipm",
    .cite = "Xie et al. UAI 2019, §3: -epsilon * mean of benign estimates",
    .transform = transform,
};
