/* test_attacks_contract: every registered attack through the same invariants, on a
 * tiny synthetic task built through the scenario (as a client process builds it).
 *
 * For each plug-in: it is found by its name, cites its paper and does something; its
 * update is deterministic, finite and reported with |D_adv| as the scenario counts
 * it; it touches nothing outside its hooks (the global model, the training set, the
 * partition and honest clients' data are unchanged); the client's own training hooks
 * (heartbeats) run whenever it trains; its backdoor test set, if it has one, is
 * non-empty, shaped like the test set and labelled target; the schedule marks it only
 * in the rounds it may attack; and model replacement scales exactly its update, with
 * the factor N_round / |D_adv|. A new attack that breaks one of these fails here
 * without a test of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_dataset_load.h"
#include "ft_error.h"
#include "ft_model_input.h"
#include "ft_scenario.h"
#include "ft_sha256.h"
#include "ft_test_experiment.h"

static const char *const base[] = {
    "data.dataset=synthetic",     "data.synthetic_train=600", "data.synthetic_test=200",
    "data.synthetic_shape=1,8,8", "federation.num_clients=6", "federation.clients_per_round=3",
    "attack.edge_size=8",         "federation.batch_size=16", "attack.honest_edge_holders=0",
    "attack.clean_points=40",     "attack.poison_points=30",  "attack.num_benign_estimates=2",
    "attack.source_class=2",      "attack.target_class=3",    "attack.fl_mode=fixed-freq",
    "attack.attack_freq=2",       "federation.rounds=6",      NULL};

/* What a text attack (ft_attack_t.text) runs on instead: a small next-word task on
 * the fortunes corpus with a tiny lstm. */
static const char *const text_keys[] = {"data.dataset=fortunes",
                                        "data.vocab_size=300",
                                        "data.seq_len=8",
                                        "data.train_limit=600",
                                        "data.test_limit=200",
                                        "model.name=lstm",
                                        "model.embedding=8",
                                        "model.hidden=8",
                                        "model.layers=1",
                                        "model.dropout=0",
                                        "attack.target_word=the",
                                        "attack.trigger_phrase=it is",
                                        NULL};

/* One attacker task of client `id` on scenario s. */
typedef struct {
    ft_scenario_t *s;   /* the scenario */
    ft_model_t *m;      /* the client's model */
    ft_trainer_t *t;    /* its trainer */
    size_t N;           /* parameters */
    float *global;      /* N: the round's global model */
    ft_attack_task_t k; /* the task */
} rig_t;

static void count_step(void *user, int epoch, int batch, ft_model_t *m)
{
    (void)epoch, (void)batch, (void)m;
    (*(int *)user)++;
}

static void rig_new(const ft_experiment_t *exp, rig_t *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(ft_scenario_new(exp, NULL, 0, &r->s), FT_OK);
    const ft_dataset_t *tr = r->s->train;
    if (tr->vocab)
        assert_int_equal(
            ft_model_new_for_data(&exp->model, tr, tr->num_classes, 0, 16, &ft_ops_cpu, &r->m),
            FT_OK);
    else
        assert_int_equal(
            ft_model_new("mlp", "16", tr->c, tr->h, tr->w, tr->num_classes, 16, &ft_ops_cpu, &r->m),
            FT_OK);
    r->t = ft_trainer_new(r->m, 16);
    assert_non_null(r->t);
    r->N = ft_model_num_params(r->m);
    ft_rng_t rng;
    ft_rng_init(&rng, 4, 0, 0, FT_RNG_INIT);
    ft_model_init(r->m, &rng);
    r->global = ft_malloc(r->N * sizeof(float));
    ft_model_get_params(r->m, r->global);
    uint32_t id = ft_schedule_attacker_id(&r->s->schedule);
    ft_attack_task_t k = {.round = 3,
                          .client_id = id,
                          .global = r->global,
                          .train = tr,
                          .part_idx = ft_scenario_part_idx(r->s, id),
                          .part_n = ft_scenario_part_n(r->s, id),
                          .opts = ft_train_opts_honest(exp),
                          .round_attackers = 1};
    k.opts.lr = 0.05f;
    r->k = k;
}

static void rig_free(rig_t *r)
{
    ft_trainer_destroy(&r->t);
    ft_model_destroy(&r->m);
    ft_free(r->global);
    ft_scenario_destroy(&r->s);
}

