/* ft_defense_cores: the deterministic cores of the randomised rules, with their
 * random draws as arguments (internal to defenses/). Each rule's aggregate draws
 * from in->rng and calls its core; tests call the core with the draws a NumPy
 * reference made (tests/fixtures/defenses/), so golden values need no shared RNG.
 *
 * Dimension letters: K updates, N parameters, b coordinates per subsample. */
#ifndef FT_DEFENSE_CORES_H
#define FT_DEFENSE_CORES_H

#include <stddef.h>
#include <stdint.h>

#include "ft_defense.h"
#include "ft_defense_util.h"

/* DnC (dnc.c): bytes ft_dnc_iter takes from a workspace for up to max_k rows. */
size_t ft_dnc_iter_ws(size_t max_k);
/* One iteration of Shejwalkar & Houmansadr NDSS 2021 Alg. 2 over the Kf rows listed
 * in rows: their subsample at the b coordinates cols, centred, is scored by its
 * squared projection on the top right singular vector (score_i = λ u_i²), and
 * only the min(keep, Kf) lowest scores (lowest row on ties) stay kept: kept[rows[r]]
 * is cleared for the others, and score[rows[r]] += the score / iters. X (Kf×b
 * doubles) is scratch. FT_EINVAL if LAPACK fails. */
int ft_dnc_iter(const float *U, size_t N, const uint32_t *rows, size_t Kf, const uint32_t *cols,
                size_t b, size_t keep, size_t iters, double *X, uint8_t *kept, double *score,
                ft_ws_t *ws);

/* Bucketing (bucketing.c): the aggregate with the permutation given: perm (K) lists
 * the rows in shuffled order; bucket t holds perm[t s .. min((t+1) s, K)). */
int ft_bucketing_core(void *state, const ft_defense_input_t *in, const uint32_t *perm,
                      float *out /* N */, ft_defense_decision_t *dec /* K */, void *workspace);

/* SignGuard (signguard.c): the aggregate with the sign window's first coordinate
 * given (start <= N - floor(fraction N)); the noise-free rule is then deterministic. */
int ft_signguard_core(void *state, const ft_defense_input_t *in, size_t start, float *out /* N */,
                      ft_defense_decision_t *dec /* K */, void *workspace);

/* RFLBAT (rflbat.c): the aggregate with k given (n_clusters > 0; 0: the gap statistic
 * from in->rng) and the k-means seeds given (init: k indices into the stage-1
 * accepted points, in row order; NULL: k-means++ from in->rng). */
int ft_rflbat_core(void *state, const ft_defense_input_t *in, size_t n_clusters,
                   const uint32_t *init, float *out /* N */, ft_defense_decision_t *dec /* K */,
                   void *workspace);

#endif
