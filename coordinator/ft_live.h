/* ft_live: what the live view (`--serve`, ft_live_http.h) shows, written by the
 * round loop and read by the HTTP threads.
 *
 * The round loop only copies a few numbers into room made when an arm starts and
 * wakes the readers, under one short mutex: it never formats, allocates or waits
 * for a reader. Readers walk the feed with a cursor of their own and format under
 * the same mutex, one event at a time, so a page opened mid-run gets the whole
 * history first (each arm, its rows, its current round), then every change.
 *
 * An arm is one run of the coordinator (fedtail run's run.compare runs several, one
 * after another): its metrics rows are the rows metrics.csv holds, formatted by the
 * same column table (ft_metrics_format), so the page and the scripts reading
 * /metrics.csv see exactly what the run directory says. Of each arm's rounds only
 * the current one's sampled clients are kept (K entries): first as sampled, then,
 * once the round closes, with the ground truth and the defense's decision joined
 * (coordinator/ft_detect.h). Memory: one row per planned round and 2K clients per
 * arm, at most FT_LIVE_MAX_ARMS arms; nothing a reader does grows it. */
#ifndef FT_LIVE_H
#define FT_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "ft_defense.h"
#include "ft_metrics.h"

#define FT_LIVE_MAX_ARMS   16     /* arms one feed shows (run.compare's FT_MAX_VARIANTS) */
#define FT_LIVE_MAX_ROUNDS 100000 /* rows kept per arm (federation.rounds beyond: the first) */
#define FT_LIVE_MAX_STRIP  1024   /* sampled clients shown per round (K beyond: the first) */
/* Room a reader needs for any one event (ft_live_next): a strip of
 * FT_LIVE_MAX_STRIP clients at under 160 bytes each (the longest: a 10-digit id,
 * "reweighted" and three numbers of 15 characters). */
#define FT_LIVE_EVENT_CAP (FT_LIVE_MAX_STRIP * 160 + 4096)

typedef struct ft_live ft_live_t;

/* Where one reader is in the feed (a plain value; zeroed: nothing seen yet). */
typedef struct {
    uint64_t meta_seen[FT_LIVE_MAX_ARMS];   /* arm's meta version sent */
    int rows_sent[FT_LIVE_MAX_ARMS];        /* arm's rows sent */
    uint64_t cur_seen[FT_LIVE_MAX_ARMS];    /* arm's current-round version sent */
    uint64_t closed_seen[FT_LIVE_MAX_ARMS]; /* arm's closed-round version sent */
    int ended;                              /* the "end" event was sent */
} ft_live_cursor_t;

/* A new, empty feed. FT_ENOMEM. */
int ft_live_new(ft_live_t **out);
/* Frees the feed; the HTTP server reading it must be stopped first. Accepts NULL;
 * nulls *lv_p. */
void ft_live_destroy(ft_live_t **lv_p);

/* Declares an arm (label: e.g. a run.compare label; copied, cut to 63 bytes; rounds:
 * the rounds it plans, for the page's progress until it starts) before it runs, so
 * the page shows every arm from the start. Returns its index (0, 1, ...) or FT_EINVAL
 * past FT_LIVE_MAX_ARMS. */
int ft_live_add_arm(ft_live_t *lv, const char *label, int rounds);

/* The arm's coordinator starts: rounds planned, K clients per round, the defense's
 * name and whether it selects, the rounds already done (a resumed run: the page
 * shows the rounds from there on). Makes the arm's room (the only allocation);
 * called again for the same arm (a second run into it) starts it afresh. FT_ENOMEM,
 * FT_EINVAL for an unknown arm. */
int ft_live_arm_start(ft_live_t *lv, int arm, int rounds, int K, const char *defense, int selects,
                      int rounds_done);

/* The round loop (no allocation, one short lock each): round begins with the sorted
 * sample ids (K; the attackers are not shown until the round closes) ... */
void ft_live_round_begin(ft_live_t *lv, int arm, int round, int attempt,
                         const uint32_t *ids /* K */, size_t K);
/* ... it closed: the k aggregated updates' ids, ground truth and decisions ... */
void ft_live_round_closed(ft_live_t *lv, int arm, int round, const uint32_t *ids /* k */,
                          const uint8_t *attackers /* k */,
                          const ft_defense_decision_t *dec /* k */, size_t k);
/* ... and its metrics row is on disk (the same row metrics.csv got). */
void ft_live_row(ft_live_t *lv, int arm, const ft_metrics_row_t *row);
/* The arm's run ended: status is "complete", "interrupted", "destroyed" or "failed"
 * (copied). */
void ft_live_arm_end(ft_live_t *lv, int arm, const char *status);

/* Nothing more will come: readers get an "end" event, then the end of their stream. */
void ft_live_finish(ft_live_t *lv);

/* The next server-sent event for cursor c ("event: NAME\ndata: {json}\n\n") into
 * buf (cap >= FT_LIVE_EVENT_CAP), waiting up to wait_ms for one. Returns its length;
 * 0 when nothing came in time (the caller may send a keep-alive); -1 after the
 * "end" event was sent. Events: "arm" {arm, label, rounds, k, defense, status, ...},
 * "row" {arm, row: the metrics row (ft_metrics_format_json)}, "round" {arm, round,
 * attempt, clients: [{id}]} (the round running), "closed" {arm, round, clients:
 * [{id, attacker, decision, clip, weight, contribution}]} (the last closed round),
 * "end" {}. */
int ft_live_next(ft_live_t *lv, ft_live_cursor_t *c, char *buf, size_t cap, int wait_ms);

/* /metrics.csv and /metrics.json, a piece at a time (bounded memory per reader):
 * each call writes the next piece into buf (cap >= 4096) and advances *pos (start
 * at 0); returns its length, 0 at the end. CSV: with one arm, exactly metrics.csv's
 * header and rows so far; with several, an "arm" column (the label, quoted) first.
 * JSON: {"arms":[{"label":..,"rounds":..,"status":..,"rows":[row, ...]}, ...]}. */
size_t ft_live_csv_piece(ft_live_t *lv, uint64_t *pos, char *buf, size_t cap);
size_t ft_live_json_piece(ft_live_t *lv, uint64_t *pos, char *buf, size_t cap);

#endif
