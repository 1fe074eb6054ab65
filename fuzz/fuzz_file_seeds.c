/* fuzz_file_seeds: writes the seed corpora of the file-reader fuzz targets —
 * fuzz_checkpoint, fuzz_resume, fuzz_npy, fuzz_idx, fuzz_cifar and fuzz_curve —
 * into CORPUS/<target>/: valid files made by the project's own writers where it has
 * them (ft_checkpoint_save, ft_resume_save, ft_npy_write_floats, ft_curve_encode),
 * the formats' other legal spellings (other dtypes, .npy 2.0, gzip, multi-member
 * gzip), and a few damaged ones each (bad magic, lying lengths, truncation, ...).
 *
 *   fuzz_file_seeds CORPUS      (the committed corpora are under fuzz/corpus)
 *
 * Checkpoint seeds are written without their trailing SHA-256 (fuzz_checkpoint and
 * fuzz_resume append it). The bytes are deterministic, so re-running it reproduces
 * the committed files; inputs the fuzzers found (regress_*) are kept beside them. */
#include "ft_alloc.h"
#include "ft_checkpoint.h"
#include "ft_curve.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_readers.h"
#include "ft_resume.h"
#include "ft_sha256.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static int bad; /* set by any failed write */

/* dir/name into out (4096 bytes); flags a path that does not fit. */
static void join(char *out, const char *dir, const char *name)
{
    if ((size_t)snprintf(out, 4096, "%s/%s", dir, name) >= 4096)
        bad = 1;
}

static void write_bytes(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    join(path, dir, name);
    FILE *f = fopen(path, "wb");
    int err = !f || (len && fwrite(data, 1, len, f) != len);
    if (f && fclose(f) != 0)
        err = 1;
    if (err) {
        fprintf(stderr, "fuzz_file_seeds: cannot write %s\n", path);
        bad = 1;
    }
}

static void write_text(const char *dir, const char *name, const char *text)
{
    write_bytes(dir, name, text, strlen(text));
}

/* A subdirectory of the corpus root into out (4096 bytes). */
static void subdir(char *out, const char *root, const char *name)
{
    join(out, root, name);
    mkdir(out, 0755);
}

/* Reads a file a project writer made, writes it as a seed named `name` without the
 * last `strip` bytes (a checkpoint's SHA-256), and removes the original. */
static void adopt(const char *dir, const char *name, const char *made, size_t strip)
{
    char *data = NULL;
    size_t len = 0;
    if (ft_read_file(made, &data, &len) != FT_OK || len < strip) {
        fprintf(stderr, "fuzz_file_seeds: %s\n", ft_error_message());
        bad = 1;
        return;
    }
    write_bytes(dir, name, data, len - strip);
    ft_free(data);
    unlink(made);
}

/* One gzip member of data[0..len) appended to out (cap bytes) at *at. */
static void gzip_into(const void *data, size_t len, uint8_t *out, size_t cap, size_t *at)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out + *at;
    zs.avail_out = (uInt)(cap - *at);
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        bad = 1;
    *at = cap - zs.avail_out;
    deflateEnd(&zs);
}

#define GZ_CAP (1 << 16) /* room for any compressed seed */

/* ---- fuzz_checkpoint ----------------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A checkpoint written by ft_checkpoint_save into `made` and read back whole into
 * buf (at most cap bytes); returns its length (0 on error). */
static size_t checkpoint_bytes(const char *made, const float *params, size_t n, const char *meta,
                               const void *extra, size_t extra_len, uint8_t *buf, size_t cap)
{
    uint8_t hash[32];
    for (int i = 0; i < 32; i++)
        hash[i] = (uint8_t)(11 * i + 1);
    char *data = NULL;
    size_t len = 0;
    if (ft_checkpoint_save(made, hash, params, n, meta, extra, extra_len) != FT_OK ||
        ft_read_file(made, &data, &len) != FT_OK || len > cap) {
        bad = 1;
        ft_free(data);
        return 0;
    }
    memcpy(buf, data, len);
    ft_free(data);
    unlink(made);
    return len;
}

