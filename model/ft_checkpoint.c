/* ft_checkpoint: model files that survive crashes and detect damage.
 *
 * Layout (little-endian, see ft_checkpoint.h): magic "FTCKPT01", u32 version,
 * 32-byte layout hash, u64 N, u32 meta_len, meta, u64 extra_len, extra, N float32,
 * SHA-256 of everything before it. Written through ft_atomic_* (temp file, fsync,
 * rename), so a crash or a failed write leaves the previous file in place. Loading
 * checks structure first (magic, version, lengths against the file size: a
 * truncated file is FT_EFORMAT), then the digest (FT_EDIGEST), then that meta is
 * text without NUL bytes (FT_EFORMAT), then the layout. A digest is no proof of
 * origin (anyone can recompute it), so the fields a reader relies on are validated
 * too: by ft_checkpoint_check_finite the parameters, and by each user (ft_resume, the
 * global model's federation.init) the meta fields and N it depends on. */
#include "ft_checkpoint.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_sha256.h"

#include <math.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ft_checkpoint writes float32 in host order and assumes a little-endian host"
#endif

static const char ft_ckpt_magic[8] = {'F', 'T', 'C', 'K', 'P', 'T', '0', '1'};

/* Fixed bytes before meta: magic, version, hash, N, meta_len. */
#define FT_CKPT_HEAD (8 + 4 + 32 + 8 + 4)

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

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Writes and hashes one piece. */
static void emit(ft_atomic_file_t *f, ft_sha256_ctx_t *h, const void *data, size_t len)
{
    if (!len)
        return;
    ft_atomic_write(f, data, len);
    ft_sha256_update(h, data, len);
}

int ft_checkpoint_save(const char *path, const uint8_t layout_hash[32], const float *params,
                       size_t num_params, const char *meta, const void *extra, size_t extra_len)
{
    if (!meta)
        meta = "";
    size_t meta_len = strlen(meta);
    if (meta_len > UINT32_MAX)
        return ft_error_set(FT_EINVAL, "%s: checkpoint meta too long", path);
    ft_sha256_ctx_t *h = ft_sha256_new();
    if (!h)
        return ft_error_set(FT_ENOMEM, "%s: out of memory", path);
    ft_atomic_file_t *f = ft_atomic_open(path);
    if (!f) {
        ft_sha256_destroy(&h);
        return FT_EIO; /* ft_atomic_open named the file */
    }
    uint8_t head[FT_CKPT_HEAD];
    memcpy(head, ft_ckpt_magic, 8);
    put_u32(head + 8, FT_CHECKPOINT_VERSION);
    memcpy(head + 12, layout_hash, 32);
    put_u64(head + 44, (uint64_t)num_params);
    put_u32(head + 52, (uint32_t)meta_len);
    emit(f, h, head, sizeof head);
    emit(f, h, meta, meta_len);
    uint8_t elen[8];
    put_u64(elen, (uint64_t)(extra ? extra_len : 0));
    emit(f, h, elen, 8);
    if (extra)
        emit(f, h, extra, extra_len);
    emit(f, h, params, num_params * sizeof(float));
    uint8_t digest[32];
    ft_sha256_final(h, digest);
    ft_sha256_destroy(&h);
    ft_atomic_write(f, digest, sizeof digest);
    return ft_atomic_commit(&f);
}

int ft_checkpoint_load(const char *path, const uint8_t *expect_hash, ft_checkpoint_t *out)
{
    char *data = NULL;
    size_t len = 0;
    int rc = ft_read_file(path, &data, &len);
    if (rc != FT_OK)
        return rc;
    rc = ft_checkpoint_parse(data, len, path, expect_hash, out);
    ft_free(data);
    return rc;
}

