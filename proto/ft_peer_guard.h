/* ft_peer_guard: a bound on the connections a server socket holds, so that peers
 * cannot take the process's file descriptors (and with them the run directory).
 *
 * libzmq accepts every TCP/IPC connection it can and offers no limit of its own;
 * at the open-file limit its accept loop spins (EMFILE) and every open() of the
 * process fails. The guard watches the socket's monitor on a thread of its own
 * (so it keeps up while the caller is busy, e.g. aggregating), counts the accepted
 * connections still open, and shuts down at once — shutdown(2), libzmq then closes
 * it as a peer that left — every connection accepted while max_conns are open.
 * Handshakes that never finish are bounded in time by the socket options
 * ft_peer_guard_socket_options sets (ZMQ_HANDSHAKE_IVL, ZMTP heartbeats).
 *
 * One monitor per socket: the guard owns it and hands every event to an optional
 * callback (ft_zap's refusal log). docs/security.md lists the limits. */
#ifndef FT_PEER_GUARD_H
#define FT_PEER_GUARD_H

#include <stddef.h>
#include <stdint.h>

/* Descriptors kept out of max_conns for the process itself: the run directory's
 * files, libzmq's own (context, mailboxes), the evaluator's threads. */
#define FT_PEER_GUARD_RESERVE_FDS 128

/* Handshake deadline (ZMQ_HANDSHAKE_IVL): a connection that has not finished its
 * ZMTP (and CURVE) handshake by then is closed. */
#define FT_PEER_GUARD_HANDSHAKE_MS 10000

/* A running guard. */
typedef struct ft_peer_guard ft_peer_guard_t;

/* Every monitor event of the socket, on the guard's thread (libzmq v1 event
 * number and value: the descriptor for ACCEPTED / DISCONNECTED). */
typedef void (*ft_peer_guard_event_fn)(void *user, int event, uint32_t value);

/* Counters of a guard (ft_peer_guard_stats). */
typedef struct {
    size_t open;           /* accepted connections open now */
    size_t peak;           /* most open at once */
    size_t max_conns;      /* the bound in force */
    unsigned long shed;    /* connections shut down for being over the bound */
    unsigned long handled; /* connections accepted in all */
} ft_peer_guard_stats_t;

/* Raises the soft open-file limit to the hard one (at most 2^20) and returns the
 * soft limit now in force (the old one if it could not be raised). */
size_t ft_peer_guard_raise_nofile(void);

/* The bound to use for a server that wants want connections: at most the
 * open-file limit minus FT_PEER_GUARD_RESERVE_FDS (or half the limit when that is
 * smaller), at least 1. */
size_t ft_peer_guard_cap(size_t want, size_t nofile);

/* Sets the options that bound a peer's hold on sock before it is counted useful:
 * ZMQ_HANDSHAKE_IVL = FT_PEER_GUARD_HANDSHAKE_MS, and ZMTP heartbeats every
 * heartbeat_ms with a connection dropped after timeout_ms without traffic (its TTL
 * sent to the peer). Call before bind. FT_ENET. */
int ft_peer_guard_socket_options(void *sock, int heartbeat_ms, int timeout_ms);

/* Starts watching sock (call from sock's thread, before it binds, so that no
 * connection goes uncounted): at most max_conns accepted connections stay open;
 * fn(user, ...) sees every event (fn may be NULL). Stop with ft_peer_guard_stop
 * before closing sock. FT_ENET, FT_ENOMEM, FT_ESTATE (no thread); *out NULL then. */
int ft_peer_guard_start(void *zctx, void *sock, size_t max_conns, ft_peer_guard_event_fn fn,
                        void *user, ft_peer_guard_t **out);

/* The guard's counters now (thread-safe). */
void ft_peer_guard_stats(ft_peer_guard_t *g, ft_peer_guard_stats_t *out);

/* Stops the monitor of the socket it watches (from that socket's thread), ends the
 * thread and frees. Accepts NULL; nulls *g_p. */
void ft_peer_guard_stop(ft_peer_guard_t **g_p);

#endif
