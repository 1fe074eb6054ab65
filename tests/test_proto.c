/* Tests for proto/: message packing, unpacking and validation (ft_wire) and the
 * multi-frame transport (ft_link) over an inproc ROUTER/DEALER pair.
 * Golden bytes are hand-encoded protobuf and Python hashlib/struct output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_link.h"
#include "ft_wire.h"

static ft_wire_limits_t lim;

static int setup(void **state)
{
    (void)state;
    ft_wire_limits_default(&lim, 1);
    return 0;
}

/* Packs m and unpacks the bytes into out; asserts both succeed. */
static void roundtrip(const ft_msg_t *m, ft_msg_t *out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(ft_wire_pack_alloc(m, &buf, &len), FT_OK);
    assert_int_equal(len, ft_wire_packed_size(m));
    assert_int_equal(ft_wire_unpack(buf, len, &lim, out), FT_OK);
    assert_int_equal(out->type, m->type);
    assert_int_equal(out->version, FT_WIRE_VERSION);
    ft_free(buf);
}

static int unpack_fails(const ft_msg_t *m, int code, const char *needle)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(ft_wire_pack_alloc(m, &buf, &len), FT_OK);
    ft_msg_t out;
    int rc = ft_wire_unpack(buf, len, &lim, &out);
    ft_free(buf);
    assert_int_equal(rc, code);
    assert_int_equal(out.type, FT_MSG_NONE);
    if (needle && !strstr(ft_error_message(), needle))
        fail_msg("error '%s' lacks '%s'", ft_error_message(), needle);
    return rc;
}

static void test_hello_roundtrip(void **state)
{
    (void)state;
    ft_msg_t m, out;
    ft_msg_init(&m, FT_MSG_HELLO);
    uint32_t ids[3] = {0, 7, 4000000000u};
    m.u.hello.pid = 1234;
    strcpy(m.u.hello.host, "node-a");
    m.u.hello.clients = ids;
    m.u.hello.num_clients = 3;
    m.u.hello.threads = 2;
    roundtrip(&m, &out);
    assert_int_equal(out.u.hello.pid, 1234);
    assert_string_equal(out.u.hello.host, "node-a");
    assert_false(out.u.hello.pool);
    assert_int_equal(out.u.hello.num_clients, 3);
    assert_memory_equal(out.u.hello.clients, ids, sizeof ids);
    assert_int_equal(out.u.hello.threads, 2);
    ft_msg_clear(&out);
    /* neither pool nor ids */
    m.u.hello.num_clients = 0;
    m.u.hello.clients = NULL;
    unpack_fails(&m, FT_EPROTO, "neither a pool");
}

static void test_welcome_roundtrip(void **state)
{
    (void)state;
    ft_msg_t m, out;
    ft_msg_init(&m, FT_MSG_WELCOME);
    m.u.welcome.process_id = 3;
    m.u.welcome.config_ini = "[run]\nseed = 5\n";
    memset(m.u.welcome.layout_hash, 0xab, 32);
    m.u.welcome.num_params = 61706;
    m.u.welcome.rounds = 30;
    m.u.welcome.root_set = 1;
    roundtrip(&m, &out);
    assert_int_equal(out.u.welcome.process_id, 3);
    assert_string_equal(out.u.welcome.config_ini, "[run]\nseed = 5\n");
    assert_memory_equal(out.u.welcome.layout_hash, m.u.welcome.layout_hash, 32);
    assert_int_equal(out.u.welcome.num_params, 61706);
    assert_int_equal(out.u.welcome.rounds, 30);
    assert_int_equal(out.u.welcome.root_set, 1);
    ft_msg_clear(&out);
    ft_msg_clear(&out); /* clearing twice is safe */
}

