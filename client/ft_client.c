/* ft_client: the client process loop. */
#include "ft_client.h"

#include "ft_alloc.h"
#include "ft_client_internal.h"
#include "ft_client_secagg.h"
#include "ft_curve.h"
#include "ft_error.h"
#include "ft_link.h"
#include "ft_local.h"
#include "ft_log.h"
#include "ft_ops.h"
#include "ft_scenario.h"
#include "ft_sha256.h"
#include "ft_timer.h"
#include "ft_wire.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

int ft_client_send(ft_client_proc_t *c, const ft_msg_t *m, const void *payload, ft_blob_t *blob)
{
    int rc = ft_link_send(c->sock, NULL, 0, m, payload, blob, NULL);
    c->last_tx = ft_now();
    return rc;
}

/* The update buffer, writable (ft_blob_writable: allocated once per process while
 * no send still reads it). A 37 MB vgg9 update copied into a fresh message for every
 * send cost ~9,000 page faults a send (docs/PERFORMANCE.md §3). NULL on OOM. */
float *ft_client_update_buffer(ft_client_proc_t *c)
{
    return ft_blob_writable(&c->delta, c->N * sizeof(float));
}

int ft_client_send_request(ft_client_proc_t *c)
{
    ft_msg_t req;
    ft_msg_init(&req, FT_MSG_REQUEST);
    req.u.request.process_id = c->process_id;
    return ft_client_send(c, &req, NULL, NULL);
}

double ft_client_silence_limit(const ft_client_proc_t *c)
{
    return 10 * c->heartbeat > 60 ? 10 * c->heartbeat : 60;
}

void ft_client_heartbeat(ft_client_proc_t *c)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_HEARTBEAT);
    m.u.heartbeat.process_id = c->process_id;
    m.u.heartbeat.round = c->busy_round;
    m.u.heartbeat.client_id = c->busy_client;
    m.u.heartbeat.busy = c->busy_round != 0;
    ft_client_send(c, &m, NULL, NULL);
}

void ft_client_send_error(ft_client_proc_t *c, int code, uint32_t round, uint32_t client,
                          const char *why)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_ERROR);
    m.u.error.code = code;
    m.u.error.round = round;
    m.u.error.client_id = client;
    snprintf(m.u.error.reason, sizeof m.u.error.reason, "%s", why);
    ft_client_send(c, &m, NULL, NULL);
    FT_LOG(FT_LOG_WARN, "%s", why);
}

/* Training hook: heartbeats while busy, rate-limited to one per period. */
static void after_step(void *user, int epoch, int batch, ft_model_t *m)
{
    (void)epoch;
    (void)batch;
    (void)m;
    ft_client_proc_t *c = user;
    ft_client_lanes_heartbeat(c->head ? c->head : c);
}

static int send_hello(ft_client_proc_t *c)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_HELLO);
    m.u.hello.pid = (uint32_t)getpid();
    gethostname(m.u.hello.host, sizeof m.u.hello.host - 1);
    m.u.hello.pool = c->o->pool;
    m.u.hello.clients = (uint32_t *)c->o->clients;
    m.u.hello.num_clients = c->o->pool ? 0 : c->o->num_clients;
    m.u.hello.threads = c->cfg ? (uint32_t)c->exp.run.threads : 1;
    return ft_client_send(c, &m, NULL, NULL);
}

/* A failed handshake is permanent (a refused key, CURVE on one side only, a wrong
 * server key): libzmq would retry forever, so give up with a message that says
 * which. FT_OK while nothing failed. */
