/* ft_test_fixture: the golden files under tests/fixtures/ (found through FT_SOURCE_DIR,
 * which ctest sets; "." otherwise) and the comparison of computed values with them, one
 * copy for every test that checks against a reference implementation's output. Each
 * fails the running test with the path when the file is missing or not what it should
 * be, and with the element when a value is out of tolerance. */
#ifndef FT_TEST_FIXTURE_H
#define FT_TEST_FIXTURE_H

#include <stddef.h>
#include <stdio.h>

/* "SRC/tests/fixtures/REL" into buf. */
const char *ft_test_fixture_path(char *buf, size_t len, const char *rel);
/* fopen of the fixture REL (mode as fopen's). */
FILE *ft_test_fixture_open(const char *rel, const char *mode);
/* The fixture REL's bytes, exactly `bytes` of them (a new buffer, free()). */
void *ft_test_fixture_read(const char *rel, size_t bytes);

/* The next n whitespace-separated numbers of the text fixture f, in a new buffer
 * (n floats, free()); a number missing or malformed fails the running test. */
float *ft_test_fixture_take(FILE *f, size_t n);

/* Fails the running test, naming what[i] and both values, unless
 * |got - want| <= abs_tol + rel_tol |want| (a NaN on either side fails). */
void ft_test_check_close(const char *what, size_t i, float got, float want, double abs_tol,
                         double rel_tol);
/* ft_test_check_close on each of the n pairs got[j], want[j] (what[j] in the message). */
void ft_test_expect_close(const char *what, const float *got /* n */, const float *want /* n */,
                          size_t n, double abs_tol, double rel_tol);

#endif
