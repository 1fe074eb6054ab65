/* ft_coord_serve: the coordinator's socket side — the global model as sent, sending
 * (a failed send presumes the process dead), handing pending tasks to waiting
 * processes, the handlers for every message a client process sends, liveness, and
 * the poll loop that runs one round until it is finished or expired.
 *
 * Work is pulled: a process sends Request when idle and gets the first pending
 * task it can serve, with the model only if it does not hold this round's yet.
 * Every received message is validated; a bad one becomes a "rejected" event and
 * the run goes on (docs/protocol.md). An update is copied into row i of the K×N
 * matrix, i the client's position in the sorted sample, whatever the arrival
 * order. */
#include "ft_coordinator_internal.h"

#include "ft_error.h"
#include "ft_log.h"
#include "ft_sampling.h"
#include "ft_sha256.h"
#include "ft_timer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

/* Silent heartbeat periods after which a process is presumed dead. */
#define DEAD_AFTER_PERIODS 5.0

/* ---- the model message ----------------------------------------------------------- */

float *ft_coord_idle_model_buffer(ft_coordinator_t *c)
{
    if (!c->model.blob || !ft_blob_exclusive(c->model.blob))
        return NULL;
    return ft_blob_data(c->model.blob);
}

int ft_coord_publish_model(ft_coordinator_t *c)
{
    void *bytes = ft_blob_writable(&c->model.blob, c->N * 4);
    if (!bytes)
        return ft_error_set(FT_ENOMEM, "out of memory for the model message");
    ft_wire_put_floats(bytes, ft_global_params(c->g), c->N);
    ft_sha256(bytes, c->N * 4, c->model.digest);
    return FT_OK;
}

/* ---- sending ------------------------------------------------------------------- */

static void mark_dead(ft_coordinator_t *c, int p, const char *reason);

/* Sends m (+ payload) to process p; a failed send marks the process dead. */
static int send_to(ft_coordinator_t *c, int p, const ft_msg_t *m, ft_blob_t *blob)
{
    ft_proc_t *pr = &c->procs.procs[p];
    size_t bytes = 0;
    int rc = ft_link_send(c->sock, pr->peer, pr->peer_len, m, NULL, blob, &bytes);
    c->row.bytes_sent += bytes;
    if (rc != FT_OK && rc != FT_EINTR)
        mark_dead(c, p, ft_error_message());
    return rc;
}

/* Sends an Error straight to a routing id (unknown or dead senders). */
static void send_error_peer(ft_coordinator_t *c, const uint8_t *peer, size_t len, int code,
                            const char *reason)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_ERROR);
    m.u.error.code = code;
    snprintf(m.u.error.reason, sizeof m.u.error.reason, "%s", reason);
    size_t bytes = 0;
    ft_link_send(c->sock, peer, len, &m, NULL, NULL, &bytes);
    c->row.bytes_sent += bytes;
}

/* Whether a rejected message of this type and reason is written out (an event and a
 * warning) rather than only counted: the first FT_REJECTED_DETAIL of each kind in a
 * round (ft_reject_log_t). */
