/* ft_attack: attacker behaviour of client processes, as plug-ins, plus the pieces the
 * coordinator needs for the schedule and the backdoor metrics.
 *
 * Attacks reproduce Wang et al., NeurIPS 2020, "Attack of the Tails" (edge-case
 * blackbox and PGD attacks, model replacement, the prox variant, the fixed-freq /
 * fixed-pool schedules of the paper's code ksreenivasan/OOD_Federated_Learning) and
 * the usual baselines (BadNets pixel trigger, label flip, sign flip, Gaussian noise,
 * ALIE, IPM). The coordinator's aggregation never learns who attacked: the attack
 * runs inside the client process; the coordinator only uses the schedule (ground
 * truth) to join defense decisions and norms with it afterwards.
 *
 * A plug-in is a const ft_attack_t of a name and up to three hooks (DESIGN.md §5):
 * poison the local dataset, constrain training steps (PGD projection), transform the
 * final update. Plug-ins are listed in the NULL-terminated ft_attack_registry and
 * found by name (attack.method). Model replacement (attack.model_replacement) and the
 * prox term (attack.prox) are options that apply on top of any plug-in.
 *
 * Process flow:
 *   every process : env = ft_attack_env_new(cfg, train, test-or-NULL)  (deterministic)
 *                   pool = ft_attack_env_honest_pool(env, train->n)   -> partitioner
 *   coordinator   : per round ft_attack_schedule(...) marks attackers among sampled ids;
 *                   N_round = sum of ft_attack_client_samples(...) over the round;
 *                   after aggregation ft_attack_round_norms(...), ft_attack_evaluate(...)
 *   client        : attacker task -> ft_attack_local_update(...);
 *                   honest task   -> ft_attack_honest_dataset(...) (almost/normal-case)
 *
 * Dimension letters: N parameters, K updates in a round, B benign estimates. */
#ifndef FT_ATTACK_H
#define FT_ATTACK_H

#include <stddef.h>
#include <stdint.h>

#include "ft_config.h"
#include "ft_dataset.h"
#include "ft_edge.h"
#include "ft_experiment.h" /* ft_attack_case_t, ft_fl_mode_t */
#include "ft_model.h"
#include "ft_ops.h"
#include "ft_rng.h"
#include "ft_train.h"

/* ------------------------------------------------------------------------------ */
/* Configuration                                                                    */

/* The [attack] keys (and the [federation] keys attacks need), validated. */
typedef struct {
    char method[32];              /* attack.method ("none" or a registry name) */
    ft_attack_case_t attack_case; /* attack.attack_case */
    int source_class;             /* attack.source_class */
    int target_class;             /* attack.target_class */
    uint32_t clean_points;        /* attack.clean_points: clean samples in D_adv */
    uint32_t poison_points;       /* attack.poison_points: pixel-trigger poisoned copies */
    int honest_edge_holders;      /* attack.honest_edge_holders: ids [0, this) hold copies */
    double eps;                   /* attack.eps: PGD L2 radius */
    int project_frequency;        /* attack.project_frequency: project every n batches */
    double adv_lr;                /* attack.adv_lr (0: the honest lr) */
    int adv_epochs;               /* attack.adv_epochs (0: the honest epochs) */
    int model_replacement;        /* attack.model_replacement */
    double scale;                 /* attack.scale (0: N_round / n_adv) */
    int prox;                     /* attack.prox */
    double prox_mu;               /* attack.prox_mu */
    int trigger_size;             /* attack.trigger_size: pixel-trigger square side */
    double noise_std;             /* attack.noise_std: gaussian */
    double alie_z;                /* attack.alie_z (0: Baruch et al.'s z_max) */
    double ipm_epsilon;           /* attack.ipm_epsilon */
    int num_benign_estimates;     /* attack.num_benign_estimates */
    double base_lr;               /* federation.lr (to carry its decay over to adv_lr) */
    int clients_per_round;        /* federation.clients_per_round (K) */
    int num_clients;              /* federation.num_clients */
    uint64_t seed;                /* run.seed */
} ft_attack_params_t;

