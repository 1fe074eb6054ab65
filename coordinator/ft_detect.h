/* ft_detect: joins a defense's per-update decisions with the ground truth the
 * coordinator keeps apart from the defense (which updates came from attackers), for
 * metrics.csv, the decision events and the run summary. The defense never sees the
 * ground truth.
 *
 * Definitions (docs/defenses.md), per round:
 *  - the attackers' effective share (attacker_weight) = the sum of the attacker
 *    updates' weights, each the mean coefficient of the row in the aggregate
 *    (defenses/ft_defense.h): the one measure that means the same for every rule;
 *  - attacker_norm_share = sum over attacker updates of contrib_norm / the sum over
 *    all updates (how much of the aggregate's mass they make; shows a clipped
 *    attacker whose weight is untouched). NaN when no rule reported it or the sum is 0;
 *  - only for rules that select (ft_defense_t.selects): an update is DETECTED when
 *    it is dropped; detection_tpr = sum attackers_dropped / sum attackers,
 *    detection_fpr = sum honest_dropped / sum honest (NaN when a sum is 0, and
 *    always NaN for rules that do not select: a median or a clip accuses nobody).
 * Counts: kept / dropped / reduced (= clipped or reweighted) partition the updates
 * by decision, for every rule. */
#ifndef FT_DETECT_H
#define FT_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "ft_defense.h"

/* Counts of one round, or summed over rounds; the shares' sums over rounds. */
typedef struct {
    int64_t attackers;         /* attacker updates */
    int64_t attackers_kept;    /* ... decision kept */
    int64_t attackers_dropped; /* ... dropped */
    int64_t attackers_reduced; /* ... clipped or reweighted */
    int64_t honest;            /* honest updates */
    int64_t honest_dropped;    /* ... dropped */
    int64_t honest_reduced;    /* ... clipped or reweighted */
    int selects;               /* the rule selects: TPR/FPR defined (ft_defense_t) */
    double weight_sum;         /* sum over rounds with attackers of attacker_weight */
    int64_t weight_rounds;     /* rounds summed into weight_sum */
    double norm_share_sum;     /* sum over rounds of a finite attacker_norm_share */
    int64_t norm_rounds;       /* rounds summed into norm_share_sum */
} ft_detect_counts_t;

/* One round's effective shares of the attacker updates (NaN without attackers). */
typedef struct {
    double attacker_weight;     /* sum of their weights */
    double attacker_norm_share; /* their contrib_norm over everyone's (NaN: unknown) */
} ft_detect_shares_t;

/* Whether decision d counts as detected: dropped by a rule that selects. */
int ft_detect_flagged(const ft_defense_decision_t *d, int selects);

/* Joins K decisions with the ground truth is_attacker (K): fills out (zeroed first;
 * one round, weight_sum/norm_share_sum from this round's shares), shares (may be
 * NULL) and, if flagged is not NULL, flagged[i] = detected. */
void ft_detect_join(size_t K, const uint8_t *is_attacker, const ft_defense_decision_t *dec,
                    int selects, uint8_t *flagged /* K or NULL */, ft_detect_counts_t *out,
                    ft_detect_shares_t *shares);

/* total += round (counts and share sums; selects is copied). */
void ft_detect_add(ft_detect_counts_t *total, const ft_detect_counts_t *round);

/* attackers_dropped / attackers; NaN without attackers or for a rule that does not
 * select. */
double ft_detect_tpr(const ft_detect_counts_t *c);
/* honest_dropped / honest; NaN without honest updates or for a rule that does not
 * select. */
double ft_detect_fpr(const ft_detect_counts_t *c);
/* Mean over rounds of attacker_weight / attacker_norm_share (NaN: no such round). */
double ft_detect_mean_weight(const ft_detect_counts_t *c);
double ft_detect_mean_norm_share(const ft_detect_counts_t *c);

/* "kept", "dropped", "reweighted", "clipped". */
const char *ft_detect_decision_name(ft_decision_t d);

#endif
