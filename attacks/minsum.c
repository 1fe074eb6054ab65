/* minsum: Shejwalkar & Houmansadr, NDSS 2021, §IV-B (AGR-agnostic Min-Sum): as minmax.c
 * (the shared search, perturbation and knowledge), but gamma is the largest whose sum
 * of squared distances to the benign updates is no more than the smallest such sum of
 * a benign update (authors' our_attack_score). */
#include "ft_attack_internal.h"

static int transform(ft_attack_ctx_t *c, float *delta)
{
    return ft_attack_agr_transform(c, delta, 1);
}

const ft_attack_t ft_minsum_attack = {
    .name = "minsum",
    .cite = "Shejwalkar & Houmansadr NDSS 2021, §IV-B Min-Sum: mu - gamma p, gamma by binary "
            "search on the sum of squared distances",
    .transform = transform,
};
