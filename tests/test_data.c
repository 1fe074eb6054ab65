/* test_data: the dataset readers and ft_dataset_load.
 *
 * Test files are written at test time into a temporary directory (IDX plain and gzip,
 * CIFAR-10 batches) with hand-chosen contents, then damaged in the ways real files are
 * (flipped magic, truncation, wrong dimensions, corrupt gzip, bad labels). .npy
 * fixtures were written by NumPy (tests/fixtures/data/gen_npy.py). The installed
 * Fashion-MNIST is tested in test_data_fmnist.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_readers.h"
#include "ft_test_data.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_test_tmpdir.h"

static char tmpdir[FT_TEST_TMPDIR_MAX];

static const char *tpath(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    return ft_test_tmpdir_path(buf[k], sizeof buf[k], tmpdir, name);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void write_gz(const char *path, const void *data, size_t len)
{
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(g), Z_OK);
}

static size_t read_bytes(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* IDX images: n images of h×w, pixel (i, r, c) = (i*31 + r*7 + c*3) % 256. */
static size_t make_idx_images(uint8_t *buf, uint32_t n, uint32_t h, uint32_t w)
{
    buf[0] = 0, buf[1] = 0, buf[2] = 8, buf[3] = 3;
    put_be32(buf + 4, n);
    put_be32(buf + 8, h);
    put_be32(buf + 12, w);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t r = 0; r < h; r++)
            for (uint32_t c = 0; c < w; c++)
                buf[16 + (i * h + r) * w + c] = (uint8_t)((i * 31 + r * 7 + c * 3) % 256);
    return 16 + (size_t)n * h * w;
}

/* IDX labels: label i = (i * 3) % 10. */
static size_t make_idx_labels(uint8_t *buf, uint32_t n)
{
    buf[0] = 0, buf[1] = 0, buf[2] = 8, buf[3] = 1;
    put_be32(buf + 4, n);
    for (uint32_t i = 0; i < n; i++)
        buf[8 + i] = (uint8_t)((i * 3) % 10);
    return 8 + (size_t)n;
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(ft_test_tmpdir_make(tmpdir, sizeof tmpdir, "data"), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return ft_test_tmpdir_remove(tmpdir);
}

static void check_idx_contents(const ft_dataset_t *ds, uint32_t n, int h, int w)
{
    assert_int_equal(ds->n, n);
    assert_int_equal(ds->c, 1);
    assert_int_equal(ds->h, h);
    assert_int_equal(ds->w, w);
    assert_int_equal(ds->num_classes, 10);
    assert_non_null(ds->pixels);
    assert_null(ds->values);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(ds->labels[i], (i * 3) % 10);
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++)
                assert_int_equal(ds->pixels[(i * h + r) * w + c], (i * 31 + r * 7 + c * 3) % 256);
    }
}

static void test_idx_roundtrip(void **state)
{
    (void)state;
    static uint8_t img[16 + 7 * 5 * 4], lab[8 + 7];
    size_t il = make_idx_images(img, 7, 5, 4), ll = make_idx_labels(lab, 7);
    write_bytes(tpath("img"), img, il);
    write_bytes(tpath("lab"), lab, ll);
    write_gz(tpath("img.gz"), img, il);
    write_gz(tpath("lab.gz"), lab, ll);
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_idx_read(tpath("img"), tpath("lab"), 10, &ds), FT_OK);
    check_idx_contents(ds, 7, 5, 4);
    ft_dataset_destroy(&ds);
    assert_null(ds);
    ft_dataset_destroy(&ds); /* safe twice */
    /* gzip is detected by magic, not name: a gzip file without .gz works too. */
    assert_int_equal(rename(tpath("img.gz"), tpath("imgz")), 0);
    assert_int_equal(ft_idx_read(tpath("imgz"), tpath("lab.gz"), 10, &ds), FT_OK);
    check_idx_contents(ds, 7, 5, 4);
    ft_dataset_destroy(&ds);
}

/* Expects ft_idx_read to fail with code and a message containing both needles. */
static void expect_idx_error(const char *img, const char *lab, int num_classes, int code,
                             const char *needle1, const char *needle2)
{
    ft_dataset_t *ds = (ft_dataset_t *)0x1;
    ft_error_clear();
    int rc = ft_idx_read(img, lab, num_classes, &ds);
    if (rc != code || !strstr(ft_error_message(), needle1) ||
        (needle2 && !strstr(ft_error_message(), needle2)))
        print_error("rc %d, message: %s\n", rc, ft_error_message());
    assert_int_equal(rc, code);
    assert_null(ds);
    assert_non_null(strstr(ft_error_message(), needle1));
    if (needle2)
        assert_non_null(strstr(ft_error_message(), needle2));
}

