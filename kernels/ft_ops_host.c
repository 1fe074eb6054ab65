/* ft_ops_host: host-memory helpers of the CPU back ends (see ft_ops_host.h). */
#include "ft_ops_host.h"

#include "ft_alloc.h"

#include <string.h>

void *ft_host_alloc(size_t bytes)
{
    void *p = ft_malloc_aligned(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void ft_host_free(void *ptr)
{
    ft_free_aligned(ptr);
}

void ft_host_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        memcpy(dst, src, bytes);
}

void ft_host_zero(void *dst, size_t bytes)
{
    if (bytes)
        memset(dst, 0, bytes);
}

void ft_host_axpy(size_t n, float alpha, const float *restrict x, float *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

void ft_host_scale(size_t n, float alpha, float *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}

void ft_host_sub(size_t n, const float *a, const float *b, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] - b[i];
}
