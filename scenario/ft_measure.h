/* ft_measure: what the coordinator measures against the scenario's ground truth — the
 * backdoor accuracy of a model, the clean accuracy of the attack's source class, and
 * a round's update norms split by who sent them. Defenses never see any of it. */
#ifndef FT_MEASURE_H
#define FT_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "ft_dataset.h"
#include "ft_model.h"

typedef struct {
    double backdoor_acc;     /* share of the backdoor test set classified as the target
                                class (NAN when there is no backdoor test set) */
    double target_class_acc; /* clean test accuracy on the source class (NAN if absent) */
    uint32_t backdoor_n;     /* samples in the backdoor test set */
} ft_backdoor_eval_t;

/* Evaluates m on backdoor_test (every sample labelled target; may be NULL: NAN) and
 * reads the source class's accuracy from the clean evaluation (clean may be NULL,
 * source_class < 0 for none: NAN). FT_ENOMEM. */
int ft_measure_backdoor(ft_model_t *m, const ft_dataset_t *backdoor_test, int source_class,
                        const ft_eval_t *clean, ft_backdoor_eval_t *out);

typedef struct {
    int attackers;           /* attackers among the round's updates */
    double attacker_norm;    /* mean L2 norm of the attackers' updates (NaN if none) */
    double honest_norm_mean; /* mean L2 norm of the honest updates (NaN if none) */
} ft_round_norms_t;

/* Norms of a round's K×N updates (host) joined with the ground truth (is_attacker may
 * be NULL: all honest); each row's L2 norm into row_norms when it is not NULL (the
 * report's norm distributions). */
void ft_measure_norms(size_t K, size_t N, const float *updates /* K×N */,
                      const uint8_t *is_attacker /* K */, double *row_norms /* K or NULL */,
                      ft_round_norms_t *out);

#endif
