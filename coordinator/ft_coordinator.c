/* ft_coordinator: the round loop and the message handlers.
 *
 * One thread, one ROUTER socket. The loop polls the socket in short slices, handles
 * every waiting message, presumes silent processes dead, hands pending tasks to
 * waiting processes, and closes the round when every task is done or its deadline
 * passes. Updates are copied into row i of the K×N matrix where i is the client's
 * position in the sorted sample, so aggregation is in client-id order whatever the
 * arrival order: the same config gives the same metrics at any process count.
 *
 * Attacks and defenses meet here only as data: the schedule's ground truth (who
 * attacks) goes to the clients in their tasks and is joined afterwards with the
 * defense's decisions (ft_detect) and the update norms (measured as received,
 * before the defense may clip the rows in place); the defense never sees it. */
#include "ft_coordinator.h"

#include "ft_alloc.h"
#include "ft_attack.h"
#include "ft_curve.h"
#include "ft_dataset.h"
#include "ft_detect.h"
#include "ft_error.h"
#include "ft_evaluator.h"
#include "ft_events.h"
#include "ft_fileio.h"
#include "ft_global.h"
#include "ft_key_set.h"
#include "ft_link.h"
#include "ft_log.h"
#include "ft_population.h"
#include "ft_procs.h"
#include "ft_resume.h"
#include "ft_root.h"
#include "ft_round.h"
#include "ft_sha256.h"
#include "ft_sampling.h"
#include "ft_schedule.h"
#include "ft_timer.h"
#include "ft_wire.h"
#include "ft_zap.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

/* Silent heartbeat periods after which a process is presumed dead. */
#define DEAD_AFTER_PERIODS 5.0

struct ft_coordinator {
    ft_config_t *cfg;           /* experiment (owned copy) */
    ft_coord_opts_t opts;       /* options (strings borrowed) */
    char *config_ini;           /* resolved config text sent in Welcome */
    void *zctx;                 /* ZeroMQ context */
    void *sock;                 /* the ROUTER socket */
    ft_wire_limits_t lim;       /* receive bounds */
    ft_global_t *g;             /* model, update matrix, defense, evaluation */
    ft_schedule_t *sched;       /* attacker schedule (ground truth) */
    ft_round_t *round;          /* the current round's slots */
    ft_procs_t procs;           /* client processes */
    ft_events_t *ev;            /* events.jsonl */
    ft_metrics_t *mt;           /* metrics.csv */
    uint32_t *ids;              /* K sampled / aggregated ids */
    uint8_t *attackers;         /* K ground truth */
    float *counts;              /* K sample counts */
    ft_defense_decision_t *dec; /* K defense decisions */
    ft_blob_t *model_blob;      /* the global model as sent (LE float32) */
    uint8_t model_digest[32];   /* its SHA-256 */
    size_t N;                   /* parameters */
    int rounds;                 /* federation.rounds */
    uint32_t K;                 /* clients_per_round */
    uint32_t num_clients;       /* federation.num_clients */
    int min_clients;            /* fewest updates a round closes with */
    int max_retries;            /* retries before failing */
    double timeout;             /* round_timeout seconds */
    double heartbeat;           /* heartbeat period seconds */
    int eval_every;             /* evaluate every n rounds */
    int eval_async;             /* run.eval_async: overlap evaluation with the next round */
    ft_evaluator_t *evaluator;  /* evaluates the global model */
    ft_round_metrics_t pending; /* the round whose evaluation is running */
    double lr, lr_decay;        /* learning-rate schedule */
    uint64_t seed;              /* run.seed */
    double t0;                  /* run start */
    int rounds_done;            /* rounds completed */
    ft_round_metrics_t row;     /* the current round's metrics */
    ft_population_t *pop;       /* training set, attack environment, partition, root set */
    ft_root_t *root;            /* FLTrust root-set trainer (NULL unless needed) */
    float *server_update;       /* N: the round's root-set update (with root) */
    uint8_t *flagged;           /* K: the defense detected update i (ft_detect) */
    uint64_t round_samples;     /* N_round of the current round */
    uint32_t round_attackers;   /* attackers sampled in the current round */
    int save_updates;           /* run.save_updates */
    ft_detect_counts_t detect;  /* decisions vs ground truth, summed over rounds */
    double final_main_acc;      /* last evaluated main accuracy (NaN: none) */
    double final_backdoor_acc;  /* last evaluated backdoor accuracy (NaN: none) */
    double peak_backdoor_acc;   /* highest evaluated backdoor accuracy (NaN: none) */
    ft_zap_t *zap;              /* CURVE: the ZAP handler (NULL without security.curve) */
    int ckpt_every;             /* run.checkpoint_every (0: none) */
    int ckpt_slot;              /* slot the next checkpoint goes to (ft_resume.h) */
    int ckpt_round;             /* rounds in the newest checkpoint written or resumed */
    int64_t metrics_at_end;     /* metrics.csv length after the last complete round */
    int64_t events_at_end;      /* events.jsonl length after the last complete round */
    int resumed_slot;           /* checkpoint slot the run resumed from (-1: fresh) */
};

/* ---- configuration --------------------------------------------------------------- */

