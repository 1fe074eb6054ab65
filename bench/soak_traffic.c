/* soak_traffic: hostile loopback traffic against a running coordinator, for
 * bench/bench_soak.sh (never part of ctest).
 *
 *   soak_traffic --connect EP [--pid PID] [--seconds S] [--rate R] [--hello-rate H]
 *                [--churn-rate C] [--sockets S] [--corpus DIR] [--max-message-mb M]
 *                [--seed N]
 *
 * Keeps S DEALER sockets connected to EP and sends R messages a second, drawn from:
 *   garbage    random bytes, 0-300 of them, as one frame
 *   mutant     a valid envelope (every message type, built here, plus each file of
 *              --corpus, e.g. fuzz/corpus/fuzz_wire) with 1-8 bytes changed, or cut short
 *   shape      well-formed envelopes in the wrong frames: a payload announced and
 *              missing, a payload of the wrong length, an extra frame, an empty frame
 *   stale      Updates with the run's N and layout (learnt from a Welcome) and a good
 *              digest, for a random round and client: stale, unsampled or not assigned
 *              when the socket registered, unregistered otherwise
 *   foreign    Heartbeat/Request/Error from unregistered peers, and the messages only
 *              the coordinator sends (Task, Welcome, Shutdown)
 * and besides, at their own rates: Hellos (H a second, half pool, half a fixed set of
 * 1-1000 ids; a registered socket never asks for a task, so it takes no work and is
 * presumed dead after 5 heartbeat periods), reconnects (C a second: one socket is
 * closed without linger and a fresh one, with a new routing id, connects), and every
 * 5 s a frame one byte over --max-message-mb (libzmq drops that connection).
 *
 * Stops after --seconds, or when --pid (the coordinator) has gone, or on SIGINT /
 * SIGTERM, and prints one line per kind: messages sent, sends refused (EAGAIN: the
 * socket's queue is full), and the replies received by type. Exit status 0, or 2 on
 * bad arguments / 1 when the sockets cannot be set up. Draws come from the stream
 * (seed, 0, 0, FT_RNG_TEST), but timing decides what the coordinator sees. */
#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_link.h"
#include "ft_rng.h"
#include "ft_timer.h"
#include "ft_wire.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_SOCKETS 64
#define MAX_BASES   64
#define MAX_IDS     1000

enum { K_GARBAGE, K_MUTANT, K_SHAPE, K_STALE, K_FOREIGN, K_HELLO, K_CHURN, K_OVERSIZE, K_COUNT };
static const char *const kind_name[K_COUNT] = {"garbage", "mutant", "shape", "stale",
                                               "foreign", "hello",  "churn", "oversize"};

typedef struct {
    void *sock;          /* DEALER connected to the coordinator */
    uint32_t process_id; /* from a Welcome (0: not registered) */
} peer_t;

typedef struct {
    void *zctx;                       /* ZeroMQ context */
    const char *endpoint;             /* --connect */
    peer_t peers[MAX_SOCKETS];        /* the sockets */
    int num_peers;                    /* --sockets */
    ft_rng_t rng;                     /* every draw */
    uint8_t *bases[MAX_BASES];        /* valid envelopes to mutate (owned) */
    size_t base_len[MAX_BASES];       /* bytes of each */
    int num_bases;                    /* entries used */
    uint64_t N;                       /* the run's N (0 until a Welcome) */
    uint8_t layout[FT_WIRE_HASH_LEN]; /* the run's layout hash */
    uint32_t rounds;                  /* the run's rounds */
    float *vec;                       /* N floats for stale updates (owned) */
    uint8_t *vec_bytes;               /* their wire bytes (owned) */
    uint64_t sent[K_COUNT];           /* messages sent per kind */
    uint64_t refused[K_COUNT];        /* sends refused (EAGAIN) per kind */
    uint64_t replies[FT_MSG_COUNT_];  /* replies received per type */
    uint64_t bad_replies;             /* replies that did not decode */
} traffic_t;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* ---- sockets ------------------------------------------------------------------- */

