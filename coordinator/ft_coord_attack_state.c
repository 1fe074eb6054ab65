/* ft_coord_attack_state: the state a stateful attack (A3FL's optimised trigger) carries
 * from one attack round to the next. Attacks run in the client processes, which
 * serve whichever clients they are handed, so the state lives here: each attacker's
 * task carries the state in force, its update the new one; the lowest-id attacker's
 * counts for the round, and when the round closes it goes in force and the backdoor
 * test set is rebuilt with it. It is the experimenter's instrument, as the ground
 * truth of who attacks is: the aggregation rule never sees it. */
#include "ft_coordinator_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <math.h>
#include <string.h>

int ft_coord_attack_state_init(ft_coordinator_t *c)
{
    ft_coord_attack_state_t *a = &c->ast;
    a->n = ft_attack_state_floats(c->scn->attack);
    if (!a->n)
        return FT_OK;
    a->cur = ft_malloc(a->n * sizeof(float));
    a->next = ft_malloc(a->n * sizeof(float));
    if (!a->cur || !a->next)
        return ft_error_set(FT_ENOMEM, "out of memory for the attack's state");
    return FT_OK;
}

void ft_coord_attack_state_free(ft_coordinator_t *c)
{
    ft_free(c->ast.cur);
    ft_free(c->ast.next);
    memset(&c->ast, 0, sizeof c->ast);
}

int ft_coord_attack_state_check(const ft_coordinator_t *c, int slot, size_t n)
{
    if (n == 0)
        return FT_OK;
    if (!c->round->slots[slot].attacker)
        return ft_error_set(FT_EPROTO, "an attack state from a client that does not attack "
                                       "this round");
    if (n != c->ast.n)
        return ft_error_set(FT_EPROTO, "an attack state of %zu floats, the attack keeps %zu", n,
                            c->ast.n);
    return FT_OK;
}

void ft_coord_attack_state_offer(ft_coordinator_t *c, uint32_t client_id, const float *state,
                                 size_t n)
{
    ft_coord_attack_state_t *a = &c->ast;
    if (n == 0 || n != a->n || (a->has_next && client_id > a->next_client))
        return;
    memcpy(a->next, state, n * sizeof(float));
    a->next_client = client_id;
    a->has_next = 1;
}

/* Measures the backdoor with state from now on. */
static int rebuild_backdoor_test(ft_coordinator_t *c, const float *state)
{
    ft_dataset_t *bt = NULL;
    int rc = ft_attack_backdoor_test(c->scn->attack, ft_global_test(c->g), state, &bt);
    if (rc != FT_OK)
        return rc;
    ft_dataset_destroy(&c->scn->backdoor_test);
    c->scn->backdoor_test = bt;
    return FT_OK;
}

int ft_coord_attack_state_restore(ft_coordinator_t *c, const float *state, size_t n)
{
    ft_coord_attack_state_t *a = &c->ast;
    if (n == 0)
        return FT_OK;
    if (n != a->n)
        return ft_error_set(FT_EFORMAT, "field attack_state_floats = %zu, the attack keeps %zu", n,
                            a->n);
    int rc = rebuild_backdoor_test(c, state);
    if (rc != FT_OK)
        return rc;
    memcpy(a->cur, state, n * sizeof(float));
    a->has_cur = 1;
    return FT_OK;
}

int ft_coord_attack_state_commit(ft_coordinator_t *c)
{
    ft_coord_attack_state_t *a = &c->ast;
    if (!a->has_next)
        return FT_OK;
    int rc = rebuild_backdoor_test(c, a->next);
    if (rc != FT_OK)
        return rc;
    float *t = a->cur;
    a->cur = a->next;
    a->next = t;
    a->has_cur = 1;
    a->has_next = 0;
    double sq = 0.0;
    for (size_t j = 0; j < a->n; j++)
        sq += (double)a->cur[j] * a->cur[j];
    ft_events_begin(c->ev, "attack_state");
    ft_events_int(c->ev, "round", c->round->round);
    ft_events_int(c->ev, "client", a->next_client);
    ft_events_int(c->ev, "floats", (int64_t)a->n);
    ft_events_num(c->ev, "norm", sqrt(sq));
    ft_events_end(c->ev);
    return FT_OK;
}
