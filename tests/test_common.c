/* Tests for common/: error messages, config loading and validation, Philox
 * streams, SHA-256, atomic files and the allocation hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_json.h"
#include "ft_log.h"
#include "ft_rng.h"
#include "ft_sha256.h"
#include "ft_test_tmpdir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <float.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[FT_TEST_TMPDIR_MAX];

static int make_tmpdir(void **state)
{
    (void)state;
    return ft_test_tmpdir_make(tmpdir, sizeof tmpdir, "common");
}

static int remove_tmpdir(void **state)
{
    (void)state;
    return ft_test_tmpdir_remove(tmpdir);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_config_defaults_and_types(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_config_new();
    assert_non_null(cfg);
    assert_int_equal(ft_config_int(cfg, "federation.num_clients"), 100);
    assert_true(fabs(ft_config_float(cfg, "federation.lr") - 0.01) < 1e-12);
    assert_false(ft_config_bool(cfg, "attack.model_replacement"));
    assert_string_equal(ft_config_str(cfg, "model.name"), "lenet5");
    assert_string_equal(ft_config_origin(cfg, "model.name"), "default");
    assert_false(ft_config_is_set(cfg, "model.name"));
    ft_config_destroy(&cfg);
    assert_null(cfg);
    ft_config_destroy(&cfg); /* safe twice */
}

static void test_config_file_and_overrides(void **state)
{
    (void)state;
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "exp.ini");
    write_text(path, "; comment\n[federation]\nrounds = 7\nlr = 0.5\n\n[model]\nname = mlp\n"
                     "[attack]\nmodel_replacement = yes\n");
    ft_config_t *cfg = ft_config_new();
    assert_int_equal(ft_config_load_file(cfg, path), FT_OK);
    assert_int_equal(ft_config_int(cfg, "federation.rounds"), 7);
    assert_true(ft_config_bool(cfg, "attack.model_replacement"));
    char origin[600];
    snprintf(origin, sizeof origin, "%s:4", path);
    assert_string_equal(ft_config_origin(cfg, "federation.lr"), origin);
    assert_int_equal(ft_config_set(cfg, "federation.rounds=9", "--set"), FT_OK);
    assert_int_equal(ft_config_int(cfg, "federation.rounds"), 9);
    assert_string_equal(ft_config_origin(cfg, "federation.rounds"), "--set");
    ft_config_destroy(&cfg);
}

static void expect_load_error(const char *text, const char *needle1, const char *needle2)
{
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "bad.ini");
    write_text(path, text);
    ft_config_t *cfg = ft_config_new();
    int rc = ft_config_load_file(cfg, path);
    assert_int_equal(rc, FT_ECONFIG);
    const char *msg = ft_error_message();
    if (!strstr(msg, needle1) || !strstr(msg, needle2))
        fail_msg("message '%s' lacks '%s' or '%s'", msg, needle1, needle2);
    assert_non_null(strstr(msg, "bad.ini"));
    ft_config_destroy(&cfg);
}

static void test_config_errors_name_file_line_key(void **state)
{
    (void)state;
    expect_load_error("[federation]\nrounds = 3\nroundz = 4\n", "bad.ini:3", "roundz");
    expect_load_error("[federation]\n\n[nosuch]\nx = 1\n", "bad.ini:4", "[nosuch]");
    expect_load_error("[federation]\nrounds = many\n", "bad.ini:2", "federation.rounds");
    expect_load_error("[federation]\nlr = 1e999\n", ":2", "federation.lr");
    expect_load_error("[federation]\npartition = random\n", ":2", "iid|dirichlet|shards");
    expect_load_error("[attack]\nprox = maybe\n", ":2", "attack.prox");
    expect_load_error("[federation\nrounds = 3\n", "bad.ini:1", "malformed");
    expect_load_error("rounds = 3\n", "bad.ini:1", "outside any [section]");
    expect_load_error("[run]\nseed = 1\njust words\n", "bad.ini:3", "malformed");
}