static void checkpoint_seeds(const char *root)
{
    char dir[4096], made[4096];
    subdir(dir, root, "fuzz_checkpoint");
    join(made, dir, "made.ckpt");
    float params[64];
    for (int i = 0; i < 64; i++)
        params[i] = (float)i * 0.25f - 4.0f;
    params[5] = NAN;
    params[6] = -INFINITY;
    const uint8_t extra[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint8_t buf[4096];
    size_t len;

    len = checkpoint_bytes(made, params, 64, "round=3\nlabel=lenet5\n", extra, sizeof extra, buf,
                           sizeof buf);
    write_bytes(dir, "small", buf, len - 32);
    write_bytes(dir, "with_digest", buf, len); /* sealed again: 32 trailing bytes */
    /* Damaged copies of it (all still without the digest). */
    uint8_t dmg[4096];
    memcpy(dmg, buf, len);
    dmg[0] = 'X';
    write_bytes(dir, "bad_magic", dmg, len - 32);
    memcpy(dmg, buf, len);
    put_u32(dmg + 8, 2);
    write_bytes(dir, "bad_version", dmg, len - 32);
    memcpy(dmg, buf, len);
    put_u64(dmg + 44, (uint64_t)1 << 62);
    write_bytes(dir, "huge_n", dmg, len - 32);
    memcpy(dmg, buf, len);
    put_u32(dmg + 52, 0xffffffffu);
    write_bytes(dir, "huge_meta_len", dmg, len - 32);
    memcpy(dmg, buf, len);
    put_u64(dmg + 56 + 21, (uint64_t)-1); /* extra_len, after the 21 bytes of meta */
    write_bytes(dir, "huge_extra_len", dmg, len - 32);
    write_bytes(dir, "truncated_params", buf, len - 32 - 6);
    write_bytes(dir, "short_header", buf, 40);

    len = checkpoint_bytes(made, NULL, 0, NULL, NULL, 0, buf, sizeof buf);
    write_bytes(dir, "empty", buf, len - 32);
}

/* ---- fuzz_resume --------------------------------------------------------------- */

static const char resume_config[] = "[federation]\nrounds = 5\nclients_per_round = 4\n"
                                    "[model]\nname = mlp\n[defense]\nname = foolsgold\n";

static void resume_seed(const char *dir, const char *name, int round, double acc,
                        const uint8_t *state, size_t state_len)
{
    float params[24];
    for (int i = 0; i < 24; i++)
        params[i] = (float)i / 8.0f;
    uint8_t hash[32];
    for (int i = 0; i < 32; i++)
        hash[i] = (uint8_t)(3 * i + 7);
    ft_resume_point_t pt = {.round = round,
                            .metrics_bytes = 1234,
                            .events_bytes = 5678,
                            .elapsed = 12.5,
                            .detect = {4, 1, 3, 0, 16, 2, 1},
                            .final_main_acc = acc,
                            .final_backdoor_acc = acc / 2,
                            .peak_backdoor_acc = acc};
    char made[4096];
    if (ft_resume_save(dir, 0, hash, params, 24, 42, "foolsgold", &pt, resume_config, state,
                       state_len, NULL, 0) != FT_OK ||
        ft_resume_path(dir, 0, made, sizeof made) != FT_OK) {
        bad = 1;
        return;
    }
    adopt(dir, name, made, 32);
}

/* A checkpoint with hand-made meta and extra (for the damaged-meta seeds). */
static void raw_resume_seed(const char *dir, const char *name, const char *meta, const char *config)
{
    char made[4096];
    join(made, dir, "made.ckpt");
    size_t cfg_len = config ? strlen(config) : 0;
    uint8_t extra[512];
    put_u64(extra, cfg_len);
    if (config)
        memcpy(extra + 8, config, cfg_len);
    float params[4] = {1, 2, 3, 4};
    uint8_t hash[32] = {0};
    if (ft_checkpoint_save(made, hash, params, 4, meta, config ? extra : NULL,
                           config ? 8 + cfg_len : 0) != FT_OK) {
        bad = 1;
        return;
    }
    adopt(dir, name, made, 32);
}

static void resume_seeds(const char *root)
{
    char dir[4096];
    subdir(dir, root, "fuzz_resume");
    uint8_t state[48];
    for (int i = 0; i < 48; i++)
        state[i] = (uint8_t)(i * 5);
    resume_seed(dir, "plain", 3, 0.875, NULL, 0);
    resume_seed(dir, "defense_state", 7, 0.5, state, sizeof state);
    resume_seed(dir, "not_evaluated", 0, NAN, NULL, 0);

    /* The config digest below is SHA-256("[federation]\nrounds = 5\n"). */
    char meta[1024], hex[65];
    uint8_t digest[32];
    const char *cfg = "[federation]\nrounds = 5\n";
    ft_sha256(cfg, strlen(cfg), digest);
    ft_sha256_hex(digest, hex);
    const char *body = "round=2\nresumable=1\nmetrics_bytes=10\nevents_bytes=20\n"
                       "elapsed=0x1p+0\ndetect=0,0,0,0,4,0,0\nfinal_main_acc=nan\n"
                       "final_backdoor_acc=nan\npeak_backdoor_acc=nan\n";
    snprintf(meta, sizeof meta, "%sconfig_sha256=%s\n", body, hex);
    raw_resume_seed(dir, "hand_made", meta, cfg);
    raw_resume_seed(dir, "no_config", meta, NULL);
    raw_resume_seed(dir, "config_digest_mismatch", meta, "[federation]\nrounds = 6\n");
    raw_resume_seed(dir, "not_resumable", "round=2\n", cfg);
    snprintf(meta, sizeof meta, "resumable=1\nround=-1\n%sconfig_sha256=%s\n", body + 8, hex);
    raw_resume_seed(dir, "negative_round", meta, cfg);
    const char *detect = strstr(body, "detect=");
    snprintf(meta, sizeof meta, "%.*sdetect=1,2\n%sconfig_sha256=%s\n", (int)(detect - body), body,
             strchr(detect, '\n') + 1, hex);
    raw_resume_seed(dir, "malformed_detect", meta, cfg);
}

/* ---- fuzz_npy ------------------------------------------------------------------ */

/* A .npy file of version major.0 with the given header dict and data. */
static void npy_raw(const char *dir, const char *name, int major, const char *dict,
                    const void *data, size_t len, int gz)
{
    uint8_t buf[GZ_CAP];
    size_t pre = major == 1 ? 10 : 12, dlen = strlen(dict);
    size_t total = (pre + dlen + 1 + 63) / 64 * 64, hlen = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    buf[7] = 0;
    buf[8] = (uint8_t)hlen;
    buf[9] = (uint8_t)(hlen >> 8);
    if (major != 1)
        buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, dlen);
    memset(buf + pre + dlen, ' ', hlen - dlen - 1);
    buf[total - 1] = '\n';
    memcpy(buf + total, data, len);
    if (!gz) {
        write_bytes(dir, name, buf, total + len);
        return;
    }
    uint8_t out[GZ_CAP];
    size_t at = 0;
    gzip_into(buf, total + len, out, sizeof out, &at);
    write_bytes(dir, name, out, at);
}

