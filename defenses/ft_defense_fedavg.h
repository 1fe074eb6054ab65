/* ft_defense_fedavg: the sample-weighted mean (FedAvg) as a rule's aggregate, shared by
 * fedavg / none and by rules whose server side is plain averaging (local-dp: the
 * clients clip and add noise). Internal to defenses/. */
#ifndef FT_DEFENSE_FEDAVG_H
#define FT_DEFENSE_FEDAVG_H

#include "ft_defense.h"

/* Workspace of ft_fedavg_aggregate for up to max_k updates of N. */
size_t ft_fedavg_workspace_size(size_t max_k, size_t N);

/* out = sum_i n_i U_i / sum n (McMahan et al. 2017, Alg. 1); every update kept, weight
 * n_i / sum n. state is unused. FT_EINVAL when the counts sum to 0. */
int ft_fedavg_aggregate(void *state, const ft_defense_input_t *in, float *out /* N */,
                        ft_defense_decision_t *dec /* K */, void *workspace);

#endif
