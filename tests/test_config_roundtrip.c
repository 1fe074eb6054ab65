/* Regression tests for common/ft_config found by fuzz/fuzz_config: every value a
 * config accepts must be written by ft_config_to_ini as a line that libinih reads
 * back identically (config.ini and the Welcome message depend on it), and inputs
 * inih would silently split or drop are refused with file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_error.h"

static void expect_error(int rc, const char *needle)
{
    assert_int_equal(rc, FT_ECONFIG);
    if (!strstr(ft_error_message(), needle))
        fail_msg("error '%s' lacks '%s'", ft_error_message(), needle);
}

/* Renders cfg, loads the text into a fresh config and checks both render alike. */
static void assert_roundtrip(const ft_config_t *cfg)
{
    char *ini = ft_config_to_ini(cfg);
    assert_non_null(ini);
    ft_config_t *back = ft_config_new();
    assert_int_equal(ft_config_load_string(back, ini, "config.ini"), FT_OK);
    char *again = ft_config_to_ini(back);
    assert_string_equal(ini, again);
    ft_free(again);
    ft_free(ini);
    ft_config_destroy(&back);
}

static void test_comment_like_values_refused(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_config_new();
    /* The fuzzer's find: "key =;text" loads as ";text", which renders as
     * "key = ;text" and reads back as an empty value. */
    expect_error(ft_config_load_string(cfg, "[data]\npath =;x\n", "exp.ini"), "exp.ini:2:");
    assert_non_null(strstr(ft_error_message(), "data.path"));
    assert_non_null(strstr(ft_error_message(), "comment"));
    assert_string_equal(ft_config_str(cfg, "data.path"), "");
    /* From --set, a ';' after a space would be cut off on reload. */
    expect_error(ft_config_set(cfg, "data.path=a ;b", "--set"), "starts a comment");
    expect_error(ft_config_set(cfg, "data.path=a\tb ;c", "--set"), "starts a comment");
    /* A ';' inside a word is fine and survives. */
    assert_int_equal(ft_config_set(cfg, "data.path=a;b", "--set"), FT_OK);
    assert_string_equal(ft_config_str(cfg, "data.path"), "a;b");
    assert_roundtrip(cfg);
    ft_config_destroy(&cfg);
}

static void test_unwritable_values_refused(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_config_new();
    /* A newline would inject lines into config.ini: "[attack]\nmethod = ...". */
    expect_error(ft_config_set(cfg, "data.path=x\n[attack]\nmethod=blackbox", "--set"),
                 "control character 0x0a");
    expect_error(ft_config_set(cfg, "data.path=x\ry", "--set"), "control character 0x0d");
    expect_error(ft_config_set(cfg, "data.path= x", "--set"), "white space");
    expect_error(ft_config_set(cfg, "data.path=x ", "--set"), "white space");
    assert_string_equal(ft_config_str(cfg, "data.path"), "");
    assert_int_equal(ft_config_set(cfg, "data.path=with inner space", "--set"), FT_OK);
    assert_roundtrip(cfg);
    ft_config_destroy(&cfg);
}

static void test_long_lines(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_config_new();
    /* "path = " + 191 characters = 198: the longest line inih reads whole. */
    char value[400], text[600];
    memset(value, 'v', 191);
    value[191] = '\0';
    assert_int_equal(ft_config_set_value(cfg, "data.path", value, "--set"), FT_OK);
    assert_roundtrip(cfg);
    value[191] = 'v';
    value[192] = '\0';
    expect_error(ft_config_set_value(cfg, "data.path", value, "--set"), "too long");
    /* In a file, a long line is refused before inih parses its tail as another line:
     * inih reads 199 characters ("hidden = " + 190) and then "name = mlp", which
     * would have set model.name. */
    memset(value, 'v', 190);
    value[190] = '\0';
    snprintf(text, sizeof text, "[model]\nhidden = %sname = mlp\n", value);
    expect_error(ft_config_load_string(cfg, text, "exp.ini"), "exp.ini:2: line of 209");
    assert_string_equal(ft_config_str(cfg, "model.name"), "lenet5");
    ft_config_destroy(&cfg);
}

static void test_byte_order_mark(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_config_new();
    assert_int_equal(ft_config_load_string(cfg, "\xef\xbb\xbf[defense]\nname = median\n", "w.ini"),
                     FT_OK);
    assert_string_equal(ft_config_str(cfg, "defense.name"), "median");
    assert_string_equal(ft_config_origin(cfg, "defense.name"), "w.ini:2");
    ft_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comment_like_values_refused),
        cmocka_unit_test(test_unwritable_values_refused),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_byte_order_mark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
