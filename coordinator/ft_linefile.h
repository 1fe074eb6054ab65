/* ft_linefile: an append-only file of whole lines that is never left half-written.
 *
 * metrics.csv and events.jsonl are written a line at a time and read while the run
 * goes on (progress, tests, a crash). Each line goes out in one write(2); if the
 * write fails or is short (disk full, I/O error), the file is truncated back to its
 * last complete line and the error is reported naming the file, so the file on disk
 * always ends with a complete line. For resuming a run, a file can be reopened and
 * cut back to a byte offset recorded in a checkpoint. */
#ifndef FT_LINEFILE_H
#define FT_LINEFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ft_linefile ft_linefile_t;

/* Creates (truncates) path. resume_at >= 0 instead opens the existing file, checks
 * it holds at least resume_at bytes and cuts it back to exactly resume_at (the
 * lines after it are dropped). FT_EIO naming the file (missing, shorter than
 * resume_at, unwritable); FT_ENOMEM; *out is NULL then. */
int ft_linefile_open(const char *path, int64_t resume_at, ft_linefile_t **out);
/* Appends len bytes (one or more whole lines) in one write. FT_EIO naming the file
 * and the system error on failure; the file is then back at its previous size. */
int ft_linefile_append(ft_linefile_t *lf, const char *data, size_t len);
/* Bytes of complete lines written (the offset a checkpoint records). */
int64_t ft_linefile_offset(const ft_linefile_t *lf);
/* fsync: the lines so far survive a machine crash. FT_EIO naming the file. */
int ft_linefile_sync(ft_linefile_t *lf);
/* The path (for messages). */
const char *ft_linefile_path(const ft_linefile_t *lf);
/* Closes. Accepts NULL; nulls *lf_p. */
void ft_linefile_close(ft_linefile_t **lf_p);

#endif