static void test_task_validation(void **state)
{
    (void)state;
    ft_msg_t m, out;
    ft_msg_init(&m, FT_MSG_TASK);
    m.u.task.round = 4;
    m.u.task.client_id = 99;
    m.u.task.attempt = 1;
    m.u.task.lr = 0.01f;
    m.u.task.attacker = 1;
    memset(m.u.task.model_digest, 0x11, 32);
    m.u.task.has_model = 1;
    m.u.task.num_params = 4;
    m.payload_len = 16;
    roundtrip(&m, &out);
    assert_int_equal(out.u.task.round, 4);
    assert_int_equal(out.u.task.client_id, 99);
    assert_int_equal(out.u.task.attempt, 1);
    assert_true(out.u.task.lr == 0.01f);
    assert_true(out.u.task.attacker);
    assert_true(out.u.task.has_model);
    assert_int_equal(out.payload_len, 16);
    ft_msg_clear(&out);

    m.payload_len = 12; /* not N * 4 */
    unpack_fails(&m, FT_EPROTO, "payload of 12 bytes for N = 4");
    m.payload_len = 16;
    m.u.task.round = 0;
    unpack_fails(&m, FT_EPROTO, "round 0");
    m.u.task.round = 4;
    m.u.task.lr = NAN;
    unpack_fails(&m, FT_EPROTO, "learning rate");
    m.u.task.lr = 0.01f;
    m.u.task.has_model = 0; /* payload without model flag */
    unpack_fails(&m, FT_EPROTO, "payload without has_model");
    m.payload_len = 0;
    roundtrip(&m, &out);
    assert_false(out.u.task.has_model);
    ft_msg_clear(&out);
    /* N above the message limit (1 MiB here) */
    m.u.task.has_model = 1;
    m.u.task.num_params = (1u << 20);
    m.payload_len = (uint64_t)(1u << 20) * 4;
    unpack_fails(&m, FT_EPROTO, "payload of");
}

static void test_update_validation(void **state)
{
    (void)state;
    ft_msg_t m, out;
    ft_msg_init(&m, FT_MSG_UPDATE);
    m.u.update.round = 2;
    m.u.update.client_id = 5;
    m.u.update.process_id = 1;
    m.u.update.num_samples = 600;
    m.u.update.train_loss = 0.25f;
    memset(m.u.update.digest, 0x22, 32);
    memset(m.u.update.layout_hash, 0x33, 32);
    m.u.update.num_params = 10;
    m.u.update.train_s = 1.5;
    m.u.update.prepare_s = 0.25;
    m.payload_len = 40;
    roundtrip(&m, &out);
    assert_int_equal(out.u.update.client_id, 5);
    assert_int_equal(out.u.update.num_samples, 600);
    assert_true(out.u.update.train_loss == 0.25f);
    assert_memory_equal(out.u.update.layout_hash, m.u.update.layout_hash, 32);
    assert_true(out.u.update.train_s == 1.5 && out.u.update.prepare_s == 0.25);
    ft_msg_clear(&out);
    m.u.update.num_samples = 0;
    unpack_fails(&m, FT_EPROTO, "zero samples");
    m.u.update.num_samples = 600;
    m.payload_len = 0;
    unpack_fails(&m, FT_EPROTO, "payload of 0 bytes");
}

/* An attack's state (A3FL's trigger) rides on a Task and an Update: whole finite
 * float32s, bounded; empty means none. */
