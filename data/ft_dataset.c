/* ft_dataset: dataset storage, normalised minibatch gathering, and ft_dataset_load(),
 * which turns the [data] config keys into a loaded split.
 *
 * Normalisation defaults follow the paper's code (ksreenivasan/OOD_Federated_Learning,
 * utils.py get_dataloader): MNIST/EMNIST Normalize((0.1307,), (0.3081,)) — used for
 * Fashion-MNIST too — and for CIFAR-10 mean = [125.3, 123.0, 113.9]/255,
 * std = [63.0, 62.1, 66.7]/255. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_fileio.h"

#define FT_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

int ft_dataset_new(uint32_t n, int c, int h, int w, int num_classes, ft_dataset_t **out)
{
    assert(c >= 1 && c <= FT_MAX_CHANNELS && h >= 1 && w >= 1);
    *out = NULL;
    ft_dataset_t *ds = ft_calloc(1, sizeof *ds);
    if (!ds)
        return ft_error_set(FT_ENOMEM, "out of memory for a dataset");
    size_t bytes = (size_t)n * (size_t)c * (size_t)h * (size_t)w;
    ds->pixels = ft_calloc(bytes ? bytes : 1, 1);
    ds->labels = ft_calloc(n ? n : 1, 1);
    if (!ds->pixels || !ds->labels) {
        ft_dataset_destroy(&ds);
        return ft_error_set(FT_ENOMEM, "out of memory for %u samples of %dx%dx%d", n, c, h, w);
    }
    ds->n = n;
    ds->c = c;
    ds->h = h;
    ds->w = w;
    ds->num_classes = num_classes;
    for (int i = 0; i < FT_MAX_CHANNELS; i++) {
        ds->mean[i] = 0.0f;
        ds->std[i] = 1.0f;
    }
    *out = ds;
    return FT_OK;
}

void ft_dataset_destroy(ft_dataset_t **ds_p)
{
    if (!ds_p || !*ds_p)
        return;
    ft_dataset_t *ds = *ds_p;
    ft_free(ds->pixels);
    ft_free(ds->values);
    ft_free(ds->labels);
    ft_free(ds);
    *ds_p = NULL;
}

size_t ft_dataset_sample_size(const ft_dataset_t *ds)
{
    return (size_t)ds->c * (size_t)ds->h * (size_t)ds->w;
}

/* A dataset of the same shape, normalisation and storage kind as src with room for n. */
static int new_like(const ft_dataset_t *src, uint32_t n, int as_float, ft_dataset_t **out)
{
    ft_dataset_t *ds = NULL;
    int rc = ft_dataset_new(n, src->c, src->h, src->w, src->num_classes, &ds);
    if (rc < 0)
        return rc;
    if (as_float) {
        ft_free(ds->pixels);
        ds->pixels = NULL;
        size_t total = (size_t)n * ft_dataset_sample_size(src);
        ds->values = ft_malloc(total ? total * sizeof(float) : 1);
        if (!ds->values) {
            ft_dataset_destroy(&ds);
            return ft_error_set(FT_ENOMEM, "out of memory for %u float samples", n);
        }
    }
    memcpy(ds->mean, src->mean, sizeof ds->mean);
    memcpy(ds->std, src->std, sizeof ds->std);
    memcpy(ds->name, src->name, sizeof ds->name);
    *out = ds;
    return FT_OK;
}

int ft_dataset_subset(const ft_dataset_t *src, const uint32_t *idx, uint32_t k, ft_dataset_t **out)
{
    *out = NULL;
    ft_dataset_t *ds = NULL;
    int rc = new_like(src, k, src->values != NULL, &ds);
    if (rc < 0)
        return rc;
    size_t s = ft_dataset_sample_size(src);
    for (uint32_t i = 0; i < k; i++) {
        assert(idx[i] < src->n);
        if (src->values)
            memcpy(ds->values + i * s, src->values + (size_t)idx[i] * s, s * sizeof(float));
        else
            memcpy(ds->pixels + i * s, src->pixels + (size_t)idx[i] * s, s);
        ds->labels[i] = src->labels[idx[i]];
    }
    *out = ds;
    return FT_OK;
}

/* Copies the n samples of src into dst starting at sample `at`, converting uint8 to
 * float (pixel/255, the units mean/std are given in) when dst stores floats. */
