/* ft_text_dataset: a text corpus as the ft_dataset_t every trainer reads — the
 * fortunes corpus loaded for data.dataset = fortunes, and any sequences turned into a
 * dataset of token ids. */
#ifndef FT_TEXT_DATASET_H
#define FT_TEXT_DATASET_H

#include <stdint.h>

#include "ft_dataset.h"
#include "ft_text.h"

/* Where Debian's fortunes package puts its files. */
#define FT_FORTUNES_DIR "/usr/share/games/fortunes"

/* A dataset of n samples of w token ids each as floats (C = H = 1, W = w, mean 0,
 * std 1 so gathering leaves them as they are), num_classes classes, with a reference
 * to vocab: what ft_text_to_dataset, ft_reddit.h and ft_sentiment.h fill. values holds
 * the n×w floats (not yet set), pixels is NULL, labels are 0. FT_ENOMEM ("out of
 * memory for N WHAT": what names the samples, as "tweets") with *out NULL. */
int ft_text_dataset_new(uint32_t n, int w, int num_classes, ft_text_vocab_t *vocab,
                        const char *what, ft_dataset_t **out);

/* Text sequences as a dataset: sample i is the T+1 ids of sequence i as floats
 * (C = H = 1, W = T+1, mean 0, std 1 so gathering leaves them as they are), label i
 * its source file, num_classes the corpus's source count; takes a reference to
 * vocab. FT_EINVAL for more than 256 sources, FT_ENOMEM. */
int ft_text_to_dataset(const ft_text_seqs_t *s, ft_text_vocab_t *vocab, ft_dataset_t **out);

/* The training (train = 1) or test split of the fortune files in dir as sequences of
 * seq_len + 1 ids: entries split with ft_text_split(test_fraction, seed), the
 * vocabulary (vocab_size words) from the training entries, then ft_text_seqs_make.
 * Both splits come out of the same deterministic steps, so a process that loads only
 * one of them has the same vocabulary. Errors as the ft_text functions (the file and
 * line of bad input named). */
int ft_text_load_fortunes(const char *dir, int vocab_size, int seq_len, double test_fraction,
                          uint64_t seed, int train, ft_dataset_t **out);

/* The most-frequent-word baseline of next-word accuracy: the id most frequent among
 * train's targets (every position but the first of each sequence; ties to the lower
 * id) into *word, and the share of test's scored targets equal to it. */
double ft_text_unigram_baseline(const ft_dataset_t *train, const ft_dataset_t *test, int32_t *word);

#endif
