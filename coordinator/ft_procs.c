/* ft_procs: the process table, bounded against what peers send (ft_procs.h). */
#include "ft_procs.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ft_procs_init(ft_procs_t *t)
{
    memset(t, 0, sizeof *t);
}

void ft_procs_free(ft_procs_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        ft_free(t->procs[i].clients);
    ft_free(t->procs);
    memset(t, 0, sizeof *t);
}

void ft_procs_set_limits(ft_procs_t *t, size_t max_procs, uint32_t id_bound, size_t max_ids)
{
    t->max_procs = max_procs;
    t->id_bound = id_bound;
    t->max_ids = max_ids;
}

void ft_procs_set_dead(ft_procs_t *t, size_t i)
{
    ft_proc_t *p = &t->procs[i];
    if (p->state == FT_PROC_DEAD)
        return;
    p->state = FT_PROC_DEAD;
    p->slot = -1;
    t->ids_held -= p->num_clients;
    ft_free(p->clients);
    p->clients = NULL;
    p->num_clients = 0;
}

int ft_procs_find(const ft_procs_t *t, const uint8_t *peer, size_t peer_len)
{
    for (size_t i = t->n; i-- > 0;)
        if (t->procs[i].state != FT_PROC_DEAD && t->procs[i].peer_len == peer_len &&
            memcmp(t->procs[i].peer, peer, peer_len) == 0)
            return (int)i;
    return -1;
}

int ft_procs_find_any(const ft_procs_t *t, const uint8_t *peer, size_t peer_len)
{
    for (size_t i = t->n; i-- > 0;)
        if (t->procs[i].peer_len == peer_len && memcmp(t->procs[i].peer, peer, peer_len) == 0)
            return (int)i;
    return -1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts and removes duplicates; returns the new count. */
static size_t sort_unique(uint32_t *a, size_t n)
{
    if (n == 0)
        return 0;
    qsort(a, n, sizeof *a, cmp_u32);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (a[i] != a[k - 1])
            a[k++] = a[i];
    return k;
}

int ft_procs_add(ft_procs_t *t, const uint8_t *peer, size_t peer_len, const ft_msg_hello_t *h,
                 double now)
{
    if (t->max_procs && ft_procs_alive(t) >= t->max_procs)
        return ft_error_set(FT_ESTATE, "%zu processes registered already (the most at once)",
                            t->max_procs);
    if (!h->pool && h->num_clients == 0)
        return ft_error_set(FT_EPROTO, "neither a pool nor any client id");
    /* Checked on the peer's list before anything is allocated for it. */
    for (size_t k = 0; !h->pool && t->id_bound && k < h->num_clients; k++)
        if (h->clients[k] >= t->id_bound)
            return ft_error_set(FT_EPROTO, "client id %u outside the population [0, %u)",
                                h->clients[k], t->id_bound);
    ft_proc_t p;
    memset(&p, 0, sizeof p);
    if (!h->pool) {
        p.clients = ft_malloc(h->num_clients * sizeof *p.clients);
        if (!p.clients)
            return ft_error_set(FT_ENOMEM, "out of memory registering a process");
        memcpy(p.clients, h->clients, h->num_clients * sizeof *p.clients);
        p.num_clients = sort_unique(p.clients, h->num_clients);
        if (t->max_ids && t->ids_held + p.num_clients > t->max_ids) {
            ft_free(p.clients);
            return ft_error_set(FT_ESTATE,
                                "its %zu client ids would make %zu held by live processes "
                                "(the most: %zu)",
                                p.num_clients, t->ids_held + p.num_clients, t->max_ids);
        }
    }
    size_t i = 0;
    while (i < t->n && t->procs[i].state != FT_PROC_DEAD)
        i++;
    if (i == t->n && t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        ft_proc_t *grown = ft_realloc(t->procs, cap * sizeof *grown);
        if (!grown) {
            ft_free(p.clients);
            return ft_error_set(FT_ENOMEM, "out of memory registering a process");
        }
        t->procs = grown;
        t->cap = cap;
    }
    p.pool = h->pool;
    p.peer_len = peer_len < FT_LINK_MAX_PEER ? peer_len : FT_LINK_MAX_PEER;
    memcpy(p.peer, peer, p.peer_len);
    p.id = ++t->last_id;
    p.state = FT_PROC_IDLE;
    p.last_seen = now;
    p.slot = -1;
    p.pid = h->pid;
    memcpy(p.host, h->host, sizeof p.host);
    t->ids_held += p.num_clients;
    if (i == t->n)
        t->n++;
    t->procs[i] = p; /* a dead entry holds no ids: nothing to free */
    return (int)i;
}

int ft_proc_can_serve(const void *pv, uint32_t client_id)
{
    const ft_proc_t *p = pv;
    if (p->pool)
        return 1;
    size_t lo = 0, hi = p->num_clients;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->clients[mid] < client_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->num_clients && p->clients[lo] == client_id;
}

size_t ft_procs_alive(const ft_procs_t *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += t->procs[i].state != FT_PROC_DEAD;
    return n;
}

void ft_procs_touch_all(ft_procs_t *t, double now)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->procs[i].state != FT_PROC_DEAD && t->procs[i].last_seen < now)
            t->procs[i].last_seen = now;
}

int ft_procs_next_silent(const ft_procs_t *t, double now, double silence_s)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->procs[i].state != FT_PROC_DEAD && now - t->procs[i].last_seen > silence_s)
            return (int)i;
    return -1;
}

/* Reads a decimal uint32 at *s, advancing it. */
static int read_u32(const char **s, uint32_t *v)
{
    if (!isdigit((unsigned char)**s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(*s, &end, 10);
    if (errno || x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    *s = end;
    return 0;
}

int ft_parse_id_list(const char *text, uint32_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    size_t cap = 0, k = 0;
    uint32_t *a = NULL;
    const char *s = text;
    if (!*s)
        return ft_error_set(FT_EINVAL, "empty client list");
    while (*s) {
        uint32_t lo, hi;
        if (read_u32(&s, &lo) != 0)
            goto bad;
        hi = lo;
        if (*s == '-') {
            s++;
            if (read_u32(&s, &hi) != 0 || hi < lo)
                goto bad;
        }
        if ((uint64_t)k + (hi - lo) + 1 > ((size_t)1 << 24)) {
            ft_free(a);
            return ft_error_set(FT_EINVAL, "client list '%s': more than 16M ids", text);
        }
        for (uint64_t v = lo; v <= hi; v++) {
            if (k == cap) {
                cap = cap ? 2 * cap : 64;
                uint32_t *b = ft_realloc(a, cap * sizeof *a);
                if (!b) {
                    ft_free(a);
                    return ft_error_set(FT_ENOMEM, "out of memory");
                }
                a = b;
            }
            a[k++] = (uint32_t)v;
        }
        if (*s == ',')
            s++;
        else if (*s)
            goto bad;
        else
            break;
    }
    if (s > text && s[-1] == ',')
        goto bad;
    *n = sort_unique(a, k);
    *ids = a;
    return FT_OK;
bad:
    ft_free(a);
    return ft_error_set(FT_EINVAL, "client list '%s': expected ids and ranges like 0-9,15", text);
}
