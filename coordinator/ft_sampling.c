/* ft_sampling: Floyd's sampling into a sorted array. */
#include "ft_sampling.h"

#include "ft_error.h"
#include "ft_rng.h"

#include <string.h>

/* Inserts v into the sorted a[0..n) unless present; returns 1 if inserted. */
static int insert_sorted(uint32_t *a, size_t n, uint32_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && a[lo] == v)
        return 0;
    memmove(a + lo + 1, a + lo, (n - lo) * sizeof *a);
    a[lo] = v;
    return 1;
}

int ft_sample_clients(uint64_t seed, uint32_t round, uint32_t attempt, uint32_t num_clients,
                      uint32_t k, uint32_t *out)
{
    if (k == 0 || k > num_clients)
        return ft_error_set(FT_EINVAL, "cannot sample %u of %u clients", k, num_clients);
    ft_rng_t rng;
    ft_rng_init(&rng, seed, round, attempt, FT_RNG_SAMPLE);
    size_t n = 0;
    /* Floyd: for j in [N-K, N): t = uniform [0, j]; take t unless taken, else j. */
    for (uint32_t j = num_clients - k; j < num_clients; j++) {
        uint32_t t = ft_rng_below(&rng, j + 1);
        if (insert_sorted(out, n, t))
            n++;
        else if (insert_sorted(out, n, j))
            n++;
    }
    return FT_OK;
}
