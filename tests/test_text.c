/* test_text: the text corpus path of next-word prediction — tokeniser, fortune-file
 * reader, vocabulary, split, fixed-length sequences and the natural / iid / dirichlet
 * partitions — with hand-worked expectations, and bad input (empty file, undecodable
 * bytes, control bytes) rejected with the file and line named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_test_tmpdir.h"
#include "ft_text.h"
#include "ft_text_dataset.h"

#define FORTUNES_DIR "/usr/share/games/fortunes"

static char dir[FT_TEST_TMPDIR_MAX];

static int setup(void **state)
{
    (void)state;
    return ft_test_tmpdir_make(dir, sizeof dir, "text");
}

static int teardown(void **state)
{
    (void)state;
    return ft_test_tmpdir_remove(dir);
}

/* Writes bytes to dir/name and returns the path (static buffer per call site). */
static const char *write_file(char *path, size_t cap, const char *name, const char *bytes,
                              size_t len)
{
    return ft_test_tmpdir_write(path, cap, dir, name, bytes, len);
}

/* Collects emitted tokens joined by '|'. */
typedef struct {
    char buf[512];
    int n;
} joined_t;

static int join(const char *tok, void *user)
{
    joined_t *j = user;
    if (j->n++)
        strcat(j->buf, "|");
    strcat(j->buf, tok);
    return 0;
}

static int tokenize(const char *text, joined_t *j)
{
    memset(j, 0, sizeof *j);
    return ft_text_tokenize("t.txt", 1, text, strlen(text), join, j);
}

static void test_tokenize_words_and_punctuation(void **state)
{
    (void)state;
    joined_t j;
    assert_int_equal(tokenize("Hello, World! It's 42.", &j), FT_OK);
    assert_string_equal(j.buf, "hello|,|world|!|it's|42|.");
    /* punctuation runs are one token per character; tabs, CR, BEL, backspace separate */
    assert_int_equal(tokenize("a...b\t\"c\"\r\nd\be\af", &j), FT_OK);
    assert_string_equal(j.buf, "a|.|.|.|b|\"|c|\"|d|e|f");
    /* UTF-8 letters stay in the word as they are (only ASCII is lower-cased) */
    assert_int_equal(tokenize("Caf\xc3\xa9 \xc3\x89T\xe2\x82\xac!", &j), FT_OK);
    assert_string_equal(j.buf, "caf\xc3\xa9|\xc3\x89t\xe2\x82\xac|!");
    assert_int_equal(tokenize("", &j), FT_OK);
    assert_int_equal(j.n, 0);
}

static void test_tokenize_long_word_is_cut(void **state)
{
    (void)state;
    char text[200];
    memset(text, 'x', 150);
    text[150] = '\0';
    joined_t j;
    assert_int_equal(tokenize(text, &j), FT_OK);
    assert_int_equal(j.n, 3); /* 63 + 63 + 24 */
    assert_int_equal(strlen(j.buf), 150 + 2);
}

/* Each bad byte sequence is refused with the file and the line it is on. */
static void test_tokenize_bad_bytes(void **state)
{
    (void)state;
    static const char *bad[] = {
        "ok\nok\n\xc0\xaf",         /* overlong '/' */
        "ok\nok\nab\xff",           /* never valid */
        "ok\nok\n\xed\xa0\x80",     /* a surrogate */
        "ok\nok\n\xf4\x90\x80\x80", /* past U+10FFFF */
        "ok\nok\n\xe2\x82",         /* truncated at the end */
        "ok\nok\nx\x01y",           /* control byte */
        "ok\nok\n\x7f",             /* DEL */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        joined_t j;
        ft_error_clear();
        assert_int_equal(tokenize(bad[i], &j), FT_EFORMAT);
        assert_non_null(strstr(ft_error_message(), "t.txt:3:"));
    }
}

