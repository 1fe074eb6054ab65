/* ft_test_tmpdir: scratch directories for the unit tests (see ft_test_tmpdir.h).
 * nftw needs the X/Open extensions, which the build's _POSIX_C_SOURCE +
 * _DEFAULT_SOURCE do not switch on; that is why this is a .c of its own rather than
 * static inline code in a header every test includes after its system headers. */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_test_tmpdir.h"

int ft_test_tmpdir_make(char *dir, size_t cap, const char *name)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    int n = snprintf(dir, cap, "%s/ft_test_%s.XXXXXX", base, name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "ft_test_tmpdir: %s/ft_test_%s.XXXXXX does not fit in %zu bytes\n", base,
                name, cap);
        if (cap)
            dir[0] = '\0';
        errno = ENAMETOOLONG;
        return -1;
    }
    if (!mkdtemp(dir)) {
        int e = errno;
        fprintf(stderr, "ft_test_tmpdir: mkdtemp %s: %s\n", dir, strerror(e));
        dir[0] = '\0';
        errno = e;
        return -1;
    }
    return 0;
}

const char *ft_test_tmpdir_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    assert_true(n >= 0 && (size_t)n < cap);
    return out;
}

const char *ft_test_tmpdir_write(char *out, size_t cap, const char *dir, const char *name,
                                 const void *bytes, size_t len)
{
    ft_test_tmpdir_path(out, cap, dir, name);
    FILE *f = fopen(out, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return out;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    if (remove(path) != 0) {
        int e = errno;
        fprintf(stderr, "ft_test_tmpdir: remove %s: %s\n", path, strerror(e));
        errno = e;
        return -1;
    }
    return 0;
}

int ft_test_tmpdir_remove(const char *dir)
{
    if (!dir[0])
        return 0;
    /* FTW_DEPTH: a directory's entries go before the directory itself;
     * FTW_PHYS: a symbolic link is removed, never followed. */
    return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