/* A key set twice in one file is an error naming the file, the line, the key and the
 * line of the first assignment (inih kept the last silently); so is an indented line
 * under a key, which inih reads as a continuation replacing its value. The same key
 * in another section, in another file loaded later, or from --set is not. */
static void test_config_duplicate_keys(void **state)
{
    (void)state;
    expect_load_error("[federation]\nrounds = 3\nlr = 0.1\nrounds = 5\n", "bad.ini:4",
                      "key federation.rounds is already set on line 2");
    /* The section reopened is the same section; ':' separates like '='. */
    expect_load_error("[federation]\nrounds = 3\n[model]\nname = mlp\n[federation]\nrounds: 4\n",
                      "bad.ini:6", "federation.rounds is already set on line 2");
    expect_load_error("[run]\nseed = 1\n  seed = 2\n", "bad.ini:3",
                      "indented line under key 'seed'");
    expect_load_error("[run]\nseed = 1\n\n  [model]\n", "bad.ini:4", "(line 2)");
    /* Not repeats: the same key name in two sections, an indented first key (no key
     * above it in its section), and later files and --set overriding. */
    char path[512], path2[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "a.ini");
    ft_test_tmpdir_path(path2, sizeof path2, tmpdir, "b.ini");
    write_text(path, "[federation]\nrounds = 3\n[defense]\n  name = krum\n[model]\nname = mlp\n");
    write_text(path2, "[federation]\nrounds = 4\n");
    ft_config_t *cfg = ft_config_new();
    assert_int_equal(ft_config_load_file(cfg, path), FT_OK);
    assert_string_equal(ft_config_str(cfg, "defense.name"), "krum");
    assert_string_equal(ft_config_str(cfg, "model.name"), "mlp");
    assert_int_equal(ft_config_load_file(cfg, path2), FT_OK);
    assert_int_equal(ft_config_int(cfg, "federation.rounds"), 4);
    assert_int_equal(ft_config_set(cfg, "federation.rounds=9", "--set"), FT_OK);
    assert_int_equal(ft_config_set(cfg, "federation.rounds=10", "--set"), FT_OK);
    assert_int_equal(ft_config_int(cfg, "federation.rounds"), 10);
    ft_config_destroy(&cfg);
}

static void test_config_missing_file_and_bad_set(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_config_new();
    assert_int_equal(ft_config_load_file(cfg, "/nonexistent/exp.ini"), FT_EIO);
    assert_non_null(strstr(ft_error_message(), "/nonexistent/exp.ini"));
    assert_int_equal(ft_config_set(cfg, "federation.rounds", "--set"), FT_ECONFIG);
    assert_int_equal(ft_config_set(cfg, "nosuch.key=1", "--set"), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "unknown section"));
    assert_int_equal(ft_config_set(cfg, "federation.nokey=1", "--set"), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "unknown key 'nokey'"));
    /* A failed set leaves the old value. */
    assert_int_equal(ft_config_set(cfg, "federation.rounds=x", "--set"), FT_ECONFIG);
    assert_int_equal(ft_config_int(cfg, "federation.rounds"), 30);
    ft_config_destroy(&cfg);
}

static void test_config_roundtrip_ini(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_config_new();
    assert_int_equal(ft_config_set(cfg, "defense.name=krum", "--set"), FT_OK);
    assert_int_equal(ft_config_set(cfg, "data.mean=0.5, 0.25", "--set"), FT_OK);
    char *text = ft_config_to_ini(cfg);
    assert_non_null(text);
    ft_config_t *copy = ft_config_new();
    assert_int_equal(ft_config_load_string(copy, text, "resolved"), FT_OK);
    assert_string_equal(ft_config_str(copy, "defense.name"), "krum");
    double v[4];
    assert_int_equal(ft_config_float_list(copy, "data.mean", v, 4), 2);
    assert_true(v[0] == 0.5 && v[1] == 0.25);
    ft_free(text);
    ft_config_destroy(&copy);
    ft_config_destroy(&cfg);
}

