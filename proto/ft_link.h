/* ft_link: sending and receiving whole fedtail messages on ZeroMQ sockets.
 *
 * A message is [routing id] envelope [payload]: the routing-id frame exists only on
 * the coordinator's ROUTER socket; the payload frame exists exactly when the
 * envelope's payload_len is non-zero and then has that many bytes. Receiving checks
 * the frame shape and sizes before anything is decoded; the payload stays in its
 * zmq_msg_t (no copy) until the caller has validated and used it. Model broadcasts
 * are sent zero-copy from a reference-counted blob shared by every recipient. */
#ifndef FT_LINK_H
#define FT_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "ft_wire.h"

#define FT_LINK_MAX_PEER 256 /* longest ZeroMQ routing id */

/* One received message. */
typedef struct {
    uint8_t peer[FT_LINK_MAX_PEER]; /* ROUTER: the sender's routing id */
    size_t peer_len;                /* bytes of peer (0 on a DEALER socket) */
    ft_msg_t msg;                   /* decoded, self-validated envelope */
    zmq_msg_t payload;              /* payload frame (valid when has_payload) */
    int has_payload;                /* a payload frame was received */
    size_t bytes;                   /* bytes of all frames, for accounting */
    char curve_key[48];             /* ROUTER: the sender's CURVE public key in Z85, as
                                       the ZAP handler admitted it ("" without CURVE) */
} ft_link_in_t;

/* Receives one message without blocking. router: the socket is a ROUTER (expects a
 * routing-id frame). Returns FT_OK; FT_ETIMEOUT if nothing is waiting; FT_EINTR if a
 * signal interrupted; FT_EPROTO/FT_ENOMEM for a malformed message (all its frames are
 * consumed, in->peer names the sender, the message says why, in holds nothing to
 * clear); FT_ENET on socket failure. On FT_OK release with ft_link_in_clear. */
int ft_link_recv(void *sock, int router, const ft_wire_limits_t *lim, ft_link_in_t *in);
/* The payload bytes (NULL when there is none) and their length. */
const void *ft_link_payload(const ft_link_in_t *in);
size_t ft_link_payload_len(const ft_link_in_t *in);
/* Releases the message and payload. Safe on a cleared or failed ft_link_in_t. */
void ft_link_in_clear(ft_link_in_t *in);

/* zmq_ctx_term, restarted while a signal interrupts it (a child process's exit or
 * Ctrl-C during shutdown): an interrupted call leaves the context and its I/O
 * threads alive. Accepts NULL. */
void ft_link_ctx_term(void *zctx);

/* A reference-counted immutable byte buffer for zero-copy sends (one global model
 * sent to many processes). Created with one reference. */
typedef struct ft_blob ft_blob_t;
/* NULL on OOM. */
ft_blob_t *ft_blob_new(size_t len);
void *ft_blob_data(ft_blob_t *b);
size_t ft_blob_len(const ft_blob_t *b);
/* Whether the caller's reference is the only one: no message in flight still reads
 * the bytes, so the caller may write them. */
int ft_blob_exclusive(const ft_blob_t *b);
/* The bytes of *b_p to write the next message into: *b_p's own when no message in
 * flight reads them (a buffer sent again and again is allocated once), else those
 * of a fresh blob of len bytes that replaces it (the old one goes with its last
 * send). NULL on OOM (*b_p is then NULL). */
void *ft_blob_writable(ft_blob_t **b_p, size_t len);
/* Drops the caller's reference (the memory goes when ZeroMQ has sent every copy).
 * Accepts NULL; nulls *b_p. */
void ft_blob_release(ft_blob_t **b_p);

/* Sends m to peer (peer_len 0 on a DEALER). The payload, when m->payload_len > 0,
 * comes from blob (zero-copy, a reference is taken) or else from payload (copied);
 * its length must equal m->payload_len. Adds the bytes sent to *bytes (may be NULL).
 * Returns FT_OK, FT_ENOMEM, FT_EINTR or FT_ENET (e.g. the ROUTER peer is gone:
 * EHOSTUNREACH with ZMQ_ROUTER_MANDATORY) with a message. */
int ft_link_send(void *sock, const uint8_t *peer, size_t peer_len, const ft_msg_t *m,
                 const void *payload, ft_blob_t *blob, size_t *bytes);

#endif