static void test_idx_damaged(void **state)
{
    (void)state;
    static uint8_t img[16 + 6 * 4 * 4], lab[8 + 6], bad[4096];
    size_t il = make_idx_images(img, 6, 4, 4), ll = make_idx_labels(lab, 6);
    char I[512], L[512];
    snprintf(I, sizeof I, "%s", tpath("d_img"));
    snprintf(L, sizeof L, "%s", tpath("d_lab"));
    write_bytes(I, img, il);
    write_bytes(L, lab, ll);

    /* missing file */
    expect_idx_error(tpath("nope"), L, 10, FT_EIO, "nope", NULL);
    /* flipped magic */
    memcpy(bad, img, il);
    bad[2] = 0x09;
    write_bytes(tpath("magic"), bad, il);
    expect_idx_error(tpath("magic"), L, 10, FT_EFORMAT, tpath("magic"), "magic");
    /* a label file given as the image file: wrong number of dimensions */
    expect_idx_error(L, L, 10, FT_EFORMAT, L, "magic");
    /* truncated pixels */
    write_bytes(tpath("trunc"), img, il - 5);
    expect_idx_error(tpath("trunc"), L, 10, FT_EFORMAT, tpath("trunc"), "truncated");
    /* truncated header */
    write_bytes(tpath("trunch"), img, 10);
    expect_idx_error(tpath("trunch"), L, 10, FT_EFORMAT, tpath("trunch"), "truncated");
    /* wrong dimensions in the header: says 5x4, holds 4x4 */
    memcpy(bad, img, il);
    put_be32(bad + 8, 5);
    write_bytes(tpath("dims"), bad, il);
    expect_idx_error(tpath("dims"), L, 10, FT_EFORMAT, tpath("dims"), "truncated");
    /* trailing garbage */
    memcpy(bad, img, il);
    put_be32(bad + 4, 5);
    write_bytes(tpath("trail"), bad, il);
    expect_idx_error(tpath("trail"), L, 10, FT_EFORMAT, tpath("trail"), "unexpected bytes");
    /* image/label count mismatch */
    static uint8_t lab5[8 + 5];
    size_t l5 = make_idx_labels(lab5, 5);
    write_bytes(tpath("lab5"), lab5, l5);
    expect_idx_error(I, tpath("lab5"), 10, FT_EFORMAT, I, tpath("lab5"));
    /* label out of range: labels go up to 9, only 5 classes declared */
    expect_idx_error(I, L, 5, FT_EFORMAT, L, "out of range");
    /* truncated gzip */
    write_gz(tpath("full.gz"), img, il);
    static uint8_t gz[4096];
    size_t gl = read_bytes(tpath("full.gz"), gz, sizeof gz);
    write_bytes(tpath("tr.gz"), gz, gl / 2);
    expect_idx_error(tpath("tr.gz"), L, 10, FT_EFORMAT, tpath("tr.gz"), "gzip");
    /* corrupt gzip: damage the deflate data (the CRC catches what inflate does not) */
    memcpy(bad, gz, gl);
    for (size_t i = 12; i < gl - 8; i += 3)
        bad[i] ^= 0x5a;
    write_bytes(tpath("bad.gz"), bad, gl);
    expect_idx_error(tpath("bad.gz"), L, 10, FT_EFORMAT, tpath("bad.gz"), "gzip");
    /* gzip magic and nothing else */
    write_bytes(tpath("tiny.gz"), "\x1f\x8b", 2);
    expect_idx_error(tpath("tiny.gz"), L, 10, FT_EFORMAT, tpath("tiny.gz"), "gzip");
    /* empty file */
    write_bytes(tpath("empty"), "", 0);
    expect_idx_error(tpath("empty"), L, 10, FT_EFORMAT, tpath("empty"), "IDX");
}

/* Every allocation the reader makes can fail: it must return FT_ENOMEM, not crash
 * (and, under ASan, not leak). */
static void test_idx_alloc_failures(void **state)
{
    (void)state;
    static uint8_t img[16 + 9 * 6 * 6], lab[8 + 9];
    size_t il = make_idx_images(img, 9, 6, 6), ll = make_idx_labels(lab, 9);
    write_gz(tpath("af_img.gz"), img, il);
    write_bytes(tpath("af_lab"), lab, ll);
    int failures = 0;
    for (unsigned long k = 1; k < 50; k++) {
        ft_dataset_t *ds = NULL;
        ft_alloc_fail_after(k);
        int rc = ft_idx_read(tpath("af_img.gz"), tpath("af_lab"), 10, &ds);
        ft_alloc_fail_after(0);
        if (rc == FT_OK) {
            check_idx_contents(ds, 9, 6, 6);
            ft_dataset_destroy(&ds);
            break;
        }
        assert_int_equal(rc, FT_ENOMEM);
        assert_null(ds);
        failures++;
    }
    assert_true(failures >= 4);
}

