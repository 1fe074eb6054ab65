/* ft_attack_env: what every process derives once from (config, training set, test
 * set): the edge-case set (Wang et al. 2020 §3), the backdoor test set, the honest
 * pool for the partitioner, the true-label copies honest clients hold in the paper's
 * almost-edge-case / normal-case baselines (Wang et al. 2020 §4, "Edge-case vs
 * non-edge-case"; paper code datasets.py *_NormalCase_truncated), and the backdoor
 * metrics of the coordinator. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_attack.h"
#include "ft_error.h"

void ft_attack_env_destroy(ft_attack_env_t **env_p)
{
    if (!env_p || !*env_p)
        return;
    ft_attack_env_t *e = *env_p;
    ft_edge_destroy(&e->edge);
    ft_dataset_destroy(&e->backdoor_test);
    ft_dataset_destroy(&e->copies);
    ft_free(e->holder_offsets);
    ft_free(e->holder_idx);
    ft_free(e);
    *env_p = NULL;
}

/* A copy of all of src (ft_dataset_subset with the identity selection). */
static int clone_dataset(const ft_dataset_t *src, ft_dataset_t **out)
{
    uint32_t *iota = ft_malloc(((size_t)src->n + 1) * sizeof *iota);
    if (!iota)
        return ft_error_set(FT_ENOMEM, "out of memory copying %s", src->name);
    for (uint32_t i = 0; i < src->n; i++)
        iota[i] = i;
    int rc = ft_dataset_subset(src, iota, src->n, out);
    ft_free(iota);
    return rc;
}

/* Test samples whose label satisfies (label == cls) == want, as a new dataset. */
static int select_test(const ft_dataset_t *test, int cls, int want, ft_dataset_t **out)
{
    uint32_t *idx = ft_malloc(((size_t)test->n + 1) * sizeof *idx), n = 0;
    if (!idx)
        return ft_error_set(FT_ENOMEM, "out of memory selecting from %s", test->name);
    for (uint32_t i = 0; i < test->n; i++)
        if ((test->labels[i] == cls) == want)
            idx[n++] = i;
    int rc = ft_dataset_subset(test, idx, n, out);
    ft_free(idx);
    return rc;
}

/* Almost-edge-case: the holders share ONE copy of the attack points (array_split, as
 * the paper code splits its honest edge pool among _num_users_hold_edge_data users).
 * Normal-case: EVERY holder holds a full copy, so the points are common. */
static int make_copies(ft_attack_env_t *e)
{
    int rc = clone_dataset(e->edge->attack, &e->copies);
    if (rc < 0)
        return rc;
    memset(e->copies->labels, e->p.source_class, e->copies->n);
    snprintf(e->copies->name, sizeof e->copies->name, "edge/true-label-copies");
    int H = e->p.honest_edge_holders;
    uint32_t na = e->copies->n;
    size_t total = e->p.attack_case == FT_CASE_NORMAL ? (size_t)H * na : na;
    e->holder_offsets = ft_calloc((size_t)H + 1, sizeof *e->holder_offsets);
    e->holder_idx = ft_malloc((total + 1) * sizeof *e->holder_idx);
    if (!e->holder_offsets || !e->holder_idx)
        return ft_error_set(FT_ENOMEM, "out of memory for edge copies");
    size_t at = 0;
    for (int h = 0; h < H; h++) {
        uint32_t lo = 0, hi = na;
        if (e->p.attack_case == FT_CASE_ALMOST_EDGE) {
            lo = (uint32_t)((uint64_t)na * h / H);
            hi = (uint32_t)((uint64_t)na * (h + 1) / H);
        }
        for (uint32_t i = lo; i < hi; i++)
            e->holder_idx[at++] = i;
        e->holder_offsets[h + 1] = (uint32_t)at;
    }
    e->num_holders = H;
    return FT_OK;
}