static void test_config_error_helper(void **state)
{
    (void)state;
    ft_config_t *cfg = ft_config_new();
    assert_int_equal(ft_config_set(cfg, "federation.clients_per_round=500", "--set"), FT_OK);
    assert_int_equal(ft_config_error(cfg, "federation.clients_per_round", "exceeds %d", 100),
                     FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "--set"));
    assert_non_null(strstr(ft_error_message(), "'500'"));
    assert_non_null(strstr(ft_error_message(), "exceeds 100"));
    ft_config_destroy(&cfg);
}

/* Philox4x32-10 known-answer vectors from the Random123 distribution (kat_vectors):
 * counter/key all zero, and all ones. */
static void test_philox_known_answers(void **state)
{
    (void)state;
    uint32_t out[4];
    const uint32_t zero_ctr[4] = {0, 0, 0, 0}, zero_key[2] = {0, 0};
    ft_philox4x32(zero_ctr, zero_key, out);
    assert_int_equal(out[0], 0x6627e8d5);
    assert_int_equal(out[1], 0xe169c58d);
    assert_int_equal(out[2], 0xbc57ac4c);
    assert_int_equal(out[3], 0x9b00dbd8);
    const uint32_t ones_ctr[4] = {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
    const uint32_t ones_key[2] = {0xffffffff, 0xffffffff};
    ft_philox4x32(ones_ctr, ones_key, out);
    assert_int_equal(out[0], 0x408f276d);
    assert_int_equal(out[1], 0x41c83b0e);
    assert_int_equal(out[2], 0xa20bc7c6);
    assert_int_equal(out[3], 0x6d5451fd);
}

static void test_rng_streams(void **state)
{
    (void)state;
    ft_rng_t a, b, c;
    ft_rng_init(&a, 42, 3, 7, FT_RNG_SHUFFLE);
    ft_rng_init(&b, 42, 3, 7, FT_RNG_SHUFFLE);
    ft_rng_init(&c, 42, 3, 8, FT_RNG_SHUFFLE);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = ft_rng_u32(&a), y = ft_rng_u32(&b), z = ft_rng_u32(&c);
        assert_int_equal(x, y);
        same_c += x == z;
    }
    assert_true(same_c < 3);
}

static void test_rng_distributions(void **state)
{
    (void)state;
    ft_rng_t r;
    ft_rng_init(&r, 1, 0, 0, FT_RNG_TEST);
    const int n = 200000;
    double sum = 0, sum2 = 0, gsum = 0;
    int below_hist[7] = {0};
    for (int i = 0; i < n; i++) {
        double u = ft_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        double z = ft_rng_normal(&r);
        sum += z;
        sum2 += z * z;
        gsum += ft_rng_gamma(&r, 0.5);
        below_hist[ft_rng_below(&r, 7)]++;
    }
    /* Mean of n normals has std 1/sqrt(n) = 0.0022: 5 sigma bounds. */
    assert_true(fabs(sum / n) < 0.011);
    assert_true(fabs(sum2 / n - 1.0) < 0.02);
    /* Gamma(0.5) has mean 0.5 and variance 0.5: std of the mean 0.0016. */
    assert_true(fabs(gsum / n - 0.5) < 0.01);
    for (int k = 0; k < 7; k++) /* expected 28571, std ~156 */
        assert_true(abs(below_hist[k] - n / 7) < 1000);
}

