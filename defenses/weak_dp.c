/* weak-dp: norm-difference clipping followed by Gaussian noise ("weak differential
 * privacy").
 *
 * Sun et al., "Can You Really Backdoor Federated Learning?", 2019, Sec. 3; Wang et
 * al. NeurIPS 2020 Sec. 4 and the paper code (AddNoise): after the NDC aggregate,
 * add N(0, stddev^2) independently to every coordinate of the aggregated model,
 * once per round. Adding it to the aggregated delta is the same thing, since the
 * new model is global + delta. The noise comes from the round's FT_RNG_NOISE
 * stream (in->rng), so it is reproducible. NaN/Inf handling: as norm-clipping. */
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_ndc.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>

typedef struct {
    double M;      /* L2 norm bound (defense.norm_bound) */
    double stddev; /* noise standard deviation (defense.stddev) */
} wdp_t;

static int wdp_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    int rc = ft_check_float_range(d->src, "defense.norm_bound", d->norm_bound, 0, 0, INFINITY, 0);
    if (rc == FT_OK)
        rc = ft_check_float_range(d->src, "defense.stddev", d->stddev, 0, 1, INFINITY, 0);
    return rc;
}

static int wdp_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                      void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    wdp_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "weak-dp: out of memory");
    s->M = d->norm_bound;
    s->stddev = d->stddev;
    *state = s;
    return FT_OK;
}

static size_t wdp_ws(size_t max_k, size_t N)
{
    (void)N;
    return ft_ndc_ws(max_k);
}

static int wdp_aggregate(void *state, const ft_defense_input_t *in, float *out,
                         ft_defense_decision_t *dec, void *workspace)
{
    const wdp_t *s = state;
    if (s->stddev > 0 && !in->rng)
        return ft_error_set(FT_EINVAL, "weak-dp: no random stream given for the noise");
    int rc = ft_ndc_aggregate(s->M, in, out, dec, workspace, ft_ndc_ws(in->K));
    if (rc != FT_OK || s->stddev == 0)
        return rc;
    for (size_t j = 0; j < in->N; j++)
        out[j] = (float)(out[j] + s->stddev * ft_rng_normal(in->rng));
    return FT_OK;
}

const ft_defense_t ft_defense_weak_dp = {
    .name = "weak-dp",
    .cite = "Sun et al. 2019 Sec. 3 / Wang et al. NeurIPS 2020 Sec. 4: NDC, then "
            "w <- w + N(0, stddev^2 I) once per round",
    .check_config = wdp_check,
    .create = wdp_create,
    .destroy = ft_defense_free_state,
    .workspace_size = wdp_ws,
    .aggregate = wdp_aggregate,
    .secagg = FT_DEFENSE_SECAGG_CLIENT_CLIP,
};