int ft_attack_env_new(const ft_config_t *cfg, const ft_dataset_t *train, const ft_dataset_t *test,
                      ft_attack_env_t **out)
{
    *out = NULL;
    ft_attack_env_t *e = ft_calloc(1, sizeof *e);
    if (!e)
        return ft_error_set(FT_ENOMEM, "out of memory for the attack environment");
    int rc = ft_attack_params_from_config(cfg, train->num_classes, &e->p);
    if (rc == FT_OK)
        rc = ft_attack_schedule_from_config(cfg, &e->schedule);
    if (rc < 0)
        goto fail;
    if (strcmp(e->p.method, "none") == 0) {
        *out = e;
        return FT_OK;
    }
    e->attack = ft_attack_find(e->p.method);
    if (e->attack->needs_edge) {
        ft_edge_spec_t spec;
        rc = ft_edge_spec_from_config(cfg, train->num_classes, &spec);
        if (rc == FT_OK)
            rc = ft_edge_build(&spec, train, &e->edge);
        if (rc == FT_OK)
            rc = clone_dataset(e->edge->test, &e->backdoor_test);
        if (rc == FT_OK && e->p.attack_case != FT_CASE_EDGE && e->p.honest_edge_holders > 0)
            rc = make_copies(e);
    } else if (test && !strcmp(e->attack->name, "pixel-trigger")) {
        rc = select_test(test, e->p.target_class, 0, &e->backdoor_test);
        if (rc == FT_OK) {
            for (uint32_t i = 0; i < e->backdoor_test->n; i++)
                ft_attack_stamp_trigger(e->backdoor_test, i, e->p.trigger_size);
            memset(e->backdoor_test->labels, e->p.target_class, e->backdoor_test->n);
        }
    } else if (test && !strcmp(e->attack->name, "label-flip")) {
        rc = select_test(test, e->p.source_class, 1, &e->backdoor_test);
        if (rc == FT_OK)
            memset(e->backdoor_test->labels, e->p.target_class, e->backdoor_test->n);
    }
    if (rc < 0)
        goto fail;
    if (e->backdoor_test)
        snprintf(e->backdoor_test->name, sizeof e->backdoor_test->name, "backdoor-test/%s",
                 e->attack->name);
    *out = e;
    return FT_OK;
fail:
    ft_attack_env_destroy(&e);
    return rc;
}

int ft_attack_env_honest_pool(const ft_attack_env_t *env, uint32_t train_n, uint32_t **pool,
                              uint32_t *pool_n)
{
    return ft_edge_honest_pool(env ? env->edge : NULL, train_n, pool, pool_n);
}

static uint32_t copies_held(const ft_attack_env_t *env, uint32_t id)
{
    if (!env || !env->copies || id >= (uint32_t)env->num_holders)
        return 0;
    return env->holder_offsets[id + 1] - env->holder_offsets[id];
}

uint64_t ft_attack_client_samples(const ft_attack_env_t *env, uint32_t id, uint32_t part_n,
                                  int is_attacker)
{
    if (!is_attacker || !env || !env->attack)
        return (uint64_t)part_n + copies_held(env, id);
    uint32_t clean = env->p.clean_points < part_n ? env->p.clean_points : part_n;
    if (env->attack->needs_edge)
        return (uint64_t)env->edge->attack->n + clean;
    if (!strcmp(env->attack->name, "pixel-trigger"))
        return (uint64_t)clean + env->p.poison_points;
    return part_n;
}

int ft_attack_honest_dataset(const ft_attack_env_t *env, uint32_t id, const ft_dataset_t *train,
                             const uint32_t *idx, uint32_t n, ft_dataset_t **out)
{
    *out = NULL;
    uint32_t c = copies_held(env, id);
    if (c == 0)
        return FT_OK;
    ft_dataset_t *part = NULL, *mine = NULL;
    int rc = ft_dataset_subset(train, idx, n, &part);
    if (rc == FT_OK)
        rc = ft_dataset_subset(env->copies, env->holder_idx + env->holder_offsets[id], c, &mine);
    if (rc == FT_OK)
        rc = ft_dataset_concat(part, mine, out);
    ft_dataset_destroy(&part);
    ft_dataset_destroy(&mine);
    return rc;
}

int ft_attack_evaluate(const ft_attack_env_t *env, ft_model_t *m, const ft_eval_t *clean,
                       ft_attack_eval_t *out)
{
    out->backdoor_acc = NAN;
    out->target_class_acc = NAN;
    out->backdoor_n = 0;
    if (!env || !env->attack)
        return FT_OK;
    int sc = env->p.source_class;
    if (clean && clean->class_count[sc] > 0)
        out->target_class_acc = (double)clean->class_correct[sc] / clean->class_count[sc];
    if (env->backdoor_test && env->backdoor_test->n > 0) {
        ft_eval_t ev;
        int rc = ft_model_evaluate(m, env->backdoor_test, NULL, 0, &ev);
        if (rc < 0)
            return rc;
        /* Every backdoor sample is labelled target_class: accuracy = share hit. */
        out->backdoor_acc = ev.accuracy;
        out->backdoor_n = ev.count;
    }
    return FT_OK;
}