static int peer_open(traffic_t *t, peer_t *p)
{
    p->process_id = 0;
    p->sock = zmq_socket(t->zctx, ZMQ_DEALER);
    if (!p->sock)
        return ft_error_set(FT_ENET, "zmq_socket: %s", zmq_strerror(errno));
    int linger = 0, hwm = 200;
    zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(p->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (zmq_connect(p->sock, t->endpoint) != 0) {
        int e = errno;
        zmq_close(p->sock);
        p->sock = NULL;
        return ft_error_set(FT_ENET, "connect %s: %s", t->endpoint, zmq_strerror(e));
    }
    return FT_OK;
}

static void peer_close(peer_t *p)
{
    if (p->sock)
        zmq_close(p->sock);
    p->sock = NULL;
    p->process_id = 0;
}

/* Sends frames[0..n) as one multipart message without blocking. */
static void send_frames(traffic_t *t, peer_t *p, int kind, const void *const *frames,
                        const size_t *lens, int n)
{
    for (int i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(p->sock, frames[i], lens[i], flags) < 0) {
            /* A refused first frame sends nothing; a later one cannot be refused
             * (libzmq queues a multipart message whole once it took its first part). */
            t->refused[kind]++;
            return;
        }
    }
    t->sent[kind]++;
}

static void send_one(traffic_t *t, peer_t *p, int kind, const void *buf, size_t len)
{
    send_frames(t, p, kind, &buf, &len, 1);
}

/* Packs m and sends it (with payload when m->payload_len > 0). */
static void send_msg(traffic_t *t, peer_t *p, int kind, const ft_msg_t *m, const void *payload)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (ft_wire_pack_alloc(m, &buf, &len) != FT_OK)
        return;
    const void *frames[2] = {buf, payload};
    size_t lens[2] = {len, (size_t)m->payload_len};
    send_frames(t, p, kind, frames, lens, m->payload_len > 0 ? 2 : 1);
    ft_free(buf);
}

/* Reads every reply waiting on p; a Welcome teaches N, the layout and p's number. */
static void drain(traffic_t *t, peer_t *p)
{
    ft_wire_limits_t lim;
    ft_wire_limits_default(&lim, 1024);
    for (;;) {
        ft_link_in_t in;
        int rc = ft_link_recv(p->sock, 0, &lim, &in);
        if (rc == FT_ETIMEOUT || rc == FT_ENET)
            return;
        if (rc != FT_OK) {
            t->bad_replies++;
            continue;
        }
        t->replies[in.msg.type]++;
        if (in.msg.type == FT_MSG_WELCOME) {
            const ft_msg_welcome_t *w = &in.msg.u.welcome;
            p->process_id = w->process_id;
            if (!t->N && w->num_params > 0 && w->num_params < (1u << 28)) {
                float *v = ft_malloc(w->num_params * sizeof(float));
                uint8_t *b = ft_malloc(w->num_params * 4);
                if (v && b) {
                    for (uint64_t i = 0; i < w->num_params; i++)
                        v[i] = (float)ft_rng_normal(&t->rng) * 0.01f;
                    ft_wire_put_floats(b, v, w->num_params);
                    t->vec = v;
                    t->vec_bytes = b;
                    t->N = w->num_params;
                    memcpy(t->layout, w->layout_hash, FT_WIRE_HASH_LEN);
                    t->rounds = w->rounds;
                } else {
                    ft_free(v);
                    ft_free(b);
                }
            }
        }
        ft_link_in_clear(&in);
    }
}

/* ---- messages -------------------------------------------------------------------- */

static void fill_random(traffic_t *t, uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)ft_rng_u32(&t->rng);
}

static void add_base(traffic_t *t, const ft_msg_t *m)
{
    if (t->num_bases < MAX_BASES &&
        ft_wire_pack_alloc(m, &t->bases[t->num_bases], &t->base_len[t->num_bases]) == FT_OK)
        t->num_bases++;
}

