/* ft_sgd: SGD with momentum and weight decay with torch.optim.SGD's semantics
 * (dampening 0, no Nesterov), one flat momentum buffer over the whole model. The
 * arithmetic is the back end's sgd_step, so it runs where the parameters live. */
#include "ft_sgd.h"

#include "ft_alloc.h"

#include <assert.h>

struct ft_sgd {
    ft_model_t *model;   /* optimised model (not owned) */
    float *momentum_buf; /* N floats (back end), zero after new/reset */
    float momentum;      /* momentum factor */
    float weight_decay;  /* L2 weight decay */
};

ft_sgd_t *ft_sgd_new(ft_model_t *m, float momentum, float weight_decay)
{
    ft_sgd_t *sgd = ft_calloc(1, sizeof *sgd);
    if (!sgd)
        return NULL;
    sgd->model = m;
    sgd->momentum = momentum;
    sgd->weight_decay = weight_decay;
    sgd->momentum_buf = ft_model_ops(m)->alloc(ft_model_num_params(m) * sizeof(float));
    if (!sgd->momentum_buf) {
        ft_free(sgd);
        return NULL;
    }
    return sgd;
}

void ft_sgd_destroy(ft_sgd_t **sgd_p)
{
    if (!sgd_p || !*sgd_p)
        return;
    ft_sgd_t *sgd = *sgd_p;
    ft_model_ops(sgd->model)->free(sgd->momentum_buf);
    ft_free(sgd);
    *sgd_p = NULL;
}

void ft_sgd_reset(ft_sgd_t *sgd)
{
    ft_model_ops(sgd->model)
        ->zero(sgd->momentum_buf, ft_model_num_params(sgd->model) * sizeof(float));
}

void ft_sgd_set(ft_sgd_t *sgd, float momentum, float weight_decay)
{
    sgd->momentum = momentum;
    sgd->weight_decay = weight_decay;
}

float *ft_sgd_momentum_buffer(ft_sgd_t *sgd)
{
    return sgd->momentum_buf;
}

void ft_sgd_step(ft_sgd_t *sgd, float lr)
{
    /* PyTorch initialises buf to g on the first step; buf starting at zero gives the
     * same value: 0 * momentum + g. */
    ft_model_t *m = sgd->model;
    ft_model_ops(m)->sgd_step(ft_model_num_params(m), ft_model_params(m), ft_model_grads(m),
                              sgd->momentum_buf, lr, sgd->momentum, sgd->weight_decay);
}
