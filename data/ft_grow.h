/* ft_grow: how the arrays a data/ reader fills as it goes grow (a corpus's tokens and
 * entries, a reader's per-line labels and authors, a name index's names) — one rule
 * for all of them instead of a copy per reader: 1024 elements first, then doubled, so
 * a read of n lines reallocates O(log n) times. */
#ifndef FT_GROW_H
#define FT_GROW_H

#include <stddef.h>

/* Makes the array *p (*cap elements of elem bytes, from ft_malloc/ft_realloc; NULL with
 * *cap = 0 before the first call) hold at least need elements. Nothing happens when
 * need <= *cap; otherwise *p is ft_realloc'd to *cap doubled as often as need takes
 * (1024 doubled so when *cap is 0) and *cap set to that. The elements held are kept, the
 * new ones are undefined. On failure FT_ENOMEM ("out of memory reading WHAT") with *p
 * and *cap unchanged: the old array is still the caller's to free. */
int ft_grow(void **p, size_t *cap, size_t need, size_t elem, const char *what);

#endif
