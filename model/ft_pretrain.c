/* ft_pretrain: centralised training into a directory (config.ini, metrics.csv,
 * model.ckpt). */
#include "ft_pretrain.h"

#include "ft_alloc.h"
#include "ft_checkpoint.h"
#include "ft_dataset_load.h"
#include "ft_device.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_model.h"
#include "ft_model_input.h"
#include "ft_rng.h"
#include "ft_timer.h"
#include "ft_train.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* What the per-step hook needs to describe the step. */
typedef struct {
    const ft_pretrain_hooks_t *hooks; /* the caller's observers */
    ft_trainer_t *trainer;            /* for the running loss */
    ft_pretrain_step_t step;          /* filled in as training goes */
    int batch_size;                   /* samples per batch */
    double epochs_seconds;            /* training time of the finished epochs */
    double epoch_start;               /* ft_now() when the current epoch started */
} step_state_t;

static void after_step(void *user, int epoch, int batch, ft_model_t *m)
{
    (void)epoch;
    (void)m;
    step_state_t *s = user;
    ft_pretrain_step_t *p = &s->step;
    uint32_t in_epoch = (uint32_t)(batch + 1) * (uint32_t)s->batch_size;
    p->batch = batch;
    p->in_epoch = in_epoch > p->epoch_n ? p->epoch_n : in_epoch;
    p->train_seconds = s->epochs_seconds + (ft_now() - s->epoch_start);
    p->running_loss = ft_trainer_epoch_loss(s->trainer);
    s->hooks->on_step(s->hooks->user, p);
}

/* Appends to a growing text buffer; FT_ENOMEM. */
static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            return ft_error_set(FT_EINVAL, "formatting failed");
        if (*buf && *len + (size_t)k < *cap) {
            *len += (size_t)k;
            return FT_OK;
        }
        size_t ncap = (*cap ? *cap * 2 : 1024) + (size_t)k;
        char *nb = ft_realloc(*buf, ncap);
        if (!nb)
            return ft_error_set(FT_ENOMEM, "out of memory");
        *buf = nb;
        *cap = ncap;
    }
}

/* The training and test splits, the training set cut to the pool. */
static int load_data(const ft_experiment_t *exp, const uint32_t *pool, uint32_t pool_n,
                     ft_dataset_t **train, ft_dataset_t **test)
{
    int rc;
    if ((rc = ft_dataset_load(&exp->data, exp->run.seed, 1, train)) != FT_OK ||
        (rc = ft_dataset_load(&exp->data, exp->run.seed, 0, test)) != FT_OK)
        return rc;
    if (pool) {
        ft_dataset_t *kept = NULL;
        if ((rc = ft_dataset_subset(*train, pool, pool_n, &kept)) != FT_OK)
            return rc;
        ft_dataset_destroy(train);
        *train = kept;
    }
    if ((*train)->n == 0)
        return ft_error_set(FT_ECONFIG, "%s: no training samples", (*train)->name);
    /* The model is built for the training set; the test set must fit it. */
    return ft_model_input_match(&exp->model, *test, *train, "the training set");
}

/* The model for the data, on ops; a config error names the key at fault. */
static int build_model(const ft_experiment_t *exp, const ft_dataset_t *train, int classes,
                       int max_batch, const ft_ops_t *ops, ft_model_t **m)
{
    return ft_model_new_for_data(&exp->model, train, classes, 0, max_batch, ops, m);
}

/* model.ckpt with the model and what it was trained on. */
static int save_model(const ft_experiment_t *exp, ft_model_t *m, const ft_dataset_t *train,
                      int classes, const ft_eval_t *ev, const char *path)
{
    size_t N = ft_model_num_params(m);
    float *params = ft_malloc(N * sizeof(float));
    if (!params)
        return ft_error_set(FT_ENOMEM, "out of memory saving the model");
    ft_model_get_params(m, params);
    char meta[1024];
    snprintf(meta, sizeof meta,
             "model=%s\nhidden=%s\ndataset=%s\ninput=%d,%d,%d\nclasses=%d\nepochs=%d\nseed=%llu\n"
             "test_acc=%.6f\ntest_loss=%.6f\n",
             exp->model.name, exp->model.hidden, exp->data.dataset, train->c, train->h, train->w,
             classes, exp->train.epochs, (unsigned long long)exp->run.seed, ev->accuracy, ev->loss);
    int rc = ft_checkpoint_save(path, ft_model_layout(m)->hash, params, N, meta, NULL, 0);
    ft_free(params);
    return rc;
}

