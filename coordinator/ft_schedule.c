/* ft_schedule: the attack schedule (attacks/ft_attack_schedule.c) over the sorted
 * sample. */
#include "ft_schedule.h"

#include "ft_alloc.h"
#include "ft_attack.h"
#include "ft_error.h"

#include <string.h>

struct ft_schedule {
    ft_attack_schedule_t s; /* the attack schedule from the config */
};

int ft_schedule_new(const ft_config_t *cfg, int num_classes, ft_schedule_t **out)
{
    *out = NULL;
    int rc = ft_attack_params_from_config(cfg, num_classes, NULL);
    if (rc != FT_OK)
        return rc;
    ft_schedule_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "out of memory");
    if ((rc = ft_attack_schedule_from_config(cfg, &s->s)) != FT_OK) {
        ft_free(s);
        return rc;
    }
    *out = s;
    return FT_OK;
}

void ft_schedule_destroy(ft_schedule_t **s_p)
{
    if (!s_p || !*s_p)
        return;
    ft_free(*s_p);
    *s_p = NULL;
}

int ft_schedule_attackers(const ft_schedule_t *s, uint32_t round, uint32_t *ids, size_t K,
                          uint8_t *attacker)
{
    memset(attacker, 0, K);
    int n = ft_attack_schedule(&s->s, (int)round, ids, K, attacker);
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
