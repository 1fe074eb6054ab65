/* ft_out_dir: refusing to overwrite a run, and the absolute cache path. */
#include "ft_out_dir.h"

#include "ft_error.h"
#include "ft_fileio.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The first run file in dir (config.ini, metrics.csv) into found; 0 if none. */
static int holds_run_file(const char *dir, char *found, size_t len)
{
    static const char *const files[] = {"config.ini", "metrics.csv", NULL};
    for (int i = 0; files[i]; i++) {
        if ((size_t)snprintf(found, len, "%s/%s", dir, files[i]) < len && ft_path_exists(found))
            return 1;
    }
    return 0;
}

int ft_out_dir_check(const char *out, int force)
{
    char found[PATH_MAX + 64];
    if (force)
        return FT_OK;
    int held = holds_run_file(out, found, sizeof found);
    /* A comparison keeps its arms one level down. */
    DIR *d = held ? NULL : opendir(out);
    for (struct dirent *e; d && !held && (e = readdir(d));) {
        char sub[PATH_MAX];
        if (e->d_name[0] == '.' ||
            (size_t)snprintf(sub, sizeof sub, "%s/%s", out, e->d_name) >= sizeof sub)
            continue;
        held = holds_run_file(sub, found, sizeof found);
    }
    if (d)
        closedir(d);
    if (!held)
        return FT_OK;
    return ft_error_set(FT_ESTATE,
                        "%s already holds a run (%s): choose another --out, add --force to "
                        "overwrite it, or continue it with --resume %s",
                        out, found, out);
}

/* path made absolute against the working directory into buf; 0 if it does not fit. */
static int absolute(const char *path, char *buf, size_t len)
{
    char cwd[PATH_MAX];
    if (path[0] == '/')
        return (size_t)snprintf(buf, len, "%s", path) < len;
    if (!getcwd(cwd, sizeof cwd))
        return 0;
    if (strcmp(path, ".") == 0)
        return (size_t)snprintf(buf, len, "%s", cwd) < len;
    return (size_t)snprintf(buf, len, "%s/%s", cwd, strncmp(path, "./", 2) ? path : path + 2) < len;
}

int ft_out_dir_cache(ft_config_t *cfg, const char *out)
{
    const char *cache = ft_config_text(cfg, "run.cache_dir");
    char buf[PATH_MAX], parent[PATH_MAX], real[PATH_MAX];
    if (cache[0] == '/')
        return FT_OK;
    if (cache[0]) {
        if (!absolute(cache, buf, sizeof buf))
            return ft_error_set(FT_EINVAL, "run.cache_dir: cannot make %s absolute", cache);
    } else {
        if (!absolute(out, parent, sizeof parent))
            return ft_error_set(FT_EINVAL, "--out %s: cannot make it absolute", out);
        for (size_t n = strlen(parent); n > 1 && parent[n - 1] == '/'; n--)
            parent[n - 1] = '\0';
        char *slash = strrchr(parent, '/');
        if (slash == parent)
            slash[1] = '\0';
        else if (slash)
            *slash = '\0';
        /* The parent usually exists: name it without "..". */
        const char *p = realpath(parent, real) ? real : parent;
        if ((size_t)snprintf(buf, sizeof buf, "%s%scache", p, p[strlen(p) - 1] == '/' ? "" : "/") >=
            sizeof buf)
            return ft_error_set(FT_EINVAL, "--out %s: the cache path does not fit", out);
    }
    return ft_config_set_value(cfg, "run.cache_dir", buf, "absolute cache path");
}
