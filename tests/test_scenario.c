/* test_scenario: scenario/ — the attack schedule for every fl_mode at its boundaries
 * (raw and over the sorted sample), who holds true-label edge copies (almost- and
 * normal-case), FLTrust's root-set draw at its bounds, the whole derivation (edge
 * points and the root set held out of every client, two processes agreeing), the
 * pre-training pool, and the ground-truth measurements (backdoor accuracy, update
 * norms). Expected values are hand-worked. */
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
#include "ft_error.h"
#include "ft_readers.h"
#include "ft_root_set.h"
#include "ft_scenario.h"
#include "ft_test_experiment.h"

/* ---- the schedule ---------------------------------------------------------------- */

static ft_schedule_t schedule(const char *const *sets)
{
    ft_config_t *cfg = ft_test_config(NULL, sets);
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_schedule_t s = ft_schedule_of(&exp);
    ft_config_destroy(&cfg);
    return s;
}

static void active_rounds(const ft_schedule_t *s, int rounds, int *out, int *n)
{
    *n = 0;
    for (int t = 1; t <= rounds; t++)
        if (ft_schedule_round_active(s, t))
            out[(*n)++] = t;
}

static void test_schedule_rounds(void **state)
{
    (void)state;
    int r[64], n;
    /* fixed-freq defaults: every 10 rounds from round 1 to the last (30). */
    ft_schedule_t s = schedule((const char *[]){"attack.method=pgd", NULL});
    active_rounds(&s, 40, r, &n);
    assert_int_equal(n, 3);
    assert_int_equal(r[0], 1);
    assert_int_equal(r[1], 11);
    assert_int_equal(r[2], 21);
    /* from 5, every 3, until 11 (a round that is due) and until 10 (one short). */
    s = schedule((const char *[]){"attack.method=pgd", "attack.attack_from=5",
                                  "attack.attack_freq=3", "attack.attack_until=11", NULL});
    active_rounds(&s, 30, r, &n);
    assert_int_equal(n, 3);
    assert_int_equal(r[0], 5);
    assert_int_equal(r[1], 8);
    assert_int_equal(r[2], 11);
    s.attack_until = 10;
    active_rounds(&s, 30, r, &n);
    assert_int_equal(n, 2);
    /* every-round from 3 until 5. */
    s = schedule((const char *[]){"attack.method=blackbox", "attack.fl_mode=every-round",
                                  "attack.attack_from=3", "attack.attack_until=5", NULL});
    active_rounds(&s, 30, r, &n);
    assert_int_equal(n, 3);
    assert_int_equal(r[0], 3);
    assert_int_equal(r[2], 5);
    /* fixed-pool is active in every round of its window too */
    s = schedule((const char *[]){"attack.method=blackbox", "attack.fl_mode=fixed-pool",
                                  "attack.attack_from=2", "attack.attack_until=3", NULL});
    active_rounds(&s, 30, r, &n);
    assert_int_equal(n, 2);
    assert_int_equal(r[0], 2);
    /* method none: never. */
    s = schedule((const char *[]){"attack.fl_mode=every-round", NULL});
    active_rounds(&s, 30, r, &n);
    assert_int_equal(n, 0);
}

