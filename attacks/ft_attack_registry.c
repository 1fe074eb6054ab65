/* ft_attack_registry: the one list of attack plug-ins, lookup by name, and the
 * load-time check of attack.method. Each attack lives in its own file and cites its
 * paper there; adding one is that file plus one line in FT_ATTACKS. */
#include "ft_attack.h"

#include "ft_error.h"

#include <stdio.h>
#include <string.h>

/* In the order `fedtail keys` and the error message list them. */
#define FT_ATTACKS(X)                                                                              \
    X(ft_blackbox_attack)                                                                          \
    X(ft_pgd_attack)                                                                               \
    X(ft_pixel_trigger_attack)                                                                     \
    X(ft_label_flip_attack)                                                                        \
    X(ft_sign_flip_attack)                                                                         \
    X(ft_gaussian_attack)                                                                          \
    X(ft_alie_attack)                                                                              \
    X(ft_ipm_attack)                                                                               \
    X(ft_neurotoxin_attack)                                                                        \
    X(ft_dba_attack)                                                                               \
    X(ft_minmax_attack)                                                                            \
    X(ft_minsum_attack)                                                                            \
    X(ft_fang_attack)                                                                              \
    X(ft_mimic_attack)                                                                             \
    X(ft_a3fl_attack)                                                                              \
    X(ft_chameleon_attack)                                                                         \
    X(ft_iba_attack)                                                                               \
    X(ft_phrase_attack)                                                                            \
    X(ft_phrase_pgd_attack)

#define DECLARE(a) extern const ft_attack_t a;
#define ENTRY(a)   &a,
FT_ATTACKS(DECLARE)
const ft_attack_t *const ft_attack_registry[] = {FT_ATTACKS(ENTRY) NULL};

const ft_attack_t *ft_attack_find(const char *name)
{
    for (int i = 0; ft_attack_registry[i]; i++)
        if (!strcmp(ft_attack_registry[i]->name, name))
            return ft_attack_registry[i];
    return NULL;
}

int ft_attack_check(const ft_experiment_t *exp)
{
    const ft_attack_cfg_t *p = &exp->attack;
    if (!p->enabled)
        return FT_OK;
    const ft_attack_t *a = ft_attack_find(p->method);
    if (!a) {
        char names[1024] = "none";
        for (int i = 0; ft_attack_registry[i]; i++) {
            size_t l = strlen(names);
            snprintf(names + l, sizeof names - l, "|%s", ft_attack_registry[i]->name);
        }
        return ft_config_error(p->src, "attack.method", "unknown attack '%s' (expected %s)",
                               p->method, names);
    }
    /* a next-word backdoor has no next word to set in a classified tweet */
    if (a->text && !strcmp(exp->data.dataset, "sentiment140"))
        return ft_config_error(p->src, "attack.method",
                               "%s backdoors a next-word model; on sentiment140 the edge-case "
                               "attacks (blackbox, pgd) take the edge tweets of attack.edge_file",
                               a->name);
    return a->check ? a->check(exp) : FT_OK;
}
