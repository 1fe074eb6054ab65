/* ft_coordinator_internal: what the coordinator's files share — struct
 * ft_coordinator and the functions one file calls in another. Not for use outside
 * coordinator/ft_coord*.c.
 *
 * The coordinator is one concept per file:
 *   ft_coordinator.c    construction, destruction, the round loop (public API);
 *   ft_coord_serve.c    the socket side: the model message, sending, dispatch,
 *                       the message handlers, liveness, running one round;
 *   ft_coord_close.c    closing a round: aggregation, decisions joined with the
 *                       ground truth, evaluation, finishing the round;
 *   ft_coord_run_dir.c  the run directory: metrics.csv / events.jsonl, resuming,
 *                       checkpoints, saved updates, final.ckpt, summary.json;
 *   ft_coord_curve.c    CURVE set-up and refusal logging;
 *   ft_coord_secagg.c   secure aggregation's stages (security.secure_aggregation).
 * Functions here keep the contracts they had as file-local helpers; none is
 * called outside the coordinator. */
#ifndef FT_COORDINATOR_INTERNAL_H
#define FT_COORDINATOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ft_coordinator.h"
#include "ft_detect.h"
#include "ft_experiment.h"
#include "ft_evaluator.h"
#include "ft_events.h"
#include "ft_global.h"
#include "ft_link.h"
#include "ft_metrics.h"
#include "ft_peer_guard.h"
#include "ft_procs.h"
#include "ft_root.h"
#include "ft_round.h"
#include "ft_scenario.h"
#include "ft_wire.h"
#include "ft_zap.h"

/* Which kinds of message a round has rejected (ft_coord_serve.c reject): each
 * kind's first FT_REJECTED_DETAIL are an event and a warning each, the rest (and
 * kinds past FT_REJECTED_KINDS) are only counted, so that a flooding peer cannot
 * grow events.jsonl or the log without bound while every kind of fault still shows.
 * A kind is the message type and the reason with its numbers left out. */
#define FT_REJECTED_DETAIL 5
#define FT_REJECTED_KINDS  16
typedef struct {
    uint32_t kind[FT_REJECTED_KINDS]; /* FNV-1a of the kind */
    int written[FT_REJECTED_KINDS];   /* of that kind written out this round */
    int kinds;                        /* entries in use */
} ft_reject_log_t;

/* The global model as sent to client processes (ft_coord_serve.c). */
typedef struct {
    ft_blob_t *blob;    /* LE float32, N; shared with sends still in flight */
    uint8_t digest[32]; /* its SHA-256: the Task's model_digest */
} ft_coord_model_msg_t;

/* What the coordinator knows of update i, row i of the K×N matrix: the i-th client
 * of the sorted sample while the round runs, the i-th update received once it
 * closes (ft_coord_close.c compacts the rows). */
typedef struct {
    uint32_t *ids;              /* K sampled / aggregated ids */
    uint8_t *attackers;         /* K ground truth */
    float *counts;              /* K sample counts */
    ft_defense_decision_t *dec; /* K defense decisions */
    uint8_t *flagged;           /* K: the defense detected update i (ft_detect) */
    double *norms;              /* K L2 norms as received (NaN: unknown, secure agg.) */
} ft_coord_updates_t;

/* The run's outcome so far: what summary.json reports and a checkpoint restores. */
typedef struct {
    ft_detect_counts_t detect; /* decisions vs ground truth, summed over rounds */
    double final_main_acc;     /* last evaluated main accuracy (NaN: none) */
    double final_backdoor_acc; /* last evaluated backdoor accuracy (NaN: none) */
    double peak_backdoor_acc;  /* highest evaluated backdoor accuracy (NaN: none) */
    int destroyed_round;       /* first round whose aggregation left NaN/Inf in the
                                  global model (0: none so far) */
} ft_coord_totals_t;

/* Resumable checkpoints (ft_coord_run_dir.c, ft_resume.h). */
typedef struct {
    int slot;               /* slot the next checkpoint goes to */
    int round;              /* rounds in the newest checkpoint written or resumed */
    int64_t metrics_at_end; /* metrics.csv length after the last complete round */
    int64_t events_at_end;  /* events.jsonl length after the last complete round */
    int resumed_slot;       /* checkpoint slot the run resumed from (-1: fresh) */
} ft_coord_ckpt_t;

