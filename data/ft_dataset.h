/* ft_dataset: an in-memory image classification dataset and its readers.
 *
 * Samples are stored raw (uint8 pixels as the files hold them, or float32 for .npy
 * float arrays) with a per-channel mean/std; ft_dataset_gather() produces normalised
 * float minibatches. Raw storage keeps a client process's copy of Fashion-MNIST at
 * 47 MB instead of 188 MB. Shape of one sample: C×H×W. */
#ifndef FT_DATASET_H
#define FT_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "ft_config.h"

#define FT_MAX_CHANNELS 4

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
} ft_dataset_t;

/* Loads the training (train = 1) or test (train = 0) split named by the config
 * (data.dataset, data.path, data.mean/std, data.*_limit, data.synthetic_*).
 * On error returns FT_EIO/FT_EFORMAT/FT_ECONFIG/FT_ENOMEM with a message naming the
 * file and the problem; *out stays NULL. */
int ft_dataset_load(const ft_config_t *cfg, int train, ft_dataset_t **out);

/* IDX images + labels, each plain or gzip-compressed (detected by magic). */
int ft_idx_read(const char *images_path, const char *labels_path, int num_classes,
                ft_dataset_t **out);
/* CIFAR-10 binary version: one or more data_batch_*.bin / test_batch.bin files. */
int ft_cifar10_read(const char *const *paths, int num_paths, ft_dataset_t **out);
/* .npy array of images: uint8 or float32, shape (n,H,W), (n,H,W,C) or (n,C,H,W).
 * Labels are all set to label (num_classes = label + 1). c is the expected channel
 * count (used to tell HWC from CHW); the result is always stored C×H×W. float32
 * images are kept as float values (expected in [0,1], the units of mean/std).
 * Fortran-order arrays, big-endian data and other dtypes are FT_EFORMAT. */
int ft_npy_read_images(const char *path, int c, int label, ft_dataset_t **out);
/* A .npy array (0 to 4 dimensions; little-endian float32, float64, uint8, int32 or
 * int64; C order, .npy versions 1.0-3.0) read into a new float array (*data, caller
 * frees with ft_free; n elements; shape into shape[0..*ndim), the rest zeroed). For
 * labels and offline aggregation inputs. FT_EIO/FT_EFORMAT/FT_ENOMEM with a message
 * naming the file; *data NULL on error. */
int ft_npy_read_floats(const char *path, float **data, size_t *n, int shape[4], int *ndim);
/* Writes a float32 array of the given shape as .npy (version 1.0 header), atomically
 * (common/ft_fileio.h). FT_EIO on failure, path then unchanged. */
int ft_npy_write_floats(const char *path, const float *data, const int *shape, int ndim);

/* A synthetic dataset: num_classes Gaussian class prototypes in C×H×W pixel space
 * plus noise, quantised to uint8. Deterministic in seed. Learnable by every model. */
int ft_synthetic_make(uint32_t n, int c, int h, int w, int num_classes, uint64_t seed, int split,
                      ft_dataset_t **out);

/* Empty dataset with room for n samples of the given shape (pixels, zeroed). */
int ft_dataset_new(uint32_t n, int c, int h, int w, int num_classes, ft_dataset_t **out);
/* New dataset holding copies of samples idx[0..k) of src (same storage kind). */
int ft_dataset_subset(const ft_dataset_t *src, const uint32_t *idx, uint32_t k, ft_dataset_t **out);
/* New dataset = a followed by b (same shape; storage converted to float if mixed). */
int ft_dataset_concat(const ft_dataset_t *a, const ft_dataset_t *b, ft_dataset_t **out);
void ft_dataset_destroy(ft_dataset_t **ds_p);

/* Transposes every H×W plane in place (square images only; EMNIST's files hold the
 * transpose of what MNIST holds). */
void ft_dataset_transpose_hw(ft_dataset_t *ds);

/* Floats in one sample: C*H*W. */
size_t ft_dataset_sample_size(const ft_dataset_t *ds);

/* Copies the normalised samples idx[0..B) into x (B×C×H×W) and their labels into y
 * (B). ((pixel/255) - mean[c]) / std[c] for uint8 storage; (value - mean) / std for
 * float storage. */
void ft_dataset_gather(const ft_dataset_t *ds, const uint32_t *idx, int B, float *x, int32_t *y);

/* Default per-dataset normalisation (paper code: MNIST-like 0.1307/0.3081; CIFAR-10
 * per-channel). Fills mean/std for ds->c channels. */
void ft_dataset_default_norm(const char *dataset, int c, float *mean, float *std);

#endif
