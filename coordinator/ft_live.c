/* ft_live: the live view's feed — the round loop writes, the HTTP threads read
 * (ft_live.h). One mutex and one condition variable guard everything; writers copy
 * into room made at ft_live_arm_start and broadcast, readers format one event or
 * piece at a time under the lock. */
#include "ft_live.h"

#include "ft_alloc.h"
#include "ft_detect.h"
#include "ft_error.h"
#include "ft_events.h"
#include "ft_json.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* One sampled client as the page shows it. */
typedef struct {
    uint32_t id;      /* client id */
    uint8_t attacker; /* ground truth (closed rounds only) */
    uint8_t decision; /* ft_decision_t (closed rounds only) */
    float clip;       /* the defense's clip factor */
    float weight;     /* its weight in the aggregate */
    float contrib;    /* its contribution norm */
} live_client_t;

/* One arm: one run of the coordinator. */
typedef struct {
    char label[64];         /* run.compare label, or "run" */
    char defense[32];       /* defense.name */
    char status[16];        /* waiting, running, complete, interrupted, destroyed, failed */
    int rounds;             /* federation.rounds */
    int K;                  /* clients per round (strips hold at most FT_LIVE_MAX_STRIP) */
    int selects;            /* the defense keeps or drops whole updates */
    int rounds_done;        /* rounds done when the arm started (resumed) */
    ft_metrics_row_t *rows; /* rows_cap rows, rows_n filled */
    int rows_n;             /* rows recorded */
    int rows_cap;           /* room (min(rounds, FT_LIVE_MAX_ROUNDS)) */
    live_client_t *cur;     /* strip_cap: the current round's sample */
    live_client_t *closed;  /* strip_cap: the last closed round */
    int strip_cap;          /* room in cur and closed */
    int cur_n, cur_round, cur_attempt;      /* the current round */
    int closed_n, closed_round;             /* the last closed round */
    uint64_t meta_ver, cur_ver, closed_ver; /* change counters (0: never) */
} live_arm_t;

struct ft_live {
    pthread_mutex_t mu;                /* guards everything below */
    pthread_cond_t changed;            /* broadcast on every change */
    live_arm_t arms[FT_LIVE_MAX_ARMS]; /* declared arms */
    int n_arms;                        /* arms declared */
    uint64_t version;                  /* bumped on every change */
    int finished;                      /* ft_live_finish was called */
};

int ft_live_new(ft_live_t **out)
{
    *out = NULL;
    ft_live_t *lv = ft_calloc(1, sizeof *lv);
    if (!lv)
        return ft_error_set(FT_ENOMEM, "out of memory");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&lv->mu, NULL) != 0 || pthread_cond_init(&lv->changed, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        ft_free(lv);
        return ft_error_set(FT_ENOMEM, "live view: cannot create a mutex");
    }
    pthread_condattr_destroy(&ca);
    *out = lv;
    return FT_OK;
}

static void arm_free(live_arm_t *a)
{
    ft_free(a->rows);
    ft_free(a->cur);
    ft_free(a->closed);
    a->rows = NULL;
    a->cur = a->closed = NULL;
}

void ft_live_destroy(ft_live_t **lv_p)
{
    if (!lv_p || !*lv_p)
        return;
    ft_live_t *lv = *lv_p;
    for (int i = 0; i < lv->n_arms; i++)
        arm_free(&lv->arms[i]);
    pthread_cond_destroy(&lv->changed);
    pthread_mutex_destroy(&lv->mu);
    ft_free(lv);
    *lv_p = NULL;
}

/* Called with the lock held: wakes every reader. */
static void changed(ft_live_t *lv)
{
    lv->version++;
    pthread_cond_broadcast(&lv->changed);
}

int ft_live_add_arm(ft_live_t *lv, const char *label, int rounds)
{
    pthread_mutex_lock(&lv->mu);
    int i = lv->n_arms;
    if (i >= FT_LIVE_MAX_ARMS) {
        pthread_mutex_unlock(&lv->mu);
        return ft_error_set(FT_EINVAL, "live view: more than %d arms", FT_LIVE_MAX_ARMS);
    }
    live_arm_t *a = &lv->arms[i];
    memset(a, 0, sizeof *a);
    snprintf(a->label, sizeof a->label, "%s", label);
    snprintf(a->status, sizeof a->status, "waiting");
    a->rounds = rounds;
    a->meta_ver = lv->version + 1;
    lv->n_arms++;
    changed(lv);
    pthread_mutex_unlock(&lv->mu);
    return i;
}

