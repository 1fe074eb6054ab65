/* ft_attack: attacks as plug-ins — the interface every attack file implements, the
 * per-process attack environment, and the driver that runs one attacker task.
 *
 * An attack is a const ft_attack_t in its own file (attacks/<name>.c), listed once in
 * ft_attack_registry.c and found by name (attack.method). Its hooks are each optional
 * (DESIGN.md §5):
 *   check          its own cross-key checks, when the experiment is loaded;
 *   backdoor_test  the backdoor test set the coordinator evaluates (from the test set);
 *   sample_count   |D_adv|, the FedAvg weight the attacker reports;
 *   poison         D_adv, the dataset the attacker trains on;
 *   constrain      training-step hooks (PGD's projection);
 *   transform      the final update (sign flip, ALIE, ...).
 * Options that apply on top of any plug-in — model replacement (attack.model_replacement,
 * attack.scale), the prox term (attack.prox), the attacker's own lr and epochs — live in
 * the driver (ft_attack_run.c). Nothing outside a plug-in branches on its name.
 *
 * Attacks run inside client processes; the coordinator meets them only through
 * scenario/ (who attacks when, each client's sample count, the backdoor test set).
 * The defense never learns who attacked.
 *
 * Dimension letters: N parameters, K updates in a round. */
#ifndef FT_ATTACK_H
#define FT_ATTACK_H

#include <stddef.h>
#include <stdint.h>

#include "ft_dataset.h"
#include "ft_edge.h"
#include "ft_experiment.h"
#include "ft_model.h"
#include "ft_train.h"

typedef struct ft_attack ft_attack_t;
typedef struct ft_attack_ctx ft_attack_ctx_t; /* one task's working state (internal) */

/* What an attack derives once per process from the experiment and the training set.
 * Read-only after creation. */
typedef struct {
    const ft_attack_t *attack; /* the plug-in, or NULL for method none */
    ft_attack_cfg_t p;         /* [attack] */
    uint64_t seed;             /* run.seed */
    int clients_per_round;     /* federation.clients_per_round (K) */
    double lr_decay;           /* federation.lr_decay: round t's rates are scaled by
                                  lr_decay^(t-1) */
    int adaptive_eps;          /* PGD's radius shrinks like the lr (attack.adaptive_eps
                                  resolved against the defense) */
    ft_edge_set_t *edge;       /* the edge-case set when the attack uses one, else NULL */
    uint32_t clean_pool_n;     /* training samples but the edge points: what the clean
                                  points are drawn from with attack.clean_from = train */
    ft_augment_mode_t augment; /* the attacker's training on its own data (D_adv, the prox
                                  estimate): data.augment_attack */
    double defense_bound;      /* defense.norm_bound M under norm-clipping / weak-dp, else 0:
                                  what attack.eps = auto sizes the radius from */
    uint32_t num_clients;      /* federation.num_clients (the fixed pool is the top ids) */
    int c, h, w;               /* the training set's sample shape */
} ft_attack_env_t;

/* One attacker task. */
typedef struct {
    int round;                     /* 1-based round */
    uint32_t client_id;            /* the attacking client's id */
    const float *global;           /* N host floats: this round's global model */
    const ft_dataset_t *train;     /* the process's training set */
    const uint32_t *part_idx;      /* the client's own partition (indices into train) */
    uint32_t part_n;               /* its length */
    ft_train_opts_t opts;          /* what an honest client uses this round (decayed lr) */
    uint64_t round_samples;        /* N_round: sum of the round's clients' sample counts;
                                      0 if unknown (then scale = K) */
    int round_attackers;           /* attackers in the round (ALIE's m); 0 if unknown (1) */
    const ft_train_hooks_t *outer; /* the client's own hooks (heartbeats), run after the
                                      attack's at every step of every training the attack
                                      does; may be NULL */
    const float *state;            /* the attack's latest state (ft_attack_state_floats
                                      floats), NULL: its initial one */
    float *state_out;              /* where the attack leaves its new state (as many
                                      floats); NULL: not wanted */
} ft_attack_task_t;

/* What the attacker did. */
typedef struct {
    uint64_t sample_count; /* n_k to report (= ft_attack_sample_count) */
    double loss;           /* mean loss of the attacker's last epoch (0 if it trained none) */
    double norm_trained;   /* ||delta|| before the update transform and scaling */
    double norm;           /* ||delta|| as sent */
    double scale;          /* model-replacement factor applied (1: none) */
    int projections;       /* PGD projections that moved the model */
} ft_attack_result_t;

