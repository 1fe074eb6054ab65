/* rlr: robust learning rate. Ozdayi, Kantarcioglu and Gel, "Defending against
 * Backdoors in Federated Learning with Robust Learning Rate", AAAI 2021, Sec. 4,
 * Eq. (2)-(3); reference code TinfoilHat0/Defending-Against-Backdoors-with-Robust-
 * Learning-Rate, src/aggregation.py (compute_robustLR), as ported by BackFed.
 *
 * Per coordinate j the clients vote with sign(Δ_i,j) (0 for an exact zero); the
 * server learning rate is +η where |Σ_i sign(Δ_i,j)| >= θ and -η below it, and the
 * aggregate is that rate times the sample-weighted mean (FedAvg) of the updates.
 * η = 1 here: the coordinator applies its own server learning rate afterwards.
 *
 * NaN/Inf: a row holding them cannot vote (sign(NaN) is NaN in the reference, which
 * poisons the whole coordinate), so it is dropped before voting and the sample
 * weights renormalised over the finite rows. RLR does not bound magnitudes (a huge
 * finite update still moves the mean); it flips the direction of coordinates
 * without a sign majority.
 *
 * Decisions: weight = the row's mean per-coordinate coefficient, share_i times
 * (coordinates at +η minus coordinates at -η) / N; REWEIGHTED when a coordinate was
 * flipped, KEPT otherwise; score = the share of flipped coordinates. */
#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_defense_select.h"
#include "ft_defense_util.h"
#include "ft_error.h"

#include <math.h>
#include <string.h>

typedef struct {
    int64_t theta; /* defense.theta: votes needed for +η */
} rlr_t;

static int rlr_check(const ft_defense_cfg_t *d, size_t max_k)
{
    return ft_check_int_range(d->src, "defense.theta", d->theta, 0, (int64_t)max_k,
                              "(at most K = clients_per_round votes can agree)");
}

static int rlr_create(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                      void **state)
{
    (void)max_k;
    (void)N;
    (void)num_clients;
    rlr_t *s = ft_calloc(1, sizeof *s);
    if (!s)
        return ft_error_set(FT_ENOMEM, "rlr: out of memory");
    s->theta = d->theta;
    *state = s;
    return FT_OK;
}

static size_t rlr_ws(size_t max_k, size_t N)
{
    return FT_WS_SLACK + ft_ws_bytes(max_k) + ft_ws_bytes(max_k * sizeof(double)) +
           ft_ws_bytes(N * sizeof(int32_t));
}

static int rlr_aggregate(void *state, const ft_defense_input_t *in, float *out,
                         ft_defense_decision_t *dec, void *workspace)
{
    const rlr_t *s = state;
    size_t K = in->K, N = in->N;
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, rlr_ws(K, N));
    uint8_t *fin = ft_ws_take(&ws, K);
    double *w = ft_ws_take(&ws, K * sizeof(double));
    int32_t *votes = ft_ws_take(&ws, N * sizeof(int32_t));
    ft_rows_finite(in->updates, K, N, fin);
    ft_decisions_init(dec, K, FT_DECISION_KEPT);
    int rc = ft_select_mean(in, fin, NULL, out, dec, w);
    if (rc != FT_OK)
        return rc;
    /* out holds the FedAvg mean of the finite rows; the votes decide its signs */
    memset(votes, 0, N * sizeof(int32_t));
    for (size_t i = 0; i < K; i++) {
        if (!fin[i])
            continue;
        const float *x = in->updates + i * N;
        for (size_t j = 0; j < N; j++)
            votes[j] += (x[j] > 0) - (x[j] < 0);
    }
    size_t flipped = 0;
    for (size_t j = 0; j < N; j++) {
        int32_t a = votes[j] < 0 ? -votes[j] : votes[j];
        int neg = a < s->theta;
        flipped += (size_t)neg;
        out[j] = neg ? -out[j] : out[j];
    }
    double sgn = N ? ((double)(N - flipped) - (double)flipped) / (double)N : 1.0;
    for (size_t i = 0; i < K; i++) {
        if (!fin[i])
            continue;
        dec[i].weight = (float)(dec[i].weight * sgn);
        dec[i].score = N ? (float)((double)flipped / (double)N) : 0.0f;
        if (flipped)
            dec[i].decision = FT_DECISION_REWEIGHTED;
    }
    return FT_OK;
}

const ft_defense_t ft_defense_rlr = {
    .name = "rlr",
    .cite = "Ozdayi et al. AAAI 2021 Eq. (2)-(3): server lr +1 where |sum_i sign(Δ_i)| >= theta, "
            "-1 elsewhere, times the FedAvg mean",
    .check_config = rlr_check,
    .create = rlr_create,
    .destroy = ft_defense_free_state,
    .workspace_size = rlr_ws,
    .aggregate = rlr_aggregate,
};
