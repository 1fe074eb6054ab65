/* ft_attack_run: the driver of one attacker task — the attacker's options, its clean
 * points, the plug-in's hooks (poison the data, constrain the steps, transform the
 * update) and the options that apply on top of any plug-in: the prox term and model
 * replacement.
 *
 * Papers: Wang et al., NeurIPS 2020 ("Attack of the Tails": the prox variant, model
 * replacement) after Bagdasaryan et al., AISTATS 2020 (model replacement, eq. 3).
 * Training details follow the paper code (ksreenivasan/OOD_Federated_Learning
 * fl_trainer.py): a fresh SGD per round, the prox term ||w - w_hat_g||^2 with w_hat_g
 * trained on the attacker's clean points for the honest epochs. */
#include "ft_attack_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Trampolines: the attack's hook, then the client's own (task->outer). */
static void chain_after_step(void *user, int epoch, int batch, ft_model_t *m)
{
    ft_attack_ctx_t *c = user;
    const ft_train_hooks_t *o = c->task->outer;
    if (c->inner.after_step)
        c->inner.after_step(c->inner.user, epoch, batch, m);
    if (o && o->after_step)
        o->after_step(o->user, epoch, batch, m);
}

static void chain_after_epoch(void *user, int epoch, ft_model_t *m)
{
    ft_attack_ctx_t *c = user;
    const ft_train_hooks_t *o = c->task->outer;
    if (c->inner.after_epoch)
        c->inner.after_epoch(c->inner.user, epoch, m);
    if (o && o->after_epoch)
        o->after_epoch(o->user, epoch, m);
}

static void chain_before_step(void *user, ft_model_t *m)
{
    ft_attack_ctx_t *c = user;
    const ft_train_hooks_t *o = c->task->outer;
    if (c->inner.before_step)
        c->inner.before_step(c->inner.user, m);
    if (o && o->before_step)
        o->before_step(o->user, m);
}

int ft_attack_train_delta(ft_attack_ctx_t *c, const ft_dataset_t *ds, const uint32_t *idx,
                          uint32_t n, const ft_train_opts_t *o, const ft_train_hooks_t *hooks,
                          float *delta, double *loss)
{
    const ft_attack_task_t *k = c->task;
    if (c->start_dev)
        c->ops->copy(ft_model_params(c->m), c->start_dev, c->N * sizeof(float));
    else
        ft_model_set_params(c->m, k->global);
    ft_rng_t rng;
    ft_rng_init(&rng, c->env->seed, (uint32_t)k->round, k->client_id, FT_RNG_SHUFFLE);
    ft_rng_t aug;
    ft_rng_init(&aug, c->env->seed, (uint32_t)k->round, k->client_id, FT_RNG_AUGMENT);
    ft_train_opts_t opts = *o;
    opts.augment_rng = &aug;
    ft_train_result_t res;
    ft_train_hooks_t none = {0};
    c->inner = hooks ? *hooks : none;
    const ft_train_hooks_t chain = {.after_step = chain_after_step,
                                    .after_epoch = chain_after_epoch,
                                    .before_step = chain_before_step,
                                    .user = c};
    int rc = ft_train_run(c->t, ds, idx, n, &opts, &rng, 1, &chain, NULL, NULL, &res);
    if (rc < 0)
        return rc;
    ft_model_get_params(c->m, delta);
    for (size_t j = 0; j < c->N; j++)
        delta[j] -= k->global[j];
    if (loss)
        *loss = res.mean_loss;
    return FT_OK;
}

int ft_attack_clean_set(const ft_attack_ctx_t *c, ft_dataset_t **out)
{
    return ft_dataset_subset(c->task->train, c->clean_idx, c->clean_n, out);
}

uint32_t ft_attack_clean_count(const ft_attack_env_t *env, uint32_t part_n)
{
    uint32_t avail = env->p.clean_from == FT_CLEAN_FROM_TRAIN ? env->clean_pool_n : part_n;
    return env->p.clean_points < avail ? env->p.clean_points : avail;
}