static void copy_into(ft_dataset_t *dst, uint32_t at, const ft_dataset_t *src)
{
    size_t s = ft_dataset_sample_size(src), total = (size_t)src->n * s;
    if (dst->values && src->values)
        memcpy(dst->values + at * s, src->values, total * sizeof(float));
    else if (dst->values)
        for (size_t i = 0; i < total; i++)
            dst->values[at * s + i] = src->pixels[i] / 255.0f;
    else
        memcpy(dst->pixels + at * s, src->pixels, total);
    memcpy(dst->labels + at, src->labels, src->n);
}

int ft_dataset_concat(const ft_dataset_t *a, const ft_dataset_t *b, ft_dataset_t **out)
{
    *out = NULL;
    if (a->c != b->c || a->h != b->h || a->w != b->w)
        return ft_error_set(FT_EINVAL, "cannot concatenate %s (%dx%dx%d) and %s (%dx%dx%d)",
                            a->name, a->c, a->h, a->w, b->name, b->c, b->h, b->w);
    if ((uint64_t)a->n + b->n > UINT32_MAX)
        return ft_error_set(FT_EINVAL, "concatenation of %s and %s is too large", a->name, b->name);
    ft_dataset_t *ds = NULL;
    int rc = new_like(a, a->n + b->n, a->values || b->values, &ds);
    if (rc < 0)
        return rc;
    if (b->num_classes > ds->num_classes)
        ds->num_classes = b->num_classes;
    copy_into(ds, 0, a);
    copy_into(ds, a->n, b);
    *out = ds;
    return FT_OK;
}

void ft_dataset_transpose_hw(ft_dataset_t *ds)
{
    assert(ds->h == ds->w);
    size_t hw = (size_t)ds->h * (size_t)ds->w, planes = (size_t)ds->n * (size_t)ds->c;
    int h = ds->h;
    for (size_t p = 0; p < planes; p++) {
        for (int i = 0; i < h; i++) {
            for (int j = i + 1; j < h; j++) {
                size_t a = p * hw + (size_t)i * h + j, b = p * hw + (size_t)j * h + i;
                if (ds->pixels) {
                    uint8_t t = ds->pixels[a];
                    ds->pixels[a] = ds->pixels[b];
                    ds->pixels[b] = t;
                } else {
                    float t = ds->values[a];
                    ds->values[a] = ds->values[b];
                    ds->values[b] = t;
                }
            }
        }
    }
}

void ft_dataset_gather(const ft_dataset_t *ds, const uint32_t *idx, int B, float *x, int32_t *y)
{
    const size_t hw = (size_t)ds->h * (size_t)ds->w, s = hw * (size_t)ds->c;
    /* x = p * scale + bias is ((p/255) - mean)/std folded into one multiply-add. */
    float scale[FT_MAX_CHANNELS], bias[FT_MAX_CHANNELS];
    const float in_scale = ds->pixels ? 1.0f / 255.0f : 1.0f;
    for (int c = 0; c < ds->c; c++) {
        scale[c] = in_scale / ds->std[c];
        bias[c] = -ds->mean[c] / ds->std[c];
    }
    for (int b = 0; b < B; b++) {
        const uint32_t i = idx[b];
        assert(i < ds->n);
        float *xb = x + (size_t)b * s;
        y[b] = ds->labels[i];
        for (int c = 0; c < ds->c; c++) {
            const float sc = scale[c], bi = bias[c];
            float *xc = xb + (size_t)c * hw;
            if (ds->pixels) {
                const uint8_t *p = ds->pixels + (size_t)i * s + (size_t)c * hw;
                for (size_t k = 0; k < hw; k++)
                    xc[k] = (float)p[k] * sc + bi;
            } else {
                const float *p = ds->values + (size_t)i * s + (size_t)c * hw;
                for (size_t k = 0; k < hw; k++)
                    xc[k] = p[k] * sc + bi;
            }
        }
    }
}

