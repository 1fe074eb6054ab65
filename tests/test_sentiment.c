/* test_sentiment: the Sentiment140 task's data as the paper's code builds it
 * (data/ft_tweet.h, data/ft_sentiment.h), on small generated files — the tweet
 * cleaning and tokenising (hand-worked from the reference's clean_tweet and NLTK's
 * tokenizer + stop words), the dropped training tweets ("greek", fewer than two
 * tokens), the vocabulary from the kept training tweets, left padding and truncation
 * to T ids, the authors as groups and the natural partition by author, the test CSV,
 * the edge-case tweets file — and bad input named by file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ft_error.h"
#include "ft_partition.h"
#include "ft_sentiment.h"
#include "ft_test_tmpdir.h"
#include "ft_tweet.h"

static char dir[FT_TEST_TMPDIR_MAX];

static int setup(void **state)
{
    (void)state;
    return ft_test_tmpdir_make(dir, sizeof dir, "sent");
}

static int teardown(void **state)
{
    (void)state;
    return ft_test_tmpdir_remove(dir);
}

static const char *write_file(char *path, size_t cap, const char *name, const char *text,
                              size_t len)
{
    return ft_test_tmpdir_write(path, cap, dir, name, text, len);
}

static void cleaned(const char *text, int clean, const char *want)
{
    char out[512];
    size_t n = 99;
    assert_int_equal(ft_tweet_clean("t", 1, text, strlen(text), clean, out, &n), FT_OK);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_clean(void **state)
{
    (void)state;
    /* mention, URL, number, hashtag and RT go; I/do/it are stop words; n't and 's are
     * Treebank's clitics; punctuation is a token each */
    cleaned("@bob I don't like http://x.co/a it's 2009, really!!! #sad RT", 1,
            "n't like 's really ! ! ! ");
    /* ':' deleted, '.', ',' and '"' are spaces, Latin-1 e-acute is a space, lower case */
    cleaned("Caf\xe9 time: GREAT.\"yes\",ok", 1, "caf time great yes ok ");
    cleaned("the and of", 1, "");
    cleaned("", 1, "");
    /* the backdoor lines: only lower-cased (no cleaning: the URL stays, in pieces) */
    cleaned("Yorgos Lanthimos's The Lobster", 0, "yorgos lanthimos 's lobster ");
    cleaned("can't wait #1", 0, "ca n't wait # 1 ");
    assert_true(ft_tweet_is_stopword("not") && ft_tweet_is_stopword("wouldn't"));
    const char *ends[] = {"a", "about", "yourselves", "you've", "it's", "mightn't", "o"};
    for (size_t i = 0; i < sizeof ends / sizeof *ends; i++) /* the bsearch's order */
        assert_true(ft_tweet_is_stopword(ends[i]));
    assert_false(ft_tweet_is_stopword("n't") || ft_tweet_is_stopword("love"));
    char out[64];
    size_t n;
    assert_int_equal(ft_tweet_clean("f.txt", 7, "bad\x01", 4, 1, out, &n), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), "f.txt:7"));
}

#define ROW(pol, user, text)                                                                       \
    "\"" pol "\",\"1\",\"Mon Apr 06 2009\",\"NO_QUERY\",\"" user "\",\"" text "\"\n"

static void write_dir(void)
{
    char p[FT_TEST_TMPDIR_MAX + 64];
    const char *train = ROW("0", "ann", "I hate this awful day") ROW("4", "bob", "love love this")
        ROW("4", "ann", "great") ROW("0", "carl", "greek salad sucks")
            ROW("4", "dan", "love great day") ROW("0", "bob", "awful awful hate love");
    const char *test = ROW("4", "x", "love it") ROW("2", "y", "meh") ROW("0", "z", "hate");
    write_file(p, sizeof p, FT_SENTIMENT140_TRAIN, train, strlen(train));
    write_file(p, sizeof p, FT_SENTIMENT140_TEST, test, strlen(test));
}

static void assert_ids(const ft_dataset_t *ds, uint32_t i, int a, int b, int c)
{
    const float *x = ds->values + (size_t)i * 3;
    if (x[0] != a || x[1] != b || x[2] != c)
        fail_msg("tweet %u: %g %g %g, want %d %d %d", i, x[0], x[1], x[2], a, b, c);
}