/* Found by fuzz/fuzz_idx (corpus regress_gzip_isize): the gzip trailer's size field
 * (ISIZE, the uncompressed size mod 2^32) sized the first output buffer, so a small
 * file claiming 4 GiB allocated 4 GiB before inflate found the claim false. The
 * guess is now bounded by what the input can inflate to (deflate's 1032:1 at most).
 * Under a 32 MiB allocation limit an honest 6.5 MB image file still reads, and the
 * lying one is the format error it is (it was FT_ENOMEM). */
static void test_gzip_size_field_not_trusted(void **state)
{
    (void)state;
    const uint32_t n = 100, h = 256, w = 256;
    size_t il = 16 + (size_t)n * h * w;
    uint8_t *img = calloc(il, 1);
    assert_non_null(img);
    img[2] = 8, img[3] = 3;
    put_be32(img + 4, n);
    put_be32(img + 8, h);
    put_be32(img + 12, w);
    static uint8_t lab[8 + 100], gz[1 << 16];
    size_t ll = make_idx_labels(lab, n);
    write_bytes(tpath("big_lab"), lab, ll);
    write_gz(tpath("big_img.gz"), img, il);
    free(img);
    size_t gl = read_bytes(tpath("big_img.gz"), gz, sizeof gz);
    assert_true(gl > 18 && gl < sizeof gz);

    ft_alloc_limit(32 << 20);
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_idx_read(tpath("big_img.gz"), tpath("big_lab"), 10, &ds), FT_OK);
    assert_int_equal(ds->n, n);
    ft_dataset_destroy(&ds);
    memset(gz + gl - 4, 0xff, 4); /* ISIZE: 4 GiB - 1 */
    write_bytes(tpath("lie_img.gz"), gz, gl);
    expect_idx_error(tpath("lie_img.gz"), tpath("big_lab"), 10, FT_EFORMAT, tpath("lie_img.gz"),
                     "gzip");
    ft_alloc_limit(0);
}

/* CIFAR-10 record r of a batch: label (r*7+f) % 10, pixel (ch, p) = (r + 3*ch + p) % 256. */
static size_t make_cifar(uint8_t *buf, int records, int f)
{
    for (int r = 0; r < records; r++) {
        uint8_t *rec = buf + (size_t)r * 3073;
        rec[0] = (uint8_t)((r * 7 + f) % 10);
        for (int ch = 0; ch < 3; ch++)
            for (int p = 0; p < 1024; p++)
                rec[1 + ch * 1024 + p] = (uint8_t)((r + 3 * ch + p) % 256);
    }
    return (size_t)records * 3073;
}

static void test_cifar10(void **state)
{
    (void)state;
    static uint8_t b[3 * 3073];
    write_bytes(tpath("c1.bin"), b, make_cifar(b, 3, 0));
    write_gz(tpath("c2.bin"), b, make_cifar(b, 2, 1));
    const char *paths[2] = {tpath("c1.bin"), tpath("c2.bin")};
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_cifar10_read(paths, 2, &ds), FT_OK);
    assert_int_equal(ds->n, 5);
    assert_int_equal(ds->c, 3);
    assert_int_equal(ds->h, 32);
    assert_int_equal(ds->w, 32);
    int rec[5] = {0, 1, 2, 0, 1}, file[5] = {0, 0, 0, 1, 1};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ds->labels[i], (rec[i] * 7 + file[i]) % 10);
        /* channel 1 (green), row 2, column 5 -> p = 69 */
        assert_int_equal(ds->pixels[(size_t)i * 3072 + 1024 + 2 * 32 + 5], (rec[i] + 3 + 69) % 256);
    }
    ft_dataset_destroy(&ds);

    /* truncated batch */
    make_cifar(b, 2, 0);
    write_bytes(tpath("ct.bin"), b, 2 * 3073 - 100);
    const char *pt[1] = {tpath("ct.bin")};
    ds = (ft_dataset_t *)0x1;
    assert_int_equal(ft_cifar10_read(pt, 1, &ds), FT_EFORMAT);
    assert_null(ds);
    assert_non_null(strstr(ft_error_message(), "ct.bin"));
    assert_non_null(strstr(ft_error_message(), "3073"));
    /* label out of range (a CIFAR-100 file, say) */
    b[3073] = 57;
    write_bytes(tpath("cl.bin"), b, 2 * 3073);
    const char *pl[2] = {tpath("c1.bin"), tpath("cl.bin")};
    assert_int_equal(ft_cifar10_read(pl, 2, &ds), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), "cl.bin"));
    assert_non_null(strstr(ft_error_message(), "label 57"));
    /* missing */
    const char *pm[1] = {tpath("missing.bin")};
    assert_int_equal(ft_cifar10_read(pm, 1, &ds), FT_EIO);
    assert_non_null(strstr(ft_error_message(), "missing.bin"));
}

