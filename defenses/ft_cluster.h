/* ft_cluster: density clustering over a precomputed distance matrix, shared by the
 * filtering defenses (internal to defenses/):
 *  - DBSCAN (Ester et al., KDD 1996) with scikit-learn's semantics, for SignGuard's
 *    sign statistics (FLPoison's default clustering);
 *  - HDBSCAN (Campello, Moulavi and Sander, PAKDD 2013; McInnes et al., JOSS 2017)
 *    with the `hdbscan` package's semantics, for FLAME: mutual reachability, minimum
 *    spanning tree (Prim), single-linkage hierarchy, condensed tree, excess-of-mass
 *    cluster selection and its labelling (allow_single_cluster included).
 * Both are O(n²) in the n points (a round's clients) and allocation free. */
#ifndef FT_CLUSTER_H
#define FT_CLUSTER_H

#include <stddef.h>

#include "ft_defense_util.h"

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

#endif