static void test_attack_state(void **state)
{
    (void)state;
    float st[5] = {0.5f, -2.0f, 1.25f, 0.0f, 2.0f};
    ft_msg_t m, out;
    ft_msg_init(&m, FT_MSG_UPDATE);
    m.u.update.round = 3;
    m.u.update.num_samples = 10;
    m.u.update.num_params = 2;
    m.payload_len = 8;
    roundtrip(&m, &out);
    assert_null(out.u.update.attack_state); /* none sent: none read */
    assert_int_equal(out.u.update.attack_state_n, 0);
    ft_msg_clear(&out);
    m.u.update.attack_state = st;
    m.u.update.attack_state_n = 5;
    roundtrip(&m, &out);
    assert_int_equal(out.u.update.attack_state_n, 5);
    assert_memory_equal(out.u.update.attack_state, st, sizeof st);
    assert_ptr_not_equal(out.u.update.attack_state, st); /* a copy it owns */
    ft_msg_clear(&out);
    st[3] = NAN;
    unpack_fails(&m, FT_EPROTO, "attack state value 3 is not finite");
    st[3] = INFINITY;
    unpack_fails(&m, FT_EPROTO, "not finite");
    st[3] = 0.0f;

    ft_msg_init(&m, FT_MSG_TASK);
    m.u.task.round = 1;
    m.u.task.lr = 0.1f;
    m.u.task.num_params = 2;
    m.u.task.attacker = 1;
    m.u.task.attack_state = st;
    m.u.task.attack_state_n = 5;
    roundtrip(&m, &out);
    assert_int_equal(out.u.task.attack_state_n, 5);
    assert_memory_equal(out.u.task.attack_state, st, sizeof st);
    ft_msg_clear(&out);
    /* the bound: one float past it is refused (the envelope limit is raised so that
     * only the state's own bound can refuse) */
    size_t big = FT_WIRE_MAX_ATTACK_STATE + 1;
    float *v = calloc(big, sizeof(float));
    assert_non_null(v);
    m.u.task.attack_state = v;
    m.u.task.attack_state_n = big;
    size_t env_limit = lim.max_envelope;
    lim.max_envelope = 64u << 20;
    unpack_fails(&m, FT_EPROTO, "attack state of");
    m.u.task.attack_state_n = big - 1;
    roundtrip(&m, &out);
    assert_int_equal(out.u.task.attack_state_n, big - 1);
    ft_msg_clear(&out);
    lim.max_envelope = env_limit;
    free(v);
}

