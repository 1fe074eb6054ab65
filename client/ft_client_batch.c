/* ft_client_batch: a client process that trains several tasks of a round at once
 * (run.batch_clients / fedtail client --batch-clients K; docs/gpu.md, "Batched
 * clients").
 *
 * The wire protocol gives a process one task per Request, and the coordinator must
 * not need to know about batching. So the process registers K times: lane 0 is its
 * first registration (ft_client.c), lanes 1..K-1 further DEALER sockets with their
 * own Hello/Welcome, model copy and update buffer. Every idle lane holds a Request;
 * the tasks a dispatch pass hands out together arrive within milliseconds and are
 * gathered for GATHER_S after the last one, then the honest tasks of one global
 * model train together (ft_local_train_batch: the same updates as one by one) and
 * the rest — attackers, whose steps attacks constrain — one by one. Heartbeats go
 * out on every lane while any trains. */
#include "ft_client_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_log.h"
#include "ft_timer.h"

#include <string.h>
#include <zmq.h>

/* How long to wait for more tasks once one is in: a round's tasks for this
 * process's waiting lanes leave the coordinator in one dispatch pass. */
#define GATHER_S 0.02

static ft_client_proc_t *lane_at(ft_client_proc_t *c, int i)
{
    return i == 0 ? c : &c->lanes[i - 1];
}

/* Heartbeats on every lane of c's process whose last message is a period old. */
void ft_client_lanes_heartbeat(ft_client_proc_t *c)
{
    for (int i = 0; i <= c->num_lanes; i++) {
        ft_client_proc_t *ln = lane_at(c, i);
        if (ft_now() - ln->last_tx >= ln->heartbeat)
            ft_client_heartbeat(ln);
    }
}

static void batch_tick(void *user)
{
    ft_client_lanes_heartbeat(user);
}

static void drop_pending(ft_client_proc_t *ln)
{
    ft_link_in_clear(&ln->task_in);
    ln->pending = 0;
    ln->busy_round = ln->busy_client = 0;
}

/* Trains every lane's pending task: the honest ones of one model together, the
 * rest (attackers, a lone task) one by one, then answers each on its lane. */
static void train_pending(ft_client_proc_t *c)
{
    ft_client_proc_t *batch[FT_CLIENT_MAX_BATCH];
    ft_local_task_t tasks[FT_CLIENT_MAX_BATCH];
    float *deltas[FT_CLIENT_MAX_BATCH];
    ft_local_result_t res[FT_CLIENT_MAX_BATCH];
    int m = 0;
    for (int i = 0; i <= c->num_lanes; i++) {
        ft_client_proc_t *ln = lane_at(c, i);
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
        ft_client_train_accepted(ln, &ln->task_in, ln->task_t0);
        drop_pending(ln);
    }
    if (m == 1) {
        ft_client_train_accepted(batch[0], &batch[0]->task_in, batch[0]->task_t0);
        drop_pending(batch[0]);
        m = 0;
    }
    if (m == 0)
        return;
    double now = ft_now();
    int rc = FT_OK;
    for (int j = 0; j < m; j++) {
        const ft_msg_task_t *t = &batch[j]->task_in.msg.u.task;
        tasks[j] = ft_client_local_task(t);
        batch[j]->busy_round = t->round;
        batch[j]->busy_client = t->client_id;
        if (!(deltas[j] = ft_client_update_buffer(batch[j])))
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
            ft_client_send_error(batch[j], rc, t->round, t->client_id, why);
        else
            ft_client_send_update(batch[j], t, &res[j], now - batch[j]->task_t0, deltas[j]);
        drop_pending(batch[j]);
    }
}

/* One message on lane ln. Returns 1 when the process is to stop (*rc says how),
 * else 0; *task is set when it brought a task. */
