/* ft_coord_run_dir: the coordinator's run directory — config.ini, metrics.csv and
 * events.jsonl (fresh, or cut back to a checkpoint's round when resuming), the two
 * resumable checkpoints (ft_resume.h), updates/ (run.save_updates: rows, counts and
 * ground truth), final.ckpt and summary.json.
 *
 * Everything the run leaves on disk is written here, so what a run directory holds
 * and when each file is complete can be read in one place (docs/protocol.md, "Run
 * directory", describes the files). Events are written by every part of the
 * coordinator; this file only opens, syncs and measures events.jsonl. */
#include "ft_coordinator_internal.h"

#include "ft_alloc.h"
#include "ft_dataset.h"
#include "ft_readers.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_json.h"
#include "ft_log.h"
#include "ft_resume.h"
#include "ft_round_truth.h"
#include "ft_timer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int join_path(char *buf, size_t len, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
        return ft_error_set(FT_EINVAL, "path too long: %s/%s", dir, name);
    return FT_OK;
}

/* ft_resume_find's accept: a checkpoint of this experiment whose model and defense
 * state fit it, restored into the global model (a refused one changes nothing). */
static int accept_checkpoint(void *user, const char *path, const ft_resume_t *r)
{
    ft_coordinator_t *c = user;
    /* Another experiment: an error, not damage (starting over would destroy the run). */
    if (strcmp(r->config_ini, c->config_ini) != 0)
        return ft_error_set(FT_ECONFIG,
                            "%s: the experiment differs from the one in its checkpoint %s "
                            "(resume with the run's own config)",
                            c->opts.out_dir, path);
    /* The same config builds the same model: a mismatch is a damaged or crafted file. */
    if (r->num_params != c->N)
        return ft_error_set(FT_EFORMAT, "%s: field num_params = %zu, the model has %zu", path,
                            r->num_params, c->N);
    if (memcmp(r->layout_hash, ft_global_layout_hash(c->g), 32) != 0)
        return ft_error_set(FT_EFORMAT, "%s: field layout hash: not the experiment's model", path);
    /* The run is deterministic: from here the same round destroys the model again.
     * Not damage: an error, so that no older checkpoint is tried either. */
    if (r->point.destroyed_round && c->exp.run.on_nonfinite == FT_NONFINITE_STOP)
        return ft_error_set(FT_ESTATE,
                            "%s: the run stopped because round %d destroyed the global model "
                            "(NaN/Inf parameters); resuming would only repeat that. Start it "
                            "again with run.on_nonfinite = continue to see the rounds after it",
                            c->opts.out_dir, r->point.destroyed_round);
    int rc = ft_coord_attack_state_restore(c, r->attack_state, r->attack_state_n);
    if (rc == FT_OK)
        rc = ft_global_restore(c->g, r->params, r->defense_state, r->defense_len);
    if (rc == FT_EFORMAT) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", ft_error_message());
        return ft_error_set(rc, "%s: %s", path, msg);
    }
    return rc;
}

/* Opens metrics.csv and events.jsonl: fresh, or (opts.resume) restored from the
 * newest good checkpoint, cutting both files back to its round. */
