/* test_augment: the seeded crop + flip (data/ft_augment.h) and its keys.
 *
 * Golden crops come from NumPy (tests/fixtures/augment/gen_augment.py: np.pad
 * mode='reflect' / 'constant', slicing, a reversed slice for the flip; the reflect
 * padding checked there against torch's F.pad). Every case must match bit for bit:
 * augmentation only moves values. The draws are checked for their range (offsets 0
 * and 2·pad both reached, nothing outside), their determinism (same key, same draws)
 * and their keying (another round or client, other draws). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_augment.h"
#include "ft_config.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_readers.h"
#include "ft_test_data.h"
#include "ft_test_experiment.h"

static float *fixture(const char *name, size_t *n, int shape[4])
{
    char path[1024];
    const char *src = getenv("FT_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/fixtures/augment/%s", src ? src : ".", name);
    float *d = NULL;
    int ndim = 0;
    if (ft_npy_read_floats(path, &d, n, shape, &ndim) != FT_OK)
        fail_msg("%s: %s", path, ft_error_message());
    return d;
}

static void test_augment_golden(void **state)
{
    (void)state;
    size_t n;
    int si[4], sf[4], sc[4], se[4];
    float *img = fixture("image.npy", &n, si);
    float *fill = fixture("fill.npy", &n, sf);
    float *cases = fixture("cases.npy", &n, sc);
    float *expected = fixture("expected.npy", &n, se);
    const int C = si[0], H = si[1], W = si[2], K = sc[0];
    assert_int_equal(sf[0], C);
    assert_int_equal(sc[1], 5);
    assert_int_equal(se[0], K);
    assert_true(K >= 20);
    const size_t s = (size_t)C * H * W;
    float *out = ft_malloc(s * sizeof(float));
    int reflect = 0, zero = 0;
    for (int k = 0; k < K; k++) {
        const float *row = cases + 5 * k;
        ft_augment_t a = {.mode = row[0] == 1 ? FT_AUGMENT_CROP_FLIP_REFLECT
                                              : FT_AUGMENT_CROP_FLIP_ZERO,
                          .pad = (int)row[1]};
        reflect += a.mode == FT_AUGMENT_CROP_FLIP_REFLECT;
        zero += a.mode == FT_AUGMENT_CROP_FLIP_ZERO;
        assert_int_equal(ft_augment_check(&a, H, W), FT_OK);
        ft_augment_draw_t d = {.dy = (int)row[2], .dx = (int)row[3], .flip = (int)row[4]};
        for (size_t j = 0; j < s; j++)
            out[j] = 1e30f; /* every element must be written */
        ft_augment_apply(&a, fill, d, img, C, H, W, out);
        for (size_t j = 0; j < s; j++)
            if (out[j] != expected[(size_t)k * s + j])
                fail_msg("case %d (mode %d pad %d dy %d dx %d flip %d): element %zu is %g, "
                         "NumPy says %g",
                         k, (int)row[0], a.pad, d.dy, d.dx, d.flip, j, (double)out[j],
                         (double)expected[(size_t)k * s + j]);
    }
    assert_true(reflect > 0 && zero > 0);
    ft_free(out);
    ft_free(img);
    ft_free(fill);
    ft_free(cases);
    ft_free(expected);
}

/* ft_augment_batch: each sample of the batch is its own draw, in order, and equals
 * ft_augment_apply with that draw; mode none changes nothing and draws nothing. */
