/* ft_reddit: Reddit-style JSON-lines comments (ft_reddit.h) — the reader, and the
 * per-author sequences behind data.dataset = reddit. */
#include "ft_reddit.h"

#include <stdio.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_grow.h"
#include "ft_jsonl.h"
#include "ft_lines.h"
#include "ft_name_index.h"
#include "ft_text_dataset.h"

void ft_reddit_destroy(ft_reddit_t **r_p)
{
    if (!r_p || !*r_p)
        return;
    ft_reddit_t *r = *r_p;
    ft_text_corpus_destroy(&r->comments);
    for (uint32_t a = 0; a < r->num_authors; a++)
        ft_free(r->authors[a]);
    ft_free(r->authors);
    ft_free(r->author);
    ft_free(r);
    *r_p = NULL;
}

/* The growing state of a read. */
typedef struct {
    ft_reddit_t *r;           /* result */
    ft_name_index_t *authors; /* author names -> ids, handed to r->authors at the end */
    size_t ecap;              /* author (per comment) capacity */
} reader_t;

static int read_line(reader_t *rd, const char *path, uint32_t line, const char *text, size_t len,
                     char *buf)
{
    ft_jsonl_field_t f[2] = {{.name = "author"}, {.name = "body"}};
    int rc = ft_jsonl_fields(path, line, text, len, f, 2, buf);
    if (rc)
        return rc;
    for (int i = 0; i < 2; i++)
        if (!f[i].value)
            return ft_error_set(FT_EFORMAT,
                                "%s:%u: no \"%s\" string (one comment a line: {\"author\": "
                                "\"...\", \"body\": \"...\"})",
                                path, line, f[i].name);
    if (!strcmp(f[0].value, "[deleted]") || !strcmp(f[1].value, "[deleted]") ||
        !strcmp(f[1].value, "[removed]"))
        return FT_OK;
    ft_reddit_t *r = rd->r;
    uint32_t before = r->comments->num_entries, a = 0;
    if ((rc = ft_text_corpus_add(r->comments, 0, line, f[1].value, f[1].len)) ||
        r->comments->num_entries == before)
        return rc; /* a comment without a token is dropped */
    if ((rc = ft_grow((void **)&r->author, &rd->ecap, (size_t)before + 1, sizeof *r->author,
                      "comments")) ||
        (rc = ft_name_index_add(rd->authors, f[0].value, "comments", &a)))
        return rc;
    r->author[before] = a;
    return FT_OK;
}

int ft_reddit_read(const char *path, ft_reddit_t **out)
{
    *out = NULL;
    char *data = NULL, *buf = NULL;
    size_t len = 0;
    int rc = ft_read_file(path, &data, &len);
    if (rc)
        return rc;
    reader_t rd = {0};
    ft_reddit_t *r = rd.r = ft_calloc(1, sizeof *r);
    size_t longest = ft_lines_longest(data, len);
    buf = ft_malloc(2 * (longest + 1)); /* two fields' room (ft_jsonl_fields) */
    if (!r || !buf || (rc = ft_name_index_new(&rd.authors)) != FT_OK ||
        (rc = ft_text_corpus_new((const char *[]){path}, 1, &r->comments)) != FT_OK) {
        rc = rc ? rc : ft_error_set(FT_ENOMEM, "out of memory reading %s", path);
        goto done;
    }
    ft_lines_t it = ft_lines(data, len);
    const char *text;
    size_t l;
    while (rc == FT_OK && ft_lines_next(&it, &text, &l)) {
        size_t k = 0;
        while (k < l && (text[k] == ' ' || text[k] == '\t'))
            k++;
        if (k < l) /* blank lines are skipped */
            rc = read_line(&rd, path, it.line, text, l, buf);
    }
    if (rc == FT_OK && r->comments->num_entries == 0)
        rc = ft_error_set(FT_EFORMAT,
                          "%s: no comment (an empty file, or only deleted ones; one JSON object "
                          "a line expected)",
                          path);
    if (rc == FT_OK)
        r->authors = ft_name_index_take(rd.authors, &r->num_authors);
done:
    ft_free(data);
    ft_free(buf);
    ft_name_index_destroy(&rd.authors);
    if (rc)
        ft_reddit_destroy(&r);
    *out = r;
    return rc;
}

