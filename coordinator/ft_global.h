/* ft_global: the coordinator's model state — the global model (N), the round's
 * K×N update matrix, the aggregation defense, and the evaluation model + test set.
 *
 * Memory is independent of num_clients: (max_k + 3)·N floats plus the test set and
 * the defense workspace, all allocated once in ft_global_new. */
#ifndef FT_GLOBAL_H
#define FT_GLOBAL_H

#include <stddef.h>
#include <stdint.h>

#include "ft_dataset.h"
#include "ft_experiment.h"
#include "ft_defense.h"
#include "ft_model.h"

typedef struct ft_global ft_global_t;

/* For the experiment exp (outlives the result; already read and range-checked):
 * checks the defense's values against K, picks the run.device back end (FT_EUNSUPPORTED when it
 * names CUDA and none is available), loads the test set, builds the evaluation model (model.name),
 * initialises the global model from federation.init ("random": ft_model_init with
 * stream (seed, 0, 0, FT_RNG_INIT); else a checkpoint with the same layout hash),
 * and creates the defense defense.name for max_k updates (FT_ECONFIG naming a
 * [defense] key that does not fit). On error returns the
 * failing module's code (FT_EIO, FT_ECONFIG, FT_EINVAL, FT_ENOMEM...) with its
 * message; *out stays NULL. */
int ft_global_new(const ft_experiment_t *exp, size_t max_k, ft_global_t **out);
/* The defense checks ft_global_new makes before it loads anything, for callers that
 * check an experiment before its run (fedtail run, fedtail sweep): the rule can run
 * under security.secure_aggregation when that is on, then its values against K
 * (ft_defense_check). FT_ECONFIG naming defense.name or the key. */
int ft_global_check(const ft_experiment_t *exp);
void ft_global_destroy(ft_global_t **g_p);

/* The server set of a rule whose probe needs one (FLARE): samples idx[0..n) of ds,
 * the root set (n <= defense.root_size). Nothing for other rules. FT_EINVAL. */
int ft_global_set_server_set(ft_global_t *g, const ft_dataset_t *ds, const uint32_t *idx, size_t n);

size_t ft_global_num_params(const ft_global_t *g);
const uint8_t *ft_global_layout_hash(const ft_global_t *g); /* 32 bytes */
const float *ft_global_params(const ft_global_t *g);        /* N, host */
/* Row i (< max_k) of the update matrix, N floats, host. */
float *ft_global_row(ft_global_t *g, size_t i);
/* The defense in use. */
const ft_defense_t *ft_global_defense(const ft_global_t *g);
/* The evaluation model (holds the global model after ft_global_evaluate). */
ft_model_t *ft_global_model(ft_global_t *g);
/* The test set. */
const ft_dataset_t *ft_global_test(const ft_global_t *g);
/* L2 norm of row i. */
double ft_global_row_norm(const ft_global_t *g, size_t i);
/* How many of the global model's N parameters are NaN or ±Inf: one pass over the
 * host copy, reading only the exponent bits (no allocation, no failure). */
size_t ft_global_count_nonfinite(const ft_global_t *g);

/* Aggregates rows 0..K of the update matrix (from clients ids[0..K), ascending,
 * with sample counts counts[0..K)) through the defense and adds the result to the
 * global model. server_update (N, may be NULL) is the trusted root-set update for
 * rules that need one (FLTrust). The defense may modify the rows in place, and the
 * rows' memory is released afterwards (a matrix of 32 MiB or more). scratch
 * (N, may be NULL) is where the aggregated delta is built; with NULL, ft_global uses
 * a vector of its own, allocated on first need (FT_ENOMEM). Noise of
 * randomised rules comes from stream (run.seed, round, 0, FT_RNG_NOISE), as in
 * `fedtail aggregate --round`. decisions receives one entry per row. Returns FT_OK,
 * or the defense's error code (the global model is then unchanged). */
int ft_global_aggregate(ft_global_t *g, uint32_t round, size_t K, const uint32_t *ids,
                        const float *counts, const float *server_update, float *scratch,
                        ft_defense_decision_t *decisions /* K */);

/* Evaluates the global model on the test set. FT_ENOMEM. */
int ft_global_evaluate(ft_global_t *g, ft_eval_t *out);

/* Writes the global model as a checkpoint with meta text (may be NULL). FT_EIO. */
int ft_global_save(const ft_global_t *g, const char *path, const char *meta);
/* The same with extra bytes (e.g. ft_global_defense_state) stored beside the model.
 * FT_EIO naming the file; the previous file at path is left intact on error. */
int ft_global_save_extra(const ft_global_t *g, const char *path, const char *meta,
                         const void *extra, size_t extra_len);

/* The defense's cross-round state (state_save: FoolsGold history, centered
 * clipping's momentum, ...) in a new buffer (*buf, free with ft_free; NULL and *len
 * 0 for a stateless rule). FT_ENOMEM. */
int ft_global_defense_state(const ft_global_t *g, uint8_t **buf, size_t *len);
/* Resuming: sets the global model to params (N) and the defense's state from
 * state[0..len) (len 0 for a stateless rule). FT_EFORMAT "field defense state: ..."
 * when the state does not fit this rule (bytes for a stateless rule, none for a
 * stateful one, or refused by its state_load); the model and the state are then
 * left unchanged. */
int ft_global_restore(ft_global_t *g, const float *params /* N */, const uint8_t *state,
                      size_t len);

#endif
