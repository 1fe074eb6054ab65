/* ft_root: the coordinator's trusted update for FLTrust (Cao et al., NDSS 2021,
 * Alg. 1 "ModelUpdate(w, D_0, b, beta, R_l)"): each round, the server trains the
 * current global model on its small clean root dataset D_0 with the honest clients'
 * local training options (the round's lr, federation.local_epochs, batch size,
 * momentum, weight decay; a fresh optimizer) and passes the delta to the defense as
 * server_update.
 *
 * D_0 is the scenario's root set (scenario/ft_root_set.h): defense.root_size training
 * samples drawn with a seeded stream and held out of every client's data. Minibatch
 * order and dropout come from streams (run.seed, round, FT_ROOT_CLIENT_ID,
 * FT_RNG_SHUFFLE / DROPOUT), so the server update is as deterministic as a client's. */
#ifndef FT_ROOT_H
#define FT_ROOT_H

#include <stddef.h>
#include <stdint.h>

#include "ft_experiment.h"
#include "ft_ops.h"
#include "ft_scenario.h"

typedef struct ft_root ft_root_t;

/* A trainer for scn's root set (scn->root_n > 0; scn outlives it) with a model of
 * model.name on ops, trained with the honest clients' options. FT_EINVAL/FT_ECONFIG
 * from the model, FT_ENOMEM; *out NULL. */
int ft_root_new(const ft_experiment_t *exp, const ft_scenario_t *scn, const ft_ops_t *ops,
                ft_root_t **out);
void ft_root_destroy(ft_root_t **r_p);

/* Trains from global (N, host) at learning rate lr for round t and writes the
 * delta (N, host) into out. Errors from training (FT_EINVAL, FT_ENOMEM). */
int ft_root_update(ft_root_t *r, uint32_t round, float lr, const float *global /* N */,
                   float *out /* N */);

#endif