static void npy_floats(const char *dir, const char *name, const float *v, const int *shape,
                       int ndim)
{
    char path[4096];
    join(path, dir, name);
    if (ft_npy_write_floats(path, v, shape, ndim) != FT_OK)
        bad = 1;
}

static void npy_seeds(const char *root)
{
    char dir[4096];
    subdir(dir, root, "fuzz_npy");
    float v[96];
    for (int i = 0; i < 96; i++)
        v[i] = (float)(i % 17) / 16.0f;
    npy_floats(dir, "f4_matrix", v, (const int[]){3, 4}, 2);
    npy_floats(dir, "f4_vector", v, (const int[]){5}, 1);
    npy_floats(dir, "f4_scalar", v, NULL, 0);
    npy_floats(dir, "f4_images_nhw", v, (const int[]){2, 4, 6}, 3);
    npy_floats(dir, "f4_images_nchw", v, (const int[]){2, 3, 4, 4}, 4);
    npy_floats(dir, "f4_empty", v, (const int[]){0, 4}, 2);
    uint8_t u[96];
    for (int i = 0; i < 96; i++)
        u[i] = (uint8_t)(i * 7);
    npy_raw(dir, "u1_images_nhwc", 1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 4, 4, 3), }", u, 96, 0);
    npy_raw(dir, "u1_images_nhw_gz", 1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 4, 8), }", u, 96, 1);
    npy_raw(dir, "u1_v2_double_quotes", 2,
            "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (1, 8, 12), }", u, 96, 0);
    double d[6] = {0.5, -1, 1e300, -0.0, 3, 4};
    npy_raw(dir, "f8_vector", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", d,
            sizeof d, 0);
    int32_t i4[6] = {1, -2, 3, INT32_MIN, INT32_MAX, 0};
    npy_raw(dir, "i4_matrix", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", i4,
            sizeof i4, 0);
    int64_t i8[3] = {7, -9, INT64_MAX};
    npy_raw(dir, "i8_vector_v3", 3, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", i8,
            sizeof i8, 0);
    /* Damaged or unsupported. */
    npy_raw(dir, "big_endian", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", v, 8,
            0);
    npy_raw(dir, "fortran", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", v, 16,
            0);
    npy_raw(dir, "truncated", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }", v,
            60, 0);
    npy_raw(dir, "extra_bytes", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v,
            16, 0);
    npy_raw(dir, "five_dims", 1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 2), }", v, 8, 0);
    npy_raw(dir, "huge_shape", 1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", u, 4,
            0);
    npy_raw(dir, "bad_shape", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", v,
            8, 0);
    npy_raw(dir, "complex", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", v, 8,
            0);
    write_bytes(dir, "bad_magic", "\x93NUMPX\x01\x00\x00\x00", 10);
}

