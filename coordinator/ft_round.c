/* ft_round: per-round slot bookkeeping. */
#include "ft_round.h"

#include "ft_alloc.h"

#include <assert.h>
#include <math.h>
#include <string.h>

ft_round_t *ft_round_new(size_t max_k)
{
    ft_round_t *r = ft_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->slots = ft_calloc(max_k ? max_k : 1, sizeof *r->slots);
    if (!r->slots) {
        ft_free(r);
        return NULL;
    }
    r->max_k = max_k;
    return r;
}

void ft_round_destroy(ft_round_t **r_p)
{
    if (!r_p || !*r_p)
        return;
    ft_free((*r_p)->slots);
    ft_free(*r_p);
    *r_p = NULL;
}

void ft_round_begin(ft_round_t *r, uint32_t round, uint32_t attempt, const uint32_t *ids,
                    const uint8_t *attackers, size_t K, double now, double timeout)
{
    assert(K <= r->max_k && K > 0);
    r->round = round;
    r->attempt = attempt;
    r->K = K;
    r->done = 0;
    r->started = now;
    r->deadline = now + timeout;
    for (size_t i = 0; i < K; i++) {
        assert(i == 0 || ids[i] > ids[i - 1]);
        memset(&r->slots[i], 0, sizeof r->slots[i]);
        r->slots[i].client_id = ids[i];
        r->slots[i].state = FT_SLOT_PENDING;
        r->slots[i].process = -1;
        r->slots[i].attacker = attackers ? attackers[i] != 0 : 0;
    }
}

int ft_round_find(const ft_round_t *r, uint32_t client_id)
{
    size_t lo = 0, hi = r->K;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->slots[mid].client_id < client_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->K && r->slots[lo].client_id == client_id ? (int)lo : -1;
}

int ft_round_next(const ft_round_t *r, int (*can_serve)(const void *user, uint32_t client_id),
                  const void *user)
{
    for (size_t i = 0; i < r->K; i++)
        if (r->slots[i].state == FT_SLOT_PENDING &&
            (!can_serve || can_serve(user, r->slots[i].client_id)))
            return (int)i;
    return -1;
}

void ft_round_assign(ft_round_t *r, int slot, int process, double now)
{
    ft_slot_t *s = &r->slots[slot];
    assert(s->state == FT_SLOT_PENDING && process >= 0);
    s->state = FT_SLOT_ASSIGNED;
    s->process = process;
    s->handed++;
    s->assigned_at = now;
}

void ft_round_complete(ft_round_t *r, int slot, uint64_t num_samples, float loss, double train_s)
{
    ft_slot_t *s = &r->slots[slot];
    assert(s->state == FT_SLOT_ASSIGNED);
    s->state = FT_SLOT_DONE;
    s->process = -1;
    s->num_samples = num_samples;
    s->train_loss = loss;
    s->train_s = train_s;
    r->done++;
}

void ft_round_requeue(ft_round_t *r, int slot)
{
    ft_slot_t *s = &r->slots[slot];
    assert(s->state == FT_SLOT_ASSIGNED);
    s->state = FT_SLOT_PENDING;
    s->process = -1;
}

size_t ft_round_requeue_process(ft_round_t *r, int process)
{
    size_t n = 0;
    for (size_t i = 0; i < r->K; i++)
        if (r->slots[i].state == FT_SLOT_ASSIGNED && r->slots[i].process == process) {
            ft_round_requeue(r, (int)i);
            n++;
        }
    return n;
}

int ft_round_finished(const ft_round_t *r)
{
    return r->K > 0 && r->done == r->K;
}

int ft_round_expired(const ft_round_t *r, double now)
{
    return !ft_round_finished(r) && now >= r->deadline;
}

size_t ft_round_count(const ft_round_t *r, ft_slot_state_t state)
{
    size_t n = 0;
    for (size_t i = 0; i < r->K; i++)
        n += r->slots[i].state == state;
    return n;
}

float ft_round_lr(double lr, double decay, uint32_t round)
{
    return (float)(lr * pow(decay, (double)(round ? round - 1 : 0)));
}
