/* ft_partition: splitting a training set among clients, deterministically from the
 * seed, so every process derives the same partition without any data on the wire.
 *
 * Schemes (federation.partition):
 *  - iid: a seeded shuffle dealt round-robin.
 *  - dirichlet: as the paper's code does it — per class draw proportions
 *    p ~ Dir(alpha) over clients; zero the share of clients that already hold
 *    >= n/num_clients samples; renormalise; split the class by the cumulative
 *    proportions; redraw everything until every client has >= min_size samples.
 *  - shards: pathological non-IID (McMahan et al. 2017) — sort by label, cut into
 *    S = num_clients*shards_per_client shards, give each client shards_per_client
 *    random shards. Shards are cut within classes (each class gets shards in
 *    proportion to its size, at least one), so a shard holds one label and a client
 *    at most shards_per_client labels; S must be >= the number of labels present.
 *  - natural: by class, which for a text corpus is its source file (data/ft_text.h):
 *    with K clients and the F classes present in the pool ranked by label, client j
 *    holds every class of rank f with f mod K == j when K <= F; when K > F the clients
 *    j with j mod F == f share the class of rank f, each a contiguous block of its
 *    samples (pool order kept). No randomness.
 *
 * All randomness comes from the stream (seed, round 0, client 0, FT_RNG_PARTITION). */
#ifndef FT_PARTITION_H
#define FT_PARTITION_H

#include <stdint.h>

#include "ft_experiment.h" /* ft_partition_kind_t, ft_federation_cfg_t */

typedef struct {
    ft_partition_kind_t kind; /* scheme */
    int num_clients;          /* clients to split among */
    double alpha;             /* dirichlet concentration */
    int min_size;             /* dirichlet: minimum samples per client */
    int shards_per_client;    /* shards: shards per client */
    uint64_t seed;            /* run.seed */
} ft_partition_spec_t;

typedef struct {
    int num_clients;   /* clients */
    uint32_t *offsets; /* num_clients+1: client i owns indices[offsets[i]..offsets[i+1]) */
    uint32_t *indices; /* sample indices into the dataset, grouped by client */
} ft_partition_t;

/* The spec of the [federation] section f (values already checked) with run.seed. */
ft_partition_spec_t ft_partition_spec(const ft_federation_cfg_t *f, uint64_t seed);

/* Partitions the samples pool[0..pool_n) (indices into a dataset whose labels are
 * labels[]) among spec->num_clients clients. Samples outside pool (e.g. edge-case
 * points held out of honest data) are never assigned. FT_EINVAL if the pool cannot
 * be split as asked (e.g. fewer samples than clients; dirichlet min_size unreachable
 * after 1000 redraws), with a message saying why. */
int ft_partition_make(const ft_partition_spec_t *spec, const uint8_t *labels, int num_classes,
                      const uint32_t *pool, uint32_t pool_n, ft_partition_t **out);
void ft_partition_destroy(ft_partition_t **p);

/* The natural partition by author, as the paper's Sentiment140 code makes its clients
 * (ksreenivasan/OOD_Federated_Learning, language-tasks-fl/src/dataset/
 * sentiment140_data.py:27-51, buildUserData): client j holds the samples of
 * pool[0..pool_n) whose group (author) is j, in pool order — authors numbered in the
 * order of their first sample — and the samples of authors >= num_clients belong to
 * no client. FT_EINVAL naming the client if one gets no sample (fewer authors than
 * clients), FT_ENOMEM. */
int ft_partition_by_group(int num_clients, const uint32_t *group, const uint32_t *pool,
                          uint32_t pool_n, ft_partition_t **out);

/* Number of samples client i holds. */
uint32_t ft_partition_size(const ft_partition_t *p, int client);

#endif