/* The SecAgg message: each stage's shape is checked on receipt (docs/protocol.md). */
static void test_secagg_validation(void **state)
{
    (void)state;
    ft_msg_t m, out;
    uint32_t ids[3] = {2, 5, 9}, dropped[1] = {7};
    uint8_t recs[3 * FT_WIRE_SA_SHARE_LEN];
    for (size_t i = 0; i < sizeof recs; i++)
        recs[i] = (uint8_t)i;
    /* roster: 64-byte keys per id, threshold in [2, n] */
    ft_msg_init(&m, FT_MSG_SECAGG);
    ft_msg_secagg_t *a = &m.u.secagg;
    a->stage = FT_SA_STAGE_ROSTER;
    a->round = 3;
    a->attempt = 1;
    a->client_id = 5;
    a->threshold = 2;
    a->ids = ids;
    a->num_ids = 3;
    a->records = recs;
    a->records_len = 3 * FT_WIRE_SA_KEYS_LEN;
    roundtrip(&m, &out);
    assert_int_equal(out.u.secagg.stage, FT_SA_STAGE_ROSTER);
    assert_int_equal(out.u.secagg.attempt, 1);
    assert_int_equal(out.u.secagg.num_ids, 3);
    assert_int_equal(out.u.secagg.ids[2], 9);
    assert_memory_equal(out.u.secagg.records, recs, 3 * FT_WIRE_SA_KEYS_LEN);
    ft_msg_clear(&out);
    a->threshold = 4;
    unpack_fails(&m, FT_EPROTO, "threshold");
    a->threshold = 1;
    unpack_fails(&m, FT_EPROTO, "threshold");
    a->threshold = 2;
    a->records_len = 3 * FT_WIRE_SA_KEYS_LEN - 1;
    unpack_fails(&m, FT_EPROTO, "record bytes");
    a->records_len = 3 * FT_WIRE_SA_KEYS_LEN;
    uint32_t unsorted[3] = {2, 9, 5}, dup[3] = {2, 5, 5};
    a->ids = unsorted;
    unpack_fails(&m, FT_EPROTO, "ascending");
    a->ids = dup;
    unpack_fails(&m, FT_EPROTO, "ascending");
    a->ids = ids;
    /* shares / deliver: 112 bytes per id */
    a->stage = FT_SA_STAGE_DELIVER;
    a->records_len = 3 * FT_WIRE_SA_SHARE_LEN;
    roundtrip(&m, &out);
    ft_msg_clear(&out);
    a->records_len = 2 * FT_WIRE_SA_SHARE_LEN;
    unpack_fails(&m, FT_EPROTO, "record bytes");
    /* unmask: ids and dropped disjoint, no records; dropped nowhere else */
    a->stage = FT_SA_STAGE_UNMASK;
    a->records = NULL;
    a->records_len = 0;
    a->dropped = dropped;
    a->num_dropped = 1;
    roundtrip(&m, &out);
    assert_int_equal(out.u.secagg.num_dropped, 1);
    assert_int_equal(out.u.secagg.dropped[0], 7);
    ft_msg_clear(&out);
    dropped[0] = 5;
    unpack_fails(&m, FT_EPROTO, "both survived and dropped");
    dropped[0] = 7;
    a->stage = FT_SA_STAGE_REVEAL;
    a->records = recs;
    a->records_len = 3 * FT_WIRE_SA_REVEAL_LEN;
    unpack_fails(&m, FT_EPROTO, "dropped ids outside an unmask");
    a->dropped = NULL;
    a->num_dropped = 0;
    roundtrip(&m, &out);
    ft_msg_clear(&out);
    /* masked: a payload of N uint32, a digest, nothing else */
    ft_msg_init(&m, FT_MSG_SECAGG);
    a->stage = FT_SA_STAGE_MASKED;
    a->round = 3;
    a->num_params = 10;
    memset(a->digest, 0x44, 32);
    m.payload_len = 40;
    roundtrip(&m, &out);
    assert_memory_equal(out.u.secagg.digest, a->digest, 32);
    ft_msg_clear(&out);
    m.payload_len = 36;
    unpack_fails(&m, FT_EPROTO, "payload of 36 bytes");
    m.payload_len = 40;
    a->ids = ids;
    a->num_ids = 3;
    unpack_fails(&m, FT_EPROTO, "masked: ids");
    /* keys: one 64-byte record, samples, N, layout hash; no payload */
    ft_msg_init(&m, FT_MSG_SECAGG);
    a->stage = FT_SA_STAGE_KEYS;
    a->round = 1;
    a->num_samples = 60;
    a->num_params = 10;
    a->records = recs;
    a->records_len = 64;
    memset(a->layout_hash, 0x55, 32);
    roundtrip(&m, &out);
    assert_int_equal(out.u.secagg.num_samples, 60);
    ft_msg_clear(&out);
    a->num_samples = 0;
    unpack_fails(&m, FT_EPROTO, "zero samples");
    a->num_samples = 60;
    a->records_len = 63;
    unpack_fails(&m, FT_EPROTO, "64 bytes");
    a->records_len = 64;
    m.payload_len = 40;
    unpack_fails(&m, FT_EPROTO, "unexpected payload");
    m.payload_len = 0;
    a->round = 0;
    unpack_fails(&m, FT_EPROTO, "round 0");
    a->round = 1;
    a->stage = 8;
    unpack_fails(&m, FT_EPROTO, "unknown stage");
    /* too many ids */
    static uint32_t many[256];
    for (uint32_t i = 0; i < 256; i++)
        many[i] = i;
    a->stage = FT_SA_STAGE_UNMASK;
    a->records = NULL;
    a->records_len = 0;
    a->ids = many;
    a->num_ids = 256;
    unpack_fails(&m, FT_EPROTO, "at most 255");
    assert_string_equal(ft_sa_stage_name(FT_SA_STAGE_REVEAL), "reveal");
    assert_string_equal(ft_sa_stage_name(0), "invalid");
}

