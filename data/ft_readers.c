/* ft_readers: IDX (MNIST-family, plain or gzip) and CIFAR-10 binary readers.
 *
 * IDX (LeCun et al., http://yann.lecun.com/exdb/mnist/): magic 00 00 08 <ndims>, then
 * ndims big-endian uint32 dimensions, then the unsigned bytes. Images are idx3
 * (n, rows, cols), labels idx1 (n). CIFAR-10 binary version
 * (https://www.cs.toronto.edu/~kriz/cifar.html): records of 1 label byte followed by
 * 3072 pixel bytes, the 1024 red, 1024 green, then 1024 blue values of a 32×32 image
 * (already C×H×W). Every size is checked against the file length before any copy. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "ft_alloc.h"
#include "ft_data_internal.h"
#include "ft_readers.h"
#include "ft_error.h"
#include "ft_fileio.h"

/* The most a deflate stream inflates to per input byte (258-byte matches coded in
 * 2 bits: 1032:1). */
#define GZIP_MAX_RATIO 1032

/* Inflates the gzip stream in[0..in_len) (one or more members) into a new buffer. */
static int gunzip(const char *path, const uint8_t *in, size_t in_len, uint8_t **out,
                  size_t *out_len)
{
    /* The gzip trailer holds the uncompressed size mod 2^32: a good first guess for an
     * honest file, but only a claim. Deflate inflates at most 1032:1, so the guess
     * never exceeds what in_len bytes can become (a 20-byte file claiming 4 GiB must
     * not allocate 4 GiB); the buffer still grows past it for a multi-member file. */
    size_t cap = 1 << 16;
    if (in_len >= 18) {
        const uint8_t *t = in + in_len - 4;
        size_t isize =
            (size_t)t[0] | ((size_t)t[1] << 8) | ((size_t)t[2] << 16) | ((size_t)t[3] << 24);
        size_t most = in_len < SIZE_MAX / GZIP_MAX_RATIO ? in_len * GZIP_MAX_RATIO : SIZE_MAX - 1;
        if (isize > most)
            isize = most;
        if (isize > cap)
            cap = isize + 1;
    }
    uint8_t *buf = ft_malloc(cap);
    if (!buf)
        return ft_error_set(FT_ENOMEM, "%s: out of memory inflating gzip data", path);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        ft_free(buf);
        return ft_error_set(FT_ENOMEM, "%s: cannot initialise zlib", path);
    }
    int rc = FT_OK;
    size_t len = 0, pos = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap * 2;
            uint8_t *nb = ft_realloc(buf, ncap);
            if (!nb) {
                rc = ft_error_set(FT_ENOMEM, "%s: out of memory inflating gzip data", path);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        size_t in_chunk = in_len - pos > UINT_MAX ? UINT_MAX : in_len - pos;
        size_t out_chunk = cap - len > UINT_MAX ? UINT_MAX : cap - len;
        zs.next_in = (Bytef *)(in + pos);
        zs.avail_in = (uInt)in_chunk;
        zs.next_out = buf + len;
        zs.avail_out = (uInt)out_chunk;
        int zr = inflate(&zs, Z_NO_FLUSH);
        pos += in_chunk - zs.avail_in;
        len += out_chunk - zs.avail_out;
        if (zr == Z_STREAM_END) {
            /* Concatenated members are legal gzip; anything else after the end is not. */
            if (pos < in_len && in_len - pos >= 2 && in[pos] == 0x1f && in[pos + 1] == 0x8b) {
                inflateReset(&zs);
                continue;
            }
            if (pos < in_len) {
                rc = ft_error_set(FT_EFORMAT, "%s: %zu bytes of garbage after the gzip stream",
                                  path, in_len - pos);
                goto done;
            }
            break;
        }
        if (zr == Z_OK)
            continue;
        if (zr == Z_BUF_ERROR && pos == in_len) {
            rc = ft_error_set(FT_EFORMAT, "%s: truncated gzip stream (ends after %zu bytes)", path,
                              in_len);
            goto done;
        }
        if (zr == Z_BUF_ERROR && len == cap)
            continue; /* output full: grow and go on */
        if (zr == Z_MEM_ERROR) {
            rc = ft_error_set(FT_ENOMEM, "%s: out of memory inflating gzip data", path);
            goto done;
        }
        rc = ft_error_set(FT_EFORMAT, "%s: corrupt gzip data (%s)", path,
                          zs.msg ? zs.msg : "inflate failed");
        goto done;
    }
