/* ft_procs: the coordinator's table of client processes and their states.
 *
 *   (hello) -> IDLE --request--> WAITING --task--> BUSY --update--> IDLE
 *                 \______________________________________________/
 *                      silent for 5 heartbeat periods -> DEAD
 *
 * A process is known by its ZeroMQ routing id. It serves either any client id
 * (pool) or a fixed sorted set. The table remembers the digest of the global model
 * each process holds, so each process receives a round's model once.
 *
 * Everything here comes from peers, so it is bounded (docs/security.md): a fixed
 * set names ids in [0, id_bound) only, at most max_procs processes are alive at
 * once, the fixed sets of the live ones hold at most max_ids ids together, and a
 * dead process gives its ids back at once and its entry to the next registration.
 * Memory is O(max_procs + max_ids) whatever a peer sends, never the number of
 * Hellos. */
#ifndef FT_PROCS_H
#define FT_PROCS_H

#include <stddef.h>
#include <stdint.h>

#include "ft_link.h"
#include "ft_wire.h"

typedef enum {
    FT_PROC_IDLE = 0, /* registered, nothing asked */
    FT_PROC_WAITING,  /* asked for a task; none given yet */
    FT_PROC_BUSY,     /* working on a task */
    FT_PROC_DEAD,     /* presumed dead (silent) or gone */
} ft_proc_state_t;

typedef struct {
    uint8_t peer[FT_LINK_MAX_PEER];  /* routing id */
    size_t peer_len;                 /* bytes of peer */
    uint32_t id;                     /* process number (1, 2, ... in registration order) */
    ft_proc_state_t state;           /* see above */
    double last_seen;                /* time of its last message */
    int pool;                        /* serves any client id */
    uint32_t *clients;               /* fixed ids, sorted (owned; NULL for pool) */
    size_t num_clients;              /* entries in clients */
    int has_model;                   /* holds the model whose digest is model */
    uint8_t model[FT_WIRE_HASH_LEN]; /* digest of the global model it holds */
    int slot;                        /* BUSY: the round slot it works on, else -1 */
    uint32_t pid;                    /* its OS pid, for events */
    char host[FT_WIRE_HOST_LEN];     /* its host, for events */
    uint64_t tasks;                  /* updates accepted from it */
} ft_proc_t;

typedef struct {
    ft_proc_t *procs;  /* registered processes; a dead entry is reused by the next */
    size_t n;          /* entries used (<= max_procs) */
    size_t cap;        /* entries allocated */
    uint32_t last_id;  /* process number of the latest registration */
    size_t max_procs;  /* live processes at once (0: no bound) */
    uint32_t id_bound; /* fixed ids must be < id_bound (0: any uint32) */
    size_t max_ids;    /* fixed ids held by all live processes together (0: no bound) */
    size_t ids_held;   /* fixed ids held now by live processes */
} ft_procs_t;

void ft_procs_init(ft_procs_t *t);
void ft_procs_free(ft_procs_t *t);

/* Bounds for later registrations (see above; 0: none). */
void ft_procs_set_limits(ft_procs_t *t, size_t max_procs, uint32_t id_bound, size_t max_ids);

/* Index of the live (not DEAD) process with this routing id, or -1. */
int ft_procs_find(const ft_procs_t *t, const uint8_t *peer, size_t peer_len);
/* Index of the most recent process with this routing id, dead or alive, or -1. */
int ft_procs_find_any(const ft_procs_t *t, const uint8_t *peer, size_t peer_len);

/* Registers a process from its Hello (ids copied, sorted, de-duplicated) into the
 * first dead entry, or a new one. Returns its index; FT_EPROTO with a message when
 * the Hello names an id >= id_bound or an empty fixed set, FT_ESTATE when max_procs
 * processes are alive or its ids would take the ids held past max_ids, FT_ENOMEM;
 * the table is then unchanged. */
int ft_procs_add(ft_procs_t *t, const uint8_t *peer, size_t peer_len, const ft_msg_hello_t *h,
                 double now);

/* Marks process i dead and releases its fixed ids; its entry (routing id, number,
 * pid, host) stays findable by ft_procs_find_any until a registration reuses it. */
void ft_procs_set_dead(ft_procs_t *t, size_t i);

/* Nonzero if process p may train client id (pool, or id in its fixed set). The
 * signature fits ft_round_next. */
int ft_proc_can_serve(const void *p, uint32_t client_id);

/* Live processes. */
size_t ft_procs_alive(const ft_procs_t *t);

/* Lets every live process count as seen at now (after the coordinator itself was
 * busy, e.g. evaluating, and could not read their heartbeats). */
void ft_procs_touch_all(ft_procs_t *t, double now);

/* Index of a live process silent since before now - silence_s, or -1. The caller
 * marks it dead (and requeues its work) and calls again. */
int ft_procs_next_silent(const ft_procs_t *t, double now, double silence_s);

/* Parses a client-id list "0-9,15,20-22" into a new sorted, de-duplicated array
 * (*ids, caller frees with ft_free). FT_EINVAL with a message on a malformed list. */
int ft_parse_id_list(const char *text, uint32_t **ids, size_t *n);

#endif