static void digest(const void *p, size_t n, uint8_t out[32])
{
    ft_sha256(p, n, out);
}

static void dataset_digest(const ft_dataset_t *d, uint8_t out[32])
{
    uint8_t a[32], b[32];
    size_t n = (size_t)d->n * ft_dataset_sample_size(d);
    if (d->pixels)
        digest(d->pixels, n, a);
    else
        digest(d->values, n * sizeof(float), a);
    digest(d->labels, d->n, b);
    for (int i = 0; i < 32; i++)
        out[i] = a[i] ^ (uint8_t)(b[i] * 31);
}

static double norm2(const float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    return sqrt(s);
}

/* Runs the attack once; the client's outer hook counts the steps. */
static void run(rig_t *r, float *delta, ft_attack_result_t *res, int *steps)
{
    *steps = 0;
    const ft_train_hooks_t outer = {.after_step = count_step, .user = steps};
    r->k.outer = &outer;
    int rc = ft_attack_local_update(r->s->attack, &r->k, r->m, r->t, delta, res);
    if (rc != FT_OK)
        fail_msg("%s: %s", r->s->attack->attack->name, ft_error_message());
    r->k.outer = NULL;
}

static void check_attack(const ft_attack_t *a)
{
    char method[64];
    snprintf(method, sizeof method, "attack.method=%s", a->name);
    ft_config_t *cfg = ft_test_config(base, (const char *[]){method, NULL});
    for (int i = 0; a->text && text_keys[i]; i++)
        ft_test_set(cfg, text_keys[i]);
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(ft_attack_check(&exp), FT_OK);
    rig_t r;
    rig_new(&exp, &r);
    assert_ptr_equal(r.s->attack->attack, a);
    assert_int_equal(a->uses_edge_set, r.s->attack->edge != NULL);

    uint8_t g0[32], t0[32], p0[32], g1[32], t1[32], p1[32];
    digest(r.global, r.N * sizeof(float), g0);
    dataset_digest(r.s->train, t0);
    digest(r.k.part_idx, r.k.part_n * sizeof(uint32_t), p0);

    float *d1 = ft_malloc(r.N * sizeof(float)), *d2 = ft_malloc(r.N * sizeof(float));
    ft_attack_result_t res1, res2;
    int steps1, steps2;
    /* an attack's state (A3FL's trigger) comes back whole, finite and deterministic */
    size_t S = ft_attack_state_floats(r.s->attack);
    assert_int_equal(S != 0, a->state_floats != NULL);
    float *s1 = ft_calloc(S + 1, sizeof(float)), *s2 = ft_calloc(S + 1, sizeof(float));
    s1[S] = s2[S] = 1234.0f; /* a guard: nothing past S is written */
    r.k.state_out = S ? s1 : NULL;
    run(&r, d1, &res1, &steps1);
    r.k.state_out = S ? s2 : NULL;
    run(&r, d2, &res2, &steps2);
    r.k.state_out = NULL;
    assert_memory_equal(s1, s2, (S + 1) * sizeof(float));
    assert_true(s1[S] == 1234.0f);
    for (size_t j = 0; j < S; j++)
        assert_true(isfinite(s1[j]));

    /* deterministic */
    assert_memory_equal(d1, d2, r.N * sizeof(float));
    assert_int_equal(res1.sample_count, res2.sample_count);
    assert_true(res1.loss == res2.loss || (isnan(res1.loss) && isnan(res2.loss)));
    assert_int_equal(steps1, steps2);
    /* finite, and the norms it reports are the update's */
    for (size_t j = 0; j < r.N; j++)
        assert_true(isfinite(d1[j]));
    assert_float_equal(res1.norm, norm2(d1, r.N), 1e-9 * (1 + res1.norm));
    assert_float_equal(res1.scale, 1, 0);
    assert_true(res1.norm > 0);
    /* |D_adv| as the scenario (and so the coordinator's N_round) counts it */
    assert_int_equal(res1.sample_count, ft_attack_sample_count(r.s->attack, r.k.part_n));
    assert_int_equal(res1.sample_count, ft_scenario_client_samples(r.s, r.k.client_id, 1));
    /* the client's own hooks run at every step of the attack's training; one that
     * trains once on D_adv takes epochs * ceil(|D_adv| / B) steps, so the count it
     * reports is the data it trained on */
    if (a->trains)
        assert_true(steps1 > 0);
    /* (an attack with state, A3FL, first optimises it with passes of its own; Chameleon
     * first trains its encoder) */
    if (a->trains && !a->transform && !a->state_floats && !a->own_passes) {
        uint64_t B = (uint64_t)r.k.opts.batch_size;
        assert_int_equal(steps1, r.k.opts.epochs * (int)((res1.sample_count + B - 1) / B));
    }
    /* nothing outside its hooks changed */
    digest(r.global, r.N * sizeof(float), g1);
    dataset_digest(r.s->train, t1);
    digest(r.k.part_idx, r.k.part_n * sizeof(uint32_t), p1);
    assert_memory_equal(g0, g1, 32);
    assert_memory_equal(t0, t1, 32);
    assert_memory_equal(p0, p1, 32);
    for (uint32_t id = 0; id + 1 < exp.federation.num_clients; id++) {
        ft_dataset_t *hd = NULL;
        assert_int_equal(ft_scenario_honest_dataset(r.s, id, &hd), FT_OK);
        assert_null(hd); /* edge case: honest clients train on their partition */
        assert_int_equal(ft_scenario_client_samples(r.s, id, 0), ft_scenario_part_n(r.s, id));
    }

    /* its backdoor test set, if any: non-empty, the test set's shape, all target */
    ft_dataset_t *test = NULL, *bt = NULL;
    assert_int_equal(ft_dataset_load(&exp.data, exp.run.seed, 0, &test), FT_OK);
    assert_int_equal(ft_attack_backdoor_test(r.s->attack, test, S ? s1 : NULL, &bt), FT_OK);
    assert_int_equal(a->backdoor_test != NULL, bt != NULL);
    if (bt) {
        assert_true(bt->n > 0);
        assert_int_equal(bt->c * 10000 + bt->h * 100 + bt->w,
                         test->c * 10000 + test->h * 100 + test->w);
        for (uint32_t i = 0; i < bt->n; i++)
            assert_int_equal(bt->labels[i], exp.attack.target_class);
    }
    ft_dataset_destroy(&bt);
    ft_dataset_destroy(&test);
    ft_free(s1);
    ft_free(s2);

    /* the schedule marks it in rounds 1, 3, 5 (attack_freq 2) and never in 2, 4, 6 */
    for (int t = 1; t <= 6; t++) {
        uint32_t ids[3] = {0, 1, 2};
        uint8_t att[3];
        int n = ft_schedule_attackers(&r.s->schedule, (uint32_t)t, ids, 3, att);
        assert_int_equal(n, t % 2);
        assert_int_equal(att[2], t % 2);
        assert_int_equal(ids[2], t % 2 ? r.k.client_id : 2);
    }

    /* model replacement scales exactly its update by N_round / |D_adv| */
    ft_test_set(cfg, "attack.model_replacement=true");
    ft_test_experiment(cfg, &exp);
    r.s->attack->p.model_replacement = 1; /* the same scenario, the option on */
    r.k.round_samples = 3 * res1.sample_count;
    run(&r, d2, &res2, &steps2);
    assert_float_equal(res2.scale, 3, 1e-12);
    for (size_t j = 0; j < r.N; j++)
        assert_true(d2[j] == (float)(d1[j] * 3.0));
    assert_float_equal(res2.norm_trained, res1.norm_trained, 0);

    ft_free(d1);
    ft_free(d2);
    rig_free(&r);
    ft_config_destroy(&cfg);
}

static void test_registry(void **state)
{
    (void)state;
    int n = 0;
    for (int i = 0; ft_attack_registry[i]; i++, n++) {
        const ft_attack_t *a = ft_attack_registry[i];
        assert_non_null(a->name);
        assert_ptr_equal(ft_attack_find(a->name), a);
        assert_non_null(a->cite);
        assert_true(strlen(a->cite) > 10);
        assert_true(a->trains || a->transform); /* it makes an update */
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ft_attack_registry[j]->name, a->name);
    }
    assert_true(n >= 8);
    assert_null(ft_attack_find("none"));
    /* `fedtail keys attack.method` lists the registry itself: tests/keys_cli.sh. */
}

static void test_every_attack(void **state)
{
    (void)state;
    for (int i = 0; ft_attack_registry[i]; i++) {
        printf("contract: %s\n", ft_attack_registry[i]->name);
        check_attack(ft_attack_registry[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_every_attack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
