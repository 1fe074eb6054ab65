/* ft_linalg: the dense linear algebra the defenses share (internal to defenses/):
 * the leading eigenpairs of a small symmetric matrix through LAPACK's MRRR solver
 * (dsyevr), and from them the top singular directions of a centred K×b matrix
 * (DnC's outlier scores, PCA). K is small (the clients of a round), so the K×K
 * Gram matrix is formed and decomposed instead of the K×b matrix itself: for
 * X = U S Vᵀ, X Xᵀ = U S² Uᵀ, and the projection of row i on the top right
 * singular vector v is (X v)_i = s u_i, so its square is λ u_i² with λ = s².
 *
 * Allocation free: LAPACK's workspace comes from the caller's (col-major dsyevr_work,
 * which LAPACKE passes straight through). */
#ifndef FT_LINALG_H
#define FT_LINALG_H

#include <stddef.h>

#include "ft_defense_util.h"

/* Bytes ft_sym_top_eig takes from a workspace for a K×K matrix (as ft_ws_bytes sums). */
size_t ft_sym_top_eig_ws(size_t K);

/* The m largest eigenvalues of the symmetric K×K matrix G (row-major, only its
 * values matter, not which triangle) in descending order into lambda (m), and their
 * unit eigenvectors into vec (m×K, row r for lambda[r]). 1 <= m <= K. G is not
 * modified. Returns FT_OK, or FT_EINVAL if G holds NaN/Inf or LAPACK fails. */
int ft_sym_top_eig(const double *G, size_t K, size_t m, double *lambda, double *vec, ft_ws_t *ws);

/* G (K×K) = X Xᵀ for X (K×b, row-major doubles), accumulated in double. */
void ft_gram_dd(const double *X, size_t K, size_t b, double *G);

/* Centres the columns of X (K×b) in place: X[i][j] -= mean_i X[i][j]. */
void ft_center_cols(double *X, size_t K, size_t b);

#endif