/* One valid envelope of every type (as fuzz/fuzz_wire_seeds.c writes them). */
static void build_bases(traffic_t *t)
{
    ft_msg_t m;
    uint32_t ids[3] = {1, 2, 3};
    ft_msg_init(&m, FT_MSG_HELLO);
    m.u.hello.pid = 1;
    strcpy(m.u.hello.host, "soak");
    m.u.hello.clients = ids;
    m.u.hello.num_clients = 3;
    add_base(t, &m);
    ft_msg_init(&m, FT_MSG_WELCOME);
    m.u.welcome.process_id = 1;
    m.u.welcome.config_ini = "[federation]\nrounds = 5\n";
    m.u.welcome.num_params = 4;
    m.u.welcome.rounds = 5;
    add_base(t, &m);
    ft_msg_init(&m, FT_MSG_REQUEST);
    m.u.request.process_id = 1;
    add_base(t, &m);
    ft_msg_init(&m, FT_MSG_TASK);
    m.u.task.round = 2;
    m.u.task.lr = 0.01f;
    m.u.task.num_params = 4;
    add_base(t, &m);
    ft_msg_init(&m, FT_MSG_UPDATE);
    m.u.update.round = 2;
    m.u.update.process_id = 1;
    m.u.update.num_samples = 10;
    m.u.update.num_params = 4;
    m.payload_len = 16;
    add_base(t, &m);
    ft_msg_init(&m, FT_MSG_HEARTBEAT);
    m.u.heartbeat.process_id = 1;
    add_base(t, &m);
    ft_msg_init(&m, FT_MSG_ERROR);
    m.u.error.code = FT_EPROTO;
    strcpy(m.u.error.reason, "soak");
    add_base(t, &m);
    ft_msg_init(&m, FT_MSG_SHUTDOWN);
    strcpy(m.u.shutdown.reason, "complete");
    add_base(t, &m);
}

/* Adds every regular file of dir (at most 1 MiB each) as a base. */
static int load_corpus(traffic_t *t, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return ft_error_set(FT_EIO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) && t->num_bases < MAX_BASES) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096], *data = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (ft_read_file(path, &data, &len) != FT_OK)
            continue;
        if (len > 0 && len <= (1u << 20)) {
            t->bases[t->num_bases] = (uint8_t *)data;
            t->base_len[t->num_bases++] = len;
        } else {
            ft_free(data);
        }
    }
    closedir(d);
    return FT_OK;
}

static void send_garbage(traffic_t *t, peer_t *p)
{
    uint8_t buf[300];
    size_t n = ft_rng_below(&t->rng, sizeof buf + 1);
    fill_random(t, buf, n);
    send_one(t, p, K_GARBAGE, buf, n);
}

static void send_mutant(traffic_t *t, peer_t *p)
{
    int b = (int)ft_rng_below(&t->rng, (uint32_t)t->num_bases);
    size_t len = t->base_len[b];
    uint8_t *buf = ft_malloc(len);
    if (!buf)
        return;
    memcpy(buf, t->bases[b], len);
    if (ft_rng_below(&t->rng, 4) == 0) {
        len = ft_rng_below(&t->rng, (uint32_t)len); /* cut short */
    } else {
        int flips = 1 + (int)ft_rng_below(&t->rng, 8);
        for (int i = 0; i < flips; i++)
            buf[ft_rng_below(&t->rng, (uint32_t)len)] = (uint8_t)ft_rng_u32(&t->rng);
    }
    send_one(t, p, K_MUTANT, buf, len);
    ft_free(buf);
}

static void update_msg(traffic_t *t, const peer_t *p, ft_msg_t *m)
{
    ft_msg_init(m, FT_MSG_UPDATE);
    uint32_t rounds = t->rounds ? t->rounds : 10;
    m->u.update.round = 1 + ft_rng_below(&t->rng, rounds);
    m->u.update.client_id = ft_rng_below(&t->rng, 2000);
    m->u.update.process_id = p->process_id ? p->process_id : 1 + ft_rng_below(&t->rng, 8);
    m->u.update.attempt = ft_rng_below(&t->rng, 4) == 0;
    m->u.update.num_samples = 1 + ft_rng_below(&t->rng, 100);
    m->u.update.train_loss = 1.0f;
    m->u.update.num_params = t->N ? t->N : 4;
    memcpy(m->u.update.layout_hash, t->layout, FT_WIRE_HASH_LEN);
    m->payload_len = m->u.update.num_params * 4;
}

static void send_shape(traffic_t *t, peer_t *p)
{
    ft_msg_t m;
    update_msg(t, p, &m);
    uint8_t *env = NULL, junk[64];
    size_t env_len = 0;
    fill_random(t, junk, sizeof junk);
    if (ft_wire_pack_alloc(&m, &env, &env_len) != FT_OK)
        return;
    const void *frames[3] = {env, junk, junk};
    size_t lens[3] = {env_len, sizeof junk, sizeof junk};
    switch (ft_rng_below(&t->rng, 4)) {
    case 0: send_frames(t, p, K_SHAPE, frames, lens, 1); break; /* payload missing */
    case 1: send_frames(t, p, K_SHAPE, frames, lens, 2); break; /* wrong length */
    case 2: send_frames(t, p, K_SHAPE, frames, lens, 3); break; /* extra frame */
    default: send_one(t, p, K_SHAPE, junk, 0); break;           /* empty frame */
    }
    ft_free(env);
}

