/* Crafted checkpoints against the coordinator: a checkpoint's SHA-256 proves it is
 * whole, not that fedtail wrote it, so every field a resume or federation.init
 * relies on is checked (coordinator/ft_resume.c, ft_coord_run_dir.c, ft_global.c).
 *
 * Each crafted file starts as a valid one from the project's own writer
 * (ft_resume_save, ft_checkpoint_save); one field is then patched and the file
 * written again through ft_checkpoint_save, which recomputes the digest the way the
 * format does — exactly what someone editing a checkpoint by hand would produce.
 *   - ft_resume_find: each bad field (round out of [0, federation.rounds], elapsed
 *     NaN / Inf / negative, a NaN parameter, negative or impossible detection counts,
 *     byte lengths beyond or inconsistent with metrics.csv / events.jsonl, an
 *     accuracy outside [0, 1], another seed or defense) skips that slot with a
 *     warning naming the file and the field, and the older slot is used; with no
 *     good slot the error names every refusal. The last accepted and first refused
 *     values are tested.
 *   - ft_coordinator_new --resume: a checkpoint whose N or defense state does not fit
 *     the experiment falls back to the other slot, or the run starts over with
 *     metrics.csv cut back to its header.
 *   - federation.init: a NaN parameter, or fewer floats than the model under the
 *     right layout hash, is refused naming the file and the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_alloc.h"
#include "ft_checkpoint.h"
#include "ft_config.h"
#include "ft_coordinator.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_global.h"
#include "ft_log.h"
#include "ft_metrics.h"
#include "ft_resume.h"
#include "ft_test_experiment.h"
#include "ft_test_tmpdir.h"

#define ROUNDS 6  /* federation.rounds of the test run */
#define K      3  /* federation.clients_per_round (ft_test_population) */
#define NP     10 /* parameters of the fake model in the ft_resume_find tests */

static char dir[FT_TEST_TMPDIR_MAX];
static char logged[8192]; /* warnings captured from ft_log */

static void capture(ft_log_level_t level, const char *line, void *user)
{
    (void)level;
    (void)user;
    size_t n = strlen(logged);
    snprintf(logged + n, sizeof logged - n, "%s\n", line);
}

static int setup(void **state)
{
    (void)state;
    if (ft_test_tmpdir_make(dir, sizeof dir, "ckpt") != 0)
        return -1;
    ft_log_set_sink(capture, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_log_set_sink(NULL, NULL);
    return ft_test_tmpdir_remove(dir);
}

/* The run's config: the test population, ROUNDS rounds, seed 7, FedAvg. */
static ft_config_t *run_config(void)
{
    const char *sets[] = {"federation.rounds=6", "run.seed=7", "defense.name=fedavg",
                          "federation.round_timeout=5", NULL};
    return ft_test_config(ft_test_population, sets);
}

static const char *file(const char *name)
{
    static char path[4][512];
    static int i;
    i = (i + 1) % 4;
    return ft_test_tmpdir_path(path[i], sizeof path[i], dir, name);
}

/* Bytes of metrics.csv after `rows` rounds and of events.jsonl after `lines` lines,
 * as write_run_files writes them. */
static int64_t metrics_len(int rows)
{
    return (int64_t)strlen(ft_metrics_header()) + 1 + 6 * rows; /* "r,0.5\n" */
}

static int64_t events_len(int lines)
{
    return 12 * (int64_t)lines; /* {"event":1}\n */
}

/* metrics.csv with the header and `rows` rows, events.jsonl with `lines` lines. */
static void write_run_files(int rows, int lines)
{
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text, "%s\n", ft_metrics_header());
    for (int r = 1; r <= rows; r++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%d,0.5\n", r);
    assert_int_equal((int64_t)n, metrics_len(rows));
    assert_int_equal(ft_write_file_atomic(file("metrics.csv"), text, n), FT_OK);
    n = 0;
    for (int i = 0; i < lines; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "{\"event\":1}\n");
    assert_int_equal((int64_t)n, events_len(lines));
    assert_int_equal(ft_write_file_atomic(file("events.jsonl"), text, n), FT_OK);
}

/* A valid resumable checkpoint after `round` rounds in slot, as the coordinator
 * writes it (ft_resume_save). */
static void save_slot(int slot, int round, const char *config_ini, const uint8_t hash[32],
                      const float *params, size_t n)
{
    ft_resume_point_t pt = {
        .round = round,
        .metrics_bytes = metrics_len(round),
        .events_bytes = events_len(round + 1),
        .elapsed = 1.5 * round,
        .detect = {.attackers = 1, .attackers_kept = 1, .honest = 2, .honest_reduced = 1},
        .final_main_acc = 0.5,
        .final_backdoor_acc = NAN,
        .peak_backdoor_acc = NAN};
    assert_int_equal(
        ft_resume_save(dir, slot, hash, params, n, 7, "fedavg", &pt, config_ini, NULL, 0, NULL, 0),
        FT_OK);
}

static void fake_model(uint8_t hash[32], float params[NP])
{
    for (int i = 0; i < 32; i++)
        hash[i] = (uint8_t)(3 * i + 1);
    for (int i = 0; i < NP; i++)
        params[i] = 0.125f * (float)i;
}

/* Rewrites slot's checkpoint with meta key set to value (or, key NULL, parameter
 * `param` set to v), through ft_checkpoint_save: the digest is recomputed. */
static void craft(int slot, const char *key, const char *value, int param, float v)
{
    char path[4096];
    assert_int_equal(ft_resume_path(dir, slot, path, sizeof path), FT_OK);
    ft_checkpoint_t ck;
    assert_int_equal(ft_checkpoint_load(path, NULL, &ck), FT_OK);
    char meta[4096] = "";
    size_t n = 0;
    for (const char *line = ck.meta; *line;) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        size_t len = (size_t)(end - line);
        if (key && strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == '=')
            n += (size_t)snprintf(meta + n, sizeof meta - n, "%s=%s\n", key, value);
        else
            n += (size_t)snprintf(meta + n, sizeof meta - n, "%.*s\n", (int)len, line);
        line = end + 1;
    }
    if (!key)
        ck.params[param] = v;
    assert_int_equal(ft_checkpoint_save(path, ck.layout_hash, ck.params, ck.num_params, meta,
                                        ck.extra, ck.extra_len),
                     FT_OK);
    ft_checkpoint_free(&ck);
}

