/* ft_events: JSON-lines event writer. */
#include "ft_events.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_json.h"
#include "ft_linefile.h"
#include "ft_timer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EV_LINE 4096

struct ft_events {
    ft_linefile_t *lf;  /* events.jsonl */
    int failed;         /* a write failed (code; 0: none) */
    char error[512];    /* its message */
    double t0;          /* time origin */
    char line[EV_LINE]; /* the event being built */
    size_t len;         /* bytes used in line */
    uint64_t count;     /* events written */
};

int ft_events_open(const char *path, double t0, ft_events_t **out)
{
    return ft_events_open_at(path, t0, -1, out);
}

int ft_events_open_at(const char *path, double t0, int64_t resume_at, ft_events_t **out)
{
    *out = NULL;
    ft_events_t *ev = ft_calloc(1, sizeof *ev);
    if (!ev)
        return ft_error_set(FT_ENOMEM, "out of memory");
    int rc = ft_linefile_open(path, resume_at, &ev->lf);
    if (rc != FT_OK) {
        ft_free(ev);
        return rc;
    }
    ev->t0 = t0;
    *out = ev;
    return FT_OK;
}

void ft_events_close(ft_events_t **ev_p)
{
    if (!ev_p || !*ev_p)
        return;
    ft_linefile_close(&(*ev_p)->lf);
    ft_free(*ev_p);
    *ev_p = NULL;
}

int ft_events_status(const ft_events_t *ev)
{
    if (!ev || !ev->failed)
        return FT_OK;
    return ft_error_set(ev->failed, "%s", ev->error);
}

int64_t ft_events_offset(const ft_events_t *ev)
{
    return ft_linefile_offset(ev->lf);
}

int ft_events_sync(ft_events_t *ev)
{
    return ft_linefile_sync(ev->lf);
}

/* Bytes of the well-formed UTF-8 sequence at s (1-4), or 0 when s does not start
 * one: a stray continuation byte, a cut sequence, an overlong form, a surrogate or a
 * code point over U+10FFFF (RFC 3629, section 4). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* overlong */
        hi = c == 0xed ? 0x9f : 0xbf; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80; /* overlong */
        hi = c == 0xf4 ? 0x8f : 0xbf; /* over U+10FFFF */
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

size_t ft_events_json_string(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    if (cap < 3) {
        if (cap)
            out[0] = 0;
        return 0;
    }
    out[n++] = '"';
    /* Peers choose these bytes (a Hello's host, an Error's reason): whatever they
     * are, the line must stay valid JSON, hence valid UTF-8. */
    while (s && *s && n + 8 < cap) {
        unsigned char c = (unsigned char)*s;
        size_t len = utf8_len((const unsigned char *)s);
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else if (len == 0) {
            memcpy(out + n, "\\ufffd", 6); /* U+FFFD REPLACEMENT CHARACTER */
            n += 6;
            len = 1;
        } else if (len > 1) {
            if (n + len + 8 >= cap)
                break; /* truncated between characters, never inside one */
            memcpy(out + n, s, len);
            n += len;
        } else {
            out[n++] = (char)c;
        }
        s += len;
    }
    out[n++] = '"';
    out[n] = 0;
    return n;
}

static void append(ft_events_t *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(ft_events_t *ev, const char *fmt, ...)
{
    if (ev->len >= EV_LINE - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ev->line + ev->len, EV_LINE - ev->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        ev->len += (size_t)n < EV_LINE - ev->len ? (size_t)n : EV_LINE - 1 - ev->len;
}

static void key(ft_events_t *ev, const char *k)
{
    char q[128];
    ft_events_json_string(q, sizeof q, k);
    append(ev, ",%s:", q);
}

void ft_events_begin(ft_events_t *ev, const char *event)
{
    if (!ev)
        return;
    ev->len = 0;
    char t[64];
    append(ev, "{\"t\":%s,\"event\":", ft_json_num(t, sizeof t, ft_now() - ev->t0, 3));
    char q[128];
    ft_events_json_string(q, sizeof q, event);
    append(ev, "%s", q);
}

void ft_events_int(ft_events_t *ev, const char *k, int64_t v)
{
    if (!ev)
        return;
    key(ev, k);
    append(ev, "%lld", (long long)v);
}

void ft_events_uint(ft_events_t *ev, const char *k, uint64_t v)
{
    if (!ev)
        return;
    key(ev, k);
    append(ev, "%llu", (unsigned long long)v);
}

void ft_events_num(ft_events_t *ev, const char *k, double v)
{
    if (!ev)
        return;
    key(ev, k);
    char num[64];
    append(ev, "%s", ft_json_num(num, sizeof num, v, -1)); /* null if not finite */
}

void ft_events_str(ft_events_t *ev, const char *k, const char *v)
{
    if (!ev)
        return;
    key(ev, k);
    char q[1024];
    ft_events_json_string(q, sizeof q, v);
    append(ev, "%s", q);
}

void ft_events_bool(ft_events_t *ev, const char *k, int v)
{
    if (!ev)
        return;
    key(ev, k);
    append(ev, "%s", v ? "true" : "false");
}

void ft_events_end(ft_events_t *ev)
{
    if (!ev)
        return;
    if (ev->failed)
        return; /* the run is stopping; keep the file as it was */
    if (ev->len > EV_LINE - 3)
        ev->len = EV_LINE - 3; /* a truncated field still makes one line */
    memcpy(ev->line + ev->len, "}\n", 2);
    /* ft_error_set would overwrite the caller's pending message: keep our own. */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", ft_error_message());
    int rc = ft_linefile_append(ev->lf, ev->line, ev->len + 2);
    if (rc != FT_OK) {
        ev->failed = rc;
        snprintf(ev->error, sizeof ev->error, "%s", ft_error_message());
        ft_error_set(rc, "%s", saved);
        return;
    }
    ev->count++;
}

uint64_t ft_events_count(const ft_events_t *ev)
{
    return ev ? ev->count : 0;
}
