/* ft_defense_select: the last step of every filtering rule (DnC, SignGuard, FLAME,
 * ...): the sample-weighted mean of the rows a rule kept, each optionally scaled by a
 * clip factor, with the decisions that describe it. Also the row finiteness test the
 * filters run first (a row holding NaN/Inf is never kept: no score of it means
 * anything). Internal to defenses/; allocation free.
 *
 * Decision meaning (shared with the rules' docs): a row not kept is DROPPED with
 * weight 0; a kept row has weight = its share n_i / sum_kept n of the mean (the
 * weights of the kept rows sum to 1) and clip_factor = the factor its row was scaled
 * by before averaging (REWEIGHTED when < 1, else KEPT). */
#ifndef FT_DEFENSE_SELECT_H
#define FT_DEFENSE_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "ft_defense.h"

/* finite[i] = 1 if row i of U (K×N) holds only finite values, else 0. Returns how
 * many rows are finite. */
size_t ft_rows_finite(const float *U, size_t K, size_t N, uint8_t *finite /* K */);

/* out (N) = sum over kept i of (n_i / sum_kept n) clip[i] U_i, decisions as above
 * (clip may be NULL: no clipping; score is left to the caller). w (K doubles) is
 * scratch. Returns FT_EINVAL if no row is kept or the kept rows have no samples, or
 * a count is negative or not finite (out is then untouched). */
int ft_select_mean(const ft_defense_input_t *in, const uint8_t *kept /* K */,
                   const double *clip /* K or NULL */, float *out /* N */,
                   ft_defense_decision_t *dec /* K */, double *w /* K */);

/* Median of a[0..n) (n >= 1) as numpy.median: the middle value, or the mean of the
 * two middle values for even n. Sorts a in place (insertion sort: n is a round's K). */
double ft_median_d(double *a, size_t n);

#endif
