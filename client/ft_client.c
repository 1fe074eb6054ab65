/* ft_client: the client process loop. */
#include "ft_client.h"

#include "ft_alloc.h"
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

/* A process serving several tasks at once (--batch-clients K, run.batch_clients)
 * registers K times: lane 0 is the process's first registration and owns the data
 * and model; lanes 1..K-1 are further DEALER sockets of the same process, each one
 * more registered process to the coordinator, which therefore hands this process up
 * to K tasks of a round without knowing (the protocol is unchanged). Each lane
 * holds its own request, model copy and update buffer. */
typedef struct client client_t;

struct client {
    const ft_client_opts_t *o; /* options */
    void *zctx;                /* ZeroMQ context */
    void *sock;                /* DEALER socket */
    void *mon;                 /* PAIR: handshake events of sock (zmq_socket_monitor) */
    int broken_handshakes;     /* handshakes the peer broke off without a reason */
    ft_wire_limits_t lim;      /* receive bounds */
    ft_config_t *cfg;          /* the coordinator's config */
    ft_experiment_t exp;       /* cfg read into its sections (valid once cfg is set) */
    int root_set;              /* the Welcome says the server holds a root set */
    ft_local_t *local;         /* data, partition, model */
    uint32_t process_id;       /* assigned in Welcome */
    size_t N;                  /* parameters */
    float *global;             /* N: the global model held */
    ft_blob_t *delta;          /* N floats: the update, sent zero-copy from here */
    int has_model;             /* global holds the model with digest model */
    uint8_t model[32];         /* its digest */
    double heartbeat;          /* heartbeat period */
    double last_tx;            /* last message sent */
    double last_rx;            /* last message received */
    uint32_t busy_round;       /* task in progress (0: idle) */
    uint32_t busy_client;      /* its client */
    double started;            /* when the process started, for the closing line */
    uint32_t last_round;       /* round of the last task (0: none yet) */
    unsigned rounds_served;    /* rounds this process trained in */
    unsigned updates_sent;     /* updates sent */
    ft_client_sa_t *sa;        /* secure aggregation's held clients (NULL: off) */
    double secagg_clip_norm;   /* the Welcome's client-side clip (0: none) */
    client_t *lanes;           /* lane 0: lanes[0..num_lanes) are the others (NULL: none) */
    int num_lanes;             /* lane 0: further lanes */
    int requested;             /* batched serving: this lane's request is held */
    int pending;               /* batched serving: task_in holds an accepted task */
    ft_link_in_t task_in;      /* that task (its attack state and payload live here) */
    double task_t0;            /* when it arrived */
    client_t *head;            /* lanes 1..K-1: lane 0 (NULL on lane 0) */
    int said_attackers;        /* lane 0: the attacker fallback was logged */
};

static void lanes_heartbeat(client_t *c);

static int send_msg(client_t *c, const ft_msg_t *m, const void *payload, ft_blob_t *blob)
{
    int rc = ft_link_send(c->sock, NULL, 0, m, payload, blob, NULL);
    c->last_tx = ft_now();
    return rc;
}

/* The update buffer, writable (ft_blob_writable: allocated once per process while
 * no send still reads it). A 37 MB vgg9 update copied into a fresh message for every
 * send cost ~9,000 page faults a send (docs/PERFORMANCE.md §3). NULL on OOM. */
static float *update_buffer(client_t *c)
{
    return ft_blob_writable(&c->delta, c->N * sizeof(float));
}

static void send_heartbeat(client_t *c)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_HEARTBEAT);
    m.u.heartbeat.process_id = c->process_id;
    m.u.heartbeat.round = c->busy_round;
    m.u.heartbeat.client_id = c->busy_client;
    m.u.heartbeat.busy = c->busy_round != 0;
    send_msg(c, &m, NULL, NULL);
}

static void send_error(client_t *c, int code, uint32_t round, uint32_t client, const char *why)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_ERROR);
    m.u.error.code = code;
    m.u.error.round = round;
    m.u.error.client_id = client;
    snprintf(m.u.error.reason, sizeof m.u.error.reason, "%s", why);
    send_msg(c, &m, NULL, NULL);
    FT_LOG(FT_LOG_WARN, "%s", why);
}