static void test_corpus_entries_and_lines(void **state)
{
    (void)state;
    char p1[FT_TEST_TMPDIR_MAX + 16], p2[FT_TEST_TMPDIR_MAX + 16];
    const char a[] = "A b\n%\n\n%\nc, d\ne\n%\n";
    const char b[] = "no separator at all\r\n";
    const char *paths[] = {write_file(p1, sizeof p1, "a", a, sizeof a - 1),
                           write_file(p2, sizeof p2, "b", b, sizeof b - 1)};
    ft_text_corpus_t *c;
    assert_int_equal(ft_text_corpus_read(paths, 2, &c), FT_OK);
    assert_int_equal(c->num_sources, 2);
    assert_int_equal(c->num_entries, 3); /* the empty entry between two "%" is dropped */
    assert_int_equal(c->entry_source[0], 0);
    assert_int_equal(c->entry_line[0], 1);
    assert_int_equal(c->entry_source[1], 0);
    assert_int_equal(c->entry_line[1], 5);
    assert_int_equal(c->entry_source[2], 1);
    assert_int_equal(c->entry_line[2], 1);
    assert_int_equal(c->entry_offsets[1] - c->entry_offsets[0], 2);
    assert_int_equal(c->entry_offsets[2] - c->entry_offsets[1], 4);
    assert_int_equal(c->entry_offsets[3] - c->entry_offsets[2], 4);
    assert_string_equal(ft_text_token(c, 0), "a");
    assert_string_equal(ft_text_token(c, 3), ",");
    assert_string_equal(ft_text_token(c, 9), "all");
    ft_text_corpus_destroy(&c);
    ft_text_corpus_destroy(&c); /* safe twice */
}

static void test_corpus_bad_files(void **state)
{
    (void)state;
    char p[FT_TEST_TMPDIR_MAX + 16];
    ft_text_corpus_t *c = (void *)1;
    const char *one[1];

    one[0] = write_file(p, sizeof p, "empty", "", 0);
    assert_int_equal(ft_text_corpus_read(one, 1, &c), FT_EFORMAT);
    assert_null(c);
    assert_non_null(strstr(ft_error_message(), "empty text file"));
    assert_non_null(strstr(ft_error_message(), p));

    one[0] = write_file(p, sizeof p, "seps", "%\n %\n%\n", 7);
    /* " %" is no separator: its "%" is the only token of the one entry */
    assert_int_equal(ft_text_corpus_read(one, 1, &c), FT_OK);
    assert_int_equal(c->num_entries, 1);
    assert_int_equal(c->num_tokens, 1);
    assert_string_equal(ft_text_token(c, 0), "%");
    ft_text_corpus_destroy(&c);
    one[0] = write_file(p, sizeof p, "seps2", "%\n\n%\n  \n", 8);
    assert_int_equal(ft_text_corpus_read(one, 1, &c), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), "empty text file"));

    one[0] = write_file(p, sizeof p, "latin1", "fine\n%\ncaf\xe9\n", 12);
    assert_int_equal(ft_text_corpus_read(one, 1, &c), FT_EFORMAT);
    char want[FT_TEST_TMPDIR_MAX + 80];
    snprintf(want, sizeof want, "%s:3: byte 0xe9 is not valid UTF-8", p);
    assert_non_null(strstr(ft_error_message(), want));

    ft_test_tmpdir_path(p, sizeof p, dir, "missing");
    assert_int_equal(ft_text_corpus_read(one + 0, 0, &c), FT_EINVAL);
    one[0] = p;
    assert_int_equal(ft_text_corpus_read(one, 1, &c), FT_EIO);
    assert_int_equal(ft_text_corpus_read_dir(p, &c), FT_EIO);
}

/* Vocabulary: <unk>, <eos>, then by count, ties by byte order; built from training
 * entries only; capped at size. */
static void test_vocab(void **state)
{
    (void)state;
    char p[FT_TEST_TMPDIR_MAX + 16];
    const char t[] = "b a b c\n%\nc b zz\n%\nonly in test test\n";
    const char *one[] = {write_file(p, sizeof p, "v", t, sizeof t - 1)};
    ft_text_corpus_t *c;
    assert_int_equal(ft_text_corpus_read(one, 1, &c), FT_OK);
    uint8_t is_test[3] = {0, 0, 1};
    ft_text_vocab_t *v;
    assert_int_equal(ft_text_vocab_build(c, is_test, 100, &v), FT_OK);
    /* counts b 3, c 2, a 1, zz 1 */
    assert_int_equal(v->size, 6);
    const char *want[] = {"<unk>", "<eos>", "b", "c", "a", "zz"};
    for (int i = 0; i < 6; i++) {
        assert_string_equal(v->words[i], want[i]);
        assert_int_equal(ft_text_vocab_id(v, want[i]), i);
    }
    assert_int_equal(ft_text_vocab_id(v, "test"), FT_TEXT_UNK);
    assert_int_equal(ft_text_vocab_id(v, "only"), FT_TEXT_UNK);
    ft_text_vocab_destroy(&v);
    /* size 4 keeps the two most frequent words; the tie a/zz falls to byte order */
    assert_int_equal(ft_text_vocab_build(c, is_test, 5, &v), FT_OK);
    assert_int_equal(v->size, 5);
    assert_string_equal(v->words[4], "a");
    assert_int_equal(ft_text_vocab_id(v, "zz"), FT_TEXT_UNK);
    ft_text_vocab_destroy(&v);
    /* without a split every entry counts: test 2 ties c 2, and "c" < "test" */
    assert_int_equal(ft_text_vocab_build(c, NULL, 5, &v), FT_OK);
    assert_string_equal(v->words[3], "c");
    assert_string_equal(v->words[4], "test");
    ft_text_vocab_destroy(&v);
    assert_int_equal(ft_text_vocab_build(c, NULL, 2, &v), FT_EINVAL);
    ft_text_corpus_destroy(&c);
}

