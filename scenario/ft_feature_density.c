/* ft_feature_density: a tied-covariance class-conditional Gaussian mixture over a
 * pre-trained model's penultimate features (Lee et al., NeurIPS 2018, §2, Eq. 1), giving
 * each training sample's log density under the whole training distribution (Wang et
 * al., NeurIPS 2020, §3, Definition 1). See ft_feature_density.h for the estimator and
 * why; this file fits it in blocks of rows so that no second n×d copy of the features
 * is held:
 *   1. class counts and means (double), the prior-weighted global mean m;
 *   2. within-class scatter S = sum_i r_i r_i^T, r_i = phi_i - mu_{y_i} (sgemm per block);
 *   3. Sigma = S / n + lambda I = L L^T (Cholesky, double), log|Sigma|, W = L^{-1};
 *   4. z_i = W (phi_i - m) (sgemm per block), nu_c = W (mu_c - m); then
 *      log f_i = logsumexp_c [log pi_c - |z_i - nu_c|^2 / 2] - log|Sigma| / 2 - d/2 log 2pi. */
#include "ft_feature_density.h"

#include <math.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_model_features.h"
#include "ft_ops.h"

#define BLOCK 2048 /* rows per GEMM block */

/* In place: A (d×d, symmetric positive definite, double) becomes its Cholesky factor L
 * (lower triangle; the upper is zeroed). FT_EINVAL if A is not positive definite. */
static int cholesky(double *A, int d)
{
    for (int j = 0; j < d; j++) {
        double s = A[(size_t)j * d + j];
        for (int k = 0; k < j; k++)
            s -= A[(size_t)j * d + k] * A[(size_t)j * d + k];
        if (!(s > 0))
            return ft_error_set(FT_EINVAL, "feature density: covariance not positive definite");
        double ljj = sqrt(s);
        A[(size_t)j * d + j] = ljj;
        for (int i = j + 1; i < d; i++) {
            double t = A[(size_t)i * d + j];
            for (int k = 0; k < j; k++)
                t -= A[(size_t)i * d + k] * A[(size_t)j * d + k];
            A[(size_t)i * d + j] = t / ljj;
        }
        for (int i = 0; i < j; i++)
            A[(size_t)i * d + j] = 0;
    }
    return FT_OK;
}

/* W = L^{-1} (lower triangular, d×d, double) by forward substitution, column by column. */
static void invert_lower(const double *L, int d, double *W)
{
    memset(W, 0, (size_t)d * d * sizeof *W);
    for (int c = 0; c < d; c++)
        for (int i = c; i < d; i++) {
            double s = i == c ? 1.0 : 0.0;
            for (int k = c; k < i; k++)
                s -= L[(size_t)i * d + k] * W[(size_t)k * d + c];
            W[(size_t)i * d + c] = s / L[(size_t)i * d + i];
        }
}

int ft_feature_density(const float *F, uint32_t n, int d, const uint8_t *labels, int num_classes,
                       float *logf)
{
    int rc = FT_OK, C = num_classes;
    size_t dd = (size_t)d * d;
    double *mu = ft_calloc((size_t)C * d, sizeof *mu), *m = ft_calloc((size_t)d, sizeof *m);
    double *cnt = ft_calloc((size_t)C, sizeof *cnt), *A = ft_malloc(dd * sizeof *A);
    double *Wd = ft_malloc(dd * sizeof *Wd), *nu = ft_malloc((size_t)C * d * sizeof *nu);
    float *S = ft_calloc(dd, sizeof *S), *W = ft_malloc(dd * sizeof *W);
    float *R = ft_malloc((size_t)BLOCK * d * sizeof *R),
          *Z = ft_malloc((size_t)BLOCK * d * sizeof *Z);
    double *a = ft_malloc((size_t)C * sizeof *a);
    if (!mu || !m || !cnt || !A || !Wd || !nu || !S || !W || !R || !Z || !a) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for the feature density of %u x %d", n, d);
        goto done;
    }
    /* 1. counts, class means, prior-weighted global mean */
    for (uint32_t i = 0; i < n; i++) {
        if (labels[i] >= C) {
            rc = ft_error_set(FT_EINVAL, "feature density: label %d of sample %u >= %d classes",
                              labels[i], i, C);
            goto done;
        }
        cnt[labels[i]] += 1;
        const float *x = F + (size_t)i * d;
        double *u = mu + (size_t)labels[i] * d;
        for (int k = 0; k < d; k++)
            u[k] += x[k];
    }
    for (int c = 0; c < C; c++)
        for (int k = 0; k < d; k++) {
            if (cnt[c] > 0)
                mu[(size_t)c * d + k] /= cnt[c];
            m[k] += cnt[c] / n * mu[(size_t)c * d + k];
        }
    /* 2. within-class scatter */
    for (uint32_t s = 0; s < n; s += BLOCK) {
        int B = (int)(n - s < BLOCK ? n - s : BLOCK);
        for (int b = 0; b < B; b++) {
            const float *x = F + (size_t)(s + b) * d;
            const double *u = mu + (size_t)labels[s + b] * d;
            for (int k = 0; k < d; k++)
                R[(size_t)b * d + k] = (float)(x[k] - u[k]);
        }
        ft_sgemm(1, 0, d, d, B, 1.0f, R, d, R, d, 1.0f, S, d);
    }
    /* 3. shrunk covariance, its factor and inverse factor */
    double tr = 0;
    for (int k = 0; k < d; k++)
        tr += S[(size_t)k * d + k] / (double)n;
    double lambda = FT_DENSITY_SHRINK * tr / d;
    if (!(lambda > 1e-12))
        lambda = 1e-12;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) /* symmetrise: the GEMM's float sums need not be */
            A[(size_t)i * d + j] = 0.5 * ((double)S[(size_t)i * d + j] + S[(size_t)j * d + i]) / n +
                                   (i == j ? lambda : 0);
    if ((rc = cholesky(A, d)) != FT_OK)
        goto done;
    double logdet = 0;
    for (int k = 0; k < d; k++)
        logdet += 2 * log(A[(size_t)k * d + k]);
    invert_lower(A, d, Wd);
    for (size_t i = 0; i < dd; i++)
        W[i] = (float)Wd[i];
    for (int c = 0; c < C; c++)
        for (int i = 0; i < d; i++) {
            double t = 0;
            for (int k = 0; k <= i; k++)
                t += Wd[(size_t)i * d + k] * (mu[(size_t)c * d + k] - m[k]);
            nu[(size_t)c * d + i] = t;
        }
    double konst = -0.5 * logdet - 0.5 * d * log(2 * M_PI);
    /* 4. whitened distances to every class mean, log-sum-exp */
    for (uint32_t s = 0; s < n; s += BLOCK) {
        int B = (int)(n - s < BLOCK ? n - s : BLOCK);
        for (int b = 0; b < B; b++) {
            const float *x = F + (size_t)(s + b) * d;
            for (int k = 0; k < d; k++)
                R[(size_t)b * d + k] = (float)(x[k] - m[k]);
        }
        ft_sgemm(0, 1, B, d, d, 1.0f, R, d, W, d, 0.0f, Z, d);
        for (int b = 0; b < B; b++) {
            const float *z = Z + (size_t)b * d;
            double amax = -INFINITY;
            for (int c = 0; c < C; c++) {
                a[c] = -INFINITY;
                if (cnt[c] == 0)
                    continue;
                double q = 0;
                const double *v = nu + (size_t)c * d;
                for (int k = 0; k < d; k++)
                    q += (z[k] - v[k]) * (z[k] - v[k]);
                a[c] = log(cnt[c] / n) - 0.5 * q;
                if (a[c] > amax)
                    amax = a[c];
            }
            double se = 0;
            for (int c = 0; c < C; c++)
                if (cnt[c] > 0)
                    se += exp(a[c] - amax);
            logf[s + b] = (float)(amax + log(se) + konst);
        }
    }
