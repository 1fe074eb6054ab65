/* ft_train: minibatch training loops shared by centralised training (fedtail train),
 * honest clients and attackers.
 *
 * An epoch visits samples idx[0..n) of a dataset in an order shuffled by the given
 * stream, in batches of batch_size (the last one smaller), one SGD step per batch.
 * Hooks let attacks act between steps without the loop knowing about attacks.
 * Samples may be augmented (data/ft_augment.h) after gathering, one draw per sample
 * in visiting order, so an epoch's augmentations depend only on the stream. */
#ifndef FT_TRAIN_H
#define FT_TRAIN_H

#include "ft_augment.h"
#include "ft_experiment.h"
#include "ft_model.h"
#include "ft_rng.h"
#include "ft_sgd.h"

typedef struct {
    /* After each SGD step; batch is the 0-based batch index within the epoch.
     * params is the model's flat buffer (back-end memory). May be NULL. */
    void (*after_step)(void *user, int epoch, int batch, ft_model_t *m);
    /* After each epoch. May be NULL. */
    void (*after_epoch)(void *user, int epoch, ft_model_t *m);
    /* Adds to the gradient before the step (e.g. a proximal term). May be NULL. */
    void (*before_step)(void *user, ft_model_t *m);
    void *user; /* passed to every hook */
} ft_train_hooks_t;

typedef struct {
    int epochs;            /* passes over the data */
    int batch_size;        /* samples per step */
    float lr;              /* learning rate */
    float momentum;        /* SGD momentum */
    float weight_decay;    /* SGD weight decay */
    double clip_grad_norm; /* > 0: ft_train_clip_grad_norm before each step (and before
                              the before_step hook); 0: off */
    ft_augment_t augment;  /* per-sample augmentation ({0}: none) */
    ft_rng_t *augment_rng; /* the stream augment draws from (advanced; the caller keys
                              it (seed, round, client, FT_RNG_AUGMENT)); may be NULL
                              when augment.mode is none */
} ft_train_opts_t;

/* torch.nn.utils.clip_grad_norm_ (PyTorch 1.13, torch/nn/utils/clip_grad.py:
 * clip_coef = max_norm / (total_norm + 1e-6), clamped to at most 1, grads *= it) over
 * the model's whole flat gradient: scales it by max_norm / (norm + 1e-6) when that
 * is below 1, i.e. when norm > max_norm - 1e-6, and leaves it unchanged otherwise.
 * Returns the L2 norm before clipping (NaN passes through: a NaN norm clips
 * nothing, as comparisons with NaN are false). */
double ft_train_clip_grad_norm(ft_model_t *m, double max_norm);

/* What every honest client trains with (and FLTrust's server on its root set):
 * federation.local_epochs, batch_size, momentum, weight_decay, clip_grad_norm, data.augment and
 * augment_pad. lr is 0 and augment_rng NULL: the round's rate and stream are the
 * caller's to set. */
ft_train_opts_t ft_train_opts_honest(const ft_experiment_t *exp);

typedef struct {
    double mean_loss; /* mean of per-batch losses over the last epoch */
    uint64_t samples; /* samples processed in total */
    double seconds;   /* wall time */
} ft_train_result_t;

/* Called after each epoch by ft_train_run for progress output. May be NULL. */
typedef void (*ft_train_progress_fn)(void *user, int epoch, double epoch_loss, double seconds);

typedef struct ft_trainer ft_trainer_t;

/* A trainer owns the batch staging buffers and the optimizer for m. NULL on OOM. */
ft_trainer_t *ft_trainer_new(ft_model_t *m, int max_batch);
void ft_trainer_destroy(ft_trainer_t **t_p);
ft_sgd_t *ft_trainer_sgd(ft_trainer_t *t);
/* Loss of the last batch, and the mean batch loss of the current epoch so far
 * (for progress output from an after_step hook). */
float ft_trainer_last_loss(const ft_trainer_t *t);
double ft_trainer_epoch_loss(const ft_trainer_t *t);

/* Runs opts->epochs epochs over samples idx[0..n) of ds (idx NULL: all samples).
 * Minibatch order comes from shuffle_rng (one fresh permutation of idx per epoch,
 * as PyTorch's RandomSampler draws one per epoch). The optimizer takes
 * opts->momentum/weight_decay and is reset first when fresh_optimizer is nonzero.
 * Batches are gathered into a host buffer (ft_dataset_gather), augmented there as
 * opts->augment says (drawing from opts->augment_rng) and uploaded to the model's
 * back end. hooks may be NULL. Returns FT_OK, FT_ENOMEM, or FT_EINVAL for a batch
 * size above the trainer's max_batch, a sample shape the model does not take or an
 * augmentation the samples cannot take (message says which). */
int ft_train_run(ft_trainer_t *t, const ft_dataset_t *ds, const uint32_t *idx, uint32_t n,
                 const ft_train_opts_t *opts, ft_rng_t *shuffle_rng, int fresh_optimizer,
                 const ft_train_hooks_t *hooks, ft_train_progress_fn progress, void *progress_user,
                 ft_train_result_t *result);

#endif
