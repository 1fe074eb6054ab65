/* ft_local: a client process's local training of one virtual client.
 *
 * Each process loads the training set once and derives the whole partition itself
 * from (dataset, partition spec, run.seed) — no training data crosses the wire — so
 * it can train as any client id. Training randomness depends only on (seed, round,
 * client id): minibatch order from stream (seed, round, client, FT_RNG_SHUFFLE),
 * dropout from (seed, round, client, FT_RNG_DROPOUT). The optimizer is fresh every
 * task (as the paper's code makes a new one each round), and the result is the
 * delta local model - global model. ft_local_train is the one place where local
 * training happens: an attacker task runs the attack's local update
 * (ft_attack_local_update), an honest one trains on its partition (plus, in the
 * almost/normal-case baselines, its true-label edge copies). The data derivation
 * itself is the scenario (scenario/ft_scenario.h, shared with the coordinator). */
#ifndef FT_LOCAL_H
#define FT_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "ft_experiment.h"
#include "ft_train.h"

typedef struct ft_local ft_local_t;

/* What to train. */
typedef struct {
    uint32_t round;            /* 1-based round */
    uint32_t client_id;        /* virtual client */
    float lr;                  /* learning rate (decided by the coordinator) */
    int attacker;              /* the client attacks this round */
    uint64_t round_samples;    /* N_round from the coordinator (0: unknown) */
    uint32_t round_attackers;  /* attackers in the round (0: unknown) */
    const float *attack_state; /* attackers: the attack's latest state from the
                                  coordinator (NULL: its initial one) */
    size_t attack_state_n;     /* its floats */
} ft_local_task_t;

/* What training produced. */
typedef struct {
    uint64_t num_samples;      /* samples to report (FedAvg weight): ft_scenario_client_samples */
    float train_loss;          /* mean batch loss of the last epoch */
    double train_s;            /* seconds of training */
    const float *attack_state; /* attackers whose attack keeps state: the new one (valid
                                  until the next ft_local_train), else NULL */
    size_t attack_state_n;     /* its floats */
} ft_local_result_t;

/* Derives the scenario (ft_scenario_new: training set, attack environment, root set
 * when root_set — the Welcome says —, partition) and builds the model (model.name on
 * run.device) and trainer. exp must outlive the result. FT_EUNSUPPORTED when
 * run.device names CUDA and none is available. On error returns the failing module's
 * code with its message; *out stays NULL. */
int ft_local_new(const ft_experiment_t *exp, int root_set, ft_local_t **out);
void ft_local_destroy(ft_local_t **l_p);

size_t ft_local_num_params(const ft_local_t *l);
const uint8_t *ft_local_layout_hash(const ft_local_t *l); /* 32 bytes */
/* Partition samples client id holds (0 for an id outside the population). */
uint32_t ft_local_num_samples(const ft_local_t *l, uint32_t client_id);

/* Trains client task->client_id from the global model (N, host) and writes the
 * delta (N, host). hooks (may be NULL) run after every step — the client process
 * sends heartbeats from them (for attackers, after the attack's own hooks).
 * FT_EINVAL for an unknown client id or one without samples; FT_ECONFIG for an
 * attacker task while attack.method = none; FT_EPROTO for an attack state of the
 * wrong size; FT_ENOMEM. */
int ft_local_train(ft_local_t *l, const ft_local_task_t *task, const float *global /* N */,
                   float *delta /* N */, const ft_train_hooks_t *hooks, ft_local_result_t *res);

/* Nonzero when this process's model can train several tasks at once
 * (ft_model_batch_supported: the feed-forward models, not the lstm). */
int ft_local_can_batch(const ft_local_t *l);

/* run.batch_clients = 0: the K that fits the back end's free memory
 * (ft_model_batch_fit of ft_model_batch_client_bytes), at most cap; 1 where the
 * back end cannot say (host back ends: batching there is for exactness, not speed).
 * *avail receives the free bytes (0: unknown). */
int ft_local_batch_auto(const ft_local_t *l, int cap, size_t *avail);

/* Trains the K honest tasks tasks[0..K) (same round, all from global; none an
 * attacker: attacks train one by one with ft_local_train) at once on K models in
 * lock step (model/ft_train_batch.h) and writes delta k (N host floats) and res[k]
 * as ft_local_train would for task k alone — bit for bit on the CPU, within
 * docs/gpu.md's tolerance on CUDA. tick (may be NULL) runs after every batched
 * step (heartbeats). The batch's models are built on the first call and again when
 * K exceeds what they hold. Errors: FT_EINVAL (unknown client id or one without
 * samples, message names it), FT_EUNSUPPORTED (the model cannot be batched),
 * FT_ENOMEM; on error no delta is defined. */
int ft_local_train_batch(ft_local_t *l, const ft_local_task_t *tasks, int K,
                         const float *global /* N */, float *const *deltas /* K × N */,
                         void (*tick)(void *user), void *user, ft_local_result_t *res /* K */);

#endif
