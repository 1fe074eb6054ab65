/* test_data_partition: iid, Dirichlet and shard partitions, and their config keys.
 *
 * Invariants checked for every scheme: each pool index is assigned exactly once,
 * indices outside the pool never are, the same seed gives the same partition and a
 * different seed a different one. Scheme-specific: Dirichlet respects min_size and a
 * small alpha skews each client's label mix far beyond iid; shards give each client at
 * most shards_per_client labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_error.h"
#include "ft_partition.h"
#include "ft_rng.h"

#define N       6000
#define CLASSES 10

static uint8_t labels[N];
static uint32_t pool[N];
static uint32_t pool_n;

/* Labels drawn at random (a test stream); the pool leaves out every 7th sample, as the
 * coordinator leaves out edge-case points. */
static int setup(void **state)
{
    (void)state;
    ft_rng_t rng;
    ft_rng_init(&rng, 7, 0, 0, FT_RNG_TEST);
    for (uint32_t i = 0; i < N; i++)
        labels[i] = (uint8_t)ft_rng_below(&rng, CLASSES);
    pool_n = 0;
    for (uint32_t i = 0; i < N; i++)
        if (i % 7 != 3)
            pool[pool_n++] = i;
    return 0;
}

static ft_partition_spec_t spec_of(ft_partition_kind_t kind, int clients, uint64_t seed)
{
    ft_partition_spec_t s = {.kind = kind,
                             .num_clients = clients,
                             .alpha = 0.5,
                             .min_size = 10,
                             .shards_per_client = 2,
                             .seed = seed};
    return s;
}

/* Every pool index exactly once, nothing else. */
static void check_cover(const ft_partition_t *p)
{
    static uint8_t count[N];
    memset(count, 0, sizeof count);
    assert_int_equal(p->offsets[0], 0);
    assert_int_equal(p->offsets[p->num_clients], pool_n);
    for (int j = 0; j < p->num_clients; j++) {
        assert_true(p->offsets[j] <= p->offsets[j + 1]);
        assert_int_equal(ft_partition_size(p, j), p->offsets[j + 1] - p->offsets[j]);
    }
    for (uint32_t t = 0; t < pool_n; t++) {
        uint32_t i = p->indices[t];
        assert_true(i < N);
        assert_true(i % 7 != 3); /* excluded indices never assigned */
        count[i]++;
    }
    for (uint32_t t = 0; t < pool_n; t++)
        assert_int_equal(count[pool[t]], 1);
}

static int same(const ft_partition_t *a, const ft_partition_t *b)
{
    return a->num_clients == b->num_clients &&
           !memcmp(a->offsets, b->offsets, sizeof(uint32_t) * ((size_t)a->num_clients + 1)) &&
           !memcmp(a->indices, b->indices, sizeof(uint32_t) * pool_n);
}

/* Mean over clients of the share of the client's most common label. */
static double mean_top_share(const ft_partition_t *p)
{
    double sum = 0;
    for (int j = 0; j < p->num_clients; j++) {
        int cnt[CLASSES] = {0}, top = 0;
        for (uint32_t t = p->offsets[j]; t < p->offsets[j + 1]; t++)
            cnt[labels[p->indices[t]]]++;
        for (int k = 0; k < CLASSES; k++)
            top = cnt[k] > top ? cnt[k] : top;
        sum += (double)top / ft_partition_size(p, j);
    }
    return sum / p->num_clients;
}

static void check_scheme(ft_partition_kind_t kind)
{
    ft_partition_spec_t s = spec_of(kind, 20, 5);
    ft_partition_t *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, pool_n, &a), FT_OK);
    check_cover(a);
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, pool_n, &b), FT_OK);
    assert_true(same(a, b));
    s.seed = 6;
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, pool_n, &c), FT_OK);
    check_cover(c);
    assert_false(same(a, c));
    ft_partition_destroy(&a);
    ft_partition_destroy(&b);
    ft_partition_destroy(&c);
    assert_null(a);
    ft_partition_destroy(&a);
}

