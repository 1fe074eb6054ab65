/* ft_csv: reads the numeric CSV files fedtail writes (metrics.csv, summary.csv)
 * into a column table, for reports and sweeps. Values that are empty or not
 * numbers read as NaN; the text of every cell is kept too. */
#ifndef FT_CSV_H
#define FT_CSV_H

#include <stddef.h>

typedef struct {
    int num_cols;   /* columns (from the header line) */
    int num_rows;   /* data rows */
    char **names;   /* num_cols column names */
    double *values; /* num_rows×num_cols, NaN where not numeric */
    char **text;    /* num_rows×num_cols cell texts */
} ft_csv_t;

/* Reads path. FT_EIO if unreadable; FT_EFORMAT (naming file and line) if a row has
 * a different number of cells than the header. */
int ft_csv_read(const char *path, ft_csv_t **out);
void ft_csv_destroy(ft_csv_t **csv_p);

/* Writes text into buf as one CSV cell, quoted (RFC 4180; a line break becomes a
 * space) when it holds a comma, a quote or a line break. Returns what snprintf would:
 * the cell's length, even when len was too small (buf then holds a truncated,
 * NUL-terminated prefix). */
int ft_csv_cell(char *buf, size_t len, const char *text);

/* Index of the named column, or -1. */
int ft_csv_col(const ft_csv_t *csv, const char *name);
/* Value at (row, named column); NaN if the column is absent. */
double ft_csv_get(const ft_csv_t *csv, int row, const char *name);

#endif