int ft_client_check_handshake(ft_client_proc_t *c)
{
    for (;;) {
        zmq_msg_t head, addr;
        zmq_msg_init(&head);
        if (zmq_msg_recv(&head, c->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&head);
            return FT_OK;
        }
        zmq_msg_init(&addr);
        if (zmq_msg_more(&head))
            zmq_msg_recv(&addr, c->mon, 0);
        zmq_msg_close(&addr);
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&head) >= 6) {
            memcpy(&event, zmq_msg_data(&head), 2);
            memcpy(&value, (uint8_t *)zmq_msg_data(&head) + 2, 4);
        }
        zmq_msg_close(&head);
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && ++c->broken_handshakes >= 3)
            return ft_error_set(FT_ECRYPTO,
                                "the handshake with %s keeps failing (security.curve must be on "
                                "at both ends, with the coordinator's public key)",
                                c->o->connect);
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            return ft_error_set(FT_ECRYPTO,
                                "%s refused this client (ZAP status %u): is its public key in "
                                "the coordinator's security.authorized_clients?",
                                c->o->connect, (unsigned)value);
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
            if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
                return ft_error_set(FT_ECRYPTO,
                                    "handshake with %s failed: security mechanism mismatch "
                                    "(security.curve must be on at both ends)",
                                    c->o->connect);
            if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
                return ft_error_set(FT_ECRYPTO,
                                    "CURVE handshake with %s failed (is "
                                    "security.server_public_key the coordinator's key?)",
                                    c->o->connect);
            return ft_error_set(FT_ENET, "handshake with %s failed (protocol error 0x%x)",
                                c->o->connect, (unsigned)value);
        }
    }
}

/* Waits up to timeout_s for one message. FT_ETIMEOUT if none. */
static int wait_msg(ft_client_proc_t *c, double timeout_s, ft_link_in_t *in)
{
    double end = ft_now() + timeout_s;
    for (;;) {
        if (c->o->stop && *c->o->stop)
            return ft_error_set(FT_EINTR, "interrupted");
        int rc = ft_link_recv(c->sock, 0, &c->lim, in);
        if (rc == FT_OK) {
            c->last_rx = ft_now();
            return FT_OK;
        }
        if (rc == FT_EPROTO) {
            FT_LOG(FT_LOG_WARN, "rejected a message from the coordinator: %s", ft_error_message());
            c->last_rx = ft_now();
            continue;
        }
        if (rc != FT_ETIMEOUT && rc != FT_EINTR)
            return rc;
        if (c->mon && (rc = ft_client_check_handshake(c)) != FT_OK)
            return rc;
        double left = end - ft_now();
        if (left <= 0)
            return FT_ETIMEOUT;
        zmq_pollitem_t pi = {c->sock, 0, ZMQ_POLLIN, 0};
        long ms = (long)(left * 1000) + 1;
        zmq_poll(&pi, 1, ms < 100 ? ms : 100);
    }
}

/* The set-up of a process: ft_local_new on a thread of its own. */
typedef struct {
    const ft_experiment_t *exp; /* the experiment to set up */
    int root_set;               /* the server holds a root set */
    ft_local_t *local;          /* the result */
    int rc;                     /* its code */
    char message[1024];         /* its message (error state is per thread) */
    atomic_int done;            /* set when the thread is done */
} setup_job_t;

static void *setup_thread(void *arg)
{
    setup_job_t *job = arg;
    job->rc = ft_local_new(job->exp, job->root_set, &job->local);
    if (job->rc != FT_OK)
        snprintf(job->message, sizeof job->message, "%s", ft_error_message());
    atomic_store(&job->done, 1);
    return NULL;
}

/* Loads the data, partition, edge set and model (seconds for a large data set) while
 * this thread keeps sending heartbeats, so that the coordinator does not presume a
 * process that is still setting up dead. */
static int build_local(ft_client_proc_t *c)
{
    setup_job_t job = {.exp = &c->exp, .root_set = c->root_set};
    atomic_init(&job.done, 0);
    pthread_t thread;
    if (pthread_create(&thread, NULL, setup_thread, &job) != 0)
        return ft_local_new(&c->exp, c->root_set, &c->local); /* no thread: set up in line */
    while (!atomic_load(&job.done)) {
        usleep(10000);
        if (ft_now() - c->last_tx >= c->heartbeat)
            ft_client_heartbeat(c);
    }
    pthread_join(thread, NULL);
    c->local = job.local;
    return job.rc == FT_OK ? FT_OK : ft_error_set(job.rc, "%s", job.message);
}

