/* iba: Nguyen et al., "IBA: Towards Irreversible Backdoor Attacks in Federated
 * Learning", NeurIPS 2023 (§3, Algorithm 1): the trigger is not a patch but the output
 * of a small generator network T_xi, trained jointly with the attack, that adds an
 * imperceptible bounded perturbation to each image:
 *
 *   x' = clamp(x + eps T_xi(x), 0, 1),   T_xi(x) in (-1, 1) (a tanh output),
 *
 * in pixel units ([0, 1]; |x' - x| <= iba_eps per pixel). As BackFed ports it
 * (thinh-dao/BackFed backfed/poisons/iba.py:43-115; the authors' generator training is
 * sail-research/iba fl_trainer.py:368-395, _train_attack_model), each attack round:
 *
 *   1. the generator is trained against the round's global model f, frozen and in eval
 *      mode (iba.py:63-66): for each batch of the attacker's partition,
 *        xi <- Adam step on CE(f(norm(x')), target), lr iba_lr (iba.py:70-103);
 *      at most iba_epochs epochs, stopping after the first whose share of x' the
 *      model (before each step) calls target reaches 0.7 (threshold_asr,
 *      iba.py:69-74, 105-108);
 *   2. the local model is trained on D_adv = the clean points + poison_points copies
 *      of its partition's images outside the target class, each perturbed by the
 *      generator, labelled target: the trigger family's mixture (the authors' per-batch
 *      alpha CE(clean) + (1 - alpha) CE(poisoned) with attack_alpha 0.5,
 *      fl_trainer.py:436-455, is this mixture with as many poisoned as clean).
 *
 * The generator's weights are the attack's state (as A3FL's trigger): the attacker
 * returns them, the coordinator keeps them for the next attacker and measures the
 * backdoor with them (every test image outside the target class perturbed, labelled
 * target). The first attack round starts from a generator drawn from run.seed (stream
 * FT_RNG_ATTACK, client UINT32_MAX: every process draws the same one).
 *
 * The generator is the engine's mlp (model/): flatten, linear C·H·W -> iba_hidden,
 * ReLU, linear -> C·H·W, then tanh (applied here, with its derivative 1 - tanh^2); its
 * gradient comes from ft_model_backward_output, the classifier's input gradient from
 * ft_model_backward_output of the classifier.
 *
 * Where fedtail differs from the code, and why (docs/attacks.md):
 *   - the reference's generators are convolutional autoencoders with batch norm
 *     (attack_models/autoencoders.py MNISTAutoencoder, unet.py): fedtail's engine has
 *     no transposed convolution or batch norm, so the generator is a one-hidden-layer
 *     autoencoder with the same tanh output and bound;
 *   - the authors' code also decays eps over the poisoning phase and alternates
 *     generator retraining; here, as BackFed, one eps and a generator update in every
 *     attack round. */
#include "ft_attack_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define IBA_THRESHOLD 0.7 /* threshold_asr, iba.py:69 */
#define IBA_BETA1     0.9 /* torch.optim.Adam defaults */
#define IBA_BETA2     0.999
#define IBA_ADAM_EPS  1e-8

/* ---- the perturbation ----------------------------------------------------------------- */

