/* ft_test_experiment: configs and experiments for the unit tests. */
#include "ft_test_experiment.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "ft_error.h"

const char *const ft_test_population[] = {"data.dataset=synthetic",
                                          "data.synthetic_train=400",
                                          "data.synthetic_test=100",
                                          "data.synthetic_shape=1,8,8",
                                          "model.name=mlp",
                                          "model.hidden=16",
                                          "federation.num_clients=10",
                                          "federation.clients_per_round=3",
                                          "federation.local_epochs=1",
                                          "federation.batch_size=8",
                                          "federation.lr=0.05",
                                          "attack.edge_size=4",
                                          "attack.honest_edge_holders=0",
                                          NULL};

void ft_test_set(ft_config_t *cfg, const char *assignment)
{
    int rc = ft_config_set(cfg, assignment, "test");
    if (rc != FT_OK)
        fail_msg("%s: %s", assignment, ft_error_message());
}

ft_config_t *ft_test_config(const char *const *base, const char *const *sets)
{
    ft_config_t *cfg = ft_config_new();
    assert_non_null(cfg);
    for (size_t i = 0; base && base[i]; i++)
        ft_test_set(cfg, base[i]);
    for (size_t i = 0; sets && sets[i]; i++)
        ft_test_set(cfg, sets[i]);
    return cfg;
}

void ft_test_experiment(const ft_config_t *cfg, ft_experiment_t *exp)
{
    int rc = ft_experiment_read(cfg, exp);
    if (rc != FT_OK)
        fail_msg("experiment refused: %s", ft_error_message());
}
