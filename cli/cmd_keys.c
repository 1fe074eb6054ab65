/* fedtail keys: every experiment key with its type, default and meaning, as text or
 * as the markdown table in docs/configuration.md (--markdown). */
#include "ft_cli.h"

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

/* s with every '|' escaped, so a choice list or a help text stays in its table cell. */
static void put_cell(const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            putchar('\\');
        putchar(*s);
    }
}

int ft_cmd_keys(int argc, char **argv)
{
    int markdown = argc > 0 && strcmp(argv[0], "--markdown") == 0;
    if (markdown)
        printf("| key | type | default | meaning |\n|---|---|---|---|\n");
    for (int i = 0; ft_config_schema[i].name; i++) {
        const ft_config_key_t *k = &ft_config_schema[i];
        const char *type = k->type == FT_KEY_ENUM ? k->choices : type_name(k->type);
        if (markdown) {
            printf("| `%s` | ", k->name);
            put_cell(type);
            printf(" | `%s` | ", k->default_value);
            put_cell(k->help);
            printf(" |\n");
        } else
            printf("%-32s %-10s %-14s %s\n", k->name, k->type == FT_KEY_ENUM ? "choice" : type,
                   k->default_value[0] ? k->default_value : "\"\"", k->help);
    }
    return 0;
}
