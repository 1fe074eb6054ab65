/* ft_test_experiment: configs and experiments for the unit tests — a config at its
 * defaults with "section.key=value" assignments applied (each must be accepted), and
 * the experiment read from it (which must be valid). */
#ifndef FT_TEST_EXPERIMENT_H
#define FT_TEST_EXPERIMENT_H

#include "ft_config.h"
#include "ft_experiment.h"

/* A small synthetic population, as assignments: 400 training and 100 test images of
 * 1x8x8 (4 classes), an mlp with 16 hidden units, 10 clients of which 3 per round train
 * one epoch at batch 8 and lr 0.05, edge-case sets of at least 4 points, no honest edge
 * holders. NULL-terminated. */
extern const char *const ft_test_population[];

/* A new config with base then sets applied, in order (each NULL-terminated, either may
 * be NULL). Fails the running test if an assignment is refused. */
ft_config_t *ft_test_config(const char *const *base, const char *const *sets);

/* Applies one more assignment (must be accepted). */
void ft_test_set(ft_config_t *cfg, const char *assignment);

/* Reads cfg into exp; fails the running test (printing the message) if it is invalid. */
void ft_test_experiment(const ft_config_t *cfg, ft_experiment_t *exp);

#endif