/* The attack schedule (pure data, from the config). */
typedef struct {
    int enabled;       /* 0 when attack.method = none */
    ft_fl_mode_t mode; /* attack.fl_mode */
    int attack_freq;   /* attack.attack_freq */
    int attack_from;   /* attack.attack_from */
    int attack_until;  /* attack.attack_until, 0 resolved to federation.rounds */
    int pool_size;     /* attack.attacker_pool_size */
    int num_clients;   /* federation.num_clients */
    uint64_t seed;     /* run.seed */
} ft_attack_schedule_t;

/* Checks every [attack] key (method known, ranges, cross-key constraints such as
 * honest_edge_holders + attacker_pool_size <= num_clients) and fills p (may be
 * NULL). FT_ECONFIG via ft_config_error naming the key. num_classes <= 0 skips the
 * class range checks. Call it when an experiment is loaded. */
int ft_attack_params_from_config(const ft_config_t *cfg, int num_classes, ft_attack_params_t *p);
int ft_attack_schedule_from_config(const ft_config_t *cfg, ft_attack_schedule_t *s);

/* ------------------------------------------------------------------------------ */
/* Schedule (coordinator)                                                           */

/* Nonzero if round t (1-based) may be attacked: attack_from <= t <= attack_until and,
 * for fixed-freq, (t - attack_from) % attack_freq == 0. */
int ft_attack_round_active(const ft_attack_schedule_t *s, int round);

/* The attacker id of fixed-freq / every-round: num_clients - 1 (the top id, so it is
 * never one of the honest edge holders, which are the lowest ids). Fixed-pool
 * attackers are the ids >= num_clients - attacker_pool_size. */
uint32_t ft_attack_attacker_id(const ft_attack_schedule_t *s);

/* Marks the attackers of round t among the K sampled client ids (distinct).
 * fixed-freq / every-round, active round: if the attacker id is already sampled it is
 * marked; otherwise it replaces ids[j], j drawn uniformly from the stream (seed, t, 0,
 * FT_RNG_ATTACK) — the paper's code samples K-1 honest clients plus the attacker.
 * fixed-pool, active round: every sampled id in the pool is marked (no replacement).
 * Inactive rounds mark nobody. ids may be modified (one entry replaced; order is
 * otherwise kept). Pure and deterministic from (config, round, ids). Returns the
 * number of attackers. */
int ft_attack_schedule(const ft_attack_schedule_t *s, int round, uint32_t *ids /* K */, size_t K,
                       uint8_t *is_attacker /* K */);

/* ------------------------------------------------------------------------------ */
/* The per-process environment                                                      */

typedef struct ft_attack ft_attack_t;

/* Everything an attack derives once per process. Read-only after creation. */
typedef struct {
    const ft_attack_t *attack;     /* the plug-in, or NULL for method none */
    ft_attack_params_t p;          /* validated parameters */
    ft_attack_schedule_t schedule; /* the schedule */
    ft_edge_set_t *edge;           /* edge-case set (blackbox/pgd), else NULL */
    ft_dataset_t *backdoor_test;   /* backdoor test set, all labelled target_class: the
                                      held-out edge points, or (pixel-trigger) triggered
                                      test images of other classes, or (label-flip) test
                                      images of source_class; NULL when none or no test
                                      set was given */
    ft_dataset_t *copies;          /* almost/normal-case: true-label copies of the edge
                                      attack points (label source_class), else NULL */
    int num_holders;               /* honest clients holding copies (ids 0..num_holders-1) */
    uint32_t *holder_offsets;      /* num_holders+1: holder h holds copies
                                      holder_idx[holder_offsets[h]..holder_offsets[h+1]) */
    uint32_t *holder_idx;          /* indices into copies */
} ft_attack_env_t;

/* Builds the environment from the config, the training set and (coordinator) the test
 * set; test may be NULL (clients: no backdoor test set is built). Method none gives
 * an environment that changes nothing. Deterministic from the config: every process
 * gets the same edge set. FT_ECONFIG, FT_EINVAL (no edge mode found), FT_EIO /
 * FT_EFORMAT (edge file), FT_ENOMEM; *out NULL on error. */
int ft_attack_env_new(const ft_config_t *cfg, const ft_dataset_t *train, const ft_dataset_t *test,
                      ft_attack_env_t **out);
void ft_attack_env_destroy(ft_attack_env_t **env_p);

/* The training-set indices honest partitions are drawn from: all of [0, train_n) but
 * the mined edge points. New array (caller frees with ft_free). FT_ENOMEM. */
