/* ft_pretrain_cache: federation.init = pretrain — a centralised model ([train] on the
 * honest pool, model/ft_pretrain.h) trained once and reused, kept in run.cache_dir
 * under a digest of everything that determines it: the [data], [model] and [train]
 * keys, run.seed and the indices held out of the pool. So the demo and every arm of a
 * comparison with the same data pay for it once. */
#ifndef FT_PRETRAIN_CACHE_H
#define FT_PRETRAIN_CACHE_H

#include "ft_config.h"

/* Trains (progress on stderr unless quiet) or reuses the cached model for cfg, and
 * points cfg's federation.init at its model.ckpt. Errors: FT_ECONFIG naming the key
 * (the experiment is invalid), the training's errors (model/ft_pretrain.h); cfg is
 * then unchanged. */
int ft_pretrain_cached(ft_config_t *cfg, int quiet);

/* attack.edge_miner = density without attack.edge_scores: computes (once; then reused)
 * every training sample's log density in the penultimate features of the model
 * pre-trained on the WHOLE training set (scenario/ft_feature_density.h), writes it to
 * density-gmm.npy beside that model in run.cache_dir, and points cfg's
 * attack.edge_scores at it. Any other experiment: nothing. Errors as above. */
int ft_edge_scores_cached(ft_config_t *cfg, int quiet);

#endif