static const char *fixture(const char *name)
{
    static char buf[2][1024];
    static int k;
    k ^= 1;
    const char *src = getenv("FT_SOURCE_DIR");
    snprintf(buf[k], sizeof buf[k], "%s/tests/fixtures/data/%s", src ? src : ".", name);
    return buf[k];
}

static void test_npy_read_floats(void **state)
{
    (void)state;
    float *d = NULL;
    size_t n = 0;
    int shape[4], ndim = 0;
    assert_int_equal(ft_npy_read_floats(fixture("f8_2x3.npy"), &d, &n, shape, &ndim), FT_OK);
    assert_int_equal(ndim, 2);
    assert_int_equal(shape[0], 2);
    assert_int_equal(shape[1], 3);
    assert_int_equal(n, 6);
    const float f8[6] = {1.5f, -2, 3, 4, 5, 6.25f};
    for (int i = 0; i < 6; i++)
        assert_true(d[i] == f8[i]);
    ft_free(d);

    assert_int_equal(ft_npy_read_floats(fixture("i4_4.npy"), &d, &n, shape, &ndim), FT_OK);
    assert_int_equal(ndim, 1);
    assert_int_equal(n, 4);
    assert_true(d[0] == -1 && d[1] == 0 && d[2] == 7 && d[3] == 100000);
    ft_free(d);
    assert_int_equal(ft_npy_read_floats(fixture("i8_3.npy"), &d, &n, shape, &ndim), FT_OK);
    assert_true(n == 3 && d[0] == 3 && d[1] == -4 && d[2] == 5);
    ft_free(d);
    assert_int_equal(ft_npy_read_floats(fixture("u1_1d.npy"), &d, &n, shape, &ndim), FT_OK);
    assert_true(n == 3 && d[0] == 0 && d[1] == 128 && d[2] == 255);
    ft_free(d);
    assert_int_equal(ft_npy_read_floats(fixture("f4_v2.npy"), &d, &n, shape, &ndim), FT_OK);
    assert_true(ndim == 2 && shape[0] == 1 && shape[1] == 2 && d[0] == 0.5f && d[1] == 0.25f);
    ft_free(d);

    /* Fortran order and big-endian data are clear errors. */
    d = (float *)0x1;
    assert_int_equal(ft_npy_read_floats(fixture("fortran.npy"), &d, &n, shape, &ndim), FT_EFORMAT);
    assert_null(d);
    assert_non_null(strstr(ft_error_message(), "fortran.npy"));
    assert_non_null(strstr(ft_error_message(), "Fortran"));
    assert_int_equal(ft_npy_read_floats(fixture("be_f4.npy"), &d, &n, shape, &ndim), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), "big-endian"));
}

static void test_npy_damaged(void **state)
{
    (void)state;
    static uint8_t buf[512];
    size_t len = read_bytes(fixture("f8_2x3.npy"), buf, sizeof buf);
    float *d = NULL;
    size_t n;
    int shape[4], ndim;
    /* truncated data */
    write_bytes(tpath("t.npy"), buf, len - 3);
    assert_int_equal(ft_npy_read_floats(tpath("t.npy"), &d, &n, shape, &ndim), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), "t.npy"));
    assert_non_null(strstr(ft_error_message(), "truncated"));
    /* truncated header */
    write_bytes(tpath("th.npy"), buf, 40);
    assert_int_equal(ft_npy_read_floats(tpath("th.npy"), &d, &n, shape, &ndim), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), "th.npy"));
    /* bad magic */
    buf[1] = 'X';
    write_bytes(tpath("m.npy"), buf, len);
    assert_int_equal(ft_npy_read_floats(tpath("m.npy"), &d, &n, shape, &ndim), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), "magic"));
    buf[1] = 'N';
    /* unsupported dtype: '<f8' -> '<c8' (complex) */
    char *p = strstr((char *)buf + 10, "<f8");
    assert_non_null(p);
    p[1] = 'c';
    write_bytes(tpath("c.npy"), buf, len);
    assert_int_equal(ft_npy_read_floats(tpath("c.npy"), &d, &n, shape, &ndim), FT_EFORMAT);
    assert_non_null(strstr(ft_error_message(), "dtype"));
    assert_null(d);
}