static int reject_written(ft_coordinator_t *c, const char *type, const char *reason)
{
    ft_reject_log_t *log = &c->rejects;
    if (c->row.rejected == 1) /* the row was reset: a new round */
        log->kinds = 0;
    uint32_t h = 2166136261u;
    for (const char *s = type; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    for (const char *s = reason; *s; s++)
        if (*s < '0' || *s > '9')
            h = (h ^ (unsigned char)*s) * 16777619u;
    int k = 0;
    while (k < log->kinds && log->kind[k] != h)
        k++;
    if (k == log->kinds) {
        if (log->kinds == FT_REJECTED_KINDS)
            return 0;
        log->kind[log->kinds] = h;
        log->written[log->kinds++] = 0;
    }
    if (log->written[k] == FT_REJECTED_DETAIL)
        return 0;
    if (++log->written[k] == FT_REJECTED_DETAIL)
        FT_LOG(FT_LOG_WARN, "rejected %s: %s: further ones like it this round are only counted",
               type, reason);
    return 1;
}

/* Counts a rejected message in the round's row and, while reject_written says so,
 * writes a "rejected" event and a warning; the rest become one rejected_suppressed
 * event at the round's end (finish_round). p is the process index or -1. */
static void reject(ft_coordinator_t *c, int p, const char *type, const char *reason)
{
    c->row.rejected++;
    if (!reject_written(c, type, reason))
        return;
    c->row.rejected_written++;
    ft_events_begin(c->ev, "rejected");
    if (p >= 0)
        ft_events_int(c->ev, "process", c->procs.procs[p].id);
    ft_events_str(c->ev, "message", type);
    ft_events_str(c->ev, "reason", reason);
    ft_events_int(c->ev, "round", c->round->round);
    ft_events_end(c->ev);
    FT_LOG(FT_LOG_WARN, "rejected %s%s: %s", type, p >= 0 ? " from a process" : "", reason);
}

static void mark_dead(ft_coordinator_t *c, int p, const char *reason)
{
    ft_proc_t *pr = &c->procs.procs[p];
    if (pr->state == FT_PROC_DEAD)
        return;
    ft_procs_set_dead(&c->procs, (size_t)p);
    size_t requeued = c->round->K ? ft_round_requeue_process(c->round, p) : 0;
    ft_events_begin(c->ev, "process_dead");
    ft_events_int(c->ev, "process", pr->id);
    ft_events_int(c->ev, "pid", pr->pid);
    ft_events_str(c->ev, "host", pr->host);
    ft_events_str(c->ev, "reason", reason);
    ft_events_int(c->ev, "round", c->round->round);
    ft_events_int(c->ev, "requeued", (int64_t)requeued);
    ft_events_end(c->ev);
    FT_LOG(FT_LOG_WARN, "process %u (pid %u on %s) presumed dead: %s; %zu task(s) requeued", pr->id,
           pr->pid, pr->host, reason, requeued);
}

int ft_coord_send(ft_coordinator_t *c, int p, const ft_msg_t *m, ft_blob_t *blob)
{
    return send_to(c, p, m, blob);
}

void ft_coord_reject(ft_coordinator_t *c, int p, const char *type, const char *reason)
{
    reject(c, p, type, reason);
}

/* ---- dispatch ------------------------------------------------------------------ */

static void dispatch(ft_coordinator_t *c)
{
    ft_round_t *r = c->round;
    for (size_t p = 0; p < c->procs.n; p++) {
        ft_proc_t *pr = &c->procs.procs[p];
        if (pr->state != FT_PROC_WAITING)
            continue;
        int slot = ft_round_next(r, ft_proc_can_serve, pr);
        if (slot < 0)
            continue;
        ft_msg_t m;
        ft_msg_init(&m, FT_MSG_TASK);
        m.u.task.round = r->round;
        m.u.task.attempt = r->attempt;
        m.u.task.client_id = r->slots[slot].client_id;
        m.u.task.lr = ft_round_lr(c->exp.federation.lr, c->exp.federation.lr_decay, r->round);
        m.u.task.attacker = r->slots[slot].attacker;
        m.u.task.round_samples = c->round_samples;
        m.u.task.round_attackers = c->round_attackers;
        if (m.u.task.attacker && c->ast.has_cur) { /* aliased for packing */
            m.u.task.attack_state = c->ast.cur;
            m.u.task.attack_state_n = c->ast.n;
        }
        memcpy(m.u.task.model_digest, c->model.digest, 32);
        m.u.task.num_params = c->N;
        int send_model = !(pr->has_model && memcmp(pr->model, c->model.digest, 32) == 0);
        m.u.task.has_model = send_model;
        m.payload_len = send_model ? c->N * 4 : 0;
        if (send_to(c, (int)p, &m, send_model ? c->model.blob : NULL) != FT_OK)
            continue;
        ft_round_assign(r, slot, (int)p, ft_now());
        pr->state = FT_PROC_BUSY;
        pr->slot = slot;
        pr->has_model = 1;
        memcpy(pr->model, c->model.digest, 32);
        ft_events_begin(c->ev, "task");
        ft_events_int(c->ev, "round", r->round);
        ft_events_int(c->ev, "attempt", r->attempt);
        ft_events_int(c->ev, "client", m.u.task.client_id);
        ft_events_int(c->ev, "process", pr->id);
        ft_events_bool(c->ev, "model_sent", send_model);
        ft_events_bool(c->ev, "attacker", m.u.task.attacker);
        if (r->slots[slot].handed > 1)
            ft_events_int(c->ev, "handed", r->slots[slot].handed);
        ft_events_end(c->ev);
    }
}

/* ---- message handlers ------------------------------------------------------------ */

static void on_hello(ft_coordinator_t *c, ft_link_in_t *in)
{
    int old = ft_procs_find(&c->procs, in->peer, in->peer_len);
    if (old >= 0)
        mark_dead(c, old, "registered again");
    int p = ft_procs_add(&c->procs, in->peer, in->peer_len, &in->msg.u.hello, ft_now());
    if (p < 0) {
        char why[FT_WIRE_REASON_LEN];
        snprintf(why, sizeof why, "%s", ft_error_message());
        reject(c, -1, "hello", why);
        send_error_peer(c, in->peer, in->peer_len, p, why);
        return;
    }
    ft_proc_t *pr = &c->procs.procs[p];
    ft_events_begin(c->ev, "registered");
    ft_events_int(c->ev, "process", pr->id);
    ft_events_int(c->ev, "pid", pr->pid);
    ft_events_str(c->ev, "host", pr->host);
    ft_events_bool(c->ev, "pool", pr->pool);
    ft_events_int(c->ev, "clients", (int64_t)pr->num_clients);
    ft_events_int(c->ev, "threads", in->msg.u.hello.threads);
    if (in->curve_key[0]) /* security.curve: which authorized key this process holds */
        ft_events_str(c->ev, "curve_key", in->curve_key);
    ft_events_end(c->ev);
    FT_LOG(FT_LOG_INFO, "process %u registered (pid %u on %s, %s%s%s)", pr->id, pr->pid, pr->host,
           pr->pool ? "pool" : "fixed clients", in->curve_key[0] ? ", CURVE key " : "",
           in->curve_key);
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_WELCOME);
    m.u.welcome.process_id = pr->id;
    m.u.welcome.config_ini = c->config_ini;
    memcpy(m.u.welcome.layout_hash, ft_global_layout_hash(c->g), 32);
    m.u.welcome.num_params = c->N;
    m.u.welcome.rounds = (uint32_t)c->exp.federation.rounds;
    m.u.welcome.root_set = c->scn->root_n > 0;
    /* Under secure aggregation a rule that clips each update has its clients clip
     * (self-enforced: the server cannot check it). */
    if (c->sa && ft_global_defense(c->g)->secagg == FT_DEFENSE_SECAGG_CLIENT_CLIP)
        m.u.welcome.secagg_clip_norm = (float)c->exp.defense.norm_bound;
    send_to(c, p, &m, NULL);
}

