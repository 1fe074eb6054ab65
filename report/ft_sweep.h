/* ft_sweep: grids of runs — parsing a sweep file, naming its runs, and summarising
 * finished run directories.
 *
 * A sweep file is INI with three sections:
 *   [sweep]  base = EXP.ini (the experiment every run starts from; relative paths are
 *            relative to the sweep file), name = a label (default: the file's stem)
 *   [grid]   section.key = v1, v2, ...   (the runs are the cartesian product)
 *            variant = label: k=v k=v; label: k=v   (an axis whose values are sets of
 *            assignments, e.g. "pgd+replacement: attack.method=pgd
 *            attack.model_replacement=true")
 *   [set]    section.key = v            (fixed overrides for every run)
 * Every key and value is checked against the experiment schema when the file is
 * read, so a typo fails before any run starts. */
#ifndef FT_SWEEP_H
#define FT_SWEEP_H

#include <stddef.h>

#define FT_SWEEP_MAX_AXES   8
#define FT_SWEEP_MAX_VALUES 32
#define FT_SWEEP_MAX_SETS   64

typedef struct {
    char key[96];                         /* section.key, or "variant" */
    int num_values;                       /* values along this axis */
    char values[FT_SWEEP_MAX_VALUES][64]; /* the values (variant: labels), in file order */
    char sets[FT_SWEEP_MAX_VALUES][256];  /* variant axis: "k=v k=v" for each value */
} ft_sweep_axis_t;

typedef struct {
    char path[512];                          /* the sweep file */
    char name[128];                          /* label */
    char base[512];                          /* experiment file every run starts from */
    int num_axes;                            /* grid dimensions */
    ft_sweep_axis_t axes[FT_SWEEP_MAX_AXES]; /* grid axes in file order */
    int num_sets;                            /* fixed overrides */
    char sets[FT_SWEEP_MAX_SETS][192];       /* "section.key=value" */
} ft_sweep_t;

/* Reads and validates a sweep file. FT_EIO / FT_ECONFIG with a message naming the
 * file, line and key. */
int ft_sweep_load(const char *path, ft_sweep_t *sweep);

/* The --set assignments of run i (fixed [set] ones first, then one per axis;
 * a variant value contributes each of its assignments), written as pointers into
 * buf (storage for them) — at most max. Returns the count. */
int ft_sweep_run_sets(const ft_sweep_t *sweep, int i, char *buf, size_t buf_len, const char **sets,
                      int max);

/* Number of runs (product of axis lengths). */
int ft_sweep_num_runs(const ft_sweep_t *sweep);
/* Which value of each axis run i takes (last axis varies fastest). */
void ft_sweep_run_values(const ft_sweep_t *sweep, int i, int value_index[FT_SWEEP_MAX_AXES]);
/* Directory name of run i: each axis as key=value in grid order, joined by ','
 * ("attack.method=pgd,defense.name=krum"; a variant axis gives its label), every
 * character but [A-Za-z0-9._=,+-] (and a leading '.') turned into '-'. */
void ft_sweep_run_name(const ft_sweep_t *sweep, int i, char *buf, size_t len);
/* The name sweeps gave run i before issue 20 ("method=pgd_name=krum": the section
 * dropped, '_' between axes). fedtail sweep keeps using a directory of that name
 * where one exists, so that sweeps started then still resume. */
void ft_sweep_run_name_v1(const ft_sweep_t *sweep, int i, char *buf, size_t len);

/* What one finished run achieved (NaN where not measured). */
typedef struct {
    double final_main_acc;     /* main accuracy in the last round */
    double final_backdoor_acc; /* backdoor accuracy in the last round */
    double peak_backdoor_acc;  /* best backdoor accuracy over all rounds */
    double rounds_to_50;       /* first round with backdoor >= 50% (NaN: never) */
    double detection_tpr;      /* share of attacker updates the defense dropped (NaN: the
                                  rule does not select, attackers_kept empty) */
    double detection_fpr;      /* share of honest updates the defense dropped (ditto) */
    int rounds;                /* rounds recorded */
    int destroyed_round;       /* first round that left NaN/Inf in the global model
                                  (nonfinite_params > 0; 0: none) */
    int backdoor_test;         /* images in the backdoor test set (0: unknown) */
    double attacker_weight;    /* mean over attacked rounds of the attackers' summed
                                  weight in the aggregate (NaN: none, or an old run) */
    /* the same for their share of the contribution norms */
    double attacker_norm_share;
} ft_run_summary_t;

/* Images in run_dir's backdoor test set, from the start event of its events.jsonl
 * (its first 64 KiB); 0 when the file, the event or the field is missing. */
int ft_run_backdoor_test_size(const char *run_dir);

/* What one backdoor test sample of the run in run_dir is, from data.dataset in its
 * config.ini: "tweet" (sentiment140), "sentence" (the next-word corpora), else
 * "image" (also when the file cannot be read). */
const char *ft_run_backdoor_unit(const char *run_dir);

/* Summarises run_dir/metrics.csv. FT_EIO / FT_EFORMAT. */
int ft_run_summarise(const char *run_dir, ft_run_summary_t *out);

#endif
