/* ft_alloc: counting and failure injection around the C allocator.
 * Counters are atomic because client processes train on worker threads. */
#define _GNU_SOURCE /* MADV_HUGEPAGE */
#include "ft_alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static atomic_ulong alloc_count;
static atomic_ulong fail_countdown;
static atomic_size_t size_limit; /* 0: none */

/* The injected failures: the countdown reaching this call, or a size over the limit. */
static int should_fail(size_t size)
{
    size_t limit = atomic_load(&size_limit);
    if (limit && size > limit)
        return 1;
    unsigned long n = atomic_load(&fail_countdown);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
            return n == 1;
    }
    return 0;
}

void *ft_malloc(size_t size)
{
    if (should_fail(size))
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p)
        atomic_fetch_add(&alloc_count, 1);
    return p;
}

void *ft_calloc(size_t count, size_t size)
{
    if (should_fail(size && count > SIZE_MAX / size ? SIZE_MAX : count * size))
        return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p)
        atomic_fetch_add(&alloc_count, 1);
    return p;
}

void *ft_realloc(void *ptr, size_t size)
{
    if (should_fail(size))
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

/* From this size on an aligned block goes on 2 MiB pages where the kernel allows it
 * (transparent huge pages in "madvise" mode, Debian's default): streaming a K×N
 * update matrix through 4 KiB pages costs a page walk every 64 cache lines, and the
 * Gram kernel ran ~15% faster on huge pages (docs/PERFORMANCE.md §4). */
#define HUGE_PAGE ((size_t)2 << 20)

void *ft_malloc_aligned(size_t size)
{
    if (should_fail(size))
        return NULL;
    void *p = NULL;
    size_t align = size >= FT_HUGE_FROM ? HUGE_PAGE : 64;
    size_t rounded = (size + align - 1) & ~(align - 1);
    if (posix_memalign(&p, align, rounded ? rounded : align) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (align == HUGE_PAGE)
        (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: fine if refused */
#endif
    atomic_fetch_add(&alloc_count, 1);
    return p;
}

void ft_free_aligned(void *ptr)
{
    free(ptr);
}

void ft_release_pages(void *p, size_t size)
{
#ifdef MADV_DONTNEED
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t hi = ((uintptr_t)p + size) & ~(uintptr_t)(page - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_DONTNEED); /* advice only */
#else
    (void)p, (void)size;
#endif
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

void ft_alloc_limit(size_t max)
{
    atomic_store(&size_limit, max);
}