int ft_federation_check_config(const ft_config_t *cfg)
{
    int64_t n = ft_config_int(cfg, "federation.num_clients");
    int64_t k = ft_config_int(cfg, "federation.clients_per_round");
    if (n < 1 || n > UINT32_MAX)
        return ft_config_error(cfg, "federation.num_clients", "must be in [1, 2^32)");
    if (k < 1 || k > n)
        return ft_config_error(cfg, "federation.clients_per_round",
                               "must be in [1, num_clients = %lld]", (long long)n);
    if (ft_config_int(cfg, "federation.rounds") < 1)
        return ft_config_error(cfg, "federation.rounds", "must be >= 1");
    if (ft_config_int(cfg, "federation.local_epochs") < 1)
        return ft_config_error(cfg, "federation.local_epochs", "must be >= 1");
    if (ft_config_int(cfg, "federation.batch_size") < 1)
        return ft_config_error(cfg, "federation.batch_size", "must be >= 1");
    double lr = ft_config_float(cfg, "federation.lr");
    if (!(lr > 0) || !isfinite(lr))
        return ft_config_error(cfg, "federation.lr", "must be > 0");
    double decay = ft_config_float(cfg, "federation.lr_decay");
    if (!(decay > 0) || !isfinite(decay))
        return ft_config_error(cfg, "federation.lr_decay", "must be > 0");
    if (ft_config_float(cfg, "federation.momentum") < 0)
        return ft_config_error(cfg, "federation.momentum", "must be >= 0");
    if (ft_config_float(cfg, "federation.weight_decay") < 0)
        return ft_config_error(cfg, "federation.weight_decay", "must be >= 0");
    if (ft_config_int(cfg, "federation.eval_every") < 1)
        return ft_config_error(cfg, "federation.eval_every", "must be >= 1");
    if (!(ft_config_float(cfg, "federation.round_timeout") > 0))
        return ft_config_error(cfg, "federation.round_timeout", "must be > 0");
    int64_t mc = ft_config_int(cfg, "federation.min_clients");
    if (mc < 1 || mc > k)
        return ft_config_error(cfg, "federation.min_clients",
                               "must be in [1, clients_per_round = %lld]", (long long)k);
    if (ft_config_int(cfg, "federation.max_round_retries") < 0)
        return ft_config_error(cfg, "federation.max_round_retries", "must be >= 0");
    if (!(ft_config_float(cfg, "federation.heartbeat_s") > 0))
        return ft_config_error(cfg, "federation.heartbeat_s", "must be > 0");
    int64_t mb = ft_config_int(cfg, "run.max_message_mb");
    if (mb < 1 || mb > 1 << 20)
        return ft_config_error(cfg, "run.max_message_mb", "must be in [1, 1048576]");
    if (ft_config_int(cfg, "run.threads") < 1)
        return ft_config_error(cfg, "run.threads", "must be >= 1");
    if (ft_config_int(cfg, "run.checkpoint_every") < 0)
        return ft_config_error(cfg, "run.checkpoint_every", "must be >= 0 (0: no checkpoints)");
    return FT_OK;
}

/* ---- construction ---------------------------------------------------------------- */

/* The model message's buffer when no send still reads it, else NULL. Between rounds
 * it doubles as the aggregation's scratch for the delta (publish_model rewrites it
 * right after): the model as sent and the delta then share one N-vector, which
 * keeps the coordinator's peak at K + 3 vectors (docs/PERFORMANCE.md §5). */
static float *idle_model_buffer(ft_coordinator_t *c)
{
    if (!c->model_blob || !ft_blob_exclusive(c->model_blob))
        return NULL;
    return ft_blob_data(c->model_blob);
}

/* Encodes the global model into the model blob (ft_blob_writable: in place when no
 * send still reads it) and digests it. */
static int publish_model(ft_coordinator_t *c)
{
    void *bytes = ft_blob_writable(&c->model_blob, c->N * 4);
    if (!bytes)
        return ft_error_set(FT_ENOMEM, "out of memory for the model message");
    ft_wire_put_floats(bytes, ft_global_params(c->g), c->N);
    ft_sha256(bytes, c->N * 4, c->model_digest);
    return FT_OK;
}

static int join_path(char *buf, size_t len, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
        return ft_error_set(FT_EINVAL, "path too long: %s/%s", dir, name);
    return FT_OK;
}

/* security.curve: the allow-list, the ZAP handler (before bind: libzmq admits every
 * CURVE client while none is bound), the refusal watch, and the server key. */
static int setup_curve(ft_coordinator_t *c)
{
    const ft_config_t *cfg = c->cfg;
    if (!ft_curve_available())
        return ft_config_error(cfg, "security.curve",
                               "this libzmq was built without CURVE (libsodium)");
    const char *secret_path = ft_config_str(cfg, "security.server_secret_key");
    if (!secret_path[0])
        return ft_config_error(cfg, "security.server_secret_key",
                               "must name the coordinator's secret key file when "
                               "security.curve is on (fedtail keygen --name server)");
    const char *dir = ft_config_str(cfg, "security.authorized_clients");
    ft_key_set_t *allowed = NULL;
    int rc = FT_OK;
    if (dir[0]) {
        if ((rc = ft_key_set_load_dir(dir, &allowed)) != FT_OK)
            return ft_error_set(rc, "security.authorized_clients: %s", ft_error_message());
    } else if (!(allowed = ft_key_set_new())) {
        return ft_error_set(FT_ENOMEM, "out of memory");
    }
    if (c->opts.extra_clients && (rc = ft_key_set_add_all(allowed, c->opts.extra_clients)) != FT_OK)
        goto done;
    if (ft_key_set_count(allowed) == 0) {
        rc = ft_config_error(cfg, "security.authorized_clients",
                             "must name a directory of allowed client *.pub keys when "
                             "security.curve is on");
        goto done;
    }
    uint8_t secret[FT_CURVE_KEY_LEN];
    if ((rc = ft_curve_load_secret(secret_path, secret)) != FT_OK ||
        (rc = ft_zap_start(c->zctx, allowed, &c->zap)) != FT_OK ||
        (rc = ft_zap_watch(c->zap, c->sock)) != FT_OK ||
        (rc = ft_curve_server_setup(c->sock, secret)) != FT_OK)
        goto done;
    FT_LOG(FT_LOG_INFO, "CURVE on: %zu authorized client key(s)", ft_key_set_count(allowed));
done:
    ft_key_set_destroy(&allowed);
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
        rc = ft_resume_find(c->opts.out_dir, &r);
        if (rc == FT_OK)
            found = 1;
        else if (rc == FT_ENOTFOUND || rc == FT_EDIGEST || rc == FT_EFORMAT)
            FT_LOG(FT_LOG_WARN, "%s; the run starts over from round 1", ft_error_message());
        else
            return rc;
    }
    if (found) {
        if (r.num_params != c->N || memcmp(r.layout_hash, ft_global_layout_hash(c->g), 32) != 0) {
            rc = ft_error_set(FT_EFORMAT, "%s: checkpoint model does not match the experiment's",
                              c->opts.out_dir);
            goto done;
        }
        if (strcmp(r.config_ini, c->config_ini) != 0) {
            rc = ft_error_set(FT_ECONFIG,
                              "%s: the experiment differs from the one in its checkpoint "
                              "(resume with the run's own config)",
                              c->opts.out_dir);
            goto done;
        }
        if ((rc = ft_global_restore(c->g, r.params, r.defense_state, r.defense_len)) != FT_OK)
            goto done;
        c->rounds_done = c->ckpt_round = r.point.round;
        c->detect = r.point.detect;
        c->final_main_acc = r.point.final_main_acc;
        c->final_backdoor_acc = r.point.final_backdoor_acc;
        c->peak_backdoor_acc = r.point.peak_backdoor_acc;
        c->t0 = ft_now() - r.point.elapsed;
        c->ckpt_slot = 1 - r.slot;
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
    c->metrics_at_end = ft_metrics_offset(c->mt);
    c->events_at_end = ft_events_offset(c->ev);
    c->resumed_slot = found ? r.slot : -1;
done:
    ft_resume_free(&r);
    return rc;
}

