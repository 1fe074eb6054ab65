/* ft_local: model and trainer of a client process over the shared scenario
 * (scenario/ft_scenario.h), and the one place local training happens: honest training
 * on the client's partition, or the attack's local update. */
#include "ft_local.h"

#include "ft_alloc.h"
#include "ft_attack.h"
#include "ft_dataset.h"
#include "ft_device.h"
#include "ft_error.h"
#include "ft_local_dp.h"
#include "ft_model.h"
#include "ft_model_batch.h"
#include "ft_model_input.h"
#include "ft_ops.h"
#include "ft_rng.h"
#include "ft_scenario.h"
#include "ft_timer.h"
#include "ft_train_batch.h"

#include <string.h>

struct ft_local {
    const ft_experiment_t *exp; /* experiment (borrowed; outlives this) */
    ft_scenario_t *scn;         /* training set, attack environment, partition */
    ft_model_t *model;          /* local model */
    ft_trainer_t *trainer;      /* batch buffers + optimizer */
    float *params;              /* N host staging for the trained model */
    uint64_t seed;              /* run.seed */
    ft_train_opts_t opts;       /* epochs, batch, momentum, weight decay (lr per task) */
    float *attack_state;        /* the attack's new state (ft_attack_state_floats), or NULL */
    ft_model_batch_t *batch;    /* batched tasks: K models in lock step (NULL until used) */
    ft_train_batch_t *tbatch;   /* their staging buffers and momentum */
};

int ft_local_new(const ft_experiment_t *exp, int root_set, ft_local_t **out)
{
    *out = NULL;
    int rc;
    ft_local_t *l = ft_calloc(1, sizeof *l);
    if (!l)
        return ft_error_set(FT_ENOMEM, "out of memory");
    l->exp = exp;
    l->seed = exp->run.seed;
    l->opts = ft_train_opts_honest(exp);
    const ft_ops_t *ops;
    /* The device first: a missing GPU fails before the data is loaded. */
    if ((rc = ft_ops_for_device(&exp->run, &ops)) != FT_OK)
        goto fail;
    if ((rc = ft_scenario_new(exp, NULL, root_set, &l->scn)) != FT_OK)
        goto fail;
    const ft_dataset_t *train = l->scn->train;
    rc = ft_model_new_for_data(&exp->model, train, train->num_classes, 0, l->opts.batch_size, ops,
                               &l->model);
    if (rc != FT_OK)
        goto fail;
    l->trainer = ft_trainer_new(l->model, l->opts.batch_size);
    l->params = ft_malloc_aligned(ft_model_num_params(l->model) * sizeof(float));
    if (!l->trainer || !l->params) {
        rc = ft_error_set(FT_ENOMEM, "out of memory");
        goto fail;
    }
    *out = l;
    return FT_OK;
fail:
    ft_local_destroy(&l);
    return rc;
}

void ft_local_destroy(ft_local_t **l_p)
{
    if (!l_p || !*l_p)
        return;
    ft_local_t *l = *l_p;
    ft_train_batch_destroy(&l->tbatch);
    ft_model_batch_destroy(&l->batch);
    ft_trainer_destroy(&l->trainer);
    ft_model_destroy(&l->model);
    ft_scenario_destroy(&l->scn);
    ft_free_aligned(l->params);
    ft_free(l->attack_state);
    ft_free(l);
    *l_p = NULL;
}

size_t ft_local_num_params(const ft_local_t *l)
{
    return ft_model_num_params(l->model);
}
const uint8_t *ft_local_layout_hash(const ft_local_t *l)
{
    return ft_model_layout(l->model)->hash;
}

uint32_t ft_local_num_samples(const ft_local_t *l, uint32_t client_id)
{
    return ft_scenario_part_n(l->scn, client_id);
}

/* The attacker's local update — poisoned data, PGD constraint hooks, update
 * transform and model replacement, all in attacks/. */
