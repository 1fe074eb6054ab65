/* ft_peer_guard: the connection bound of a server socket (ft_peer_guard.h).
 *
 * Counting: ZMQ_EVENT_ACCEPTED and ZMQ_EVENT_DISCONNECTED carry the connection's
 * descriptor and arrive in order, so a flag per descriptor number gives the open
 * connections. A descriptor closed without a DISCONNECTED event (libzmq closes an
 * engine that never errored, e.g. a refused routing id) is found by a sweep once a
 * second: a flagged number that is no longer a socket is cleared.
 *
 * Shedding uses shutdown(2), never close(2): the descriptor stays libzmq's, which
 * sees the peer gone and closes it itself. The number was read from the event; if
 * libzmq closed it meanwhile and it was reused, it is shut down only if it is again
 * a connected socket (a file opened since is left alone). */
#include "ft_peer_guard.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_NOFILE ((size_t)1 << 20)

struct ft_peer_guard {
    void *sock;                  /* the watched socket (caller's thread only) */
    void *mon;                   /* PAIR: its monitor events (the thread's) */
    void *ctl_send;              /* PAIR: ft_peer_guard_stop sends here (caller's thread) */
    void *ctl_recv;              /* PAIR: the thread listens here */
    uint8_t *open;               /* per descriptor number: an accepted connection (thread's) */
    size_t nfd;                  /* entries of open */
    size_t top;                  /* 1 + highest number flagged so far */
    size_t max_conns;            /* the bound */
    ft_peer_guard_event_fn fn;   /* every event (NULL: none) */
    void *user;                  /* fn's argument */
    pthread_mutex_t lock;        /* guards stats */
    ft_peer_guard_stats_t stats; /* counters */
    pthread_t thread;            /* the watching thread */
    int started;                 /* thread running */
};

size_t ft_peer_guard_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    rlim_t want = rl.rlim_max;
    if (want == RLIM_INFINITY || want > (rlim_t)MAX_NOFILE)
        want = (rlim_t)MAX_NOFILE;
    if (rl.rlim_cur < want) {
        struct rlimit up = {want, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl.rlim_cur = want;
    }
    return rl.rlim_cur == RLIM_INFINITY ? MAX_NOFILE : (size_t)rl.rlim_cur;
}

size_t ft_peer_guard_cap(size_t want, size_t nofile)
{
    size_t room =
        nofile > 2 * FT_PEER_GUARD_RESERVE_FDS ? nofile - FT_PEER_GUARD_RESERVE_FDS : nofile / 2;
    size_t cap = want < room ? want : room;
    return cap ? cap : 1;
}

int ft_peer_guard_socket_options(void *sock, int heartbeat_ms, int timeout_ms)
{
    int hs = FT_PEER_GUARD_HANDSHAKE_MS;
    if (zmq_setsockopt(sock, ZMQ_HANDSHAKE_IVL, &hs, sizeof hs) != 0 ||
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &heartbeat_ms, sizeof heartbeat_ms) != 0 ||
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout_ms, sizeof timeout_ms) != 0 ||
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &timeout_ms, sizeof timeout_ms) != 0)
        return ft_error_set(FT_ENET, "socket options (handshake, heartbeats): %s",
                            zmq_strerror(errno));
    return FT_OK;
}

/* Nonzero if fd is a connected (not listening) socket. */
static int is_connection(int fd)
{
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) != 0)
        return 0; /* closed, or not a socket */
    return v == 0;
}

static void on_accepted(ft_peer_guard_t *g, int fd)
{
    int counted = fd >= 0 && (size_t)fd < g->nfd;
    pthread_mutex_lock(&g->lock);
    g->stats.handled++;
    if (counted && !g->open[fd]) {
        g->open[fd] = 1;
        g->stats.open++;
        if ((size_t)fd + 1 > g->top)
            g->top = (size_t)fd + 1;
    }
    int over = g->stats.open > g->max_conns || (!counted && g->stats.open >= g->max_conns);
    if (g->stats.open > g->stats.peak)
        g->stats.peak = g->stats.open;
    if (over)
        g->stats.shed++;
    unsigned long shed = g->stats.shed;
    size_t open = g->stats.open;
    pthread_mutex_unlock(&g->lock);
    if (over && fd >= 0 && is_connection(fd)) {
        shutdown(fd, SHUT_RDWR);
        /* The first and then every 1000th: a flood must not flood the log too. */
        if (shed % 1000 == 1)
            FT_LOG(FT_LOG_WARN, "connection refused: %zu open, the most is %zu (%lu refused)", open,
                   g->max_conns, shed);
    }
}

static void on_closed(ft_peer_guard_t *g, int fd)
{
    if (fd < 0 || (size_t)fd >= g->nfd)
        return;
    pthread_mutex_lock(&g->lock);
    if (g->open[fd]) {
        g->open[fd] = 0;
        g->stats.open--;
    }
    pthread_mutex_unlock(&g->lock);
}

/* Clears flagged numbers that are no longer sockets (closed without an event). */
static void sweep(ft_peer_guard_t *g)
{
    for (size_t fd = 0; fd < g->top; fd++)
        if (g->open[fd] && !is_connection((int)fd))
            on_closed(g, (int)fd);
}

