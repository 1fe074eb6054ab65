/* label-flip: targeted label flipping, Tolpegin et al., "Data Poisoning Attacks
 * Against Federated Learning Systems", ESORICS 2020 — the attacker trains on its whole
 * partition with source_class relabelled target_class; the backdoor test set is the
 * test images of source_class, labelled target. */
#include "ft_attack_internal.h"

#include <string.h>

void ft_attack_flip_labels(ft_dataset_t *ds, int source, int target)
{
    for (uint32_t i = 0; i < ds->n; i++)
        if (ds->labels[i] == source)
            ds->labels[i] = (uint8_t)target;
}

static int poison(ft_attack_ctx_t *c, ft_dataset_t **out)
{
    int rc = ft_dataset_subset(c->task->train, c->task->part_idx, c->task->part_n, out);
    if (rc == FT_OK)
        ft_attack_flip_labels(*out, c->env->p.source_class, c->env->p.target_class);
    return rc;
}

static int backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test, const float *state,
                         ft_dataset_t **out)
{
    (void)state; /* it keeps none */
    int rc = ft_dataset_select_label(test, env->p.source_class, 1, out);
    if (rc == FT_OK)
        memset((*out)->labels, env->p.target_class, (*out)->n);
    return rc;
}

const ft_attack_t ft_label_flip_attack = {
    .name = "label-flip",
    .cite = "Tolpegin et al. ESORICS 2020: labels source_class -> target_class",
    .trains = 1,
    .backdoor_test = backdoor_test,
    .poison = poison,
};
