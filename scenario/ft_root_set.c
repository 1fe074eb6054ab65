/* ft_root_set: drawing FLTrust's root set out of the honest pool. */
#include "ft_root_set.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_rng.h"

int ft_root_set_draw(const ft_experiment_t *exp, uint32_t *pool, uint32_t *pool_n, uint32_t **root,
                     uint32_t *root_n)
{
    *root = NULL;
    *root_n = 0;
    int64_t want = exp->defense.root_size;
    uint32_t total = *pool_n;
    if (want < 1 || want >= (int64_t)total)
        return ft_config_error(exp->defense.src, "defense.root_size",
                               "must lie in [1, %u): the root set is held out of the %u "
                               "training samples honest clients may hold",
                               total, total);
    uint32_t n = (uint32_t)want;
    uint32_t *perm = ft_malloc((size_t)total * sizeof *perm);
    uint8_t *in_root = ft_calloc(total, 1);
    uint32_t *r = ft_malloc((size_t)n * sizeof *r);
    if (!perm || !in_root || !r) {
        ft_free(perm);
        ft_free(in_root);
        ft_free(r);
        return ft_error_set(FT_ENOMEM, "out of memory for the root set");
    }
    for (uint32_t i = 0; i < total; i++)
        perm[i] = i;
    ft_rng_t rng;
    ft_rng_init(&rng, exp->run.seed, 0, FT_ROOT_CLIENT_ID, FT_RNG_DEFENSE);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = i + ft_rng_below(&rng, total - i);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        in_root[perm[i]] = 1;
    }
    uint32_t a = 0, k = 0;
    for (uint32_t i = 0; i < total; i++) {
        if (in_root[i])
            r[a++] = pool[i];
        else
            pool[k++] = pool[i];
    }
    *pool_n = k;
    *root = r;
    *root_n = n;
    ft_free(perm);
    ft_free(in_root);
    return FT_OK;
}
