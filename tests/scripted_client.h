/* scripted_client.h: a hand-driven client for coordinator tests — the
 * coordinator runs on a thread; the test plays a client process over a real
 * ZeroMQ socket, message by message. Include after <cmocka.h>. */
#ifndef FT_TEST_SCRIPTED_CLIENT_H
#define FT_TEST_SCRIPTED_CLIENT_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "ft_config.h"
#include "ft_coordinator.h"
#include "ft_error.h"
#include "ft_link.h"
#include "ft_test_tmpdir.h"
#include "ft_wire.h"

#define N_MLP (64 * 16 + 16 + 16 * 10 + 10)

/* The population the scripted tests start from: synthetic 1x8x8 data and an mlp of 16
 * hidden units (N_MLP parameters). */
#define SCRIPTED_MLP_SETS                                                                          \
    "data.dataset=synthetic", "data.synthetic_train=200", "data.synthetic_test=50",                \
        "data.synthetic_shape=1,8,8", "model.name=mlp", "model.hidden=16"

static ft_wire_limits_t lim;

typedef struct {
    ft_coordinator_t *c; /* coordinator under test */
    int rc;              /* what ft_coordinator_run returned */
} run_t;

static void *run_thread(void *arg)
{
    run_t *r = arg;
    r->rc = ft_coordinator_run(r->c);
    return NULL;
}

static inline void recv_msg(void *sock, ft_link_in_t *in)
{
    zmq_pollitem_t pi = {sock, 0, ZMQ_POLLIN, 0};
    for (;;) {
        assert_int_equal(zmq_poll(&pi, 1, 20000), 1);
        int rc = ft_link_recv(sock, 0, &lim, in);
        if (rc == FT_ETIMEOUT)
            continue;
        assert_int_equal(rc, FT_OK);
        if (in->msg.type != FT_MSG_HEARTBEAT)
            return;
        ft_link_in_clear(in);
    }
}

static inline void send_simple(void *sock, ft_msg_type_t type)
{
    ft_msg_t m;
    ft_msg_init(&m, type);
    if (type == FT_MSG_HELLO)
        m.u.hello.pool = 1;
    assert_int_equal(ft_link_send(sock, NULL, 0, &m, NULL, NULL, NULL), FT_OK);
}

/* An Update of N_MLP floats; state (n floats, may be NULL) rides as its attack state. */
static inline void send_update_state(void *sock, uint32_t round, uint32_t client, uint64_t samples,
                                     const float *delta, const uint8_t layout[32], int corrupt,
                                     const float *state, size_t n)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_UPDATE);
    m.u.update.round = round;
    m.u.update.client_id = client;
    m.u.update.num_samples = samples;
    m.u.update.num_params = N_MLP;
    memcpy(m.u.update.layout_hash, layout, 32);
    ft_wire_digest_floats(delta, N_MLP, m.u.update.digest);
    if (corrupt)
        m.u.update.digest[0] ^= 1;
    m.u.update.attack_state = (float *)state;
    m.u.update.attack_state_n = n;
    m.payload_len = N_MLP * 4;
    assert_int_equal(ft_link_send(sock, NULL, 0, &m, delta, NULL, NULL), FT_OK);
}

static inline void send_update(void *sock, uint32_t round, uint32_t client, uint64_t samples,
                               const float *delta, const uint8_t layout[32], int corrupt)
{
    send_update_state(sock, round, client, samples, delta, layout, corrupt, NULL, 0);
}

/* A coordinator on its own thread, bound to ipc://DIR/c.sock of a fresh temporary
 * run directory, and the test's DEALER socket connected to it. */
typedef struct {
    char dir[FT_TEST_TMPDIR_MAX];
    char endpoint[FT_TEST_TMPDIR_MAX + 16];
    ft_config_t *cfg;
    run_t run;
    pthread_t th;
    void *ctx, *sock;
} scripted_t;

/* Starts it with the assignments sets (NULL-terminated) over a default config. */
static inline void scripted_start(scripted_t *s, const char *tag, const char *const *sets)
{
    memset(s, 0, sizeof *s);
    ft_wire_limits_default(&lim, 64);
    assert_int_equal(ft_test_tmpdir_make(s->dir, sizeof s->dir, tag), 0);
    snprintf(s->endpoint, sizeof s->endpoint, "ipc://%s/c.sock", s->dir);
    s->cfg = ft_config_new();
    for (size_t i = 0; sets[i]; i++)
        assert_int_equal(ft_config_set(s->cfg, sets[i], "test"), FT_OK);
    ft_coord_opts_t opts = {.bind = s->endpoint, .out_dir = s->dir};
    assert_int_equal(ft_coordinator_new(s->cfg, &opts, &s->run.c), FT_OK);
    assert_int_equal(pthread_create(&s->th, NULL, run_thread, &s->run), 0);
    s->ctx = zmq_ctx_new();
    s->sock = zmq_socket(s->ctx, ZMQ_DEALER);
    assert_int_equal(zmq_connect(s->sock, s->endpoint), 0);
}

/* Hello -> Welcome; the model's layout hash into layout. */
static inline void scripted_hello(scripted_t *s, uint8_t layout[32])
{
    ft_link_in_t in;
    send_simple(s->sock, FT_MSG_HELLO);
    recv_msg(s->sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_WELCOME);
    memcpy(layout, in.msg.u.welcome.layout_hash, 32);
    ft_link_in_clear(&in);
}

/* Waits for the run to end (it must end well) and closes both sides; the run
 * directory stays (scripted_remove). */
static inline void scripted_finish(scripted_t *s)
{
    pthread_join(s->th, NULL);
    assert_int_equal(s->run.rc, FT_OK);
    ft_coordinator_destroy(&s->run.c);
    zmq_close(s->sock);
    zmq_ctx_term(s->ctx);
}

static inline void scripted_remove(scripted_t *s)
{
    ft_config_destroy(&s->cfg);
    assert_int_equal(ft_test_tmpdir_remove(s->dir), 0);
}

#endif
