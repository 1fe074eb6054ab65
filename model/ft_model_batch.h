/* ft_model_batch: K copies of one sequential network trained in lock step — the
 * clients of a round at once, in one process (docs/gpu.md, "Batched clients").
 *
 * Dimension letters: K clients, N parameters, Bm the rows each client's slot holds
 * (the batch size), S = C×H×W floats per sample. The K parameter vectors are one
 * K×N block (row k: client k, the flat layout of ft_model.h), and so are the
 * gradients. Activations hold K slots of Bm rows. A step is given Bk[k], the rows
 * client k really has (the last batch of an epoch is shorter; 0: the client has no
 * batch this step and is masked out).
 *
 * Two ways to run a step, chosen by the back end:
 *   - per client (CPU back ends, no batched ops): each client with Bk[k] > 0 runs
 *     exactly the single-client calls of ft_model_forward_backward on its Bk[k]
 *     rows, so its loss and gradient are bit-identical to training it alone;
 *   - batched (a back end with ft_ops_t's *_batched ops: CUDA): every layer runs
 *     once for all K clients over Bm rows each (strided-batched GEMMs; parameter-
 *     free layers as one call over K·Bm rows). Rows past Bk[k] must be zero in x
 *     (ft_train_batch pads them so) and get a zero loss gradient, so they add
 *     nothing to any gradient. GEMMs then sum over Bm instead of Bk[k] rows, which
 *     cuBLAS may order differently: docs/gpu.md states the tolerance.
 * Only feed-forward models are supported (lenet5, paper-lenet, vgg9, mlp): the
 * lstm is refused with FT_EUNSUPPORTED and its callers train sequentially. */
#ifndef FT_MODEL_BATCH_H
#define FT_MODEL_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "ft_model.h"

typedef struct ft_model_batch ft_model_batch_t;

/* K copies of training model m's network (same layers, layout and back end) with
 * slots of max_batch rows. m is only read here and may be destroyed afterwards.
 * Parameters start at zero. FT_EUNSUPPORTED for an lstm or an inference model,
 * FT_EINVAL for K < 1 or max_batch < 1, FT_ENOMEM; *out stays NULL on error. */
int ft_model_batch_new(const ft_model_t *m, int K, int max_batch, ft_model_batch_t **out);
void ft_model_batch_destroy(ft_model_batch_t **mb_p);

/* 1 when m's network can be batched (feed-forward, training model), else 0. */
int ft_model_batch_supported(const ft_model_t *m);

/* Back-end bytes one more client of a batch of m's network costs: its rows of the
 * parameter, gradient and momentum blocks (3 N floats) and the activations,
 * softmax and gradient buffers of max_batch rows (what a single model of that batch
 * size holds beyond its N parameters and gradients). An estimate for sizing. */
size_t ft_model_batch_client_bytes(const ft_model_t *m, int max_batch);

/* The K to use where the batch size is left to memory: as many clients as fit
 * three quarters of avail bytes at per_client each (the rest for the convolution
 * workspace, the back end's own use and fragmentation), within 1..cap. */
int ft_model_batch_fit(size_t avail, size_t per_client, int cap);

int ft_model_batch_k(const ft_model_batch_t *mb);
int ft_model_batch_max_batch(const ft_model_batch_t *mb);
size_t ft_model_batch_num_params(const ft_model_batch_t *mb);
/* S: floats per input sample. */
size_t ft_model_batch_sample_size(const ft_model_batch_t *mb);
const ft_ops_t *ft_model_batch_ops(const ft_model_batch_t *mb);
/* 1 when steps run as batched ops (padded rows), 0 when per client. */
int ft_model_batch_padded(const ft_model_batch_t *mb);
/* Back-end bytes held. */
size_t ft_model_batch_memory_bytes(const ft_model_batch_t *mb);

/* The K×N parameter and gradient blocks (back-end memory). */
float *ft_model_batch_params(ft_model_batch_t *mb);
float *ft_model_batch_grads(ft_model_batch_t *mb);
/* Row k of the parameters to/from host memory (N floats). */
void ft_model_batch_set_params(ft_model_batch_t *mb, int k, const float *host /* N */);
void ft_model_batch_get_params(const ft_model_batch_t *mb, int k, float *host /* N */);

/* Client k's dropout stream, as ft_model_set_dropout_stream; its counter advances
 * only in steps where the client takes part. */
void ft_model_batch_set_dropout_stream(ft_model_batch_t *mb, int k, uint64_t seed,
                                       uint64_t counter);
uint64_t ft_model_batch_dropout_counter(const ft_model_batch_t *mb, int k);

/* Forward + softmax cross-entropy + backward for every client with Bk[k] > 0 (Bk:
 * host, K, each 0..max_batch), in training mode: x K×Bm×S and labels K×Bm
 * (back-end memory; in the batched way rows past Bk[k] must be zero and labels
 * there in range). Writes client k's gradient into row k of the gradient block and
 * its mean loss into loss[k] (host, K); a masked client's row and loss are left
 * undefined (never step it). */
void ft_model_batch_forward_backward(ft_model_batch_t *mb, const float *x, const int32_t *labels,
                                     const int *Bk /* K */, float *loss /* K */);

#endif
