/* test_attacks_v2: the defining computation of each attack of issue 18 against
 * hand-worked values or a reference port — PGD's eps = auto, Neurotoxin's mask (and
 * that its training leaves the masked coordinates alone), the trigger shapes' pixels,
 * DBA's partition of the trigger and its attacker-to-part assignment, MinMax / MinSum's
 * gamma against a NumPy port of the authors' code (tests/fixtures/attacks/
 * gen_minmax.py), Fang's and Mimic's updates. What every attack must satisfy is
 * test_attacks_contract.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_attack.h"
#include "ft_attack_math.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_model.h"
#include "ft_ops.h"
#include "ft_readers.h"
#include "ft_test_experiment.h"
#include "ft_train.h"
#include "ft_test_fixture.h"

/* ---- a small attacker on synthetic 1x12x12 data ------------------------------------ */

typedef struct {
    ft_dataset_t *train; /* 1200 synthetic samples, 4 classes */
    ft_model_t *m;       /* mlp 16 */
    ft_trainer_t *t;     /* its trainer */
    float *global;       /* N */
    float *delta;        /* N */
    size_t N;            /* parameters */
    uint32_t part[200];  /* the attacker's partition */
} rig_t;

static void rig_init(rig_t *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(ft_synthetic_make(1200, 1, 12, 12, 4, 11, 1, &r->train), FT_OK);
    assert_int_equal(ft_model_new("mlp", "16", 1, 12, 12, 4, 32, &ft_ops_cpu, &r->m), FT_OK);
    r->t = ft_trainer_new(r->m, 32);
    assert_non_null(r->t);
    r->N = ft_model_num_params(r->m);
    ft_rng_t rng;
    ft_rng_init(&rng, 1, 0, 0, FT_RNG_INIT);
    ft_model_init(r->m, &rng);
    r->global = ft_malloc(r->N * sizeof(float));
    r->delta = ft_malloc(r->N * sizeof(float));
    ft_model_get_params(r->m, r->global);
    for (uint32_t i = 0; i < 200; i++)
        r->part[i] = i * 5;
}

static void rig_free(rig_t *r)
{
    ft_trainer_destroy(&r->t);
    ft_model_destroy(&r->m);
    ft_dataset_destroy(&r->train);
    ft_free(r->global);
    ft_free(r->delta);
}

static ft_attack_task_t rig_task(rig_t *r)
{
    ft_attack_task_t k = {.round = 2,
                          .client_id = 9,
                          .global = r->global,
                          .train = r->train,
                          .part_idx = r->part,
                          .part_n = 200,
                          .opts = {.epochs = 1, .batch_size = 16, .lr = 0.1f, .momentum = 0}};
    return k;
}

static const char *const keys[] = {"attack.edge_size=20",       "attack.source_class=2",
                                   "attack.target_class=3",     "attack.clean_points=50",
                                   "federation.num_clients=10", "attack.honest_edge_holders=0",
                                   "attack.poison_points=40",   NULL};

/* Runs method with up to three extra keys on the rig; returns the environment. */
static ft_attack_env_t *run(rig_t *r, ft_attack_task_t *k, ft_attack_result_t *res,
                            const char *method, const char *e1, const char *e2, const char *e3)
{
    char buf[64];
    snprintf(buf, sizeof buf, "attack.method=%s", method);
    ft_config_t *cfg = ft_test_config(keys, (const char *[]){buf, NULL});
    const char *extra[] = {e1, e2, e3};
    for (int i = 0; i < 3; i++)
        if (extra[i])
            ft_test_set(cfg, extra[i]);
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_check(&exp), FT_OK);
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, r->train, &env), FT_OK);
    int rc = ft_attack_local_update(env, k, r->m, r->t, r->delta, res);
    if (rc)
        fail_msg("%s: %s", method, ft_error_message());
    ft_config_destroy(&cfg);
    return env;
}