static void test_schedule_marks(void **state)
{
    (void)state;
    /* fixed-freq, 100 clients: the attacker (id 99) replaces one sampled id. */
    ft_schedule_t s = schedule((const char *[]){"attack.method=pgd", NULL});
    assert_int_equal(ft_schedule_attacker_id(&s), 99);
    uint32_t ids[10], ids2[10];
    uint8_t a[10], a2[10];
    for (int i = 0; i < 10; i++)
        ids[i] = ids2[i] = (uint32_t)(i * 3);
    assert_int_equal(ft_schedule_mark(&s, 11, ids, 10, a), 1);
    assert_int_equal(ft_schedule_mark(&s, 11, ids2, 10, a2), 1);
    assert_memory_equal(ids, ids2, sizeof ids); /* deterministic */
    assert_memory_equal(a, a2, sizeof a);
    int marked = -1;
    for (int i = 0; i < 10; i++) {
        if (a[i]) {
            assert_int_equal(marked, -1);
            marked = i;
            assert_int_equal(ids[i], 99);
        } else {
            assert_int_equal(ids[i], (uint32_t)(i * 3));
        }
    }
    assert_true(marked >= 0);
    /* Attacker already sampled: marked in place, nothing replaced. */
    uint32_t with[3] = {4, 99, 7};
    uint8_t wa[3];
    assert_int_equal(ft_schedule_mark(&s, 21, with, 3, wa), 1);
    assert_int_equal(with[0], 4);
    assert_int_equal(with[2], 7);
    assert_int_equal(wa[1], 1);
    assert_int_equal(wa[0] + wa[2], 0);
    /* Inactive round: nobody, ids unchanged. */
    for (int i = 0; i < 10; i++)
        ids[i] = (uint32_t)i;
    assert_int_equal(ft_schedule_mark(&s, 12, ids, 10, a), 0);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(a[i], 0);
        assert_int_equal(ids[i], (uint32_t)i);
    }
    /* fixed-pool of 3 among 20: ids 17, 18, 19 attack when sampled; 16 does not. */
    s = schedule((const char *[]){"attack.method=blackbox", "attack.fl_mode=fixed-pool",
                                  "attack.attacker_pool_size=3", "federation.num_clients=20",
                                  "attack.honest_edge_holders=2", NULL});
    uint32_t p[5] = {2, 16, 17, 19, 5};
    uint8_t pa[5];
    assert_int_equal(ft_schedule_mark(&s, 2, p, 5, pa), 2);
    const uint8_t want[5] = {0, 0, 1, 1, 0};
    assert_memory_equal(pa, want, 5);
    assert_int_equal(p[1], 16); /* no replacement */
}

/* fixed-freq: client num_clients - 1 = 9 attacks in rounds 1, 3, ...; the sample
 * stays sorted with the flags moved along. */
static void test_schedule_sorted(void **state)
{
    (void)state;
    ft_schedule_t s =
        schedule((const char *[]){"federation.num_clients=10", "attack.method=pgd",
                                  "attack.attack_freq=2", "attack.honest_edge_holders=0", NULL});
    uint32_t ids[3] = {1, 2, 3};
    uint8_t att[3];
    assert_int_equal(ft_schedule_attackers(&s, 1, ids, 3, att), 1);
    /* 9 replaced one of 1, 2, 3 and went to the end, its flag with it */
    assert_int_equal(ids[2], 9);
    assert_true(ids[0] < ids[1] && ids[1] < 9 && ids[1] <= 3);
    const uint8_t want[3] = {0, 0, 1};
    assert_memory_equal(att, want, 3);
    /* the attacker already sampled: marked in place */
    uint32_t ids3[3] = {4, 5, 9};
    assert_int_equal(ft_schedule_attackers(&s, 3, ids3, 3, att), 1);
    assert_int_equal(ids3[0] * 100 + ids3[1] * 10 + ids3[2], 459);
    assert_memory_equal(att, want, 3);
    /* round 2 is not attacked */
    uint32_t ids4[3] = {4, 5, 6};
    assert_int_equal(ft_schedule_attackers(&s, 2, ids4, 3, att), 0);
    assert_int_equal(ids4[0] * 100 + ids4[1] * 10 + ids4[2], 456);
    assert_int_equal(att[0] | att[1] | att[2], 0);
    /* fixed-pool of 3: 7, 8, 9 attack */
    s.mode = FT_FL_FIXED_POOL;
    s.pool_size = 3;
    uint32_t ids5[4] = {2, 7, 8, 9};
    uint8_t a5[4];
    assert_int_equal(ft_schedule_attackers(&s, 1, ids5, 4, a5), 3);
    const uint8_t want5[4] = {0, 1, 1, 1};
    assert_memory_equal(a5, want5, 4);
    /* method none marks nobody and keeps the sample */
    s = schedule((const char *[]){"federation.num_clients=10", NULL});
    uint32_t ids6[3] = {1, 2, 3};
    uint8_t a6[3] = {9, 9, 9};
    assert_int_equal(ft_schedule_attackers(&s, 1, ids6, 3, a6), 0);
    assert_int_equal(a6[0] | a6[1] | a6[2], 0);
    assert_int_equal(ids6[0] * 100 + ids6[1] * 10 + ids6[2], 123);
}

