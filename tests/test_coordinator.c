/* Unit tests for the coordinator's parts (sampling, lr schedule, round slots,
 * process table, client-id lists, metrics columns, events JSON, the global model's
 * aggregation). Expected values are hand-worked. The schedule is the scenario's
 * (test_scenario.c), the config checks the experiment's (test_experiment.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_coordinator.h"
#include "ft_error.h"
#include "ft_events.h"
#include "ft_fileio.h"
#include "ft_global.h"
#include "ft_metrics.h"
#include "ft_procs.h"
#include "ft_round.h"
#include "ft_sampling.h"
#include "ft_test_experiment.h"
#include "ft_test_tmpdir.h"

static void test_sampling(void **state)
{
    (void)state;
    uint32_t a[10], b[10], c[10];
    assert_int_equal(ft_sample_clients(1, 3, 0, 100, 10, a), FT_OK);
    for (int i = 0; i < 10; i++) {
        assert_true(a[i] < 100);
        if (i)
            assert_true(a[i] > a[i - 1]); /* sorted and distinct */
    }
    assert_int_equal(ft_sample_clients(1, 3, 0, 100, 10, b), FT_OK);
    assert_memory_equal(a, b, sizeof a); /* deterministic */
    assert_int_equal(ft_sample_clients(1, 4, 0, 100, 10, c), FT_OK);
    assert_memory_not_equal(a, c, sizeof a); /* per round */
    assert_int_equal(ft_sample_clients(1, 3, 1, 100, 10, c), FT_OK);
    assert_memory_not_equal(a, c, sizeof a); /* a retry draws afresh */
    assert_int_equal(ft_sample_clients(2, 3, 0, 100, 10, c), FT_OK);
    assert_memory_not_equal(a, c, sizeof a); /* per seed */
    /* K = N: everybody */
    uint32_t all[7];
    assert_int_equal(ft_sample_clients(5, 1, 0, 7, 7, all), FT_OK);
    for (uint32_t i = 0; i < 7; i++)
        assert_int_equal(all[i], i);
    assert_int_equal(ft_sample_clients(5, 1, 0, 7, 8, all), FT_EINVAL);
    assert_int_equal(ft_sample_clients(5, 1, 0, 7, 0, all), FT_EINVAL);
    /* uniform: over 2000 rounds each of 20 ids is drawn ~ 2000*5/20 = 500 times */
    int hist[20] = {0};
    uint32_t s[5];
    for (uint32_t r = 1; r <= 2000; r++) {
        ft_sample_clients(9, r, 0, 20, 5, s);
        for (int i = 0; i < 5; i++)
            hist[s[i]]++;
    }
    for (int i = 0; i < 20; i++)
        assert_true(hist[i] > 420 && hist[i] < 580); /* > 4 sigma (sigma ~ 19) */
}

static void test_lr_schedule(void **state)
{
    (void)state;
    assert_true(ft_round_lr(0.1, 0.5, 1) == 0.1f);
    assert_true(fabsf(ft_round_lr(0.1, 0.5, 3) - 0.025f) < 1e-9f);
    assert_true(ft_round_lr(0.01, 1.0, 30) == 0.01f);
    assert_true(fabsf(ft_round_lr(0.02, 0.998, 11) - 0.02f * powf(0.998f, 10)) < 1e-7f);
}

static int serve_even(const void *user, uint32_t id)
{
    (void)user;
    return id % 2 == 0;
}