/* Handles a Welcome: config, data, model, and the layout check. */
static int on_welcome(ft_client_proc_t *c, const ft_msg_welcome_t *w)
{
    c->process_id = w->process_id;
    ft_log_set_tag("client");
    if (c->local) { /* registered again after being presumed dead: same run */
        if (w->num_params != c->N || memcmp(w->layout_hash, ft_local_layout_hash(c->local), 32))
            return ft_error_set(FT_EPROTO, "the coordinator's model changed");
        return FT_OK;
    }
    c->cfg = ft_config_new();
    if (!c->cfg)
        return ft_error_set(FT_ENOMEM, "out of memory");
    int rc = ft_config_load_string(c->cfg, w->config_ini, "welcome message");
    if (rc == FT_OK && c->o->device)
        rc = ft_config_set_value(c->cfg, "run.device", c->o->device, "--device");
    if (rc == FT_OK)
        rc = ft_experiment_read(c->cfg, &c->exp);
    if (rc == FT_OK)
        rc = ft_scenario_check(&c->exp);
    if (rc != FT_OK)
        return rc;
    c->root_set = w->root_set;
    c->secagg_clip_norm = w->secagg_clip_norm;
    ft_ops_set_threads(c->exp.run.threads);
    c->heartbeat = c->exp.federation.heartbeat_s;
    ft_wire_limits_default(&c->lim, c->exp.run.max_message_mb);
    double t0 = ft_now();
    if ((rc = build_local(c)) != FT_OK)
        return rc;
    c->N = ft_local_num_params(c->local);
    if (w->num_params != c->N || memcmp(w->layout_hash, ft_local_layout_hash(c->local), 32)) {
        char a[65], b[65];
        ft_sha256_hex(w->layout_hash, a);
        ft_sha256_hex(ft_local_layout_hash(c->local), b);
        return ft_error_set(FT_EPROTO,
                            "model mismatch: coordinator N = %llu layout %.12s..., here N = %zu "
                            "layout %.12s... (different fedtail versions?)",
                            (unsigned long long)w->num_params, a, c->N, b);
    }
    c->global = ft_malloc_aligned(c->N * sizeof(float));
    if (!c->global || !ft_client_update_buffer(c))
        return ft_error_set(FT_ENOMEM, "out of memory");
    if (c->exp.security.secure_aggregation &&
        !(c->sa = ft_client_sa_new(c->N, &c->exp.security, c->secagg_clip_norm)))
        return ft_error_set(FT_ENOMEM, "out of memory for secure aggregation");
    FT_LOG(FT_LOG_INFO, "process %u ready: N = %zu, data loaded in %.1f s", c->process_id, c->N,
           ft_now() - t0);
    return FT_OK;
}

/* Handshake: Hello until Welcome. */
int ft_client_handshake(ft_client_proc_t *c, double timeout_s)
{
    int rc = send_hello(c);
    if (rc != FT_OK)
        return rc;
    double start = ft_now(), end = start + timeout_s;
    FT_LOG(FT_LOG_INFO, "waiting for the coordinator at %s (up to %.0f s)", c->o->connect,
           timeout_s);
    for (;;) {
        ft_link_in_t in;
        double left = end - ft_now();
        if (left <= 0)
            return ft_error_set(FT_ETIMEOUT, "no welcome from %s within %.0f s", c->o->connect,
                                timeout_s);
        rc = wait_msg(c, left < 15 ? left : 15, &in);
        if (rc == FT_ETIMEOUT) {
            if (end - ft_now() > 0)
                FT_LOG(FT_LOG_INFO, "still waiting for the coordinator at %s (%.0f of %.0f s)",
                       c->o->connect, ft_now() - start, timeout_s);
            continue;
        }
        if (rc != FT_OK)
            return rc;
        if (in.msg.type == FT_MSG_WELCOME) {
            rc = on_welcome(c, &in.msg.u.welcome);
            ft_link_in_clear(&in);
            if (rc != FT_OK) {
                char why[FT_WIRE_REASON_LEN];
                snprintf(why, sizeof why, "%s", ft_error_message());
                ft_client_send_error(c, rc, 0, 0, why);
                ft_error_set(rc, "%s", why);
            }
            return rc;
        }
        if (in.msg.type == FT_MSG_SHUTDOWN) {
            ft_link_in_clear(&in);
            return 1; /* run already over */
        }
        if (in.msg.type == FT_MSG_ERROR) {
            /* FT_EPROTO: the Hello itself was refused (client ids outside the run's
             * population): waiting cannot help. Others (the coordinator is full, a
             * stale "not registered") are worth a warning only. */
            FT_LOG(FT_LOG_WARN, "%s: %s", c->o->connect, in.msg.u.error.reason);
            if (in.msg.u.error.code == FT_EPROTO || c->refuse_ends_hello) {
                rc = ft_error_set(FT_EPROTO, "%s refused this process: %s", c->o->connect,
                                  in.msg.u.error.reason);
                ft_link_in_clear(&in);
                return rc;
            }
        }
        ft_link_in_clear(&in);
    }
}