/* ---- a synthetic population -------------------------------------------------------- */

static const char *const *const base = ft_test_population;

static int sorted_disjoint(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb)
{
    uint32_t i = 0, j = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j])
            return 0;
        if (a[i] < b[j])
            i++;
        else
            j++;
    }
    return 1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Every index the scenario hands a client is outside the edge set and the root set;
 * the three cover the training set exactly; two derivations agree. */
static void test_scenario_held_out(void **state)
{
    (void)state;
    ft_config_t *cfg =
        ft_test_config(base, (const char *[]){"attack.method=pgd", "defense.root_size=37", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_scenario_t *p, *q;
    assert_int_equal(ft_scenario_new(&exp, NULL, 1, &p), FT_OK);
    assert_int_equal(ft_scenario_new(&exp, NULL, 1, &q), FT_OK);
    assert_non_null(p->attack->edge);
    assert_null(p->backdoor_test); /* no test set: no backdoor test set */
    uint32_t ne = p->attack->edge->num_excluded;
    assert_true(ne >= 4);
    assert_int_equal(p->root_n, 37);
    assert_memory_equal(p->root_idx, q->root_idx, 37 * sizeof(uint32_t));
    for (uint32_t i = 1; i < 37; i++)
        assert_true(p->root_idx[i] > p->root_idx[i - 1]);
    assert_true(sorted_disjoint(p->root_idx, 37, p->attack->edge->excluded, ne));
    uint32_t total = 0;
    uint32_t *all = ft_malloc(400 * sizeof *all);
    for (uint32_t c = 0; c < 10; c++) {
        uint32_t n = ft_scenario_part_n(p, c);
        assert_int_equal(n, ft_scenario_part_n(q, c));
        memcpy(all + total, ft_scenario_part_idx(p, c), n * sizeof *all);
        total += n;
        /* honest sample count = partition size (no copies held) */
        assert_int_equal(ft_scenario_client_samples(p, c, 0), n);
    }
    assert_int_equal(ft_scenario_part_n(p, 10), 0); /* outside the population */
    assert_int_equal(total + 37 + ne, 400);
    qsort(all, total, sizeof *all, cmp_u32);
    assert_true(sorted_disjoint(all, total, p->root_idx, 37));
    assert_true(sorted_disjoint(all, total, p->attack->edge->excluded, ne));
    /* pgd attacker: edge attack points + min(clean_points = 100, partition) */
    uint32_t n9 = ft_scenario_part_n(p, 9);
    assert_int_equal(ft_scenario_client_samples(p, 9, 1),
                     p->attack->edge->attack->n + (n9 < 100 ? n9 : 100));
    /* released: only the root samples stay, renumbered, in the same order */
    ft_dataset_t *root_copy = NULL;
    assert_int_equal(ft_dataset_subset(p->train, p->root_idx, 37, &root_copy), FT_OK);
    assert_int_equal(ft_scenario_release_train(p), FT_OK);
    assert_int_equal(p->train->n, 37);
    for (uint32_t i = 0; i < 37; i++)
        assert_int_equal(p->root_idx[i], i);
    assert_memory_equal(p->train->pixels, root_copy->pixels, 37 * 64);
    assert_int_equal(ft_scenario_part_n(p, 9), n9); /* sizes stay valid */
    ft_dataset_destroy(&root_copy);
    ft_free(all);
    ft_scenario_destroy(&p);
    ft_scenario_destroy(&q);
    assert_null(p);
    ft_scenario_destroy(&p); /* safe twice */
    /* without a server root set none is drawn */
    assert_int_equal(ft_scenario_new(&exp, NULL, 0, &p), FT_OK);
    assert_int_equal(p->root_n, 0);
    assert_null(p->root_idx);
    assert_int_equal(ft_scenario_release_train(p), FT_OK);
    assert_null(p->train);
    ft_scenario_destroy(&p);
    /* a root set as large as the pool is refused; one that leaves each client a sample is not */
    ft_test_set(cfg, "attack.method=none");
    ft_test_set(cfg, "defense.root_size=400");
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_scenario_new(&exp, NULL, 1, &p), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "defense.root_size"));
    assert_null(p);
    ft_test_set(cfg, "defense.root_size=390");
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_scenario_new(&exp, NULL, 1, &p), FT_OK);
    assert_int_equal(p->root_n, 390); /* 10 samples left, one per client */
    ft_scenario_destroy(&p);
    ft_config_destroy(&cfg);
}

