/* ft_train: the minibatch SGD loop shared by fedtail train, honest clients and
 * attackers. The trainer owns everything a step needs (host staging buffers, their
 * back-end copies, the optimizer), so a step allocates nothing; only the
 * permutation buffer grows when a run visits more samples than any before it. */
#include "ft_train.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_timer.h"

#include <assert.h>
#include <string.h>

ft_train_opts_t ft_train_opts_honest(const ft_experiment_t *exp)
{
    const ft_federation_cfg_t *f = &exp->federation;
    return (ft_train_opts_t){.epochs = f->local_epochs,
                             .batch_size = f->batch_size,
                             .momentum = (float)f->momentum,
                             .weight_decay = (float)f->weight_decay,
                             .clip_grad_norm = f->clip_grad_norm,
                             .augment = {.mode = exp->data.augment, .pad = exp->data.augment_pad}};
}

double ft_train_clip_grad_norm(ft_model_t *m, double max_norm)
{
    const ft_ops_t *ops = ft_model_ops(m);
    size_t N = ft_model_num_params(m);
    float *g = ft_model_grads(m);
    double norm = ops->norm2(N, g);
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0)
        ops->scale(N, (float)coef, g);
    return norm;
}

struct ft_trainer {
    ft_model_t *model; /* trained model (not owned) */
    ft_sgd_t *sgd;     /* optimizer (owned) */
    int max_batch;     /* largest batch */
    size_t sample;     /* floats per sample (C*H*W) */
    float *x_host;     /* max_batch × sample staging (host) */
    int32_t *y_host;   /* max_batch labels (host) */
    float *aug;        /* one sample: augmentation scratch (host) */
    float *x_dev;      /* max_batch × sample (back end) */
    int32_t *y_dev;    /* max_batch labels (back end) */
    uint32_t *perm;    /* visiting order of the current epoch */
    size_t perm_cap;   /* entries perm can hold */
    float last_loss;   /* loss of the last batch */
    double epoch_sum;  /* sum of batch losses this epoch */
    int epoch_batches; /* batches this epoch */
};

ft_trainer_t *ft_trainer_new(ft_model_t *m, int max_batch)
{
    assert(max_batch > 0);
    const ft_ops_t *ops = ft_model_ops(m);
    ft_trainer_t *t = ft_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    int c, h, w;
    ft_model_input_shape(m, &c, &h, &w);
    t->model = m;
    t->max_batch = max_batch;
    t->sample = (size_t)c * h * w;
    t->sgd = ft_sgd_new(m, 0.0f, 0.0f);
    t->x_host = ft_malloc((size_t)max_batch * t->sample * sizeof(float));
    t->y_host = ft_malloc((size_t)max_batch * sizeof(int32_t));
    t->aug = ft_malloc(t->sample * sizeof(float));
    t->x_dev = ops->alloc((size_t)max_batch * t->sample * sizeof(float));
    t->y_dev = ops->alloc((size_t)max_batch * sizeof(int32_t));
    if (!t->sgd || !t->x_host || !t->y_host || !t->aug || !t->x_dev || !t->y_dev)
        ft_trainer_destroy(&t);
    return t;
}

void ft_trainer_destroy(ft_trainer_t **t_p)
{
    if (!t_p || !*t_p)
        return;
    ft_trainer_t *t = *t_p;
    const ft_ops_t *ops = ft_model_ops(t->model);
    ft_sgd_destroy(&t->sgd);
    ft_free(t->x_host);
    ft_free(t->y_host);
    ft_free(t->aug);
    ops->free(t->x_dev);
    ops->free(t->y_dev);
    ft_free(t->perm);
    ft_free(t);
    *t_p = NULL;
}

ft_sgd_t *ft_trainer_sgd(ft_trainer_t *t)
{
    return t->sgd;
}
float ft_trainer_last_loss(const ft_trainer_t *t)
{
    return t->last_loss;
}

double ft_trainer_epoch_loss(const ft_trainer_t *t)
{
    return t->epoch_batches ? t->epoch_sum / t->epoch_batches : 0.0;
}

