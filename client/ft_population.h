/* ft_population: what every process of a federated run derives for itself from the
 * experiment, so that the coordinator and each client process agree on it without
 * any training data crossing the wire:
 *
 *   training set -> attack environment (edge-case set, held-out points, copies)
 *                -> honest pool = training indices minus the edge points
 *                -> FLTrust root set (defense.root_size indices drawn from the honest
 *                   pool with stream (run.seed, 0, FT_POPULATION_ROOT_ID, FT_RNG_DEFENSE),
 *                   only when the defense needs a server update), removed from the pool
 *                -> every client's partition of what is left.
 *
 * The client process uses the partition to train; the coordinator uses it for the
 * round's sample total N_round (model replacement) and trains the root set itself.
 * It also picks the compute back end named by run.device for both. */
#ifndef FT_POPULATION_H
#define FT_POPULATION_H

#include <stddef.h>
#include <stdint.h>

#include "ft_attack.h"
#include "ft_config.h"
#include "ft_dataset.h"
#include "ft_ops.h"
#include "ft_partition.h"

/* The client id the coordinator's own root-set training uses in its random streams
 * (shuffle, dropout, root-set draw): never a real client (ids < num_clients < 2^32). */
#define FT_POPULATION_ROOT_ID UINT32_MAX

typedef struct {
    ft_dataset_t *train;  /* the training set (see ft_population_release_train) */
    ft_attack_env_t *env; /* attack environment (method none: changes nothing) */
    uint32_t *root_idx;   /* FLTrust root set, ascending training-set indices; NULL
                             when the defense needs no server update */
    uint32_t root_n;      /* its length (0 when none) */
    ft_partition_t *part; /* every client's training-set indices */
    int num_clients;      /* federation.num_clients */
} ft_population_t;

/* Loads the training set and derives the rest (see above). test (coordinator only,
 * may be NULL) lets the attack environment build its backdoor test set. Errors:
 * the failing module's code with its message (FT_EIO, FT_ECONFIG naming the key —
 * e.g. defense.root_size not below the honest pool —, FT_EINVAL, FT_ENOMEM); *out
 * stays NULL. */
int ft_population_new(const ft_config_t *cfg, const ft_dataset_t *test, ft_population_t **out);
void ft_population_destroy(ft_population_t **p_p);

/* Coordinator side, after ft_population_new: frees the training set's samples the
 * coordinator never reads. p->train becomes a copy of the root set only (root_idx
 * renumbered 0..root_n-1, same order, so root-set training is unchanged), or NULL
 * when there is no root set. The partition sizes, ft_population_client_samples and
 * the attack environment (its own copies) stay valid; the partition's indices no
 * longer index p->train. FT_ENOMEM (p unchanged). */
int ft_population_release_train(ft_population_t *p);

/* Partition samples of client id (0 for an id outside the population). */
uint32_t ft_population_part_n(const ft_population_t *p, uint32_t id);
/* The partition indices of client id (valid id). */
const uint32_t *ft_population_part_idx(const ft_population_t *p, uint32_t id);
/* The sample count client id reports in a round (its FedAvg weight):
 * ft_attack_client_samples over its partition. */
uint64_t ft_population_client_samples(const ft_population_t *p, uint32_t id, int is_attacker);

/* The ops back end run.device names: "cpu", "reference", "cuda" or "cuda:N". For
 * cuda:N the process is restricted to device N (CUDA_VISIBLE_DEVICES; N indexes the
 * devices already visible when that variable is set) before CUDA starts. Errors:
 * FT_EUNSUPPORTED "run.device = cuda but no CUDA device is available (...)";
 * FT_ECONFIG naming run.device for anything else. */
int ft_population_device(const ft_config_t *cfg, const ft_ops_t **ops);

#endif
