/* ft_test_fixture: see ft_test_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
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

float *ft_test_fixture_take(FILE *f, size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(fscanf(f, "%f", &v[i]), 1);
    return v;
}

void ft_test_check_close(const char *what, size_t i, float got, float want, double abs_tol,
                         double rel_tol)
{
    if (!(fabs((double)got - want) <= abs_tol + rel_tol * fabs((double)want)))
        fail_msg("%s[%zu]: got %.9g, torch %.9g", what, i, got, want);
}

void ft_test_expect_close(const char *what, const float *got, const float *want, size_t n,
                          double abs_tol, double rel_tol)
{
    for (size_t j = 0; j < n; j++)
        ft_test_check_close(what, j, got[j], want[j], abs_tol, rel_tol);
}
