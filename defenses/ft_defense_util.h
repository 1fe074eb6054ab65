/* ft_defense_util: building blocks shared by the aggregation rules (internal to
 * defenses/): a workspace carver, double-accumulated norms and weighted sums,
 * pairwise squared distances from one Gram-matrix GEMM, Krum scores, and
 * per-coordinate selection (median, trimmed windows) with the one column loop of
 * the coordinate-wise rules (ft_coordwise), which copes with NaN/Inf.
 *
 * Dimension letters: K updates, N parameters. Every function here is allocation
 * free: scratch comes from the caller's workspace. */
#ifndef FT_DEFENSE_UTIL_H
#define FT_DEFENSE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ft_config.h"
#include "ft_defense.h"

/* A bump allocator over a defense's workspace. */
typedef struct {
    uint8_t *p;  /* next free byte (64-byte aligned) */
    size_t left; /* bytes left */
} ft_ws_t;

/* Bytes one ft_ws_take(bytes) consumes (rounded up to 64). Sum these, plus
 * FT_WS_SLACK for aligning the base, in workspace_size so that the carving in
 * aggregate always fits. */
static inline size_t ft_ws_bytes(size_t bytes)
{
    return (bytes + 63u) & ~(size_t)63u;
}
#define FT_WS_SLACK 64u

/* Starts carving the workspace [base, base+bytes) (any alignment: the start is
 * rounded up to 64 bytes, which FT_WS_SLACK pays for). */
void ft_ws_init(ft_ws_t *ws, void *base, size_t bytes);
/* Takes bytes from ws; asserts that the workspace was sized for it. */
void *ft_ws_take(ft_ws_t *ws, size_t bytes);

/* Most columns per GEMM panel in the Gram computation (see ft_gram). */
#define FT_GRAM_PANEL 8192

/* Columns per GEMM panel for K rows (at most FT_GRAM_PANEL). */
size_t ft_gram_panel_cols(size_t K);

/* Sum of squares of x (N), accumulated in double. NaN/Inf in x give NaN/Inf. */
double ft_sumsq(const float *x, size_t N);
/* ||a - b||^2 accumulated in double. */
double ft_dist2(const float *a, const float *b, size_t N);
/* <a, b> accumulated in double. */
double ft_dot(const float *a, const float *b, size_t N);

/* acc[j] += w x[j] for j < n, in double: the inner loop of every weighted sum, for
 * a block of one row of a K×N matrix (the row's next block is prefetched). Rounds
 * alike on every CPU. */
void ft_axpy_d(double *restrict acc, size_t n, double w, const float *restrict x);

/* out (N) = sum_i w[i] * rows[i] for the K rows with w[i] != 0, accumulated in
 * double (rows with weight 0 are skipped, so a NaN row with weight 0 cannot leak).
 * rows[i] points at a row of N floats. If every weight is 0, out is zeroed. */
void ft_weighted_sum(const float *const *rows, size_t K, size_t N, const double *w, float *out);
/* The same for a contiguous K×N matrix U. */
void ft_weighted_sum_mat(const float *U, size_t K, size_t N, const double *w, float *out);

/* Workspace for ft_gram / ft_pdist2 with up to max_k rows (bytes, as ft_ws_bytes sums). */
size_t ft_gram_ws(size_t max_k);
/* G (K×K, double) = rows · rowsᵀ. Computed panel by panel (ft_gram_panel_cols)
 * with single-precision GEMM (ft_sgemm), accumulated across panels in double. Pairs
 * whose product could overflow a float (||a||·||b|| >= 1e37) or came out non-finite
 * are recomputed directly in double; rows with NaN/Inf give NaN there. norms2 (K)
 * receives each row's squared norm (the diagonal; a double pass for a row whose
 * float diagonal overflowed). If the rows are not one
 * contiguous K×N matrix (rows[i] != rows[0] + i*N), each panel is first copied
 * into workspace. */
void ft_gram(const float *const *rows, size_t K, size_t N, double *G, double *norms2, ft_ws_t *ws);

/* D (K×K) = pairwise squared L2 distances of the rows of U (K×N) from one Gram
 * GEMM: ||a-b||^2 = ||a||^2 + ||b||^2 - 2<a,b>, norms in double, negatives (float
 * cancellation between near-identical rows) clamped to 0. A row holding NaN or
 * Inf is at distance +inf from every other row (so it gets the worst Krum score).
 * bad (K, may be NULL) receives 1 for such rows. */
void ft_pdist2(const float *U, size_t K, size_t N, double *D, uint8_t *bad, ft_ws_t *ws);

/* Krum score (Blanchard et al. 2017, Sec. 4): for each i with active[i], the sum
 * of the nb smallest D[i][j] over active j != i (nb is clamped to the number of
 * such j). Inactive rows get +inf. tmp holds K doubles. */
void ft_krum_scores(const double *D, size_t K, const uint8_t *active, size_t nb, double *scores,
                    double *tmp);

/* A value and the row it came from, for per-coordinate selection. */
typedef struct {
    float v;    /* value */
    uint32_t i; /* row index */
} ft_vi_t;

/* Rearranges a[0..n) so that a[k] is the k-th smallest value, a[<k] <= a[k] <=
 * a[>k] (Hoare quickselect, median-of-three). Values must be finite. */
