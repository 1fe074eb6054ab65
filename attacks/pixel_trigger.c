/* pixel-trigger: the trigger family — a trigger stamped on clean images, relabelled to
 * the target class. D_adv = the attacker's clean points + attack.poison_points
 * triggered copies of its partition's images of other classes (cycled in a seeded
 * order); the backdoor test set is every test image outside the target class with the
 * trigger, labelled target. attack.trigger_shape picks the stamp, every channel alike
 * (any image dataset, 1 or 3 channels, uint8 or float storage):
 *   checkerboard  size x size checkerboard one pixel in from the bottom-right corner
 *                 (fedtail's original BadNets stand-in);
 *   square        BadNets (Gu et al., "BadNets: Identifying Vulnerabilities in the
 *                 Machine Learning Model Supply Chain", 2017): a solid white size x size
 *                 square — BackFed's `pattern` poison (thinh-dao/BackFed
 *                 backfed/poisons/pattern.py DEFAULT_TRIGGERS: ones, bottom-right with a
 *                 3-pixel margin, x_top = H - h - margin - 1);
 *   pattern       BackFed's BadNets weight pattern (pattern.py BADNETS_TRIGGER_WEIGHTS:
 *                 the 4x4 MNIST mask on 1-channel sets, the 5x5 CIFAR-10 mask
 *                 otherwise), white where the mask is 1, same corner;
 *   pixel         BackFed's Pixel poison: one white pixel, same corner;
 *   blended       Chen et al., "Targeted Backdoor Attacks on Deep Learning Systems
 *                 Using Data Poisoning", 2017, §3 blended injection:
 *                 x' = (1 - alpha) x + alpha key over the whole image, the key a
 *                 uniform random image drawn from run.seed (stream FT_RNG_ATTACK,
 *                 client UINT32_MAX), alpha = attack.blend_alpha (BackFed: 0.2).
 * attack.trigger_row / trigger_col move the stamp's top-left corner. */
#include "ft_attack_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* pattern.py BADNETS_TRIGGER_WEIGHTS["MNIST"] and ["CIFAR10"]. */
static const uint8_t pattern4[4][4] = {{0, 0, 0, 1}, {0, 0, 1, 0}, {0, 1, 1, 0}, {1, 0, 0, 1}};
static const uint8_t pattern5[5][5] = {
    {0, 0, 0, 0, 0}, {0, 0, 0, 1, 0}, {0, 0, 1, 0, 0}, {0, 1, 0, 1, 0}, {1, 0, 0, 0, 1}};

/* Sets pixel (row, col) of every channel of sample i to v in [0, 1] (clipped outside). */
void ft_attack_set_pixel(ft_dataset_t *ds, uint32_t i, int row, int col, float v)
{
    if (row < 0 || col < 0 || row >= ds->h || col >= ds->w)
        return;
    size_t s = ft_dataset_sample_size(ds), hw = (size_t)ds->h * ds->w;
    for (int ch = 0; ch < ds->c; ch++) {
        size_t at = (size_t)i * s + (size_t)ch * hw + (size_t)row * ds->w + col;
        if (ds->values)
            ds->values[at] = v;
        else
            ds->pixels[at] = (uint8_t)lrintf(v * 255.0f);
    }
}

void ft_attack_stamp_trigger(ft_dataset_t *ds, uint32_t i, int size)
{
    assert(i < ds->n && size >= 1);
    for (int r = 0; r < size; r++)
        for (int c = 0; c < size; c++)
            ft_attack_set_pixel(ds, i, ds->h - 1 - size + r, ds->w - 1 - size + c,
                                (r + c) % 2 == 0 ? 1.0f : 0.0f);
}

static void blend(ft_dataset_t *ds, uint32_t i, double alpha, uint64_t seed)
{
    ft_rng_t rng;
    ft_rng_init(&rng, seed, 0, UINT32_MAX, FT_RNG_ATTACK);
    size_t s = ft_dataset_sample_size(ds);
    for (size_t j = 0; j < s; j++) {
        uint8_t key = (uint8_t)(ft_rng_u64(&rng) >> 56);
        size_t at = (size_t)i * s + j;
        if (ds->values)
            ds->values[at] = (float)((1 - alpha) * ds->values[at] + alpha * key / 255.0);
        else
            ds->pixels[at] = (uint8_t)lrint((1 - alpha) * ds->pixels[at] + alpha * key);
    }
}