/* ---- fuzz_idx ------------------------------------------------------------------ */

#define IDX_SPLIT "--labels--" /* fuzz_idx.c's FUZZ_IDX_SPLIT */

/* An IDX image file of n images of h×w and a label file, joined by IDX_SPLIT;
 * gz_img / gz_lab compress a part (2: as two gzip members). */
static void idx_seed(const char *dir, const char *name, uint32_t n, uint32_t h, uint32_t w,
                     uint32_t nlab, uint8_t max_label, int gz_img, int gz_lab)
{
    uint8_t img[4096], lab[256], out[GZ_CAP];
    const uint8_t m3[4] = {0, 0, 8, 3}, m1[4] = {0, 0, 8, 1};
    memcpy(img, m3, 4);
    uint32_t dims[3] = {n, h, w};
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 4; b++)
            img[4 + 4 * i + b] = (uint8_t)(dims[i] >> (24 - 8 * b));
    size_t img_len = 16 + (size_t)n * h * w;
    for (size_t i = 16; i < img_len; i++)
        img[i] = (uint8_t)(i * 13);
    memcpy(lab, m1, 4);
    for (int b = 0; b < 4; b++)
        lab[4 + b] = (uint8_t)(nlab >> (24 - 8 * b));
    for (uint32_t i = 0; i < nlab; i++)
        lab[8 + i] = (uint8_t)(i % (max_label + 1u));
    size_t lab_len = 8 + nlab, at = 0;
    if (!gz_img) {
        memcpy(out, img, img_len);
        at = img_len;
    } else {
        gzip_into(img, gz_img == 2 ? img_len / 2 : img_len, out, sizeof out, &at);
        if (gz_img == 2)
            gzip_into(img + img_len / 2, img_len - img_len / 2, out, sizeof out, &at);
    }
    memcpy(out + at, IDX_SPLIT, strlen(IDX_SPLIT));
    at += strlen(IDX_SPLIT);
    if (!gz_lab) {
        memcpy(out + at, lab, lab_len);
        at += lab_len;
    } else {
        gzip_into(lab, lab_len, out, sizeof out, &at);
    }
    write_bytes(dir, name, out, at);
}

