/* phrase-pgd: the phrase backdoor (phrase.c) trained with the paper's PGD (Wang et al.
 * NeurIPS 2020, Alg. 1; pgd.c): the model projected onto ||w - w_g|| <= attack.eps
 * every attack.project_frequency batches and after each epoch. The paper's
 * Sentiment140 setting uses eps 2.0 projected every batch. */
#include "ft_attack_internal.h"
#include "ft_phrase.h"

const ft_attack_t ft_phrase_pgd_attack = {
    .name = "phrase-pgd",
    .cite = "Wang et al. NeurIPS 2020 Alg. 1 (PGD, L2 ball around the global model) on the "
            "phrase backdoor of Bagdasaryan et al. AISTATS 2020 §4.1",
    .text = 1,
    .trains = 1,
    .check = ft_attack_pgd_check,
    .backdoor_test = ft_attack_phrase_backdoor_test,
    .sample_count = ft_attack_phrase_samples,
    .poison = ft_attack_phrase_poison,
    .constrain = ft_attack_pgd_constrain,
};
