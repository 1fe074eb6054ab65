/* ft_config: schema-checked key/value store over libinih. */
#include "ft_config.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* inih reads a line into a buffer of INI_MAX_LINE bytes (newline and NUL included)
 * and parses whatever does not fit as the next line. Longer lines are refused, and a
 * value is only accepted if its rendered line "key = value" fits, so that every
 * config fedtail writes (config.ini, the Welcome message) reads back identically. */
#define LINE_MAX_CHARS (INI_MAX_LINE - 2)

typedef struct {
    const ft_config_key_t *spec; /* schema entry */
    char *value;                 /* current text value (owned) */
    char origin[96];             /* "file:line", "--set" or "default" */
    int is_set;                  /* set by a file or --set */
} config_entry_t;

struct ft_config {
    config_entry_t *entries; /* one per schema key, in schema order */
    int count;               /* number of entries */
};

static int key_count(void)
{
    int n = 0;
    while (ft_config_schema[n].name)
        n++;
    return n;
}

ft_config_t *ft_config_new(void)
{
    ft_config_t *cfg = ft_calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->count = key_count();
    cfg->entries = ft_calloc((size_t)cfg->count, sizeof *cfg->entries);
    if (!cfg->entries)
        goto fail;
    for (int i = 0; i < cfg->count; i++) {
        config_entry_t *e = &cfg->entries[i];
        e->spec = &ft_config_schema[i];
        e->value = ft_strdup(ft_config_schema[i].default_value);
        if (!e->value)
            goto fail;
        snprintf(e->origin, sizeof e->origin, "default");
    }
    return cfg;
fail:
    ft_config_destroy(&cfg);
    return NULL;
}

void ft_config_destroy(ft_config_t **cfg_p)
{
    if (!cfg_p || !*cfg_p)
        return;
    ft_config_t *cfg = *cfg_p;
    if (cfg->entries)
        for (int i = 0; i < cfg->count; i++)
            ft_free(cfg->entries[i].value);
    ft_free(cfg->entries);
    ft_free(cfg);
    *cfg_p = NULL;
}

ft_config_t *ft_config_clone(const ft_config_t *cfg)
{
    ft_config_t *copy = ft_config_new();
    if (!copy)
        return NULL;
    for (int i = 0; i < cfg->count; i++) {
        char *v = ft_strdup(cfg->entries[i].value);
        if (!v) {
            ft_config_destroy(&copy);
            return NULL;
        }
        ft_free(copy->entries[i].value);
        copy->entries[i].value = v;
        copy->entries[i].is_set = cfg->entries[i].is_set;
        memcpy(copy->entries[i].origin, cfg->entries[i].origin, sizeof copy->entries[i].origin);
    }
    return copy;
}

static config_entry_t *find_entry(const ft_config_t *cfg, const char *name)
{
    for (int i = 0; i < cfg->count; i++)
        if (strcmp(cfg->entries[i].spec->name, name) == 0)
            return &cfg->entries[i];
    return NULL;
}

static int section_known(const char *section)
{
    size_t len = strlen(section);
    for (int i = 0; ft_config_schema[i].name; i++)
        if (strncmp(ft_config_schema[i].name, section, len) == 0 &&
            ft_config_schema[i].name[len] == '.')
            return 1;
    return 0;
}

static int parse_bool_text(const char *v, int *out)
{
    static const char *const yes[] = {"true", "on", "yes", "1"};
    static const char *const no[] = {"false", "off", "no", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 1;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 1;
        }
    }
    return 0;
}

static int enum_has_choice(const char *choices, const char *v)
{
    size_t len = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && strncmp(p, v, n) == 0)
            return 1;
        if (!bar)
            break;
        p = bar + 1;
    }
    return 0;
}

