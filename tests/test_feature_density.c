/* test_feature_density: the density miner — the tied-covariance Gaussian mixture over
 * features (scenario/ft_feature_density.c) and the lowest-density selection with its p
 * (data/ft_edge_density.c) against a NumPy port on a planted feature matrix
 * (tests/fixtures/density/gen_density.py); the selection's boundaries (ties, want at 1
 * and at the class size, a class smaller than asked for) by hand; the penultimate
 * feature extractor (model/ft_model_features.c) against the full model's logits; and
 * ft_edge_build with attack.edge_miner = density from a scores file, with its errors. */
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
#include "ft_checkpoint.h"
#include "ft_dataset.h"
#include "ft_edge.h"
#include "ft_edge_density.h"
#include "ft_error.h"
#include "ft_feature_density.h"
#include "ft_model_features.h"
#include "ft_ops.h"
#include "ft_readers.h"
#include "ft_rng.h"
#include "ft_test_tmpdir.h"

/* Reads tests/fixtures/density/<name> as floats; fails the test if absent. */
static float *fixture(const char *name, size_t *n)
{
    const char *src = getenv("FT_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/density/%s", src ? src : ".", name);
    float *v = NULL;
    int shape[4], ndim = 0;
    if (ft_npy_read_floats(path, &v, n, shape, &ndim) != FT_OK)
        fail_msg("cannot read fixture %s (is FT_SOURCE_DIR set?): %s", path, ft_error_message());
    return v;
}

typedef struct {
    float *F;        /* n×4 features */
    uint8_t *labels; /* n */
    float *logf;     /* n, NumPy's log densities */
    size_t n;        /* samples */
} planted_t;

static void planted(planted_t *p)
{
    size_t nf = 0, nl = 0;
    p->F = fixture("features.npy", &nf);
    float *l = fixture("labels.npy", &nl);
    p->logf = fixture("logf.npy", &p->n);
    assert_int_equal(nf, 4 * p->n);
    assert_int_equal(nl, p->n);
    p->labels = ft_malloc(p->n);
    for (size_t i = 0; i < p->n; i++)
        p->labels[i] = (uint8_t)l[i];
    ft_free(l);
}

static void planted_free(planted_t *p)
{
    ft_free(p->F);
    ft_free(p->labels);
    ft_free(p->logf);
}

static void test_density_matches_numpy(void **state)
{
    (void)state;
    planted_t p;
    planted(&p);
    float *logf = ft_malloc(p.n * sizeof *logf);
    assert_int_equal(ft_feature_density(p.F, (uint32_t)p.n, 4, p.labels, 3, logf), FT_OK);
    for (size_t i = 0; i < p.n; i++)
        if (fabsf(logf[i] - p.logf[i]) > 1e-4f * (1 + fabsf(p.logf[i])))
            fail_msg("log density %zu: %g, NumPy %g", i, logf[i], p.logf[i]);
    /* A class without samples has no component: 4 classes, the 4th empty, is the same. */
    float *logf4 = ft_malloc(p.n * sizeof *logf4);
    assert_int_equal(ft_feature_density(p.F, (uint32_t)p.n, 4, p.labels, 4, logf4), FT_OK);
    for (size_t i = 0; i < p.n; i++)
        assert_float_equal(logf4[i], logf[i], 1e-5 * (1 + fabs(logf[i])));
    /* A label beyond the classes is refused. */
    assert_int_equal(ft_feature_density(p.F, (uint32_t)p.n, 4, p.labels, 2, logf4), FT_EINVAL);
    ft_free(logf);
    ft_free(logf4);
    planted_free(&p);
}

static void test_select_matches_numpy(void **state)
{
    (void)state;
    planted_t p;
    planted(&p);
    size_t k = 0, kp = 0;
    float *want_idx = fixture("select3_idx.npy", &k), *want_p = fixture("select3_p.npy", &kp);
    assert_int_equal(k, 3);
    assert_int_equal(kp, 3);
    /* the NumPy density ranks the planted outliers 59, 58, 57 rarest */
    assert_int_equal((int)want_idx[0], 59);
    uint32_t idx[3], class_n = 0;
    double pv[3];
    assert_int_equal(
        ft_edge_density_select(p.logf, p.labels, (uint32_t)p.n, 0, 3, idx, pv, &class_n), FT_OK);
    assert_int_equal(class_n, 20);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(idx[i], (uint32_t)want_idx[i]);
        assert_float_equal(pv[i], want_p[i], 1e-6);
    }
    /* and so does fedtail's own density */
    float *logf = ft_malloc(p.n * sizeof *logf);
    assert_int_equal(ft_feature_density(p.F, (uint32_t)p.n, 4, p.labels, 3, logf), FT_OK);
    assert_int_equal(
        ft_edge_density_select(logf, p.labels, (uint32_t)p.n, 0, 3, idx, NULL, &class_n), FT_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(idx[i], (uint32_t)want_idx[i]);
    ft_free(logf);
    ft_free(want_idx);
    ft_free(want_p);
    planted_free(&p);
}

