/* ft_tweet: one tweet cleaned and tokenised as the paper's Sentiment140 code does
 * (ksreenivasan/OOD_Federated_Learning, language-tasks-fl/src/dataset/
 * build_twitter_dataset.py): clean_tweet (:39-52), then NLTK's word_tokenize and
 * the removal of NLTK's English stop words (:158-173).
 *
 * clean_tweet runs tweet-preprocessor's clean() — URLs, @mentions, #hashtags, the
 * reserved words RT and FAV, and numbers go — then deletes ':', turns '"', ',' and
 * '.' into spaces, every non-ASCII character into a space, and lower-cases. Here a
 * white-space separated word is dropped when it starts with "http://", "https://",
 * "www.", '@' or '#', is RT or FAV, or is a number (digits with '-', '.', ','), which
 * is what tweet-preprocessor's patterns remove in nearly every tweet.
 *
 * Tokens: ft_text_tokenize's words and punctuation (data/ft_text.h), with the clitics
 * NLTK's Treebank tokenizer splits off made separate tokens: "don't" -> "do" "n't",
 * "it's" -> "it" "'s" (also 're 've 'll 'd 'm). Then the 179 words of NLTK's English
 * stop-word list are dropped (nltk.corpus.stopwords.words('english'), which holds
 * "not", "no" and "nor" too, as the reference drops them). NLTK's tokenizer differs
 * in corner cases (quotes become `` and '', "cannot" is split); those are not
 * reproduced. */
#ifndef FT_TWEET_H
#define FT_TWEET_H

#include <stddef.h>
#include <stdint.h>

/* Cleans (clean = 1: clean_tweet first, for the CSV's Latin-1 text; clean = 0: only
 * lower-casing, as build_twitter_backdoor.py:85-97 treats its UTF-8 backdoor lines)
 * and tokenises text[0..len) of file path, line `line`, into out: the kept tokens,
 * each followed by one space, NUL-terminated; *out_len its length (0: no token).
 * out needs room for 3 * len + 3 bytes. FT_EFORMAT naming path:line for a control
 * byte (or, clean = 0, invalid UTF-8), as ft_text_tokenize. */
int ft_tweet_clean(const char *path, uint32_t line, const char *text, size_t len, int clean,
                   char *out, size_t *out_len);

/* 1 if word (lower case) is on NLTK's English stop-word list. */
int ft_tweet_is_stopword(const char *word);

#endif
