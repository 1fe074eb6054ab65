/* chameleon: Dai & Li, "Chameleon: Adapting to Peer Images for Planting Durable
 * Backdoors in Federated Learning", ICML 2023 (§4, Algorithm 1), as the authors' code
 * does it (ybdai7/Chameleon-durable-backdoor training.py:108-282 and :300-420, the
 * loss utils/losses.py:12-109; defaults from utils/params_pixel_trigger_emnist.yaml,
 * the (E)MNIST pixel-trigger configuration).
 *
 * A trigger attack (D_adv = the clean points + poison_points copies of the partition's
 * images outside the target class with the pixel-trigger stamp of attack.trigger_shape,
 * labelled target: the pixel-trigger family) whose local training has two stages:
 *
 *   1. the encoder (every layer before the classifier; the features are the
 *      classifier's input, L2-normalised as SupConResNet's forward does,
 *      models/resnet.py:142) is trained from the global model with a supervised
 *      contrastive loss on D_adv (training.py:230-235): the poisoned images, labelled
 *      target, are pulled towards the target class's clean images and pushed away
 *      from the other classes' — for anchor i and the batch's other samples j,
 *        z_ij = f_i . f_j / T,  log p_ij = z_ij - log sum_{k != i} exp z_ik,
 *        loss_i = -(1/|P(i)|) sum_{j in P(i)} s_i log p_ij   (losses.py:76-107)
 *      P(i) the other samples of i's label, s_i = chameleon_scale when i's label is
 *      the target (mask_scale, losses.py:54-55: the target class's anchors weigh
 *      more), else 1; loss_i = 0 when P(i) is empty (losses.py:98-102); the loss is
 *      the batch mean. SGD lr chameleon_lr, momentum 0.9, weight decay 5e-4
 *      (momentum_contrastive, decay_contrastive), chameleon_epochs epochs, the rate
 *      times 0.005 at each of epochs 3, 5, 7, 9 (milestones_conrtastive,
 *      lr_gamma_contrastive, a MultiStepLR stepped before each epoch: :137-140);
 *   2. the classifier alone is trained on D_adv with cross-entropy, the encoder frozen
 *      (is_frozen_params, training.py:304-308): the attacker's usual training
 *      (attack.adv_lr, adv_epochs: the reference's poison_lr 0.01 for 3 epochs) from
 *      the stage-1 model, every step undoing the optimiser's change of the encoder.
 * After every step of either stage the model is projected onto the ball of radius
 * chameleon_norm around the global model, w <- w_g + (w - w_g) min(1, r / |w - w_g|),
 * every tensor (the frozen encoder too: the reference rescales .data of every layer),
 * as the reference does with diff_privacy(_contrastive) on (training.py:255-270 and
 * :507-524, s_norm = 5); chameleon_norm = 0 leaves the model unprojected.
 *
 * The update is the stage-2 model minus the global one (then model replacement if
 * asked). The backdoor test set is pixel-trigger's.
 *
 * Where fedtail differs from the code, and why (docs/attacks.md):
 *   - mask_cross_feature (contrastive_loss_down_scale_weight) is left out: every
 *     configuration of the reference sets it to 1, where it is the identity;
 *   - the reference adds N(0, 0.01) noise to its poisoned images (noise_level) and
 *     places them at fixed batch positions; here D_adv's order is shuffled, without
 *     noise, as every fedtail trigger attack;
 *   - stage 2 uses the attacker's options (attack.adv_lr, adv_epochs, the honest
 *     momentum and weight decay), not the reference's own schedule. */
#include "ft_attack_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <math.h>
#include <string.h>

#define CHAM_MOMENTUM 0.9f  /* momentum_contrastive */
#define CHAM_DECAY    5e-4f /* decay_contrastive */
#define CHAM_GAMMA    0.005 /* lr_gamma_contrastive */
#define CHAM_NORM_EPS 1e-12 /* F.normalize's eps */

/* w <- w_g + (w - w_g) min(1, r / |w - w_g|) on the model's parameters (r = 0: none). */
static void project(ft_attack_ctx_t *c, ft_model_t *m)
{
    double r = c->env->p.chameleon_norm;
    if (r <= 0)
        return;
    float *w = ft_model_params(m);
    c->ops->sub(c->N, w, c->wg_dev, c->tmp_dev);
    double d = c->ops->norm2(c->N, c->tmp_dev);
    if (d > r) {
        c->ops->scale(c->N, (float)(r / d), c->tmp_dev);
        c->ops->copy(w, c->wg_dev, c->N * sizeof(float));
        c->ops->axpy(c->N, 1.0f, c->tmp_dev, w);
    }
}

static const int milestones[] = {3, 5, 7, 9}; /* milestones_conrtastive */

double ft_attack_chameleon_lr(double lr, int epoch)
{
    for (size_t i = 0; i < sizeof milestones / sizeof *milestones; i++)
        if (epoch >= milestones[i])
            lr *= CHAM_GAMMA;
    return lr;
}

