/* ft_fileio: stdio-free file helpers with explicit error reporting. */
#include "ft_fileio.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ft_open_regular(const char *path, int *fd_out, struct stat *st_out)
{
    *fd_out = -1;
    /* O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, so a FIFO
     * named as a checkpoint or a data file would hang the process here. It is
     * cleared again once the file is known to be regular (where it means nothing). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return ft_error_set(FT_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ft_error_set(FT_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        const char *kind = S_ISFIFO(st.st_mode)   ? "a FIFO"
                           : S_ISDIR(st.st_mode)  ? "a directory"
                           : S_ISCHR(st.st_mode)  ? "a character device"
                           : S_ISBLK(st.st_mode)  ? "a block device"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                                                  : "not a plain file";
        return ft_error_set(FT_EINVAL, "%s: not a regular file (%s)", path, kind);
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return ft_error_set(FT_EIO, "%s: fcntl: %s", path, strerror(e));
    }
    *fd_out = fd;
    if (st_out)
        *st_out = st;
    return FT_OK;
}

int ft_read_file(const char *path, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd;
    struct stat st;
    int rc = ft_open_regular(path, &fd, &st);
    if (rc != FT_OK)
        return rc == FT_EINVAL ? FT_EIO : rc; /* the message names the file and why */
    size_t size = (size_t)st.st_size;
    char *buf = ft_malloc(size + 1);
    if (!buf) {
        close(fd);
        return ft_error_set(FT_ENOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = errno;
            ft_free(buf);
            close(fd);
            return ft_error_set(FT_EIO, "%s: read failed: %s", path,
                                n == 0 ? "unexpected end of file" : strerror(err));
        }
        got += (size_t)n;
    }
    close(fd);
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return FT_OK;
}

struct ft_atomic_file {
    char *path;     /* final path */
    char *tmp_path; /* temporary path written first */
    int fd;         /* open descriptor of tmp_path */
    int err;        /* first errno seen while writing, 0 if none */
};

ft_atomic_file_t *ft_atomic_open(const char *path)
{
    ft_atomic_file_t *f = ft_calloc(1, sizeof *f);
    if (!f) {
        ft_error_set(FT_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    size_t n = strlen(path) + 32;
    f->path = ft_strdup(path);
    f->tmp_path = ft_malloc(n);
    if (!f->path || !f->tmp_path) {
        ft_free(f->path);
        ft_free(f->tmp_path);
        ft_free(f);
        ft_error_set(FT_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    snprintf(f->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        ft_error_set(FT_EIO, "%s: cannot create: %s", f->tmp_path, strerror(errno));
        ft_free(f->path);
        ft_free(f->tmp_path);
        ft_free(f);
        return NULL;
    }
    return f;
}

void ft_atomic_write(ft_atomic_file_t *f, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0 && f->err == 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            f->err = errno;
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

static void atomic_free(ft_atomic_file_t **f_p)
{
    ft_atomic_file_t *f = *f_p;
    ft_free(f->path);
    ft_free(f->tmp_path);
    ft_free(f);
    *f_p = NULL;
}

static void fsync_parent_dir(const char *path)
{
    char *copy = ft_strdup(path);
    if (!copy)
        return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    ft_free(copy);
}

int ft_atomic_commit(ft_atomic_file_t **f_p)
{
    ft_atomic_file_t *f = *f_p;
    if (f->err == 0 && fsync(f->fd) != 0)
        f->err = errno;
    if (close(f->fd) != 0 && f->err == 0)
        f->err = errno;
    if (f->err == 0 && rename(f->tmp_path, f->path) != 0)
        f->err = errno;
    if (f->err != 0) {
        int rc = ft_error_set(FT_EIO, "%s: write failed: %s (file left unchanged)", f->path,
                              strerror(f->err));
        unlink(f->tmp_path);
        atomic_free(f_p);
        return rc;
    }
    fsync_parent_dir(f->path);
    atomic_free(f_p);
    return FT_OK;
}

void ft_atomic_abort(ft_atomic_file_t **f_p)
{
    if (!f_p || !*f_p)
        return;
    close((*f_p)->fd);
    unlink((*f_p)->tmp_path);
    atomic_free(f_p);
}

int ft_write_file_atomic(const char *path, const void *data, size_t len)
{
    ft_atomic_file_t *f = ft_atomic_open(path);
    if (!f)
        return FT_EIO;
    ft_atomic_write(f, data, len);
    return ft_atomic_commit(&f);
}

int ft_mkdir_p(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return ft_error_set(FT_EIO, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return ft_error_set(FT_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return ft_error_set(FT_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return ft_error_set(FT_EIO, "%s: exists and is not a directory", buf);
    return FT_OK;
}

int ft_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}