static void test_npy_write(void **state)
{
    (void)state;
    const float a[6] = {1, 2, 3, 4, 5, 6};
    const int shape[2] = {2, 3};
    assert_int_equal(ft_npy_write_floats(tpath("w.npy"), a, shape, 2), FT_OK);
    static uint8_t mine[512], ref[512];
    size_t ml = read_bytes(tpath("w.npy"), mine, sizeof mine);
    size_t rl = read_bytes(fixture("f4_2x3_ref.npy"), ref, sizeof ref);
    assert_int_equal(ml, rl);
    assert_memory_equal(mine, ref, rl);

    const float b[5] = {0, 1, 2, 3, 4};
    const int s1[1] = {5};
    assert_int_equal(ft_npy_write_floats(tpath("w1.npy"), b, s1, 1), FT_OK);
    ml = read_bytes(tpath("w1.npy"), mine, sizeof mine);
    rl = read_bytes(fixture("f4_5_ref.npy"), ref, sizeof ref);
    assert_int_equal(ml, rl);
    assert_memory_equal(mine, ref, rl);

    /* and back */
    float *d = NULL;
    size_t n;
    int sh[4], nd;
    assert_int_equal(ft_npy_read_floats(tpath("w.npy"), &d, &n, sh, &nd), FT_OK);
    assert_true(nd == 2 && sh[0] == 2 && sh[1] == 3 && n == 6);
    assert_memory_equal(d, a, sizeof a);
    ft_free(d);
    /* unwritable path: FT_EIO naming it */
    assert_int_equal(ft_npy_write_floats("/nonexistent-dir/x.npy", a, shape, 2), FT_EIO);
    assert_non_null(strstr(ft_error_message(), "/nonexistent-dir/x.npy"));
}

static void test_npy_images(void **state)
{
    (void)state;
    ft_dataset_t *ds = NULL;
    /* (2, 2, 3, 3) HWC uint8 -> CHW: value 100n + 10(3h + w) + c */
    assert_int_equal(ft_npy_read_images(fixture("u1_hwc.npy"), 3, 7, &ds), FT_OK);
    assert_true(ds->n == 2 && ds->c == 3 && ds->h == 2 && ds->w == 3);
    assert_int_equal(ds->num_classes, 8);
    for (int n = 0; n < 2; n++) {
        assert_int_equal(ds->labels[n], 7);
        for (int c = 0; c < 3; c++)
            for (int h = 0; h < 2; h++)
                for (int w = 0; w < 3; w++)
                    assert_int_equal(ds->pixels[((n * 3 + c) * 2 + h) * 3 + w],
                                     100 * n + 10 * (3 * h + w) + c);
    }
    ft_dataset_destroy(&ds);
    /* (1, 3, 2, 2) CHW float32 kept as values */
    assert_int_equal(ft_npy_read_images(fixture("f4_chw.npy"), 3, 2, &ds), FT_OK);
    assert_true(ds->n == 1 && ds->c == 3 && ds->h == 2 && ds->w == 2);
    assert_null(ds->pixels);
    assert_non_null(ds->values);
    for (int i = 0; i < 12; i++)
        assert_true(ds->values[i] == i / 16.0f);
    ft_dataset_destroy(&ds);
    /* wrong channel count: (1,3,2,2) read as 1-channel */
    assert_int_equal(ft_npy_read_images(fixture("f4_chw.npy"), 1, 0, &ds), FT_EFORMAT);
    assert_null(ds);
    assert_non_null(strstr(ft_error_message(), "f4_chw.npy"));
    assert_non_null(strstr(ft_error_message(), "shape"));
    /* a float64 array is not an image array */
    assert_int_equal(ft_npy_read_images(fixture("f8_2x3.npy"), 1, 0, &ds), FT_EFORMAT);
}

