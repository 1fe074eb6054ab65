/* test_reddit: the JSON-lines field extractor (data/ft_jsonl.h) and the Reddit-style
 * comments reader and per-author sequences (data/ft_reddit.h) on small generated
 * files: escapes and surrogate pairs decoded, other members skipped, deleted comments
 * dropped, windows cut per author (hand-worked below), authors as groups — and bad
 * input (malformed JSON, a missing or non-string field, an empty file, bad UTF-8)
 * named by file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ft_error.h"
#include "ft_jsonl.h"
#include "ft_reddit.h"
#include "ft_test_tmpdir.h"

static char dir[FT_TEST_TMPDIR_MAX];

static int setup(void **state)
{
    (void)state;
    return ft_test_tmpdir_make(dir, sizeof dir, "reddit");
}

static int teardown(void **state)
{
    (void)state;
    return ft_test_tmpdir_remove(dir);
}

static const char *write_file(char *path, size_t cap, const char *name, const char *text)
{
    return ft_test_tmpdir_write(path, cap, dir, name, text, strlen(text));
}

static int fields(const char *json, ft_jsonl_field_t *f, char *buf)
{
    f[0] = (ft_jsonl_field_t){.name = "author"};
    f[1] = (ft_jsonl_field_t){.name = "body"};
    return ft_jsonl_fields("c.jsonl", 3, json, strlen(json), f, 2, buf);
}

static void test_jsonl(void **state)
{
    (void)state;
    char buf[1024];
    ft_jsonl_field_t f[2];
    assert_int_equal(fields(" {\"id\": 12, \"score\": -3.5e+2, \"gilded\": false, \"edited\": true,"
                            " \"x\": {\"body\": \"nested, not this\", \"a\": [1, [2], {}]},"
                            " \"author\": \"ann\", \"body\": \"caf\\u00e9 \\\"q\\\"\\n\\t\\/"
                            "\\ud83d\\ude00 \xc3\xa9\", \"parent\": null} ",
                            f, buf),
                     FT_OK);
    assert_string_equal(f[0].value, "ann");
    assert_string_equal(f[1].value, "caf\xc3\xa9 \"q\"\n\t/\xf0\x9f\x98\x80 \xc3\xa9");
    assert_int_equal(f[1].len, strlen(f[1].value));
    /* a missing member and a null one: no value */
    assert_int_equal(fields("{\"author\": null}", f, buf), FT_OK);
    assert_null(f[0].value);
    assert_null(f[1].value);
    assert_int_equal(fields("{}", f, buf), FT_OK);
    /* the last of duplicate members wins */
    assert_int_equal(fields("{\"body\": \"one\", \"body\": \"two\"}", f, buf), FT_OK);
    assert_string_equal(f[1].value, "two");
    /* malformed, each with its column */
    const struct {
        const char *json, *what;
    } bad[] = {
        {"[1, 2]", "column 1: expected a JSON object"},
        {"{\"author\" \"x\"}", "column 11: expected ':'"},
        {"{\"author\": \"x\"", "column 15: expected ',' or '}'"},
        {"{\"author\": \"x}", "unterminated string"},
        {"{\"author\": 7}", "\"author\" must be a string"},
        {"{\"n\": 01x}", "expected ',' or '}'"},
        {"{\"n\": tru}", "expected a JSON value"},
        {"{\"body\": \"\\q\"}", "an unknown escape"},
        {"{\"body\": \"\\u12g4\"}", "four hex digits"},
        {"{\"body\": \"\\ud83d x\"}", "a high surrogate not followed by a low one"},
        {"{\"body\": \"\\ude00\"}", "a lone low surrogate"},
        {"{\"body\": \"tab\there\"}", "a control character inside a string"},
        {"{\"a\": 1} {\"b\": 2}", "text after the object"},
        {"{\"a\": 1.}", "digits after its '.'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(fields(bad[i].json, f, buf), FT_EFORMAT);
        if (!strstr(ft_error_message(), bad[i].what) || !strstr(ft_error_message(), "c.jsonl:3:"))
            fail_msg("%s: got '%s', want '%s'", bad[i].json, ft_error_message(), bad[i].what);
    }
    /* nesting: 64 levels are refused, fewer skipped */
    char deep[200] = "{\"x\": ";
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    assert_int_equal(fields(deep, f, buf), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), "nested deeper than 64"));
    assert_int_equal(fields("{\"x\": [[[[[[[[[[{\"y\": []}]]]]]]]]]], \"body\": \"ok\"}", f, buf),
                     FT_OK);
    assert_string_equal(f[1].value, "ok");
}

