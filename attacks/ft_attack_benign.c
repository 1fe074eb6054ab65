/* ft_attack_benign: benign estimates for the statistical attacks (alie.c, ipm.c). An
 * attacker that does not see the honest updates simulates them, as Baruch et al. 2019
 * and Xie et al. 2019 assume it can: honest training from the global model on
 * disjoint chunks of its own partition. MinMax, MinSum, Fang and Mimic bound their
 * update by distances between benign updates, so theirs (the _full variant) train each
 * chunk B times as many epochs: as many steps as an honest client takes, an update of
 * an honest one's size (a 1/B chunk for the honest epochs gives ~1/B of it). */
#include "ft_attack_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <string.h>

static int estimates(ft_attack_ctx_t *c, int full_steps, size_t *B_out, float **out)
{
    const ft_attack_task_t *k = c->task;
    size_t B = (size_t)c->env->p.num_benign_estimates;
    if (B > k->part_n)
        B = k->part_n;
    *B_out = B;
    *out = ft_malloc(B * c->N * sizeof **out);
    uint32_t *order = ft_malloc(((size_t)k->part_n + 1) * sizeof *order);
    if (!*out || !order) {
        ft_free(order);
        ft_free(*out);
        *out = NULL;
        return ft_error_set(FT_ENOMEM, "out of memory for %zu benign estimates", B);
    }
    memcpy(order, k->part_idx, (size_t)k->part_n * sizeof *order);
    ft_rng_t rng;
    ft_rng_init(&rng, c->env->seed, (uint32_t)k->round, k->client_id, FT_RNG_ATTACK);
    ft_rng_shuffle_u32(&rng, order, k->part_n);
    int rc = FT_OK;
    ft_train_opts_t o = k->opts;
    if (full_steps)
        o.epochs *= (int)B;
    for (size_t b = 0; b < B && rc == FT_OK; b++) {
        uint32_t lo = (uint32_t)((uint64_t)k->part_n * b / B);
        uint32_t hi = (uint32_t)((uint64_t)k->part_n * (b + 1) / B);
        rc = ft_attack_train_delta(c, k->train, order + lo, hi - lo, &o, NULL, *out + b * c->N,
                                   NULL);
    }
    ft_free(order);
    if (rc != FT_OK) {
        ft_free(*out);
        *out = NULL;
    }
    return rc;
}

int ft_attack_benign_estimates(ft_attack_ctx_t *c, size_t *B_out, float **out)
{
    return estimates(c, 0, B_out, out);
}

int ft_attack_benign_estimates_full(ft_attack_ctx_t *c, size_t *B_out, float **out)
{
    return estimates(c, 1, B_out, out);
}
