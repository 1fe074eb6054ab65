/* Tests for model/ft_checkpoint: the byte layout ft_checkpoint.h documents, round
 * trips of a real model, and every documented failure: truncated file, damaged byte
 * (digest), wrong magic or version, wrong layout hash, a missing file, a failed
 * write that must leave the previous file intact, allocation failure; crafted
 * files with a recomputed digest (non-finite parameters, a NUL in the meta) and a
 * FIFO in a checkpoint's place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_checkpoint.h"
#include "ft_error.h"
#include "ft_model.h"
#include "ft_sha256.h"
#include "ft_test_tmpdir.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[FT_TEST_TMPDIR_MAX];

static int make_tmpdir(void **state)
{
    (void)state;
    return ft_test_tmpdir_make(tmpdir, sizeof tmpdir, "model_ckpt");
}

static int remove_tmpdir(void **state)
{
    (void)state;
    return ft_test_tmpdir_remove(tmpdir);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static void test_byte_layout(void **state)
{
    (void)state;
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "tiny.ckpt");
    uint8_t hash[32];
    for (int i = 0; i < 32; i++)
        hash[i] = (uint8_t)(i * 7);
    const float params[2] = {1.0f, -2.5f};
    assert_int_equal(ft_checkpoint_save(path, hash, params, 2, "a=1\n", "xy", 2), FT_OK);
    /* Built by hand from the format in ft_checkpoint.h: "FTCKPT01", u32 version 1,
     * hash, u64 N = 2, u32 meta_len = 4, "a=1\n", u64 extra_len = 2, "xy",
     * 1.0f = 00 00 80 3f, -2.5f = 00 00 20 c0, SHA-256 of all of that. */
    unsigned char want[8 + 4 + 32 + 8 + 4 + 4 + 8 + 2 + 8 + 32];
    size_t k = 0;
    memcpy(want + k, "FTCKPT01", 8), k += 8;
    memcpy(want + k, "\x01\x00\x00\x00", 4), k += 4;
    memcpy(want + k, hash, 32), k += 32;
    memcpy(want + k, "\x02\0\0\0\0\0\0\0", 8), k += 8;
    memcpy(want + k, "\x04\0\0\0", 4), k += 4;
    memcpy(want + k, "a=1\n", 4), k += 4;
    memcpy(want + k, "\x02\0\0\0\0\0\0\0", 8), k += 8;
    memcpy(want + k, "xy", 2), k += 2;
    memcpy(want + k, "\x00\x00\x80\x3f\x00\x00\x20\xc0", 8), k += 8;
    ft_sha256(want, k, want + k), k += 32;
    assert_int_equal(k, sizeof want);
    size_t len;
    unsigned char *got = slurp(path, &len);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(got, want, sizeof want);
    free(got);

    ft_checkpoint_t ck;
    assert_int_equal(ft_checkpoint_load(path, hash, &ck), FT_OK);
    assert_int_equal(ck.num_params, 2);
    assert_true(ck.params[0] == 1.0f && ck.params[1] == -2.5f);
    assert_string_equal(ck.meta, "a=1\n");
    assert_int_equal(ck.extra_len, 2);
    assert_memory_equal(ck.extra, "xy", 2);
    char v[16];
    assert_true(ft_checkpoint_meta(&ck, "a", v, sizeof v));
    assert_string_equal(v, "1");
    assert_false(ft_checkpoint_meta(&ck, "b", v, sizeof v));
    ft_checkpoint_free(&ck);
    assert_null(ck.params);
    ft_checkpoint_free(&ck); /* safe twice */
}

/* A lenet5 with initialised parameters, saved to path; returns the model. */
static ft_model_t *saved_model(const char *path, float **params)
{
    ft_model_t *m = NULL;
    assert_int_equal(ft_model_new("lenet5", NULL, 1, 28, 28, 10, 1, &ft_ops_cpu, &m), 0);
    ft_rng_t rng;
    ft_rng_init(&rng, 11, 0, 0, FT_RNG_INIT);
    ft_model_init(m, &rng);
    size_t N = ft_model_num_params(m);
    *params = malloc(N * sizeof(float));
    ft_model_get_params(m, *params);
    assert_int_equal(ft_checkpoint_save(path, ft_model_layout(m)->hash, *params, N,
                                        "model=lenet5\ndataset=fashion-mnist\nepochs=2\n"
                                        "test_acc=0.8893\n",
                                        NULL, 0),
                     FT_OK);
    return m;
}

