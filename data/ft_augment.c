/* ft_augment: seeded random crop + horizontal flip (see ft_augment.h for what the
 * paper code does and where). Each output pixel is one read of the input: the
 * padding is never materialised, so a sample needs only the one-sample scratch its
 * caller keeps. */
#include "ft_augment.h"

#include "ft_error.h"

#include <assert.h>
#include <string.h>

int ft_augment_check(const ft_augment_t *a, int h, int w)
{
    if (a->mode == FT_AUGMENT_NONE)
        return FT_OK;
    if (a->pad < 0)
        return ft_error_set(FT_EINVAL, "data.augment_pad = %d: must be >= 0", a->pad);
    if (a->mode == FT_AUGMENT_CROP_FLIP_REFLECT && (a->pad >= h || a->pad >= w))
        return ft_error_set(FT_EINVAL,
                            "data.augment_pad = %d: reflect padding needs a pad below the "
                            "image's height and width (%dx%d)",
                            a->pad, h, w);
    return FT_OK;
}

ft_augment_draw_t ft_augment_draw(ft_rng_t *rng, int pad)
{
    ft_augment_draw_t d;
    const uint32_t span = 2u * (uint32_t)pad + 1u;
    d.dy = (int)ft_rng_below(rng, span);
    d.dx = (int)ft_rng_below(rng, span);
    d.flip = (int)ft_rng_below(rng, 2);
    return d;
}

/* The index that s (an index into [0, n) extended by the padding on both sides) reads
 * under reflect padding: the edge itself is not repeated. Needs -s and 2(n-1) - s in
 * range, i.e. a pad below n (ft_augment_check). */
static int reflect(int s, int n)
{
    if (s < 0)
        return -s;
    if (s >= n)
        return 2 * (n - 1) - s;
    return s;
}

void ft_augment_apply(const ft_augment_t *a, const float *fill, ft_augment_draw_t d,
                      const float *in, int c, int h, int w, float *out)
{
    assert(a->mode != FT_AUGMENT_NONE && in != out);
    const int pad = a->pad, zero = a->mode == FT_AUGMENT_CROP_FLIP_ZERO;
    const size_t hw = (size_t)h * (size_t)w;
    for (int ch = 0; ch < c; ch++) {
        const float *src = in + (size_t)ch * hw;
        float *dst = out + (size_t)ch * hw;
        for (int y = 0; y < h; y++) {
            float *row = dst + (size_t)y * w;
            int sy = y + d.dy - pad;
            if (sy < 0 || sy >= h) {
                if (zero) {
                    for (int x = 0; x < w; x++)
                        row[x] = fill[ch];
                    continue;
                }
                sy = reflect(sy, h);
            }
            const float *srow = src + (size_t)sy * w;
            for (int x = 0; x < w; x++) {
                /* The flip mirrors the cropped window: column x of the output is
                 * column w-1-x of the crop. */
                int sx = (d.flip ? w - 1 - x : x) + d.dx - pad;
                if (sx < 0 || sx >= w) {
                    if (zero) {
                        row[x] = fill[ch];
                        continue;
                    }
                    sx = reflect(sx, w);
                }
                row[x] = srow[sx];
            }
        }
    }
}

void ft_augment_zero_fill(const ft_dataset_t *ds, float *fill)
{
    /* ft_dataset_gather computes p * scale + bias with bias = -mean/std; for p = 0
     * that is bias, bit for bit. */
    for (int ch = 0; ch < ds->c; ch++)
        fill[ch] = -ds->mean[ch] / ds->std[ch];
}

void ft_augment_batch(const ft_augment_t *a, ft_rng_t *rng, const float *fill, int B, int c, int h,
                      int w, float *x, float *scratch)
{
    if (a->mode == FT_AUGMENT_NONE)
        return;
    const size_t s = (size_t)c * h * w;
    for (int b = 0; b < B; b++) {
        float *xb = x + (size_t)b * s;
        ft_augment_apply(a, fill, ft_augment_draw(rng, a->pad), xb, c, h, w, scratch);
        memcpy(xb, scratch, s * sizeof(float));
    }
}