/* The root set's bounds, [1, pool): 0 and pool_n refused, 1 and pool_n - 1 drawn. */
static void test_root_set_bounds(void **state)
{
    (void)state;
    uint32_t pool[10];
    ft_config_t *cfg = ft_test_config(NULL, NULL);
    ft_experiment_t exp;
    const int sizes[4] = {0, 10, 1, 9};
    const int ok[4] = {0, 0, 1, 1};
    for (int k = 0; k < 4; k++) {
        char set[64];
        snprintf(set, sizeof set, "defense.root_size=%d", sizes[k]);
        ft_test_set(cfg, set);
        ft_test_experiment(cfg, &exp);
        for (uint32_t i = 0; i < 10; i++)
            pool[i] = 100 + 2 * i;
        uint32_t n = 10, *root = NULL, root_n = 0;
        int rc = ft_root_set_draw(&exp, pool, &n, &root, &root_n);
        if (!ok[k]) {
            assert_int_equal(rc, FT_ECONFIG);
            assert_null(root);
            assert_int_equal(n, 10);
            continue;
        }
        assert_int_equal(rc, FT_OK);
        assert_int_equal(root_n, (uint32_t)sizes[k]);
        assert_int_equal(n + root_n, 10);
        /* what is left and what was drawn: ascending, disjoint, from the pool */
        uint32_t all[10];
        memcpy(all, pool, n * sizeof *all);
        memcpy(all + n, root, root_n * sizeof *all);
        qsort(all, 10, sizeof *all, cmp_u32);
        for (uint32_t i = 0; i < 10; i++)
            assert_int_equal(all[i], 100 + 2 * i);
        for (uint32_t i = 1; i < n; i++)
            assert_true(pool[i] > pool[i - 1]);
        for (uint32_t i = 1; i < root_n; i++)
            assert_true(root[i] > root[i - 1]);
        ft_free(root);
    }
    ft_config_destroy(&cfg);
}

/* almost-edge-case, 4 holders: one copy shared as the paper code's array_split;
 * normal-case: every holder holds all; edge case: nobody. */