static void on_update(ft_coordinator_t *c, int p, ft_link_in_t *in)
{
    ft_proc_t *pr = &c->procs.procs[p];
    const ft_msg_update_t *u = &in->msg.u.update;
    ft_round_t *r = c->round;
    char why[FT_WIRE_REASON_LEN];
    if (u->round != r->round || u->attempt != r->attempt) {
        snprintf(why, sizeof why, "stale update for round %u attempt %u (now %u attempt %u)",
                 u->round, u->attempt, r->round, r->attempt);
        /* The process state is left alone: its next Request says it is idle. */
        reject(c, p, "update", why);
        return;
    }
    int slot = ft_round_find(r, u->client_id);
    if (slot < 0 || r->slots[slot].state != FT_SLOT_ASSIGNED || r->slots[slot].process != p) {
        snprintf(why, sizeof why, "client %u %s", u->client_id,
                 slot < 0                               ? "was not sampled this round"
                 : r->slots[slot].state == FT_SLOT_DONE ? "already has an update"
                                                        : "is not assigned to this process");
        reject(c, p, "update", why);
        return;
    }
    int rc = FT_OK;
    /* The count is the update's FedAvg weight: a peer that may name any count owns
     * the round (2^64-1 makes its weight 1). The coordinator derives every
     * partition itself, so a count other than the expected one is a bad update. */
    uint64_t expected = ft_scenario_client_samples(c->scn, u->client_id, r->slots[slot].attacker);
    if (u->num_samples != expected)
        rc = ft_error_set(FT_EPROTO, "num_samples = %llu, expected %llu (its %s)",
                          (unsigned long long)u->num_samples, (unsigned long long)expected,
                          r->slots[slot].attacker ? "D_adv" : "partition");
    else if (u->num_params != c->N)
        rc = ft_error_set(FT_EPROTO, "N = %llu, expected %zu", (unsigned long long)u->num_params,
                          c->N);
    else if (memcmp(u->layout_hash, ft_global_layout_hash(c->g), 32) != 0)
        rc = ft_error_set(FT_EPROTO, "model layout hash differs from the coordinator's");
    else if ((rc = ft_coord_attack_state_check(c, slot, u->attack_state_n)) == FT_OK)
        rc = ft_wire_check_vector(ft_link_payload(in), ft_link_payload_len(in), c->N, u->digest);
    if (rc != FT_OK) {
        snprintf(why, sizeof why, "client %u: %s", u->client_id, ft_error_message());
        ft_round_requeue(r, slot);
        pr->state = FT_PROC_IDLE;
        pr->slot = -1;
        reject(c, p, "update", why);
        ft_msg_t m;
        ft_msg_init(&m, FT_MSG_ERROR);
        m.u.error.code = rc;
        m.u.error.round = u->round;
        m.u.error.client_id = u->client_id;
        snprintf(m.u.error.reason, sizeof m.u.error.reason, "%s", why);
        send_to(c, p, &m, NULL);
        return;
    }
    ft_wire_get_floats(ft_global_row(c->g, (size_t)slot), ft_link_payload(in), c->N);
    ft_coord_attack_state_offer(c, u->client_id, u->attack_state, u->attack_state_n);
    ft_coord_accept_update(c, p, slot, u->round, u->client_id, u->num_samples, u->train_loss,
                           u->train_s, 0);
}