static int check(const char *const *sets)
{
    ft_config_t *cfg = ft_test_config(keys, sets);
    ft_experiment_t exp;
    int rc = ft_experiment_read(cfg, &exp);
    if (rc == FT_OK)
        rc = ft_attack_check(&exp);
    ft_config_destroy(&cfg);
    return rc;
}

static size_t zeros(const float *v, size_t n)
{
    size_t z = 0;
    for (size_t j = 0; j < n; j++)
        z += v[j] == 0.0f;
    return z;
}

/* ---- PGD: attack.eps = auto ------------------------------------------------------- */

static void test_eps_auto(void **state)
{
    (void)state;
    /* eps = 0.999 M / scale: M 2, factor 4 (N_round / n_adv) => 0.4995; no factor => M */
    assert_float_equal(ft_attack_auto_eps(2, 4), 0.4995, 1e-12);
    assert_float_equal(ft_attack_auto_eps(2, 0), 1.998, 1e-12);
    /* auto needs a norm bound to size against; a radius must be a number > 0 */
    assert_int_equal(check((const char *[]){"attack.method=pgd", "attack.eps=auto", NULL}),
                     FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.eps"));
    assert_int_equal(check((const char *[]){"attack.method=pgd", "attack.eps=auto",
                                            "defense.name=norm-clipping", NULL}),
                     FT_OK);
    assert_int_equal(check((const char *[]){"attack.method=neurotoxin", "attack.eps=auto",
                                            "defense.name=weak-dp", NULL}),
                     FT_OK);
    assert_int_equal(check((const char *[]){"attack.method=pgd", "attack.eps=two", NULL}),
                     FT_ECONFIG);
    assert_int_equal(check((const char *[]){"attack.method=pgd", "attack.eps=-1", NULL}),
                     FT_ECONFIG);

    /* End to end under norm-clipping with M = 0.5: without replacement the radius is
     * 0.999 M; with it and N_round = 4 |D_adv|, the update is projected to
     * 0.999 M / 4 and the scaled one lands just under M (not clipped). */
    rig_t r;
    rig_init(&r);
    ft_attack_task_t k = rig_task(&r);
    ft_attack_result_t res;
    ft_attack_env_t *env = run(&r, &k, &res, "pgd", "attack.eps=auto", "defense.name=norm-clipping",
                               "defense.norm_bound=0.5");
    ft_attack_env_destroy(&env);
    assert_true(res.projections > 0);
    assert_float_equal(res.norm, 0.999 * 0.5, 1e-5);
    k.round_samples = 4 * res.sample_count;
    ft_config_t *cfg = ft_test_config(keys, (const char *[]){"attack.method=pgd", NULL});
    ft_test_set(cfg, "attack.eps=auto");
    ft_test_set(cfg, "defense.name=norm-clipping");
    ft_test_set(cfg, "defense.norm_bound=0.5");
    ft_test_set(cfg, "attack.model_replacement=true");
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_env_new(&exp, r.train, &env), FT_OK);
    assert_int_equal(ft_attack_local_update(env, &k, r.m, r.t, r.delta, &res), FT_OK);
    assert_float_equal(res.scale, 4, 1e-12);
    assert_float_equal(res.norm_trained, 0.999 * 0.5 / 4, 1e-5);
    assert_float_equal(res.norm, 0.999 * 0.5, 4e-5);
    assert_true(res.norm < 0.5);
    ft_attack_env_destroy(&env);
    ft_config_destroy(&cfg);
    rig_free(&r);
}

/* ---- Neurotoxin ------------------------------------------------------------------- */