static void test_holdings(void **state)
{
    (void)state;
    ft_dataset_t *train = NULL;
    assert_int_equal(ft_synthetic_make(2000, 1, 8, 8, 4, 11, 1, &train), FT_OK);
    const char *keys[] = {"attack.edge_size=20",
                          "attack.source_class=2",
                          "attack.target_class=3",
                          "attack.clean_points=50",
                          "federation.num_clients=10",
                          "attack.method=blackbox",
                          NULL};
    ft_config_t *cfg = ft_test_config(keys, (const char *[]){"attack.attack_case=almost-edge-case",
                                                             "attack.honest_edge_holders=4", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_attack_env_t *env = NULL;
    assert_int_equal(ft_attack_env_new(&exp, train, &env), FT_OK);
    ft_holdings_t *h = NULL;
    assert_int_equal(ft_holdings_new(env, &h), FT_OK);
    assert_non_null(h);
    uint32_t na = env->edge->attack->n, total = 0;
    for (uint32_t k = 0; k < 4; k++) {
        uint32_t c = ft_holdings_count(h, k);
        assert_int_equal(c, na * (k + 1) / 4 - na * k / 4);
        total += c;
    }
    assert_int_equal(total, na);
    assert_int_equal(ft_holdings_count(h, 4), 0); /* the first non-holder */
    assert_int_equal(ft_holdings_count(NULL, 0), 0);
    const uint32_t idx[3] = {5, 6, 7};
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_holdings_dataset(h, 4, train, idx, 3, &ds), FT_OK);
    assert_null(ds);
    assert_int_equal(ft_holdings_dataset(h, 3, train, idx, 3, &ds), FT_OK);
    assert_non_null(ds);
    uint32_t c3 = na - na * 3 / 4;
    assert_int_equal(ds->n, 3 + c3);
    size_t s = ft_dataset_sample_size(train);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ds->labels[i], train->labels[idx[i]]);
        assert_memory_equal(ds->pixels + i * s, train->pixels + idx[i] * s, s);
    }
    for (uint32_t i = 0; i < c3; i++) {
        assert_int_equal(ds->labels[3 + i], 2); /* the true label: source_class */
        uint32_t src = env->edge->attack_idx[na * 3 / 4 + i];
        assert_memory_equal(ds->pixels + (3 + i) * s, train->pixels + (size_t)src * s, s);
    }
    ft_dataset_destroy(&ds);
    ft_holdings_destroy(&h);
    ft_attack_env_destroy(&env);
    /* normal-case: every holder holds all of them. */
    ft_test_set(cfg, "attack.attack_case=normal-case");
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_env_new(&exp, train, &env), FT_OK);
    assert_int_equal(ft_holdings_new(env, &h), FT_OK);
    for (uint32_t k = 0; k < 4; k++)
        assert_int_equal(ft_holdings_count(h, k), env->edge->attack->n);
    assert_int_equal(ft_holdings_count(h, 4), 0);
    ft_holdings_destroy(&h);
    ft_attack_env_destroy(&env);
    /* edge case: nobody holds copies. */
    ft_test_set(cfg, "attack.attack_case=edge-case");
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_env_new(&exp, train, &env), FT_OK);
    assert_int_equal(ft_holdings_new(env, &h), FT_OK);
    assert_null(h);
    ft_attack_env_destroy(&env);
    ft_config_destroy(&cfg);
    ft_dataset_destroy(&train);
}

/* attack.holder_pool = disjoint: the holders hold the edge points the attacker does not
 * train on (the paper code's honest users hold a separate file), never the attacker's
 * own points: split (array_split) in the almost-edge case, the whole pool each in the
 * normal case — ten holders of a pool then hold 10x the almost-edge case's points, as
 * the official 700-image normal-case pool is 7x its 100-image almost-edge pool. */
