/* ft_text_corpus: reading fortune files into a tokenised corpus.
 *
 * The fortune(6) format (Debian's `fortunes` package, /usr/share/games/fortunes/):
 * plain text, entries separated by lines holding only "%". Each entry is tokenised
 * (ft_text_tokenize.c) and remembered with its file and first line, so later errors
 * and the natural partition can name where a sequence came from. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_grow.h"
#include "ft_text.h"

void ft_text_corpus_destroy(ft_text_corpus_t **c_p)
{
    if (!c_p || !*c_p)
        return;
    ft_text_corpus_t *c = *c_p;
    for (int i = 0; i < c->num_sources; i++)
        ft_free(c->source_paths[i]);
    ft_free(c->source_paths);
    ft_free(c->entry_source);
    ft_free(c->entry_line);
    ft_free(c->entry_offsets);
    ft_free(c->token_start);
    ft_free(c->chars);
    ft_free(c);
    *c_p = NULL;
}

/* Growth state of the arrays while reading. */
typedef struct {
    ft_text_corpus_t *c; /* corpus being filled */
} builder_t;

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    return ft_grow(p, cap, need, elem, "a text corpus");
}

static int add_token(const char *token, void *user)
{
    builder_t *b = user;
    ft_text_corpus_t *c = b->c;
    size_t n = strlen(token) + 1;
    int rc;
    if ((rc = grow((void **)&c->token_start, &c->tok_cap, c->num_tokens + 1, sizeof(uint32_t))) ||
        (rc = grow((void **)&c->chars, &c->chars_cap, c->chars_len + n, 1)))
        return rc;
    if (c->chars_len + n > UINT32_MAX)
        return ft_error_set(FT_ENOMEM, "text corpus past 4 GiB of tokens");
    c->token_start[c->num_tokens++] = (uint32_t)c->chars_len;
    memcpy(c->chars + c->chars_len, token, n);
    c->chars_len += n;
    return FT_OK;
}

/* Tokenises one entry (text[0..len), first line `line` of source src); an entry
 * without tokens is dropped. */
static int add_entry(builder_t *b, int src, uint32_t line, const char *text, size_t len)
{
    ft_text_corpus_t *c = b->c;
    size_t before = c->num_tokens;
    int rc = ft_text_tokenize(c->source_paths[src], line, text, len, add_token, b);
    if (rc)
        return rc;
    if (c->num_tokens == before)
        return FT_OK;
    /* the three entry arrays grow in step: each is sized for num_entries + 2 */
    size_t cap = c->ent_cap;
    if ((rc = grow((void **)&c->entry_source, &cap, c->num_entries + 2, sizeof(uint32_t))))
        return rc;
    cap = c->ent_cap;
    if ((rc = grow((void **)&c->entry_line, &cap, c->num_entries + 2, sizeof(uint32_t))))
        return rc;
    cap = c->ent_cap;
    if ((rc = grow((void **)&c->entry_offsets, &cap, c->num_entries + 2, sizeof(uint32_t))))
        return rc;
    c->ent_cap = cap;
    if (c->num_tokens > UINT32_MAX)
        return ft_error_set(FT_ENOMEM, "text corpus past 2^32 tokens");
    c->entry_source[c->num_entries] = (uint32_t)src;
    c->entry_line[c->num_entries] = line;
    c->entry_offsets[c->num_entries] = (uint32_t)before;
    c->num_entries++;
    c->entry_offsets[c->num_entries] = (uint32_t)c->num_tokens;
    return FT_OK;
}

