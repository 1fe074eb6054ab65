/* ft_cluster: density clustering over a precomputed distance matrix, shared by the
 * filtering defenses (internal to defenses/):
 *  - DBSCAN (Ester et al., KDD 1996) with scikit-learn's semantics, for SignGuard's
 *    sign statistics (FLPoison's default clustering);
 *  - HDBSCAN (Campello, Moulavi and Sander, PAKDD 2013; McInnes et al., JOSS 2017)
 *    with the `hdbscan` package's semantics, for FLAME: mutual reachability, minimum
 *    spanning tree (Prim), single-linkage hierarchy, condensed tree, excess-of-mass
 *    cluster selection and its labelling (allow_single_cluster included).
 *  - k-means (Lloyd from given centres, k-means++ seeding from a stream) and the gap
 *    statistic (Tibshirani, Walther and Hastie, JRSS-B 2001) that picks k, for RFLBAT.
 * All are O(n²) (or O(n k d) per Lloyd step) in the n points (a round's clients) and
 * allocation free. */
#ifndef FT_CLUSTER_H
#define FT_CLUSTER_H

#include <stddef.h>

#include "ft_defense_util.h"
#include "ft_rng.h"

/* Bytes ft_dbscan takes for up to n points. */
size_t ft_dbscan_ws(size_t n);
/* labels (n) = DBSCAN clusters of the n points with distances D (n×n, symmetric):
 * point i is a core point if at least min_samples points (itself included) lie at
 * distance <= eps; clusters are grown from the cores in index order and numbered
 * 0, 1, ... in that order; a border point joins the first cluster that reaches it;
 * the rest are noise (-1). Returns the number of clusters. */
int ft_dbscan(const double *D, size_t n, double eps, size_t min_samples, int *labels, ft_ws_t *ws);

/* Bytes ft_hdbscan takes for up to n points. */
size_t ft_hdbscan_ws(size_t n);
/* labels (n) = HDBSCAN clusters of the n >= 2 points with distances D (n×n,
 * symmetric, finite, >= 0), as hdbscan.HDBSCAN(metric="precomputed",
 * min_cluster_size=mcs, min_samples=min_samples, allow_single_cluster=allow_single,
 * cluster_selection_method="eom") labels them: core distance = distance to the
 * min(min_samples, n-1)-th nearest point (the point itself is the 0-th), mutual
 * reachability max(core_i, core_j, d_ij), selected clusters numbered in the order of
 * their condensed-tree ids, noise -1. With a single selected cluster that is the
 * root (allow_single), a point is in it only if it left the root at the root's
 * largest λ = 1/distance, as the package does. Returns the number of clusters. */
int ft_hdbscan(const double *D, size_t n, size_t mcs, size_t min_samples, int allow_single,
               int *labels, ft_ws_t *ws);

/* k-means++ seeding (Arthur and Vassilvitskii, SODA 2007): the first centre is a
 * uniform point, each next one a point drawn with probability proportional to its
 * squared distance to the nearest centre so far (the lowest index once all are 0).
 * init (k) receives the chosen points' indices. X is n×d, 1 <= k <= n. */
void ft_kmeanspp_init(const double *X, size_t n, size_t d, size_t k, ft_rng_t *rng,
                      uint32_t *init /* k */, double *tmp /* n */);

/* Lloyd's k-means from the centres X[init[c]]: assign each point to its nearest centre
 * (lowest index on ties), move each centre to the mean of its points (a centre
 * left without points stays where it is), until no assignment changes or max_iter
 * steps. labels (n), centers (k×d). Returns the within-cluster sum of Euclidean
 * distances to the centres (the gap statistic's W_k as BackFed computes it). */
double ft_kmeans(const double *X, size_t n, size_t d, size_t k, const uint32_t *init,
                 size_t max_iter, int *labels, double *centers, double *counts /* k */,
                 double *inertia /* sum of squared distances, or NULL */);

/* Which gap statistic: the two references compute it differently. */
typedef enum {
    FT_GAP_RFLBAT = 0,    /* BackFed (RFLBAT): W = sum of distances, gap = mean log W* - log W */
    FT_GAP_FLDETECTOR = 1 /* FLPoison (FLDetector): W = inertia, gap = log mean W* - log W */
} ft_gap_kind_t;

/* Bytes ft_gap_statistic takes for up to n points in d dimensions. */
size_t ft_gap_ws(size_t n, size_t d);
/* The number of clusters of X (n×d, n >= 1) by the gap statistic (Tibshirani et al.
 * 2001) as the references compute it: the data min-max scaled per dimension to
 * [0, 1]; for k = 1..kmax (kmax <= n) W_k of ft_kmeans (k-means++ from rng) and, for
 * B uniform reference sets of n points in [0,1]^d, W*_k; gap_k and s_k = std(log
 * W*_k) sqrt(1 + 1/B) as kind says; the answer is the first k < kmax with gap_k >=
 * gap_{k+1} - s_{k+1}, else kmax (the paper's rule; FLPoison's FLDetector returns
 * k + 1 there, which makes it detect an attack in every round). */
size_t ft_gap_statistic(const double *X, size_t n, size_t d, size_t kmax, size_t B,
                        ft_gap_kind_t kind, ft_rng_t *rng, ft_ws_t *ws);

/* The optimal 2-means split of n >= 2 values x (1-D k-means has an exact solution:
 * a threshold in sorted order minimising the summed squared error; the lowest such
 * threshold on ties). labels (n): 1 for the values above the threshold, else 0.
 * tmp holds n doubles. */
void ft_two_means_1d(const double *x, size_t n, int *labels, double *tmp);

#endif
