/* ft_client_internal: what the client process's two files share (internal to
 * client/; callers use ft_client.h). ft_client.c is the process — socket, handshake,
 * the one-task-at-a-time loop, updates; ft_client_batch.c is its batched serving
 * (run.batch_clients > 1): several registrations ("lanes") of one process whose
 * tasks train together (docs/gpu.md, "Batched clients"). */
#ifndef FT_CLIENT_INTERNAL_H
#define FT_CLIENT_INTERNAL_H

#include "ft_client.h"
#include "ft_client_secagg.h"
#include "ft_link.h"
#include "ft_local.h"
#include "ft_wire.h"

/* A process serving several tasks at once (--batch-clients K, run.batch_clients)
 * registers K times: lane 0 is the process's first registration and owns the data
 * and model; lanes 1..K-1 are further DEALER sockets of the same process, each one
 * more registered process to the coordinator, which therefore hands this process up
 * to K tasks of a round without knowing (the protocol is unchanged). Each lane
 * holds its own request, model copy and update buffer. */
typedef struct ft_client_proc ft_client_proc_t;

struct ft_client_proc {
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
    ft_client_proc_t *lanes;   /* lane 0: lanes[0..num_lanes) are the others (NULL: none) */
    int num_lanes;             /* lane 0: further lanes */
    int requested;             /* batched serving: this lane's request is held */
    int pending;               /* batched serving: task_in holds an accepted task */
    ft_link_in_t task_in;      /* that task (its attack state and payload live here) */
    double task_t0;            /* when it arrived */
    ft_client_proc_t *head;    /* lanes 1..K-1: lane 0 (NULL on lane 0) */
    int said_attackers;        /* lane 0: the attacker fallback was logged */
    int refuse_ends_hello;     /* a lane registering: any Error to its Hello ends the try */
};

/* ---- ft_client.c ---- */

/* Sends m (+ payload or blob) on c's socket and notes the time. */
int ft_client_send(ft_client_proc_t *c, const ft_msg_t *m, const void *payload, ft_blob_t *blob);
/* Asks for work: a Request naming c's process id on c's socket. FT_OK or the
 * send's error code (ft_client_send). */
int ft_client_send_request(ft_client_proc_t *c);
/* Seconds the coordinator may stay silent before c's work loop gives up: ten
 * heartbeat periods, at least 60. */
double ft_client_silence_limit(const ft_client_proc_t *c);
/* c's update buffer, writable; NULL on OOM. */
float *ft_client_update_buffer(ft_client_proc_t *c);
void ft_client_heartbeat(ft_client_proc_t *c);
void ft_client_send_error(ft_client_proc_t *c, int code, uint32_t round, uint32_t client,
                          const char *why);
/* FT_OK while no handshake of c's socket failed, else the reason. */
int ft_client_check_handshake(ft_client_proc_t *c);
/* Hello until Welcome: FT_OK, 1 when the run is already over, or an error. */
int ft_client_handshake(ft_client_proc_t *c, double timeout_s);
/* Creates and connects c's socket; ft_client_close_socket closes it (NULL-safe). */
int ft_client_open_socket(ft_client_proc_t *c);
void ft_client_close_socket(ft_client_proc_t *c);
/* Validates a task and takes its model: 0 to train it, -1 when answered with an Error. */
int ft_client_accept_task(ft_client_proc_t *c, ft_link_in_t *in);
ft_local_task_t ft_client_local_task(const ft_msg_task_t *t);
/* Trains an accepted task alone and answers it (t0: when it arrived). */
void ft_client_train_accepted(ft_client_proc_t *c, ft_link_in_t *in, double t0);
/* The Update of task t: delta (c's update buffer) with its digest. */
void ft_client_send_update(ft_client_proc_t *c, const ft_msg_task_t *t,
                           const ft_local_result_t *res, double prepare, float *delta);

/* ---- ft_client_batch.c ---- */

/* After lane 0's Welcome: registers lanes 1..K-1 where run.batch_clients or
 * --batch-clients ask for K > 1 and the model can be batched (else logs why not and
 * opens none). FT_OK, 1 when the run is already over, or an error. */
int ft_client_open_lanes(ft_client_proc_t *c);
/* Closes and frees c's further lanes (safe without any). */
void ft_client_close_lanes(ft_client_proc_t *c);
/* Heartbeats on every lane of c's process whose last message is a period old. */
void ft_client_lanes_heartbeat(ft_client_proc_t *c);
/* The work loop of a process with lanes, until Shutdown (FT_OK) or an error. */
int ft_client_serve_batch(ft_client_proc_t *c);

#endif