static int serves(const ft_client_proc_t *c, uint32_t id)
{
    if (c->o->pool)
        return 1;
    for (size_t i = 0; i < c->o->num_clients; i++)
        if (c->o->clients[i] == id)
            return 1;
    return 0;
}

/* A test hook (tests/integration/fed_secagg.sh): FEDTAIL_SECAGG_KILL =
 * "ROUND:STAGE:PROCESS" makes process PROCESS SIGKILL itself right after the first
 * secure-aggregation message of stage STAGE (ft_sa_stage_t, e.g. 5 = masked) it sends
 * in round ROUND or later, so a test can drop a client at an exact point of the
 * protocol with a real kill. Unset in normal runs. */
static void maybe_die(const ft_client_proc_t *c, uint32_t round, uint32_t stage)
{
    const char *spec = getenv("FEDTAIL_SECAGG_KILL");
    unsigned r, s, p;
    if (spec && sscanf(spec, "%u:%u:%u", &r, &s, &p) == 3 && round >= r && s == stage &&
        p == c->process_id) {
        FT_LOG(FT_LOG_WARN, "FEDTAIL_SECAGG_KILL: process %u kills itself after %s in round %u", p,
               ft_sa_stage_name((int)stage), round);
        usleep(200000); /* let the message leave the socket */
        raise(SIGKILL);
    }
}

/* Secure aggregation: the task's answer is KEYS; the update stays here, encoded. */
static void send_keys(ft_client_proc_t *c, const ft_msg_task_t *t, const ft_local_result_t *res,
                      double prepare, float *delta)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_SECAGG);
    /* The clipping is self-enforced: the server cannot see an update to check it, so
     * an attacker simply does not clip (docs/security.md). */
    int rc = ft_client_sa_begin(c->sa, t->round, t->attempt, t->client_id, delta, res->num_samples,
                                t->round_samples, !t->attacker, &m.u.secagg);
    if (rc != FT_OK) {
        char why[FT_WIRE_REASON_LEN];
        snprintf(why, sizeof why, "round %u client %u: %s", t->round, t->client_id,
                 ft_error_message());
        ft_client_send_error(c, rc, t->round, t->client_id, why);
        return;
    }
    ft_msg_secagg_t *a = &m.u.secagg;
    a->process_id = c->process_id;
    a->train_loss = res->train_loss;
    a->train_s = res->train_s;
    a->prepare_s = prepare;
    a->num_params = c->N;
    memcpy(a->layout_hash, ft_local_layout_hash(c->local), 32);
    if (ft_client_send(c, &m, NULL, NULL) != FT_OK) {
        FT_LOG(FT_LOG_WARN, "sending the keys failed: %s", ft_error_message());
        return;
    }
    c->updates_sent++;
    if (t->round != c->last_round)
        c->rounds_served++;
    c->last_round = t->round;
    maybe_die(c, t->round, FT_SA_STAGE_KEYS);
}

/* A secure-aggregation stage from the coordinator. Returns 0 when answered (the
 * process's request stays held), 1 when the client left the round with an Error
 * (the process asks for work again: the coordinator took the Error as idleness). */
static int on_secagg(ft_client_proc_t *c, const ft_msg_secagg_t *in)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_SECAGG);
    const void *payload = NULL;
    size_t len = 0;
    int rc = c->sa ? ft_client_sa_handle(c->sa, in, &m.u.secagg, &payload, &len)
                   : ft_error_set(FT_EPROTO, "secure aggregation is off in this run");
    if (rc != FT_OK) {
        char why[FT_WIRE_REASON_LEN];
        snprintf(why, sizeof why, "%s", ft_error_message());
        ft_client_send_error(c, rc, in->round, in->client_id, why);
        return 1;
    }
    m.u.secagg.process_id = c->process_id;
    m.payload_len = len;
    if (ft_client_send(c, &m, payload, NULL) != FT_OK)
        FT_LOG(FT_LOG_WARN, "sending %s failed: %s", ft_sa_stage_name((int)m.u.secagg.stage),
               ft_error_message());
    maybe_die(c, in->round, m.u.secagg.stage);
    return 0;
}

/* Validates a task and takes its model: 0 when it can be trained, -1 when it was
 * answered with an Error. */