/* Splits file src's text at "%" lines into entries. */
static int read_source(builder_t *b, int src)
{
    const char *path = b->c->source_paths[src];
    char *data = NULL;
    size_t len = 0;
    int rc = ft_read_file(path, &data, &len);
    if (rc)
        return rc;
    uint32_t entries_before = b->c->num_entries;
    size_t start = 0;  /* first byte of the current entry */
    uint32_t line = 1; /* line number of the byte at i */
    uint32_t start_line = 1;
    for (size_t i = 0; i <= len && rc == FT_OK;) {
        size_t eol = i;
        while (eol < len && data[eol] != '\n')
            eol++;
        size_t ll = eol - i;
        int sep = (ll == 1 && data[i] == '%') || (ll == 2 && data[i] == '%' && data[i + 1] == '\r');
        if (sep || eol >= len) {
            size_t end = sep ? i : len;
            rc = add_entry(b, src, start_line, data + start, end - start);
            start = eol + 1;
            start_line = line + 1;
        }
        if (eol >= len)
            break;
        i = eol + 1;
        line++;
    }
    ft_free(data);
    if (rc == FT_OK && b->c->num_entries == entries_before)
        rc = ft_error_set(FT_EFORMAT, "%s: empty text file (no entry holds a token)", path);
    return rc;
}

int ft_text_corpus_add(ft_text_corpus_t *c, int source, uint32_t line, const char *text, size_t len)
{
    builder_t b = {c};
    return add_entry(&b, source, line, text, len);
}

int ft_text_corpus_new(const char *const *paths, int num_paths, ft_text_corpus_t **out)
{
    *out = NULL;
    ft_text_corpus_t *c = ft_calloc(1, sizeof *c);
    if (!c || !(c->source_paths = ft_calloc((size_t)num_paths, sizeof *c->source_paths)))
        goto oom;
    for (int i = 0; i < num_paths; i++) {
        if (!(c->source_paths[i] = ft_strdup(paths[i])))
            goto oom;
        c->num_sources = i + 1;
    }
    *out = c;
    return FT_OK;
oom:
    ft_text_corpus_destroy(&c);
    return ft_error_set(FT_ENOMEM, "out of memory for a text corpus");
}

int ft_text_corpus_read(const char *const *paths, int num_paths, ft_text_corpus_t **out)
{
    *out = NULL;
    if (num_paths < 1)
        return ft_error_set(FT_EINVAL, "a text corpus needs at least one file");
    builder_t b = {0};
    ft_text_corpus_t *c = b.c = ft_calloc(1, sizeof *c);
    int rc = FT_ENOMEM;
    if (!c || !(c->source_paths = ft_calloc((size_t)num_paths, sizeof *c->source_paths))) {
        rc = ft_error_set(FT_ENOMEM, "out of memory reading a text corpus");
        goto fail;
    }
    for (int i = 0; i < num_paths; i++) {
        if (!(c->source_paths[i] = ft_strdup(paths[i]))) {
            rc = ft_error_set(FT_ENOMEM, "out of memory reading a text corpus");
            goto fail;
        }
        c->num_sources = i + 1;
    }
    for (int i = 0; i < num_paths; i++)
        if ((rc = read_source(&b, i)) != FT_OK)
            goto fail;
    *out = c;
    return FT_OK;
fail:
    ft_text_corpus_destroy(&c);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ft_text_corpus_read_dir(const char *dir, ft_text_corpus_t **out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return ft_error_set(FT_EIO, "%s: cannot open the text directory", dir);
    char **paths = NULL;
    size_t n = 0, cap = 0;
    int rc = FT_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strchr(e->d_name, '.'))
            continue; /* ".", "..", the .dat indexes, the .u8 links */
        size_t need = strlen(dir) + strlen(e->d_name) + 2;
        char *p = ft_malloc(need);
        if (!p || (rc = grow((void **)&paths, &cap, n + 1, sizeof *paths)) != FT_OK) {
            ft_free(p);
            rc = ft_error_set(FT_ENOMEM, "out of memory listing %s", dir);
            break;
        }
        snprintf(p, need, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            ft_free(p);
            continue;
        }
        paths[n++] = p;
    }
    closedir(d);
    if (rc == FT_OK && n == 0)
        rc = ft_error_set(FT_EIO, "%s: no text files (names without a dot) in the directory", dir);
    if (rc == FT_OK) {
        qsort(paths, n, sizeof *paths, cmp_str);
        rc = ft_text_corpus_read((const char *const *)paths, (int)n, out);
    }
    for (size_t i = 0; i < n; i++)
        ft_free(paths[i]);
    ft_free(paths);
    return rc;
}
