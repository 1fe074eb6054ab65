/* ft_test_fixture: see ft_test_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "ft_test_fixture.h"

const char *ft_test_fixture_path(char *buf, size_t len, const char *rel)
{
    const char *src = getenv("FT_SOURCE_DIR");
    snprintf(buf, len, "%s/tests/fixtures/%s", src ? src : ".", rel);
    return buf;
}

FILE *ft_test_fixture_open(const char *rel, const char *mode)
{
    char path[1024];
    FILE *f = fopen(ft_test_fixture_path(path, sizeof path, rel), mode);
    if (!f)
        fail_msg("cannot open fixture %s (is FT_SOURCE_DIR set?)", path);
    return f;
}

void *ft_test_fixture_read(const char *rel, size_t bytes)
{
    char path[1024];
    ft_test_fixture_path(path, sizeof path, rel);
    FILE *f = ft_test_fixture_open(rel, "rb");
    void *buf = malloc(bytes + 1);
    assert_non_null(buf);
    size_t got = fread(buf, 1, bytes + 1, f);
    fclose(f);
    if (got != bytes)
        fail_msg("%s: %zu bytes, expected %zu", path, got, bytes);
    return buf;
}
