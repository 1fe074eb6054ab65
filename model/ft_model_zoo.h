/* ft_model_zoo: the built-in architectures by name, as layer lists (internal to model/).
 *
 * The seam between ft_model_zoo.c (which networks exist and what their layers are)
 * and the engine that turns any layer list into a model (ft_model_build.c: shapes,
 * parameter views, layout hash, buffers; ft_model.c: the passes). The zoo knows nothing of
 * ft_model_t or back ends; the engine knows no model by name. Not part of the
 * public API: callers outside model/ use ft_model_new (ft_model.h). */
#ifndef FT_MODEL_ZOO_H
#define FT_MODEL_ZOO_H

#include "ft_layer.h"

/* Most hidden layers an mlp ("model.hidden") may list. */
#define FT_MLP_MAX_HIDDEN 16
/* Most layers a zoo architecture has: mlp's flatten, (linear, relu) per hidden layer and
 * the classifier; every fixed architecture fits in it too. */
#define FT_MODEL_ZOO_MAX_LAYERS (2 + 2 * FT_MLP_MAX_HIDDEN)

/* Writes the layer list of built-in model name ("lenet5", "paper-lenet", "vgg9", "mlp";
 * hidden is mlp's comma-separated hidden sizes, ignored otherwise, NULL = none) into
 * layers[0..n) and returns n, 1 <= n <= FT_MODEL_ZOO_MAX_LAYERS. The classifier is the
 * last linear layer with out 0 (the engine gives it num_classes outputs). On error
 * (unknown name, bad hidden list) FT_ECONFIG is returned with the message set
 * (ft_error_set), and layers is left in an unspecified state. */
int ft_model_zoo_layers(const char *name, const char *hidden,
                        ft_layer_spec_t layers[FT_MODEL_ZOO_MAX_LAYERS]);

#endif
