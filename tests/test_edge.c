/* test_edge: data/ft_edge — PCA and k-means on hand-worked data, edge-case mining
 * on a dataset with planted modes (the right mode found, determinism, removal from
 * honest data, split sizes, labels), .npy edge files, config checks, and mining
 * Fashion-MNIST where the Debian dataset is installed (its time: bench/bench_edge). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_readers.h"
#include "ft_test_data.h"
#include "ft_test_tmpdir.h"
#include "ft_dataset.h"
#include "ft_edge.h"
#include "ft_error.h"

/* Optimised builds without sanitizers mine the whole Fashion-MNIST class; slower
 * builds a third of the training set. */
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
#define FAST_BUILD 1
#else
#define FAST_BUILD 0
#endif

/* Rank-1 data along u = (3,4,0)/5 around mean (1,2,3): the top component is ±u. */
static void test_pca_rank_one(void **state)
{
    (void)state;
    float X[5 * 3];
    const float t[5] = {-2, -1, 0, 1, 2};
    for (int i = 0; i < 5; i++) {
        X[i * 3 + 0] = 1 + t[i] * 0.6f;
        X[i * 3 + 1] = 2 + t[i] * 0.8f;
        X[i * 3 + 2] = 3;
    }
    float mean[3], V[3];
    assert_int_equal(ft_edge_pca(X, 5, 3, 1, 4, 7, mean, V), FT_OK);
    assert_float_equal(mean[0], 1, 1e-6);
    assert_float_equal(mean[1], 2, 1e-6);
    assert_float_equal(mean[2], 3, 1e-6);
    double dot = V[0] * 0.6 + V[1] * 0.8;
    assert_float_equal(fabs(dot), 1.0, 1e-5);
    assert_float_equal(V[2], 0, 1e-5);
}

/* Two groups {0, 0.1, 0.2} and {10, 10.1}: sizes 3/2, inertia 0.02 + 0.005. */
static void test_kmeans_hand(void **state)
{
    (void)state;
    const double P[5] = {0, 10, 0.1, 10.1, 0.2};
    uint32_t assign[5], sizes[2];
    double in = ft_edge_kmeans(P, 5, 1, 2, 3, 1, assign, sizes);
    assert_float_equal(in, 0.025, 1e-12);
    assert_int_equal(assign[0], assign[2]);
    assert_int_equal(assign[0], assign[4]);
    assert_int_equal(assign[1], assign[3]);
    assert_int_not_equal(assign[0], assign[1]);
    assert_int_equal(sizes[assign[0]], 3);
    assert_int_equal(sizes[assign[1]], 2);
}

/* Planted data: class 0 = 300 points of mode A, 150 of mode B, 40 of mode C; class 1 =
 * 200 points; shuffled. edge_size 50 with 3 clusters must pick mode B. */
#define PLANT_N 690
typedef struct {
    ft_dataset_t *ds;
    uint8_t mode[PLANT_N]; /* 'A', 'B', 'C' or 'x' (class 1) */
} plant_t;

static void plant(plant_t *p)
{
    assert_int_equal(ft_dataset_new(PLANT_N, 1, 4, 4, 2, &p->ds), FT_OK);
    uint32_t perm[PLANT_N];
    for (uint32_t i = 0; i < PLANT_N; i++)
        perm[i] = (i * 397u) % PLANT_N; /* 397 is prime to 690: a permutation */
    for (uint32_t j = 0; j < PLANT_N; j++) {
        uint32_t i = perm[j];
        char m = j < 300 ? 'A' : j < 450 ? 'B' : j < 490 ? 'C' : 'x';
        p->mode[i] = (uint8_t)m;
        uint8_t *px = p->ds->pixels + i * 16;
        for (int d = 0; d < 16; d++) {
            int on = m == 'A' ? d < 8 : m == 'B' ? d >= 8 : m == 'C' ? (d % 2 == 0) : (d % 4 == 1);
            px[d] = (uint8_t)((on ? 200 : 10) + (int)((j * 7 + (uint32_t)d * 13) % 11));
        }
        p->ds->labels[i] = m == 'x' ? 1 : 0;
    }
    p->ds->mean[0] = 0.5f;
    p->ds->std[0] = 0.25f;
}