static void test_neurotoxin_mask(void **state)
{
    (void)state;
    const float g[6] = {0.5f, -0.1f, 0.3f, -0.1f, 0.0f, 2.0f};
    float mask[6];
    uint64_t order[6];
    /* |g| ascending: 0 (j4), 0.1 (j1), 0.1 (j3), 0.3 (j2), 0.5 (j0), 2 (j5); ratio 0.5
     * keeps floor(3) = 3: j4, j1, j3 — the top half by |g| is excluded */
    assert_int_equal(ft_attack_neurotoxin_mask(6, g, 0.5, mask, order), 3);
    const float want[6] = {0, 1, 0, 1, 1, 0};
    assert_memory_equal(mask, want, sizeof want);
    /* ratio 0.2: floor(1.2) = 1, the zero gradient only */
    assert_int_equal(ft_attack_neurotoxin_mask(6, g, 0.2, mask, order), 1);
    const float want1[6] = {0, 0, 0, 0, 1, 0};
    assert_memory_equal(mask, want1, sizeof want1);
    /* ratio 0.34: floor(2.04) = 2: j4 and of the tie j1 / j3 the lower index */
    assert_int_equal(ft_attack_neurotoxin_mask(6, g, 0.34, mask, order), 2);
    const float want2[6] = {0, 1, 0, 0, 1, 0};
    assert_memory_equal(mask, want2, sizeof want2);
    /* ratio 1: every coordinate */
    assert_int_equal(ft_attack_neurotoxin_mask(6, g, 1.0, mask, order), 6);
    for (int j = 0; j < 6; j++)
        assert_float_equal(mask[j], 1, 0);
    assert_int_equal(check((const char *[]){"attack.neurotoxin_ratio=0", NULL}), FT_ECONFIG);
    assert_int_equal(check((const char *[]){"attack.neurotoxin_ratio=1.5", NULL}), FT_ECONFIG);
}

/* Without momentum or weight decay, a masked coordinate never moves: at least
 * N - floor(N ratio) coordinates of the update are exactly 0, with neurotoxin and
 * with attack.grad_mask on the trigger data, where the unmasked attack moves them. */
static void test_neurotoxin_training(void **state)
{
    (void)state;
    rig_t r;
    rig_init(&r);
    ft_attack_task_t k = rig_task(&r);
    ft_attack_result_t res;
    size_t N = r.N, masked = N - (size_t)((double)N * 0.3);
    ft_attack_env_destroy(
        &(ft_attack_env_t *){run(&r, &k, &res, "pgd", "attack.eps=100", NULL, NULL)});
    size_t z_pgd = zeros(r.delta, N);
    ft_attack_env_destroy(&(ft_attack_env_t *){
        run(&r, &k, &res, "neurotoxin", "attack.eps=100", "attack.neurotoxin_ratio=0.3", NULL)});
    size_t z_nt = zeros(r.delta, N);
    assert_true(res.norm > 0);
    assert_true(z_nt >= masked);
    assert_true(z_pgd < masked / 2);
    ft_attack_env_destroy(
        &(ft_attack_env_t *){run(&r, &k, &res, "pixel-trigger", NULL, NULL, NULL)});
    size_t z_trig = zeros(r.delta, N);
    ft_attack_env_destroy(
        &(ft_attack_env_t *){run(&r, &k, &res, "pixel-trigger", "attack.grad_mask=true",
                                 "attack.neurotoxin_ratio=0.3", NULL)});
    assert_true(zeros(r.delta, N) >= masked);
    assert_true(z_trig < masked / 2);
    /* PGD still binds under the mask */
    ft_attack_env_destroy(
        &(ft_attack_env_t *){run(&r, &k, &res, "neurotoxin", "attack.eps=0.01", NULL, NULL)});
    assert_true(res.projections > 0);
    assert_true(res.norm <= 0.01 * (1 + 1e-5));
    rig_free(&r);
}

/* ---- the trigger family ------------------------------------------------------------ */

/* The pixel (row, col) of channel ch of sample i (uint8 storage). */
static int px(const ft_dataset_t *d, uint32_t i, int ch, int row, int col)
{
    return d->pixels[(size_t)i * ft_dataset_sample_size(d) + (size_t)ch * d->h * d->w +
                     (size_t)row * d->w + col];
}

