/* ft_report_run: one run directory loaded for reporting — its metrics.csv, its
 * config.ini (when readable) and the words and colour every part of the report
 * shows it with. ft_report.c loads the runs; ft_plot.c and ft_html.c draw them. */
#ifndef FT_REPORT_RUN_H
#define FT_REPORT_RUN_H

#include "ft_config.h"
#include "ft_csv.h"
#include "ft_norm_dist.h"

#include <stddef.h>

/* One run loaded for reporting. */
typedef struct {
    const char *dir;      /* run directory (borrowed) */
    char label[128];      /* legend label: the directory's last component */
    char gp_label[256];   /* label inside a gnuplot '...' string (' doubled) */
    ft_csv_t *csv;        /* its metrics.csv (at least one row, round and main_acc) */
    ft_config_t *cfg;     /* its config.ini; NULL where absent or unreadable */
    char defense[64];     /* defense.name from cfg ("" without one) */
    const char *colour;   /* line colour: a function of the defense's name */
    char verdict[256];    /* the one-line verdict (filled by ft_report.c) */
    int destroyed;        /* nonzero if a round left NaN/Inf parameters */
    ft_norm_dist_t norms; /* update norms per round from events.jsonl (empty: none) */
} ft_report_run_t;

/* Loads dir into run (zeroed first). FT_EIO / FT_EFORMAT naming metrics.csv; a
 * missing or unreadable config.ini or events.jsonl is not an error (cfg stays NULL,
 * norms empty). */
int ft_report_run_load(ft_report_run_t *run, const char *dir);
/* A run directory's label: its last path component (trailing slashes ignored). */
void ft_report_dir_label(const char *dir, char *out, size_t len);
/* Frees what ft_report_run_load allocated; safe on a zeroed or freed run. */
void ft_report_run_free(ft_report_run_t *run);

/* First and last round of run's metrics.csv. */
void ft_report_run_rounds(const ft_report_run_t *run, int *first, int *last);
/* Nonzero if any row of col holds a number. */
int ft_report_has_data(const ft_csv_t *csv, const char *col);

/* Whether run_dir holds an incomplete run — no summary.json, a summary saying it did
 * not complete, or metrics.csv ending before config.ini's federation.rounds — and
 * why, in words, into why ("12 of 20 rounds, no summary.json"). A run stopped because
 * its model was destroyed (run.on_nonfinite = stop) is finished, not incomplete.
 * Returns 1 (incomplete), 0 (complete) or a negative code (metrics.csv unreadable). */
int ft_report_incomplete(const char *run_dir, char *why, size_t len);

#endif
