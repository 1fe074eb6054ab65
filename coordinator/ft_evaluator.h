/* ft_evaluator: evaluates the global model (main task and backdoor) either now or on
 * a thread of its own while the next round trains.
 *
 * Nothing in round t+1 depends on the evaluation of w_t: sampling, the tasks and the
 * model sent are fixed once round t is aggregated. So the coordinator starts the
 * evaluation, hands out round t+1, and collects the result before it aggregates
 * round t+1 (the only thing that changes the global model the thread reads). The
 * numbers are those of a synchronous evaluation: the same code on the same model,
 * on one thread. */
#ifndef FT_EVALUATOR_H
#define FT_EVALUATOR_H

#include "ft_global.h"
#include "ft_scenario.h"

typedef struct {
    ft_eval_t clean;           /* main task on the test set */
    ft_backdoor_eval_t attack; /* backdoor and source-class accuracy */
    double seconds;            /* wall time of the evaluation */
} ft_evaluation_t;

typedef struct ft_evaluator ft_evaluator_t;

/* An evaluator of g's global model on the test set and on scn's backdoor test set
 * (both outlive it). FT_ENOMEM. */
int ft_evaluator_new(ft_global_t *g, const ft_scenario_t *scn, ft_evaluator_t **out);
/* Joins a running evaluation (its result is dropped) and frees. */
void ft_evaluator_destroy(ft_evaluator_t **e_p);

/* Evaluates now, on the calling thread. */
int ft_evaluator_run(ft_evaluator_t *e, ft_evaluation_t *out);
/* Starts an evaluation on a thread of its own; the global model must not change
 * until ft_evaluator_wait. If no thread can be created, the evaluation runs inside
 * ft_evaluator_wait instead. FT_ESTATE if one is already started. */
int ft_evaluator_start(ft_evaluator_t *e);
/* Nonzero while a started evaluation has not been waited for. */
int ft_evaluator_pending(const ft_evaluator_t *e);
/* Waits for the started evaluation; its result, or its error code and message as
 * ft_evaluator_run would give them. FT_ESTATE when none was started. */
int ft_evaluator_wait(ft_evaluator_t *e, ft_evaluation_t *out);

#endif