static void test_gather(void **state)
{
    (void)state;
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_dataset_new(3, 1, 1, 2, 10, &ds), FT_OK);
    const uint8_t px[6] = {0, 255, 128, 0, 255, 128};
    memcpy(ds->pixels, px, 6);
    ds->labels[0] = 4, ds->labels[1] = 9, ds->labels[2] = 1;
    ft_dataset_default_norm("mnist", 1, ds->mean, ds->std);
    assert_true(ds->mean[0] == 0.1307f && ds->std[0] == 0.3081f);
    const uint32_t idx[3] = {2, 0, 2};
    float x[6];
    int32_t y[3];
    unsigned long before = ft_alloc_count();
    ft_dataset_gather(ds, idx, 3, x, y);
    assert_int_equal(ft_alloc_count(), before); /* hot path: no allocation */
    /* (p/255 - 0.1307)/0.3081 worked by hand: 255 -> 2.8214865, 0 -> -0.4242129,
     * 128 -> 1.2050009 */
    const float want[6] = {2.8214865f, 1.2050009f, -0.4242129f, 2.8214865f, 2.8214865f, 1.2050009f};
    for (int i = 0; i < 6; i++)
        assert_float_equal(x[i], want[i], 2e-6);
    assert_true(y[0] == 1 && y[1] == 4 && y[2] == 1);
    ft_dataset_destroy(&ds);

    /* CIFAR-10 defaults are the paper's [125.3,123.0,113.9]/255 and [63.0,62.1,66.7]/255 */
    assert_int_equal(ft_dataset_new(1, 3, 1, 1, 10, &ds), FT_OK);
    ds->pixels[0] = 200, ds->pixels[1] = 10, ds->pixels[2] = 0;
    ft_dataset_default_norm("cifar10", 3, ds->mean, ds->std);
    const uint32_t i0 = 0;
    float x3[3];
    int32_t y3;
    ft_dataset_gather(ds, &i0, 1, x3, &y3);
    assert_float_equal(x3[0], 1.1857143f, 2e-6);
    assert_float_equal(x3[1], -1.8196457f, 2e-6);
    assert_float_equal(x3[2], -1.7076462f, 2e-6);
    ft_dataset_destroy(&ds);

    /* float storage: (v - mean)/std */
    assert_int_equal(ft_dataset_new(1, 1, 1, 1, 2, &ds), FT_OK);
    ft_free(ds->pixels);
    ds->pixels = NULL;
    ds->values = ft_malloc(sizeof(float));
    ds->values[0] = 0.75f;
    ds->mean[0] = 0.5f, ds->std[0] = 2.0f;
    float xf;
    ft_dataset_gather(ds, &i0, 1, &xf, &y3);
    assert_float_equal(xf, 0.125f, 1e-7);
    ft_dataset_destroy(&ds);
}

static void test_subset_concat_transpose(void **state)
{
    (void)state;
    ft_dataset_t *a = NULL, *s = NULL, *f = NULL, *cat = NULL;
    assert_int_equal(ft_dataset_new(4, 1, 2, 2, 10, &a), FT_OK);
    for (int i = 0; i < 16; i++)
        a->pixels[i] = (uint8_t)(i * 10);
    for (int i = 0; i < 4; i++)
        a->labels[i] = (uint8_t)i;
    const uint32_t idx[2] = {3, 1};
    assert_int_equal(ft_dataset_subset(a, idx, 2, &s), FT_OK);
    assert_int_equal(s->n, 2);
    assert_true(s->labels[0] == 3 && s->labels[1] == 1);
    assert_true(s->pixels[0] == 120 && s->pixels[4] == 40);
    /* concat with a float dataset converts to float, pixel/255 */
    assert_int_equal(ft_npy_read_images(fixture("f4_chw.npy"), 3, 0, &f), FT_OK);
    assert_int_equal(ft_dataset_concat(a, f, &cat), FT_EINVAL); /* 1x2x2 vs 3x2x2 */
    assert_null(cat);
    ft_dataset_destroy(&f);
    assert_int_equal(ft_dataset_new(1, 1, 2, 2, 12, &f), FT_OK);
    ft_free(f->pixels);
    f->pixels = NULL;
    f->values = ft_calloc(4, sizeof(float));
    f->values[3] = 0.5f;
    f->labels[0] = 11;
    assert_int_equal(ft_dataset_concat(s, f, &cat), FT_OK);
    assert_int_equal(cat->n, 3);
    assert_int_equal(cat->num_classes, 12);
    assert_null(cat->pixels);
    assert_float_equal(cat->values[0], 120 / 255.0f, 1e-7);
    assert_float_equal(cat->values[11], 0.5f, 0);
    assert_true(cat->labels[0] == 3 && cat->labels[1] == 1 && cat->labels[2] == 11);
    /* transpose: pixel (r,c) <- (c,r) */
    ft_dataset_transpose_hw(a);
    assert_true(a->pixels[1] == 20 && a->pixels[2] == 10 && a->pixels[0] == 0 &&
                a->pixels[3] == 30);
    ft_dataset_destroy(&a);
    ft_dataset_destroy(&s);
    ft_dataset_destroy(&f);
    ft_dataset_destroy(&cat);
}

static ft_config_t *cfg_with(const char *const *sets)
{
    ft_config_t *cfg = ft_config_new();
    assert_non_null(cfg);
    for (int i = 0; sets[i]; i++)
        assert_int_equal(ft_config_set(cfg, sets[i], "test"), FT_OK);
    return cfg;
}

