/* trimmed-mean: coordinate-wise trimmed mean.
 *
 * Yin, Chen, Ramchandran, Bartlett, ICML 2018, Definition 2: at each coordinate,
 * remove the largest and smallest beta fraction of the values and average the rest:
 * out_j = 1/(n - 2b) sum of the middle n - 2b values, b = floor(beta n), beta in
 * [0, 0.5) (defense.beta). Unweighted, as in the paper.
 *
 * NaN/Inf: at each coordinate the non-finite values are left out first (n counts
 * the finite ones), then b = floor(beta n) are trimmed from each side of those; a
 * coordinate with no finite value gets 0. Report as median.c: score = share of
 * coordinates where the client's value was kept, weight = average share;
 * DROPPED if never kept, KEPT if kept at every coordinate, else REWEIGHTED. */
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>

typedef struct {
    double beta; /* share trimmed from each side (defense.beta) */
} tmean_t;

static int tmean_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    return ft_check_float_range(d->src, "defense.beta", d->beta, 0, 1, 0.5, 0);
}

static int tmean_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                        void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    tmean_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "trimmed-mean: out of memory");
    s->beta = d->beta;
    *state = s;
    return FT_OK;
}

static size_t tmean_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + ft_coord_ws(max_k);
}

/* ft_coord_fn (ctx: tmean_t): the mean of the column's middle n - 2b values. */
static double tmean_coord(const void *ctx, size_t j, ft_vi_t *a, size_t n, double *share,
                          double *used)
{
    const tmean_t *s = ctx;
    (void)j;
    size_t b = (size_t)floor(s->beta * (double)n);
    if (2 * b >= n) /* only for tiny n: keep the middle one or two */
        b = (n - 1) / 2;
    if (b > 0) {
        /* a[0..b) are the b smallest; then a[b..n-b) the middle */
        ft_select_kth(a, n, b);
        ft_select_kth(a + b, n - b, n - 2 * b - 1);
    }
    size_t keep = n - 2 * b;
    double sum = 0;
    for (size_t t = b; t < n - b; t++) {
        sum += a[t].v;
        share[a[t].i] += 1.0 / (double)keep;
        used[a[t].i] += 1;
    }
    return sum / (double)keep;
}

static int tmean_aggregate(void *state, const ft_defense_input_t *in, float *out,
                           ft_defense_decision_t *dec, void *workspace)
{
    ft_coord_aggregate(in, tmean_coord, state, out, dec, workspace);
    return FT_OK;
}

const ft_defense_t ft_defense_trimmed_mean = {
    .name = "trimmed-mean",
    .cite = "Yin et al. ICML 2018, Def. 2: coordinate-wise beta-trimmed mean",
    .check_config = tmean_check,
    .create = tmean_create,
    .destroy = ft_defense_free_state,
    .workspace_size = tmean_ws,
    .aggregate = tmean_aggregate,
};
