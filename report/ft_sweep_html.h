/* ft_sweep_html: sweep.html, a sweep's results in one self-contained page — for
 * each slice of the grid (one per combination of the axes beyond the two shown),
 * heatmaps of final main and backdoor accuracy on a sequential colour scale, and of
 * their difference from a baseline column (percentage points) on a diverging one
 * centred on 0. Every cell links to its run's report. Colours are CSS backgrounds of
 * table cells, so the page needs no script, image or network. */
#ifndef FT_SWEEP_HTML_H
#define FT_SWEEP_HTML_H

/* What the page shows. S slices, R rows, C columns; per-cell arrays are S×R×C,
 * row-major within a slice. */
typedef struct {
    const char *title;               /* the sweep's name */
    const char *row_key;             /* the rows' grid key ("" for a one-axis grid) */
    const char *const *row_labels;   /* R values of row_key */
    int rows;                        /* R >= 1 */
    const char *col_key;             /* the columns' grid key */
    const char *const *col_labels;   /* C values of col_key */
    int cols;                        /* C >= 1 */
    const char *const *slice_labels; /* S captions ("key=v, key=v"; "" for one slice) */
    int slices;                      /* S >= 1 */
    const double *main_acc;          /* S×R×C final main accuracy (%), NaN: no result */
    const double *backdoor_acc;      /* S×R×C final backdoor accuracy (%), NaN: none */
    const char *const *links;        /* S×R×C hrefs relative to the page, NULL: none */
    int baseline_col;                /* the column the differences are taken from */
} ft_sweep_page_t;

/* Writes page p to path atomically. FT_EIO naming the file. */
int ft_sweep_html_write(const ft_sweep_page_t *p, const char *path);

/* The sequential scale (v in [0,100], white to dark blue) and the diverging one
 * (d in [-span,span], blue through white to red) as "#rrggbb" into hex[8];
 * NaN gives light grey. Exposed for the tests. */
void ft_sweep_color_seq(double v, char hex[8]);
void ft_sweep_color_div(double d, double span, char hex[8]);

#endif
