/* ft_metrics: column-table CSV writer for metrics.csv. */
#include "ft_metrics.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_linefile.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef enum { COL_INT, COL_SEL_INT, COL_U64, COL_NUM, COL_EVAL_NUM } col_type_t;

typedef struct {
    const char *name; /* CSV header */
    col_type_t type;  /* how the field is printed */
    size_t offset;    /* field in ft_metrics_row_t */
    int measurement;  /* timing/bytes: may differ between identical runs */
} column_t;

#define COL(name, type, field, meas)                                                               \
    {                                                                                              \
        name, type, offsetof(ft_metrics_row_t, field), meas                                        \
    }

/* One line per column. COL_EVAL_NUM is empty in rounds without evaluation,
 * COL_SEL_INT under a defense that does not select (no detection to count). */
static const column_t columns[] = {
    COL("round", COL_INT, round, 0),
    COL("main_acc", COL_EVAL_NUM, main_acc, 0),
    COL("main_loss", COL_EVAL_NUM, main_loss, 0),
    COL("backdoor_acc", COL_EVAL_NUM, backdoor_acc, 0),
    COL("target_class_acc", COL_EVAL_NUM, target_class_acc, 0),
    COL("clients", COL_INT, clients, 0),
    COL("sampled", COL_INT, sampled, 0),
    COL("attempts", COL_INT, attempts, 0),
    COL("attackers", COL_INT, attackers, 0),
    COL("train_loss", COL_NUM, train_loss, 0),
    COL("honest_norm_mean", COL_NUM, honest_norm_mean, 0),
    COL("attacker_norm", COL_NUM, attacker_norm, 0),
    COL("attackers_kept", COL_SEL_INT, attackers_kept, 0),
    COL("honest_dropped", COL_SEL_INT, honest_dropped, 0),
    COL("rejected", COL_INT, rejected, 1),
    COL("bytes_sent", COL_U64, bytes_sent, 1),
    COL("bytes_received", COL_U64, bytes_received, 1),
    COL("train_s", COL_NUM, train_s, 1),
    COL("train_max_s", COL_NUM, train_max_s, 1),
    COL("aggregate_s", COL_NUM, aggregate_s, 1),
    COL("eval_s", COL_NUM, eval_s, 1),
    COL("round_s", COL_NUM, round_s, 1),
    /* Appended: the columns before it keep their positions for existing readers. */
    COL("nonfinite_params", COL_U64, nonfinite_params, 0),
    /* Appended (issue 15): what every rule gave the attackers (ft_detect.h). */
    COL("attacker_weight", COL_NUM, attacker_weight, 0),
    COL("attacker_norm_share", COL_NUM, attacker_norm_share, 0),
};
#define NUM_COLUMNS (sizeof columns / sizeof columns[0])

struct ft_metrics {
    ft_linefile_t *lf; /* metrics.csv */
};

static char header[1024];

const char *ft_metrics_header(void)
{
    if (!header[0]) {
        size_t n = 0;
        for (size_t i = 0; i < NUM_COLUMNS; i++)
            n += (size_t)snprintf(header + n, sizeof header - n, "%s%s", i ? "," : "",
                                  columns[i].name);
    }
    return header;
}

int ft_metrics_is_measurement(const char *column)
{
    for (size_t i = 0; i < NUM_COLUMNS; i++)
        if (strcmp(columns[i].name, column) == 0)
            return columns[i].measurement;
    return -1;
}

void ft_metrics_row_reset(ft_metrics_row_t *row)
{
    memset(row, 0, sizeof *row);
    row->main_acc = row->main_loss = NAN;
    row->backdoor_acc = row->target_class_acc = NAN;
    row->train_loss = row->honest_norm_mean = row->attacker_norm = NAN;
    row->attacker_weight = row->attacker_norm_share = NAN;
}

int ft_metrics_open(const char *path, ft_metrics_t **out)
{
    return ft_metrics_open_at(path, -1, out);
}

