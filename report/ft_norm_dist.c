/* ft_norm_dist: update norms per round from events.jsonl (see ft_norm_dist.h). The
 * decision events are one line each, written by coordinator/ft_coord_close.c:
 * {"t":..,"event":"decision","round":R,"client":C,"attacker":B,...,"norm":X,...}. */
#include "ft_norm_dist.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One honest norm, to be sorted by round then value. */
typedef struct {
    int round;   /* the round */
    double norm; /* the norm */
} sample_t;

static int by_round_then_norm(const void *a, const void *b)
{
    const sample_t *x = a, *y = b;
    if (x->round != y->round)
        return (x->round > y->round) - (x->round < y->round);
    return (x->norm > y->norm) - (x->norm < y->norm);
}

double ft_norm_quantile(const double *sorted, int n, double q)
{
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    if (lo >= n - 1)
        return sorted[n - 1];
    return sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]);
}

void ft_norm_dist_free(ft_norm_dist_t *d)
{
    ft_free(d->boxes);
    ft_free(d->attackers);
    memset(d, 0, sizeof *d);
}

/* The value after key in line[..end) as a number; 0 when absent or null. */
static int field(const char *line, const char *end, const char *key, double *v)
{
    const char *p = strstr(line, key);
    if (!p || p >= end)
        return 0;
    p += strlen(key);
    char *stop;
    *v = strtod(p, &stop);
    return stop != p && stop <= end && isfinite(*v);
}

/* Appends one item of size sz to *arr (count *n, room *cap). FT_ENOMEM. */
static int push(void **arr, int *n, int *cap, const void *item, size_t sz)
{
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 256;
        void *a = ft_realloc(*arr, (size_t)c * sz);
        if (!a)
            return ft_error_set(FT_ENOMEM, "out of memory for the norm distribution");
        *arr = a;
        *cap = c;
    }
    memcpy((char *)*arr + (size_t)*n * sz, item, sz);
    (*n)++;
    return FT_OK;
}

/* The boxes of the honest samples (sorted by round, then norm) into d. */
static int make_boxes(const sample_t *s, int n, ft_norm_dist_t *d)
{
    int rounds = 0;
    for (int i = 0; i < n; i++)
        rounds += i == 0 || s[i].round != s[i - 1].round;
    d->boxes = rounds ? ft_malloc((size_t)rounds * sizeof *d->boxes) : NULL;
    double *v = n ? ft_malloc((size_t)n * sizeof *v) : NULL;
    if ((rounds && !d->boxes) || (n && !v)) {
        ft_free(v);
        return ft_error_set(FT_ENOMEM, "out of memory for the norm distribution");
    }
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && s[j].round == s[i].round) {
            v[j - i] = s[j].norm;
            j++;
        }
        int m = j - i;
        d->boxes[d->num_boxes++] = (ft_norm_box_t){s[i].round,
                                                   m,
                                                   v[0],
                                                   ft_norm_quantile(v, m, 0.25),
                                                   ft_norm_quantile(v, m, 0.5),
                                                   ft_norm_quantile(v, m, 0.75),
                                                   v[m - 1]};
        i = j;
    }
    ft_free(v);
    return FT_OK;
}

int ft_norm_dist_load(const char *run_dir, ft_norm_dist_t *out)
{
    memset(out, 0, sizeof *out);
    char path[4096];
    snprintf(path, sizeof path, "%s/events.jsonl", run_dir);
    if (!ft_path_exists(path))
        return FT_OK;
    char *text = NULL;
    size_t len = 0;
    int rc = ft_read_file(path, &text, &len);
    if (rc != FT_OK)
        return rc;
    sample_t *honest = NULL;
    int nh = 0, caph = 0, capa = 0;
    out->lo = INFINITY;
    out->hi = -INFINITY;
    for (const char *p = text; *p && rc == FT_OK;) {
        const char *nl = strchr(p, '\n');
        const char *end = nl ? nl : p + strlen(p);
        const char *e = strstr(p, "\"event\":\"decision\"");
        double round, client, norm;
        if (e && e < end && field(p, end, "\"round\":", &round) &&
            field(p, end, "\"client\":", &client) && field(p, end, "\"norm\":", &norm)) {
            const char *a = strstr(p, "\"attacker\":");
            int attacker = a && a < end && strncmp(a + 11, "true", 4) == 0;
            out->lo = fmin(out->lo, norm);
            out->hi = fmax(out->hi, norm);
            if (attacker) {
                ft_norm_point_t pt = {(int)round, (long)client, norm};
                rc = push((void **)&out->attackers, &out->num_attackers, &capa, &pt, sizeof pt);
            } else {
                sample_t s = {(int)round, norm};
                rc = push((void **)&honest, &nh, &caph, &s, sizeof s);
            }
        }
        p = nl ? nl + 1 : end;
    }
    ft_free(text);
    if (rc == FT_OK) {
        if (nh)
            qsort(honest, (size_t)nh, sizeof *honest, by_round_then_norm);
        rc = make_boxes(honest, nh, out);
    }
    ft_free(honest);
    if (rc != FT_OK)
        ft_norm_dist_free(out);
    else if (!out->num_boxes && !out->num_attackers)
        out->lo = out->hi = 0;
    return rc;
}
