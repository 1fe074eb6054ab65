/* ft_zap: the ZAP handler (ZeroMQ RFC 27) that admits only CURVE clients on the
 * allow-list, and the record of refused connections.
 *
 * libzmq asks a ZAP handler about every handshake on a socket with a ZAP domain and
 * admits every CURVE client when none is bound, so the handler runs on its own
 * thread, independent of the coordinator's loop, with a REP socket bound to
 * inproc://zeromq.zap.01; a PAIR pipe tells it to stop or to start watching the
 * server socket's monitor for handshakes that fail before ZAP is asked. */
#include "ft_zap.h"

#include "ft_alloc.h"
#include "ft_curve.h"
#include "ft_error.h"
#include "ft_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <zmq.h>

/* Frames of a ZAP request (RFC 27) we read; CURVE sends one credential frame. */
enum {
    ZAP_VERSION,
    ZAP_ID,
    ZAP_DOMAIN_F,
    ZAP_ADDRESS,
    ZAP_IDENTITY,
    ZAP_MECHANISM,
    ZAP_CRED,
    ZAP_FRAMES
};

#define REFUSAL_QUEUE 64 /* refusals kept until the owner collects them */
#define WATCH_CONNS   64 /* accepted connections whose peer address is remembered */

/* A connection accepted on the watched socket: its descriptor and peer address. */
typedef struct {
    int fd;        /* descriptor (-1: free entry) */
    char addr[64]; /* "ip:port" from getpeername at accept time */
} watch_conn_t;

struct ft_zap {
    void *ctx;                             /* the context it serves */
    pthread_mutex_t lock;                  /* guards queue, head, queued, dropped */
    ft_zap_refusal_t queue[REFUSAL_QUEUE]; /* refusals not yet collected (a ring) */
    size_t head;                           /* oldest entry of queue */
    size_t queued;                         /* entries in queue */
    unsigned long dropped;                 /* refusals that did not fit the queue */
    void *mon;                       /* PAIR: monitor events of the watched socket (thread's) */
    watch_conn_t conns[WATCH_CONNS]; /* accepted connections (thread's) */
    char pending[96];                /* a handshake failure waiting for its disconnect ("" none) */
    void *rep;             /* REP socket on FT_ZAP_ENDPOINT (owned by the thread once started) */
    void *ctl_send;        /* PAIR: ft_zap_stop sends here (caller's thread) */
    void *ctl_recv;        /* PAIR: the thread listens here */
    ft_key_set_t *allowed; /* copy of the allow-list */
    pthread_t thread;      /* the handler thread */
    atomic_ulong accepted; /* counters, see ft_zap_stats_t */
    atomic_ulong refused;  /* ... */
};

/* Receives one multi-frame request into frames[0..ZAP_FRAMES) (extra frames are
 * dropped). Returns the number of frames, or -1 on socket failure. */
static int zap_recv(void *rep, zmq_msg_t *frames)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, rep, 0) < 0) {
            zmq_msg_close(&part);
            for (int i = 0; i < n && i < ZAP_FRAMES; i++)
                zmq_msg_close(&frames[i]);
            return -1;
        }
        more = zmq_msg_more(&part);
        if (n < ZAP_FRAMES)
            frames[n] = part; /* moves ownership */
        else
            zmq_msg_close(&part);
        n++;
    }
    return n;
}

static int frame_is(zmq_msg_t *f, const char *text)
{
    size_t len = strlen(text);
    return zmq_msg_size(f) == len && memcmp(zmq_msg_data(f), text, len) == 0;
}