static void test_shuffle_is_permutation(void **state)
{
    (void)state;
    uint32_t a[100];
    for (uint32_t i = 0; i < 100; i++)
        a[i] = i;
    ft_rng_t r;
    ft_rng_init(&r, 9, 0, 0, FT_RNG_TEST);
    ft_rng_shuffle_u32(&r, a, 100);
    int seen[100] = {0}, moved = 0;
    for (uint32_t i = 0; i < 100; i++) {
        seen[a[i]]++;
        moved += a[i] != i;
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_true(moved > 80);
}

/* FIPS 180-2 test vectors. */
static void test_sha256_vectors(void **state)
{
    (void)state;
    uint8_t d[32];
    char hex[65];
    ft_sha256("abc", 3, d);
    ft_sha256_hex(d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ft_sha256("", 0, d);
    ft_sha256_hex(d, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ft_sha256_ctx_t *ctx = ft_sha256_new();
    assert_non_null(ctx);
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    ft_sha256_update(ctx, msg, 20);
    ft_sha256_update(ctx, msg + 20, strlen(msg) - 20);
    ft_sha256_final(ctx, d);
    ft_sha256_destroy(&ctx);
    assert_null(ctx);
    ft_sha256_hex(d, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_atomic_write(void **state)
{
    (void)state;
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "out.txt");
    assert_int_equal(ft_write_file_atomic(path, "hello", 5), FT_OK);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(ft_read_file(path, &data, &len), FT_OK);
    assert_int_equal(len, 5);
    assert_string_equal(data, "hello");
    ft_free(data);
    /* A write into a missing directory fails with the path named. */
    char bad[600];
    ft_test_tmpdir_path(bad, sizeof bad, tmpdir, "nodir/out.txt");
    assert_int_equal(ft_write_file_atomic(bad, "x", 1), FT_EIO);
    assert_non_null(strstr(ft_error_message(), "nodir"));
    /* An abandoned writer leaves the old file intact and no temp file. */
    ft_atomic_file_t *f = ft_atomic_open(path);
    assert_non_null(f);
    ft_atomic_write(f, "partial", 7);
    ft_atomic_abort(&f);
    assert_null(f);
    assert_int_equal(ft_read_file(path, &data, &len), FT_OK);
    assert_string_equal(data, "hello");
    ft_free(data);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q tmp", tmpdir);
    assert_int_not_equal(system(cmd), 0);
}

static void test_mkdir_p(void **state)
{
    (void)state;
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "a/b/c");
    assert_int_equal(ft_mkdir_p(path), FT_OK);
    assert_true(ft_path_exists(path));
    assert_int_equal(ft_mkdir_p(path), FT_OK);
    char file[600];
    ft_test_tmpdir_path(file, sizeof file, tmpdir, "out.txt");
    assert_int_equal(ft_write_file_atomic(file, "x", 1), FT_OK);
    assert_int_equal(ft_mkdir_p(file), FT_EIO);
}

/* A FIFO (or a directory) given where a file is read is refused at once, naming the
 * file: opening a FIFO for reading would otherwise wait for a writer forever. The
 * alarm turns such a hang into a failure instead of a stuck test. */
static void test_read_refuses_fifo(void **state)
{
    (void)state;
    char fifo[512];
    ft_test_tmpdir_path(fifo, sizeof fifo, tmpdir, "pipe.ini");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20);
    char *data = (char *)1;
    size_t len = 7;
    assert_int_equal(ft_read_file(fifo, &data, &len), FT_EIO);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_non_null(strstr(ft_error_message(), fifo));
    assert_non_null(strstr(ft_error_message(), "a FIFO"));
    int fd = 5;
    assert_int_equal(ft_open_regular(fifo, &fd, NULL), FT_EINVAL);
    assert_int_equal(fd, -1);
    /* the INI reader goes through the same helper */
    ft_config_t *cfg = ft_config_new();
    assert_int_not_equal(ft_config_load_file(cfg, fifo), FT_OK);
    assert_non_null(strstr(ft_error_message(), fifo));
    ft_config_destroy(&cfg);
    alarm(0);
    /* a directory: refused with what it is */
    assert_int_equal(ft_read_file(tmpdir, &data, &len), FT_EIO);
    assert_non_null(strstr(ft_error_message(), "a directory"));
    /* a regular file still reads, through a blocking descriptor */
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "plain.txt");
    assert_int_equal(ft_write_file_atomic(path, "abc", 3), FT_OK);
    assert_int_equal(ft_read_file(path, &data, &len), FT_OK);
    assert_int_equal(len, 3);
    assert_string_equal(data, "abc");
    ft_free(data);
    struct stat st;
    assert_int_equal(ft_open_regular(path, &fd, &st), FT_OK);
    assert_true(fd >= 0);
    assert_int_equal(st.st_size, 3);
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);
    unlink(fifo);
}