int ft_attack_env_honest_pool(const ft_attack_env_t *env, uint32_t train_n, uint32_t **pool,
                              uint32_t *pool_n);

/* The sample count client `id` reports (its FedAvg weight) when it holds part_n
 * partition samples: honest clients part_n plus the edge copies they hold; attackers
 * |D_adv| (blackbox/pgd: edge points + min(clean_points, part_n); pixel-trigger:
 * min(clean_points, part_n) + poison_points; others part_n). The coordinator sums it
 * over the round's clients for N_round (model replacement). */
uint64_t ft_attack_client_samples(const ft_attack_env_t *env, uint32_t id, uint32_t part_n,
                                  int is_attacker);

/* Honest client `id` in the almost/normal-case baselines: a new dataset holding its
 * partition (train samples idx[0..n)) followed by its true-label edge copies; train on
 * all of *out. *out = NULL (nothing to change: train on train/idx as usual) for every
 * other client or case. FT_ENOMEM. */
int ft_attack_honest_dataset(const ft_attack_env_t *env, uint32_t id, const ft_dataset_t *train,
                             const uint32_t *idx, uint32_t n, ft_dataset_t **out);

/* ------------------------------------------------------------------------------ */
/* The attacker's local update (client)                                             */

/* One attacker task. */
typedef struct {
    int round;                     /* 1-based round */
    uint32_t client_id;            /* the attacking client's id */
    const float *global;           /* N host floats: this round's global model */
    const ft_dataset_t *train;     /* the process's training set */
    const uint32_t *part_idx;      /* the client's own partition (indices into train) */
    uint32_t part_n;               /* its length */
    ft_train_opts_t opts;          /* what an honest client uses this round (decayed lr) */
    uint64_t round_samples;        /* N_round: sum of ft_attack_client_samples over the
                                      round's clients; 0 if unknown (then scale = K) */
    int round_attackers;           /* attackers in the round (ALIE's m); 0 if unknown (1) */
    const ft_train_hooks_t *outer; /* the client's own hooks (heartbeats), run after the
                                      attack's at every step of every training the attack
                                      does; may be NULL */
} ft_attack_task_t;

/* What the attacker did. */
typedef struct {
    uint64_t sample_count; /* n_k to report (= ft_attack_client_samples) */
    double loss;           /* mean loss of the attacker's last epoch (0 if it trained none) */
    double norm_trained;   /* ||delta|| before the update transform and scaling */
    double norm;           /* ||delta|| as sent */
    double scale;          /* model-replacement factor applied (1: none) */
    int projections;       /* PGD projections that moved the model */
} ft_attack_result_t;

/* Runs the attack of env for one task on the client's model and trainer: poisons
 * the data, trains from task->global with the constraint hooks (and the prox term),
 * transforms the update and applies model replacement. Writes the update (final
 * weights minus global, N host floats) into delta. The model's parameters and the
 * optimizer state are left unspecified (set the next global before the next task:
 * clients do so per task anyway). env must have a
 * plug-in (method != none). Errors from training (FT_EINVAL, FT_ENOMEM) are
 * returned with their message; delta is then undefined. */
int ft_attack_local_update(const ft_attack_env_t *env, const ft_attack_task_t *task, ft_model_t *m,
                           ft_trainer_t *t, float *delta /* N */, ft_attack_result_t *res);

/* ------------------------------------------------------------------------------ */
/* Metrics (coordinator)                                                            */

typedef struct {
    double backdoor_acc;     /* share of env->backdoor_test classified as target_class
                                (NAN when there is no backdoor test set) */
    double target_class_acc; /* clean test accuracy on source_class (NAN if absent) */
    uint32_t backdoor_n;     /* samples in the backdoor test set */
} ft_attack_eval_t;

/* Evaluates m on the backdoor test set and reads target_class_acc from the clean
 * evaluation (clean may be NULL: NAN). FT_ENOMEM. */
int ft_attack_evaluate(const ft_attack_env_t *env, ft_model_t *m, const ft_eval_t *clean,
                       ft_attack_eval_t *out);

typedef struct {
    int attackers;           /* attackers among the round's updates */
    double attacker_norm;    /* mean L2 norm of the attackers' updates (NaN if none) */
    double honest_norm_mean; /* mean L2 norm of the honest updates (NaN if none) */
} ft_attack_norms_t;