static void send_stale(traffic_t *t, peer_t *p)
{
    if (!t->N) { /* nothing learnt yet: a 4-float update */
        float v[4] = {0};
        uint8_t b[16];
        ft_msg_t m;
        update_msg(t, p, &m);
        ft_wire_put_floats(b, v, 4);
        ft_wire_digest_floats(v, 4, m.u.update.digest);
        send_msg(t, p, K_STALE, &m, b);
        return;
    }
    ft_msg_t m;
    update_msg(t, p, &m);
    ft_wire_digest_floats(t->vec, t->N, m.u.update.digest);
    send_msg(t, p, K_STALE, &m, t->vec_bytes);
}

static void send_foreign(traffic_t *t, peer_t *p)
{
    static const ft_msg_type_t types[] = {FT_MSG_HEARTBEAT, FT_MSG_REQUEST, FT_MSG_ERROR,
                                          FT_MSG_TASK,      FT_MSG_WELCOME, FT_MSG_SHUTDOWN};
    ft_msg_t m;
    ft_msg_init(&m, types[ft_rng_below(&t->rng, sizeof types / sizeof types[0])]);
    uint32_t someone = 1 + ft_rng_below(&t->rng, 64);
    switch (m.type) {
    case FT_MSG_HEARTBEAT: m.u.heartbeat.process_id = someone; break;
    case FT_MSG_REQUEST: m.u.request.process_id = someone; break;
    case FT_MSG_ERROR:
        m.u.error.code = FT_EPROTO;
        m.u.error.round = 1 + ft_rng_below(&t->rng, 10);
        snprintf(m.u.error.reason, sizeof m.u.error.reason, "soak %u", someone);
        break;
    case FT_MSG_TASK:
        m.u.task.round = 1;
        m.u.task.lr = 0.1f;
        m.u.task.num_params = 4;
        break;
    case FT_MSG_WELCOME:
        m.u.welcome.process_id = someone;
        m.u.welcome.config_ini = "[run]\nseed = 1\n";
        m.u.welcome.num_params = 4;
        break;
    default: strcpy(m.u.shutdown.reason, "complete"); break;
    }
    /* A registered socket must not send a Request: it would be handed a task it
     * never trains, which stalls the round for 5 heartbeat periods. */
    if (m.type == FT_MSG_REQUEST && p->process_id)
        m.type = FT_MSG_HEARTBEAT;
    send_msg(t, p, K_FOREIGN, &m, NULL);
}

static void send_hello(traffic_t *t, peer_t *p)
{
    uint32_t ids[MAX_IDS];
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_HELLO);
    m.u.hello.pid = 100000 + ft_rng_below(&t->rng, 100000);
    snprintf(m.u.hello.host, sizeof m.u.hello.host, "soak-%u", ft_rng_below(&t->rng, 1000));
    m.u.hello.threads = 1;
    if (ft_rng_below(&t->rng, 2) == 0) {
        m.u.hello.pool = 1;
    } else {
        size_t n = 1 + ft_rng_below(&t->rng, MAX_IDS);
        for (size_t i = 0; i < n; i++)
            ids[i] = ft_rng_below(&t->rng, 100000);
        m.u.hello.clients = ids;
        m.u.hello.num_clients = n;
    }
    send_msg(t, p, K_HELLO, &m, NULL);
}