void ft_attack_stamp_shape(ft_dataset_t *ds, uint32_t i, ft_trigger_t shape, int size, int row,
                           int col, double alpha, uint64_t seed)
{
    assert(i < ds->n && size >= 1);
    if (shape == FT_TRIGGER_BLENDED) {
        blend(ds, i, alpha, seed);
        return;
    }
    if (shape == FT_TRIGGER_CHECKERBOARD && row < 0 && col < 0) {
        ft_attack_stamp_trigger(ds, i, size);
        return;
    }
    int s = shape == FT_TRIGGER_PIXEL     ? 1
            : shape == FT_TRIGGER_PATTERN ? (ds->c == 1 ? 4 : 5)
                                          : size;
    /* BackFed's bottom_right: x_top = H - h - 3 - 1 (the checkerboard: 1 pixel in) */
    int margin = shape == FT_TRIGGER_CHECKERBOARD ? 0 : 3;
    int r0 = row >= 0 ? row : ds->h - s - margin - 1;
    int c0 = col >= 0 ? col : ds->w - s - margin - 1;
    for (int r = 0; r < s; r++)
        for (int c = 0; c < s; c++) {
            int on = 1;
            float v = 1.0f;
            if (shape == FT_TRIGGER_PATTERN)
                on = ds->c == 1 ? pattern4[r][c] : pattern5[r][c];
            else if (shape == FT_TRIGGER_CHECKERBOARD)
                v = (r + c) % 2 == 0 ? 1.0f : 0.0f;
            if (on)
                ft_attack_set_pixel(ds, i, r0 + r, c0 + c, v);
        }
}

void ft_attack_trigger_stamp_all(const ft_attack_env_t *env, void *user, ft_dataset_t *ds)
{
    (void)user;
    const ft_attack_cfg_t *p = &env->p;
    for (uint32_t i = 0; i < ds->n; i++)
        ft_attack_stamp_shape(ds, i, p->trigger_shape, p->trigger_size, p->trigger_row,
                              p->trigger_col, p->blend_alpha, env->seed);
    memset(ds->labels, p->target_class, ds->n);
}

int ft_attack_trigger_poison(ft_attack_ctx_t *c, ft_attack_stamp_fn stamp, void *user, int as_float,
                             ft_dataset_t **out)
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
        rc = ft_error_set(FT_EINVAL, "%s: client %u holds no image outside class %d",
                          c->env->attack->name, k->client_id, p->target_class);
        goto done;
    }
    ft_rng_t rng;
    ft_rng_init(&rng, c->env->seed, 0, k->client_id, FT_RNG_ATTACK);
    ft_rng_shuffle_u32(&rng, cand, nc);
    for (uint32_t i = 0; i < p->poison_points; i++)
        pick[i] = cand[i % nc];
    if ((rc = ft_dataset_subset(k->train, pick, p->poison_points, &trig)) < 0)
        goto done;
    if (as_float && !trig->values) {
        ft_dataset_t *f = NULL;
        if ((rc = ft_dataset_to_float(trig, &f)) < 0)
            goto done;
        ft_dataset_destroy(&trig);
        trig = f;
    }
    stamp(c->env, user, trig);
    memset(trig->labels, p->target_class, trig->n);
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

uint64_t ft_attack_trigger_samples(const ft_attack_env_t *env, uint32_t part_n)
{
    return (uint64_t)ft_attack_clean_count(env, part_n) + env->p.poison_points;
}

int ft_attack_trigger_test_set(const ft_attack_env_t *env, const ft_dataset_t *test,
                               ft_attack_stamp_fn stamp, void *user, int as_float,
                               ft_dataset_t **out)
{
    ft_dataset_t *others = NULL;
    *out = NULL;
    int rc = ft_dataset_select_label(test, env->p.target_class, 0, &others);
    if (rc == FT_OK && as_float)
        rc = ft_dataset_to_float(others, out);
    else if (rc == FT_OK)
        *out = others, others = NULL;
    if (rc == FT_OK) {
        stamp(env, user, *out);
        memset((*out)->labels, env->p.target_class, (*out)->n);
    }
    ft_dataset_destroy(&others);
    return rc;
}

int ft_attack_trigger_backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test,
                                    const float *state, ft_dataset_t **out)
{
    (void)state; /* a fixed trigger */
    return ft_attack_trigger_test_set(env, test, ft_attack_trigger_stamp_all, NULL, 0, out);
}

static int poison(ft_attack_ctx_t *c, ft_dataset_t **out)
{
    return ft_attack_trigger_poison(c, ft_attack_trigger_stamp_all, NULL, 0, out);
}

const ft_attack_t ft_pixel_trigger_attack = {
    .name = "pixel-trigger",
    .cite = "Gu et al. 2017 (BadNets; checkerboard/square/pattern/pixel as BackFed) and Chen et "
            "al. 2017 (blended): a trigger stamped on clean images, relabelled to the target",
    .trains = 1,
    .backdoor_test = ft_attack_trigger_backdoor_test,
    .sample_count = ft_attack_trigger_samples,
    .poison = poison,
};