static void test_small_messages(void **state)
{
    (void)state;
    ft_msg_t m, out;
    ft_msg_init(&m, FT_MSG_ERROR);
    m.u.error.code = FT_EDIGEST;
    strcpy(m.u.error.reason, "bad digest");
    m.u.error.round = 3;
    m.u.error.client_id = 8;
    roundtrip(&m, &out);
    assert_int_equal(out.u.error.code, FT_EDIGEST);
    assert_string_equal(out.u.error.reason, "bad digest");
    assert_int_equal(out.u.error.client_id, 8);
    ft_msg_init(&m, FT_MSG_SHUTDOWN);
    strcpy(m.u.shutdown.reason, "complete");
    roundtrip(&m, &out);
    assert_string_equal(out.u.shutdown.reason, "complete");
    ft_msg_init(&m, FT_MSG_HEARTBEAT);
    m.u.heartbeat.process_id = 2;
    m.u.heartbeat.busy = 1;
    m.u.heartbeat.client_id = 77;
    roundtrip(&m, &out);
    assert_true(out.u.heartbeat.busy);
    assert_int_equal(out.u.heartbeat.client_id, 77);
    ft_msg_init(&m, FT_MSG_REQUEST);
    m.u.request.process_id = 9;
    roundtrip(&m, &out);
    assert_int_equal(out.u.request.process_id, 9);
    m.payload_len = 4;
    unpack_fails(&m, FT_EPROTO, "unexpected payload");
    assert_string_equal(ft_msg_type_name(FT_MSG_UPDATE), "update");
    assert_string_equal(ft_msg_type_name(99), "invalid");
}

/* Hand-encoded protobuf: field 1 (version) varint, field 15 (heartbeat) empty. */
static void test_hand_encoded(void **state)
{
    (void)state;
    ft_msg_t out;
    const uint8_t ok[] = {0x08, 0x01, 0x7a, 0x00};
    assert_int_equal(ft_wire_unpack(ok, sizeof ok, &lim, &out), FT_OK);
    assert_int_equal(out.type, FT_MSG_HEARTBEAT);
    const uint8_t v7[] = {0x08, 0x07, 0x7a, 0x00};
    assert_int_equal(ft_wire_unpack(v7, sizeof v7, &lim, &out), FT_EPROTO);
    assert_non_null(strstr(ft_error_message(), "version 7, expected 1"));
    const uint8_t nobody[] = {0x08, 0x01};
    assert_int_equal(ft_wire_unpack(nobody, sizeof nobody, &lim, &out), FT_EPROTO);
    assert_non_null(strstr(ft_error_message(), "no message body"));
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(ft_wire_unpack(garbage, sizeof garbage, &lim, &out), FT_EPROTO);
    assert_int_equal(ft_wire_unpack(ok, 0, &lim, &out), FT_EPROTO);
    /* a task whose digest is 3 bytes long: field 13 { field 5 bytes(3) } */
    const uint8_t shortdig[] = {0x08, 0x01, 0x6a, 0x07, 0x08, 0x01, 0x2a, 0x03, 1, 2, 3};
    assert_int_equal(ft_wire_unpack(shortdig, sizeof shortdig, &lim, &out), FT_EPROTO);
    assert_non_null(strstr(ft_error_message(), "model digest of 3 bytes"));
    /* size is checked before decoding */
    ft_wire_limits_t tiny = lim;
    tiny.max_envelope = 3;
    assert_int_equal(ft_wire_unpack(ok, sizeof ok, &tiny, &out), FT_EPROTO);
    assert_non_null(strstr(ft_error_message(), "limit"));
}

static void test_vectors(void **state)
{
    (void)state;
    const float v[3] = {1.0f, -2.0f, 0.5f};
    uint8_t bytes[12];
    ft_wire_put_floats(bytes, v, 3);
    const uint8_t le[12] = {0, 0,    0x80, 0x3f, 0, 0,
                            0, 0xc0, 0,    0,    0, 0x3f}; /* struct.pack('<3f') */
    assert_memory_equal(bytes, le, 12);
    float back[3];
    ft_wire_get_floats(back, bytes, 3);
    assert_memory_equal(back, v, sizeof v);
    uint8_t d[32];
    ft_wire_digest_floats(v, 3, d);
    const uint8_t golden[32] = {0x2c, 0xe4, 0xbd, 0xb6, 0xb3, 0x4a, 0x50, 0xac, 0x70, 0x92, 0xeb,
                                0x9f, 0xee, 0x94, 0x33, 0x7a, 0x27, 0x49, 0x8e, 0x9e, 0xb9, 0xba,
                                0xe4, 0x41, 0x92, 0xf1, 0x5b, 0x88, 0x83, 0x1b, 0x24, 0x22};
    assert_memory_equal(d, golden, 32);
    assert_int_equal(ft_wire_check_vector(bytes, 12, 3, d), FT_OK);
    assert_int_equal(ft_wire_check_vector(bytes, 12, 4, d), FT_EPROTO);
    bytes[5] ^= 1;
    assert_int_equal(ft_wire_check_vector(bytes, 12, 3, d), FT_EDIGEST);
    assert_non_null(strstr(ft_error_message(), "digest mismatch"));
}

