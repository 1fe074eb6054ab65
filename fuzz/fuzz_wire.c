/* fuzz_wire: libFuzzer target for the bytes-from-the-network boundary of proto/.
 *
 * The input is one envelope frame as a peer would send it. ft_wire_unpack must
 * either reject it with FT_EPROTO/FT_ENOMEM and a message, leaving the output
 * cleared, or accept it; an accepted message must survive pack -> unpack -> pack
 * with identical bytes (the decoder and encoder agree on what was validated), and a
 * payload of the announced length is run through ft_wire_check_vector. Crashes,
 * leaks and sanitizer reports are the failures libFuzzer looks for; a broken
 * invariant aborts. Seeds: fuzz/corpus/fuzz_wire (written by fuzz_wire_seeds). */
#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a description: libFuzzer saves the input as a crash. */
static void broken(const char *what)
{
    fprintf(stderr, "fuzz_wire: invariant broken: %s (%s)\n", what, ft_error_message());
    abort();
}

/* Payloads up to this size are materialised and checked (larger ones only cost time). */
#define CHECK_PAYLOAD_MAX (64u << 10)

static void check_payload(const ft_msg_t *m)
{
    uint64_t n = 0;
    const uint8_t *digest = NULL;
    if (m->type == FT_MSG_UPDATE) {
        n = m->u.update.num_params;
        digest = m->u.update.digest;
    } else if (m->type == FT_MSG_TASK && m->u.task.has_model) {
        n = m->u.task.num_params;
        digest = m->u.task.model_digest;
    }
    if (!digest || m->payload_len > CHECK_PAYLOAD_MAX)
        return;
    if (m->payload_len != n * 4)
        broken("accepted a payload length that is not N * 4");
    uint8_t *payload = ft_calloc(1, (size_t)m->payload_len + 1);
    if (!payload)
        return;
    int rc = ft_wire_check_vector(payload, (size_t)m->payload_len, n, digest);
    if (rc != FT_OK && rc != FT_EDIGEST)
        broken("check_vector on a payload of the announced length");
    /* One byte short must be a length error, never a read past the end. */
    if (m->payload_len > 0 &&
        ft_wire_check_vector(payload, (size_t)m->payload_len - 1, n, digest) != FT_EPROTO)
        broken("check_vector accepted a short payload");
    ft_free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ft_wire_limits_t lim;
    ft_wire_limits_default(&lim, 1);
    lim.max_client_list = 4096;
    ft_msg_t m;
    int rc = ft_wire_unpack(data, size, &lim, &m);
    if (rc != FT_OK) {
        if (rc != FT_EPROTO && rc != FT_ENOMEM)
            broken("unexpected error code");
        if (m.type != FT_MSG_NONE)
            broken("rejected message not cleared");
        ft_msg_clear(&m);
        return 0;
    }
    if (m.type <= FT_MSG_NONE || m.type >= FT_MSG_COUNT_ || m.version != FT_WIRE_VERSION)
        broken("accepted message without a valid type and version");
    check_payload(&m);

    uint8_t *once = NULL, *twice = NULL;
    size_t once_len = 0, twice_len = 0;
    ft_msg_t again;
    if (ft_wire_pack_alloc(&m, &once, &once_len) != FT_OK)
        goto out;
    if (ft_wire_unpack(once, once_len, &lim, &again) != FT_OK)
        broken("re-packed accepted message is rejected");
    if (again.type != m.type || again.payload_len != m.payload_len)
        broken("re-packed message changed type or payload length");
    if (ft_wire_pack_alloc(&again, &twice, &twice_len) == FT_OK &&
        (twice_len != once_len || memcmp(once, twice, once_len) != 0))
        broken("pack(unpack(pack(m))) differs from pack(m)");
    ft_msg_clear(&again);
out:
    ft_free(once);
    ft_free(twice);
    ft_msg_clear(&m);
    return 0;
}
