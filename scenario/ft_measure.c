/* ft_measure: backdoor accuracy and ground-truth update norms. */
#include "ft_measure.h"

#include "ft_error.h"

#include <math.h>
#include <string.h>

int ft_measure_backdoor(ft_model_t *m, const ft_dataset_t *backdoor_test, int source_class,
                        const ft_eval_t *clean, ft_backdoor_eval_t *out)
{
    out->backdoor_acc = NAN;
    out->target_class_acc = NAN;
    out->backdoor_n = 0;
    if (source_class >= 0 && clean && clean->class_count[source_class] > 0)
        out->target_class_acc =
            (double)clean->class_correct[source_class] / clean->class_count[source_class];
    if (backdoor_test && backdoor_test->n > 0) {
        ft_eval_t ev;
        int rc = ft_model_evaluate(m, backdoor_test, NULL, 0, &ev);
        if (rc < 0)
            return rc;
        /* Every backdoor sample is labelled target_class: accuracy = share hit. */
        out->backdoor_acc = ev.accuracy;
        out->backdoor_n = ev.count;
    }
    return FT_OK;
}

void ft_measure_norms(size_t K, size_t N, const float *updates, const uint8_t *is_attacker,
                      double *row_norms, ft_round_norms_t *out)
{
    memset(out, 0, sizeof *out);
    double an = 0, hn = 0;
    int h = 0;
    for (size_t k = 0; k < K; k++) {
        double s = 0;
        const float *u = updates + k * N;
        for (size_t j = 0; j < N; j++)
            s += (double)u[j] * u[j];
        if (row_norms)
            row_norms[k] = sqrt(s);
        if (is_attacker && is_attacker[k]) {
            an += sqrt(s);
            out->attackers++;
        } else {
            hn += sqrt(s);
            h++;
        }
    }
    out->attacker_norm = out->attackers ? an / out->attackers : NAN;
    out->honest_norm_mean = h ? hn / h : NAN;
}
