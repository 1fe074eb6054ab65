/* ft_sweep_page: the layout of sweep.html — rows, columns and slices of a sweep's
 * grid, with each run's outcome and link in its cell. */
#include "ft_sweep_page.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_sweep_html.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int ft_sweep_heatmap_axes(const ft_sweep_t *sw, int *row, int *col)
{
    if (sw->num_axes < 2)
        return 0;
    *row = 0;
    *col = 1;
    for (int a = 0; a < sw->num_axes; a++) {
        if (strcmp(sw->axes[a].key, "attack.method") == 0 ||
            strcmp(sw->axes[a].key, "variant") == 0)
            *row = a;
        if (strcmp(sw->axes[a].key, "defense.name") == 0)
            *col = a;
    }
    if (*row == *col)
        *col = *row == 0 ? 1 : 0;
    return 1;
}

int ft_sweep_page_write(const ft_sweep_t *sw, const ft_sweep_cell_t *cells, const char *out_dir)
{
    int ra = -1, ca = 0;
    if (sw->num_axes == 0)
        return FT_OK;
    if (sw->num_axes >= 2)
        ft_sweep_heatmap_axes(sw, &ra, &ca);
    int rows = ra < 0 ? 1 : sw->axes[ra].num_values, cols = sw->axes[ca].num_values;
    int total = ft_sweep_num_runs(sw), slices = total / (rows * cols);
    double *main_acc = ft_calloc((size_t)total, sizeof *main_acc);
    double *back_acc = ft_calloc((size_t)total, sizeof *back_acc);
    char(*hrefs)[560] = ft_calloc((size_t)total, sizeof *hrefs);
    const char **links = ft_calloc((size_t)total, sizeof *links);
    char(*captions)[512] = ft_calloc((size_t)slices, sizeof *captions);
    const char **slice_labels = ft_calloc((size_t)slices, sizeof *slice_labels);
    int rc = main_acc && back_acc && hrefs && links && captions && slice_labels
                 ? FT_OK
                 : ft_error_set(FT_ENOMEM, "out of memory");
    for (int i = 0; i < total && rc == FT_OK; i++) {
        int idx[FT_SWEEP_MAX_AXES], slice = 0;
        ft_sweep_run_values(sw, i, idx);
        size_t used = 0;
        char caption[512] = "";
        for (int a = 0; a < sw->num_axes; a++) {
            if (a == ra || a == ca)
                continue;
            slice = slice * sw->axes[a].num_values + idx[a];
            used += (size_t)snprintf(caption + used, sizeof caption - used, "%s%s=%s",
                                     used ? ", " : "", sw->axes[a].key, sw->axes[a].values[idx[a]]);
            if (used >= sizeof caption)
                used = sizeof caption - 1;
        }
        int cell = (slice * rows + (ra < 0 ? 0 : idx[ra])) * cols + idx[ca];
        snprintf(captions[slice], sizeof captions[slice], "%s", caption);
        slice_labels[slice] = captions[slice];
        const ft_sweep_cell_t *c = &cells[i];
        main_acc[cell] = c->done ? c->main_acc : NAN;
        back_acc[cell] = c->done ? c->backdoor_acc : NAN;
        if (c->done) {
            snprintf(hrefs[cell], sizeof hrefs[cell], "%s/%s", c->name,
                     c->has_report ? "report.html" : "");
            links[cell] = hrefs[cell];
        }
    }
    const char *row_labels[FT_SWEEP_MAX_VALUES], *col_labels[FT_SWEEP_MAX_VALUES];
    for (int r = 0; r < rows; r++)
        row_labels[r] = ra < 0 ? "" : sw->axes[ra].values[r];
    int baseline = 0;
    for (int c = 0; c < cols; c++) {
        col_labels[c] = sw->axes[ca].values[c];
        if ((strcmp(sw->axes[ca].key, "defense.name") == 0 &&
             strcmp(col_labels[c], "fedavg") == 0) ||
            (strcmp(sw->axes[ca].key, "attack.method") == 0 && strcmp(col_labels[c], "none") == 0))
            baseline = c;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/sweep.html", out_dir);
    ft_sweep_page_t page = {.title = sw->name,
                            .row_key = ra < 0 ? "" : sw->axes[ra].key,
                            .row_labels = row_labels,
                            .rows = rows,
                            .col_key = sw->axes[ca].key,
                            .col_labels = col_labels,
                            .cols = cols,
                            .slice_labels = slice_labels,
                            .slices = slices,
                            .main_acc = main_acc,
                            .backdoor_acc = back_acc,
                            .links = links,
                            .baseline_col = baseline};
    if (rc == FT_OK)
        rc = ft_sweep_html_write(&page, path);
    ft_free(main_acc);
    ft_free(back_acc);
    ft_free(hrefs);
    ft_free(links);
    ft_free(captions);
    ft_free(slice_labels);
    return rc;
}
