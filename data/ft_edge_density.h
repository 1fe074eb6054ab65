/* ft_edge_density: choosing a p-edge-case set by density (Wang et al., NeurIPS 2020,
 * "Attack of the Tails", §3, Definition 1: a set is p-edge-case when every point has
 * probability at most p under the input distribution).
 *
 * Input: one score per training sample, its log density under the WHOLE training
 * distribution (attack.edge_miner = density: scenario/ft_feature_density.h estimates it
 * in the pre-trained model's feature space). This file only ranks: the source-class
 * samples of lowest density are the edge points, and each point's p is the share of the
 * training set that is at most as dense as it is — the empirical probability mass of
 * the region {x : f(x) <= f(x_i)}, the tail the point lies in. The set's p is the
 * largest of its points' (Definition 1's bound). No model here: data/ stays below
 * model/ (docs/architecture.md). */
#ifndef FT_EDGE_DENSITY_H
#define FT_EDGE_DENSITY_H

#include <stdint.h>

/* Of the n samples with scores logf (log densities, finite) and labels, the `want`
 * samples of class cls with the lowest score (ties: lower index first) go to idx,
 * rarest first, and p_i = #{j : logf[j] <= logf[idx_i]} / n to p (may be NULL).
 * *class_n = samples of class cls. FT_EINVAL (naming attack.edge_size) when the class
 * has fewer than want samples or want is 0; FT_ENOMEM. */
int ft_edge_density_select(const float *logf, const uint8_t *labels, uint32_t n, int cls,
                           uint32_t want, uint32_t *idx /* want */, double *p /* want */,
                           uint32_t *class_n);

#endif
