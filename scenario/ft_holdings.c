/* ft_holdings: true-label copies of the edge points among the honest holders. */
#include "ft_holdings.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <stdio.h>
#include <string.h>

struct ft_holdings {
    ft_dataset_t *copies;     /* what the holders hold, labelled source_class */
    int num_holders;          /* holders: ids 0..num_holders-1 */
    uint32_t *holder_offsets; /* num_holders+1: holder h holds copies
                                 holder_idx[holder_offsets[h]..holder_offsets[h+1]) */
    uint32_t *holder_idx;     /* indices into copies */
};

void ft_holdings_destroy(ft_holdings_t **h_p)
{
    if (!h_p || !*h_p)
        return;
    ft_holdings_t *h = *h_p;
    ft_dataset_destroy(&h->copies);
    ft_free(h->holder_offsets);
    ft_free(h->holder_idx);
    ft_free(h);
    *h_p = NULL;
}

int ft_holdings_new(const ft_attack_env_t *env, ft_holdings_t **out)
{
    *out = NULL;
    const ft_attack_cfg_t *p = &env->p;
    int H = p->honest_edge_holders;
    if (!env->edge || p->attack_case == FT_CASE_EDGE || H <= 0)
        return FT_OK;
    int disjoint = p->holder_pool == FT_HOLDER_POOL_DISJOINT;
    if (disjoint && !env->edge->pool)
        return ft_config_error(p->src, "attack.holder_pool",
                               "disjoint needs edge points left out of D_adv: set "
                               "attack.edge_points below the attacker's share (%u points)",
                               env->edge->attack->n);
    ft_holdings_t *h = ft_calloc(1, sizeof *h);
    if (!h)
        return ft_error_set(FT_ENOMEM, "out of memory for edge copies");
    int rc = ft_dataset_clone(disjoint ? env->edge->pool : env->edge->attack, &h->copies);
    if (rc < 0)
        goto fail;
    memset(h->copies->labels, p->source_class, h->copies->n);
    snprintf(h->copies->name, sizeof h->copies->name, "edge/true-label-copies");
    uint32_t na = h->copies->n;
    /* normal-case: every holder holds all (the points are common); almost-edge: the
     * holders split one set (they stay rare) — of the attacker's points or the pool */
    int split = p->attack_case == FT_CASE_ALMOST_EDGE;
    size_t total = split ? na : (size_t)H * na;
    h->holder_offsets = ft_calloc((size_t)H + 1, sizeof *h->holder_offsets);
    h->holder_idx = ft_malloc((total + 1) * sizeof *h->holder_idx);
    if (!h->holder_offsets || !h->holder_idx) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for edge copies");
        goto fail;
    }
    size_t at = 0;
    for (int k = 0; k < H; k++) {
        uint32_t lo = 0, hi = na;
        if (split) {
            lo = (uint32_t)((uint64_t)na * k / H);
            hi = (uint32_t)((uint64_t)na * (k + 1) / H);
        }
        for (uint32_t i = lo; i < hi; i++)
            h->holder_idx[at++] = i;
        h->holder_offsets[k + 1] = (uint32_t)at;
    }
    h->num_holders = H;
    *out = h;
    return FT_OK;
fail:
    ft_holdings_destroy(&h);
    return rc;
}

uint32_t ft_holdings_count(const ft_holdings_t *h, uint32_t id)
{
    if (!h || id >= (uint32_t)h->num_holders)
        return 0;
    return h->holder_offsets[id + 1] - h->holder_offsets[id];
}

int ft_holdings_dataset(const ft_holdings_t *h, uint32_t id, const ft_dataset_t *train,
                        const uint32_t *idx, uint32_t n, ft_dataset_t **out)
{
    *out = NULL;
    uint32_t c = ft_holdings_count(h, id);
    if (c == 0)
        return FT_OK;
    ft_dataset_t *part = NULL, *mine = NULL;
    int rc = ft_dataset_subset(train, idx, n, &part);
    if (rc == FT_OK)
        rc = ft_dataset_subset(h->copies, h->holder_idx + h->holder_offsets[id], c, &mine);
    if (rc == FT_OK)
        rc = ft_dataset_concat(part, mine, out);
    ft_dataset_destroy(&part);
    ft_dataset_destroy(&mine);
    return rc;
}
