/* ft_attack_plugins: the attack plug-ins, their registry, and the driver that runs
 * one attacker task (hooks: poison the data, constrain the steps, transform the
 * update; then model replacement).
 *
 * Papers: Wang et al., NeurIPS 2020 ("Attack of the Tails": blackbox §4, PGD with
 * L2 projection Alg. 1, prox variant, model replacement) after Bagdasaryan et al.,
 * AISTATS 2020 (model replacement, eq. 3); Gu et al. 2017 (BadNets pixel trigger);
 * Tolpegin et al., ESORICS 2020 (label flipping); Li et al., AAAI 2019 (RSA, sign
 * flipping); Blanchard et al., NeurIPS 2017 (Gaussian Byzantine updates); Baruch et
 * al., NeurIPS 2019 (ALIE, §3); Xie et al., UAI 2019 (IPM, §3). Training details follow
 * the paper code (ksreenivasan/OOD_Federated_Learning fl_trainer.py): a fresh SGD
 * per round, projection after steps b % project_frequency == 0 and after the last
 * batch of each epoch, prox term ||w - w_hat_g||^2 with w_hat_g trained on the
 * attacker's clean points for the honest epochs. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_attack.h"
#include "ft_error.h"

struct ft_attack_ctx {
    const ft_attack_env_t *env;   /* the environment */
    const ft_attack_task_t *task; /* this task */
    ft_model_t *m;                /* the client's model */
    ft_trainer_t *t;              /* the client's trainer */
    const ft_ops_t *ops;          /* the model's back end */
    size_t N;                     /* parameters */
    ft_train_opts_t adv_opts;     /* the attacker's training options */
    uint32_t *clean_idx;          /* clean points (train indices), ascending */
    uint32_t clean_n;             /* their count */
    float *wg_dev;                /* global model in back-end memory */
    float *tmp_dev;               /* N back-end scratch */
    float *what_dev;              /* prox: w_hat_g in back-end memory, else NULL */
    int projections;              /* PGD projections that moved the model */
    ft_train_hooks_t inner;       /* the attack's hooks of the current training */
};

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

/* Trains from the global model on ds (idx NULL: all of ds) with the attack's hooks
 * (may be NULL) chained with the client's, and writes the update. */
static int train_delta(ft_attack_ctx_t *c, const ft_dataset_t *ds, const uint32_t *idx, uint32_t n,
                       const ft_train_opts_t *o, const ft_train_hooks_t *hooks, float *delta,
                       double *loss)
{
    const ft_attack_task_t *k = c->task;
    ft_model_set_params(c->m, k->global);
    ft_rng_t rng;
    ft_rng_init(&rng, c->env->p.seed, (uint32_t)k->round, k->client_id, FT_RNG_SHUFFLE);
    ft_train_result_t res;
    ft_train_hooks_t none = {0};
    c->inner = hooks ? *hooks : none;
    const ft_train_hooks_t chain = {.after_step = chain_after_step,
                                    .after_epoch = chain_after_epoch,
                                    .before_step = chain_before_step,
                                    .user = c};
    int rc = ft_train_run(c->t, ds, idx, n, o, &rng, 1, &chain, NULL, NULL, &res);
    if (rc < 0)
        return rc;
    ft_model_get_params(c->m, delta);
    for (size_t j = 0; j < c->N; j++)
        delta[j] -= k->global[j];
    if (loss)
        *loss = res.mean_loss;
    return FT_OK;
}

/* ---- hook 1: poisoned datasets ---------------------------------------------- */

/* blackbox / pgd: D_adv = edge points (target label) + the clean points. */
static int poison_edge(ft_attack_ctx_t *c, ft_dataset_t **out)
{
    ft_dataset_t *clean = NULL;
    int rc = ft_dataset_subset(c->task->train, c->clean_idx, c->clean_n, &clean);
    if (rc == FT_OK)
        rc = ft_dataset_concat(c->env->edge->attack, clean, out);
    ft_dataset_destroy(&clean);
    return rc;
}

/* pixel-trigger: the clean points + poison_points triggered copies of the partition's
 * images of other classes (cycled in a seeded order), relabelled to the target. */