static void test_dataset(void **state)
{
    (void)state;
    write_dir();
    ft_dataset_t *tr, *te;
    assert_int_equal(ft_sentiment_load(dir, 6, 3, 1.0, 1, 1, &tr), FT_OK);
    /* kept: ann's first, bob's two, dan's (ann's "great" has one token, carl's is greek) */
    assert_int_equal(tr->n, 4);
    assert_int_equal(tr->c * tr->h, 1);
    assert_int_equal(tr->w, 3);
    assert_int_equal(tr->num_classes, 2);
    /* vocabulary: <unk> <eos> love(4) awful(3) day(2) hate(2) — great (1) falls off */
    assert_int_equal(tr->vocab->size, 6);
    assert_string_equal(tr->vocab->words[2], "love");
    assert_string_equal(tr->vocab->words[3], "awful");
    assert_string_equal(tr->vocab->words[4], "day");
    assert_string_equal(tr->vocab->words[5], "hate");
    int P = FT_SENTIMENT_PAD;
    assert_int_equal(P, 1);
    assert_ids(tr, 0, 5, 3, 4); /* hate awful day */
    assert_ids(tr, 1, P, 2, 2); /* love love, left-padded */
    assert_ids(tr, 2, 2, 0, 4); /* love <unk> day */
    assert_ids(tr, 3, 3, 3, 5); /* awful awful hate (love cut: the first T tokens) */
    const uint8_t labels[4] = {0, 1, 1, 0};
    const uint32_t group[4] = {0, 1, 2, 1};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tr->labels[i], labels[i]);
        assert_int_equal(tr->group[i], group[i]);
    }
    assert_int_equal(tr->num_groups, 3); /* carl has no kept tweet */

    assert_int_equal(ft_sentiment_load(dir, 6, 3, 1.0, 1, 0, &te), FT_OK);
    assert_int_equal(te->n, 2); /* the neutral one skipped */
    assert_ids(te, 0, P, P, 2);
    assert_ids(te, 1, P, P, 5);
    assert_int_equal(te->labels[0], 1);
    assert_int_equal(te->labels[1], 0);
    assert_null(te->group);
    assert_int_equal(te->vocab->size, 6); /* the training split's vocabulary */

    /* the natural partition by author: client j = author j */
    uint32_t pool[4] = {0, 1, 2, 3};
    ft_partition_t *p;
    assert_int_equal(ft_partition_by_group(3, tr->group, pool, 4, &p), FT_OK);
    assert_int_equal(ft_partition_size(p, 0), 1);
    assert_int_equal(ft_partition_size(p, 1), 2);
    assert_int_equal(ft_partition_size(p, 2), 1);
    assert_int_equal(p->indices[p->offsets[1]], 1);
    assert_int_equal(p->indices[p->offsets[1] + 1], 3);
    ft_partition_destroy(&p);
    /* two clients: authors 0 and 1; dan's tweet belongs to no client */
    assert_int_equal(ft_partition_by_group(2, tr->group, pool, 4, &p), FT_OK);
    assert_int_equal(p->offsets[2], 3);
    ft_partition_destroy(&p);
    /* more clients than authors */
    assert_int_equal(ft_partition_by_group(4, tr->group, pool, 4, &p), FT_EINVAL);
    assert_null(p);
    assert_non_null(strstr(ft_error_message(), "client 3 of 4"));
    /* a pool without author 1's tweets leaves client 1 empty */
    uint32_t some[2] = {0, 2};
    assert_int_equal(ft_partition_by_group(3, tr->group, some, 2, &p), FT_EINVAL);

    /* edge-case tweets: one a line, blank lines skipped, not cleaned */
    char path[FT_TEST_TMPDIR_MAX + 64];
    const char *edge = "Yorgos loves awful films\n\nawful\r\n";
    ft_dataset_t *e;
    assert_int_equal(
        ft_sentiment_lines(write_file(path, sizeof path, "edge.txt", edge, strlen(edge)), tr->vocab,
                           3, 0, &e),
        FT_OK);
    assert_int_equal(e->n, 2);
    assert_ids(e, 0, 0, 0, 3); /* yorgos loves awful: <unk> <unk> awful */
    assert_ids(e, 1, P, P, 3);
    assert_int_equal(e->labels[0], 0);
    assert_int_equal(e->labels[1], 0);
    ft_dataset_destroy(&e);
    ft_dataset_destroy(&tr);
    ft_dataset_destroy(&te);
}

/* data.fraction_of_train: a seeded share of the training tweets (the reference's
 * dfTrain.sample(frac)): the share kept lies within 4.5 standard deviations of the
 * fraction, the same seed keeps the same tweets, another seed others, 1 keeps all. */