/* Every pixel of sample i, all channels, is 7 but those listed white (255). */
static void expect_white(const ft_dataset_t *d, uint32_t i, const int (*at)[2], int n)
{
    for (int ch = 0; ch < d->c; ch++)
        for (int r = 0; r < d->h; r++)
            for (int c = 0; c < d->w; c++) {
                int white = 0;
                for (int k = 0; k < n; k++)
                    white |= at[k][0] == r && at[k][1] == c;
                if (px(d, i, ch, r, c) != (white ? 255 : 7))
                    fail_msg("channel %d (%d, %d) = %d, want %d", ch, r, c, px(d, i, ch, r, c),
                             white ? 255 : 7);
            }
}

static void test_trigger_shapes(void **state)
{
    (void)state;
    ft_dataset_t *g = NULL, *rgb = NULL;
    assert_int_equal(ft_dataset_new(2, 1, 10, 10, 4, &g), FT_OK);
    assert_int_equal(ft_dataset_new(1, 3, 10, 10, 4, &rgb), FT_OK);
    memset(g->pixels, 7, 2 * 100);
    memset(rgb->pixels, 7, 300);
    /* square, size 2: BackFed's bottom-right corner x_top = H - 2 - 3 - 1 = 4: rows and
     * columns 4..5; sample 0 untouched */
    ft_attack_stamp_shape(g, 1, FT_TRIGGER_SQUARE, 2, -1, -1, 0, 1);
    const int sq[4][2] = {{4, 4}, {4, 5}, {5, 4}, {5, 5}};
    expect_white(g, 1, sq, 4);
    expect_white(g, 0, NULL, 0);
    /* at (row 0, col 8), size 3: columns 8..9 only (column 10 is outside) */
    memset(g->pixels, 7, 2 * 100);
    ft_attack_stamp_shape(g, 0, FT_TRIGGER_SQUARE, 3, 0, 8, 0, 1);
    const int sq2[6][2] = {{0, 8}, {0, 9}, {1, 8}, {1, 9}, {2, 8}, {2, 9}};
    expect_white(g, 0, sq2, 6);
    /* pattern, 1 channel: the 4x4 MNIST mask at rows/cols 10 - 4 - 4 = 2..5:
     * (0,3) (1,2) (2,1) (2,2) (3,0) (3,3) of the mask */
    memset(g->pixels, 7, 2 * 100);
    ft_attack_stamp_shape(g, 0, FT_TRIGGER_PATTERN, 9, -1, -1, 0, 1);
    const int pat[6][2] = {{2, 5}, {3, 4}, {4, 3}, {4, 4}, {5, 2}, {5, 5}};
    expect_white(g, 0, pat, 6);
    /* pattern, 3 channels: the 5x5 CIFAR-10 mask at rows/cols 10 - 5 - 4 = 1..5:
     * (1,3) (2,2) (3,1) (3,3) (4,0) (4,4) of the mask, in every channel */
    ft_attack_stamp_shape(rgb, 0, FT_TRIGGER_PATTERN, 9, -1, -1, 0, 1);
    const int pat5[6][2] = {{2, 4}, {3, 3}, {4, 2}, {4, 4}, {5, 1}, {5, 5}};
    expect_white(rgb, 0, pat5, 6);
    /* pixel: (10 - 1 - 4, same) = (5, 5) */
    memset(g->pixels, 7, 2 * 100);
    ft_attack_stamp_shape(g, 0, FT_TRIGGER_PIXEL, 4, -1, -1, 0, 1);
    const int one[1][2] = {{5, 5}};
    expect_white(g, 0, one, 1);
    /* checkerboard at (1, 1), size 2: white (1,1) (2,2), black (1,2) (2,1) */
    memset(g->pixels, 7, 2 * 100);
    ft_attack_stamp_shape(g, 0, FT_TRIGGER_CHECKERBOARD, 2, 1, 1, 0, 1);
    assert_int_equal(px(g, 0, 0, 1, 1), 255);
    assert_int_equal(px(g, 0, 0, 2, 2), 255);
    assert_int_equal(px(g, 0, 0, 1, 2), 0);
    assert_int_equal(px(g, 0, 0, 2, 1), 0);
    assert_int_equal(px(g, 0, 0, 3, 3), 7);

    /* blended: alpha 1 is the key image itself, the same on every sample and seed-fixed;
     * alpha 0 leaves the image; alpha 0.25 over the pixel 7 and the key k gives
     * lrint(0.75 * 7 + 0.25 k) (e.g. k = 200: 5.25 + 50 = 55.25 -> 55) */
    ft_dataset_t *k1 = NULL;
    assert_int_equal(ft_dataset_new(2, 3, 10, 10, 4, &k1), FT_OK);
    memset(k1->pixels, 7, 600);
    ft_attack_stamp_shape(k1, 0, FT_TRIGGER_BLENDED, 4, -1, -1, 1.0, 5);
    ft_attack_stamp_shape(k1, 1, FT_TRIGGER_BLENDED, 4, -1, -1, 1.0, 5);
    assert_memory_equal(k1->pixels, k1->pixels + 300, 300);
    int distinct = 0;
    for (int j = 1; j < 300; j++)
        distinct += k1->pixels[j] != k1->pixels[0];
    assert_true(distinct > 250); /* a noise image, not a constant */
    memset(rgb->pixels, 7, 300);
    ft_attack_stamp_shape(rgb, 0, FT_TRIGGER_BLENDED, 4, -1, -1, 0.0, 5);
    for (int j = 0; j < 300; j++)
        assert_int_equal(rgb->pixels[j], 7);
    ft_attack_stamp_shape(rgb, 0, FT_TRIGGER_BLENDED, 4, -1, -1, 0.25, 5);
    for (int j = 0; j < 300; j++)
        assert_int_equal(rgb->pixels[j], (int)lrint(0.75 * 7 + 0.25 * k1->pixels[j]));
    /* another seed, another key */
    ft_attack_stamp_shape(k1, 1, FT_TRIGGER_BLENDED, 4, -1, -1, 1.0, 6);
    assert_true(memcmp(k1->pixels, k1->pixels + 300, 300) != 0);
    /* float storage: (1 - alpha) x + alpha k / 255 */
    ft_dataset_t *f = NULL;
    assert_int_equal(ft_dataset_new(1, 3, 10, 10, 4, &f), FT_OK);
    f->values = ft_malloc(300 * sizeof(float));
    for (int j = 0; j < 300; j++)
        f->values[j] = 0.5f;
    ft_attack_stamp_shape(f, 0, FT_TRIGGER_BLENDED, 4, -1, -1, 0.2, 5);
    for (int j = 0; j < 300; j++)
        assert_float_equal(f->values[j], 0.8 * 0.5 + 0.2 * k1->pixels[j] / 255.0, 1e-6);
    ft_attack_stamp_shape(f, 0, FT_TRIGGER_SQUARE, 1, 0, 0, 0, 5);
    assert_float_equal(f->values[0], 1.0, 0);
    assert_float_equal(f->values[100], 1.0, 0);
    ft_dataset_destroy(&f);
    ft_dataset_destroy(&k1);
    ft_dataset_destroy(&g);
    ft_dataset_destroy(&rgb);
    assert_int_equal(check((const char *[]){"attack.blend_alpha=1.5", NULL}), FT_ECONFIG);
    assert_int_equal(check((const char *[]){"attack.trigger_row=-2", NULL}), FT_ECONFIG);
}

