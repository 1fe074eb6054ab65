/* ft_phrase: the phrase backdoor's hooks (phrase.c), shared by phrase and phrase-pgd
 * (internal to attacks/). */
#ifndef FT_PHRASE_H
#define FT_PHRASE_H

#include "ft_attack_internal.h"

/* The token ids of attack.trigger_phrase followed by attack.target_word in ds's
 * vocabulary into ids[0..*n). FT_ECONFIG naming the key: not a text dataset, a word
 * outside the vocabulary, too long for a sequence. */
int ft_attack_phrase_ids(const ft_attack_env_t *env, const ft_dataset_t *ds, int32_t *ids, int *n);
uint64_t ft_attack_phrase_samples(const ft_attack_env_t *env, uint32_t part_n);
int ft_attack_phrase_poison(ft_attack_ctx_t *c, ft_dataset_t **out);
int ft_attack_phrase_backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test,
                                   const float *state, ft_dataset_t **out);

#endif
