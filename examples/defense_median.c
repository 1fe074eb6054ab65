/* defense_median: coordinate-wise median as a fedtail defense plug-in, the example of
 * docs/write-a-defense.md (Yin et al., ICML 2018, Def. 1). Per coordinate j the
 * aggregate is the median of the finite values x_ij (the mean of the two middle ones
 * for an even count); NaN/Inf values are ignored, and a coordinate with none is 0.
 * An update's weight is the share of coordinates at which it is the median (1/2 for
 * each of an even middle pair), so the weights sum to 1 (ft_defense.h, "Weight").
 *
 *   cc -shared -fPIC -O2 -I include examples/defense_median.c -o defense_median.so -lm
 *   fedtail selftest-defense ./defense_median.so
 *   fedtail run --set defense.plugin=./defense_median.so */
#include <fedtail/defense.h>
#include <math.h>

typedef struct {
    float v;
    size_t i;
} cell_t; /* a value and its row */

static size_t median_ws(size_t max_k, size_t N)
{
    (void)N;
    return max_k * (2 * sizeof(double) + sizeof(cell_t)); /* share, sq, cells */
}

static int median_aggregate(void *state, const fedtail_defense_input_t *in, float *out,
                            fedtail_defense_decision_t *dec, void *workspace)
{
    (void)state;
    size_t K = in->K, N = in->N;
    double *share = workspace, *sq = share + K; /* doubles first: aligned */
    cell_t *a = (cell_t *)(sq + K);
    for (size_t i = 0; i < K; i++)
        share[i] = sq[i] = 0;
    for (size_t j = 0; j < N; j++) {
        size_t n = 0;
        for (size_t i = 0; i < K; i++) { /* the finite values, insertion-sorted */
            float v = in->updates[i * N + j];
            if (!isfinite(v))
                continue;
            size_t t = n++;
            for (; t > 0 && a[t - 1].v > v; t--)
                a[t] = a[t - 1];
            a[t] = (cell_t){v, i};
        }
        if (n == 0) {
            out[j] = 0.0f;
            continue;
        }
        size_t lo = (n - 1) / 2, hi = n / 2;
        out[j] = lo == hi ? a[hi].v : (float)(0.5 * ((double)a[lo].v + (double)a[hi].v));
        double c = lo == hi ? 1.0 : 0.5; /* the coefficient of each middle row */
        for (size_t t = lo; t <= hi; t++) {
            share[a[t].i] += c;
            sq[a[t].i] += (c * a[t].v) * (c * a[t].v);
        }
    }
    for (size_t i = 0; i < K; i++)
        dec[i] = (fedtail_defense_decision_t){.decision = share[i] > 0 ? FEDTAIL_DECISION_REWEIGHTED
                                                                       : FEDTAIL_DECISION_DROPPED,
                                              .clip_factor = 1.0f,
                                              .score = 0.0f,
                                              .weight = (float)(share[i] / (double)N),
                                              .contrib_norm = (float)sqrt(sq[i])};
    return FEDTAIL_DEFENSE_OK;
}

static const fedtail_defense_plugin_t plugin = {
    .abi_version = FEDTAIL_DEFENSE_ABI_VERSION,
    .name = "median-plugin",
    .cite = "Yin et al. ICML 2018, Def. 1: coordinate-wise median",
    .workspace_size = median_ws,
    .aggregate = median_aggregate,
};

FEDTAIL_DEFENSE_EXPORT const fedtail_defense_plugin_t *fedtail_defense_plugin(void)
{
    return &plugin;
}