/* ---- DBA ---------------------------------------------------------------------------- */

static void test_dba_partition(void **state)
{
    (void)state;
    ft_dataset_t *d = NULL;
    assert_int_equal(ft_dataset_new(1, 1, 12, 12, 4, &d), FT_OK);
    /* 4 parts of 1x4, q = 2: rows 0 and 0 + 3, columns 0..3 and 0 + 4 + 2 = 6..9, as the
     * paper's MNIST poison_pattern_0..3 */
    memset(d->pixels, 7, 144);
    ft_attack_dba_stamp(d, 0, 4, -1, 4, 0, 0);
    int all[16][2], n = 0;
    for (int r = 0; r <= 3; r += 3)
        for (int c0 = 0; c0 <= 6; c0 += 6)
            for (int c = 0; c < 4; c++)
                all[n][0] = r, all[n][1] = c0 + c, n++;
    expect_white(d, 0, (const int(*)[2])all, 16);
    /* part 2 alone: row 3, columns 0..3; part 1: row 0, columns 6..9 */
    memset(d->pixels, 7, 144);
    ft_attack_dba_stamp(d, 0, 4, 2, 4, 0, 0);
    const int p2[4][2] = {{3, 0}, {3, 1}, {3, 2}, {3, 3}};
    expect_white(d, 0, p2, 4);
    memset(d->pixels, 7, 144);
    ft_attack_dba_stamp(d, 0, 4, 1, 4, 1, 1);
    const int p1[4][2] = {{1, 7}, {1, 8}, {1, 9}, {1, 10}};
    expect_white(d, 0, p1, 4);
    /* the union of the parts is the global trigger */
    ft_dataset_t *u = NULL;
    assert_int_equal(ft_dataset_new(1, 1, 12, 12, 4, &u), FT_OK);
    memset(u->pixels, 7, 144);
    for (int j = 0; j < 4; j++)
        ft_attack_dba_stamp(u, 0, 4, j, 4, 0, 0);
    expect_white(u, 0, (const int(*)[2])all, 16);
    ft_dataset_destroy(&u);
    ft_dataset_destroy(&d);

    /* who embeds which part: the fixed pool's top ids 6..9 of 10 take parts 0..3 (mod 3
     * with 3 parts); the single attacker of every-round takes them in turn */
    ft_dataset_t *tr = NULL;
    assert_int_equal(ft_synthetic_make(200, 1, 12, 12, 4, 3, 1, &tr), FT_OK);
    ft_config_t *cfg = ft_test_config(
        keys, (const char *[]){"attack.method=dba", "attack.fl_mode=fixed-pool",
                               "attack.attacker_pool_size=4", "attack.dba_parts=3", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, tr, &env), FT_OK);
    const int want[4] = {0, 1, 2, 0};
    for (uint32_t id = 6; id < 10; id++)
        assert_int_equal(ft_attack_dba_part(env, 5, id), want[id - 6]);
    ft_attack_env_destroy(&env);
    ft_test_set(cfg, "attack.fl_mode=every-round");
    ft_test_set(cfg, "attack.attack_from=2");
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_env_new(&exp, tr, &env), FT_OK);
    for (int t = 2; t <= 7; t++)
        assert_int_equal(ft_attack_dba_part(env, t, 9), (t - 2) % 3);
    ft_attack_env_destroy(&env);
    ft_test_set(cfg, "attack.fl_mode=fixed-freq");
    ft_test_set(cfg, "attack.attack_freq=2");
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_env_new(&exp, tr, &env), FT_OK);
    assert_int_equal(ft_attack_dba_part(env, 2, 9), 0);
    assert_int_equal(ft_attack_dba_part(env, 4, 9), 1);
    assert_int_equal(ft_attack_dba_part(env, 6, 9), 2);
    assert_int_equal(ft_attack_dba_part(env, 8, 9), 0);
    /* the backdoor test set carries the whole trigger (4 parts of 1x4 here = 12 white
     * pixels in rows 0 and 3 with 3 parts: q = 1, rows 0, 3, 6, columns 0..3) */
    ft_dataset_t *bt = NULL;
    assert_int_equal(ft_attack_backdoor_test(env, tr, NULL, &bt), FT_OK);
    assert_true(bt->n > 0);
    for (int r = 0; r < 12; r++)
        for (int c = 0; c < 4; c++)
            if (r == 0 || r == 3 || r == 6)
                assert_int_equal(px(bt, 0, 0, r, c), 255);
    ft_dataset_destroy(&bt);
    ft_attack_env_destroy(&env);
    ft_config_destroy(&cfg);
    ft_dataset_destroy(&tr);
}

