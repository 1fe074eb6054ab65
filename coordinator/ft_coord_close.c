/* ft_coord_close: closing a round — the received rows compacted into client-id
 * order, the norms measured as received, FLTrust's root-set update, aggregation
 * through the defense, its decisions joined with the schedule's ground truth
 * (ft_detect), and the evaluation of the new model, now or overlapped with the
 * next round (ft_evaluator); then the round is finished: its metrics row and
 * round_end event written, a checkpoint when one is due, progress reported.
 *
 * After every aggregation the global model is checked for NaN/Inf: a NaN payload
 * under FedAvg, or finite updates whose sum overflows float, destroys it for good
 * (NaN + x is NaN), and the run must say so rather than report the numbers of a
 * dead model (run.on_nonfinite).
 *
 * The ground truth meets the defense's output only here, after the defense ran:
 * the defense never sees who attacked. */
#include "ft_coordinator_internal.h"

#include "ft_error.h"
#include "ft_log.h"
#include "ft_sampling.h"
#include "ft_timer.h"

#include <math.h>
#include <string.h>

/* Joins the defense's decisions with the ground truth: metrics columns, run totals
 * and one "decision" event per update. */
static void join_decisions(ft_coordinator_t *c, uint32_t round, size_t k)
{
    int selects = ft_global_defense(c->g)->selects;
    ft_detect_counts_t d;
    ft_detect_shares_t sh;
    ft_detect_join(k, c->upd.attackers, c->upd.dec, selects, c->upd.flagged, &d, &sh);
    ft_detect_add(&c->totals.detect, &d);
    c->row.selects = selects;
    c->row.attackers_kept = (int)(d.attackers - d.attackers_dropped);
    c->row.honest_dropped = (int)d.honest_dropped;
    c->row.attacker_weight = sh.attacker_weight;
    c->row.attacker_norm_share = sh.attacker_norm_share;
    if (c->opts.live)
        ft_live_round_closed(c->opts.live, c->opts.live_arm, (int)round, c->upd.ids,
                             c->upd.attackers, c->upd.dec, k);
    for (size_t i = 0; i < k; i++) {
        const ft_defense_decision_t *e = &c->upd.dec[i];
        ft_events_begin(c->ev, "decision");
        ft_events_int(c->ev, "round", round);
        ft_events_int(c->ev, "client", c->upd.ids[i]);
        ft_events_bool(c->ev, "attacker", c->upd.attackers[i]);
        ft_events_str(c->ev, "decision", ft_detect_decision_name(e->decision));
        ft_events_num(c->ev, "clip", e->clip_factor);
        ft_events_num(c->ev, "score", e->score);
        ft_events_num(c->ev, "weight", e->weight);
        ft_events_num(c->ev, "contribution", e->contrib_norm);
        if (!c->sa) /* as received, before the defense; the server never sees a masked one */
            ft_events_num(c->ev, "norm", c->upd.norms[i]);
        if (selects) /* only a rule that selects accuses anyone */
            ft_events_bool(c->ev, "detected", c->upd.flagged[i]);
        ft_events_end(c->ev);
    }
}

/* Completes a round: its evaluation (ev; NULL when not evaluated this round) into
 * the metrics row, the row and the round_end event on disk, the round counted done,
 * a checkpoint when one is due, progress reported. */
static int finish_round(ft_coordinator_t *c, ft_metrics_row_t *row, const ft_evaluation_t *ev)
{
    int rc;
    if (ev) {
        row->evaluated = 1;
        row->main_acc = ev->clean.accuracy;
        row->main_loss = ev->clean.loss;
        row->backdoor_acc = ev->attack.backdoor_acc;
        row->target_class_acc = ev->attack.target_class_acc;
        row->eval_s = ev->seconds;
        c->totals.final_main_acc = ev->clean.accuracy;
        c->totals.final_backdoor_acc = ev->attack.backdoor_acc;
        if (!isnan(ev->attack.backdoor_acc) &&
            (isnan(c->totals.peak_backdoor_acc) ||
             ev->attack.backdoor_acc > c->totals.peak_backdoor_acc))
            c->totals.peak_backdoor_acc = ev->attack.backdoor_acc;
    }
    if ((rc = ft_metrics_write(c->mt, row)) != FT_OK)
        return rc;
    if (c->opts.live) /* the row as metrics.csv now holds it */
        ft_live_row(c->opts.live, c->opts.live_arm, row);
    if (row->rejected > row->rejected_written) {
        ft_events_begin(c->ev, "rejected_suppressed");
        ft_events_int(c->ev, "round", row->round);
        ft_events_int(c->ev, "count", (int64_t)row->rejected - row->rejected_written);
        ft_events_end(c->ev);
    }
    ft_events_begin(c->ev, "round_end");
    ft_events_int(c->ev, "round", row->round);
    ft_events_int(c->ev, "clients", row->clients);
    if (row->evaluated) {
        ft_events_num(c->ev, "main_acc", row->main_acc);
        ft_events_num(c->ev, "main_loss", row->main_loss);
        if (!isnan(row->backdoor_acc))
            ft_events_num(c->ev, "backdoor_acc", row->backdoor_acc);
    }
    ft_events_num(c->ev, "round_s", row->round_s);
    ft_events_end(c->ev);
    if ((rc = ft_events_status(c->ev)) != FT_OK)
        return rc;
    c->rounds_done = row->round;
    c->ckpt.metrics_at_end = ft_metrics_offset(c->mt);
    c->ckpt.events_at_end = ft_events_offset(c->ev);
    if (ft_coord_checkpoint_due(c, row->round) && (rc = ft_coord_write_checkpoint(c)) != FT_OK)
        return rc;
    if (c->opts.progress)
        c->opts.progress(c->opts.progress_user, row, c->exp.federation.rounds, ft_now() - c->t0);
    return FT_OK;
}

