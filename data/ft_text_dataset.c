/* ft_text_dataset: text sequences as an ft_dataset_t (token ids stored as floats) and
 * the fortunes corpus loader behind data.dataset = fortunes. */
#include <stdio.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_text_dataset.h"

int ft_text_dataset_new(uint32_t n, int w, int num_classes, ft_text_vocab_t *vocab,
                        const char *what, ft_dataset_t **out)
{
    int rc = ft_dataset_new(n, 1, 1, w, num_classes, out);
    if (rc)
        return rc;
    ft_dataset_t *ds = *out;
    ft_free(ds->pixels);
    ds->pixels = NULL;
    ds->values = ft_malloc((size_t)n * w * sizeof(float) + 1);
    if (!ds->values) {
        ft_dataset_destroy(out);
        return ft_error_set(FT_ENOMEM, "out of memory for %u %s", n, what);
    }
    ds->vocab = ft_text_vocab_retain(vocab);
    return FT_OK;
}

int ft_text_to_dataset(const ft_text_seqs_t *s, ft_text_vocab_t *vocab, ft_dataset_t **out)
{
    *out = NULL;
    if (s->num_sources > 256)
        return ft_error_set(FT_EINVAL, "%d source files: a text dataset takes at most 256",
                            s->num_sources);
    ft_dataset_t *ds = NULL;
    int W = s->seq_len + 1;
    int rc = ft_text_dataset_new(s->n, W, s->num_sources, vocab, "text sequences", &ds);
    if (rc)
        return rc;
    for (size_t i = 0; i < (size_t)s->n * W; i++)
        ds->values[i] = (float)s->ids[i];
    for (uint32_t i = 0; i < s->n; i++)
        ds->labels[i] = (uint8_t)s->source[i];
    *out = ds;
    return FT_OK;
}

int ft_text_load_fortunes(const char *dir, int vocab_size, int seq_len, double test_fraction,
                          uint64_t seed, int train, ft_dataset_t **out)
{
    *out = NULL;
    ft_text_corpus_t *c = NULL;
    ft_text_vocab_t *v = NULL;
    ft_text_seqs_t *s = NULL;
    uint8_t *is_test = NULL;
    int rc = ft_text_corpus_read_dir(dir, &c);
    if (rc)
        return rc;
    if (!(is_test = ft_malloc(c->num_entries))) {
        rc = ft_error_set(FT_ENOMEM, "out of memory splitting %s", dir);
        goto done;
    }
    ft_text_split(c, test_fraction, seed, is_test);
    if ((rc = ft_text_vocab_build(c, is_test, vocab_size, &v)) ||
        (rc = ft_text_seqs_make(c, v, is_test, !train, seq_len, &s)) ||
        (rc = ft_text_to_dataset(s, v, out)))
        goto done;
    snprintf((*out)->source, sizeof(*out)->source, "%s", dir);
done:
    ft_text_seqs_destroy(&s);
    ft_text_vocab_destroy(&v);
    ft_free(is_test);
    ft_text_corpus_destroy(&c);
    return rc;
}

double ft_text_unigram_baseline(const ft_dataset_t *train, const ft_dataset_t *test, int32_t *word)
{
    int V = train->vocab ? train->vocab->size : 0, W = train->w;
    uint64_t *count = ft_calloc((size_t)V + 1, sizeof *count);
    *word = FT_TEXT_UNK;
    if (!count)
        return 0.0;
    for (uint32_t i = 0; i < train->n; i++)
        for (int t = 1; t < W; t++) {
            int32_t id = ft_text_id(train->values[(size_t)i * W + t]);
            if (id >= 0 && id < V)
                count[id]++;
        }
    for (int v = 1; v < V; v++)
        if (count[v] > count[*word])
            *word = v;
    ft_free(count);
    uint64_t hit = 0, all = 0;
    for (uint32_t i = 0; i < test->n; i++)
        for (int t = 1; t < test->w; t++) {
            float x = test->values[(size_t)i * test->w + t];
            if (!ft_text_is_scored(x))
                continue;
            all++;
            hit += ft_text_id(x) == *word;
        }
    return all ? (double)hit / (double)all : 0.0;
}