int ft_checkpoint_parse(const void *data, size_t len, const char *name, const uint8_t *expect_hash,
                        ft_checkpoint_t *out)
{
    const uint8_t *p = data;
    ft_checkpoint_t ck = {0};
    if (len < 8 || memcmp(p, ft_ckpt_magic, 8) != 0)
        return ft_error_set(FT_EFORMAT, "%s: not a fedtail checkpoint (bad magic)", name);
    if (len < FT_CKPT_HEAD)
        return ft_error_set(FT_EFORMAT, "%s: truncated checkpoint (%zu bytes, header needs %d)",
                            name, len, FT_CKPT_HEAD);
    uint32_t version = get_u32(p + 8);
    if (version != FT_CHECKPOINT_VERSION)
        return ft_error_set(FT_EFORMAT, "%s: checkpoint version %u, this build reads %d", name,
                            version, FT_CHECKPOINT_VERSION);
    uint64_t n = get_u64(p + 44);
    uint64_t meta_len = get_u32(p + 52);
    /* Lengths are checked one at a time against what is left, so no sum overflows. */
    uint64_t pos = FT_CKPT_HEAD;
    uint64_t extra_len = 0;
    if (meta_len + 8 > len - pos)
        goto truncated;
    pos += meta_len;
    extra_len = get_u64(p + pos);
    pos += 8;
    if (extra_len > len - pos)
        goto truncated;
    pos += extra_len;
    if (n > (len - pos) / sizeof(float) || len - pos - n * sizeof(float) < 32)
        goto truncated;
    if (len - pos - n * sizeof(float) != 32)
        return ft_error_set(FT_EFORMAT, "%s: %zu trailing bytes after the checkpoint", name,
                            (size_t)(len - pos - n * sizeof(float) - 32));
    uint8_t digest[32];
    ft_sha256(p, len - 32, digest);
    if (memcmp(digest, p + len - 32, 32) != 0)
        return ft_error_set(FT_EDIGEST, "%s: checkpoint damaged (SHA-256 mismatch)", name);
    /* Meta is text: a NUL would end ck.meta early and lose the lines after it. */
    if (memchr(p + FT_CKPT_HEAD, '\0', (size_t)meta_len))
        return ft_error_set(FT_EFORMAT, "%s: checkpoint meta holds a NUL byte", name);
    if (expect_hash && memcmp(expect_hash, p + 12, 32) != 0) {
        char want[65], got[65];
        ft_sha256_hex(expect_hash, want);
        ft_sha256_hex(p + 12, got);
        return ft_error_set(FT_EINVAL,
                            "%s: checkpoint is for another model layout (hash %.16s..., this "
                            "model has %.16s...)",
                            name, got, want);
    }
    memcpy(ck.layout_hash, p + 12, 32);
    ck.num_params = (size_t)n;
    ck.params = ft_malloc(n ? n * sizeof(float) : 1);
    ck.meta = ft_malloc(meta_len + 1);
    ck.extra_len = (size_t)extra_len;
    ck.extra = extra_len ? ft_malloc(extra_len) : NULL;
    if (!ck.params || !ck.meta || (extra_len && !ck.extra)) {
        ft_checkpoint_free(&ck);
        return ft_error_set(FT_ENOMEM, "%s: out of memory loading the checkpoint", name);
    }
    memcpy(ck.meta, p + FT_CKPT_HEAD, meta_len);
    ck.meta[meta_len] = '\0';
    if (extra_len)
        memcpy(ck.extra, p + FT_CKPT_HEAD + meta_len + 8, extra_len);
    memcpy(ck.params, p + pos, n * sizeof(float));
    *out = ck;
    return FT_OK;
truncated:
    return ft_error_set(FT_EFORMAT,
                        "%s: truncated or damaged checkpoint (%zu bytes; lengths in the "
                        "header need more)",
                        name, len);
}

int ft_checkpoint_check_finite(const char *path, const ft_checkpoint_t *ck)
{
    for (size_t i = 0; i < ck->num_params; i++)
        if (!isfinite(ck->params[i]))
            return ft_error_set(FT_EFORMAT,
                                "%s: field params: parameter %zu of %zu is %s (the model's "
                                "parameters must be finite)",
                                path, i, ck->num_params, isnan(ck->params[i]) ? "NaN" : "Inf");
    return FT_OK;
}

void ft_checkpoint_free(ft_checkpoint_t *ck)
{
    if (!ck)
        return;
    ft_free(ck->params);
    ft_free(ck->meta);
    ft_free(ck->extra);
    memset(ck, 0, sizeof *ck);
}

int ft_checkpoint_meta(const ft_checkpoint_t *ck, const char *key, char *out, size_t out_len)
{
    size_t klen = strlen(key);
    for (const char *line = ck->meta; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t llen = end ? (size_t)(end - line) : strlen(line);
        if (llen > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
            size_t vlen = llen - klen - 1;
            if (out_len) {
                if (vlen >= out_len)
                    vlen = out_len - 1;
                memcpy(out, line + klen + 1, vlen);
                out[vlen] = '\0';
            }
            return 1;
        }
        line = end ? end + 1 : line + llen;
    }
    return 0;
}
