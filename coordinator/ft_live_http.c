/* ft_live_http: the live view's libmicrohttpd server (ft_live_http.h).
 *
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION, at most
 * FT_LIVE_HTTP_CONNS): an event stream's content callback may then wait on the
 * feed's condition variable (a second at a time, a keep-alive comment between
 * events) instead of spinning, and a slow reader stalls only its own thread. poll()
 * rather than select(): the coordinator raises its open-file limit and a socket may
 * lie above FD_SETSIZE. */
#include "ft_live_http.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_HEX 32 /* hex digits of the token (16 random bytes) */

struct ft_live_http {
    struct MHD_Daemon *d;      /* the server */
    ft_live_t *lv;             /* the feed (borrowed) */
    const char *page;          /* the page (borrowed) */
    size_t page_len;           /* its bytes */
    char token[TOKEN_HEX + 1]; /* required in every URL; "" on loopback */
    char url[160];             /* the page's address */
    volatile int stopping;     /* streams end at their next wake-up */
};

/* One /events or /metrics.* response in flight. */
typedef struct {
    ft_live_http_t *h;    /* the server */
    int kind;             /* STREAM_EVENTS, _CSV, _JSON */
    ft_live_cursor_t cur; /* events: where this reader is */
    uint64_t pos;         /* documents: where this reader is */
    char *buf;            /* the piece being sent */
    size_t len, off;      /* its length, bytes sent */
    size_t cap;           /* room in buf */
} stream_t;
enum { STREAM_EVENTS, STREAM_CSV, STREAM_JSON };

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    stream_t *s = cls;
    while (s->off == s->len) {
        if (s->h->stopping)
            return MHD_CONTENT_READER_END_OF_STREAM;
        s->off = 0;
        if (s->kind == STREAM_CSV) {
            s->len = ft_live_csv_piece(s->h->lv, &s->pos, s->buf, s->cap);
        } else if (s->kind == STREAM_JSON) {
            s->len = ft_live_json_piece(s->h->lv, &s->pos, s->buf, s->cap);
        } else {
            int n = ft_live_next(s->h->lv, &s->cur, s->buf, s->cap, 1000);
            if (n < 0)
                return MHD_CONTENT_READER_END_OF_STREAM;
            /* Nothing new for a second: a comment keeps proxies and the idle
             * timeout from closing the stream, and finds a reader that left. */
            s->len = n > 0 ? (size_t)n : (size_t)snprintf(s->buf, s->cap, ": keep-alive\n\n");
            continue;
        }
        if (s->len == 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(out, s->buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream_t *s = cls;
    if (s)
        ft_free(s->buf);
    ft_free(s);
}

static void common_headers(struct MHD_Response *r, const char *type)
{
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /* The token is in the URL: never hand it to another site. */
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    common_headers(r, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, "Allow", "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_stream(ft_live_http_t *h, struct MHD_Connection *conn, int kind)
{
    stream_t *s = ft_calloc(1, sizeof *s);
    size_t cap = kind == STREAM_EVENTS ? FT_LIVE_EVENT_CAP : 16384;
    if (!s || !(s->buf = ft_malloc(cap))) {
        ft_free(s);
        return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
    }
    s->h = h;
    s->kind = kind;
    s->cap = cap;
    if (kind == STREAM_EVENTS) /* reconnect after 2 s if the stream breaks */
        s->len = (size_t)snprintf(s->buf, cap, "retry: 2000\n\n");
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
    if (!r) {
        stream_free(s);
        return MHD_NO;
    }
    common_headers(r, kind == STREAM_EVENTS ? "text/event-stream"
                      : kind == STREAM_CSV  ? "text/csv; charset=utf-8"
                                            : "application/json");
    enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    ft_live_http_t *h = cls;
    /* Answered at once, whatever the request carries: nothing of a body is read. */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET only\n");
    if (h->token[0]) {
        const char *t = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
        if (!t || strlen(t) != TOKEN_HEX || sodium_memcmp(t, h->token, TOKEN_HEX) != 0)
            return reply_text(conn, MHD_HTTP_FORBIDDEN,
                              "forbidden: this live view needs its token (the URL "
                              "fedtail printed, ending in ?token=...)\n");
    }
    if (strcmp(url, "/") == 0) {
        struct MHD_Response *r =
            MHD_create_response_from_buffer(h->page_len, (void *)h->page, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        common_headers(r, "text/html; charset=utf-8");
        /* Inline script and style only; it may talk to this server and nothing else. */
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; script-src 'unsafe-inline'; "
                                "style-src 'unsafe-inline'; connect-src 'self'; img-src data:");
        enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ok;
    }
    if (strcmp(url, "/events") == 0)
        return reply_stream(h, conn, STREAM_EVENTS);
    if (strcmp(url, "/metrics.csv") == 0)
        return reply_stream(h, conn, STREAM_CSV);
    if (strcmp(url, "/metrics.json") == 0)
        return reply_stream(h, conn, STREAM_JSON);
    return reply_text(conn, MHD_HTTP_NOT_FOUND,
                      "not found: the routes are /, /events, /metrics.json, /metrics.csv\n");
}

/* Parses "[ADDR:]PORT" into sa. 0 or FT_EINVAL naming spec. */
static int parse_spec(const char *spec, struct sockaddr_in *sa, char *host, size_t host_cap)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    const char *colon = strrchr(spec, ':');
    const char *port_s = colon ? colon + 1 : spec;
    char addr[64] = "127.0.0.1";
    if (colon) {
        size_t n = (size_t)(colon - spec);
        if (n == 0 || n >= sizeof addr)
            return ft_error_set(FT_EINVAL, "--serve %s: expected [ADDR:]PORT", spec);
        memcpy(addr, spec, n);
        addr[n] = 0;
    }
    char *end;
    long port = strtol(port_s, &end, 10);
    if (!*port_s || *end || port < 0 || port > 65535)
        return ft_error_set(FT_EINVAL, "--serve %s: the port must be a number in [0, 65535]", spec);
    if (strcmp(addr, "localhost") == 0)
        snprintf(addr, sizeof addr, "127.0.0.1");
    if (strcmp(addr, "*") == 0) {
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
        snprintf(addr, sizeof addr, "0.0.0.0");
    } else if (inet_pton(AF_INET, addr, &sa->sin_addr) != 1) {
        return ft_error_set(FT_EINVAL,
                            "--serve %s: '%s' is not an IPv4 address (e.g. 127.0.0.1, "
                            "0.0.0.0 or *, localhost)",
                            spec, addr);
    }
    sa->sin_port = htons((uint16_t)port);
    snprintf(host, host_cap, "%s", addr);
    return FT_OK;
}

int ft_live_http_start(ft_live_t *lv, const char *spec, const char *page, size_t page_len,
                       ft_live_http_t **out)
{
    *out = NULL;
    struct sockaddr_in sa;
    char host[64];
    int rc = parse_spec(spec, &sa, host, sizeof host);
    if (rc != FT_OK)
        return rc;
    if (sodium_init() < 0)
        return ft_error_set(FT_ECRYPTO, "libsodium did not initialise");
    ft_live_http_t *h = ft_calloc(1, sizeof *h);
    if (!h)
        return ft_error_set(FT_ENOMEM, "out of memory");
    h->lv = lv;
    h->page = page;
    h->page_len = page_len;
    /* Only the loopback network is the user's alone. */
    int loopback = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
    if (!loopback) {
        unsigned char raw[TOKEN_HEX / 2];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(h->token, sizeof h->token, raw, sizeof raw);
    }
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    /* The server's threads (they inherit the mask) leave SIGINT and SIGTERM to the
     * round loop's thread, whose handlers stop the run. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    h->d = MHD_start_daemon(
        flags, ntohs(sa.sin_port), NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned)FT_LIVE_HTTP_CONNS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)FT_LIVE_HTTP_REQ_BYTES,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)FT_LIVE_HTTP_IDLE_S, MHD_OPTION_THREAD_STACK_SIZE,
        (size_t)(256 << 10), MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)16, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!h->d) {
        ft_free(h);
        return ft_error_set(FT_ENET,
                            "--serve %s: cannot listen on %s:%u (in use, or not an address "
                            "of this host?)",
                            spec, host, (unsigned)ntohs(sa.sin_port));
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : ntohs(sa.sin_port);
    snprintf(h->url, sizeof h->url, "http://%s:%u/%s%s", host, port, h->token[0] ? "?token=" : "",
             h->token);
    *out = h;
    return FT_OK;
}

const char *ft_live_http_url(const ft_live_http_t *h)
{
    return h->url;
}

int ft_live_http_needs_token(const ft_live_http_t *h)
{
    return h->token[0] != 0;
}

void ft_live_http_stop(ft_live_http_t **h_p)
{
    if (!h_p || !*h_p)
        return;
    ft_live_http_t *h = *h_p;
    h->stopping = 1;
    MHD_stop_daemon(h->d); /* joins every connection's thread (each wakes within 1 s) */
    sodium_memzero(h->token, sizeof h->token);
    ft_free(h);
    *h_p = NULL;
}
