/* ft_attack_env: what every process derives once for the configured attack — its
 * parameters, the dataset-dependent checks, and the edge-case set (Wang et al. 2020
 * §3) for the attacks that use one — and the hooks' defaults (sample count, backdoor
 * test set). */
#include "ft_attack.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <stdio.h>
#include <string.h>

void ft_attack_env_destroy(ft_attack_env_t **env_p)
{
    if (!env_p || !*env_p)
        return;
    ft_edge_destroy(&(*env_p)->edge);
    ft_free(*env_p);
    *env_p = NULL;
}

int ft_attack_env_new(const ft_experiment_t *exp, const ft_dataset_t *train, ft_attack_env_t **out)
{
    *out = NULL;
    const ft_attack_cfg_t *p = &exp->attack;
    /* The labels must exist in the dataset, whatever the method (a preset that names
     * class 12 of a 10-class set is wrong even while its attack is switched off). */
    int lim = train->num_classes;
    if (p->source_class >= lim)
        return ft_config_error(p->src, "attack.source_class", "must be in [0, %d)", lim);
    if (p->target_class >= lim)
        return ft_config_error(p->src, "attack.target_class", "must be in [0, %d)", lim);
    ft_attack_env_t *e = ft_calloc(1, sizeof *e);
    if (!e)
        return ft_error_set(FT_ENOMEM, "out of memory for the attack environment");
    e->p = *p;
    e->seed = exp->run.seed;
    e->clients_per_round = (int)exp->federation.clients_per_round;
    e->lr_decay = exp->federation.lr_decay;
    e->clean_pool_n = train->n;
    e->augment = exp->data.augment_attack;
    e->num_clients = exp->federation.num_clients;
    e->c = train->c, e->h = train->h, e->w = train->w;
    if (!strcmp(exp->defense.name, "norm-clipping") || !strcmp(exp->defense.name, "weak-dp"))
        e->defense_bound = exp->defense.norm_bound;
    /* The paper code's attacker shrinks eps with the lr under Krum and Multi-Krum
     * (ksreenivasan/OOD_Federated_Learning fl_trainer.py:463-466, 823-826): the
     * attacker of its threat model knows the rule. */
    e->adaptive_eps =
        p->adaptive_eps == FT_ADAPTIVE_EPS_ON ||
        (p->adaptive_eps == FT_ADAPTIVE_EPS_AUTO &&
         (!strcmp(exp->defense.name, "krum") || !strcmp(exp->defense.name, "multi-krum")));
    e->attack = p->enabled ? ft_attack_find(p->method) : NULL;
    int rc = FT_OK;
    if (p->enabled && !e->attack)
        rc = ft_attack_check(exp); /* names the key and lists the registry */
    if (rc == FT_OK && e->attack && e->attack->uses_edge_set) {
        ft_edge_spec_t spec;
        rc = ft_edge_spec_from(p, exp->run.seed, train->num_classes, &spec);
        if (rc == FT_OK)
            rc = ft_edge_build(&spec, train, &e->edge);
        if (rc == FT_OK)
            e->clean_pool_n = train->n - e->edge->num_excluded;
    }
    if (rc < 0) {
        ft_attack_env_destroy(&e);
        return rc;
    }
    *out = e;
    return FT_OK;
}

uint64_t ft_attack_sample_count(const ft_attack_env_t *env, uint32_t part_n)
{
    if (!env->attack || !env->attack->sample_count)
        return part_n;
    return env->attack->sample_count(env, part_n);
}

size_t ft_attack_state_floats(const ft_attack_env_t *env)
{
    return env->attack && env->attack->state_floats ? env->attack->state_floats(env) : 0;
}

int ft_attack_backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test,
                            const float *state, ft_dataset_t **out)
{
    *out = NULL;
    if (!env->attack || !env->attack->backdoor_test)
        return FT_OK;
    int rc = env->attack->backdoor_test(env, test, state, out);
    if (rc == FT_OK && *out)
        snprintf((*out)->name, sizeof(*out)->name, "backdoor-test/%s", env->attack->name);
    return rc;
}
