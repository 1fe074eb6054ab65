/* ft_sweep_page: which grid axes a sweep's heatmaps show, and sweep.html laid out
 * from every run's outcome (report/ft_sweep_html.h draws it). */
#ifndef FT_SWEEP_PAGE_H
#define FT_SWEEP_PAGE_H

#include "ft_sweep.h"

/* One run of the grid as sweep.html shows it. */
typedef struct {
    int done;            /* the run is complete (else its cell is empty, unlinked) */
    char name[512];      /* its directory under the sweep's */
    double main_acc;     /* final main accuracy (%), NaN: none */
    double backdoor_acc; /* final backdoor accuracy (%), NaN: none */
    int has_report;      /* name/report.html exists (else the cell links to name/) */
} ft_sweep_cell_t;

/* The heatmap axes: attack.method (or variant) x defense.name when swept, else the
 * first two axes. Returns 0 if the grid has fewer than two axes. */
int ft_sweep_heatmap_axes(const ft_sweep_t *sw, int *row, int *col);

/* out_dir/sweep.html from cells[0..ft_sweep_num_runs(sw)) (run i's outcome in
 * cells[i]): the heatmap axes as rows and columns (one row for a one-axis grid),
 * one slice per combination of the other axes, so that every cell is one run.
 * Differences are taken against the fedavg (defense.name) or none (attack.method)
 * column where there is one, else the first. Nothing for a grid without axes.
 * FT_ENOMEM or FT_EIO naming the file. */
int ft_sweep_page_write(const ft_sweep_t *sw, const ft_sweep_cell_t *cells, const char *out_dir);

#endif
