/* fedtail keys: every experiment key with its type, default and meaning, as text or
 * as the markdown table in docs/configuration.md (--markdown). A SECTION (or a key)
 * argument narrows the list. A choice key lists its values; attack.method and
 * defense.name list the registries, so a new plug-in never needs the help text edited. */
#include "ft_cli.h"

#include "ft_attack.h"
#include "ft_defense.h"

#include <stdio.h>
#include <string.h>

static const char *type_name(ft_key_type_t t)
{
    switch (t) {
    case FT_KEY_INT: return "int";
    case FT_KEY_FLOAT: return "float";
    case FT_KEY_BOOL: return "bool";
    case FT_KEY_STRING: return "string";
    case FT_KEY_ENUM: return "choice";
    }
    return "?";
}

/* The values key k accepts, "a|b|c", or NULL when it is not a choice. The registry-backed
 * keys are strings in the schema (the registries live above common/) but choices here. */
static const char *key_choices(const ft_config_key_t *k, char *buf, size_t cap)
{
    if (k->type == FT_KEY_ENUM)
        return k->choices;
    int attack = !strcmp(k->name, "attack.method"), defense = !strcmp(k->name, "defense.name");
    if (!attack && !defense)
        return NULL;
    snprintf(buf, cap, "%s", attack ? "none" : "");
    for (int i = 0;; i++) {
        const char *name = attack ? (ft_attack_registry[i] ? ft_attack_registry[i]->name : NULL)
                                  : (ft_defense_registry[i] ? ft_defense_registry[i]->name : NULL);
        if (!name)
            break;
        size_t l = strlen(buf);
        snprintf(buf + l, cap - l, "%s%s", l ? "|" : "", name);
    }
    return buf;
}

/* Whether key name is selected by filter: a whole section ("attack") or key name. */
static int selected(const char *name, const char *filter)
{
    if (!filter)
        return 1;
    size_t l = strlen(filter);
    return !strcmp(name, filter) || (!strncmp(name, filter, l) && name[l] == '.');
}

/* s with every '|' escaped, so a choice list or a help text stays in its table cell. */
static void put_cell(const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            putchar('\\');
        putchar(*s);
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: fedtail keys [SECTION | SECTION.KEY] [--markdown]\n\n"
               "Lists every experiment key (or those of one section, or one key) with its\n"
               "type, default and meaning; a choice key lists the values it accepts.\n"
               "  --markdown  the table of docs/configuration.md\n"
               "Sections: federation data model train attack defense security run\n");
}

int ft_cmd_keys(int argc, char **argv)
{
    int markdown = 0;
    const char *filter = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--markdown"))
            markdown = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || filter) {
            fprintf(stderr, "fedtail keys: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else
            filter = argv[i];
    }
    int shown = 0;
    if (markdown)
        printf("| key | type | default | meaning |\n|---|---|---|---|\n");
    for (int i = 0; ft_config_schema[i].name; i++) {
        const ft_config_key_t *k = &ft_config_schema[i];
        if (!selected(k->name, filter))
            continue;
        shown++;
        char buf[1024];
        const char *choices = key_choices(k, buf, sizeof buf);
        if (markdown) {
            printf("| `%s` | ", k->name);
            put_cell(choices ? choices : type_name(k->type));
            printf(" | `%s` | ", k->default_value);
            put_cell(k->help);
            printf(" |\n");
            continue;
        }
        printf("%-32s %-10s %-14s %s\n", k->name, choices ? "choice" : type_name(k->type),
               k->default_value[0] ? k->default_value : "\"\"", k->help);
        if (choices)
            printf("%-32s one of: %s\n", "", choices);
    }
    if (!shown) {
        fprintf(stderr, "fedtail keys: no key or section '%s'\n", filter);
        usage(stderr);
        return 2;
    }
    return 0;
}