void ft_attack_iba_perturb(const float *x, const float *o, size_t n, double eps, float *xp)
{
    for (size_t j = 0; j < n; j++) {
        double v = x[j] + eps * tanh((double)o[j]);
        xp[j] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
}

void ft_attack_iba_perturb_backward(const float *x, const float *o, size_t n, double eps,
                                    const float *dxp, float *dout)
{
    for (size_t j = 0; j < n; j++) {
        double t = tanh((double)o[j]), v = x[j] + eps * t;
        /* torch.clamp passes the gradient where min <= v <= max */
        dout[j] = v < 0 || v > 1 ? 0.0f : (float)(dxp[j] * eps * (1 - t * t));
    }
}

void ft_attack_adam_step(size_t n, float *p, const float *g, float *m, float *v, int t, double lr)
{
    double b1t = 1 - pow(IBA_BETA1, t), b2t = 1 - pow(IBA_BETA2, t);
    for (size_t j = 0; j < n; j++) {
        m[j] = (float)(IBA_BETA1 * m[j] + (1 - IBA_BETA1) * g[j]);
        v[j] = (float)(IBA_BETA2 * v[j] + (1 - IBA_BETA2) * (double)g[j] * g[j]);
        /* torch: p -= lr m_hat / (sqrt(v) / sqrt(b2t) + eps) */
        double denom = sqrt((double)v[j]) / sqrt(b2t) + IBA_ADAM_EPS;
        p[j] = (float)(p[j] - lr / b1t * m[j] / denom);
    }
}

/* ---- the generator ---------------------------------------------------------------------- */

int ft_attack_iba_generator_new(const ft_attack_cfg_t *p, int c, int h, int w, int max_batch,
                                const ft_ops_t *ops, ft_model_t **out)
{
    char hidden[32];
    snprintf(hidden, sizeof hidden, "%d", p->iba_hidden);
    return ft_model_new("mlp", hidden, c, h, w, c * h * w, max_batch, ops, out);
}

static size_t state_floats(const ft_attack_env_t *env)
{
    size_t S = (size_t)env->c * (size_t)env->h * (size_t)env->w, H = (size_t)env->p.iba_hidden;
    return S * H + H + H * S + S; /* fc1 weight, bias; fc2 weight, bias */
}

/* The generator's weights of state, or (NULL) the initial ones drawn from the seed. */
static void generator_load(const ft_attack_env_t *env, const float *state, ft_model_t *g)
{
    if (state) {
        ft_model_set_params(g, state);
        return;
    }
    ft_rng_t rng;
    ft_rng_init(&rng, env->seed, 0, UINT32_MAX, FT_RNG_ATTACK);
    ft_model_init(g, &rng);
}

/* Perturbs every sample of ds (float storage, pixel units) in place with generator g
 * (host scratch o and x for B samples; device scratch x_dev). */
static void perturb_all(ft_model_t *g, double eps, ft_dataset_t *ds, float *x, float *o,
                        float *x_dev)
{
    const ft_ops_t *ops = ft_model_ops(g);
    size_t S = ft_dataset_sample_size(ds);
    int Bmax = ft_model_max_batch(g);
    for (uint32_t at = 0; at < ds->n; at += (uint32_t)Bmax) {
        int B = ds->n - at < (uint32_t)Bmax ? (int)(ds->n - at) : Bmax;
        float *xs = ds->values + (size_t)at * S;
        ops->upload(x_dev, xs, (size_t)B * S * sizeof(float));
        ops->download(o, ft_model_forward(g, x_dev, B), (size_t)B * S * sizeof(float));
        memcpy(x, xs, (size_t)B * S * sizeof(float));
        ft_attack_iba_perturb(x, o, (size_t)B * S, eps, xs);
    }
}

/* What a stamp needs: the generator and its scratch. */
typedef struct {
    ft_model_t *g;
    float *x, *o, *x_dev;
} stamp_t;

static void stamp_all(const ft_attack_env_t *env, void *user, ft_dataset_t *ds)
{
    stamp_t *s = user;
    perturb_all(s->g, env->p.iba_eps, ds, s->x, s->o, s->x_dev);
}

/* ---- one generator step ------------------------------------------------------------------ */

int ft_attack_iba_step(ft_attack_iba_step_t *s, const float *x, int B)
{
    const ft_ops_t *ops = ft_model_ops(s->gen);
    size_t S = s->S, n = (size_t)B * S, hw = S / (size_t)s->c;
    int K = ft_model_num_classes(s->cls);
    ops->upload(s->x_dev, x, n * sizeof(float));
    ops->download(s->o, ft_model_forward(s->gen, s->x_dev, B), n * sizeof(float));
    ft_attack_iba_perturb(x, s->o, n, s->eps, s->xp);
    for (size_t j = 0; j < n; j++) { /* the classifier's normalisation */
        int ch = (int)((j % S) / hw);
        s->xn[j] = (s->xp[j] - s->mean[ch]) / s->std[ch];
    }
    ops->upload(s->xn_dev, s->xn, n * sizeof(float));
    ops->download(s->logits, ft_model_forward(s->cls, s->xn_dev, B), (size_t)B * K * sizeof(float));
    /* CE(logits, target) over the batch mean, and its gradient */
    double loss = 0;
    int hits = 0;
    for (int i = 0; i < B; i++) {
        float *l = s->logits + (size_t)i * K;
        double mx = l[0], sum = 0;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (l[k] > l[best])
                best = k;
        mx = l[best];
        for (int k = 0; k < K; k++)
            sum += exp(l[k] - mx);
        loss += log(sum) + mx - l[s->target];
        hits += best == s->target;
        for (int k = 0; k < K; k++)
            l[k] = (float)((exp(l[k] - mx) / sum - (k == s->target)) / B);
    }
    ops->upload(s->dl_dev, s->logits, (size_t)B * K * sizeof(float));
    ft_model_backward_output(s->cls, s->dl_dev, B, s->dx_dev);
    ops->download(s->xn, s->dx_dev, n * sizeof(float)); /* d loss / d norm(x') */
    for (size_t j = 0; j < n; j++)
        s->xn[j] /= s->std[(int)((j % S) / hw)];
    ft_attack_iba_perturb_backward(x, s->o, n, s->eps, s->xn, s->xn); /* in place */
    ops->upload(s->dl_gen_dev, s->xn, n * sizeof(float));
    ft_model_backward_output(s->gen, s->dl_gen_dev, B, NULL);
    size_t G = ft_model_num_params(s->gen);
    ops->download(s->grad, ft_model_grads(s->gen), G * sizeof(float));
    ft_model_get_params(s->gen, s->params);
    ft_attack_adam_step(G, s->params, s->grad, s->adam_m, s->adam_v, ++s->t, s->lr);
    ft_model_set_params(s->gen, s->params);
    s->loss = loss / B;
    return hits;
}

void ft_attack_iba_step_free(ft_attack_iba_step_t *s)
{
    const ft_ops_t *ops = s->gen ? ft_model_ops(s->gen) : NULL;
    ft_free(s->o);
    ft_free(s->xp);
    ft_free(s->xn);
    ft_free(s->logits);
    ft_free(s->grad);
    ft_free(s->params);
    ft_free(s->adam_m);
    ft_free(s->adam_v);
    if (ops) {
        ops->free(s->x_dev);
        ops->free(s->xn_dev);
        ops->free(s->dl_dev);
        ops->free(s->dx_dev);
        ops->free(s->dl_gen_dev);
    }
    memset(s, 0, sizeof *s);
}

int ft_attack_iba_step_init(ft_attack_iba_step_t *s, ft_model_t *gen, ft_model_t *cls, int Bmax,
                            const float *mean, const float *std, int target, double eps, double lr)
{
    const ft_ops_t *ops = ft_model_ops(gen);
    int c, h, w;
    ft_model_input_shape(gen, &c, &h, &w);
    memset(s, 0, sizeof *s);
    s->gen = gen, s->cls = cls, s->c = c, s->S = (size_t)c * h * w;
    s->target = target, s->eps = eps, s->lr = lr;
    for (int ch = 0; ch < c && ch < FT_MAX_CHANNELS; ch++)
        s->mean[ch] = mean[ch], s->std[ch] = std[ch];
    size_t n = (size_t)Bmax * s->S, K = (size_t)ft_model_num_classes(cls),
           G = ft_model_num_params(gen);
    s->o = ft_malloc(n * sizeof(float));
    s->xp = ft_malloc(n * sizeof(float));
    s->xn = ft_malloc(n * sizeof(float));
    s->logits = ft_malloc((size_t)Bmax * K * sizeof(float));
    s->grad = ft_malloc(G * sizeof(float));
    s->params = ft_malloc(G * sizeof(float));
    s->adam_m = ft_calloc(G, sizeof(float));
    s->adam_v = ft_calloc(G, sizeof(float));
    s->x_dev = ops->alloc(n * sizeof(float));
    s->xn_dev = ops->alloc(n * sizeof(float));
    s->dl_dev = ops->alloc((size_t)Bmax * K * sizeof(float));
    s->dx_dev = ops->alloc(n * sizeof(float));
    s->dl_gen_dev = ops->alloc(n * sizeof(float));
    if (!s->o || !s->xp || !s->xn || !s->logits || !s->grad || !s->params || !s->adam_m ||
        !s->adam_v || !s->x_dev || !s->xn_dev || !s->dl_dev || !s->dx_dev || !s->dl_gen_dev) {
        ft_attack_iba_step_free(s);
        return ft_error_set(FT_ENOMEM, "iba: out of memory for the generator's training");
    }
    return FT_OK;
}

/* ---- the attack round --------------------------------------------------------------------- */

/* Step 1: the generator trained against the global model on the attacker's partition. */
static int train_generator(ft_attack_ctx_t *c, ft_model_t *g)
{
    const ft_attack_task_t *k = c->task;
    const ft_attack_cfg_t *p = &c->env->p;
    ft_dataset_t *part = NULL, *own = NULL;
    int rc = ft_dataset_subset(k->train, k->part_idx, k->part_n, &part);
    if (rc == FT_OK)
        rc = ft_dataset_to_float(part, &own);
    ft_dataset_destroy(&part);
    if (rc < 0)
        return rc;
    int Bmax = ft_model_max_batch(g);
    ft_attack_iba_step_t s;
    uint32_t *order = ft_malloc(((size_t)own->n + 1) * sizeof *order);
    float *x = ft_malloc((size_t)Bmax * ft_dataset_sample_size(own) * sizeof(float));
    rc = order && x ? ft_attack_iba_step_init(&s, g, c->m, Bmax, own->mean, own->std,
                                              p->target_class, p->iba_eps, p->iba_lr)
                    : ft_error_set(FT_ENOMEM, "iba: out of memory for the generator's training");
    if (rc == FT_OK && own->n == 0)
        rc = ft_error_set(FT_EINVAL, "iba: client %u holds no data", k->client_id);
    if (rc == FT_OK) {
        size_t S = ft_dataset_sample_size(own);
        ft_model_set_params(c->m, k->global);
        ft_model_set_training(c->m, 0);
        ft_rng_t rng;
        ft_rng_init(&rng, c->env->seed, (uint32_t)k->round, k->client_id, FT_RNG_ATTACK);
        for (int e = 0; e < p->iba_epochs; e++) {
            for (uint32_t i = 0; i < own->n; i++)
                order[i] = i;
            ft_rng_shuffle_u32(&rng, order, own->n);
            int hits = 0;
            for (uint32_t at = 0, b = 0; at < own->n; at += (uint32_t)Bmax, b++) {
                int B = own->n - at < (uint32_t)Bmax ? (int)(own->n - at) : Bmax;
                for (int i = 0; i < B; i++) /* pixel units: the generator's input */
                    memcpy(x + (size_t)i * S, own->values + (size_t)order[at + i] * S,
                           S * sizeof(float));
                hits += ft_attack_iba_step(&s, x, B);
                if (k->outer && k->outer->after_step) /* heartbeats */
                    k->outer->after_step(k->outer->user, e, (int)b, c->m);
            }
            if (hits >= IBA_THRESHOLD * own->n)
                break;
        }
        ft_model_set_training(c->m, 1);
        ft_attack_iba_step_free(&s);
    }
    ft_free(order);
    ft_free(x);
    ft_dataset_destroy(&own);
    return rc;
}

static int check(const ft_experiment_t *exp)
{
    if (exp->security.secure_aggregation)
        return ft_config_error(exp->attack.src, "attack.method",
                               "iba cannot run under security.secure_aggregation: the backdoor "
                               "is measured with the attacker's generator, which a masked "
                               "update does not carry");
    if (!strcmp(exp->model.name, "lstm"))
        return ft_config_error(exp->model.src, "model.name",
                               "iba perturbs images: it needs an image model, not lstm");
    return FT_OK;
}

/* The generator of state on ops with its stamp scratch. */
static int stamp_new(const ft_attack_env_t *env, const float *state, const ft_ops_t *ops,
                     int max_batch, stamp_t *s)
{
    memset(s, 0, sizeof *s);
    int rc = ft_attack_iba_generator_new(&env->p, env->c, env->h, env->w, max_batch, ops, &s->g);
    if (rc < 0)
        return rc;
    size_t n = (size_t)max_batch * env->c * env->h * env->w * sizeof(float);
    s->x = ft_malloc(n);
    s->o = ft_malloc(n);
    s->x_dev = ops->alloc(n);
    if (!s->x || !s->o || !s->x_dev)
        return ft_error_set(FT_ENOMEM, "iba: out of memory for the generator");
    generator_load(env, state, s->g);
    ft_model_set_training(s->g, 0);
    return FT_OK;
}

static void stamp_free(stamp_t *s)
{
    if (s->g)
        ft_model_ops(s->g)->free(s->x_dev);
    ft_free(s->x);
    ft_free(s->o);
    ft_model_destroy(&s->g);
}

static int poison(ft_attack_ctx_t *c, ft_dataset_t **out)
{
    const ft_attack_task_t *k = c->task;
    stamp_t st;
    int Bmax = c->m ? c->adv_opts.batch_size : 64;
    if (c->m && Bmax > ft_model_max_batch(c->m))
        Bmax = ft_model_max_batch(c->m);
    /* (ft_attack_dadv asks for D_adv alone: no model, the generator as the state has it) */
    int rc = stamp_new(c->env, k->state, c->m ? c->ops : &ft_ops_cpu, Bmax, &st);
    if (rc == FT_OK && c->m)
        rc = train_generator(c, st.g);
    if (rc == FT_OK)
        rc = ft_attack_trigger_poison(c, stamp_all, &st, 1, out);
    if (rc == FT_OK && k->state_out)
        ft_model_get_params(st.g, k->state_out);
    stamp_free(&st);
    return rc;
}

static int backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test, const float *state,
                         ft_dataset_t **out)
{
    *out = NULL;
    stamp_t st;
    int rc = stamp_new(env, state, &ft_ops_cpu, 64, &st);
    if (rc == FT_OK)
        rc = ft_attack_trigger_test_set(env, test, stamp_all, &st, 1, out);
    stamp_free(&st);
    return rc;
}

const ft_attack_t ft_iba_attack = {
    .name = "iba",
    .cite = "Nguyen et al., NeurIPS 2023 (IBA, Algorithm 1): a trigger generator trained "
            "against the global model adds a bounded imperceptible perturbation",
    .trains = 1,
    .check = check,
    .backdoor_test = backdoor_test,
    .sample_count = ft_attack_trigger_samples,
    .poison = poison,
    .state_floats = state_floats,
};
