/* a3fl: Zhang et al., "A3FL: Adversarially Adaptive Backdoor Attacks to Federated
 * Learning", NeurIPS 2023 (§3.2-3.3, Algorithm 1), as the authors' code does it
 * (hfzhang31/A3FL fl_utils/attacker.py; lines cited below; defaults from
 * main/configs/config.yaml).
 *
 * The trigger is optimised, every attack round, against the global model AND against
 * a copy of it that is trained to unlearn the trigger, so that it stays effective
 * after the honest clients' training has moved the model. Each attack round:
 *
 *   t <- the trigger so far (first round: 0.5 on the mask, attacker.py:29-31), m its
 *        mask: a trigger_size square at (trigger_row, trigger_col), default (2, 2),
 *        every channel; values in normalised pixel units
 *   for it = 0 .. a3fl_iterations - 1                               (attacker.py:107)
 *     if it > 0 (dm_adv_K = 1, one model: attacker.py:110-119):
 *       theta' <- the global model trained a3fl_adv_epochs on the attacker's data with
 *                 the trigger and TRUE labels (SGD lr 0.01, momentum 0.9, weight decay
 *                 5e-4: attacker.py:40-53), the model that unlearns it;
 *       w <- the mean over the conv tensors (weights and biases) of
 *            cos(gradient of theta''s last step, G), G the sum of the global model's
 *            trigger-loss gradients so far (attacker.py:55-63: the global model's
 *            accumulated .grad)
 *     for each batch (x, y) of the attacker's data (a fresh seeded order per pass):
 *       x' = t m + (1 - m) x, labels target                        (attacker.py:126-127)
 *       L = CE(theta_g(x'), target) + lambda w CE(theta'(x'), target)    (:128-140)
 *       t <- clamp(t - a3fl_trigger_lr sign(dL/dt), -2, 2)         (:142-147)
 *
 * then trains as the trigger family does: D_adv = the clean points + poison_points
 * copies of its partition's images outside the target class with t stamped on,
 * labelled target. The trigger is the attack's state: the attacker returns it, the
 * coordinator keeps it for the next attacker and measures the backdoor with it (every
 * test image outside the target class, the trigger stamped, labelled target).
 *
 * Where fedtail differs from the code, and why (docs/attacks.md):
 *   - the reference's G also holds the last step of whichever client its one shared
 *     model object trained last, an artefact of reusing the object; here G starts at 0;
 *   - the reference poisons the first quarter of each batch (bkd_ratio 0.25) with a
 *     label-smoothed (0.001) loss; here D_adv's share is poison_points / |D_adv|, plain
 *     cross-entropy, as every fedtail trigger attack;
 *   - both models run in eval mode during the trigger steps (the reference leaves
 *     theta' in train mode: the same for models without dropout, as lenet5);
 *   - a model with no conv layer weighs theta' by the mean over all its tensors. */
#include "ft_attack_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <math.h>
#include <string.h>

#define A3FL_INIT      0.5f  /* attacker.py:29 */
#define A3FL_CORNER    2     /* attacker.py:31: mask[..., 2:2+size, 2:2+size] */
#define A3FL_CLAMP     2.0f  /* attacker.py:146 */
#define A3FL_ADV_LR    0.01f /* attacker.py:44 */
#define A3FL_ADV_MOM   0.9f
#define A3FL_ADV_DECAY 5e-4f
#define A3FL_COS_EPS   1e-8 /* attacker.py:57 */

static size_t state_floats(const ft_attack_env_t *env)
{
    return (size_t)env->c * (size_t)env->h * (size_t)env->w;
}

void ft_attack_a3fl_mask(const ft_attack_cfg_t *p, int c, int h, int w, float *mask)
{
    int r0 = p->trigger_row >= 0 ? p->trigger_row : A3FL_CORNER;
    int c0 = p->trigger_col >= 0 ? p->trigger_col : A3FL_CORNER;
    size_t hw = (size_t)h * (size_t)w;
    memset(mask, 0, (size_t)c * hw * sizeof *mask);
    for (int ch = 0; ch < c; ch++)
        for (int r = r0; r < r0 + p->trigger_size && r < h; r++)
            for (int col = c0; col < c0 + p->trigger_size && col < w; col++)
                mask[(size_t)ch * hw + (size_t)r * w + col] = 1.0f;
}

static void mask_of(const ft_attack_env_t *env, float *mask)
{
    ft_attack_a3fl_mask(&env->p, env->c, env->h, env->w, mask);
}