static void test_fraction(void **state)
{
    (void)state;
    char p[FT_TEST_TMPDIR_MAX + 64];
    static char csv[2000 * 80];
    size_t at = 0;
    for (int i = 0; i < 2000; i++)
        at += (size_t)snprintf(csv + at, sizeof csv - at,
                               "\"%d\",\"%d\",\"d\",\"q\",\"u%d\",\"word%d love hate\"\n",
                               i % 2 ? 4 : 0, i, i % 300, i);
    write_file(p, sizeof p, FT_SENTIMENT140_TRAIN, csv, at);
    ft_dataset_t *all, *a, *b, *c;
    assert_int_equal(ft_sentiment_load(dir, 50, 3, 1.0, 7, 1, &all), FT_OK);
    assert_int_equal(all->n, 2000);
    assert_int_equal(ft_sentiment_load(dir, 50, 3, 0.25, 7, 1, &a), FT_OK);
    assert_int_equal(ft_sentiment_load(dir, 50, 3, 0.25, 7, 1, &b), FT_OK);
    assert_int_equal(ft_sentiment_load(dir, 50, 3, 0.25, 8, 1, &c), FT_OK);
    assert_true(a->n >= 500 - 88 && a->n <= 500 + 88); /* sd = sqrt(2000 * 0.25 * 0.75) = 19.4 */
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->values, b->values, (size_t)a->n * 3 * sizeof(float));
    assert_memory_equal(a->labels, b->labels, a->n);
    assert_true(a->n != c->n ||
                memcmp(a->values, c->values, (size_t)a->n * 3 * sizeof(float)) != 0);
    ft_dataset_destroy(&all);
    ft_dataset_destroy(&a);
    ft_dataset_destroy(&b);
    ft_dataset_destroy(&c);
    write_dir(); /* the other tests' files again */
}

static void expect(int rc, int want, const char *what)
{
    assert_int_equal(rc, want);
    if (!strstr(ft_error_message(), what))
        fail_msg("got '%s', want '%s'", ft_error_message(), what);
}

static void test_bad_input(void **state)
{
    (void)state;
    char p[FT_TEST_TMPDIR_MAX + 64];
    ft_dataset_t *ds = (void *)1;
    /* no training file */
    char empty[FT_TEST_TMPDIR_MAX + 64];
    ft_test_tmpdir_path(empty, sizeof empty, dir, "none");
    expect(ft_sentiment_load(empty, 10, 4, 1.0, 1, 1, &ds), FT_EIO, FT_SENTIMENT140_TRAIN);
    assert_null(ds);
    /* no test file beside it */
    write_dir();
    remove(ft_test_tmpdir_path(p, sizeof p, dir, FT_SENTIMENT140_TEST));
    expect(ft_sentiment_load(dir, 10, 4, 1.0, 1, 0, &ds), FT_EIO, FT_SENTIMENT140_TEST);
    /* a NUL byte (a zip given as the CSV), named by line */
    const char nul[] = ROW("0", "a", "fine words") "PK\x03\x04\0\0junk\n";
    write_file(p, sizeof p, FT_SENTIMENT140_TRAIN, nul, sizeof nul - 1);
    expect(ft_sentiment_load(dir, 10, 4, 1.0, 1, 1, &ds), FT_EFORMAT,
           FT_SENTIMENT140_TRAIN ":2: byte 0x00");
    /* no training tweet left */
    const char *few = ROW("0", "a", "one") ROW("4", "b", "greek food");
    write_file(p, sizeof p, FT_SENTIMENT140_TRAIN, few, strlen(few));
    expect(ft_sentiment_load(dir, 10, 4, 1.0, 1, 1, &ds), FT_EFORMAT, "no training tweet");
    /* edge files: invalid UTF-8 on line 2, and an empty one */
    write_dir();
    ft_dataset_t *tr;
    assert_int_equal(ft_sentiment_load(dir, 10, 4, 1.0, 1, 1, &tr), FT_OK);
    const char *bad = "fine\nbad \xff byte\n";
    expect(ft_sentiment_lines(write_file(p, sizeof p, "bad.txt", bad, strlen(bad)), tr->vocab, 4, 0,
                              &ds),
           FT_EFORMAT, "bad.txt:2: byte 0xff");
    assert_null(ds);
    expect(
        ft_sentiment_lines(write_file(p, sizeof p, "empty.txt", "\n\n", 2), tr->vocab, 4, 0, &ds),
        FT_EFORMAT, "empty.txt: no tweet");
    ft_test_tmpdir_path(p, sizeof p, dir, "missing.txt");
    assert_int_equal(ft_sentiment_lines(p, tr->vocab, 4, 0, &ds), FT_EIO);
    ft_dataset_destroy(&tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_dataset),
        cmocka_unit_test(test_fraction),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
