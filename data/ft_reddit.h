/* ft_reddit: Reddit-style comments for the next-word lstm, clients by author — the
 * paper's Reddit task (Wang et al. 2020 §4, after Bagdasaryan et al. 2020 §4.1: the
 * November 2017 Reddit comments, each author a client).
 *
 * data.path is a JSON-lines file, one comment a line, an object whose string members
 * "author" and "body" are the comment's author and text — the field names of the
 * common Reddit comment dumps (pushshift.io's RC_YYYY-MM files, decompressed); every
 * other member is ignored. Comments whose author is "[deleted]" or whose body is
 * "[deleted]" or "[removed]" (deleted content) are skipped. A line that is not one
 * JSON object, or lacks "author" or "body" as a string, is FT_EFORMAT naming the file
 * and line; a body whose UTF-8 is invalid, too (ft_text_tokenize).
 *
 * Each comment is an entry (tokens as ft_text.h); data.text_test_fraction of the
 * comments (seeded, ft_text_split) are the test split; the vocabulary comes from the
 * training comments (ft_text_vocab_build). Per author, its comments each followed by
 * <eos> are laid end to end and cut into windows of T+1 ids with stride T, as
 * ft_text_seqs_make does per source file, so a window never mixes two authors. A
 * sequence's group (the natural partition's client) is its author, numbered in the
 * order of their first training sequence; its label is that number mod 256 (the
 * "class" iid and dirichlet see), num_classes min(authors, 256), at least 2. */
#ifndef FT_REDDIT_H
#define FT_REDDIT_H

#include <stdint.h>

#include "ft_dataset.h"
#include "ft_text.h"

typedef struct {
    ft_text_corpus_t *comments; /* one entry per kept comment (entry_line = its line) */
    uint32_t *author;           /* per comment: index into authors */
    uint32_t num_authors;       /* distinct authors */
    char **authors;             /* num_authors names, in order of first comment */
} ft_reddit_t;

/* Reads the JSON-lines file at path. FT_EIO (unreadable), FT_EFORMAT (bad line, named
 * by file and line; or no comment kept: "path: no comment"), FT_ENOMEM; *out NULL on
 * error. */
int ft_reddit_read(const char *path, ft_reddit_t **out);
void ft_reddit_destroy(ft_reddit_t **r_p);

/* The training (train = 1) or test split of the comments in path as sequences of
 * seq_len + 1 ids (the same deterministic steps for both, so a process that loads one
 * has the other's vocabulary). Errors as ft_reddit_read; FT_EINVAL when the split
 * holds no sequence (comments too short for seq_len). */
int ft_reddit_load(const char *path, int vocab_size, int seq_len, double test_fraction,
                   uint64_t seed, int train, ft_dataset_t **out);

#endif