int ft_live_arm_start(ft_live_t *lv, int arm, int rounds, int K, const char *defense, int selects,
                      int rounds_done)
{
    if (arm < 0 || arm >= lv->n_arms || rounds < 0 || K < 0)
        return ft_error_set(FT_EINVAL, "live view: no arm %d", arm);
    int rows_cap = rounds < FT_LIVE_MAX_ROUNDS ? rounds : FT_LIVE_MAX_ROUNDS;
    int strip_cap = K < FT_LIVE_MAX_STRIP ? K : FT_LIVE_MAX_STRIP;
    /* Made outside the lock: readers never wait on an allocation. */
    ft_metrics_row_t *rows = ft_calloc((size_t)rows_cap + 1, sizeof *rows);
    live_client_t *cur = ft_calloc((size_t)strip_cap + 1, sizeof *cur);
    live_client_t *closed = ft_calloc((size_t)strip_cap + 1, sizeof *closed);
    if (!rows || !cur || !closed) {
        ft_free(rows);
        ft_free(cur);
        ft_free(closed);
        return ft_error_set(FT_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&lv->mu);
    live_arm_t *a = &lv->arms[arm];
    arm_free(a);
    a->rows = rows;
    a->cur = cur;
    a->closed = closed;
    a->rows_cap = rows_cap;
    a->strip_cap = strip_cap;
    a->rows_n = a->cur_n = a->closed_n = 0;
    a->cur_round = a->closed_round = 0;
    a->rounds = rounds;
    a->K = K;
    a->selects = selects;
    a->rounds_done = rounds_done;
    snprintf(a->defense, sizeof a->defense, "%s", defense ? defense : "");
    snprintf(a->status, sizeof a->status, "running");
    /* Versions only grow, so a reader that saw an earlier start sends it all again. */
    a->meta_ver = a->cur_ver = a->closed_ver = lv->version + 1;
    changed(lv);
    pthread_mutex_unlock(&lv->mu);
    return FT_OK;
}

/* The arm, if it has been started; NULL otherwise (the lock held). */
static live_arm_t *started(ft_live_t *lv, int arm)
{
    if (arm < 0 || arm >= lv->n_arms || !lv->arms[arm].rows)
        return NULL;
    return &lv->arms[arm];
}

void ft_live_round_begin(ft_live_t *lv, int arm, int round, int attempt, const uint32_t *ids,
                         size_t K)
{
    pthread_mutex_lock(&lv->mu);
    live_arm_t *a = started(lv, arm);
    if (a) {
        int n = K < (size_t)a->strip_cap ? (int)K : a->strip_cap;
        for (int i = 0; i < n; i++)
            a->cur[i] = (live_client_t){.id = ids[i]};
        a->cur_n = n;
        a->cur_round = round;
        a->cur_attempt = attempt;
        a->cur_ver = lv->version + 1;
        changed(lv);
    }
    pthread_mutex_unlock(&lv->mu);
}

void ft_live_round_closed(ft_live_t *lv, int arm, int round, const uint32_t *ids,
                          const uint8_t *attackers, const ft_defense_decision_t *dec, size_t k)
{
    pthread_mutex_lock(&lv->mu);
    live_arm_t *a = started(lv, arm);
    if (a) {
        int n = k < (size_t)a->strip_cap ? (int)k : a->strip_cap;
        for (int i = 0; i < n; i++)
            a->closed[i] = (live_client_t){.id = ids[i],
                                           .attacker = attackers[i] != 0,
                                           .decision = (uint8_t)dec[i].decision,
                                           .clip = dec[i].clip_factor,
                                           .weight = dec[i].weight,
                                           .contrib = dec[i].contrib_norm};
        a->closed_n = n;
        a->closed_round = round;
        a->closed_ver = lv->version + 1;
        changed(lv);
    }
    pthread_mutex_unlock(&lv->mu);
}

void ft_live_row(ft_live_t *lv, int arm, const ft_metrics_row_t *row)
{
    pthread_mutex_lock(&lv->mu);
    live_arm_t *a = started(lv, arm);
    if (a && a->rows_n < a->rows_cap) {
        a->rows[a->rows_n++] = *row;
        changed(lv);
    }
    pthread_mutex_unlock(&lv->mu);
}

void ft_live_arm_end(ft_live_t *lv, int arm, const char *status)
{
    pthread_mutex_lock(&lv->mu);
    if (arm >= 0 && arm < lv->n_arms) {
        live_arm_t *a = &lv->arms[arm];
        snprintf(a->status, sizeof a->status, "%s", status);
        a->meta_ver = lv->version + 1;
        changed(lv);
    }
    pthread_mutex_unlock(&lv->mu);
}

void ft_live_finish(ft_live_t *lv)
{
    pthread_mutex_lock(&lv->mu);
    lv->finished = 1;
    changed(lv);
    pthread_mutex_unlock(&lv->mu);
}

/* ---- formatting (the lock held) ---------------------------------------------- */

/* Appends printf output to buf[*n..cap); *n saturates at cap. */
static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (w > 0)
        *n = *n + (size_t)w < cap ? *n + (size_t)w : cap;
}

