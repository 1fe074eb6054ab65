/* neurotoxin: Zhang et al., "Neurotoxin: Durable Backdoors in Federated Learning",
 * ICML 2022, Alg. 1 — the attacker trains only the coordinates the benign clients
 * barely move, so that later honest rounds do not overwrite its backdoor: with the
 * benign gradient g, the top-(1 - ratio) coordinates by |g| are excluded and every
 * step's gradient is multiplied by the mask of the others; PGD's projection follows
 * each step (the paper's Alg. 1 keeps the attacker in the norm ball).
 *
 * Which benign gradient: the paper's text approximates the benign update by the last
 * global update; its official code (jhcknzzm/Federated-Learning-Backdoor,
 * FL_Backdoor_CV/train_funcs.py:97-103) takes the gradient of the round's global model
 * summed over clean data (helper.py:147-162 grad_mask_cv), keeps the int(N * ratio)
 * coordinates with the smallest |g| over the whole flat vector (helper.py:165-179,
 * aggregate_all_layer = 1: torch.topk(-|g|, int(N * ratio))) and multiplies every
 * gradient by that mask before the optimizer step (train_funcs.py:412-413,
 * apply_grad_mask:627-631). fedtail follows the code, on the attacker's own clean
 * points: it needs nothing across rounds, so the attacker knows only the round's
 * global model and its own data. Ties in |g| keep the lower index (topk leaves them
 * unspecified).
 *
 * The mask is also an option on top of every other training attack (attack.grad_mask:
 * pixel-trigger or dba data, blackbox's edge data), installed by the driver. */
#include "ft_attack_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

size_t ft_attack_neurotoxin_mask(size_t N, const float *g, double ratio, float *mask,
                                 uint64_t *order)
{
    assert(ratio > 0 && ratio <= 1 && N < UINT32_MAX);
    size_t k = (size_t)((double)N * ratio);
    /* key = the IEEE bits of |g_j| (ordered like the values for |g| >= 0; NaN last) above
     * the index: one integer sort ranks by |g|, ties by the lower index */
    for (size_t j = 0; j < N; j++) {
        float a = fabsf(g[j]);
        uint32_t bits;
        memcpy(&bits, &a, sizeof bits);
        order[j] = (uint64_t)bits << 32 | (uint64_t)j;
        mask[j] = 0;
    }
    qsort(order, N, sizeof *order, cmp_u64);
    for (size_t r = 0; r < k; r++)
        mask[order[r] & 0xffffffffu] = 1;
    return k;
}

/* The gradient pass: sums every batch's gradient, then zeroes it (lr is 0 anyway). */
static void accumulate(void *user, ft_model_t *m)
{
    ft_attack_ctx_t *c = user;
    c->ops->axpy(c->N, 1.0f, ft_model_grads(m), c->mask_dev);
    c->ops->zero(ft_model_grads(m), c->N * sizeof(float));
}

/* Every step of the attack's training: the plug-in's own before_step (prox), then
 * grad <- grad * mask. */
static void mask_before_step(void *user, ft_model_t *m)
{
    ft_attack_ctx_t *c = user;
    if (c->mask_prev)
        c->mask_prev(user, m);
    float *g = ft_model_grads(m);
    c->ops->dropout_backward(c->N, g, c->mask_dev, c->tmp_dev);
    c->ops->copy(g, c->tmp_dev, c->N * sizeof(float));
}

int ft_attack_mask_prepare(ft_attack_ctx_t *c, ft_train_hooks_t *hooks)
{
    const ft_attack_task_t *k = c->task;
    size_t N = c->N;
    float *g = ft_malloc(N * sizeof *g), *mask = ft_malloc(N * sizeof *mask);
    uint64_t *order = ft_malloc(N * sizeof *order);
    int rc = FT_OK;
    c->mask_dev = c->ops->alloc(N * sizeof(float));
    if (!g || !mask || !order || !c->mask_dev) {
        rc = ft_error_set(FT_ENOMEM, "neurotoxin: out of memory for the mask");
        goto done;
    }
    /* The benign gradient at the global model over the attacker's clean points (its
     * partition if it mixes in none): one pass, lr 0, no momentum or decay. It runs
     * without the client's heartbeat hooks (one forward-backward pass over those
     * samples, short beside the training it precedes), so that the steps the client
     * sees are the attack's training alone. */
    ft_train_opts_t o = k->opts;
    o.epochs = 1;
    o.lr = 0;
    o.momentum = 0;
    o.weight_decay = 0;
    const ft_train_hooks_t acc = {.before_step = accumulate, .user = c};
    ft_model_set_params(c->m, k->global);
    ft_rng_t rng;
    ft_rng_init(&rng, c->env->seed, (uint32_t)k->round, k->client_id, FT_RNG_ATTACK);
    ft_train_result_t tr;
    const uint32_t *idx = c->clean_n ? c->clean_idx : k->part_idx;
    uint32_t n = c->clean_n ? c->clean_n : k->part_n;
    if ((rc = ft_train_run(c->t, k->train, idx, n, &o, &rng, 1, &acc, NULL, NULL, &tr)) < 0)
        goto done;
    c->ops->download(g, c->mask_dev, N * sizeof(float));
    ft_attack_neurotoxin_mask(N, g, c->env->p.neurotoxin_ratio, mask, order);
    c->ops->upload(c->mask_dev, mask, N * sizeof(float));
    c->mask_prev = hooks->before_step;
    hooks->before_step = mask_before_step;
done:
    ft_free(g);
    ft_free(mask);
    ft_free(order);
    return rc;
}

const ft_attack_t ft_neurotoxin_attack = {
    .name = "neurotoxin",
    .cite = "Zhang et al. ICML 2022, Alg. 1: PGD on the edge-case data with the gradient masked "
            "to the coordinates smallest in the benign gradient",
    .uses_edge_set = 1,
    .trains = 1,
    .grad_mask = 1,
    .check = ft_attack_pgd_check,
    .backdoor_test = ft_attack_edge_backdoor_test,
    .sample_count = ft_attack_edge_samples,
    .poison = ft_attack_edge_poison,
    .constrain = ft_attack_pgd_constrain,
};
