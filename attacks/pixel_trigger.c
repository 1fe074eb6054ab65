/* pixel-trigger: BadNets, Gu et al., "BadNets: Identifying Vulnerabilities in the
 * Machine Learning Model Supply Chain", 2017 — a checkerboard trigger stamped on clean
 * images, relabelled to the target class. D_adv = the attacker's clean points +
 * attack.poison_points triggered copies of its partition's images of other classes
 * (cycled in a seeded order); the backdoor test set is every test image outside the
 * target class with the trigger, labelled target. */
#include "ft_attack_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <assert.h>
#include <string.h>

void ft_attack_stamp_trigger(ft_dataset_t *ds, uint32_t i, int size)
{
    assert(i < ds->n && size >= 1);
    int hw = ds->h * ds->w;
    size_t s = ft_dataset_sample_size(ds);
    for (int ch = 0; ch < ds->c; ch++) {
        for (int r = 0; r < size; r++) {
            for (int c = 0; c < size; c++) {
                int row = ds->h - 1 - size + r, col = ds->w - 1 - size + c;
                if (row < 0 || col < 0)
                    continue;
                size_t at = (size_t)i * s + (size_t)ch * hw + (size_t)row * ds->w + col;
                int white = (r + c) % 2 == 0;
                if (ds->values)
                    ds->values[at] = white ? 1.0f : 0.0f;
                else
                    ds->pixels[at] = white ? 255 : 0;
            }
        }
    }
}

/* Stamps every sample of ds and labels it target. */
static void trigger_all(ft_dataset_t *ds, const ft_attack_cfg_t *p)
{
    for (uint32_t i = 0; i < ds->n; i++)
        ft_attack_stamp_trigger(ds, i, p->trigger_size);
    memset(ds->labels, p->target_class, ds->n);
}

static int poison(ft_attack_ctx_t *c, ft_dataset_t **out)
{
    const ft_attack_task_t *k = c->task;
    const ft_attack_cfg_t *p = &c->env->p;
    uint32_t *cand = ft_malloc(((size_t)k->part_n + 1) * sizeof *cand), nc = 0;
    uint32_t *pick = ft_malloc((size_t)p->poison_points * sizeof *pick);
    ft_dataset_t *clean = NULL, *trig = NULL;
    int rc = FT_OK;
    if (!cand || !pick) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for the trigger set");
        goto done;
    }
    for (uint32_t i = 0; i < k->part_n; i++)
        if (k->train->labels[k->part_idx[i]] != p->target_class)
            cand[nc++] = k->part_idx[i];
    if (nc == 0) {
        rc = ft_error_set(FT_EINVAL, "pixel-trigger: client %u holds no image outside class %d",
                          k->client_id, p->target_class);
        goto done;
    }
    ft_rng_t rng;
    ft_rng_init(&rng, c->env->seed, 0, k->client_id, FT_RNG_ATTACK);
    ft_rng_shuffle_u32(&rng, cand, nc);
    for (uint32_t i = 0; i < p->poison_points; i++)
        pick[i] = cand[i % nc];
    if ((rc = ft_dataset_subset(k->train, pick, p->poison_points, &trig)) < 0)
        goto done;
    trigger_all(trig, p);
    rc = ft_attack_clean_set(c, &clean);
    if (rc == FT_OK)
        rc = ft_dataset_concat(clean, trig, out);
done:
    ft_free(cand);
    ft_free(pick);
    ft_dataset_destroy(&clean);
    ft_dataset_destroy(&trig);
    return rc;
}

static uint64_t sample_count(const ft_attack_env_t *env, uint32_t part_n)
{
    return (uint64_t)ft_attack_clean_count(env, part_n) + env->p.poison_points;
}

static int backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test, ft_dataset_t **out)
{
    int rc = ft_dataset_select_label(test, env->p.target_class, 0, out);
    if (rc == FT_OK)
        trigger_all(*out, &env->p);
    return rc;
}

const ft_attack_t ft_pixel_trigger_attack = {
    .name = "pixel-trigger",
    .cite = "Gu et al. 2017 (BadNets): checkerboard trigger stamped on clean images, "
            "relabelled to the target",
    .trains = 1,
    .backdoor_test = backdoor_test,
    .sample_count = sample_count,
    .poison = poison,
};
