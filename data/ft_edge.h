/* ft_edge: p-edge-case sets (Wang et al., NeurIPS 2020, "Attack of the Tails", §3 and
 * Definition 1): inputs of low probability p under the training distribution, given
 * an attacker-chosen label.
 *
 * Two sources (attack.edge_source):
 *  - mined: a rare but coherent mode of one class of the training set. The class
 *    (attack.source_class) is centred and projected onto its top principal subspace
 *    (attack.edge_components dimensions, randomized subspace iteration, Halko et al.
 *    2011 Alg. 4.4), clustered by k-means (k-means++ seeding, Arthur & Vassilvitskii
 *    2007; Lloyd iterations; best of several seeded restarts), and the SMALLEST cluster
 *    with at least attack.edge_size members is the edge mode. An isolated point would
 *    not generalise; a small cluster is a mode the model sees rarely but can learn. Its
 *    p is the share of the whole training set that the cluster covers. All members are
 *    removed from honest clients' data. This is attack.edge_miner = kmeans.
 *  - mined by density (attack.edge_miner = density): the attack.edge_size source-class
 *    points of lowest log density under the whole training distribution, read from a
 *    scores file (attack.edge_scores; scenario/ft_feature_density.h estimates it in the
 *    pre-trained model's features, ft_edge_density.h ranks it); p is Definition 1's
 *    bound, the largest tail mass of the chosen points. Held out as above.
 *  - file: a .npy image array (ARDIS sevens for EMNIST, Southwest planes for CIFAR-10).
 *
 * The backdoor test set is a separate file when one is given (attack.edge_test_file,
 * as the paper code's Southwest / ARDIS test files); otherwise the set is shuffled with
 * a seeded stream and split into the attacker's share and a held-out test set
 * (attack.edge_test_fraction), a file's images in groups of attack.edge_copies
 * consecutive copies of one original that never straddle the split. Of the attacker's
 * share, attack.edge_points are sampled into D_adv (0: all, as before); the rest is a
 * disjoint pool honest holders can be given (attack.holder_pool = disjoint). All carry
 * label attack.target_class. Everything is a function of (config, training set), so
 * the coordinator and every client process derive the same set independently.
 * Randomness: stream (run.seed, round 0, client = sub-purpose, FT_RNG_EDGE). */
#ifndef FT_EDGE_H
#define FT_EDGE_H

#include <stddef.h>
#include <stdint.h>

#include "ft_dataset.h"
#include "ft_experiment.h"

typedef struct {
    ft_edge_source_t source; /* mined from the training set, or read from file */
    const char *file;        /* source=file: .npy path (borrowed from the config) */
    int source_class;        /* class mined from / true label of the file's images */
    int target_class;        /* label the attacker gives the edge points */
    uint32_t edge_size;      /* mined: minimum cluster size */
    double test_fraction;    /* share of the set held out as backdoor test set */
    const char *test_file;   /* source=file: the backdoor test set's .npy ("": split) */
    uint32_t copies;         /* source=file: consecutive images that are copies of one */
    uint32_t attack_points;  /* points of the attacker's share sampled into D_adv (0: all) */
    int clusters;            /* mined: k-means clusters (0: auto, see ft_edge_build) */
    int components;          /* mined: principal components */
    ft_edge_miner_t miner;   /* mined: k-means cluster or lowest density */
    const char *scores;      /* miner = density: log-density .npy (borrowed) */
    uint64_t seed;           /* run.seed */
} ft_edge_spec_t;

typedef struct {
    ft_dataset_t *attack;  /* attacker's edge points, labelled target_class, the
                              training set's normalisation */
    ft_dataset_t *test;    /* held-out backdoor test set, labelled target_class */
    ft_dataset_t *pool;    /* the attacker's share not sampled into D_adv (labelled
                              target_class), or NULL when every point is sampled */
    uint32_t *attack_idx;  /* mined: training-set index of each attack point; else NULL */
    uint32_t *test_idx;    /* mined: training-set index of each test point; else NULL */
    uint32_t *pool_idx;    /* mined: training-set index of each pool point; else NULL */
    uint32_t *excluded;    /* sorted training-set indices kept out of honest data */
    uint32_t num_excluded; /* length of excluded (0 for file sets) */
    double p;              /* mined: k-means, share of the training set the mode covers;
                              density, the largest tail mass of its points (Definition 1's
                              bound: ft_edge_density.h); file: 0 */
    double p_min;          /* density: the smallest tail mass of its points; else 0 */
    uint32_t class_size;   /* mined: samples of the source class */
    int clusters;          /* mined: k-means clusters used */
    int chosen;            /* mined: index of the chosen cluster */
    uint32_t cluster_sizes[FT_EDGE_MAX_CLUSTERS]; /* mined: members per cluster */
    double seconds;                               /* wall time of the build */
} ft_edge_set_t;

/* Fills spec from the [attack] section a (values already range-checked) and run.seed.
 * FT_ECONFIG (naming the key) for a class outside [0, num_classes) of the dataset
 * (num_classes <= 0 skips that check). */
int ft_edge_spec_from(const ft_attack_cfg_t *a, uint64_t seed, int num_classes,
                      ft_edge_spec_t *spec);

/* Builds the edge set from the training set. Mined: clusters = spec->clusters, or
 * when 0, clamp(class_size / (4 * edge_size), 2, 32). FT_EINVAL (with a message that
 * names the key to change) when the class has no cluster of edge_size members;
 * FT_EIO/FT_EFORMAT for a bad file (its H×W or channels differ from the training
 * set); FT_ENOMEM. *out is NULL on error. */
int ft_edge_build(const ft_edge_spec_t *spec, const ft_dataset_t *train, ft_edge_set_t **out);
void ft_edge_destroy(ft_edge_set_t **e_p);

/* The training-set indices honest clients may hold: [0, train_n) minus e->excluded,
 * ascending, in a new array (*pool, caller frees with ft_free). e may be NULL (all
 * indices). FT_ENOMEM. */
int ft_edge_honest_pool(const ft_edge_set_t *e, uint32_t train_n, uint32_t **pool,
                        uint32_t *pool_n);

/* Top-k principal subspace of the rows of X (n×D): writes the row mean (D) and an
 * orthonormal basis V (D×k, column j = component j) found by randomized subspace
 * iteration (iters power steps) from a Gaussian start drawn from the seed. X is
 * not modified. FT_ENOMEM. */
int ft_edge_pca(const float *X /* n×D */, uint32_t n, int D, int k, int iters, uint64_t seed,
                float *mean /* D */, float *V /* D×k */);

/* k-means of the rows of P (n×k) into `clusters` clusters: k-means++ seeding and
 * Lloyd iterations until no assignment changes (at most 100), best inertia of
 * `restarts` seeded runs. Writes assign (n) and sizes (clusters). clusters <= n.
 * Returns the inertia (sum of squared distances) or a negative FT_ENOMEM. */
double ft_edge_kmeans(const double *P /* n×k */, uint32_t n, int k, int clusters, int restarts,
                      uint64_t seed, uint32_t *assign /* n */, uint32_t *sizes /* clusters */);

#endif