int ft_pretrain(const ft_experiment_t *exp, const char *out_dir, const uint32_t *pool,
                uint32_t pool_n, const ft_pretrain_hooks_t *hooks, ft_pretrain_epoch_t *last)
{
    static const ft_pretrain_hooks_t no_hooks = {0};
    if (!hooks)
        hooks = &no_hooks;
    ft_dataset_t *train = NULL, *test = NULL;
    ft_model_t *m = NULL;
    ft_trainer_t *trainer = NULL;
    char *csv = NULL;
    size_t csv_len = 0, csv_cap = 0;
    const ft_ops_t *ops = NULL;
    char path[1200];
    const ft_train_cfg_t *tc = &exp->train;
    int rc;

    if ((rc = ft_ops_for_device(&exp->run, &ops)) != FT_OK)
        goto fail;
    ft_ops_set_threads(exp->run.threads);
    if ((rc = load_data(exp, pool, pool_n, &train, &test)) != FT_OK)
        goto fail;
    int max_batch = tc->batch_size > exp->run.eval_batch ? tc->batch_size : exp->run.eval_batch;
    int classes = train->num_classes > test->num_classes ? train->num_classes : test->num_classes;
    if ((rc = build_model(exp, train, classes, max_batch, ops, &m)) != FT_OK)
        goto fail;
    ft_rng_t init_rng, shuffle_rng, dropout_rng, augment_rng;
    ft_rng_init(&init_rng, exp->run.seed, 0, 0, FT_RNG_INIT);
    ft_rng_init(&shuffle_rng, exp->run.seed, 0, 0, FT_RNG_SHUFFLE);
    ft_rng_init(&dropout_rng, exp->run.seed, 0, 0, FT_RNG_DROPOUT);
    ft_rng_init(&augment_rng, exp->run.seed, 0, 0, FT_RNG_AUGMENT);
    ft_model_init(m, &init_rng);
    ft_model_set_dropout_stream(m, ft_rng_u64(&dropout_rng), 0);
    if (!(trainer = ft_trainer_new(m, tc->batch_size))) {
        rc = ft_error_set(FT_ENOMEM, "out of memory creating the trainer");
        goto fail;
    }

    if ((rc = ft_mkdir_p(out_dir)) != FT_OK)
        goto fail;
    snprintf(path, sizeof path, "%s/config.ini", out_dir);
    if ((rc = ft_config_write(exp->src, path)) != FT_OK)
        goto fail;
    if ((rc = append(&csv, &csv_len, &csv_cap,
                     "epoch,train_loss,test_acc,test_loss,samples_per_s,epoch_seconds\n")) != FT_OK)
        goto fail;
    if (hooks->on_start) {
        ft_pretrain_info_t info = {.model = exp->model.name,
                                   .num_params = ft_model_num_params(m),
                                   .dataset = train->name,
                                   .train_n = train->n,
                                   .test_n = test->n,
                                   .back_end = ops->name};
        hooks->on_start(hooks->user, &info);
    }

    ft_train_opts_t opts = {
        .epochs = 1,
        .batch_size = tc->batch_size,
        .lr = (float)tc->lr,
        .momentum = (float)tc->momentum,
        .weight_decay = (float)tc->weight_decay,
        .clip_grad_norm = tc->clip_grad_norm,
        /* The paper code's CIFAR-10 checkpoint was trained with zero-padded crops and
         * flips (main.py:120-124): data.augment_train. */
        .augment = {.mode = exp->data.augment_train, .pad = exp->data.augment_pad},
        .augment_rng = &augment_rng,
    };
    step_state_t st = {.hooks = hooks, .trainer = trainer, .batch_size = tc->batch_size};
    st.step.epochs = tc->epochs;
    st.step.batches = (int)((train->n + (uint32_t)tc->batch_size - 1) / (uint32_t)tc->batch_size);
    st.step.epoch_n = train->n;
    ft_train_hooks_t train_hooks = {.after_step = hooks->on_step ? after_step : NULL, .user = &st};
    ft_eval_t ev;
    ft_pretrain_epoch_t row = {0};
    for (int e = 0; e < tc->epochs; e++) {
        st.step.epoch = e;
        st.epoch_start = ft_now();
        ft_train_result_t res;
        /* One epoch per call, the same shuffle stream throughout; the optimizer's
         * momentum carries over between epochs as in one torch.optim.SGD. */
        if ((rc = ft_train_run(trainer, train, NULL, 0, &opts, &shuffle_rng, e == 0, &train_hooks,
                               NULL, NULL, &res)) != FT_OK)
            goto fail;
        if (!isfinite(res.mean_loss)) {
            /* A diverged model is worse than none: never save (or cache) it. */
            rc = ft_error_set(FT_ESTATE,
                              "training diverged in epoch %d (loss %g): lower train.lr (now %g)",
                              e + 1, res.mean_loss, (double)opts.lr);
            goto fail;
        }
        st.epochs_seconds += res.seconds;
        st.step.done += res.samples;
        if ((rc = ft_model_evaluate(m, test, NULL, 0, &ev)) != FT_OK)
            goto fail;
        row = (ft_pretrain_epoch_t){.epoch = e + 1,
                                    .epochs = tc->epochs,
                                    .train_loss = res.mean_loss,
                                    .test_acc = ev.accuracy,
                                    .test_loss = ev.loss,
                                    .samples_per_s =
                                        res.seconds > 0 ? (double)res.samples / res.seconds : 0.0,
                                    .seconds = res.seconds};
        if (hooks->on_epoch)
            hooks->on_epoch(hooks->user, &row);
        if ((rc = append(&csv, &csv_len, &csv_cap, "%d,%.6f,%.6f,%.6f,%.1f,%.3f\n", row.epoch,
                         row.train_loss, row.test_acc, row.test_loss, row.samples_per_s,
                         row.seconds)) != FT_OK)
            goto fail;
        snprintf(path, sizeof path, "%s/metrics.csv", out_dir);
        if ((rc = ft_write_file_atomic(path, csv, csv_len)) != FT_OK)
            goto fail;
    }
    snprintf(path, sizeof path, "%s/model.ckpt", out_dir);
    if ((rc = save_model(exp, m, train, classes, &ev, path)) != FT_OK)
        goto fail;
    if (last)
        *last = row;
    rc = FT_OK;
fail:
    ft_free(csv);
    ft_trainer_destroy(&trainer);
    ft_model_destroy(&m);
    ft_dataset_destroy(&train);
    ft_dataset_destroy(&test);
    return rc;
}
