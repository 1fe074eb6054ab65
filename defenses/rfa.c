/* rfa: Robust Federated Aggregation — the weighted geometric median.
 *
 * Pillutla, Kakade, Harchaoui, "Robust Aggregation for Federated Learning", IEEE
 * TSP 2022 (arXiv 1912.13445), Algorithm 2 (smoothed Weiszfeld), as in the RFA
 * defense of the Wang et al. paper code:
 *   z_0 = sum_i alpha_i w_i (alpha_i = n_i / sum n)
 *   beta_i = alpha_i / max(nu, ||z - w_i||),  beta <- beta / sum beta
 *   z <- sum_i beta_i w_i
 * until |obj_prev - obj| < ftol * obj, obj(z) = sum_i alpha_i ||z - w_i||, or maxiter
 * iterations (defaults as the paper code: maxiter 500, nu 1e-5, ftol 1e-7).
 *
 * Safeguard (an addition to the paper code): the relative-objective test alone
 * stops early when one outlier dominates the objective — with an update of 1e30,
 * ftol * obj is ~1e23 and the iterate can stop 1e22 away from the honest cluster,
 * although the geometric median itself is bounded. So the loop also requires the
 * last step to be small against the iterate, ||z_new - z_old|| <= 1e-2 ||z_new||.
 * On well-scaled inputs the paper's test is the binding one (the golden case stops
 * at the same iteration as the paper code).
 *
 * z is accumulated in double panel by panel, and each panel's distances to z are
 * taken right away, so an iteration is one sweep over the K×N updates and needs no
 * N-sized scratch. NaN/Inf: a row whose norm is not finite has no defined distance;
 * it is dropped (weight 0) before the first step and alpha is renormalised over the
 * rest. Report: weight = final beta_i (REWEIGHTED), score = ||z - w_i|| for the
 * final z. It does not select: no TPR/FPR. */
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>
#include <string.h>

typedef struct {
    int maxiter; /* Weiszfeld iterations at most (defense.maxiter) */
    double nu;   /* smoothing of the distances (defense.nu) */
    double ftol; /* relative objective tolerance (defense.ftol) */
} rfa_t;

enum { RFA_BLOCK = 1024 };

static int rfa_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    int rc = ft_check_int_range(d->src, "defense.maxiter", d->maxiter, 1, 1000000, NULL);
    if (rc == FT_OK)
        rc = ft_check_float_range(d->src, "defense.nu", d->nu, 0, 0, INFINITY, 0);
    if (rc == FT_OK)
        rc = ft_check_float_range(d->src, "defense.ftol", d->ftol, 0, 1, INFINITY, 0);
    return rc;
}

static int rfa_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                      void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    rfa_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "rfa: out of memory");
    s->maxiter = (int)d->maxiter;
    s->nu = d->nu;
    s->ftol = d->ftol;
    *state = s;
    return FT_OK;
}

static size_t rfa_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + 3 * ft_ws_bytes(max_k * sizeof(double));
}

/* out = sum_i w_i U_i (float) and dist_i = ||out_double - U_i|| for rows with
 * alpha_i > 0, in one sweep over U. Returns ||z_new - out_old||^2 / ||z_new||^2
 * (the relative step; 0 when z_new = 0 = out_old). */
