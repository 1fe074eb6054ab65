/* ft_readers: the file formats datasets come in — IDX[.gz] (MNIST family), the CIFAR-10
 * binary version, .npy arrays — and the synthetic generator. Each reader validates
 * sizes against the file's header before touching a pixel, so a damaged file is a
 * clear FT_EFORMAT naming it, never an out-of-bounds read. */
#ifndef FT_READERS_H
#define FT_READERS_H

#include <stddef.h>
#include <stdint.h>

#include "ft_dataset.h"

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

#endif
