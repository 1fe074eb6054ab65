/* ft_sgd: SGD with momentum and weight decay, PyTorch semantics (torch.optim.SGD,
 * dampening 0, no Nesterov): g = grad + wd * p; buf = momentum * buf + g; p -= lr * buf.
 * The momentum buffer is one flat length-N vector. */
#ifndef FT_SGD_H
#define FT_SGD_H

#include "ft_model.h"

typedef struct ft_sgd ft_sgd_t;

/* Optimizer for m's parameters. NULL on OOM. */
ft_sgd_t *ft_sgd_new(ft_model_t *m, float momentum, float weight_decay);
void ft_sgd_destroy(ft_sgd_t **sgd_p);
/* Forgets the momentum (a fresh optimizer, as the paper code makes each round). */
void ft_sgd_reset(ft_sgd_t *sgd);
/* Changes momentum and weight decay (the momentum buffer is kept). */
void ft_sgd_set(ft_sgd_t *sgd, float momentum, float weight_decay);
/* The momentum buffer, N floats in back-end memory (for checkpoints). */
float *ft_sgd_momentum_buffer(ft_sgd_t *sgd);
/* One step with learning rate lr using the model's current gradients. */
void ft_sgd_step(ft_sgd_t *sgd, float lr);

#endif
