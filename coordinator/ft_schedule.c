/* ft_schedule: the attack schedule seam (attack.method = none: nobody attacks). */
#include "ft_schedule.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <string.h>

struct ft_schedule {
    int enabled; /* an attack method other than none is configured */
};

int ft_schedule_new(const ft_config_t *cfg, ft_schedule_t **out)
{
    *out = NULL;
    const char *method = ft_config_str(cfg, "attack.method");
    if (strcmp(method, "none") != 0)
        return ft_config_error(cfg, "attack.method",
                               "attack '%s' is not available in this build (valid: none)", method);
    ft_schedule_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "out of memory");
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

int ft_schedule_attackers(const ft_schedule_t *s, uint32_t round, const uint32_t *ids, size_t K,
                          uint8_t *attacker)
{
    (void)round;
    (void)ids;
    memset(attacker, 0, K);
    return s->enabled ? 0 : 0;
}
