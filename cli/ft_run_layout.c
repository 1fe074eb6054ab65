/* ft_run_layout: the runs of a directory fedtail run wrote (see ft_run_layout.h). */
#include "ft_run_layout.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A seed-S entry: its seed number, or -1 when name is not "seed-<digits>". */
static long long seed_of(const char *name)
{
    if (strncmp(name, "seed-", 5) != 0 || !name[5])
        return -1;
    char *end;
    long long s = strtoll(name + 5, &end, 10);
    return *end || name[5] < '0' || name[5] > '9' ? -1 : s;
}

typedef struct {
    long long seed; /* S of seed-S */
    char *dir;      /* parent/seed-S */
} seed_entry_t;

static int by_seed(const void *a, const void *b)
{
    const seed_entry_t *x = a, *y = b;
    return (x->seed > y->seed) - (x->seed < y->seed);
}

/* The seeds of parent (seed-S holding a metrics.csv) into g, by seed. Returns their
 * number, FT_ENOMEM, or FT_EINVAL when there are more than a run makes. */
static int seeds_of(const char *parent, ft_run_group_t *g)
{
    DIR *d = opendir(parent);
    if (!d)
        return 0;
    seed_entry_t e[FT_MAX_SEEDS];
    int n = 0, rc = FT_OK;
    struct dirent *de;
    while ((de = readdir(d)) && rc == FT_OK) {
        long long s = seed_of(de->d_name);
        if (s < 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/metrics.csv", parent, de->d_name);
        if (!ft_path_exists(path))
            continue;
        if (n == FT_MAX_SEEDS) {
            rc = ft_error_set(FT_EINVAL, "%s: more than %d seed directories", parent, FT_MAX_SEEDS);
            break;
        }
        size_t len = strlen(parent) + strlen(de->d_name) + 2;
        e[n].dir = ft_malloc(len);
        if (!e[n].dir) {
            rc = ft_error_set(FT_ENOMEM, "out of memory");
            break;
        }
        snprintf(e[n].dir, len, "%s/%s", parent, de->d_name);
        e[n++].seed = s;
    }
    closedir(d);
    if (rc != FT_OK) {
        for (int i = 0; i < n; i++)
            ft_free(e[i].dir);
        return rc;
    }
    qsort(e, (size_t)n, sizeof *e, by_seed);
    for (int i = 0; i < n; i++)
        g->dirs[i] = e[i].dir;
    g->n = n;
    return n;
}

/* Adds the arm dir/sub labelled label when it holds seeds or a run of its own. 1 added,
 * 0 not, < 0 error. */
static int add_arm(const char *dir, const char *sub, const char *label, ft_run_layout_t *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    size_t pl = strlen(path);
    for (int i = 0; i < out->n; i++) /* listed already, by summary.json */
        if (strcmp(out->groups[i].label, label) == 0 ||
            (strncmp(out->groups[i].dirs[0], path, pl) == 0 &&
             (out->groups[i].dirs[0][pl] == '/' || out->groups[i].dirs[0][pl] == '\0')))
            return 0;
    ft_run_group_t g;
    memset(&g, 0, sizeof g);
    int rc = seeds_of(path, &g);
    if (rc < 0)
        return rc;
    g.seeded = rc > 0;
    if (rc == 0) { /* an arm without seeds: its one run */
        char mpath[4200];
        snprintf(mpath, sizeof mpath, "%s/metrics.csv", path);
        if (!ft_path_exists(mpath))
            return 0;
        if (!(g.dirs[0] = ft_malloc(pl + 1)))
            return ft_error_set(FT_ENOMEM, "out of memory");
        memcpy(g.dirs[0], path, pl + 1);
        g.n = 1;
    }
    if (out->n == FT_MAX_VARIANTS) {
        for (int s = 0; s < g.n; s++)
            ft_free(g.dirs[s]);
        return ft_error_set(FT_EINVAL, "%s: more than %d arms", dir, FT_MAX_VARIANTS);
    }
    snprintf(g.label, sizeof g.label, "%s", label);
    out->groups[out->n++] = g;
    return 1;
}

/* The arms summary.json lists, in its order: each "label": "L" with the "dir": "D"
 * after it (the file ft_seed_summary_write_json writes). */
static int arms_of_summary(const char *dir, ft_run_layout_t *out)
{
    char path[4096], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/summary.json", dir);
    if (!ft_path_exists(path) || ft_read_file(path, &text, &len) != FT_OK) {
        ft_error_clear();
        return FT_OK;
    }
    int rc = FT_OK;
    for (const char *p = text; rc >= 0 && (p = strstr(p, "\"label\": \""));) {
        char label[128], sub[256];
        /* the space in the format matches the line break and indent between them */
        if (sscanf(p, "\"label\": \"%127[^\"]\", \"dir\": \"%255[^\"]\"", label, sub) != 2) {
            p++;
            continue;
        }
        if (!strstr(sub, "..")) /* the arm lies inside dir */
            rc = add_arm(dir, sub, label, out);
        p++;
    }
    ft_free(text);
    return rc < 0 ? rc : FT_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ft_run_layout_find(const char *dir, ft_run_layout_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = seeds_of(dir, &out->groups[0]);
    if (rc > 0) {
        snprintf(out->groups[0].label, sizeof out->groups[0].label, "run");
        out->groups[0].seeded = 1;
        out->n = 1;
        return 1;
    }
    if (rc < 0 || (rc = arms_of_summary(dir, out)) < 0)
        goto fail;
    /* arms summary.json does not list (or no summary.json): by name */
    DIR *d = opendir(dir);
    if (!d)
        return out->n > 0;
    char *names[256];
    int nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nn < 256)
        if (de->d_name[0] != '.' && (names[nn] = ft_malloc(strlen(de->d_name) + 1)))
            strcpy(names[nn++], de->d_name);
    closedir(d);
    qsort(names, (size_t)nn, sizeof *names, by_name);
    for (int i = 0; i < nn; i++) {
        if (rc >= 0)
            rc = add_arm(dir, names[i], names[i], out);
        ft_free(names[i]);
    }
    if (rc < 0)
        goto fail;
    for (int i = 1; i < out->n; i++)
        if (out->groups[i].seeded != out->groups[0].seeded) {
            int s = out->groups[0].seeded ? 0 : i, p = s ? 0 : i;
            rc = ft_error_set(FT_EINVAL, "%s: arm %s has seeds (seed-S) and arm %s does not", dir,
                              out->groups[s].label, out->groups[p].label);
            goto fail;
        }
    return out->n > 0;
fail:
    ft_run_layout_free(out);
    return rc;
}

void ft_run_layout_free(ft_run_layout_t *l)
{
    for (int i = 0; i < l->n; i++)
        for (int s = 0; s < l->groups[i].n; s++)
            ft_free(l->groups[i].dirs[s]);
    memset(l, 0, sizeof *l);
}
