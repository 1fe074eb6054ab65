/* ft_root_set: the server's root dataset D_0 for FLTrust (Cao et al., NDSS 2021, §4:
 * "the service provider manually collects a small clean training dataset"). fedtail
 * draws it from the honest pool — defense.root_size training samples chosen with the
 * stream (run.seed, 0, FT_ROOT_CLIENT_ID, FT_RNG_DEFENSE) — and holds it out of
 * every client's data, so the server's data is its own. */
#ifndef FT_ROOT_SET_H
#define FT_ROOT_SET_H

#include <stdint.h>

#include "ft_experiment.h"

/* The client id the server's own root-set training uses in its random streams
 * (root-set draw, shuffle, dropout): never a real client (ids < num_clients < 2^32). */
#define FT_ROOT_CLIENT_ID UINT32_MAX

/* Draws defense.root_size of the pool's pool_n indices (partial Fisher-Yates from the
 * root stream) into a new array *root (ascending; free with ft_free; *root_n entries)
 * and removes them from pool, which stays ascending (*pool_n shrinks accordingly).
 * FT_ECONFIG naming defense.root_size when it is not in [1, pool_n); FT_ENOMEM. */
int ft_root_set_draw(const ft_experiment_t *exp, uint32_t *pool, uint32_t *pool_n, uint32_t **root,
                     uint32_t *root_n);

#endif