static void test_round_slots(void **state)
{
    (void)state;
    ft_round_t *r = ft_round_new(4);
    const uint32_t ids[4] = {3, 8, 11, 40};
    const uint8_t att[4] = {0, 1, 0, 0};
    ft_round_begin(r, 2, 0, ids, att, 4, 100.0, 10.0);
    assert_int_equal(ft_round_find(r, 11), 2);
    assert_int_equal(ft_round_find(r, 12), -1);
    assert_true(r->slots[1].attacker);
    assert_int_equal(ft_round_next(r, NULL, NULL), 0);
    assert_int_equal(ft_round_next(r, serve_even, NULL), 1); /* client 8 */
    ft_round_assign(r, 0, 5, 100.5);
    ft_round_assign(r, 1, 5, 100.5);
    ft_round_assign(r, 2, 6, 100.5);
    assert_int_equal(ft_round_next(r, NULL, NULL), 3);
    assert_int_equal(ft_round_count(r, FT_SLOT_ASSIGNED), 3);
    ft_round_complete(r, 2, 600, 0.5f, 1.0);
    assert_int_equal(r->done, 1);
    /* process 5 dies: its two tasks go back */
    assert_int_equal(ft_round_requeue_process(r, 5), 2);
    assert_int_equal(ft_round_count(r, FT_SLOT_PENDING), 3);
    assert_int_equal(r->slots[0].process, -1);
    ft_round_assign(r, 0, 7, 101);
    assert_int_equal(r->slots[0].handed, 2);
    assert_false(ft_round_finished(r));
    assert_false(ft_round_expired(r, 109.9));
    assert_true(ft_round_expired(r, 110.0));
    ft_round_complete(r, 0, 1, 0, 0);
    ft_round_assign(r, 1, 7, 101);
    ft_round_complete(r, 1, 1, 0, 0);
    ft_round_assign(r, 3, 7, 101);
    ft_round_complete(r, 3, 1, 0, 0);
    assert_true(ft_round_finished(r));
    assert_false(ft_round_expired(r, 200)); /* finished rounds do not expire */
    ft_round_destroy(&r);
    ft_round_destroy(&r);
    assert_null(r);
}

static void test_procs(void **state)
{
    (void)state;
    ft_procs_t t;
    ft_procs_init(&t);
    ft_msg_hello_t pool = {.pid = 10, .pool = 1};
    uint32_t ids[4] = {9, 2, 5, 2};
    ft_msg_hello_t fixed = {.pid = 11, .clients = ids, .num_clients = 4};
    assert_int_equal(ft_procs_add(&t, (const uint8_t *)"aa", 2, &pool, 1.0), 0);
    assert_int_equal(ft_procs_add(&t, (const uint8_t *)"bb", 2, &fixed, 2.0), 1);
    assert_int_equal(t.procs[1].num_clients, 3); /* sorted, de-duplicated */
    assert_int_equal(t.procs[1].clients[0], 2);
    assert_int_equal(t.procs[1].id, 2);
    assert_true(ft_proc_can_serve(&t.procs[0], 12345));
    assert_true(ft_proc_can_serve(&t.procs[1], 5));
    assert_false(ft_proc_can_serve(&t.procs[1], 3));
    assert_int_equal(ft_procs_find(&t, (const uint8_t *)"bb", 2), 1);
    assert_int_equal(ft_procs_find(&t, (const uint8_t *)"b", 1), -1);
    /* silence: at t = 6.5 with a 5 s limit, process 0 (seen at 1) is silent */
    assert_int_equal(ft_procs_next_silent(&t, 6.5, 5.0), 0);
    t.procs[0].state = FT_PROC_DEAD;
    assert_int_equal(ft_procs_next_silent(&t, 6.5, 5.0), -1);
    assert_int_equal(ft_procs_find(&t, (const uint8_t *)"aa", 2), -1);
    assert_int_equal(ft_procs_find_any(&t, (const uint8_t *)"aa", 2), 0);
    assert_int_equal(ft_procs_alive(&t), 1);
    ft_procs_touch_all(&t, 20.0);
    assert_true(t.procs[1].last_seen == 20.0 && t.procs[0].last_seen == 1.0);
    ft_procs_free(&t);
}

/* What a peer can make the table hold: ids within the population, live processes
 * and fixed ids over them capped, a dead entry's ids released and its entry reused
 * (a Hello flood cannot grow the table), process numbers never reused. */
