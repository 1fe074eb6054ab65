/* flood_peer: hostile peers for the resource-bound tests (tests/integration/
 * fed_flood_hello.sh, fed_flood_fds.sh). Not a benchmark: it sends exactly what it
 * is told and says what came back.
 *
 *   flood_peer hello   EP COUNT IDS [FIRST] [CURVE...]
 *       COUNT Hellos, each from a fresh DEALER socket (a new routing id) naming IDS
 *       fixed client ids FIRST, FIRST+1, ... (FIRST defaults to 0; IDS 0: a pool),
 *       50 sockets at a time: each batch waits up to 3 s for its replies, then
 *       closes its sockets. Prints "welcome W error E silent S".
 *   flood_peer again   EP COUNT IDS [FIRST] [CURVE...]
 *       The same COUNT Hellos from one socket: the coordinator sees one process
 *       registering again and again.
 *   flood_peer raw     HOST PORT COUNT SECONDS
 *       COUNT TCP connections that send nothing (a handshake never begun), each
 *       reopened as soon as the server closes it, for SECONDS. Prints the most
 *       connections open at once and how many the server closed.
 *   flood_peer zmq     EP COUNT SECONDS [CURVE...]
 *       COUNT DEALER sockets connected (libzmq completes the handshake and answers
 *       heartbeats, and reconnects when dropped), held for SECONDS, sending nothing.
 *
 * CURVE... is SERVER_PUB CLIENT_SECRET (key files of fedtail keygen). The tool
 * raises its own open-file limit to the hard one. Exit 0, 2 on bad arguments, 1
 * when sockets cannot be set up. */
#include "ft_curve.h"
#include "ft_error.h"
#include "ft_link.h"
#include "ft_wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

typedef struct {
    int on;                           /* CURVE keys given */
    uint8_t server[FT_CURVE_KEY_LEN]; /* server public key */
    uint8_t pub[FT_CURVE_KEY_LEN];    /* client keypair */
    uint8_t secret[FT_CURVE_KEY_LEN]; /* ... */
} keys_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int load_keys(int argc, char **argv, int at, keys_t *k)
{
    memset(k, 0, sizeof *k);
    if (argc <= at)
        return 0;
    if (argc < at + 2)
        return -1;
    if (ft_curve_load_public(argv[at], k->server) != FT_OK ||
        ft_curve_load_keypair(NULL, argv[at + 1], k->pub, k->secret) != FT_OK) {
        fprintf(stderr, "flood_peer: %s\n", ft_error_message());
        return -1;
    }
    k->on = 1;
    return 0;
}

static void *dealer(void *ctx, const char *ep, const keys_t *k)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    if (!s)
        return NULL;
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if ((k->on && ft_curve_client_setup(s, k->server, k->pub, k->secret) != FT_OK) ||
        zmq_connect(s, ep) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* Sends one Hello on s. */
static int send_hello(void *s, const uint32_t *ids, long nids)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_HELLO);
    m.u.hello.pid = (uint32_t)getpid();
    snprintf(m.u.hello.host, sizeof m.u.hello.host, "flood");
    m.u.hello.pool = nids == 0;
    m.u.hello.clients = (uint32_t *)ids;
    m.u.hello.num_clients = (size_t)nids;
    if (ft_link_send(s, NULL, 0, &m, NULL, NULL, NULL) != FT_OK) {
        fprintf(stderr, "flood_peer: send: %s\n", ft_error_message());
        return -1;
    }
    return 0;
}

#define BATCH 50

/* hello / again: batches of up to BATCH sockets (one, again and again, for
 * again), each sending its Hello; replies are awaited up to 3 s a batch. */
