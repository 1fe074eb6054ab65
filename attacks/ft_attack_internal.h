/* ft_attack_internal: what attack plug-ins share with the driver — one task's working
 * state and the helpers every attack file may call. Not part of the public API: only
 * attacks/ includes it.
 *
 * A plug-in's hooks get the ctx of the task being run. It holds the task, the
 * environment, the client's model and trainer, the attacker's training options, its
 * clean points and back-end scratch; train_delta trains from the global model with
 * any hooks chained with the client's own (heartbeats). */
#ifndef FT_ATTACK_INTERNAL_H
#define FT_ATTACK_INTERNAL_H

#include "ft_attack.h"
#include "ft_attack_math.h"
#include "ft_error.h"
#include "ft_ops.h"

struct ft_attack_ctx {
    const ft_attack_env_t *env;   /* the environment */
    const ft_attack_task_t *task; /* this task */
    ft_model_t *m;                /* the client's model */
    ft_trainer_t *t;              /* the client's trainer */
    const ft_ops_t *ops;          /* the model's back end */
    size_t N;                     /* parameters */
    ft_train_opts_t adv_opts;     /* the attacker's training options */
    uint32_t *clean_idx;          /* clean points (train indices), ascending */
    uint32_t clean_n;             /* their count: min(attack.clean_points, part_n) */
    float *wg_dev;                /* global model in back-end memory */
    float *tmp_dev;               /* N back-end scratch */
    float *what_dev;              /* prox: w_hat_g in back-end memory, else NULL */
    int projections;              /* PGD projections that moved the model */
    double eps;                   /* PGD: this round's radius */
    ft_train_hooks_t inner;       /* the attack's hooks of the current training */
    float *mask_dev;              /* Neurotoxin: N gradient mask (0/1), else NULL */
    void (*mask_prev)(void *user, ft_model_t *m); /* the before_step the mask follows */
    float *start_dev; /* N back-end floats the attack's main training starts from (its
                         poison hook sets them: Chameleon's encoder), NULL: the global */
};

/* Trains from the task's global model (c->start_dev when set) on ds (idx NULL: all of ds; else ds
 * samples idx[0..n)) with options o and the attack's hooks (may be NULL) chained with the client's,
 * and writes the update (trained minus global, N host floats) into delta; the epoch's mean loss
 * into *loss (may be NULL). Minibatch order from the stream (seed, round, client, FT_RNG_SHUFFLE),
 * augmentation (o->augment) from (seed, round, client, FT_RNG_AUGMENT). Training errors (FT_EINVAL,
 * FT_ENOMEM). */
int ft_attack_train_delta(ft_attack_ctx_t *c, const ft_dataset_t *ds, const uint32_t *idx,
                          uint32_t n, const ft_train_opts_t *o, const ft_train_hooks_t *hooks,
                          float *delta /* N */, double *loss);

/* The attacker's clean points as a new dataset (labels as they are). FT_ENOMEM. */
int ft_attack_clean_set(const ft_attack_ctx_t *c, ft_dataset_t **out);

/* The edge-case attacks' shared pieces (Wang et al. 2020 §4; ft_attack_edge.c):
 * D_adv = the edge points (target label) + the clean points; |D_adv|; and the held-out
 * edge points as the backdoor test set. */
int ft_attack_edge_poison(ft_attack_ctx_t *c, ft_dataset_t **out);
uint64_t ft_attack_edge_samples(const ft_attack_env_t *env, uint32_t part_n);
int ft_attack_edge_backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test,
                                 const float *state, ft_dataset_t **out);

/* PGD (pgd.c), shared with neurotoxin: the round's radius (attack.eps or auto,
 * adaptive decay), the load-time check of eps = auto, and the projection hooks. */
double ft_attack_pgd_radius(const ft_attack_env_t *env, const ft_attack_task_t *task);
int ft_attack_pgd_check(const ft_experiment_t *exp);
void ft_attack_pgd_constrain(ft_attack_ctx_t *c, ft_train_hooks_t *h);

/* Neurotoxin's gradient mask (neurotoxin.c): computes it from the benign gradient of
 * the global model on the attacker's clean points and chains it after hooks'
 * before_step. FT_ENOMEM, training errors. */
int ft_attack_mask_prepare(ft_attack_ctx_t *c, ft_train_hooks_t *hooks);

/* The trigger attacks' D_adv (pixel_trigger.c, dba.c, a3fl.c, iba.c, chameleon.c): the
 * clean points + poison_points copies of the partition's images outside the target
 * class (seeded order), each stamped by stamp (user passed on; as_float: on a float
 * copy, for values a byte cannot hold) and labelled target; and |D_adv|. FT_EINVAL (no
 * such image), FT_ENOMEM. */
typedef void (*ft_attack_stamp_fn)(const ft_attack_env_t *env, void *user, ft_dataset_t *ds);
int ft_attack_trigger_poison(ft_attack_ctx_t *c, ft_attack_stamp_fn stamp, void *user, int as_float,
                             ft_dataset_t **out);
uint64_t ft_attack_trigger_samples(const ft_attack_env_t *env, uint32_t part_n);
/* The trigger attacks' backdoor test set (pixel_trigger.c, dba.c, a3fl.c, iba.c,
 * chameleon.c): every image of test outside the target class, in order (on a float copy
 * when as_float), stamped by stamp (user passed on) and labelled target, as a new
 * dataset in *out. On error *out is NULL: FT_ENOMEM. */
int ft_attack_trigger_test_set(const ft_attack_env_t *env, const ft_dataset_t *test,
                               ft_attack_stamp_fn stamp, void *user, int as_float,
                               ft_dataset_t **out);
/* The configured trigger (attack.trigger_shape, trigger_size, trigger_row / trigger_col,
 * blend_alpha) stamped on every sample of ds, labelled target (user unused); and the
 * backdoor test hook of that fixed trigger (state unused). pixel-trigger's and
 * chameleon's. */
void ft_attack_trigger_stamp_all(const ft_attack_env_t *env, void *user, ft_dataset_t *ds);
int ft_attack_trigger_backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test,
                                    const float *state, ft_dataset_t **out);

/* MinMax / MinSum's update (minmax.c): benign estimates, direction, gamma; into delta. */
int ft_attack_agr_transform(ft_attack_ctx_t *c, float *delta /* N */, int minsum);

/* lr_decay^(t-1): how much the rates of round t are scaled (1 in round 1). */
double ft_attack_round_decay(const ft_attack_env_t *env, int round);

/* min(attack.clean_points, part_n): how many clean points an attacker mixes in. */
uint32_t ft_attack_clean_count(const ft_attack_env_t *env, uint32_t part_n);

/* B benign estimates (ALIE, IPM; ft_attack_benign.c): honest training from the global
 * model on B disjoint chunks of the attacker's own partition (seeded order), with the
 * honest options, into out (B×N). B = min(num_benign_estimates, part_n), returned in
 * *B. New buffer (*out, free with ft_free). FT_ENOMEM, training errors. */
int ft_attack_benign_estimates(ft_attack_ctx_t *c, size_t *B, float **out /* B×N */);
/* The same, each chunk trained for B times the honest epochs, so that an estimate takes
 * as many steps as an honest client and is of an honest update's size (minmax, minsum,
 * fang, mimic: their bounds are distances between benign updates). */
int ft_attack_benign_estimates_full(ft_attack_ctx_t *c, size_t *B, float **out /* B×N */);

#endif