int ft_client_accept_task(ft_client_proc_t *c, ft_link_in_t *in)
{
    const ft_msg_task_t *t = &in->msg.u.task;
    char why[FT_WIRE_REASON_LEN];
    if (t->num_params != c->N) {
        snprintf(why, sizeof why, "task N = %llu, model here has N = %zu",
                 (unsigned long long)t->num_params, c->N);
        ft_client_send_error(c, FT_EPROTO, t->round, t->client_id, why);
        return -1;
    }
    if (!serves(c, t->client_id)) {
        snprintf(why, sizeof why, "client %u is not in this process's set", t->client_id);
        ft_client_send_error(c, FT_EINVAL, t->round, t->client_id, why);
        return -1;
    }
    if (t->has_model) {
        int rc = ft_wire_check_vector(ft_link_payload(in), ft_link_payload_len(in), c->N,
                                      t->model_digest);
        if (rc != FT_OK) {
            c->has_model = 0;
            snprintf(why, sizeof why, "global model: %s", ft_error_message());
            ft_client_send_error(c, rc, t->round, t->client_id, why);
            return -1;
        }
        ft_wire_get_floats(c->global, ft_link_payload(in), c->N);
        memcpy(c->model, t->model_digest, 32);
        c->has_model = 1;
    } else if (!c->has_model || memcmp(c->model, t->model_digest, 32) != 0) {
        snprintf(why, sizeof why, "task for round %u names a model this process does not hold",
                 t->round);
        ft_client_send_error(c, FT_ESTATE, t->round, t->client_id, why);
        return -1;
    }
    return 0;
}

ft_local_task_t ft_client_local_task(const ft_msg_task_t *t)
{
    return (ft_local_task_t){.round = t->round,
                             .client_id = t->client_id,
                             .lr = t->lr,
                             .attacker = t->attacker,
                             .round_samples = t->round_samples,
                             .round_attackers = t->round_attackers,
                             .attack_state = t->attack_state,
                             .attack_state_n = t->attack_state_n};
}

/* Trains an accepted task alone and answers it (t0: when it arrived). */
void ft_client_train_accepted(ft_client_proc_t *c, ft_link_in_t *in, double t0)
{
    const ft_msg_task_t *t = &in->msg.u.task;
    char why[FT_WIRE_REASON_LEN];
    ft_local_task_t task = ft_client_local_task(t);
    ft_local_result_t res;
    ft_train_hooks_t hooks = {.after_step = after_step, .user = c};
    c->busy_round = t->round;
    c->busy_client = t->client_id;
    double prepare = ft_now() - t0;
    float *delta = ft_client_update_buffer(c);
    if (!delta) {
        ft_client_send_error(c, FT_ENOMEM, t->round, t->client_id, "out of memory for the update");
        return;
    }
    int rc = ft_local_train(c->local, &task, c->global, delta, &hooks, &res);
    c->busy_round = 0;
    c->busy_client = 0;
    if (rc != FT_OK) {
        snprintf(why, sizeof why, "round %u client %u: %s", t->round, t->client_id,
                 ft_error_message());
        ft_client_send_error(c, rc, t->round, t->client_id, why);
        return;
    }
    if (c->sa) {
        send_keys(c, t, &res, prepare, delta);
        return;
    }
    ft_client_send_update(c, t, &res, prepare, delta);
}

static void on_task(ft_client_proc_t *c, ft_link_in_t *in)
{
    double t0 = ft_now();
    if (ft_client_accept_task(c, in) == 0)
        ft_client_train_accepted(c, in, t0);
}

/* The Update of task t: delta (the lane's update buffer) with its digest. */
void ft_client_send_update(ft_client_proc_t *c, const ft_msg_task_t *t,
                           const ft_local_result_t *res, double prepare, float *delta)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_UPDATE);
    m.u.update.round = t->round;
    m.u.update.client_id = t->client_id;
    m.u.update.process_id = c->process_id;
    m.u.update.attempt = t->attempt;
    m.u.update.num_samples = res->num_samples;
    m.u.update.train_loss = res->train_loss;
    m.u.update.num_params = c->N;
    memcpy(m.u.update.layout_hash, ft_local_layout_hash(c->local), 32);
    m.u.update.train_s = res->train_s;
    m.u.update.prepare_s = prepare;
    m.u.update.attack_state = (float *)res->attack_state; /* aliased for packing */
    m.u.update.attack_state_n = res->attack_state_n;
    ft_wire_digest_floats(delta, c->N, m.u.update.digest);
    m.payload_len = c->N * 4;
    if (ft_client_send(c, &m, NULL, c->delta) != FT_OK) {
        FT_LOG(FT_LOG_WARN, "sending the update failed: %s", ft_error_message());
        return;
    }
    c->updates_sent++;
    if (t->round != c->last_round)
        c->rounds_served++;
    c->last_round = t->round;
}

