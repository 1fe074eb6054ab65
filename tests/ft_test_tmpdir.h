/* ft_test_tmpdir: scratch directories for the unit tests.
 *
 * One helper instead of a copy per test file: make a fresh directory
 * $TMPDIR/ft_test_<name>.XXXXXX (/tmp where TMPDIR is unset or empty), build paths
 * inside it, and remove it with everything under it (nftw, no shell). The
 * coordinator tests bind ipc://<dir>/c.sock, and a socket path has at most 107
 * bytes, so a TMPDIR longer than about 80 characters makes those tests fail. */
#ifndef FT_TEST_TMPDIR_H
#define FT_TEST_TMPDIR_H

#include <stddef.h>

/* Room for a scratch directory's path: size the caller's buffers with it. */
#define FT_TEST_TMPDIR_MAX 256

/* Creates a fresh directory $TMPDIR/ft_test_<name>.XXXXXX (mode 0700) and writes its
 * path into dir (cap bytes, FT_TEST_TMPDIR_MAX is enough for any TMPDIR up to ~200
 * characters). Returns 0, or -1 with errno set and a line on stderr when the path
 * does not fit or mkdtemp fails; dir then holds an empty string. */
int ft_test_tmpdir_make(char *dir, size_t cap, const char *name);

/* Writes "<dir>/<name>" into out (cap bytes) and returns out. A path that does not
 * fit fails the running test (cmocka assert). */
const char *ft_test_tmpdir_path(char *out, size_t cap, const char *dir, const char *name);

/* Writes the len bytes at bytes to "<dir>/<name>" (created or truncated), its path
 * into out (cap bytes), and returns out: the generated input files of the reader
 * tests. A path that does not fit, or a file that cannot be written whole, fails the
 * running test (cmocka assert). */
const char *ft_test_tmpdir_write(char *out, size_t cap, const char *dir, const char *name,
                                 const void *bytes, size_t len);

/* Removes dir and everything under it, without following symbolic links. Returns 0,
 * or -1 with errno set: dir cannot be walked (a dir that does not exist is an
 * error), or an entry cannot be removed (named on stderr; removal stops there).
 * An empty dir, what a failed ft_test_tmpdir_make leaves, is nothing to remove and
 * returns 0 (cmocka runs a group's teardown even when its setup failed). */
int ft_test_tmpdir_remove(const char *dir);

#endif