done:
    inflateEnd(&zs);
    if (rc < 0) {
        ft_free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return FT_OK;
}

int ft_data_slurp(const char *path, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    char *raw = NULL;
    size_t raw_len = 0;
    int rc = ft_read_file(path, &raw, &raw_len);
    if (rc < 0)
        return rc;
    const uint8_t *r = (const uint8_t *)raw;
    if (raw_len >= 2 && r[0] == 0x1f && r[1] == 0x8b) {
        rc = gunzip(path, r, raw_len, data, len);
        ft_free(raw);
        return rc;
    }
    *data = (uint8_t *)raw;
    *len = raw_len;
    return FT_OK;
}

/* Parses an IDX header with the expected number of dimensions; dims[] receive them and
 * *body the offset of the data. Checks that the file holds exactly the bytes it says. */
static int idx_header(const char *path, const uint8_t *d, size_t len, int ndims, uint32_t dims[3],
                      size_t *body)
{
    const char *what = ndims == 3 ? "IDX image file (idx3-ubyte)" : "IDX label file (idx1-ubyte)";
    if (len < 4)
        return ft_error_set(FT_EFORMAT, "%s: not an %s: file is only %zu bytes", path, what, len);
    if (d[0] != 0 || d[1] != 0 || d[2] != 0x08 || d[3] != ndims)
        return ft_error_set(FT_EFORMAT,
                            "%s: not an %s: bad magic %02x %02x %02x %02x (expected 00 00 08 %02x)",
                            path, what, d[0], d[1], d[2], d[3], ndims);
    size_t hdr = 4 + 4 * (size_t)ndims;
    if (len < hdr)
        return ft_error_set(FT_EFORMAT, "%s: truncated header (%zu of %zu bytes)", path, len, hdr);
    uint64_t total = 1;
    for (int i = 0; i < ndims; i++) {
        dims[i] = ft_be32(d + 4 + 4 * i);
        total *= dims[i];
        if (total > ((uint64_t)1 << 40))
            return ft_error_set(FT_EFORMAT, "%s: implausible dimensions in header", path);
    }
    if (ndims == 3 && (dims[1] == 0 || dims[2] == 0 || dims[1] > 4096 || dims[2] > 4096))
        return ft_error_set(FT_EFORMAT, "%s: implausible image size %ux%u", path, dims[1], dims[2]);
    if (len - hdr < total)
        return ft_error_set(FT_EFORMAT,
                            "%s: truncated: header promises %llu data bytes, file holds %zu", path,
                            (unsigned long long)total, len - hdr);
    if (len - hdr > total)
        return ft_error_set(FT_EFORMAT, "%s: %zu unexpected bytes after the %llu data bytes", path,
                            len - hdr - (size_t)total, (unsigned long long)total);
    *body = hdr;
    return FT_OK;
}

