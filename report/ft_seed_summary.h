/* ft_seed_summary: one variant (or grid cell) run once per seed (run.seeds), its
 * seeds' outcomes folded into mean ± sample std (ft_stat.h) — what the comparison
 * table, the comparison's summary.json, the sweep's summary files and report.html
 * show, and the verdict, which is drawn from the means.
 *
 * A seed whose model a round destroyed (NaN/Inf parameters) has accuracies that say
 * nothing about the backdoor: it is counted in `destroyed` and left out of the
 * accuracy statistics, and the verdict says how many seeds it was. */
#ifndef FT_SEED_SUMMARY_H
#define FT_SEED_SUMMARY_H

#include "ft_stat.h"
#include "ft_sweep.h"

#include <stddef.h>
#include <stdint.h>

#define FT_SEED_SUMMARY_MAX 64 /* most seeds one summary folds (run.seeds allows 32) */

typedef struct {
    int n;                    /* seeds summarised */
    int destroyed;            /* of them, seeds whose model a round destroyed */
    int rounds;               /* rounds recorded (the fewest of any seed) */
    int destroyed_round;      /* earliest round that destroyed a seed's model (0: none) */
    int backdoor_test;        /* backdoor test images (the first seed's; 0: unknown) */
    ft_stat_t final_main;     /* final main accuracy over the seeds whose model lived */
    ft_stat_t final_backdoor; /* final backdoor accuracy, likewise */
    ft_stat_t peak_backdoor;  /* peak backdoor accuracy, likewise */
    ft_stat_t rounds_to_50;   /* first round with backdoor >= 50%, over the seeds that got there */
    ft_stat_t detection_tpr; /* share of attacker updates not kept, over the seeds with attackers */
    ft_stat_t detection_fpr; /* share of honest updates dropped */
    ft_stat_t attacker_weight;     /* attackers' mean summed weight in the aggregate */
    ft_stat_t attacker_norm_share; /* attackers' mean share of the contribution norms */
} ft_seed_summary_t;

/* Folds runs[0..n) into *out; 1 <= n <= FT_SEED_SUMMARY_MAX (asserted). */
void ft_seed_summary_of(const ft_run_summary_t *runs /* n */, int n, ft_seed_summary_t *out);

/* Summarises each of dirs[0..n) (ft_run_summarise) and folds them. FT_EINVAL unless
 * 1 <= n <= FT_SEED_SUMMARY_MAX; FT_EIO / FT_EFORMAT from the first unreadable one
 * (its message names the file). */
int ft_seed_summarise(const char *const *dirs /* n */, int n, ft_seed_summary_t *out);

/* The verdict over the seeds, one line: "main 85.1 ± 1.2%, backdoor 80.0 ± 3.0% (peak
 * 90.0 ± 1.0%), 3 seeds: the backdoor LANDS" — the words drawn from the mean final
 * and mean peak backdoor accuracy (ft_verdict.h); destroyed seeds said first. */
void ft_seed_verdict_line(const ft_seed_summary_t *s, char *buf, size_t len);

/* The comparison's summary.json into path (atomically): the seeds, then per arm its
 * label, directory, n, destroyed seeds, rounds, backdoor test size, each statistic
 * (the accuracies, rounds to 50%, detection rates, the attackers' effective share) as
 * {"mean", "std", "n"} (null where undefined) and the verdict. FT_EIO naming the file. */
int ft_seed_summary_write_json(const char *path, const uint64_t *seeds, int num_seeds,
                               const char *const *labels, const char *const *dirs,
                               const ft_seed_summary_t *arms, int num_arms);

#endif