/* The windows of T+1 ids, stride T, never crossing a source, worked by hand. */
static void test_sequences(void **state)
{
    (void)state;
    char p1[FT_TEST_TMPDIR_MAX + 16], p2[FT_TEST_TMPDIR_MAX + 16];
    const char *paths[] = {write_file(p1, sizeof p1, "s1", "a b c\n%\nd e\n", 12),
                           write_file(p2, sizeof p2, "s2", "f g\n%\nheld out\n", 15)};
    ft_text_corpus_t *c;
    assert_int_equal(ft_text_corpus_read(paths, 2, &c), FT_OK);
    uint8_t is_test[4] = {0, 0, 0, 1};
    ft_text_vocab_t *v;
    assert_int_equal(ft_text_vocab_build(c, is_test, 100, &v), FT_OK);
    /* every training word once: ids a2 b3 c4 d5 e6 f7 g8 */
    assert_int_equal(v->size, 9);
    ft_text_seqs_t *s;
    assert_int_equal(ft_text_seqs_make(c, v, is_test, 0, 2, &s), FT_OK);
    /* source 1: 2 3 4 1 5 6 1 -> [2 3 4] [4 1 5] [5 6 1]; source 2: 7 8 1 -> [7 8 1] */
    const int32_t want[4][3] = {{2, 3, 4}, {4, 1, 5}, {5, 6, 1}, {7, 8, 1}};
    const uint32_t src[4] = {0, 0, 0, 1}, ent[4] = {0, 0, 1, 2};
    assert_int_equal(s->n, 4);
    assert_int_equal(s->seq_len, 2);
    for (int i = 0; i < 4; i++) {
        assert_memory_equal(s->ids + 3 * i, want[i], sizeof want[i]);
        assert_int_equal(s->source[i], src[i]);
        assert_int_equal(s->entry[i], ent[i]);
    }
    ft_text_seqs_destroy(&s);
    /* T = 3: [2 3 4 1] [1 5 6 1]; source 2's 3 ids are a dropped tail */
    assert_int_equal(ft_text_seqs_make(c, v, is_test, 0, 3, &s), FT_OK);
    assert_int_equal(s->n, 2);
    const int32_t want3[8] = {2, 3, 4, 1, 1, 5, 6, 1};
    assert_memory_equal(s->ids, want3, sizeof want3);
    ft_text_seqs_destroy(&s);
    /* the test split: "held out" are <unk> <unk> then <eos> */
    assert_int_equal(ft_text_seqs_make(c, v, is_test, 1, 2, &s), FT_OK);
    assert_int_equal(s->n, 1);
    const int32_t wantt[3] = {0, 0, 1};
    assert_memory_equal(s->ids, wantt, sizeof wantt);
    assert_int_equal(s->source[0], 1);
    ft_text_seqs_destroy(&s);
    assert_int_equal(ft_text_seqs_make(c, v, is_test, 1, 3, &s), FT_EINVAL);
    assert_null(s);
    assert_int_equal(ft_text_seqs_make(c, v, is_test, 0, 0, &s), FT_EINVAL);
    ft_text_vocab_destroy(&v);
    ft_text_corpus_destroy(&c);
}