int ft_idx_read(const char *images_path, const char *labels_path, int num_classes,
                ft_dataset_t **out)
{
    *out = NULL;
    uint8_t *img = NULL, *lab = NULL;
    size_t img_len = 0, lab_len = 0, img_off = 0, lab_off = 0;
    uint32_t idims[3] = {0}, ldims[3] = {0};
    ft_dataset_t *ds = NULL;
    int rc = ft_data_slurp(images_path, &img, &img_len);
    if (rc < 0)
        goto done;
    rc = idx_header(images_path, img, img_len, 3, idims, &img_off);
    if (rc < 0)
        goto done;
    rc = ft_data_slurp(labels_path, &lab, &lab_len);
    if (rc < 0)
        goto done;
    rc = idx_header(labels_path, lab, lab_len, 1, ldims, &lab_off);
    if (rc < 0)
        goto done;
    if (idims[0] != ldims[0]) {
        rc = ft_error_set(FT_EFORMAT, "%s holds %u images but %s holds %u labels", images_path,
                          idims[0], labels_path, ldims[0]);
        goto done;
    }
    if (idims[0] == 0) {
        rc = ft_error_set(FT_EFORMAT, "%s: holds no images", images_path);
        goto done;
    }
    for (uint32_t i = 0; i < ldims[0]; i++) {
        if (lab[lab_off + i] >= num_classes) {
            rc = ft_error_set(FT_EFORMAT, "%s: label %u of sample %u is out of range [0, %d)",
                              labels_path, lab[lab_off + i], i, num_classes);
            goto done;
        }
    }
    rc = ft_dataset_new(idims[0], 1, (int)idims[1], (int)idims[2], num_classes, &ds);
    if (rc < 0)
        goto done;
    memcpy(ds->pixels, img + img_off, (size_t)idims[0] * idims[1] * idims[2]);
    memcpy(ds->labels, lab + lab_off, idims[0]);
    snprintf(ds->source, sizeof ds->source, "%s", images_path);
    *out = ds;
done:
    ft_free(img);
    ft_free(lab);
    return rc;
}

#define CIFAR_RECORD 3073

int ft_cifar10_read(const char *const *paths, int num_paths, ft_dataset_t **out)
{
    *out = NULL;
    if (num_paths <= 0)
        return ft_error_set(FT_EINVAL, "CIFAR-10: no batch files given");
    uint8_t **bufs = ft_calloc((size_t)num_paths, sizeof *bufs);
    size_t *lens = ft_calloc((size_t)num_paths, sizeof *lens);
    ft_dataset_t *ds = NULL;
    int rc = FT_OK;
    if (!bufs || !lens) {
        rc = ft_error_set(FT_ENOMEM, "CIFAR-10: out of memory");
        goto done;
    }
    uint64_t n = 0;
    for (int f = 0; f < num_paths; f++) {
        rc = ft_data_slurp(paths[f], &bufs[f], &lens[f]);
        if (rc < 0)
            goto done;
        if (lens[f] == 0 || lens[f] % CIFAR_RECORD != 0) {
            rc = ft_error_set(FT_EFORMAT,
                              "%s: not a CIFAR-10 binary batch: size %zu is not a positive "
                              "multiple of %d bytes (truncated or wrong file?)",
                              paths[f], lens[f], CIFAR_RECORD);
            goto done;
        }
        size_t recs = lens[f] / CIFAR_RECORD;
        for (size_t r = 0; r < recs; r++) {
            uint8_t l = bufs[f][r * CIFAR_RECORD];
            if (l >= 10) {
                rc = ft_error_set(FT_EFORMAT,
                                  "%s: label %u of record %zu is out of range [0, 10) "
                                  "(CIFAR-100 or a damaged file?)",
                                  paths[f], l, r);
                goto done;
            }
        }
        n += recs;
    }
    if (n > UINT32_MAX) {
        rc = ft_error_set(FT_EFORMAT, "CIFAR-10: too many records");
        goto done;
    }
    rc = ft_dataset_new((uint32_t)n, 3, 32, 32, 10, &ds);
    if (rc < 0)
        goto done;
    size_t k = 0;
    for (int f = 0; f < num_paths; f++) {
        size_t recs = lens[f] / CIFAR_RECORD;
        for (size_t r = 0; r < recs; r++, k++) {
            const uint8_t *rec = bufs[f] + r * CIFAR_RECORD;
            ds->labels[k] = rec[0];
            memcpy(ds->pixels + k * 3072, rec + 1, 3072);
        }
    }
    snprintf(ds->source, sizeof ds->source, "%s", paths[0]);
    *out = ds;
done:
    if (bufs)
        for (int f = 0; f < num_paths; f++)
            ft_free(bufs[f]);
    ft_free(bufs);
    ft_free(lens);
    return rc;
}
