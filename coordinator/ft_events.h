/* ft_events: the run's event log, events.jsonl — one JSON object per line:
 * {"t": seconds since the run began, "event": "registered"|"task"|"update"|
 *  "rejected"|"timeout"|"process_dead"|"round_retry"|..., more fields}.
 *
 * Built field by field into a fixed buffer (no allocation per event) and written
 * one line per write (ft_linefile), so the file is complete up to the last event
 * after a crash, and a failed write (disk full) leaves no half line: the failure is
 * remembered and reported by ft_events_status. */
#ifndef FT_EVENTS_H
#define FT_EVENTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ft_events ft_events_t;

/* Creates (truncates) path. t0 is the time (ft_now) the "t" field counts from.
 * FT_EIO naming the file; FT_ENOMEM. */
int ft_events_open(const char *path, double t0, ft_events_t **out);
/* Resuming a run: reopens path and cuts it back to resume_at bytes (the offset a
 * checkpoint recorded); resume_at < 0 is ft_events_open. FT_EIO naming the file. */
int ft_events_open_at(const char *path, double t0, int64_t resume_at, ft_events_t **out);
void ft_events_close(ft_events_t **ev_p);
/* FT_OK, or the code of the first failed write with its message (naming the file)
 * set again; after a failure no further event is written. */
int ft_events_status(const ft_events_t *ev);
/* Bytes of complete events written so far. */
int64_t ft_events_offset(const ft_events_t *ev);
/* fsync of the file (before a checkpoint that records its offset). FT_EIO. */
int ft_events_sync(ft_events_t *ev);

/* Starts an event line; then add fields; ft_events_end writes it. A NULL ev makes
 * every call a no-op (for tests and the client side). */
void ft_events_begin(ft_events_t *ev, const char *event);
void ft_events_int(ft_events_t *ev, const char *key, int64_t v);
/* An unsigned count (a sample count a peer reported: printed as it is, never -1). */
void ft_events_uint(ft_events_t *ev, const char *key, uint64_t v);
void ft_events_num(ft_events_t *ev, const char *key, double v);
void ft_events_str(ft_events_t *ev, const char *key, const char *v);
void ft_events_bool(ft_events_t *ev, const char *key, int v);
void ft_events_end(ft_events_t *ev);

/* Events written so far. */
uint64_t ft_events_count(const ft_events_t *ev);

/* Writes s as a JSON string literal (quoted, escaped) into out (cap bytes, always
 * NUL-terminated, truncated if needed, between characters). The result is valid
 * UTF-8 whatever s holds: each byte of s that does not belong to a well-formed UTF-8
 * sequence is written as \ufffd, control characters as \u00XX. Returns the length
 * written. */
size_t ft_events_json_string(char *out, size_t cap, const char *s);

#endif