/* The trigger of state (NULL: the initial one) into t. */
static void trigger_of(const ft_attack_env_t *env, const float *state, float *t)
{
    size_t S = state_floats(env);
    for (size_t j = 0; j < S; j++)
        t[j] = state ? state[j] : A3FL_INIT;
}

/* What is stamped: the trigger and its mask. */
typedef struct {
    const float *t;
    const float *mask;
} stamp_t;

/* x' = t m + (1 - m) x on every sample of ds (float storage), in normalised units: the
 * stored value is the one ds's normalisation maps to t. */
static void stamp_all(const ft_attack_env_t *env, void *user, ft_dataset_t *ds)
{
    const stamp_t *s = user;
    size_t hw = (size_t)ds->h * (size_t)ds->w, S = ft_dataset_sample_size(ds);
    (void)env;
    for (uint32_t i = 0; i < ds->n; i++)
        for (int ch = 0; ch < ds->c; ch++)
            for (size_t j = 0; j < hw; j++) {
                size_t at = (size_t)ch * hw + j;
                if (s->mask[at] != 0.0f)
                    ds->values[(size_t)i * S + at] = s->t[at] * ds->std[ch] + ds->mean[ch];
            }
}

/* ---- the trigger search ----------------------------------------------------------- */

typedef struct {
    ft_attack_ctx_t *c;
    size_t S, N;
    int B;                 /* batch size of the trigger steps */
    float *t, *mask;       /* S: the trigger, its mask */
    ft_dataset_t *own;     /* the attacker's partition, float storage, true labels */
    ft_dataset_t *unlearn; /* own with the trigger stamped (theta''s training set) */
    float *x, *dx;         /* B×S host batch, its input gradient */
    int32_t *y;            /* B host labels */
    float *x_dev, *dx_dev;
    int32_t *y_dev;
    float *g;         /* S: dL/dt of the batch */
    float *G;         /* N: the global model's trigger-loss gradients, summed */
    float *adv;       /* N: theta' */
    float *adv_grad;  /* N: the gradient of theta''s last training step */
    float *host_grad; /* N scratch */
    double w;         /* theta''s weight */
    int have_adv;     /* theta' exists (passes after the first) */
} search_t;

double ft_attack_a3fl_weight(const ft_layout_t *layout, const float *adv_grad, const float *G)
{
    double sum = 0.0;
    int count = 0, any_conv = 0;
    for (int v = 0; v < layout->num_views; v++)
        if (strstr(layout->views[v].name, "conv"))
            any_conv = 1;
    for (int v = 0; v < layout->num_views; v++) {
        const ft_param_view_t *pv = &layout->views[v];
        if (any_conv && !strstr(pv->name, "conv"))
            continue;
        double ab = 0.0, aa = 0.0, bb = 0.0;
        for (size_t j = pv->offset; j < pv->offset + pv->count; j++) {
            ab += (double)adv_grad[j] * G[j];
            aa += (double)adv_grad[j] * adv_grad[j];
            bb += (double)G[j] * G[j];
        }
        sum += ab / fmax(sqrt(aa) * sqrt(bb), A3FL_COS_EPS);
        count++;
    }
    return count ? sum / count : 0.0;
}

/* theta': the global model trained to unlearn the trigger; its weight w. */
static int build_adv(search_t *s)
{
    ft_attack_ctx_t *c = s->c;
    const ft_attack_cfg_t *p = &c->env->p;
    stamp_t st = {s->t, s->mask};
    memcpy(s->unlearn->values, s->own->values, (size_t)s->own->n * s->S * sizeof(float));
    stamp_all(c->env, &st, s->unlearn);
    ft_train_opts_t o = c->adv_opts;
    o.epochs = p->a3fl_adv_epochs;
    o.lr = A3FL_ADV_LR, o.momentum = A3FL_ADV_MOM, o.weight_decay = A3FL_ADV_DECAY;
    o.augment.mode = FT_AUGMENT_NONE;
    ft_model_set_training(c->m, 1);
    int rc = ft_attack_train_delta(c, s->unlearn, NULL, s->unlearn->n, &o, NULL, s->adv, NULL);
    if (rc < 0)
        return rc;
    for (size_t j = 0; j < s->N; j++)
        s->adv[j] += c->task->global[j];
    c->ops->download(s->adv_grad, ft_model_grads(c->m), s->N * sizeof(float));
    s->w = ft_attack_a3fl_weight(ft_model_layout(c->m), s->adv_grad, s->G);
    s->have_adv = 1;
    return FT_OK;
}

/* dL/dx' of the batch on the model with parameters params, masked and summed over the
 * batch into g with factor k. */