static void test_round_trip(void **state)
{
    (void)state;
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "model.ckpt");
    float *params;
    ft_model_t *m = saved_model(path, &params);
    size_t N = ft_model_num_params(m);
    ft_checkpoint_t ck;
    assert_int_equal(ft_checkpoint_load(path, ft_model_layout(m)->hash, &ck), FT_OK);
    assert_int_equal(ck.num_params, N);
    assert_memory_equal(ck.params, params, N * sizeof(float));
    assert_memory_equal(ck.layout_hash, ft_model_layout(m)->hash, 32);
    assert_null(ck.extra);
    char v[64];
    assert_true(ft_checkpoint_meta(&ck, "test_acc", v, sizeof v));
    assert_string_equal(v, "0.8893");
    assert_true(ft_checkpoint_meta(&ck, "model", v, sizeof v));
    assert_string_equal(v, "lenet5");
    assert_true(ft_checkpoint_meta(&ck, "dataset", v, 4)); /* truncated copy */
    assert_string_equal(v, "fas");
    /* into a fresh model: identical forward pass */
    ft_model_t *m2 = NULL;
    assert_int_equal(ft_model_new("lenet5", NULL, 1, 28, 28, 10, 1, &ft_ops_cpu, &m2), 0);
    ft_model_set_params(m2, ck.params);
    float x[784];
    for (int i = 0; i < 784; i++)
        x[i] = (float)(i % 17) / 17.0f;
    float z1[10];
    memcpy(z1, ft_model_forward(m, x, 1), sizeof z1);
    assert_memory_equal(z1, ft_model_forward(m2, x, 1), sizeof z1);
    ft_checkpoint_free(&ck);
    /* loading without a layout to check */
    assert_int_equal(ft_checkpoint_load(path, NULL, &ck), FT_OK);
    ft_checkpoint_free(&ck);
    ft_model_destroy(&m2);
    ft_model_destroy(&m);
    free(params);
}

static void expect_load_error(const char *path, const uint8_t *hash, int code, const char *words)
{
    ft_checkpoint_t ck;
    memset(&ck, 0xab, sizeof ck);
    ft_checkpoint_t before = ck;
    int rc = ft_checkpoint_load(path, hash, &ck);
    if (rc != code)
        fail_msg("%s: got %d (%s), want %d", path, rc, ft_error_message(), code);
    assert_memory_equal(&ck, &before, sizeof ck); /* *out untouched */
    assert_non_null(strstr(ft_error_message(), path));
    if (words && !strstr(ft_error_message(), words))
        fail_msg("message '%s' lacks '%s'", ft_error_message(), words);
}

static void test_damaged_files(void **state)
{
    (void)state;
    char path[512], bad[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "good.ckpt");
    ft_test_tmpdir_path(bad, sizeof bad, tmpdir, "bad.ckpt");
    float *params;
    ft_model_t *m = saved_model(path, &params);
    const uint8_t *hash = ft_model_layout(m)->hash;
    size_t len;
    unsigned char *b = slurp(path, &len);

    /* truncated: anywhere from inside the header to one byte short */
    size_t cuts[] = {3, 20, 60, 200, len / 2, len - 33, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        spit(bad, b, cuts[i]);
        expect_load_error(bad, hash, FT_EFORMAT, cuts[i] < 8 ? "magic" : "truncated");
    }
    spit(bad, b, 0);
    expect_load_error(bad, hash, FT_EFORMAT, NULL);
    /* one flipped byte in the parameters, the meta, the hash field, the trailer */
    size_t flips[] = {len - 100, 70, 20, len - 1};
    for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
        b[flips[i]] ^= 0x10;
        spit(bad, b, len);
        expect_load_error(bad, hash, FT_EDIGEST, "SHA-256");
        b[flips[i]] ^= 0x10;
    }
    /* trailing garbage */
    unsigned char *longer = malloc(len + 5);
    memcpy(longer, b, len);
    memcpy(longer + len, "junk!", 5);
    spit(bad, longer, len + 5);
    expect_load_error(bad, hash, FT_EFORMAT, "trailing");
    free(longer);
    /* wrong magic, wrong version */
    b[0] = 'X';
    spit(bad, b, len);
    expect_load_error(bad, hash, FT_EFORMAT, "magic");
    b[0] = 'F';
    b[8] = 2;
    spit(bad, b, len);
    expect_load_error(bad, hash, FT_EFORMAT, "version");
    b[8] = 1;
    /* intact file, another model's layout */
    ft_model_t *other = NULL;
    assert_int_equal(ft_model_new("paper-lenet", NULL, 1, 28, 28, 10, 1, &ft_ops_cpu, &other), 0);
    expect_load_error(path, ft_model_layout(other)->hash, FT_EINVAL, "layout");
    ft_model_destroy(&other);
    /* missing file */
    ft_test_tmpdir_path(bad, sizeof bad, tmpdir, "nope.ckpt");
    expect_load_error(bad, hash, FT_EIO, NULL);
    /* out of memory while reading */
    ft_checkpoint_t ck;
    for (unsigned long k = 1; k <= 4; k++) {
        ft_alloc_fail_after(k);
        int rc = ft_checkpoint_load(path, hash, &ck);
        ft_alloc_fail_after(0);
        if (rc == FT_OK)
            ft_checkpoint_free(&ck);
        else
            assert_int_equal(rc, FT_ENOMEM);
    }
    free(b);
    free(params);
    ft_model_destroy(&m);
}

