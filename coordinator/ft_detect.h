/* ft_detect: joins a defense's per-update decisions with the ground truth the
 * coordinator keeps apart from the defense (which updates came from attackers), for
 * metrics.csv (attackers_kept, honest_dropped) and the run summary (detection true
 * and false positive rates). The defense never sees the ground truth.
 *
 * Definitions (docs/defenses.md):
 *  - an update's FedAvg share is n_i / sum_j n_j over the round's aggregated updates;
 *  - its effective share is weight * clip_factor (the share the defense gave it times
 *    the multiplier it applied to it);
 *  - an update is DETECTED when the decision is dropped, or it is reweighted with an
 *    effective share below 0.999 x its FedAvg share (its influence was reduced);
 *  - attackers_kept = attacker updates not detected; honest_dropped = honest updates
 *    whose decision is dropped;
 *  - detection_tpr = 1 - sum attackers_kept / sum attackers (attacker updates
 *    detected); detection_fpr = sum honest_dropped / sum honest (NaN when a sum is 0).
 * Reweighting an honest update (clipping, a median's coordinate share) is routine and
 * not counted as a false positive; only dropping it is. */
#ifndef FT_DETECT_H
#define FT_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "ft_defense.h"

/* Counts of one round, or summed over rounds. */
typedef struct {
    int64_t attackers;         /* attacker updates */
    int64_t attackers_kept;    /* ... not detected */
    int64_t attackers_dropped; /* ... dropped */
    int64_t attackers_reduced; /* ... reweighted below their FedAvg share */
    int64_t honest;            /* honest updates */
    int64_t honest_dropped;    /* ... dropped */
    int64_t honest_reduced;    /* ... reweighted below their FedAvg share (not an FP) */
} ft_detect_counts_t;

/* Whether decision d of an update whose FedAvg share is fedavg_share counts as
 * detected (see above). */
int ft_detect_flagged(const ft_defense_decision_t *d, double fedavg_share);

/* Joins K decisions with the ground truth is_attacker (K) and sample counts (K):
 * fills out (zeroed first) and, if flagged is not NULL, flagged[i] = detected. */
void ft_detect_join(size_t K, const uint8_t *is_attacker, const float *counts,
                    const ft_defense_decision_t *dec, uint8_t *flagged /* K or NULL */,
                    ft_detect_counts_t *out);

/* total += round. */
void ft_detect_add(ft_detect_counts_t *total, const ft_detect_counts_t *round);

/* 1 - attackers_kept / attackers, NaN without attackers. */
double ft_detect_tpr(const ft_detect_counts_t *c);
/* honest_dropped / honest, NaN without honest updates. */
double ft_detect_fpr(const ft_detect_counts_t *c);

/* "kept", "dropped", "reweighted". */
const char *ft_detect_decision_name(ft_decision_t d);

#endif
