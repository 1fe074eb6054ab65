/* The coordinator against a scripted client over ipc://: registration, model sent
 * once per round, validation of every update (digest, stale round, unassigned
 * client, unregistered sender, garbage, a sample count other than the client's
 * partition size), FedAvg weighting by sample count in client-id order, and the run
 * directory it leaves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ft_alloc.h"
#include "ft_checkpoint.h"
#include "ft_config.h"
#include "ft_coordinator.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_link.h"
#include "ft_wire.h"

#include "scripted_client.h"
#include "ft_test_tmpdir.h"

static void test_scripted_client(void **state)
{
    (void)state;
    const char *sets[] = {SCRIPTED_MLP_SETS,
                          "federation.num_clients=4",
                          "federation.partition=dirichlet", /* unequal weights */
                          "federation.clients_per_round=2",
                          "federation.rounds=1",
                          "federation.round_timeout=30",
                          "federation.heartbeat_s=10",
                          "federation.lr=0.05",
                          NULL};
    scripted_t sc;
    scripted_start(&sc, "wire", sets);
    void *sock = sc.sock;
    const char *dir = sc.dir;
    ft_link_in_t in;

    /* not registered yet: an Error asking for hello */
    send_simple(sock, FT_MSG_REQUEST);
    recv_msg(sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_ERROR);
    assert_int_equal(in.msg.u.error.code, FT_ESTATE);
    ft_link_in_clear(&in);
    zmq_send(sock, "\x01\x02garbage", 9, 0); /* rejected, no answer */

    send_simple(sock, FT_MSG_HELLO);
    recv_msg(sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_WELCOME);
    assert_int_equal(in.msg.u.welcome.num_params, N_MLP);
    assert_int_equal(in.msg.u.welcome.rounds, 1);
    assert_non_null(strstr(in.msg.u.welcome.config_ini, "synthetic"));
    uint8_t layout[32];
    memcpy(layout, in.msg.u.welcome.layout_hash, 32);
    ft_link_in_clear(&in);

    /* first task: with the model */
    send_simple(sock, FT_MSG_REQUEST);
    recv_msg(sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_TASK);
    assert_true(in.msg.u.task.has_model);
    assert_int_equal(in.msg.u.task.round, 1);
    assert_true(in.msg.u.task.lr == 0.05f);
    assert_int_equal(ft_wire_check_vector(ft_link_payload(&in), ft_link_payload_len(&in), N_MLP,
                                          in.msg.u.task.model_digest),
                     FT_OK);
    float *global = malloc(N_MLP * 4);
    ft_wire_get_floats(global, ft_link_payload(&in), N_MLP);
    uint32_t first = in.msg.u.task.client_id;
    ft_link_in_clear(&in);

    float *delta = malloc(N_MLP * 4);
    for (int i = 0; i < N_MLP; i++)
        delta[i] = 0.5f;
    uint64_t n_first = ft_coordinator_expected_samples(sc.run.c, first, 0);
    assert_true(n_first > 0);
    /* corrupted digest: rejected with an Error, the task goes back to the queue */
    send_update(sock, 1, first, n_first, delta, layout, 1);
    recv_msg(sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_ERROR);
    assert_int_equal(in.msg.u.error.code, FT_EDIGEST);
    ft_link_in_clear(&in);

    /* a sample count that is not the partition's (2^64-1 would take all the weight;
     * one more or one less is as wrong): rejected with an Error, requeued */
    const uint64_t bad_counts[] = {UINT64_MAX, n_first + 1, n_first - 1};
    for (int b = 0; b < 3; b++) {
        send_simple(sock, FT_MSG_REQUEST);
        recv_msg(sock, &in);
        assert_int_equal(in.msg.type, FT_MSG_TASK);
        assert_int_equal(in.msg.u.task.client_id, first);
        ft_link_in_clear(&in);
        send_update(sock, 1, first, bad_counts[b], delta, layout, 0);
        recv_msg(sock, &in);
        assert_int_equal(in.msg.type, FT_MSG_ERROR);
        assert_int_equal(in.msg.u.error.code, FT_EPROTO);
        assert_non_null(strstr(in.msg.u.error.reason, "num_samples"));
        ft_link_in_clear(&in);
    }

    /* next task: no model (this process holds it already) */
    send_simple(sock, FT_MSG_REQUEST);
    recv_msg(sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_TASK);
    assert_false(in.msg.u.task.has_model);
    assert_int_equal(in.msg.u.task.client_id, first); /* requeued, lowest id first */
    ft_link_in_clear(&in);
    send_update(sock, 2, first, n_first, delta, layout, 0);           /* stale round */
    send_update(sock, 1, (first + 1) % 4, n_first, delta, layout, 0); /* not assigned */
    send_update(sock, 1, first, n_first, delta, layout, 0);           /* accepted */

    send_simple(sock, FT_MSG_REQUEST);
    recv_msg(sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_TASK);
    assert_false(in.msg.u.task.has_model);
    uint32_t second = in.msg.u.task.client_id;
    assert_true(second > first);
    ft_link_in_clear(&in);
    for (int i = 0; i < N_MLP; i++)
        delta[i] = -0.25f;
    uint64_t n_second = ft_coordinator_expected_samples(sc.run.c, second, 0);
    assert_true(n_second > 0 && n_second != n_first); /* the weighting shows */
    send_update(sock, 1, second, n_second, delta, layout, 0);
    send_simple(sock, FT_MSG_REQUEST);
    recv_msg(sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_SHUTDOWN);
    assert_string_equal(in.msg.u.shutdown.reason, "complete");
    ft_link_in_clear(&in);

    scripted_finish(&sc);

    /* FedAvg by sample count: (0.5 n1 - 0.25 n2) / (n1 + n2) */
    double avg = (0.5 * (double)n_first - 0.25 * (double)n_second) / (double)(n_first + n_second);
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, "final.ckpt");
    ft_checkpoint_t ck;
    assert_int_equal(ft_checkpoint_load(path, layout, &ck), FT_OK);
    assert_int_equal(ck.num_params, N_MLP);
    for (int i = 0; i < N_MLP; i++)
        assert_float_equal(ck.params[i], global[i] + (float)avg, 1e-6);
    char val[32];
    assert_true(ft_checkpoint_meta(&ck, "complete", val, sizeof val));
    assert_string_equal(val, "1");
    ft_checkpoint_free(&ck);

    char *text;
    size_t len;
    ft_test_tmpdir_path(path, sizeof path, dir, "events.jsonl");
    assert_int_equal(ft_read_file(path, &text, &len), FT_OK);
    assert_non_null(strstr(text, "has not registered"));
    assert_non_null(strstr(text, "\"message\":\"malformed\""));
    assert_non_null(strstr(text, "digest mismatch"));
    assert_non_null(strstr(text, "stale update for round 2"));
    /* logged unsigned, never -1 */
    assert_non_null(strstr(text, "num_samples = 18446744073709551615, expected"));
    assert_null(strstr(text, "\"samples\":-"));
    assert_non_null(strstr(text, "is not assigned to this process"));
    assert_non_null(strstr(text, "\"event\":\"complete\""));
    ft_free(text);
    ft_test_tmpdir_path(path, sizeof path, dir, "metrics.csv");
    assert_int_equal(ft_read_file(path, &text, &len), FT_OK);
    char *row = strchr(text, '\n') + 1;
    assert_int_equal(strncmp(row, "1,", 2), 0);
    assert_non_null(strstr(row, ",2,2,1,0,")); /* clients, sampled, attempts, attackers */
    ft_free(text);
    ft_test_tmpdir_path(path, sizeof path, dir, "config.ini");
    assert_true(ft_path_exists(path));
    free(global);
    free(delta);
    scripted_remove(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_scripted_client)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
