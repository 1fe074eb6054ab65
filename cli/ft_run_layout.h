/* ft_run_layout: the runs a directory that `fedtail run` wrote holds, so that
 * `fedtail report DIR` draws it as the run did. The layouts (ft_seeds.h,
 * ft_variants.h): a single experiment's seeds in DIR/seed-S (a sweep cell alike); a
 * run.compare's arms in DIR/<arm>, each one run (DIR/<arm>/metrics.csv) or, with
 * run.seeds, its seeds in DIR/<arm>/seed-S. */
#ifndef FT_RUN_LAYOUT_H
#define FT_RUN_LAYOUT_H

#include "ft_experiment.h"
#include "ft_variants.h"

#include <stddef.h>

/* One arm: its seeds' runs, or its one run. */
typedef struct {
    char label[128];          /* the arm's label ("run": a single experiment's seeds) */
    char *dirs[FT_MAX_SEEDS]; /* its seeds' run directories by seed number, or its run */
    int n;                    /* entries of dirs */
    int seeded;               /* dirs are seed-S runs (else dirs[0] is the arm's run) */
} ft_run_group_t;

/* The arms of one directory. */
typedef struct {
    ft_run_group_t groups[FT_MAX_VARIANTS]; /* in the arms' order */
    int n;                                  /* entries of groups */
} ft_run_layout_t;

/* Finds the runs under dir into *out (zeroed first): DIR/seed-S directories holding a
 * metrics.csv make one seeded group "run"; else each subdirectory holding such seeds,
 * or a metrics.csv of its own, is an arm, in the order DIR/summary.json lists them
 * (its "label"/"dir" pairs), else by name, labelled by its directory name. Returns 1
 * when it found runs, 0 when dir holds none (a plain run, or nothing), FT_ENOMEM;
 * FT_EINVAL naming dir when it holds more arms or seeds than a run makes, or arms
 * with seeds beside arms without. Free with ft_run_layout_free. */
int ft_run_layout_find(const char *dir, ft_run_layout_t *out);

/* Frees the directory names; safe twice. */
void ft_run_layout_free(ft_run_layout_t *l);

#endif