/* A checkpoint with a recomputed digest is whole, not necessarily honest: its
 * fields are checked too. Each file below is written by the format's own writer
 * (ft_checkpoint_save computes the SHA-256) or patched and its digest recomputed
 * the way the format does (SHA-256 of every byte before the trailer). */
static void redigest(unsigned char *b, size_t len)
{
    ft_sha256(b, len - 32, b + len - 32);
}

static void test_crafted_fields(void **state)
{
    (void)state;
    char path[512], bad[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "crafted-good.ckpt");
    ft_test_tmpdir_path(bad, sizeof bad, tmpdir, "crafted.ckpt");
    float *params;
    ft_model_t *m = saved_model(path, &params);
    const uint8_t *hash = ft_model_layout(m)->hash;
    size_t N = ft_model_num_params(m);
    ft_checkpoint_t ck;
    /* the honest file: finite */
    assert_int_equal(ft_checkpoint_load(path, hash, &ck), FT_OK);
    assert_int_equal(ft_checkpoint_check_finite(path, &ck), FT_OK);
    ft_checkpoint_free(&ck);
    /* a NaN parameter, an Inf one: the file loads (a run's final.ckpt may hold a NaN
     * model and must stay readable) but is refused as a model to start from, naming
     * the file, the field and the parameter */
    const float nonfinite[2] = {NAN, -INFINITY};
    const char *words[2] = {"parameter 17 of", "is Inf"};
    for (int i = 0; i < 2; i++) {
        float keep = params[17];
        params[17] = nonfinite[i];
        assert_int_equal(ft_checkpoint_save(bad, hash, params, N, "model=lenet5\n", NULL, 0),
                         FT_OK);
        params[17] = keep;
        assert_int_equal(ft_checkpoint_load(bad, hash, &ck), FT_OK);
        assert_int_equal(ft_checkpoint_check_finite(bad, &ck), FT_EFORMAT);
        assert_non_null(strstr(ft_error_message(), bad));
        assert_non_null(strstr(ft_error_message(), "field params"));
        if (!strstr(ft_error_message(), words[i]))
            fail_msg("message '%s' lacks '%s'", ft_error_message(), words[i]);
        ft_checkpoint_free(&ck);
    }
    /* the boundary: the largest finite float is a parameter like any other */
    float keep = params[0];
    params[0] = -FLT_MAX;
    assert_int_equal(ft_checkpoint_save(bad, hash, params, N, NULL, NULL, 0), FT_OK);
    params[0] = keep;
    assert_int_equal(ft_checkpoint_load(bad, hash, &ck), FT_OK);
    assert_int_equal(ft_checkpoint_check_finite(bad, &ck), FT_OK);
    ft_checkpoint_free(&ck);
    /* a NUL byte inside the meta (it would hide the lines after it), digest
     * recomputed: refused naming the field */
    size_t len;
    unsigned char *b = slurp(path, &len);
    const size_t meta_at = 8 + 4 + 32 + 8 + 4;
    assert_memory_equal(b + meta_at, "model=lenet5\n", 13);
    b[meta_at + 12] = '\0';
    redigest(b, len);
    spit(bad, b, len);
    expect_load_error(bad, hash, FT_EFORMAT, "meta holds a NUL byte");
    free(b);
    free(params);
    ft_model_destroy(&m);
}

/* A FIFO named as a checkpoint is refused at once with its name (opening it for
 * reading would wait for a writer forever; the alarm turns a hang into a failure). */
static void test_fifo_refused(void **state)
{
    (void)state;
    char fifo[512];
    ft_test_tmpdir_path(fifo, sizeof fifo, tmpdir, "fifo.ckpt");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20);
    expect_load_error(fifo, NULL, FT_EIO, "not a regular file (a FIFO)");
    alarm(0);
    unlink(fifo);
}

/* Found by fuzz/fuzz_checkpoint (corpus regress_meta_nul): a NUL byte inside the meta
 * was accepted, and the meta then silently ended there (ck.meta is a C string), so
 * the lines after it were lost and the checkpoint no longer re-wrote to its bytes.
 * It is refused like any other malformed field, by ft_checkpoint_parse and _load. */
