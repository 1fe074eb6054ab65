/* ft_round: the state machine of one round's tasks (one slot per sampled client).
 *
 *   PENDING --assign--> ASSIGNED --complete--> DONE
 *      ^                   |
 *      +---- requeue ------+   (process dead, bad update, client error)
 *
 * Slots are in ascending client-id order, and slot i's update goes to row i of the
 * round's K×N matrix, so aggregation order never depends on arrival order. The
 * round is finished when every slot is DONE, or expired at its deadline; a round
 * that expires with fewer than min_clients updates is retried. No allocation after
 * ft_round_new. */
#ifndef FT_ROUND_H
#define FT_ROUND_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    FT_SLOT_PENDING = 0, /* waiting for a process */
    FT_SLOT_ASSIGNED,    /* handed to a process, no update yet */
    FT_SLOT_DONE,        /* its update is in the matrix */
} ft_slot_state_t;

typedef struct {
    uint32_t client_id;    /* sampled client */
    ft_slot_state_t state; /* see above */
    int process;           /* process index while ASSIGNED (-1 otherwise) */
    int attacker;          /* ground truth: the client attacks this round */
    uint32_t handed;       /* times the slot was handed out */
    double assigned_at;    /* when it was last handed out */
    uint64_t num_samples;  /* DONE: the client's sample count */
    float train_loss;      /* DONE: its local loss */
    double train_s;        /* DONE: its local training seconds */
} ft_slot_t;

typedef struct {
    uint32_t round;   /* 1-based round */
    uint32_t attempt; /* retry number (0: first try) */
    size_t K;         /* slots this round */
    size_t max_k;     /* capacity */
    ft_slot_t *slots; /* K slots, ascending client id */
    size_t done;      /* slots DONE */
    double started;   /* when the round began */
    double deadline;  /* when it expires */
} ft_round_t;

/* A round with room for max_k slots. NULL on OOM. */
ft_round_t *ft_round_new(size_t max_k);
void ft_round_destroy(ft_round_t **r_p);

/* Starts round/attempt over the sorted ids[0..K) (K <= max_k) with ground-truth
 * attackers (may be NULL: none), expiring timeout seconds after now. */
void ft_round_begin(ft_round_t *r, uint32_t round, uint32_t attempt, const uint32_t *ids,
                    const uint8_t *attackers, size_t K, double now, double timeout);

/* Slot of client id, or -1 if it was not sampled this round (binary search). */
int ft_round_find(const ft_round_t *r, uint32_t client_id);

/* First PENDING slot for which can_serve(user, client_id) is nonzero (can_serve
 * NULL: any), or -1. */
int ft_round_next(const ft_round_t *r, int (*can_serve)(const void *user, uint32_t client_id),
                  const void *user);

/* PENDING -> ASSIGNED to process. */
void ft_round_assign(ft_round_t *r, int slot, int process, double now);
/* ASSIGNED -> DONE with the update's facts. */
void ft_round_complete(ft_round_t *r, int slot, uint64_t num_samples, float loss, double train_s);
/* ASSIGNED -> PENDING for one slot. */
void ft_round_requeue(ft_round_t *r, int slot);
/* Every slot ASSIGNED to process goes back to PENDING; returns how many. */
size_t ft_round_requeue_process(ft_round_t *r, int process);

/* Every slot is DONE. */
int ft_round_finished(const ft_round_t *r);
/* The deadline has passed and the round is not finished. */
int ft_round_expired(const ft_round_t *r, double now);
/* Slots in a state. */
size_t ft_round_count(const ft_round_t *r, ft_slot_state_t state);

/* Learning rate of round t (1-based): lr * decay^(t-1), as the paper's code. */
float ft_round_lr(double lr, double decay, uint32_t round);

#endif