/* Training hook: heartbeats while busy, rate-limited to one per period. */
static void after_step(void *user, int epoch, int batch, ft_model_t *m)
{
    (void)epoch;
    (void)batch;
    (void)m;
    client_t *c = user;
    lanes_heartbeat(c->head ? c->head : c);
}

static int send_hello(client_t *c)
{
    ft_msg_t m;
    ft_msg_init(&m, FT_MSG_HELLO);
    m.u.hello.pid = (uint32_t)getpid();
    gethostname(m.u.hello.host, sizeof m.u.hello.host - 1);
    m.u.hello.pool = c->o->pool;
    m.u.hello.clients = (uint32_t *)c->o->clients;
    m.u.hello.num_clients = c->o->pool ? 0 : c->o->num_clients;
    m.u.hello.threads = c->cfg ? (uint32_t)c->exp.run.threads : 1;
    return send_msg(c, &m, NULL, NULL);
}

/* A failed handshake is permanent (a refused key, CURVE on one side only, a wrong
 * server key): libzmq would retry forever, so give up with a message that says
 * which. FT_OK while nothing failed. */
static int check_handshake(client_t *c)
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
static int wait_msg(client_t *c, double timeout_s, ft_link_in_t *in)
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
        if (c->mon && (rc = check_handshake(c)) != FT_OK)
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
static int build_local(client_t *c)
{
    setup_job_t job = {.exp = &c->exp, .root_set = c->root_set};
    atomic_init(&job.done, 0);
    pthread_t thread;
    if (pthread_create(&thread, NULL, setup_thread, &job) != 0)
        return ft_local_new(&c->exp, c->root_set, &c->local); /* no thread: set up in line */
    while (!atomic_load(&job.done)) {
        usleep(10000);
        if (ft_now() - c->last_tx >= c->heartbeat)
            send_heartbeat(c);
    }
    pthread_join(thread, NULL);
    c->local = job.local;
    return job.rc == FT_OK ? FT_OK : ft_error_set(job.rc, "%s", job.message);
}

/* Handles a Welcome: config, data, model, and the layout check. */
static int on_welcome(client_t *c, const ft_msg_welcome_t *w)
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
    if (!c->global || !update_buffer(c))
        return ft_error_set(FT_ENOMEM, "out of memory");
    if (c->exp.security.secure_aggregation &&
        !(c->sa = ft_client_sa_new(c->N, &c->exp.security, c->secagg_clip_norm)))
        return ft_error_set(FT_ENOMEM, "out of memory for secure aggregation");
    FT_LOG(FT_LOG_INFO, "process %u ready: N = %zu, data loaded in %.1f s", c->process_id, c->N,
           ft_now() - t0);
    return FT_OK;
}

/* Handshake: Hello until Welcome. */
static int handshake(client_t *c, double timeout_s)
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
                send_error(c, rc, 0, 0, why);
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
            if (in.msg.u.error.code == FT_EPROTO) {
                rc = ft_error_set(FT_EPROTO, "%s refused this process: %s", c->o->connect,
                                  in.msg.u.error.reason);
                ft_link_in_clear(&in);
                return rc;
            }
        }
        ft_link_in_clear(&in);
    }
}

static int serves(const client_t *c, uint32_t id)
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
static void maybe_die(const client_t *c, uint32_t round, uint32_t stage)
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
static void send_keys(client_t *c, const ft_msg_task_t *t, const ft_local_result_t *res,
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
        send_error(c, rc, t->round, t->client_id, why);
        return;
    }
    ft_msg_secagg_t *a = &m.u.secagg;
    a->process_id = c->process_id;
    a->train_loss = res->train_loss;
    a->train_s = res->train_s;
    a->prepare_s = prepare;
    a->num_params = c->N;
    memcpy(a->layout_hash, ft_local_layout_hash(c->local), 32);
    if (send_msg(c, &m, NULL, NULL) != FT_OK) {
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
static int on_secagg(client_t *c, const ft_msg_secagg_t *in)
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
        send_error(c, rc, in->round, in->client_id, why);
        return 1;
    }
    m.u.secagg.process_id = c->process_id;
    m.payload_len = len;
    if (send_msg(c, &m, payload, NULL) != FT_OK)
        FT_LOG(FT_LOG_WARN, "sending %s failed: %s", ft_sa_stage_name((int)m.u.secagg.stage),
               ft_error_message());
    maybe_die(c, in->round, m.u.secagg.stage);
    return 0;
}