/* JSON has no NaN/Infinity: every non-finite value is null, finite ones keep their
 * digits (a value whose fixed-point text does not fit falls back to %.9g). */
static void test_json_numbers(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(ft_json_num(b, sizeof b, NAN, 3), "null");
    assert_string_equal(ft_json_num(b, sizeof b, INFINITY, -1), "null");
    assert_string_equal(ft_json_num(b, sizeof b, -INFINITY, 6), "null");
    assert_string_equal(ft_json_num(b, sizeof b, 0.5, 3), "0.500");
    assert_string_equal(ft_json_num(b, sizeof b, -0.25, -1), "-0.25");
    assert_string_equal(ft_json_num(b, sizeof b, 1.0 / 3.0, -1), "0.333333333");
    assert_string_equal(ft_json_num(b, sizeof b, DBL_MAX, 3), "1.79769313e+308");
    assert_string_equal(ft_json_num(b, sizeof b, 1e20, 1), "100000000000000000000.0");
    /* the boundary: 63 characters of fixed-point fit in 64 bytes, 64 do not */
    assert_int_equal(strlen(ft_json_num(b, sizeof b, 1e61, 1)), 63);
    assert_string_equal(b + 61, ".0");
    assert_string_equal(ft_json_num(b, sizeof b, 1e62, 1), "1e+62"); /* 65 characters */
}

static void test_alloc_hook_counts_and_fails(void **state)
{
    (void)state;
    unsigned long before = ft_alloc_count();
    void *p = ft_malloc(16);
    assert_non_null(p);
    assert_int_equal(ft_alloc_count(), before + 1);
    ft_free(p);
    ft_alloc_fail_after(2);
    p = ft_malloc(8);
    assert_non_null(p);
    assert_null(ft_malloc(8));
    void *q = ft_malloc(8);
    assert_non_null(q);
    ft_free(p);
    ft_free(q);
    /* Config creation fails cleanly (no crash, NULL) when an allocation fails. */
    for (unsigned long k = 1; k < 5; k++) {
        ft_alloc_fail_after(k);
        ft_config_t *cfg = ft_config_new();
        ft_alloc_fail_after(0);
        assert_null(cfg);
    }
}

static int captured_lines;
static char captured[256];
static void capture_sink(ft_log_level_t level, const char *line, void *user)
{
    (void)level;
    (void)user;
    captured_lines++;
    snprintf(captured, sizeof captured, "%s", line);
}

static void test_log_sink_and_level(void **state)
{
    (void)state;
    ft_log_set_sink(capture_sink, NULL);
    ft_log_set_level(FT_LOG_WARN);
    FT_LOG(FT_LOG_INFO, "hidden %d", 1);
    assert_int_equal(captured_lines, 0);
    FT_LOG(FT_LOG_ERROR, "shown %d", 2);
    assert_int_equal(captured_lines, 1);
    assert_string_equal(captured, "shown 2");
    ft_log_set_sink(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_and_types),
        cmocka_unit_test(test_config_file_and_overrides),
        cmocka_unit_test(test_config_errors_name_file_line_key),
        cmocka_unit_test(test_config_duplicate_keys),
        cmocka_unit_test(test_config_missing_file_and_bad_set),
        cmocka_unit_test(test_config_roundtrip_ini),
        cmocka_unit_test(test_config_error_helper),
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_rng_streams),
        cmocka_unit_test(test_rng_distributions),
        cmocka_unit_test(test_shuffle_is_permutation),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_mkdir_p),
        cmocka_unit_test(test_read_refuses_fifo),
        cmocka_unit_test(test_json_numbers),
        cmocka_unit_test(test_alloc_hook_counts_and_fails),
        cmocka_unit_test(test_log_sink_and_level),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
