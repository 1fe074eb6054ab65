/* ft_alloc: counting and failure injection around the C allocator.
 * Counters are atomic because client processes train on worker threads. */
#include "ft_alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong alloc_count;
static atomic_ulong fail_countdown;

static int should_fail(void)
{
    unsigned long n = atomic_load(&fail_countdown);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
            return n == 1;
    }
    return 0;
}

void *ft_malloc(size_t size)
{
    if (should_fail())
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p)
        atomic_fetch_add(&alloc_count, 1);
    return p;
}

void *ft_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p)
        atomic_fetch_add(&alloc_count, 1);
    return p;
}

void *ft_realloc(void *ptr, size_t size)
{
    if (should_fail())
        return NULL;
    void *p = realloc(ptr, size ? size : 1);
    if (p)
        atomic_fetch_add(&alloc_count, 1);
    return p;
}

void ft_free(void *ptr)
{
    free(ptr);
}

void *ft_malloc_aligned(size_t size)
{
    if (should_fail())
        return NULL;
    void *p = NULL;
    size_t rounded = (size + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0)
        return NULL;
    atomic_fetch_add(&alloc_count, 1);
    return p;
}

void ft_free_aligned(void *ptr)
{
    free(ptr);
}

char *ft_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = ft_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

unsigned long ft_alloc_count(void)
{
    return atomic_load(&alloc_count);
}

void ft_alloc_fail_after(unsigned long n)
{
    atomic_store(&fail_countdown, n);
}
