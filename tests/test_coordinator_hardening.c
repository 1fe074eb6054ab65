/* The coordinator against a scripted client over ipc:// — what the hardening issue
 * asks of validation:
 *   - NaN/Inf inside a well-formed update is not rejected: it reaches the defense.
 *     FedAvg then yields a NaN model; the coordinate-wise median keeps the model
 *     finite.
 *   - a global model with NaN/Inf parameters (a NaN payload, or finite 3e38 updates
 *     whose sum overflows) is recorded — a "model_destroyed" event, the
 *     nonfinite_params column, summary.json's model_destroyed_round — and by default
 *     (run.on_nonfinite = stop) ends the run with FT_ENONFINITE, not resumable;
 *     with continue the run completes as before.
 *   - every rejected message is a "rejected" event with its reason and is counted
 *     in the round's `rejected` metrics column.
 *   - a frame over run.max_message_mb is dropped by libzmq (ZMQ_MAXMSGSIZE on the
 *     ROUTER socket) before it is read: it never reaches the parser.
 *   - events.jsonl stays valid UTF-8 whatever bytes a peer puts in its strings.
 *   - metrics/events lines are whole even when the run directory is cut short:
 *     ft_linefile rolls a failed write back (tested on /dev/full). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <iconv.h>
#include <math.h>
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
#include "ft_linefile.h"
#include "ft_link.h"
#include "ft_wire.h"

#include "scripted_client.h"
#include "ft_test_tmpdir.h"

#define MAX_ROUNDS 3

/* A scripted run: K = 3 of 4 clients per round; in round r the k-th task handed out
 * is answered with an update whose every entry is values[r-1][k] (with nan_inf,
 * entry 7 of a NaN update is +Inf) and the client's own sample count (the only one
 * accepted). Round 1 also carries
 * a 3 MiB frame and two invalid messages. */
typedef struct {
    const char *defense;      /* defense.name */
    const char *on_nonfinite; /* run.on_nonfinite, NULL: the default */
    int rounds;               /* federation.rounds, <= MAX_ROUNDS */
    float values[MAX_ROUNDS][3];
    int nan_inf; /* entry 7 of a NaN update is +Inf */
} script_t;

/* What the run left behind. */
typedef struct {
    int rc;               /* ft_coordinator_run's code */
    int rounds_served;    /* rounds whose three tasks the client got */
    char reason[64];      /* the Shutdown reason the client received */
    char complete[8];     /* final.ckpt's meta complete */
    float *model;         /* N: final.ckpt's model (malloc'ed) */
    char *events;         /* events.jsonl */
    char *metrics;        /* metrics.csv */
    char *summary;        /* summary.json */
    int resume_rc;        /* ft_coordinator_new with resume on the run directory */
    char resume_msg[512]; /* its message */
} result_t;

static void result_free(result_t *r)
{
    free(r->model);
    ft_free(r->events);
    ft_free(r->metrics);
    ft_free(r->summary);
}

