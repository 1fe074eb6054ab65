/* ft_root: the coordinator's trusted update for FLTrust (Cao et al., NDSS 2021,
 * Alg. 1 "ModelUpdate(w, D_0, b, beta, R_l)"): each round, the server trains the
 * current global model on its small clean root dataset D_0 with the honest clients'
 * local training options (the round's lr, federation.local_epochs, batch size,
 * momentum, weight decay; a fresh optimizer) and passes the delta to the defense as
 * server_update.
 *
 * D_0 is ft_population's root set: defense.root_size training samples drawn with a
 * seeded stream and held out of every client's data. Minibatch order and dropout come
 * from streams (run.seed, round, FT_POPULATION_ROOT_ID, FT_RNG_SHUFFLE / DROPOUT), so
 * the server update is as deterministic as a client's. */
#ifndef FT_ROOT_H
#define FT_ROOT_H

#include <stddef.h>
#include <stdint.h>

#include "ft_config.h"
#include "ft_ops.h"
#include "ft_population.h"

typedef struct ft_root ft_root_t;

/* A trainer for pop's root set (pop->root_n > 0; pop outlives it) with a model of
 * model.name on ops. FT_EINVAL/FT_ECONFIG from the model, FT_ENOMEM; *out NULL. */
int ft_root_new(const ft_config_t *cfg, const ft_population_t *pop, const ft_ops_t *ops,
                ft_root_t **out);
void ft_root_destroy(ft_root_t **r_p);

/* Trains from global (N, host) at learning rate lr for round t and writes the
 * delta (N, host) into out. Errors from training (FT_EINVAL, FT_ENOMEM). */
int ft_root_update(ft_root_t *r, uint32_t round, float lr, const float *global /* N */,
                   float *out /* N */);

#endif