double ft_attack_round_decay(const ft_attack_env_t *env, int round)
{
    return pow(env->lr_decay, (double)(round > 1 ? round - 1 : 0));
}

double ft_attack_replacement_scale(double scale, uint64_t round_samples, uint64_t attacker_samples,
                                   int K)
{
    if (scale > 0)
        return scale;
    if (round_samples > 0 && attacker_samples > 0)
        return (double)round_samples / (double)attacker_samples;
    return K > 0 ? (double)K : 1.0;
}

/* The clean points into c->clean_idx / clean_n: a fixed seeded choice (the same every
 * round) from the client's own partition, or with attack.clean_from = train from the
 * whole training set but the edge points, as the paper code draws its 400 / 100 clean
 * images (utils.py load_poisoned_dataset). Ascending. FT_ENOMEM. */
static int choose_clean(ft_attack_ctx_t *c)
{
    const ft_attack_task_t *task = c->task;
    const ft_attack_env_t *env = c->env;
    uint32_t *from = NULL, n = 0;
    int rc = FT_OK;
    if (env->p.clean_from == FT_CLEAN_FROM_TRAIN) {
        rc = ft_edge_honest_pool(env->edge, task->train->n, &from, &n);
    } else {
        n = task->part_n;
        from = ft_malloc(((size_t)n + 1) * sizeof *from);
        if (!from)
            rc = ft_error_set(FT_ENOMEM, "out of memory for the attack of client %u",
                              task->client_id);
        else
            memcpy(from, task->part_idx, (size_t)n * sizeof *from);
    }
    if (rc < 0)
        return rc;
    ft_rng_t rng;
    ft_rng_init(&rng, env->seed, 0, task->client_id, FT_RNG_ATTACK);
    ft_rng_shuffle_u32(&rng, from, n);
    c->clean_n = ft_attack_clean_count(env, task->part_n);
    qsort(from, c->clean_n, sizeof *from, cmp_u32);
    c->clean_idx = from;
    return FT_OK;
}

int ft_attack_dadv(const ft_attack_env_t *env, const ft_attack_task_t *task, ft_dataset_t **out)
{
    *out = NULL;
    ft_attack_ctx_t c = {.env = env, .task = task};
    int rc = choose_clean(&c);
    if (rc == FT_OK && env->attack->poison)
        rc = env->attack->poison(&c, out);
    else if (rc == FT_OK)
        rc = ft_dataset_subset(task->train, task->part_idx, task->part_n, out);
    ft_free(c.clean_idx);
    return rc;
}

/* d/dw of mu ||w - w_hat||^2 = 2 mu (w - w_hat), added to the gradient. */
static void prox_before_step(void *user, ft_model_t *m)
{
    ft_attack_ctx_t *c = user;
    c->ops->sub(c->N, ft_model_params(m), c->what_dev, c->tmp_dev);
    c->ops->axpy(c->N, (float)(2.0 * c->env->p.prox_mu), c->tmp_dev, ft_model_grads(m));
}

/* attack.prox: w_hat_g, the global model trained on the clean points with the honest
 * options (paper code estimate_wg), into back-end memory; delta is scratch. The clean
 * points are augmented as the attacker's data (the paper code's clean_trainset is a
 * copy of its augmented poisoned set, utils.py:479). */
static int prepare_prox(ft_attack_ctx_t *c, float *delta, ft_train_hooks_t *hooks)
{
    const ft_attack_task_t *task = c->task;
    ft_train_opts_t o = task->opts;
    o.augment = c->adv_opts.augment;
    int rc = ft_attack_train_delta(c, task->train, c->clean_idx, c->clean_n, &o, NULL, delta, NULL);
    if (rc < 0)
        return rc;
    for (size_t j = 0; j < c->N; j++)
        delta[j] += task->global[j];
    c->what_dev = c->ops->alloc(c->N * sizeof(float));
    if (!c->what_dev)
        return ft_error_set(FT_ENOMEM, "out of memory for the prox estimate");
    c->ops->upload(c->what_dev, delta, c->N * sizeof(float));
    hooks->before_step = prox_before_step;
    return FT_OK;
}

