/* ft_grow: the doubling growth of the readers' arrays (ft_grow.h). */
#include "ft_grow.h"

#include "ft_alloc.h"
#include "ft_error.h"

int ft_grow(void **p, size_t *cap, size_t need, size_t elem, const char *what)
{
    if (need <= *cap)
        return FT_OK;
    size_t n = *cap ? *cap * 2 : 1024;
    while (n < need)
        n *= 2;
    void *q = ft_realloc(*p, n * elem);
    if (!q)
        return ft_error_set(FT_ENOMEM, "out of memory reading %s", what);
    *p = q, *cap = n;
    return FT_OK;
}