/* ---- MinMax / MinSum against the NumPy port of the authors' code -------------------- */

static void test_minmax_golden(void **state)
{
    (void)state;
    FILE *f = ft_test_fixture_open("attacks/minmax.txt", "r");
    size_t B, N;
    assert_int_equal(fscanf(f, "%zu %zu", &B, &N), 2);
    float *U = ft_malloc(B * N * sizeof *U), *mean = ft_malloc(N * 4), *dir = ft_malloc(N * 4);
    float *mal = ft_malloc(N * 4), *want = ft_malloc(N * 4);
    for (size_t j = 0; j < B * N; j++)
        assert_int_equal(fscanf(f, "%f", &U[j]), 1);
    char crit[16], dev[16];
    double gamma;
    int cases = 0;
    while (fscanf(f, "%15s %15s %lf", crit, dev, &gamma) == 3) {
        for (size_t j = 0; j < N; j++)
            assert_int_equal(fscanf(f, "%f", &want[j]), 1);
        ft_perturbation_t kind = !strcmp(dev, "std")    ? FT_PERTURB_STD
                                 : !strcmp(dev, "sign") ? FT_PERTURB_SIGN
                                                        : FT_PERTURB_UNIT_VEC;
        ft_attack_agr_direction(B, N, U, kind, mean, dir);
        double g = ft_attack_agr_gamma(B, N, U, mean, dir, !strcmp(crit, "minsum"), mal);
        printf("%s %s: gamma %.9f (numpy %.9f)\n", crit, dev, g, gamma);
        assert_float_equal(g, gamma, 2e-5);
        for (size_t j = 0; j < N; j++)
            assert_float_equal(mal[j], want[j], 2e-5);
        cases++;
    }
    assert_int_equal(cases, 6);
    fclose(f);
    ft_free(U);
    ft_free(mean);
    ft_free(dir);
    ft_free(mal);
    ft_free(want);
}

