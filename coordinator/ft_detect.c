/* ft_detect: defense decisions joined with the ground truth. */
#include "ft_detect.h"

#include <math.h>
#include <string.h>

int ft_detect_flagged(const ft_defense_decision_t *d, int selects)
{
    return selects && d->decision == FT_DECISION_DROPPED;
}

void ft_detect_join(size_t K, const uint8_t *is_attacker, const ft_defense_decision_t *dec,
                    int selects, uint8_t *flagged, ft_detect_counts_t *out,
                    ft_detect_shares_t *shares)
{
    memset(out, 0, sizeof *out);
    out->selects = selects;
    double w = 0, att_norm = 0, all_norm = 0;
    for (size_t i = 0; i < K; i++) {
        int dropped = dec[i].decision == FT_DECISION_DROPPED;
        int kept = dec[i].decision == FT_DECISION_KEPT;
        if (flagged)
            flagged[i] = (uint8_t)ft_detect_flagged(&dec[i], selects);
        /* A dropped update contributes nothing, whatever a rule left in its fields. */
        double wi = dropped ? 0 : dec[i].weight;
        double ni = dropped ? 0 : dec[i].contrib_norm;
        all_norm += ni;
        if (is_attacker[i]) {
            out->attackers++;
            out->attackers_kept += kept;
            out->attackers_dropped += dropped;
            out->attackers_reduced += !kept && !dropped;
            w += wi;
            att_norm += ni;
        } else {
            out->honest++;
            out->honest_dropped += dropped;
            out->honest_reduced += !kept && !dropped;
        }
    }
    ft_detect_shares_t s = {NAN, NAN};
    if (out->attackers > 0) {
        s.attacker_weight = w;
        /* NaN (a rule that does not report contrib_norm) stays NaN. */
        s.attacker_norm_share = all_norm > 0 ? att_norm / all_norm : NAN;
        if (isfinite(s.attacker_weight)) {
            out->weight_sum = s.attacker_weight;
            out->weight_rounds = 1;
        }
        if (isfinite(s.attacker_norm_share)) {
            out->norm_share_sum = s.attacker_norm_share;
            out->norm_rounds = 1;
        }
    }
    if (shares)
        *shares = s;
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
    t->selects = r->selects;
    t->weight_sum += r->weight_sum;
    t->weight_rounds += r->weight_rounds;
    t->norm_share_sum += r->norm_share_sum;
    t->norm_rounds += r->norm_rounds;
}

double ft_detect_tpr(const ft_detect_counts_t *c)
{
    return c->selects && c->attackers > 0 ? (double)c->attackers_dropped / (double)c->attackers
                                          : NAN;
}

double ft_detect_fpr(const ft_detect_counts_t *c)
{
    return c->selects && c->honest > 0 ? (double)c->honest_dropped / (double)c->honest : NAN;
}

double ft_detect_mean_weight(const ft_detect_counts_t *c)
{
    return c->weight_rounds > 0 ? c->weight_sum / (double)c->weight_rounds : NAN;
}

double ft_detect_mean_norm_share(const ft_detect_counts_t *c)
{
    return c->norm_rounds > 0 ? c->norm_share_sum / (double)c->norm_rounds : NAN;
}

const char *ft_detect_decision_name(ft_decision_t d)
{
    switch (d) {
    case FT_DECISION_KEPT: return "kept";
    case FT_DECISION_DROPPED: return "dropped";
    case FT_DECISION_REWEIGHTED: return "reweighted";
    case FT_DECISION_CLIPPED: return "clipped";
    }
    return "?";
}
