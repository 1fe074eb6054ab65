/* ft_sentiment: the Sentiment140 task's data as the paper's code builds it
 * (ksreenivasan/OOD_Federated_Learning, language-tasks-fl/src/dataset/
 * build_twitter_dataset.py, build_twitter_backdoor.py, sentiment140_data.py) — the
 * dataset the lstm-sentiment model reads, and the edge-case tweets.
 *
 * data.path is the directory of the Sentiment140 download (trainingandtestdata.zip
 * unzipped): FT_SENTIMENT140_TRAIN is the training split, FT_SENTIMENT140_TEST
 * (the 359 hand-labelled positive and negative tweets; neutral ones skipped) the test
 * split, both read by ft_sentiment140.h and cleaned as ft_tweet.h. Of the training
 * tweets, those whose cleaned text contains "greek" are dropped (the reference keeps
 * its backdoor's topic out of the honest data, build_twitter_dataset.py:93-96), and so
 * are those left with fewer than two tokens (:204). The vocabulary is built from the
 * kept training tweets (ft_text_vocab_build: <unk> = 0, then data.vocab_size - 2 most
 * frequent tokens; the reference uses every word of both splits, ids from 1); a tweet
 * is its first T = data.seq_len token ids, left-padded to T with FT_SENTIMENT_PAD as
 * pad_features does (:33-37, T = 100 there). A sample is those T ids as floats
 * (1×1×T), its label the polarity (0 negative, 1 positive), its group (the natural
 * partition's author) the tweet's user, numbered in the order of first kept tweet.
 *
 * Edge-case tweets (attack.edge_file, attack.edge_test_file): the reference's format,
 * data/sentiment-140/greek-director-backdoor/{train,test}.txt there — UTF-8 text, one
 * tweet per line, lower-cased, tokenised and stop-word filtered
 * (build_twitter_backdoor.py:85-98) but not cleaned; words outside the vocabulary are
 * <unk> (the reference adds them to its vocabulary with fresh ids, :109-113). */
#ifndef FT_SENTIMENT_H
#define FT_SENTIMENT_H

#include <stdint.h>

#include "ft_dataset.h"
#include "ft_text.h"

/* The padding id: nn.Embedding's padding_idx of lstm-sentiment. The reference pads
 * with 0; fedtail's vocabularies keep 0 for <unk>, and a tweet never holds <eos>. */
#define FT_SENTIMENT_PAD FT_TEXT_EOS

#define FT_SENTIMENT140_TRAIN "training.1600000.processed.noemoticon.csv"
#define FT_SENTIMENT140_TEST  "testdata.manual.2009.06.14.csv"

/* The training (train = 1) or test split of the Sentiment140 files in dir, with the
 * vocabulary of vocab_size words from the kept training tweets (both splits read the
 * training file, so a process that loads only one has the same vocabulary), each
 * tweet seq_len ids. fraction < 1 keeps a random share of the training file first, as
 * the reference's dfTrain.sample(frac = fractionOfTrain) (build_twitter_dataset.py:
 * 56-58): tweet e (0-based, the file's kept order) is drawn when a uniform draw from
 * the stream (seed, round 1, client e, FT_RNG_PARTITION) is below fraction. FT_EIO
 * naming a missing file, FT_EFORMAT for bad lines (file and line named,
 * ft_sentiment140.h) or no training tweet kept, FT_ENOMEM. */
int ft_sentiment_load(const char *dir, int vocab_size, int seq_len, double fraction, uint64_t seed,
                      int train, ft_dataset_t **out);

/* Tweets one per line from path (UTF-8; blank lines skipped) as samples of seq_len
 * ids over vocab, every one labelled label, num_classes 2. FT_EIO (unreadable),
 * FT_EFORMAT naming path:line for invalid UTF-8 or a control byte, or path alone when
 * it holds no tweet; FT_ENOMEM. */
int ft_sentiment_lines(const char *path, ft_text_vocab_t *vocab, int seq_len, int label,
                       ft_dataset_t **out);

/* Writes tweet `e` of corpus c as seq_len ids over v into x, left-padded with
 * FT_SENTIMENT_PAD (the first seq_len tokens when longer). */
void ft_sentiment_pad(const ft_text_corpus_t *c, uint32_t e, const ft_text_vocab_t *v, int seq_len,
                      float *x /* seq_len */);

#endif