int ft_reddit_load(const char *path, int vocab_size, int seq_len, double test_fraction,
                   uint64_t seed, int train, ft_dataset_t **out)
{
    *out = NULL;
    ft_reddit_t *r = NULL;
    ft_text_vocab_t *v = NULL;
    uint8_t *is_test = NULL;
    uint32_t *order = NULL, *start = NULL, *renum = NULL, *seq_author = NULL;
    int32_t *stream = NULL, *ids = NULL;
    int rc = ft_reddit_read(path, &r);
    if (rc)
        return rc;
    const ft_text_corpus_t *c = r->comments;
    uint32_t E = c->num_entries, A = r->num_authors;
    size_t W = (size_t)seq_len + 1, nseq = 0, cap = 0;
    is_test = ft_malloc(E + 1);
    order = ft_malloc(((size_t)E + 1) * sizeof *order);
    start = ft_calloc((size_t)A + 1, sizeof *start);
    renum = ft_malloc(((size_t)A + 1) * sizeof *renum);
    stream = ft_malloc((c->num_tokens + E + 1) * sizeof *stream);
    if (!is_test || !order || !start || !renum || !stream) {
        rc = ft_error_set(FT_ENOMEM, "out of memory reading %s", path);
        goto done;
    }
    ft_text_split(c, test_fraction, seed, is_test);
    if ((rc = ft_text_vocab_build(c, is_test, vocab_size, &v)))
        goto done;
    /* the split's comments grouped by author (a stable counting sort) */
    for (uint32_t e = 0; e < E; e++)
        if (is_test[e] == !train)
            start[r->author[e] + 1]++;
    for (uint32_t a = 0; a < A; a++)
        start[a + 1] += start[a];
    for (uint32_t e = 0; e < E; e++)
        if (is_test[e] == !train)
            order[start[r->author[e]]++] = e;
    for (uint32_t a = A; a > 0; a--) /* start[a] is the end of author a's run: shift back */
        start[a] = start[a - 1];
    start[0] = 0;
    uint32_t groups = 0;
    for (uint32_t a = 0; a < A; a++) {
        size_t len = 0;
        for (uint32_t k = start[a]; k < start[a + 1]; k++) {
            uint32_t e = order[k];
            for (uint32_t t = c->entry_offsets[e]; t < c->entry_offsets[e + 1]; t++)
                stream[len++] = ft_text_vocab_id(v, ft_text_token(c, t));
            stream[len++] = FT_TEXT_EOS;
        }
        renum[a] = UINT32_MAX;
        for (size_t s = 0; s + W <= len; s += (size_t)seq_len) {
            if (nseq == cap) {
                size_t nc = cap ? 2 * cap : 1024;
                int32_t *ni = ft_realloc(ids, nc * W * sizeof *ids);
                uint32_t *na = ni ? ft_realloc(seq_author, nc * sizeof *na) : NULL;
                if (ni)
                    ids = ni;
                if (!ni || !na) {
                    rc = ft_error_set(FT_ENOMEM, "out of memory for the sequences of %s", path);
                    goto done;
                }
                seq_author = na, cap = nc;
            }
            if (renum[a] == UINT32_MAX)
                renum[a] = groups++;
            memcpy(ids + nseq * W, stream + s, W * sizeof *ids);
            seq_author[nseq++] = renum[a];
        }
    }
    if (nseq == 0) {
        rc = ft_error_set(FT_EINVAL,
                          "%s: no %s sequence of data.seq_len + 1 = %zu tokens from one author",
                          path, train ? "training" : "test", W);
        goto done;
    }
    int classes = groups < 2 ? 2 : groups > 256 ? 256 : (int)groups;
    if ((rc = ft_text_dataset_new((uint32_t)nseq, (int)W, classes, v, "sequences", out)))
        goto done;
    ft_dataset_t *ds = *out;
    for (size_t i = 0; i < nseq * W; i++)
        ds->values[i] = (float)ids[i];
    for (size_t i = 0; i < nseq; i++)
        ds->labels[i] = (uint8_t)(seq_author[i] % 256);
    if (train) {
        ds->group = seq_author, seq_author = NULL;
        ds->num_groups = groups;
    }
    snprintf(ds->source, sizeof ds->source, "%.1000s", path);
done:
    if (rc)
        ft_dataset_destroy(out);
    ft_reddit_destroy(&r);
    ft_text_vocab_destroy(&v);
    ft_free(is_test);
    ft_free(order);
    ft_free(start);
    ft_free(renum);
    ft_free(stream);
    ft_free(ids);
    ft_free(seq_author);
    return rc;
}
