/* ft_schedule: which sampled clients attack in a round — the coordinator's ground
 * truth, joined with defense decisions and update norms in metrics.
 *
 * A thin adapter over attacks/' schedule (ft_attack_schedule: attack.fl_mode,
 * attack_freq, attacker_pool_size, attack_from/until). That schedule may replace one
 * sampled id with the attacker's (the paper's code samples K-1 honest clients plus
 * the attacker), so ids and flags are re-sorted together afterwards: the round's
 * slots are in ascending client-id order. */
#ifndef FT_SCHEDULE_H
#define FT_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "ft_config.h"

typedef struct ft_schedule ft_schedule_t;

/* Reads and checks the [attack] keys (ft_attack_params_from_config with
 * num_classes; <= 0 skips the class range checks). FT_ECONFIG naming the key (an
 * unknown attack.method lists the registry); FT_ENOMEM. */
int ft_schedule_new(const ft_config_t *cfg, int num_classes, ft_schedule_t **out);
void ft_schedule_destroy(ft_schedule_t **s_p);

/* For the sorted, distinct sampled ids[0..K) of round t: marks the attackers
 * (attacker[i] = 1 where client ids[i] attacks, 0 elsewhere), possibly replacing one
 * id with the attacker's, and leaves ids sorted ascending with the flags moved
 * along. Deterministic from (config, round, ids). Returns the number of
 * attackers. */
int ft_schedule_attackers(const ft_schedule_t *s, uint32_t round, uint32_t *ids /* K */, size_t K,
                          uint8_t *attacker /* K */);

#endif
