/* ft_schedule: which sampled clients attack in which round — the experiment's ground
 * truth, which the coordinator sends to the clients in their tasks and joins
 * afterwards with the defense's decisions and the update norms.
 *
 * Schedules follow the paper's code (ksreenivasan/OOD_Federated_Learning,
 * simulated_averaging.py / fl_trainer.py): fixed-freq attacks in rounds
 * (t - attack_from) % attack_freq == 0 with one attacker that joins K-1 sampled
 * honest clients (FrequencyFederatedLearningTrainer); fixed-pool keeps a pool of
 * attacker ids that attack whenever sampled (FixedPoolFederatedLearningTrainer);
 * every-round is fixed-freq with attack_freq 1. Attackers are the TOP client ids
 * (honest edge holders are the lowest), and every draw comes from the stream
 * (seed, round, 0, FT_RNG_ATTACK). Pure and deterministic from the experiment. */
#ifndef FT_SCHEDULE_H
#define FT_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "ft_experiment.h"

typedef struct {
    int enabled;          /* attack.method is not none */
    ft_fl_mode_t mode;    /* attack.fl_mode */
    int attack_freq;      /* attack.attack_freq */
    int attack_from;      /* attack.attack_from */
    int attack_until;     /* attack.attack_until (0 already resolved to the last round) */
    int pool_size;        /* attack.attacker_pool_size */
    uint32_t num_clients; /* federation.num_clients */
    uint64_t seed;        /* run.seed */
} ft_schedule_t;

/* The schedule of an experiment. */
ft_schedule_t ft_schedule_of(const ft_experiment_t *exp);

/* Nonzero if round t (1-based) may be attacked: attack_from <= t <= attack_until and,
 * for fixed-freq, (t - attack_from) % attack_freq == 0. */
int ft_schedule_round_active(const ft_schedule_t *s, int round);

/* The attacker id of fixed-freq / every-round: num_clients - 1 (the top id, so it is
 * never one of the honest edge holders, which are the lowest ids). Fixed-pool
 * attackers are the ids >= num_clients - attacker_pool_size. */
uint32_t ft_schedule_attacker_id(const ft_schedule_t *s);

/* Marks the attackers of round t among the K sampled client ids (distinct).
 * fixed-freq / every-round, active round: if the attacker id is already sampled it is
 * marked; otherwise it replaces ids[j], j drawn uniformly from the stream — the
 * paper's code samples K-1 honest clients plus the attacker. fixed-pool, active
 * round: every sampled id in the pool is marked (no replacement). Inactive rounds
 * mark nobody. At most one entry of ids changes; order is otherwise kept. Returns
 * the number of attackers. */
int ft_schedule_mark(const ft_schedule_t *s, int round, uint32_t *ids /* K */, size_t K,
                     uint8_t *is_attacker /* K */);

/* ft_schedule_mark on the sorted, distinct sample ids[0..K) of round t, leaving ids
 * sorted ascending with the flags moved along (the round's slots are in client-id
 * order). Returns the number of attackers. */
int ft_schedule_attackers(const ft_schedule_t *s, uint32_t round, uint32_t *ids /* K */, size_t K,
                          uint8_t *attacker /* K */);

#endif
