/* ft_progress: the per-round progress output of fedtail run / coordinator — a
 * progress line on stderr ("\rround 5/30  main acc 83.21%  ETA 1m20s") or, with
 * --json, one JSON object per round on stdout (numbers that are NaN/Inf, such as a
 * destroyed model's loss, are null; nonfinite_params is the metrics column). */
#ifndef FT_PROGRESS_H
#define FT_PROGRESS_H

#include "ft_metrics.h"

typedef struct {
    int quiet;       /* no progress line */
    int json;        /* one JSON object per round on stdout */
    double last_acc; /* last evaluated accuracy (NaN before any) */
    int printed;     /* a progress line is on screen (needs a newline at the end) */
    int tty;         /* stderr is a terminal: rewrite the line in place */
} ft_progress_t;

void ft_progress_init(ft_progress_t *p, int quiet, int json);
/* Matches ft_coord_opts_t.progress; user is an ft_progress_t. */
void ft_progress_round(void *user, const ft_metrics_row_t *row, int rounds, double elapsed_s);
/* Ends the progress line (newline) if one was printed. */
void ft_progress_end(ft_progress_t *p);

#endif