/* Counts the global model's NaN/Inf parameters into the row; the first round with
 * any is a "model_destroyed" event and a warning. Returns nonzero when the run must
 * stop after this round (run.on_nonfinite = stop). */
static int check_model(ft_coordinator_t *c, uint32_t round, ft_metrics_row_t *row)
{
    size_t bad = ft_global_count_nonfinite(c->g);
    row->nonfinite_params = bad;
    if (!bad)
        return 0;
    int stop = c->exp.run.on_nonfinite == FT_NONFINITE_STOP;
    if (!c->totals.destroyed_round) {
        c->totals.destroyed_round = (int)round;
        ft_events_begin(c->ev, "model_destroyed");
        ft_events_int(c->ev, "round", round);
        ft_events_int(c->ev, "nonfinite", (int64_t)bad);
        ft_events_int(c->ev, "num_params", (int64_t)c->N);
        ft_events_str(c->ev, "defense", ft_global_defense(c->g)->name);
        ft_events_str(c->ev, "on_nonfinite", stop ? "stop" : "continue");
        ft_events_end(c->ev);
        FT_LOG(FT_LOG_WARN,
               "round %u: the global model is destroyed: %zu of %zu parameters are NaN/Inf "
               "after aggregation (%s)%s",
               round, bad, c->N, ft_global_defense(c->g)->name,
               stop ? "; the run stops (run.on_nonfinite = stop)" : "");
    }
    return stop;
}

/* Secure aggregation: row 0 holds the decoded weighted mean of the k summed updates
 * (ft_coord_secagg.c); the defense aggregates it as one update of weight 1. The
 * norms as received are unknown (NaN: the server never sees an update); each
 * client's decision is the mean's, with its public weight n_c / Σ n and no
 * contribution norm. Returns the defense's code. */
static int aggregate_secagg(ft_coordinator_t *c, uint32_t round, size_t k)
{
    ft_metrics_row_t *row = &c->row;
    int attackers = 0;
    double total = 0;
    for (size_t i = 0; i < k; i++) {
        attackers += c->upd.attackers[i] != 0;
        total += c->upd.counts[i];
    }
    row->attackers = attackers;
    row->attacker_norm = NAN;
    row->honest_norm_mean = NAN;
    for (size_t i = 0; i < k; i++)
        c->upd.norms[i] = NAN;
    uint32_t id = k ? c->upd.ids[0] : 0;
    float one = 1.0f;
    ft_defense_decision_t mean;
    int rc =
        ft_global_aggregate(c->g, round, 1, &id, &one, NULL, ft_coord_idle_model_buffer(c), &mean);
    for (size_t i = 0; i < k; i++) {
        c->upd.dec[i] = mean;
        c->upd.dec[i].weight = (float)(c->upd.counts[i] / total);
        c->upd.dec[i].contrib_norm = NAN;
    }
    return rc;
}

int ft_coord_settle_pending(ft_coordinator_t *c)
{
    if (!ft_evaluator_pending(c->evaluator))
        return FT_OK;
    ft_evaluation_t ev;
    int rc = ft_evaluator_wait(c->evaluator, &ev);
    return rc == FT_OK ? finish_round(c, &c->pending, &ev) : rc;
}