/* ---- Fang and Mimic ------------------------------------------------------------------ */

static void test_fang(void **state)
{
    (void)state;
    /* trim attack, B = 3, N = 4 (rows are updates):
     *   column 0 {1, 2, 3}: mean > 0, min 1 > 0   -> in [0.5, 1]
     *   column 1 {-1, -2, -4}: mean < 0, max -1   -> in [-1, -0.5]
     *   column 2 {-1, 0, 3}: mean > 0, min -1 < 0 -> in [-2, -1]
     *   column 3 {2, 4, -9}: mean < 0, max 4 > 0  -> in [4, 8] */
    const float U[12] = {1, -1, -1, 2, 2, -2, 0, 4, 3, -4, 3, -9};
    const double lo[4] = {0.5, -1, -2, 4}, hi[4] = {1, -0.5, -1, 8};
    double seen_lo[4] = {9, 9, 9, 9}, seen_hi[4] = {-9, -9, -9, -9};
    ft_rng_t rng;
    ft_rng_init(&rng, 3, 1, 1, FT_RNG_TEST);
    float out[4];
    for (int rep = 0; rep < 200; rep++) {
        ft_attack_fang_trim(3, 4, U, &rng, out);
        for (int j = 0; j < 4; j++) {
            assert_true(out[j] >= lo[j] - 1e-6 && out[j] <= hi[j] + 1e-6);
            seen_lo[j] = out[j] < seen_lo[j] ? out[j] : seen_lo[j];
            seen_hi[j] = out[j] > seen_hi[j] ? out[j] : seen_hi[j];
        }
    }
    for (int j = 0; j < 4; j++) /* uniform over the whole interval, not a point */
        assert_true(seen_hi[j] - seen_lo[j] > 0.8 * (hi[j] - lo[j]));

    /* Krum attack, N = 1, benign {1.0, 1.2, 0.9, 1.1}, mean 1.05, s = +1.
     * m = 2: the bound sums B - 2 - m = 0 neighbours (term 0) + max |b - mean| = 0.15;
     * Krum over 2 copies + 4 benign sums n - 2 - m = 2 distances: the copies score 0
     * and win at once: -0.15 is sent. */
    const float b1[4] = {1.0f, 1.2f, 0.9f, 1.1f};
    float mal;
    assert_float_equal(ft_attack_fang_krum(4, 1, b1, 2, &mal), 0.15, 1e-6);
    assert_float_equal(mal, -0.15, 1e-6);
    /* m = 1: the bound is 0.1 / (4 - 1 - 1) + 0.15 = 0.2; the one copy at -lambda never
     * beats a benign update (score 0 + 0.01), so lambda halves down to the last value
     * above 1e-5: 0.2 / 2^14 */
    double last = 0.2 / 16384;
    assert_float_equal(ft_attack_fang_krum(4, 1, b1, 1, &mal), last, 1e-9);
    assert_float_equal(mal, -last, 1e-9);
}

