/* blackbox: Wang et al., "Attack of the Tails: Yes, You Really Can Backdoor Federated
 * Learning", NeurIPS 2020, §4 "black-box attack": the attacker trains as an honest
 * client would, only on D_adv = its edge-case points relabelled to the target class
 * plus clean points of its own (ft_attack_edge.c). With attack.model_replacement it
 * scales the update (the driver's option). */
#include "ft_attack_internal.h"

const ft_attack_t ft_blackbox_attack = {
    .name = "blackbox",
    .cite = "Wang et al. NeurIPS 2020, §4 black-box attack: train on D_adv = edge points "
            "(target label) + clean points",
    .uses_edge_set = 1,
    .trains = 1,
    .backdoor_test = ft_attack_edge_backdoor_test,
    .sample_count = ft_attack_edge_samples,
    .poison = ft_attack_edge_poison,
};