/* Secure aggregation's state (ft_coord_secagg.c). */
typedef struct ft_coord_sa ft_coord_sa_t;

/* The attack's state between rounds (ft_coord_attack_state.c): what a stateful attack
 * (A3FL's trigger) returned in its last attack round. The next attackers get it in
 * their tasks, and the backdoor is measured with it; the defense never sees it. */
typedef struct {
    size_t n;             /* floats (ft_attack_state_floats; 0: the attack keeps none) */
    float *cur;           /* n: the state in force, sent to this round's attackers */
    int has_cur;          /* cur holds a state (else the attack's initial one) */
    float *next;          /* n: this round's candidate, from its lowest-id attacker */
    uint32_t next_client; /* that attacker */
    int has_next;         /* next holds one */
} ft_coord_attack_state_t;

struct ft_coordinator {
    /* The experiment. */
    ft_config_t *cfg;     /* experiment (owned copy) */
    ft_experiment_t exp;  /* cfg read into its sections (points into cfg) */
    ft_coord_opts_t opts; /* options (strings borrowed) */
    char *config_ini;     /* resolved config text sent in Welcome */
    uint32_t K;           /* clients per round (federation.clients_per_round) */

    /* The model and what the rounds need besides it. */
    ft_global_t *g;            /* model, update matrix, defense, evaluation */
    size_t N;                  /* parameters */
    ft_scenario_t *scn;        /* the ground truth: schedule, partition, sample counts,
                                  backdoor test set, root set */
    ft_root_t *root;           /* FLTrust root-set trainer (NULL unless needed) */
    ft_evaluator_t *evaluator; /* evaluates the global model */

    /* The socket side (ft_coord_serve.c, ft_coord_curve.c). */
    void *zctx;                 /* ZeroMQ context */
    void *sock;                 /* the ROUTER socket */
    ft_wire_limits_t lim;       /* receive bounds */
    ft_zap_t *zap;              /* CURVE: the ZAP handler (NULL without security.curve) */
    ft_peer_guard_t *guard;     /* bounds the socket's connections (ft_peer_guard.h) */
    unsigned long guard_logged; /* connections refused by the guard, as last logged */
    double guard_logged_at;     /* when that was */
    ft_procs_t procs;           /* client processes */
    ft_coord_model_msg_t model; /* the global model as sent */

    /* The current round (ft_coordinator.c begins it, ft_coord_serve.c runs it,
     * ft_coord_close.c closes it). */
    ft_round_t *round;           /* the current round's slots */
    ft_metrics_row_t row;        /* the current round's metrics */
    ft_reject_log_t rejects;     /* the round's rejected kinds (reset with row) */
    ft_coord_updates_t upd;      /* per update: id, ground truth, count, decision */
    ft_coord_sa_t *sa;           /* secure aggregation (NULL when off) */
    ft_coord_attack_state_t ast; /* the attack's state between rounds */
    double sa_weight;            /* secure aggregation: Σ n_c / N_round of the round's sum */
    float *server_update;        /* N: the round's root-set update (with root) */
    uint64_t round_samples;      /* N_round of the current round */
    uint32_t round_attackers;    /* attackers sampled in the current round */
    ft_metrics_row_t pending;    /* the round whose evaluation is running */

    /* The run so far (restored when resuming). */
    double t0;                /* run start */
    int rounds_done;          /* rounds completed */
    ft_coord_totals_t totals; /* outcome and detection counts so far */

    /* The run directory (ft_coord_run_dir.c). */
    ft_events_t *ev;      /* events.jsonl */
    ft_metrics_t *mt;     /* metrics.csv */
    ft_coord_ckpt_t ckpt; /* checkpoint bookkeeping */
};

/* ---- the socket side (ft_coord_serve.c) ------------------------------------------ */

/* Encodes the global model into the model blob (ft_blob_writable: in place when no
 * send still reads it) and digests it. FT_ENOMEM; the blob is then unchanged. */
int ft_coord_publish_model(ft_coordinator_t *c);

/* The model message's buffer when no send still reads it, else NULL. Between rounds
 * it doubles as the aggregation's scratch for the delta (ft_coord_publish_model
 * rewrites it right after): the model as sent and the delta then share one
 * N-vector, which keeps the coordinator's peak at K + 3 vectors
 * (docs/PERFORMANCE.md §5). */
