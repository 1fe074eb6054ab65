/* median: coordinate-wise median.
 *
 * Yin, Chen, Ramchandran, Bartlett, "Byzantine-Robust Distributed Learning: Towards
 * Optimal Statistical Rates", ICML 2018, Definition 1 (coordinate-wise median):
 * out_j = med{ U_ij : i = 1..K }, the mean of the two middle values when their
 * number is even (numpy.median). Unweighted, as in the paper.
 *
 * NaN/Inf: at each coordinate the non-finite values are left out before taking the
 * median (NaN breaks every comparison a selection relies on); a coordinate with no
 * finite value gets 0 (no change). Report: score = share of coordinates at which
 * the client's value was (one of) the median, weight = its average share of the
 * output; DROPPED if never used, KEPT if used at every coordinate, else REWEIGHTED. */
#include "ft_defense.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>

static size_t median_ws(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + ft_coord_ws(max_k);
}

/* ft_coord_fn: the median of the column; the middle value(s) are credited. */
static double median_coord(const void *ctx, size_t j, ft_vi_t *a, size_t n, double *share,
                           double *used)
{
    (void)ctx;
    (void)j;
    uint32_t lo, hi;
    double med = ft_median_vi(a, n, &lo, &hi);
    if (lo == hi) {
        share[lo] += 1;
        used[lo] += 1;
    } else {
        share[lo] += 0.5;
        share[hi] += 0.5;
        used[lo] += 1;
        used[hi] += 1;
    }
    return med;
}

static int median_aggregate(void *state, const ft_defense_input_t *in, float *out,
                            ft_defense_decision_t *dec, void *workspace)
{
    (void)state;
    ft_coord_aggregate(in, median_coord, NULL, out, dec, workspace);
    return FT_OK;
}

const ft_defense_t ft_defense_median = {
    .name = "median",
    .cite = "Yin et al. ICML 2018, Def. 1: coordinate-wise median",
    .check_config = NULL,
    .create = ft_defense_stateless_create,
    .destroy = ft_defense_free_state,
    .workspace_size = median_ws,
    .aggregate = median_aggregate,
};
