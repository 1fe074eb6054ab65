/* ft_tweet: the reference's tweet cleaning and tokenising (ft_tweet.h). */
#include "ft_tweet.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ft_error.h"
#include "ft_text.h"

/* nltk.corpus.stopwords.words('english') (NLTK 3.x), 179 words, in strcmp order (for
 * bsearch: every token of a 1.6M-tweet file is looked up). */
static const char *const stopwords[] = {
    "a",          "about",    "above",     "after",      "again",   "against", "ain",
    "all",        "am",       "an",        "and",        "any",     "are",     "aren",
    "aren't",     "as",       "at",        "be",         "because", "been",    "before",
    "being",      "below",    "between",   "both",       "but",     "by",      "can",
    "couldn",     "couldn't", "d",         "did",        "didn",    "didn't",  "do",
    "does",       "doesn",    "doesn't",   "doing",      "don",     "don't",   "down",
    "during",     "each",     "few",       "for",        "from",    "further", "had",
    "hadn",       "hadn't",   "has",       "hasn",       "hasn't",  "have",    "haven",
    "haven't",    "having",   "he",        "her",        "here",    "hers",    "herself",
    "him",        "himself",  "his",       "how",        "i",       "if",      "in",
    "into",       "is",       "isn",       "isn't",      "it",      "it's",    "its",
    "itself",     "just",     "ll",        "m",          "ma",      "me",      "mightn",
    "mightn't",   "more",     "most",      "mustn",      "mustn't", "my",      "myself",
    "needn",      "needn't",  "no",        "nor",        "not",     "now",     "o",
    "of",         "off",      "on",        "once",       "only",    "or",      "other",
    "our",        "ours",     "ourselves", "out",        "over",    "own",     "re",
    "s",          "same",     "shan",      "shan't",     "she",     "she's",   "should",
    "should've",  "shouldn",  "shouldn't", "so",         "some",    "such",    "t",
    "than",       "that",     "that'll",   "the",        "their",   "theirs",  "them",
    "themselves", "then",     "there",     "these",      "they",    "this",    "those",
    "through",    "to",       "too",       "under",      "until",   "up",      "ve",
    "very",       "was",      "wasn",      "wasn't",     "we",      "were",    "weren",
    "weren't",    "what",     "when",      "where",      "which",   "while",   "who",
    "whom",       "why",      "will",      "with",       "won",     "won't",   "wouldn",
    "wouldn't",   "y",        "you",       "you'd",      "you'll",  "you're",  "you've",
    "your",       "yours",    "yourself",  "yourselves",
};

static int cmp_word(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

int ft_tweet_is_stopword(const char *word)
{
    return bsearch(word, stopwords, sizeof stopwords / sizeof *stopwords, sizeof *stopwords,
                   cmp_word) != NULL;
}

/* What tweet-preprocessor's clean() removes, for one white-space separated word. */
static int tpp_removes(const char *w, size_t n)
{
    if ((n >= 7 && !strncmp(w, "http://", 7)) || (n >= 8 && !strncmp(w, "https://", 8)) ||
        (n >= 4 && !strncmp(w, "www.", 4)) || w[0] == '@' || w[0] == '#')
        return 1;
    if ((n == 2 && !strncmp(w, "RT", 2)) || (n == 3 && !strncmp(w, "FAV", 3)))
        return 1;
    size_t digits = 0, i = w[0] == '-' ? 1 : 0;
    for (; i < n; i++) {
        if (isdigit((unsigned char)w[i]))
            digits++;
        else if (w[i] != '.' && w[i] != ',')
            return 0;
    }
    return digits > 0;
}

/* clean_tweet on Latin-1 text: into out (room for len + 1), NUL-terminated. */
static size_t clean_tweet(const char *text, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (text[i] == ' ' || text[i] == '\t') {
            out[o++] = ' ', i++;
            continue;
        }
        size_t j = i;
        while (j < len && text[j] != ' ' && text[j] != '\t')
            j++;
        if (!tpp_removes(text + i, j - i))
            for (size_t k = i; k < j; k++) {
                unsigned char ch = (unsigned char)text[k];
                if (ch == ':')
                    continue;
                out[o++] =
                    ch == '"' || ch == ',' || ch == '.' || ch >= 0x80 ? ' ' : (char)tolower(ch);
            }
        i = j;
    }
    out[o] = '\0';
    return o;
}

typedef struct {
    char *out; /* joined tokens */
    size_t o;  /* bytes written */
} join_t;

static void put(join_t *j, const char *tok, size_t n)
{
    char w[FT_TEXT_MAX_TOKEN + 1];
    memcpy(w, tok, n);
    w[n] = '\0';
    if (!n || ft_tweet_is_stopword(w))
        return;
    memcpy(j->out + j->o, w, n);
    j->o += n;
    j->out[j->o++] = ' ';
}

/* One token of ft_text_tokenize: Treebank's clitics split off, stop words dropped. */
static int emit(const char *tok, void *user)
{
    join_t *j = user;
    size_t n = strlen(tok);
    static const char *const clitics[] = {"'s", "'re", "'ve", "'ll", "'d", "'m"};
    if (n > 3 && !strcmp(tok + n - 3, "n't")) {
        put(j, tok, n - 3);
        put(j, "n't", 3);
        return FT_OK;
    }
    for (size_t c = 0; c < sizeof clitics / sizeof *clitics; c++) {
        size_t k = strlen(clitics[c]);
        if (n > k && !strcmp(tok + n - k, clitics[c])) {
            put(j, tok, n - k);
            put(j, clitics[c], k);
            return FT_OK;
        }
    }
    put(j, tok, n);
    return FT_OK;
}

int ft_tweet_clean(const char *path, uint32_t line, const char *text, size_t len, int clean,
                   char *out, size_t *out_len)
{
    /* the cleaned text goes to the top third of out, the tokens below it: a token
     * list is at most two bytes per character of the text (a one-character token and
     * its space), so writing it never reaches the text still being read */
    char *cleaned = out + 2 * len + 2;
    size_t n;
    if (clean) {
        n = clean_tweet(text, len, cleaned);
    } else {
        for (n = 0; n < len; n++)
            cleaned[n] = (char)tolower((unsigned char)text[n]);
        cleaned[n] = '\0';
    }
    join_t j = {.out = out};
    int rc = ft_text_tokenize(path, line, cleaned, n, emit, &j);
    if (rc)
        return rc;
    out[j.o] = '\0';
    *out_len = j.o;
    return FT_OK;
}
