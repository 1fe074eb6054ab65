/* The coordinator against a scripted client over ipc:// — what the hardening issue
 * asks of validation:
 *   - NaN/Inf inside a well-formed update is not rejected: it reaches the defense.
 *     FedAvg then yields a NaN model (and the coordinator carries on); the
 *     coordinate-wise median keeps the model finite.
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

/* One round of K = 3 through `defense`: client updates NaN (with an Inf), 0.5 and
 * -0.25 in client-id order of the tasks handed out. Returns the final model in
 * *model (N, malloc'ed) and the run directory's events and metrics text. */
static void scripted_round(const char *defense, float **model, char **events, char **metrics)
{
    ft_wire_limits_default(&lim, 64);
    char dir[FT_TEST_TMPDIR_MAX];
    assert_int_equal(ft_test_tmpdir_make(dir, sizeof dir, "hard"), 0);
    char endpoint[FT_TEST_TMPDIR_MAX + 16]; /* ipc://<dir>/c.sock */
    char set_def[64];
    snprintf(endpoint, sizeof endpoint, "ipc://%s/c.sock", dir);
    snprintf(set_def, sizeof set_def, "defense.name=%s", defense);
    ft_config_t *cfg = ft_config_new();
    const char *sets[] = {"data.dataset=synthetic",
                          "data.synthetic_train=200",
                          "data.synthetic_test=50",
                          "data.synthetic_shape=1,8,8",
                          "model.name=mlp",
                          "model.hidden=16",
                          "federation.num_clients=4",
                          "federation.clients_per_round=3",
                          "federation.rounds=1",
                          "federation.round_timeout=30",
                          "federation.heartbeat_s=10",
                          "federation.lr=0.05",
                          "run.max_message_mb=1",
                          set_def};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
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
    float *global = malloc(N_MLP * 4);
    const float values[3] = {NAN, 0.5f, -0.25f};
    for (int k = 0; k < 3; k++) {
        send_simple(sock, FT_MSG_REQUEST);
        recv_msg(sock, &in);
        assert_int_equal(in.msg.type, FT_MSG_TASK);
        if (k == 0) {
            assert_true(in.msg.u.task.has_model);
            ft_wire_get_floats(global, ft_link_payload(&in), N_MLP);
        }
        uint32_t client = in.msg.u.task.client_id;
        ft_link_in_clear(&in);
        if (k == 1) {
            /* two invalid messages in round 1: both rejected and counted */
            zmq_send(sock, "\x01\x02garbage", 9, 0);
            send_update(sock, 1, 99, 1, delta, layout, 0); /* never sampled */
        }
        for (int i = 0; i < N_MLP; i++)
            delta[i] = values[k];
        if (k == 0)
            delta[7] = INFINITY;
        send_update(sock, 1, client, 1, delta, layout, 0);
    }
    send_simple(sock, FT_MSG_REQUEST);
    recv_msg(sock, &in);
    assert_int_equal(in.msg.type, FT_MSG_SHUTDOWN);
    assert_string_equal(in.msg.u.shutdown.reason, "complete");
    ft_link_in_clear(&in);
    pthread_join(th, NULL);
    assert_int_equal(run.rc, FT_OK); /* the NaN update did not stop the run */
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
    *model = malloc(N_MLP * 4);
    memcpy(*model, ck.params, N_MLP * 4);
    ft_checkpoint_free(&ck);
    size_t len;
    ft_test_tmpdir_path(path, sizeof path, dir, "events.jsonl");
    assert_int_equal(ft_read_file(path, events, &len), FT_OK);
    ft_test_tmpdir_path(path, sizeof path, dir, "metrics.csv");
    assert_int_equal(ft_read_file(path, metrics, &len), FT_OK);
    free(delta);
    free(global);
    ft_config_destroy(&cfg);
    assert_int_equal(ft_test_tmpdir_remove(dir), 0);
}

/* The value of column `name` in the first data row of metrics text. */
static int metrics_int(const char *metrics, const char *name)
{
    char header[1024];
    const char *nl = strchr(metrics, '\n');
    assert_non_null(nl);
    snprintf(header, sizeof header, "%.*s", (int)(nl - metrics), metrics);
    int col = 0;
    for (char *save = NULL, *f = strtok_r(header, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        if (strcmp(f, name) == 0)
            break;
        col++;
    }
    const char *p = nl + 1;
    for (int i = 0; i < col; i++) {
        p = strchr(p, ',');
        assert_non_null(p);
        p++;
    }
    return atoi(p);
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

static void test_nan_update_fedavg(void **state)
{
    (void)state;
    float *model;
    char *events, *metrics;
    scripted_round("fedavg", &model, &events, &metrics);
    /* accepted, not rejected: three updates, and the average is NaN (Inf where the
     * attacker sent Inf) */
    assert_int_equal(count(events, "\"event\":\"update\""), 3);
    for (int i = 0; i < N_MLP; i++)
        assert_true(i == 7 ? isinf(model[i]) : isnan(model[i]));
    /* exactly the two invalid messages were rejected and counted; the oversized
     * frame never reached the parser */
    assert_int_equal(count(events, "\"event\":\"rejected\""), 2);
    assert_int_equal(count(events, "\"message\":\"malformed\""), 1);
    assert_non_null(strstr(events, "was not sampled this round"));
    assert_int_equal(metrics_int(metrics, "rejected"), 2);
    assert_int_equal(metrics_int(metrics, "clients"), 3);
    /* the odd host became U+FFFD and \u001b: events.jsonl stays UTF-8 (JSON) */
    assert_true(valid_utf8(events));
    assert_non_null(strstr(events, "\"host\":\"no\\ufffde\\u001b[2J\\ufffd\""));
    free(model);
    ft_free(events);
    ft_free(metrics);
}

static void test_nan_update_median(void **state)
{
    (void)state;
    float *model;
    char *events, *metrics;
    scripted_round("median", &model, &events, &metrics);
    assert_int_equal(count(events, "\"event\":\"update\""), 3);
    for (int i = 0; i < N_MLP; i++)
        assert_true(isfinite(model[i]));
    assert_int_equal(metrics_int(metrics, "clients"), 3);
    free(model);
    ft_free(events);
    ft_free(metrics);
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
        cmocka_unit_test(test_nan_update_fedavg),
        cmocka_unit_test(test_nan_update_median),
        cmocka_unit_test(test_linefile_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
