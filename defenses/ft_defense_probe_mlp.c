/* ft_defense_probe_mlp: the tiny MLP probe and the noise derivation (see the header). */
#include "ft_defense_probe_mlp.h"

#include "ft_error.h"
#include "ft_rng.h"

#include <assert.h>
#include <math.h>

size_t ft_probe_mlp_params(size_t I, size_t H, size_t C)
{
    return H * I + H + C * H + C;
}

void ft_probe_noise(uint64_t seed, uint32_t set, size_t first, size_t B, size_t I, float *x)
{
    for (size_t b = 0; b < B; b++) {
        ft_rng_t r;
        ft_rng_init(&r, seed, set, (uint32_t)(first + b), FT_RNG_DEFENSE);
        for (size_t k = 0; k < I; k++)
            x[b * I + k] = (float)ft_rng_uniform(&r);
    }
}

static double param(const float *g, const float *d, size_t k)
{
    return (g ? (double)g[k] : 0.0) + (d ? (double)d[k] : 0.0);
}

static int mlp_run(void *ctx, const float *global, const float *delta, const float *x, size_t B,
                   float *logits, float *features)
{
    const ft_probe_mlp_t *m = ctx;
    size_t I = m->I, H = m->H, C = m->C;
    size_t b1 = H * I, w2 = b1 + H, b2 = w2 + C * H;
    for (size_t s = 0; s < B; s++) {
        const float *xs = x + s * I;
        double h[64];
        assert(H <= 64);
        for (size_t u = 0; u < H; u++) {
            double a = param(global, delta, b1 + u);
            for (size_t k = 0; k < I; k++)
                a += param(global, delta, u * I + k) * xs[k];
            h[u] = a > 0 ? a : 0;
            if (features)
                features[s * H + u] = (float)h[u];
        }
        for (size_t c = 0; logits && c < C; c++) {
            double a = param(global, delta, b2 + c);
            for (size_t u = 0; u < H; u++)
                a += param(global, delta, w2 + c * H + u) * h[u];
            logits[s * C + c] = (float)a;
        }
    }
    return FT_OK;
}

static void mlp_noise(void *ctx, uint32_t set, size_t first, size_t B, float *x)
{
    const ft_probe_mlp_t *m = ctx;
    if (!m->noise_x) {
        ft_probe_noise(m->seed, set, first, B, m->I, x);
        return;
    }
    assert(set < m->noise_sets && first + B <= m->noise_per_set);
    const float *src = m->noise_x + ((size_t)set * m->noise_per_set + first) * m->I;
    for (size_t k = 0; k < B * m->I; k++)
        x[k] = src[k];
}

void ft_probe_mlp_init(ft_probe_mlp_t *m, size_t I, size_t H, size_t C, uint64_t seed,
                       const float *server_x, size_t server_n)
{
    assert(I >= 1 && H >= 1 && H <= 64 && C >= 2);
    *m = (ft_probe_mlp_t){.I = I, .H = H, .C = C, .seed = seed};
    m->probe = (ft_defense_probe_t){.ctx = m,
                                    .in_dim = I,
                                    .num_classes = C,
                                    .feat_dim = H,
                                    .max_batch = 64,
                                    .head_w = H * I + H,
                                    .head_b = H * I + H + C * H,
                                    .server_x = server_x,
                                    .server_n = server_n,
                                    .run = mlp_run,
                                    .noise = mlp_noise};
}

void ft_probe_mlp_standard(ft_probe_mlp_t *m, uint64_t seed)
{
    ft_probe_mlp_init(m, FT_PROBE_STD_I, FT_PROBE_STD_H, FT_PROBE_STD_C, seed, NULL, 0);
    ft_probe_noise(seed, 1000, 0, FT_PROBE_STD_S, FT_PROBE_STD_I, m->own_server);
    m->probe.server_x = m->own_server;
    m->probe.server_n = FT_PROBE_STD_S;
}
