/* ft_name_index: names to dense ids through an open-addressing table (ft_name_index.h). */
#include "ft_name_index.h"

#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_grow.h"

uint32_t ft_fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int ft_name_index_new(ft_name_index_t **out)
{
    *out = NULL;
    ft_name_index_t *x = ft_calloc(1, sizeof *x);
    if (!x || !(x->slots = ft_calloc(16, sizeof *x->slots))) {
        ft_free(x);
        return ft_error_set(FT_ENOMEM, "out of memory for a name index");
    }
    x->mask = 15;
    *out = x;
    return FT_OK;
}

void ft_name_index_destroy(ft_name_index_t **x_p)
{
    if (!x_p || !*x_p)
        return;
    ft_name_index_t *x = *x_p;
    for (uint32_t i = 0; i < x->count; i++)
        ft_free(x->names[i]);
    ft_free(x->names);
    ft_free(x->slots);
    ft_free(x);
    *x_p = NULL;
}

/* The slot of name: where it is, or the empty slot where it would go. */
static uint32_t slot_of(const ft_name_index_t *x, const char *name)
{
    uint32_t h = ft_fnv1a(name) & x->mask;
    while (x->slots[h] && strcmp(x->names[x->slots[h] - 1], name))
        h = (h + 1) & x->mask;
    return h;
}

int ft_name_index_add(ft_name_index_t *x, const char *name, const char *what, uint32_t *id)
{
    if (2 * ((size_t)x->count + 1) > (size_t)x->mask + 1) { /* rehash at load 1/2 */
        uint32_t size = (x->mask + 1) * 2;
        uint32_t *t = ft_calloc(size, sizeof *t);
        if (!t)
            return ft_error_set(FT_ENOMEM, "out of memory reading %s", what);
        for (uint32_t a = 0; a < x->count; a++) {
            uint32_t h = ft_fnv1a(x->names[a]) & (size - 1);
            while (t[h])
                h = (h + 1) & (size - 1);
            t[h] = a + 1;
        }
        ft_free(x->slots);
        x->slots = t, x->mask = size - 1;
    }
    uint32_t h = slot_of(x, name);
    if (!x->slots[h]) {
        int rc = ft_grow((void **)&x->names, &x->cap, (size_t)x->count + 1, sizeof *x->names, what);
        if (rc)
            return rc;
        if (!(x->names[x->count] = ft_strdup(name)))
            return ft_error_set(FT_ENOMEM, "out of memory reading %s", what);
        x->slots[h] = ++x->count;
    }
    *id = x->slots[h] - 1;
    return FT_OK;
}

uint32_t ft_name_index_find(const ft_name_index_t *x, const char *name)
{
    uint32_t slot = x->slots[slot_of(x, name)];
    return slot ? slot - 1 : UINT32_MAX;
}

char **ft_name_index_take(ft_name_index_t *x, uint32_t *count)
{
    char **names = x->names;
    *count = x->count;
    x->names = NULL, x->count = 0, x->cap = 0;
    memset(x->slots, 0, ((size_t)x->mask + 1) * sizeof *x->slots);
    return names;
}
