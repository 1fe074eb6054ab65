/* ft_zap: the ZAP handler (ZeroMQ RFC 27) that admits only CURVE clients on the
 * allow-list, and the refused connections it records for the coordinator's event log.
 *
 * libzmq asks the handler bound on FT_ZAP_ENDPOINT about every handshake on a socket
 * with a ZAP domain, and admits every CURVE client when no handler is bound; so the
 * handler runs on its own thread and must be started before the server socket binds
 * (ft_curve_server_setup sets FT_ZAP_DOMAIN on that socket). */
#ifndef FT_ZAP_H
#define FT_ZAP_H

#include "ft_curve.h"   /* FT_CURVE_Z85_LEN */
#include "ft_key_set.h" /* ft_key_set_t */

#define FT_ZAP_ENDPOINT "inproc://zeromq.zap.01" /* where libzmq asks (RFC 27) */

/* The metadata property (zmq_msg_gets) holding an admitted client's Z85 public key. */
#define FT_ZAP_KEY_PROPERTY "X-Curve-Key"

/* A running ZAP handler: a thread answering libzmq's authentication requests. */
typedef struct ft_zap ft_zap_t;

/* Counters of a ZAP handler (read with ft_zap_stats). */
typedef struct {
    unsigned long accepted; /* CURVE handshakes with an allowed key */
    unsigned long refused;  /* requests refused (unknown key, other mechanism, malformed) */
} ft_zap_stats_t;

/* Binds FT_ZAP_ENDPOINT on zmq_ctx and starts a thread that answers each request:
 * status 200 iff the mechanism is CURVE and the client key is in allowed (the reply's
 * user id is the key's name, readable on received frames as the "User-Id"
 * property, and its Z85 form as the FT_ZAP_KEY_PROPERTY one), else 400; each refusal is logged at
 * WARN with the peer address and the Z85 key. allowed is copied (the caller keeps its set). One
 * handler per context. Errors: FT_ENET (e.g. the endpoint is already bound: another handler runs),
 * FT_ENOMEM, FT_ESTATE (thread not started); *out is NULL then. */
int ft_zap_start(void *zmq_ctx, const ft_key_set_t *allowed, ft_zap_t **out);
/* The handler's counters so far. */
void ft_zap_stats(ft_zap_t *zap, ft_zap_stats_t *stats);

/* One refused connection, for the coordinator's event log. */
typedef struct {
    char address[64];               /* peer address ("10.0.0.7", "127.0.0.1:40312",
                                       "unknown") */
    char mechanism[16];             /* ZAP mechanism ("CURVE", "NULL"; "" if ZAP was not
                                       asked) */
    char key[FT_CURVE_Z85_LEN + 1]; /* refused client key in Z85 ("" if none) */
    char reason[96];                /* why ("client key not authorized", ...) */
} ft_zap_refusal_t;

/* Pops the oldest refusal not yet collected into out: 1 if there was one, else 0
 * (also for a NULL zap). Thread-safe; the handler keeps up to 64. */
int ft_zap_next_refusal(ft_zap_t *zap, ft_zap_refusal_t *out);

/* Also watches server_sock (the CURVE server socket, from the caller's thread,
 * before it binds): handshakes that fail before ZAP is asked — a plaintext client
 * (mechanism mismatch) or a client with the wrong server key — are logged at WARN
 * and queued as refusals, with the peer address taken when the connection was
 * accepted. Uses zmq_socket_monitor on server_sock: stop it with
 * zmq_socket_monitor(server_sock, NULL, 0) before closing server_sock, and close
 * server_sock before ft_zap_stop. FT_ENET. */
int ft_zap_watch(ft_zap_t *zap, void *server_sock);
/* The same handling for a caller that owns the server socket's monitor itself
 * (ft_peer_guard) instead of ft_zap_watch: one monitor event (its libzmq event
 * number and value). Call from one thread only, and never with ft_zap_watch. */
void ft_zap_note_event(ft_zap_t *zap, int event, uint32_t value);
/* Stops the thread, unbinds and frees. Call before zmq_ctx_term of its context.
 * Accepts NULL; nulls *zap_p. */
void ft_zap_stop(ft_zap_t **zap_p);

#endif
