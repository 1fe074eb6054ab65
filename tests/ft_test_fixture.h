/* ft_test_fixture: the golden files under tests/fixtures/ (found through FT_SOURCE_DIR,
 * which ctest sets; "." otherwise). Each fails the running test with the path when
 * the file is missing or not what it should be. */
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

#endif
