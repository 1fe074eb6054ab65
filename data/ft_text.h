/* ft_text: next-word prediction data — a text corpus read into entries of tokens, a
 * vocabulary built from the training split, fixed-length token sequences, and their
 * partition among clients.
 *
 * The embedded corpus is Debian's `fortunes` package (/usr/share/games/fortunes/):
 * topical plain-text files whose entries are separated by lines holding only "%".
 * Every source file is one "topic", the natural non-IID split of the corpus (the
 * paper's Reddit task splits by author; here a client holds the fortunes of a file).
 *
 * Tokens (ft_text_tokenize): ASCII letters are lower-cased; a word is a maximal run of
 * letters, digits, apostrophes and UTF-8 multi-byte characters; every other visible
 * ASCII character (punctuation) is a token of its own; white space separates. Bytes
 * that are not valid UTF-8 (and control characters other than tab, CR, LF) are
 * FT_EFORMAT naming the file and line.
 *
 * Dimension letters: T sequence length (inputs per sequence), V vocabulary size,
 * S number of sequences. */
#ifndef FT_TEXT_H
#define FT_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "ft_partition.h"

/* Token ids every vocabulary reserves. */
#define FT_TEXT_UNK 0 /* "<unk>": a word outside the vocabulary */
#define FT_TEXT_EOS 1 /* "<eos>": the end of an entry */

/* The longest token kept; longer runs are cut into pieces of this length. */
#define FT_TEXT_MAX_TOKEN 63

/* How a token id is stored in a float sample (ft_text_to_dataset): the id itself, or
 * -(id + 1) for a token whose prediction evaluation does not score (float holds
 * every id below 2^24 exactly). */
static inline float ft_text_unscored(int32_t id)
{
    return -(float)id - 1.0f;
}
static inline int32_t ft_text_id(float v)
{
    return v >= 0.0f ? (int32_t)v : (int32_t)(-v - 1.0f);
}
static inline int ft_text_is_scored(float v)
{
    return v >= 0.0f;
}

/* A tokenised corpus: entries of token strings, each from one source file. */
typedef struct {
    int num_sources;         /* files read */
    char **source_paths;     /* num_sources paths, for messages */
    uint32_t num_entries;    /* entries (fortunes) */
    uint32_t *entry_source;  /* num_entries: the file each entry came from */
    uint32_t *entry_line;    /* num_entries: the entry's first line in its file (1-based) */
    uint32_t *entry_offsets; /* num_entries+1: entry e holds tokens [off[e], off[e+1]) */
    size_t num_tokens;       /* tokens in all entries */
    uint32_t *token_start;   /* num_tokens: offset of each token's text in chars */
    char *chars;             /* every token's text, NUL-terminated, back to back */
    size_t chars_len;        /* bytes used in chars */
    size_t chars_cap;        /* bytes allocated for chars */
    size_t tok_cap;          /* token_start capacity */
    size_t ent_cap;          /* entry arrays' capacity */
} ft_text_corpus_t;

/* Splits text[0..len) of file path (line numbers from first_line) into tokens, calling
 * emit(token, user) for each one (token NUL-terminated, valid until emit returns). A
 * nonzero return from emit stops and is returned. FT_EFORMAT naming path and line for
 * invalid UTF-8 or a control character. */
int ft_text_tokenize(const char *path, uint32_t first_line, const char *text, size_t len,
                     int (*emit)(const char *token, void *user), void *user);

/* Reads fortune files (entries separated by "%" lines; text before the first "%" is
 * an entry too; empty entries are skipped) into a new corpus, the files in the order
 * given. FT_EIO if a file cannot be read, FT_EFORMAT for an empty file (no entry) or
 * bad bytes (naming file and line), FT_ENOMEM. */
int ft_text_corpus_read(const char *const *paths, int num_paths, ft_text_corpus_t **out);
/* Reads every regular file of dir whose name has no dot (the fortunes package's
 * data files; ".dat" indexes and ".u8" links are skipped), sorted by name. FT_EIO if
 * dir cannot be opened or holds none; otherwise as ft_text_corpus_read. */
int ft_text_corpus_read_dir(const char *dir, ft_text_corpus_t **out);
void ft_text_corpus_destroy(ft_text_corpus_t **c_p);
/* An empty corpus of the given sources (names for messages), for readers of other
 * formats to fill with ft_text_corpus_add. FT_ENOMEM. */
