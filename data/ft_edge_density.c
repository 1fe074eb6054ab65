/* ft_edge_density: the lowest-density points of a class and their p (Wang et al. 2020,
 * §3, Definition 1). Two sorts: the class's (score, index) pairs, and all n scores for
 * p by binary search (upper bound: ties with the point count as "at most as dense"). */
#include "ft_edge_density.h"

#include <stdlib.h>

#include "ft_alloc.h"
#include "ft_error.h"

typedef struct {
    float s;    /* score (log density) */
    uint32_t i; /* training-set index */
} scored_t;

static int cmp_scored(const void *a, const void *b)
{
    const scored_t *x = a, *y = b;
    if (x->s != y->s)
        return x->s < y->s ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* #{j : sorted[j] <= v} of the n ascending values. */
static uint32_t count_at_most(const float *sorted, uint32_t n, float v)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int ft_edge_density_select(const float *logf, const uint8_t *labels, uint32_t n, int cls,
                           uint32_t want, uint32_t *idx, double *p, uint32_t *class_n)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        m += labels[i] == cls;
    *class_n = m;
    if (want == 0 || m < want)
        return ft_error_set(FT_EINVAL,
                            "edge mining: class %d has %u samples, fewer than attack.edge_size=%u",
                            cls, m, want);
    scored_t *c = ft_malloc((size_t)m * sizeof *c);
    float *all = p ? ft_malloc((size_t)n * sizeof *all) : NULL;
    if (!c || (p && !all)) {
        ft_free(c);
        ft_free(all);
        return ft_error_set(FT_ENOMEM, "out of memory ranking %u densities", n);
    }
    m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (labels[i] == cls)
            c[m++] = (scored_t){logf[i], i};
    qsort(c, m, sizeof *c, cmp_scored);
    for (uint32_t k = 0; k < want; k++)
        idx[k] = c[k].i;
    if (p) {
        for (uint32_t i = 0; i < n; i++)
            all[i] = logf[i];
        qsort(all, n, sizeof *all, cmp_float);
        for (uint32_t k = 0; k < want; k++)
            p[k] = (double)count_at_most(all, n, c[k].s) / n;
    }
    ft_free(c);
    ft_free(all);
    return FT_OK;
}
