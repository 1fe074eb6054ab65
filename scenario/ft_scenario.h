/* ft_scenario: the experiment's ground truth, derived identically in every process so
 * that the coordinator and each client process agree on it without any training data
 * crossing the wire:
 *
 *   training set -> attack environment (edge-case set, ft_attack.h)
 *                -> honest pool = training indices minus the edge points
 *                -> FLTrust root set, when the server holds one (ft_root_set.h),
 *                   removed from the pool
 *                -> every client's partition of what is left
 *                -> who holds true-label edge copies (ft_holdings.h)
 *   test set     -> the attack's backdoor test set (coordinator only)
 *   config       -> who attacks when (ft_schedule.h)
 *
 * A client process trains on it (ft_scenario_honest_dataset, or the attack's own
 * D_adv); the coordinator uses it for N_round (model replacement), the server's root
 * set and the backdoor metrics (ft_measure.h). Neither process includes the other:
 * they share this layer and the wire. */
#ifndef FT_SCENARIO_H
#define FT_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "ft_attack.h"
#include "ft_dataset.h"
#include "ft_experiment.h"
#include "ft_holdings.h"
#include "ft_measure.h"
#include "ft_partition.h"
#include "ft_schedule.h"

typedef struct {
    ft_dataset_t *train;         /* the training set (see ft_scenario_release_train) */
    ft_attack_env_t *attack;     /* the attack environment (method none: changes nothing) */
    ft_holdings_t *holdings;     /* honest edge copies, or NULL when nobody holds any */
    uint32_t *root_idx;          /* FLTrust root set, ascending training-set indices; NULL
                                    when the server holds none */
    uint32_t root_n;             /* its length (0 when none) */
    ft_partition_t *part;        /* every client's training-set indices */
    ft_dataset_t *backdoor_test; /* the attack's backdoor test set, labelled target_class
                                    (coordinator: built from the test set); else NULL */
    ft_schedule_t schedule;      /* who attacks when */
    uint32_t num_clients;        /* federation.num_clients */
} ft_scenario_t;

/* The checks of an experiment's scenario that need more than the config: attack.method
 * names a registered attack (or none) and the attack's own keys fit. Run when the
 * experiment is loaded, before any data. FT_ECONFIG naming the key. */
int ft_scenario_check(const ft_experiment_t *exp);

/* Loads the training set and derives the rest (see above). test (coordinator only,
 * may be NULL) gives the backdoor test set. root_set: the server holds out a root set
 * of defense.root_size samples (the coordinator knows from its rule; clients learn it
 * from the Welcome message). Errors: the failing module's code with its message
 * (FT_EIO, FT_ECONFIG naming the key — e.g. defense.root_size not below the honest
 * pool —, FT_EINVAL, FT_ENOMEM); *out stays NULL. */
int ft_scenario_new(const ft_experiment_t *exp, const ft_dataset_t *test, int root_set,
                    ft_scenario_t **out);
void ft_scenario_destroy(ft_scenario_t **s_p);

/* Coordinator side, after ft_scenario_new: frees the training set's samples the
 * coordinator never reads. s->train becomes a copy of the root set only (root_idx
 * renumbered 0..root_n-1, same order, so root-set training is unchanged), or NULL
 * when there is no root set. The partition sizes, ft_scenario_client_samples and the
 * attack environment (its own copies) stay valid; the partition's indices no longer
 * index s->train. FT_ENOMEM (s unchanged). */
int ft_scenario_release_train(ft_scenario_t *s);

/* Partition samples of client id (0 for an id outside the population). */
uint32_t ft_scenario_part_n(const ft_scenario_t *s, uint32_t id);
/* The partition indices of client id (valid id). */
const uint32_t *ft_scenario_part_idx(const ft_scenario_t *s, uint32_t id);
/* The sample count client id reports in a round (its FedAvg weight): honest, its
 * partition plus the edge copies it holds; attacker, |D_adv|. */
uint64_t ft_scenario_client_samples(const ft_scenario_t *s, uint32_t id, int is_attacker);

/* Honest client id's training set when it differs from its partition (it holds edge
 * copies, ft_holdings_dataset): a new dataset, or *out NULL (train on the partition).
 * Needs s->train. FT_ENOMEM. */
int ft_scenario_honest_dataset(const ft_scenario_t *s, uint32_t id, ft_dataset_t **out);

/* The backdoor measurements of m (ft_measure_backdoor on s's backdoor test set and the
 * attack's source class; all NAN without an attack). FT_ENOMEM. */
int ft_scenario_evaluate(const ft_scenario_t *s, ft_model_t *m, const ft_eval_t *clean,
                         ft_backdoor_eval_t *out);

/* The training indices centralised pre-training uses: all but the points the
 * configured attack holds out of every honest client's data (a mined edge set). As in
 * the paper, where the edge points (Southwest planes, ARDIS sevens) are in no one's
 * training data, a pre-trained starting model has never seen them. *pool is NULL when
 * nothing is held out (then the data is not even loaded); free with ft_free. Errors
 * as ft_scenario_new. */
int ft_scenario_pretrain_pool(const ft_experiment_t *exp, uint32_t **pool, uint32_t *pool_n);

#endif
