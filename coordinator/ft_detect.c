/* ft_detect: defense decisions joined with the ground truth. */
#include "ft_detect.h"

#include <math.h>
#include <string.h>

int ft_detect_flagged(const ft_defense_decision_t *d, double fedavg_share)
{
    if (d->decision == FT_DECISION_DROPPED)
        return 1;
    if (d->decision != FT_DECISION_REWEIGHTED)
        return 0;
    double eff = (double)d->weight * (double)d->clip_factor;
    /* NaN weights (a rule that could not weigh the update) count as not reduced. */
    return eff < 0.999 * fedavg_share;
}

void ft_detect_join(size_t K, const uint8_t *is_attacker, const float *counts,
                    const ft_defense_decision_t *dec, uint8_t *flagged, ft_detect_counts_t *out)
{
    memset(out, 0, sizeof *out);
    double total = 0;
    for (size_t i = 0; i < K; i++)
        total += counts[i];
    for (size_t i = 0; i < K; i++) {
        double share = total > 0 ? counts[i] / total : 1.0 / (double)K;
        int f = ft_detect_flagged(&dec[i], share);
        int dropped = dec[i].decision == FT_DECISION_DROPPED;
        if (flagged)
            flagged[i] = (uint8_t)f;
        if (is_attacker[i]) {
            out->attackers++;
            out->attackers_kept += !f;
            out->attackers_dropped += dropped;
            out->attackers_reduced += f && !dropped;
        } else {
            out->honest++;
            out->honest_dropped += dropped;
            out->honest_reduced += f && !dropped;
        }
    }
}

void ft_detect_add(ft_detect_counts_t *t, const ft_detect_counts_t *r)
{
    t->attackers += r->attackers;
    t->attackers_kept += r->attackers_kept;
    t->attackers_dropped += r->attackers_dropped;
    t->attackers_reduced += r->attackers_reduced;
    t->honest += r->honest;
    t->honest_dropped += r->honest_dropped;
    t->honest_reduced += r->honest_reduced;
}

double ft_detect_tpr(const ft_detect_counts_t *c)
{
    return c->attackers > 0 ? 1.0 - (double)c->attackers_kept / (double)c->attackers : NAN;
}

double ft_detect_fpr(const ft_detect_counts_t *c)
{
    return c->honest > 0 ? (double)c->honest_dropped / (double)c->honest : NAN;
}

const char *ft_detect_decision_name(ft_decision_t d)
{
    switch (d) {
    case FT_DECISION_KEPT: return "kept";
    case FT_DECISION_DROPPED: return "dropped";
    case FT_DECISION_REWEIGHTED: return "reweighted";
    }
    return "?";
}
