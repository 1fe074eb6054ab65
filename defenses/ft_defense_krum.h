/* ft_defense_krum: Krum scoring shared by krum, multi-krum and bulyan (internal to
 * defenses/). */
#ifndef FT_DEFENSE_KRUM_H
#define FT_DEFENSE_KRUM_H

#include "ft_defense.h"
#include "ft_defense_util.h"

/* Parameters of the Krum family, read from [defense]. */
typedef struct {
    size_t f; /* assumed attackers per round (defense.f) */
    size_t m; /* multi-krum: updates kept (defense.m; 0 = K - f) */
} ft_krum_params_t;

/* Workspace of ft_krum_scores_round for up to max_k updates. */
size_t ft_krum_round_ws(size_t max_k);

/* Pairwise squared distances D (K×K, carved from ws) of the round's updates (one
 * Gram GEMM, ft_pdist2) and each update's Krum score with K - f - 2 neighbours
 * (scores, K, carved from ws). Rows holding NaN/Inf score +inf. */
void ft_krum_scores_round(const ft_defense_input_t *in, size_t f, double **D, double **scores,
                          ft_ws_t *ws);

/* check_config and create shared by the family. */
int ft_krum_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                   void **state);
void ft_krum_destroy(void **state);

#endif