static void put_str(char *buf, size_t cap, size_t *n, const char *s)
{
    char q[160];
    ft_events_json_string(q, sizeof q, s);
    put(buf, cap, n, "%s", q);
}

static void put_num(char *buf, size_t cap, size_t *n, double v)
{
    char t[48];
    put(buf, cap, n, "%s", ft_json_num(t, sizeof t, v, -1));
}

static void arm_meta(const live_arm_t *a, int i, char *buf, size_t cap, size_t *n)
{
    put(buf, cap, n, "{\"arm\":%d,\"label\":", i);
    put_str(buf, cap, n, a->label);
    put(buf, cap, n, ",\"rounds\":%d,\"k\":%d,\"defense\":", a->rounds, a->K);
    put_str(buf, cap, n, a->defense);
    put(buf, cap, n,
        ",\"selects\":%s,\"rounds_done\":%d,\"status\":", a->selects ? "true" : "false",
        a->rounds_done);
    put_str(buf, cap, n, a->status);
    put(buf, cap, n, "}");
}

static void put_row_json(const ft_metrics_row_t *row, char *buf, size_t cap, size_t *n)
{
    char j[2048];
    int w = ft_metrics_format_json(row, j, sizeof j);
    put(buf, cap, n, "%s", w > 0 ? j : "null");
}

static void put_strip(const live_client_t *s, int cnt, int closed, char *buf, size_t cap, size_t *n)
{
    put(buf, cap, n, "\"clients\":[");
    for (int i = 0; i < cnt; i++) {
        if (cap - *n < 512) /* never with FT_LIVE_EVENT_CAP: a shorter strip, not none */
            break;
        put(buf, cap, n, "%s{\"id\":%u", i ? "," : "", s[i].id);
        if (closed) {
            put(buf, cap, n,
                ",\"attacker\":%s,\"decision\":\"%s\",\"clip\":", s[i].attacker ? "true" : "false",
                ft_detect_decision_name((ft_decision_t)s[i].decision));
            put_num(buf, cap, n, s[i].clip);
            put(buf, cap, n, ",\"weight\":");
            put_num(buf, cap, n, s[i].weight);
            put(buf, cap, n, ",\"contribution\":");
            put_num(buf, cap, n, s[i].contrib);
        }
        put(buf, cap, n, "}");
    }
    put(buf, cap, n, "]");
}

/* The next event for c, if there is one: its length, else 0. */
static size_t next_event(ft_live_t *lv, ft_live_cursor_t *c, char *buf, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < lv->n_arms; i++) {
        const live_arm_t *a = &lv->arms[i];
        if (c->meta_seen[i] != a->meta_ver) {
            /* A restarted arm (rows only grow within one start) is sent again. */
            if (c->rows_sent[i] > a->rows_n)
                c->rows_sent[i] = 0;
            put(buf, cap, &n, "event: arm\ndata: ");
            arm_meta(a, i, buf, cap, &n);
            c->meta_seen[i] = a->meta_ver;
        } else if (c->rows_sent[i] < a->rows_n) {
            put(buf, cap, &n, "event: row\ndata: {\"arm\":%d,\"row\":", i);
            put_row_json(&a->rows[c->rows_sent[i]], buf, cap, &n);
            put(buf, cap, &n, "}");
            c->rows_sent[i]++;
        } else if (c->closed_seen[i] != a->closed_ver) {
            c->closed_seen[i] = a->closed_ver;
            if (!a->closed_round)
                continue;
            put(buf, cap, &n, "event: closed\ndata: {\"arm\":%d,\"round\":%d,", i, a->closed_round);
            put_strip(a->closed, a->closed_n, 1, buf, cap, &n);
            put(buf, cap, &n, "}");
        } else if (c->cur_seen[i] != a->cur_ver) {
            c->cur_seen[i] = a->cur_ver;
            if (!a->cur_round)
                continue;
            put(buf, cap, &n, "event: round\ndata: {\"arm\":%d,\"round\":%d,\"attempt\":%d,", i,
                a->cur_round, a->cur_attempt);
            put_strip(a->cur, a->cur_n, 0, buf, cap, &n);
            put(buf, cap, &n, "}");
        } else {
            continue;
        }
        put(buf, cap, &n, "\n\n");
        return n < cap ? n : 0;
    }
    if (lv->finished && !c->ended) {
        c->ended = 1;
        put(buf, cap, &n, "event: end\ndata: {}\n\n");
        return n;
    }
    return 0;
}

