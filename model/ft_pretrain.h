/* ft_pretrain: centralised (non-federated) training of one model on one dataset — the
 * baseline every federated run is compared against, and the pre-trained starting model
 * of federation.init = pretrain.
 *
 * Loads [data], builds [model] on the run.device back end, trains [train] epochs of
 * minibatch SGD (one optimizer throughout, as one torch.optim.SGD), evaluates on the
 * test split after each epoch, and writes to the output directory: config.ini (the
 * resolved experiment), metrics.csv (one row per epoch, rewritten every epoch so a
 * long run's progress is on disk) and model.ckpt. Streams: init (seed, 0, 0,
 * FT_RNG_INIT), shuffle (seed, 0, 0, FT_RNG_SHUFFLE), dropout (seed, 0, 0,
 * FT_RNG_DROPOUT). It prints nothing: callers watch through the hooks. */
#ifndef FT_PRETRAIN_H
#define FT_PRETRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "ft_experiment.h"

/* What is being trained (on_start). */
typedef struct {
    const char *model;    /* model.name */
    size_t num_params;    /* N */
    const char *dataset;  /* the training split's name ("fashion-mnist/train") */
    uint32_t train_n;     /* training samples per epoch */
    uint32_t test_n;      /* test samples */
    const char *back_end; /* the ops back end's name */
} ft_pretrain_info_t;

/* Where training is inside an epoch (on_step, after every step). */
typedef struct {
    int epoch;            /* 0-based */
    int epochs;           /* total */
    int batch;            /* 0-based batch of this epoch */
    int batches;          /* batches per epoch */
    uint32_t in_epoch;    /* samples of this epoch trained so far */
    uint32_t epoch_n;     /* samples per epoch */
    uint64_t done;        /* samples trained so far, all epochs */
    double train_seconds; /* training time so far, all epochs */
    double running_loss;  /* mean loss of this epoch so far */
} ft_pretrain_step_t;

/* One finished epoch (on_epoch). */
typedef struct {
    int epoch;            /* 1-based */
    int epochs;           /* total */
    double train_loss;    /* mean training loss of the epoch */
    double test_acc;      /* test accuracy after it */
    double test_loss;     /* test loss after it */
    double samples_per_s; /* training throughput of the epoch */
    double seconds;       /* training time of the epoch */
} ft_pretrain_epoch_t;

/* Observers of a training; every member may be NULL. */
typedef struct {
    void (*on_start)(void *user, const ft_pretrain_info_t *info);
    void (*on_step)(void *user, const ft_pretrain_step_t *step);
    void (*on_epoch)(void *user, const ft_pretrain_epoch_t *epoch);
    void *user; /* passed to each */
} ft_pretrain_hooks_t;

/* Trains exp's model on its training set — only the samples pool[0..pool_n) when pool
 * is not NULL (ft_scenario_pretrain_pool) — into out_dir (created). The last epoch's
 * results go to *last (may be NULL). Errors: FT_ECONFIG naming the key (model.name /
 * model.hidden that do not fit the data), FT_EUNSUPPORTED (run.device), FT_EIO
 * naming the file, FT_EFORMAT (train and test shapes differ), FT_ESTATE (training
 * diverged: nothing is saved), FT_ENOMEM. */
int ft_pretrain(const ft_experiment_t *exp, const char *out_dir, const uint32_t *pool,
                uint32_t pool_n, const ft_pretrain_hooks_t *hooks, ft_pretrain_epoch_t *last);

#endif