static void test_meta_nul_refused(void **state)
{
    (void)state;
    char path[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "meta.ckpt");
    const uint8_t hash[32] = {7};
    const float params[3] = {1, 2, 3};
    const char *meta = "round=3\nlabel=x\n";
    assert_int_equal(ft_checkpoint_save(path, hash, params, 3, meta, "ex", 2), FT_OK);
    size_t len;
    unsigned char *b = slurp(path, &len);
    const size_t at = 56 + 7; /* the '\n' after round=3 */
    assert_int_equal(b[at], '\n');
    ft_checkpoint_t ck;
    /* The last accepted value: any other byte, a control character included. */
    b[at] = 0x01;
    ft_sha256(b, len - 32, b + len - 32);
    assert_int_equal(ft_checkpoint_parse(b, len, "meta.ckpt", hash, &ck), FT_OK);
    assert_int_equal(strlen(ck.meta), strlen(meta));
    ft_checkpoint_free(&ck);
    /* The first refused: NUL, with a valid digest (not damage: a malformed file). */
    b[at] = 0;
    ft_sha256(b, len - 32, b + len - 32);
    memset(&ck, 0, sizeof ck);
    assert_int_equal(ft_checkpoint_parse(b, len, "meta.ckpt", hash, &ck), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), "meta.ckpt"));
    assert_non_null(strstr(ft_error_message(), "NUL"));
    assert_null(ck.meta);
    spit(path, b, len);
    expect_load_error(path, hash, FT_EFORMAT, "NUL");
    free(b);
}

static void test_failed_write_keeps_old_file(void **state)
{
    (void)state;
    char path[512], nodir[512];
    ft_test_tmpdir_path(path, sizeof path, tmpdir, "keep.ckpt");
    float *params;
    ft_model_t *m = saved_model(path, &params);
    const uint8_t *hash = ft_model_layout(m)->hash;
    size_t N = ft_model_num_params(m);
    /* a directory that does not exist: FT_EIO naming the file */
    ft_test_tmpdir_path(nodir, sizeof nodir, tmpdir, "no/such/dir/x.ckpt");
    assert_int_equal(ft_checkpoint_save(nodir, hash, params, N, NULL, NULL, 0), FT_EIO);
    assert_non_null(strstr(ft_error_message(), "no/such/dir"));
    /* a target whose temp file cannot be created: make the directory read-only
     * (skipped as root, who may write anyway) */
    char ro[512], rofile[600];
    ft_test_tmpdir_path(ro, sizeof ro, tmpdir, "ro");
    ft_test_tmpdir_path(rofile, sizeof rofile, tmpdir, "ro/model.ckpt");
    assert_int_equal(mkdir(ro, 0755), 0);
    assert_int_equal(ft_checkpoint_save(rofile, hash, params, N, "v=old\n", NULL, 0), FT_OK);
    if (geteuid() != 0) {
        chmod(ro, 0555);
        params[0] += 1.0f;
        assert_int_equal(ft_checkpoint_save(rofile, hash, params, N, "v=new\n", NULL, 0), FT_EIO);
        params[0] -= 1.0f;
        chmod(ro, 0755);
    }
    ft_checkpoint_t ck;
    assert_int_equal(ft_checkpoint_load(rofile, hash, &ck), FT_OK);
    char v[16];
    assert_true(ft_checkpoint_meta(&ck, "v", v, sizeof v));
    assert_string_equal(v, "old");
    assert_memory_equal(ck.params, params, N * sizeof(float));
    ft_checkpoint_free(&ck);
    /* the original good file is unchanged and loads */
    assert_int_equal(ft_checkpoint_load(path, hash, &ck), FT_OK);
    assert_memory_equal(ck.params, params, N * sizeof(float));
    ft_checkpoint_free(&ck);
    /* overwriting with new contents replaces it whole */
    params[5] = 42.0f;
    assert_int_equal(ft_checkpoint_save(path, hash, params, N, "v=2\n", NULL, 0), FT_OK);
    assert_int_equal(ft_checkpoint_load(path, hash, &ck), FT_OK);
    assert_true(ck.params[5] == 42.0f);
    assert_string_equal(ck.meta, "v=2\n");
    ft_checkpoint_free(&ck);
    free(params);
    ft_model_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byte_layout),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damaged_files),
        cmocka_unit_test(test_crafted_fields),
        cmocka_unit_test(test_fifo_refused),
        cmocka_unit_test(test_meta_nul_refused),
        cmocka_unit_test(test_failed_write_keeps_old_file),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