static void send_oversize(traffic_t *t, peer_t *p, size_t bytes)
{
    uint8_t *buf = ft_calloc(bytes, 1);
    if (!buf)
        return;
    send_one(t, p, K_OVERSIZE, buf, bytes);
    ft_free(buf);
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr, "usage: soak_traffic --connect EP [--pid PID] [--seconds S] [--rate R]\n"
                    "         [--hello-rate H] [--churn-rate C] [--sockets S] [--corpus DIR]\n"
                    "         [--max-message-mb M] [--seed N]\n");
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    const char *endpoint = NULL, *corpus = NULL;
    double seconds = 0, rate = 200, hello_rate = 1, churn_rate = 10;
    long pid = 0, max_mb = 0, seed = 1, sockets = 8;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        if (!strcmp(a, "--connect"))
            endpoint = v;
        else if (!strcmp(a, "--corpus"))
            corpus = v;
        else if (!strcmp(a, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(a, "--rate"))
            rate = atof(v);
        else if (!strcmp(a, "--hello-rate"))
            hello_rate = atof(v);
        else if (!strcmp(a, "--churn-rate"))
            churn_rate = atof(v);
        else if (!strcmp(a, "--pid"))
            pid = atol(v);
        else if (!strcmp(a, "--max-message-mb"))
            max_mb = atol(v);
        else if (!strcmp(a, "--seed"))
            seed = atol(v);
        else if (!strcmp(a, "--sockets"))
            sockets = atol(v);
        else {
            usage();
            return 2;
        }
        i++;
    }
    if (!endpoint || rate <= 0 || sockets < 1 || sockets > MAX_SOCKETS || hello_rate < 0 ||
        churn_rate < 0 || max_mb < 0) {
        usage();
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    static traffic_t t;
    t.endpoint = endpoint;
    t.num_peers = (int)sockets;
    ft_rng_init(&t.rng, (uint64_t)seed, 0, 0, FT_RNG_TEST);
    build_bases(&t);
    if (corpus && load_corpus(&t, corpus) != FT_OK)
        fprintf(stderr, "soak_traffic: %s (going on with the built-in messages)\n",
                ft_error_message());
    int status = 0;
    t.zctx = zmq_ctx_new();
    for (int i = 0; t.zctx && i < t.num_peers; i++) {
        if (peer_open(&t, &t.peers[i]) != FT_OK) {
            fprintf(stderr, "soak_traffic: %s\n", ft_error_message());
            status = 1;
            break;
        }
    }
    if (!t.zctx)
        status = 1;

    double start = ft_now(), next_hello = start, next_churn = start, next_big = start + 5;
    const double weights[5] = {0.25, 0.25, 0.15, 0.2, 0.15}; /* garbage .. foreign */
    for (uint64_t n = 0; status == 0 && !stop_flag; n++) {
        double now = ft_now();
        if (seconds > 0 && now - start >= seconds)
            break;
        if (pid > 0 && (n % 64) == 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            break;
        peer_t *p = &t.peers[ft_rng_below(&t.rng, (uint32_t)t.num_peers)];
        if (hello_rate > 0 && now >= next_hello) {
            send_hello(&t, p);
            next_hello += 1.0 / hello_rate;
        } else if (churn_rate > 0 && now >= next_churn) {
            peer_close(p);
            if (peer_open(&t, p) != FT_OK) {
                fprintf(stderr, "soak_traffic: %s\n", ft_error_message());
                status = 1;
                break;
            }
            t.sent[K_CHURN]++;
            next_churn += 1.0 / churn_rate;
        } else if (max_mb > 0 && now >= next_big) {
            send_oversize(&t, p, (size_t)max_mb * 1024 * 1024 + 1);
            next_big += 5;
        } else {
            double u = ft_rng_uniform(&t.rng), acc = 0;
            int k = 0;
            while (k < 4 && u >= (acc += weights[k]))
                k++;
            switch (k) {
            case K_GARBAGE: send_garbage(&t, p); break;
            case K_MUTANT: send_mutant(&t, p); break;
            case K_SHAPE: send_shape(&t, p); break;
            case K_STALE: send_stale(&t, p); break;
            default: send_foreign(&t, p); break;
            }
        }
        for (int i = 0; i < t.num_peers; i++)
            drain(&t, &t.peers[i]);
        double due = start + (double)(n + 1) / rate - ft_now();
        if (due > 0)
            sleep_s(due);
    }

    printf("soak_traffic: %.0f s at %.0f msg/s, %ld sockets\n", ft_now() - start, rate, sockets);
    printf("  %-9s %10s %8s\n", "kind", "sent", "refused");
    for (int k = 0; k < K_COUNT; k++)
        printf("  %-9s %10llu %8llu\n", kind_name[k], (unsigned long long)t.sent[k],
               (unsigned long long)t.refused[k]);
    printf("  replies:");
    for (int m = 1; m < FT_MSG_COUNT_; m++)
        if (t.replies[m])
            printf(" %s %llu", ft_msg_type_name(m), (unsigned long long)t.replies[m]);
    printf(" (undecodable %llu)\n", (unsigned long long)t.bad_replies);

    for (int i = 0; i < t.num_peers; i++)
        peer_close(&t.peers[i]);
    if (t.zctx)
        ft_link_ctx_term(t.zctx);
    for (int i = 0; i < t.num_bases; i++)
        ft_free(t.bases[i]);
    ft_free(t.vec);
    ft_free(t.vec_bytes);
    return status;
}
