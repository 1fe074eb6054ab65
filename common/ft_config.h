/* ft_config: experiment configuration — INI files plus `--set section.key=value`.
 *
 * Every key fedtail understands is declared once in ft_config_schema.c with its type, default
 * and a line of help. Loading validates against that schema: an unknown section or
 * key, a missing file or a malformed value is an error that names the file, the line
 * and the key; nothing is silently ignored. Values keep their text form; typed
 * getters convert (the value was validated when it was set). */
#ifndef FT_CONFIG_H
#define FT_CONFIG_H

#include <stdint.h>

typedef enum {
    FT_KEY_INT,    /* decimal integer */
    FT_KEY_FLOAT,  /* decimal or scientific number */
    FT_KEY_BOOL,   /* true/false, on/off, yes/no, 1/0 */
    FT_KEY_STRING, /* any text, may be empty */
    FT_KEY_ENUM,   /* one of the choices */
} ft_key_type_t;

typedef struct {
    const char *name;          /* "section.key" */
    ft_key_type_t type;        /* how the value is validated */
    const char *default_value; /* text form of the default */
    const char *choices;       /* FT_KEY_ENUM: "a|b|c"; otherwise NULL */
    const char *help;          /* one line for --help and docs */
} ft_config_key_t;

/* The schema: every key, terminated by an entry whose name is NULL. */
extern const ft_config_key_t ft_config_schema[];

typedef struct ft_config ft_config_t;

/* A config holding every key of the schema at its default. NULL on OOM. */
ft_config_t *ft_config_new(void);
void ft_config_destroy(ft_config_t **cfg_p);
/* Deep copy; NULL on OOM. */
ft_config_t *ft_config_clone(const ft_config_t *cfg);

/* Applies an INI file. On error (FT_EIO missing/unreadable, FT_ECONFIG unknown
 * section/key or malformed value) the message names file, line and key, and keys
 * set before the bad line stay set. */
int ft_config_load_file(ft_config_t *cfg, const char *path);
/* Applies INI text; origin names it in messages (e.g. "welcome message"). */
int ft_config_load_string(ft_config_t *cfg, const char *text, const char *origin);
/* Applies one "section.key=value"; origin names it in messages ("--set"). */
int ft_config_set(ft_config_t *cfg, const char *assignment, const char *origin);
/* Sets one key by name and value. FT_ECONFIG if unknown or malformed. */
int ft_config_set_value(ft_config_t *cfg, const char *name, const char *value, const char *origin);

/* Typed getters. The key must exist in the schema with that type (assert). */
int64_t ft_config_int(const ft_config_t *cfg, const char *name);
double ft_config_float(const ft_config_t *cfg, const char *name);
int ft_config_bool(const ft_config_t *cfg, const char *name);
const char *ft_config_str(const ft_config_t *cfg, const char *name);
/* The text of any key's value, whatever its type. */
const char *ft_config_text(const ft_config_t *cfg, const char *name);
/* Nonzero if the key was set by a file or --set (not left at its default). */
int ft_config_is_set(const ft_config_t *cfg, const char *name);
/* Where the value came from: "exp.ini:12", "--set", or "default". */
const char *ft_config_origin(const ft_config_t *cfg, const char *name);

/* FT_ECONFIG naming the file (origin), the line and the key if text assigns a key
 * twice within one section ("exp.ini:31: key federation.rounds is already set on
 * line 4": libinih would keep the last silently), or has an indented line under a key
 * (libinih would take it as a continuation replacing the value); else FT_OK.
 * ft_config_load_string checks this; sweep files use it too. Another file or --set
 * may still override a key: only repeats within one text are errors. */
int ft_config_check_repeats(const char *text, const char *origin);

/* FT_ECONFIG naming the file (origin) and line at the first line that is neither
 * blank, a comment, a [section] header nor a key = value pair, or that is longer than
 * libinih reads (it would parse the rest as a line of its own: a value cut short);
 * else FT_OK. ft_config_load_string checks this; sweep files use it too. */
int ft_config_check_syntax(const char *text, const char *origin);

/* Records a config error naming the key and where its value came from, and returns
 * FT_ECONFIG: `return ft_config_error(cfg, "federation.rounds", "must be >= 1");` */
int ft_config_error(const ft_config_t *cfg, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The resolved config as INI text (every key, grouped by section). Caller frees
 * with ft_free. NULL on OOM. */
char *ft_config_to_ini(const ft_config_t *cfg);
/* Writes ft_config_to_ini atomically to path. FT_EIO on failure. */
int ft_config_write(const ft_config_t *cfg, const char *path);

/* Parses a comma-separated list of floats ("0.1307,0.3081") into out[0..max).
 * Returns the count, or FT_ECONFIG on a malformed list. */
int ft_config_float_list(const ft_config_t *cfg, const char *name, double *out, int max);

#endif
