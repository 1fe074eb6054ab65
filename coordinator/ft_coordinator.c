/* ft_coordinator: construction, destruction and the round loop — the public API of
 * ft_coordinator.h.
 *
 * One thread, one ROUTER socket. Each round is begun here (the sample, the
 * attackers among it, N_round), run by the socket side until every task is done or
 * its deadline passes (ft_coord_serve.c), retried while it has fewer than
 * min_clients updates, and closed (ft_coord_close.c); the run ends with final.ckpt
 * and summary.json (ft_coord_run_dir.c). Aggregation is in client-id order
 * whatever the arrival order: the same config gives the same metrics at any process
 * count.
 *
 * Attacks and defenses meet here only as data: the schedule's ground truth (who
 * attacks) goes to the clients in their tasks and is joined afterwards with the
 * defense's decisions (ft_detect) and the update norms (measured as received,
 * before the defense may clip the rows in place); the defense never sees it.
 * ft_coordinator_internal.h holds the struct and says which file does what. */
#include "ft_coordinator_internal.h"

#include "ft_alloc.h"
#include "ft_device.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_log.h"
#include "ft_sampling.h"
#include "ft_sha256.h"
#include "ft_timer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

/* ---- configuration --------------------------------------------------------------- */

/* Messages libzmq queues per peer before it stops reading that connection (TCP
 * back-pressure, nothing dropped): an honest process has an update and a few
 * heartbeats in flight; more would only be memory a peer makes us hold. */
#define FT_COORD_RCVHWM 100

/* ---- construction ---------------------------------------------------------------- */

/* The connection guard hands the socket's monitor events to the ZAP handler. */
static void zap_note(void *zap, int event, uint32_t value)
{
    ft_zap_note_event(zap, event, value);
}

