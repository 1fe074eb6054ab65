/* ft_sweep: sweep-file parsing (libinih, with values checked against the schema)
 * and per-run summaries computed from metrics.csv. */
#include "ft_sweep.h"

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_csv.h"
#include "ft_error.h"
#include "ft_fileio.h"

#include <ctype.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    ft_sweep_t *sweep;  /* being filled */
    ft_config_t *check; /* scratch config used to validate keys and values */
    int rc;             /* first error */
    char message[512];  /* its message */
} parse_state_t;

static void trim(char *s)
{
    char *start = s;
    while (isspace((unsigned char)*start))
        start++;
    size_t n = strlen(start);
    while (n > 0 && isspace((unsigned char)start[n - 1]))
        n--;
    memmove(s, start, n);
    s[n] = '\0';
}

static int fail(parse_state_t *st, int rc, const char *fmt, const char *a, const char *b)
{
    st->rc = rc;
    snprintf(st->message, sizeof st->message, fmt, a, b);
    return 0;
}

/* Validates "key=value" against the schema; records the schema's message. */
static int check_value(parse_state_t *st, const char *key, const char *value)
{
    if (ft_config_set_value(st->check, key, value, st->sweep->path) == FT_OK)
        return 1;
    st->rc = FT_ECONFIG;
    snprintf(st->message, sizeof st->message, "%s", ft_error_message());
    return 0;
}

/* The limits the messages of parse_variants state. */
_Static_assert(sizeof((ft_sweep_axis_t *)0)->values[0] == 64, "variant label: 63 characters");
_Static_assert(sizeof((ft_sweep_axis_t *)0)->sets[0] == 256, "variant settings: 255 characters");

/* [grid] variant = label: k=v k=v; label: k=v — each assignment checked. */
static int parse_variants(parse_state_t *st, ft_sweep_axis_t *axis, const char *value)
{
    char list[4096];
    if (strlen(value) >= sizeof list)
        return fail(st, FT_ECONFIG, "grid key variant: the list is longer than 4095 characters%s%s",
                    "", "");
    snprintf(list, sizeof list, "%s", value);
    char *save = NULL;
    for (char *v = strtok_r(list, ";", &save); v; v = strtok_r(NULL, ";", &save)) {
        char *colon = strchr(v, ':');
        if (!colon)
            return fail(st, FT_ECONFIG, "variant '%s' needs 'label: key=value ...'%s", v, "");
        *colon = '\0';
        trim(v);
        if (axis->num_values >= FT_SWEEP_MAX_VALUES)
            return fail(st, FT_ECONFIG, "too many variants%s%s", "", "");
        char *sets = colon + 1;
        trim(sets);
        /* Cut silently, a long variant would run with half its settings. */
        if (strlen(v) >= sizeof axis->values[0])
            return fail(st, FT_ECONFIG, "variant label '%s' is longer than 63 characters%s", v, "");
        if (strlen(sets) >= sizeof axis->sets[0])
            return fail(st, FT_ECONFIG, "variant %s: its settings are longer than 255 characters%s",
                        v, "");
        snprintf(axis->values[axis->num_values], sizeof axis->values[0], "%s", v);
        snprintf(axis->sets[axis->num_values], sizeof axis->sets[0], "%s", sets);
        char copy[sizeof axis->sets[0]], *save2 = NULL;
        snprintf(copy, sizeof copy, "%s", sets);
        for (char *a = strtok_r(copy, " \t", &save2); a; a = strtok_r(NULL, " \t", &save2)) {
            char *eq = strchr(a, '=');
            if (!eq)
                return fail(st, FT_ECONFIG, "variant %s: '%s' is not key=value", v, a);
            *eq = '\0';
            if (!check_value(st, a, eq + 1))
                return 0;
        }
        axis->num_values++;
    }
    if (axis->num_values == 0)
        return fail(st, FT_ECONFIG, "grid key variant has no values%s%s", "", "");
    st->sweep->num_axes++;
    return 1;
}

