/* test_lines: walking a text line by line (data/ft_lines.h) as the one-record-a-line
 * readers do — '\n' ends a line, a '\r' before it is dropped, a last line without '\n'
 * counts, a final '\n' starts no empty line, empty lines are returned (the readers
 * skip them) and numbered — and the longest line's bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ft_lines.h"

/* Walks data and checks the lines against want (n of them). */
static void walk(const char *data, const char *const *want, int n)
{
    ft_lines_t it = ft_lines(data, strlen(data));
    const char *text = NULL;
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(ft_lines_next(&it, &text, &len), 1);
        assert_int_equal(it.line, i + 1);
        assert_int_equal(len, strlen(want[i]));
        assert_memory_equal(text, want[i], len);
    }
    assert_int_equal(ft_lines_next(&it, &text, &len), 0);
    assert_int_equal(ft_lines_next(&it, &text, &len), 0); /* and stays past the end */
    assert_int_equal(it.line, n);
}

static void test_next(void **state)
{
    (void)state;
    walk("", NULL, 0);
    walk("\n", (const char *[]){""}, 1);
    walk("a", (const char *[]){"a"}, 1);
    walk("a\n", (const char *[]){"a"}, 1);
    walk("a\r\nbc\n\n\r\nd e\r", (const char *[]){"a", "bc", "", "", "d e"}, 5);
    walk("x\r\r\ny\rz", (const char *[]){"x\r", "y\rz"}, 2); /* only the last '\r' goes */
    walk("\n\nlast", (const char *[]){"", "", "last"}, 3);
}

static void test_longest(void **state)
{
    (void)state;
    assert_int_equal(ft_lines_longest("", 0), 0);
    assert_int_equal(ft_lines_longest("abc", 3), 3);
    assert_int_equal(ft_lines_longest("ab\nabcd\r\nx\n", 11), 5); /* '\r' counted */
    assert_int_equal(ft_lines_longest("a\n\n\nabc", 7), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next),
        cmocka_unit_test(test_longest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