static void test_iid(void **state)
{
    (void)state;
    check_scheme(FT_PARTITION_IID);
    ft_partition_spec_t s = spec_of(FT_PARTITION_IID, 7, 1);
    ft_partition_t *p = NULL;
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, pool_n, &p), FT_OK);
    /* round-robin deal: sizes differ by at most one */
    for (int j = 0; j < 7; j++) {
        uint32_t sz = ft_partition_size(p, j);
        assert_true(sz == pool_n / 7 || sz == pool_n / 7 + 1);
    }
    ft_partition_destroy(&p);
}

static void test_dirichlet(void **state)
{
    (void)state;
    check_scheme(FT_PARTITION_DIRICHLET);
    /* min_size respected even when alpha makes small clients likely */
    ft_partition_spec_t s = spec_of(FT_PARTITION_DIRICHLET, 30, 11);
    s.alpha = 0.3;
    s.min_size = 40;
    ft_partition_t *p = NULL, *iid = NULL;
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, pool_n, &p), FT_OK);
    check_cover(p);
    for (int j = 0; j < 30; j++)
        assert_true(ft_partition_size(p, j) >= 40);
    ft_partition_destroy(&p);

    /* small alpha skews label mixes: iid top share ~0.15, Dir(0.1) ~0.6+ */
    s.alpha = 0.1;
    s.min_size = 10;
    s.num_clients = 20;
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, pool_n, &p), FT_OK);
    ft_partition_spec_t si = spec_of(FT_PARTITION_IID, 20, 11);
    assert_int_equal(ft_partition_make(&si, labels, CLASSES, pool, pool_n, &iid), FT_OK);
    double skew = mean_top_share(p), flat = mean_top_share(iid);
    print_message("mean top-label share: dirichlet(0.1) %.3f, iid %.3f\n", skew, flat);
    assert_true(flat < 0.25);
    assert_true(skew > flat + 0.25);
    ft_partition_destroy(&p);
    ft_partition_destroy(&iid);

    /* a huge alpha is close to iid: all clients near N/k */
    s.alpha = 1000;
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, pool_n, &p), FT_OK);
    for (int j = 0; j < 20; j++) {
        uint32_t sz = ft_partition_size(p, j);
        assert_true(sz > pool_n / 20 * 0.8 && sz < pool_n / 20 * 1.2);
    }
    ft_partition_destroy(&p);

    /* tiny alpha (Gamma underflow) still gives a valid partition */
    s.alpha = 1e-4;
    s.min_size = 1;
    s.num_clients = 5;
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, pool_n, &p), FT_OK);
    check_cover(p);
    ft_partition_destroy(&p);

    /* unreachable min_size */
    s.alpha = 0.5;
    s.num_clients = 20;
    s.min_size = (int)(pool_n / 20) + 1;
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, pool_n, &p), FT_EINVAL);
    assert_null(p);
    assert_non_null(strstr(ft_error_message(), "min_size"));
    s.min_size = (int)(pool_n / 20) - 2; /* possible in principle, never drawn */
    s.alpha = 0.05;
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, pool_n, &p), FT_EINVAL);
    assert_non_null(strstr(ft_error_message(), "min_size"));
}

static void test_shards(void **state)
{
    (void)state;
    check_scheme(FT_PARTITION_SHARDS);
    for (int spc = 1; spc <= 3; spc++) {
        ft_partition_spec_t s = spec_of(FT_PARTITION_SHARDS, 17, 3);
        s.shards_per_client = spc;
        ft_partition_t *p = NULL;
        assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, pool_n, &p), FT_OK);
        check_cover(p);
        for (int j = 0; j < 17; j++) {
            int seen[CLASSES] = {0}, distinct = 0;
            assert_true(ft_partition_size(p, j) > 0);
            for (uint32_t t = p->offsets[j]; t < p->offsets[j + 1]; t++)
                if (!seen[labels[p->indices[t]]]++)
                    distinct++;
            assert_true(distinct <= spc);
        }
        ft_partition_destroy(&p);
    }
    /* fewer shards than labels present */
    ft_partition_spec_t s = spec_of(FT_PARTITION_SHARDS, 4, 3);
    s.shards_per_client = 2;
    ft_partition_t *p = NULL;
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, pool_n, &p), FT_EINVAL);
    assert_non_null(strstr(ft_error_message(), "shards_per_client"));
}