static double rfa_step(const float *U, size_t K, size_t N, const double *w, const double *alpha,
                       float *out, double *dist)
{
    double z[RFA_BLOCK];
    double step2 = 0, znorm2 = 0;
    for (size_t i = 0; i < K; i++)
        dist[i] = 0;
    for (size_t j0 = 0; j0 < N; j0 += RFA_BLOCK) {
        size_t nb = N - j0 < RFA_BLOCK ? N - j0 : RFA_BLOCK;
        memset(z, 0, nb * sizeof *z);
        for (size_t i = 0; i < K; i++)
            if (w[i] != 0)
                ft_axpy_d(z, nb, w[i], U + i * N + j0);
        for (size_t i = 0; i < K; i++) {
            if (alpha[i] == 0)
                continue;
            const float *x = U + i * N + j0;
            double s = 0;
            for (size_t j = 0; j < nb; j++) {
                double d = z[j] - x[j];
                s += d * d;
            }
            dist[i] += s;
        }
        for (size_t j = 0; j < nb; j++) {
            double d = z[j] - out[j0 + j];
            step2 += d * d;
            znorm2 += z[j] * z[j];
            out[j0 + j] = (float)z[j];
        }
    }
    for (size_t i = 0; i < K; i++)
        dist[i] = sqrt(dist[i]);
    return znorm2 > 0 ? step2 / znorm2 : (step2 > 0 ? INFINITY : 0.0);
}

static double rfa_objective(const double *alpha, const double *dist, size_t K)
{
    double obj = 0;
    for (size_t i = 0; i < K; i++)
        if (alpha[i] > 0)
            obj += alpha[i] * dist[i];
    return obj;
}

static int rfa_aggregate(void *state, const ft_defense_input_t *in, float *out,
                         ft_defense_decision_t *dec, void *workspace)
{
    const rfa_t *s = state;
    size_t K = in->K, N = in->N;
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, rfa_ws(K, N));
    double *alpha = ft_ws_take(&ws, K * sizeof(double));
    double *beta = ft_ws_take(&ws, K * sizeof(double));
    double *dist = ft_ws_take(&ws, K * sizeof(double));
    int rc = ft_count_weights(in->counts, K, alpha);
    if (rc != FT_OK)
        return rc;
    ft_decisions_init(dec, K, FT_DECISION_REWEIGHTED);
    double total = 0;
    for (size_t i = 0; i < K; i++) {
        if (!isfinite(ft_sumsq(in->updates + i * N, N))) {
            alpha[i] = 0;
            dec[i].decision = FT_DECISION_DROPPED;
            dec[i].clip_factor = 0.0f;
        }
        total += alpha[i];
    }
    if (!(total > 0))
        return ft_error_set(FT_EINVAL, "rfa: no finite update with a positive sample count");
    for (size_t i = 0; i < K; i++)
        alpha[i] /= total;

    memset(out, 0, N * sizeof *out); /* rfa_step reads the previous iterate */
    (void)rfa_step(in->updates, K, N, alpha, alpha, out, dist);
    memcpy(beta, alpha, K * sizeof *beta);
    double obj = rfa_objective(alpha, dist, K);
    for (int it = 0; it < s->maxiter; it++) {
        if (obj == 0) /* z coincides with every kept update: nothing to refine */
            break;
        double bsum = 0;
        for (size_t i = 0; i < K; i++) {
            beta[i] = alpha[i] > 0 ? alpha[i] / fmax(s->nu, dist[i]) : 0;
            bsum += beta[i];
        }
        for (size_t i = 0; i < K; i++)
            beta[i] /= bsum;
        double prev = obj;
        double step2 = rfa_step(in->updates, K, N, beta, alpha, out, dist);
        obj = rfa_objective(alpha, dist, K);
        if (fabs(prev - obj) < s->ftol * obj && step2 <= 1e-4)
            break;
    }
    for (size_t i = 0; i < K; i++) {
        dec[i].weight = (float)beta[i];
        dec[i].score = alpha[i] > 0 ? (float)dist[i] : INFINITY;
    }
    ft_decisions_set_contrib(dec, K, in->updates, N);
    return FT_OK;
}

const ft_defense_t ft_defense_rfa = {
    .name = "rfa",
    .cite = "Pillutla et al. IEEE TSP 2022, Alg. 2: weighted geometric median by smoothed "
            "Weiszfeld",
    .check_config = rfa_check,
    .create = rfa_create,
    .destroy = ft_defense_free_state,
    .workspace_size = rfa_ws,
    .aggregate = rfa_aggregate,
};