void ft_coord_accept_update(ft_coordinator_t *c, int p, int slot, uint32_t round,
                            uint32_t client_id, uint64_t num_samples, double train_loss,
                            double train_s, int masked)
{
    ft_proc_t *pr = &c->procs.procs[p];
    ft_round_complete(c->round, slot, num_samples, train_loss, train_s);
    pr->state = FT_PROC_IDLE;
    pr->slot = -1;
    pr->tasks++;
    ft_events_begin(c->ev, "update");
    ft_events_int(c->ev, "round", round);
    ft_events_int(c->ev, "client", client_id);
    ft_events_int(c->ev, "process", pr->id);
    ft_events_uint(c->ev, "samples", num_samples);
    ft_events_num(c->ev, "loss", train_loss);
    ft_events_num(c->ev, "train_s", train_s);
    if (masked)
        ft_events_bool(c->ev, "masked", 1);
    ft_events_end(c->ev);
}

static void on_error(ft_coordinator_t *c, int p, const ft_msg_error_t *e)
{
    ft_proc_t *pr = &c->procs.procs[p];
    ft_events_begin(c->ev, "client_error");
    ft_events_int(c->ev, "process", pr->id);
    ft_events_int(c->ev, "code", e->code);
    ft_events_str(c->ev, "reason", e->reason);
    ft_events_int(c->ev, "round", e->round);
    ft_events_int(c->ev, "client", e->client_id);
    ft_events_end(c->ev);
    FT_LOG(FT_LOG_WARN, "process %u reports: %s", pr->id, e->reason);
    if (c->sa)
        ft_coord_sa_on_error(c, p, e);
    /* Whatever failed, resend the model next time and give its task to someone. */
    pr->has_model = 0;
    if (pr->state == FT_PROC_BUSY && pr->slot >= 0 && e->round == c->round->round &&
        c->round->slots[pr->slot].state == FT_SLOT_ASSIGNED &&
        c->round->slots[pr->slot].process == p)
        ft_round_requeue(c->round, pr->slot);
    pr->state = FT_PROC_IDLE;
    pr->slot = -1;
}