static void test_bad_pools(void **state)
{
    (void)state;
    ft_partition_spec_t s = spec_of(FT_PARTITION_IID, 10, 1);
    ft_partition_t *p = NULL;
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, pool, 9, &p), FT_EINVAL);
    assert_null(p);
    uint32_t dup[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 4};
    assert_int_equal(ft_partition_make(&s, labels, CLASSES, dup, 12, &p), FT_EINVAL);
    assert_non_null(strstr(ft_error_message(), "twice"));
    uint8_t lab[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    uint32_t ok[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    assert_int_equal(ft_partition_make(&s, lab, CLASSES, ok, 12, &p), FT_EINVAL);
    assert_non_null(strstr(ft_error_message(), "label"));
    /* allocation failures: FT_ENOMEM, never a crash */
    for (ft_partition_kind_t kind = FT_PARTITION_IID; kind <= FT_PARTITION_SHARDS; kind++) {
        s = spec_of(kind, 10, 1);
        int fails = 0;
        for (unsigned long k = 1; k < 30; k++) {
            ft_alloc_fail_after(k);
            int rc = ft_partition_make(&s, labels, CLASSES, pool, pool_n, &p);
            ft_alloc_fail_after(0);
            if (rc == FT_OK) {
                check_cover(p);
                ft_partition_destroy(&p);
                break;
            }
            assert_int_equal(rc, FT_ENOMEM);
            assert_null(p);
            fails++;
        }
        assert_true(fails >= 3);
    }
}

static void test_spec_from_config(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_config_new();
    ft_partition_spec_t s;
    assert_int_equal(ft_config_set(cfg, "federation.partition=dirichlet", "t"), FT_OK);
    assert_int_equal(ft_config_set(cfg, "federation.num_clients=200", "t"), FT_OK);
    assert_int_equal(ft_config_set(cfg, "federation.alpha=0.25", "t"), FT_OK);
    assert_int_equal(ft_config_set(cfg, "federation.min_size=5", "t"), FT_OK);
    assert_int_equal(ft_config_set(cfg, "run.seed=99", "t"), FT_OK);
    ft_experiment_t exp;
    assert_int_equal(ft_experiment_read(cfg, &exp), FT_OK);
    s = ft_partition_spec(&exp.federation, exp.run.seed);
    assert_int_equal(s.kind, FT_PARTITION_DIRICHLET);
    assert_int_equal(s.num_clients, 200);
    assert_true(s.alpha == 0.25);
    assert_int_equal(s.min_size, 5);
    assert_int_equal(s.shards_per_client, 2);
    assert_int_equal(s.seed, 99);
    const char *bad[][2] = {{"federation.num_clients=0", "federation.num_clients"},
                            {"federation.alpha=0", "federation.alpha"},
                            {"federation.alpha=-1", "federation.alpha"},
                            {"federation.min_size=-1", "federation.min_size"},
                            {"federation.shards_per_client=0", "federation.shards_per_client"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ft_config_t *c = ft_config_clone(cfg);
        assert_int_equal(ft_config_set(c, bad[i][0], "t"), FT_OK);
        assert_int_equal(ft_experiment_read(c, &exp), FT_ECONFIG);
        assert_non_null(strstr(ft_error_message(), bad[i][1]));
        ft_config_destroy(&c);
    }
    ft_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iid),
        cmocka_unit_test(test_dirichlet),
        cmocka_unit_test(test_shards),
        cmocka_unit_test(test_bad_pools),
        cmocka_unit_test(test_spec_from_config),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
