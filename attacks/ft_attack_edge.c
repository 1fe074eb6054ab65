/* ft_attack_edge: what the edge-case attacks (blackbox.c, pgd.c) share — Wang et al.,
 * NeurIPS 2020, §3-4: the attacker's D_adv is the edge-case points, relabelled to the
 * target class, mixed with clean points of its own; the held-out edge points are the
 * backdoor test set. The edge set itself is built with the environment
 * (data/ft_edge.h), since every process must hold the same one. */
#include "ft_attack_internal.h"

int ft_attack_edge_poison(ft_attack_ctx_t *c, ft_dataset_t **out)
{
    ft_dataset_t *clean = NULL;
    int rc = ft_attack_clean_set(c, &clean);
    if (rc == FT_OK)
        rc = ft_dataset_concat(c->env->edge->attack, clean, out);
    ft_dataset_destroy(&clean);
    return rc;
}

uint64_t ft_attack_edge_samples(const ft_attack_env_t *env, uint32_t part_n)
{
    return (uint64_t)env->edge->attack->n + ft_attack_clean_count(env, part_n);
}

int ft_attack_edge_backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test,
                                 const float *state, ft_dataset_t **out)
{
    (void)test, (void)state; /* the backdoor test set is the held-out part of the edge set */
    return ft_dataset_clone(env->edge->test, out);
}
