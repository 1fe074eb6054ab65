/* ft_client_secagg: a client process's side of secure aggregation (Bonawitz et al.
 * CCS 2017, Fig. 4, semi-honest variant; the stages are in
 * coordinator/ft_coord_secagg.c and docs/security.md).
 *
 * After training client c in round t the process keeps c's secrets (two X25519 key
 * pairs, the self-mask seed b) and its encoded update x_c in Z_2^32 (secagg/ft_fixed.h:
 * weight n_c / N_round, clamp, scale), answers the Task with KEYS, and then answers
 * the coordinator's ROSTER, DELIVER and UNMASK for c from that state. A client never
 * reveals both secrets of one peer: each state answers UNMASK once, and only with a
 * survivor/dropped split of the U2 it masked with. States of other rounds are
 * dropped when a task for a new round arrives, so memory is bounded by the tasks a
 * round hands this process (at most FT_SA_MAX_N). */
#ifndef FT_CLIENT_SECAGG_H
#define FT_CLIENT_SECAGG_H

#include <stddef.h>
#include <stdint.h>

#include "ft_experiment.h"
#include "ft_wire.h"

typedef struct ft_client_sa ft_client_sa_t;

/* State for a process of N parameters with sec's encoding; clip_norm > 0: each
 * update is clipped to that L2 norm before it is encoded (the Welcome's
 * secagg_clip_norm). NULL on OOM or when libsodium does not start. */
ft_client_sa_t *ft_client_sa_new(size_t N, const ft_security_cfg_t *sec, double clip_norm);
void ft_client_sa_destroy(ft_client_sa_t **sa_p);

/* After training: keeps the client's secrets and its encoded update delta (N; it is
 * clipped in place when clip_norm > 0 and self_clip) of weight num_samples /
 * round_samples, and
 * fills *keys (pointing into the state) with the KEYS body. FT_ENOMEM, FT_ECRYPTO,
 * FT_ESTATE when FT_SA_MAX_N clients are already held for this round. */
int ft_client_sa_begin(ft_client_sa_t *sa, uint32_t round, uint32_t attempt, uint32_t client_id,
                       float *delta /* N */, uint64_t num_samples, uint64_t round_samples,
                       int self_clip, ft_msg_secagg_t *keys);

/* Answers a ROSTER, DELIVER or UNMASK: fills *reply (pointing into the state; for
 * MASKED, *payload and *payload_len give the N little-endian uint32). Returns FT_OK,
 * or (with a message naming the client and the fault; the client's state is then
 * dropped: it leaves the round) FT_EPROTO for a message that does not fit the state,
 * FT_ECRYPTO for a share that fails authentication, FT_ESTATE for a stage out of
 * order or a set below the threshold, FT_ENOTFOUND for a client not held. */
int ft_client_sa_handle(ft_client_sa_t *sa, const ft_msg_secagg_t *in, ft_msg_secagg_t *reply,
                        const void **payload, size_t *payload_len);

/* Clients held now (for tests and logs). */
size_t ft_client_sa_held(const ft_client_sa_t *sa);

#endif