static int sweep_line(void *user, const char *section, const char *key, const char *value)
{
    parse_state_t *st = user;
    ft_sweep_t *sw = st->sweep;
    if (st->rc != FT_OK)
        return 1;
    if (!key)
        return 1;
    if (strcmp(section, "sweep") == 0) {
        if (strcmp(key, "base") == 0)
            snprintf(sw->base, sizeof sw->base, "%s", value);
        else if (strcmp(key, "name") == 0)
            snprintf(sw->name, sizeof sw->name, "%s", value);
        else
            return fail(st, FT_ECONFIG, "unknown key '%s' in [sweep] (expected base or name)%s",
                        key, "");
        return 1;
    }
    if (strcmp(section, "set") == 0) {
        if (sw->num_sets >= FT_SWEEP_MAX_SETS)
            return fail(st, FT_ECONFIG, "too many keys in [set]%s%s", "", "");
        if (!check_value(st, key, value))
            return 0;
        snprintf(sw->sets[sw->num_sets++], sizeof sw->sets[0], "%s=%s", key, value);
        return 1;
    }
    if (strcmp(section, "grid") != 0)
        return fail(st, FT_ECONFIG, "unknown section [%s] (expected [sweep], [grid], [set])%s",
                    section, "");
    if (sw->num_axes >= FT_SWEEP_MAX_AXES)
        return fail(st, FT_ECONFIG, "too many grid axes (at most 8)%s%s", "", "");
    ft_sweep_axis_t *axis = &sw->axes[sw->num_axes];
    snprintf(axis->key, sizeof axis->key, "%s", key);
    if (strcmp(key, "variant") == 0)
        return parse_variants(st, axis, value);
    char list[2048];
    snprintf(list, sizeof list, "%s", value);
    char *save = NULL;
    for (char *v = strtok_r(list, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
        trim(v);
        if (axis->num_values >= FT_SWEEP_MAX_VALUES)
            return fail(st, FT_ECONFIG, "grid key %s: too many values%s", key, "");
        if (!check_value(st, key, v))
            return 0;
        snprintf(axis->values[axis->num_values++], sizeof axis->values[0], "%s", v);
    }
    if (axis->num_values == 0)
        return fail(st, FT_ECONFIG, "grid key %s has no values%s", key, "");
    sw->num_axes++;
    return 1;
}

int ft_sweep_load(const char *path, ft_sweep_t *sweep)
{
    memset(sweep, 0, sizeof *sweep);
    snprintf(sweep->path, sizeof sweep->path, "%s", path);
    parse_state_t st = {.sweep = sweep, .rc = FT_OK};
    st.check = ft_config_new();
    if (!st.check)
        return ft_error_set(FT_ENOMEM, "%s: out of memory", path);
    /* Read through ft_read_file (not ini_parse's fopen): a FIFO or a directory is
     * refused at once, naming the file, instead of blocking. */
    char *text = NULL;
    size_t len = 0;
    int rc = ft_read_file(path, &text, &len);
    if (rc != FT_OK) {
        ft_config_destroy(&st.check);
        return rc;
    }
    /* A key twice in a section (a [grid] axis, a [set] key) would silently give two
     * axes or the last value: an error naming both lines, as in experiment files. */
    if ((rc = ft_config_check_syntax(text, path)) != FT_OK ||
        (rc = ft_config_check_repeats(text, path)) != FT_OK) {
        ft_free(text);
        ft_config_destroy(&st.check);
        return rc;
    }
    int line = ini_parse_string(text, sweep_line, &st);
    ft_free(text);
    ft_config_destroy(&st.check);
    if (st.rc != FT_OK)
        return ft_error_set(st.rc, "%s:%d: %s", path, line, st.message);
    if (line != 0)
        return ft_error_set(FT_ECONFIG, "%s:%d: malformed line", path, line);
    if (!sweep->base[0])
        return ft_error_set(FT_ECONFIG, "%s: [sweep] needs base = EXPERIMENT.ini", path);
    if (sweep->base[0] != '/') {
        /* Relative to the sweep file's directory. */
        const char *slash = strrchr(path, '/');
        if (slash) {
            char joined[1100];
            snprintf(joined, sizeof joined, "%.*s/%s", (int)(slash - path), path, sweep->base);
            size_t n = strlen(joined);
            if (n >= sizeof sweep->base)
                return ft_error_set(FT_ECONFIG, "%s: base path too long", path);
            memcpy(sweep->base, joined, n + 1);
        }
    }
    if (!sweep->name[0]) {
        const char *slash = strrchr(path, '/');
        const char *stem = slash ? slash + 1 : path;
        const char *dot = strrchr(stem, '.');
        snprintf(sweep->name, sizeof sweep->name, "%.*s",
                 (int)(dot ? dot - stem : (long)strlen(stem)), stem);
    }
    return FT_OK;
}

int ft_sweep_run_sets(const ft_sweep_t *sweep, int i, char *buf, size_t buf_len, const char **sets,
                      int max)
{
    int idx[FT_SWEEP_MAX_AXES], n = 0;
    size_t used = 0;
    ft_sweep_run_values(sweep, i, idx);
    for (int s = 0; s < sweep->num_sets && n < max; s++)
        sets[n++] = sweep->sets[s];
    for (int a = 0; a < sweep->num_axes; a++) {
        const ft_sweep_axis_t *axis = &sweep->axes[a];
        char one[320];
        if (strcmp(axis->key, "variant") == 0)
            snprintf(one, sizeof one, "%s", axis->sets[idx[a]]);
        else
            snprintf(one, sizeof one, "%s=%s", axis->key, axis->values[idx[a]]);
        char *save = NULL;
        for (char *t = strtok_r(one, " \t", &save); t && n < max;
             t = strtok_r(NULL, " \t", &save)) {
            size_t len = strlen(t) + 1;
            if (used + len > buf_len)
                return n;
            memcpy(buf + used, t, len);
            sets[n++] = buf + used;
            used += len;
        }
    }
    return n;
}

int ft_sweep_num_runs(const ft_sweep_t *sweep)
{
    int n = 1;
    for (int a = 0; a < sweep->num_axes; a++)
        n *= sweep->axes[a].num_values;
    return n;
}

void ft_sweep_run_values(const ft_sweep_t *sweep, int i, int value_index[FT_SWEEP_MAX_AXES])
{
    for (int a = sweep->num_axes - 1; a >= 0; a--) {
        value_index[a] = i % sweep->axes[a].num_values;
        i /= sweep->axes[a].num_values;
    }
}

void ft_sweep_run_name(const ft_sweep_t *sweep, int i, char *buf, size_t len)
{
    int idx[FT_SWEEP_MAX_AXES];
    ft_sweep_run_values(sweep, i, idx);
    size_t used = 0;
    buf[0] = '\0';
    if (sweep->num_axes == 0)
        snprintf(buf, len, "run");
    for (int a = 0; a < sweep->num_axes && used < len; a++) {
        if (strcmp(sweep->axes[a].key, "variant") == 0)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", a ? "," : "",
                                     sweep->axes[a].values[idx[a]]);
        else
            used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", a ? "," : "",
                                     sweep->axes[a].key, sweep->axes[a].values[idx[a]]);
    }
    /* A directory name on any filesystem, and not a hidden one. */
    for (char *p = buf; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("._=,+-", *p)) || (p == buf && *p == '.'))
            *p = '-';
}