static ft_edge_spec_t plant_spec(uint64_t seed)
{
    ft_edge_spec_t s = {.source = FT_EDGE_MINED,
                        .file = "",
                        .source_class = 0,
                        .target_class = 1,
                        .edge_size = 50,
                        .test_fraction = 0.3,
                        .clusters = 3,
                        .components = 4,
                        .seed = seed};
    return s;
}

static void test_mine_planted(void **state)
{
    (void)state;
    plant_t p;
    plant(&p);
    ft_edge_spec_t spec = plant_spec(5);
    ft_edge_set_t *e = NULL;
    assert_int_equal(ft_edge_build(&spec, p.ds, &e), FT_OK);
    assert_int_equal(e->class_size, 490);
    assert_int_equal(e->clusters, 3);
    assert_int_equal(e->num_excluded, 150);
    assert_float_equal(e->p, 150.0 / PLANT_N, 1e-12);
    for (uint32_t i = 0; i < e->num_excluded; i++) {
        assert_int_equal(p.mode[e->excluded[i]], 'B');
        if (i)
            assert_true(e->excluded[i] > e->excluded[i - 1]);
    }
    /* Split: round(150 * 0.3) = 45 test points, 105 attack points, disjoint. */
    assert_int_equal(e->test->n, 45);
    assert_int_equal(e->attack->n, 105);
    for (uint32_t i = 0; i < e->attack->n; i++) {
        assert_int_equal(e->attack->labels[i], 1);
        assert_int_equal(p.mode[e->attack_idx[i]], 'B');
        assert_memory_equal(e->attack->pixels + i * 16, p.ds->pixels + e->attack_idx[i] * 16, 16);
        for (uint32_t j = 0; j < e->test->n; j++)
            assert_int_not_equal(e->attack_idx[i], e->test_idx[j]);
    }
    for (uint32_t j = 0; j < e->test->n; j++)
        assert_int_equal(e->test->labels[j], 1);
    assert_float_equal(e->attack->mean[0], 0.5, 0);
    assert_float_equal(e->test->std[0], 0.25, 0);

    /* Honest pool: everything but the 150 mode-B points, ascending. */
    uint32_t *pool = NULL, pool_n = 0;
    assert_int_equal(ft_edge_honest_pool(e, PLANT_N, &pool, &pool_n), FT_OK);
    assert_int_equal(pool_n, PLANT_N - 150);
    for (uint32_t i = 0; i < pool_n; i++) {
        assert_int_not_equal(p.mode[pool[i]], 'B');
        if (i)
            assert_true(pool[i] > pool[i - 1]);
    }
    ft_free(pool);
    assert_int_equal(ft_edge_honest_pool(NULL, 10, &pool, &pool_n), FT_OK);
    assert_int_equal(pool_n, 10);
    assert_int_equal(pool[9], 9);
    ft_free(pool);

    /* Deterministic: the same seed gives the same set and split. */
    ft_edge_set_t *e2 = NULL;
    assert_int_equal(ft_edge_build(&spec, p.ds, &e2), FT_OK);
    assert_int_equal(e2->attack->n, e->attack->n);
    assert_memory_equal(e2->attack_idx, e->attack_idx, e->attack->n * sizeof(uint32_t));
    assert_memory_equal(e2->test_idx, e->test_idx, e->test->n * sizeof(uint32_t));
    ft_edge_destroy(&e2);
    /* Another seed: the same mode, another split. */
    spec.seed = 6;
    assert_int_equal(ft_edge_build(&spec, p.ds, &e2), FT_OK);
    assert_int_equal(e2->num_excluded, 150);
    assert_memory_equal(e2->excluded, e->excluded, 150 * sizeof(uint32_t));
    assert_memory_not_equal(e2->test_idx, e->test_idx, e->test->n * sizeof(uint32_t));
    ft_edge_destroy(&e2);
    ft_edge_destroy(&e);
    assert_null(e);
    ft_edge_destroy(&e); /* safe twice */

    /* No cluster big enough: a clear error naming the key. */
    spec.edge_size = 400;
    assert_int_equal(ft_edge_build(&spec, p.ds, &e), FT_EINVAL);
    assert_null(e);
    assert_non_null(strstr(ft_error_message(), "attack.edge_size"));
    ft_dataset_destroy(&p.ds);
}

