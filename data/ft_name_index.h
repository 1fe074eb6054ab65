/* ft_name_index: names to dense ids (0, 1, 2, ... in order of first appearance) — how
 * the readers that group lines by author (ft_sentiment140.h's users, ft_reddit.h's
 * comment authors) number them in one pass over a file of millions of lines. An
 * open-addressing table (32-bit FNV-1a, linear probing) kept at most half full: the
 * table doubles and every name is placed again before an add would fill it past that. */
#ifndef FT_NAME_INDEX_H
#define FT_NAME_INDEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **names;    /* count names (the index's copies), names[id] for each id */
    uint32_t count;  /* distinct names added */
    size_t cap;      /* elements names has room for (ft_grow.h) */
    uint32_t *slots; /* the table: id + 1 of the name hashed there, 0 empty */
    uint32_t mask;   /* table size - 1 (a power of two, at least 16) */
} ft_name_index_t;

/* 32-bit FNV-1a of the NUL-terminated string s: the index's hash, and the text
 * vocabulary's (ft_text_vocab.c). */
uint32_t ft_fnv1a(const char *s);

/* A new empty index (16 slots). FT_ENOMEM with *out NULL. */
int ft_name_index_new(ft_name_index_t **out);

/* Frees the index and the names it still owns; accepts NULL and *x_p NULL, and sets
 * *x_p to NULL. */
void ft_name_index_destroy(ft_name_index_t **x_p);

/* The id of name into *id: its id when added before, else count (a copy of name is
 * added and count grows by one). FT_ENOMEM (a message naming WHAT the caller reads, as
 * ft_grow.h: "out of memory reading WHAT") with the index as it was, *id untouched. */
int ft_name_index_add(ft_name_index_t *x, const char *name, const char *what, uint32_t *id);

/* The id of name, or UINT32_MAX when it was never added. */
uint32_t ft_name_index_find(const ft_name_index_t *x, const char *name);

/* Hands the names over: returns the array of count names (NULL when count is 0; the
 * caller frees each name and the array with ft_free) with count into *count, and leaves
 * x empty (its table kept, at its size) for more adds or ft_name_index_destroy. */
char **ft_name_index_take(ft_name_index_t *x, uint32_t *count);

#endif