int ft_coord_close_round(ft_coordinator_t *c)
{
    int rc = ft_coord_settle_pending(c);
    /* no evaluation reads the backdoor test set now: the attack's new state may replace it */
    if (rc == FT_OK)
        rc = ft_coord_attack_state_commit(c);
    if (rc != FT_OK)
        return rc;
    ft_round_t *r = c->round;
    ft_metrics_row_t *row = &c->row;
    double t_agg = ft_now();
    size_t k = 0;
    double loss_sum = 0, samples = 0;
    for (size_t i = 0; i < r->K; i++) {
        const ft_slot_t *s = &r->slots[i];
        if (s->state != FT_SLOT_DONE || (c->sa && !ft_coord_sa_survivor(c->sa, (int)i)))
            continue;
        if (!c->sa && k != i)
            memcpy(ft_global_row(c->g, k), ft_global_row(c->g, i), c->N * sizeof(float));
        c->upd.ids[k] = s->client_id;
        c->upd.counts[k] = (float)s->num_samples;
        c->upd.attackers[k] = (uint8_t)s->attacker;
        loss_sum += (double)s->train_loss * (double)s->num_samples;
        samples += (double)s->num_samples;
        row->train_s += s->train_s;
        if (s->train_s > row->train_max_s)
            row->train_max_s = s->train_s;
        k++;
    }
    row->round = (int)r->round;
    row->attempts = (int)r->attempt + 1;
    row->clients = (int)k;
    row->sampled = (int)r->K;
    row->train_loss = samples > 0 ? loss_sum / samples : NAN;
    if (c->sa) {
        rc = aggregate_secagg(c, r->round, k);
    } else {
        /* Norms as received: the defense may clip the rows in place. */
        ft_round_norms_t norms;
        ft_measure_norms(k, c->N, ft_global_row(c->g, 0), c->upd.attackers, c->upd.norms, &norms);
        row->attackers = norms.attackers;
        row->attacker_norm = norms.attacker_norm;
        row->honest_norm_mean = norms.honest_norm_mean;
        float lr = ft_round_lr(c->exp.federation.lr, c->exp.federation.lr_decay, r->round);
        if (c->root && (rc = ft_root_update(c->root, r->round, lr, ft_global_params(c->g),
                                            c->server_update)) != FT_OK)
            return rc;
        if (c->exp.run.save_updates && (rc = ft_coord_save_updates(c, r->round, k)) != FT_OK)
            return rc;
        rc = ft_global_aggregate(c->g, r->round, k, c->upd.ids, c->upd.counts, c->server_update,
                                 ft_coord_idle_model_buffer(c), c->upd.dec);
    }
    if (rc != FT_OK) {
        ft_events_begin(c->ev, "aggregate_failed");
        ft_events_int(c->ev, "round", r->round);
        ft_events_str(c->ev, "reason", ft_error_message());
        ft_events_end(c->ev);
        FT_LOG(FT_LOG_WARN, "round %u: no aggregate (%s); the model is unchanged", r->round,
               ft_error_message());
        /* Nothing was used: every update counts as dropped. */
        for (size_t i = 0; i < k; i++)
            c->upd.dec[i] = (ft_defense_decision_t){FT_DECISION_DROPPED, 0.0f, 0.0f, 0.0f, 0.0f};
    }
    join_decisions(c, r->round, k);
    int stop = check_model(c, r->round, row);
    row->aggregate_s = ft_now() - t_agg;
    if ((rc = ft_coord_publish_model(c)) != FT_OK)
        return rc;
    /* A run that stops here evaluates its last round like the planned last one. */
    int last = (int)r->round == c->exp.federation.rounds || stop;
    int evaluate = (int)r->round % c->exp.federation.eval_every == 0 || last;
    /* Overlap the evaluation with the next round, except where the row must be on
     * disk now: the last round, and a checkpoint that records the files' lengths. */
    if (evaluate && c->exp.run.eval_async && !last && !ft_coord_checkpoint_due(c, row->round)) {
        row->round_s = ft_now() - r->started;
        c->pending = *row;
        ft_procs_touch_all(&c->procs, ft_now());
        return ft_evaluator_start(c->evaluator);
    }
    ft_evaluation_t ev;
    if (evaluate && (rc = ft_evaluator_run(c->evaluator, &ev)) != FT_OK)
        return rc;
    row->round_s = ft_now() - r->started;
    rc = finish_round(c, row, evaluate ? &ev : NULL);
    /* The coordinator could not read heartbeats while it aggregated and evaluated. */
    ft_procs_touch_all(&c->procs, ft_now());
    if (rc == FT_OK && stop)
        rc = ft_error_set(FT_ENONFINITE,
                          "round %u destroyed the global model: %llu of %zu parameters are "
                          "NaN/Inf after aggregation (defense %s); set run.on_nonfinite = "
                          "continue if the experiment expects it",
                          r->round, (unsigned long long)row->nonfinite_params, c->N,
                          ft_global_defense(c->g)->name);
    return rc;
}