static void test_edge_file(void **state)
{
    (void)state;
    char path[] = "/tmp/ft_test_edge_XXXXXX.npy";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    close(fd);
    float img[10 * 4 * 4];
    for (int i = 0; i < 160; i++)
        img[i] = (float)(i % 16) / 16.0f + (float)(i / 16) * 0.001f;
    const int shape[3] = {10, 4, 4};
    assert_int_equal(ft_npy_write_floats(path, img, shape, 3), FT_OK);
    plant_t p;
    plant(&p);
    ft_edge_spec_t spec = plant_spec(3);
    spec.source = FT_EDGE_FILE;
    spec.file = path;
    spec.target_class = 0;
    ft_edge_set_t *e = NULL;
    assert_int_equal(ft_edge_build(&spec, p.ds, &e), FT_OK);
    assert_int_equal(e->num_excluded, 0);
    assert_int_equal(e->test->n, 3); /* round(10 * 0.3) */
    assert_int_equal(e->attack->n, 7);
    assert_int_equal(e->attack->num_classes, 2);
    assert_float_equal(e->attack->mean[0], 0.5, 0);
    /* Every image appears exactly once across the two parts (id in its 1e-3 offset). */
    int seen[10] = {0};
    const ft_dataset_t *parts[2] = {e->attack, e->test};
    for (int s = 0; s < 2; s++)
        for (uint32_t i = 0; i < parts[s]->n; i++) {
            assert_int_equal(parts[s]->labels[i], 0);
            int id = (int)lrintf(parts[s]->values[i * 16] * 1000.0f);
            assert_true(id >= 0 && id < 10);
            seen[id]++;
        }
    for (int i = 0; i < 10; i++)
        assert_int_equal(seen[i], 1);
    ft_edge_destroy(&e);
    /* Wrong image size: FT_EFORMAT naming the file. */
    const int shape2[3] = {5, 8, 4};
    assert_int_equal(ft_npy_write_floats(path, img, shape2, 3), FT_OK);
    assert_int_equal(ft_edge_build(&spec, p.ds, &e), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), path));
    unlink(path);
    ft_dataset_destroy(&p.ds);
}

/* Writes n 4x4 float images whose id i is readable back from pixel 0 (i / 1000). */
static void write_ids(const char *path, int n, int first_id)
{
    float *img = ft_malloc((size_t)n * 16 * sizeof *img);
    for (int i = 0; i < n * 16; i++)
        img[i] = (float)(first_id + i / 16) * 0.001f;
    const int shape[3] = {n, 4, 4};
    assert_int_equal(ft_npy_write_floats(path, img, shape, 3), FT_OK);
    ft_free(img);
}

static int image_id(const ft_dataset_t *d, uint32_t i)
{
    return (int)lrintf(d->values[i * 16] * 1000.0f);
}

/* attack.edge_test_file: the whole edge file is the attacker's share and the test file
 * the backdoor test set; attack.edge_points samples D_adv from the share and leaves the
 * rest as a disjoint pool; attack.edge_copies keeps groups of copies on one side of a
 * split. */
