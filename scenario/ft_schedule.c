/* ft_schedule: the attack schedule (ground truth) from the [attack] section. */
#include "ft_schedule.h"

#include "ft_rng.h"

#include <string.h>

ft_schedule_t ft_schedule_of(const ft_experiment_t *exp)
{
    const ft_attack_cfg_t *a = &exp->attack;
    return (ft_schedule_t){.enabled = a->enabled,
                           .mode = a->fl_mode,
                           .attack_freq = a->attack_freq,
                           .attack_from = a->attack_from,
                           .attack_until = a->attack_until,
                           .pool_size = a->attacker_pool_size,
                           .num_clients = exp->federation.num_clients,
                           .seed = exp->run.seed};
}

int ft_schedule_round_active(const ft_schedule_t *s, int round)
{
    if (!s->enabled || round < s->attack_from || round > s->attack_until)
        return 0;
    if (s->mode == FT_FL_FIXED_FREQ)
        return (round - s->attack_from) % s->attack_freq == 0;
    return 1;
}

uint32_t ft_schedule_attacker_id(const ft_schedule_t *s)
{
    return s->num_clients - 1;
}

int ft_schedule_mark(const ft_schedule_t *s, int round, uint32_t *ids, size_t K,
                     uint8_t *is_attacker)
{
    memset(is_attacker, 0, K);
    if (K == 0 || !ft_schedule_round_active(s, round))
        return 0;
    if (s->mode == FT_FL_FIXED_POOL) {
        int n = 0;
        uint32_t first = s->num_clients - (uint32_t)s->pool_size;
        for (size_t k = 0; k < K; k++)
            if (ids[k] >= first) {
                is_attacker[k] = 1;
                n++;
            }
        return n;
    }
    uint32_t a = ft_schedule_attacker_id(s);
    for (size_t k = 0; k < K; k++)
        if (ids[k] == a) {
            is_attacker[k] = 1;
            return 1;
        }
    ft_rng_t rng;
    ft_rng_init(&rng, s->seed, (uint32_t)round, 0, FT_RNG_ATTACK);
    uint32_t j = ft_rng_below(&rng, (uint32_t)K);
    ids[j] = a;
    is_attacker[j] = 1;
    return 1;
}

int ft_schedule_attackers(const ft_schedule_t *s, uint32_t round, uint32_t *ids, size_t K,
                          uint8_t *attacker)
{
    int n = ft_schedule_mark(s, (int)round, ids, K, attacker);
    /* Insertion sort of (id, flag) pairs: at most one id moved, so O(K). */
    for (size_t i = 1; i < K; i++) {
        uint32_t id = ids[i];
        uint8_t a = attacker[i];
        size_t j = i;
        for (; j > 0 && ids[j - 1] > id; j--) {
            ids[j] = ids[j - 1];
            attacker[j] = attacker[j - 1];
        }
        ids[j] = id;
        attacker[j] = a;
    }
    return n;
}
