/* test_train_augment: the training loop trains on augmented samples (model/ft_train.c
 * with data/ft_augment.h), one draw per sample in visiting order, fresh each epoch.
 *
 * The check replays the loop from outside: from copies of the two streams it rebuilds
 * each epoch's visiting order and draws, writes every sample's augmented image into a
 * float dataset (mean 0, std 1: gathered as stored) at the sample's own index, and
 * trains an identical model on that without augmentation. The parameters must agree
 * bit for bit with the augmented run's, and differ from a run without augmentation.
 * The crops themselves are checked against NumPy in test_augment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_augment.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_model.h"
#include "ft_ops.h"
#include "ft_readers.h"
#include "ft_rng.h"
#include "ft_train.h"

enum { N = 40, C = 3, H = 8, W = 8, BATCH = 8 };

static ft_model_t *fresh_model(void)
{
    ft_model_t *m = NULL;
    assert_int_equal(ft_model_new("mlp", "16", C, H, W, 10, BATCH, &ft_ops_cpu, &m), FT_OK);
    ft_rng_t init;
    ft_rng_init(&init, 3, 0, 0, FT_RNG_INIT);
    ft_model_init(m, &init);
    return m;
}

/* Trains a fresh model for `epochs` calls of one epoch each (as pre-training does:
 * the streams carry over between calls) and returns its parameters (ft_malloc). */
static float *train(const ft_dataset_t *const *ds, int epochs, ft_augment_t aug, size_t *n_params)
{
    ft_model_t *m = fresh_model();
    ft_trainer_t *t = ft_trainer_new(m, BATCH);
    assert_non_null(t);
    ft_rng_t shuffle, arng;
    ft_rng_init(&shuffle, 9, 2, 5, FT_RNG_SHUFFLE);
    ft_rng_init(&arng, 9, 2, 5, FT_RNG_AUGMENT);
    ft_train_opts_t o = {.epochs = 1,
                         .batch_size = BATCH,
                         .lr = 0.1f,
                         .momentum = 0.9f,
                         .augment = aug,
                         .augment_rng = &arng};
    for (int e = 0; e < epochs; e++)
        assert_int_equal(
            ft_train_run(t, ds[e], NULL, 0, &o, &shuffle, e == 0, NULL, NULL, NULL, NULL), FT_OK);
    *n_params = ft_model_num_params(m);
    float *p = ft_malloc(*n_params * sizeof(float));
    ft_model_get_params(m, p);
    ft_trainer_destroy(&t);
    ft_model_destroy(&m);
    return p;
}

/* Epoch e's augmented copy of src, in a float dataset gathered as stored. */
static ft_dataset_t *replay(const ft_dataset_t *src, ft_rng_t *shuffle, ft_rng_t *arng,
                            const ft_augment_t *aug)
{
    const size_t s = (size_t)C * H * W;
    ft_dataset_t *out = NULL;
    assert_int_equal(ft_dataset_new(N, C, H, W, src->num_classes, &out), FT_OK);
    ft_free(out->pixels);
    out->pixels = NULL;
    out->values = ft_malloc((size_t)N * s * sizeof(float));
    for (int c = 0; c < C; c++) {
        out->mean[c] = 0.0f;
        out->std[c] = 1.0f;
    }
    memcpy(out->labels, src->labels, N);
    uint32_t perm[N];
    for (uint32_t i = 0; i < N; i++)
        perm[i] = i;
    ft_rng_shuffle_u32(shuffle, perm, N);
    float fill[C], x[C * H * W];
    int32_t y;
    ft_augment_zero_fill(src, fill);
    for (uint32_t k = 0; k < N; k++) {
        ft_dataset_gather(src, &perm[k], 1, x, &y);
        ft_augment_apply(aug, fill, ft_augment_draw(arng, aug->pad), x, C, H, W,
                         out->values + (size_t)perm[k] * s);
    }
    return out;
}

static void check_mode(ft_augment_mode_t mode)
{
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_synthetic_make(N, C, H, W, 10, 7, 0, &ds), FT_OK);
    ds->mean[1] = 0.4f; /* a zero pixel normalises to something else in each channel */
    ds->std[2] = 0.2f;
    const ft_augment_t aug = {.mode = mode, .pad = 2}, none = {0};

    ft_rng_t shuffle, arng;
    ft_rng_init(&shuffle, 9, 2, 5, FT_RNG_SHUFFLE);
    ft_rng_init(&arng, 9, 2, 5, FT_RNG_AUGMENT);
    ft_dataset_t *ep[2];
    ep[0] = replay(ds, &shuffle, &arng, &aug);
    ep[1] = replay(ds, &shuffle, &arng, &aug);
    /* each epoch draws afresh: the two epochs' images differ */
    assert_memory_not_equal(ep[0]->values, ep[1]->values, (size_t)N * C * H * W * sizeof(float));

    size_t n1, n2, n3;
    const ft_dataset_t *plain[2] = {ds, ds};
    float *p_aug = train(plain, 2, aug, &n1);
    float *p_replay = train((const ft_dataset_t *const *)ep, 2, none, &n2);
    float *p_none = train(plain, 2, none, &n3);
    assert_int_equal(n1, n2);
    assert_memory_equal(p_aug, p_replay, n1 * sizeof(float));
    assert_memory_not_equal(p_aug, p_none, n1 * sizeof(float));
    ft_free(p_aug);
    ft_free(p_replay);
    ft_free(p_none);
    ft_dataset_destroy(&ep[0]);
    ft_dataset_destroy(&ep[1]);
    ft_dataset_destroy(&ds);
}

static void test_train_sees_reflect_crops(void **state)
{
    (void)state;
    check_mode(FT_AUGMENT_CROP_FLIP_REFLECT);
}

static void test_train_sees_zero_crops(void **state)
{
    (void)state;
    check_mode(FT_AUGMENT_CROP_FLIP_ZERO);
}

/* Mode none ignores the stream (it may be NULL) and trains as before the feature. */
static void test_train_none_needs_no_stream(void **state)
{
    (void)state;
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_synthetic_make(N, C, H, W, 10, 7, 0, &ds), FT_OK);
    ft_model_t *m = fresh_model();
    ft_trainer_t *t = ft_trainer_new(m, BATCH);
    ft_rng_t shuffle;
    ft_rng_init(&shuffle, 9, 2, 5, FT_RNG_SHUFFLE);
    ft_train_opts_t o = {.epochs = 1, .batch_size = BATCH, .lr = 0.1f};
    assert_int_equal(ft_train_run(t, ds, NULL, 0, &o, &shuffle, 1, NULL, NULL, NULL, NULL), FT_OK);
    /* reflect padding as large as the image: refused, naming the key */
    ft_rng_t arng;
    ft_rng_init(&arng, 9, 2, 5, FT_RNG_AUGMENT);
    o.augment = (ft_augment_t){.mode = FT_AUGMENT_CROP_FLIP_REFLECT, .pad = H};
    o.augment_rng = &arng;
    assert_int_equal(ft_train_run(t, ds, NULL, 0, &o, &shuffle, 1, NULL, NULL, NULL, NULL),
                     FT_EINVAL);
    assert_non_null(strstr(ft_error_message(), "data.augment_pad"));
    ft_trainer_destroy(&t);
    ft_model_destroy(&m);
    ft_dataset_destroy(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_sees_reflect_crops),
        cmocka_unit_test(test_train_sees_zero_crops),
        cmocka_unit_test(test_train_none_needs_no_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