static void test_edge_file_parts(void **state)
{
    (void)state;
    char dir[FT_TEST_TMPDIR_MAX], train_f[FT_TEST_TMPDIR_MAX + 16], test_f[FT_TEST_TMPDIR_MAX + 16];
    assert_int_equal(ft_test_tmpdir_make(dir, sizeof dir, "edge_parts"), 0);
    ft_test_tmpdir_path(train_f, sizeof train_f, dir, "train.npy");
    ft_test_tmpdir_path(test_f, sizeof test_f, dir, "test.npy");
    write_ids(train_f, 40, 0);
    write_ids(test_f, 12, 100);
    plant_t p;
    plant(&p);
    ft_edge_spec_t spec = plant_spec(3);
    spec.source = FT_EDGE_FILE;
    spec.file = train_f;
    spec.test_file = test_f;
    spec.target_class = 0;
    ft_edge_set_t *e = NULL;
    assert_int_equal(ft_edge_build(&spec, p.ds, &e), FT_OK);
    assert_int_equal(e->attack->n, 40); /* all of the file */
    assert_int_equal(e->test->n, 12);   /* the test file, in its order */
    for (uint32_t i = 0; i < 12; i++)
        assert_int_equal(image_id(e->test, i), 100 + (int)i);
    assert_null(e->pool);
    ft_edge_destroy(&e);

    /* 10 of the 40 sampled into D_adv, the other 30 the pool: disjoint, all of them */
    spec.attack_points = 10;
    assert_int_equal(ft_edge_build(&spec, p.ds, &e), FT_OK);
    assert_int_equal(e->attack->n, 10);
    assert_int_equal(e->pool->n, 30);
    int seen[40] = {0};
    for (uint32_t i = 0; i < 10; i++)
        seen[image_id(e->attack, i)]++;
    for (uint32_t i = 0; i < 30; i++) {
        seen[image_id(e->pool, i)]++;
        assert_int_equal(e->pool->labels[i], 0);
    }
    for (int i = 0; i < 40; i++)
        assert_int_equal(seen[i], 1);
    ft_edge_set_t *e2 = NULL; /* deterministic */
    assert_int_equal(ft_edge_build(&spec, p.ds, &e2), FT_OK);
    assert_memory_equal(e2->attack->values, e->attack->values, 10 * 16 * sizeof(float));
    ft_edge_destroy(&e2);
    ft_edge_destroy(&e);
    spec.attack_points = 40; /* all: no pool */
    assert_int_equal(ft_edge_build(&spec, p.ds, &e), FT_OK);
    assert_null(e->pool);
    ft_edge_destroy(&e);
    spec.attack_points = 41; /* more than there are */
    assert_int_equal(ft_edge_build(&spec, p.ds, &e), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.edge_points"));
    spec.attack_points = 0;

    /* No test file, copies of 4: groups of 4 consecutive images never straddle the
     * split (10 groups, round(10 * 0.3) = 3 test groups = 12 images). */
    spec.test_file = "";
    spec.copies = 4;
    assert_int_equal(ft_edge_build(&spec, p.ds, &e), FT_OK);
    assert_int_equal(e->test->n, 12);
    assert_int_equal(e->attack->n, 28);
    int side[10] = {0};
    for (uint32_t i = 0; i < e->attack->n; i++)
        side[image_id(e->attack, i) / 4] |= 1;
    for (uint32_t i = 0; i < e->test->n; i++)
        side[image_id(e->test, i) / 4] |= 2;
    for (int g = 0; g < 10; g++)
        assert_true(side[g] == 1 || side[g] == 2);
    ft_edge_destroy(&e);
    /* a last group of 2 (copies of 6: 6 groups, the last one short) */
    spec.copies = 6;
    assert_int_equal(ft_edge_build(&spec, p.ds, &e), FT_OK);
    assert_int_equal(e->attack->n + e->test->n, 40);
    ft_edge_destroy(&e);
    /* one group only: nothing left for the test set */
    spec.copies = 40;
    assert_int_equal(ft_edge_build(&spec, p.ds, &e), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), "attack.edge_copies"));
    ft_dataset_destroy(&p.ds);
    assert_int_equal(ft_test_tmpdir_remove(dir), 0);
}

/* The spec from the [attack] section; the class labels checked against the dataset
 * at its bound (10 classes: 9 accepted, 10 refused). The range checks of each key
 * are the experiment's (test_experiment.c). */