/* Slot b after round 4 (crafted by the caller) and slot a after round 2, both over a
 * run directory of 4 rounds. */
static void two_slots(const char *config_ini)
{
    uint8_t hash[32];
    float params[NP];
    fake_model(hash, params);
    write_run_files(4, 8);
    save_slot(0, 2, config_ini, hash, params, NP);
    save_slot(1, 4, config_ini, hash, params, NP);
}

/* ft_resume_find must skip slot b naming the file and words, and use slot a. */
static void expect_fallback(const char *what, const char *words)
{
    ft_resume_t r;
    logged[0] = '\0';
    int rc = ft_resume_find(dir, NULL, NULL, &r);
    if (rc != FT_OK)
        fail_msg("%s: ft_resume_find: %s", what, ft_error_message());
    if (r.slot != 0 || r.point.round != 2)
        fail_msg("%s: resumed from slot %d round %d, want the older slot a (round 2)", what, r.slot,
                 r.point.round);
    if (!strstr(logged, "checkpoint-b.ckpt") || !strstr(logged, words))
        fail_msg("%s: the warning '%s' lacks checkpoint-b.ckpt or '%s'", what, logged, words);
    ft_resume_free(&r);
}

/* ft_resume_find must take slot b (round 4). */
static void expect_accepted(const char *what)
{
    ft_resume_t r;
    int rc = ft_resume_find(dir, NULL, NULL, &r);
    if (rc != FT_OK)
        fail_msg("%s: ft_resume_find: %s", what, ft_error_message());
    if (r.slot != 1 || r.point.round != 4)
        fail_msg("%s: resumed from slot %d round %d, want slot b (round 4)", what, r.slot,
                 r.point.round);
    ft_resume_free(&r);
}

/* A stateful attack's state (A3FL's trigger) comes back from a checkpoint whole,
 * beside the defense's state; a non-finite value makes the slot damaged. */
