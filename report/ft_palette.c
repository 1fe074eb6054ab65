/* ft_palette: fixed colours per defense name (see ft_palette.h). The built-in table
 * follows the registry order of defenses/ft_defense_registry.c; report/ sits below
 * defenses/ in the layering, so the names are listed here, not looked up there. */
#include "ft_palette.h"

#include <stdint.h>
#include <string.h>

/* A built-in rule and its colour. */
typedef struct {
    const char *name;   /* defense.name */
    const char *colour; /* "#rrggbb" */
} entry_t;

/* Chosen to be told apart on white and from each other in a legend. */
static const entry_t table[] = {
    {"fedavg", "#1f77b4"},  {"none", "#7f7f7f"},      {"norm_clipping", "#ff7f0e"},
    {"weak_dp", "#bcbd22"}, {"krum", "#2ca02c"},      {"multi_krum", "#006d2c"},
    {"rfa", "#9467bd"},     {"median", "#8c564b"},    {"trimmed_mean", "#e377c2"},
    {"bulyan", "#17becf"},  {"foolsgold", "#d62728"}, {"centered_clipping", "#7b4173"},
    {"fltrust", "#393b79"},
};

/* For names not in the table. */
static const char *const extra[] = {"#e6550d", "#31a354", "#3182bd", "#756bb1",
                                    "#636363", "#843c39", "#8c6d31", "#637939"};

const char *ft_palette_defense(const char *name)
{
    if (!name)
        name = "";
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0)
            return table[i].colour;
    uint32_t h = 2166136261u; /* FNV-1a: stable across runs and machines */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return extra[h % (sizeof extra / sizeof extra[0])];
}