static void scripted_run(const script_t *sc, result_t *out)
{
    memset(out, 0, sizeof *out);
    ft_wire_limits_default(&lim, 64);
    char dir[FT_TEST_TMPDIR_MAX];
    assert_int_equal(ft_test_tmpdir_make(dir, sizeof dir, "hard"), 0);
    char endpoint[FT_TEST_TMPDIR_MAX + 16]; /* ipc://<dir>/c.sock */
    char set_def[64], set_rounds[64], set_policy[64];
    snprintf(endpoint, sizeof endpoint, "ipc://%s/c.sock", dir);
    snprintf(set_def, sizeof set_def, "defense.name=%s", sc->defense);
    snprintf(set_rounds, sizeof set_rounds, "federation.rounds=%d", sc->rounds);
    snprintf(set_policy, sizeof set_policy, "run.on_nonfinite=%s",
             sc->on_nonfinite ? sc->on_nonfinite : "stop");
    ft_config_t *cfg = ft_config_new();
    const char *sets[] = {"data.dataset=synthetic",
                          "data.synthetic_train=200",
                          "data.synthetic_test=50",
                          "data.synthetic_shape=1,8,8",
                          "model.name=mlp",
                          "model.hidden=16",
                          "federation.num_clients=4",
                          "federation.clients_per_round=3",
                          "federation.round_timeout=30",
                          "federation.heartbeat_s=10",
                          "federation.lr=0.05",
                          "run.max_message_mb=1",
                          set_rounds,
                          set_def,
                          sc->on_nonfinite ? set_policy : NULL};
    for (size_t i = 0; i < sizeof sets / sizeof *sets && sets[i]; i++)
        assert_int_equal(ft_config_set(cfg, sets[i], "test"), FT_OK);
    ft_coord_opts_t opts = {.bind = endpoint, .out_dir = dir};
    run_t run = {0};
    assert_int_equal(ft_coordinator_new(cfg, &opts, &run.c), FT_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_thread, &run), 0);

    void *ctx = zmq_ctx_new();
    /* 3 MiB in one frame, limit 1 MiB (+1 MiB for the envelope): libzmq drops the
     * connection; the coordinator never parses it (no "malformed" event for it). */
    void *big = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_connect(big, endpoint), 0);
    size_t big_len = 3u << 20;
    char *junk = calloc(1, big_len);
    assert_int_equal(zmq_send(big, junk, big_len, 0), (int)big_len);
    free(junk);
    usleep(200000);

    /* A peer whose Hello names a host in bytes that are not UTF-8 (with an escape
     * sequence): it registers, and its registered event must still be valid JSON. */
    void *odd = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_connect(odd, endpoint), 0);
    ft_link_in_t in;
    ft_msg_t hello;
    ft_msg_init(&hello, FT_MSG_HELLO);
    hello.u.hello.pool = 1;
    strcpy(hello.u.hello.host, "no\xc3"
                               "e\x1b[2J\xff");
    assert_int_equal(ft_link_send(odd, NULL, 0, &hello, NULL, NULL, NULL), FT_OK);
    recv_msg(odd, &in);
    assert_int_equal(in.msg.type, FT_MSG_WELCOME);
    ft_link_in_clear(&in);

    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_connect(sock, endpoint), 0);
    send_simple(sock, FT_MSG_HELLO);
    recv_msg(sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_WELCOME);
    uint8_t layout[32];
    memcpy(layout, in.msg.u.welcome.layout_hash, 32);
    ft_link_in_clear(&in);

    float *delta = malloc(N_MLP * 4);
    int shut = 0;
    for (int r = 1; r <= sc->rounds && !shut; r++) {
        for (int k = 0; k < 3; k++) {
            send_simple(sock, FT_MSG_REQUEST);
            recv_msg(sock, &in);
            if (in.msg.type == FT_MSG_SHUTDOWN) {
                assert_int_equal(k, 0); /* the run stops between rounds */
                snprintf(out->reason, sizeof out->reason, "%s", in.msg.u.shutdown.reason);
                ft_link_in_clear(&in);
                shut = 1;
                break;
            }
            assert_int_equal(in.msg.type, FT_MSG_TASK);
            assert_int_equal(in.msg.u.task.round, r);
            uint32_t client = in.msg.u.task.client_id;
            uint64_t expected =
                ft_coordinator_expected_samples(run.c, client, in.msg.u.task.attacker);
            ft_link_in_clear(&in);
            if (r == 1 && k == 1) {
                /* two invalid messages in round 1: both rejected and counted */
                zmq_send(sock, "\x01\x02garbage", 9, 0);
                send_update(sock, 1, 99, 1, delta, layout, 0); /* never sampled */
            }
            float v = sc->values[r - 1][k];
            for (int i = 0; i < N_MLP; i++)
                delta[i] = v;
            if (sc->nan_inf && isnan(v))
                delta[7] = INFINITY;
            send_update(sock, (uint32_t)r, client, expected, delta, layout, 0);
        }
        if (!shut)
            out->rounds_served = r;
    }
    if (!shut) {
        send_simple(sock, FT_MSG_REQUEST);
        recv_msg(sock, &in);
        assert_int_equal(in.msg.type, FT_MSG_SHUTDOWN);
        snprintf(out->reason, sizeof out->reason, "%s", in.msg.u.shutdown.reason);
        ft_link_in_clear(&in);
    }
    pthread_join(th, NULL);
    out->rc = run.rc;
    ft_coordinator_destroy(&run.c);
    int zero = 0;
    zmq_setsockopt(big, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(big);
    zmq_setsockopt(odd, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(odd);
    zmq_close(sock);
    zmq_ctx_term(ctx);

    char path[512];
    ft_test_tmpdir_path(path, sizeof path, dir, "final.ckpt");
    ft_checkpoint_t ck;
    assert_int_equal(ft_checkpoint_load(path, layout, &ck), FT_OK);
    out->model = malloc(N_MLP * 4);
    memcpy(out->model, ck.params, N_MLP * 4);
    assert_true(ft_checkpoint_meta(&ck, "complete", out->complete, sizeof out->complete));
    ft_checkpoint_free(&ck);
    size_t len;
    ft_test_tmpdir_path(path, sizeof path, dir, "events.jsonl");
    assert_int_equal(ft_read_file(path, &out->events, &len), FT_OK);
    ft_test_tmpdir_path(path, sizeof path, dir, "metrics.csv");
    assert_int_equal(ft_read_file(path, &out->metrics, &len), FT_OK);
    ft_test_tmpdir_path(path, sizeof path, dir, "summary.json");
    assert_int_equal(ft_read_file(path, &out->summary, &len), FT_OK);

    /* Resuming the run directory (a fresh endpoint: the old socket file is gone). */
    ft_config_t *rcfg = NULL;
    assert_int_equal(ft_coordinator_resume_config(dir, &rcfg), FT_OK);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/r.sock", dir);
    opts.resume = 1;
    ft_coordinator_t *rc = NULL;
    out->resume_rc = ft_coordinator_new(rcfg, &opts, &rc);
    snprintf(out->resume_msg, sizeof out->resume_msg, "%s", ft_error_message());
    ft_coordinator_destroy(&rc);
    ft_config_destroy(&rcfg);

    free(delta);
    ft_config_destroy(&cfg);
    assert_int_equal(ft_test_tmpdir_remove(dir), 0);
}

/* The cell of column `name` in data row `row` (1-based) of metrics text. */
static const char *metrics_cell(const char *metrics, int row, const char *name)
{
    char header[1024];
    const char *nl = strchr(metrics, '\n');
    assert_non_null(nl);
    snprintf(header, sizeof header, "%.*s", (int)(nl - metrics), metrics);
    int col = 0, found = 0;
    for (char *save = NULL, *f = strtok_r(header, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        if (strcmp(f, name) == 0) {
            found = 1;
            break;
        }
        col++;
    }
    if (!found)
        fail_msg("metrics.csv has no column %s", name);
    const char *p = nl + 1;
    for (int r = 1; r < row; r++) {
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    assert_true(*p != '\0');
    for (int i = 0; i < col; i++) {
        p = strchr(p, ',');
        assert_non_null(p);
        p++;
    }
    return p;
}

static int metrics_int(const char *metrics, const char *name)
{
    return atoi(metrics_cell(metrics, 1, name));
}

/* Data rows of metrics text. */
static int metrics_rows(const char *metrics)
{
    int n = 0;
    for (const char *p = metrics; *p; p++)
        n += *p == '\n';
    return n - 1;
}

/* Whether text is valid UTF-8, by iconv (an independent decoder). */
static int valid_utf8(const char *text)
{
    iconv_t cd = iconv_open("UTF-8", "UTF-8");
    assert_true(cd != (iconv_t)-1);
    size_t in_left = strlen(text), out_left = 4 * in_left + 16;
    char *out = malloc(out_left), *in_p = (char *)text, *out_p = out;
    size_t rc = iconv(cd, &in_p, &in_left, &out_p, &out_left);
    iconv_close(cd);
    free(out);
    return rc != (size_t)-1 && in_left == 0;
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* NaN (and an Inf) from the first client of round 1, finite from the others. */
static const script_t nan_round = {
    .defense = "fedavg", .rounds = 1, .values = {{NAN, 0.5f, -0.25f}}, .nan_inf = 1};

/* With run.on_nonfinite = continue the run goes on as before (a NaN model, the run
 * completed), but says what happened. */
static void test_nan_update_fedavg(void **state)
{
    (void)state;
    script_t sc = nan_round;
    sc.on_nonfinite = "continue";
    result_t r;
    scripted_run(&sc, &r);
    assert_int_equal(r.rc, FT_OK); /* the experiment expects it: the run completes */
    assert_string_equal(r.reason, "complete");
    assert_string_equal(r.complete, "1");
    /* accepted, not rejected: three updates, and the average is NaN (Inf where the
     * attacker sent Inf) */
    assert_int_equal(count(r.events, "\"event\":\"update\""), 3);
    for (int i = 0; i < N_MLP; i++)
        assert_true(i == 7 ? isinf(r.model[i]) : isnan(r.model[i]));
    /* exactly the two invalid messages were rejected and counted; the oversized
     * frame never reached the parser */
    assert_int_equal(count(r.events, "\"event\":\"rejected\""), 2);
    assert_int_equal(count(r.events, "\"message\":\"malformed\""), 1);
    assert_non_null(strstr(r.events, "was not sampled this round"));
    assert_int_equal(metrics_int(r.metrics, "rejected"), 2);
    assert_int_equal(metrics_int(r.metrics, "clients"), 3);
    /* the odd host became U+FFFD and \u001b: events.jsonl stays UTF-8 (JSON) */
    assert_true(valid_utf8(r.events));
    assert_non_null(strstr(r.events, "\"host\":\"no\\ufffde\\u001b[2J\\ufffd\""));
    /* ... and recorded: event, column, summary */
    assert_int_equal(count(r.events, "\"event\":\"model_destroyed\""), 1);
    assert_non_null(strstr(r.events, "\"event\":\"model_destroyed\",\"round\":1,\"nonfinite\":1210,"
                                     "\"num_params\":1210,\"defense\":\"fedavg\","
                                     "\"on_nonfinite\":\"continue\""));
    assert_int_equal(metrics_int(r.metrics, "nonfinite_params"), N_MLP);
    assert_non_null(strstr(r.summary, "\"completed\": true"));
    assert_non_null(strstr(r.summary, "\"model_destroyed_round\": 1,"));
    assert_int_equal(count(r.events, "\"event\":\"complete\""), 1);
    result_free(&r);
}

/* By default (run.on_nonfinite = stop) a NaN update under FedAvg ends the run after
 * its round with FT_ENONFINITE: every file complete up to that round, the clients
 * told why, final.ckpt incomplete, and the run directory not resumable (the same
 * round would destroy the model again). */
static void test_nan_update_fedavg_stops(void **state)
{
    (void)state;
    script_t sc = nan_round;
    sc.rounds = 3;
    sc.values[1][0] = sc.values[1][1] = sc.values[1][2] = 0.5f;
    sc.values[2][0] = sc.values[2][1] = sc.values[2][2] = 0.5f;
    result_t r;
    scripted_run(&sc, &r);
    assert_int_equal(r.rc, FT_ENONFINITE);
    assert_int_equal(r.rounds_served, 1);
    assert_string_equal(r.reason, "model destroyed");
    assert_string_equal(r.complete, "0");
    assert_int_equal(metrics_rows(r.metrics), 1);
    assert_int_equal(metrics_int(r.metrics, "nonfinite_params"), N_MLP);
    /* the destroyed round was evaluated and finished like a last round */
    assert_true(metrics_cell(r.metrics, 1, "main_acc")[0] != ',');
    assert_int_equal(count(r.events, "\"event\":\"model_destroyed\""), 1);
    assert_non_null(
        strstr(r.events, "\"event\":\"model_destroyed\",\"round\":1,\"nonfinite\":1210"));
    assert_non_null(strstr(r.events, "\"on_nonfinite\":\"stop\""));
    assert_int_equal(count(r.events, "\"event\":\"round_end\""), 1);
    assert_int_equal(count(r.events, "\"event\":\"stopped\""), 1);
    assert_non_null(strstr(r.events, "round 1 destroyed the global model: 1210 of 1210"));
    assert_null(strstr(r.events, "\"event\":\"complete\""));
    assert_non_null(strstr(r.summary, "\"completed\": false"));
    assert_non_null(strstr(r.summary, "\"rounds\": 1,"));
    assert_non_null(strstr(r.summary, "\"rounds_planned\": 3,"));
    assert_non_null(strstr(r.summary, "\"model_destroyed_round\": 1,"));
    /* the stop checkpoint is there, and a resume refuses it naming the round */
    assert_non_null(strstr(r.events, "\"event\":\"checkpoint\",\"round\":1"));
    assert_int_equal(r.resume_rc, FT_ESTATE);
    assert_non_null(strstr(r.resume_msg, "round 1 destroyed the global model"));
    assert_non_null(strstr(r.resume_msg, "run.on_nonfinite = continue"));
    result_free(&r);
}

/* Finite updates that overflow: every client sends 3e38 in rounds 1 and 2 (their
 * counts are their partitions', the only ones accepted). After round 1 the model
 * holds ~3e38, the largest values still finite (no event: the boundary); round 2
 * adds another ~3e38 and the sum overflows to Inf. The stop comes after round 2,
 * before round 3. */
static void test_overflow_fedavg(void **state)
{
    (void)state;
    script_t sc = {.defense = "fedavg",
                   .rounds = 3,
                   .values = {{3e38f, 3e38f, 3e38f}, {3e38f, 3e38f, 3e38f}, {0, 0, 0}}};
    result_t r;
    scripted_run(&sc, &r);
    assert_int_equal(r.rc, FT_ENONFINITE);
    assert_int_equal(r.rounds_served, 2);
    assert_string_equal(r.reason, "model destroyed");
    assert_int_equal(metrics_rows(r.metrics), 2);
    assert_int_equal(atoi(metrics_cell(r.metrics, 1, "nonfinite_params")), 0);
    assert_int_equal(atoi(metrics_cell(r.metrics, 2, "nonfinite_params")), N_MLP);
    for (int i = 0; i < N_MLP; i++)
        assert_true(isinf(r.model[i]) && r.model[i] > 0);
    assert_int_equal(count(r.events, "\"event\":\"model_destroyed\""), 1);
    assert_non_null(
        strstr(r.events, "\"event\":\"model_destroyed\",\"round\":2,\"nonfinite\":1210"));
    assert_non_null(strstr(r.summary, "\"model_destroyed_round\": 2,"));
    assert_non_null(strstr(r.summary, "\"completed\": false"));
    assert_int_equal(r.resume_rc, FT_ESTATE);
    assert_non_null(strstr(r.resume_msg, "round 2 destroyed"));
    result_free(&r);
}

/* The coordinate-wise median keeps the model finite under the same NaN payload:
 * nothing is recorded and the default policy does not stop the run. */
static void test_nan_update_median(void **state)
{
    (void)state;
    script_t sc = nan_round;
    sc.defense = "median";
    sc.rounds = 2;
    sc.values[1][0] = NAN;
    sc.values[1][1] = 0.5f;
    sc.values[1][2] = -0.25f;
    result_t r;
    scripted_run(&sc, &r);
    assert_int_equal(r.rc, FT_OK);
    assert_int_equal(r.rounds_served, 2);
    assert_string_equal(r.reason, "complete");
    assert_int_equal(count(r.events, "\"event\":\"update\""), 6);
    for (int i = 0; i < N_MLP; i++)
        assert_true(isfinite(r.model[i]));
    assert_int_equal(metrics_int(r.metrics, "clients"), 3);
    assert_int_equal(atoi(metrics_cell(r.metrics, 1, "nonfinite_params")), 0);
    assert_int_equal(atoi(metrics_cell(r.metrics, 2, "nonfinite_params")), 0);
    assert_null(strstr(r.events, "model_destroyed"));
    assert_non_null(strstr(r.summary, "\"model_destroyed_round\": null,"));
    assert_non_null(strstr(r.summary, "\"completed\": true"));
    result_free(&r);
}

/* A failed line write leaves no partial line and names the file; /dev/full fails
 * every write with ENOSPC. */
static void test_linefile_full(void **state)
{
    (void)state;
    ft_linefile_t *lf;
    if (access("/dev/full", W_OK) != 0)
        skip();
    assert_int_equal(ft_linefile_open("/dev/full", -1, &lf), FT_OK);
    assert_int_equal(ft_linefile_append(lf, "a,b\n", 4), FT_EIO);
    assert_non_null(strstr(ft_error_message(), "/dev/full"));
    assert_non_null(strstr(ft_error_message(), "No space left"));
    assert_int_equal(ft_linefile_offset(lf), 0);
    ft_linefile_close(&lf);
    assert_null(lf);
    /* resuming needs at least the recorded bytes */
    char dir[FT_TEST_TMPDIR_MAX];
    assert_int_equal(ft_test_tmpdir_make(dir, sizeof dir, "lf"), 0);
    char path[256];
    ft_test_tmpdir_path(path, sizeof path, dir, "m.csv");
    assert_int_equal(ft_linefile_open(path, -1, &lf), FT_OK);
    assert_int_equal(ft_linefile_append(lf, "h\n1\n2\n", 6), FT_OK);
    ft_linefile_close(&lf);
    assert_int_equal(ft_linefile_open(path, 7, &lf), FT_EIO);
    assert_int_equal(ft_linefile_open(path, 4, &lf), FT_OK); /* cut back to "h\n1\n" */
    assert_int_equal(ft_linefile_append(lf, "x\n", 2), FT_OK);
    assert_int_equal(ft_linefile_offset(lf), 6);
    ft_linefile_close(&lf);
    char *text;
    size_t len;
    assert_int_equal(ft_read_file(path, &text, &len), FT_OK);
    assert_string_equal(text, "h\n1\nx\n");
    ft_free(text);
    assert_int_equal(ft_test_tmpdir_remove(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nan_update_fedavg), cmocka_unit_test(test_nan_update_fedavg_stops),
        cmocka_unit_test(test_overflow_fedavg),   cmocka_unit_test(test_nan_update_median),
        cmocka_unit_test(test_linefile_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
