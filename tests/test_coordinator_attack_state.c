/* The coordinator keeps a stateful attack's state (A3FL's trigger) between rounds,
 * against a scripted client over ipc://: an attacker's first task carries none, each
 * later one carries exactly what the previous round's attacker returned; a state
 * from an honest client, or of the wrong size, is refused as a bad update; each
 * round's state is put in force with an "attack_state" event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_coordinator.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_link.h"
#include "ft_wire.h"

#include "scripted_client.h"
#include "ft_test_tmpdir.h"

#define S 64 /* the state: one 1x8x8 trigger */

/* Requests a task; returns it in in (the caller clears it). */
static void next_task(void *sock, ft_link_in_t *in)
{
    send_simple(sock, FT_MSG_REQUEST);
    recv_msg(sock, in);
    assert_int_equal(in->msg.type, FT_MSG_TASK);
}

static void expect_error(void *sock, const char *needle)
{
    ft_link_in_t in;
    recv_msg(sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_ERROR);
    assert_int_equal(in.msg.u.error.code, FT_EPROTO);
    if (!strstr(in.msg.u.error.reason, needle))
        fail_msg("error '%s' lacks '%s'", in.msg.u.error.reason, needle);
    ft_link_in_clear(&in);
}

static void test_state_between_rounds(void **state)
{
    (void)state;
    const char *sets[] = {SCRIPTED_MLP_SETS,
                          "federation.num_clients=4",
                          "federation.clients_per_round=2",
                          "federation.rounds=3",
                          "federation.round_timeout=30",
                          "federation.heartbeat_s=10",
                          "federation.lr=0.05",
                          "attack.method=a3fl",
                          "attack.fl_mode=every-round",
                          "attack.honest_edge_holders=0",
                          "attack.poison_points=4",
                          "attack.target_class=1",
                          NULL};
    scripted_t sc;
    scripted_start(&sc, "astate", sets);
    void *sock = sc.sock;
    uint8_t layout[32];
    scripted_hello(&sc, layout);
    ft_link_in_t in;
    float *delta = calloc(N_MLP, sizeof(float)), prev[S], st[S];
    for (int j = 0; j < S; j++)
        st[j] = 0.5f;
    for (uint32_t round = 1; round <= 3; round++) {
        for (int t = 0; t < 2; t++) {
            next_task(sock, &in);
            const ft_msg_task_t *k = &in.msg.u.task;
            assert_int_equal(k->round, round);
            uint32_t id = k->client_id;
            int att = k->attacker;
            uint64_t n = ft_coordinator_expected_samples(sc.run.c, id, att);
            if (!att) {
                assert_null(k->attack_state); /* honest clients never see it */
                ft_link_in_clear(&in);
                if (round == 1) { /* an honest client may not send one */
                    send_update_state(sock, round, id, n, delta, layout, 0, st, S);
                    expect_error(sock, "does not attack");
                    next_task(sock, &in);
                    assert_int_equal(in.msg.u.task.client_id, id);
                    ft_link_in_clear(&in);
                }
                send_update_state(sock, round, id, n, delta, layout, 0, NULL, 0);
                continue;
            }
            if (round == 1) {
                assert_null(k->attack_state); /* the first attack: the initial state */
            } else {
                assert_int_equal(k->attack_state_n, S); /* exactly the last one returned */
                assert_memory_equal(k->attack_state, prev, sizeof prev);
            }
            ft_link_in_clear(&in);
            for (int j = 0; j < S; j++)
                st[j] = 0.1f * (float)round + 0.001f * (float)j;
            if (round == 2) { /* the wrong size: refused, the task requeued */
                send_update_state(sock, round, id, n, delta, layout, 0, st, S - 1);
                expect_error(sock, "attack state of 63 floats, the attack keeps 64");
                next_task(sock, &in);
                assert_int_equal(in.msg.u.task.client_id, id);
                ft_link_in_clear(&in);
            }
            send_update_state(sock, round, id, n, delta, layout, 0, st, S);
            memcpy(prev, st, sizeof st);
        }
    }
    send_simple(sock, FT_MSG_REQUEST);
    recv_msg(sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_SHUTDOWN);
    ft_link_in_clear(&in);
    scripted_finish(&sc);

    char path[512], *text;
    size_t len;
    ft_test_tmpdir_path(path, sizeof path, sc.dir, "events.jsonl");
    assert_int_equal(ft_read_file(path, &text, &len), FT_OK);
    int events = 0;
    for (const char *p = text; (p = strstr(p, "\"event\":\"attack_state\"")); p++)
        events++;
    assert_int_equal(events, 3);
    assert_non_null(strstr(text, "\"event\":\"attack_state\",\"round\":3"));
    ft_free(text);
    free(delta);
    scripted_remove(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_state_between_rounds)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
