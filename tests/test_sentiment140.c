/* test_sentiment140: the Sentiment140 CSV reader on small generated files in the
 * training.1600000.processed.noemoticon.csv format — fields unquoted, quotes doubled,
 * Latin-1 text, neutral rows skipped, tweets grouped by author in order of first
 * tweet — and bad lines refused with the file, line and field named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ft_error.h"
#include "ft_sentiment140.h"
#include "ft_test_tmpdir.h"

static char dir[FT_TEST_TMPDIR_MAX];

static int setup(void **state)
{
    (void)state;
    return ft_test_tmpdir_make(dir, sizeof dir, "s140");
}

static int teardown(void **state)
{
    (void)state;
    return ft_test_tmpdir_remove(dir);
}

static const char *write_csv(char *path, size_t cap, const char *name, const char *text)
{
    return ft_test_tmpdir_write(path, cap, dir, name, text, strlen(text));
}

static void test_read(void **state)
{
    (void)state;
    char p[FT_TEST_TMPDIR_MAX + 16];
    const char *csv =
        "\"0\",\"1467810369\",\"Mon Apr 06 22:19:45 PDT 2009\",\"NO_QUERY\",\"ann\","
        "\"is upset, \"\"really\"\"\"\r\n"
        "\"4\",\"1467810672\",\"Mon Apr 06 22:19:49 PDT 2009\",\"NO_QUERY\",\"bob\",\"Caf\xe9 "
        "time!\"\r\n"
        "\"2\",\"1\",\"d\",\"q\",\"carl\",\"neutral, skipped\"\n"
        "4,2,d,q,ann,plain fields\n"
        "\n";
    ft_sentiment140_t *s;
    assert_int_equal(ft_sentiment140_read(write_csv(p, sizeof p, "ok.csv", csv), &s), FT_OK);
    const ft_text_corpus_t *c = s->tweets;
    assert_int_equal(c->num_entries, 3);
    assert_int_equal(s->num_authors, 2); /* carl's only tweet was neutral */
    assert_string_equal(s->authors[0], "ann");
    assert_string_equal(s->authors[1], "bob");
    const uint8_t label[3] = {0, 1, 1};
    const uint32_t author[3] = {0, 1, 0}, line[3] = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s->label[i], label[i]);
        assert_int_equal(s->author[i], author[i]);
        assert_int_equal(c->entry_line[i], line[i]);
    }
    /* "is upset , " really " " : the doubled quotes are one quote each */
    assert_int_equal(c->entry_offsets[1], 6);
    assert_string_equal(ft_text_token(c, 3), "\"");
    assert_string_equal(ft_text_token(c, 4), "really");
    /* Latin-1 e-acute became UTF-8 */
    assert_string_equal(ft_text_token(c, 6), "caf\xc3\xa9");
    ft_sentiment140_destroy(&s);
    ft_sentiment140_destroy(&s);
}

static void expect_bad(const char *name, const char *csv, const char *what)
{
    char p[FT_TEST_TMPDIR_MAX + 16];
    ft_sentiment140_t *s = (void *)1;
    assert_int_equal(ft_sentiment140_read(write_csv(p, sizeof p, name, csv), &s), FT_EFORMAT);
    assert_null(s);
    if (!strstr(ft_error_message(), what))
        fail_msg("%s: got '%s', want '%s'", name, ft_error_message(), what);
}

static void test_bad_lines(void **state)
{
    (void)state;
    const char *good = "\"0\",\"1\",\"d\",\"q\",\"u\",\"fine\"\n";
    char buf[256];
    snprintf(buf, sizeof buf, "%s\"0\",\"1\",\"d\",\"u\",\"too few\"\n", good);
    expect_bad("few.csv", buf, "few.csv:2: 5 fields, expected 6");
    snprintf(buf, sizeof buf, "%s%s\"0\",\"1\",\"d\",\"q\",\"u\",\"t\",\"x\"\n", good, good);
    expect_bad("many.csv", buf, "many.csv:3: 7 fields");
    snprintf(buf, sizeof buf, "%s\"0\",\"1\",\"d\",\"q\",\"u\",\"open quote\n", good);
    expect_bad("quote.csv", buf, "quote.csv:2: unterminated quote");
    snprintf(buf, sizeof buf, "\"5\",\"1\",\"d\",\"q\",\"u\",\"t\"\n");
    expect_bad("pol.csv", buf, "pol.csv:1: field 1 (polarity) is '5'");
    expect_bad("empty.csv", "", "no tweet");
    expect_bad("neutral.csv", "\"2\",\"1\",\"d\",\"q\",\"u\",\"meh\"\n", "only neutral");
    snprintf(buf, sizeof buf, "%s\"4\",\"1\",\"d\",\"q\",\"u\",\"bell\x01\"\n", good);
    expect_bad("ctrl.csv", buf, "ctrl.csv:2: control byte 0x01");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_bad_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