/* Validates a task and takes its model: 0 when it can be trained, -1 when it was
 * answered with an Error. */
static int accept_task(client_t *c, ft_link_in_t *in)
{
    const ft_msg_task_t *t = &in->msg.u.task;
    char why[FT_WIRE_REASON_LEN];
    if (t->num_params != c->N) {
        snprintf(why, sizeof why, "task N = %llu, model here has N = %zu",
                 (unsigned long long)t->num_params, c->N);
        send_error(c, FT_EPROTO, t->round, t->client_id, why);
        return -1;
    }
    if (!serves(c, t->client_id)) {
        snprintf(why, sizeof why, "client %u is not in this process's set", t->client_id);
        send_error(c, FT_EINVAL, t->round, t->client_id, why);
        return -1;
    }
    if (t->has_model) {
        int rc = ft_wire_check_vector(ft_link_payload(in), ft_link_payload_len(in), c->N,
                                      t->model_digest);
        if (rc != FT_OK) {
            c->has_model = 0;
            snprintf(why, sizeof why, "global model: %s", ft_error_message());
            send_error(c, rc, t->round, t->client_id, why);
            return -1;
        }
        ft_wire_get_floats(c->global, ft_link_payload(in), c->N);
        memcpy(c->model, t->model_digest, 32);
        c->has_model = 1;
    } else if (!c->has_model || memcmp(c->model, t->model_digest, 32) != 0) {
        snprintf(why, sizeof why, "task for round %u names a model this process does not hold",
                 t->round);
        send_error(c, FT_ESTATE, t->round, t->client_id, why);
        return -1;
    }
    return 0;
}

static ft_local_task_t local_task(const ft_msg_task_t *t)
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

static void send_update(client_t *c, const ft_msg_task_t *t, const ft_local_result_t *res,
                        double prepare, float *delta);

/* Trains an accepted task alone and answers it (t0: when it arrived). */
static void train_accepted(client_t *c, ft_link_in_t *in, double t0)
{
    const ft_msg_task_t *t = &in->msg.u.task;
    char why[FT_WIRE_REASON_LEN];
    ft_local_task_t task = local_task(t);
    ft_local_result_t res;
    ft_train_hooks_t hooks = {.after_step = after_step, .user = c};
    c->busy_round = t->round;
    c->busy_client = t->client_id;
    double prepare = ft_now() - t0;
    float *delta = update_buffer(c);
    if (!delta) {
        send_error(c, FT_ENOMEM, t->round, t->client_id, "out of memory for the update");
        return;
    }
    int rc = ft_local_train(c->local, &task, c->global, delta, &hooks, &res);
    c->busy_round = 0;
    c->busy_client = 0;
    if (rc != FT_OK) {
        snprintf(why, sizeof why, "round %u client %u: %s", t->round, t->client_id,
                 ft_error_message());
        send_error(c, rc, t->round, t->client_id, why);
        return;
    }
    if (c->sa) {
        send_keys(c, t, &res, prepare, delta);
        return;
    }
    send_update(c, t, &res, prepare, delta);
}

static void on_task(client_t *c, ft_link_in_t *in)
{
    double t0 = ft_now();
    if (accept_task(c, in) == 0)
        train_accepted(c, in, t0);
}

/* The Update of task t: delta (the lane's update buffer) with its digest. */
static void send_update(client_t *c, const ft_msg_task_t *t, const ft_local_result_t *res,
                        double prepare, float *delta)
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
    if (send_msg(c, &m, NULL, c->delta) != FT_OK) {
        FT_LOG(FT_LOG_WARN, "sending the update failed: %s", ft_error_message());
        return;
    }
    c->updates_sent++;
    if (t->round != c->last_round)
        c->rounds_served++;
    c->last_round = t->round;
}

