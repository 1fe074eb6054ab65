/* ft_sentiment140: reading the Sentiment140 CSV (format in ft_sentiment140.h) into a
 * tokenised corpus with a label and an author per tweet. Authors are found through an
 * index (ft_name_index.h) so a 1.6M-line file reads in one pass. */
#include <stdio.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_grow.h"
#include "ft_lines.h"
#include "ft_name_index.h"
#include "ft_sentiment140.h"
#include "ft_tweet.h"

#define FIELDS 6

void ft_sentiment140_destroy(ft_sentiment140_t **s_p)
{
    if (!s_p || !*s_p)
        return;
    ft_sentiment140_t *s = *s_p;
    ft_text_corpus_destroy(&s->tweets);
    for (uint32_t i = 0; i < s->num_authors; i++)
        ft_free(s->authors[i]);
    ft_free(s->authors);
    ft_free(s->label);
    ft_free(s->author);
    ft_free(s);
    *s_p = NULL;
}

/* Splits one line (no newline) into FIELDS fields, unquoting into buf (room for the
 * line); field starts into f[]. Returns the field count, or -1 for an unterminated
 * quote. */
static int split(const char *line, size_t len, char *buf, char *f[FIELDS + 1])
{
    int n = 0;
    size_t i = 0, o = 0;
    for (;;) {
        if (n <= FIELDS)
            f[n] = buf + o;
        n++;
        if (i < len && line[i] == '"') {
            i++;
            for (;;) {
                if (i >= len)
                    return -1;
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        buf[o++] = '"', i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                buf[o++] = line[i++];
            }
        }
        while (i < len && line[i] != ',') /* unquoted field, or text after a quote */
            buf[o++] = line[i++];
        buf[o++] = '\0';
        if (i >= len)
            return n;
        i++; /* the comma */
    }
}

/* Growing state of a read. */
typedef struct {
    ft_sentiment140_t *s;     /* result */
    size_t lcap;              /* label capacity */
    size_t tcap;              /* author (per tweet) capacity */
    ft_name_index_t *authors; /* user names -> ids, handed to s->authors at the end */
} reader_t;

/* Latin-1 to UTF-8 (out has room for 2 * strlen(in) + 1). */
static size_t latin1_to_utf8(const char *in, char *out)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (*p < 0x80) {
            out[o++] = (char)*p;
        } else {
            out[o++] = (char)(0xC0 | (*p >> 6));
            out[o++] = (char)(0x80 | (*p & 0x3F));
        }
    }
    out[o] = '\0';
    return o;
}

static int read_line(reader_t *r, const char *path, uint32_t line, const char *text, size_t len,
                     char *buf, char *utf8, int clean)
{
    char *f[FIELDS + 1];
    const char *nul = memchr(text, '\0', len);
    if (nul) /* a binary file (a .zip or .gz given as the CSV): its bytes are no text */
        return ft_error_set(FT_EFORMAT,
                            "%s:%u: byte 0x00 at column %zu: not a text file (the CSV as "
                            "unzipped, Latin-1)",
                            path, line, (size_t)(nul - text) + 1);
    int n = split(text, len, buf, f);
    if (n < 0)
        return ft_error_set(FT_EFORMAT, "%s:%u: unterminated quote", path, line);
    if (n != FIELDS)
        return ft_error_set(FT_EFORMAT,
                            "%s:%u: %d fields, expected %d (polarity, id, date, query, user, "
                            "text)",
                            path, line, n, FIELDS);
    const char *pol = f[0];
    if (strcmp(pol, "0") && strcmp(pol, "2") && strcmp(pol, "4"))
        return ft_error_set(FT_EFORMAT, "%s:%u: field 1 (polarity) is '%.20s', expected 0, 2 or 4",
                            path, line, pol);
    if (!strcmp(pol, "2"))
        return FT_OK; /* neutral */
    ft_sentiment140_t *s = r->s;
    uint32_t before = s->tweets->num_entries;
    size_t ulen = 0;
    int rc = FT_OK;
    if (clean)
        rc = ft_tweet_clean(path, line, f[5], strlen(f[5]), 1, utf8, &ulen);
    else
        ulen = latin1_to_utf8(f[5], utf8);
    if (rc == FT_OK)
        rc = ft_text_corpus_add(s->tweets, 0, line, utf8, ulen);
    if (rc || s->tweets->num_entries == before)
        return rc; /* a tweet without a token is dropped */
    uint32_t a = 0;
    if ((rc = ft_grow((void **)&s->label, &r->lcap, (size_t)before + 1, 1, "Sentiment140")) !=
            FT_OK ||
        (rc = ft_grow((void **)&s->author, &r->tcap, (size_t)before + 1, sizeof *s->author,
                      "Sentiment140")) != FT_OK ||
        (rc = ft_name_index_add(r->authors, f[4], "Sentiment140", &a)) != FT_OK)
        return rc;
    s->label[before] = pol[0] == '4';
    s->author[before] = a;
    return FT_OK;
}

int ft_sentiment140_read(const char *path, ft_sentiment140_t **out)
{
    return ft_sentiment140_read_as(path, 0, out);
}

int ft_sentiment140_read_as(const char *path, int clean, ft_sentiment140_t **out)
{
    *out = NULL;
    char *data = NULL, *buf = NULL, *utf8 = NULL;
    size_t len = 0;
    int rc = ft_read_file(path, &data, &len);
    if (rc)
        return rc;
    reader_t r = {0};
    ft_sentiment140_t *s = r.s = ft_calloc(1, sizeof *s);
    /* the longest line: ft_tweet_clean's room is 3x a text's */
    size_t longest = ft_lines_longest(data, len);
    buf = ft_malloc(longest + 2);
    utf8 = ft_malloc(3 * longest + 3);
    if (!s || !buf || !utf8 || (rc = ft_name_index_new(&r.authors)) != FT_OK ||
        (rc = ft_text_corpus_new((const char *[]){path}, 1, &s->tweets)) != FT_OK) {
        rc = rc ? rc : ft_error_set(FT_ENOMEM, "out of memory reading %s", path);
        goto done;
    }
    ft_lines_t it = ft_lines(data, len);
    const char *text;
    size_t l;
    while (rc == FT_OK && ft_lines_next(&it, &text, &l))
        if (l)
            rc = read_line(&r, path, it.line, text, l, buf, utf8, clean);
    if (rc == FT_OK && s->tweets->num_entries == 0)
        rc = ft_error_set(FT_EFORMAT, "%s: no tweet (empty file, or only neutral ones)", path);
    if (rc == FT_OK)
        s->authors = ft_name_index_take(r.authors, &s->num_authors);
done:
    ft_free(data);
    ft_free(buf);
    ft_free(utf8);
    ft_name_index_destroy(&r.authors);
    if (rc)
        ft_sentiment140_destroy(&s);
    *out = s;
    return rc;
}