/* Norms of a round's K×N updates (host) joined with the ground truth. */
void ft_attack_round_norms(size_t K, size_t N, const float *updates /* K×N */,
                           const uint8_t *is_attacker /* K */, ft_attack_norms_t *out);

/* ------------------------------------------------------------------------------ */
/* Plug-ins                                                                         */

typedef struct ft_attack_ctx ft_attack_ctx_t; /* one task's working state (internal) */

struct ft_attack {
    const char *name; /* registry name, e.g. "pgd" */
    const char *cite; /* paper and equation implemented */
    int needs_edge;   /* builds an edge-case set */
    /* Hook 1 — poison the local dataset: a new dataset to train on (all of it). NULL
     * hook: the client's partition as is. */
    int (*poison)(ft_attack_ctx_t *ctx, ft_dataset_t **ds_out);
    /* Hook 2 — constrain training steps: fills after_step / after_epoch. May be NULL. */
    void (*constrain)(ft_attack_ctx_t *ctx, ft_train_hooks_t *hooks);
    /* Hook 3 — transform the final update in place (N host floats). May train benign
     * estimates through ctx. May be NULL. */
    int (*transform)(ft_attack_ctx_t *ctx, float *delta);
    /* 0: skip local training (the update is made by transform alone, e.g. gaussian). */
    int trains;
};

/* The registry, NULL-terminated. */
extern const ft_attack_t *const ft_attack_registry[];
/* Finds a plug-in by name; NULL if unknown. */
const ft_attack_t *ft_attack_find(const char *name);

/* ------------------------------------------------------------------------------ */
/* The maths, exposed for tests and for offline use                                */

/* PGD L2 projection (Wang et al. 2020, Alg. 1 line "project"; paper code train()):
 * if ||w - wg||_2 > eps then w <- wg + eps (w - wg) / ||w - wg||_2, over the whole
 * flat vector, through ops (any back end; w, wg, tmp in its memory, tmp N scratch).
 * Returns ||w - wg||_2 before the projection. */
double ft_attack_project_l2(const ft_ops_t *ops, size_t N, float *w, const float *wg, double eps,
                            float *tmp);

/* Model replacement factor (Bagdasaryan et al. AISTATS 2020, eq. 3, gamma = n/eta; the
 * paper code's total_num_dps_per_round / num_dps_poisoned_dataset): scale if > 0,
 * else round_samples / attacker_samples, else (round_samples unknown) K. */
double ft_attack_replacement_scale(double scale, uint64_t round_samples, uint64_t attacker_samples,
                                   int K);

/* Standard normal quantile Phi^{-1}(p), p in (0, 1) (bisection on erfc, |err| < 1e-12). */
double ft_normal_quantile(double p);
/* Baruch et al. 2019, §3: s = floor(n/2 + 1) - m, z_max = Phi^{-1}((n - s) / n);
 * n workers, m malicious. Clamped to [0, 10]. */
double ft_attack_alie_z(int n, int m);
/* ALIE: out_j = mu_j - z sigma_j over B benign estimates (population std). */
void ft_attack_alie(size_t B, size_t N, const float *benign /* B×N */, double z, float *out);
/* IPM (Xie et al. UAI 2019, §3): out = -epsilon * mean of the B benign estimates. */
void ft_attack_ipm(size_t B, size_t N, const float *benign /* B×N */, double epsilon, float *out);
/* Sign flip (Li et al. AAAI 2019, RSA, "sign-flipping attack"): delta <- -delta. */
void ft_attack_sign_flip(size_t N, float *delta);
/* Gaussian update (Blanchard et al. NeurIPS 2017, §5): delta_i ~ N(0, std^2). */
void ft_attack_gaussian(size_t N, double std, ft_rng_t *rng, float *delta);
/* BadNets trigger (Gu et al. 2017): a size×size checkerboard (white where
 * (row + col) is even, black elsewhere) one pixel in from the bottom-right corner,
 * in every channel, of sample i of ds (uint8 or float storage). */
void ft_attack_stamp_trigger(ft_dataset_t *ds, uint32_t i, int size);
/* Targeted label flip (Tolpegin et al. ESORICS 2020): labels source -> target. */
void ft_attack_flip_labels(ft_dataset_t *ds, int source, int target);

#endif