void ft_select_kth(ft_vi_t *a, size_t n, size_t k);

/* Fills sw (K) with the sample-count weights counts[i] / sum(counts) in double.
 * Returns FT_EINVAL (message names the client) if a count is negative or not
 * finite, or if they sum to 0. */
int ft_count_weights(const float *counts, size_t K, double *sw);

/* create of a rule that keeps no state between rounds (*state = NULL). */
int ft_defense_stateless_create(const ft_defense_cfg_t *d, size_t max_k, size_t N,
                                size_t num_clients, void **state);
/* destroy of a rule whose state is NULL (stateless) or one ft_malloc'd block (its
 * parameters): frees it and nulls *state; accepts NULL and is safe twice. */
void ft_defense_free_state(void **state);

/* Fills every decision with (decision, clip 1, score 0, weight 0, contrib_norm 0). */
void ft_decisions_init(ft_defense_decision_t *d, size_t K, ft_decision_t decision);

/* contrib_norm of a rule that sums whole rows, out = sum_i weight_i clip_i U_i:
 * |weight_i clip_i| ||U_i|| (U as submitted, K×N), 0 where the weight is 0 (so a
 * NaN row with weight 0 reports 0). One pass over the rows used. */
void ft_decisions_set_contrib(ft_defense_decision_t *d, size_t K, const float *U, size_t N);

/* Decisions of a coordinate-wise rule from how often each update fed the output:
 * used[i] of the N coordinates took update i, with share[i] its summed weight.
 * Never used: dropped; used at every coordinate: kept; otherwise reweighted. The
 * score is the share of coordinates used. */
void ft_decisions_from_usage(ft_defense_decision_t *d, size_t K, size_t N, const double *share,
                             const double *used);

/* Range checks for check_config of the value v read from key: FT_ECONFIG via
 * ft_config_error(src, key, ...), so the message names the key and where src got
 * it (why, may be NULL, is appended to the message). */
int ft_check_int_range(const ft_config_t *src, const char *key, int64_t v, int64_t lo, int64_t hi,
                       const char *why);
/* lo/hi bounds are inclusive when *_incl is nonzero; use +-INFINITY for none. */
int ft_check_float_range(const ft_config_t *src, const char *key, double v, double lo, int lo_incl,
                         double hi, int hi_incl);

/* Sums rows as ft_weighted_sum does, into a double vector (N). */
void ft_weighted_sum_d(const float *U, size_t K, size_t N, const double *w, double *out);

/* Median of a[0..n) (n >= 1; reorders a): the middle value, or the mean of the two
 * middle values when n is even (as numpy.median). lo/hi receive the rows of the
 * middle value(s) (equal when n is odd). */
double ft_median_vi(ft_vi_t *a, size_t n, uint32_t *lo, uint32_t *hi);

/* Scratch of a coordinate-wise rule (median, trimmed mean, Bulyan's second step)
 * for K updates. */
typedef struct {
    ft_vi_t *a;    /* K: one column's finite values with their rows */
    double *share; /* K: each update's summed weight in the output */
    double *used;  /* K: coordinates at which each update fed the output */
    double *sq;    /* K: sum_j (a_ij U_ij)^2, its contribution's squared norm */
    double *last;  /* K: share[i] after the last coordinate that credited i */
} ft_coord_t;

/* Bytes ft_coord_take carves for up to max_k updates (as ft_ws_bytes sums). */
size_t ft_coord_ws(size_t max_k);
/* Carves c's arrays for K updates from ws: a, share, used, sq, last. */
void ft_coord_take(ft_coord_t *c, ft_ws_t *ws, size_t K);

/* A rule at one coordinate j: a[0..n) (n >= 1) holds the column's finite values and
 * their rows, and may be reordered or overwritten. Returns out_j and, for each update
 * that feeds it, adds its weight at j to share[i] and 1 to used[i]. */
typedef double (*ft_coord_fn)(const void *ctx, size_t j, ft_vi_t *a, size_t n, double *share,
                              double *used);

/* out_j = (float)fn(ctx, j, column j's finite values) for every j < N of U (K×N),
 * over the rows with sel[i] (every row when sel is NULL); a column without a
 * finite value gets 0 (no change). NaN/Inf are left out first because NaN breaks
 * every comparison a selection relies on. c->share and c->used start at 0 and
 * end as the usage over the N coordinates (for ft_decisions_from_usage), c->sq as
 * each row's contribution norm squared (for ft_coord_decisions). */
void ft_coordwise(const float *U, size_t K, size_t N, const uint8_t *sel, ft_coord_fn fn,
                  const void *ctx, ft_coord_t *c, float *out /* N */);

/* ft_decisions_from_usage from c after ft_coordwise, with contrib_norm = sqrt(sq). */
void ft_coord_decisions(ft_defense_decision_t *d, size_t K, size_t N, const ft_coord_t *c);

/* The aggregate of a coordinate-wise rule over every update (median, trimmed
 * mean): ft_coordwise over all K rows, then ft_coord_decisions. workspace
 * holds FT_WS_SLACK + ft_coord_ws(K) bytes. */
void ft_coord_aggregate(const ft_defense_input_t *in, ft_coord_fn fn, const void *ctx,
                        float *out /* N */, ft_defense_decision_t *dec /* K */, void *workspace);

#endif
