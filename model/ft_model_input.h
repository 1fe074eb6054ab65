/* ft_model_input: the configured model (model.name, model.hidden) built for a
 * dataset's image shape, and the check that two image sets have the shape one model
 * takes — each refusal naming the image file, its shape and the model, instead of a
 * layer deep in the net ("layer 3: conv 5x5 does not fit a 20x2x2 input"). */
#ifndef FT_MODEL_INPUT_H
#define FT_MODEL_INPUT_H

#include "ft_dataset.h"
#include "ft_experiment.h"
#include "ft_model.h"

/* ft_model_new (inference = 0) or ft_model_new_inference (1) for ds's C×H×W and
 * num_classes outputs. A shape the net cannot take is FT_ECONFIG saying
 * "FILE: images are HxWxC, the model `lenet5` cannot take them: <why>
 * (model.name at exp.ini:9)"; a bad model.hidden names that key. Other errors as
 * ft_model_new. */
int ft_model_new_for_data(const ft_model_cfg_t *mc, const ft_dataset_t *ds, int num_classes,
                          int inference, int max_batch, const ft_ops_t *ops, ft_model_t **out);

/* FT_OK if images has the C×H×W of ref, the set the model mc is built for (its
 * role, e.g. "the test set", goes in the message); else FT_EFORMAT with
 * "FILE: images are HxWxC, the model `lenet5` expects H'xW'xC' (the test set, FILE')". */
int ft_model_input_match(const ft_model_cfg_t *mc, const ft_dataset_t *images,
                         const ft_dataset_t *ref, const char *ref_role);

#endif
