/* ft_lines: walking a file read whole (ft_read_file) line by line — what the
 * one-record-a-line readers (ft_sentiment140.h's CSV, ft_reddit.h's JSON lines,
 * ft_sentiment.h's tweets) share: lines end at '\n', a '\r' before it is dropped (files
 * written on Windows), a last line without '\n' still counts, and a final '\n' starts no
 * empty line; lines are numbered from 1 for the messages that name them. */
#ifndef FT_LINES_H
#define FT_LINES_H

#include <stddef.h>
#include <stdint.h>

/* A walk over data[0..len). */
typedef struct {
    const char *data; /* the text walked (the caller's, not copied) */
    size_t len;       /* its bytes */
    size_t at;        /* first byte of the next line */
    uint32_t line;    /* number of the line ft_lines_next returned last (0 before the first) */
} ft_lines_t;

/* A walk from the first line of data[0..len). */
ft_lines_t ft_lines(const char *data, size_t len);

/* The next line: 1 with its text into *text (pointing into data) and its length without
 * '\n' and a trailing '\r' into *len, it->line its number; 0 past the last line. */
int ft_lines_next(ft_lines_t *it, const char **text, size_t *len);

/* The bytes of the longest line of data[0..len), '\r' included: room enough for any
 * line's text. */
size_t ft_lines_longest(const char *data, size_t len);

#endif
