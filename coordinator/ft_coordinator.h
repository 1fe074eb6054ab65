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
#include "ft_experiment.h"
#include "ft_key_set.h"
#include "ft_live.h"
#include "ft_metrics.h"

typedef struct {
    const char *bind;    /* endpoint to bind (e.g. tcp port 5555 on all interfaces, or ipc) */
    const char *out_dir; /* run directory (made once the experiment is checked) */
    const volatile sig_atomic_t *stop; /* becomes nonzero to stop the run (may be NULL) */
    int (*tick)(void *user);           /* called about 10 times a second; a nonzero return
                                          aborts the run with that code (may be NULL) */
    void *tick_user;                   /* passed to tick */
    void (*progress)(void *user, const ft_metrics_row_t *row, int rounds,
                     double elapsed_s); /* after each round (may be NULL) */
    void *progress_user;                /* passed to progress */
    int resume;                         /* continue the run in out_dir from its newest good
                                           checkpoint (ft_resume.h); none: start over */
    const ft_key_set_t *extra_clients;  /* with security.curve: client keys allowed besides
                                           security.authorized_clients (fedtail run's own
                                           ephemeral key); may be NULL */
    ft_live_t *live;                    /* the live view's feed (--serve, ft_live.h): every
                                           round is copied into it; may be NULL */
    int live_arm;                       /* the arm of live this run is (ft_live_add_arm) */
} ft_coord_opts_t;

typedef struct ft_coordinator ft_coordinator_t;

/* Validates the experiment, loads the test set and the initial model, creates the
 * defense, then makes out_dir (with its parents), binds the socket and opens the run
 * directory files: an experiment refused here leaves no directory behind, a failed
 * bind an empty one (the caller may rmdir it). The config is copied. With
 * security.curve the ZAP handler starts before the socket binds and the socket
 * becomes a CURVE server (security.server_secret_key; allowed clients from
 * security.authorized_clients plus opts->extra_clients); refused connections become
 * "refused" events. With opts->resume the newest good checkpoint in out_dir is
 * restored (cfg must be the config it holds: ft_coordinator_resume_config) and
 * metrics.csv / events.jsonl are cut back to its round; a checkpoint of a run that
 * stopped because its model was destroyed (run.on_nonfinite = stop) is refused with
 * FT_ESTATE naming the round, since resuming would only repeat it. On error returns a
 * negative code with a message (FT_ECONFIG naming the key, FT_EIO naming the file,
 * FT_ENET naming the endpoint, FT_ECRYPTO naming a key file...); *out stays NULL. */
int ft_coordinator_new(const ft_config_t *cfg, const ft_coord_opts_t *opts, ft_coordinator_t **out);

/* Runs every round (from the checkpoint's round when resuming), writing a
 * resumable checkpoint every run.checkpoint_every rounds. Returns FT_OK when the
 * run completed (final.ckpt written, processes told to shut down); FT_EINTR when
 * stopped through opts->stop (files are complete up to the last round, final.ckpt
 * holds the latest model with complete=0, and a resumable checkpoint holds the
 * last complete round); FT_ENONFINITE when a round's aggregation left NaN/Inf in
 * the global model and run.on_nonfinite = stop (the same files, that round's row
 * included, summary.json's model_destroyed_round set; with continue the run goes on
 * and still records it); FT_ETIMEOUT when a round failed after
 * federation.max_round_retries retries; FT_EIO naming the file when the run
 * directory cannot be written (disk full); another code from tick. */
int ft_coordinator_run(ft_coordinator_t *c);

/* The config of the run in dir, for resuming it: the one stored in its newest good
 * checkpoint, else (no checkpoint yet, or all damaged: the run starts over, with a
 * warning) dir/config.ini. *cfg is new (ft_config_destroy). FT_EIO / FT_ECONFIG
 * naming the file. */
int ft_coordinator_resume_config(const char *dir, ft_config_t **cfg);

/* The experiment the coordinator runs, read from its copy of the config. */
const ft_experiment_t *ft_coordinator_experiment(const ft_coordinator_t *c);

/* The sample count (FedAvg weight) the coordinator expects in client id's Update:
 * derived from the partition (honest) or the attack's D_adv (attacker), never taken
 * from the peer. An Update reporting another count is rejected. */
uint64_t ft_coordinator_expected_samples(const ft_coordinator_t *c, uint32_t id, int attacker);

/* Rounds completed so far. */
int ft_coordinator_rounds_done(const ft_coordinator_t *c);

/* The endpoint the socket is bound to, as ZeroMQ resolved it ("tcp://0.0.0.0:41234"
 * for a bind to tcp://\*:0, whose port the kernel chose), into buf (len bytes, 256
 * is enough). FT_ENET with a message when it does not fit or cannot be read. */
int ft_coordinator_bound_endpoint(const ft_coordinator_t *c, char *buf, size_t len);

/* Closes the socket (waiting up to 2 s for queued messages) and frees everything.
 * Accepts NULL; nulls *c_p. */
void ft_coordinator_destroy(ft_coordinator_t **c_p);

#endif