/* Hand-worked: scores {2, 1, 1, 0, 1, 3}, class 0 = {0, 1, 2, 4}, n = 6. */
static const float TIE_S[6] = {2, 1, 1, 0, 1, 3};
static const uint8_t TIE_L[6] = {0, 0, 0, 1, 0, 1};

static void test_select_ties(void **state)
{
    (void)state;
    uint32_t idx[2], class_n = 0;
    double p[2];
    assert_int_equal(ft_edge_density_select(TIE_S, TIE_L, 6, 0, 2, idx, p, &class_n), FT_OK);
    assert_int_equal(class_n, 4);
    /* three class-0 points tie at 1: the lower indices first */
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 2);
    /* #{s <= 1} = {1, 2, 3, 4}: a tie counts as at most as dense */
    assert_float_equal(p[0], 4.0 / 6, 1e-12);
    assert_float_equal(p[1], 4.0 / 6, 1e-12);
}

static void test_select_want_bounds(void **state)
{
    (void)state;
    uint32_t idx[5], class_n = 0;
    double p[5];
    /* want = 1: the rarest (index 1 of the tie at 1; class 1's 0 is not class 0) */
    assert_int_equal(ft_edge_density_select(TIE_S, TIE_L, 6, 0, 1, idx, p, &class_n), FT_OK);
    assert_int_equal(idx[0], 1);
    /* want = class size: the whole class, rarest first; the densest has p = 5/6 */
    assert_int_equal(ft_edge_density_select(TIE_S, TIE_L, 6, 0, 4, idx, p, &class_n), FT_OK);
    const uint32_t order[4] = {1, 2, 4, 0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(idx[i], order[i]);
    assert_float_equal(p[3], 5.0 / 6, 1e-12);
    /* class 1's densest point is the densest of all: p = 1 */
    assert_int_equal(ft_edge_density_select(TIE_S, TIE_L, 6, 1, 2, idx, p, &class_n), FT_OK);
    assert_int_equal(idx[0], 3);
    assert_int_equal(idx[1], 5);
    assert_float_equal(p[0], 1.0 / 6, 1e-12);
    assert_float_equal(p[1], 1.0, 1e-12);
    /* fewer points than asked for, none asked for, an absent class: refused */
    assert_int_equal(ft_edge_density_select(TIE_S, TIE_L, 6, 0, 5, idx, p, &class_n), FT_EINVAL);
    assert_non_null(strstr(ft_error_message(), "attack.edge_size"));
    assert_int_equal(ft_edge_density_select(TIE_S, TIE_L, 6, 0, 0, idx, p, &class_n), FT_EINVAL);
    assert_int_equal(ft_edge_density_select(TIE_S, TIE_L, 6, 7, 1, idx, p, &class_n), FT_EINVAL);
    assert_int_equal(class_n, 0);
}

/* The features through the classifier (fc2: its view is the full model's last) are the
 * full model's logits. */
static void test_features_are_classifier_input(void **state)
{
    (void)state;
    enum { B = 3 };
    char dir[FT_TEST_TMPDIR_MAX], path[FT_TEST_TMPDIR_MAX + 32];
    assert_int_equal(ft_test_tmpdir_make(dir, sizeof dir, "feat"), 0);
    ft_test_tmpdir_path(path, sizeof path, dir, "m.ckpt");
    ft_model_t *full = NULL, *feat = NULL;
    assert_int_equal(ft_model_new("lenet5", NULL, 1, 28, 28, 10, B, &ft_ops_cpu, &full), FT_OK);
    ft_rng_t rng;
    ft_rng_init(&rng, 7, 0, 0, FT_RNG_INIT);
    ft_model_init(full, &rng);
    ft_model_set_training(full, 0);
    size_t N = ft_model_num_params(full);
    float *w = ft_malloc(N * sizeof *w);
    ft_model_get_params(full, w);
    assert_int_equal(ft_checkpoint_save(path, ft_model_layout(full)->hash, w, N, NULL, NULL, 0),
                     FT_OK);
    int dim = 0, relu = 0;
    assert_int_equal(ft_model_features_new("lenet5", NULL, 1, 28, 28, 10, path, B, &ft_ops_cpu,
                                           &feat, &dim, &relu),
                     FT_OK);
    assert_int_equal(dim, 500);
    assert_int_equal(relu, 1);
    float x[B * 28 * 28];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = (float)ft_rng_normal(&rng);
    float logits[B * 10];
    memcpy(logits, ft_model_forward(full, x, B), sizeof logits);
    const float *phi = ft_model_forward(feat, x, B);
    const ft_layout_t *lay = ft_model_layout(full);
    const ft_param_view_t *W2 = &lay->views[lay->num_views - 2],
                          *b2 = &lay->views[lay->num_views - 1];
    assert_int_equal(W2->shape[1], 500);
    for (int b = 0; b < B; b++)
        for (int o = 0; o < 10; o++) {
            double z = w[b2->offset + o];
            for (int k = 0; k < 500; k++) {
                float h = phi[b * 500 + k] > 0 ? phi[b * 500 + k] : 0;
                z += (double)w[W2->offset + (size_t)o * 500 + k] * h;
            }
            assert_float_equal(z, logits[b * 10 + o], 1e-4 * (1 + fabs(z)));
        }
    /* a model with no hidden linear layer has no penultimate features */
    ft_model_destroy(&feat);
    assert_int_equal(
        ft_model_features_new("mlp", "", 1, 28, 28, 10, path, B, &ft_ops_cpu, &feat, &dim, &relu),
        FT_EUNSUPPORTED);
    /* a checkpoint of another model is refused */
    assert_int_not_equal(ft_model_features_new("paper-lenet", NULL, 1, 28, 28, 10, path, B,
                                               &ft_ops_cpu, &feat, &dim, &relu),
                         FT_OK);
    assert_null(feat);
    ft_free(w);
    ft_model_destroy(&full);
    assert_int_equal(ft_test_tmpdir_remove(dir), 0);
}

/* ft_edge_build, miner = density: 40 samples of 2 classes, class 0 = even indices; the
 * planted scores make 6, 10 and 2 the rarest of class 0 (index 3 of class 1 is rarer
 * still, and counts in p). */
static void test_edge_build_density(void **state)
{
    (void)state;
    enum { N = 40 };
    char dir[FT_TEST_TMPDIR_MAX], path[FT_TEST_TMPDIR_MAX + 32];
    assert_int_equal(ft_test_tmpdir_make(dir, sizeof dir, "edged"), 0);
    ft_test_tmpdir_path(path, sizeof path, dir, "s.npy");
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_dataset_new(N, 1, 2, 2, 2, &ds), FT_OK);
    float s[N];
    for (int i = 0; i < N; i++) {
        ds->labels[i] = (uint8_t)(i % 2);
        s[i] = (float)i;
        for (int k = 0; k < 4; k++)
            ds->pixels[i * 4 + k] = (uint8_t)(i + k);
    }
    s[6] = -3, s[10] = -2, s[2] = -1, s[3] = -5;
    assert_int_equal(ft_npy_write_floats(path, s, (const int[]){N}, 1), FT_OK);
    ft_edge_spec_t spec = {.source = FT_EDGE_MINED,
                           .miner = FT_EDGE_MINER_DENSITY,
                           .scores = path,
                           .source_class = 0,
                           .target_class = 1,
                           .edge_size = 3,
                           .test_fraction = 0.34,
                           .seed = 1};
    ft_edge_set_t *e = NULL;
    assert_int_equal(ft_edge_build(&spec, ds, &e), FT_OK);
    assert_int_equal(e->num_excluded, 3);
    assert_int_equal(e->excluded[0], 2);
    assert_int_equal(e->excluded[1], 6);
    assert_int_equal(e->excluded[2], 10);
    assert_int_equal(e->class_size, 20);
    /* p: 6 -> {3, 6} = 2/40; 2 -> {3, 6, 10, 2} = 4/40 */
    assert_float_equal(e->p_min, 2.0 / N, 1e-12);
    assert_float_equal(e->p, 4.0 / N, 1e-12);
    assert_int_equal(e->attack->n + e->test->n, 3);
    assert_int_equal(e->test->n, 1);
    for (uint32_t i = 0; i < e->attack->n; i++)
        assert_int_equal(e->attack->labels[i], 1);
    ft_edge_destroy(&e);
    /* no scores file, a wrong length, a NaN, a class too small */
    spec.scores = "";
    assert_int_equal(ft_edge_build(&spec, ds, &e), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.edge_scores"));
    spec.scores = path;
    assert_int_equal(ft_npy_write_floats(path, s, (const int[]){N - 1}, 1), FT_OK);
    assert_int_equal(ft_edge_build(&spec, ds, &e), FT_EFORMAT);
    s[5] = NAN;
    assert_int_equal(ft_npy_write_floats(path, s, (const int[]){N}, 1), FT_OK);
    assert_int_equal(ft_edge_build(&spec, ds, &e), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), "not finite"));
    s[5] = 5;
    assert_int_equal(ft_npy_write_floats(path, s, (const int[]){N}, 1), FT_OK);
    spec.edge_size = 21;
    assert_int_equal(ft_edge_build(&spec, ds, &e), FT_EINVAL);
    assert_null(e);
    ft_dataset_destroy(&ds);
    assert_int_equal(ft_test_tmpdir_remove(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_density_matches_numpy),
        cmocka_unit_test(test_select_matches_numpy),
        cmocka_unit_test(test_select_ties),
        cmocka_unit_test(test_select_want_bounds),
        cmocka_unit_test(test_features_are_classifier_input),
        cmocka_unit_test(test_edge_build_density),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