static void test_load_config_errors(void **state)
{
    (void)state;
    ft_dataset_t *ds = NULL;
    const char *s1[] = {"data.dataset=mnist", NULL};
    ft_config_t *cfg = cfg_with(s1);
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_ECONFIG);
    assert_null(ds);
    assert_non_null(strstr(ft_error_message(), "data.path"));
    ft_config_destroy(&cfg);

    const char *s2[] = {"data.dataset=cifar10", "data.path=/nonexistent-fedtail", NULL};
    cfg = cfg_with(s2);
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_EIO);
    assert_non_null(strstr(ft_error_message(), "/nonexistent-fedtail"));
    ft_config_destroy(&cfg);

    /* a directory without the files */
    char set[600];
    snprintf(set, sizeof set, "data.path=%s", tmpdir);
    const char *s3[] = {"data.dataset=mnist", set, NULL};
    cfg = cfg_with(s3);
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_EIO);
    assert_non_null(strstr(ft_error_message(), "train-images-idx3-ubyte"));
    ft_config_destroy(&cfg);

    const char *s4[] = {"data.dataset=synthetic", "data.std=1,2", NULL};
    cfg = cfg_with(s4);
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "data.std"));
    ft_config_destroy(&cfg);
    const char *s5[] = {"data.dataset=synthetic", "data.std=0", NULL};
    cfg = cfg_with(s5);
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_ECONFIG);
    ft_config_destroy(&cfg);
    const char *s6[] = {"data.dataset=synthetic", "data.synthetic_shape=1,28", NULL};
    cfg = cfg_with(s6);
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "data.synthetic_shape"));
    ft_config_destroy(&cfg);
    const char *s7[] = {"data.dataset=synthetic", "data.test_limit=-1", NULL};
    cfg = cfg_with(s7);
    assert_int_equal(ft_test_load(cfg, 0, &ds), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "data.test_limit"));
    ft_config_destroy(&cfg);
    assert_null(ds);
}

static void test_load_mnist_emnist_cifar_dirs(void **state)
{
    (void)state;
    char dir[512], set[600];
    static uint8_t img[16 + 4 * 28 * 28], lab[8 + 4];
    size_t il = make_idx_images(img, 4, 28, 28), ll = make_idx_labels(lab, 4);
    /* MNIST names, gzip */
    ft_test_tmpdir_path(dir, sizeof dir, tmpdir, "mnist");
    assert_int_equal(ft_mkdir_p(dir), FT_OK);
    snprintf(set, sizeof set, "%s/t10k-images-idx3-ubyte.gz", dir);
    write_gz(set, img, il);
    snprintf(set, sizeof set, "%s/t10k-labels-idx1-ubyte.gz", dir);
    write_gz(set, lab, ll);
    snprintf(set, sizeof set, "data.path=%s", dir);
    const char *s1[] = {"data.dataset=mnist", set, NULL};
    ft_config_t *cfg = cfg_with(s1);
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_test_load(cfg, 0, &ds), FT_OK);
    check_idx_contents(ds, 4, 28, 28);
    assert_true(ds->mean[0] == 0.1307f && ds->std[0] == 0.3081f);
    assert_string_equal(ds->name, "mnist/test");
    ft_dataset_destroy(&ds);
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_EIO); /* no train files */
    ft_config_destroy(&cfg);

    /* EMNIST names in gzip/, plain files; images come back transposed */
    ft_test_tmpdir_path(dir, sizeof dir, tmpdir, "emnist/gzip");
    assert_int_equal(ft_mkdir_p(dir), FT_OK);
    snprintf(set, sizeof set, "%s/emnist-digits-train-images-idx3-ubyte", dir);
    write_bytes(set, img, il);
    snprintf(set, sizeof set, "%s/emnist-digits-train-labels-idx1-ubyte", dir);
    write_bytes(set, lab, ll);
    snprintf(set, sizeof set, "data.path=%s/emnist", tmpdir);
    const char *s2[] = {"data.dataset=emnist", set, NULL};
    cfg = cfg_with(s2);
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_OK);
    assert_int_equal(ds->n, 4);
    for (uint32_t i = 0; i < 4; i++)
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++)
                assert_int_equal(ds->pixels[(i * 28 + r) * 28 + c], (i * 31 + c * 7 + r * 3) % 256);
    ft_dataset_destroy(&ds);
    /* data.emnist_transpose = false: as stored, as the paper code reads them */
    ft_config_set(cfg, "data.emnist_transpose=false", "test");
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_OK);
    for (uint32_t i = 0; i < 4; i++)
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++)
                assert_int_equal(ds->pixels[(i * 28 + r) * 28 + c], (i * 31 + r * 7 + c * 3) % 256);
    ft_dataset_destroy(&ds);
    ft_config_destroy(&cfg);

    /* CIFAR-10 directory layout */
    ft_test_tmpdir_path(dir, sizeof dir, tmpdir, "cifar/cifar-10-batches-bin");
    assert_int_equal(ft_mkdir_p(dir), FT_OK);
    static uint8_t b[2 * 3073];
    for (int f = 1; f <= 5; f++) {
        snprintf(set, sizeof set, "%s/data_batch_%d.bin", dir, f);
        write_bytes(set, b, make_cifar(b, 2, f));
    }
    snprintf(set, sizeof set, "data.path=%s/cifar", tmpdir);
    const char *s3[] = {"data.dataset=cifar10", set, "data.train_limit=7", "data.mean=0.1,0.2,0.3",
                        NULL};
    cfg = cfg_with(s3);
    assert_int_equal(ft_test_load(cfg, 1, &ds), FT_OK);
    assert_int_equal(ds->n, 7);
    assert_int_equal(ds->labels[6], (0 * 7 + 4) % 10); /* record 0 of batch 4 */
    assert_true(ds->mean[0] == 0.1f && ds->mean[1] == 0.2f && ds->mean[2] == 0.3f);
    assert_float_equal(ds->std[1], 62.1f / 255.0f, 1e-7);
    ft_dataset_destroy(&ds);
    assert_int_equal(ft_test_load(cfg, 0, &ds), FT_EIO); /* no test_batch.bin */
    assert_non_null(strstr(ft_error_message(), "test_batch.bin"));
    ft_config_destroy(&cfg);
}

