/* ft_linalg: leading eigenpairs of small symmetric matrices (LAPACK dsyevr) and the
 * Gram/centering helpers around them; see ft_linalg.h. */
#include "ft_linalg.h"

#include "ft_error.h"

#include <assert.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

/* dsyevr's documented minimum workspaces: LWORK >= 26 K, LIWORK >= 10 K. */
#define EIG_LWORK(K)  (26 * (K) + 1)
#define EIG_LIWORK(K) (10 * (K) + 1)

size_t ft_sym_top_eig_ws(size_t K)
{
    return ft_ws_bytes(K * K * sizeof(double)) + ft_ws_bytes(K * K * sizeof(double)) +
           ft_ws_bytes(K * sizeof(double)) + ft_ws_bytes(EIG_LWORK(K) * sizeof(double)) +
           ft_ws_bytes(EIG_LIWORK(K) * sizeof(lapack_int)) +
           ft_ws_bytes(2 * K * sizeof(lapack_int));
}

int ft_sym_top_eig(const double *G, size_t K, size_t m, double *lambda, double *vec, ft_ws_t *ws)
{
    assert(K >= 1 && m >= 1 && m <= K);
    double *A = ft_ws_take(ws, K * K * sizeof(double));
    double *Z = ft_ws_take(ws, K * K * sizeof(double));
    double *w = ft_ws_take(ws, K * sizeof(double));
    double *work = ft_ws_take(ws, EIG_LWORK(K) * sizeof(double));
    lapack_int *iwork = ft_ws_take(ws, EIG_LIWORK(K) * sizeof(lapack_int));
    lapack_int *isuppz = ft_ws_take(ws, 2 * K * sizeof(lapack_int));
    for (size_t i = 0; i < K * K; i++) {
        if (!isfinite(G[i]))
            return ft_error_set(FT_EINVAL, "eigen-decomposition of a matrix holding NaN/Inf");
        A[i] = G[i];
    }
    lapack_int n = (lapack_int)K, found = 0;
    /* Column-major on a symmetric matrix is the same matrix; the _work variant in
     * column-major order calls LAPACK directly, without allocating. */
    lapack_int info = LAPACKE_dsyevr_work(
        LAPACK_COL_MAJOR, 'V', 'I', 'U', n, A, n, 0.0, 0.0, n - (lapack_int)m + 1, n, 0.0, &found,
        w, Z, n, isuppz, work, (lapack_int)EIG_LWORK(K), iwork, (lapack_int)EIG_LIWORK(K));
    if (info != 0 || found != (lapack_int)m)
        return ft_error_set(FT_EINVAL, "LAPACK dsyevr failed (info %d, %d of %zu eigenpairs)",
                            (int)info, (int)found, m);
    /* dsyevr returns ascending eigenvalues; column c of Z is the vector of w[c]. */
    for (size_t r = 0; r < m; r++) {
        size_t c = m - 1 - r;
        lambda[r] = w[c];
        memcpy(vec + r * K, Z + c * K, K * sizeof(double));
    }
    return FT_OK;
}

void ft_gram_dd(const double *X, size_t K, size_t b, double *G)
{
    for (size_t i = 0; i < K; i++)
        for (size_t k = i; k < K; k++) {
            const double *a = X + i * b, *c = X + k * b;
            double s = 0;
            for (size_t j = 0; j < b; j++)
                s += a[j] * c[j];
            G[i * K + k] = G[k * K + i] = s;
        }
}

void ft_center_cols(double *X, size_t K, size_t b)
{
    for (size_t j = 0; j < b; j++) {
        double mu = 0;
        for (size_t i = 0; i < K; i++)
            mu += X[i * b + j];
        mu /= (double)K;
        for (size_t i = 0; i < K; i++)
            X[i * b + j] -= mu;
    }
}

int ft_lbfgs_hvp(const float *const *S, const float *const *Y, size_t m, size_t N, const float *v,
                 float *out, double *work)
{
    assert(m >= 1);
    size_t n2 = 2 * m;
    double *StY = work, *StS = StY + m * m, *M = StS + m * m, *p = M + n2 * n2;
    lapack_int *ipiv = (lapack_int *)(p + n2);
    for (size_t a = 0; a < m; a++)
        for (size_t b = 0; b < m; b++) {
            StY[a * m + b] = ft_dot(S[a], Y[b], N);
            StS[a * m + b] = b < a ? StS[b * m + a] : ft_dot(S[a], S[b], N);
        }
    double sigma = StY[(m - 1) * m + (m - 1)] / StS[(m - 1) * m + (m - 1)];
    for (size_t a = 0; a < n2 * n2; a++)
        M[a] = 0;
    for (size_t a = 0; a < m; a++)
        for (size_t b = 0; b < m; b++) {
            double L = a > b ? StY[a * m + b] : 0.0; /* strictly lower part of SᵀY */
            M[a * n2 + b] = sigma * StS[a * m + b];
            M[a * n2 + m + b] = L;
            M[(m + b) * n2 + a] = L; /* Lᵀ block */
        }
    for (size_t a = 0; a < m; a++)
        M[(m + a) * n2 + m + a] = -StY[a * m + a];
    for (size_t a = 0; a < m; a++) {
        p[a] = sigma * ft_dot(S[a], v, N);
        p[m + a] = ft_dot(Y[a], v, N);
    }
    for (size_t a = 0; a < n2 * n2; a++)
        if (!isfinite(M[a]))
            return ft_error_set(FT_EINVAL, "L-BFGS: non-finite curvature pairs");
    /* M is symmetric, so its row-major array is also its column-major one */
    lapack_int info = LAPACKE_dgesv_work(LAPACK_COL_MAJOR, (lapack_int)n2, 1, M, (lapack_int)n2,
                                         ipiv, p, (lapack_int)n2);
    if (info != 0)
        return ft_error_set(FT_EINVAL, "L-BFGS: singular compact matrix (info %d)", (int)info);
    for (size_t j = 0; j < N; j++) {
        double acc = sigma * v[j];
        for (size_t a = 0; a < m; a++)
            acc -= sigma * p[a] * S[a][j] + p[m + a] * Y[a][j];
        out[j] = (float)acc;
    }
    return FT_OK;
}
