/* ft_serve: `--serve [ADDR:]PORT` of fedtail run and fedtail coordinator — the live
 * view's feed (coordinator/ft_live.h) and its HTTP server (coordinator/ft_live_http.h)
 * with the page (report/ft_live_page.h), for the whole command: every arm of a
 * comparison (and every seed) is one arm of the same page.
 *
 * At start the page's address (with its token when bound beyond loopback) is printed
 * on stderr and written to OUT/live.url, which is removed again when the server
 * stops: a run directory ends the same with or without --serve. */
#ifndef FT_SERVE_H
#define FT_SERVE_H

#include "ft_live.h"
#include "ft_live_http.h"

typedef struct {
    ft_live_t *live;      /* the feed (NULL: not serving) */
    ft_live_http_t *http; /* the server */
    int arms;             /* arms declared in live */
    char url_file[4200];  /* OUT/live.url ("" if not written) */
    char url[512];        /* the page's address as printed */
} ft_serve_t;

/* Starts serving spec for the arms labels (n of them, at most FT_LIVE_MAX_ARMS; the
 * rest are not shown; each planning rounds until it starts) of a command writing into out (made if
 * missing). who prefixes the printed line ("fedtail run"). On error returns the code of
 * ft_live_http_start (FT_EINVAL naming spec, FT_ENET naming the address) or FT_EIO naming live.url;
 * s is then zeroed. */
int ft_serve_start(ft_serve_t *s, const char *spec, const char *out, const char *const *labels,
                   int n, int rounds, const char *who);

/* ft_serve_start for a server whose printed and written address names host instead of
 * 0.0.0.0 when spec binds every interface (a batch job's coordinator: host is the
 * node's name, which the user can reach). host NULL: as ft_serve_start. */
int ft_serve_start_on_host(ft_serve_t *s, const char *spec, const char *out,
                           const char *const *labels, int n, int rounds, const char *who,
                           const char *host);

/* The address the page is served on, as printed and written to live.url. */
const char *ft_serve_url(const ft_serve_t *s);

/* The feed for arm (NULL when not serving or past FT_LIVE_MAX_ARMS). */
ft_live_t *ft_serve_live(const ft_serve_t *s, int arm);

/* Ends every page's stream, stops the server, removes live.url and frees the feed.
 * Safe on a zeroed or stopped s. */
void ft_serve_stop(ft_serve_t *s);

#endif
