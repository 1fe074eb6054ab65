/* ft_children: the client processes of a local run (fedtail run) — each a fork +
 * exec of this executable as `fedtail client --connect ENDPOINT --pool ...`, so
 * every child is a clean process that dies with its parent.
 *
 * The coordinator's tick reaps them as they exit and fails the run once all are
 * gone (it could never finish); at the end they are stopped: given time to exit on
 * the coordinator's shutdown message, then SIGTERM, then SIGKILL. SIGINT/SIGTERM
 * to fedtail run only set ft_children_stop_requested, which the coordinator polls. */
#ifndef FT_CHILDREN_H
#define FT_CHILDREN_H

#include <signal.h>
#include <sys/types.h>

#include "ft_local_keys.h"

#define FT_MAX_PROCS 1024 /* most client processes one run starts */

/* Nonzero once SIGINT or SIGTERM arrived (after ft_children_catch_signals), or
 * once starting the children failed: the coordinator stops at the next chance
 * (ft_coord_opts_t.stop) and the children's exits are then expected. */
extern volatile sig_atomic_t ft_children_stop_requested;

/* The client processes of one run; zero it before ft_children_spawn. */
typedef struct {
    pid_t pids[FT_MAX_PROCS]; /* child pids (0 once reaped) */
    int n;                    /* children started */
    int alive;                /* children not yet reaped */
    int failed;               /* children that exited abnormally */
    int stopping;             /* we are terminating them: exits are expected */
} ft_children_t;

/* Makes SIGINT and SIGTERM set ft_children_stop_requested instead of killing this
 * process. */
void ft_children_catch_signals(void);

/* Starts procs (at most FT_MAX_PROCS - ch->n) client processes connecting to
 * endpoint, each with run.max_message_mb = max_mb and, when keys->on, CURVE with
 * keys->server_pub and keys->client_secret; quiet passes --quiet. Returns FT_OK, or
 * a negative code with a message when this executable cannot be found or fork
 * fails; the children started until then are in *ch (stop them with
 * ft_children_stop). A child whose exec fails prints why and exits 127. */
int ft_children_spawn(ft_children_t *ch, int procs, const char *endpoint, const char *max_mb,
                      int quiet, const ft_local_keys_t *keys);

/* The coordinator's tick (ft_coord_opts_t.tick, user = the ft_children_t): reaps
 * exited children, logging abnormal exits. Returns FT_OK, or FT_ESTATE with a
 * message once every started child is gone, since the run cannot finish then. */
int ft_children_tick(void *user);

/* Waits up to 2 s for the children to exit (registered ones were told to shut
 * down; one that had not registered yet never hears), then sends SIGTERM and after
 * 1 s SIGKILL to the rest, reaping them. Cannot fail; ch->alive says whether any
 * child outlived even SIGKILL's second. */
void ft_children_stop(ft_children_t *ch);

#endif
