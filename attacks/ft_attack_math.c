/* ft_attack_math: the pure maths of the attacks — PGD projection, model-replacement
 * scale, ALIE / IPM / sign-flip / Gaussian update transforms, the BadNets trigger,
 * label flips and the per-round norms. Each function cites its paper and equation in
 * ft_attack.h; nothing here trains or allocates. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "ft_attack.h"

double ft_attack_project_l2(const ft_ops_t *ops, size_t N, float *w, const float *wg, double eps,
                            float *tmp)
{
    /* Wang et al. 2020 (paper code fl_trainer.py train(), proj "l_2"): the projection
     * is over the whole flat vector, so the model stays in one L2 ball around w_g. */
    ops->sub(N, w, wg, tmp);
    double d = ops->norm2(N, tmp);
    if (d > eps) {
        ops->copy(w, wg, N * sizeof(float));
        ops->axpy(N, (float)(eps / d), tmp, w);
    }
    return d;
}

double ft_attack_replacement_scale(double scale, uint64_t round_samples, uint64_t attacker_samples,
                                   int K)
{
    if (scale > 0)
        return scale;
    if (round_samples > 0 && attacker_samples > 0)
        return (double)round_samples / (double)attacker_samples;
    return K > 0 ? (double)K : 1.0;
}

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
    /* Baruch et al. 2019, §3: the attackers need s = floor(n/2 + 1) - m honest workers
     * "behind" them; z_max is the quantile that keeps that many further from the mean. */
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

void ft_attack_ipm(size_t B, size_t N, const float *benign, double epsilon, float *out)
{
    assert(B >= 1);
    for (size_t j = 0; j < N; j++) {
        double mu = 0;
        for (size_t b = 0; b < B; b++)
            mu += benign[b * N + j];
        out[j] = (float)(-epsilon * mu / (double)B);
    }
}

void ft_attack_sign_flip(size_t N, float *delta)
{
    for (size_t j = 0; j < N; j++)
        delta[j] = -delta[j];
}

void ft_attack_gaussian(size_t N, double std, ft_rng_t *rng, float *delta)
{
    for (size_t j = 0; j < N; j++)
        delta[j] = (float)(std * ft_rng_normal(rng));
}

void ft_attack_stamp_trigger(ft_dataset_t *ds, uint32_t i, int size)
{
    assert(i < ds->n && size >= 1);
    int hw = ds->h * ds->w;
    size_t s = ft_dataset_sample_size(ds);
    for (int ch = 0; ch < ds->c; ch++) {
        for (int r = 0; r < size; r++) {
            for (int c = 0; c < size; c++) {
                int row = ds->h - 1 - size + r, col = ds->w - 1 - size + c;
                if (row < 0 || col < 0)
                    continue;
                size_t at = (size_t)i * s + (size_t)ch * hw + (size_t)row * ds->w + col;
                int white = (r + c) % 2 == 0;
                if (ds->values)
                    ds->values[at] = white ? 1.0f : 0.0f;
                else
                    ds->pixels[at] = white ? 255 : 0;
            }
        }
    }
}

void ft_attack_flip_labels(ft_dataset_t *ds, int source, int target)
{
    for (uint32_t i = 0; i < ds->n; i++)
        if (ds->labels[i] == source)
            ds->labels[i] = (uint8_t)target;
}

void ft_attack_round_norms(size_t K, size_t N, const float *updates, const uint8_t *is_attacker,
                           ft_attack_norms_t *out)
{
    memset(out, 0, sizeof *out);
    double an = 0, hn = 0;
    int h = 0;
    for (size_t k = 0; k < K; k++) {
        double s = 0;
        const float *u = updates + k * N;
        for (size_t j = 0; j < N; j++)
            s += (double)u[j] * u[j];
        if (is_attacker && is_attacker[k]) {
            an += sqrt(s);
            out->attackers++;
        } else {
            hn += sqrt(s);
            h++;
        }
    }
    out->attacker_norm = out->attackers ? an / out->attackers : NAN;
    out->honest_norm_mean = h ? hn / h : NAN;
}
