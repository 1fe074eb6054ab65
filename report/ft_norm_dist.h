/* ft_norm_dist: the distribution of the update norms per round, for report.html's
 * norm-distribution plot — from the "norm" field of the coordinator's decision events
 * (events.jsonl: each aggregated update's L2 norm as received, before the defense,
 * and whether it was an attacker's). The honest updates of a round are summarised as
 * a box (quartiles, NumPy's default linear interpolation: numpy.percentile) with
 * whiskers to their smallest and largest norm; every attacker update is kept as its
 * own point, so it stands out against the honest spread. */
#ifndef FT_NORM_DIST_H
#define FT_NORM_DIST_H

#include <stddef.h>

/* The honest updates of one round. */
typedef struct {
    int round;     /* the round */
    int n;         /* honest updates with a finite norm */
    double min;    /* smallest norm */
    double q1;     /* 25th percentile */
    double median; /* 50th percentile */
    double q3;     /* 75th percentile */
    double max;    /* largest norm */
} ft_norm_box_t;

/* One attacker update. */
typedef struct {
    int round;   /* the round */
    long client; /* its client id */
    double norm; /* its norm as received */
} ft_norm_point_t;

/* A run's norm distribution; empty (all zero) when events.jsonl has no norms. */
typedef struct {
    ft_norm_box_t *boxes;       /* rounds with an honest norm, in round order */
    int num_boxes;              /* entries of boxes */
    ft_norm_point_t *attackers; /* attacker updates with a finite norm, in file order */
    int num_attackers;          /* entries of attackers */
    double lo, hi;              /* smallest and largest finite norm of any update */
} ft_norm_dist_t;

/* Reads run_dir/events.jsonl's decision events into *out (zeroed first). A missing
 * file or one without norms leaves it empty and is no error; a non-finite norm (a
 * NaN payload's, written as null) is left out. FT_EIO when the file is unreadable,
 * FT_ENOMEM; *out is then empty. */
int ft_norm_dist_load(const char *run_dir, ft_norm_dist_t *out);

/* Frees the arrays; safe on an empty or freed one. */
void ft_norm_dist_free(ft_norm_dist_t *d);

/* The q-quantile (0 <= q <= 1) of sorted[0..n), n >= 1, linearly interpolated
 * between the closest ranks: position q (n − 1), as numpy.percentile's default. */
double ft_norm_quantile(const double *sorted /* n, ascending */, int n, double q);

#endif
