/* ft_alloc: the allocation hook every module allocates through.
 *
 * It counts allocations (tests assert that per-round hot paths allocate nothing)
 * and can be told to fail the n-th allocation from now, or every one over a size
 * (tests drive error paths, and check that no reader sizes a buffer from a number in
 * its input). */
#ifndef FT_ALLOC_H
#define FT_ALLOC_H

#include <stddef.h>

/* Like malloc/calloc/realloc/free; NULL on failure (or injected failure). */
void *ft_malloc(size_t size);
void *ft_calloc(size_t count, size_t size);
void *ft_realloc(void *ptr, size_t size);
void ft_free(void *ptr);
/* 64-byte aligned allocation, freed with ft_free_aligned. Blocks of FT_HUGE_FROM
 * bytes or more are 2 MiB aligned and advised onto huge pages (ft_alloc.c). */
#define FT_HUGE_FROM ((size_t)32 << 20)
void *ft_malloc_aligned(size_t size);
void ft_free_aligned(void *ptr);
/* Hands the whole pages inside [p, p + size) back to the system: they stop counting
 * as resident and read back as zeros when touched again (a no-op where madvise
 * cannot do it; callers must not rely on the zeros). */
void ft_release_pages(void *p, size_t size);
char *ft_strdup(const char *s);

/* Number of successful allocations (malloc, calloc, realloc, aligned) so far. */
unsigned long ft_alloc_count(void);
/* Makes the n-th allocation from now fail (n = 1: the next one); 0 disables. */
void ft_alloc_fail_after(unsigned long n);
/* Makes every allocation of more than max bytes fail, as on a machine with little
 * memory (0: no limit, the default). A failure does not count down ft_alloc_fail_after. */
void ft_alloc_limit(size_t max);

#endif