static void test_resume_attack_state(void **state)
{
    (void)state;
    ft_config_t *cfg = run_config();
    char *ini = ft_config_to_ini(cfg);
    two_slots(ini);
    uint8_t hash[32];
    float params[NP];
    fake_model(hash, params);
    ft_resume_point_t pt = {.round = 4,
                            .metrics_bytes = metrics_len(4),
                            .events_bytes = events_len(5),
                            .final_main_acc = 0.5,
                            .final_backdoor_acc = NAN,
                            .peak_backdoor_acc = NAN};
    const uint8_t junk[5] = {9, 8, 7, 6, 5};
    float st[3] = {1.5f, -2.0f, 0.25f};
    assert_int_equal(
        ft_resume_save(dir, 1, hash, params, NP, 7, "fedavg", &pt, ini, junk, 5, st, 3), FT_OK);
    ft_resume_t r;
    assert_int_equal(ft_resume_find(dir, NULL, NULL, &r), FT_OK);
    assert_int_equal(r.slot, 1);
    assert_int_equal(r.attack_state_n, 3);
    assert_memory_equal(r.attack_state, st, sizeof st);
    assert_int_equal(r.defense_len, 5);
    assert_memory_equal(r.defense_state, junk, 5);
    ft_resume_free(&r);
    st[1] = NAN;
    assert_int_equal(
        ft_resume_save(dir, 1, hash, params, NP, 7, "fedavg", &pt, ini, junk, 5, st, 3), FT_OK);
    expect_fallback("attack state NaN", "field attack state: value 1 is not finite");
    free(ini);
    ft_config_destroy(&cfg);
}