/* Checks that text is a valid value for spec; on failure writes why into why. */
static int value_valid(const ft_config_key_t *spec, const char *v, char *why, size_t why_len)
{
    char *end = NULL;
    switch (spec->type) {
    case FT_KEY_INT:
        errno = 0;
        (void)strtoll(v, &end, 10);
        if (*v == '\0' || *end != '\0' || errno == ERANGE) {
            snprintf(why, why_len, "expected an integer, got '%s'", v);
            return 0;
        }
        return 1;
    case FT_KEY_FLOAT: {
        errno = 0;
        double d = strtod(v, &end);
        if (*v == '\0' || *end != '\0' || errno == ERANGE || !isfinite(d)) {
            snprintf(why, why_len, "expected a finite number, got '%s'", v);
            return 0;
        }
        return 1;
    }
    case FT_KEY_BOOL: {
        int b;
        if (!parse_bool_text(v, &b)) {
            snprintf(why, why_len, "expected true or false, got '%s'", v);
            return 0;
        }
        return 1;
    }
    case FT_KEY_ENUM:
        if (!enum_has_choice(spec->choices, v)) {
            snprintf(why, why_len, "expected one of %s, got '%s'", spec->choices, v);
            return 0;
        }
        return 1;
    case FT_KEY_STRING: return 1;
    }
    return 0;
}

/* Checks that "key = v" is written by ft_config_to_ini as a line inih reads back as
 * exactly v: no control characters, no surrounding white space (inih strips it), no
 * ';' at the start or after white space (an inline comment) and not too long. */
static int value_renderable(const char *key, const char *v, char *why, size_t why_len)
{
    size_t len = strlen(v);
    if (strlen(key) + 3 + len > LINE_MAX_CHARS) {
        snprintf(why, why_len, "value of %zu characters is too long (the line may hold %d)", len,
                 LINE_MAX_CHARS);
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            snprintf(why, why_len, "value contains control character 0x%02x", c);
            return 0;
        }
        if (c == ';' && (i == 0 || isspace((unsigned char)v[i - 1]))) {
            snprintf(why, why_len, "';' at the start of a value or after a space starts a comment");
            return 0;
        }
    }
    if (len && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[len - 1]))) {
        snprintf(why, why_len, "value starts or ends with white space");
        return 0;
    }
    return 1;
}

int ft_config_set_value(ft_config_t *cfg, const char *name, const char *value, const char *origin)
{
    config_entry_t *e = find_entry(cfg, name);
    if (!e) {
        const char *dot = strchr(name, '.');
        if (!dot)
            return ft_error_set(FT_ECONFIG, "%s: '%s' is not of the form section.key", origin,
                                name);
        char section[64];
        snprintf(section, sizeof section, "%.*s", (int)(dot - name), name);
        if (!section_known(section))
            return ft_error_set(FT_ECONFIG, "%s: unknown section [%s] (key '%s')", origin, section,
                                dot + 1);
        return ft_error_set(FT_ECONFIG, "%s: unknown key '%s' in section [%s]", origin, dot + 1,
                            section);
    }
    char why[256];
    if (!value_valid(e->spec, value, why, sizeof why) ||
        !value_renderable(strchr(name, '.') + 1, value, why, sizeof why))
        return ft_error_set(FT_ECONFIG, "%s: key %s: %s", origin, name, why);
    char *copy = ft_strdup(value);
    if (!copy)
        return ft_error_set(FT_ENOMEM, "%s: out of memory", origin);
    ft_free(e->value);
    e->value = copy;
    e->is_set = 1;
    snprintf(e->origin, sizeof e->origin, "%s", origin);
    return FT_OK;
}

typedef struct {
    ft_config_t *cfg;   /* config being filled */
    const char *origin; /* file name or description */
    int line;           /* best-effort line counter (see handler) */
    int rc;             /* first error code */
    char message[512];  /* first error message (without line) */
} load_state_t;

static int config_line_handler(void *user, const char *section, const char *key, const char *value)
{
    load_state_t *st = user;
    if (st->rc != FT_OK)
        return 1; /* report only the first error */
    if (key == NULL)
        return 1; /* section header alone */
    char name[160];
    snprintf(name, sizeof name, "%s.%s", section, key);
    int rc = ft_config_set_value(st->cfg, name, value, st->origin);
    if (rc != FT_OK) {
        st->rc = rc;
        snprintf(st->message, sizeof st->message, "%s", ft_error_message());
        return 0; /* inih returns this line's number */
    }
    return 1;
}

