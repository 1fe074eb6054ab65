/* ft_heatstrip: the decision strip of report.html (see ft_heatstrip.h). The events
 * are the coordinator's one "decision" line per update (coordinator/ft_coord_close.c):
 * {"t":..,"event":"decision","round":R,"client":C,"attacker":B,"decision":"kept",..}. */
#include "ft_heatstrip.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"

#include <stdlib.h>
#include <string.h>

#define MAX_IDS 4096 /* distinct clients tracked for the row choice */

/* One decision event. */
typedef struct {
    long round;   /* the round */
    long client;  /* the client's id */
    int attacker; /* ground truth */
    char code;    /* 'k' kept, 'd' dropped, 'c' clipped, 'r' reweighted, '?' other */
} event_t;

/* A client row candidate. */
typedef struct {
    long id;      /* client id */
    int attacker; /* ever an attacker */
} row_t;

const char *ft_heatstrip_css(void)
{
    return "table.strip{border-collapse:collapse;margin:.3em 0 1em}table.strip td{border:1px "
           "solid #fff;padding:0;width:9px;min-width:9px;height:11px;background:#fafafa}"
           "table.strip tr.rounds td{background:none;font-size:.6em;color:#555;"
           "vertical-align:bottom;overflow:visible;white-space:nowrap}table.strip "
           "th{font-weight:normal;font-size:.75em;"
           "text-align:right;padding:0 .4em 0 0;border:0}table.strip th.attacker{color:#b00;"
           "font-weight:bold}table.strip td.k{background:#2c7fb8}table.strip td.d{background:#222}"
           "table.strip td.c{background:#fdae61}table.strip td.r{background:#a1dab4}"
           "table.strip td.o{background:#f0f0f0}";
}

/* Parses one line into ev; 0 if it is not a decision event. */
static int parse_line(const char *line, const char *end, event_t *ev)
{
    const char *e = strstr(line, "\"event\":\"decision\"");
    if (!e || e > end)
        return 0;
    const char *r = strstr(line, "\"round\":"), *c = strstr(line, "\"client\":");
    const char *a = strstr(line, "\"attacker\":"), *d = strstr(line, "\"decision\":\"");
    if (!r || !c || !a || !d || r > end || c > end || a > end || d > end)
        return 0;
    ev->round = strtol(r + 8, NULL, 10);
    ev->client = strtol(c + 9, NULL, 10);
    ev->attacker = strncmp(a + 11, "true", 4) == 0;
    const char *v = d + 12;
    ev->code = strncmp(v, "kept", 4) == 0          ? 'k'
               : strncmp(v, "dropped", 7) == 0     ? 'd'
               : strncmp(v, "clipped", 7) == 0     ? 'c'
               : strncmp(v, "reweighted", 10) == 0 ? 'r'
                                                   : '?';
    return 1;
}

/* Calls fn on every decision event of text. */
static void each_event(const char *text, void (*fn)(const event_t *, void *), void *user)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        const char *end = nl ? nl : p + strlen(p);
        event_t ev;
        if (parse_line(p, end, &ev))
            fn(&ev, user);
        p = nl ? nl + 1 : end;
    }
}

/* Pass 1: distinct clients and rounds. */
typedef struct {
    row_t ids[MAX_IDS]; /* clients seen (the first MAX_IDS) */
    int num_ids;        /* entries of ids */
    long first, last;   /* rounds seen */
    int any;            /* nonzero once an event was seen */
} scan_t;

static void scan_event(const event_t *ev, void *user)
{
    scan_t *s = user;
    if (!s->any)
        s->first = s->last = ev->round;
    s->any = 1;
    if (ev->round < s->first)
        s->first = ev->round;
    if (ev->round > s->last)
        s->last = ev->round;
    for (int i = 0; i < s->num_ids; i++)
        if (s->ids[i].id == ev->client) {
            s->ids[i].attacker |= ev->attacker;
            return;
        }
    if (s->num_ids < MAX_IDS)
        s->ids[s->num_ids++] = (row_t){ev->client, ev->attacker};
}

static int row_order(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    if (x->attacker != y->attacker)
        return y->attacker - x->attacker;
    return (x->id > y->id) - (x->id < y->id);
}

/* Pass 2: the grid of the chosen rows. */
typedef struct {
    const row_t *rows; /* chosen rows */
    int num_rows;      /* entries of rows */
    long first;        /* round of column 0 */
    int cols;          /* columns */
    char *grid;        /* num_rows×cols codes, 0: not sampled */
} fill_t;

static void fill_event(const event_t *ev, void *user)
{
    fill_t *f = user;
    long col = ev->round - f->first;
    if (col < 0 || col >= f->cols)
        return;
    for (int i = 0; i < f->num_rows; i++)
        if (f->rows[i].id == ev->client)
            f->grid[(size_t)i * (size_t)f->cols + (size_t)col] = ev->code;
}

