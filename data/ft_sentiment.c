/* ft_sentiment: the Sentiment140 dataset and edge-case tweets (ft_sentiment.h). */
#include "ft_sentiment.h"

#include <stdio.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_lines.h"
#include "ft_rng.h"
#include "ft_sentiment140.h"
#include "ft_text_dataset.h"
#include "ft_tweet.h"

void ft_sentiment_pad(const ft_text_corpus_t *c, uint32_t e, const ft_text_vocab_t *v, int seq_len,
                      float *x)
{
    uint32_t lo = c->entry_offsets[e], n = c->entry_offsets[e + 1] - lo;
    uint32_t k = n < (uint32_t)seq_len ? n : (uint32_t)seq_len, pad = (uint32_t)seq_len - k;
    for (uint32_t t = 0; t < pad; t++)
        x[t] = (float)FT_SENTIMENT_PAD;
    for (uint32_t t = 0; t < k; t++)
        x[pad + t] = (float)ft_text_vocab_id(v, ft_text_token(c, lo + t));
}

/* A dataset of n tweets of seq_len ids (float storage, 2 classes). */
static int new_tweets(uint32_t n, int seq_len, ft_text_vocab_t *v, ft_dataset_t **out)
{
    return ft_text_dataset_new(n, seq_len, 2, v, "tweets", out);
}

/* Whether training tweet e is kept: two tokens or more, none containing "greek". */
static int kept(const ft_text_corpus_t *c, uint32_t e)
{
    uint32_t lo = c->entry_offsets[e], hi = c->entry_offsets[e + 1];
    if (hi - lo < 2)
        return 0;
    for (uint32_t t = lo; t < hi; t++)
        if (strstr(ft_text_token(c, t), "greek"))
            return 0;
    return 1;
}

int ft_sentiment_load(const char *dir, int vocab_size, int seq_len, double fraction, uint64_t seed,
                      int train, ft_dataset_t **out)
{
    *out = NULL;
    char path[4096];
    ft_sentiment140_t *tr = NULL, *te = NULL;
    ft_text_vocab_t *v = NULL;
    uint8_t *drop = NULL;
    uint32_t *renum = NULL;
    int rc = FT_OK;
    snprintf(path, sizeof path, "%s/%s", dir, FT_SENTIMENT140_TRAIN);
    if (!ft_path_exists(path))
        return ft_error_set(FT_EIO,
                            "data.path = %s: no %s there (the Sentiment140 training file, from "
                            "trainingandtestdata.zip)",
                            dir, FT_SENTIMENT140_TRAIN);
    if ((rc = ft_sentiment140_read_as(path, 1, &tr)))
        return rc;
    const ft_text_corpus_t *c = tr->tweets;
    drop = ft_malloc((size_t)c->num_entries + 1);
    renum = ft_malloc(((size_t)tr->num_authors + 1) * sizeof *renum);
    if (!drop || !renum) {
        rc = ft_error_set(FT_ENOMEM, "out of memory reading %s", path);
        goto done;
    }
    uint32_t n = 0, groups = 0;
    for (uint32_t a = 0; a < tr->num_authors; a++)
        renum[a] = UINT32_MAX;
    for (uint32_t e = 0; e < c->num_entries; e++) {
        drop[e] = !kept(c, e);
        if (fraction < 1.0 && !drop[e]) {
            ft_rng_t rng;
            ft_rng_init(&rng, seed, 1, e, FT_RNG_PARTITION);
            drop[e] = !(ft_rng_uniform(&rng) < fraction);
        }
        if (drop[e])
            continue;
        n++;
        if (renum[tr->author[e]] == UINT32_MAX)
            renum[tr->author[e]] = groups++;
    }
    if (n == 0) {
        rc = ft_error_set(FT_EFORMAT, "%s: no training tweet with two tokens or more", path);
        goto done;
    }
    if ((rc = ft_text_vocab_build(c, drop, vocab_size, &v)))
        goto done;
    if (train) {
        if ((rc = new_tweets(n, seq_len, v, out)))
            goto done;
        ft_dataset_t *ds = *out;
        ds->group = ft_malloc((size_t)n * sizeof *ds->group);
        if (!ds->group) {
            rc = ft_error_set(FT_ENOMEM, "out of memory for %u tweets", n);
            goto done;
        }
        ds->num_groups = groups;
        for (uint32_t e = 0, i = 0; e < c->num_entries; e++) {
            if (drop[e])
                continue;
            ft_sentiment_pad(c, e, v, seq_len, ds->values + (size_t)i * seq_len);
            ds->labels[i] = tr->label[e];
            ds->group[i++] = renum[tr->author[e]];
        }
    } else {
        snprintf(path, sizeof path, "%s/%s", dir, FT_SENTIMENT140_TEST);
        if (!ft_path_exists(path)) {
            rc = ft_error_set(FT_EIO,
                              "data.path = %s: no %s there (the Sentiment140 test file, from "
                              "trainingandtestdata.zip)",
                              dir, FT_SENTIMENT140_TEST);
            goto done;
        }
        if ((rc = ft_sentiment140_read_as(path, 1, &te)) ||
            (rc = new_tweets(te->tweets->num_entries, seq_len, v, out)))
            goto done;
        for (uint32_t e = 0; e < te->tweets->num_entries; e++) {
            ft_sentiment_pad(te->tweets, e, v, seq_len, (*out)->values + (size_t)e * seq_len);
            (*out)->labels[e] = te->label[e];
        }
    }
    snprintf((*out)->source, sizeof(*out)->source, "%.1000s", path);
done:
    if (rc)
        ft_dataset_destroy(out);
    ft_sentiment140_destroy(&tr);
    ft_sentiment140_destroy(&te);
    ft_text_vocab_destroy(&v);
    ft_free(drop);
    ft_free(renum);
    return rc;
}

int ft_sentiment_lines(const char *path, ft_text_vocab_t *vocab, int seq_len, int label,
                       ft_dataset_t **out)
{
    *out = NULL;
    char *data = NULL, *buf = NULL;
    size_t len = 0;
    ft_text_corpus_t *c = NULL;
    int rc = ft_read_file(path, &data, &len);
    if (rc)
        return rc;
    if (!(buf = ft_malloc(3 * len + 3))) {
        rc = ft_error_set(FT_ENOMEM, "out of memory reading %s", path);
        goto done;
    }
    if ((rc = ft_text_corpus_new((const char *[]){path}, 1, &c)))
        goto done;
    ft_lines_t it = ft_lines(data, len);
    const char *text;
    size_t l;
    while (rc == FT_OK && ft_lines_next(&it, &text, &l)) {
        size_t blen = 0;
        rc = ft_tweet_clean(path, it.line, text, l, 0, buf, &blen);
        if (rc == FT_OK && blen)
            rc = ft_text_corpus_add(c, 0, it.line, buf, blen);
    }
    if (rc == FT_OK && c->num_entries == 0)
        rc = ft_error_set(FT_EFORMAT, "%s: no tweet (an empty file: one tweet a line expected)",
                          path);
    if (rc == FT_OK && (rc = new_tweets(c->num_entries, seq_len, vocab, out)) == FT_OK) {
        for (uint32_t e = 0; e < c->num_entries; e++) {
            ft_sentiment_pad(c, e, vocab, seq_len, (*out)->values + (size_t)e * seq_len);
            (*out)->labels[e] = (uint8_t)label;
        }
        snprintf((*out)->source, sizeof(*out)->source, "%.1000s", path);
    }
done:
    ft_text_corpus_destroy(&c);
    ft_free(data);
    ft_free(buf);
    return rc;
}
