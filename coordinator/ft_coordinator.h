/* ft_coordinator: the coordinator process — one ZeroMQ ROUTER socket, rounds,
 * sampling, dispatch, deadlines, aggregation, evaluation, and the run directory
 * (config.ini, metrics.csv, events.jsonl, final.ckpt).
 *
 * Work is pulled: a registered process sends Request when idle and is handed the
 * first pending task it can serve (with the global model if it does not hold this
 * round's model yet). Every received message is validated; a bad one becomes a
 * "rejected" event and the run goes on. A process silent for 5 heartbeat periods is
 * presumed dead and its tasks are handed to others; at round_timeout a round closes
 * with what it has if that is at least min_clients, otherwise it is retried.
 * docs/protocol.md describes the protocol and fault policy. */
#ifndef FT_COORDINATOR_H
#define FT_COORDINATOR_H

#include <signal.h>

#include "ft_config.h"
#include "ft_metrics.h"

typedef struct {
    const char *bind;    /* endpoint to bind (e.g. tcp port 5555 on all interfaces, or ipc) */
    const char *out_dir; /* run directory (must exist) */
    const volatile sig_atomic_t *stop; /* becomes nonzero to stop the run (may be NULL) */
    int (*tick)(void *user);           /* called about 10 times a second; a nonzero return
                                          aborts the run with that code (may be NULL) */
    void *tick_user;                   /* passed to tick */
    void (*progress)(void *user, const ft_round_metrics_t *row, int rounds,
                     double elapsed_s); /* after each round (may be NULL) */
    void *progress_user;                /* passed to progress */
} ft_coord_opts_t;

typedef struct ft_coordinator ft_coordinator_t;

/* Validates the experiment, loads the test set and the initial model, creates the
 * defense, binds the socket and opens the run directory files. The config is
 * copied. On error returns a negative code with a message (FT_ECONFIG naming the
 * key, FT_EIO naming the file, FT_ENET naming the endpoint...); *out stays NULL. */
int ft_coordinator_new(const ft_config_t *cfg, const ft_coord_opts_t *opts, ft_coordinator_t **out);

/* Runs every round. Returns FT_OK when the run completed (final.ckpt written,
 * processes told to shut down); FT_EINTR when stopped through opts->stop (files are
 * complete up to the last round, final.ckpt holds the latest model with
 * complete=0); FT_ETIMEOUT when a round failed after federation.max_round_retries
 * retries; another code from tick or I/O. */
int ft_coordinator_run(ft_coordinator_t *c);

/* Rounds completed so far. */
int ft_coordinator_rounds_done(const ft_coordinator_t *c);

/* Closes the socket (waiting up to 2 s for queued messages) and frees everything.
 * Accepts NULL; nulls *c_p. */
void ft_coordinator_destroy(ft_coordinator_t **c_p);

/* Checks the [federation] keys the coordinator depends on (ranges, K <=
 * num_clients, ...). FT_ECONFIG naming the key. */
int ft_federation_check_config(const ft_config_t *cfg);

#endif
