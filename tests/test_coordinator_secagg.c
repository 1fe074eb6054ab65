/* The coordinator's stages of secure aggregation (coordinator/ft_coord_secagg.c)
 * against one scripted client process over ipc:// that answers with the real client
 * stages (client/ft_client_secagg.h) — except that it tampers with one client's masked
 * input (its payload no longer matches its digest). The coordinator must reject that
 * message, count the client as dropped after its shares (U2 \ U3), rebuild its mask
 * key from the others' shares, and finish the round with the other two, whose mean
 * leaves a finite model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_checkpoint.h"
#include "ft_client_secagg.h"
#include "ft_config.h"
#include "ft_coordinator.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_link.h"
#include "ft_wire.h"

#include "ft_test_tmpdir.h"
#include "scripted_client.h"

/* The client ids of the sample are 0, 1, 2 (all of the population); client 1's
 * masked input is tampered with. Client c's update is the constant (c + 1) / 100. */
static void test_tampered_masked_input(void **state)
{
    (void)state;
    ft_wire_limits_default(&lim, 64);
    char dir[FT_TEST_TMPDIR_MAX];
    assert_int_equal(ft_test_tmpdir_make(dir, sizeof dir, "sa"), 0);
    char endpoint[FT_TEST_TMPDIR_MAX + 16];
    snprintf(endpoint, sizeof endpoint, "ipc://%s/c.sock", dir);
    ft_config_t *cfg = ft_config_new();
    const char *sets[] = {"data.dataset=synthetic",
                          "data.synthetic_train=200",
                          "data.synthetic_test=50",
                          "data.synthetic_shape=1,8,8",
                          "model.name=mlp",
                          "model.hidden=16",
                          "federation.num_clients=3",
                          "federation.clients_per_round=3",
                          "federation.round_timeout=30",
                          "federation.heartbeat_s=10",
                          "federation.rounds=1",
                          "federation.init=random",
                          "security.secure_aggregation=on"};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
        assert_int_equal(ft_config_set(cfg, sets[i], "test"), FT_OK);
    ft_experiment_t exp;
    assert_int_equal(ft_experiment_read(cfg, &exp), FT_OK);
    ft_coord_opts_t opts = {.bind = endpoint, .out_dir = dir};
    run_t run = {0};
    assert_int_equal(ft_coordinator_new(cfg, &opts, &run.c), FT_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_thread, &run), 0);

    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_connect(sock, endpoint), 0);
    send_simple(sock, FT_MSG_HELLO);
    ft_link_in_t in;
    recv_msg(sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_WELCOME);
    uint8_t layout[32];
    memcpy(layout, in.msg.u.welcome.layout_hash, 32);
    ft_link_in_clear(&in);
    ft_client_sa_t *sa = ft_client_sa_new(N_MLP, &exp.security, 0);
    assert_non_null(sa);
    static float delta[N_MLP];
    uint64_t samples = 0, round_samples = 0;
    int done = 0, masked = 0, revealed = 0;
    send_simple(sock, FT_MSG_REQUEST);
    while (!done) {
        recv_msg(sock, &in);
        ft_msg_t m;
        ft_msg_init(&m, FT_MSG_SECAGG);
        const void *payload = NULL;
        size_t len = 0;
        if (in.msg.type == FT_MSG_TASK) {
            uint32_t c = in.msg.u.task.client_id;
            assert_true(c < 3);
            samples = ft_coordinator_expected_samples(run.c, c, 0);
            round_samples = in.msg.u.task.round_samples;
            for (int i = 0; i < N_MLP; i++)
                delta[i] = (float)(c + 1) / 100.0f;
            assert_int_equal(
                ft_client_sa_begin(sa, 1, 0, c, delta, samples, round_samples, 1, &m.u.secagg),
                FT_OK);
            m.u.secagg.num_params = N_MLP;
            memcpy(m.u.secagg.layout_hash, layout, 32);
            assert_int_equal(ft_link_send(sock, NULL, 0, &m, NULL, NULL, NULL), FT_OK);
            send_simple(sock, FT_MSG_REQUEST);
        } else if (in.msg.type == FT_MSG_SECAGG) {
            assert_int_equal(ft_client_sa_handle(sa, &in.msg.u.secagg, &m.u.secagg, &payload, &len),
                             FT_OK);
            m.payload_len = len;
            static uint8_t bad[N_MLP * 4];
            if (m.u.secagg.stage == FT_SA_STAGE_MASKED) {
                masked++;
                if (m.u.secagg.client_id == 1) { /* tampered in transit: one bit */
                    memcpy(bad, payload, len);
                    bad[17] ^= 0x04;
                    payload = bad;
                }
            }
            revealed += m.u.secagg.stage == FT_SA_STAGE_REVEAL;
            assert_int_equal(ft_link_send(sock, NULL, 0, &m, payload, NULL, NULL), FT_OK);
        } else {
            assert_int_equal(in.msg.type, FT_MSG_SHUTDOWN);
            done = 1;
        }
        ft_link_in_clear(&in);
    }
    pthread_join(th, NULL);
    assert_int_equal(run.rc, FT_OK);
    assert_int_equal(masked, 3);
    assert_int_equal(revealed, 2); /* only the survivors were asked to unmask */
    ft_coordinator_destroy(&run.c);
    ft_client_sa_destroy(&sa);
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(sock);
    zmq_ctx_term(ctx);

    char path[FT_TEST_TMPDIR_MAX + 32];
    char *ev = NULL;
    size_t ev_len = 0;
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    assert_int_equal(ft_read_file(path, &ev, &ev_len), FT_OK);
    const char *e = ev;
    assert_non_null(strstr(e, "\"message\":\"secagg\",\"reason\":\"client 1: masked input: "
                              "vector digest mismatch"));
    assert_non_null(strstr(e, "\"u1\":3,\"threshold\":2,\"u2\":3,\"u3\":2,\"u4\":2,"
                              "\"outcome\":\"ok\""));
    ft_free(ev);
    /* the round closed with the two survivors, and the model is finite */
    char *mt = NULL;
    size_t mt_len = 0;
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    assert_int_equal(ft_read_file(path, &mt, &mt_len), FT_OK);
    assert_non_null(strstr(mt, "\n1,"));
    ft_free(mt);
    ft_checkpoint_t ck;
    snprintf(path, sizeof path, "%s/final.ckpt", dir);
    assert_int_equal(ft_checkpoint_load(path, NULL, &ck), FT_OK);
    assert_int_equal(ck.num_params, N_MLP);
    for (int i = 0; i < N_MLP; i++)
        assert_true(isfinite(ck.params[i]));
    ft_checkpoint_free(&ck);
    ft_config_destroy(&cfg);
    assert_int_equal(ft_test_tmpdir_remove(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tampered_masked_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
