/* fuzz_wire_seeds: writes the seed corpus of fuzz_wire — one valid envelope frame
 * of every message type (and the edge cases the validator distinguishes: pool and
 * fixed-id hellos, tasks with and without a model, an update, secure-aggregation
 * stages), packed by ft_wire.
 *
 *   fuzz_wire_seeds DIR     (the committed corpus is fuzz/corpus/fuzz_wire)
 *
 * The bytes are deterministic, so re-running it reproduces the committed files. */
#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_wire.h"

#include <stdio.h>
#include <string.h>

static int write_seed(const char *dir, const char *name, const ft_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (ft_wire_pack_alloc(m, &buf, &len) != FT_OK)
        return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(buf, 1, len, f) != len;
    if (f && fclose(f) != 0)
        bad = 1;
    ft_free(buf);
    if (bad)
        fprintf(stderr, "fuzz_wire_seeds: cannot write %s\n", path);
    return bad;
}

static void fill(uint8_t *h, uint8_t start)
{
    for (int i = 0; i < FT_WIRE_HASH_LEN; i++)
        h[i] = (uint8_t)(start + 7 * i);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_wire_seeds DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int bad = 0;
    ft_msg_t m;
    uint32_t ids[4] = {0, 3, 99, 4000000000u};

    ft_msg_init(&m, FT_MSG_HELLO);
    m.u.hello.pid = 4242;
    strcpy(m.u.hello.host, "node-a");
    m.u.hello.pool = 1;
    m.u.hello.threads = 2;
    bad |= write_seed(dir, "hello_pool", &m);
    m.u.hello.pool = 0;
    m.u.hello.clients = ids;
    m.u.hello.num_clients = 4;
    bad |= write_seed(dir, "hello_ids", &m);

    ft_msg_init(&m, FT_MSG_WELCOME);
    m.u.welcome.process_id = 3;
    m.u.welcome.config_ini = "[federation]\nrounds = 5\n[model]\nname = lenet5\n";
    fill(m.u.welcome.layout_hash, 1);
    m.u.welcome.num_params = 44426;
    m.u.welcome.rounds = 5;
    bad |= write_seed(dir, "welcome", &m);

    ft_msg_init(&m, FT_MSG_REQUEST);
    m.u.request.process_id = 3;
    bad |= write_seed(dir, "request", &m);

    ft_msg_init(&m, FT_MSG_TASK);
    m.u.task.round = 2;
    m.u.task.client_id = 17;
    m.u.task.attempt = 1;
    m.u.task.lr = 0.01f;
    m.u.task.attacker = 1;
    fill(m.u.task.model_digest, 2);
    m.u.task.num_params = 4;
    bad |= write_seed(dir, "task_cached", &m);
    m.u.task.has_model = 1;
    m.payload_len = 16;
    bad |= write_seed(dir, "task_model", &m);

    ft_msg_init(&m, FT_MSG_UPDATE);
    m.u.update.round = 2;
    m.u.update.client_id = 17;
    m.u.update.process_id = 3;
    m.u.update.num_samples = 600;
    m.u.update.train_loss = 0.25f;
    /* SHA-256 of 16 zero bytes: the payload fuzz_wire materialises matches. */
    static const uint8_t zero16[FT_WIRE_HASH_LEN] = {
        0x37, 0x47, 0x08, 0xff, 0xf7, 0x71, 0x9d, 0xd5, 0x97, 0x9e, 0xc8,
        0x75, 0xd5, 0x6c, 0xd2, 0x28, 0x6f, 0x6d, 0x3c, 0xf7, 0xec, 0x31,
        0x7a, 0x3b, 0x25, 0x63, 0x2a, 0xab, 0x28, 0xec, 0x37, 0xbb};
    memcpy(m.u.update.digest, zero16, sizeof zero16);
    m.u.update.num_params = 4;
    fill(m.u.update.layout_hash, 3);
    m.u.update.train_s = 1.5;
    m.u.update.prepare_s = 0.125;
    m.payload_len = 16;
    bad |= write_seed(dir, "update", &m);

    ft_msg_init(&m, FT_MSG_HEARTBEAT);
    m.u.heartbeat.process_id = 3;
    m.u.heartbeat.round = 2;
    m.u.heartbeat.client_id = 17;
    m.u.heartbeat.busy = 1;
    bad |= write_seed(dir, "heartbeat", &m);

    ft_msg_init(&m, FT_MSG_ERROR);
    m.u.error.code = FT_EDIGEST;
    strcpy(m.u.error.reason, "update digest mismatch");
    m.u.error.round = 2;
    m.u.error.client_id = 17;
    bad |= write_seed(dir, "error", &m);

    ft_msg_init(&m, FT_MSG_SHUTDOWN);
    strcpy(m.u.shutdown.reason, "complete");
    bad |= write_seed(dir, "shutdown", &m);

    /* secure aggregation: a roster (ids + 64-byte records) and an unmask (dropped) */
    uint32_t sa_ids[3] = {2, 5, 9}, dropped[1] = {7};
    uint8_t recs[3 * FT_WIRE_SA_KEYS_LEN];
    for (size_t i = 0; i < sizeof recs; i++)
        recs[i] = (uint8_t)(i * 7);
    ft_msg_init(&m, FT_MSG_SECAGG);
    m.u.secagg.stage = FT_SA_STAGE_ROSTER;
    m.u.secagg.round = 2;
    m.u.secagg.client_id = 5;
    m.u.secagg.threshold = 2;
    m.u.secagg.ids = sa_ids;
    m.u.secagg.num_ids = 3;
    m.u.secagg.records = recs;
    m.u.secagg.records_len = sizeof recs;
    bad |= write_seed(dir, "secagg_roster", &m);
    m.u.secagg.stage = FT_SA_STAGE_UNMASK;
    m.u.secagg.records = NULL;
    m.u.secagg.records_len = 0;
    m.u.secagg.dropped = dropped;
    m.u.secagg.num_dropped = 1;
    bad |= write_seed(dir, "secagg_unmask", &m);
    return bad;
}
