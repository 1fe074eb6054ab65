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

/* The fewest updates a rule of the family works with for f attackers: K > mult f +
 * add (strict: Krum and Multi-Krum, K > 2f + 2) or K >= mult f + add (Bulyan, K >=
 * 4f + 3). */
typedef struct {
    const char *rule; /* in load-time messages: "Krum", "Multi-Krum", "Bulyan" */
    const char *name; /* in per-round messages: the registry name */
    int64_t mult;     /* factor of f in the bound */
    int64_t add;      /* constant of the bound */
    int strict;       /* 1: K must exceed the bound; 0: K must reach it */
} ft_krum_bound_t;

/* check_config of the family's defense.f: >= 0, and K = max_k meeting bound b.
 * FT_ECONFIG via ft_config_error(d->src, "defense.f", ...) naming the bound. */
int ft_krum_check_f(const ft_defense_cfg_t *d, size_t max_k, const ft_krum_bound_t *b);

/* The same for a round that closed with K updates: FT_EINVAL (the round keeps the
 * old model) when K does not meet bound b for f. */
int ft_krum_check_round(size_t K, size_t f, const ft_krum_bound_t *b);

/* Workspace of ft_krum_scores_round for up to max_k updates. */
size_t ft_krum_round_ws(size_t max_k);

/* Pairwise squared distances D (K×K, carved from ws) of the round's updates (one
 * Gram GEMM, ft_pdist2) and each update's Krum score with K - f - 2 neighbours
 * (scores, K, carved from ws). Rows holding NaN/Inf score +inf. */
void ft_krum_scores_round(const ft_defense_input_t *in, size_t f, double **D, double **scores,
                          ft_ws_t *ws);

/* create shared by the family (the state is ft_krum_params_t; destroy is
 * ft_defense_free_state). */
int ft_krum_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                   void **state);

#endif