static double norm2(const float *v, size_t N)
{
    double s = 0;
    for (size_t j = 0; j < N; j++)
        s += (double)v[j] * v[j];
    return sqrt(s);
}

int ft_attack_local_update(const ft_attack_env_t *env, const ft_attack_task_t *task, ft_model_t *m,
                           ft_trainer_t *t, float *delta, ft_attack_result_t *res)
{
    assert(env && env->attack && task && m && t && delta && res);
    const ft_attack_t *a = env->attack;
    const ft_attack_cfg_t *p = &env->p;
    memset(res, 0, sizeof *res);
    ft_attack_ctx_t c = {.env = env, .task = task, .m = m, .t = t};
    c.ops = ft_model_ops(m);
    c.N = ft_model_num_params(m);
    size_t bytes = c.N * sizeof(float);
    ft_dataset_t *ds = NULL;
    int rc = FT_OK;

    c.adv_opts = task->opts;
    /* D_adv is augmented as the paper code's attacker's is (utils.py:414-427: the
     * poisoned set is a copy of the training set, its transform included). */
    c.adv_opts.augment.mode = env->augment;
    if (p->adv_epochs > 0)
        c.adv_opts.epochs = p->adv_epochs;
    /* The round's decay carries over: adv_lr * gamma^(t-1) (paper code fl_trainer.py:449) */
    if (p->adv_lr > 0)
        c.adv_opts.lr = (float)(p->adv_lr * ft_attack_round_decay(env, task->round));

    c.wg_dev = c.ops->alloc(bytes);
    c.tmp_dev = c.ops->alloc(bytes);
    if (!c.wg_dev || !c.tmp_dev) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for the attack of client %u", task->client_id);
        goto done;
    }
    if ((rc = choose_clean(&c)) < 0)
        goto done;
    c.ops->upload(c.wg_dev, task->global, bytes);

    res->sample_count = ft_attack_sample_count(env, task->part_n);
    if (a->trains) {
        ft_train_hooks_t hooks = {.user = &c};
        if (p->prox && c.clean_n > 0 && (rc = prepare_prox(&c, delta, &hooks)) < 0)
            goto done;
        if (a->poison && (rc = a->poison(&c, &ds)) < 0)
            goto done;
        if (a->constrain)
            a->constrain(&c, &hooks);
        if ((a->grad_mask || p->grad_mask) && (rc = ft_attack_mask_prepare(&c, &hooks)) < 0)
            goto done;
        rc = ft_attack_train_delta(&c, ds ? ds : task->train, ds ? NULL : task->part_idx,
                                   ds ? ds->n : task->part_n, &c.adv_opts, &hooks, delta,
                                   &res->loss);
        if (rc < 0)
            goto done;
    } else {
        memset(delta, 0, bytes);
    }
    res->norm_trained = norm2(delta, c.N);
    if (a->transform && (rc = a->transform(&c, delta)) < 0)
        goto done;
    res->scale = 1.0;
    if (p->model_replacement) {
        res->scale = ft_attack_replacement_scale(p->scale, task->round_samples, res->sample_count,
                                                 env->clients_per_round);
        for (size_t j = 0; j < c.N; j++)
            delta[j] = (float)(delta[j] * res->scale);
    }
    res->norm = norm2(delta, c.N);
    res->projections = c.projections;
done:
    ft_dataset_destroy(&ds);
    ft_free(c.clean_idx);
    c.ops->free(c.wg_dev);
    c.ops->free(c.tmp_dev);
    c.ops->free(c.what_dev);
    c.ops->free(c.mask_dev);
    c.ops->free(c.start_dev);
    return rc;
}
