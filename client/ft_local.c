/* ft_local: dataset, partition, model and trainer of a client process. */
#include "ft_local.h"

#include "ft_alloc.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_model.h"
#include "ft_ops.h"
#include "ft_partition.h"
#include "ft_rng.h"
#include "ft_timer.h"

#include <string.h>

struct ft_local {
    const ft_config_t *cfg; /* experiment (borrowed; outlives this) */
    ft_dataset_t *train;    /* training set */
    ft_partition_t *part;   /* every client's sample indices */
    ft_model_t *model;      /* local model */
    ft_trainer_t *trainer;  /* batch buffers + optimizer */
    float *params;          /* N host staging for the trained model */
    uint64_t seed;          /* run.seed */
    int num_clients;        /* federation.num_clients */
    ft_train_opts_t opts;   /* epochs, batch, momentum, weight decay (lr per task) */
};

int ft_local_new(const ft_config_t *cfg, ft_local_t **out)
{
    *out = NULL;
    int rc;
    ft_local_t *l = ft_calloc(1, sizeof *l);
    uint32_t *pool = NULL;
    if (!l)
        return ft_error_set(FT_ENOMEM, "out of memory");
    l->cfg = cfg;
    l->seed = (uint64_t)ft_config_int(cfg, "run.seed");
    l->num_clients = (int)ft_config_int(cfg, "federation.num_clients");
    l->opts.epochs = (int)ft_config_int(cfg, "federation.local_epochs");
    l->opts.batch_size = (int)ft_config_int(cfg, "federation.batch_size");
    l->opts.momentum = (float)ft_config_float(cfg, "federation.momentum");
    l->opts.weight_decay = (float)ft_config_float(cfg, "federation.weight_decay");
    if ((rc = ft_dataset_load(cfg, 1, &l->train)) != FT_OK)
        goto fail;
    ft_partition_spec_t spec;
    if ((rc = ft_partition_spec_from_config(cfg, &spec)) != FT_OK)
        goto fail;
    pool = ft_malloc((size_t)l->train->n * sizeof *pool);
    if (!pool) {
        rc = ft_error_set(FT_ENOMEM, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < l->train->n; i++)
        pool[i] = i;
    /* ATTACK SEAM (dataset): an attack that holds edge-case points out of honest
     * data passes a smaller pool here. */
    rc = ft_partition_make(&spec, l->train->labels, l->train->num_classes, pool, l->train->n,
                           &l->part);
    if (rc != FT_OK)
        goto fail;
    const char *dev = ft_config_str(cfg, "run.device");
    const ft_ops_t *ops = strncmp(dev, "cuda", 4) == 0 ? ft_ops_find("cuda") : NULL;
    if (!ops)
        ops = ft_ops_find("cpu");
    rc = ft_model_new(ft_config_str(cfg, "model.name"), ft_config_str(cfg, "model.hidden"),
                      l->train->c, l->train->h, l->train->w, l->train->num_classes,
                      l->opts.batch_size, ops, &l->model);
    if (rc != FT_OK)
        goto fail;
    l->trainer = ft_trainer_new(l->model, l->opts.batch_size);
    l->params = ft_malloc_aligned(ft_model_num_params(l->model) * sizeof(float));
    if (!l->trainer || !l->params) {
        rc = ft_error_set(FT_ENOMEM, "out of memory");
        goto fail;
    }
    ft_free(pool);
    *out = l;
    return FT_OK;
fail:
    ft_free(pool);
    ft_local_destroy(&l);
    return rc;
}

void ft_local_destroy(ft_local_t **l_p)
{
    if (!l_p || !*l_p)
        return;
    ft_local_t *l = *l_p;
    ft_trainer_destroy(&l->trainer);
    ft_model_destroy(&l->model);
    ft_partition_destroy(&l->part);
    ft_dataset_destroy(&l->train);
    ft_free_aligned(l->params);
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
    if (client_id >= (uint32_t)l->num_clients)
        return 0;
    return ft_partition_size(l->part, (int)client_id);
}

int ft_local_train(ft_local_t *l, const ft_local_task_t *task, const float *global, float *delta,
                   const ft_train_hooks_t *hooks, ft_local_result_t *res)
{
    memset(res, 0, sizeof *res);
    uint32_t n = ft_local_num_samples(l, task->client_id);
    if (n == 0)
        return ft_error_set(FT_EINVAL, "client %u: no training samples (population %d)",
                            task->client_id, l->num_clients);
    if (task->attacker)
        /* ATTACK SEAM (selection): attacks/ provides the attacker's training here —
         * poison the local dataset (edge-case points relabelled), constrain steps
         * through ft_train_hooks_t (PGD projection every project_frequency batches),
         * and transform the final update (model replacement, sign flip, noise). */
        return ft_error_set(FT_EUNSUPPORTED,
                            "client %u is an attacker in round %u, but no "
                            "attack is available in this build",
                            task->client_id, task->round);

    size_t N = ft_local_num_params(l);
    double t0 = ft_now();
    ft_model_set_params(l->model, global);
    ft_model_set_training(l->model, 1);
    ft_rng_t drop;
    ft_rng_init(&drop, l->seed, task->round, task->client_id, FT_RNG_DROPOUT);
    ft_model_set_dropout_stream(l->model, ft_rng_u64(&drop), 0);
    ft_rng_t shuffle;
    ft_rng_init(&shuffle, l->seed, task->round, task->client_id, FT_RNG_SHUFFLE);
    ft_train_opts_t opts = l->opts;
    opts.lr = task->lr;
    const uint32_t *idx = l->part->indices + l->part->offsets[task->client_id];
    ft_train_result_t tr;
    int rc = ft_train_run(l->trainer, l->train, idx, n, &opts, &shuffle, 1, hooks, NULL, NULL, &tr);
    if (rc != FT_OK)
        return rc;
    ft_model_get_params(l->model, l->params);
    /* ATTACK SEAM (update): an attacker's update transform runs here on the delta. */
    ft_ops_cpu.sub(N, l->params, global, delta);
    res->num_samples = n;
    res->train_loss = (float)tr.mean_loss;
    res->train_s = ft_now() - t0;
    return FT_OK;
}