static void idx_seeds(const char *root)
{
    char dir[4096];
    subdir(dir, root, "fuzz_idx");
    idx_seed(dir, "plain", 3, 4, 5, 3, 9, 0, 0);
    idx_seed(dir, "gzip_both", 4, 6, 6, 4, 9, 1, 1);
    idx_seed(dir, "gzip_two_members", 5, 7, 7, 5, 9, 2, 0);
    idx_seed(dir, "count_mismatch", 3, 4, 5, 2, 9, 0, 0);
    idx_seed(dir, "label_out_of_range", 3, 4, 5, 3, 12, 0, 0);
    idx_seed(dir, "no_images", 0, 4, 5, 0, 9, 0, 0);
    idx_seed(dir, "zero_width", 2, 4, 0, 2, 9, 0, 0);
    /* A gzip image file cut short, and one with garbage after the stream. */
    uint8_t img[16 + 60], out[GZ_CAP];
    memcpy(img, "\0\0\x08\x03\0\0\0\x03\0\0\0\x04\0\0\0\x05", 16);
    memset(img + 16, 0x42, 60);
    size_t at = 0;
    gzip_into(img, sizeof img, out, sizeof out, &at);
    write_bytes(dir, "gzip_truncated", out, at - 5);
    memcpy(out + at, "junk", 4);
    write_bytes(dir, "gzip_trailing_garbage", out, at + 4);
    write_bytes(dir, "images_only", img, sizeof img);
}

/* ---- fuzz_cifar ---------------------------------------------------------------- */

static void cifar_seeds(const char *root)
{
    char dir[4096];
    subdir(dir, root, "fuzz_cifar");
    static uint8_t rec[3 * 3073], out[GZ_CAP];
    for (int r = 0; r < 3; r++) {
        rec[r * 3073] = (uint8_t)(r * 4);
        for (int i = 1; i < 3073; i++)
            rec[r * 3073 + i] = (uint8_t)(i * (r + 1));
    }
    write_bytes(dir, "one_record", rec, 3073);
    size_t at = 0;
    gzip_into(rec, sizeof rec, out, sizeof out, &at);
    write_bytes(dir, "three_records_gz", out, at);
    rec[3073] = 10;
    write_bytes(dir, "label_out_of_range", rec, 2 * 3073);
    write_bytes(dir, "not_a_record_multiple", rec, 3072);
}

/* ---- fuzz_curve ---------------------------------------------------------------- */

static void curve_seeds(const char *root)
{
    char dir[4096];
    subdir(dir, root, "fuzz_curve");
    uint8_t key[FT_CURVE_KEY_LEN];
    for (int i = 0; i < FT_CURVE_KEY_LEN; i++)
        key[i] = (uint8_t)(i * 37 + 5);
    char z[FT_CURVE_Z85_LEN + 1], text[128];
    ft_curve_encode(key, z);
    snprintf(text, sizeof text, "%s\n", z);
    write_text(dir, "key", text);
    snprintf(text, sizeof text, "%s\r\n", z);
    write_text(dir, "key_crlf", text);
    write_text(dir, "key_no_newline", z);
    snprintf(text, sizeof text, "%s\n \t\n\n", z);
    write_text(dir, "key_trailing_space", text);
    snprintf(text, sizeof text, "%s\n%s\n", z, z);
    write_text(dir, "two_keys", text);
    snprintf(text, sizeof text, "%.39s\n", z);
    write_text(dir, "short", text);
    snprintf(text, sizeof text, "%sA\n", z);
    write_text(dir, "long", text);
    snprintf(text, sizeof text, "%.10s\"%s\n", z, z + 11);
    write_text(dir, "not_z85", text);
    snprintf(text, sizeof text, "#####%s\n", z + 5); /* the first group overflows 2^32 */
    write_text(dir, "group_overflow", text);
    memcpy(text, z, 40);
    text[7] = '\0';
    text[40] = '\n';
    write_bytes(dir, "nul_inside", text, 41);
    write_text(dir, "empty", "");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_file_seeds CORPUS   (e.g. fuzz/corpus)\n");
        return 2;
    }
    checkpoint_seeds(argv[1]);
    resume_seeds(argv[1]);
    npy_seeds(argv[1]);
    idx_seeds(argv[1]);
    cifar_seeds(argv[1]);
    curve_seeds(argv[1]);
    return bad;
}
