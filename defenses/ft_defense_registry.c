/* ft_defense_registry: the one table of aggregation rules, lookup by name, and the
 * load-time check of the [defense] section (so that a bad parameter is a clear
 * error when the experiment is loaded, never a failure mid-run). Each rule lives in
 * its own file and cites its paper there; FT_DEFENSES lists them once. */
#include "ft_defense.h"

#include "ft_defense_plugin.h"
#include "ft_defense_util.h"
#include "ft_config.h"
#include "ft_error.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* Every rule, one line each, in registry order (the order `fedtail aggregate
 * --help` and the unknown-name message list them in). A new rule is its file plus
 * one line here. */
#define FT_DEFENSES(X)                                                                             \
    X(ft_defense_fedavg)                                                                           \
    X(ft_defense_none)                                                                             \
    X(ft_defense_norm_clipping)                                                                    \
    X(ft_defense_weak_dp)                                                                          \
    X(ft_defense_krum)                                                                             \
    X(ft_defense_multi_krum)                                                                       \
    X(ft_defense_rfa)                                                                              \
    X(ft_defense_median)                                                                           \
    X(ft_defense_trimmed_mean)                                                                     \
    X(ft_defense_bulyan)                                                                           \
    X(ft_defense_foolsgold)                                                                        \
    X(ft_defense_centered_clipping)                                                                \
    X(ft_defense_fltrust)                                                                          \
    X(ft_defense_rlr)                                                                              \
    X(ft_defense_crfl)                                                                             \
    X(ft_defense_bucketing)                                                                        \
    X(ft_defense_dnc)                                                                              \
    X(ft_defense_signguard)                                                                        \
    X(ft_defense_flame)                                                                            \
    X(ft_defense_rflbat)                                                                           \
    X(ft_defense_fldetector)                                                                       \
    X(ft_defense_lasa)                                                                             \
    X(ft_defense_local_dp)                                                                         \
    X(ft_defense_deepsight)                                                                        \
    X(ft_defense_flare)

#define FT_DEFENSE_DECLARE(sym) extern const ft_defense_t sym;
#define FT_DEFENSE_ENTRY(sym)   &sym,

FT_DEFENSES(FT_DEFENSE_DECLARE)

const ft_defense_t *const ft_defense_registry[] = {FT_DEFENSES(FT_DEFENSE_ENTRY) NULL};

size_t ft_defense_workspace(const ft_defense_t *d, size_t max_k, size_t N,
                            const ft_defense_probe_t *probe)
{
    size_t ws = d->workspace_size(max_k, N);
    if (probe && d->probe_workspace_size)
        ws += d->probe_workspace_size(max_k, probe);
    return ws;
}

const ft_defense_t *ft_defense_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; ft_defense_registry[i]; i++)
        if (strcmp(ft_defense_registry[i]->name, name) == 0)
            return ft_defense_registry[i];
    return NULL;
}

/* defense.plugin: the plug-in is the rule, and defense.name may only say so. */
static int check_plugin(const ft_defense_cfg_t *d, size_t K)
{
    const char *name = ft_config_str(d->src, "defense.name");
    if (ft_config_is_set(d->src, "defense.name") && strcmp(name, "plugin") != 0)
        return ft_config_error(d->src, "defense.name",
                               "defense.plugin = %s is set: leave defense.name out or say "
                               "plugin (the plug-in is the rule)",
                               d->plugin);
    const ft_defense_t *def;
    if (ft_defense_plugin_open(d->plugin, &def) != FT_OK)
        return ft_config_error(d->src, "defense.plugin", "%s", ft_error_message());
    return def->check_config ? def->check_config(d, K) : FT_OK;
}

const ft_defense_t *ft_defense_for(const ft_defense_cfg_t *d)
{
    if (d->plugin && d->plugin[0]) {
        const ft_defense_t *def;
        return ft_defense_plugin_open(d->plugin, &def) == FT_OK ? def : NULL;
    }
    return ft_defense_find(d->name);
}

int ft_defense_check(const ft_defense_cfg_t *d, size_t K)
{
    assert(d && d->src && K >= 1);
    if (d->plugin && d->plugin[0])
        return check_plugin(d, K);
    if (d->name && strcmp(d->name, "plugin") == 0)
        return ft_config_error(
            d->src, "defense.name",
            "a plug-in needs defense.plugin = PATH.so (docs/write-a-defense.md)");
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
