/* mimic: Karimireddy, He & Jaggi, "Byzantine-Robust Learning on Heterogeneous Datasets
 * via Bucketing", ICLR 2022, §4 (the mimic attack) — on heterogeneous data the
 * attackers copy one honest worker, the one most extreme along the direction of
 * largest variance of the honest updates, so that its data is over-represented and
 * the others' under-represented; no update stands out as an outlier. With B benign
 * updates x_i (the attacker's estimates, ft_attack_benign.c, as alie / ipm) and their
 * mean mu, the paper's i* = argmax_i |<z, x_i - mu>| with z the top principal
 * direction; since <z, x_i - mu> is proportional to v_i for v the top eigenvector of
 * the centred Gram matrix G = (X - mu)(X - mu)^T (B x B), i* = argmax_i |v_i| (ties:
 * the lower index), v by power iteration (FT_MIMIC_ITERS steps from 1 + i / B). The
 * paper estimates z online over rounds; here it is computed each round. */
#include "ft_attack_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#define FT_MIMIC_ITERS 200

size_t ft_attack_mimic_pick(size_t B, size_t N, const float *benign, double *work)
{
    assert(B >= 1);
    double *G = work, *v = work + B * B, *w = v + B;
    double *mu = w + B; /* N */
    for (size_t j = 0; j < N; j++) {
        double s = 0;
        for (size_t b = 0; b < B; b++)
            s += benign[b * N + j];
        mu[j] = s / (double)B;
    }
    for (size_t a = 0; a < B; a++)
        for (size_t b = a; b < B; b++) {
            double s = 0;
            for (size_t j = 0; j < N; j++)
                s += (benign[a * N + j] - mu[j]) * (benign[b * N + j] - mu[j]);
            G[a * B + b] = G[b * B + a] = s;
        }
    for (size_t i = 0; i < B; i++)
        v[i] = 1.0 + (double)i / (double)B;
    for (int it = 0; it < FT_MIMIC_ITERS; it++) {
        double n2 = 0;
        for (size_t a = 0; a < B; a++) {
            double s = 0;
            for (size_t b = 0; b < B; b++)
                s += G[a * B + b] * v[b];
            w[a] = s;
            n2 += s * s;
        }
        if (!(n2 > 0))
            return 0; /* all updates equal (G = 0): the first */
        for (size_t a = 0; a < B; a++)
            v[a] = w[a] / sqrt(n2);
    }
    size_t best = 0;
    for (size_t i = 1; i < B; i++)
        if (fabs(v[i]) > fabs(v[best]))
            best = i;
    return best;
}

static int transform(ft_attack_ctx_t *c, float *delta)
{
    size_t B;
    float *est;
    int rc = ft_attack_benign_estimates_full(c, &B, &est);
    if (rc != FT_OK)
        return rc;
    double *work = ft_malloc((B * B + 2 * B + c->N) * sizeof *work);
    if (!work) {
        ft_free(est);
        return ft_error_set(FT_ENOMEM, "mimic: out of memory");
    }
    size_t i = ft_attack_mimic_pick(B, c->N, est, work);
    memcpy(delta, est + i * c->N, c->N * sizeof *delta);
    ft_free(work);
    ft_free(est);
    return FT_OK;
}

const ft_attack_t ft_mimic_attack = {
    .name = "mimic",
    .cite = "Karimireddy et al. ICLR 2022, §4 mimic: copy the honest update most extreme "
            "along the top principal direction",
    .transform = transform,
};