static int open_run_files(ft_coordinator_t *c)
{
    char mpath[4096], epath[4096];
    int rc;
    if ((rc = join_path(mpath, sizeof mpath, c->opts.out_dir, "metrics.csv")) != FT_OK ||
        (rc = join_path(epath, sizeof epath, c->opts.out_dir, "events.jsonl")) != FT_OK)
        return rc;
    ft_resume_t r;
    memset(&r, 0, sizeof r);
    int found = 0;
    if (c->opts.resume) {
        rc = ft_resume_find(c->opts.out_dir, accept_checkpoint, c, &r);
        if (rc == FT_OK)
            found = 1;
        else if (rc == FT_ENOTFOUND || rc == FT_EDIGEST || rc == FT_EFORMAT)
            FT_LOG(FT_LOG_WARN, "%s; the run starts over from round 1", ft_error_message());
        else
            return rc;
    }
    if (found) {
        c->rounds_done = c->ckpt.round = r.point.round;
        c->totals.detect = r.point.detect;
        c->totals.final_main_acc = r.point.final_main_acc;
        c->totals.final_backdoor_acc = r.point.final_backdoor_acc;
        c->totals.peak_backdoor_acc = r.point.peak_backdoor_acc;
        c->totals.destroyed_round = r.point.destroyed_round;
        c->t0 = ft_now() - r.point.elapsed;
        c->ckpt.slot = 1 - r.slot;
        if ((rc = ft_metrics_open_at(mpath, r.point.metrics_bytes, &c->mt)) != FT_OK ||
            (rc = ft_events_open_at(epath, c->t0, r.point.events_bytes, &c->ev)) != FT_OK)
            goto done;
        FT_LOG(FT_LOG_INFO, "resuming %s after round %d (checkpoint-%c.ckpt)", c->opts.out_dir,
               r.point.round, 'a' + r.slot);
    } else {
        if ((rc = ft_metrics_open(mpath, &c->mt)) != FT_OK ||
            (rc = ft_events_open(epath, c->t0, &c->ev)) != FT_OK)
            goto done;
    }
    c->ckpt.metrics_at_end = ft_metrics_offset(c->mt);
    c->ckpt.events_at_end = ft_events_offset(c->ev);
    c->ckpt.resumed_slot = found ? r.slot : -1;
done:
    ft_resume_free(&r);
    return rc;
}

int ft_coord_open_run_dir(ft_coordinator_t *c)
{
    char path[4096];
    int rc;
    if ((rc = join_path(path, sizeof path, c->opts.out_dir, "config.ini")) != FT_OK ||
        (rc = ft_config_write(c->cfg, path)) != FT_OK)
        return rc;
    if ((rc = open_run_files(c)) != FT_OK)
        return rc;
    if (c->exp.run.save_updates &&
        ((rc = join_path(path, sizeof path, c->opts.out_dir, "updates")) != FT_OK ||
         (rc = ft_mkdir_p(path)) != FT_OK))
        return rc;
    return FT_OK;
}

int ft_coordinator_resume_config(const char *dir, ft_config_t **cfg)
{
    *cfg = ft_config_new();
    if (!*cfg)
        return ft_error_set(FT_ENOMEM, "out of memory");
    ft_resume_t r;
    int rc = ft_resume_find(dir, NULL, NULL, &r);
    if (rc == FT_OK) {
        rc = ft_config_load_string(*cfg, r.config_ini, "checkpoint config");
    } else if (rc == FT_ENOTFOUND || rc == FT_EDIGEST || rc == FT_EFORMAT) {
        char path[4096];
        FT_LOG(FT_LOG_WARN, "%s; using %s/config.ini", ft_error_message(), dir);
        rc = join_path(path, sizeof path, dir, "config.ini");
        if (rc == FT_OK)
            rc = ft_config_load_file(*cfg, path);
    }
    ft_resume_free(&r);
    if (rc != FT_OK)
        ft_config_destroy(cfg);
    return rc;
}