static void test_holdings_disjoint(void **state)
{
    (void)state;
    ft_dataset_t *train = NULL;
    assert_int_equal(ft_synthetic_make(2000, 1, 8, 8, 4, 11, 1, &train), FT_OK);
    const char *keys[] = {"attack.edge_size=20",         "attack.source_class=2",
                          "attack.target_class=3",       "federation.num_clients=10",
                          "attack.method=blackbox",      "attack.honest_edge_holders=3",
                          "attack.holder_pool=disjoint", NULL};
    const char *cases[] = {"attack.attack_case=almost-edge-case", "attack.attack_case=normal-case"};
    for (int k = 0; k < 2; k++) {
        ft_config_t *cfg = ft_test_config(keys, (const char *[]){cases[k], NULL});
        ft_experiment_t exp;
        ft_test_experiment(cfg, &exp);
        ft_attack_env_t *env = NULL;
        ft_holdings_t *h = NULL;
        /* every point sampled into D_adv (edge_points 0): nothing disjoint to hold */
        assert_int_equal(ft_attack_env_new(&exp, train, &env), FT_OK);
        assert_int_equal(ft_holdings_new(env, &h), FT_ECONFIG);
        assert_non_null(strstr(ft_error_message(), "attack.holder_pool"));
        assert_null(h);
        ft_attack_env_destroy(&env);
        ft_test_set(cfg, "attack.edge_points=5");
        ft_test_experiment(cfg, &exp);
        assert_int_equal(ft_attack_env_new(&exp, train, &env), FT_OK);
        assert_int_equal(env->edge->attack->n, 5);
        uint32_t np = env->edge->pool->n, total = 0;
        assert_true(np > 0);
        assert_int_equal(ft_holdings_new(env, &h), FT_OK);
        for (uint32_t id = 0; id < 3; id++) {
            uint32_t c = ft_holdings_count(h, id);
            assert_int_equal(c, k == 0 ? np * (id + 1) / 3 - np * id / 3 : np);
            total += c;
        }
        assert_int_equal(total, k == 0 ? np : 3 * np);
        assert_int_equal(ft_holdings_count(h, 3), 0);
        /* what holder 0 trains on besides its partition: pool points, true label */
        const uint32_t idx[1] = {0};
        ft_dataset_t *ds = NULL;
        assert_int_equal(ft_holdings_dataset(h, 0, train, idx, 1, &ds), FT_OK);
        size_t sz = ft_dataset_sample_size(train);
        for (uint32_t i = 1; i < ds->n; i++) {
            assert_int_equal(ds->labels[i], 2);
            uint32_t src = env->edge->pool_idx[i - 1];
            assert_memory_equal(ds->pixels + i * sz, train->pixels + (size_t)src * sz, sz);
            for (uint32_t a = 0; a < env->edge->attack->n; a++)
                assert_int_not_equal(src, env->edge->attack_idx[a]);
        }
        ft_dataset_destroy(&ds);
        ft_holdings_destroy(&h);
        ft_attack_env_destroy(&env);
        ft_config_destroy(&cfg);
    }
    ft_dataset_destroy(&train);
}

/* The pre-training pool: everything but a mined edge set; nothing held out (and no
 * pool) without an edge-case attack or with a file edge set. */