float *ft_coord_idle_model_buffer(ft_coordinator_t *c);

/* Runs the current round until it is finished or expired: polls the socket,
 * handles every message, presumes silent processes dead, hands out tasks. Returns
 * FT_OK (finished or expired: c->round->done says how many updates came),
 * FT_EINTR through opts.stop, the code of opts.tick, FT_EIO when events.jsonl
 * cannot be written, FT_ENET / FT_ENOMEM from the socket. */
int ft_coord_run_round(ft_coordinator_t *c);

/* Sends m (+ blob) to process p; a failed send presumes it dead. FT_OK or the
 * link's code. */
int ft_coord_send(ft_coordinator_t *c, int p, const ft_msg_t *m, ft_blob_t *blob);

/* Counts a rejected message (type, reason) from process p (-1: unknown) in the round's
 * row and, for the first of its kind, writes a "rejected" event (docs/protocol.md). */
void ft_coord_reject(ft_coordinator_t *c, int p, const char *type, const char *reason);

/* An update from process p for the round's slot arrived and passed every check
 * (plain: its floats are in the slot's row; masked: secure aggregation holds it):
 * completes the slot, frees the process for the next task and writes the
 * "update" event. */
void ft_coord_accept_update(ft_coordinator_t *c, int p, int slot, uint32_t round,
                            uint32_t client_id, uint64_t num_samples, double train_loss,
                            double train_s, int masked);

/* The attack's state (ft_coord_attack_state.c). _init sizes it for the run's attack
 * (FT_ENOMEM); _check vets what an update carries for slot before it is accepted
 * (FT_EPROTO: a state from a client that does not attack this round, or of the wrong
 * size); _offer keeps it as the round's candidate when its client has the lowest id
 * of those that sent one (so the result does not depend on arrival order); _commit,
 * when the round closes and no evaluation runs, puts the candidate in force and
 * rebuilds the backdoor test set with it (an "attack_state" event); _restore puts a
 * resumed checkpoint's state in force (n 0: none; FT_EFORMAT for a size the attack
 * does not keep). _free. */
int ft_coord_attack_state_init(ft_coordinator_t *c);
int ft_coord_attack_state_check(const ft_coordinator_t *c, int slot, size_t n);
void ft_coord_attack_state_offer(ft_coordinator_t *c, uint32_t client_id, const float *state,
                                 size_t n);
int ft_coord_attack_state_commit(ft_coordinator_t *c);
int ft_coord_attack_state_restore(ft_coordinator_t *c, const float *state, size_t n);
void ft_coord_attack_state_free(ft_coordinator_t *c);

/* One poll of the socket (at most 100 ms) between the stages of secure
 * aggregation: interrupts, the run directory's status, liveness, every message
 * handled; no task is handed out. FT_OK, FT_EINTR, opts.tick's code, FT_EIO, FT_ENET,
 * FT_ENOMEM. */
int ft_coord_poll(ft_coordinator_t *c);

/* Sends Shutdown (reason) to every live process; failed sends mark it dead. */
void ft_coord_broadcast_shutdown(ft_coordinator_t *c, const char *reason);

/* ---- closing a round (ft_coord_close.c) ------------------------------------------ */

/* Aggregates the round's updates and evaluates the new global model, now or
 * overlapped with the next round (run.eval_async). A failed aggregation is an
 * "aggregate_failed" event (the model is unchanged), not an error. The model is then
 * checked for NaN/Inf (the nonfinite_params column); the first round that leaves any
 * is a "model_destroyed" event and totals.destroyed_round. With run.on_nonfinite =
 * stop that round is evaluated and finished in line (its row on disk) and
 * FT_ENONFINITE is returned. Otherwise returns FT_OK or the failing step's code
 * (FT_EIO from the run directory, the evaluator's or the root trainer's code,
 * FT_ENOMEM). */
int ft_coord_close_round(ft_coordinator_t *c);

/* Collects the evaluation of the previous round, running since that round closed,
 * and completes the round. Called before anything changes the global model. FT_OK
 * when none is running; else the evaluation's code or the run directory's FT_EIO. */
int ft_coord_settle_pending(ft_coordinator_t *c);

/* ---- the run directory (ft_coord_run_dir.c) -------------------------------------- */

