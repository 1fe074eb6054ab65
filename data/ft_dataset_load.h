/* ft_dataset_load: the datasets fedtail knows by name ([data] data.dataset) — where
 * each one's files are, how they are read and normalised by default.
 *
 * To add a dataset: a reader for its format in ft_readers.c (if it is a new format), a
 * branch in ft_dataset_load, its default normalisation in ft_dataset_default_norm, and
 * its name in data.dataset's choices (common/ft_config_schema.c). */
#ifndef FT_DATASET_LOAD_H
#define FT_DATASET_LOAD_H

#include <stdint.h>

#include "ft_dataset.h"
#include "ft_experiment.h"

/* Loads the training (train = 1) or test (train = 0) split that d names (dataset,
 * path, mean/std, limits, synthetic_*; seed is run.seed, for the synthetic set).
 * On error returns FT_EIO/FT_EFORMAT/FT_ECONFIG/FT_ENOMEM with a message naming the
 * file and the problem; *out stays NULL. */
int ft_dataset_load(const ft_data_cfg_t *d, uint64_t seed, int train, ft_dataset_t **out);

/* Default per-dataset normalisation (paper code: MNIST-like 0.1307/0.3081; CIFAR-10
 * per-channel). Fills mean/std for ds->c channels. */
void ft_dataset_default_norm(const char *dataset, int c, float *mean, float *std);

#endif