void ft_dataset_default_norm(const char *dataset, int c, float *mean, float *std)
{
    /* Paper code, utils.py get_dataloader: CIFAR-10 uses x/255 of these. */
    static const float cifar_mean[3] = {125.3f / 255.0f, 123.0f / 255.0f, 113.9f / 255.0f};
    static const float cifar_std[3] = {63.0f / 255.0f, 62.1f / 255.0f, 66.7f / 255.0f};
    for (int i = 0; i < c; i++) {
        if (!strcmp(dataset, "cifar10") && c == 3) {
            mean[i] = cifar_mean[i];
            std[i] = cifar_std[i];
        } else if (!strcmp(dataset, "synthetic")) {
            /* Synthetic pixels are prototypes around 128 plus noise (ft_synthetic.c). */
            mean[i] = 0.5f;
            std[i] = 0.25f;
        } else {
            mean[i] = 0.1307f;
            std[i] = 0.3081f;
        }
    }
}

/* Looks for name, name.gz, gzip/name, gzip/name.gz under dir; the found path goes to out. */
static int find_file(const char *dir, const char *name, char *out, size_t out_size)
{
    static const char *const fmt[] = {"%s/%s", "%s/%s.gz", "%s/gzip/%s", "%s/gzip/%s.gz"};
    for (size_t i = 0; i < sizeof fmt / sizeof *fmt; i++) {
        snprintf(out, out_size, fmt[i], dir, name);
        if (ft_path_exists(out))
            return 1;
    }
    return 0;
}

/* MNIST-family IDX split; prefixes are tried in order ("" for the MNIST names). */
static int load_idx_family(const char *dir, int train, const char *const *prefixes,
                           ft_dataset_t **out)
{
    char img[4096], lab[4096], name[256];
    const char *split = train ? "train" : "t10k";
    for (int p = 0; prefixes[p]; p++) {
        /* EMNIST names its test split "test", MNIST "t10k". */
        const char *sp = prefixes[p][0] && !train ? "test" : split;
        snprintf(name, sizeof name, "%s%s-images-idx3-ubyte", prefixes[p], sp);
        if (!find_file(dir, name, img, sizeof img))
            continue;
        snprintf(name, sizeof name, "%s%s-labels-idx1-ubyte", prefixes[p], sp);
        if (!find_file(dir, name, lab, sizeof lab))
            return ft_error_set(FT_EIO, "%s: found %s but no %s[.gz] beside it (data.path = %s)",
                                dir, img, name, dir);
        return ft_idx_read(img, lab, 10, out);
    }
    snprintf(name, sizeof name, "%s%s-images-idx3-ubyte[.gz]", prefixes[0],
             prefixes[0][0] && !train ? "test" : split);
    return ft_error_set(FT_EIO, "data.path = %s: no %s found there (nor in %s/gzip)", dir, name,
                        dir);
}

static int load_cifar(const char *dir, int train, ft_dataset_t **out)
{
    char paths[5][4096];
    const char *ptrs[5];
    int n = train ? 5 : 1;
    for (int i = 0; i < n; i++) {
        char name[64];
        if (train)
            snprintf(name, sizeof name, "data_batch_%d.bin", i + 1);
        else
            snprintf(name, sizeof name, "test_batch.bin");
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, name);
        if (!ft_path_exists(paths[i]))
            snprintf(paths[i], sizeof paths[i], "%s/cifar-10-batches-bin/%s", dir, name);
        if (!ft_path_exists(paths[i]))
            return ft_error_set(FT_EIO, "data.path = %s: no %s found there (nor in %s/%s)", dir,
                                name, dir, "cifar-10-batches-bin");
        ptrs[i] = paths[i];
    }
    return ft_cifar10_read(ptrs, n, out);
}

static int load_synthetic(const ft_config_t *cfg, int train, ft_dataset_t **out)
{
    const char *key = train ? "data.synthetic_train" : "data.synthetic_test";
    int64_t n = ft_config_int(cfg, key);
    if (n < 1 || n > 10000000)
        return ft_config_error(cfg, key, "must be in [1, 10000000]");
    double shape[3];
    int k = ft_config_float_list(cfg, "data.synthetic_shape", shape, 3);
    if (k < 0)
        return k;
    if (k != 3 || shape[0] < 1 || shape[0] > FT_MAX_CHANNELS || shape[1] < 1 || shape[1] > 1024 ||
        shape[2] < 1 || shape[2] > 1024 || shape[0] != (int)shape[0] || shape[1] != (int)shape[1] ||
        shape[2] != (int)shape[2])
        return ft_config_error(cfg, "data.synthetic_shape",
                               "expected C,H,W with 1 <= C <= %d and 1 <= H,W <= 1024",
                               FT_MAX_CHANNELS);
    return ft_synthetic_make((uint32_t)n, (int)shape[0], (int)shape[1], (int)shape[2], 10,
                             (uint64_t)ft_config_int(cfg, "run.seed"), train ? 0 : 1, out);
}