/* Writes config.ini, opens metrics.csv and events.jsonl — fresh, or (opts.resume)
 * restored from the newest good checkpoint, cutting both files back to its round —
 * and creates updates/ with run.save_updates. On error returns FT_EIO naming the
 * file (or another code of ft_resume_find), FT_EFORMAT / FT_ECONFIG when the
 * checkpoint does not fit the experiment, FT_EINVAL for a path too long,
 * FT_ENOMEM; files already opened are closed by ft_coordinator_destroy. */
int ft_coord_open_run_dir(ft_coordinator_t *c);

/* Writes a resumable checkpoint of the state after the last complete round into the
 * next slot (ft_resume.h); the run files are fsync'ed first so the lengths it
 * records are on disk. FT_EIO naming the file; FT_ENOMEM. */
int ft_coord_write_checkpoint(ft_coordinator_t *c);

/* Whether round ends with a checkpoint (run.checkpoint_every). */
int ft_coord_checkpoint_due(const ft_coordinator_t *c, int round);

/* run.save_updates: the round's K×N updates as received (before the defense), their
 * sample counts and, for FLTrust, the server update, as .npy files that `fedtail
 * aggregate` replays. FT_EIO naming the file. */
int ft_coord_save_updates(ft_coordinator_t *c, uint32_t round, size_t K);

/* final.ckpt: the global model with its round, complete flag, seed and defense.
 * FT_EIO naming the file. */
int ft_coord_save_final(ft_coordinator_t *c, int complete);

/* summary.json: the run's outcome and detection rates (ft_detect.h). FT_EIO naming
 * the file; FT_ENOMEM. */
int ft_coord_write_summary(ft_coordinator_t *c, int complete);

/* ---- secure aggregation (ft_coord_secagg.c) -------------------------------------- */

/* State for rounds of up to K clients of N parameters with sec's encoding.
 * FT_ENOMEM, FT_ECRYPTO (libsodium). */
int ft_coord_sa_new(size_t K, size_t N, const ft_security_cfg_t *sec, ft_coord_sa_t **out);
void ft_coord_sa_destroy(ft_coord_sa_t **sa_p);
/* A round (attempt) begins: KEYS are awaited. */
void ft_coord_sa_begin_round(ft_coord_sa_t *sa);
/* Handles a SecAgg message from process p (validated for its stage; a bad one is
 * rejected and counted). */
void ft_coord_sa_on_msg(ft_coordinator_t *c, int p, ft_link_in_t *in);
/* An Error from process p: the client it names left the round's secure
 * aggregation (a share failed authentication, a message did not fit its state):
 * no stage waits for it any more. */
void ft_coord_sa_on_error(ft_coordinator_t *c, int p, const ft_msg_error_t *e);
/* After the training part of the round: runs the stages over the DONE slots and
 * leaves the decoded weighted mean in row 0 of the update matrix, *total_weight =
 * Σ n_c / N_round over the summed clients. FT_ESTATE when fewer than t clients
 * answer a stage (the attempt failed: retry), FT_ECRYPTO when revealed shares do not
 * rebuild a key, or ft_coord_poll's code. */
int ft_coord_sa_run(ft_coordinator_t *c, double *total_weight);
/* Whether round slot `slot` is in the last sum (U3). */
int ft_coord_sa_survivor(const ft_coord_sa_t *sa, int slot);

/* ---- CURVE (ft_coord_curve.c) ---------------------------------------------------- */

/* security.curve: the allow-list, the ZAP handler (before bind: libzmq admits every
 * CURVE client while none is bound), and the server key. The refusals seen on the
 * socket's monitor reach the handler through the connection guard
 * (ft_zap_note_event). On
 * error returns FT_ECONFIG naming the key; FT_EIO / FT_ECRYPTO / FT_ENOTFOUND
 * naming a key file or directory; FT_ENET / FT_ESTATE from the ZAP handler;
 * FT_ENOMEM. A started ZAP handler is stopped by ft_coordinator_destroy. */
int ft_coord_setup_curve(ft_coordinator_t *c);

/* Writes a "refused" event for every connection the ZAP handler refused since the
 * last call (unknown key, plaintext client, wrong server key). */
void ft_coord_log_refusals(ft_coordinator_t *c);

#endif