static void test_mimic(void **state)
{
    (void)state;
    double work[16 + 8 + 2]; /* B = 4, N = 2 at most */
    /* x = (0,0), (1,0), (5,0): centred (-2,0), (-1,0), (3,0): the top direction is the
     * x axis and the most extreme update along it the third */
    const float a[6] = {0, 0, 1, 0, 5, 0};
    assert_int_equal(ft_attack_mimic_pick(3, 2, a, work), 2);
    /* along y: 1, -4, 2 (mean -1/3): the second */
    const float b[6] = {0, 1, 0, -4, 0, 2};
    assert_int_equal(ft_attack_mimic_pick(3, 2, b, work), 1);
    /* the top direction, not the largest norm: (10, 10), (10.5, 10.5), (11, 11) and
     * (10.5, 9.5) — the spread is along x = y (variance 0.5 vs 0.25 across), where
     * the extremes are the first and the third (|v| equal: the lower index) */
    const float c[8] = {10, 10, 10.5f, 10.5f, 11, 11, 10.5f, 9.5f};
    size_t i = ft_attack_mimic_pick(4, 2, c, work);
    assert_true(i == 0 || i == 2);
    /* all equal: any (the first) */
    const float e[4] = {1, 1, 1, 1};
    assert_int_equal(ft_attack_mimic_pick(2, 2, e, work), 0);
}

/* The benign estimates of minmax / minsum / fang / mimic are honest-sized: mimic sends
 * one of them, within a factor 2 of the norm of an honest update on the whole
 * partition (sign-flip sends minus that); a 1/B chunk for the honest epochs gives a
 * fraction of it. */
static void test_estimates_full_size(void **state)
{
    (void)state;
    rig_t r;
    rig_init(&r);
    ft_attack_task_t k = rig_task(&r);
    ft_attack_result_t res;
    ft_attack_env_destroy(&(ft_attack_env_t *){run(&r, &k, &res, "sign-flip", NULL, NULL, NULL)});
    double honest = res.norm;
    ft_attack_env_destroy(&(ft_attack_env_t *){
        run(&r, &k, &res, "mimic", "attack.num_benign_estimates=5", NULL, NULL)});
    printf("honest %.4f, mimic %.4f\n", honest, res.norm);
    assert_true(res.norm > 0.5 * honest && res.norm < 2 * honest);
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eps_auto),
        cmocka_unit_test(test_neurotoxin_mask),
        cmocka_unit_test(test_neurotoxin_training),
        cmocka_unit_test(test_trigger_shapes),
        cmocka_unit_test(test_dba_partition),
        cmocka_unit_test(test_minmax_golden),
        cmocka_unit_test(test_fang),
        cmocka_unit_test(test_mimic),
        cmocka_unit_test(test_estimates_full_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