static int poison_trigger(ft_attack_ctx_t *c, ft_dataset_t **out)
{
    const ft_attack_task_t *k = c->task;
    const ft_attack_params_t *p = &c->env->p;
    uint32_t *cand = ft_malloc(((size_t)k->part_n + 1) * sizeof *cand), nc = 0;
    uint32_t *pick = ft_malloc((size_t)p->poison_points * sizeof *pick);
    ft_dataset_t *clean = NULL, *trig = NULL;
    int rc = FT_OK;
    if (!cand || !pick) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for the trigger set");
        goto done;
    }
    for (uint32_t i = 0; i < k->part_n; i++)
        if (k->train->labels[k->part_idx[i]] != p->target_class)
            cand[nc++] = k->part_idx[i];
    if (nc == 0) {
        rc = ft_error_set(FT_EINVAL, "pixel-trigger: client %u holds no image outside class %d",
                          k->client_id, p->target_class);
        goto done;
    }
    ft_rng_t rng;
    ft_rng_init(&rng, p->seed, 0, k->client_id, FT_RNG_ATTACK);
    ft_rng_shuffle_u32(&rng, cand, nc);
    for (uint32_t i = 0; i < p->poison_points; i++)
        pick[i] = cand[i % nc];
    rc = ft_dataset_subset(k->train, pick, p->poison_points, &trig);
    if (rc < 0)
        goto done;
    for (uint32_t i = 0; i < trig->n; i++)
        ft_attack_stamp_trigger(trig, i, p->trigger_size);
    memset(trig->labels, p->target_class, trig->n);
    rc = ft_dataset_subset(k->train, c->clean_idx, c->clean_n, &clean);
    if (rc == FT_OK)
        rc = ft_dataset_concat(clean, trig, out);
done:
    ft_free(cand);
    ft_free(pick);
    ft_dataset_destroy(&clean);
    ft_dataset_destroy(&trig);
    return rc;
}

/* label-flip: the whole partition with source_class relabelled target_class. */
static int poison_flip(ft_attack_ctx_t *c, ft_dataset_t **out)
{
    int rc = ft_dataset_subset(c->task->train, c->task->part_idx, c->task->part_n, out);
    if (rc == FT_OK)
        ft_attack_flip_labels(*out, c->env->p.source_class, c->env->p.target_class);
    return rc;
}

/* ---- hook 2: PGD projection and the prox term -------------------------------- */

static void pgd_project(ft_attack_ctx_t *c, ft_model_t *m)
{
    double d = ft_attack_project_l2(c->ops, c->N, ft_model_params(m), c->wg_dev, c->env->p.eps,
                                    c->tmp_dev);
    if (d > c->env->p.eps)
        c->projections++;
}

static void pgd_after_step(void *user, int epoch, int batch, ft_model_t *m)
{
    (void)epoch;
    ft_attack_ctx_t *c = user;
    if (batch % c->env->p.project_frequency == 0)
        pgd_project(c, m);
}

static void pgd_after_epoch(void *user, int epoch, ft_model_t *m)
{
    (void)epoch;
    pgd_project(user, m);
}

static void constrain_pgd(ft_attack_ctx_t *c, ft_train_hooks_t *h)
{
    (void)c;
    h->after_step = pgd_after_step;
    h->after_epoch = pgd_after_epoch;
}

/* d/dw of mu ||w - w_hat||^2 = 2 mu (w - w_hat), added to the gradient. */
static void prox_before_step(void *user, ft_model_t *m)
{
    ft_attack_ctx_t *c = user;
    c->ops->sub(c->N, ft_model_params(m), c->what_dev, c->tmp_dev);
    c->ops->axpy(c->N, (float)(2.0 * c->env->p.prox_mu), c->tmp_dev, ft_model_grads(m));
}

/* ---- hook 3: update transforms ------------------------------------------------ */

/* B benign estimates: honest training from the global model on B disjoint chunks of
 * the attacker's own partition (seeded order), with the honest options. */
static int benign_estimates(ft_attack_ctx_t *c, size_t B, float *out /* B×N */)
{
    const ft_attack_task_t *k = c->task;
    uint32_t *order = ft_malloc(((size_t)k->part_n + 1) * sizeof *order);
    if (!order)
        return ft_error_set(FT_ENOMEM, "out of memory for benign estimates");
    memcpy(order, k->part_idx, (size_t)k->part_n * sizeof *order);
    ft_rng_t rng;
    ft_rng_init(&rng, c->env->p.seed, (uint32_t)k->round, k->client_id, FT_RNG_ATTACK);
    ft_rng_shuffle_u32(&rng, order, k->part_n);
    int rc = FT_OK;
    for (size_t b = 0; b < B && rc == FT_OK; b++) {
        uint32_t lo = (uint32_t)((uint64_t)k->part_n * b / B);
        uint32_t hi = (uint32_t)((uint64_t)k->part_n * (b + 1) / B);
        rc = train_delta(c, k->train, order + lo, hi - lo, &k->opts, NULL, out + b * c->N, NULL);
    }
    ft_free(order);
    return rc;
}