int ft_coord_write_checkpoint(ft_coordinator_t *c)
{
    int rc;
    /* A resume refuses a non-finite model (ft_resume_find), so such a checkpoint
     * would only displace a usable one: both slots are kept, and a resume goes on
     * from the last finite model, recomputing the rounds after it identically. */
    const float *params = ft_global_params(c->g);
    /* The exception: the checkpoint of a run that stops because this round destroyed
     * the model (run.on_nonfinite = stop) marks it, so that a resume is refused. */
    int tombstone = c->totals.destroyed_round && c->totals.destroyed_round == c->rounds_done &&
                    c->exp.run.on_nonfinite == FT_NONFINITE_STOP;
    for (size_t i = 0; i < c->N && !tombstone; i++) {
        if (isfinite(params[i]))
            continue;
        FT_LOG(FT_LOG_WARN,
               "round %d: no resumable checkpoint: the global model is not finite "
               "(parameter %zu is %s)",
               c->rounds_done, i, isnan(params[i]) ? "NaN" : "Inf");
        ft_events_begin(c->ev, "checkpoint_skipped");
        ft_events_int(c->ev, "round", c->rounds_done);
        ft_events_str(c->ev, "reason", "the global model is not finite");
        ft_events_end(c->ev);
        return ft_events_status(c->ev);
    }
    if ((rc = ft_metrics_sync(c->mt)) != FT_OK || (rc = ft_events_sync(c->ev)) != FT_OK)
        return rc;
    uint8_t *state = NULL;
    size_t state_len = 0;
    if ((rc = ft_global_defense_state(c->g, &state, &state_len)) != FT_OK)
        return rc;
    ft_resume_point_t pt = {.round = c->rounds_done,
                            .metrics_bytes = c->ckpt.metrics_at_end,
                            .events_bytes = c->ckpt.events_at_end,
                            .elapsed = ft_now() - c->t0,
                            .detect = c->totals.detect,
                            .final_main_acc = c->totals.final_main_acc,
                            .final_backdoor_acc = c->totals.final_backdoor_acc,
                            .peak_backdoor_acc = c->totals.peak_backdoor_acc,
                            .destroyed_round = c->totals.destroyed_round};
    rc = ft_resume_save(c->opts.out_dir, c->ckpt.slot, ft_global_layout_hash(c->g),
                        ft_global_params(c->g), c->N, c->exp.run.seed,
                        ft_global_defense(c->g)->name, &pt, c->config_ini, state, state_len,
                        c->ast.has_cur ? c->ast.cur : NULL, c->ast.n);
    ft_free(state);
    if (rc != FT_OK)
        return rc;
    ft_events_begin(c->ev, "checkpoint");
    ft_events_int(c->ev, "round", c->rounds_done);
    ft_events_str(c->ev, "file", c->ckpt.slot ? "checkpoint-b.ckpt" : "checkpoint-a.ckpt");
    ft_events_end(c->ev);
    c->ckpt.slot = 1 - c->ckpt.slot;
    c->ckpt.round = c->rounds_done;
    return ft_events_status(c->ev);
}

int ft_coord_checkpoint_due(const ft_coordinator_t *c, int round)
{
    return c->exp.run.checkpoint_every > 0 && round % c->exp.run.checkpoint_every == 0;
}

int ft_coord_save_updates(ft_coordinator_t *c, uint32_t round, size_t K)
{
    char path[4096];
    int shape[2] = {(int)K, (int)c->N};
    int rc;
    snprintf(path, sizeof path, "%s/updates/round_%04u.npy", c->opts.out_dir, round);
    if ((rc = ft_npy_write_floats(path, ft_global_row(c->g, 0), shape, 2)) != FT_OK)
        return rc;
    snprintf(path, sizeof path, "%s/updates/round_%04u_counts.npy", c->opts.out_dir, round);
    if ((rc = ft_npy_write_floats(path, c->upd.counts, shape, 1)) != FT_OK)
        return rc;
    /* who attacked, beside the rows: an offline replay joins a rule's decisions with
     * it as join_decisions does (ft_round_truth.h) */
    snprintf(path, sizeof path, "%s/updates/round_%04u.json", c->opts.out_dir, round);
    if ((rc =
             ft_round_truth_write(path, round, (uint32_t)c->round->K, ft_global_defense(c->g)->name,
                                  K, c->upd.ids, c->upd.attackers, c->upd.counts)) != FT_OK)
        return rc;
    if (c->server_update) {
        snprintf(path, sizeof path, "%s/updates/round_%04u_server.npy", c->opts.out_dir, round);
        if ((rc = ft_npy_write_floats(path, c->server_update, shape + 1, 1)) != FT_OK)
            return rc;
    }
    /* a rule that runs the models (deepsight, flare) judges G + U_i: the global model
     * before the round, for `fedtail aggregate --global` */
    if (ft_global_defense(c->g)->needs_probe) {
        snprintf(path, sizeof path, "%s/updates/round_%04u_global.npy", c->opts.out_dir, round);
        if ((rc = ft_npy_write_floats(path, ft_global_params(c->g), shape + 1, 1)) != FT_OK)
            return rc;
    }
    return FT_OK;
}