static int lane_message(ft_client_proc_t *ln, ft_link_in_t *in, int *task, int *rc)
{
    ft_msg_type_t type = in->msg.type;
    if (type == FT_MSG_TASK) {
        ln->requested = 0; /* the request is answered, whatever the task holds */
        if (!ln->pending && ft_client_accept_task(ln, in) == 0) {
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
            int h = ft_client_handshake(ln, ln->o->connect_timeout_s);
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
int ft_client_serve_batch(ft_client_proc_t *c)
{
    const int n = c->num_lanes + 1;
    const double silence_limit = ft_client_silence_limit(c);
    zmq_pollitem_t items[FT_CLIENT_MAX_BATCH];
    for (;;) {
        int pending = 0;
        for (int i = 0; i < n; i++) {
            ft_client_proc_t *ln = lane_at(c, i);
            if (!ln->requested && !ln->pending) {
                int rc = ft_client_send_request(ln);
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
            ft_client_proc_t *ln = lane_at(c, i);
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
                int rc = ft_client_check_handshake(ln);
                if (rc != FT_OK)
                    return rc;
            }
        }
        if (c->o->stop && *c->o->stop)
            return ft_error_set(FT_EINTR, "interrupted");
        double last_rx = 0;
        pending = 0;
        for (int i = 0; i < n; i++) {
            ft_client_proc_t *ln = lane_at(c, i);
            last_rx = ln->last_rx > last_rx ? ln->last_rx : last_rx;
            pending += ln->pending;
        }
        if (ft_now() - last_rx > silence_limit)
            return ft_error_set(FT_ETIMEOUT, "the coordinator has been silent for %.0f s",
                                ft_now() - last_rx);
        ft_client_lanes_heartbeat(c);
        if (pending && (pending == n || !got_task))
            train_pending(c);
    }
}

/* --batch-clients / run.batch_clients: how many tasks to train at once, cut to 1
 * (with the reason logged) where batching cannot be used. */
static int batch_wanted(const ft_client_proc_t *c)
{
    int opt = c->o->batch_clients;
    int k = opt > 0 ? opt : opt == FT_CLIENT_BATCH_AUTO ? 0 : c->exp.run.batch_clients;
    if (k == 1)
        return 1;
    /* a warning: batching was asked for and the run goes on without it */
    if (!ft_local_can_batch(c->local)) {
        FT_LOG(FT_LOG_WARN,
               "batched clients: model %s cannot be batched; training one task at a time",
               c->exp.model.name);
        return 1;
    }
    if (c->sa) {
        FT_LOG(FT_LOG_WARN,
               "batched clients: not with secure aggregation; training one task at a time");
        return 1;
    }
    if (k == 0) { /* auto: what fits the device, at most a round's clients */
        int cap = c->exp.federation.clients_per_round;
        cap = cap < FT_CLIENT_MAX_BATCH ? cap : FT_CLIENT_MAX_BATCH;
        size_t avail;
        k = ft_local_batch_auto(c->local, cap, &avail);
        FT_LOG(FT_LOG_INFO, "batched clients: auto: %d at once (%s %.1f GiB free)", k,
               avail ? "device memory" : "no device memory to size by:", (double)avail / (1 << 30));
    }
    return k;
}

/* Registers the further lanes of a batching process (see ft_client_proc_t). */
/* How long a further lane waits for its Welcome: lane 0 is already registered, so
 * the coordinator is there; a lane it does not answer (its connections are capped,
 * federation.max_peers) is given up before lane 0, silent meanwhile, is presumed
 * dead. */
static double lane_wait(const ft_client_proc_t *c)
{
    double t = 2 * c->heartbeat;
    return t < c->o->connect_timeout_s ? t : c->o->connect_timeout_s;
}

static int open_lanes(ft_client_proc_t *c, int k)
{
    if (!(c->lanes = ft_calloc((size_t)(k - 1), sizeof *c->lanes)))
        return ft_error_set(FT_ENOMEM, "out of memory");
    for (int i = 0; i < k - 1; i++) {
        ft_client_proc_t *ln = &c->lanes[i];
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
        if (!ln->global || !ft_client_update_buffer(ln))
            return ft_error_set(FT_ENOMEM, "out of memory");
        ln->refuse_ends_hello = 1;
        int rc = ft_client_open_socket(ln);
        if (rc == FT_OK)
            rc = ft_client_handshake(ln, lane_wait(c));
        ln->refuse_ends_hello = 0;
        if (rc == 1)
            return 1;
        if (rc == FT_EINTR)
            return rc;
        if (rc != FT_OK) {
            /* e.g. the coordinator holds its most processes: batch what is open */
            FT_LOG(FT_LOG_WARN,
                   "batched clients: lane %d not registered (%s); training up to %d "
                   "tasks at once",
                   i + 1, ft_error_message(), i + 1);
            ft_client_close_socket(ln);
            ft_free_aligned(ln->global);
            ft_blob_release(&ln->delta);
            c->num_lanes = i;
            if (i == 0) {
                ft_free(c->lanes);
                c->lanes = NULL;
            }
            return FT_OK;
        }
    }
    FT_LOG(FT_LOG_INFO, "batched clients: up to %d tasks at once (processes %u..%u)", k,
           c->process_id, c->lanes[k - 2].process_id);
    return FT_OK;
}

int ft_client_open_lanes(ft_client_proc_t *c)
{
    int k = batch_wanted(c);
    return k > 1 ? open_lanes(c, k) : FT_OK;
}

void ft_client_close_lanes(ft_client_proc_t *c)
{
    for (int i = 0; i < c->num_lanes; i++) {
        ft_client_proc_t *ln = &c->lanes[i];
        ft_client_close_socket(ln);
        ft_link_in_clear(&ln->task_in);
        ft_free_aligned(ln->global);
        ft_blob_release(&ln->delta);
    }
    ft_free(c->lanes);
    c->lanes = NULL;
    c->num_lanes = 0;
}
