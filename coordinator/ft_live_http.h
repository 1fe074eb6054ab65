/* ft_live_http: the live view's HTTP server (`fedtail run|coordinator --serve
 * [ADDR:]PORT`), libmicrohttpd on threads of its own inside the coordinator process.
 *
 * It only reads the feed (ft_live.h): the round loop never waits for it. Four fixed,
 * read-only routes, GET (and HEAD) only — anything else is 404 or 405:
 *   /              the page (handed in: report/ft_live_page.h), self-contained;
 *   /events        server-sent events, the history first (ft_live_next);
 *   /metrics.json  and /metrics.csv, the rows so far (ft_live_*_piece).
 * Bound to 127.0.0.1 unless an address is given. Bound to any other address, every
 * request must carry ?token=T, 32 hex digits drawn from libsodium's randombytes when
 * the server starts (403 without it); the page passes it on to /events.
 * What clients can make it hold is bounded (docs/security.md): FT_LIVE_HTTP_CONNS
 * connections (one thread each), FT_LIVE_HTTP_REQ_BYTES for a request's line and
 * headers (larger: refused), a connection idle FT_LIVE_HTTP_IDLE_S closed, and per
 * event stream one event buffer (FT_LIVE_EVENT_CAP). */
#ifndef FT_LIVE_HTTP_H
#define FT_LIVE_HTTP_H

#include <stddef.h>

#include "ft_live.h"

#define FT_LIVE_HTTP_CONNS     32    /* connections at once (more: refused at accept) */
#define FT_LIVE_HTTP_REQ_BYTES 16384 /* memory for one request's line and headers */
#define FT_LIVE_HTTP_IDLE_S    15    /* a connection with no traffic this long is closed */

typedef struct ft_live_http ft_live_http_t;

/* Starts the server on spec ("PORT" or "ADDR:PORT"; ADDR an IPv4 address, "localhost"
 * or "*" for every interface; PORT 0 picks a free one) serving lv and page (page_len
 * bytes; both borrowed, to outlive the server). On error returns FT_EINVAL naming
 * spec, FT_ENET naming the address (cannot bind), FT_ENOMEM; *out stays NULL. */
int ft_live_http_start(ft_live_t *lv, const char *spec, const char *page, size_t page_len,
                       ft_live_http_t **out);

/* The page's address, with its token when one is needed ("http://ADDR:PORT/" or
 * ".../?token=T"). */
const char *ft_live_http_url(const ft_live_http_t *h);

/* Whether requests need the token (bound to a non-loopback address). */
int ft_live_http_needs_token(const ft_live_http_t *h);

/* Stops the server: event streams end (call ft_live_finish first to send them the
 * "end" event), threads are joined. Accepts NULL; nulls *h_p. */
void ft_live_http_stop(ft_live_http_t **h_p);

#endif
