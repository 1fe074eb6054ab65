/* ft_variants: run.compare, parsed into labelled variants (with the directory name
 * each runs into), the config a variant runs with, and the check of them all before a
 * run. */
#include "ft_variants.h"

#include "ft_attack.h"
#include "ft_defense.h"
#include "ft_error.h"
#include "ft_global.h"
#include "ft_scenario.h"

#include <stdio.h>
#include <string.h>

int ft_variants_parse(const ft_run_cfg_t *run, ft_variant_t *v, int *n)
{
    const ft_config_t *cfg = run->src;
    const char *spec = run->compare;
    *n = 0;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *part = strtok_r(buf, ";", &save); part; part = strtok_r(NULL, ";", &save)) {
        while (*part == ' ')
            part++;
        if (!*part)
            continue;
        if (*n >= FT_MAX_VARIANTS)
            return ft_config_error(cfg, "run.compare", "at most %d variants", FT_MAX_VARIANTS);
        ft_variant_t *x = &v[(*n)++];
        char *colon = strchr(part, ':');
        char *eq = strchr(part, '=');
        if (colon && (!eq || colon < eq)) {
            *colon = '\0';
            snprintf(x->label, sizeof x->label, "%s", part);
            part = colon + 1;
        } else {
            snprintf(x->label, sizeof x->label, "variant %d", *n);
        }
        snprintf(x->sets, sizeof x->sets, "%s", part);
        size_t j = 0;
        for (const char *c = x->label; *c && j + 1 < sizeof x->slug; c++)
            x->slug[j++] = (char)(((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                                   *c == '-' || *c == '.')
                                      ? *c
                                  : (*c >= 'A' && *c <= 'Z') ? *c - 'A' + 'a'
                                                             : '-');
        x->slug[j] = '\0';
    }
    return FT_OK;
}

/* Nonzero if name is a key of the schema (an unknown one fails in ft_config_set). */
static int in_schema(const char *name)
{
    for (const ft_config_key_t *k = ft_config_schema; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return 1;
    return 0;
}

int ft_variant_config(const ft_config_t *cfg, const ft_variant_t *v, ft_config_t **out)
{
    ft_config_t *copy = ft_config_clone(cfg);
    if (!copy)
        return ft_error_set(FT_ENOMEM, "out of memory");
    ft_config_set_value(copy, "run.compare", "", "run.compare");
    char buf[512], origin[128];
    snprintf(buf, sizeof buf, "%s", v->sets);
    snprintf(origin, sizeof origin, "run.compare (%s)", v->label);
    char *save = NULL;
    for (char *a = strtok_r(buf, " \t", &save); a; a = strtok_r(NULL, " \t", &save)) {
        /* A --set the variant overrides again would be silently ignored for this arm. */
        const char *eq = strchr(a, '=');
        char key[128];
        snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - a) : 0, a);
        const char *was = eq && in_schema(key) ? ft_config_origin(cfg, key) : "";
        if (strncmp(was, "--set", 5) == 0) {
            ft_config_destroy(&copy);
            return ft_error_set(FT_ECONFIG,
                                "--set %s=%s is overridden by run.compare variant '%s' (%s): "
                                "drop the --set, or set %s in run.compare's variants",
                                key, ft_config_text(cfg, key), v->label, a, key);
        }
        int rc = ft_config_set(copy, a, origin);
        if (rc != FT_OK) {
            ft_config_destroy(&copy);
            return rc;
        }
    }
    *out = copy;
    return FT_OK;
}

int ft_variants_check(const ft_config_t *cfg, const ft_variant_t *v, int n)
{
    /* The base too, whether or not an arm keeps its value: a typo in a --set or the
     * file is an error even where every arm overrides the key. */
    ft_experiment_t base;
    int rc = ft_experiment_read(cfg, &base);
    if (n == 0) {
        if (rc == FT_OK && (rc = ft_scenario_check(&base)) == FT_OK)
            rc = ft_global_check(&base);
        return rc;
    }
    if (rc == FT_OK && !ft_defense_find(base.defense.name))
        rc = ft_defense_check(&base.defense, base.federation.clients_per_round);
    if (rc == FT_OK && strcmp(base.attack.method, "none") != 0 &&
        !ft_attack_find(base.attack.method))
        rc = ft_attack_check(&base);
    for (int i = 0; i < n && rc == FT_OK; i++) {
        ft_config_t *vc = NULL;
        ft_experiment_t ve;
        if ((rc = ft_variant_config(cfg, &v[i], &vc)) == FT_OK &&
            (rc = ft_experiment_read(vc, &ve)) == FT_OK && (rc = ft_scenario_check(&ve)) == FT_OK)
            rc = ft_global_check(&ve);
        ft_config_destroy(&vc);
    }
    return rc;
}