static int attack_train(ft_local_t *l, const ft_local_task_t *task, const float *global,
                        float *delta, const ft_train_hooks_t *hooks, ft_local_result_t *res)
{
    const ft_attack_env_t *env = l->scn->attack;
    if (!env->attack)
        return ft_error_set(FT_ECONFIG,
                            "client %u is an attacker in round %u, but attack.method = none",
                            task->client_id, task->round);
    ft_attack_task_t at = {
        .round = (int)task->round,
        .client_id = task->client_id,
        .global = global,
        .train = l->scn->train,
        .part_idx = ft_scenario_part_idx(l->scn, task->client_id),
        .part_n = ft_scenario_part_n(l->scn, task->client_id),
        .opts = l->opts,
        .round_samples = task->round_samples,
        .round_attackers = (int)task->round_attackers,
        .outer = hooks,
    };
    at.opts.lr = task->lr;
    /* A stateful attack (A3FL) starts from the state the coordinator kept, and its
     * new state goes back with the update. */
    size_t n = ft_attack_state_floats(env);
    if (task->attack_state_n && task->attack_state_n != n)
        return ft_error_set(FT_EPROTO,
                            "round %u: the task carries an attack state of %zu floats, %s "
                            "keeps %zu",
                            task->round, task->attack_state_n, env->attack->name, n);
    if (n && !l->attack_state && !(l->attack_state = ft_malloc(n * sizeof(float))))
        return ft_error_set(FT_ENOMEM, "out of memory for the attack's state");
    at.state = task->attack_state_n ? task->attack_state : NULL;
    at.state_out = n ? l->attack_state : NULL;
    ft_attack_result_t ar;
    int rc = ft_attack_local_update(env, &at, l->model, l->trainer, delta, &ar);
    if (rc != FT_OK)
        return rc;
    res->attack_state = at.state_out;
    res->attack_state_n = n;
    res->num_samples = ar.sample_count;
    res->train_loss = (float)ar.loss;
    return FT_OK;
}

int ft_local_train(ft_local_t *l, const ft_local_task_t *task, const float *global, float *delta,
                   const ft_train_hooks_t *hooks, ft_local_result_t *res)
{
    memset(res, 0, sizeof *res);
    uint32_t n = ft_local_num_samples(l, task->client_id);
    if (n == 0)
        return ft_error_set(FT_EINVAL, "client %u: no training samples (population %u)",
                            task->client_id, l->scn->num_clients);
    double t0 = ft_now();
    ft_model_set_params(l->model, global);
    ft_model_set_training(l->model, 1);
    /* Dropout depends only on (seed, round, client), for attackers too. */
    ft_rng_t drop;
    ft_rng_init(&drop, l->seed, task->round, task->client_id, FT_RNG_DROPOUT);
    ft_model_set_dropout_stream(l->model, ft_rng_u64(&drop), 0);
    int rc;
    if (task->attacker) {
        rc = attack_train(l, task, global, delta, hooks, res);
        if (rc != FT_OK)
            return rc;
        res->train_s = ft_now() - t0;
        return FT_OK;
    }

    size_t N = ft_local_num_params(l);
    ft_rng_t shuffle;
    ft_rng_init(&shuffle, l->seed, task->round, task->client_id, FT_RNG_SHUFFLE);
    ft_rng_t aug;
    ft_rng_init(&aug, l->seed, task->round, task->client_id, FT_RNG_AUGMENT);
    ft_train_opts_t opts = l->opts;
    opts.lr = task->lr;
    opts.augment_rng = &aug;
    const uint32_t *idx = ft_scenario_part_idx(l->scn, task->client_id);
    /* Almost/normal-case baselines: the partition plus true-label edge copies. */
    ft_dataset_t *ds = NULL;
    if ((rc = ft_scenario_honest_dataset(l->scn, task->client_id, &ds)) != FT_OK)
        return rc;
    ft_train_result_t tr;
    if (ds)
        rc = ft_train_run(l->trainer, ds, NULL, ds->n, &opts, &shuffle, 1, hooks, NULL, NULL, &tr);
    else
        rc = ft_train_run(l->trainer, l->scn->train, idx, n, &opts, &shuffle, 1, hooks, NULL, NULL,
                          &tr);
    ft_dataset_destroy(&ds);
    if (rc != FT_OK)
        return rc;
    ft_model_get_params(l->model, l->params);
    ft_ops_cpu.sub(N, l->params, global, delta);
    ft_local_dp_apply(l->exp, task->round, task->client_id, delta, N); /* defense local-dp */
    res->num_samples = ft_scenario_client_samples(l->scn, task->client_id, 0);
    res->train_loss = (float)tr.mean_loss;
    res->train_s = ft_now() - t0;
    return FT_OK;
}