size_t ft_attack_chameleon_work(int B, int D)
{
    return (size_t)B * (size_t)B + (size_t)B * (size_t)D + (size_t)B;
}

double ft_attack_chameleon_supcon(const float *u, const int32_t *y, int B, int D, int target,
                                  double temperature, double scale, float *du, double *work)
{
    double *G = work, *f = work + (size_t)B * B, *nrm = f + (size_t)B * D;
    for (int i = 0; i < B; i++) {
        double s = 0;
        for (int d = 0; d < D; d++)
            s += (double)u[(size_t)i * D + d] * u[(size_t)i * D + d];
        nrm[i] = fmax(sqrt(s), CHAM_NORM_EPS);
        for (int d = 0; d < D; d++)
            f[(size_t)i * D + d] = u[(size_t)i * D + d] / nrm[i];
    }
    double loss = 0;
    for (int i = 0; i < B; i++) {
        double *g = G + (size_t)i * B, zmax = -HUGE_VAL;
        int pos = 0;
        for (int j = 0; j < B; j++) {
            double z = 0;
            for (int d = 0; d < D; d++)
                z += f[(size_t)i * D + d] * f[(size_t)j * D + d];
            g[j] = z / temperature;
            if (j != i && g[j] > zmax)
                zmax = g[j];
            pos += j != i && y[j] == y[i];
        }
        if (pos == 0) { /* no positive: loss_i = 0, no gradient */
            memset(g, 0, (size_t)B * sizeof *g);
            continue;
        }
        double sum = 0, zpos = 0;
        for (int j = 0; j < B; j++)
            if (j != i) {
                sum += exp(g[j] - zmax);
                if (y[j] == y[i])
                    zpos += g[j];
            }
        double lse = zmax + log(sum), w = y[i] == target ? scale : 1.0;
        loss += -(w / pos) * (zpos - pos * lse);
        /* d loss_i / d z_ij = w (p_ij - [j in P(i)] / |P(i)|), over the batch mean */
        for (int j = 0; j < B; j++)
            g[j] = j == i ? 0.0 : w * (exp(g[j] - lse) - (y[j] == y[i] ? 1.0 / pos : 0.0)) / B;
    }
    /* dL/df_a = sum_j (G_aj + G_ja) f_j / T; through f = u / max(|u|, eps) */
    for (int a = 0; a < B; a++) {
        double dot = 0;
        for (int d = 0; d < D; d++) {
            double s = 0;
            for (int j = 0; j < B; j++)
                s += (G[(size_t)a * B + j] + G[(size_t)j * B + a]) * f[(size_t)j * D + d];
            du[(size_t)a * D + d] = (float)(s / temperature);
            dot += s / temperature * f[(size_t)a * D + d];
        }
        int clipped = nrm[a] <= CHAM_NORM_EPS; /* max picks eps: no normalisation term */
        for (int d = 0; d < D; d++) {
            double g = du[(size_t)a * D + d];
            du[(size_t)a * D + d] =
                (float)((clipped ? g : g - f[(size_t)a * D + d] * dot) / nrm[a]);
        }
    }
    return loss / B;
}

/* ---- stage 1: the contrastive encoder ------------------------------------------- */

typedef struct {
    ft_attack_ctx_t *c;
    int B, D;
    size_t S, enc; /* sample floats; encoder floats (the prefix before the classifier) */
    float *x, *f, *df;
    int32_t *y;
    double *work;
    float *x_dev, *df_dev, *mom_dev;
    uint32_t *order;
} contrast_t;

static void contrast_free(contrast_t *s)
{
    const ft_ops_t *ops = s->c->ops;
    ft_free(s->x);
    ft_free(s->f);
    ft_free(s->df);
    ft_free(s->y);
    ft_free(s->work);
    ft_free(s->order);
    ops->free(s->x_dev);
    ops->free(s->df_dev);
    ops->free(s->mom_dev);
}

static void contrast_epochs(contrast_t *s, const ft_dataset_t *ds)
{
    ft_attack_ctx_t *c = s->c;
    const ft_attack_task_t *k = c->task;
    const ft_attack_cfg_t *p = &c->env->p;
    ft_model_t *m = c->m;
    ft_rng_t rng;
    ft_rng_init(&rng, c->env->seed, (uint32_t)k->round, k->client_id, FT_RNG_ATTACK);
    for (int e = 1; e <= p->chameleon_epochs; e++) {
        float lr = (float)ft_attack_chameleon_lr(
            p->chameleon_lr * ft_attack_round_decay(c->env, k->round), e);
        for (uint32_t i = 0; i < ds->n; i++)
            s->order[i] = i;
        ft_rng_shuffle_u32(&rng, s->order, ds->n);
        for (uint32_t at = 0, b = 0; at < ds->n; at += (uint32_t)s->B, b++) {
            int B = ds->n - at < (uint32_t)s->B ? (int)(ds->n - at) : s->B;
            ft_dataset_gather(ds, s->order + at, B, s->x, s->y);
            c->ops->upload(s->x_dev, s->x, (size_t)B * s->S * sizeof(float));
            const float *feat = ft_model_forward_features(m, s->x_dev, B);
            c->ops->download(s->f, feat, (size_t)B * s->D * sizeof(float));
            ft_attack_chameleon_supcon(s->f, s->y, B, s->D, p->target_class,
                                       p->chameleon_temperature, p->chameleon_scale, s->df,
                                       s->work);
            c->ops->upload(s->df_dev, s->df, (size_t)B * s->D * sizeof(float));
            ft_model_backward_features(m, s->df_dev, B);
            /* the encoder's prefix only: the classifier is not in this optimiser */
            c->ops->sgd_step(s->enc, ft_model_params(m), ft_model_grads(m), s->mom_dev, lr,
                             CHAM_MOMENTUM, CHAM_DECAY);
            project(c, m);
            if (k->outer && k->outer->after_step) /* heartbeats */
                k->outer->after_step(k->outer->user, e - 1, (int)b, m);
        }
    }
}

