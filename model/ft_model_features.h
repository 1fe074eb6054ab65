/* ft_model_features: a trained model's penultimate-layer activations as a feature map —
 * the learned feature space in which attack.edge_miner = density estimates how rare
 * an input is (scenario/ft_feature_density.h; Wang et al., NeurIPS 2020, §3: edge-case
 * points have low probability under the input distribution; class-conditional
 * Gaussians on penultimate features as a density: Lee et al., NeurIPS 2018, "A Simple
 * Unified Framework for Detecting Out-of-Distribution Samples", §2).
 *
 * The extractor is the zoo model cut after its last hidden linear layer (the engine
 * ends every model in a linear layer); the features are that layer's output through
 * the ReLU that follows it (*relu: the caller applies it), i.e. the classifier's input
 * (lenet5: the 500 ReLU units of fc1). Its
 * parameters are a prefix of the full model's flat buffer (views in state_dict order),
 * copied from a checkpoint of the full model. */
#ifndef FT_MODEL_FEATURES_H
#define FT_MODEL_FEATURES_H

#include "ft_model.h"

/* Builds the inference feature extractor of built-in model name (hidden as
 * ft_model_new) for C×H×W inputs and num_classes classes, with the parameters of the
 * full model's checkpoint ckpt (layout hash, parameter count and finiteness checked).
 * *dim = features per sample (the classifier's input width); *relu = 1 when a ReLU
 * follows the cut (apply max(0, .) to the output). FT_EUNSUPPORTED when the model has
 * no hidden linear layer followed only by ReLU/dropout before its classifier;
 * FT_ECONFIG (unknown name);
 * the checkpoint's errors naming the file; FT_ENOMEM. *out is NULL on error. */
int ft_model_features_new(const char *name, const char *hidden, int c, int h, int w,
                          int num_classes, const char *ckpt, int max_batch, const ft_ops_t *ops,
                          ft_model_t **out, int *dim, int *relu);

#endif
