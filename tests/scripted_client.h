/* scripted_client.h: a hand-driven client for coordinator tests — the
 * coordinator runs on a thread; the test plays a client process over a real
 * ZeroMQ socket, message by message. Include after <cmocka.h>. */
#ifndef FT_TEST_SCRIPTED_CLIENT_H
#define FT_TEST_SCRIPTED_CLIENT_H

#include <string.h>
#include <zmq.h>

#include "ft_coordinator.h"
#include "ft_error.h"
#include "ft_link.h"
#include "ft_wire.h"

#define N_MLP (64 * 16 + 16 + 16 * 10 + 10)

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

static inline void send_update(void *sock, uint32_t round, uint32_t client, uint64_t samples,
                               const float *delta, const uint8_t layout[32], int corrupt)
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
    m.payload_len = N_MLP * 4;
    assert_int_equal(ft_link_send(sock, NULL, 0, &m, delta, NULL, NULL), FT_OK);
}

#endif