static int serve(ft_client_proc_t *c)
{
    const double silence_limit = ft_client_silence_limit(c);
    for (;;) {
        int rc = ft_client_send_request(c);
        if (rc != FT_OK)
            return rc;
        int said_waiting = 0; /* the operator was told what this process waits for */
        for (;;) {            /* wait for an answer to the request */
            ft_link_in_t in;
            rc = wait_msg(c, c->heartbeat, &in);
            if (rc == FT_ETIMEOUT) {
                if (ft_now() - c->last_rx > silence_limit)
                    return ft_error_set(FT_ETIMEOUT, "the coordinator has been silent for %.0f s",
                                        ft_now() - c->last_rx);
                /* A held request is normal between rounds: say so once per wait. */
                if (!said_waiting++) {
                    int rounds = c->exp.federation.rounds;
                    if (c->last_round && (int)c->last_round >= rounds)
                        FT_LOG(FT_LOG_INFO,
                               "waiting for a task from %s: round %u of %d done here, waiting "
                               "for the run to end",
                               c->o->connect, c->last_round, rounds);
                    else if (c->last_round)
                        FT_LOG(FT_LOG_INFO,
                               "waiting for a task from %s: round %u of %d done here, waiting "
                               "for round %u or another task",
                               c->o->connect, c->last_round, rounds, c->last_round + 1);
                    else
                        FT_LOG(FT_LOG_INFO, "waiting for a task from %s (none yet)", c->o->connect);
                }
                ft_client_heartbeat(c);
                continue;
            }
            if (rc != FT_OK)
                return rc;
            ft_msg_type_t type = in.msg.type;
            if (type == FT_MSG_TASK) {
                on_task(c, &in);
                ft_link_in_clear(&in);
                break;
            }
            if (type == FT_MSG_SECAGG) {
                int again = on_secagg(c, &in.msg.u.secagg);
                ft_link_in_clear(&in);
                if (again)
                    break;
                continue;
            }
            if (type == FT_MSG_SHUTDOWN) {
                FT_LOG(FT_LOG_INFO, "shutdown: %s", in.msg.u.shutdown.reason);
                ft_link_in_clear(&in);
                return FT_OK;
            }
            if (type == FT_MSG_ERROR) {
                int code = in.msg.u.error.code;
                FT_LOG(FT_LOG_WARN, "coordinator: %s", in.msg.u.error.reason);
                ft_link_in_clear(&in);
                if (code == FT_ESTATE) { /* presumed dead: register again */
                    rc = ft_client_handshake(c, c->o->connect_timeout_s);
                    if (rc == 1)
                        return FT_OK;
                    if (rc != FT_OK)
                        return rc;
                }
                break;
            }
            ft_link_in_clear(&in); /* heartbeat echo, stray welcome */
        }
    }
}

/* security.curve (from the command line: the keys are needed before the
 * coordinator's config arrives): this client's keypair and the coordinator's
 * public key, set on the socket before it connects. */
static int setup_curve(ft_client_proc_t *c)
{
    const ft_security_cfg_t *sec_cfg = c->o->security;
    const ft_config_t *cfg = sec_cfg->src;
    if (!ft_curve_available())
        return ft_config_error(cfg, "security.curve",
                               "this libzmq was built without CURVE (libsodium)");
    const char *server = sec_cfg->server_public_key;
    const char *secret = sec_cfg->client_secret_key;
    if (!server[0])
        return ft_config_error(cfg, "security.server_public_key",
                               "must name the coordinator's public key file when "
                               "security.curve is on");
    if (!secret[0])
        return ft_config_error(cfg, "security.client_secret_key",
                               "must name this client's secret key file when security.curve "
                               "is on (fedtail keygen)");
    uint8_t server_pub[FT_CURVE_KEY_LEN], pub[FT_CURVE_KEY_LEN], sec[FT_CURVE_KEY_LEN];
    int rc;
    if ((rc = ft_curve_load_public(server, server_pub)) != FT_OK ||
        (rc = ft_curve_load_keypair(sec_cfg->client_public_key, secret, pub, sec)) != FT_OK ||
        (rc = ft_curve_client_setup(c->sock, server_pub, pub, sec)) != FT_OK)
        return rc;
    return FT_OK;
}