int ft_coordinator_resume_config(const char *dir, ft_config_t **cfg)
{
    *cfg = ft_config_new();
    if (!*cfg)
        return ft_error_set(FT_ENOMEM, "out of memory");
    ft_resume_t r;
    int rc = ft_resume_find(dir, &r);
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

int ft_coordinator_new(const ft_config_t *cfg, const ft_coord_opts_t *opts, ft_coordinator_t **out)
{
    *out = NULL;
    int rc = ft_federation_check_config(cfg);
    if (rc != FT_OK)
        return rc;
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
    c->rounds = (int)ft_config_int(cfg, "federation.rounds");
    c->K = (uint32_t)ft_config_int(cfg, "federation.clients_per_round");
    c->num_clients = (uint32_t)ft_config_int(cfg, "federation.num_clients");
    c->min_clients = (int)ft_config_int(cfg, "federation.min_clients");
    c->max_retries = (int)ft_config_int(cfg, "federation.max_round_retries");
    c->timeout = ft_config_float(cfg, "federation.round_timeout");
    c->heartbeat = ft_config_float(cfg, "federation.heartbeat_s");
    c->eval_every = (int)ft_config_int(cfg, "federation.eval_every");
    c->eval_async = ft_config_bool(cfg, "run.eval_async");
    c->lr = ft_config_float(cfg, "federation.lr");
    c->lr_decay = ft_config_float(cfg, "federation.lr_decay");
    c->seed = (uint64_t)ft_config_int(cfg, "run.seed");
    ft_wire_limits_default(&c->lim, (int)ft_config_int(cfg, "run.max_message_mb"));

    c->save_updates = ft_config_bool(cfg, "run.save_updates");
    c->ckpt_every = (int)ft_config_int(cfg, "run.checkpoint_every");
    c->final_main_acc = c->final_backdoor_acc = c->peak_backdoor_acc = NAN;

    /* Cheap key checks first ([attack], then [defense] inside ft_global_new), so a
     * bad experiment fails before any data is loaded. */
    if ((rc = ft_schedule_new(c->cfg, 0, &c->sched)) != FT_OK)
        goto fail;
    if ((rc = ft_global_new(c->cfg, c->K, &c->g)) != FT_OK)
        goto fail;
    c->N = ft_global_num_params(c->g);
    /* The same derivation as every client process: N_round needs the partition. */
    if ((rc = ft_population_new(c->cfg, ft_global_test(c->g), &c->pop)) != FT_OK ||
        (rc = ft_evaluator_new(c->g, c->pop->env, &c->evaluator)) != FT_OK)
        goto fail;
    if (ft_global_defense(c->g)->needs_server_update) {
        const ft_ops_t *ops;
        if ((rc = ft_population_device(c->cfg, &ops)) != FT_OK ||
            (rc = ft_root_new(c->cfg, c->pop, ops, &c->root)) != FT_OK)
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
    if ((rc = ft_population_release_train(c->pop)) != FT_OK)
        goto fail;
    c->round = ft_round_new(c->K);
    c->ids = ft_calloc(c->K, sizeof *c->ids);
    c->attackers = ft_calloc(c->K, 1);
    c->counts = ft_calloc(c->K, sizeof *c->counts);
    c->dec = ft_calloc(c->K, sizeof *c->dec);
    c->flagged = ft_calloc(c->K, 1);
    if (!c->round || !c->ids || !c->attackers || !c->counts || !c->dec || !c->flagged) {
        rc = ft_error_set(FT_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = publish_model(c)) != FT_OK)
        goto fail;

    char path[4096];
    if ((rc = join_path(path, sizeof path, opts->out_dir, "config.ini")) != FT_OK ||
        (rc = ft_config_write(c->cfg, path)) != FT_OK)
        goto fail;
    if ((rc = open_run_files(c)) != FT_OK)
        goto fail;
    if (c->resumed_slot >= 0 && (rc = publish_model(c)) != FT_OK) /* the restored model */
        goto fail;
    if (c->save_updates &&
        ((rc = join_path(path, sizeof path, opts->out_dir, "updates")) != FT_OK ||
         (rc = ft_mkdir_p(path)) != FT_OK))
        goto fail;

    c->zctx = zmq_ctx_new();
    c->sock = c->zctx ? zmq_socket(c->zctx, ZMQ_ROUTER) : NULL;
    if (!c->sock) {
        rc = ft_error_set(FT_ENET, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        goto fail;
    }
    int one = 1, linger = 2000;
    /* A frame over the limit makes libzmq drop the connection before it is read
     * into memory; ft_link checks the same limit again per message. */
    int64_t maxmsg = (int64_t)c->lim.max_payload + (1 << 20);
    if (zmq_setsockopt(c->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0) {
        rc = ft_error_set(FT_ENET, "socket options: %s", zmq_strerror(errno));
        goto fail;
    }
    if (ft_config_bool(c->cfg, "security.curve") && (rc = setup_curve(c)) != FT_OK)
        goto fail;
    if (zmq_bind(c->sock, opts->bind) != 0) {
        rc = ft_error_set(FT_ENET, "cannot bind %s: %s", opts->bind, zmq_strerror(errno));
        goto fail;
    }
    uint8_t hash_hex_src[32];
    memcpy(hash_hex_src, ft_global_layout_hash(c->g), 32);
    char hex[65];
    ft_sha256_hex(hash_hex_src, hex);
    ft_ev_begin(c->ev, "start");
    ft_ev_str(c->ev, "bind", opts->bind);
    ft_ev_bool(c->ev, "curve", c->zap != NULL);
    ft_ev_int(c->ev, "num_params", (int64_t)c->N);
    ft_ev_str(c->ev, "layout_hash", hex);
    ft_ev_str(c->ev, "defense", ft_global_defense(c->g)->name);
    ft_ev_str(c->ev, "attack", ft_config_str(c->cfg, "attack.method"));
    if (c->pop->env->edge) {
        ft_ev_int(c->ev, "edge_points", c->pop->env->edge->attack->n);
        ft_ev_num(c->ev, "edge_p", c->pop->env->edge->p);
    }
    if (c->pop->env->backdoor_test)
        ft_ev_int(c->ev, "backdoor_test", c->pop->env->backdoor_test->n);
    if (c->pop->root_n)
        ft_ev_int(c->ev, "root_size", c->pop->root_n);
    ft_ev_int(c->ev, "rounds", c->rounds);
    ft_ev_int(c->ev, "clients_per_round", c->K);
    ft_ev_end(c->ev);
    if (c->resumed_slot >= 0) {
        ft_ev_begin(c->ev, "resumed");
        ft_ev_int(c->ev, "round", c->rounds_done);
        ft_ev_str(c->ev, "checkpoint", c->resumed_slot ? "checkpoint-b.ckpt" : "checkpoint-a.ckpt");
        ft_ev_end(c->ev);
    }
    FT_LOG(FT_LOG_INFO, "coordinator on %s: N = %zu, %d rounds, %u of %u clients per round",
           opts->bind, c->N, c->rounds, c->K, c->num_clients);
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
    if (c->sock) {
        if (c->zap)
            zmq_socket_monitor(c->sock, NULL, 0); /* the ZAP thread's watch */
        zmq_close(c->sock);
    }
    ft_zap_stop(&c->zap); /* before the context ends */
    ft_link_ctx_term(c->zctx);
    ft_blob_release(&c->model_blob);
    ft_evaluator_destroy(&c->evaluator); /* joins a running evaluation of c->g */
    ft_global_destroy(&c->g);
    ft_root_destroy(&c->root);
    ft_population_destroy(&c->pop);
    ft_free_aligned(c->server_update);
    ft_free(c->flagged);
    ft_schedule_destroy(&c->sched);
    ft_round_destroy(&c->round);
    ft_procs_free(&c->procs);
    ft_events_close(&c->ev);
    ft_metrics_close(&c->mt);
    ft_free(c->ids);
    ft_free(c->attackers);
    ft_free(c->counts);
    ft_free(c->dec);
    ft_free(c->config_ini);
    ft_config_destroy(&c->cfg);
    ft_free(c);
    *c_p = NULL;
}

int ft_coordinator_rounds_done(const ft_coordinator_t *c)
{
    return c->rounds_done;
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

/* Logs a rejected message. p is the process index or -1. */
static void reject(ft_coordinator_t *c, int p, const char *type, const char *reason)
{
    c->row.rejected++;
    ft_ev_begin(c->ev, "rejected");
    if (p >= 0)
        ft_ev_int(c->ev, "process", c->procs.procs[p].id);
    ft_ev_str(c->ev, "message", type);
    ft_ev_str(c->ev, "reason", reason);
    ft_ev_int(c->ev, "round", c->round->round);
    ft_ev_end(c->ev);
    FT_LOG(FT_LOG_WARN, "rejected %s%s: %s", type, p >= 0 ? " from a process" : "", reason);
}

static void mark_dead(ft_coordinator_t *c, int p, const char *reason)
{
    ft_proc_t *pr = &c->procs.procs[p];
    if (pr->state == FT_PROC_DEAD)
        return;
    pr->state = FT_PROC_DEAD;
    pr->slot = -1;
    size_t requeued = c->round->K ? ft_round_requeue_process(c->round, p) : 0;
    ft_ev_begin(c->ev, "process_dead");
    ft_ev_int(c->ev, "process", pr->id);
    ft_ev_int(c->ev, "pid", pr->pid);
    ft_ev_str(c->ev, "host", pr->host);
    ft_ev_str(c->ev, "reason", reason);
    ft_ev_int(c->ev, "round", c->round->round);
    ft_ev_int(c->ev, "requeued", (int64_t)requeued);
    ft_ev_end(c->ev);
    FT_LOG(FT_LOG_WARN, "process %u (pid %u on %s) presumed dead: %s; %zu task(s) requeued", pr->id,
           pr->pid, pr->host, reason, requeued);
}

/* Writes a "refused" event for every connection the ZAP handler refused since the
 * last call (unknown key, plaintext client, wrong server key). */
static void log_refusals(ft_coordinator_t *c)
{
    ft_zap_refusal_t z;
    while (ft_zap_next_refusal(c->zap, &z)) {
        ft_ev_begin(c->ev, "refused");
        ft_ev_str(c->ev, "address", z.address);
        if (z.mechanism[0])
            ft_ev_str(c->ev, "mechanism", z.mechanism);
        if (z.key[0])
            ft_ev_str(c->ev, "key", z.key);
        ft_ev_str(c->ev, "reason", z.reason);
        ft_ev_end(c->ev);
    }
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
        m.u.task.lr = ft_round_lr(c->lr, c->lr_decay, r->round);
        m.u.task.attacker = r->slots[slot].attacker;
        m.u.task.round_samples = c->round_samples;
        m.u.task.round_attackers = c->round_attackers;
        memcpy(m.u.task.model_digest, c->model_digest, 32);
        m.u.task.num_params = c->N;
        int send_model = !(pr->has_model && memcmp(pr->model, c->model_digest, 32) == 0);
        m.u.task.has_model = send_model;
        m.payload_len = send_model ? c->N * 4 : 0;
        if (send_to(c, (int)p, &m, send_model ? c->model_blob : NULL) != FT_OK)
            continue;
        ft_round_assign(r, slot, (int)p, ft_now());
        pr->state = FT_PROC_BUSY;
        pr->slot = slot;
        pr->has_model = 1;
        memcpy(pr->model, c->model_digest, 32);
        ft_ev_begin(c->ev, "task");
        ft_ev_int(c->ev, "round", r->round);
        ft_ev_int(c->ev, "attempt", r->attempt);
        ft_ev_int(c->ev, "client", m.u.task.client_id);
        ft_ev_int(c->ev, "process", pr->id);
        ft_ev_bool(c->ev, "model_sent", send_model);
        ft_ev_bool(c->ev, "attacker", m.u.task.attacker);
        if (r->slots[slot].handed > 1)
            ft_ev_int(c->ev, "handed", r->slots[slot].handed);
        ft_ev_end(c->ev);
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
        reject(c, -1, "hello", ft_error_message());
        return;
    }
    ft_proc_t *pr = &c->procs.procs[p];
    ft_ev_begin(c->ev, "registered");
    ft_ev_int(c->ev, "process", pr->id);
    ft_ev_int(c->ev, "pid", pr->pid);
    ft_ev_str(c->ev, "host", pr->host);
    ft_ev_bool(c->ev, "pool", pr->pool);
    ft_ev_int(c->ev, "clients", (int64_t)pr->num_clients);
    ft_ev_int(c->ev, "threads", in->msg.u.hello.threads);
    ft_ev_end(c->ev);
    FT_LOG(FT_LOG_INFO, "process %u registered (pid %u on %s, %s)", pr->id, pr->pid, pr->host,
           pr->pool ? "pool" : "fixed clients");
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_WELCOME);
    m.u.welcome.process_id = pr->id;
    m.u.welcome.config_ini = c->config_ini;
    memcpy(m.u.welcome.layout_hash, ft_global_layout_hash(c->g), 32);
    m.u.welcome.num_params = c->N;
    m.u.welcome.rounds = (uint32_t)c->rounds;
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
    if (u->num_params != c->N)
        rc = ft_error_set(FT_EPROTO, "N = %llu, expected %zu", (unsigned long long)u->num_params,
                          c->N);
    else if (memcmp(u->layout_hash, ft_global_layout_hash(c->g), 32) != 0)
        rc = ft_error_set(FT_EPROTO, "model layout hash differs from the coordinator's");
    else
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
    ft_round_complete(r, slot, u->num_samples, u->train_loss, u->train_s);
    pr->state = FT_PROC_IDLE;
    pr->slot = -1;
    pr->tasks++;
    ft_ev_begin(c->ev, "update");
    ft_ev_int(c->ev, "round", u->round);
    ft_ev_int(c->ev, "client", u->client_id);
    ft_ev_int(c->ev, "process", pr->id);
    ft_ev_int(c->ev, "samples", (int64_t)u->num_samples);
    ft_ev_num(c->ev, "loss", u->train_loss);
    ft_ev_num(c->ev, "train_s", u->train_s);
    ft_ev_end(c->ev);
}

static void on_error(ft_coordinator_t *c, int p, const ft_msg_error_t *e)
{
    ft_proc_t *pr = &c->procs.procs[p];
    ft_ev_begin(c->ev, "client_error");
    ft_ev_int(c->ev, "process", pr->id);
    ft_ev_int(c->ev, "code", e->code);
    ft_ev_str(c->ev, "reason", e->reason);
    ft_ev_int(c->ev, "round", e->round);
    ft_ev_int(c->ev, "client", e->client_id);
    ft_ev_end(c->ev);
    FT_LOG(FT_LOG_WARN, "process %u reports: %s", pr->id, e->reason);
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

static void check_liveness(ft_coordinator_t *c, double now)
{
    int p;
    double limit = DEAD_AFTER_PERIODS * c->heartbeat;
    while ((p = ft_procs_next_silent(&c->procs, now, limit)) >= 0) {
        char why[96];
        snprintf(why, sizeof why, "silent for %.1f s", now - c->procs.procs[p].last_seen);
        mark_dead(c, p, why);
    }
}

/* ---- rounds -------------------------------------------------------------------- */

static int begin_round(ft_coordinator_t *c, uint32_t t, uint32_t attempt)
{
    int rc = ft_sample_clients(c->seed, t, attempt, c->num_clients, c->K, c->ids);
    if (rc != FT_OK)
        return rc;
    /* May replace one sampled id with the attacker's; ids stay sorted. */
    int n_att = ft_schedule_attackers(c->sched, t, c->ids, c->K, c->attackers);
    c->round_attackers = (uint32_t)n_att;
    c->round_samples = 0;
    for (size_t i = 0; i < c->K; i++)
        c->round_samples += ft_population_client_samples(c->pop, c->ids[i], c->attackers[i]);
    ft_round_begin(c->round, t, attempt, c->ids, c->attackers, c->K, ft_now(), c->timeout);
    /* Processes still busy with an earlier round's task keep that state; their
     * update will be rejected as stale. */
    for (size_t p = 0; p < c->procs.n; p++)
        c->procs.procs[p].slot = -1;
    ft_ev_begin(c->ev, "round_start");
    ft_ev_int(c->ev, "round", t);
    ft_ev_int(c->ev, "attempt", attempt);
    ft_ev_num(c->ev, "lr", ft_round_lr(c->lr, c->lr_decay, t));
    ft_ev_int(c->ev, "attackers", n_att);
    ft_ev_int(c->ev, "round_samples", (int64_t)c->round_samples);
    ft_ev_int(c->ev, "processes", (int64_t)ft_procs_alive(&c->procs));
    ft_ev_end(c->ev);
    return FT_OK;
}

/* Runs the current round until it is finished or expired. */
static int run_round(ft_coordinator_t *c)
{
    ft_round_t *r = c->round;
    for (;;) {
        if (c->opts.stop && *c->opts.stop)
            return ft_error_set(FT_EINTR, "interrupted");
        if (c->opts.tick) {
            int rc = c->opts.tick(c->opts.tick_user);
            if (rc != 0)
                return rc;
        }
        double now = ft_now();
        log_refusals(c);
        int erc = ft_events_status(c->ev);
        if (erc != FT_OK)
            return erc;
        check_liveness(c, now);
        dispatch(c);
        if (ft_round_finished(r))
            return FT_OK;
        if (ft_round_expired(r, now)) {
            ft_ev_begin(c->ev, "timeout");
            ft_ev_int(c->ev, "round", r->round);
            ft_ev_int(c->ev, "attempt", r->attempt);
            ft_ev_int(c->ev, "done", (int64_t)r->done);
            ft_ev_int(c->ev, "sampled", (int64_t)r->K);
            ft_ev_end(c->ev);
            FT_LOG(FT_LOG_WARN, "round %u timed out with %zu of %zu updates", r->round, r->done,
                   r->K);
            return FT_OK;
        }
        double wait = r->deadline - now;
        if (wait > 0.1)
            wait = 0.1;
        if (wait < 0.001)
            wait = 0.001;
        zmq_pollitem_t pi = {c->sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&pi, 1, (long)(wait * 1000));
        if (n < 0 && errno != EINTR)
            return ft_error_set(FT_ENET, "poll: %s", zmq_strerror(errno));
        if (n > 0) {
            int rc = drain_socket(c);
            if (rc != FT_OK)
                return rc;
        }
    }
}

/* run.save_updates: the round's K×N updates as received (before the defense), their
 * sample counts and, for FLTrust, the server update, as .npy files that `fedtail
 * aggregate` replays. */
static int save_round_updates(ft_coordinator_t *c, uint32_t round, size_t K)
{
    char path[4096];
    int shape[2] = {(int)K, (int)c->N};
    int rc;
    snprintf(path, sizeof path, "%s/updates/round_%04u.npy", c->opts.out_dir, round);
    if ((rc = ft_npy_write_floats(path, ft_global_row(c->g, 0), shape, 2)) != FT_OK)
        return rc;
    snprintf(path, sizeof path, "%s/updates/round_%04u_counts.npy", c->opts.out_dir, round);
    if ((rc = ft_npy_write_floats(path, c->counts, shape, 1)) != FT_OK)
        return rc;
    if (c->server_update) {
        snprintf(path, sizeof path, "%s/updates/round_%04u_server.npy", c->opts.out_dir, round);
        if ((rc = ft_npy_write_floats(path, c->server_update, shape + 1, 1)) != FT_OK)
            return rc;
    }
    return FT_OK;
}

/* Joins the defense's decisions with the ground truth: metrics columns, run totals
 * and one "decision" event per update. */
static void join_decisions(ft_coordinator_t *c, uint32_t round, size_t k)
{
    ft_detect_counts_t d;
    ft_detect_join(k, c->attackers, c->counts, c->dec, c->flagged, &d);
    ft_detect_add(&c->detect, &d);
    c->row.attackers_kept = (int)d.attackers_kept;
    c->row.honest_dropped = (int)d.honest_dropped;
    for (size_t i = 0; i < k; i++) {
        const ft_defense_decision_t *e = &c->dec[i];
        ft_ev_begin(c->ev, "decision");
        ft_ev_int(c->ev, "round", round);
        ft_ev_int(c->ev, "client", c->ids[i]);
        ft_ev_bool(c->ev, "attacker", c->attackers[i]);
        ft_ev_str(c->ev, "decision", ft_decision_name(e->decision));
        ft_ev_num(c->ev, "clip", e->clip_factor);
        ft_ev_num(c->ev, "score", e->score);
        ft_ev_num(c->ev, "weight", e->weight);
        ft_ev_bool(c->ev, "detected", c->flagged[i]);
        ft_ev_end(c->ev);
    }
}

/* Writes a resumable checkpoint of the state after the last complete round into the
 * next slot (ft_resume.h); the run files are fsync'ed first so the lengths it
 * records are on disk. */
static int write_checkpoint(ft_coordinator_t *c)
{
    int rc;
    if ((rc = ft_metrics_sync(c->mt)) != FT_OK || (rc = ft_events_sync(c->ev)) != FT_OK)
        return rc;
    uint8_t *state = NULL;
    size_t state_len = 0;
    if ((rc = ft_global_defense_state(c->g, &state, &state_len)) != FT_OK)
        return rc;
    ft_resume_point_t pt = {.round = c->rounds_done,
                            .metrics_bytes = c->metrics_at_end,
                            .events_bytes = c->events_at_end,
                            .elapsed = ft_now() - c->t0,
                            .detect = c->detect,
                            .final_main_acc = c->final_main_acc,
                            .final_backdoor_acc = c->final_backdoor_acc,
                            .peak_backdoor_acc = c->peak_backdoor_acc};
    rc = ft_resume_save(c->opts.out_dir, c->ckpt_slot, ft_global_layout_hash(c->g),
                        ft_global_params(c->g), c->N, c->seed, ft_global_defense(c->g)->name, &pt,
                        c->config_ini, state, state_len);
    ft_free(state);
    if (rc != FT_OK)
        return rc;
    ft_ev_begin(c->ev, "checkpoint");
    ft_ev_int(c->ev, "round", c->rounds_done);
    ft_ev_str(c->ev, "file", c->ckpt_slot ? "checkpoint-b.ckpt" : "checkpoint-a.ckpt");
    ft_ev_end(c->ev);
    c->ckpt_slot = 1 - c->ckpt_slot;
    c->ckpt_round = c->rounds_done;
    return ft_events_status(c->ev);
}

/* Whether round ends with a checkpoint (run.checkpoint_every). */
static int checkpoint_due(const ft_coordinator_t *c, int round)
{
    return c->ckpt_every > 0 && round % c->ckpt_every == 0;
}

/* Completes a round: its evaluation (ev; NULL when not evaluated this round) into
 * the metrics row, the row and the round_end event on disk, the round counted done,
 * a checkpoint when one is due, progress reported. */
static int finish_round(ft_coordinator_t *c, ft_round_metrics_t *row, const ft_evaluation_t *ev)
{
    int rc;
    if (ev) {
        row->evaluated = 1;
        row->main_acc = ev->clean.accuracy;
        row->main_loss = ev->clean.loss;
        row->backdoor_acc = ev->attack.backdoor_acc;
        row->target_class_acc = ev->attack.target_class_acc;
        row->eval_s = ev->seconds;
        c->final_main_acc = ev->clean.accuracy;
        c->final_backdoor_acc = ev->attack.backdoor_acc;
        if (!isnan(ev->attack.backdoor_acc) &&
            (isnan(c->peak_backdoor_acc) || ev->attack.backdoor_acc > c->peak_backdoor_acc))
            c->peak_backdoor_acc = ev->attack.backdoor_acc;
    }
    if ((rc = ft_metrics_write(c->mt, row)) != FT_OK)
        return rc;
    ft_ev_begin(c->ev, "round_end");
    ft_ev_int(c->ev, "round", row->round);
    ft_ev_int(c->ev, "clients", row->clients);
    if (row->evaluated) {
        ft_ev_num(c->ev, "main_acc", row->main_acc);
        ft_ev_num(c->ev, "main_loss", row->main_loss);
        if (!isnan(row->backdoor_acc))
            ft_ev_num(c->ev, "backdoor_acc", row->backdoor_acc);
    }
    ft_ev_num(c->ev, "round_s", row->round_s);
    ft_ev_end(c->ev);
    if ((rc = ft_events_status(c->ev)) != FT_OK)
        return rc;
    c->rounds_done = row->round;
    c->metrics_at_end = ft_metrics_offset(c->mt);
    c->events_at_end = ft_events_offset(c->ev);
    if (checkpoint_due(c, row->round) && (rc = write_checkpoint(c)) != FT_OK)
        return rc;
    if (c->opts.progress)
        c->opts.progress(c->opts.progress_user, row, c->rounds, ft_now() - c->t0);
    return FT_OK;
}

/* Collects the evaluation of the previous round, running since that round closed,
 * and completes the round. Called before anything changes the global model. */
static int settle_pending(ft_coordinator_t *c)
{
    if (!ft_evaluator_pending(c->evaluator))
        return FT_OK;
    ft_evaluation_t ev;
    int rc = ft_evaluator_wait(c->evaluator, &ev);
    return rc == FT_OK ? finish_round(c, &c->pending, &ev) : rc;
}

/* Aggregates the round's updates and evaluates the new global model, now or
 * overlapped with the next round (run.eval_async). */
static int close_round(ft_coordinator_t *c)
{
    int rc = settle_pending(c);
    if (rc != FT_OK)
        return rc;
    ft_round_t *r = c->round;
    ft_round_metrics_t *row = &c->row;
    double t_agg = ft_now();
    size_t k = 0;
    double loss_sum = 0, samples = 0;
    for (size_t i = 0; i < r->K; i++) {
        const ft_slot_t *s = &r->slots[i];
        if (s->state != FT_SLOT_DONE)
            continue;
        if (k != i)
            memcpy(ft_global_row(c->g, k), ft_global_row(c->g, i), c->N * sizeof(float));
        c->ids[k] = s->client_id;
        c->counts[k] = (float)s->num_samples;
        c->attackers[k] = (uint8_t)s->attacker;
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
    /* Norms as received: the defense may clip the rows in place. */
    ft_attack_norms_t norms;
    ft_attack_round_norms(k, c->N, ft_global_row(c->g, 0), c->attackers, &norms);
    row->attackers = norms.attackers;
    row->attacker_norm = norms.attacker_norm;
    row->honest_norm_mean = norms.honest_norm_mean;
    float lr = ft_round_lr(c->lr, c->lr_decay, r->round);
    if (c->root && (rc = ft_root_update(c->root, r->round, lr, ft_global_params(c->g),
                                        c->server_update)) != FT_OK)
        return rc;
    if (c->save_updates && (rc = save_round_updates(c, r->round, k)) != FT_OK)
        return rc;
    rc = ft_global_aggregate(c->g, r->round, k, c->ids, c->counts, c->server_update,
                             idle_model_buffer(c), c->dec);
    if (rc != FT_OK) {
        ft_ev_begin(c->ev, "aggregate_failed");
        ft_ev_int(c->ev, "round", r->round);
        ft_ev_str(c->ev, "reason", ft_error_message());
        ft_ev_end(c->ev);
        FT_LOG(FT_LOG_WARN, "round %u: no aggregate (%s); the model is unchanged", r->round,
               ft_error_message());
        /* Nothing was used: every update counts as dropped. */
        for (size_t i = 0; i < k; i++)
            c->dec[i] = (ft_defense_decision_t){FT_DECISION_DROPPED, 0.0f, 0.0f, 0.0f};
    }
    join_decisions(c, r->round, k);
    row->aggregate_s = ft_now() - t_agg;
    if ((rc = publish_model(c)) != FT_OK)
        return rc;
    int evaluate = (int)r->round % c->eval_every == 0 || (int)r->round == c->rounds;
    /* Overlap the evaluation with the next round, except where the row must be on
     * disk now: the last round, and a checkpoint that records the files' lengths. */
    if (evaluate && c->eval_async && (int)r->round < c->rounds && !checkpoint_due(c, row->round)) {
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
    return rc;
}

/* JSON number or null. */
static void json_num(FILE *f, const char *key, double v, int last)
{
    if (isfinite(v))
        fprintf(f, "  \"%s\": %.9g%s\n", key, v, last ? "" : ",");
    else
        fprintf(f, "  \"%s\": null%s\n", key, last ? "" : ",");
}

/* run_dir/summary.json: the run's outcome and detection rates (ft_detect.h). */
static int write_summary(ft_coordinator_t *c, int complete)
{
    char path[4096], *text = NULL;
    size_t len = 0;
    int rc = join_path(path, sizeof path, c->opts.out_dir, "summary.json");
    if (rc != FT_OK)
        return rc;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return ft_error_set(FT_ENOMEM, "out of memory for summary.json");
    const ft_detect_counts_t *d = &c->detect;
    char q[256];
    fprintf(f, "{\n");
    ft_json_string(q, sizeof q, ft_config_str(c->cfg, "attack.method"));
    fprintf(f, "  \"attack\": %s,\n", q);
    ft_json_string(q, sizeof q, ft_global_defense(c->g)->name);
    fprintf(f, "  \"defense\": %s,\n", q);
    fprintf(f, "  \"rounds\": %d,\n  \"rounds_planned\": %d,\n  \"completed\": %s,\n",
            c->rounds_done, c->rounds, complete ? "true" : "false");
    json_num(f, "final_main_acc", c->final_main_acc, 0);
    json_num(f, "final_backdoor_acc", c->final_backdoor_acc, 0);
    json_num(f, "peak_backdoor_acc", c->peak_backdoor_acc, 0);
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

static void broadcast_shutdown(ft_coordinator_t *c, const char *reason)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_SHUTDOWN);
    snprintf(m.u.shutdown.reason, sizeof m.u.shutdown.reason, "%s", reason);
    for (size_t p = 0; p < c->procs.n; p++)
        if (c->procs.procs[p].state != FT_PROC_DEAD)
            send_to(c, (int)p, &m, NULL);
}

static int save_final(ft_coordinator_t *c, int complete)
{
    char path[4096], meta[256];
    int rc = join_path(path, sizeof path, c->opts.out_dir, "final.ckpt");
    if (rc != FT_OK)
        return rc;
    snprintf(meta, sizeof meta, "round=%d\ncomplete=%d\nseed=%llu\ndefense=%s\n", c->rounds_done,
             complete, (unsigned long long)c->seed, ft_global_defense(c->g)->name);
    return ft_global_save(c->g, path, meta);
}

int ft_coordinator_run(ft_coordinator_t *c)
{
    int rc = FT_OK;
    for (int t = c->rounds_done + 1; t <= c->rounds; t++) {
        ft_round_metrics_reset(&c->row);
        uint32_t attempt = 0;
        for (;;) {
            if ((rc = begin_round(c, (uint32_t)t, attempt)) != FT_OK)
                goto end;
            if ((rc = run_round(c)) != FT_OK)
                goto end;
            if ((int)c->round->done >= c->min_clients)
                break;
            ft_ev_begin(c->ev, "round_retry");
            ft_ev_int(c->ev, "round", t);
            ft_ev_int(c->ev, "attempt", attempt);
            ft_ev_int(c->ev, "done", (int64_t)c->round->done);
            ft_ev_int(c->ev, "min_clients", c->min_clients);
            ft_ev_end(c->ev);
            if ((int)++attempt > c->max_retries) {
                rc = ft_error_set(FT_ETIMEOUT,
                                  "round %d: fewer than min_clients = %d updates after %d "
                                  "tries (are client processes running?)",
                                  t, c->min_clients, attempt);
                goto end;
            }
        }
        if ((rc = close_round(c)) != FT_OK)
            goto end;
    }
end:;
    /* The reason the run stopped, before writing the final files can replace it. */
    char why[1024];
    snprintf(why, sizeof why, "%s", rc == FT_OK ? "" : ft_error_message());
    /* The round whose evaluation was still running is complete: record it. */
    int settled = settle_pending(c);
    if (settled != FT_OK && rc == FT_OK) {
        rc = settled;
        snprintf(why, sizeof why, "%s", ft_error_message());
    } else if (settled != FT_OK) {
        FT_LOG(FT_LOG_WARN, "%s", ft_error_message());
    }
    /* Stopped early but consistent (interrupted, a round that could not fill, a
     * client-side failure): keep the last complete round resumable. Not after an
     * I/O error: the disk is what failed. */
    if (rc != FT_OK && rc != FT_EIO && c->ckpt_round < c->rounds_done &&
        write_checkpoint(c) != FT_OK)
        FT_LOG(FT_LOG_WARN, "no resumable checkpoint: %s", ft_error_message());
    log_refusals(c);
    int saved = save_final(c, rc == FT_OK);
    if (saved != FT_OK && rc != FT_OK)
        FT_LOG(FT_LOG_WARN, "%s", ft_error_message());
    int summed = write_summary(c, rc == FT_OK);
    if (summed != FT_OK && rc != FT_OK)
        FT_LOG(FT_LOG_WARN, "%s", ft_error_message());
    if (saved == FT_OK)
        saved = summed;
    const char *reason = rc == FT_OK ? "complete" : rc == FT_EINTR ? "interrupted" : "failed";
    broadcast_shutdown(c, reason);
    ft_ev_begin(c->ev, rc == FT_OK ? "complete" : "stopped");
    ft_ev_int(c->ev, "rounds", c->rounds_done);
    ft_ev_str(c->ev, "reason", rc == FT_OK ? reason : why);
    ft_ev_end(c->ev);
    if (rc != FT_OK)
        ft_error_set(rc, "%s", why);
    else if (saved != FT_OK)
        rc = saved;
    return rc;
}