int ft_live_next(ft_live_t *lv, ft_live_cursor_t *c, char *buf, size_t cap, int wait_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lv->mu);
    int rc;
    for (;;) {
        if (c->ended) {
            rc = -1;
            break;
        }
        size_t n = next_event(lv, c, buf, cap);
        if (n) {
            rc = (int)n;
            break;
        }
        if (c->ended) {
            rc = -1;
            break;
        }
        if (pthread_cond_timedwait(&lv->changed, &lv->mu, &until) == ETIMEDOUT) {
            rc = (int)next_event(lv, c, buf, cap);
            break;
        }
    }
    pthread_mutex_unlock(&lv->mu);
    return rc;
}

/* ---- /metrics.csv and /metrics.json ------------------------------------------ */

/* A document position: arm, stage, row. */
#define POS(arm, stage, row) (((uint64_t)(arm) << 40) | ((uint64_t)(stage) << 32) | (uint64_t)(row))
#define POS_ARM(p)           ((int)((p) >> 40))
#define POS_STAGE(p)         ((int)(((p) >> 32) & 0xff))
#define POS_ROW(p)           ((int)((p)&0xffffffffu))
enum { ST_START, ST_ARM, ST_ROWS, ST_ARM_END, ST_END, ST_DONE };

/* Room one more item needs: a row, its label, the punctuation. */
#define ITEM_ROOM 2400

size_t ft_live_csv_piece(ft_live_t *lv, uint64_t *pos, char *buf, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&lv->mu);
    int several = lv->n_arms > 1;
    while (n + ITEM_ROOM < cap && POS_STAGE(*pos) != ST_DONE) {
        int a = POS_ARM(*pos), r = POS_ROW(*pos);
        if (POS_STAGE(*pos) == ST_START) {
            put(buf, cap, &n, "%s%s\n", several ? "arm," : "", ft_metrics_header());
            *pos = POS(0, ST_ROWS, 0);
        } else if (a >= lv->n_arms) {
            *pos = POS(0, ST_DONE, 0);
        } else if (r >= lv->arms[a].rows_n) {
            *pos = POS(a + 1, ST_ROWS, 0);
        } else {
            if (several) {
                put(buf, cap, &n, "\"");
                for (const char *s = lv->arms[a].label; *s; s++)
                    put(buf, cap, &n, *s == '"' ? "\"\"" : "%c", *s);
                put(buf, cap, &n, "\",");
            }
            char line[2048];
            int w = ft_metrics_format(&lv->arms[a].rows[r], line, sizeof line);
            if (w > 0)
                put(buf, cap, &n, "%s", line);
            *pos = POS(a, ST_ROWS, r + 1);
        }
    }
    pthread_mutex_unlock(&lv->mu);
    return n < cap ? n : 0;
}

size_t ft_live_json_piece(ft_live_t *lv, uint64_t *pos, char *buf, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&lv->mu);
    while (n + ITEM_ROOM < cap && POS_STAGE(*pos) != ST_DONE) {
        int a = POS_ARM(*pos), r = POS_ROW(*pos), st = POS_STAGE(*pos);
        if (st == ST_START) {
            put(buf, cap, &n, "{\"arms\":[");
            *pos = POS(0, ST_ARM, 0);
        } else if (st == ST_END || a >= lv->n_arms) {
            put(buf, cap, &n, "]}\n");
            *pos = POS(0, ST_DONE, 0);
        } else if (st == ST_ARM) {
            put(buf, cap, &n, "%s", a ? "," : "");
            arm_meta(&lv->arms[a], a, buf, cap, &n);
            n--; /* reopen the object for its rows */
            put(buf, cap, &n, ",\"rows\":[");
            *pos = POS(a, ST_ROWS, 0);
        } else if (st == ST_ROWS && r < lv->arms[a].rows_n) {
            put(buf, cap, &n, "%s", r ? "," : "");
            put_row_json(&lv->arms[a].rows[r], buf, cap, &n);
            *pos = POS(a, ST_ROWS, r + 1);
        } else {
            put(buf, cap, &n, "]}");
            *pos = a + 1 < lv->n_arms ? POS(a + 1, ST_ARM, 0) : POS(0, ST_END, 0);
        }
    }
    pthread_mutex_unlock(&lv->mu);
    return n < cap ? n : 0;
}
