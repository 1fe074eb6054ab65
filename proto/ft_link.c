/* ft_link: multi-frame message I/O over ZeroMQ with shape and size checks. */
#include "ft_link.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_zap.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

struct ft_blob {
    atomic_int refs; /* holders: the creator plus one per message in flight */
    size_t len;      /* bytes of data */
    uint8_t *data;   /* the bytes (64-byte aligned) */
};

ft_blob_t *ft_blob_new(size_t len)
{
    ft_blob_t *b = ft_malloc(sizeof *b);
    if (!b)
        return NULL;
    b->data = ft_malloc_aligned(len ? len : 1);
    if (!b->data) {
        ft_free(b);
        return NULL;
    }
    atomic_init(&b->refs, 1);
    b->len = len;
    return b;
}

void *ft_blob_data(ft_blob_t *b)
{
    return b->data;
}
size_t ft_blob_len(const ft_blob_t *b)
{
    return b->len;
}

void ft_link_ctx_term(void *zctx)
{
    if (!zctx)
        return;
    while (zmq_ctx_term(zctx) != 0 && errno == EINTR) {
    }
}

int ft_blob_exclusive(const ft_blob_t *b)
{
    return atomic_load(&((ft_blob_t *)b)->refs) == 1;
}

void *ft_blob_writable(ft_blob_t **b_p, size_t len)
{
    if (!*b_p || !ft_blob_exclusive(*b_p)) {
        ft_blob_release(b_p);
        *b_p = ft_blob_new(len);
    }
    return *b_p ? (*b_p)->data : NULL;
}

static void blob_unref(ft_blob_t *b)
{
    if (atomic_fetch_sub(&b->refs, 1) == 1) {
        ft_free_aligned(b->data);
        ft_free(b);
    }
}

void ft_blob_release(ft_blob_t **b_p)
{
    if (!b_p || !*b_p)
        return;
    blob_unref(*b_p);
    *b_p = NULL;
}

/* ZeroMQ calls this (possibly from its I/O thread) when a zero-copy frame is sent. */
static void blob_zmq_free(void *data, void *hint)
{
    (void)data;
    blob_unref(hint);
}

static int net_error(const char *what)
{
    if (errno == EINTR)
        return ft_error_set(FT_EINTR, "%s: interrupted", what);
    return ft_error_set(FT_ENET, "%s: %s", what, zmq_strerror(errno));
}

/* Discards the remaining frames of a multi-part message. */
static void drain(void *sock)
{
    int more = 0;
    size_t sz = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, sock, 0) < 0) {
            zmq_msg_close(&f);
            return;
        }
        zmq_msg_close(&f);
    }
}

int ft_link_recv(void *sock, int router, const ft_wire_limits_t *lim, ft_link_in_t *in)
{
    memset(in, 0, sizeof *in);
    zmq_msg_t f;
    zmq_msg_init(&f);
    if (zmq_msg_recv(&f, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&f);
        if (errno == EAGAIN)
            return FT_ETIMEOUT;
        return net_error("receive");
    }
    in->bytes += zmq_msg_size(&f);
    if (router) {
        size_t n = zmq_msg_size(&f);
        in->peer_len = n < FT_LINK_MAX_PEER ? n : FT_LINK_MAX_PEER;
        memcpy(in->peer, zmq_msg_data(&f), in->peer_len);
        if (!zmq_msg_more(&f)) {
            zmq_msg_close(&f);
            return ft_error_set(FT_EPROTO, "message without an envelope frame");
        }
        zmq_msg_close(&f);
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, sock, 0) < 0) {
            zmq_msg_close(&f);
            return net_error("receive");
        }
        in->bytes += zmq_msg_size(&f);
        const char *key = zmq_msg_gets(&f, FT_ZAP_KEY_PROPERTY);
        if (key)
            snprintf(in->curve_key, sizeof in->curve_key, "%s", key);
    }
    int more = zmq_msg_more(&f);
    int rc = ft_wire_unpack(zmq_msg_data(&f), zmq_msg_size(&f), lim, &in->msg);
    zmq_msg_close(&f);
    if (rc != FT_OK) {
        drain(sock);
        return rc;
    }
    if (in->msg.payload_len == 0) {
        if (more) {
            drain(sock);
            ft_msg_clear(&in->msg);
            return ft_error_set(FT_EPROTO, "%s: unexpected extra frame",
                                ft_msg_type_name(in->msg.type));
        }
        return FT_OK;
    }
    if (!more) {
        int type = in->msg.type;
        ft_msg_clear(&in->msg);
        return ft_error_set(FT_EPROTO, "%s: payload frame missing", ft_msg_type_name(type));
    }
    zmq_msg_init(&in->payload);
    if (zmq_msg_recv(&in->payload, sock, 0) < 0) {
        zmq_msg_close(&in->payload);
        ft_msg_clear(&in->msg);
        return net_error("receive");
    }
    in->has_payload = 1;
    in->bytes += zmq_msg_size(&in->payload);
    int type = in->msg.type;
    if (zmq_msg_more(&in->payload)) {
        drain(sock);
        ft_link_in_clear(in);
        return ft_error_set(FT_EPROTO, "%s: unexpected extra frame", ft_msg_type_name(type));
    }
    if (zmq_msg_size(&in->payload) != in->msg.payload_len) {
        size_t got = zmq_msg_size(&in->payload);
        unsigned long long want = (unsigned long long)in->msg.payload_len;
        ft_link_in_clear(in);
        return ft_error_set(FT_EPROTO, "%s: payload frame of %zu bytes, envelope says %llu",
                            ft_msg_type_name(type), got, want);
    }
    return FT_OK;
}

