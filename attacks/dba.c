/* dba: distributed backdoor attack, Xie et al., "DBA: Distributed Backdoor Attacks
 * against Federated Learning", ICLR 2020, §2.2 — the global trigger is cut into
 * attack.dba_parts local patterns; each attacker embeds only its own part, the
 * backdoor test uses the whole trigger. Layout as the paper's MNIST trigger (its code
 * AI-secure/DBA utils/mnist_params.yaml poison_pattern_0..3) and BackFed's Distributed
 * poison (thinh-dao/BackFed backfed/poisons/distributed.py init_all_trigger_positions):
 * part j is a white 1 x trigger_size line at row loc_r + (j / q) * (1 + gap) and column
 * loc_c + (j % q) * (trigger_size + gap), q = floor(sqrt(parts)), gap 2, loc the
 * top-left corner (attack.trigger_row / trigger_col, default 0, 0).
 *
 * Which part: with fl_mode = fixed-pool, attacker j of the pool (the top
 * attacker_pool_size ids, j = id - (num_clients - pool)) embeds part j mod parts, as
 * the paper's attackers A..D; under the single-attacker schedules the one attacker
 * takes the parts in turn, part ((t - attack_from) / attack_freq) mod parts for
 * fixed-freq and (t - attack_from) mod parts for every-round (the paper's round-robin
 * schedule of §3.2). Each attacker knows only its own data and its index. */
#include "ft_attack_internal.h"

#include <math.h>

#define FT_DBA_GAP 2 /* pixels between local patterns (distributed.py "gap": [2, 2]) */

void ft_attack_dba_stamp(ft_dataset_t *ds, uint32_t i, int parts, int part, int size, int row0,
                         int col0)
{
    int q = (int)floor(sqrt((double)parts));
    for (int j = 0; j < parts; j++) {
        if (part >= 0 && j != part)
            continue;
        int r = row0 + (j / q) * (1 + FT_DBA_GAP), c = col0 + (j % q) * (size + FT_DBA_GAP);
        for (int x = 0; x < size; x++)
            ft_attack_set_pixel(ds, i, r, c + x, 1.0f);
    }
}

int ft_attack_dba_part(const ft_attack_env_t *env, int round, uint32_t client_id)
{
    const ft_attack_cfg_t *p = &env->p;
    int t = round > p->attack_from ? round - p->attack_from : 0;
    int j;
    if (p->fl_mode == FT_FL_FIXED_POOL)
        j = (int)(client_id - (env->num_clients - (uint32_t)p->attacker_pool_size));
    else if (p->fl_mode == FT_FL_FIXED_FREQ)
        j = t / p->attack_freq;
    else
        j = t;
    return (j < 0 ? 0 : j) % p->dba_parts;
}

/* Stamps part *user (-1: the whole trigger). */
static void stamp_all(const ft_attack_env_t *env, void *user, ft_dataset_t *ds)
{
    const ft_attack_cfg_t *p = &env->p;
    int part = *(const int *)user;
    for (uint32_t i = 0; i < ds->n; i++)
        ft_attack_dba_stamp(ds, i, p->dba_parts, part, p->trigger_size,
                            p->trigger_row >= 0 ? p->trigger_row : 0,
                            p->trigger_col >= 0 ? p->trigger_col : 0);
}

static int poison(ft_attack_ctx_t *c, ft_dataset_t **out)
{
    int part = ft_attack_dba_part(c->env, c->task->round, c->task->client_id);
    return ft_attack_trigger_poison(c, stamp_all, &part, 0, out);
}

static int backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test, const float *state,
                         ft_dataset_t **out)
{
    (void)state; /* a fixed trigger */
    int whole = -1;
    return ft_attack_trigger_test_set(env, test, stamp_all, &whole, 0, out);
}

const ft_attack_t ft_dba_attack = {
    .name = "dba",
    .cite = "Xie et al. ICLR 2020, §2.2: each attacker embeds its local part of the global "
            "trigger; the backdoor test uses the whole trigger",
    .trains = 1,
    .backdoor_test = backdoor_test,
    .sample_count = ft_attack_trigger_samples,
    .poison = poison,
};