static size_t num_estimates(const ft_attack_ctx_t *c)
{
    size_t B = (size_t)c->env->p.num_benign_estimates;
    return B < c->task->part_n ? B : c->task->part_n;
}

static int transform_sign_flip(ft_attack_ctx_t *c, float *delta)
{
    /* The attacker's own honest update on its partition, negated. */
    const ft_attack_task_t *k = c->task;
    int rc = train_delta(c, k->train, k->part_idx, k->part_n, &k->opts, NULL, delta, NULL);
    if (rc == FT_OK)
        ft_attack_sign_flip(c->N, delta);
    return rc;
}

static int transform_gaussian(ft_attack_ctx_t *c, float *delta)
{
    ft_rng_t rng;
    ft_rng_init(&rng, c->env->p.seed, (uint32_t)c->task->round, c->task->client_id, FT_RNG_ATTACK);
    ft_attack_gaussian(c->N, c->env->p.noise_std, &rng, delta);
    return FT_OK;
}

static int transform_stat(ft_attack_ctx_t *c, float *delta, int alie)
{
    size_t B = num_estimates(c);
    float *est = ft_malloc(B * c->N * sizeof *est);
    if (!est)
        return ft_error_set(FT_ENOMEM, "out of memory for %zu benign estimates", B);
    int rc = benign_estimates(c, B, est);
    if (rc == FT_OK && alie) {
        const ft_attack_params_t *p = &c->env->p;
        int m = c->task->round_attackers > 0 ? c->task->round_attackers : 1;
        double z = p->alie_z > 0 ? p->alie_z : ft_attack_alie_z(p->clients_per_round, m);
        ft_attack_alie(B, c->N, est, z, delta);
    } else if (rc == FT_OK) {
        ft_attack_ipm(B, c->N, est, c->env->p.ipm_epsilon, delta);
    }
    ft_free(est);
    return rc;
}

static int transform_alie(ft_attack_ctx_t *c, float *delta)
{
    return transform_stat(c, delta, 1);
}
static int transform_ipm(ft_attack_ctx_t *c, float *delta)
{
    return transform_stat(c, delta, 0);
}

/* ---- the registry ------------------------------------------------------------- */

static const ft_attack_t attack_blackbox = {
    .name = "blackbox",
    .cite = "Wang et al. NeurIPS 2020, §4 black-box attack: train on D_adv = edge points "
            "(target label) + clean points",
    .needs_edge = 1,
    .poison = poison_edge,
    .trains = 1,
};
static const ft_attack_t attack_pgd = {
    .name = "pgd",
    .cite = "Wang et al. NeurIPS 2020, Alg. 1: PGD with L2 projection onto ||w - w_g|| <= eps",
    .needs_edge = 1,
    .poison = poison_edge,
    .constrain = constrain_pgd,
    .trains = 1,
};
static const ft_attack_t attack_pixel_trigger = {
    .name = "pixel-trigger",
    .cite = "Gu et al. 2017 (BadNets): checkerboard trigger stamped on clean images, "
            "relabelled to the target",
    .poison = poison_trigger,
    .trains = 1,
};
static const ft_attack_t attack_label_flip = {
    .name = "label-flip",
    .cite = "Tolpegin et al. ESORICS 2020: labels source_class -> target_class",
    .poison = poison_flip,
    .trains = 1,
};
static const ft_attack_t attack_sign_flip = {
    .name = "sign-flip",
    .cite = "Li et al. AAAI 2019 (RSA), sign-flipping attack: send -(benign update)",
    .transform = transform_sign_flip,
};
static const ft_attack_t attack_gaussian = {
    .name = "gaussian",
    .cite = "Blanchard et al. NeurIPS 2017, §5: Gaussian update N(0, noise_std^2 I)",
    .transform = transform_gaussian,
};
static const ft_attack_t attack_alie = {
    .name = "alie",
    .cite = "Baruch et al. NeurIPS 2019, §3: mu - z_max sigma over benign estimates",
    .transform = transform_alie,
};
static const ft_attack_t attack_ipm = {
    .name = "ipm",
    .cite = "Xie et al. UAI 2019, §3: -epsilon * mean of benign estimates",
    .transform = transform_ipm,
};

const ft_attack_t *const ft_attack_registry[] = {
    &attack_blackbox,   &attack_pgd,       &attack_pixel_trigger,
    &attack_label_flip, &attack_sign_flip, &attack_gaussian,
    &attack_alie,       &attack_ipm,       NULL,
};

const ft_attack_t *ft_attack_find(const char *name)
{
    for (int i = 0; ft_attack_registry[i]; i++)
        if (!strcmp(ft_attack_registry[i]->name, name))
            return ft_attack_registry[i];
    return NULL;
}