done:
    ft_free(mu);
    ft_free(m);
    ft_free(cnt);
    ft_free(A);
    ft_free(Wd);
    ft_free(nu);
    ft_free(S);
    ft_free(W);
    ft_free(R);
    ft_free(Z);
    ft_free(a);
    return rc;
}

int ft_feature_extract(const ft_experiment_t *exp, const char *ckpt, const ft_dataset_t *ds,
                       float **F, int *dim)
{
    *F = NULL;
    *dim = 0;
    enum { BATCH = 256 };
    ft_model_t *m = NULL;
    int D = 0, relu = 0;
    int rc = ft_model_features_new(exp->model.name, exp->model.hidden, ds->c, ds->h, ds->w,
                                   ds->num_classes, ckpt, BATCH, &ft_ops_cpu, &m, &D, &relu);
    if (rc != FT_OK)
        return rc;
    size_t S = ft_dataset_sample_size(ds);
    float *x = ft_malloc((size_t)BATCH * S * sizeof *x);
    int32_t *y = ft_malloc(BATCH * sizeof *y);
    uint32_t *idx = ft_malloc(BATCH * sizeof *idx);
    float *out = ft_malloc((size_t)ds->n * D * sizeof *out + 1);
    if (!x || !y || !idx || !out) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for %u x %d features", ds->n, D);
        goto done;
    }
    for (uint32_t s = 0; s < ds->n; s += BATCH) {
        int B = (int)(ds->n - s < BATCH ? ds->n - s : BATCH);
        for (int b = 0; b < B; b++)
            idx[b] = s + (uint32_t)b;
        ft_dataset_gather(ds, idx, B, x, y);
        const float *phi = ft_model_forward(m, x, B);
        float *o = out + (size_t)s * D;
        for (size_t k = 0; k < (size_t)B * D; k++)
            o[k] = relu && !(phi[k] > 0) ? 0.0f : phi[k];
    }
    *F = out;
    *dim = D;
    out = NULL;
done:
    ft_free(x);
    ft_free(y);
    ft_free(idx);
    ft_free(out);
    ft_model_destroy(&m);
    return rc;
}

int ft_feature_density_scores(const ft_experiment_t *exp, const char *ckpt,
                              const ft_dataset_t *train, float **logf)
{
    *logf = NULL;
    float *F = NULL;
    int d = 0;
    int rc = ft_feature_extract(exp, ckpt, train, &F, &d);
    float *out = rc == FT_OK ? ft_malloc((size_t)train->n * sizeof *out + 1) : NULL;
    if (rc == FT_OK && !out)
        rc = ft_error_set(FT_ENOMEM, "out of memory for %u densities", train->n);
    if (rc == FT_OK)
        rc = ft_feature_density(F, train->n, d, train->labels, train->num_classes, out);
    ft_free(F);
    if (rc != FT_OK) {
        ft_free(out);
        return rc;
    }
    *logf = out;
    return FT_OK;
}
