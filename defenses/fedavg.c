/* fedavg / none: Federated Averaging, no defense.
 *
 * McMahan et al., "Communication-Efficient Learning of Deep Networks from
 * Decentralized Data", AISTATS 2017, Algorithm 1: w_{t+1} = w_t + sum_k (n_k / n)
 * Δ_k, each update weighted by its client's sample count n_k. "none" is the same
 * rule under the name the paper's scripts use for the undefended baseline.
 *
 * Not robust: a NaN or Inf inside an update reaches the output (that is the point
 * of the baseline); nothing crashes. Report: every update KEPT with weight n_k / n.
 * It does not select (ft_defense.h), so no detection rates. */
#include "ft_defense_fedavg.h"
#include "ft_defense_util.h"
#include "ft_error.h"

size_t ft_fedavg_workspace_size(size_t max_k, size_t N)
{
    (void)N;
    return FT_WS_SLACK + ft_ws_bytes(max_k * sizeof(double));
}

int ft_fedavg_aggregate(void *state, const ft_defense_input_t *in, float *out,
                        ft_defense_decision_t *dec, void *workspace)
{
    (void)state;
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, ft_fedavg_workspace_size(in->K, in->N));
    double *w = ft_ws_take(&ws, in->K * sizeof(double));
    int rc = ft_count_weights(in->counts, in->K, w);
    if (rc != FT_OK)
        return rc;
    ft_weighted_sum_mat(in->updates, in->K, in->N, w, out);
    ft_decisions_init(dec, in->K, FT_DECISION_KEPT);
    for (size_t i = 0; i < in->K; i++)
        dec[i].weight = (float)w[i];
    ft_decisions_set_contrib(dec, in->K, in->updates, in->N);
    return FT_OK;
}

const ft_defense_t ft_defense_fedavg = {
    .name = "fedavg",
    .cite = "McMahan et al. AISTATS 2017, Alg. 1 (sample-count weighted mean)",
    .check_config = NULL,
    .create = ft_defense_stateless_create,
    .destroy = ft_defense_free_state,
    .workspace_size = ft_fedavg_workspace_size,
    .aggregate = ft_fedavg_aggregate,
    .secagg = FT_DEFENSE_SECAGG_SUM,
};

const ft_defense_t ft_defense_none = {
    .name = "none",
    .cite = "no defense: FedAvg (McMahan et al. AISTATS 2017, Alg. 1)",
    .check_config = NULL,
    .create = ft_defense_stateless_create,
    .destroy = ft_defense_free_state,
    .workspace_size = ft_fedavg_workspace_size,
    .aggregate = ft_fedavg_aggregate,
    .secagg = FT_DEFENSE_SECAGG_SUM,
};