void ft_sweep_run_name_v1(const ft_sweep_t *sweep, int i, char *buf, size_t len)
{
    int idx[FT_SWEEP_MAX_AXES];
    ft_sweep_run_values(sweep, i, idx);
    size_t used = 0;
    buf[0] = '\0';
    if (sweep->num_axes == 0)
        snprintf(buf, len, "run");
    for (int a = 0; a < sweep->num_axes && used < len; a++) {
        const char *dot = strchr(sweep->axes[a].key, '.');
        const char *short_key = dot ? dot + 1 : sweep->axes[a].key;
        if (strcmp(sweep->axes[a].key, "variant") == 0)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", a ? "_" : "",
                                     sweep->axes[a].values[idx[a]]);
        else
            used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", a ? "_" : "", short_key,
                                     sweep->axes[a].values[idx[a]]);
    }
    for (char *p = buf; *p; p++)
        if (*p == '/' || isspace((unsigned char)*p))
            *p = '-';
}

int ft_run_backdoor_test_size(const char *run_dir)
{
    char path[1024], head[65536];
    snprintf(path, sizeof path, "%s/events.jsonl", run_dir);
    int fd = -1;
    if (ft_open_regular(path, &fd, NULL) != FT_OK)
        return 0;
    ssize_t got = 0, r;
    while (got < (ssize_t)sizeof head - 1 &&
           (r = read(fd, head + got, sizeof head - 1 - (size_t)got)) > 0)
        got += r;
    close(fd);
    head[got > 0 ? got : 0] = '\0';
    for (char *line = head; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        const char *field = strstr(line, "\"backdoor_test\":");
        if (strstr(line, "\"event\":\"start\"") && field) {
            long n = strtol(field + strlen("\"backdoor_test\":"), NULL, 10);
            return n > 0 && n < 1000000000 ? (int)n : 0;
        }
        line = next;
    }
    return 0;
}