static int flood_hello(int argc, char **argv, int same_socket)
{
    if (argc < 5)
        return 2;
    const char *ep = argv[2];
    long count = atol(argv[3]), nids = atol(argv[4]);
    unsigned long first = argc > 5 ? strtoul(argv[5], NULL, 10) : 0;
    keys_t k;
    if (count < 1 || nids < 0 || load_keys(argc, argv, 6, &k) != 0)
        return 2;
    uint32_t *ids = malloc((size_t)(nids ? nids : 1) * sizeof *ids);
    if (!ids)
        return 1;
    for (long i = 0; i < nids; i++)
        ids[i] = (uint32_t)(first + (unsigned long)i);
    ft_wire_limits_t lim;
    ft_wire_limits_default(&lim, 64);
    void *ctx = zmq_ctx_new();
    long welcome = 0, error = 0, silent = 0;
    void *one = NULL;
    for (long done = 0; done < count;) {
        long b = same_socket ? 1 : (count - done < BATCH ? count - done : BATCH);
        void *s[BATCH];
        int got[BATCH] = {0};
        for (long i = 0; i < b; i++) {
            s[i] = same_socket && one ? one : dealer(ctx, ep, &k);
            if (!s[i] || send_hello(s[i], ids, nids) != 0) {
                fprintf(stderr, "flood_peer: socket: %s\n", zmq_strerror(errno));
                return 1;
            }
            one = same_socket ? s[i] : NULL;
        }
        long replied = 0;
        double until = now_s() + 3;
        while (replied < b && now_s() < until) {
            zmq_pollitem_t pi[BATCH];
            for (long i = 0; i < b; i++)
                pi[i] = (zmq_pollitem_t){s[i], 0, ZMQ_POLLIN, 0};
            if (zmq_poll(pi, (int)b, 100) <= 0)
                continue;
            for (long i = 0; i < b; i++) {
                if (!(pi[i].revents & ZMQ_POLLIN))
                    continue;
                ft_link_in_t in;
                if (ft_link_recv(s[i], 0, &lim, &in) != FT_OK)
                    continue;
                if (!got[i] && (in.msg.type == FT_MSG_WELCOME || in.msg.type == FT_MSG_ERROR)) {
                    got[i] = 1;
                    replied++;
                    welcome += in.msg.type == FT_MSG_WELCOME;
                    error += in.msg.type == FT_MSG_ERROR;
                }
                ft_link_in_clear(&in);
            }
        }
        silent += b - replied;
        for (long i = 0; i < b && !same_socket; i++)
            zmq_close(s[i]);
        done += b;
    }
    if (one)
        zmq_close(one);
    zmq_ctx_term(ctx);
    free(ids);
    printf("welcome %ld error %ld silent %ld\n", welcome, error, silent);
    return 0;
}

static int raw_open(const struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)a, sizeof *a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* raw */
static int flood_raw(int argc, char **argv)
{
    if (argc < 6)
        return 2;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
    long count = atol(argv[4]);
    double seconds = atof(argv[5]);
    if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1 || count < 1)
        return 2;
    struct pollfd *p = calloc((size_t)count, sizeof *p);
    if (!p)
        return 1;
    long open_now = 0, peak = 0, closed = 0;
    double end = now_s() + seconds;
    for (long i = 0; i < count; i++) {
        p[i].fd = raw_open(&a);
        p[i].events = POLLIN;
        open_now += p[i].fd >= 0;
    }
    while (now_s() < end) {
        if (open_now > peak)
            peak = open_now;
        if (poll(p, (nfds_t)count, 100) < 0 && errno != EINTR)
            break;
        for (long i = 0; i < count; i++) {
            if (p[i].fd >= 0 && !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (p[i].fd >= 0) {
                char buf[256];
                if (read(p[i].fd, buf, sizeof buf) > 0)
                    continue; /* the server's greeting: keep silent */
                close(p[i].fd);
                closed++;
                open_now--;
            }
            p[i].fd = raw_open(&a); /* reopen at once (or retry next time) */
            p[i].revents = 0;
            open_now += p[i].fd >= 0;
        }
    }
    for (long i = 0; i < count; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
    free(p);
    printf("peak %ld closed_by_server %ld\n", peak, closed);
    return 0;
}

/* zmq */
static int flood_zmq(int argc, char **argv)
{
    if (argc < 5)
        return 2;
    const char *ep = argv[2];
    long count = atol(argv[3]);
    double seconds = atof(argv[4]);
    keys_t k;
    if (count < 1 || load_keys(argc, argv, 5, &k) != 0)
        return 2;
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)count + 16);
    void **s = calloc((size_t)count, sizeof *s);
    if (!s)
        return 1;
    for (long i = 0; i < count; i++)
        if (!(s[i] = dealer(ctx, ep, &k))) {
            fprintf(stderr, "flood_peer: socket %ld: %s\n", i, zmq_strerror(errno));
            return 1;
        }
    double end = now_s() + seconds;
    while (now_s() < end)
        usleep(100000);
    for (long i = 0; i < count; i++)
        zmq_close(s[i]);
    free(s);
    zmq_ctx_term(ctx);
    printf("held %ld\n", count);
    return 0;
}

int main(int argc, char **argv)
{
    raise_nofile();
    int rc = 2;
    if (argc > 1 && strcmp(argv[1], "hello") == 0)
        rc = flood_hello(argc, argv, 0);
    else if (argc > 1 && strcmp(argv[1], "again") == 0)
        rc = flood_hello(argc, argv, 1);
    else if (argc > 1 && strcmp(argv[1], "raw") == 0)
        rc = flood_raw(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "zmq") == 0)
        rc = flood_zmq(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: see the comment at the top of tests/flood_peer.c\n");
    return rc;
}