/* Creates c's DEALER socket on c->zctx (options, CURVE, handshake monitor) and
 * connects it. FT_ENET or a key error with a message. */
int ft_client_open_socket(ft_client_proc_t *c)
{
    const ft_client_opts_t *o = c->o;
    int rc;
    c->sock = c->zctx ? zmq_socket(c->zctx, ZMQ_DEALER) : NULL;
    if (!c->sock)
        return ft_error_set(FT_ENET, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
    int linger = 2000;
    int64_t maxmsg = (int64_t)c->lim.max_payload + (1 << 20);
    if (zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0)
        return ft_error_set(FT_ENET, "socket options: %s", zmq_strerror(errno));
    if (o->security && o->security->curve && (rc = setup_curve(c)) != FT_OK)
        return rc;
    /* Watch the handshake: a refusal should end this process with a reason, not
     * leave it retrying until --wait runs out. */
    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, "inproc://fedtail-client-mon-%p", (void *)c);
    if (zmq_socket_monitor(c->sock, mon_ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0) {
        c->mon = zmq_socket(c->zctx, ZMQ_PAIR);
        if (c->mon && zmq_connect(c->mon, mon_ep) != 0) {
            zmq_close(c->mon);
            c->mon = NULL;
        }
    }
    if (zmq_connect(c->sock, o->connect) != 0)
        return ft_error_set(FT_ENET, "cannot connect to %s: %s", o->connect, zmq_strerror(errno));
    c->last_rx = ft_now();
    return FT_OK;
}

void ft_client_close_socket(ft_client_proc_t *c)
{
    if (c->mon) {
        /* stop the monitor and read what it sent: libzmq 4.3 leaks a monitor message
         * left queued at shutdown */
        zmq_socket_monitor(c->sock, NULL, 0);
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, c->mon, ZMQ_DONTWAIT) >= 0)
            ;
        zmq_msg_close(&m);
        int zero = 0;
        zmq_setsockopt(c->mon, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(c->mon);
        c->mon = NULL;
    }
    if (c->sock)
        zmq_close(c->sock);
    c->sock = NULL;
}

int ft_client_run(const ft_client_opts_t *o)
{
    ft_client_proc_t c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.heartbeat = 2;
    c.started = ft_now();
    ft_wire_limits_default(&c.lim, o->max_message_mb > 0 ? o->max_message_mb : 1024);
    int rc;
    c.zctx = zmq_ctx_new();
    if ((rc = ft_client_open_socket(&c)) != FT_OK)
        goto done;
    rc = ft_client_handshake(&c, o->connect_timeout_s);
    if (rc == 1) {
        rc = FT_OK;
        goto done;
    }
    if (rc == FT_OK && (rc = ft_client_open_lanes(&c)) == 1) {
        rc = FT_OK;
        goto done;
    }
    if (rc == FT_OK)
        rc = c.num_lanes ? ft_client_serve_batch(&c) : serve(&c);
done:;
    char why[FT_WIRE_REASON_LEN];
    snprintf(why, sizeof why, "%s", ft_error_message());
    if (c.process_id || c.updates_sent)
        FT_LOG(FT_LOG_INFO, "process %u done: %u rounds served, %u updates sent, %.1f s (%s)",
               c.process_id, c.rounds_served, c.updates_sent, ft_now() - c.started,
               rc == FT_OK ? "the run is over" : why);
    ft_client_close_lanes(&c);
    ft_link_in_clear(&c.task_in);
    ft_client_close_socket(&c);
    ft_link_ctx_term(c.zctx);
    ft_local_destroy(&c.local);
    ft_config_destroy(&c.cfg);
    ft_free_aligned(c.global);
    ft_blob_release(&c.delta);
    ft_client_sa_destroy(&c.sa);
    if (rc != FT_OK)
        ft_error_set(rc, "%s", why);
    return rc;
}