/* alice: "a b c d e", "f g"; bob: "x y", "z"; carol: "p" (deleted ones dropped). */
static const char *comments = "{\"author\": \"alice\", \"body\": \"a b c d e\", \"score\": 3}\n"
                              "{\"author\": \"bob\", \"body\": \"x y\"}\r\n"
                              "\n"
                              "{\"author\": \"[deleted]\", \"body\": \"gone\"}\n"
                              "{\"author\": \"alice\", \"body\": \"f g\"}\n"
                              "{\"author\": \"dave\", \"body\": \"[removed]\"}\n"
                              "{\"author\": \"bob\", \"body\": \"z\"}\n"
                              "{\"author\": \"carol\", \"body\": \"p\"}\n";

static void test_read_and_sequences(void **state)
{
    (void)state;
    char p[FT_TEST_TMPDIR_MAX + 16];
    write_file(p, sizeof p, "ok.jsonl", comments);
    ft_reddit_t *r;
    assert_int_equal(ft_reddit_read(p, &r), FT_OK);
    assert_int_equal(r->comments->num_entries, 5);
    assert_int_equal(r->num_authors, 3);
    assert_string_equal(r->authors[0], "alice");
    assert_string_equal(r->authors[2], "carol");
    const uint32_t author[5] = {0, 1, 0, 1, 2}, line[5] = {1, 2, 5, 7, 8};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r->author[i], author[i]);
        assert_int_equal(r->comments->entry_line[i], line[i]);
    }
    ft_reddit_destroy(&r);
    ft_reddit_destroy(&r);

    /* T = 3 (windows of 4, stride 3), nothing held out: alice's stream a b c d e <eos>
     * f g <eos> gives [a b c d] [d e <eos> f]; bob's x y <eos> z <eos> gives [x y <eos> z];
     * carol's p <eos> is too short. Vocabulary: every token once, so byte order:
     * <unk> <eos> a b c d e f g p x y z. */
    ft_dataset_t *ds;
    assert_int_equal(ft_reddit_load(p, 20, 3, 0.0, 1, 1, &ds), FT_OK);
    assert_int_equal(ds->n, 3);
    assert_int_equal(ds->w, 4);
    assert_int_equal(ds->vocab->size, 13);
    const float want[3][4] = {{2, 3, 4, 5}, {5, 6, 1, 7}, {10, 11, 1, 12}};
    for (int s = 0; s < 3; s++)
        for (int t = 0; t < 4; t++)
            assert_true(ds->values[s * 4 + t] == want[s][t]);
    const uint32_t group[3] = {0, 0, 1};
    for (int s = 0; s < 3; s++) {
        assert_int_equal(ds->group[s], group[s]);
        assert_int_equal(ds->labels[s], group[s]);
    }
    assert_int_equal(ds->num_groups, 2); /* carol has no sequence */
    assert_int_equal(ds->num_classes, 2);
    ft_dataset_destroy(&ds);
    /* nothing held out: the test split is empty */
    assert_int_equal(ft_reddit_load(p, 20, 3, 0.0, 1, 0, &ds), FT_EINVAL);
    assert_null(ds);
    assert_non_null(strstr(ft_error_message(), "no test sequence"));
    /* everything held out: the training split is empty */
    assert_int_equal(ft_reddit_load(p, 20, 3, 1.0, 1, 1, &ds), FT_EINVAL);
}

static void expect_bad(const char *name, const char *text, const char *what)
{
    char p[FT_TEST_TMPDIR_MAX + 16];
    ft_reddit_t *r = (void *)1;
    assert_int_equal(ft_reddit_read(write_file(p, sizeof p, name, text), &r), FT_EFORMAT);
    assert_null(r);
    if (!strstr(ft_error_message(), what))
        fail_msg("%s: got '%s', want '%s'", name, ft_error_message(), what);
}

static void test_bad_input(void **state)
{
    (void)state;
    const char *good = "{\"author\": \"a\", \"body\": \"fine\"}\n";
    char buf[256];
    snprintf(buf, sizeof buf, "%s{\"author\": \"a\", \"body\": \"cut\n", good);
    expect_bad("cut.jsonl", buf, "cut.jsonl:2: column");
    snprintf(buf, sizeof buf, "%s%s{\"author\": \"a\"}\n", good, good);
    expect_bad("nobody.jsonl", buf, "nobody.jsonl:3: no \"body\" string");
    snprintf(buf, sizeof buf, "{\"body\": \"x\"}\n");
    expect_bad("noauthor.jsonl", buf, "noauthor.jsonl:1: no \"author\" string");
    expect_bad("empty.jsonl", "", "empty.jsonl: no comment");
    expect_bad("deleted.jsonl", "{\"author\": \"[deleted]\", \"body\": \"x\"}\n", "no comment");
    snprintf(buf, sizeof buf, "%s{\"author\": \"a\", \"body\": \"bad \xff\"}\n", good);
    expect_bad("utf8.jsonl", buf, "utf8.jsonl:2: byte 0xff");
    char p[FT_TEST_TMPDIR_MAX + 16];
    ft_test_tmpdir_path(p, sizeof p, dir, "missing.jsonl");
    ft_reddit_t *r;
    assert_int_equal(ft_reddit_read(p, &r), FT_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_read_and_sequences),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