static int spec_with(const char *set, int num_classes, ft_edge_spec_t *s)
{
    ft_config_t *cfg = ft_config_new();
    if (set)
        assert_int_equal(ft_config_set(cfg, set, "t"), FT_OK);
    ft_experiment_t exp;
    int rc = ft_experiment_read(cfg, &exp);
    if (rc == FT_OK)
        rc = ft_edge_spec_from(&exp.attack, exp.run.seed, num_classes, s);
    ft_config_destroy(&cfg);
    return rc;
}

static void test_spec_config(void **state)
{
    (void)state;
    ft_edge_spec_t s;
    assert_int_equal(spec_with(NULL, 10, &s), FT_OK);
    assert_int_equal(s.source, FT_EDGE_MINED);
    assert_int_equal(s.edge_size, 100);
    assert_int_equal(s.components, 16);
    assert_int_equal(s.seed, 1);
    assert_int_equal(spec_with("attack.edge_test_fraction=1.5", 10, &s), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.edge_test_fraction"));
    assert_int_equal(spec_with("attack.target_class=10", 10, &s), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.target_class"));
    assert_int_equal(spec_with("attack.target_class=9", 10, &s), FT_OK);
    assert_int_equal(s.target_class, 9);
    assert_int_equal(spec_with("attack.source_class=10", 10, &s), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.source_class"));
    assert_int_equal(spec_with("attack.target_class=200", 0, &s), FT_OK); /* no dataset yet */
    assert_int_equal(spec_with("attack.edge_source=file", 10, &s), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "attack.edge_file"));
}

/* Fashion-MNIST class 0 (6000 × 784) mines deterministically. How long it takes is
 * not asserted (it depends on the machine's load): bench/bench_edge measures it. */
static void test_mine_fashion_mnist(void **state)
{
    (void)state;
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0)
        skip();
    ft_config_t *cfg = ft_config_new();
#if !FAST_BUILD
    /* Unoptimised / sanitizer builds: a third of the set keeps the test short. */
    assert_int_equal(ft_config_set(cfg, "data.train_limit=20000", "test"), FT_OK);
#endif
    ft_dataset_t *train = NULL;
    assert_int_equal(ft_test_load(cfg, 1, &train), FT_OK);
    ft_edge_spec_t spec;
    ft_experiment_t exp;
    assert_int_equal(ft_experiment_read(cfg, &exp), FT_OK);
    assert_int_equal(ft_edge_spec_from(&exp.attack, exp.run.seed, train->num_classes, &spec),
                     FT_OK);
    ft_edge_set_t *a = NULL, *b = NULL;
    assert_int_equal(ft_edge_build(&spec, train, &a), FT_OK);
    assert_int_equal(ft_edge_build(&spec, train, &b), FT_OK);
    printf("fashion-mnist class %d: %u samples, %d clusters, chosen %u members, p = %.5f, "
           "%.3f s\n",
           spec.source_class, a->class_size, a->clusters, a->num_excluded, a->p, a->seconds);
#if FAST_BUILD
    assert_int_equal(a->class_size, 6000);
#endif
    assert_true(a->num_excluded >= spec.edge_size);
    assert_true(a->num_excluded < a->class_size / 2);
    assert_int_equal(a->num_excluded, b->num_excluded);
    assert_memory_equal(a->excluded, b->excluded, a->num_excluded * sizeof(uint32_t));
    assert_memory_equal(a->test_idx, b->test_idx, a->test->n * sizeof(uint32_t));
    for (uint32_t i = 0; i < a->num_excluded; i++)
        assert_int_equal(train->labels[a->excluded[i]], spec.source_class);
    ft_edge_destroy(&a);
    ft_edge_destroy(&b);
    ft_dataset_destroy(&train);
    ft_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pca_rank_one),       cmocka_unit_test(test_kmeans_hand),
        cmocka_unit_test(test_mine_planted),       cmocka_unit_test(test_edge_file),
        cmocka_unit_test(test_edge_file_parts),    cmocka_unit_test(test_spec_config),
        cmocka_unit_test(test_mine_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
