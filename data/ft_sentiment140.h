/* ft_sentiment140: the Sentiment140 tweet corpus (Go, Bhayani & Huang 2009), the
 * paper's sentiment task, in the format of training.1600000.processed.noemoticon.csv:
 * one tweet a line, six comma-separated fields, each usually double-quoted (a quote
 * inside a field doubled):
 *   polarity ("0" negative, "2" neutral, "4" positive), tweet id, date, query,
 *   user, text.
 * The file is Latin-1 (as the paper's code reads it, pandas encoding='latin-1'): every
 * byte is a character, converted to UTF-8 before tokenising. Neutral tweets (only in
 * the test file) are skipped. Tweets are grouped by author, as the paper's code makes
 * its clients. A line with another field count, an unterminated quote or a polarity
 * outside {0, 2, 4} is FT_EFORMAT naming the file, line and field. */
#ifndef FT_SENTIMENT140_H
#define FT_SENTIMENT140_H

#include <stdint.h>

#include "ft_text.h"

typedef struct {
    ft_text_corpus_t *tweets; /* one entry per kept tweet (entry_line = its CSV line) */
    uint8_t *label;           /* per tweet: 0 negative, 1 positive */
    uint32_t *author;         /* per tweet: index into authors */
    uint32_t num_authors;     /* distinct users */
    char **authors;           /* num_authors user names, in order of first tweet */
} ft_sentiment140_t;

/* Reads the CSV at path. FT_EIO (unreadable), FT_EFORMAT (bad line, a NUL byte, or
 * no tweet at all), FT_ENOMEM; *out NULL on error. clean = 0: each text converted
 * from Latin-1 to UTF-8 and tokenised (ft_text.h); clean = 1: cleaned and tokenised
 * as the paper's code (ft_tweet.h). ft_sentiment140_read is clean = 0. */
int ft_sentiment140_read(const char *path, ft_sentiment140_t **out);
int ft_sentiment140_read_as(const char *path, int clean, ft_sentiment140_t **out);
void ft_sentiment140_destroy(ft_sentiment140_t **s_p);

#endif