int ft_train_run(ft_trainer_t *t, const ft_dataset_t *ds, const uint32_t *idx, uint32_t n,
                 const ft_train_opts_t *opts, ft_rng_t *shuffle_rng, int fresh_optimizer,
                 const ft_train_hooks_t *hooks, ft_train_progress_fn progress, void *progress_user,
                 ft_train_result_t *result)
{
    ft_model_t *m = t->model;
    const ft_ops_t *ops = ft_model_ops(m);
    double t0 = ft_now();
    if (result)
        memset(result, 0, sizeof *result);
    if (opts->batch_size < 1 || opts->batch_size > t->max_batch ||
        opts->batch_size > ft_model_max_batch(m))
        return ft_error_set(FT_EINVAL, "batch size %d outside 1..%d", opts->batch_size,
                            t->max_batch < ft_model_max_batch(m) ? t->max_batch
                                                                 : ft_model_max_batch(m));
    if (ft_dataset_sample_size(ds) != t->sample)
        return ft_error_set(FT_EINVAL, "%s: samples are %dx%dx%d, not what the model takes",
                            ds->name, ds->c, ds->h, ds->w);
    int rc = ft_augment_check(&opts->augment, ds->h, ds->w);
    if (rc != FT_OK)
        return rc;
    assert(opts->augment.mode == FT_AUGMENT_NONE || opts->augment_rng);
    float fill[FT_MAX_CHANNELS];
    ft_augment_zero_fill(ds, fill);
    if (!idx)
        n = ds->n;
    if (n > t->perm_cap) {
        uint32_t *p = ft_realloc(t->perm, (size_t)n * sizeof *p);
        if (!p)
            return ft_error_set(FT_ENOMEM, "out of memory for %u sample indices", n);
        t->perm = p;
        t->perm_cap = n;
    }
    ft_sgd_set(t->sgd, opts->momentum, opts->weight_decay);
    if (fresh_optimizer)
        ft_sgd_reset(t->sgd);
    double last_epoch_loss = 0.0;
    uint64_t samples = 0;
    for (int epoch = 0; epoch < opts->epochs; epoch++) {
        for (uint32_t i = 0; i < n; i++)
            t->perm[i] = idx ? idx[i] : i;
        ft_rng_shuffle_u32(shuffle_rng, t->perm, n);
        t->epoch_sum = 0.0;
        t->epoch_batches = 0;
        int batch = 0;
        for (uint32_t start = 0; start < n; start += (uint32_t)opts->batch_size, batch++) {
            int B = (int)(n - start < (uint32_t)opts->batch_size ? n - start
                                                                 : (uint32_t)opts->batch_size);
            ft_dataset_gather(ds, t->perm + start, B, t->x_host, t->y_host);
            ft_augment_batch(&opts->augment, opts->augment_rng, fill, B, ds->c, ds->h, ds->w,
                             t->x_host, t->aug);
            ops->upload(t->x_dev, t->x_host, (size_t)B * t->sample * sizeof(float));
            ops->upload(t->y_dev, t->y_host, (size_t)B * sizeof(int32_t));
            t->last_loss = ft_model_forward_backward(m, t->x_dev, t->y_dev, B);
            t->epoch_sum += t->last_loss;
            t->epoch_batches++;
            /* the paper code clips right after backward, before anything else touches the
             * gradient (text_bc_training.py:43-46) */
            if (opts->clip_grad_norm > 0)
                ft_train_clip_grad_norm(m, opts->clip_grad_norm);
            if (hooks && hooks->before_step)
                hooks->before_step(hooks->user, m);
            ft_sgd_step(t->sgd, opts->lr);
            samples += (uint64_t)B;
            if (hooks && hooks->after_step)
                hooks->after_step(hooks->user, epoch, batch, m);
        }
        last_epoch_loss = ft_trainer_epoch_loss(t);
        if (hooks && hooks->after_epoch)
            hooks->after_epoch(hooks->user, epoch, m);
        if (progress)
            progress(progress_user, epoch, last_epoch_loss, ft_now() - t0);
    }
    if (result) {
        result->mean_loss = last_epoch_loss;
        result->samples = samples;
        result->seconds = ft_now() - t0;
    }
    return FT_OK;
}
