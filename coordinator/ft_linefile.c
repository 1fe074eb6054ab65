/* ft_linefile: whole-line appends with roll-back on a failed write. */
#include "ft_linefile.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ft_linefile {
    int fd;       /* open descriptor, O_WRONLY */
    int64_t size; /* bytes of complete lines in the file */
    char *path;   /* the file's path (owned) */
};

/* The descriptor was opened O_NONBLOCK, so a FIFO in the file's place fails at once
 * (ENXIO without a reader) or is refused here instead of blocking the coordinator;
 * anything else gets its blocking mode back (a device such as /dev/full is allowed:
 * tests write to it). */
static int check_not_fifo(int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return ft_error_set(FT_EIO, "%s: cannot stat: %s", path, strerror(errno));
    if (S_ISFIFO(st.st_mode) || S_ISDIR(st.st_mode))
        return ft_error_set(FT_EIO, "%s: not a regular file (%s)", path,
                            S_ISFIFO(st.st_mode) ? "a FIFO" : "a directory");
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
        return ft_error_set(FT_EIO, "%s: fcntl: %s", path, strerror(errno));
    return FT_OK;
}

int ft_linefile_open(const char *path, int64_t resume_at, ft_linefile_t **out)
{
    *out = NULL;
    ft_linefile_t *lf = ft_calloc(1, sizeof *lf);
    size_t n = strlen(path) + 1;
    if (!lf || !(lf->path = ft_malloc(n))) {
        ft_free(lf);
        return ft_error_set(FT_ENOMEM, "out of memory");
    }
    memcpy(lf->path, path, n);
    lf->fd = -1;
    int rc = FT_OK;
    if (resume_at < 0) {
        lf->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0644);
        if (lf->fd < 0) {
            rc = ft_error_set(FT_EIO, "%s: cannot create: %s", path, strerror(errno));
            goto fail;
        }
        if ((rc = check_not_fifo(lf->fd, path)) != FT_OK)
            goto fail;
        lf->size = 0;
    } else {
        struct stat st;
        lf->fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
        if (lf->fd < 0) {
            rc = ft_error_set(FT_EIO, "%s: cannot open to resume: %s", path, strerror(errno));
            goto fail;
        }
        if ((rc = check_not_fifo(lf->fd, path)) != FT_OK)
            goto fail;
        if (fstat(lf->fd, &st) != 0 || st.st_size < resume_at) {
            rc = ft_error_set(FT_EIO,
                              "%s: %lld bytes, the checkpoint recorded %lld: the file lost "
                              "lines the checkpoint counts",
                              path, (long long)st.st_size, (long long)resume_at);
            goto fail;
        }
        if (ftruncate(lf->fd, (off_t)resume_at) != 0) {
            rc = ft_error_set(FT_EIO, "%s: cannot cut back to %lld bytes: %s", path,
                              (long long)resume_at, strerror(errno));
            goto fail;
        }
        lf->size = resume_at;
    }
    if (lseek(lf->fd, (off_t)lf->size, SEEK_SET) < 0) {
        rc = ft_error_set(FT_EIO, "%s: seek: %s", path, strerror(errno));
        goto fail;
    }
    *out = lf;
    return FT_OK;
fail:
    ft_linefile_close(&lf);
    return rc;
}

int ft_linefile_append(ft_linefile_t *lf, const char *data, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(lf->fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            /* Never leave a torn line: back to the last complete one. */
            if (done > 0 && (ftruncate(lf->fd, (off_t)lf->size) != 0 ||
                             lseek(lf->fd, (off_t)lf->size, SEEK_SET) < 0)) {
                /* the file may now end mid-line; say so */
                return ft_error_set(FT_EIO,
                                    "%s: write failed (%s) and the partial line could "
                                    "not be removed",
                                    lf->path, strerror(e));
            }
            return ft_error_set(FT_EIO, "%s: write failed: %s", lf->path, strerror(e));
        }
        done += (size_t)w;
    }
    lf->size += (int64_t)len;
    return FT_OK;
}

int64_t ft_linefile_offset(const ft_linefile_t *lf)
{
    return lf->size;
}

int ft_linefile_sync(ft_linefile_t *lf)
{
    if (fsync(lf->fd) != 0 && errno != EINVAL && errno != EROFS)
        return ft_error_set(FT_EIO, "%s: fsync: %s", lf->path, strerror(errno));
    return FT_OK;
}

const char *ft_linefile_path(const ft_linefile_t *lf)
{
    return lf->path;
}

void ft_linefile_close(ft_linefile_t **lf_p)
{
    if (!lf_p || !*lf_p)
        return;
    ft_linefile_t *lf = *lf_p;
    if (lf->fd >= 0)
        close(lf->fd);
    ft_free(lf->path);
    ft_free(lf);
    *lf_p = NULL;
}