/* One monitor event (libzmq v1 format: u16 event + u32 value, then the endpoint). */
static void monitor_event(ft_peer_guard_t *g)
{
    zmq_msg_t head, addr;
    zmq_msg_init(&head);
    zmq_msg_init(&addr);
    int ok = zmq_msg_recv(&head, g->mon, 0) >= 0 && zmq_msg_more(&head) &&
             zmq_msg_recv(&addr, g->mon, 0) >= 0 && zmq_msg_size(&head) >= 6;
    uint16_t event = 0;
    uint32_t value = 0;
    if (ok) {
        memcpy(&event, zmq_msg_data(&head), 2);
        memcpy(&value, (uint8_t *)zmq_msg_data(&head) + 2, 4);
    }
    zmq_msg_close(&head);
    zmq_msg_close(&addr);
    if (!ok)
        return;
    /* The callback first: it may want the peer address of a connection about to be
     * shut down. */
    if (g->fn)
        g->fn(g->user, event, value);
    if (event == ZMQ_EVENT_ACCEPTED)
        on_accepted(g, (int)value);
    else if (event == ZMQ_EVENT_DISCONNECTED)
        on_closed(g, (int)value);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *guard_main(void *arg)
{
    ft_peer_guard_t *g = arg;
    double last_sweep = now_s();
    for (;;) {
        zmq_pollitem_t items[2] = {{g->mon, 0, ZMQ_POLLIN, 0}, {g->ctl_recv, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, 1000) < 0) {
            if (errno == EINTR)
                continue;
            FT_LOG(FT_LOG_ERROR, "connection guard: poll failed: %s", zmq_strerror(errno));
            break;
        }
        if (items[1].revents & ZMQ_POLLIN)
            break;
        /* A burst is handled before anything else: each event may be a descriptor. */
        for (int n = 0; n < 4096 && (items[0].revents & ZMQ_POLLIN); n++) {
            monitor_event(g);
            int ev = 0;
            size_t len = sizeof ev;
            if (zmq_getsockopt(g->mon, ZMQ_EVENTS, &ev, &len) != 0 || !(ev & ZMQ_POLLIN))
                break;
        }
        double t = now_s();
        if (t - last_sweep >= 1.0) {
            sweep(g);
            last_sweep = t;
        }
    }
    /* Read what is left: a monitor message left queued at shutdown is leaked by
     * libzmq 4.3. */
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, g->mon, ZMQ_DONTWAIT) >= 0)
        ;
    zmq_msg_close(&m);
    return NULL;
}

static void guard_free(ft_peer_guard_t *g)
{
    int zero = 0;
    void *socks[3] = {g->mon, g->ctl_send, g->ctl_recv};
    for (int i = 0; i < 3; i++)
        if (socks[i]) {
            zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
            zmq_close(socks[i]);
        }
    pthread_mutex_destroy(&g->lock);
    ft_free(g->open);
    ft_free(g);
}

int ft_peer_guard_start(void *zctx, void *sock, size_t max_conns, ft_peer_guard_event_fn fn,
                        void *user, ft_peer_guard_t **out)
{
    *out = NULL;
    ft_peer_guard_t *g = ft_calloc(1, sizeof *g);
    if (!g)
        return ft_error_set(FT_ENOMEM, "out of memory starting the connection guard");
    pthread_mutex_init(&g->lock, NULL);
    g->sock = sock;
    g->max_conns = max_conns ? max_conns : 1;
    g->stats.max_conns = g->max_conns;
    g->fn = fn;
    g->user = user;
    struct rlimit rl;
    g->nfd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
                     rl.rlim_cur < (rlim_t)MAX_NOFILE
                 ? (size_t)rl.rlim_cur
                 : MAX_NOFILE;
    int rc = FT_OK;
    g->open = ft_calloc(g->nfd, 1);
    if (!g->open) {
        rc = ft_error_set(FT_ENOMEM, "out of memory starting the connection guard");
        goto fail;
    }
    char mon[64], ctl[64];
    snprintf(mon, sizeof mon, "inproc://fedtail-guard-mon-%p", (void *)g);
    snprintf(ctl, sizeof ctl, "inproc://fedtail-guard-ctl-%p", (void *)g);
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    g->mon = zmq_socket(zctx, ZMQ_PAIR);
    g->ctl_recv = zmq_socket(zctx, ZMQ_PAIR);
    g->ctl_send = zmq_socket(zctx, ZMQ_PAIR);
    if (!g->mon || !g->ctl_recv || !g->ctl_send || zmq_socket_monitor(sock, mon, events) != 0 ||
        zmq_connect(g->mon, mon) != 0 || zmq_bind(g->ctl_recv, ctl) != 0 ||
        zmq_connect(g->ctl_send, ctl) != 0) {
        rc = ft_error_set(FT_ENET, "watching the server socket's connections: %s",
                          zmq_strerror(errno));
        goto fail;
    }
    int e = pthread_create(&g->thread, NULL, guard_main, g);
    if (e != 0) {
        rc = ft_error_set(FT_ESTATE, "cannot start the connection guard thread: %s", strerror(e));
        goto fail;
    }
    g->started = 1;
    *out = g;
    return FT_OK;
fail:
    zmq_socket_monitor(sock, NULL, 0);
    guard_free(g);
    return rc;
}

void ft_peer_guard_stats(ft_peer_guard_t *g, ft_peer_guard_stats_t *out)
{
    pthread_mutex_lock(&g->lock);
    *out = g->stats;
    pthread_mutex_unlock(&g->lock);
}

void ft_peer_guard_stop(ft_peer_guard_t **g_p)
{
    if (!g_p || !*g_p)
        return;
    ft_peer_guard_t *g = *g_p;
    zmq_socket_monitor(g->sock, NULL, 0);
    if (g->started) {
        zmq_send(g->ctl_send, "", 0, 0);
        pthread_join(g->thread, NULL);
    }
    guard_free(g);
    *g_p = NULL;
}