const void *ft_link_payload(const ft_link_in_t *in)
{
    return in->has_payload ? zmq_msg_data((zmq_msg_t *)&in->payload) : NULL;
}

size_t ft_link_payload_len(const ft_link_in_t *in)
{
    return in->has_payload ? zmq_msg_size((zmq_msg_t *)&in->payload) : 0;
}

void ft_link_in_clear(ft_link_in_t *in)
{
    ft_msg_clear(&in->msg);
    if (in->has_payload)
        zmq_msg_close(&in->payload);
    in->has_payload = 0;
}

int ft_link_send(void *sock, const uint8_t *peer, size_t peer_len, const ft_msg_t *m,
                 const void *payload, ft_blob_t *blob, size_t *bytes)
{
    assert(m->payload_len == 0 || payload || blob);
    assert(!blob || ft_blob_len(blob) == m->payload_len);
    uint8_t small[512];
    uint8_t *env = small;
    size_t env_len = ft_wire_packed_size(m);
    if (env_len > sizeof small) {
        env = ft_malloc(env_len);
        if (!env)
            return ft_error_set(FT_ENOMEM, "out of memory sending a %s", ft_msg_type_name(m->type));
    }
    ft_wire_pack(m, env);
    int rc = FT_OK;
    size_t total = 0;
    if (peer_len) {
        if (zmq_send(sock, peer, peer_len, ZMQ_SNDMORE) < 0) {
            rc = net_error("send");
            goto done;
        }
        total += peer_len;
    }
    if (zmq_send(sock, env, env_len, m->payload_len ? ZMQ_SNDMORE : 0) < 0) {
        rc = net_error("send");
        goto done;
    }
    total += env_len;
    if (m->payload_len) {
        zmq_msg_t f;
        if (blob) {
            atomic_fetch_add(&blob->refs, 1);
            if (zmq_msg_init_data(&f, blob->data, blob->len, blob_zmq_free, blob) != 0) {
                blob_unref(blob);
                rc = ft_error_set(FT_ENOMEM, "out of memory sending a payload");
                goto done;
            }
        } else {
            if (zmq_msg_init_size(&f, m->payload_len) != 0) {
                rc = ft_error_set(FT_ENOMEM, "out of memory sending a payload");
                goto done;
            }
            memcpy(zmq_msg_data(&f), payload, m->payload_len);
        }
        if (zmq_msg_send(&f, sock, 0) < 0) {
            rc = net_error("send");
            zmq_msg_close(&f);
            goto done;
        }
        total += m->payload_len;
    }
    if (bytes)
        *bytes += total;
done:
    if (env != small)
        ft_free(env);
    return rc;
}