int ft_local_can_batch(const ft_local_t *l)
{
    return ft_model_batch_supported(l->model);
}

int ft_local_batch_auto(const ft_local_t *l, int cap, size_t *avail)
{
    const ft_ops_t *ops = ft_model_ops(l->model);
    *avail = ops->mem_available ? ops->mem_available() : 0;
    if (!*avail)
        return 1;
    return ft_model_batch_fit(*avail, ft_model_batch_client_bytes(l->model, l->opts.batch_size),
                              cap);
}

int ft_local_train_batch(ft_local_t *l, const ft_local_task_t *tasks, int K, const float *global,
                         float *const *deltas, void (*tick)(void *user), void *user,
                         ft_local_result_t *res)
{
    enum { MAX_K = 256 }; /* run.batch_clients' bound */
    if (K < 1 || K > MAX_K)
        return ft_error_set(FT_EINVAL, "batched training of %d tasks (1..%d)", K, MAX_K);
    for (int k = 0; k < K; k++) {
        memset(&res[k], 0, sizeof res[k]);
        if (tasks[k].attacker)
            return ft_error_set(FT_EINVAL, "client %u attacks: attacks train one by one",
                                tasks[k].client_id);
        if (ft_local_num_samples(l, tasks[k].client_id) == 0)
            return ft_error_set(FT_EINVAL, "client %u: no training samples (population %u)",
                                tasks[k].client_id, l->scn->num_clients);
    }
    int rc;
    if (!l->batch || ft_model_batch_k(l->batch) < K) {
        ft_train_batch_destroy(&l->tbatch);
        ft_model_batch_destroy(&l->batch);
        if ((rc = ft_model_batch_new(l->model, K, l->opts.batch_size, &l->batch)) != FT_OK)
            return rc;
        if (!(l->tbatch = ft_train_batch_new(l->batch)))
            return ft_error_set(FT_ENOMEM, "out of memory for a batch of %d tasks", K);
    }
    double t0 = ft_now();
    size_t N = ft_local_num_params(l);
    ft_train_batch_task_t bt[MAX_K];
    ft_rng_t shuffle[MAX_K], aug[MAX_K];
    ft_dataset_t *own[MAX_K] = {0}; /* almost/normal-case baselines: partition + edge copies */
    ft_train_result_t tr[MAX_K];
    rc = FT_OK;
    for (int k = 0; k < K && rc == FT_OK; k++) {
        const ft_local_task_t *t = &tasks[k];
        /* the streams ft_local_train keys for the task alone */
        ft_rng_t drop;
        ft_rng_init(&drop, l->seed, t->round, t->client_id, FT_RNG_DROPOUT);
        ft_rng_init(&shuffle[k], l->seed, t->round, t->client_id, FT_RNG_SHUFFLE);
        ft_rng_init(&aug[k], l->seed, t->round, t->client_id, FT_RNG_AUGMENT);
        rc = ft_scenario_honest_dataset(l->scn, t->client_id, &own[k]);
        bt[k] = (ft_train_batch_task_t){
            .ds = own[k] ? own[k] : l->scn->train,
            .idx = own[k] ? NULL : ft_scenario_part_idx(l->scn, t->client_id),
            .n = ft_local_num_samples(l, t->client_id),
            .lr = t->lr,
            .shuffle_rng = &shuffle[k],
            .augment_rng = &aug[k],
            .dropout_seed = ft_rng_u64(&drop),
            .start = global,
        };
    }
    /* the trained models land in the delta buffers, then become deltas in place */
    if (rc == FT_OK)
        rc = ft_train_batch_run(l->tbatch, bt, K, &l->opts, tick, user, deltas, tr);
    for (int k = 0; k < K; k++)
        ft_dataset_destroy(&own[k]);
    if (rc != FT_OK)
        return rc;
    double secs = ft_now() - t0; /* the batch's: every task of it took that long */
    for (int k = 0; k < K; k++) {
        const ft_local_task_t *t = &tasks[k];
        ft_ops_cpu.sub(N, deltas[k], global, deltas[k]);
        ft_local_dp_apply(l->exp, t->round, t->client_id, deltas[k], N); /* defense local-dp */
        res[k].num_samples = ft_scenario_client_samples(l->scn, t->client_id, 0);
        res[k].train_loss = (float)tr[k].mean_loss;
        res[k].train_s = secs;
    }
    return FT_OK;
}
