/* ft_holdings: which honest clients hold true-label copies of the attacker's edge
 * points — the paper's non-edge baselines (Wang et al. 2020 §4, "Edge-case vs
 * non-edge-case"; paper code datasets.py *_NormalCase_truncated).
 *
 * almost-edge-case: the honest holders (ids 0..honest_edge_holders-1, the lowest, so
 * never an attacker) share ONE copy of the points, split in contiguous parts as the
 * paper code's array_split; normal-case: EVERY holder holds a full copy, so the points
 * are common. In the edge case (or without an edge-case attack) nobody holds any.
 *
 * With attack.holder_pool = disjoint the holders instead hold a pool of the same
 * source that the attacker never trains on — the edge points not sampled into D_adv —
 * as the paper code gives its honest users a separate file of Southwest images / ARDIS
 * sevens (datasets.py:223-233, 381-406): split in contiguous parts in the almost-edge
 * case, the whole pool each in the normal case. The official normal-case pool (700
 * images over users 0-9) is 7x its almost-edge pool (100 over users 0-4); a mined mode
 * leaves too few points for two pools that size, so normal-case holders share the one
 * pool whole: ten holders then train on 10x the almost-edge case's true-label points
 * (split among five), the ratio the official code sets. */
#ifndef FT_HOLDINGS_H
#define FT_HOLDINGS_H

#include <stdint.h>

#include "ft_attack.h"
#include "ft_dataset.h"

typedef struct ft_holdings ft_holdings_t;

/* The holdings of env's edge-case attack under its attack_case. *out is NULL when
 * nobody holds copies (edge case, no edge set, or no holders). FT_ENOMEM. */
int ft_holdings_new(const ft_attack_env_t *env, ft_holdings_t **out);
void ft_holdings_destroy(ft_holdings_t **h_p);

/* Copies client id holds (0 for anyone but a holder; h may be NULL). */
uint32_t ft_holdings_count(const ft_holdings_t *h, uint32_t id);

/* Honest client id's training set: its partition (train samples idx[0..n)) followed
 * by its true-label copies, as a new dataset. *out = NULL when id holds none (train
 * on train/idx as usual; h may be NULL). FT_ENOMEM. */
int ft_holdings_dataset(const ft_holdings_t *h, uint32_t id, const ft_dataset_t *train,
                        const uint32_t *idx, uint32_t n, ft_dataset_t **out);

#endif