static void add_trigger_grad(search_t *s, const float *params, int B, double k, int is_global)
{
    ft_attack_ctx_t *c = s->c;
    ft_model_set_params(c->m, params);
    ft_model_forward_backward_input(c->m, s->x_dev, s->y_dev, B, s->dx_dev);
    c->ops->download(s->dx, s->dx_dev, (size_t)B * s->S * sizeof(float));
    for (int i = 0; i < B; i++)
        for (size_t j = 0; j < s->S; j++)
            s->g[j] += (float)(k * s->mask[j] * s->dx[(size_t)i * s->S + j]);
    if (is_global) {
        c->ops->download(s->host_grad, ft_model_grads(c->m), s->N * sizeof(float));
        for (size_t j = 0; j < s->N; j++)
            s->G[j] += s->host_grad[j];
    }
}

/* One sign step of the trigger on batch idx[0..B). */
static void trigger_step(search_t *s, const uint32_t *idx, int B)
{
    ft_attack_ctx_t *c = s->c;
    const ft_attack_cfg_t *p = &c->env->p;
    ft_dataset_gather(s->own, idx, B, s->x, s->y);
    for (int i = 0; i < B; i++) {
        s->y[i] = p->target_class;
        for (size_t j = 0; j < s->S; j++)
            if (s->mask[j] != 0.0f)
                s->x[(size_t)i * s->S + j] = s->t[j];
    }
    c->ops->upload(s->x_dev, s->x, (size_t)B * s->S * sizeof(float));
    c->ops->upload(s->y_dev, s->y, (size_t)B * sizeof(int32_t));
    memset(s->g, 0, s->S * sizeof(float));
    ft_model_set_training(c->m, 0);
    add_trigger_grad(s, c->task->global, B, 1.0, 1);
    if (s->have_adv)
        add_trigger_grad(s, s->adv, B, p->a3fl_lambda * s->w, 0);
    float a = (float)p->a3fl_trigger_lr;
    for (size_t j = 0; j < s->S; j++) {
        float step = s->g[j] > 0 ? a : s->g[j] < 0 ? -a : 0.0f;
        float v = s->t[j] - step;
        s->t[j] = v < -A3FL_CLAMP ? -A3FL_CLAMP : v > A3FL_CLAMP ? A3FL_CLAMP : v;
    }
}

static int search(search_t *s)
{
    ft_attack_ctx_t *c = s->c;
    const ft_attack_task_t *k = c->task;
    const ft_attack_cfg_t *p = &c->env->p;
    uint32_t n = s->own->n;
    uint32_t *order = ft_malloc((size_t)n * sizeof *order);
    if (!order)
        return ft_error_set(FT_ENOMEM, "a3fl: out of memory for the trigger search");
    ft_rng_t rng;
    ft_rng_init(&rng, c->env->seed, (uint32_t)k->round, k->client_id, FT_RNG_ATTACK);
    int rc = FT_OK;
    for (int it = 0; it < p->a3fl_iterations && rc == FT_OK; it++) {
        if (it > 0 && p->a3fl_adv_epochs > 0 && (rc = build_adv(s)) < 0)
            break;
        for (uint32_t i = 0; i < n; i++)
            order[i] = i;
        ft_rng_shuffle_u32(&rng, order, n);
        for (uint32_t at = 0, b = 0; at < n; at += (uint32_t)s->B, b++) {
            int B = n - at < (uint32_t)s->B ? (int)(n - at) : s->B;
            trigger_step(s, order + at, B);
            if (k->outer && k->outer->after_step) /* heartbeats through a long search */
                k->outer->after_step(k->outer->user, it, (int)b, c->m);
        }
    }
    ft_free(order);
    ft_model_set_training(c->m, 1);
    return rc;
}

static void search_free(search_t *s)
{
    const ft_ops_t *ops = s->c->ops;
    ft_free(s->t);
    ft_free(s->mask);
    ft_dataset_destroy(&s->own);
    ft_dataset_destroy(&s->unlearn);
    ft_free(s->x);
    ft_free(s->dx);
    ft_free(s->y);
    ops->free(s->x_dev);
    ops->free(s->dx_dev);
    ops->free(s->y_dev);
    ft_free(s->g);
    ft_free(s->G);
    ft_free(s->adv);
    ft_free(s->adv_grad);
    ft_free(s->host_grad);
}

