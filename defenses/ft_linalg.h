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

/* Doubles of scratch ft_lbfgs_hvp needs for m pairs. */
#define FT_LBFGS_WORK(m) (6 * (m) * (m) + 8 * (m) + 8)

/* The L-BFGS estimate H v of a Hessian-vector product from the m (s, y) pairs S[0..m)
 * and Y[0..m) (oldest first; N each), by the compact representation (Byrd, Nocedal
 * and Schnabel, Math. Prog. 1994, Thm 2.2), as FLDetector (Zhang et al. KDD 2022,
 * Alg. 1) and FLPoison's LBFGS use it: with StY = SᵀY = L + R (R upper triangular
 * with the diagonal D), σ = y_mᵀs_m / s_mᵀs_m,
 *   H v = σ v - [σ S, Y] [[σ SᵀS, L], [Lᵀ, -D]]⁻¹ [σ Sᵀ v; Yᵀ v].
 * out (N) receives it. FT_EINVAL if the 2m×2m system is singular or not finite. */
int ft_lbfgs_hvp(const float *const *S, const float *const *Y, size_t m, size_t N, const float *v,
                 float *out, double *work);

#endif
