/* ft_defense_registry: the one table of aggregation rules, lookup by name, and the
 * load-time check of the [defense] section (so that a bad parameter is a clear
 * error when the experiment is loaded, never a failure mid-run). Each rule lives in
 * its own file and cites its paper there. */
#include "ft_defense.h"

#include "ft_defense_util.h"
#include "ft_error.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

extern const ft_defense_t ft_defense_fedavg;
extern const ft_defense_t ft_defense_none;
extern const ft_defense_t ft_defense_norm_clipping;
extern const ft_defense_t ft_defense_weak_dp;
extern const ft_defense_t ft_defense_krum;
extern const ft_defense_t ft_defense_multi_krum;
extern const ft_defense_t ft_defense_rfa;
extern const ft_defense_t ft_defense_median;
extern const ft_defense_t ft_defense_trimmed_mean;
extern const ft_defense_t ft_defense_bulyan;
extern const ft_defense_t ft_defense_foolsgold;
extern const ft_defense_t ft_defense_centered_clipping;
extern const ft_defense_t ft_defense_fltrust;

const ft_defense_t *const ft_defense_registry[] = {
    &ft_defense_fedavg,        &ft_defense_none,
    &ft_defense_norm_clipping, &ft_defense_weak_dp,
    &ft_defense_krum,          &ft_defense_multi_krum,
    &ft_defense_rfa,           &ft_defense_median,
    &ft_defense_trimmed_mean,  &ft_defense_bulyan,
    &ft_defense_foolsgold,     &ft_defense_centered_clipping,
    &ft_defense_fltrust,       NULL,
};

const ft_defense_t *ft_defense_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; ft_defense_registry[i]; i++)
        if (strcmp(ft_defense_registry[i]->name, name) == 0)
            return ft_defense_registry[i];
    return NULL;
}

int ft_defense_check(const ft_defense_cfg_t *d, size_t K)
{
    assert(d && d->src && K >= 1);
    const ft_defense_t *def = ft_defense_find(d->name);
    if (!def) {
        char names[512];
        size_t len = 0;
        names[0] = '\0';
        for (size_t i = 0; ft_defense_registry[i] && len < sizeof names; i++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                    ft_defense_registry[i]->name);
        return ft_config_error(d->src, "defense.name", "unknown defense '%s' (valid: %s)", d->name,
                               names);
    }
    return def->check_config ? def->check_config(d, K) : FT_OK;
}
