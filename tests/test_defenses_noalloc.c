/* Issue 17's "no rule allocates in aggregate (workspace stated once)", checked below
 * the project's own hook: this test defines malloc, calloc, realloc, posix_memalign,
 * aligned_alloc and memalign itself (the executable's definitions take precedence over
 * the C library's for every shared library too: LAPACKE, OpenBLAS), counts the calls
 * made while a rule's aggregate runs, and asserts there are none, round after round,
 * for every registered rule: the probe rules with the model probe, fldetector past its
 * warm-up into detection, bucketing with a selecting inner rule, a NaN row and a
 * blatant attacker among the updates. ft_alloc_count (the hook the contract test reads)
 * is checked beside it.
 *
 * Under AddressSanitizer the sanitizer owns malloc: the test is skipped (exit 77). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_defense.h"
#include "ft_defense_probe_mlp.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_rng.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define FT_NOALLOC_SKIP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FT_NOALLOC_SKIP 1
#endif
#endif

static atomic_int counting;           /* nonzero while an aggregate runs */
static atomic_ulong libc_allocations; /* allocations seen while counting */

#ifndef FT_NOALLOC_SKIP
/* glibc's own entry points, which its malloc forwards to */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

static void seen(void)
{
    if (atomic_load(&counting))
        atomic_fetch_add(&libc_allocations, 1);
}

void *malloc(size_t size)
{
    seen();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    seen();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    seen();
    return __libc_realloc(p, size);
}

void free(void *p)
{
    __libc_free(p);
}

void *memalign(size_t align, size_t size)
{
    seen();
    return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    seen();
    return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    seen();
    void *p = __libc_memalign(align, size);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}
#endif

enum { K = 12, N = 300, ROUNDS = 12, BAD = 5, NAN_ROUND = 7 };

/* Settings that take each rule past its warm-up at K = 12 within ROUNDS. */
static const char *extra_for(const char *name)
{
    if (strcmp(name, "fldetector") == 0)
        return "defense.fld_start=0,defense.fld_window=3";
    if (strcmp(name, "dnc") == 0)
        return "defense.dnc_b=100";
    return NULL;
}

static void set_all(ft_config_t *cfg, const char *list)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *kv = strtok(buf, ","); kv; kv = strtok(NULL, ","))
        assert_int_equal(ft_config_set(cfg, kv, "test"), FT_OK);
}

/* One rule (name, with inner for bucketing) over ROUNDS rounds; fails on any
 * allocation inside aggregate. */
static void run_rule(const ft_defense_t *d, const char *inner)
{
    static float U[K * N], out[N], counts[K], server[N], global[N], mu[N];
    uint32_t ids[K];
    ft_config_t *cfg = ft_config_new();
    assert_non_null(cfg);
    assert_int_equal(ft_config_set_value(cfg, "defense.name", d->name, "test"), FT_OK);
    assert_int_equal(ft_config_set(cfg, "federation.clients_per_round=12", "test"), FT_OK);
    assert_int_equal(ft_config_set(cfg, "federation.num_clients=12", "test"), FT_OK);
    assert_int_equal(ft_config_set(cfg, "defense.f=1", "test"), FT_OK);
    if (inner)
        assert_int_equal(ft_config_set_value(cfg, "defense.inner", inner, "test"), FT_OK);
    if (extra_for(d->name))
        set_all(cfg, extra_for(d->name));
    ft_experiment_t exp;
    if (ft_experiment_read(cfg, &exp) != FT_OK || ft_defense_check(&exp.defense, K) != FT_OK)
        fail_msg("%s: %s", d->name, ft_error_message());
    void *st = NULL;
    assert_int_equal(d->create(&exp.defense, K, N, K, &st), FT_OK);
    ft_probe_mlp_t probe;
    ft_probe_mlp_standard(&probe, 7);
    void *ws = ft_malloc(ft_defense_workspace(d, K, N, &probe.probe));
    assert_non_null(ws);
    ft_defense_decision_t dec[K];
    ft_rng_t g;
    ft_rng_init(&g, 91, 0, 0, FT_RNG_TEST);
    for (size_t j = 0; j < N; j++) {
        mu[j] = (float)ft_rng_normal(&g);
        global[j] = (float)ft_rng_normal(&g);
    }
    int scored = 0;
    for (int round = 1; round <= ROUNDS; round++) {
        for (size_t i = 0; i < K; i++) {
            for (size_t j = 0; j < N; j++)
                U[i * N + j] = mu[j] + 0.5f * (float)ft_rng_normal(&g);
            counts[i] = (float)(1 + i % 5);
            ids[i] = (uint32_t)i;
        }
        for (size_t j = 0; j < N; j++) {
            U[BAD * N + j] = -10.0f * U[2 * N + j];
            server[j] = mu[j];
        }
        if (round == NAN_ROUND)
            U[3 * N + 17] = NAN;
        ft_rng_t rng;
        ft_rng_init(&rng, 7, (uint32_t)round, 0, FT_RNG_NOISE);
        ft_defense_input_t in = {.round = round,
                                 .K = K,
                                 .N = N,
                                 .updates = U,
                                 .counts = counts,
                                 .ids = ids,
                                 .global = global,
                                 .server_update = server,
                                 .rng = &rng,
                                 .probe = &probe.probe};
        unsigned long ours = ft_alloc_count();
        atomic_store(&libc_allocations, 0);
        atomic_store(&counting, 1);
        int rc = d->aggregate(st, &in, out, dec, ws);
        atomic_store(&counting, 0);
        if (rc != FT_OK)
            fail_msg("%s%s%s round %d: %s", d->name, inner ? "+" : "", inner ? inner : "", round,
                     ft_error_message());
        if (atomic_load(&libc_allocations) != 0 || ft_alloc_count() != ours)
            fail_msg("%s%s%s round %d: %lu C-library and %lu ft_alloc allocations in aggregate",
                     d->name, inner ? "+" : "", inner ? inner : "", round,
                     (unsigned long)atomic_load(&libc_allocations), ft_alloc_count() - ours);
        for (size_t i = 0; i < K; i++)
            scored |= dec[i].score != 0;
    }
    /* fldetector's score is its window mean, 0 until detection runs */
    if (strcmp(d->name, "fldetector") == 0 && !scored)
        fail_msg("fldetector never reached detection in %d rounds", ROUNDS);
    d->destroy(&st);
    ft_free(ws);
    ft_config_destroy(&cfg);
}

static void test_no_allocation_in_aggregate(void **state)
{
    (void)state;
    /* the counter itself works: a malloc while counting is seen */
    atomic_store(&libc_allocations, 0);
    atomic_store(&counting, 1);
    void *volatile p = malloc(64);
    atomic_store(&counting, 0);
    free(p);
    assert_int_equal(atomic_load(&libc_allocations), 1);
    for (size_t r = 0; ft_defense_registry[r]; r++) {
        const ft_defense_t *d = ft_defense_registry[r];
        run_rule(d, NULL);
        if (strcmp(d->name, "bucketing") == 0)
            run_rule(d, "krum");
    }
}

int main(void)
{
#ifdef FT_NOALLOC_SKIP
    fprintf(stderr, "test_defenses_noalloc: skipped under AddressSanitizer (it owns malloc)\n");
    return 77;
#else
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_allocation_in_aggregate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#endif
}