static void test_resume_fields(void **state)
{
    (void)state;
    ft_config_t *cfg = run_config();
    char *ini = ft_config_to_ini(cfg);
    char big[32];
    snprintf(big, sizeof big, "%lld", (long long)metrics_len(4) + 1);
    char mid[32];
    snprintf(mid, sizeof mid, "%lld", (long long)metrics_len(4) - 1);
    char ev_big[32];
    snprintf(ev_big, sizeof ev_big, "%lld", (long long)events_len(8) + 1);
    char ev_short[32]; /* 3 lines: fewer than one per round of 4 */
    snprintf(ev_short, sizeof ev_short, "%lld", (long long)events_len(3));
    const struct {
        const char *key, *value, *words;
    } refused[] = {
        {"round", "999", "field round = 999"},
        {"round", "7", "field round = 7"}, /* the first past federation.rounds = 6 */
        {"round", "-1", "field round = -1"},
        {"round", "4x", "field round = 4x"},
        {"round", "3", "field metrics_bytes"}, /* 4 rows where round 3 needs 3 */
        {"elapsed", "nan", "field elapsed = nan"},
        {"elapsed", "inf", "field elapsed = inf"},
        {"elapsed", "-0x1p-10", "field elapsed"},
        {"detect", "-1,0,0,0,2,0,1", "field detect"},
        {"detect", "1,1,0,0,2,0", "field detect"},
        {"detect", "13,13,0,0,0,0,0", "field detect"}, /* 4 rounds x K = 3 is 12 */
        {"detect", "0,0,0,0,12,1,0,", "field detect"},
        {"detect", "2,1,0,0,2,0,1", "field detect"}, /* kept + dropped + reduced != 2 */
        {"detect", "1,1,0,0,2,2,1", "field detect"}, /* honest dropped + reduced > 2 */
        {"detect", "6,6,0,0,7,0,0", "field detect"}, /* 13 updates in 4 rounds of 3 */
        {"shares", "nan,1,0x0p+0,0", "field shares"},
        {"shares", "0x1p+1,1,0x0p+0,0", "field shares"}, /* weight 2 in one round */
        {"shares", "0x0p+0,5,0x0p+0,0", "field shares"}, /* 5 rounds of 4 */
        {"shares", "0x0p+0,1,-0x1p-3,1", "field shares"},
        {"shares", "0x0p+0,1,0x0p+0", "field shares"},
        {"shares", "0x0p+0,1,0x0p+0,1,", "field shares"},
        {"metrics_bytes", big, "beyond the end"},
        {"metrics_bytes", mid, "not at the end of a line"},
        {"metrics_bytes", "-5", "field metrics_bytes = -5"},
        {"events_bytes", ev_big, "field events_bytes"},
        {"events_bytes", ev_short, "field events_bytes"},
        {"final_main_acc", "0x1.8p+0", "field final_main_acc"},
        {"final_main_acc", "inf", "field final_main_acc"},
        {"peak_backdoor_acc", "-0x1p-20", "field peak_backdoor_acc"},
        {"seed", "8", "field seed = 8"},
        {"defense", "median", "field defense = median"},
        /* no state in the file: one float would read past its end */
        {"attack_state_floats", "1", "field attack_state_floats = 1"},
        {"attack_state_floats", "-1", "field attack_state_floats = -1"},
        {"attack_state_floats", "2x", "field attack_state_floats = 2x"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        two_slots(ini);
        craft(1, refused[i].key, refused[i].value, 0, 0);
        char what[128];
        snprintf(what, sizeof what, "%s = %s", refused[i].key, refused[i].value);
        expect_fallback(what, refused[i].words);
    }
    /* a NaN / Inf parameter */
    two_slots(ini);
    craft(1, NULL, NULL, 3, NAN);
    expect_fallback("params[3] = NaN", "field params: parameter 3 of 10 is NaN");
    two_slots(ini);
    craft(1, NULL, NULL, 9, INFINITY);
    expect_fallback("params[9] = Inf", "field params");

    /* The last accepted values. */
    const struct {
        const char *key, *value;
    } accepted[] = {
        {"elapsed", "0x0p+0"},
        {"detect", "0,0,0,0,12,12,0"}, /* 4 rounds x K = 3 updates, all dropped */
        {"detect", "12,0,12,0,0,0,0"},
        {"shares", "0x1p+2,4,0x1p-1,4"}, /* weight 1 in each of 4 rounds */
        {"final_main_acc", "0x1p+0"},
        {"final_backdoor_acc", "0x0p+0"},
        {"attack_state_floats", "0"},
        {"events_bytes", ""}, /* filled below: 4 lines, one per round */
    };
    char ev_least[32];
    snprintf(ev_least, sizeof ev_least, "%lld", (long long)events_len(4));
    for (size_t i = 0; i < sizeof accepted / sizeof *accepted; i++) {
        two_slots(ini);
        craft(1, accepted[i].key, accepted[i].value[0] ? accepted[i].value : ev_least, 0, 0);
        expect_accepted(accepted[i].key);
    }

    /* round = federation.rounds is the last accepted round (a checkpoint after the
     * final round); metrics_bytes = the file's whole length. */
    uint8_t hash[32];
    float params[NP];
    fake_model(hash, params);
    write_run_files(ROUNDS, ROUNDS + 1);
    save_slot(0, ROUNDS, ini, hash, params, NP);
    ft_resume_t r;
    assert_int_equal(ft_resume_find(dir, NULL, NULL, &r), FT_OK);
    assert_int_equal(r.point.round, ROUNDS);
    ft_resume_free(&r);

    /* No good slot: the error is FT_EFORMAT naming both files and fields, and the
     * coordinator starts over as for a torn file. */
    two_slots(ini);
    craft(0, "elapsed", "nan", 0, 0);
    craft(1, "round", "999", 0, 0);
    assert_int_equal(ft_resume_find(dir, NULL, NULL, &r), FT_EFORMAT);
    const char *msg = ft_error_message();
    if (!strstr(msg, "checkpoint-a.ckpt: field elapsed = nan") ||
        !strstr(msg, "checkpoint-b.ckpt: field round = 999"))
        fail_msg("message '%s' does not name both refusals", msg);
    ft_resume_free(&r);
    unlink(file("checkpoint-a.ckpt"));
    unlink(file("checkpoint-b.ckpt"));
    free(ini);
    ft_config_destroy(&cfg);
}

/* The real model of run_config: its N, layout hash and initial parameters. */
static float *real_model(const ft_config_t *cfg, size_t *n, uint8_t hash[32])
{
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_global_t *g = NULL;
    assert_int_equal(ft_global_new(&exp, K, &g), FT_OK);
    *n = ft_global_num_params(g);
    memcpy(hash, ft_global_layout_hash(g), 32);
    float *p = malloc(*n * sizeof *p);
    memcpy(p, ft_global_params(g), *n * sizeof *p);
    ft_global_destroy(&g);
    return p;
}

/* ft_coordinator_new with opts.resume over dir: its rounds done (the coordinator is
 * destroyed again). */
static int resumed_rounds(const ft_config_t *cfg)
{
    char endpoint[FT_TEST_TMPDIR_MAX + 16];
    snprintf(endpoint, sizeof endpoint, "ipc://%s/c.sock", dir);
    ft_coord_opts_t opts = {.bind = endpoint, .out_dir = dir, .resume = 1};
    ft_coordinator_t *c = NULL;
    int rc = ft_coordinator_new(cfg, &opts, &c);
    if (rc != FT_OK)
        fail_msg("ft_coordinator_new --resume: %s", ft_error_message());
    int done = ft_coordinator_rounds_done(c);
    ft_coordinator_destroy(&c);
    return done;
}

static void test_coordinator_falls_back(void **state)
{
    (void)state;
    ft_config_t *cfg = run_config();
    char *ini = ft_config_to_ini(cfg);
    size_t n;
    uint8_t hash[32];
    float *params = real_model(cfg, &n, hash);

    /* slot b with fewer floats than the model under the right hash: slot a */
    write_run_files(4, 8);
    save_slot(0, 2, ini, hash, params, n);
    save_slot(1, 4, ini, hash, params, n - 1);
    logged[0] = '\0';
    assert_int_equal(resumed_rounds(cfg), 2);
    assert_non_null(strstr(logged, "checkpoint-b.ckpt: field num_params"));

    /* slot b with defense state bytes that FedAvg (stateless) never writes: slot a */
    write_run_files(4, 8);
    save_slot(0, 2, ini, hash, params, n);
    ft_resume_point_t pt = {.round = 4,
                            .metrics_bytes = metrics_len(4),
                            .events_bytes = events_len(5),
                            .final_main_acc = NAN,
                            .final_backdoor_acc = NAN,
                            .peak_backdoor_acc = NAN};
    const uint8_t junk[5] = {1, 2, 3, 4, 5};
    assert_int_equal(
        ft_resume_save(dir, 1, hash, params, n, 7, "fedavg", &pt, ini, junk, 5, NULL, 0), FT_OK);
    logged[0] = '\0';
    assert_int_equal(resumed_rounds(cfg), 2);
    assert_non_null(strstr(logged, "checkpoint-b.ckpt: field defense state"));

    /* both crafted (round = 999; elapsed = nan): the run starts over, and metrics.csv
     * and events.jsonl are cut back to a fresh run's */
    write_run_files(4, 8);
    save_slot(0, 2, ini, hash, params, n);
    save_slot(1, 4, ini, hash, params, n);
    craft(0, "elapsed", "nan", 0, 0);
    craft(1, "round", "999", 0, 0);
    logged[0] = '\0';
    assert_int_equal(resumed_rounds(cfg), 0);
    assert_non_null(strstr(logged, "starts over from round 1"));
    char *text;
    size_t len;
    assert_int_equal(ft_read_file(file("metrics.csv"), &text, &len), FT_OK);
    assert_int_equal(len, strlen(ft_metrics_header()) + 1);
    ft_free(text);
    assert_int_equal(ft_read_file(file("events.jsonl"), &text, &len), FT_OK);
    assert_null(strstr(text, "\"event\":1")); /* the old lines are gone */
    ft_free(text);
    unlink(file("checkpoint-a.ckpt"));
    unlink(file("checkpoint-b.ckpt"));
    free(params);
    free(ini);
    ft_config_destroy(&cfg);
}

/* federation.init names a model checkpoint: it must hold the model's N finite floats. */
static void test_init_checkpoint(void **state)
{
    (void)state;
    ft_config_t *cfg = run_config();
    size_t n;
    uint8_t hash[32];
    float *params = real_model(cfg, &n, hash);
    const char *init = file("init.ckpt");
    char set[600];
    snprintf(set, sizeof set, "federation.init=%s", init);
    ft_test_set(cfg, set);
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    ft_global_t *g = NULL;

    /* the honest file loads; so does the largest finite parameter */
    params[1] = -3.4e38f;
    assert_int_equal(ft_checkpoint_save(init, hash, params, n, "model=mlp\n", NULL, 0), FT_OK);
    assert_int_equal(ft_global_new(&exp, K, &g), FT_OK);
    assert_true(ft_global_params(g)[1] == -3.4e38f);
    ft_global_destroy(&g);
    /* a NaN parameter: refused naming the file and the field */
    params[5] = NAN;
    assert_int_equal(ft_checkpoint_save(init, hash, params, n, "model=mlp\n", NULL, 0), FT_OK);
    assert_int_equal(ft_global_new(&exp, K, &g), FT_EFORMAT);
    assert_null(g);
    assert_non_null(strstr(ft_error_message(), init));
    assert_non_null(strstr(ft_error_message(), "field params: parameter 5"));
    params[5] = 0.0f;
    /* the right layout hash over fewer floats: refused, not read past the end */
    assert_int_equal(ft_checkpoint_save(init, hash, params, n - 7, "model=mlp\n", NULL, 0), FT_OK);
    assert_int_equal(ft_global_new(&exp, K, &g), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), init));
    assert_non_null(strstr(ft_error_message(), "field num_params"));
    /* a FIFO: refused at once (an alarm turns a hang into a failure) */
    unlink(init);
    assert_int_equal(mkfifo(init, 0600), 0);
    alarm(20);
    assert_int_equal(ft_global_new(&exp, K, &g), FT_EIO);
    alarm(0);
    assert_non_null(strstr(ft_error_message(), init));
    assert_non_null(strstr(ft_error_message(), "FIFO"));
    unlink(init);
    free(params);
    ft_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_fields),
        cmocka_unit_test(test_resume_attack_state),
        cmocka_unit_test(test_coordinator_falls_back),
        cmocka_unit_test(test_init_checkpoint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