static void test_procs_limits(void **state)
{
    (void)state;
    ft_procs_t t;
    ft_procs_init(&t);
    ft_procs_set_limits(&t, 3, 10, 12); /* 3 live, ids < 10, 12 ids held */
    uint32_t ten[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    uint32_t out_of_range[2] = {3, 10};
    uint32_t huge[1] = {UINT32_MAX};
    ft_msg_hello_t h = {.clients = out_of_range, .num_clients = 2};
    assert_int_equal(ft_procs_add(&t, (const uint8_t *)"x", 1, &h, 0), FT_EPROTO);
    assert_non_null(strstr(ft_error_message(), "client id 10 outside the population [0, 10)"));
    h.clients = huge;
    h.num_clients = 1;
    assert_int_equal(ft_procs_add(&t, (const uint8_t *)"x", 1, &h, 0), FT_EPROTO);
    h.num_clients = 0; /* neither pool nor ids */
    assert_int_equal(ft_procs_add(&t, (const uint8_t *)"x", 1, &h, 0), FT_EPROTO);
    assert_int_equal(t.n, 0);
    /* 10 ids held, then 3 more would be 13 > 12; 2 more fit (the boundary) */
    h.clients = ten;
    h.num_clients = 10;
    assert_int_equal(ft_procs_add(&t, (const uint8_t *)"a", 1, &h, 0), 0);
    h.num_clients = 3;
    assert_int_equal(ft_procs_add(&t, (const uint8_t *)"b", 1, &h, 0), FT_ESTATE);
    h.num_clients = 2;
    assert_int_equal(ft_procs_add(&t, (const uint8_t *)"b", 1, &h, 0), 1);
    assert_int_equal(t.ids_held, 12);
    ft_msg_hello_t pool = {.pool = 1};
    assert_int_equal(ft_procs_add(&t, (const uint8_t *)"c", 1, &pool, 0), 2);
    /* 3 alive: a fourth is refused */
    assert_int_equal(ft_procs_add(&t, (const uint8_t *)"d", 1, &pool, 0), FT_ESTATE);
    /* dead: ids released, entry still findable until reused, then reused */
    ft_procs_set_dead(&t, 0);
    assert_int_equal(t.ids_held, 2);
    assert_null(t.procs[0].clients);
    assert_int_equal(ft_procs_find_any(&t, (const uint8_t *)"a", 1), 0);
    ft_procs_set_dead(&t, 0); /* twice: no change */
    assert_int_equal(t.ids_held, 2);
    for (int k = 0; k < 1000; k++) { /* a flood of registrations and deaths */
        int i = ft_procs_add(&t, (const uint8_t *)"d", 1, &h, 0);
        assert_int_equal(i, 0);
        ft_procs_set_dead(&t, (size_t)i);
    }
    assert_int_equal(t.n, 3);
    assert_int_equal(t.ids_held, 2);
    assert_int_equal(ft_procs_add(&t, (const uint8_t *)"e", 1, &h, 0), 0);
    assert_int_equal(t.procs[0].id, 1004); /* numbers: a 1, b 2, c 3, 1000 floods, e */
    ft_procs_free(&t);
}

static void test_id_list(void **state)
{
    (void)state;
    uint32_t *ids;
    size_t n;
    assert_int_equal(ft_parse_id_list("7,0-3,5,2", &ids, &n), FT_OK);
    const uint32_t want[] = {0, 1, 2, 3, 5, 7};
    assert_int_equal(n, 6);
    assert_memory_equal(ids, want, sizeof want);
    ft_free(ids);
    assert_int_equal(ft_parse_id_list("42", &ids, &n), FT_OK);
    assert_int_equal(n, 1);
    ft_free(ids);
    const char *bad[] = {"", "3-1", "a", "1,", "1,,2", "-3", "1-", "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(ft_parse_id_list(bad[i], &ids, &n), FT_EINVAL);
        assert_null(ids);
    }
}

static char tmpdir[FT_TEST_TMPDIR_MAX];

static int make_tmp(void **state)
{
    (void)state;
    assert_int_equal(ft_test_tmpdir_make(tmpdir, sizeof tmpdir, "coord"), 0);
    return 0;
}

static int remove_tmp(void **state)
{
    (void)state;
    return ft_test_tmpdir_remove(tmpdir);
}

static void test_metrics_columns(void **state)
{
    (void)state;
    const char *h = ft_metrics_header();
    const char *need[] = {"round",        "main_acc",         "main_loss",        "clients",
                          "bytes_sent",   "bytes_received",   "train_s",          "aggregate_s",
                          "eval_s",       "round_s",          "honest_norm_mean", "attackers",
                          "backdoor_acc", "target_class_acc", "attackers_kept",   "honest_dropped"};
    for (size_t i = 0; i < sizeof need / sizeof *need; i++)
        assert_non_null(strstr(h, need[i]));
    assert_int_equal(strncmp(h, "round,main_acc,", 15), 0);
    /* appended last, after the columns existing readers index */
    const char *tail = ",eval_s,round_s,nonfinite_params,attacker_weight,attacker_norm_share";
    const char *nf = strstr(h, tail);
    assert_non_null(nf);
    assert_string_equal(nf + strlen(tail), "");
    assert_int_equal(ft_metrics_is_measurement("nonfinite_params"), 0);
    assert_int_equal(ft_metrics_is_measurement("round_s"), 1);
    assert_int_equal(ft_metrics_is_measurement("bytes_sent"), 1);
    assert_int_equal(ft_metrics_is_measurement("main_acc"), 0);
    assert_int_equal(ft_metrics_is_measurement("nope"), -1);
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "metrics.csv");
    ft_metrics_t *mt;
    assert_int_equal(ft_metrics_open(path, &mt), FT_OK);
    ft_metrics_row_t row;
    ft_metrics_row_reset(&row);
    row.round = 1;
    row.clients = 10;
    row.main_acc = 0.5; /* not evaluated: must stay empty */
    assert_int_equal(ft_metrics_write(mt, &row), FT_OK);
    row.round = 2;
    row.evaluated = 1;
    row.main_acc = 0.8125;
    row.main_loss = 0.5;
    row.bytes_sent = 12345678901ull;
    assert_int_equal(ft_metrics_write(mt, &row), FT_OK);
    ft_metrics_close(&mt);
    assert_null(mt);
    char *text;
    size_t len;
    assert_int_equal(ft_read_file(path, &text, &len), FT_OK);
    char *l1 = strchr(text, '\n') + 1;
    assert_int_equal(strncmp(l1, "1,,,,,10,", 9), 0); /* no eval, no backdoor set */
    char *l2 = strchr(l1, '\n') + 1;
    assert_int_equal(strncmp(l2, "2,0.8125,0.5,,,10,", 18), 0);
    assert_non_null(strstr(l2, ",12345678901,"));
    ft_free(text);
}

