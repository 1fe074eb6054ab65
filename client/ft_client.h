/* ft_client: a client process — one DEALER socket to the coordinator.
 *
 * Handshake: Hello (pool or fixed ids) -> Welcome (resolved config, layout hash,
 * N). The process then loads its data, derives the partition, builds the model and
 * checks that its layout hash and N equal the coordinator's. Work loop: Request ->
 * Task [+ global model, once per round] -> local training (heartbeats from the
 * training hook) -> Update (delta + SHA-256) -> Request ... until Shutdown. Every
 * received message is validated; a bad task is answered with an Error and the
 * process asks for the next one. With batch_clients K > 1 the process registers K
 * times over K sockets and trains the tasks they bring together
 * (ft_client_batch.c, docs/gpu.md "Batched clients"). */
#ifndef FT_CLIENT_H
#define FT_CLIENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "ft_experiment.h"

typedef struct {
    const char *connect;               /* coordinator endpoint */
    int pool;                          /* serve any client id */
    const uint32_t *clients;           /* fixed ids when not pool (sorted) */
    size_t num_clients;                /* entries in clients */
    const ft_security_cfg_t *security; /* the command line's [security]: the keys are
                                          needed before the coordinator's config arrives;
                                          NULL: no CURVE */
    int max_message_mb;                /* largest accepted message until the coordinator's
                                          config arrives (0: 1024) */
    const volatile sig_atomic_t *stop; /* becomes nonzero to stop (may be NULL) */
    double connect_timeout_s;          /* how long to wait for a Welcome */
    const char *device;                /* this process's run.device ("cuda:1"), overriding
                                          the coordinator's; NULL keeps it */
    int batch_clients;                 /* tasks of a round to train at once (registers as
                                          that many processes; docs/gpu.md); 0: the run's
                                          run.batch_clients; FT_CLIENT_BATCH_AUTO: as many
                                          as fit the device's memory */
} ft_client_opts_t;

/* Most tasks a process trains at once (run.batch_clients' bound). */
#define FT_CLIENT_MAX_BATCH 256
/* ft_client_opts_t.batch_clients: size the batch by the device's free memory. */
#define FT_CLIENT_BATCH_AUTO (-1)

/* Runs the process until the coordinator says Shutdown (FT_OK). Errors: FT_ETIMEOUT
 * (no Welcome in time, or the coordinator silent for max(60 s, 10 heartbeat
 * periods)), FT_EPROTO (the model here differs from the coordinator's), FT_EINTR
 * (stop), FT_ENET, or a data/model loading error — each with a message. */
int ft_client_run(const ft_client_opts_t *o);

#endif
