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
    {"fedavg", "#1f77b4"},    {"none", "#7f7f7f"},      {"norm-clipping", "#ff7f0e"},
    {"weak-dp", "#bcbd22"},   {"krum", "#2ca02c"},      {"multi-krum", "#006d2c"},
    {"rfa", "#9467bd"},       {"median", "#8c564b"},    {"trimmed-mean", "#e377c2"},
    {"bulyan", "#17becf"},    {"foolsgold", "#d62728"}, {"centered-clipping", "#7b4173"},
    {"fltrust", "#393b79"},   {"rlr", "#e6550d"},       {"crfl", "#31a354"},
    {"bucketing", "#3182bd"}, {"dnc", "#756bb1"},       {"signguard", "#636363"},
    {"flame", "#843c39"},     {"rflbat", "#8c6d31"},    {"fldetector", "#637939"},
};

/* For names not in the table. */
static const char *const extra[] = {"#fd8d3c", "#74c476", "#6baed6", "#9e9ac8",
                                    "#969696", "#ad494a", "#bd9e39", "#8ca252"};

/* Names equal but for '-' vs '_' (a sweep's run name spells rules either way). */
static int same_rule(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
            return 0;
    return *a == *b;
}

const char *ft_palette_nth(int i)
{
    int n = (int)(sizeof table / sizeof table[0]);
    return table[((i % n) + n) % n].colour;
}

const char *ft_palette_defense(const char *name)
{
    if (!name)
        name = "";
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (same_rule(table[i].name, name))
            return table[i].colour;
    uint32_t h = 2166136261u; /* FNV-1a: stable across runs and machines */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return extra[h % (sizeof extra / sizeof extra[0])];
}