static void test_synthetic(void **state)
{
    (void)state;
    ft_dataset_t *a = NULL, *b = NULL, *c = NULL, *te = NULL;
    assert_int_equal(ft_synthetic_make(600, 1, 8, 8, 10, 42, 0, &a), FT_OK);
    assert_int_equal(ft_synthetic_make(600, 1, 8, 8, 10, 42, 0, &b), FT_OK);
    assert_int_equal(ft_synthetic_make(600, 1, 8, 8, 10, 43, 0, &c), FT_OK);
    assert_int_equal(ft_synthetic_make(300, 1, 8, 8, 10, 42, 1, &te), FT_OK);
    assert_memory_equal(a->pixels, b->pixels, 600 * 64);
    assert_memory_equal(a->labels, b->labels, 600);
    assert_true(memcmp(a->pixels, c->pixels, 600 * 64) != 0);
    assert_true(memcmp(a->pixels, te->pixels, 300 * 64) != 0);
    /* every class appears */
    int seen[10] = {0};
    for (uint32_t i = 0; i < a->n; i++) {
        assert_true(a->labels[i] < 10);
        seen[a->labels[i]]++;
    }
    for (int k = 0; k < 10; k++)
        assert_true(seen[k] > 20);
    /* learnable: a nearest-class-mean classifier fit on train scores > 90% on test */
    double mean[10][64] = {{0}};
    for (uint32_t i = 0; i < a->n; i++)
        for (int j = 0; j < 64; j++)
            mean[a->labels[i]][j] += a->pixels[i * 64 + j] / (double)seen[a->labels[i]];
    int correct = 0;
    for (uint32_t i = 0; i < te->n; i++) {
        int best = 0;
        double bd = 1e300;
        for (int k = 0; k < 10; k++) {
            double d = 0;
            for (int j = 0; j < 64; j++) {
                double e = te->pixels[i * 64 + j] - mean[k][j];
                d += e * e;
            }
            if (d < bd)
                bd = d, best = k;
        }
        correct += best == te->labels[i];
    }
    assert_true(correct > 270);
    ft_dataset_destroy(&a);
    ft_dataset_destroy(&b);
    ft_dataset_destroy(&c);
    ft_dataset_destroy(&te);

    /* through the config */
    const char *s[] = {"data.dataset=synthetic", "data.synthetic_train=50",
                       "data.synthetic_shape=3,4,5", NULL};
    ft_config_t *cfg = cfg_with(s);
    assert_int_equal(ft_test_load(cfg, 1, &a), FT_OK);
    assert_true(a->n == 50 && a->c == 3 && a->h == 4 && a->w == 5 && a->num_classes == 10);
    assert_string_equal(a->name, "synthetic/train");
    ft_dataset_destroy(&a);
    ft_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_roundtrip),
        cmocka_unit_test(test_idx_damaged),
        cmocka_unit_test(test_idx_alloc_failures),
        cmocka_unit_test(test_gzip_size_field_not_trusted),
        cmocka_unit_test(test_cifar10),
        cmocka_unit_test(test_npy_read_floats),
        cmocka_unit_test(test_npy_damaged),
        cmocka_unit_test(test_npy_write),
        cmocka_unit_test(test_npy_images),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_subset_concat_transpose),
        cmocka_unit_test(test_load_config_errors),
        cmocka_unit_test(test_load_mnist_emnist_cifar_dirs),
        cmocka_unit_test(test_synthetic),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