/* ---- the driver ---------------------------------------------------------------- */

int ft_attack_local_update(const ft_attack_env_t *env, const ft_attack_task_t *task, ft_model_t *m,
                           ft_trainer_t *t, float *delta, ft_attack_result_t *res)
{
    assert(env && env->attack && task && m && t && delta && res);
    const ft_attack_t *a = env->attack;
    const ft_attack_params_t *p = &env->p;
    memset(res, 0, sizeof *res);
    ft_attack_ctx_t c = {.env = env, .task = task, .m = m, .t = t};
    c.ops = ft_model_ops(m);
    c.N = ft_model_num_params(m);
    size_t bytes = c.N * sizeof(float);
    ft_dataset_t *ds = NULL;
    int rc = FT_OK;

    c.adv_opts = task->opts;
    if (p->adv_epochs > 0)
        c.adv_opts.epochs = p->adv_epochs;
    if (p->adv_lr > 0) /* the round's decay carries over: adv_lr * gamma^(t-1) */
        c.adv_opts.lr = (float)(p->adv_lr * (p->base_lr > 0 ? task->opts.lr / p->base_lr : 1.0));

    /* The clean points: a fixed seeded choice from the client's own partition. */
    c.clean_n = p->clean_points < task->part_n ? p->clean_points : task->part_n;
    c.clean_idx = ft_malloc(((size_t)task->part_n + 1) * sizeof *c.clean_idx);
    c.wg_dev = c.ops->alloc(bytes);
    c.tmp_dev = c.ops->alloc(bytes);
    if (!c.clean_idx || !c.wg_dev || !c.tmp_dev) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for the attack of client %u", task->client_id);
        goto done;
    }
    memcpy(c.clean_idx, task->part_idx, (size_t)task->part_n * sizeof *c.clean_idx);
    ft_rng_t rng;
    ft_rng_init(&rng, p->seed, 0, task->client_id, FT_RNG_ATTACK);
    ft_rng_shuffle_u32(&rng, c.clean_idx, task->part_n);
    qsort(c.clean_idx, c.clean_n, sizeof *c.clean_idx, cmp_u32);
    c.ops->upload(c.wg_dev, task->global, bytes);

    res->sample_count = ft_attack_client_samples(env, task->client_id, task->part_n, 1);
    if (a->trains) {
        ft_train_hooks_t hooks = {.user = &c};
        if (p->prox && c.clean_n > 0) {
            /* w_hat_g: the global model trained on the clean points (paper estimate_wg). */
            rc = train_delta(&c, task->train, c.clean_idx, c.clean_n, &task->opts, NULL, delta,
                             NULL);
            if (rc < 0)
                goto done;
            for (size_t j = 0; j < c.N; j++)
                delta[j] += task->global[j];
            c.what_dev = c.ops->alloc(bytes);
            if (!c.what_dev) {
                rc = ft_error_set(FT_ENOMEM, "out of memory for the prox estimate");
                goto done;
            }
            c.ops->upload(c.what_dev, delta, bytes);
            hooks.before_step = prox_before_step;
        }
        if (a->poison) {
            rc = a->poison(&c, &ds);
            if (rc < 0)
                goto done;
        }
        if (a->constrain)
            a->constrain(&c, &hooks);
        rc = train_delta(&c, ds ? ds : task->train, ds ? NULL : task->part_idx,
                         ds ? ds->n : task->part_n, &c.adv_opts, &hooks, delta, &res->loss);
        if (rc < 0)
            goto done;
    } else {
        memset(delta, 0, bytes);
    }
    double s = 0;
    for (size_t j = 0; j < c.N; j++)
        s += (double)delta[j] * delta[j];
    res->norm_trained = sqrt(s);
    if (a->transform) {
        rc = a->transform(&c, delta);
        if (rc < 0)
            goto done;
    }
    res->scale = 1.0;
    if (p->model_replacement) {
        res->scale = ft_attack_replacement_scale(p->scale, task->round_samples, res->sample_count,
                                                 p->clients_per_round);
        for (size_t j = 0; j < c.N; j++)
            delta[j] = (float)(delta[j] * res->scale);
    }
    s = 0;
    for (size_t j = 0; j < c.N; j++)
        s += (double)delta[j] * delta[j];
    res->norm = sqrt(s);
    res->projections = c.projections;
done:
    ft_dataset_destroy(&ds);
    ft_free(c.clean_idx);
    c.ops->free(c.wg_dev);
    c.ops->free(c.tmp_dev);
    c.ops->free(c.what_dev);
    return rc;
}
