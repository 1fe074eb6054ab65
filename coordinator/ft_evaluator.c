/* ft_evaluator: the global model's evaluation, now or overlapped with the next round
 * (see ft_evaluator.h). One thread per evaluation: creating it costs tens of
 * microseconds against an evaluation of a second or more, and there is no worker to
 * park, wake or shut down. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_evaluator.h"
#include "ft_timer.h"

struct ft_evaluator {
    ft_global_t *g;           /* the global model and test set */
    const ft_scenario_t *scn; /* the backdoor test set and the attack's classes */
    pthread_t thread;         /* the evaluation's thread */
    int started;              /* ft_evaluator_start called, not yet waited for */
    int threaded;             /* ... and it runs on `thread` (else: at wait time) */
    ft_evaluation_t result;   /* the thread's result */
    int rc;                   /* the thread's return code */
    char message[1024];       /* and its error message (error state is per thread) */
};

int ft_evaluator_new(ft_global_t *g, const ft_scenario_t *scn, ft_evaluator_t **out)
{
    *out = ft_calloc(1, sizeof **out);
    if (!*out)
        return ft_error_set(FT_ENOMEM, "out of memory for the evaluator");
    (*out)->g = g;
    (*out)->scn = scn;
    return FT_OK;
}

int ft_evaluator_run(ft_evaluator_t *e, ft_evaluation_t *out)
{
    double t0 = ft_now();
    int rc = ft_global_evaluate(e->g, &out->clean);
    if (rc == FT_OK)
        rc = ft_scenario_evaluate(e->scn, ft_global_model(e->g), &out->clean, &out->attack);
    out->seconds = ft_now() - t0;
    return rc;
}

static void *evaluate_thread(void *arg)
{
    ft_evaluator_t *e = arg;
    e->rc = ft_evaluator_run(e, &e->result);
    if (e->rc != FT_OK)
        snprintf(e->message, sizeof e->message, "%s", ft_error_message());
    return NULL;
}

int ft_evaluator_start(ft_evaluator_t *e)
{
    if (e->started)
        return ft_error_set(FT_ESTATE, "an evaluation is already running");
    e->started = 1;
    e->threaded = pthread_create(&e->thread, NULL, evaluate_thread, e) == 0;
    return FT_OK;
}

int ft_evaluator_pending(const ft_evaluator_t *e)
{
    return e->started;
}

int ft_evaluator_wait(ft_evaluator_t *e, ft_evaluation_t *out)
{
    if (!e->started)
        return ft_error_set(FT_ESTATE, "no evaluation was started");
    e->started = 0;
    if (!e->threaded)
        return ft_evaluator_run(e, out);
    pthread_join(e->thread, NULL);
    *out = e->result;
    if (e->rc != FT_OK)
        return ft_error_set(e->rc, "%s", e->message);
    return FT_OK;
}

void ft_evaluator_destroy(ft_evaluator_t **e_p)
{
    if (!e_p || !*e_p)
        return;
    if ((*e_p)->started && (*e_p)->threaded)
        pthread_join((*e_p)->thread, NULL);
    ft_free(*e_p);
    *e_p = NULL;
}