int ft_coordinator_new(const ft_config_t *cfg, const ft_coord_opts_t *opts, ft_coordinator_t **out)
{
    *out = NULL;
    int rc;
    ft_coordinator_t *c = ft_calloc(1, sizeof *c);
    if (!c)
        return ft_error_set(FT_ENOMEM, "out of memory");
    c->opts = *opts;
    ft_procs_init(&c->procs);
    c->t0 = ft_now();
    c->cfg = ft_config_clone(cfg);
    c->config_ini = c->cfg ? ft_config_to_ini(c->cfg) : NULL;
    if (!c->config_ini) {
        rc = ft_error_set(FT_ENOMEM, "out of memory");
        goto fail;
    }
    /* Cheap key checks first (the experiment, attack.method, then [defense] inside
     * ft_global_new), so a bad experiment fails before any data is loaded. */
    if ((rc = ft_experiment_read(c->cfg, &c->exp)) != FT_OK ||
        (rc = ft_scenario_check(&c->exp)) != FT_OK)
        goto fail;
    c->K = c->exp.federation.clients_per_round;
    ft_wire_limits_default(&c->lim, c->exp.run.max_message_mb);
    c->totals.final_main_acc = c->totals.final_backdoor_acc = c->totals.peak_backdoor_acc = NAN;

    /* Under secure aggregation the server never holds an individual update: one row
     * receives the decoded sum (ft_coord_secagg.c). */
    int secagg = c->exp.security.secure_aggregation;
    if ((rc = ft_global_new(&c->exp, secagg ? 1 : c->K, &c->g)) != FT_OK)
        goto fail;
    c->N = ft_global_num_params(c->g);
    if (secagg && (rc = ft_coord_sa_new(c->K, c->N, &c->exp.security, &c->sa)) != FT_OK)
        goto fail;
    /* The same derivation as every client process: N_round needs the partition, and
     * a rule that needs a server update holds the root set out of it. */
    const ft_defense_t *def = ft_global_defense(c->g);
    int root_set = def->needs_server_update || (def->needs_probe & FT_PROBE_SERVER_SET);
    if ((rc = ft_scenario_new(&c->exp, ft_global_test(c->g), root_set, &c->scn)) != FT_OK ||
        (rc = ft_evaluator_new(c->g, c->scn, &c->evaluator)) != FT_OK ||
        (rc = ft_coord_attack_state_init(c)) != FT_OK)
        goto fail;
    /* FLARE's server set is the root set too (its samples, before they are released) */
    if (root_set && (rc = ft_global_set_server_set(c->g, c->scn->train, c->scn->root_idx,
                                                   c->scn->root_n)) != FT_OK)
        goto fail;
    if (def->needs_server_update) {
        const ft_ops_t *ops;
        if ((rc = ft_ops_for_device(&c->exp.run, &ops)) != FT_OK ||
            (rc = ft_root_new(&c->exp, c->scn, ops, &c->root)) != FT_OK)
            goto fail;
        c->server_update = ft_malloc_aligned(c->N * sizeof(float));
        if (!c->server_update) {
            rc = ft_error_set(FT_ENOMEM, "out of memory");
            goto fail;
        }
    }
    /* Keep only the root samples of the training set (the rest is the clients'): the
     * pixels and the K×N matrix, which fills as updates arrive, are never resident
     * together (docs/PERFORMANCE.md §5). */
    if ((rc = ft_scenario_release_train(c->scn)) != FT_OK)
        goto fail;
    c->round = ft_round_new(c->K);
    c->upd.ids = ft_calloc(c->K, sizeof *c->upd.ids);
    c->upd.attackers = ft_calloc(c->K, 1);
    c->upd.counts = ft_calloc(c->K, sizeof *c->upd.counts);
    c->upd.dec = ft_calloc(c->K, sizeof *c->upd.dec);
    c->upd.flagged = ft_calloc(c->K, 1);
    c->upd.norms = ft_calloc(c->K, sizeof *c->upd.norms);
    if (!c->round || !c->upd.ids || !c->upd.attackers || !c->upd.counts || !c->upd.dec ||
        !c->upd.flagged || !c->upd.norms) {
        rc = ft_error_set(FT_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = ft_coord_publish_model(c)) != FT_OK)
        goto fail;

    /* Everything the experiment decides is checked and loaded: only now the run
     * directory is made (a refused experiment leaves none), then the socket is set up
     * and bound (an ipc:// endpoint may lie in the directory) before any file is
     * written, so a bind that fails leaves it empty. */
    if ((rc = ft_mkdir_p(opts->out_dir)) != FT_OK)
        goto fail;
    c->zctx = zmq_ctx_new();
    c->sock = c->zctx ? zmq_socket(c->zctx, ZMQ_ROUTER) : NULL;
    if (!c->sock) {
        rc = ft_error_set(FT_ENET, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        goto fail;
    }
    int one = 1, linger = 2000, hwm = FT_COORD_RCVHWM;
    /* A frame over the limit makes libzmq drop the connection before it is read
     * into memory; ft_link checks the same limit again per message. No client
     * process sends a frame larger than an update's payload (N floats) or an
     * envelope (a Hello names at most num_clients ids, 5 bytes each), so neither
     * may a peer: with at most RCVHWM messages queued per peer, what one peer can
     * make libzmq hold is RCVHWM frames of that size (docs/security.md). */
    int64_t maxmsg = (int64_t)c->lim.max_payload + (1 << 20);
    int64_t honest = (int64_t)c->N * 4;
    int64_t envelope = 5 * (int64_t)c->exp.federation.num_clients + (64 << 10);
    honest = (honest > envelope ? honest : envelope) + (64 << 10);
    if (honest < maxmsg)
        maxmsg = honest;
    if (zmq_setsockopt(c->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0) {
        rc = ft_error_set(FT_ENET, "socket options: %s", zmq_strerror(errno));
        goto fail;
    }
    /* What peers can make the coordinator hold (docs/security.md): connections and
     * live processes (max_peers, and the open-file limit less a reserve for the run
     * directory), fixed ids (within the population, 8 per client over all live
     * processes), handshakes (a deadline), silent connections (ZMTP heartbeats). */
    size_t nofile = ft_peer_guard_raise_nofile();
    size_t max_conns = ft_peer_guard_cap((size_t)c->exp.federation.max_peers, nofile);
    uint32_t pop = (uint32_t)c->exp.federation.num_clients;
    ft_procs_set_limits(&c->procs, max_conns, pop, (size_t)8 * pop);
    int hb_ms = (int)(1000 * c->exp.federation.heartbeat_s);
    hb_ms = hb_ms < 1000 ? 1000 : hb_ms > 60000 ? 60000 : hb_ms;
    if ((rc = ft_peer_guard_socket_options(c->sock, hb_ms,
                                           60000 > 10 * hb_ms ? 60000 : 10 * hb_ms)) != FT_OK)
        goto fail;
    if (c->exp.security.curve && (rc = ft_coord_setup_curve(c)) != FT_OK)
        goto fail;
    if ((rc = ft_peer_guard_start(c->zctx, c->sock, max_conns, c->zap ? zap_note : NULL, c->zap,
                                  &c->guard)) != FT_OK)
        goto fail;
    if (zmq_bind(c->sock, opts->bind) != 0) {
        rc = ft_error_set(FT_ENET, "cannot bind %s: %s", opts->bind, zmq_strerror(errno));
        goto fail;
    }
    if ((rc = ft_coord_open_run_dir(c)) != FT_OK)
        goto fail;
    /* Resumed: the model to send is the restored one. */
    if (c->ckpt.resumed_slot >= 0 && (rc = ft_coord_publish_model(c)) != FT_OK)
        goto fail;
    uint8_t hash_hex_src[32];
    memcpy(hash_hex_src, ft_global_layout_hash(c->g), 32);
    char hex[65];
    ft_sha256_hex(hash_hex_src, hex);
    ft_events_begin(c->ev, "start");
    ft_events_str(c->ev, "bind", opts->bind);
    ft_events_bool(c->ev, "curve", c->zap != NULL);
    ft_events_int(c->ev, "num_params", (int64_t)c->N);
    ft_events_str(c->ev, "layout_hash", hex);
    ft_events_str(c->ev, "defense", ft_global_defense(c->g)->name);
    ft_events_str(c->ev, "attack", c->exp.attack.method);
    if (c->scn->attack->edge) {
        ft_events_int(c->ev, "edge_points", c->scn->attack->edge->attack->n);
        ft_events_num(c->ev, "edge_p", c->scn->attack->edge->p);
        if (c->exp.attack.edge_source == FT_EDGE_MINED) {
            int density = c->exp.attack.edge_miner == FT_EDGE_MINER_DENSITY;
            ft_events_str(c->ev, "edge_miner", density ? "density" : "kmeans");
            if (density) /* the rarest point's tail mass; edge_p is the set's bound */
                ft_events_num(c->ev, "edge_p_min", c->scn->attack->edge->p_min);
        }
    }
    if (c->scn->backdoor_test)
        ft_events_int(c->ev, "backdoor_test", c->scn->backdoor_test->n);
    if (c->scn->root_n)
        ft_events_int(c->ev, "root_size", c->scn->root_n);
    ft_events_int(c->ev, "rounds", c->exp.federation.rounds);
    ft_events_int(c->ev, "clients_per_round", c->K);
    ft_events_int(c->ev, "max_peers", (int64_t)max_conns);
    ft_events_int(c->ev, "open_files", (int64_t)nofile);
    ft_events_end(c->ev);
    if (c->ckpt.resumed_slot >= 0) {
        ft_events_begin(c->ev, "resumed");
        ft_events_int(c->ev, "round", c->rounds_done);
        ft_events_str(c->ev, "checkpoint",
                      c->ckpt.resumed_slot ? "checkpoint-b.ckpt" : "checkpoint-a.ckpt");
        ft_events_end(c->ev);
    }
    if (opts->live &&
        (rc = ft_live_arm_start(opts->live, opts->live_arm, c->exp.federation.rounds, (int)c->K,
                                ft_global_defense(c->g)->name, ft_global_defense(c->g)->selects,
                                c->rounds_done)) != FT_OK)
        goto fail;
    FT_LOG(FT_LOG_INFO, "coordinator on %s: N = %zu, %d rounds, %u of %u clients per round",
           opts->bind, c->N, c->exp.federation.rounds, c->K, c->exp.federation.num_clients);
    *out = c;
    return FT_OK;
fail:
    ft_coordinator_destroy(&c);
    return rc;
}

void ft_coordinator_destroy(ft_coordinator_t **c_p)
{
    if (!c_p || !*c_p)
        return;
    ft_coordinator_t *c = *c_p;
    ft_peer_guard_stop(&c->guard); /* its monitor, before the socket closes */
    if (c->sock)
        zmq_close(c->sock);
    ft_zap_stop(&c->zap); /* before the context ends */
    ft_link_ctx_term(c->zctx);
    ft_blob_release(&c->model.blob);
    ft_evaluator_destroy(&c->evaluator); /* joins a running evaluation of c->g */
    ft_global_destroy(&c->g);
    ft_root_destroy(&c->root);
    ft_scenario_destroy(&c->scn);
    ft_free_aligned(c->server_update);
    ft_free(c->upd.flagged);
    ft_free(c->upd.norms);
    ft_coord_sa_destroy(&c->sa);
    ft_coord_attack_state_free(c);
    ft_round_destroy(&c->round);
    ft_procs_free(&c->procs);
    ft_events_close(&c->ev);
    ft_metrics_close(&c->mt);
    ft_free(c->upd.ids);
    ft_free(c->upd.attackers);
    ft_free(c->upd.counts);
    ft_free(c->upd.dec);
    ft_free(c->config_ini);
    ft_config_destroy(&c->cfg);
    ft_free(c);
    *c_p = NULL;
}

const ft_experiment_t *ft_coordinator_experiment(const ft_coordinator_t *c)
{
    return &c->exp;
}

uint64_t ft_coordinator_expected_samples(const ft_coordinator_t *c, uint32_t id, int attacker)
{
    return ft_scenario_client_samples(c->scn, id, attacker);
}

int ft_coordinator_rounds_done(const ft_coordinator_t *c)
{
    return c->rounds_done;
}

int ft_coordinator_bound_endpoint(const ft_coordinator_t *c, char *buf, size_t len)
{
    size_t n = len;
    if (zmq_getsockopt(c->sock, ZMQ_LAST_ENDPOINT, buf, &n) != 0)
        return ft_error_set(FT_ENET, "cannot read the bound endpoint: %s", zmq_strerror(errno));
    return FT_OK;
}

/* ---- rounds -------------------------------------------------------------------- */

static int begin_round(ft_coordinator_t *c, uint32_t t, uint32_t attempt)
{
    int rc = ft_sample_clients(c->exp.run.seed, t, attempt, c->exp.federation.num_clients, c->K,
                               c->upd.ids);
    if (rc != FT_OK)
        return rc;
    /* May replace one sampled id with the attacker's; ids stay sorted. */
    int n_att = ft_schedule_attackers(&c->scn->schedule, t, c->upd.ids, c->K, c->upd.attackers);
    c->round_attackers = (uint32_t)n_att;
    c->round_samples = 0;
    for (size_t i = 0; i < c->K; i++)
        c->round_samples += ft_scenario_client_samples(c->scn, c->upd.ids[i], c->upd.attackers[i]);
    ft_round_begin(c->round, t, attempt, c->upd.ids, c->upd.attackers, c->K, ft_now(),
                   c->exp.federation.round_timeout);
    if (c->sa)
        ft_coord_sa_begin_round(c->sa);
    c->ast.has_next = 0; /* a failed attempt's state is dropped with its updates */
    /* Processes still busy with an earlier round's task keep that state; their
     * update will be rejected as stale. */
    for (size_t p = 0; p < c->procs.n; p++)
        c->procs.procs[p].slot = -1;
    ft_events_begin(c->ev, "round_start");
    ft_events_int(c->ev, "round", t);
    ft_events_int(c->ev, "attempt", attempt);
    ft_events_num(c->ev, "lr", ft_round_lr(c->exp.federation.lr, c->exp.federation.lr_decay, t));
    ft_events_int(c->ev, "attackers", n_att);
    ft_events_uint(c->ev, "round_samples", c->round_samples);
    ft_events_int(c->ev, "processes", (int64_t)ft_procs_alive(&c->procs));
    ft_events_end(c->ev);
    if (c->opts.live)
        ft_live_round_begin(c->opts.live, c->opts.live_arm, (int)t, (int)attempt, c->upd.ids, c->K);
    return FT_OK;
}

int ft_coordinator_run(ft_coordinator_t *c)
{
    int rc = FT_OK;
    for (int t = c->rounds_done + 1; t <= c->exp.federation.rounds; t++) {
        ft_metrics_row_reset(&c->row);
        uint32_t attempt = 0;
        for (;;) {
            if ((rc = begin_round(c, (uint32_t)t, attempt)) != FT_OK)
                goto end;
            if ((rc = ft_coord_run_round(c)) != FT_OK)
                goto end;
            /* Secure aggregation: below its threshold t the attempt fails like a
             * round short of min_clients, and is retried with a fresh sample (the
             * masked inputs alone can never be unmasked). */
            char sa_why[FT_WIRE_REASON_LEN] = "";
            int enough = (int)c->round->done >= c->exp.federation.min_clients;
            if (enough && c->sa) {
                rc = ft_coord_sa_run(c, &c->sa_weight);
                if (rc == FT_ESTATE) {
                    snprintf(sa_why, sizeof sa_why, "%s", ft_error_message());
                    FT_LOG(FT_LOG_WARN, "round %d attempt %u: %s; retrying", t, attempt, sa_why);
                    enough = 0;
                } else if (rc != FT_OK) {
                    goto end;
                }
            }
            if (enough)
                break;
            ft_events_begin(c->ev, "round_retry");
            ft_events_int(c->ev, "round", t);
            ft_events_int(c->ev, "attempt", attempt);
            ft_events_int(c->ev, "done", (int64_t)c->round->done);
            ft_events_int(c->ev, "min_clients", c->exp.federation.min_clients);
            if (sa_why[0])
                ft_events_str(c->ev, "reason", sa_why);
            ft_events_end(c->ev);
            if ((int)++attempt > c->exp.federation.max_round_retries) {
                if (sa_why[0])
                    rc = ft_error_set(FT_ETIMEOUT, "round %d: %s, in each of %d tries", t, sa_why,
                                      attempt);
                else
                    rc = ft_error_set(FT_ETIMEOUT,
                                      "round %d: fewer than min_clients = %d updates after %d "
                                      "tries (are client processes running?)",
                                      t, c->exp.federation.min_clients, attempt);
                goto end;
            }
        }
        if ((rc = ft_coord_close_round(c)) != FT_OK)
            goto end;
    }
end:;
    /* The reason the run stopped, before writing the final files can replace it. */
    char why[1024];
    snprintf(why, sizeof why, "%s", rc == FT_OK ? "" : ft_error_message());
    /* The round whose evaluation was still running is complete: record it. */
    int settled = ft_coord_settle_pending(c);
    if (settled != FT_OK && rc == FT_OK) {
        rc = settled;
        snprintf(why, sizeof why, "%s", ft_error_message());
    } else if (settled != FT_OK) {
        FT_LOG(FT_LOG_WARN, "%s", ft_error_message());
    }
    /* Stopped early but consistent (interrupted, a round that could not fill, a
     * client-side failure, a destroyed model): keep the last complete round
     * resumable. Not after an I/O error: the disk is what failed. (A destroyed
     * model's checkpoint records the round, so that a resume refuses it.) */
    if (rc != FT_OK && rc != FT_EIO && c->ckpt.round < c->rounds_done &&
        ft_coord_write_checkpoint(c) != FT_OK)
        FT_LOG(FT_LOG_WARN, "no resumable checkpoint: %s", ft_error_message());
    ft_coord_log_refusals(c);
    int saved = ft_coord_save_final(c, rc == FT_OK);
    if (saved != FT_OK && rc != FT_OK)
        FT_LOG(FT_LOG_WARN, "%s", ft_error_message());
    int summed = ft_coord_write_summary(c, rc == FT_OK);
    if (summed != FT_OK && rc != FT_OK)
        FT_LOG(FT_LOG_WARN, "%s", ft_error_message());
    if (saved == FT_OK)
        saved = summed;
    const char *reason = rc == FT_OK           ? "complete"
                         : rc == FT_EINTR      ? "interrupted"
                         : rc == FT_ENONFINITE ? "model destroyed"
                                               : "failed";
    ft_coord_broadcast_shutdown(c, reason);
    if (c->opts.live)
        ft_live_arm_end(c->opts.live, c->opts.live_arm, rc == FT_ENONFINITE ? "destroyed" : reason);
    ft_events_begin(c->ev, rc == FT_OK ? "complete" : "stopped");
    ft_events_int(c->ev, "rounds", c->rounds_done);
    ft_events_str(c->ev, "reason", rc == FT_OK ? reason : why);
    ft_events_end(c->ev);
    if (rc != FT_OK)
        ft_error_set(rc, "%s", why);
    else if (saved != FT_OK)
        rc = saved;
    return rc;
}