static void strip_of(FILE *html, const ft_report_run_t *run, scan_t *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/events.jsonl", run->dir);
    char *text = NULL;
    size_t len = 0;
    if (!ft_path_exists(path) || ft_read_file(path, &text, &len) != FT_OK) {
        ft_error_clear();
        return;
    }
    memset(s, 0, sizeof *s);
    each_event(text, scan_event, s);
    if (s->num_ids == 0) {
        ft_free(text);
        return;
    }
    qsort(s->ids, (size_t)s->num_ids, sizeof s->ids[0], row_order);
    fill_t f = {s->ids, s->num_ids < FT_HEATSTRIP_ROWS ? s->num_ids : FT_HEATSTRIP_ROWS, s->first,
                (int)(s->last - s->first + 1), NULL};
    if (f.cols > FT_HEATSTRIP_COLS)
        f.cols = FT_HEATSTRIP_COLS;
    f.grid = ft_calloc((size_t)f.num_rows * (size_t)f.cols, 1);
    if (!f.grid) {
        ft_free(text);
        return;
    }
    each_event(text, fill_event, &f);
    ft_free(text);
    fprintf(html, "<h3>");
    for (const char *c = run->label; *c; c++)
        if (*c != '<' && *c != '>' && *c != '&')
            fputc(*c, html);
    fprintf(html, "</h3>\n<table class=\"strip\" data-rounds=\"%d\" data-clients=\"%d\">\n", f.cols,
            f.num_rows);
    /* Round numbers over the columns: the first round and every fifth. */
    fprintf(html, "<tr class=\"rounds\"><th>round</th>");
    for (int c = 0; c < f.cols; c++) {
        long r = f.first + c;
        if (c == 0 || r % 5 == 0)
            fprintf(html, "<td>%ld</td>", r);
        else
            fprintf(html, "<td></td>");
    }
    fprintf(html, "</tr>\n");
    for (int i = 0; i < f.num_rows; i++) {
        int att = f.rows[i].attacker;
        fprintf(html, "<tr%s><th%s>%s%ld</th>", att ? " class=\"attacker\"" : "",
                att ? " class=\"attacker\"" : "", att ? "attacker " : "client ", f.rows[i].id);
        for (int c = 0; c < f.cols; c++) {
            char code = f.grid[(size_t)i * (size_t)f.cols + (size_t)c];
            const char *cls = code == 'k'   ? "k"
                              : code == 'd' ? "d"
                              : code == 'c' ? "c"
                              : code == 'r' ? "r"
                                            : "o";
            if (code)
                fprintf(html, "<td class=\"%s\" title=\"round %ld\"></td>", cls, f.first + c);
            else
                fprintf(html, "<td></td>");
        }
        fprintf(html, "</tr>\n");
    }
    fprintf(html, "</table>\n");
    if (s->num_ids > f.num_rows || s->last - s->first + 1 > f.cols)
        fprintf(html,
                "<p class=\"note\">Showing %d of %d clients (attackers first) and rounds "
                "%ld–%ld of %ld–%ld.</p>\n",
                f.num_rows, s->num_ids, f.first, f.first + f.cols - 1, s->first, s->last);
    ft_free(f.grid);
}

void ft_heatstrip_write(FILE *html, const ft_report_run_t *runs, int n)
{
    /* The strips go to memory first: a page whose runs have no decision events gets
     * no section at all. */
    char *body = NULL;
    size_t len = 0;
    scan_t *s = ft_malloc(sizeof *s);
    FILE *mem = s ? open_memstream(&body, &len) : NULL;
    if (!mem) {
        ft_free(s);
        return;
    }
    for (int i = 0; i < n; i++)
        strip_of(mem, &runs[i], s);
    int failed = fclose(mem) != 0;
    if (!failed && len > 0) {
        fprintf(html, "<section id=\"decisions-strip\"><h2>Per-client decisions</h2>\n"
                      "<p class=\"note\">Rows: sampled clients (attackers first, in red); "
                      "columns: rounds. <span style=\"color:#2c7fb8\">&#9632;</span> kept, "
                      "<span style=\"color:#222\">&#9632;</span> dropped, "
                      "<span style=\"color:#fdae61\">&#9632;</span> clipped, "
                      "<span style=\"color:#a1dab4\">&#9632;</span> reweighted; blank: not "
                      "sampled.</p>\n");
        fwrite(body, 1, len, html);
        fprintf(html, "</section>\n");
    }
    free(body); /* open_memstream's buffer comes from malloc */
    ft_free(s);
}