struct ft_attack {
    const char *name;  /* registry name, e.g. "pgd" */
    const char *cite;  /* paper and algorithm implemented */
    int uses_edge_set; /* the environment builds an edge-case set (data/ft_edge.h), which
                          is then held out of every honest client's data */
    int trains;        /* 0: no local training (the update is made by transform alone) */
    int text;          /* 1: backdoors a next-word model, runs on text datasets only */
    int grad_mask;     /* its training masks the gradient (Neurotoxin), whatever
                          attack.grad_mask says */
    int own_passes;    /* its poison hook trains passes of its own before the training
                          on D_adv (Chameleon's encoder): more steps than D_adv's */
    /* Checks keys only this attack uses, when the experiment is loaded: FT_ECONFIG
     * via ft_config_error(exp->attack.src, ...). NULL: nothing to check. */
    int (*check)(const ft_experiment_t *exp);
    /* The backdoor test set, every sample labelled target_class, from the clean test
     * set (or the environment) and the attack's state (NULL: none yet, or an attack
     * that keeps none). NULL: the attack has no backdoor to measure. */
    int (*backdoor_test)(const ft_attack_env_t *env, const ft_dataset_t *test, const float *state,
                         ft_dataset_t **out);
    /* Floats of the state an attack carries from one attack round to the next (A3FL's
     * optimised trigger), for a training set of sample shape c x h x w. The attacker
     * gets the latest state in its task and returns the new one; the coordinator keeps
     * it between rounds and measures the backdoor with it (the attackers share it, as
     * one adversary). NULL: the attack keeps no state. */
    size_t (*state_floats)(const ft_attack_env_t *env);
    /* |D_adv| for a client holding part_n partition samples. NULL: part_n. */
    uint64_t (*sample_count)(const ft_attack_env_t *env, uint32_t part_n);
    /* D_adv: a new dataset to train on (all of it). NULL: the client's partition. */
    int (*poison)(ft_attack_ctx_t *ctx, ft_dataset_t **ds_out);
    /* Fills after_step / after_epoch / before_step of the attack's training. May be
     * NULL. */
    void (*constrain)(ft_attack_ctx_t *ctx, ft_train_hooks_t *hooks);
    /* Transforms the final update in place (N host floats); may train benign
     * estimates through ctx. May be NULL. */
    int (*transform)(ft_attack_ctx_t *ctx, float *delta /* N */);
};

/* ---- registry (ft_attack_registry.c) ------------------------------------------- */

/* The registry, NULL-terminated. */
extern const ft_attack_t *const ft_attack_registry[];
/* Finds a plug-in by name; NULL if unknown. */
const ft_attack_t *ft_attack_find(const char *name);
/* attack.method names a registered attack or none, and the attack's own check
 * passes. FT_ECONFIG naming the key (an unknown method lists the registry). */
int ft_attack_check(const ft_experiment_t *exp);

/* ---- environment (ft_attack_env.c) ---------------------------------------------- */

/* Builds the environment from the experiment and the training set: checks the
 * attack's class labels against the dataset, and builds the edge-case set when the
 * attack uses one. Method none gives an environment that changes nothing.
 * Deterministic from the experiment: every process gets the same edge set.
 * FT_ECONFIG, FT_EINVAL (no edge mode found), FT_EIO / FT_EFORMAT (edge file),
 * FT_ENOMEM; *out NULL on error. */
int ft_attack_env_new(const ft_experiment_t *exp, const ft_dataset_t *train, ft_attack_env_t **out);
void ft_attack_env_destroy(ft_attack_env_t **env_p);

/* The sample count an attacker holding part_n partition samples reports (|D_adv|). */
uint64_t ft_attack_sample_count(const ft_attack_env_t *env, uint32_t part_n);

/* The attack's backdoor test set (named "backdoor-test/<attack>") for its state
 * (NULL: the initial one), or *out NULL when the attack has none (or method none).
 * FT_ENOMEM. */
int ft_attack_backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test,
                            const float *state, ft_dataset_t **out);
/* Floats of the attack's state (ft_attack_t.state_floats), 0 for attacks without. */
size_t ft_attack_state_floats(const ft_attack_env_t *env);

/* DBA (dba.c): the local pattern, in [0, attack.dba_parts), attacker client_id embeds
 * in round — by its index in the fixed pool, else the parts in turn by round. */
int ft_attack_dba_part(const ft_attack_env_t *env, int round, uint32_t client_id);

/* ---- the attacker's local update (ft_attack_run.c) ------------------------------ */

/* D_adv of a task: the dataset the attacker trains on (the poison hook's output, or
 * the client's partition for attacks without one), as a new dataset; for inspection
 * and tests (ft_attack_local_update builds the same). env must have a plug-in.
 * FT_ENOMEM, FT_EINVAL from the hook. */
int ft_attack_dadv(const ft_attack_env_t *env, const ft_attack_task_t *task, ft_dataset_t **out);

/* Runs the attack of env for one task on the client's model and trainer: poisons
 * the data, trains from task->global with the constraint hooks (and the prox term),
 * transforms the update and applies model replacement. Writes the update (final
 * weights minus global, N host floats) into delta. The model's parameters and the
 * optimizer state are left unspecified (set the next global before the next task:
 * clients do so per task anyway). env must have a plug-in (method != none). Errors
 * from training (FT_EINVAL, FT_ENOMEM) are returned with their message; delta is then
 * undefined. */
int ft_attack_local_update(const ft_attack_env_t *env, const ft_attack_task_t *task, ft_model_t *m,
                           ft_trainer_t *t, float *delta /* N */, ft_attack_result_t *res);

#endif