static void test_augment_batch(void **state)
{
    (void)state;
    enum { B = 5, C = 2, H = 4, W = 3 };
    const size_t s = (size_t)C * H * W;
    float x[B * C * H * W], orig[B * C * H * W], want[C * H * W], scratch[C * H * W];
    for (size_t j = 0; j < B * s; j++)
        orig[j] = x[j] = (float)j;
    const float fill[C] = {-7, 9};
    ft_rng_t r, r2;
    ft_rng_init(&r, 5, 1, 2, FT_RNG_AUGMENT);
    r2 = r;
    ft_augment_t none = {.mode = FT_AUGMENT_NONE, .pad = 2};
    ft_augment_batch(&none, &r, fill, B, C, H, W, x, scratch);
    assert_memory_equal(x, orig, sizeof x);
    assert_int_equal(ft_rng_u32(&r), ft_rng_u32(&r2)); /* no draws taken */
    ft_rng_init(&r, 5, 1, 2, FT_RNG_AUGMENT);
    r2 = r;
    ft_augment_t a = {.mode = FT_AUGMENT_CROP_FLIP_ZERO, .pad = 2};
    ft_augment_batch(&a, &r, fill, B, C, H, W, x, scratch);
    int changed = 0;
    for (int b = 0; b < B; b++) {
        ft_augment_apply(&a, fill, ft_augment_draw(&r2, a.pad), orig + b * s, C, H, W, want);
        assert_memory_equal(x + b * s, want, sizeof want);
        changed += memcmp(x + b * s, orig + b * s, sizeof want) != 0;
    }
    assert_true(changed >= 3);                         /* 1/50 per sample of an identity draw */
    assert_int_equal(ft_rng_u32(&r), ft_rng_u32(&r2)); /* three draws per sample */
}

static void test_augment_draw_range(void **state)
{
    (void)state;
    ft_rng_t r;
    ft_rng_init(&r, 1, 0, 0, FT_RNG_AUGMENT);
    int seen_dy[9] = {0}, seen_dx[9] = {0}, flips[2] = {0};
    for (int i = 0; i < 4000; i++) {
        ft_augment_draw_t d = ft_augment_draw(&r, 4);
        assert_true(d.dy >= 0 && d.dy <= 8 && d.dx >= 0 && d.dx <= 8);
        assert_true(d.flip == 0 || d.flip == 1);
        seen_dy[d.dy]++;
        seen_dx[d.dx]++;
        flips[d.flip]++;
    }
    for (int v = 0; v <= 8; v++) /* 0 and 2·pad included: 4000/9 expected each */
        assert_true(seen_dy[v] > 300 && seen_dx[v] > 300);
    assert_true(flips[0] > 1800 && flips[1] > 1800);
    for (int i = 0; i < 100; i++) { /* pad 0: flips only */
        ft_augment_draw_t d = ft_augment_draw(&r, 0);
        assert_true(d.dy == 0 && d.dx == 0);
    }
}

static void draws(uint64_t seed, uint32_t round, uint32_t client, ft_augment_draw_t *out, int n)
{
    ft_rng_t r;
    ft_rng_init(&r, seed, round, client, FT_RNG_AUGMENT);
    for (int i = 0; i < n; i++)
        out[i] = ft_augment_draw(&r, 4);
}

static void test_augment_keyed(void **state)
{
    (void)state;
    enum { N = 64 };
    ft_augment_draw_t a[N], b[N], c[N], d[N], e[N];
    draws(7, 3, 11, a, N);
    draws(7, 3, 11, b, N);
    draws(7, 4, 11, c, N);
    draws(7, 3, 12, d, N);
    draws(8, 3, 11, e, N);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    assert_memory_not_equal(a, d, sizeof a);
    assert_memory_not_equal(a, e, sizeof a);
    /* and not the shuffle stream of the same key */
    ft_rng_t s, g;
    ft_rng_init(&s, 7, 3, 11, FT_RNG_SHUFFLE);
    ft_rng_init(&g, 7, 3, 11, FT_RNG_AUGMENT);
    assert_int_not_equal(ft_rng_u32(&s), ft_rng_u32(&g));
}

static void test_augment_check(void **state)
{
    (void)state;
    ft_augment_t a = {.mode = FT_AUGMENT_CROP_FLIP_REFLECT, .pad = 4};
    assert_int_equal(ft_augment_check(&a, 5, 6), FT_OK); /* pad = H - 1 */
    assert_int_equal(ft_augment_check(&a, 4, 6), FT_EINVAL);
    assert_non_null(strstr(ft_error_message(), "data.augment_pad"));
    assert_int_equal(ft_augment_check(&a, 6, 4), FT_EINVAL);
    a.mode = FT_AUGMENT_CROP_FLIP_ZERO; /* any pad: the image can vanish into the fill */
    assert_int_equal(ft_augment_check(&a, 2, 2), FT_OK);
    a.pad = -1;
    assert_int_equal(ft_augment_check(&a, 8, 8), FT_EINVAL);
    a.mode = FT_AUGMENT_NONE;
    assert_int_equal(ft_augment_check(&a, 1, 1), FT_OK);
}