int ft_coord_save_final(ft_coordinator_t *c, int complete)
{
    char path[4096], meta[256];
    int rc = join_path(path, sizeof path, c->opts.out_dir, "final.ckpt");
    if (rc != FT_OK)
        return rc;
    snprintf(meta, sizeof meta, "round=%d\ncomplete=%d\nseed=%llu\ndefense=%s\n", c->rounds_done,
             complete, (unsigned long long)c->exp.run.seed, ft_global_defense(c->g)->name);
    return ft_global_save(c->g, path, meta);
}

/* JSON number or null. */
static void json_num(FILE *f, const char *key, double v, int last)
{
    char num[64];
    fprintf(f, "  \"%s\": %s%s\n", key, ft_json_num(num, sizeof num, v, -1), last ? "" : ",");
}

int ft_coord_write_summary(ft_coordinator_t *c, int complete)
{
    char path[4096], *text = NULL;
    size_t len = 0;
    int rc = join_path(path, sizeof path, c->opts.out_dir, "summary.json");
    if (rc != FT_OK)
        return rc;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return ft_error_set(FT_ENOMEM, "out of memory for summary.json");
    ft_detect_counts_t sel = c->totals.detect;
    const ft_detect_counts_t *d = &sel;
    sel.selects = ft_global_defense(c->g)->selects; /* also after a resume */
    char q[256];
    fprintf(f, "{\n");
    ft_events_json_string(q, sizeof q, c->exp.attack.method);
    fprintf(f, "  \"attack\": %s,\n", q);
    ft_events_json_string(q, sizeof q, ft_global_defense(c->g)->name);
    fprintf(f, "  \"defense\": %s,\n", q);
    fprintf(f, "  \"rounds\": %d,\n  \"rounds_planned\": %d,\n  \"completed\": %s,\n",
            c->rounds_done, c->exp.federation.rounds, complete ? "true" : "false");
    if (c->totals.destroyed_round)
        fprintf(f, "  \"model_destroyed_round\": %d,\n", c->totals.destroyed_round);
    else
        fprintf(f, "  \"model_destroyed_round\": null,\n");
    json_num(f, "final_main_acc", c->totals.final_main_acc, 0);
    json_num(f, "final_backdoor_acc", c->totals.final_backdoor_acc, 0);
    json_num(f, "peak_backdoor_acc", c->totals.peak_backdoor_acc, 0);
    fprintf(f, "  \"defense_selects\": %s,\n", d->selects ? "true" : "false");
    json_num(f, "attacker_weight_mean", ft_detect_mean_weight(d), 0);
    json_num(f, "attacker_norm_share_mean", ft_detect_mean_norm_share(d), 0);
    json_num(f, "detection_tpr", ft_detect_tpr(d), 0);
    json_num(f, "detection_fpr", ft_detect_fpr(d), 0);
    fprintf(f,
            "  \"attacker_updates\": %lld,\n  \"attackers_kept\": %lld,\n"
            "  \"attackers_dropped\": %lld,\n  \"attackers_reduced\": %lld,\n"
            "  \"honest_updates\": %lld,\n  \"honest_dropped\": %lld,\n"
            "  \"honest_reduced\": %lld\n}\n",
            (long long)d->attackers, (long long)d->attackers_kept, (long long)d->attackers_dropped,
            (long long)d->attackers_reduced, (long long)d->honest, (long long)d->honest_dropped,
            (long long)d->honest_reduced);
    fclose(f);
    rc = ft_write_file_atomic(path, text, len);
    free(text);
    return rc;
}