int ft_text_corpus_new(const char *const *sources, int num_sources, ft_text_corpus_t **out);
/* Tokenises text[0..len) (UTF-8, first line `line` of source `source`) as one more
 * entry; an entry without tokens is not added. Errors as ft_text_tokenize, FT_ENOMEM. */
int ft_text_corpus_add(ft_text_corpus_t *c, int source, uint32_t line, const char *text,
                       size_t len);

/* The text of token t. */
static inline const char *ft_text_token(const ft_text_corpus_t *c, size_t t)
{
    return c->chars + c->token_start[t];
}

/* Which entries are held out for testing: entry e is a test entry when a draw from
 * the stream (seed, 0, e, FT_RNG_PARTITION) is below test_fraction. is_test gets
 * num_entries flags. */
void ft_text_split(const ft_text_corpus_t *c, double test_fraction, uint64_t seed,
                   uint8_t *is_test /* num_entries */);

/* A vocabulary: V token strings, id i is words[i]; ids 0 and 1 are <unk> and <eos>. */
typedef struct {
    int refs;       /* holders (datasets share one vocabulary); destroy drops one */
    int size;       /* V */
    char **words;   /* V strings */
    uint32_t *hash; /* open-addressing table of 2^k slots: id+1, 0 = empty */
    uint32_t mask;  /* 2^k - 1 */
} ft_text_vocab_t;

/* Builds a vocabulary of at most size words (size >= 3) from the tokens of the
 * entries whose is_test flag is 0 (is_test NULL: all): <unk>, <eos>, then the most
 * frequent tokens, ties broken by byte order of the token. FT_EINVAL for size < 3,
 * FT_ENOMEM. */
int ft_text_vocab_build(const ft_text_corpus_t *c, const uint8_t *is_test, int size,
                        ft_text_vocab_t **out);
/* Drops the caller's reference (frees at the last one) and nulls *v_p. */
void ft_text_vocab_destroy(ft_text_vocab_t **v_p);
/* Takes another reference to v and returns it. */
ft_text_vocab_t *ft_text_vocab_retain(ft_text_vocab_t *v);
/* The id of word, FT_TEXT_UNK if it is not in the vocabulary. */
int32_t ft_text_vocab_id(const ft_text_vocab_t *v, const char *word);

/* Fixed-length sequences of token ids: sequence s holds T+1 ids (T inputs, and the
 * next-word targets are the same ids shifted by one). */
typedef struct {
    uint32_t n;       /* S sequences */
    int seq_len;      /* T */
    int32_t *ids;     /* S×(T+1) token ids */
    uint32_t *source; /* S: the source file the sequence came from (its topic) */
    uint32_t *entry;  /* S: the entry its first token came from */
    int num_sources;  /* sources of the corpus it came from */
} ft_text_seqs_t;

/* Cuts the entries whose is_test flag equals want_test (is_test NULL: all entries)
 * into sequences: per source file, its entries' ids each followed by <eos> are laid
 * end to end and cut into windows of T+1 ids with stride T (so each id is a target
 * once); a tail shorter than T+1 ids is dropped. T >= 1. FT_EINVAL if no sequence
 * results, FT_ENOMEM. */
int ft_text_seqs_make(const ft_text_corpus_t *c, const ft_text_vocab_t *v, const uint8_t *is_test,
                      int want_test, int seq_len, ft_text_seqs_t **out);
void ft_text_seqs_destroy(ft_text_seqs_t **s_p);

/* Partitions the sequences among spec->num_clients clients. natural = 1: by source
 * file — with K clients and F sources, when K <= F client j holds every source f with
 * f mod K == j; when K > F the clients j with j mod F == f share source f, each taking
 * a contiguous block of its sequences (a client's text stays one topic), sequence
 * order kept; sources without sequences are skipped. natural = 0: spec's iid or dirichlet scheme
 * (ft_partition.h) with each sequence's source file as its class (dirichlet then skews clients'
 * topic mix). FT_EINVAL if a client would get no sequence (natural) or the scheme cannot split the
 * sequences, FT_ENOMEM. */
int ft_text_partition(const ft_partition_spec_t *spec, int natural, const ft_text_seqs_t *s,
                      ft_partition_t **out);

#endif