static void test_events_json(void **state)
{
    (void)state;
    char buf[128];
    ft_events_json_string(buf, sizeof buf, "a\"b\\c\nd\x01");
    assert_string_equal(buf, "\"a\\\"b\\\\c\\nd\\u0001\"");
    /* Peer bytes that are not UTF-8 (a mutated Hello's host) become U+FFFD, each;
     * well-formed sequences pass; truncation never cuts a character. */
    ft_events_json_string(buf, sizeof buf,
                          "no\xc3"
                          "e-a\xff|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    assert_string_equal(buf, "\"no\\ufffde-a\\ufffd|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    /* overlong '/', a UTF-16 surrogate, U+110000, a lone continuation, a cut
     * 3-byte sequence at the end */
    ft_events_json_string(buf, sizeof buf, "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\x80\xe2\x82");
    assert_string_equal(buf, "\""
                             "\\ufffd\\ufffd"
                             "\\ufffd\\ufffd\\ufffd"
                             "\\ufffd\\ufffd\\ufffd\\ufffd"
                             "\\ufffd"
                             "\\ufffd\\ufffd\"");
    char small[14]; /* room for "ab" and one 2-byte character, not two */
    ft_events_json_string(small, sizeof small, "ab\xc3\xa9\xc3\xa9");
    assert_string_equal(small, "\"ab\xc3\xa9\"");
    ft_events_json_string(buf, sizeof buf, "del\x7f");
    assert_string_equal(buf, "\"del\\u007f\"");
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "events.jsonl");
    ft_events_t *ev;
    assert_int_equal(ft_events_open(path, 0, &ev), FT_OK);
    ft_events_begin(ev, "rejected");
    ft_events_int(ev, "round", 3);
    ft_events_str(ev, "reason", "bad \"digest\"");
    ft_events_num(ev, "x", NAN);
    ft_events_bool(ev, "ok", 0);
    ft_events_end(ev);
    assert_int_equal(ft_events_count(ev), 1);
    ft_events_close(&ev);
    ft_events_begin(NULL, "x"); /* no-op */
    char *text;
    size_t len;
    assert_int_equal(ft_read_file(path, &text, &len), FT_OK);
    assert_non_null(strstr(text, "\"event\":\"rejected\",\"round\":3,\"reason\":\"bad "
                                 "\\\"digest\\\"\",\"x\":null,\"ok\":false}\n"));
    assert_int_equal(strncmp(text, "{\"t\":", 5), 0);
    ft_free(text);
    /* A non-finite time origin (as a crafted checkpoint's elapsed = nan once gave)
     * and non-finite values: null, never a nan / inf literal JSON cannot read. */
    assert_int_equal(ft_events_open(path, NAN, &ev), FT_OK);
    ft_events_begin(ev, "round_end");
    ft_events_num(ev, "main_loss", INFINITY);
    ft_events_num(ev, "round_s", -INFINITY);
    ft_events_end(ev);
    ft_events_close(&ev);
    assert_int_equal(ft_read_file(path, &text, &len), FT_OK);
    assert_string_equal(
        text, "{\"t\":null,\"event\":\"round_end\",\"main_loss\":null,\"round_s\":null}\n");
    ft_free(text);
}

