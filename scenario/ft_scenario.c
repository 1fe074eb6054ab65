/* ft_scenario: training set, attack environment, root set, partition, holdings and
 * backdoor test set, derived identically in every process. */
#include "ft_scenario.h"

#include "ft_alloc.h"
#include "ft_dataset_load.h"
#include "ft_error.h"
#include "ft_model_input.h"
#include "ft_root_set.h"

void ft_scenario_destroy(ft_scenario_t **s_p)
{
    if (!s_p || !*s_p)
        return;
    ft_scenario_t *s = *s_p;
    ft_partition_destroy(&s->part);
    ft_holdings_destroy(&s->holdings);
    ft_attack_env_destroy(&s->attack);
    ft_dataset_destroy(&s->backdoor_test);
    ft_dataset_destroy(&s->train);
    ft_free(s->root_idx);
    ft_free(s);
    *s_p = NULL;
}

int ft_scenario_check(const ft_experiment_t *exp)
{
    return ft_attack_check(exp);
}

int ft_scenario_new(const ft_experiment_t *exp, const ft_dataset_t *test, int root_set,
                    ft_scenario_t **out)
{
    *out = NULL;
    ft_scenario_t *s = ft_calloc(1, sizeof *s);
    uint32_t *pool = NULL, pool_n = 0;
    if (!s)
        return ft_error_set(FT_ENOMEM, "out of memory");
    s->num_clients = exp->federation.num_clients;
    s->schedule = ft_schedule_of(exp);
    int rc = ft_dataset_load(&exp->data, exp->run.seed, 1, &s->train);
    /* The coordinator's model is built for the test set, the clients' for the
     * training set: a shape apart would only show as a model mismatch later. */
    if (rc == FT_OK && test)
        rc = ft_model_input_match(&exp->model, s->train, test, "the test set");
    if (rc == FT_OK)
        rc = ft_attack_env_new(exp, s->train, &s->attack);
    /* The mined edge points are held out of honest data. */
    if (rc == FT_OK)
        rc = ft_edge_honest_pool(s->attack->edge, s->train->n, &pool, &pool_n);
    if (rc == FT_OK && root_set)
        rc = ft_root_set_draw(exp, pool, &pool_n, &s->root_idx, &s->root_n);
    if (rc == FT_OK) {
        ft_partition_spec_t spec = ft_partition_spec(&exp->federation, exp->run.seed);
        if (spec.kind == FT_PARTITION_NATURAL && s->train->group) /* by author */
            rc = ft_partition_by_group(spec.num_clients, s->train->group, pool, pool_n, &s->part);
        else
            rc = ft_partition_make(&spec, s->train->labels, s->train->num_classes, pool, pool_n,
                                   &s->part);
    }
    if (rc == FT_OK)
        rc = ft_holdings_new(s->attack, &s->holdings);
    if (rc == FT_OK && test)
        rc = ft_attack_backdoor_test(s->attack, test, NULL, &s->backdoor_test);
    ft_free(pool);
    if (rc != FT_OK) {
        ft_scenario_destroy(&s);
        return rc;
    }
    *out = s;
    return FT_OK;
}

int ft_scenario_release_train(ft_scenario_t *s)
{
    ft_dataset_t *root = NULL;
    if (s->root_n) {
        int rc = ft_dataset_subset(s->train, s->root_idx, s->root_n, &root);
        if (rc != FT_OK)
            return rc;
        for (uint32_t i = 0; i < s->root_n; i++)
            s->root_idx[i] = i;
    }
    ft_dataset_destroy(&s->train);
    s->train = root;
    return FT_OK;
}

uint32_t ft_scenario_part_n(const ft_scenario_t *s, uint32_t id)
{
    if (id >= s->num_clients)
        return 0;
    return ft_partition_size(s->part, (int)id);
}

const uint32_t *ft_scenario_part_idx(const ft_scenario_t *s, uint32_t id)
{
    return s->part->indices + s->part->offsets[id];
}

uint64_t ft_scenario_client_samples(const ft_scenario_t *s, uint32_t id, int is_attacker)
{
    uint32_t n = ft_scenario_part_n(s, id);
    if (is_attacker && s->attack->attack)
        return ft_attack_sample_count(s->attack, n);
    return (uint64_t)n + ft_holdings_count(s->holdings, id);
}

int ft_scenario_honest_dataset(const ft_scenario_t *s, uint32_t id, ft_dataset_t **out)
{
    return ft_holdings_dataset(s->holdings, id, s->train, ft_scenario_part_idx(s, id),
                               ft_scenario_part_n(s, id), out);
}

int ft_scenario_evaluate(const ft_scenario_t *s, ft_model_t *m, const ft_eval_t *clean,
                         ft_backdoor_eval_t *out)
{
    int source = s->attack->attack ? s->attack->p.source_class : -1;
    return ft_measure_backdoor(m, s->attack->attack ? s->backdoor_test : NULL, source, clean, out);
}

int ft_scenario_pretrain_pool(const ft_experiment_t *exp, uint32_t **pool, uint32_t *pool_n)
{
    *pool = NULL;
    *pool_n = 0;
    /* Only a mined edge set takes points out of the training data: without one there
     * is nothing to hold out, and no reason to load the data set and mine it here. An
     * unknown method goes on, so that ft_attack_env_new names the key. */
    const ft_attack_cfg_t *a = &exp->attack;
    const ft_attack_t *attack = ft_attack_find(a->method);
    if (!a->enabled || (attack && !attack->uses_edge_set) || a->edge_source == FT_EDGE_FILE)
        return FT_OK;
    ft_dataset_t *train = NULL;
    ft_attack_env_t *env = NULL;
    int rc = ft_dataset_load(&exp->data, exp->run.seed, 1, &train);
    if (rc == FT_OK)
        rc = ft_attack_env_new(exp, train, &env);
    if (rc == FT_OK)
        rc = ft_edge_honest_pool(env->edge, train->n, pool, pool_n);
    if (rc == FT_OK && *pool_n == train->n) {
        ft_free(*pool);
        *pool = NULL;
    }
    ft_attack_env_destroy(&env);
    ft_dataset_destroy(&train);
    return rc;
}
