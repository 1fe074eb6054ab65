/* ft_probe: the coordinator's model probe (defenses/ft_defense.h, ft_defense_probe_t)
 * over model/, for the rules that judge updates by what the models do (DeepSight,
 * FLARE): the experiment's model, built for inference on the CPU, run with parameters
 * global + delta on DeepSight's noise inputs (ft_probe_noise: derived from run.seed)
 * or on the server set (FLARE: the FLTrust root set, normalised as the model sees it);
 * the penultimate features come from the same model cut before its classifier (as
 * ft_model_features does: the layers up to the last hidden linear one, the ReLU after
 * it applied here).
 *
 * Memory, allocated once: the two models (batch 64), one N-float parameter vector,
 * and the server set (at most defense.root_size samples). */
#ifndef FT_PROBE_H
#define FT_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "ft_dataset.h"
#include "ft_defense.h"
#include "ft_experiment.h"

typedef struct ft_probe ft_probe_t;

/* A probe for exp's model (model.name, model.hidden) on C×H×W inputs with num_classes
 * classes and N parameters; room for server_cap server samples (0: none). FT_ECONFIG /
 * FT_EUNSUPPORTED when the model has no hidden linear layer before its classifier
 * (no penultimate features), FT_ENOMEM; *out NULL on error. */
int ft_probe_new(const ft_experiment_t *exp, int c, int h, int w, int num_classes, size_t N,
                 size_t server_cap, ft_probe_t **out);
void ft_probe_destroy(ft_probe_t **p_p);

/* The probe handed to the defense (valid while p lives). */
const ft_defense_probe_t *ft_probe_get(const ft_probe_t *p);

/* Sets the server set to samples idx[0..n) of ds, normalised (ft_dataset_gather).
 * FT_EINVAL when n exceeds the capacity or the sample shape differs from the
 * model's. */
int ft_probe_set_server(ft_probe_t *p, const ft_dataset_t *ds, const uint32_t *idx, size_t n);

#endif