static void test_pretrain_pool(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_test_config(base, (const char *[]){"attack.method=pgd", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    uint32_t *pool = NULL, pool_n = 0;
    assert_int_equal(ft_scenario_pretrain_pool(&exp, &pool, &pool_n), FT_OK);
    ft_scenario_t *s = NULL;
    assert_int_equal(ft_scenario_new(&exp, NULL, 0, &s), FT_OK);
    assert_non_null(pool);
    assert_int_equal(pool_n, 400 - s->attack->edge->num_excluded);
    assert_true(
        sorted_disjoint(pool, pool_n, s->attack->edge->excluded, s->attack->edge->num_excluded));
    ft_free(pool);
    ft_scenario_destroy(&s);
    const char *none[][2] = {{"attack.method=none", NULL},
                             {"attack.method=sign-flip", NULL},
                             {"attack.method=pgd", "attack.edge_source=file"}};
    for (int k = 0; k < 3; k++) {
        ft_test_set(cfg, none[k][0]);
        if (none[k][1]) {
            ft_test_set(cfg, none[k][1]);
            ft_test_set(cfg, "attack.edge_file=/nonexistent/edge.npy"); /* never read */
        }
        ft_test_experiment(cfg, &exp);
        assert_int_equal(ft_scenario_pretrain_pool(&exp, &pool, &pool_n), FT_OK);
        assert_null(pool);
        assert_int_equal(pool_n, 0);
    }
    ft_config_destroy(&cfg);
}

/* ---- measurements ------------------------------------------------------------------- */

static void test_norms(void **state)
{
    (void)state;
    const float u[6] = {3, 4, 0, 1, 6, 8};
    const uint8_t a[3] = {1, 0, 0};
    ft_round_norms_t n;
    double rows[3] = {-1, -1, -1};
    ft_measure_norms(3, 2, u, a, rows, &n);
    assert_float_equal(rows[0], 5, 1e-12); /* |(3,4)|, |(0,1)|, |(6,8)| */
    assert_float_equal(rows[1], 1, 1e-12);
    assert_float_equal(rows[2], 10, 1e-12);
    assert_int_equal(n.attackers, 1);
    assert_float_equal(n.attacker_norm, 5, 1e-12);
    assert_float_equal(n.honest_norm_mean, 5.5, 1e-12);
    ft_measure_norms(3, 2, u, NULL, NULL, &n);
    assert_int_equal(n.attackers, 0);
    assert_true(isnan(n.attacker_norm));
    assert_float_equal(n.honest_norm_mean, (5 + 1 + 10) / 3.0, 1e-12);
    const uint8_t all[3] = {1, 1, 1};
    ft_measure_norms(3, 2, u, all, NULL, &n);
    assert_true(isnan(n.honest_norm_mean));
    assert_float_equal(n.attacker_norm, (5 + 1 + 10) / 3.0, 1e-12);
}

/* Backdoor accuracy = the share of the backdoor set classified as its (target) label;
 * the source class's accuracy comes from the clean evaluation; NAN where absent. */
static void test_backdoor_measure(void **state)
{
    (void)state;
    ft_model_t *m = NULL;
    assert_int_equal(ft_model_new("mlp", "4", 1, 2, 2, 3, 8, &ft_ops_cpu, &m), FT_OK);
    /* all weights 0, output bias (0, 0, 1): every input is classified as class 2 */
    float *p = ft_model_params(m);
    size_t N = ft_model_num_params(m);
    memset(p, 0, N * sizeof *p);
    p[N - 1] = 1;
    ft_dataset_t *bt = NULL;
    assert_int_equal(ft_dataset_new(4, 1, 2, 2, 3, &bt), FT_OK);
    const uint8_t labels[4] = {2, 2, 2, 1};
    memcpy(bt->labels, labels, 4);
    ft_eval_t clean;
    memset(&clean, 0, sizeof clean);
    clean.class_count[1] = 8;
    clean.class_correct[1] = 2;
    ft_backdoor_eval_t ev;
    assert_int_equal(ft_measure_backdoor(m, bt, 1, &clean, &ev), FT_OK);
    assert_float_equal(ev.backdoor_acc, 0.75, 1e-12);
    assert_int_equal(ev.backdoor_n, 4);
    assert_float_equal(ev.target_class_acc, 0.25, 1e-12);
    assert_int_equal(ft_measure_backdoor(m, NULL, -1, &clean, &ev), FT_OK);
    assert_true(isnan(ev.backdoor_acc));
    assert_true(isnan(ev.target_class_acc));
    assert_int_equal(ev.backdoor_n, 0);
    clean.class_count[0] = 0; /* a source class absent from the test set */
    assert_int_equal(ft_measure_backdoor(m, NULL, 0, &clean, &ev), FT_OK);
    assert_true(isnan(ev.target_class_acc));
    ft_dataset_destroy(&bt);
    ft_model_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_rounds),
        cmocka_unit_test(test_schedule_marks),
        cmocka_unit_test(test_schedule_sorted),
        cmocka_unit_test(test_scenario_held_out),
        cmocka_unit_test(test_root_set_bounds),
        cmocka_unit_test(test_holdings),
        cmocka_unit_test(test_holdings_disjoint),
        cmocka_unit_test(test_pretrain_pool),
        cmocka_unit_test(test_norms),
        cmocka_unit_test(test_backdoor_measure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
