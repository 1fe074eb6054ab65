/* ft_metrics: metrics.csv, one row per round, written from a column table.
 *
 * Each column is one line in the table in ft_metrics.c (name, type, field of
 * ft_metrics_row_t, whether it is a measurement that may differ between runs of
 * the same config — timings and transport bytes). Adding a column is one field here
 * and one table line there. Each row goes to the file in one write (ft_linefile),
 * so the file is complete up to the last round after an interruption, and a failed
 * write (disk full) leaves no half row. */
#ifndef FT_METRICS_H
#define FT_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Everything recorded about one round. Fields are NaN/0 when not measured. */
typedef struct {
    int round;                 /* 1-based round */
    int attempts;              /* tries the round took (1: no retry) */
    int evaluated;             /* the global model was evaluated after this round */
    double main_acc;           /* test accuracy of the global model (if evaluated) */
    double main_loss;          /* test loss (if evaluated) */
    double backdoor_acc;       /* backdoor test set classified as target (if evaluated;
                                  NaN without a backdoor test set) */
    double target_class_acc;   /* clean accuracy on attack.source_class (if evaluated;
                                  NaN without an attack) */
    int clients;               /* updates aggregated */
    int sampled;               /* clients sampled (K) */
    int attackers;             /* attackers among the aggregated updates */
    double train_loss;         /* sample-weighted mean local training loss */
    double honest_norm_mean;   /* mean L2 norm of honest updates (as received, before the
                                  defense) */
    double attacker_norm;      /* mean L2 norm of attacker updates (NaN: none) */
    int selects;               /* the defense selects (ft_defense_t): attackers_kept and
                                  honest_dropped are written, else left empty */
    int attackers_kept;        /* attacker updates the defense did not drop (ft_detect.h) */
    int honest_dropped;        /* honest updates the defense dropped */
    int rejected;              /* messages rejected during the round */
    int rejected_written;      /* of them, written out as events (not a column) */
    uint64_t bytes_sent;       /* bytes the coordinator sent during the round */
    uint64_t bytes_received;   /* bytes it received */
    double train_s;            /* summed client training seconds */
    double train_max_s;        /* slowest client's training seconds */
    double aggregate_s;        /* aggregation seconds */
    double eval_s;             /* evaluation seconds */
    double round_s;            /* wall seconds of the round */
    uint64_t nonfinite_params; /* NaN/Inf parameters of the global model after this
                                  round's aggregation (0: finite; run.on_nonfinite) */
    double attacker_weight;    /* attackers' summed weight in the aggregate (NaN: none) */
    /* the attackers' share of the contribution norms (NaN: none or not reported) */
    double attacker_norm_share;
} ft_metrics_row_t;

typedef struct ft_metrics ft_metrics_t;

/* Creates path and writes the header. FT_EIO naming the file; FT_ENOMEM. */
int ft_metrics_open(const char *path, ft_metrics_t **out);
/* Resuming a run: reopens path and cuts it back to resume_at bytes (the offset a
 * checkpoint recorded with ft_metrics_offset); resume_at < 0 is ft_metrics_open.
 * FT_EIO naming the file (missing, shorter than resume_at). */
int ft_metrics_open_at(const char *path, int64_t resume_at, ft_metrics_t **out);
/* Appends one row. FT_EIO naming the file and the system error if the write failed
 * (the file then ends with the previous row). */
int ft_metrics_write(ft_metrics_t *mt, const ft_metrics_row_t *row);
/* The row as metrics.csv holds it (the same column table: one line ending in a
 * newline, an empty cell for a value not measured) into line (cap bytes, NUL
 * terminated). Returns its length, or FT_EINVAL when cap is too small. */
int ft_metrics_format(const ft_metrics_row_t *row, char *line, size_t cap);
/* The row as one JSON object {"round":1,"main_acc":0.83,...}: the columns of
 * metrics.csv in order, an empty cell (and NaN/Inf) as null. Returns its length, or
 * FT_EINVAL when cap is too small. */
int ft_metrics_format_json(const ft_metrics_row_t *row, char *out, size_t cap);
/* Bytes of the header and complete rows written so far. */
int64_t ft_metrics_offset(const ft_metrics_t *mt);
/* fsync of the file (before a checkpoint that records its offset). FT_EIO. */
int ft_metrics_sync(ft_metrics_t *mt);
void ft_metrics_close(ft_metrics_t **mt_p);

/* Resets a row to "nothing measured" (NaN for optional numbers). */
void ft_metrics_row_reset(ft_metrics_row_t *row);

/* The header line (no newline), e.g. for docs and tests. */
const char *ft_metrics_header(void);
/* Nonzero if the named column is a measurement (timing/bytes) rather than a result
 * that must be identical across process counts. -1 if unknown. */
int ft_metrics_is_measurement(const char *column);

#endif
