/* ft_text_seqs: the train/test split of a corpus by entry, its fixed-length token
 * sequences, and their partition among clients (natural by source file, or the iid
 * and Dirichlet schemes of ft_partition.c with the source file as the class).
 *
 * Sequences follow the usual language-model batching (the paper's Reddit code,
 * after the PyTorch word_language_model example): a source's ids laid end to end, cut
 * into windows of T+1 with stride T, the targets the inputs shifted by one. Unlike
 * that example a window never crosses a source file, so each sequence has one topic. */
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_rng.h"
#include "ft_text.h"

void ft_text_split(const ft_text_corpus_t *c, double test_fraction, uint64_t seed, uint8_t *is_test)
{
    for (uint32_t e = 0; e < c->num_entries; e++) {
        ft_rng_t rng;
        ft_rng_init(&rng, seed, 0, e, FT_RNG_PARTITION);
        is_test[e] = ft_rng_uniform(&rng) < test_fraction;
    }
}

void ft_text_seqs_destroy(ft_text_seqs_t **s_p)
{
    if (!s_p || !*s_p)
        return;
    ft_free((*s_p)->ids);
    ft_free((*s_p)->source);
    ft_free((*s_p)->entry);
    ft_free(*s_p);
    *s_p = NULL;
}

/* Walks the chosen entries source by source, emitting windows; with out NULL it only
 * counts them. Returns the number of sequences. */
static uint32_t cut(const ft_text_corpus_t *c, const ft_text_vocab_t *v, const uint8_t *is_test,
                    int want_test, int T, ft_text_seqs_t *out)
{
    uint32_t n = 0;
    int32_t *win = out ? ft_malloc(((size_t)T + 1) * sizeof *win) : NULL;
    uint32_t *win_entry = out ? ft_malloc(((size_t)T + 1) * sizeof *win_entry) : NULL;
    if (out && (!win || !win_entry)) {
        ft_free(win);
        ft_free(win_entry);
        return 0;
    }
    for (int src = 0; src < c->num_sources; src++) {
        int fill = 0; /* ids in the current window */
        for (uint32_t e = 0; e < c->num_entries; e++) {
            if (c->entry_source[e] != (uint32_t)src || (is_test && is_test[e] != want_test))
                continue;
            uint32_t t0 = c->entry_offsets[e], t1 = c->entry_offsets[e + 1];
            for (uint32_t t = t0; t <= t1; t++) {
                if (out) {
                    win[fill] = t < t1 ? ft_text_vocab_id(v, ft_text_token(c, t)) : FT_TEXT_EOS;
                    win_entry[fill] = e;
                }
                if (++fill < T + 1)
                    continue;
                if (out) {
                    memcpy(out->ids + (size_t)n * (T + 1), win, ((size_t)T + 1) * sizeof *win);
                    out->source[n] = (uint32_t)src;
                    out->entry[n] = win_entry[0];
                    win[0] = win[T]; /* stride T: the last target is the next first input */
                    win_entry[0] = win_entry[T];
                }
                n++;
                fill = 1;
            }
        }
    }
    ft_free(win);
    ft_free(win_entry);
    return n;
}

int ft_text_seqs_make(const ft_text_corpus_t *c, const ft_text_vocab_t *v, const uint8_t *is_test,
                      int want_test, int seq_len, ft_text_seqs_t **out)
{
    *out = NULL;
    if (seq_len < 1)
        return ft_error_set(FT_EINVAL, "sequence length %d: must be >= 1", seq_len);
    uint32_t n = cut(c, v, is_test, want_test, seq_len, NULL);
    if (n == 0)
        return ft_error_set(FT_EINVAL, "the %s split holds fewer than %d tokens: no sequence",
                            want_test ? "test" : "training", seq_len + 1);
    ft_text_seqs_t *s = ft_calloc(1, sizeof *s);
    if (!s || !(s->ids = ft_malloc((size_t)n * (seq_len + 1) * sizeof *s->ids)) ||
        !(s->source = ft_malloc((size_t)n * sizeof *s->source)) ||
        !(s->entry = ft_malloc((size_t)n * sizeof *s->entry))) {
        ft_text_seqs_destroy(&s);
        return ft_error_set(FT_ENOMEM, "out of memory for %u text sequences", n);
    }
    s->n = n, s->seq_len = seq_len, s->num_sources = c->num_sources;
    if (cut(c, v, is_test, want_test, seq_len, s) != n) { /* only an allocation can differ */
        ft_text_seqs_destroy(&s);
        return ft_error_set(FT_ENOMEM, "out of memory cutting text sequences");
    }
    *out = s;
    return FT_OK;
}

int ft_text_partition(const ft_partition_spec_t *spec, int natural, const ft_text_seqs_t *s,
                      ft_partition_t **out)
{
    *out = NULL;
    int K = spec->num_clients;
    if (K < 1)
        return ft_error_set(FT_EINVAL, "a partition needs at least one client");
    if (s->num_sources > 256)
        return ft_error_set(FT_EINVAL,
                            "%d source files: text partitions take at most 256 (one class each)",
                            s->num_sources);
    ft_partition_spec_t sp = *spec;
    if (natural)
        sp.kind = FT_PARTITION_NATURAL;
    uint8_t *labels = ft_malloc(s->n);
    uint32_t *pool = ft_malloc((size_t)s->n * sizeof *pool);
    int rc = FT_OK;
    if (!labels || !pool)
        rc = ft_error_set(FT_ENOMEM, "out of memory partitioning %u sequences", s->n);
    for (uint32_t i = 0; rc == FT_OK && i < s->n; i++)
        labels[i] = (uint8_t)s->source[i], pool[i] = i;
    if (rc == FT_OK)
        rc = ft_partition_make(&sp, labels, s->num_sources, pool, s->n, out);
    ft_free(labels);
    ft_free(pool);
    return rc;
}
