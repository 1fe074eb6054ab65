/* test_experiment: common/ft_experiment — the config read into typed sections, each
 * value at the boundaries of its range (the last accepted and the first refused
 * value), the checks between keys, and errors that still name the origin, the key
 * and its value. Expected values are the schema's defaults and hand-worked bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_test_experiment.h"

/* The code ft_experiment_read gives for the defaults plus sets; with FT_ECONFIG the
 * message must name `key`. */
static int read_with(const char *const *sets, const char *key)
{
    ft_config_t *cfg = ft_test_config(NULL, sets);
    ft_experiment_t exp;
    int rc = ft_experiment_read(cfg, &exp);
    if (rc == FT_ECONFIG && key && !strstr(ft_error_message(), key))
        fail_msg("error does not name %s: %s", key, ft_error_message());
    ft_config_destroy(&cfg);
    return rc;
}

/* ok accepted and bad refused, naming the key. */
static void bounds(const char *key, const char *ok, const char *bad)
{
    char a[128], b[128];
    snprintf(a, sizeof a, "%s=%s", key, ok);
    snprintf(b, sizeof b, "%s=%s", key, bad);
    if (read_with((const char *[]){a, NULL}, key) != FT_OK)
        fail_msg("%s refused: %s", a, ft_error_message());
    if (read_with((const char *[]){b, NULL}, key) != FT_ECONFIG)
        fail_msg("%s accepted", b);
}

static void test_defaults(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_config_new();
    ft_experiment_t exp;
    assert_int_equal(ft_experiment_read(cfg, &exp), FT_OK);
    assert_ptr_equal(exp.src, cfg);
    assert_ptr_equal(exp.federation.src, cfg);
    assert_int_equal(exp.federation.num_clients, 100);
    assert_int_equal(exp.federation.clients_per_round, 10);
    assert_int_equal(exp.federation.rounds, 30);
    assert_true(exp.federation.lr == 0.01);
    assert_int_equal(exp.federation.partition, FT_PARTITION_IID);
    assert_string_equal(exp.federation.init, "random");
    assert_string_equal(exp.data.dataset, "fashion-mnist");
    assert_int_equal(exp.data.num_mean, 0);
    assert_int_equal(exp.data.synthetic_shape[0] * 10000 + exp.data.synthetic_shape[1] * 100 +
                         exp.data.synthetic_shape[2],
                     12828);
    assert_string_equal(exp.model.name, "lenet5");
    assert_int_equal(exp.train.epochs, 2);
    assert_false(exp.attack.enabled);
    assert_int_equal(exp.attack.honest_edge_holders, 0); /* no attack: no holders */
    assert_int_equal(exp.attack.attack_until, 30);       /* 0 resolves to the last round */
    assert_int_equal(exp.attack.fl_mode, FT_FL_FIXED_FREQ);
    assert_int_equal(exp.attack.edge_source, FT_EDGE_MINED);
    assert_int_equal(exp.attack.edge_miner, FT_EDGE_MINER_KMEANS);
    assert_string_equal(exp.attack.edge_scores, "");
    assert_string_equal(exp.defense.name, "fedavg");
    assert_true(exp.defense.stddev == 0.025);
    assert_int_equal(exp.run.seed, 1);
    assert_string_equal(exp.run.device, "cpu");
    assert_true(exp.run.eval_async);
    assert_int_equal(exp.run.on_nonfinite, FT_NONFINITE_STOP);
    assert_false(exp.security.curve);
    ft_config_destroy(&cfg);
}