/* Rewrites origins of keys set by this load from "file" to "file:line" by finding
 * the line that assigns each key (inih does not pass line numbers to handlers). */
static void annotate_lines(ft_config_t *cfg, const char *text, const char *origin)
{
    char section[64] = "";
    int lineno = 0;
    const char *p = text;
    if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3; /* byte-order mark */
    while (*p) {
        lineno++;
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (close) {
                *close = '\0';
                snprintf(section, sizeof section, "%s", s + 1);
            }
        } else if (*s && *s != ';' && *s != '#') {
            char *eq = strpbrk(s, "=:");
            if (eq) {
                char *k = s, *kend = eq;
                while (kend > k && isspace((unsigned char)kend[-1]))
                    kend--;
                *kend = '\0';
                char name[640];
                snprintf(name, sizeof name, "%s.%s", section, k);
                config_entry_t *e = find_entry(cfg, name);
                if (e && strcmp(e->origin, origin) == 0)
                    snprintf(e->origin, sizeof e->origin, "%s:%d", origin, lineno);
            }
        }
        if (!eol)
            break;
        p = eol + 1;
    }
}

/* Finds the first line that is neither blank, a comment, a [section] header nor a
 * key = value pair (inih keeps going past such lines; we stop at the first). */
int ft_config_check_syntax(const char *text, const char *origin)
{
    int lineno = 0, in_section = 0;
    if (strncmp(text, "\xef\xbb\xbf", 3) == 0)
        text += 3; /* a UTF-8 byte-order mark, as inih skips it too */
    for (const char *p = text; *p;) {
        lineno++;
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > LINE_MAX_CHARS)
            return ft_error_set(FT_ECONFIG,
                                "%s:%d: line of %zu characters is too long (at most %d)", origin,
                                lineno, len, LINE_MAX_CHARS);
        const char *s = p, *end = p + len;
        while (s < end && isspace((unsigned char)*s))
            s++;
        while (end > s && isspace((unsigned char)end[-1]))
            end--;
        if (s < end && *s != ';' && *s != '#') {
            if (*s == '[') {
                if (end[-1] != ']' || end - s < 3)
                    return ft_error_set(FT_ECONFIG, "%s:%d: malformed section header", origin,
                                        lineno);
                in_section = 1;
            } else if (!memchr(s, '=', (size_t)(end - s)) && !memchr(s, ':', (size_t)(end - s))) {
                return ft_error_set(FT_ECONFIG,
                                    "%s:%d: malformed line (expected key = value or [section])",
                                    origin, lineno);
            } else if (!in_section) {
                return ft_error_set(FT_ECONFIG, "%s:%d: key outside any [section]", origin, lineno);
            }
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return FT_OK;
}

/* One key line of a file: its section and key as spans of the text, and its line. */
typedef struct {
    const char *section; /* section name (not NUL-terminated) */
    size_t section_len;  /* its length */
    const char *key;     /* key name, white space stripped (not NUL-terminated) */
    size_t key_len;      /* its length */
    int line;            /* 1-based line number */
} key_line_t;

/* Keys are compared as inih splits them: the text before the first '=' or ':',
 * right-stripped, in the section of the last header; an indented line is a
 * continuation where inih takes it for one (after a key, before the next header). */
int ft_config_check_repeats(const char *text, const char *origin)
{
    key_line_t *seen = NULL;
    size_t n = 0, cap = 0;
    int rc = FT_OK, lineno = 0;
    const char *section = "", *prev_key = NULL;
    size_t section_len = 0, prev_len = 0;
    int prev_line = 0;
    if (strncmp(text, "\xef\xbb\xbf", 3) == 0)
        text += 3;
    for (const char *p = text; *p && rc == FT_OK;) {
        lineno++;
        const char *eol = strchr(p, '\n');
        const char *end = eol ? eol : p + strlen(p);
        const char *s = p;
        while (s < end && isspace((unsigned char)*s))
            s++;
        if (s < end && *s != ';' && *s != '#') {
            if (s > p && prev_key) { /* inih tests this before a [section] */
                rc = ft_error_set(FT_ECONFIG,
                                  "%s:%d: indented line under key '%.*s' (line %d): multi-line "
                                  "values are not supported; remove the indentation",
                                  origin, lineno, (int)prev_len, prev_key, prev_line);
            } else if (*s == '[') {
                const char *close = memchr(s, ']', (size_t)(end - s));
                section = s + 1;
                section_len = close ? (size_t)(close - section) : 0;
                prev_key = NULL;
            } else {
                const char *k = s, *kend = s;
                while (kend < end && *kend != '=' && *kend != ':')
                    kend++;
                while (kend > k && isspace((unsigned char)kend[-1]))
                    kend--;
                for (size_t i = 0; i < n; i++) {
                    const key_line_t *e = &seen[i];
                    if (e->section_len == section_len && e->key_len == (size_t)(kend - k) &&
                        memcmp(e->section, section, section_len) == 0 &&
                        memcmp(e->key, k, e->key_len) == 0) {
                        rc = ft_error_set(FT_ECONFIG,
                                          "%s:%d: key %.*s.%.*s is already set on line %d "
                                          "(a key may appear once per file; --set overrides it)",
                                          origin, lineno, (int)section_len, section,
                                          (int)e->key_len, k, e->line);
                        break;
                    }
                }
                if (rc == FT_OK && n == cap) {
                    size_t grown_cap = cap ? 2 * cap : 64;
                    key_line_t *grown = ft_realloc(seen, grown_cap * sizeof *grown);
                    if (!grown)
                        rc = ft_error_set(FT_ENOMEM, "%s: out of memory while parsing", origin);
                    else
                        seen = grown, cap = grown_cap;
                }
                if (rc == FT_OK)
                    seen[n++] = (key_line_t){section, section_len, k, (size_t)(kend - k), lineno};
                prev_key = k;
                prev_len = (size_t)(kend - k);
                prev_line = lineno;
            }
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    ft_free(seen);
    return rc;
}

int ft_config_load_string(ft_config_t *cfg, const char *text, const char *origin)
{
    int rc = ft_config_check_syntax(text, origin);
    if (rc == FT_OK)
        rc = ft_config_check_repeats(text, origin);
    if (rc != FT_OK)
        return rc;
    load_state_t st = {.cfg = cfg, .origin = origin, .rc = FT_OK};
    int line = ini_parse_string(text, config_line_handler, &st);
    annotate_lines(cfg, text, origin);
    if (st.rc != FT_OK) {
        /* message is "origin: key ...": insert the line number after origin. */
        size_t olen = strlen(origin);
        const char *rest = st.message;
        if (strncmp(rest, origin, olen) == 0 && rest[olen] == ':')
            rest += olen + 1;
        return ft_error_set(st.rc, "%s:%d:%s", origin, line, rest);
    }
    if (line > 0)
        return ft_error_set(FT_ECONFIG, "%s:%d: malformed line (expected key = value or [section])",
                            origin, line);
    if (line < 0)
        return ft_error_set(FT_ENOMEM, "%s: out of memory while parsing", origin);
    return FT_OK;
}

int ft_config_load_file(ft_config_t *cfg, const char *path)
{
    size_t len = 0;
    char *text = NULL;
    int rc = ft_read_file(path, &text, &len);
    if (rc != FT_OK)
        return rc;
    if (memchr(text, '\0', len) != NULL) {
        ft_free(text);
        return ft_error_set(FT_ECONFIG, "%s: not a text file (contains NUL bytes)", path);
    }
    rc = ft_config_load_string(cfg, text, path);
    ft_free(text);
    return rc;
}

int ft_config_set(ft_config_t *cfg, const char *assignment, const char *origin)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return ft_error_set(FT_ECONFIG, "%s: '%s' is not of the form section.key=value", origin,
                            assignment);
    char name[160];
    snprintf(name, sizeof name, "%.*s", (int)(eq - assignment), assignment);
    return ft_config_set_value(cfg, name, eq + 1, origin);
}

static const config_entry_t *get_entry(const ft_config_t *cfg, const char *name, ft_key_type_t type)
{
    const config_entry_t *e = find_entry(cfg, name);
    assert(e && "config key missing from ft_config_schema.c");
    assert(e->spec->type == type || (type == FT_KEY_STRING && e->spec->type == FT_KEY_ENUM));
    return e;
}

int64_t ft_config_int(const ft_config_t *cfg, const char *name)
{
    return strtoll(get_entry(cfg, name, FT_KEY_INT)->value, NULL, 10);
}

double ft_config_float(const ft_config_t *cfg, const char *name)
{
    return strtod(get_entry(cfg, name, FT_KEY_FLOAT)->value, NULL);
}

int ft_config_bool(const ft_config_t *cfg, const char *name)
{
    int b = 0;
    parse_bool_text(get_entry(cfg, name, FT_KEY_BOOL)->value, &b);
    return b;
}

const char *ft_config_str(const ft_config_t *cfg, const char *name)
{
    return get_entry(cfg, name, FT_KEY_STRING)->value;
}

const char *ft_config_text(const ft_config_t *cfg, const char *name)
{
    const config_entry_t *e = find_entry(cfg, name);
    assert(e && "config key missing from ft_config_schema.c");
    return e->value;
}

int ft_config_is_set(const ft_config_t *cfg, const char *name)
{
    const config_entry_t *e = find_entry(cfg, name);
    assert(e);
    return e->is_set;
}

const char *ft_config_origin(const ft_config_t *cfg, const char *name)
{
    const config_entry_t *e = find_entry(cfg, name);
    assert(e);
    return e->origin;
}

int ft_config_error(const ft_config_t *cfg, const char *name, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const config_entry_t *e = find_entry(cfg, name);
    assert(e);
    return ft_error_set(FT_ECONFIG, "%s: key %s = '%s': %s", e->origin, name, e->value, why);
}

char *ft_config_to_ini(const ft_config_t *cfg)
{
    size_t cap = 4096, len = 0;
    char *out = ft_malloc(cap);
    if (!out)
        return NULL;
    out[0] = '\0';
    char section[64] = "";
    for (int i = 0; i < cfg->count; i++) {
        const config_entry_t *e = &cfg->entries[i];
        const char *dot = strchr(e->spec->name, '.');
        char sec[64];
        snprintf(sec, sizeof sec, "%.*s", (int)(dot - e->spec->name), e->spec->name);
        int new_section = strcmp(sec, section) != 0;
        const char *gap = new_section && len ? "\n" : "";
        /* Sized first: a value may be longer than any fixed line buffer. */
        size_t n = (size_t)(new_section ? snprintf(NULL, 0, "%s[%s]\n", gap, sec) : 0) +
                   (size_t)snprintf(NULL, 0, "%s = %s\n", dot + 1, e->value);
        if (len + n + 1 > cap) {
            cap = 2 * cap + n;
            char *grown = ft_realloc(out, cap);
            if (!grown) {
                ft_free(out);
                return NULL;
            }
            out = grown;
        }
        if (new_section) {
            len += (size_t)snprintf(out + len, cap - len, "%s[%s]\n", gap, sec);
            snprintf(section, sizeof section, "%s", sec);
        }
        len += (size_t)snprintf(out + len, cap - len, "%s = %s\n", dot + 1, e->value);
    }
    return out;
}

int ft_config_write(const ft_config_t *cfg, const char *path)
{
    char *text = ft_config_to_ini(cfg);
    if (!text)
        return ft_error_set(FT_ENOMEM, "%s: out of memory", path);
    int rc = ft_write_file_atomic(path, text, strlen(text));
    ft_free(text);
    return rc;
}

int ft_config_float_list(const ft_config_t *cfg, const char *name, double *out, int max)
{
    const char *p = ft_config_str(cfg, name);
    int n = 0;
    while (*p) {
        char *end;
        errno = 0;
        double d = strtod(p, &end);
        if (end == p || errno == ERANGE || !isfinite(d) || n >= max)
            return ft_config_error(cfg, name, "expected up to %d comma-separated numbers", max);
        out[n++] = d;
        while (isspace((unsigned char)*end))
            end++;
        if (*end == ',')
            end++;
        else if (*end != '\0')
            return ft_config_error(cfg, name, "expected comma-separated numbers");
        p = end;
    }
    return n;
}
