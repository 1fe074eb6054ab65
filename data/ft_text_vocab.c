/* ft_text_vocab: the vocabulary of a next-word task, built from the training split
 * only (test words outside it become <unk>, as in the paper's Reddit code, which keeps
 * the most frequent 50k words of its training comments).
 *
 * Ids: 0 <unk>, 1 <eos>, then the training tokens by falling count, ties by byte
 * order, so the vocabulary is a pure function of the corpus and the split. Lookups go
 * through an open-addressing table hashed with 32-bit FNV-1a
 * (ft_fnv1a, shared with the readers' name index). */
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_name_index.h"
#include "ft_text.h"

void ft_text_vocab_destroy(ft_text_vocab_t **v_p)
{
    if (!v_p || !*v_p)
        return;
    ft_text_vocab_t *v = *v_p;
    *v_p = NULL;
    if (--v->refs > 0)
        return;
    for (int i = 0; i < v->size; i++)
        ft_free(v->words[i]);
    ft_free(v->words);
    ft_free(v->hash);
    ft_free(v);
}

ft_text_vocab_t *ft_text_vocab_retain(ft_text_vocab_t *v)
{
    v->refs++;
    return v;
}

int32_t ft_text_vocab_id(const ft_text_vocab_t *v, const char *word)
{
    for (uint32_t h = ft_fnv1a(word) & v->mask;; h = (h + 1) & v->mask) {
        uint32_t slot = v->hash[h];
        if (!slot)
            return FT_TEXT_UNK;
        if (!strcmp(v->words[slot - 1], word))
            return (int32_t)(slot - 1);
    }
}

/* A distinct training token and its count. */
typedef struct {
    const char *word; /* in the corpus's chars */
    uint32_t count;   /* occurrences in the training entries */
} word_count_t;

static int by_count(const void *a, const void *b)
{
    const word_count_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->word, y->word);
}

/* Power of two table size with load <= 1/2 for n keys. */
static uint32_t table_size(size_t n)
{
    uint32_t s = 16;
    while (s < 2 * n)
        s *= 2;
    return s;
}

int ft_text_vocab_build(const ft_text_corpus_t *c, const uint8_t *is_test, int size,
                        ft_text_vocab_t **out)
{
    *out = NULL;
    if (size < 3)
        return ft_error_set(FT_EINVAL, "vocabulary size %d: must be >= 3 (<unk>, <eos>, a word)",
                            size);
    int rc = FT_ENOMEM;
    uint32_t cap = table_size(c->num_tokens ? c->num_tokens : 1);
    uint32_t mask = cap - 1;
    /* counting table: slot -> index into wc + 1 */
    uint32_t *slots = ft_calloc(cap, sizeof *slots);
    word_count_t *wc = ft_malloc((c->num_tokens ? c->num_tokens : 1) * sizeof *wc);
    ft_text_vocab_t *v = ft_calloc(1, sizeof *v);
    size_t distinct = 0;
    if (!slots || !wc || !v)
        goto fail;
    v->refs = 1;
    for (uint32_t e = 0; e < c->num_entries; e++) {
        if (is_test && is_test[e])
            continue;
        for (uint32_t t = c->entry_offsets[e]; t < c->entry_offsets[e + 1]; t++) {
            const char *w = ft_text_token(c, t);
            uint32_t h = ft_fnv1a(w) & mask;
            while (slots[h] && strcmp(wc[slots[h] - 1].word, w))
                h = (h + 1) & mask;
            if (!slots[h]) {
                wc[distinct] = (word_count_t){w, 0};
                slots[h] = (uint32_t)++distinct;
            }
            wc[slots[h] - 1].count++;
        }
    }
    qsort(wc, distinct, sizeof *wc, by_count);
    size_t words = distinct + 2 < (size_t)size ? distinct + 2 : (size_t)size;
    v->mask = table_size(words) - 1;
    if (!(v->words = ft_calloc(words, sizeof *v->words)) ||
        !(v->hash = ft_calloc((size_t)v->mask + 1, sizeof *v->hash)))
        goto fail;
    for (size_t i = 0; i < words; i++) {
        const char *w = i == FT_TEXT_UNK ? "<unk>" : i == FT_TEXT_EOS ? "<eos>" : wc[i - 2].word;
        if (!(v->words[i] = ft_strdup(w)))
            goto fail;
        v->size = (int)i + 1;
        uint32_t h = ft_fnv1a(w) & v->mask;
        while (v->hash[h])
            h = (h + 1) & v->mask;
        v->hash[h] = (uint32_t)i + 1;
    }
    ft_free(slots);
    ft_free(wc);
    *out = v;
    return FT_OK;
fail:
    rc = ft_error_set(FT_ENOMEM, "out of memory building a vocabulary of %d words", size);
    ft_free(slots);
    ft_free(wc);
    ft_text_vocab_destroy(&v);
    return rc;
}