/* Trains the encoder on ds from the global model; leaves the model in c->start_dev. */
static int contrast(ft_attack_ctx_t *c, const ft_dataset_t *ds)
{
    ft_model_t *m = c->m;
    contrast_t s = {.c = c, .S = ft_dataset_sample_size(ds)};
    s.enc = ft_model_classifier_offset(m);
    if (s.enc == 0)
        return ft_error_set(FT_EINVAL,
                            "chameleon: the model has no layer with parameters before its "
                            "classifier: no encoder to train (model.name, model.hidden)");
    s.D = ft_model_feature_dim(m);
    s.B = c->adv_opts.batch_size < ft_model_max_batch(m) ? c->adv_opts.batch_size
                                                         : ft_model_max_batch(m);
    size_t xb = (size_t)s.B * s.S * sizeof(float), fb = (size_t)s.B * s.D * sizeof(float);
    s.x = ft_malloc(xb);
    s.f = ft_malloc(fb);
    s.df = ft_malloc(fb);
    s.y = ft_malloc((size_t)s.B * sizeof(int32_t));
    s.work = ft_malloc(ft_attack_chameleon_work(s.B, s.D) * sizeof(double));
    s.order = ft_malloc(((size_t)ds->n + 1) * sizeof(uint32_t));
    s.x_dev = c->ops->alloc(xb);
    s.df_dev = c->ops->alloc(fb);
    s.mom_dev = c->ops->alloc(s.enc * sizeof(float));
    c->start_dev = c->ops->alloc(c->N * sizeof(float));
    int rc = FT_OK;
    if (!s.x || !s.f || !s.df || !s.y || !s.work || !s.order || !s.x_dev || !s.df_dev ||
        !s.mom_dev || !c->start_dev)
        rc = ft_error_set(FT_ENOMEM, "chameleon: out of memory for the contrastive stage");
    if (rc == FT_OK) {
        ft_model_set_params(m, c->task->global);
        ft_model_set_training(m, 1);
        contrast_epochs(&s, ds);
        c->ops->copy(c->start_dev, ft_model_params(m), c->N * sizeof(float));
    }
    contrast_free(&s);
    return rc;
}

/* ---- the plug-in ------------------------------------------------------------------- */

static int check(const ft_experiment_t *exp)
{
    if (!strcmp(exp->model.name, "lstm"))
        return ft_config_error(exp->model.src, "model.name",
                               "chameleon trains an image encoder: it needs an image model, "
                               "not lstm");
    return FT_OK;
}

static int poison(ft_attack_ctx_t *c, ft_dataset_t **out)
{
    int rc = ft_attack_trigger_poison(c, ft_attack_trigger_stamp_all, NULL, 0, out);
    /* (ft_attack_dadv asks for D_adv alone: no model, no training) */
    if (rc == FT_OK && c->m)
        rc = contrast(c, *out);
    return rc;
}

/* Stage 2: the optimiser's step leaves the encoder as it was (c->start_dev holds it,
 * as the last projection left it); then the projection. */
static void freeze_encoder(void *user, int epoch, int batch, ft_model_t *m)
{
    ft_attack_ctx_t *c = user;
    (void)epoch, (void)batch;
    if (!c->start_dev)
        return;
    size_t enc = ft_model_classifier_offset(m) * sizeof(float);
    c->ops->copy(ft_model_params(m), c->start_dev, enc);
    project(c, m);
    c->ops->copy(c->start_dev, ft_model_params(m), enc);
}

static void constrain(ft_attack_ctx_t *c, ft_train_hooks_t *h)
{
    h->after_step = freeze_encoder;
    h->user = c;
}

const ft_attack_t ft_chameleon_attack = {
    .name = "chameleon",
    .cite = "Dai & Li, ICML 2023 (Chameleon, Algorithm 1): the encoder trained with a "
            "supervised contrastive loss pulling triggered images to the target class's, "
            "then the classifier alone",
    .trains = 1,
    .own_passes = 1,
    .check = check,
    .backdoor_test = ft_attack_trigger_backdoor_test,
    .sample_count = ft_attack_trigger_samples,
    .poison = poison,
    .constrain = constrain,
};
