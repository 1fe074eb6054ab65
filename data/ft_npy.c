/* ft_npy: NumPy .npy arrays (https://numpy.org/doc/stable/reference/generated/
 * numpy.lib.format.html): magic "\x93NUMPY", version major/minor, a little-endian
 * header length (uint16 in 1.0, uint32 in 2.0/3.0), a Python-dict header
 * {'descr': '<f4', 'fortran_order': False, 'shape': (n, h, w), } padded with spaces
 * and a newline, then the raw array in C order. Used for edge-case image sets
 * (ARDIS, Southwest) and by `fedtail aggregate` for K×N update matrices.
 * Only little-endian data on a little-endian host is supported. */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_data_internal.h"
#include "ft_readers.h"
#include "ft_error.h"
#include "ft_fileio.h"

typedef enum { NPY_U1, NPY_F4, NPY_F8, NPY_I4, NPY_I8 } npy_dtype_t;

typedef struct {
    npy_dtype_t dtype; /* element type */
    size_t itemsize;   /* bytes per element */
    int ndim;          /* number of dimensions (0..4) */
    uint64_t shape[4]; /* dimensions */
    uint64_t count;    /* product of shape */
    size_t data_off;   /* byte offset of the array data */
} npy_info_t;

static int host_is_le(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Finds 'key' in the header dict and returns a pointer just past its ':' (spaces skipped). */
static const char *dict_value(const char *h, const char *key)
{
    char pat[32];
    for (int q = 0; q < 2; q++) {
        snprintf(pat, sizeof pat, q ? "\"%s\"" : "'%s'", key);
        const char *p = strstr(h, pat);
        if (!p)
            continue;
        p += strlen(pat);
        while (isspace((unsigned char)*p))
            p++;
        if (*p != ':')
            return NULL;
        p++;
        while (isspace((unsigned char)*p))
            p++;
        return p;
    }
    return NULL;
}

static int npy_parse(const char *path, const uint8_t *d, size_t len, npy_info_t *info)
{
    if (!host_is_le())
        return ft_error_set(FT_EUNSUPPORTED, "%s: .npy reading needs a little-endian host", path);
    if (len < 10 || memcmp(d, "\x93NUMPY", 6) != 0)
        return ft_error_set(FT_EFORMAT, "%s: not a .npy file (bad magic)", path);
    int major = d[6];
    size_t hlen, hoff;
    if (major == 1) {
        hlen = (size_t)d[8] | ((size_t)d[9] << 8);
        hoff = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return ft_error_set(FT_EFORMAT, "%s: truncated .npy header", path);
        hlen = (size_t)d[8] | ((size_t)d[9] << 8) | ((size_t)d[10] << 16) | ((size_t)d[11] << 24);
        hoff = 12;
    } else {
        return ft_error_set(FT_EFORMAT, "%s: unsupported .npy version %d.%d", path, major, d[7]);
    }
    if (hlen > len - hoff || hlen > (1u << 20))
        return ft_error_set(FT_EFORMAT, "%s: truncated .npy header (%zu bytes promised)", path,
                            hlen);
    char *h = ft_malloc(hlen + 1);
    if (!h)
        return ft_error_set(FT_ENOMEM, "%s: out of memory", path);
    memcpy(h, d + hoff, hlen);
    h[hlen] = '\0';
    int rc = FT_OK;

    const char *v = dict_value(h, "descr");
    char descr[16] = "";
    if (v && (*v == '\'' || *v == '"')) {
        char q = *v++;
        size_t i = 0;
        while (*v && *v != q && i + 1 < sizeof descr)
            descr[i++] = *v++;
        descr[i] = '\0';
    }
    if (!descr[0]) {
        rc = ft_error_set(FT_EFORMAT, "%s: .npy header has no 'descr'", path);
        goto done;
    }
    if (descr[0] == '>' && strcmp(descr + 1, "u1") != 0 && strcmp(descr + 1, "i1") != 0) {
        rc = ft_error_set(FT_EFORMAT, "%s: big-endian dtype '%s' is not supported", path, descr);
        goto done;
    }
    const char *t = (descr[0] == '<' || descr[0] == '|' || descr[0] == '=' || descr[0] == '>')
                        ? descr + 1
                        : descr;
    if (!strcmp(t, "u1"))
        info->dtype = NPY_U1, info->itemsize = 1;
    else if (!strcmp(t, "f4"))
        info->dtype = NPY_F4, info->itemsize = 4;
    else if (!strcmp(t, "f8"))
        info->dtype = NPY_F8, info->itemsize = 8;
    else if (!strcmp(t, "i4"))
        info->dtype = NPY_I4, info->itemsize = 4;
    else if (!strcmp(t, "i8"))
        info->dtype = NPY_I8, info->itemsize = 8;
    else {
        rc = ft_error_set(FT_EFORMAT,
                          "%s: unsupported dtype '%s' (want uint8, float32, float64, int32 or "
                          "int64)",
                          path, descr);
        goto done;
    }

    v = dict_value(h, "fortran_order");
    if (!v) {
        rc = ft_error_set(FT_EFORMAT, "%s: .npy header has no 'fortran_order'", path);
        goto done;
    }
    if (!strncmp(v, "True", 4)) {
        rc = ft_error_set(FT_EFORMAT,
                          "%s: Fortran-order arrays are not supported; save with "
                          "np.ascontiguousarray()",
                          path);
        goto done;
    }
    if (strncmp(v, "False", 5) != 0) {
        rc = ft_error_set(FT_EFORMAT, "%s: bad 'fortran_order' in .npy header", path);
        goto done;
    }

    v = dict_value(h, "shape");
    if (!v || *v != '(') {
        rc = ft_error_set(FT_EFORMAT, "%s: .npy header has no 'shape' tuple", path);
        goto done;
    }
    v++;
    info->ndim = 0;
    info->count = 1;
    for (;;) {
        while (isspace((unsigned char)*v))
            v++;
        if (*v == ')')
            break;
        if (!isdigit((unsigned char)*v) || info->ndim == 4) {
            rc = ft_error_set(FT_EFORMAT, "%s: bad or over 4-dimensional 'shape' in .npy header",
                              path);
            goto done;
        }
        char *end;
        unsigned long long x = strtoull(v, &end, 10);
        info->shape[info->ndim++] = x;
        if (x > ((uint64_t)1 << 40) || (x && info->count > ((uint64_t)1 << 40) / x)) {
            rc = ft_error_set(FT_EFORMAT, "%s: implausible .npy shape", path);
            goto done;
        }
        info->count *= x;
        v = end;
        while (isspace((unsigned char)*v))
            v++;
        if (*v == ',')
            v++;
        else if (*v != ')') {
            rc = ft_error_set(FT_EFORMAT, "%s: bad 'shape' in .npy header", path);
            goto done;
        }
    }
    info->data_off = hoff + hlen;
    uint64_t need = info->count * info->itemsize;
    size_t have = len - info->data_off;
    if (have < need)
        rc = ft_error_set(FT_EFORMAT, "%s: truncated: shape needs %llu data bytes, file holds %zu",
                          path, (unsigned long long)need, have);
    else if (have > need)
        rc = ft_error_set(FT_EFORMAT, "%s: %zu unexpected bytes after the array data", path,
                          have - (size_t)need);
done:
    ft_free(h);
    return rc;
}

/* Element i of the array as a double. */
static double npy_get(const npy_info_t *info, const uint8_t *base, size_t i)
{
    switch (info->dtype) {
    case NPY_U1: return base[i];
    case NPY_F4: {
        float f;
        memcpy(&f, base + 4 * i, 4);
        return f;
    }
    case NPY_F8: {
        double f;
        memcpy(&f, base + 8 * i, 8);
        return f;
    }
    case NPY_I4: {
        int32_t x;
        memcpy(&x, base + 4 * i, 4);
        return x;
    }
    case NPY_I8: {
        int64_t x;
        memcpy(&x, base + 8 * i, 8);
        return (double)x;
    }
    }
    return 0;
}

int ft_npy_read_floats(const char *path, float **data, size_t *n, int shape[4], int *ndim)
{
    *data = NULL;
    *n = 0;
    *ndim = 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    npy_info_t info;
    int rc = ft_data_slurp(path, &buf, &len);
    if (rc < 0)
        return rc;
    rc = npy_parse(path, buf, len, &info);
    if (rc < 0)
        goto done;
    for (int i = 0; i < info.ndim; i++) {
        if (info.shape[i] > INT32_MAX) {
            rc = ft_error_set(FT_EFORMAT, "%s: dimension %d too large", path, i);
            goto done;
        }
    }
    float *out = ft_malloc(info.count ? info.count * sizeof(float) : 1);
    if (!out) {
        rc = ft_error_set(FT_ENOMEM, "%s: out of memory for %llu floats", path,
                          (unsigned long long)info.count);
        goto done;
    }
    const uint8_t *base = buf + info.data_off;
    if (info.dtype == NPY_F4)
        memcpy(out, base, info.count * 4);
    else
        for (size_t i = 0; i < info.count; i++)
            out[i] = (float)npy_get(&info, base, i);
    for (int i = 0; i < 4; i++)
        shape[i] = i < info.ndim ? (int)info.shape[i] : 0;
    *ndim = info.ndim;
    *n = info.count;
    *data = out;
done:
    ft_free(buf);
    return rc;
}

int ft_npy_read_images(const char *path, int c, int label, ft_dataset_t **out)
{
    assert(c >= 1 && c <= FT_MAX_CHANNELS);
    assert(label >= 0 && label < 256);
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    npy_info_t info;
    ft_dataset_t *ds = NULL;
    int rc = ft_data_slurp(path, &buf, &len);
    if (rc < 0)
        return rc;
    rc = npy_parse(path, buf, len, &info);
    if (rc < 0)
        goto done;
    if (info.dtype != NPY_U1 && info.dtype != NPY_F4) {
        rc = ft_error_set(FT_EFORMAT, "%s: image arrays must be uint8 or float32", path);
        goto done;
    }
    /* Work out the layout: (n,H,W) for one channel, else (n,H,W,C) or (n,C,H,W). */
    uint64_t n = info.shape[0], h, w;
    int hwc;
    if (info.ndim == 3 && c == 1) {
        h = info.shape[1], w = info.shape[2], hwc = 0;
    } else if (info.ndim == 4 && info.shape[1] == (uint64_t)c && info.shape[3] != (uint64_t)c) {
        h = info.shape[2], w = info.shape[3], hwc = 0;
    } else if (info.ndim == 4 && info.shape[3] == (uint64_t)c) {
        h = info.shape[1], w = info.shape[2], hwc = 1;
    } else {
        char sh[96] = "";
        for (int i = 0; i < info.ndim; i++) {
            size_t l = strlen(sh);
            snprintf(sh + l, sizeof sh - l, "%s%llu", i ? "," : "",
                     (unsigned long long)info.shape[i]);
        }
        rc = ft_error_set(FT_EFORMAT,
                          "%s: shape (%s) is not (n,H,W), (n,H,W,%d) or (n,%d,H,W) for %d "
                          "channel(s)",
                          path, sh, c, c, c);
        goto done;
    }
    if (n == 0 || n > UINT32_MAX || h == 0 || w == 0 || h > 4096 || w > 4096) {
        rc = ft_error_set(FT_EFORMAT, "%s: implausible image array shape", path);
        goto done;
    }
    rc = ft_dataset_new((uint32_t)n, c, (int)h, (int)w, label + 1, &ds);
    if (rc < 0)
        goto done;
    size_t hw = (size_t)h * w, s = hw * (size_t)c, total = (size_t)n * s;
    const uint8_t *base = buf + info.data_off;
    if (info.dtype == NPY_F4) {
        /* Float images are kept as they are (expected in [0,1], like pixel/255). */
        ft_free(ds->pixels);
        ds->pixels = NULL;
        ds->values = ft_malloc(total * sizeof(float));
        if (!ds->values) {
            rc = ft_error_set(FT_ENOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (int ch = 0; ch < c; ch++) {
            for (size_t p = 0; p < hw; p++) {
                size_t src = hwc ? i * s + p * (size_t)c + (size_t)ch : i * s + (size_t)ch * hw + p;
                size_t dst = i * s + (size_t)ch * hw + p;
                if (ds->pixels)
                    ds->pixels[dst] = base[src];
                else
                    memcpy(&ds->values[dst], base + 4 * src, 4);
            }
        }
    }
    memset(ds->labels, label, (size_t)n);
    snprintf(ds->name, sizeof ds->name, "%s", path);
    snprintf(ds->source, sizeof ds->source, "%s", path);
    *out = ds;
    ds = NULL;
done:
    ft_dataset_destroy(&ds);
    ft_free(buf);
    return rc;
}

int ft_npy_write_floats(const char *path, const float *data, const int *shape, int ndim)
{
    assert(ndim >= 0 && ndim <= 8);
    if (!host_is_le())
        return ft_error_set(FT_EUNSUPPORTED, "%s: .npy writing needs a little-endian host", path);
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        assert(shape[i] >= 0);
        count *= (size_t)shape[i];
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%d%s", shape[i],
                        ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    }
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    /* Pad with spaces so magic + header is a multiple of 64 bytes, ending in '\n'. */
    size_t total = 10 + (size_t)len + 1;
    size_t padded = (total + 63) / 64 * 64;
    uint8_t hdr[320];
    assert(padded <= sizeof hdr);
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    size_t hlen = padded - 10;
    hdr[8] = (uint8_t)(hlen & 0xff);
    hdr[9] = (uint8_t)(hlen >> 8);
    memcpy(hdr + 10, dict, (size_t)len);
    memset(hdr + 10 + len, ' ', padded - 10 - (size_t)len - 1);
    hdr[padded - 1] = '\n';
    ft_atomic_file_t *f = ft_atomic_open(path);
    if (!f)
        return FT_EIO;
    ft_atomic_write(f, hdr, padded);
    if (count)
        ft_atomic_write(f, data, count * sizeof(float));
    return ft_atomic_commit(&f);
}