static ft_config_t *small_config(void)
{
    ft_config_t *cfg = ft_config_new();
    const char *sets[] = {"data.dataset=synthetic",
                          "data.synthetic_train=300",
                          "data.synthetic_test=50",
                          "data.synthetic_shape=1,8,8",
                          "model.name=mlp",
                          "model.hidden=16",
                          "federation.num_clients=10",
                          "federation.clients_per_round=3",
                          "federation.local_epochs=1",
                          "federation.batch_size=8",
                          "federation.partition=dirichlet",
                          "federation.min_size=5"};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
        assert_int_equal(ft_config_set(cfg, sets[i], "test"), FT_OK);
    return cfg;
}

/* ft_global_aggregate, two rounds of FedAvg over rows written into the update matrix:
 * the model moves by the count-weighted mean whether the delta is built in the
 * caller's scratch or in ft_global's own vector, and once aggregated a matrix of
 * 32 MiB or more (hidden = 40000: 3 rows of 3.0M floats) is released (its rows read
 * back as the zeros fresh pages hold) while a small one keeps its rows. */
static void check_aggregate(const char *hidden, int released)
{
    ft_config_t *cfg = small_config();
    char set[64];
    snprintf(set, sizeof set, "model.hidden=%s", hidden);
    assert_int_equal(ft_config_set(cfg, set, "test"), FT_OK);
    ft_global_t *g;
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_global_new(&exp, 3, &g), FT_OK);
    size_t N = ft_global_num_params(g);
    assert_int_equal(released, 3 * N * sizeof(float) >= FT_HUGE_FROM);
    const uint32_t ids[3] = {0, 1, 2};
    const float counts[3] = {1, 1, 2};
    float *prev = malloc(N * sizeof *prev), *scratch = malloc(N * sizeof *scratch);
    assert_non_null(prev);
    assert_non_null(scratch);
    for (uint32_t round = 1; round <= 2; round++) {
        memcpy(prev, ft_global_params(g), N * sizeof *prev);
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < N; j++)
                ft_global_row(g, i)[j] = 0.001f * (float)((i + round) * (j % 7));
        ft_defense_decision_t dec[3];
        assert_int_equal(
            ft_global_aggregate(g, round, 3, ids, counts, NULL, round == 1 ? scratch : NULL, dec),
            FT_OK);
        const float *w = ft_global_params(g);
        for (size_t j = 0; j < N; j++) {
            double mean =
                0.001 * (double)(j % 7) * (1.0 * round + (1.0 + round) + 2.0 * (2 + round)) / 4;
            assert_float_equal(w[j], prev[j] + (float)mean, 1e-6);
        }
        const float *row = ft_global_row(g, 2);
        /* mid-row, where j % 7 != 0 (the value written is not 0); the tail page of the
         * matrix is only partly the matrix's and stays */
        size_t probe = N / 2;
        while (probe % 7 == 0)
            probe++;
        if (round == 1) /* the delta was built in the scratch lent */
            assert_float_equal(scratch[probe], w[probe] - prev[probe], 1e-6);
        if (released)
            assert_true(row[0] == 0.0f && row[probe] == 0.0f);
        else
            assert_true(row[probe] == 0.001f * (float)((2 + round) * (probe % 7)));
    }
    free(prev);
    free(scratch);
    ft_global_destroy(&g);
    ft_config_destroy(&cfg);
}

static void test_global_aggregate(void **state)
{
    (void)state;
    check_aggregate("16", 0);
    check_aggregate("40000", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampling),         cmocka_unit_test(test_lr_schedule),
        cmocka_unit_test(test_round_slots),      cmocka_unit_test(test_procs),
        cmocka_unit_test(test_procs_limits),     cmocka_unit_test(test_id_list),
        cmocka_unit_test(test_metrics_columns),  cmocka_unit_test(test_events_json),
        cmocka_unit_test(test_global_aggregate),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
