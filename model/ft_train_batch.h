/* ft_train_batch: K clients' local training at once — the loop of ft_train_run run
 * in lock step over a batch of K models (ft_model_batch.h).
 *
 * Each client keeps everything it has when it trains alone with ft_train_run and a
 * fresh optimizer: its own samples, shuffle stream (one permutation per epoch),
 * augmentation stream (one draw per sample in visiting order), dropout stream and
 * momentum buffer (row k of one K×N block, zero at the start). Step s of the batch
 * is step s of every client that has one; a client whose batches are exhausted is
 * masked out (its parameters and momentum stay as they are) while the others go
 * on, as FedJAX pads a round's clients (Ro, Suresh, Wu, "FedJAX: Federated
 * learning simulation with JAX", arXiv:2108.02117, 2021: client datasets padded to
 * one batch shape with a per-example mask, fedjax/core/client_datasets.py
 * padded_batch; its for_each_client runs a round's clients in one jitted step).
 * Here padding is per example within a step (the short last batch) and per client
 * across steps (the mask). So on a back end without batched ops each
 * client's result is bit-identical to ft_train_run's (tests/test_train_batch.c); on
 * CUDA within the tolerance docs/gpu.md states. Hooks other than a per-step tick
 * are not offered: attacks (which constrain steps) train one by one. */
#ifndef FT_TRAIN_BATCH_H
#define FT_TRAIN_BATCH_H

#include "ft_model_batch.h"
#include "ft_train.h"

/* One client of the batch. */
typedef struct {
    const ft_dataset_t *ds; /* its samples' data set */
    const uint32_t *idx;    /* n sample indices into ds (NULL: all of ds) */
    uint32_t n;             /* samples (ignored when idx is NULL) */
    float lr;               /* learning rate */
    ft_rng_t *shuffle_rng;  /* minibatch order (advanced) */
    ft_rng_t *augment_rng;  /* augmentation draws (advanced); NULL without augmentation */
    uint64_t dropout_seed;  /* its dropout stream; the counter starts at 0 */
    const float *start;     /* N host: the parameters it starts from */
} ft_train_batch_task_t;

typedef struct ft_train_batch ft_train_batch_t;

/* Staging buffers and the K×N momentum block for mb (not owned; must outlive the
 * result). NULL on OOM. */
ft_train_batch_t *ft_train_batch_new(ft_model_batch_t *mb);
void ft_train_batch_destroy(ft_train_batch_t **tb_p);

/* Trains tasks[0..K) (K <= ft_model_batch_k) for opts->epochs epochs of
 * opts->batch_size (opts->lr is ignored: each task has its own), momentum and
 * weight decay as opts says. tick (may be NULL) runs after every batched step.
 * Writes client k's final parameters to out[k] (N host floats) and its result to
 * res[k] (mean batch loss of its last epoch, samples processed; seconds: the
 * batch's wall time). FT_EINVAL for a batch size above the batch's rows, a sample
 * shape the model does not take or an augmentation the samples cannot take (the
 * message names the task); FT_ENOMEM. On error the outputs are undefined. */
int ft_train_batch_run(ft_train_batch_t *tb, const ft_train_batch_task_t *tasks, int K,
                       const ft_train_opts_t *opts, void (*tick)(void *user), void *user,
                       float *const *out /* K × N */, ft_train_result_t *res /* K */);

#endif
