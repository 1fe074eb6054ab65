/* ft_csv: a small strict CSV reader and the one cell writer fedtail's CSV files use:
 * a cell with a comma or a quote is quoted as RFC 4180 says (sweep run names are
 * key=value,key=value), and read back unquoted. */
#include "ft_csv.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the cell starting at p (before end) ends: the next comma outside quotes, or
 * end. A cell that starts with a double quote runs to its closing quote ("" inside
 * is one quote), RFC 4180 without line breaks inside cells. */
static const char *cell_end(const char *p, const char *end)
{
    if (p < end && *p == '"') {
        for (p++; p < end; p++)
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"')
                    p++;
                else
                    break;
            }
    }
    const char *comma = p < end ? memchr(p, ',', (size_t)(end - p)) : NULL;
    return comma ? comma : end;
}

static int count_cells(const char *line, size_t len)
{
    const char *p = line, *end = line + len;
    int n = 1;
    for (p = cell_end(p, end); p < end; p = cell_end(p + 1, end))
        n++;
    return n;
}

/* Splits line[0..len) at commas into freshly allocated strings cells[0..n), quotes
 * removed. */
static int split_cells(const char *line, size_t len, char **cells, int n)
{
    const char *p = line, *end = line + len;
    for (int i = 0; i < n; i++) {
        const char *stop = cell_end(p, end);
        size_t cell_len = (size_t)(stop - p);
        if (cell_len > 0 && p[cell_len - 1] == '\r')
            cell_len--;
        cells[i] = ft_malloc(cell_len + 1);
        if (!cells[i])
            return FT_ENOMEM;
        if (cell_len >= 2 && p[0] == '"' && p[cell_len - 1] == '"') {
            size_t k = 0;
            for (size_t j = 1; j + 1 < cell_len; j++) {
                cells[i][k++] = p[j];
                if (p[j] == '"' && p[j + 1] == '"')
                    j++;
            }
            cells[i][k] = '\0';
        } else {
            memcpy(cells[i], p, cell_len);
            cells[i][cell_len] = '\0';
        }
        p = stop + 1;
    }
    return FT_OK;
}

int ft_csv_cell(char *buf, size_t len, const char *text)
{
    if (!strpbrk(text, ",\"\n\r"))
        return snprintf(buf, len, "%s", text);
    size_t k = 0;
    if (k < len)
        buf[k] = '"';
    k++;
    for (const char *c = text; *c; c++) {
        if (*c == '"') {
            if (k < len)
                buf[k] = '"';
            k++;
        }
        if (k < len)
            buf[k] = (*c == '\n' || *c == '\r') ? ' ' : *c;
        k++;
    }
    if (k < len)
        buf[k] = '"';
    k++;
    if (len > 0)
        buf[k < len ? k : len - 1] = '\0';
    return (int)k;
}

static double parse_number(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return (*s && *end == '\0') ? v : NAN;
}

int ft_csv_read(const char *path, ft_csv_t **out)
{
    *out = NULL;
    char *data = NULL;
    size_t len = 0;
    int rc = ft_read_file(path, &data, &len);
    if (rc != FT_OK)
        return rc;
    ft_csv_t *csv = ft_calloc(1, sizeof *csv);
    if (!csv) {
        ft_free(data);
        return ft_error_set(FT_ENOMEM, "%s: out of memory", path);
    }
    /* Count data lines to size the table once. */
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    if (len > 0 && data[len - 1] != '\n')
        lines++;
    const char *p = data;
    const char *eol = strchr(p, '\n');
    size_t first_len = eol ? (size_t)(eol - p) : len;
    if (first_len == 0) {
        rc = ft_error_set(FT_EFORMAT, "%s:1: missing header line", path);
        goto fail;
    }
    csv->num_cols = count_cells(p, first_len);
    csv->names = ft_calloc((size_t)csv->num_cols, sizeof *csv->names);
    csv->values =
        ft_calloc((size_t)(lines > 1 ? lines - 1 : 1) * (size_t)csv->num_cols, sizeof *csv->values);
    csv->text =
        ft_calloc((size_t)(lines > 1 ? lines - 1 : 1) * (size_t)csv->num_cols, sizeof *csv->text);
    if (!csv->names || !csv->values || !csv->text ||
        split_cells(p, first_len, csv->names, csv->num_cols) != FT_OK) {
        rc = ft_error_set(FT_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    int lineno = 1;
    while (eol && eol[1] != '\0') {
        p = eol + 1;
        lineno++;
        eol = strchr(p, '\n');
        size_t line_len = eol ? (size_t)(eol - p) : strlen(p);
        if (line_len == 0 || (line_len == 1 && p[0] == '\r'))
            continue;
        int n = count_cells(p, line_len);
        if (n != csv->num_cols) {
            rc = ft_error_set(FT_EFORMAT, "%s:%d: %d cells, header has %d", path, lineno, n,
                              csv->num_cols);
            goto fail;
        }
        char **row_text = csv->text + (size_t)csv->num_rows * (size_t)csv->num_cols;
        if (split_cells(p, line_len, row_text, n) != FT_OK) {
            csv->num_rows++; /* so the partially filled row is freed */
            rc = ft_error_set(FT_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
        for (int c = 0; c < n; c++)
            csv->values[(size_t)csv->num_rows * (size_t)csv->num_cols + (size_t)c] =
                parse_number(row_text[c]);
        csv->num_rows++;
    }
    ft_free(data);
    *out = csv;
    return FT_OK;
fail:
    ft_free(data);
    ft_csv_destroy(&csv);
    return rc;
}

void ft_csv_destroy(ft_csv_t **csv_p)
{
    if (!csv_p || !*csv_p)
        return;
    ft_csv_t *csv = *csv_p;
    if (csv->names)
        for (int c = 0; c < csv->num_cols; c++)
            ft_free(csv->names[c]);
    if (csv->text)
        for (size_t i = 0; i < (size_t)csv->num_rows * (size_t)csv->num_cols; i++)
            ft_free(csv->text[i]);
    ft_free(csv->names);
    ft_free(csv->values);
    ft_free(csv->text);
    ft_free(csv);
    *csv_p = NULL;
}

int ft_csv_col(const ft_csv_t *csv, const char *name)
{
    for (int c = 0; c < csv->num_cols; c++)
        if (strcmp(csv->names[c], name) == 0)
            return c;
    return -1;
}

double ft_csv_get(const ft_csv_t *csv, int row, const char *name)
{
    int c = ft_csv_col(csv, name);
    if (c < 0 || row < 0 || row >= csv->num_rows)
        return NAN;
    return csv->values[(size_t)row * (size_t)csv->num_cols + (size_t)c];
}