static void test_unpack_oom(void **state)
{
    (void)state;
    ft_msg_t m, out;
    ft_msg_init(&m, FT_MSG_WELCOME);
    m.u.welcome.config_ini = "x=1";
    m.u.welcome.num_params = 1;
    uint8_t *buf;
    size_t len;
    assert_int_equal(ft_wire_pack_alloc(&m, &buf, &len), FT_OK);
    int failed = 0;
    for (unsigned long k = 1; k < 10; k++) {
        ft_alloc_fail_after(k);
        int rc = ft_wire_unpack(buf, len, &lim, &out);
        ft_alloc_fail_after(0);
        if (rc == FT_OK) {
            ft_msg_clear(&out);
            break;
        }
        failed++;
        assert_true(rc == FT_EPROTO || rc == FT_ENOMEM);
        assert_int_equal(out.type, FT_MSG_NONE);
    }
    assert_true(failed > 0);
    ft_free(buf);
}

/* ---- transport over inproc ---- */

static void test_link(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_bind(router, "inproc://t"), 0);
    assert_int_equal(zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "p1", 2), 0);
    assert_int_equal(zmq_connect(dealer, "inproc://t"), 0);

    /* update with payload, dealer -> router */
    float delta[4] = {1, 2, 3, 4};
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_UPDATE);
    m.u.update.round = 1;
    m.u.update.num_samples = 3;
    m.u.update.num_params = 4;
    ft_wire_digest_floats(delta, 4, m.u.update.digest);
    m.payload_len = 16;
    size_t sent = 0;
    assert_int_equal(ft_link_send(dealer, NULL, 0, &m, delta, NULL, &sent), FT_OK);
    ft_link_in_t in;
    zmq_pollitem_t pi = {router, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&pi, 1, 2000), 1);
    assert_int_equal(ft_link_recv(router, 1, &lim, &in), FT_OK);
    assert_int_equal(in.peer_len, 2);
    assert_memory_equal(in.peer, "p1", 2);
    assert_int_equal(in.msg.type, FT_MSG_UPDATE);
    assert_int_equal(ft_link_payload_len(&in), 16);
    assert_int_equal(ft_wire_check_vector(ft_link_payload(&in), 16, 4, in.msg.u.update.digest),
                     FT_OK);
    assert_int_equal(in.bytes, sent + 2);
    ft_link_in_clear(&in);
    assert_int_equal(ft_link_recv(router, 1, &lim, &in), FT_ETIMEOUT);

    /* zero-copy blob, router -> dealer */
    ft_blob_t *blob = ft_blob_new(16);
    memcpy(ft_blob_data(blob), delta, 16);
    ft_msg_init(&m, FT_MSG_TASK);
    m.u.task.round = 1;
    m.u.task.lr = 0.1f;
    m.u.task.has_model = 1;
    m.u.task.num_params = 4;
    m.payload_len = 16;
    assert_true(ft_blob_exclusive(blob));
    assert_int_equal(ft_link_send(router, (const uint8_t *)"p1", 2, &m, NULL, blob, NULL), FT_OK);
    /* the message in flight holds the bytes: the coordinator must not reuse them */
    assert_false(ft_blob_exclusive(blob));
    pi.socket = dealer;
    assert_int_equal(zmq_poll(&pi, 1, 2000), 1);
    assert_int_equal(ft_link_recv(dealer, 0, &lim, &in), FT_OK);
    assert_int_equal(in.msg.type, FT_MSG_TASK);
    assert_memory_equal(ft_link_payload(&in), delta, 16);
    assert_false(ft_blob_exclusive(blob)); /* inproc hands over the very frame */
    ft_link_in_clear(&in);
    assert_true(ft_blob_exclusive(blob));
    /* ft_blob_writable: the same bytes while no message reads them... */
    void *bytes = ft_blob_data(blob);
    assert_ptr_equal(ft_blob_writable(&blob, 16), bytes);
    /* ...a fresh blob while one does, and the message in flight keeps its bytes */
    assert_int_equal(ft_link_send(router, (const uint8_t *)"p1", 2, &m, NULL, blob, NULL), FT_OK);
    assert_int_equal(zmq_poll(&pi, 1, 2000), 1);
    assert_int_equal(ft_link_recv(dealer, 0, &lim, &in), FT_OK);
    void *fresh = ft_blob_writable(&blob, 16);
    assert_non_null(fresh);
    assert_ptr_not_equal(fresh, bytes);
    memset(fresh, 0, 16);
    assert_memory_equal(ft_link_payload(&in), delta, 16);
    ft_link_in_clear(&in);
    ft_blob_release(&blob);
    assert_null(blob);

    /* a payload frame shorter than the envelope says */
    uint8_t env[256];
    ft_msg_init(&m, FT_MSG_UPDATE);
    m.u.update.round = 1;
    m.u.update.num_samples = 1;
    m.u.update.num_params = 4;
    m.payload_len = 16;
    assert_true(ft_wire_packed_size(&m) <= sizeof env);
    size_t el = ft_wire_pack(&m, env);
    zmq_send(dealer, env, el, ZMQ_SNDMORE);
    zmq_send(dealer, delta, 8, 0);
    pi.socket = router;
    assert_int_equal(zmq_poll(&pi, 1, 2000), 1);
    assert_int_equal(ft_link_recv(router, 1, &lim, &in), FT_EPROTO);
    assert_non_null(strstr(ft_error_message(), "payload frame of 8 bytes"));
    assert_memory_equal(in.peer, "p1", 2);
    ft_link_in_clear(&in);
    /* extra frames are drained and refused; the next message still arrives */
    ft_msg_init(&m, FT_MSG_REQUEST);
    el = ft_wire_pack(&m, env);
    zmq_send(dealer, env, el, ZMQ_SNDMORE);
    zmq_send(dealer, "junk", 4, 0);
    zmq_send(dealer, env, el, 0);
    assert_int_equal(zmq_poll(&pi, 1, 2000), 1);
    assert_int_equal(ft_link_recv(router, 1, &lim, &in), FT_EPROTO);
    assert_int_equal(zmq_poll(&pi, 1, 2000), 1);
    assert_int_equal(ft_link_recv(router, 1, &lim, &in), FT_OK);
    assert_int_equal(in.msg.type, FT_MSG_REQUEST);
    ft_link_in_clear(&in);
    /* garbage envelope */
    zmq_send(dealer, "\xff\xff\xff", 3, 0);
    assert_int_equal(zmq_poll(&pi, 1, 2000), 1);
    assert_int_equal(ft_link_recv(router, 1, &lim, &in), FT_EPROTO);

    /* ROUTER_MANDATORY: an unknown peer is an error, not a silent drop */
    int one = 1;
    zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    ft_msg_init(&m, FT_MSG_SHUTDOWN);
    assert_int_equal(ft_link_send(router, (const uint8_t *)"zz", 2, &m, NULL, NULL, NULL), FT_ENET);

    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attack_state),
        cmocka_unit_test(test_hello_roundtrip),
        cmocka_unit_test(test_welcome_roundtrip),
        cmocka_unit_test(test_task_validation),
        cmocka_unit_test(test_update_validation),
        cmocka_unit_test(test_secagg_validation),
        cmocka_unit_test(test_small_messages),
        cmocka_unit_test(test_hand_encoded),
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_unpack_oom),
        cmocka_unit_test(test_link),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