static int serve(client_t *c)
{
    double silence_limit = 10 * c->heartbeat > 60 ? 10 * c->heartbeat : 60;
    for (;;) {
        ft_msg_t req;
        ft_msg_init(&req, FT_MSG_REQUEST);
        req.u.request.process_id = c->process_id;
        int rc = send_msg(c, &req, NULL, NULL);
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
                send_heartbeat(c);
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
                    rc = handshake(c, c->o->connect_timeout_s);
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

/* ---- batched serving (several lanes, see client_t) -------------------------------- */

/* How long to wait for more tasks once one is in: a round's tasks for this
 * process's waiting lanes leave the coordinator in one dispatch pass. */
#define GATHER_S 0.02

static client_t *lane_at(client_t *c, int i)
{
    return i == 0 ? c : &c->lanes[i - 1];
}

/* Heartbeats on every lane of c's process whose last message is a period old. */
static void lanes_heartbeat(client_t *c)
{
    for (int i = 0; i <= c->num_lanes; i++) {
        client_t *ln = lane_at(c, i);
        if (ft_now() - ln->last_tx >= ln->heartbeat)
            send_heartbeat(ln);
    }
}

static void batch_tick(void *user)
{
    lanes_heartbeat(user);
}

static void drop_pending(client_t *ln)
{
    ft_link_in_clear(&ln->task_in);
    ln->pending = 0;
    ln->busy_round = ln->busy_client = 0;
}

/* Trains every lane's pending task: the honest ones of one model together, the
 * rest (attackers, a lone task) one by one, then answers each on its lane. */
static void train_pending(client_t *c)
{
    client_t *batch[FT_CLIENT_MAX_BATCH];
    ft_local_task_t tasks[FT_CLIENT_MAX_BATCH];
    float *deltas[FT_CLIENT_MAX_BATCH];
    ft_local_result_t res[FT_CLIENT_MAX_BATCH];
    int m = 0;
    for (int i = 0; i <= c->num_lanes; i++) {
        client_t *ln = lane_at(c, i);
        if (!ln->pending)
            continue;
        const ft_msg_task_t *t = &ln->task_in.msg.u.task;
        if (t->attacker) {
            if (!c->said_attackers++)
                FT_LOG(FT_LOG_INFO, "batched clients: attacker tasks train one at a time");
        } else if (m == 0 || memcmp(batch[0]->model, ln->model, 32) == 0) {
            batch[m++] = ln;
            continue;
        }
        train_accepted(ln, &ln->task_in, ln->task_t0);
        drop_pending(ln);
    }
    if (m == 1) {
        train_accepted(batch[0], &batch[0]->task_in, batch[0]->task_t0);
        drop_pending(batch[0]);
        m = 0;
    }
    if (m == 0)
        return;
    double now = ft_now();
    int rc = FT_OK;
    for (int j = 0; j < m; j++) {
        const ft_msg_task_t *t = &batch[j]->task_in.msg.u.task;
        tasks[j] = local_task(t);
        batch[j]->busy_round = t->round;
        batch[j]->busy_client = t->client_id;
        if (!(deltas[j] = update_buffer(batch[j])))
            rc = ft_error_set(FT_ENOMEM, "out of memory for the update");
    }
    if (rc == FT_OK)
        rc = ft_local_train_batch(c->local, tasks, m, batch[0]->global, deltas, batch_tick, c, res);
    char why[FT_WIRE_REASON_LEN];
    if (rc != FT_OK)
        snprintf(why, sizeof why, "round %u, %d batched tasks: %s", tasks[0].round, m,
                 ft_error_message());
    for (int j = 0; j < m; j++) {
        const ft_msg_task_t *t = &batch[j]->task_in.msg.u.task;
        batch[j]->busy_round = batch[j]->busy_client = 0;
        if (rc != FT_OK)
            send_error(batch[j], rc, t->round, t->client_id, why);
        else
            send_update(batch[j], t, &res[j], now - batch[j]->task_t0, deltas[j]);
        drop_pending(batch[j]);
    }
}

/* One message on lane ln. Returns 1 when the process is to stop (*rc says how),
 * else 0; *task is set when it brought a task. */
static int lane_message(client_t *ln, ft_link_in_t *in, int *task, int *rc)
{
    ft_msg_type_t type = in->msg.type;
    if (type == FT_MSG_TASK) {
        ln->requested = 0; /* the request is answered, whatever the task holds */
        if (!ln->pending && accept_task(ln, in) == 0) {
            ln->task_in = *in; /* kept until trained: the task points into it */
            ln->pending = 1;
            ln->task_t0 = ft_now();
            *task = 1;
            return 0;
        }
    } else if (type == FT_MSG_SHUTDOWN) {
        FT_LOG(FT_LOG_INFO, "shutdown: %s", in->msg.u.shutdown.reason);
        *rc = FT_OK;
        ft_link_in_clear(in);
        return 1;
    } else if (type == FT_MSG_ERROR) {
        int code = in->msg.u.error.code;
        FT_LOG(FT_LOG_WARN, "coordinator: %s", in->msg.u.error.reason);
        ln->requested = 0;
        if (code == FT_ESTATE) { /* presumed dead: register again */
            ft_link_in_clear(in);
            int h = handshake(ln, ln->o->connect_timeout_s);
            if (h == 1 || h != FT_OK) {
                *rc = h == 1 ? FT_OK : h;
                return 1;
            }
            return 0;
        }
    }
    ft_link_in_clear(in); /* heartbeat echo, stray welcome */
    return 0;
}

/* serve() for a process with lanes: each lane holds a request; the tasks that come
 * in together are trained together (train_pending). */
static int serve_batch(client_t *c)
{
    const int n = c->num_lanes + 1;
    double silence_limit = 10 * c->heartbeat > 60 ? 10 * c->heartbeat : 60;
    zmq_pollitem_t items[FT_CLIENT_MAX_BATCH];
    for (;;) {
        int pending = 0;
        for (int i = 0; i < n; i++) {
            client_t *ln = lane_at(c, i);
            if (!ln->requested && !ln->pending) {
                ft_msg_t req;
                ft_msg_init(&req, FT_MSG_REQUEST);
                req.u.request.process_id = ln->process_id;
                int rc = send_msg(ln, &req, NULL, NULL);
                if (rc != FT_OK)
                    return rc;
                ln->requested = 1;
            }
            pending += ln->pending;
            items[i] = (zmq_pollitem_t){ln->sock, 0, ZMQ_POLLIN, 0};
        }
        double wait = pending ? GATHER_S : c->heartbeat < 0.1 ? c->heartbeat : 0.1;
        zmq_poll(items, n, (long)(wait * 1000) + 1);
        int got_task = 0;
        for (int i = 0; i < n; i++) {
            client_t *ln = lane_at(c, i);
            for (;;) {
                ft_link_in_t in;
                int rc = ft_link_recv(ln->sock, 0, &ln->lim, &in);
                if (rc == FT_ETIMEOUT || rc == FT_EINTR)
                    break;
                ln->last_rx = ft_now();
                if (rc == FT_EPROTO) {
                    FT_LOG(FT_LOG_WARN, "rejected a message from the coordinator: %s",
                           ft_error_message());
                    continue;
                }
                if (rc != FT_OK)
                    return rc;
                int stop_rc = FT_OK;
                if (lane_message(ln, &in, &got_task, &stop_rc))
                    return stop_rc;
            }
            if (ln->mon) {
                int rc = check_handshake(ln);
                if (rc != FT_OK)
                    return rc;
            }
        }
        if (c->o->stop && *c->o->stop)
            return ft_error_set(FT_EINTR, "interrupted");
        double last_rx = 0;
        pending = 0;
        for (int i = 0; i < n; i++) {
            client_t *ln = lane_at(c, i);
            last_rx = ln->last_rx > last_rx ? ln->last_rx : last_rx;
            pending += ln->pending;
        }
        if (ft_now() - last_rx > silence_limit)
            return ft_error_set(FT_ETIMEOUT, "the coordinator has been silent for %.0f s",
                                ft_now() - last_rx);
        lanes_heartbeat(c);
        if (pending && (pending == n || !got_task))
            train_pending(c);
    }
}

/* security.curve (from the command line: the keys are needed before the
 * coordinator's config arrives): this client's keypair and the coordinator's
 * public key, set on the socket before it connects. */
static int setup_curve(client_t *c)
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
static int open_socket(client_t *c)
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

static void close_socket(client_t *c)
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

/* --batch-clients / run.batch_clients: how many tasks to train at once, cut to 1
 * (with the reason logged) where batching cannot be used. */
static int batch_size_wanted(const client_t *c)
{
    int k = c->o->batch_clients > 0 ? c->o->batch_clients : c->exp.run.batch_clients;
    if (k <= 1)
        return 1;
    if (!ft_local_can_batch(c->local)) {
        FT_LOG(FT_LOG_INFO,
               "batched clients: model %s cannot be batched; training one task at a "
               "time",
               c->exp.model.name);
        return 1;
    }
    if (c->sa) {
        FT_LOG(FT_LOG_INFO, "batched clients: not with secure aggregation; training one task at "
                            "a time");
        return 1;
    }
    return k;
}

/* Registers the further lanes of a batching process (see client_t). */
static int open_lanes(client_t *c, int k)
{
    if (!(c->lanes = ft_calloc((size_t)(k - 1), sizeof *c->lanes)))
        return ft_error_set(FT_ENOMEM, "out of memory");
    for (int i = 0; i < k - 1; i++) {
        client_t *ln = &c->lanes[i];
        *ln = *c; /* the run's config, data and model: lane 0's (borrowed) */
        ln->lanes = NULL;
        ln->num_lanes = 0;
        ln->sock = ln->mon = NULL;
        ln->process_id = 0;
        ln->has_model = 0;
        ln->delta = NULL;
        ln->sa = NULL;
        ln->updates_sent = ln->rounds_served = ln->last_round = 0;
        ln->head = c;
        ln->global = ft_malloc_aligned(c->N * sizeof(float));
        c->num_lanes = i + 1;
        if (!ln->global || !update_buffer(ln))
            return ft_error_set(FT_ENOMEM, "out of memory");
        int rc = open_socket(ln);
        if (rc == FT_OK)
            rc = handshake(ln, c->o->connect_timeout_s);
        if (rc == 1)
            return 1;
        if (rc != FT_OK)
            return rc;
    }
    FT_LOG(FT_LOG_INFO, "batched clients: up to %d tasks at once (processes %u..%u)", k,
           c->process_id, c->lanes[k - 2].process_id);
    return FT_OK;
}

int ft_client_run(const ft_client_opts_t *o)
{
    client_t c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.heartbeat = 2;
    c.started = ft_now();
    ft_wire_limits_default(&c.lim, o->max_message_mb > 0 ? o->max_message_mb : 1024);
    int rc;
    c.zctx = zmq_ctx_new();
    if ((rc = open_socket(&c)) != FT_OK)
        goto done;
    rc = handshake(&c, o->connect_timeout_s);
    if (rc == 1) {
        rc = FT_OK;
        goto done;
    }
    if (rc == FT_OK) {
        int k = batch_size_wanted(&c);
        if (k > 1 && (rc = open_lanes(&c, k)) == 1) {
            rc = FT_OK;
            goto done;
        }
    }
    if (rc == FT_OK)
        rc = c.num_lanes ? serve_batch(&c) : serve(&c);
done:;
    char why[FT_WIRE_REASON_LEN];
    snprintf(why, sizeof why, "%s", ft_error_message());
    if (c.process_id || c.updates_sent)
        FT_LOG(FT_LOG_INFO, "process %u done: %u rounds served, %u updates sent, %.1f s (%s)",
               c.process_id, c.rounds_served, c.updates_sent, ft_now() - c.started,
               rc == FT_OK ? "the run is over" : why);
    for (int i = 0; i < c.num_lanes; i++) {
        client_t *ln = &c.lanes[i];
        close_socket(ln);
        ft_link_in_clear(&ln->task_in);
        ft_free_aligned(ln->global);
        ft_blob_release(&ln->delta);
    }
    ft_free(c.lanes);
    ft_link_in_clear(&c.task_in);
    close_socket(&c);
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
