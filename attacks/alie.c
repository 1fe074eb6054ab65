/* alie: "A Little Is Enough", Baruch et al., NeurIPS 2019, §3 — every attacker sends
 * mu - z_max sigma (coordinate-wise mean and population std over benign estimates,
 * ft_attack_benign.c), with z_max = Phi^{-1}((n - s) / n), s = floor(n/2 + 1) - m for
 * n clients per round and m attackers in the round (attack.alie_z overrides z). */
#include "ft_attack_internal.h"

#include "ft_alloc.h"

#include <assert.h>
#include <math.h>

double ft_normal_quantile(double p)
{
    assert(p > 0 && p < 1);
    /* Phi(x) = erfc(-x / sqrt 2) / 2 is increasing: bisect on [-40, 40]. */
    double lo = -40, hi = 40;
    for (int i = 0; i < 200 && hi - lo > 1e-14; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

double ft_attack_alie_z(int n, int m)
{
    /* The attackers need s = floor(n/2 + 1) - m honest workers "behind" them; z_max is
     * the quantile that keeps that many further from the mean. */
    int s = n / 2 + 1 - m;
    if (n <= 0)
        return 0;
    double q = (double)(n - s) / n;
    if (q <= 0.5)
        return 0;
    if (q >= 1)
        return 10;
    double z = ft_normal_quantile(q);
    return z > 10 ? 10 : z;
}

void ft_attack_alie(size_t B, size_t N, const float *benign, double z, float *out)
{
    assert(B >= 1);
    for (size_t j = 0; j < N; j++) {
        double mu = 0;
        for (size_t b = 0; b < B; b++)
            mu += benign[b * N + j];
        mu /= (double)B;
        double var = 0;
        for (size_t b = 0; b < B; b++) {
            double t = benign[b * N + j] - mu;
            var += t * t;
        }
        out[j] = (float)(mu - z * sqrt(var / (double)B));
    }
}

static int transform(ft_attack_ctx_t *c, float *delta)
{
    size_t B;
    float *est;
    int rc = ft_attack_benign_estimates(c, &B, &est);
    if (rc != FT_OK)
        return rc;
    const ft_attack_cfg_t *p = &c->env->p;
    int m = c->task->round_attackers > 0 ? c->task->round_attackers : 1;
    double z = p->alie_z > 0 ? p->alie_z : ft_attack_alie_z(c->env->clients_per_round, m);
    ft_attack_alie(B, c->N, est, z, delta);
    ft_free(est);
    return FT_OK;
}

const ft_attack_t ft_alie_attack = {
    .name = "alie",
    .cite = "Baruch et al. NeurIPS 2019, §3: mu - z_max sigma over benign estimates",
    .transform = transform,
};
