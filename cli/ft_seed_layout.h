/* ft_seed_layout: finding the runs of a run.seeds directory, so that `fedtail report`
 * draws it as `fedtail run --seeds` did (mean ± sample std over the seeds). The
 * layout is ft_seeds.h's: a single experiment's seeds in DIR/seed-S, a run.compare
 * arm's in DIR/<arm>/seed-S (a sweep cell: CELL/seed-S). */
#ifndef FT_SEED_LAYOUT_H
#define FT_SEED_LAYOUT_H

#include "ft_experiment.h"
#include "ft_variants.h"

#include <stddef.h>

/* One variant's seeds. */
typedef struct {
    char label[128];          /* the arm's label ("run": a single experiment) */
    char *dirs[FT_MAX_SEEDS]; /* its seeds' run directories, by seed number */
    int n;                    /* entries of dirs */
} ft_seed_group_t;

/* The groups of one seeds directory. */
typedef struct {
    ft_seed_group_t groups[FT_MAX_VARIANTS]; /* in the arms' order */
    int n;                                   /* entries of groups */
} ft_seed_layout_t;

/* Finds the seeds under dir into *out (zeroed first): DIR/seed-S directories holding
 * a metrics.csv make one group "run"; else each subdirectory holding such seeds is an
 * arm, in the order DIR/summary.json lists them (its "label"/"dir" pairs), else by
 * name, labelled by its directory name. Returns 1 when it found seeds, 0 when dir
 * holds none (a plain run, or nothing), FT_ENOMEM; FT_EINVAL naming dir when it holds
 * more arms or seeds than a run can. Free with ft_seed_layout_free. */
int ft_seed_layout_find(const char *dir, ft_seed_layout_t *out);

/* Frees the directory names; safe twice. */
void ft_seed_layout_free(ft_seed_layout_t *l);

#endif