static void test_federation_bounds(void **state)
{
    (void)state;
    bounds("federation.num_clients", "1000000", "1000001");
    assert_int_equal(
        read_with((const char *[]){"federation.num_clients=0", NULL}, "federation.num_clients"),
        FT_ECONFIG);
    /* K in [1, num_clients] */
    const char *k_eq[] = {"federation.num_clients=20", "federation.clients_per_round=20",
                          "federation.min_clients=1", NULL};
    assert_int_equal(read_with(k_eq, NULL), FT_OK);
    const char *k_over[] = {"federation.num_clients=20", "federation.clients_per_round=21", NULL};
    assert_int_equal(read_with(k_over, "federation.clients_per_round"), FT_ECONFIG);
    bounds("federation.clients_per_round", "1", "0");
    /* min_clients in [1, K] */
    bounds("federation.min_clients", "10", "11");
    bounds("federation.min_clients", "1", "0");
    bounds("federation.rounds", "1", "0");
    bounds("federation.local_epochs", "1", "0");
    bounds("federation.batch_size", "65536", "65537");
    bounds("federation.lr", "1e-12", "0");
    bounds("federation.lr_decay", "0.1", "0");
    /* The lr of every round must be one the wire carries (proto/ft_wire.c: (0, 1e6] as
     * a float): 1e6 is, 1.0000001e6 (1000000.125f) is not; with lr_decay the last
     * round counts (0.01 * 1.5^29 = 1.28e3, 0.01 * 2^29 = 5.4e6; 0.01 * 0.01^29
     * underflows to 0). */
    bounds("federation.lr", "1e6", "1.0000001e6");
    bounds("federation.lr", "1e-12", "1e300");
    bounds("federation.lr_decay", "1.5", "2");
    bounds("federation.lr_decay", "0.1", "0.01");
    assert_int_equal(
        read_with((const char *[]){"federation.lr_decay=2", "federation.rounds=20", NULL}, NULL),
        FT_OK); /* 0.01 * 2^19 = 5243 */
    bounds("federation.momentum", "0", "-1e-9");
    bounds("federation.weight_decay", "0", "-1e-9");
    bounds("federation.alpha", "1e-9", "0");
    bounds("federation.min_size", "0", "-1");
    bounds("federation.shards_per_client", "100000", "100001");
    bounds("federation.eval_every", "1", "0");
    bounds("federation.round_timeout", "0.001", "0");
    bounds("federation.max_round_retries", "0", "-1");
    bounds("federation.heartbeat_s", "0.01", "0");
    ft_config_t *cfg = ft_test_config(NULL, (const char *[]){"federation.partition=shards", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(exp.federation.partition, FT_PARTITION_SHARDS);
    ft_config_destroy(&cfg);
}

static void test_data_run_train_bounds(void **state)
{
    (void)state;
    bounds("data.train_limit", "0", "-1");
    bounds("data.synthetic_train", "10000000", "10000001");
    bounds("data.synthetic_test", "1", "0");
    bounds("data.synthetic_shape", "4,1024,1024", "5,8,8");
    bounds("data.synthetic_shape", "1,1,1", "1,0,8");
    bounds("data.synthetic_shape", "3,32,32", "3,32");
    bounds("data.std", "0.5,0.25,1e-9", "0.5,0");
    bounds("data.mean", "0,0,0,0", "0,0,0,0,0");
    ft_config_t *cfg = ft_test_config(NULL, (const char *[]){"data.mean=0.5, 0.25", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(exp.data.num_mean, 2);
    assert_true(exp.data.mean[0] == 0.5 && exp.data.mean[1] == 0.25);
    ft_config_destroy(&cfg);
    bounds("train.momentum", "0.999", "1");
    bounds("train.momentum", "0", "-0.1");
    bounds("train.batch_size", "65536", "65537");
    bounds("train.lr", "1e-9", "0");
    bounds("run.threads", "1024", "1025");
    bounds("run.threads", "1", "0");
    bounds("run.eval_batch", "65536", "65537");
    bounds("run.checkpoint_every", "0", "-1");
    bounds("run.max_message_mb", "1048576", "1048577");
    bounds("run.max_message_mb", "1", "0");
    bounds("run.device", "cuda:1023", "cuda:1024");
    bounds("run.device", "cuda:0", "cuda:");
    bounds("run.device", "reference", "cuda:x");
    bounds("run.device", "cuda", "tpu");
    bounds("run.device", "cpu", "cuda:-1");
    /* run.on_nonfinite: stop | continue; anything else is refused when set */
    ft_config_t *nf = ft_test_config(NULL, (const char *[]){"run.on_nonfinite=continue", NULL});
    ft_experiment_t nexp;
    ft_test_experiment(nf, &nexp);
    assert_int_equal(nexp.run.on_nonfinite, FT_NONFINITE_CONTINUE);
    assert_int_equal(ft_config_set(nf, "run.on_nonfinite=stop", "test"), FT_OK);
    ft_test_experiment(nf, &nexp);
    assert_int_equal(nexp.run.on_nonfinite, FT_NONFINITE_STOP);
    assert_int_equal(ft_config_set(nf, "run.on_nonfinite=abort", "test"), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "run.on_nonfinite"));
    ft_config_destroy(&nf);
}

static void test_attack_bounds(void **state)
{
    (void)state;
    bounds("attack.source_class", "255", "256");
    bounds("attack.target_class", "0", "-1");
    bounds("attack.poison_points", "1", "0");
    bounds("attack.eps", "1e-12", "0");
    bounds("attack.project_frequency", "1", "0");
    bounds("attack.trigger_size", "64", "65");
    bounds("attack.trigger_size", "1", "0");
    bounds("attack.num_benign_estimates", "1000", "1001");
    bounds("attack.attack_from", "1", "0");
    bounds("attack.attack_until", "0", "-1");
    bounds("attack.attacker_pool_size", "100", "101");
    bounds("attack.edge_size", "2", "1");
    bounds("attack.edge_test_fraction", "0.999", "1");
    bounds("attack.edge_test_fraction", "0.001", "0");
    bounds("attack.edge_clusters", "0", "1");
    bounds("attack.edge_clusters", "64", "65");
    bounds("attack.edge_clusters", "2", "-1");
    bounds("attack.edge_components", "64", "65");
    bounds("attack.edge_components", "1", "0");
    assert_int_equal(
        read_with((const char *[]){"attack.edge_source=file", NULL}, "attack.edge_file"),
        FT_ECONFIG);
    bounds("attack.edge_copies", "1", "0");
    bounds("attack.edge_copies", "1000", "1001");
    bounds("attack.edge_points", "0", "-1");
    bounds("attack.edge_points", "10000000", "10000001");
    const char *tf_mined[] = {"attack.edge_test_file=/x.npy", NULL};
    assert_int_equal(read_with(tf_mined, "attack.edge_test_file"), FT_ECONFIG);
    const char *tf_file[] = {"attack.edge_source=file", "attack.edge_file=/e.npy",
                             "attack.edge_test_file=/t.npy", NULL};
    assert_int_equal(read_with(tf_file, NULL), FT_OK);
    /* scores only mean something to the density miner; kmeans ignores them */
    const char *sc_km[] = {"attack.edge_scores=/s.npy", NULL};
    assert_int_equal(read_with(sc_km, NULL), FT_OK);
    const char *sc_d[] = {"attack.edge_miner=density", "attack.edge_scores=/s.npy", NULL};
    assert_int_equal(read_with(sc_d, NULL), FT_OK);
    /* holders: up to num_clients with an attack; ignored (0) without one */
    const char *h_off[] = {"federation.num_clients=5", "federation.clients_per_round=3", NULL};
    assert_int_equal(read_with(h_off, NULL), FT_OK); /* the default 10 holders, no attack */
    const char *h_on[] = {"federation.num_clients=5", "federation.clients_per_round=3",
                          "attack.method=pgd", "attack.honest_edge_holders=6", NULL};
    assert_int_equal(read_with(h_on, "attack.honest_edge_holders"), FT_ECONFIG);
    /* fixed-freq: the top id attacks, so non-edge holders must stay below it */
    const char *ff_ok[] = {
        "federation.num_clients=5",       "federation.clients_per_round=3", "attack.method=pgd",
        "attack.attack_case=normal-case", "attack.honest_edge_holders=4",   NULL};
    assert_int_equal(read_with(ff_ok, NULL), FT_OK);
    const char *ff_bad[] = {
        "federation.num_clients=5",       "federation.clients_per_round=3", "attack.method=pgd",
        "attack.attack_case=normal-case", "attack.honest_edge_holders=5",   NULL};
    assert_int_equal(read_with(ff_bad, "attack.honest_edge_holders"), FT_ECONFIG);
    const char *ff_edge[] = {"federation.num_clients=5", "federation.clients_per_round=3",
                             "attack.method=pgd", "attack.honest_edge_holders=5", NULL};
    assert_int_equal(read_with(ff_edge, NULL), FT_OK); /* the edge case holds no copies */
    /* fixed-pool: holders + pool <= num_clients */
    const char *fp_ok[] = {"federation.num_clients=10",    "attack.method=pgd",
                           "attack.fl_mode=fixed-pool",    "attack.attacker_pool_size=4",
                           "attack.honest_edge_holders=6", NULL};
    assert_int_equal(read_with(fp_ok, NULL), FT_OK);
    const char *fp_bad[] = {"federation.num_clients=10",    "attack.method=pgd",
                            "attack.fl_mode=fixed-pool",    "attack.attacker_pool_size=4",
                            "attack.honest_edge_holders=7", NULL};
    assert_int_equal(read_with(fp_bad, "attack.honest_edge_holders"), FT_ECONFIG);
    /* attack_until 0 is the last round; a set value is kept */
    ft_config_t *cfg = ft_test_config(
        NULL, (const char *[]){"federation.rounds=12", "attack.attack_until=7", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(exp.attack.attack_until, 7);
    ft_test_set(cfg, "attack.attack_until=0");
    ft_test_experiment(cfg, &exp);
    assert_int_equal(exp.attack.attack_until, 12);
    ft_config_destroy(&cfg);
}

/* Errors keep the config's form: origin, key, value and why. */
/* run.seeds: the list read in order with spaces allowed; empty means one run with
 * run.seed; every bad list (an empty entry, a duplicate, a non-integer, a negative
 * seed, one past 2^63-1, more than FT_MAX_SEEDS) is refused naming run.seeds. */
static void test_run_seeds(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_test_config(NULL, (const char *[]){"run.seeds=3, 1 ,2", NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    assert_int_equal(exp.run.num_seeds, 3);
    assert_true(exp.run.seeds[0] == 3 && exp.run.seeds[1] == 1 && exp.run.seeds[2] == 2);
    ft_config_destroy(&cfg);
    cfg = ft_test_config(NULL, (const char *[]){"run.seeds=", NULL});
    ft_test_experiment(cfg, &exp);
    assert_int_equal(exp.run.num_seeds, 0);
    ft_config_destroy(&cfg);
    cfg = ft_test_config(NULL, (const char *[]){"run.seeds=9223372036854775807,0", NULL});
    ft_test_experiment(cfg, &exp);
    assert_int_equal(exp.run.num_seeds, 2);
    assert_true(exp.run.seeds[0] == UINT64_C(9223372036854775807) && exp.run.seeds[1] == 0);
    ft_config_destroy(&cfg);
    const char *bad[] = {"run.seeds=1,,2",  "run.seeds=,",   "run.seeds=1,2,",
                         "run.seeds=1,2,1", "run.seeds=1,a", "run.seeds=1.5",
                         "run.seeds=-1",    "run.seeds=1 2", "run.seeds=9223372036854775808"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (read_with((const char *[]){bad[i], NULL}, "run.seeds") != FT_ECONFIG)
            fail_msg("%s accepted", bad[i]);
    assert_non_null(strstr(
        (read_with((const char *[]){"run.seeds=4,5,4", NULL}, "run.seeds"), ft_error_message()),
        "seed 4 is listed twice"));
    char many[256] = "run.seeds=1";
    for (int i = 2; i <= FT_MAX_SEEDS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), ",%d", i);
    assert_int_equal(read_with((const char *[]){many, NULL}, "run.seeds"), FT_OK);
    snprintf(many + strlen(many), sizeof many - strlen(many), ",%d", FT_MAX_SEEDS + 1);
    assert_int_equal(read_with((const char *[]){many, NULL}, "run.seeds"), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "at most 32 seeds"));
}

static void test_error_names_origin(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_config_new();
    assert_int_equal(ft_config_set(cfg, "federation.rounds=0", "--set"), FT_OK);
    ft_experiment_t exp;
    assert_int_equal(ft_experiment_read(cfg, &exp), FT_ECONFIG);
    assert_string_equal(ft_error_message(), "--set: key federation.rounds = '0': must be >= 1");
    ft_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_federation_bounds),
        cmocka_unit_test(test_data_run_train_bounds),
        cmocka_unit_test(test_attack_bounds),
        cmocka_unit_test(test_run_seeds),
        cmocka_unit_test(test_error_names_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