/* data.mean / data.std: one value for every channel, or one per channel. */
static int apply_norm_override(const ft_config_t *cfg, const char *key, int c, float *dst,
                               int positive)
{
    double v[FT_MAX_CHANNELS];
    int k = ft_config_float_list(cfg, key, v, FT_MAX_CHANNELS);
    if (k < 0)
        return k;
    if (k == 0)
        return FT_OK;
    if (k != 1 && k != c)
        return ft_config_error(cfg, key, "expected 1 or %d values (one per channel), got %d", c, k);
    for (int i = 0; i < c; i++) {
        double x = v[k == 1 ? 0 : i];
        if (positive && !(x > 0))
            return ft_config_error(cfg, key, "standard deviations must be > 0");
        dst[i] = (float)x;
    }
    return FT_OK;
}

int ft_dataset_load(const ft_config_t *cfg, int train, ft_dataset_t **out)
{
    *out = NULL;
    const char *dataset = ft_config_str(cfg, "data.dataset");
    const char *dir = ft_config_str(cfg, "data.path");
    const char *limit_key = train ? "data.train_limit" : "data.test_limit";
    int64_t limit = ft_config_int(cfg, limit_key);
    if (limit < 0)
        return ft_config_error(cfg, limit_key, "must be >= 0 (0: all samples)");
    int is_synth = !strcmp(dataset, "synthetic");
    if (!dir[0] && !strcmp(dataset, "fashion-mnist"))
        dir = FT_FASHION_MNIST_DIR;
    if (!dir[0] && !is_synth)
        return ft_config_error(cfg, "data.path",
                               "dataset %s needs data.path: the directory holding its files",
                               dataset);
    if (!is_synth && !ft_path_exists(dir))
        return ft_error_set(FT_EIO, "data.path = %s: directory not found%s", dir,
                            !strcmp(dataset, "fashion-mnist")
                                ? " (apt-get install dataset-fashion-mnist, or set data.path)"
                                : "");

    ft_dataset_t *ds = NULL;
    int rc;
    if (!strcmp(dataset, "fashion-mnist") || !strcmp(dataset, "mnist")) {
        static const char *const prefixes[] = {"", NULL};
        rc = load_idx_family(dir, train, prefixes, &ds);
    } else if (!strcmp(dataset, "emnist")) {
        static const char *const prefixes[] = {"emnist-digits-", "emnist-mnist-", NULL};
        rc = load_idx_family(dir, train, prefixes, &ds);
        /* EMNIST's IDX files hold each image transposed relative to MNIST. */
        if (rc == FT_OK) {
            if (ds->h != ds->w) {
                ft_dataset_destroy(&ds);
                rc = ft_error_set(FT_EFORMAT, "data.path = %s: EMNIST images must be square", dir);
            } else {
                ft_dataset_transpose_hw(ds);
            }
        }
    } else if (!strcmp(dataset, "cifar10")) {
        rc = load_cifar(dir, train, &ds);
    } else if (is_synth) {
        rc = load_synthetic(cfg, train, &ds);
    } else {
        return ft_config_error(cfg, "data.dataset", "unknown dataset");
    }
    if (rc < 0)
        return rc;

    if (limit > 0 && (uint64_t)limit < ds->n)
        ds->n = (uint32_t)limit; /* the tail stays allocated; it is never read */
    ft_dataset_default_norm(dataset, ds->c, ds->mean, ds->std);
    rc = apply_norm_override(cfg, "data.mean", ds->c, ds->mean, 0);
    if (rc == FT_OK)
        rc = apply_norm_override(cfg, "data.std", ds->c, ds->std, 1);
    if (rc < 0) {
        ft_dataset_destroy(&ds);
        return rc;
    }
    snprintf(ds->name, sizeof ds->name, "%s/%s", dataset, train ? "train" : "test");
    *out = ds;
    return FT_OK;
}