/* The zero fill is, bit for bit, what gathering a black pixel gives. */
static void test_augment_zero_fill(void **state)
{
    (void)state;
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_dataset_new(1, 3, 1, 1, 2, &ds), FT_OK);
    const float mean[3] = {125.3f / 255.0f, 123.0f / 255.0f, 113.9f / 255.0f};
    const float std[3] = {63.0f / 255.0f, 62.1f / 255.0f, 66.7f / 255.0f};
    for (int c = 0; c < 3; c++) {
        ds->mean[c] = mean[c];
        ds->std[c] = std[c];
        ds->pixels[c] = 0;
    }
    float fill[3], x[3];
    int32_t y;
    uint32_t i0 = 0;
    ft_augment_zero_fill(ds, fill);
    ft_dataset_gather(ds, &i0, 1, x, &y);
    assert_memory_equal(fill, x, sizeof x);
    assert_true(fill[0] < -1.9f && fill[0] > -2.0f); /* -0.4914 / 0.2471 */
    ft_dataset_destroy(&ds);
}

/* The keys: defaults none / same / 4; same follows data.augment; ranges; and reflect
 * padding against the loaded images' size, naming the key. */
static void test_augment_keys(void **state)
{
    (void)state;
    ft_experiment_t exp;
    ft_config_t *cfg = ft_test_config(ft_test_population, NULL);
    ft_test_experiment(cfg, &exp);
    assert_int_equal(exp.data.augment, FT_AUGMENT_NONE);
    assert_int_equal(exp.data.augment_attack, FT_AUGMENT_NONE);
    assert_int_equal(exp.data.augment_train, FT_AUGMENT_NONE);
    assert_int_equal(exp.data.augment_pad, 4);
    ft_test_set(cfg, "data.augment=crop-flip-reflect");
    ft_test_experiment(cfg, &exp);
    assert_int_equal(exp.data.augment, FT_AUGMENT_CROP_FLIP_REFLECT);
    assert_int_equal(exp.data.augment_attack, FT_AUGMENT_CROP_FLIP_REFLECT);
    assert_int_equal(exp.data.augment_train, FT_AUGMENT_CROP_FLIP_REFLECT);
    ft_test_set(cfg, "data.augment_attack=crop-flip-zero");
    ft_test_set(cfg, "data.augment_train=none");
    ft_test_experiment(cfg, &exp);
    assert_int_equal(exp.data.augment, FT_AUGMENT_CROP_FLIP_REFLECT);
    assert_int_equal(exp.data.augment_attack, FT_AUGMENT_CROP_FLIP_ZERO);
    assert_int_equal(exp.data.augment_train, FT_AUGMENT_NONE);
    assert_int_not_equal(ft_config_set(cfg, "data.augment=crop", "test"), FT_OK);

    ft_test_set(cfg, "data.augment_pad=65");
    assert_int_equal(ft_experiment_read(cfg, &exp), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "data.augment_pad"));
    ft_test_set(cfg, "data.augment_pad=-1");
    assert_int_equal(ft_experiment_read(cfg, &exp), FT_ECONFIG);

    /* 8x8 images: reflect pad 7 loads, 8 does not (for any of the three roles) */
    ft_dataset_t *ds = NULL;
    ft_test_set(cfg, "data.augment_pad=7");
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_OK);
    ft_dataset_destroy(&ds);
    ft_test_set(cfg, "data.augment_pad=8");
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "data.augment_pad"));
    assert_null(ds);
    ft_test_set(cfg, "data.augment=none");
    ft_test_set(cfg, "data.augment_attack=crop-flip-zero");
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_OK); /* zero padding: any pad */
    ft_dataset_destroy(&ds);
    ft_test_set(cfg, "data.augment_train=crop-flip-reflect");
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_ECONFIG);
    ft_test_set(cfg, "data.augment_train=none");
    ft_test_set(cfg, "data.augment_attack=crop-flip-reflect");
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_ECONFIG);
    ft_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_augment_golden),     cmocka_unit_test(test_augment_batch),
        cmocka_unit_test(test_augment_draw_range), cmocka_unit_test(test_augment_keyed),
        cmocka_unit_test(test_augment_check),      cmocka_unit_test(test_augment_zero_fill),
        cmocka_unit_test(test_augment_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
