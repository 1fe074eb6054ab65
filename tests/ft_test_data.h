/* ft_test_data: loading a split the way a process does — read the experiment, then
 * ft_dataset_load its [data] — returning the first error either step gives (a bad
 * data.* value is the experiment's FT_ECONFIG, a missing file the loader's FT_EIO). */
#ifndef FT_TEST_DATA_H
#define FT_TEST_DATA_H

#include "ft_dataset_load.h"
#include "ft_error.h"
#include "ft_experiment.h"

static inline int ft_test_load(const ft_config_t *cfg, int train, ft_dataset_t **out)
{
    ft_experiment_t exp;
    *out = NULL;
    int rc = ft_experiment_read(cfg, &exp);
    return rc == FT_OK ? ft_dataset_load(&exp.data, exp.run.seed, train, out) : rc;
}

#endif