static void handle(ft_coordinator_t *c, ft_link_in_t *in)
{
    double now = ft_now();
    const char *type = ft_msg_type_name(in->msg.type);
    if (in->msg.type == FT_MSG_HELLO) {
        on_hello(c, in);
        return;
    }
    int p = ft_procs_find(&c->procs, in->peer, in->peer_len);
    if (p < 0) {
        int dead = ft_procs_find_any(&c->procs, in->peer, in->peer_len);
        reject(c, dead, type,
               dead >= 0 ? "process was presumed dead; it must register again"
                         : "process has not registered");
        send_error_peer(c, in->peer, in->peer_len, FT_ESTATE, "not registered: send hello");
        return;
    }
    ft_proc_t *pr = &c->procs.procs[p];
    pr->last_seen = now;
    switch (in->msg.type) {
    case FT_MSG_REQUEST:
        if (pr->state == FT_PROC_BUSY && pr->slot >= 0 &&
            c->round->slots[pr->slot].state == FT_SLOT_ASSIGNED &&
            c->round->slots[pr->slot].process == p)
            ft_round_requeue(c->round, pr->slot); /* it gave up its task */
        pr->state = FT_PROC_WAITING;
        pr->slot = -1;
        break;
    case FT_MSG_UPDATE: on_update(c, p, in); break;
    case FT_MSG_HEARTBEAT: {
        ft_msg_t m;
        ft_msg_init(&m, FT_MSG_HEARTBEAT);
        send_to(c, p, &m, NULL);
        break;
    }
    case FT_MSG_ERROR: on_error(c, p, &in->msg.u.error); break;
    case FT_MSG_SECAGG: ft_coord_sa_on_msg(c, p, in); break;
    default: reject(c, p, type, "not a message a client process sends"); break;
    }
}

/* Handles every message waiting on the socket. */
static int drain_socket(ft_coordinator_t *c)
{
    for (int n = 0; n < 10000; n++) {
        ft_link_in_t in;
        int rc = ft_link_recv(c->sock, 1, &c->lim, &in);
        if (rc == FT_ETIMEOUT)
            return FT_OK;
        if (rc == FT_EINTR)
            return FT_OK;
        if (rc == FT_ENET)
            return rc;
        if (rc == FT_ENOMEM)
            return rc;
        if (rc != FT_OK) {
            char why[FT_WIRE_REASON_LEN];
            snprintf(why, sizeof why, "%s", ft_error_message());
            int p = ft_procs_find(&c->procs, in.peer, in.peer_len);
            reject(c, p, "malformed", why);
            continue;
        }
        c->row.bytes_received += in.bytes;
        handle(c, &in);
        ft_link_in_clear(&in);
    }
    return FT_OK;
}

/* A "connections_refused" event when the guard shed connections since the last
 * one, at most every 10 s (a flood must not fill the disk with events). */