static int trigger_search(ft_attack_ctx_t *c, float *trigger /* S */)
{
    const ft_attack_task_t *k = c->task;
    search_t s = {.c = c, .S = state_floats(c->env), .N = c->N};
    int rc = FT_OK;
    s.B = c->adv_opts.batch_size;
    if (s.B > ft_model_max_batch(c->m))
        s.B = ft_model_max_batch(c->m);
    ft_dataset_t *part = NULL;
    if ((rc = ft_dataset_subset(k->train, k->part_idx, k->part_n, &part)) < 0)
        return rc;
    rc = ft_dataset_to_float(part, &s.own);
    if (rc == FT_OK)
        rc = ft_dataset_to_float(part, &s.unlearn);
    ft_dataset_destroy(&part);
    size_t xb = (size_t)s.B * s.S * sizeof(float), nb = s.N * sizeof(float);
    s.t = ft_malloc(s.S * sizeof(float));
    s.mask = ft_malloc(s.S * sizeof(float));
    s.g = ft_malloc(s.S * sizeof(float));
    s.x = ft_malloc(xb);
    s.dx = ft_malloc(xb);
    s.y = ft_malloc((size_t)s.B * sizeof(int32_t));
    s.x_dev = c->ops->alloc(xb);
    s.dx_dev = c->ops->alloc(xb);
    s.y_dev = c->ops->alloc((size_t)s.B * sizeof(int32_t));
    s.G = ft_calloc(s.N, sizeof(float));
    s.adv = ft_malloc(nb);
    s.adv_grad = ft_malloc(nb);
    s.host_grad = ft_malloc(nb);
    if (rc == FT_OK && (!s.t || !s.mask || !s.g || !s.x || !s.dx || !s.y || !s.x_dev || !s.dx_dev ||
                        !s.y_dev || !s.G || !s.adv || !s.adv_grad || !s.host_grad))
        rc = ft_error_set(FT_ENOMEM, "a3fl: out of memory for the trigger search");
    if (rc == FT_OK && s.own->n == 0)
        rc = ft_error_set(FT_EINVAL, "a3fl: client %u holds no data", k->client_id);
    if (rc == FT_OK) {
        trigger_of(c->env, k->state, s.t);
        mask_of(c->env, s.mask);
        rc = search(&s);
    }
    if (rc == FT_OK)
        memcpy(trigger, s.t, s.S * sizeof(float));
    search_free(&s);
    return rc;
}

/* ---- the plug-in ------------------------------------------------------------------- */

static int check(const ft_experiment_t *exp)
{
    if (exp->security.secure_aggregation)
        return ft_config_error(exp->attack.src, "attack.method",
                               "a3fl cannot run under security.secure_aggregation: the backdoor "
                               "is measured with the attacker's trigger, which a masked update "
                               "does not carry");
    return FT_OK;
}

static int poison(ft_attack_ctx_t *c, ft_dataset_t **out)
{
    size_t S = state_floats(c->env);
    float *t = ft_malloc(S * sizeof *t), *mask = ft_malloc(S * sizeof *mask);
    int rc = t && mask ? FT_OK : ft_error_set(FT_ENOMEM, "a3fl: out of memory for the trigger");
    if (rc == FT_OK)
        rc = trigger_search(c, t);
    if (rc == FT_OK) {
        mask_of(c->env, mask);
        stamp_t st = {t, mask};
        rc = ft_attack_trigger_poison(c, stamp_all, &st, 1, out);
    }
    if (rc == FT_OK && c->task->state_out)
        memcpy(c->task->state_out, t, S * sizeof *t);
    ft_free(t);
    ft_free(mask);
    return rc;
}

static int backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test, const float *state,
                         ft_dataset_t **out)
{
    *out = NULL;
    size_t S = state_floats(env);
    float *t = ft_malloc(S * sizeof *t), *mask = ft_malloc(S * sizeof *mask);
    int rc = t && mask ? FT_OK : ft_error_set(FT_ENOMEM, "a3fl: out of memory for the trigger");
    if (rc == FT_OK) {
        trigger_of(env, state, t);
        mask_of(env, mask);
        stamp_t st = {t, mask};
        rc = ft_attack_trigger_test_set(env, test, stamp_all, &st, 1, out);
    }
    ft_free(t);
    ft_free(mask);
    return rc;
}

const ft_attack_t ft_a3fl_attack = {
    .name = "a3fl",
    .cite = "Zhang et al., NeurIPS 2023 (A3FL, Algorithm 1): a trigger optimised against the "
            "global model and a copy of it trained to unlearn the trigger",
    .trains = 1,
    .check = check,
    .backdoor_test = backdoor_test,
    .sample_count = ft_attack_trigger_samples,
    .poison = poison,
    .state_floats = state_floats,
};
