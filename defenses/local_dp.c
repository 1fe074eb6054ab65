/* local-dp: the server side of local differential privacy. The clients clip their
 * updates to defense.norm_bound and add N(0, defense.stddev²) noise before sending
 * (client/ft_local_dp.c; Naseri, Hayes and De Cristofaro, NDSS 2022, LDP, and
 * BackFed's LocalDP, backfed/servers/localdp_server.py, which only hands the
 * parameters to the clients); the server averages what arrives, as FedAvg
 * (McMahan et al. AISTATS 2017, Alg. 1). An update is sent clipped, so the server
 * cannot see by how much: every update is KEPT with weight n_k / n; it does not
 * select. `fedtail aggregate --defense local-dp` is therefore FedAvg on the saved
 * (already privatised) updates. */
#include "ft_defense.h"
#include "ft_defense_fedavg.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>

static int ldp_check(const ft_defense_cfg_t *d, size_t max_k)
{
    (void)max_k;
    int rc = ft_check_float_range(d->src, "defense.norm_bound", d->norm_bound, 0, 0, INFINITY, 0);
    if (rc == FT_OK)
        rc = ft_check_float_range(d->src, "defense.stddev", d->stddev, 0, 1, INFINITY, 0);
    return rc;
}

const ft_defense_t ft_defense_local_dp = {
    .name = "local-dp",
    .cite = "local DP (Naseri et al. NDSS 2022, LDP; BackFed LocalDP): clients clip to "
            "norm_bound and add N(0, stddev^2); the server averages (FedAvg, McMahan et al. "
            "2017 Alg. 1)",
    .check_config = ldp_check,
    .create = ft_defense_stateless_create,
    .destroy = ft_defense_free_state,
    .workspace_size = ft_fedavg_workspace_size,
    .aggregate = ft_fedavg_aggregate,
    .secagg = FT_DEFENSE_SECAGG_SUM,
};
