/* ft_fileio: whole-file reads and atomic writes.
 *
 * Atomic writes go to "PATH.tmp.PID", are fsync'ed, then renamed over PATH and the
 * directory fsync'ed, so a reader sees either the old file or the complete new one —
 * never a torn file, even after a crash or a full disk. */
#ifndef FT_FILEIO_H
#define FT_FILEIO_H

#include <stddef.h>
#include <sys/stat.h>

/* Opens path for reading, refusing anything but a regular file without blocking (a
 * FIFO is refused at once instead of waiting for a writer). *fd_out gets a blocking
 * descriptor (O_CLOEXEC) the caller closes; *st_out (may be NULL) its fstat. Every
 * file reader goes through here. Returns FT_OK; FT_EIO if it cannot be opened,
 * FT_EINVAL if it is not a regular file (a FIFO, a directory, a device), each with
 * a message naming the file; *fd_out is -1 on error. */
int ft_open_regular(const char *path, int *fd_out, struct stat *st_out);

/* Reads all of path into a NUL-terminated buffer (*data, caller frees with ft_free;
 * *len excludes the NUL). Only a regular file is read (ft_open_regular). On error
 * returns FT_EIO (also for a FIFO, a directory or a device) / FT_ENOMEM with a
 * message naming the file, and leaves *data NULL. */
int ft_read_file(const char *path, char **data, size_t *len);

/* Writes data[0..len) to path atomically. On error (FT_EIO, e.g. disk full) the
 * message names the file, the temporary file is removed and path is unchanged. */
int ft_write_file_atomic(const char *path, const void *data, size_t len);

/* Atomic writer for files built piece by piece. */
typedef struct ft_atomic_file ft_atomic_file_t;
/* Opens PATH.tmp.PID for writing. NULL on error (message names the file). */
ft_atomic_file_t *ft_atomic_open(const char *path);
/* Appends bytes; errors are remembered and reported by ft_atomic_commit. */
void ft_atomic_write(ft_atomic_file_t *f, const void *data, size_t len);
/* fsync + rename over the target. Returns FT_OK or FT_EIO (temp removed). Always
 * frees f and nulls *f_p. */
int ft_atomic_commit(ft_atomic_file_t **f_p);
/* Abandons the temporary file. Accepts NULL; nulls *f_p. */
void ft_atomic_abort(ft_atomic_file_t **f_p);

/* mkdir -p. FT_EIO with a message on failure. */
int ft_mkdir_p(const char *path);

/* Nonzero if path exists. */
int ft_path_exists(const char *path);

#endif
