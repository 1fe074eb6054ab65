/* fuzz_files: what the fuzz targets of file readers share (header-only, since each
 * target is one .c file built twice: with libFuzzer, and as a corpus replay test).
 *
 * Readers that take a path get the fuzz input written to a file in a temporary
 * directory made once per process (under /dev/shm when it is writable, so the fsyncs
 * of the atomic writers a round trip goes through cost nothing; else $TMPDIR or
 * /tmp). The files are removed when the process exits normally; a crashing input
 * leaves its directory behind, with the file that crashed in it. */
#ifndef FUZZ_FILES_H
#define FUZZ_FILES_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_PATH_MAX  4096 /* longest path a target builds */
#define FUZZ_FILES_MAX 8    /* distinct file names one target writes */

/* Aborts with a description: libFuzzer saves the input as a crash, and a replay test
 * fails. target names the fuzz target, what the invariant, detail the reader's
 * message (may be NULL). */
static inline void fuzz_broken(const char *target, const char *what, const char *detail)
{
    fprintf(stderr, "%s: invariant broken: %s (%s)\n", target, what, detail ? detail : "");
    abort();
}

static char fuzz_dir_[FUZZ_PATH_MAX];                   /* "" until made */
static char fuzz_names_[FUZZ_FILES_MAX][FUZZ_PATH_MAX]; /* files written so far */
static int fuzz_num_names_;                             /* entries of fuzz_names_ */

static inline void fuzz_cleanup_(void)
{
    for (int i = 0; i < fuzz_num_names_; i++)
        unlink(fuzz_names_[i]);
    if (fuzz_dir_[0])
        rmdir(fuzz_dir_);
}

/* The per-process temporary directory (made on the first call; aborts if it cannot
 * be, which is the harness's failure, not the reader's). */
static inline const char *fuzz_dir(void)
{
    if (fuzz_dir_[0])
        return fuzz_dir_;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!base || !base[0])
        base = "/tmp";
    snprintf(fuzz_dir_, sizeof fuzz_dir_, "%s/fedtail-fuzz-XXXXXX", base);
    if (!mkdtemp(fuzz_dir_)) {
        perror(fuzz_dir_);
        abort();
    }
    atexit(fuzz_cleanup_);
    return fuzz_dir_;
}

/* The path of name inside fuzz_dir() into path (FUZZ_PATH_MAX bytes), remembered for
 * the clean-up at exit. */
static inline void fuzz_path(char *path, const char *name)
{
    if ((size_t)snprintf(path, FUZZ_PATH_MAX, "%s/%s", fuzz_dir(), name) >= FUZZ_PATH_MAX) {
        fprintf(stderr, "fuzz_path: path too long\n");
        abort();
    }
    for (int i = 0; i < fuzz_num_names_; i++)
        if (!strcmp(fuzz_names_[i], path))
            return;
    if (fuzz_num_names_ == FUZZ_FILES_MAX) {
        fprintf(stderr, "fuzz_path: more than %d file names\n", FUZZ_FILES_MAX);
        abort();
    }
    snprintf(fuzz_names_[fuzz_num_names_++], FUZZ_PATH_MAX, "%s", path);
}

/* Writes data[0..len) to fuzz_dir()/name with the given mode (replacing what was
 * there) and puts its path into path (FUZZ_PATH_MAX bytes). Aborts on an I/O error. */
static inline void fuzz_write(char *path, const char *name, const void *data, size_t len,
                              mode_t mode)
{
    fuzz_path(path, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int bad = fd < 0 || fchmod(fd, mode) != 0;
    for (size_t done = 0; !bad && done < len;) {
        ssize_t n = write(fd, (const uint8_t *)data + done, len - done);
        bad = n <= 0;
        done += bad ? 0 : (size_t)n;
    }
    if (fd >= 0 && close(fd) != 0)
        bad = 1;
    if (bad) {
        perror(path);
        abort();
    }
}

#endif