static void log_guard(ft_coordinator_t *c, double now)
{
    if (!c->guard || now - c->guard_logged_at < 10)
        return;
    ft_peer_guard_stats_t st;
    ft_peer_guard_stats(c->guard, &st);
    if (st.shed == c->guard_logged)
        return;
    ft_events_begin(c->ev, "connections_refused");
    ft_events_uint(c->ev, "refused", st.shed - c->guard_logged);
    ft_events_uint(c->ev, "open", st.open);
    ft_events_uint(c->ev, "peak", st.peak);
    ft_events_uint(c->ev, "max_peers", st.max_conns);
    ft_events_int(c->ev, "round", c->round->round);
    ft_events_end(c->ev);
    FT_LOG(FT_LOG_WARN, "%lu connection(s) over max_peers = %zu refused", st.shed - c->guard_logged,
           st.max_conns);
    c->guard_logged = st.shed;
    c->guard_logged_at = now;
}

static void check_liveness(ft_coordinator_t *c, double now)
{
    int p;
    double limit = DEAD_AFTER_PERIODS * c->exp.federation.heartbeat_s;
    while ((p = ft_procs_next_silent(&c->procs, now, limit)) >= 0) {
        char why[96];
        snprintf(why, sizeof why, "silent for %.1f s", now - c->procs.procs[p].last_seen);
        mark_dead(c, p, why);
    }
}

/* ---- running a round ------------------------------------------------------------- */

/* One pass of the work every wait does between polls: the stop flag, the caller's
 * tick, the refusal and guard logs, the events file's health and peer liveness. */
static int housekeeping(ft_coordinator_t *c, double *now)
{
    if (c->opts.stop && *c->opts.stop)
        return ft_error_set(FT_EINTR, "interrupted");
    if (c->opts.tick) {
        int rc = c->opts.tick(c->opts.tick_user);
        if (rc != 0)
            return rc;
    }
    *now = ft_now();
    ft_coord_log_refusals(c);
    log_guard(c, *now);
    int erc = ft_events_status(c->ev);
    if (erc != FT_OK)
        return erc;
    check_liveness(c, *now);
    return FT_OK;
}

/* Waits up to timeout_ms for the socket and drains what arrived. */
static int poll_socket(ft_coordinator_t *c, long timeout_ms)
{
    zmq_pollitem_t pi = {c->sock, 0, ZMQ_POLLIN, 0};
    int n = zmq_poll(&pi, 1, timeout_ms);
    if (n < 0 && errno != EINTR)
        return ft_error_set(FT_ENET, "poll: %s", zmq_strerror(errno));
    return n > 0 ? drain_socket(c) : FT_OK;
}

int ft_coord_run_round(ft_coordinator_t *c)
{
    ft_round_t *r = c->round;
    for (;;) {
        double now;
        int hrc = housekeeping(c, &now);
        if (hrc != FT_OK)
            return hrc;
        dispatch(c);
        if (ft_round_finished(r))
            return FT_OK;
        if (ft_round_expired(r, now)) {
            ft_events_begin(c->ev, "timeout");
            ft_events_int(c->ev, "round", r->round);
            ft_events_int(c->ev, "attempt", r->attempt);
            ft_events_int(c->ev, "done", (int64_t)r->done);
            ft_events_int(c->ev, "sampled", (int64_t)r->K);
            ft_events_end(c->ev);
            FT_LOG(FT_LOG_WARN, "round %u timed out with %zu of %zu updates", r->round, r->done,
                   r->K);
            return FT_OK;
        }
        double wait = r->deadline - now;
        if (wait > 0.1)
            wait = 0.1;
        if (wait < 0.001)
            wait = 0.001;
        int rc = poll_socket(c, (long)(wait * 1000));
        if (rc != FT_OK)
            return rc;
    }
}

int ft_coord_poll(ft_coordinator_t *c)
{
    double now;
    int rc = housekeeping(c, &now);
    if (rc != FT_OK)
        return rc;
    return poll_socket(c, 100);
}

void ft_coord_broadcast_shutdown(ft_coordinator_t *c, const char *reason)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_SHUTDOWN);
    snprintf(m.u.shutdown.reason, sizeof m.u.shutdown.reason, "%s", reason);
    for (size_t p = 0; p < c->procs.n; p++)
        if (c->procs.procs[p].state != FT_PROC_DEAD)
            send_to(c, (int)p, &m, NULL);
}
