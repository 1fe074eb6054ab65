/* ft_feature_density: how probable each training sample is under the WHOLE training
 * distribution, estimated in a pre-trained model's feature space — the scores
 * attack.edge_miner = density ranks (data/ft_edge_density.h) to find p-edge-case
 * points (Wang et al., NeurIPS 2020, "Attack of the Tails", §3, Definition 1).
 *
 * Estimator: a Gaussian mixture with one component per class and one shared (tied)
 * covariance on the penultimate-layer features (Lee, Lee, Lee & Shin, NeurIPS 2018,
 * "A Simple Unified Framework for Detecting Out-of-Distribution Samples and Adversarial
 * Attacks", §2, Eq. 1: class means and tied covariance of penultimate features),
 * weighted by the class priors:
 *
 *     f(x) = sum_c pi_c N(phi(x); mu_c, Sigma),   pi_c = n_c / n,
 *     Sigma = (1/n) sum_i (phi_i - mu_{y_i})(phi_i - mu_{y_i})^T + lambda I,
 *     lambda = 1e-3 tr(Sigma_0) / d  (shrinkage: ReLU features have dead units).
 *
 * Why this estimator: the pre-trained classifier makes its penultimate features close to
 * class-conditional Gaussians with a shared covariance (its last layer is linear in them:
 * Lee et al.'s argument, the LDA view of softmax), so the mixture is the density the
 * model itself implies; it is fitted in one pass (O(n d^2)) where k-NN density over the
 * 60,000 Fashion-MNIST images would cost O(n^2 d); and the mixture is a density of the
 * whole distribution, as Definition 1 asks, not of the source class alone. */
#ifndef FT_FEATURE_DENSITY_H
#define FT_FEATURE_DENSITY_H

#include <stdint.h>

#include "ft_dataset.h"
#include "ft_experiment.h"

/* Shrinkage of the tied covariance, as a share of its mean variance. */
#define FT_DENSITY_SHRINK 1e-3

/* log f(phi_i) of the mixture above, fitted to the n×d features F (row i = sample i)
 * with labels in [0, num_classes), into logf (n). Classes without samples have no
 * component. Needs n >= 1, d >= 1. Float32 GEMMs (ft_sgemm) for the scatter and the
 * whitening, double elsewhere. FT_EINVAL (a label out of range), FT_ENOMEM. */
int ft_feature_density(const float *F, uint32_t n, int d, const uint8_t *labels, int num_classes,
                       float *logf);

/* The penultimate-layer features of every sample of ds under model exp->model with the
 * parameters of checkpoint ckpt (model/ft_model_features.h), on the CPU: *F (ds->n ×
 * *dim floats, ft_free). Errors as ft_model_features_new; FT_ENOMEM. */
int ft_feature_extract(const ft_experiment_t *exp, const char *ckpt, const ft_dataset_t *ds,
                       float **F, int *dim);

/* Both: the log density of every sample of the training set train, in order. *logf
 * (train->n floats, ft_free). */
int ft_feature_density_scores(const ft_experiment_t *exp, const char *ckpt,
                              const ft_dataset_t *train, float **logf);

#endif
