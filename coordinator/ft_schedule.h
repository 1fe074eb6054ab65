/* ft_schedule: which sampled clients attack in a round — the coordinator's ground
 * truth, joined with defense decisions in metrics.
 *
 * This is the seam where attacks/ plugs in its schedule (attack.fl_mode,
 * attack_freq, attacker_pool_size, attack_from/until). Until then the only valid
 * attack.method is "none", and no client ever attacks. */
#ifndef FT_SCHEDULE_H
#define FT_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "ft_config.h"

typedef struct ft_schedule ft_schedule_t;

/* Reads the [attack] keys. FT_ECONFIG naming attack.method when the method is not
 * available in this build; FT_ENOMEM. */
int ft_schedule_new(const ft_config_t *cfg, ft_schedule_t **out);
void ft_schedule_destroy(ft_schedule_t **s_p);

/* For the sorted sampled ids[0..K) of round t, sets attacker[i] to 1 where client
 * ids[i] attacks this round and 0 elsewhere. Returns the number of attackers. */
int ft_schedule_attackers(const ft_schedule_t *s, uint32_t round, const uint32_t *ids /* K */,
                          size_t K, uint8_t *attacker /* K */);

#endif
