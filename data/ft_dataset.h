/* ft_dataset: an in-memory image classification dataset — the container every reader
 * fills (ft_readers.h) and every trainer reads.
 *
 * Samples are stored raw (uint8 pixels as the files hold them, or float32 for .npy
 * float arrays) with a per-channel mean/std; ft_dataset_gather() produces normalised
 * float minibatches. Raw storage keeps a client process's copy of Fashion-MNIST at
 * 47 MB instead of 188 MB. Shape of one sample: C×H×W. */
#ifndef FT_DATASET_H
#define FT_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "ft_experiment.h" /* FT_MAX_CHANNELS */
#include "ft_text.h"       /* ft_text_vocab_t */

typedef struct {
    uint32_t n;                  /* number of samples */
    int c, h, w;                 /* shape of one sample */
    int num_classes;             /* labels lie in [0, num_classes) */
    uint8_t *pixels;             /* n×C×H×W raw bytes, or NULL when values is used */
    float *values;               /* n×C×H×W floats (un-normalised), or NULL */
    uint8_t *labels;             /* n labels */
    float mean[FT_MAX_CHANNELS]; /* per-channel normalisation mean (in pixel/255 units) */
    float std[FT_MAX_CHANNELS];  /* per-channel normalisation std */
    char name[64];               /* "fashion-mnist/train", for messages */
    char source[1024];           /* the file the images came from ("" if generated) */
    ft_text_vocab_t *vocab;      /* text: the vocabulary the token ids index (a reference
                                    of its own, shared by subsets); NULL for images */
    uint32_t *group;             /* n: each sample's author (Sentiment140, Reddit), which
                                    federation.partition = natural splits by; NULL when
                                    the natural split is by label (subsets leave it NULL) */
    uint32_t num_groups;         /* authors: group ids lie in [0, num_groups) */
} ft_dataset_t;

/* Empty dataset with room for n samples of the given shape (pixels, zeroed). */
int ft_dataset_new(uint32_t n, int c, int h, int w, int num_classes, ft_dataset_t **out);
/* New dataset holding copies of samples idx[0..k) of src (same storage kind). */
int ft_dataset_subset(const ft_dataset_t *src, const uint32_t *idx, uint32_t k, ft_dataset_t **out);
/* New dataset holding a copy of all of src. */
int ft_dataset_clone(const ft_dataset_t *src, ft_dataset_t **out);
/* New dataset of the samples of src whose label is `label` (keep = 1) or is not
 * (keep = 0), in order. */
int ft_dataset_select_label(const ft_dataset_t *src, int label, int keep, ft_dataset_t **out);
/* New dataset = a followed by b (same shape; storage converted to float if mixed). */
int ft_dataset_concat(const ft_dataset_t *a, const ft_dataset_t *b, ft_dataset_t **out);
/* New dataset holding all of src stored as floats (pixel/255 for uint8 storage): for
 * writing values a byte cannot hold (an optimised trigger). */
int ft_dataset_to_float(const ft_dataset_t *src, ft_dataset_t **out);
void ft_dataset_destroy(ft_dataset_t **ds_p);

/* Transposes every H×W plane in place (square images only; EMNIST's files hold the
 * transpose of what MNIST holds). */
void ft_dataset_transpose_hw(ft_dataset_t *ds);

/* What to name in a message about the images: the file they came from, or the
 * dataset's name for generated ones. */
const char *ft_dataset_source(const ft_dataset_t *ds);

/* Floats in one sample: C*H*W. */
size_t ft_dataset_sample_size(const ft_dataset_t *ds);

/* Copies the normalised samples idx[0..B) into x (B×C×H×W) and their labels into y
 * (B). ((pixel/255) - mean[c]) / std[c] for uint8 storage; (value - mean) / std for
 * float storage. */
void ft_dataset_gather(const ft_dataset_t *ds, const uint32_t *idx, int B, float *x, int32_t *y);

#endif