int ft_metrics_open_at(const char *path, int64_t resume_at, ft_metrics_t **out)
{
    *out = NULL;
    ft_metrics_t *mt = ft_calloc(1, sizeof *mt);
    if (!mt)
        return ft_error_set(FT_ENOMEM, "out of memory");
    int rc = ft_linefile_open(path, resume_at, &mt->lf);
    if (rc == FT_OK && resume_at < 0) {
        char line[sizeof header + 2];
        int n = snprintf(line, sizeof line, "%s\n", ft_metrics_header());
        rc = ft_linefile_append(mt->lf, line, (size_t)n);
    }
    if (rc != FT_OK) {
        ft_metrics_close(&mt);
        return rc;
    }
    *out = mt;
    return FT_OK;
}

/* Appends printf output to buf[*n..cap); *n saturates at cap. */
static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (w > 0)
        *n = *n + (size_t)w < cap ? *n + (size_t)w : cap;
}

/* One column's value as metrics.csv prints it into buf[*n..cap); nothing for an empty
 * cell. Returns 1 if something was printed. */
static int put_cell(char *buf, size_t cap, size_t *n, const column_t *c,
                    const ft_metrics_row_t *row)
{
    const char *base = (const char *)row;
    switch (c->type) {
    case COL_SEL_INT:
        if (!row->selects)
            return 0;
        /* fall through */
    case COL_INT: put(buf, cap, n, "%d", *(const int *)(base + c->offset)); return 1;
    case COL_U64:
        put(buf, cap, n, "%llu", (unsigned long long)*(const uint64_t *)(base + c->offset));
        return 1;
    case COL_EVAL_NUM:
        if (!row->evaluated)
            return 0;
        /* fall through */
    case COL_NUM: {
        double v = *(const double *)(base + c->offset);
        if (isnan(v))
            return 0;
        put(buf, cap, n, "%.8g", v);
        return 1;
    }
    }
    return 0;
}

int ft_metrics_format(const ft_metrics_row_t *row, char *line, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < NUM_COLUMNS; i++) {
        if (i)
            put(line, cap, &n, ",");
        put_cell(line, cap, &n, &columns[i], row);
    }
    put(line, cap, &n, "\n");
    if (n >= cap)
        return ft_error_set(FT_EINVAL, "metrics row too long (%zu bytes of room)", cap);
    return (int)n;
}

int ft_metrics_format_json(const ft_metrics_row_t *row, char *out, size_t cap)
{
    size_t n = 0;
    put(out, cap, &n, "{");
    for (size_t i = 0; i < NUM_COLUMNS; i++) {
        put(out, cap, &n, "%s\"%s\":", i ? "," : "", columns[i].name);
        size_t at = n;
        /* Inf is no JSON number: null, as an empty cell (ft_json's rule). */
        const column_t *c = &columns[i];
        int num = c->type == COL_NUM || c->type == COL_EVAL_NUM;
        if (num && isinf(*(const double *)((const char *)row + c->offset)))
            put(out, cap, &n, "null");
        else if (!put_cell(out, cap, &n, c, row) && n == at)
            put(out, cap, &n, "null");
    }
    put(out, cap, &n, "}");
    if (n >= cap)
        return ft_error_set(FT_EINVAL, "metrics row too long for JSON (%zu bytes of room)", cap);
    return (int)n;
}

int ft_metrics_write(ft_metrics_t *mt, const ft_metrics_row_t *row)
{
    char line[2048];
    int n = ft_metrics_format(row, line, sizeof line);
    if (n < 0)
        return ft_error_set(FT_EINVAL, "%s: row too long", ft_linefile_path(mt->lf));
    return ft_linefile_append(mt->lf, line, (size_t)n);
}

int64_t ft_metrics_offset(const ft_metrics_t *mt)
{
    return ft_linefile_offset(mt->lf);
}

int ft_metrics_sync(ft_metrics_t *mt)
{
    return ft_linefile_sync(mt->lf);
}

void ft_metrics_close(ft_metrics_t **mt_p)
{
    if (!mt_p || !*mt_p)
        return;
    ft_linefile_close(&(*mt_p)->lf);
    ft_free(*mt_p);
    *mt_p = NULL;
}
