/* ft_augment: the random crop + horizontal flip the paper code trains CIFAR-10 with,
 * drawn from a seeded stream so that a run stays bit-reproducible and resumable.
 *
 * A sample (C×H×W, already normalised) is padded by `pad` pixels on every side —
 * reflected without repeating the edge (np.pad mode='reflect', torch F.pad
 * 'reflect'), or filled with the value a zero pixel normalises to (torchvision's
 * RandomCrop(padding=pad), fill 0) — then an H×W window is cut at row offset dy and
 * column offset dx (each uniform in [0, 2·pad], as RandomCrop draws them) and mirrored
 * left-right when flip is set (RandomHorizontalFlip after the crop, p = 1/2).
 *
 * Where the paper code uses which (ksreenivasan/OOD_Federated_Learning): its honest
 * CIFAR-10 clients reflect-pad (utils.py:263-275, get_dataloader); its attacker's
 * D_adv and its pre-training zero-pad (utils.py:414-419 and 425-427, the poisoned set
 * is a deep copy of the augmented training set; main.py:120-124). Test sets are never
 * augmented. */
#ifndef FT_AUGMENT_H
#define FT_AUGMENT_H

#include "ft_dataset.h"
#include "ft_experiment.h" /* ft_augment_mode_t */
#include "ft_rng.h"

/* One augmentation: how, and by how much padding. */
typedef struct {
    ft_augment_mode_t mode; /* FT_AUGMENT_NONE: samples are used as they are */
    int pad;                /* pixels of padding on each side before the crop, >= 0 */
} ft_augment_t;

/* The random part of one sample's augmentation. */
typedef struct {
    int dy;   /* crop row offset into the padded image, [0, 2·pad] */
    int dx;   /* crop column offset, [0, 2·pad] */
    int flip; /* 1: mirror left-right after the crop */
} ft_augment_draw_t;

/* FT_OK if a can be applied to H×W samples; FT_EINVAL (message naming
 * data.augment_pad) when reflect padding is not below H and W, or pad is negative. */
int ft_augment_check(const ft_augment_t *a, int h, int w);

/* Draws dy, dx (ft_rng_below(2·pad + 1) each, in that order) and flip
 * (ft_rng_below(2)) from rng: three draws per sample. */
ft_augment_draw_t ft_augment_draw(ft_rng_t *rng, int pad);

/* out = the crop of in padded as a says, at d, flipped if d.flip. in and out must not
 * overlap. fill (C values) is what zero padding writes; unused for reflect. a->mode is
 * not none, and a has passed ft_augment_check. */
void ft_augment_apply(const ft_augment_t *a, const float *fill /* C */, ft_augment_draw_t d,
                      const float *in /* C×H×W */, int c, int h, int w, float *out /* C×H×W */);

/* The normalised value of a zero pixel in each channel of ds, -mean/std, exactly what
 * ft_dataset_gather makes of one: zero padding's fill. */
void ft_augment_zero_fill(const ft_dataset_t *ds, float *fill /* ds->c */);

/* Augments the B samples of x in place, in order, one draw each from rng; scratch holds
 * one sample. Nothing (and no draws) for mode none. */
void ft_augment_batch(const ft_augment_t *a, ft_rng_t *rng, const float *fill /* C */, int B, int c,
                      int h, int w, float *x /* B×C×H×W */, float *scratch /* C×H×W */);

#endif
