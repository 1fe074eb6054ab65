/* ft_dataset: dataset storage — new, subset, concat, transpose — and normalised
 * minibatch gathering. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_dataset.h"
#include "ft_error.h"

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
    ft_free(ds->group);
    ft_text_vocab_destroy(&ds->vocab);
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
    memcpy(ds->source, src->source, sizeof ds->source);
    if (src->vocab)
        ds->vocab = ft_text_vocab_retain(src->vocab);
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
/* Samples i of src with pick(src, i, arg) != 0, as a new dataset. */
static int subset_where(const ft_dataset_t *src, int (*pick)(const ft_dataset_t *, uint32_t, int),
                        int arg, ft_dataset_t **out)
{
    uint32_t *idx = ft_malloc(((size_t)src->n + 1) * sizeof *idx), n = 0;
    if (!idx)
        return ft_error_set(FT_ENOMEM, "out of memory selecting from %s", src->name);
    for (uint32_t i = 0; i < src->n; i++)
        if (pick(src, i, arg))
            idx[n++] = i;
    int rc = ft_dataset_subset(src, idx, n, out);
    ft_free(idx);
    return rc;
}

static int pick_all(const ft_dataset_t *src, uint32_t i, int arg)
{
    (void)src, (void)i, (void)arg;
    return 1;
}

int ft_dataset_clone(const ft_dataset_t *src, ft_dataset_t **out)
{
    return subset_where(src, pick_all, 0, out);
}

static int pick_label(const ft_dataset_t *src, uint32_t i, int label)
{
    return src->labels[i] == label;
}

static int pick_other_label(const ft_dataset_t *src, uint32_t i, int label)
{
    return src->labels[i] != label;
}

int ft_dataset_select_label(const ft_dataset_t *src, int label, int keep, ft_dataset_t **out)
{
    return subset_where(src, keep ? pick_label : pick_other_label, label, out);
}

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

int ft_dataset_to_float(const ft_dataset_t *src, ft_dataset_t **out)
{
    *out = NULL;
    ft_dataset_t *ds = NULL;
    int rc = new_like(src, src->n, 1, &ds);
    if (rc < 0)
        return rc;
    ds->num_classes = src->num_classes;
    copy_into(ds, 0, src);
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

const char *ft_dataset_source(const ft_dataset_t *ds)
{
    return ds->source[0] ? ds->source : ds->name;
}
