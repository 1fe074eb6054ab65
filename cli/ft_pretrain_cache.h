/* ft_pretrain_cache: federation.init = pretrain — a centralised model ([train] on the
 * honest pool, model/ft_pretrain.h) trained once and reused, kept in run.cache_dir
 * under a digest of everything that determines it: the [data], [model] and [train]
 * keys, run.seed and the indices held out of the pool. So the demo and every arm of a
 * comparison with the same data pay for it once. */
#ifndef FT_PRETRAIN_CACHE_H
#define FT_PRETRAIN_CACHE_H

#include "ft_config.h"
#include "ft_variants.h"

/* Trains (progress on stderr unless quiet) or reuses the cached model for cfg, and
 * points cfg's federation.init at its model.ckpt. Errors: FT_ECONFIG naming the key
 * (the experiment is invalid), the training's errors (model/ft_pretrain.h); cfg is
 * then unchanged. */
int ft_pretrain_cached(ft_config_t *cfg, int quiet);

/* federation.init = pretrain for a run of the n arms v of run.compare (n = 0: the
 * single run cfg, as ft_pretrain_cached): ONE model for every arm, pre-trained on the
 * training indices that no arm holds out — the union of every arm's edge points
 * (and backdoor test points) is left out, so no arm starts from a model that has
 * seen another arm's (or its own) edge set — and points cfg's federation.init at it,
 * so every arm (ft_variant_config of cfg) starts from it. Its pool.json beside
 * model.ckpt records pool_n. Errors: FT_ECONFIG naming the arm and key when an arm
 * changes a key that shapes the model ([data], [model], [train], run.seed,
 * run.cache_dir, federation.init); as ft_pretrain_cached. cfg is unchanged on error
 * and when the base does not pre-train. */
int ft_pretrain_for_arms(ft_config_t *cfg, const ft_variant_t *v, int n, int quiet);

/* attack.edge_miner = density without attack.edge_scores: computes (once; then reused)
 * every training sample's log density in the penultimate features of the model
 * pre-trained on the WHOLE training set (scenario/ft_feature_density.h), writes it to
 * density-gmm.npy beside that model in run.cache_dir, and points cfg's
 * attack.edge_scores at it. Any other experiment: nothing. Errors as above. */
int ft_edge_scores_cached(ft_config_t *cfg, int quiet);

#endif