static void test_split_deterministic(void **state)
{
    (void)state;
    ft_text_corpus_t c = {.num_entries = 10000};
    static uint8_t a[10000], b[10000], d[10000];
    ft_text_split(&c, 0.1, 5, a);
    ft_text_split(&c, 0.1, 5, b);
    ft_text_split(&c, 0.1, 6, d);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, d, sizeof a);
    int n = 0;
    for (int i = 0; i < 10000; i++)
        n += a[i];
    assert_in_range(n, 900, 1100); /* binomial(10000, 0.1): sd 30 */
    ft_text_split(&c, 0.0, 5, a);
    ft_text_split(&c, 1.0, 5, b);
    for (int i = 0; i < 10000; i++)
        assert_true(a[i] == 0 && b[i] == 1);
}

/* Sequences 0..11 from 3 sources: source = i % 3. */
static ft_text_seqs_t *three_sources(uint32_t *src_store)
{
    static ft_text_seqs_t s;
    for (uint32_t i = 0; i < 12; i++)
        src_store[i] = i % 3;
    s = (ft_text_seqs_t){.n = 12, .seq_len = 1, .source = src_store, .num_sources = 3};
    return &s;
}

static void test_partition_natural(void **state)
{
    (void)state;
    uint32_t src[12];
    ft_text_seqs_t *s = three_sources(src);
    ft_partition_spec_t spec = {.kind = FT_PARTITION_IID, .num_clients = 2, .seed = 1};
    ft_partition_t *p;
    /* K = 2 <= F = 3: client 0 holds sources 0 and 2, client 1 source 1 */
    assert_int_equal(ft_text_partition(&spec, 1, s, &p), FT_OK);
    const uint32_t want2[12] = {0, 2, 3, 5, 6, 8, 9, 11, 1, 4, 7, 10};
    assert_int_equal(p->offsets[1], 8);
    assert_int_equal(p->offsets[2], 12);
    assert_memory_equal(p->indices, want2, sizeof want2);
    ft_partition_destroy(&p);
    /* K = 5 > F = 3: clients 0 and 3 share source 0 (0 3 | 6 9), 1 and 4 source 1,
     * client 2 holds all of source 2 */
    spec.num_clients = 5;
    assert_int_equal(ft_text_partition(&spec, 1, s, &p), FT_OK);
    const uint32_t off5[6] = {0, 2, 4, 8, 10, 12};
    const uint32_t want5[12] = {0, 3, 1, 4, 2, 5, 8, 11, 6, 9, 7, 10};
    assert_memory_equal(p->offsets, off5, sizeof off5);
    assert_memory_equal(p->indices, want5, sizeof want5);
    ft_partition_destroy(&p);
    /* a source without sequences is skipped: sources 0 and 2 only, K = 2 gives one
     * each (ranks 0 and 1), not client 1 nothing */
    for (uint32_t i = 0; i < 12; i++)
        src[i] = i < 4 ? 0 : 2;
    spec.num_clients = 2;
    assert_int_equal(ft_text_partition(&spec, 1, s, &p), FT_OK);
    assert_int_equal(p->offsets[1], 4);
    assert_int_equal(p->offsets[2], 12);
    ft_partition_destroy(&p);
    /* 6 clients over sources of 10, 1 and 1 sequences: source 1's single sequence
     * cannot go round its two sharers (clients 1 and 4) */
    for (uint32_t i = 0; i < 12; i++)
        src[i] = i < 10 ? 0 : i - 9;
    spec.num_clients = 6;
    assert_int_equal(ft_text_partition(&spec, 1, s, &p), FT_EINVAL);
    assert_null(p);
    assert_non_null(strstr(ft_error_message(), "gets no sample"));
}

/* iid and dirichlet go through ft_partition_make with the source as the class: every
 * sequence exactly once. */
static void test_partition_iid_dirichlet(void **state)
{
    (void)state;
    uint32_t src[12];
    ft_text_seqs_t *s = three_sources(src);
    ft_partition_kind_t kinds[2] = {FT_PARTITION_IID, FT_PARTITION_DIRICHLET};
    for (int k = 0; k < 2; k++) {
        ft_partition_spec_t spec = {
            .kind = kinds[k], .num_clients = 3, .alpha = 1.0, .min_size = 1, .seed = 3};
        ft_partition_t *p;
        assert_int_equal(ft_text_partition(&spec, 0, s, &p), FT_OK);
        assert_int_equal(p->offsets[3], 12);
        int seen[12] = {0};
        for (uint32_t i = 0; i < 12; i++)
            seen[p->indices[i]]++;
        for (int i = 0; i < 12; i++)
            assert_int_equal(seen[i], 1);
        ft_partition_destroy(&p);
    }
}