static void frame_str(zmq_msg_t *f, char *out, size_t cap)
{
    size_t len = zmq_msg_size(f) < cap - 1 ? zmq_msg_size(f) : cap - 1;
    memcpy(out, zmq_msg_data(f), len);
    out[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
            out[i] = '?';
}

/* z85: the client's key, sent as metadata property FT_ZAP_KEY_PROPERTY (ZMTP
 * metadata: a 1-byte name length, the name, a 4-byte big-endian value length, the
 * value), which libzmq attaches to every frame the peer sends; NULL: none. */
static void zap_reply(void *rep, zmq_msg_t *request_id, const char *status, const char *text,
                      const char *user, const char *z85)
{
    zmq_send(rep, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(rep, zmq_msg_data(request_id), zmq_msg_size(request_id), ZMQ_SNDMORE);
    zmq_send(rep, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(rep, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(rep, user, strlen(user), ZMQ_SNDMORE);
    uint8_t meta[1 + sizeof FT_ZAP_KEY_PROPERTY + 4 + FT_CURVE_Z85_LEN];
    size_t n = 0, name_len = strlen(FT_ZAP_KEY_PROPERTY), value_len = z85 ? strlen(z85) : 0;
    if (z85 && value_len <= FT_CURVE_Z85_LEN) {
        meta[n++] = (uint8_t)name_len;
        memcpy(meta + n, FT_ZAP_KEY_PROPERTY, name_len);
        n += name_len;
        for (int shift = 24; shift >= 0; shift -= 8)
            meta[n++] = (uint8_t)(value_len >> shift);
        memcpy(meta + n, z85, value_len);
        n += value_len;
    }
    zmq_send(rep, meta, n, 0);
}

/* Queues a refusal for ft_zap_next_refusal (oldest kept when full). */
static void push_refusal(ft_zap_t *z, const char *address, const char *mechanism, const char *key,
                         const char *reason)
{
    pthread_mutex_lock(&z->lock);
    if (z->queued == REFUSAL_QUEUE) {
        z->dropped++;
    } else {
        ft_zap_refusal_t *r = &z->queue[(z->head + z->queued) % REFUSAL_QUEUE];
        snprintf(r->address, sizeof r->address, "%s", address);
        snprintf(r->mechanism, sizeof r->mechanism, "%s", mechanism);
        snprintf(r->key, sizeof r->key, "%s", key);
        snprintf(r->reason, sizeof r->reason, "%s", reason);
        z->queued++;
    }
    pthread_mutex_unlock(&z->lock);
}

int ft_zap_next_refusal(ft_zap_t *z, ft_zap_refusal_t *out)
{
    if (!z)
        return 0;
    pthread_mutex_lock(&z->lock);
    int got = z->queued > 0;
    if (got) {
        *out = z->queue[z->head];
        z->head = (z->head + 1) % REFUSAL_QUEUE;
        z->queued--;
    }
    pthread_mutex_unlock(&z->lock);
    return got;
}

/* Answers one request. A request too short to carry a request id still needs a
 * reply (REP expects one), so it is answered with status 500. */
static void zap_answer(ft_zap_t *z, zmq_msg_t *f, int n)
{
    char address[128] = "?", mechanism[32] = "?";
    if (n > ZAP_ADDRESS)
        frame_str(&f[ZAP_ADDRESS], address, sizeof address);
    if (n > ZAP_MECHANISM)
        frame_str(&f[ZAP_MECHANISM], mechanism, sizeof mechanism);
    if (n < ZAP_MECHANISM + 1 || !frame_is(&f[ZAP_VERSION], "1.0")) {
        atomic_fetch_add(&z->refused, 1);
        FT_LOG(FT_LOG_WARN, "ZAP: malformed request from %s refused", address);
        push_refusal(z, address, mechanism, "", "malformed ZAP request");
        zmq_msg_t empty;
        zmq_msg_init(&empty);
        zap_reply(z->rep, n > ZAP_ID ? &f[ZAP_ID] : &empty, "500", "malformed request", "", NULL);
        zmq_msg_close(&empty);
        return;
    }
    if (!frame_is(&f[ZAP_MECHANISM], "CURVE")) {
        atomic_fetch_add(&z->refused, 1);
        FT_LOG(FT_LOG_WARN, "ZAP: refused %s connection from %s (CURVE required)", mechanism,
               address);
        push_refusal(z, address, mechanism, "", "CURVE required");
        zap_reply(z->rep, &f[ZAP_ID], "400", "CURVE required", "", NULL);
        return;
    }
    if (n != ZAP_CRED + 1 || zmq_msg_size(&f[ZAP_CRED]) != FT_CURVE_KEY_LEN) {
        atomic_fetch_add(&z->refused, 1);
        FT_LOG(FT_LOG_WARN, "ZAP: refused CURVE connection from %s (malformed credentials)",
               address);
        push_refusal(z, address, mechanism, "", "malformed credentials");
        zap_reply(z->rep, &f[ZAP_ID], "400", "malformed credentials", "", NULL);
        return;
    }
    const uint8_t *key = zmq_msg_data(&f[ZAP_CRED]);
    const char *name = ft_key_set_find(z->allowed, key);
    if (!name) {
        char z85[FT_CURVE_Z85_LEN + 1];
        ft_curve_encode(key, z85);
        atomic_fetch_add(&z->refused, 1);
        FT_LOG(FT_LOG_WARN, "ZAP: refused unknown client key %s from %s", z85, address);
        push_refusal(z, address, mechanism, z85, "client key not authorized");
        zap_reply(z->rep, &f[ZAP_ID], "400", "client key not authorized", "", NULL);
        return;
    }
    atomic_fetch_add(&z->accepted, 1);
    FT_LOG(FT_LOG_DEBUG, "ZAP: accepted client key '%s' from %s", name, address);
    char z85[FT_CURVE_Z85_LEN + 1];
    ft_curve_encode(key, z85);
    zap_reply(z->rep, &f[ZAP_ID], "200", "OK", name, z85);
}

/* "ip:port" of a connected socket, or "unknown" (it may already be closed). */
static void peer_address(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "";
    snprintf(out, cap, "unknown");
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, (unsigned)ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
    } else if (ss.ss_family == AF_UNIX) {
        snprintf(out, cap, "local (ipc)");
    }
}

/* One event of the watched socket's monitor (libzmq v1 format: u16 event + u32
 * value, then the endpoint). A handshake that fails before ZAP is asked (a
 * plaintext client, a wrong server key) is reported when its connection closes,
 * with the peer address remembered at accept time. */
static void note_event(ft_zap_t *z, uint16_t event, uint32_t value);

static void watch_event(ft_zap_t *z)
{
    zmq_msg_t head, addr;
    zmq_msg_init(&head);
    zmq_msg_init(&addr);
    if (zmq_msg_recv(&head, z->mon, 0) < 0 || !zmq_msg_more(&head) ||
        zmq_msg_recv(&addr, z->mon, 0) < 0 || zmq_msg_size(&head) < 6) {
        zmq_msg_close(&head);
        zmq_msg_close(&addr);
        return;
    }
    uint16_t event;
    uint32_t value;
    memcpy(&event, zmq_msg_data(&head), 2);
    memcpy(&value, (uint8_t *)zmq_msg_data(&head) + 2, 4);
    zmq_msg_close(&head);
    zmq_msg_close(&addr);
    note_event(z, event, value);
}

void ft_zap_note_event(ft_zap_t *z, int event, uint32_t value)
{
    if (z)
        note_event(z, (uint16_t)event, value);
}

static void note_event(ft_zap_t *z, uint16_t event, uint32_t value)
{
    if (event == ZMQ_EVENT_ACCEPTED) {
        size_t slot = (size_t)value % WATCH_CONNS;
        z->conns[slot].fd = (int)value;
        peer_address((int)value, z->conns[slot].addr, sizeof z->conns[slot].addr);
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
            snprintf(z->pending, sizeof z->pending,
                     "security mechanism mismatch (a plaintext client?)");
        else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
            snprintf(z->pending, sizeof z->pending,
                     "CURVE handshake failed (wrong server public key?)");
        else
            snprintf(z->pending, sizeof z->pending, "handshake failed (protocol error 0x%x)",
                     (unsigned)value);
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        snprintf(z->pending, sizeof z->pending,
                 "handshake failed (the peer broke it off: plaintext, or another server key?)");
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        size_t slot = (size_t)value % WATCH_CONNS;
        const char *where = z->conns[slot].fd == (int)value ? z->conns[slot].addr : "unknown";
        if (z->pending[0]) {
            FT_LOG(FT_LOG_WARN, "refused connection from %s: %s", where, z->pending);
            push_refusal(z, where, "", "", z->pending);
            z->pending[0] = '\0';
        }
        if (z->conns[slot].fd == (int)value)
            z->conns[slot].fd = -1;
    }
}

/* A control message: "" stops the thread (returns 1); "watch ENDPOINT" connects
 * the monitor PAIR to ENDPOINT and answers "ok" or an error text. */
static int control(ft_zap_t *z)
{
    char buf[256];
    int n = zmq_recv(z->ctl_recv, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 1;
    buf[n < (int)sizeof buf - 1 ? n : (int)sizeof buf - 1] = '\0';
    if (strncmp(buf, "watch ", 6) != 0 || z->mon) {
        zmq_send(z->ctl_recv, "bad request", 11, 0);
        return 0;
    }
    z->mon = zmq_socket(z->ctx, ZMQ_PAIR);
    if (!z->mon || zmq_connect(z->mon, buf + 6) != 0) {
        const char *why = zmq_strerror(errno);
        if (z->mon)
            zmq_close(z->mon);
        z->mon = NULL;
        zmq_send(z->ctl_recv, why, strlen(why), 0);
        return 0;
    }
    zmq_send(z->ctl_recv, "ok", 2, 0);
    return 0;
}

static void *zap_main(void *arg)
{
    ft_zap_t *z = arg;
    for (;;) {
        zmq_pollitem_t items[3] = {{z->rep, 0, ZMQ_POLLIN, 0},
                                   {z->ctl_recv, 0, ZMQ_POLLIN, 0},
                                   {z->mon, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, z->mon ? 3 : 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            FT_LOG(FT_LOG_ERROR, "ZAP: poll failed: %s", zmq_strerror(errno));
            break;
        }
        if ((items[1].revents & ZMQ_POLLIN) && control(z))
            break;
        if (z->mon && (items[2].revents & ZMQ_POLLIN))
            watch_event(z);
        if (items[0].revents & ZMQ_POLLIN) {
            zmq_msg_t frames[ZAP_FRAMES];
            int n = zap_recv(z->rep, frames);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == ETERM)
                    break;
                FT_LOG(FT_LOG_ERROR, "ZAP: receive failed: %s", zmq_strerror(errno));
                continue;
            }
            zap_answer(z, frames, n);
            for (int i = 0; i < n && i < ZAP_FRAMES; i++)
                zmq_msg_close(&frames[i]);
        }
    }
    /* The sockets were created by the starting thread; this thread has used them
     * since (with the barrier of pthread_create between) and closes them. */
    int zero = 0;
    zmq_setsockopt(z->rep, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(z->rep);
    zmq_close(z->ctl_recv);
    if (z->mon) {
        /* Read what is left (the events of closing the watched socket): a monitor
         * message left queued at shutdown is leaked by libzmq 4.3. */
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, z->mon, ZMQ_DONTWAIT) >= 0)
            ;
        zmq_msg_close(&m);
        zmq_setsockopt(z->mon, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(z->mon);
    }
    z->rep = z->ctl_recv = z->mon = NULL;
    return NULL;
}

static void zap_free(ft_zap_t *z)
{
    int zero = 0;
    void *socks[3] = {z->rep, z->ctl_send, z->ctl_recv};
    for (int i = 0; i < 3; i++)
        if (socks[i]) {
            zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
            zmq_close(socks[i]);
        }
    ft_key_set_destroy(&z->allowed);
    pthread_mutex_destroy(&z->lock);
    ft_free(z);
}

int ft_zap_start(void *zmq_ctx, const ft_key_set_t *allowed, ft_zap_t **out)
{
    *out = NULL;
    ft_zap_t *z = ft_calloc(1, sizeof *z);
    if (!z)
        return ft_error_set(FT_ENOMEM, "out of memory starting the ZAP handler");
    z->ctx = zmq_ctx;
    pthread_mutex_init(&z->lock, NULL);
    for (size_t i = 0; i < WATCH_CONNS; i++)
        z->conns[i].fd = -1;
    atomic_init(&z->accepted, 0);
    atomic_init(&z->refused, 0);
    int rc = FT_OK;
    z->allowed = ft_key_set_new();
    if (!z->allowed) {
        rc = ft_error_set(FT_ENOMEM, "out of memory starting the ZAP handler");
        goto fail;
    }
    rc = ft_key_set_add_all(z->allowed, allowed);
    if (rc != FT_OK)
        goto fail;

    char ctl[64];
    snprintf(ctl, sizeof ctl, "inproc://fedtail-zap-ctl-%p", (void *)z);
    z->rep = zmq_socket(zmq_ctx, ZMQ_REP);
    z->ctl_recv = zmq_socket(zmq_ctx, ZMQ_PAIR);
    z->ctl_send = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (!z->rep || !z->ctl_recv || !z->ctl_send) {
        rc = ft_error_set(FT_ENET, "ZAP handler sockets: %s", zmq_strerror(errno));
        goto fail;
    }
    if (zmq_bind(z->rep, FT_ZAP_ENDPOINT) != 0) {
        rc = ft_error_set(FT_ENET, "binding %s: %s (is another ZAP handler running?)",
                          FT_ZAP_ENDPOINT, zmq_strerror(errno));
        goto fail;
    }
    if (zmq_bind(z->ctl_recv, ctl) != 0 || zmq_connect(z->ctl_send, ctl) != 0) {
        rc = ft_error_set(FT_ENET, "ZAP control pipe: %s", zmq_strerror(errno));
        goto fail;
    }
    int e = pthread_create(&z->thread, NULL, zap_main, z);
    if (e != 0) {
        rc = ft_error_set(FT_ESTATE, "cannot start the ZAP thread: %s", strerror(e));
        goto fail;
    }
    FT_LOG(FT_LOG_INFO, "ZAP: CURVE handler running with %zu authorized client keys",
           ft_key_set_count(z->allowed));
    *out = z;
    return FT_OK;
fail:
    zap_free(z);
    return rc;
}

void ft_zap_stats(ft_zap_t *zap, ft_zap_stats_t *stats)
{
    stats->accepted = atomic_load(&zap->accepted);
    stats->refused = atomic_load(&zap->refused);
}

int ft_zap_watch(ft_zap_t *z, void *server_sock)
{
    char ep[64], reply[128];
    snprintf(ep, sizeof ep, "inproc://fedtail-zap-mon-%p", (void *)z);
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(server_sock, ep, events) != 0)
        return ft_error_set(FT_ENET, "monitoring the server socket: %s", zmq_strerror(errno));
    char msg[80];
    int n = snprintf(msg, sizeof msg, "watch %s", ep);
    if (zmq_send(z->ctl_send, msg, (size_t)n, 0) < 0)
        return ft_error_set(FT_ENET, "ZAP control pipe: %s", zmq_strerror(errno));
    int got = zmq_recv(z->ctl_send, reply, sizeof reply - 1, 0);
    if (got < 0)
        return ft_error_set(FT_ENET, "ZAP control pipe: %s", zmq_strerror(errno));
    reply[got < (int)sizeof reply - 1 ? got : (int)sizeof reply - 1] = '\0';
    if (strcmp(reply, "ok") != 0) {
        zmq_socket_monitor(server_sock, NULL, 0);
        return ft_error_set(FT_ENET, "watching the server socket: %s", reply);
    }
    return FT_OK;
}

void ft_zap_stop(ft_zap_t **zap_p)
{
    if (!zap_p || !*zap_p)
        return;
    ft_zap_t *z = *zap_p;
    zmq_send(z->ctl_send, "", 0, 0);
    pthread_join(z->thread, NULL);
    zap_free(z); /* the thread closed rep and ctl_recv and nulled them */
    *zap_p = NULL;
}
