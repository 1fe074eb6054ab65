/* fang: Fang et al., "Local Model Poisoning Attacks to Byzantine-Robust Federated
 * Learning", USENIX Security 2020 — the attacks tailored to an aggregation rule, here
 * on updates (the change of the model) with the benign updates estimated by the
 * attacker (its partial-knowledge setting; ft_attack_benign.c), s = sign of their mean
 * the direction the benign clients move each coordinate:
 *   attack.fang_rule = trmean (§3.2 "Trim attack", for trimmed mean and median): for
 *     s_j > 0 a value below the benign minimum, uniform in [min/b, min] if min > 0 else
 *     [b min, min]; for s_j <= 0 above the maximum, [max, b max] if max > 0 else
 *     [max, max/b]; b = 2, drawn from the attack stream (seed, round, client);
 *   attack.fang_rule = krum (§3.2 "Krum attack"): -lambda s, lambda halved from the
 *     paper's upper bound until Krum over the m attackers' copies and the benign
 *     updates selects the attackers' (m = the round's attackers), as the port in
 *     vrt1shjwlkr/NDSS21-Model-Poisoning cifar10/release-fedsgd-alexnet-mkrum-unknown-
 *     benign-gradients.ipynb (compute_lambda_fang line 318, get_malicious_updates_fang
 *     336, multi_krum 270: the score sums the n - 2 - m smallest squared distances,
 *     self included). Without success down to lambda = 1e-5 the last -lambda s is sent. */
#include "ft_attack_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FT_FANG_B 2.0 /* the paper's b */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void ft_attack_fang_trim(size_t B, size_t N, const float *benign, ft_rng_t *rng, float *out)
{
    assert(B >= 1);
    for (size_t j = 0; j < N; j++) {
        double mu = 0, lo = INFINITY, hi = -INFINITY;
        for (size_t b = 0; b < B; b++) {
            double v = benign[b * N + j];
            mu += v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        double a, z, u = ft_rng_uniform(rng);
        if (mu > 0) {
            a = lo > 0 ? lo / FT_FANG_B : lo * FT_FANG_B;
            z = lo;
        } else {
            a = hi;
            z = hi > 0 ? hi * FT_FANG_B : hi / FT_FANG_B;
        }
        out[j] = (float)(a + u * (z - a));
    }
}

static double dist2(size_t N, const float *a, const float *b)
{
    double s = 0;
    for (size_t j = 0; j < N; j++) {
        double t = (double)a[j] - b[j];
        s += t * t;
    }
    return s;
}

/* Krum's choice over m copies of mal followed by the B benign updates: the index with
 * the smallest sum of its n - 2 - m smallest squared distances (self included, as
 * multi_krum); row/d are n scratch. */
static size_t krum_pick(size_t B, size_t N, const float *benign, const float *mal, size_t m,
                        double *row)
{
    size_t n = m + B, keep = n > m + 2 ? n - 2 - m : 1, best = 0;
    double best_s = INFINITY;
    for (size_t i = 0; i < n; i++) {
        const float *x = i < m ? mal : benign + (i - m) * N;
        for (size_t k = 0; k < n; k++)
            row[k] = dist2(N, x, k < m ? mal : benign + (k - m) * N);
        qsort(row, n, sizeof *row, cmp_double);
        double s = 0;
        for (size_t k = 0; k < keep; k++)
            s += row[k];
        if (s < best_s) {
            best_s = s;
            best = i;
        }
    }
    return best;
}

double ft_attack_fang_krum(size_t B, size_t N, const float *benign, size_t m, float *out)
{
    assert(B >= 1 && m >= 1);
    double *row = ft_malloc((m + B) * sizeof *row);
    float *s = ft_malloc(N * sizeof *s);
    if (!row || !s) {
        ft_free(row);
        ft_free(s);
        return -1;
    }
    /* the bound: min_i sum of its B - 2 - m nearest (L2) benign neighbours over
     * (B - m - 1) sqrt(N), plus max_i ||b_i - mean|| / sqrt(N) */
    size_t keep = B > m + 2 ? B - 2 - m : 0; /* the port sums none then */
    double min_score = INFINITY, max_dev = 0, sq = sqrt((double)N);
    for (size_t j = 0; j < N; j++) {
        double mu = 0;
        for (size_t b = 0; b < B; b++)
            mu += benign[b * N + j];
        s[j] = (float)(mu / (double)B); /* the mean, for now */
    }
    for (size_t i = 0; i < B; i++) {
        for (size_t k = 0; k < B; k++) {
            double d = sqrt(dist2(N, benign + i * N, benign + k * N));
            row[k] = d == 0 ? 10000 : d; /* the port's distances[distances == 0] = 10000 */
        }
        qsort(row, B, sizeof *row, cmp_double);
        double sc = 0;
        for (size_t k = 0; k < keep && k < B; k++)
            sc += row[k];
        min_score = sc < min_score ? sc : min_score;
        double dv = sqrt(dist2(N, benign + i * N, s)) / sq;
        max_dev = dv > max_dev ? dv : max_dev;
    }
    double denom = B > m + 1 ? (double)(B - m - 1) : 1.0;
    double lambda = min_score / (denom * sq) + max_dev;
    for (size_t j = 0; j < N; j++)
        s[j] = (float)((s[j] > 0) - (s[j] < 0));
    double sent = lambda;
    while (lambda > 1e-5) {
        for (size_t j = 0; j < N; j++)
            out[j] = (float)(-lambda * s[j]);
        sent = lambda;
        if (krum_pick(B, N, benign, out, m, row) < m)
            break;
        lambda *= 0.5;
    }
    ft_free(row);
    ft_free(s);
    return sent;
}

static int transform(ft_attack_ctx_t *c, float *delta)
{
    size_t B;
    float *est;
    int rc = ft_attack_benign_estimates_full(c, &B, &est);
    if (rc != FT_OK)
        return rc;
    if (c->env->p.fang_krum) {
        int m = c->task->round_attackers > 0 ? c->task->round_attackers : 1;
        if (ft_attack_fang_krum(B, c->N, est, (size_t)m, delta) < 0)
            rc = ft_error_set(FT_ENOMEM, "fang: out of memory");
    } else {
        ft_rng_t rng;
        ft_rng_init(&rng, c->env->seed, (uint32_t)c->task->round, c->task->client_id,
                    FT_RNG_ATTACK);
        ft_attack_fang_trim(B, c->N, est, &rng, delta);
    }
    ft_free(est);
    return rc;
}

const ft_attack_t ft_fang_attack = {
    .name = "fang",
    .cite = "Fang et al. USENIX Security 2020, §3.2: the trim attack (trimmed mean / median) "
            "or the Krum attack on benign estimates",
    .transform = transform,
};