/* The baseline, worked by hand: training targets 5 5 7 | 7 5 9 -> word 5 (3 of 6);
 * test targets 5 7 (unscored 5) 5 -> 2 of 3 scored. */
static void test_unigram_baseline(void **state)
{
    (void)state;
    ft_text_vocab_t v = {.refs = 1, .size = 10};
    ft_text_seqs_t tr = {.n = 2, .seq_len = 3, .num_sources = 1};
    int32_t tr_ids[8] = {2, 5, 5, 7, 3, 7, 5, 9};
    uint32_t src[2] = {0, 0};
    tr.ids = tr_ids, tr.source = src;
    ft_dataset_t *a, *b;
    assert_int_equal(ft_text_to_dataset(&tr, &v, &a), FT_OK);
    int32_t te_ids[8] = {1, 5, 7, 5, 9, 9, 9, 9};
    tr.ids = te_ids;
    assert_int_equal(ft_text_to_dataset(&tr, &v, &b), FT_OK);
    b->values[3] = ft_text_unscored(5);
    b->values[5] = ft_text_unscored(9), b->values[6] = ft_text_unscored(9);
    b->values[7] = 5;
    int32_t word;
    assert_float_equal(ft_text_unigram_baseline(a, b, &word), 2.0 / 3.0, 1e-12);
    assert_int_equal(word, 5);
    assert_int_equal(v.refs, 3); /* each dataset holds a reference */
    ft_dataset_destroy(&a);
    ft_dataset_destroy(&b);
    assert_int_equal(v.refs, 1);
}

/* The embedded corpus as the package installs it. */
static void test_fortunes_corpus(void **state)
{
    (void)state;
    if (access(FORTUNES_DIR "/fortunes", R_OK) != 0)
        skip(); /* scripts/fedtail-setup installs the fortunes package */
    ft_text_corpus_t *c;
    assert_int_equal(ft_text_corpus_read_dir(FORTUNES_DIR, &c), FT_OK);
    assert_true(c->num_sources >= 10);
    assert_true(c->num_entries > 5000);
    assert_true(c->num_tokens > 300000);
    uint8_t *is_test = ft_malloc(c->num_entries);
    ft_text_split(c, 0.1, 1, is_test);
    ft_text_vocab_t *v;
    assert_int_equal(ft_text_vocab_build(c, is_test, 10000, &v), FT_OK);
    assert_int_equal(v->size, 10000);
    /* the most frequent tokens of English text with punctuation */
    int the = ft_text_vocab_id(v, "the"), comma = ft_text_vocab_id(v, ",");
    assert_true(the >= 2 && the < 6);
    assert_true(comma >= 2 && comma < 6);
    ft_text_vocab_destroy(&v);
    ft_free(is_test);
    ft_text_corpus_destroy(&c);
    /* the most-frequent-word baseline at experiments/text/fortunes-nextword.ini's
     * settings (what docs/experiments.md quotes) */
    ft_dataset_t *tr, *te;
    assert_int_equal(ft_text_load_fortunes(FORTUNES_DIR, 2000, 16, 0.1, 1, 1, &tr), FT_OK);
    assert_int_equal(ft_text_load_fortunes(FORTUNES_DIR, 2000, 16, 0.1, 1, 0, &te), FT_OK);
    int32_t word;
    double base = ft_text_unigram_baseline(tr, te, &word);
    printf("fortunes (V 2000, T 16, seed 1): %u train / %u test sequences, most frequent "
           "target '%s', baseline top-1 %.2f%%\n",
           tr->n, te->n, tr->vocab->words[word], 100 * base);
    assert_true(base > 0.01 && base < 0.5);
    ft_dataset_destroy(&tr);
    ft_dataset_destroy(&te);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenize_words_and_punctuation),
        cmocka_unit_test(test_tokenize_long_word_is_cut),
        cmocka_unit_test(test_tokenize_bad_bytes),
        cmocka_unit_test(test_corpus_entries_and_lines),
        cmocka_unit_test(test_corpus_bad_files),
        cmocka_unit_test(test_vocab),
        cmocka_unit_test(test_sequences),
        cmocka_unit_test(test_split_deterministic),
        cmocka_unit_test(test_partition_natural),
        cmocka_unit_test(test_partition_iid_dirichlet),
        cmocka_unit_test(test_unigram_baseline),
        cmocka_unit_test(test_fortunes_corpus),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