const char *ft_run_backdoor_unit(const char *run_dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/config.ini", run_dir);
    ft_config_t *cfg = ft_config_new();
    const char *unit = "image";
    if (cfg && ft_config_load_file(cfg, path) == FT_OK) {
        const char *d = ft_config_str(cfg, "data.dataset");
        unit = !strcmp(d, "sentiment140")                       ? "tweet"
               : !strcmp(d, "fortunes") || !strcmp(d, "reddit") ? "sentence"
                                                                : "image";
    } else {
        ft_error_clear();
    }
    ft_config_destroy(&cfg);
    return unit;
}

int ft_run_summarise(const char *run_dir, ft_run_summary_t *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    ft_csv_t *csv = NULL;
    int rc = ft_csv_read(path, &csv);
    if (rc != FT_OK)
        return rc;
    out->rounds = csv->num_rows;
    out->final_main_acc = ft_csv_get(csv, csv->num_rows - 1, "main_acc");
    out->final_backdoor_acc = ft_csv_get(csv, csv->num_rows - 1, "backdoor_acc");
    out->peak_backdoor_acc = NAN;
    out->rounds_to_50 = NAN;
    out->destroyed_round = 0;
    double attackers = 0, kept = 0, honest = 0, dropped = 0;
    double wsum = 0, nsum = 0;
    int wn = 0, nn = 0;
    for (int r = 0; r < csv->num_rows; r++) {
        double b = ft_csv_get(csv, r, "backdoor_acc");
        if (!isnan(b) && (isnan(out->peak_backdoor_acc) || b > out->peak_backdoor_acc))
            out->peak_backdoor_acc = b;
        if (!isnan(b) && b >= 0.5 && isnan(out->rounds_to_50))
            out->rounds_to_50 = ft_csv_get(csv, r, "round");
        if (!out->destroyed_round && ft_csv_get(csv, r, "nonfinite_params") > 0)
            out->destroyed_round = (int)ft_csv_get(csv, r, "round");
        double a = ft_csv_get(csv, r, "attackers"), k = ft_csv_get(csv, r, "attackers_kept");
        double c = ft_csv_get(csv, r, "clients"), d = ft_csv_get(csv, r, "honest_dropped");
        double w = ft_csv_get(csv, r, "attacker_weight");
        double ns = ft_csv_get(csv, r, "attacker_norm_share");
        if (!isnan(w)) {
            wsum += w;
            wn++;
        }
        if (!isnan(ns)) {
            nsum += ns;
            nn++;
        }
        if (!isnan(a) && !isnan(k)) {
            attackers += a;
            kept += k;
        }
        if (!isnan(c) && !isnan(d)) {
            honest += c - (isnan(a) ? 0 : a);
            dropped += d;
        }
    }
    out->detection_tpr = attackers > 0 ? 1.0 - kept / attackers : NAN;
    out->detection_fpr = honest > 0 ? dropped / honest : NAN;
    out->backdoor_test = ft_run_backdoor_test_size(run_dir);
    out->attacker_weight = wn ? wsum / wn : NAN;
    out->attacker_norm_share = nn ? nsum / nn : NAN;
    ft_csv_destroy(&csv);
    return FT_OK;
}
