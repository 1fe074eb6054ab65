/* ft_defense: aggregation rules as plug-ins.
 *
 * A defense is a const vtable found by name in one NULL-terminated registry table
 * (ft_defense_registry.c). The coordinator creates it once per run for at most
 * max_k updates of N parameters, asks its workspace size once, and then aggregates
 * each round without allocating. A defense never learns who the attackers are; it
 * reports per client what it did (kept / dropped / clipped by c / weight w) and the
 * coordinator joins that with the ground truth afterwards (coordinator/ft_detect.h).
 *
 * Weight, the one measure that means the same for every rule: every rule's
 * aggregate is, per coordinate j, a combination out_j = sum_i a_ij x_ij of the rows
 * as the rule used them (x_i = clip_factor_i * update_i), plus the rule's own terms
 * (weak-dp's noise, centered clipping's previous centre). An update's weight is its
 * mean coefficient over the coordinates, (1/N) sum_j a_ij: n_i / sum n for FedAvg,
 * 1 or 0 for Krum, for the median the share of coordinates at which the row is the
 * median (1/2 for each of an even-K middle pair), for the trimmed mean 1/(K - 2b)
 * times the share of coordinates at which it is inside the band, RFA its Weiszfeld
 * weight, RLR share x (1 - 2 x its share of flipped coordinates), signed, and so on.
 * The weights of a round sum to 1 (less only where the rule says so: centered
 * clipping's centre, RLR's flipped coordinates, a coordinate without any finite value).
 * contrib_norm is the L2 norm of the update's contribution vector (a_ij x_ij)_j,
 * so that a clipped update's influence shows even though its weight is unchanged.
 * A rule fills both for every update (a dropped one: 0 and 0); the helpers
 * ft_decisions_set_contrib (rules that sum whole rows) and ft_coord_decisions
 * (coordinate-wise rules, via ft_coordwise) in ft_defense_util.h compute
 * contrib_norm. The coordinator pre-fills NaN, so a rule that leaves it alone
 * reports "unknown"; test_defenses_contract checks every registered rule.
 *
 * selects: whether the rule decides about whole updates (keeps or drops each, as
 * Krum does); only then is a dropped update an accusation and detection rates
 * (TPR/FPR) meaningful. Rules that clip, reweight or mix per coordinate report
 * weights only.
 *
 * Dimension letters: K updates this round (K <= max_k), N parameters.
 * NaN/Inf inside an update is a legitimate attack payload: defenses must not crash
 * on it, and robust rules must keep their output finite. */
#ifndef FT_DEFENSE_H
#define FT_DEFENSE_H

#include <stddef.h>
#include <stdint.h>

#include "ft_experiment.h"
#include "ft_rng.h"

/* What a rule did with one update, most telling first: dropped (weight 0), clipped
 * (vector multiplied by clip_factor != 1), reweighted (a weight other than a plain
 * average would give it, or used at only some coordinates), kept (as submitted, the
 * plain weight: FedAvg's n_i / sum n, or the rule's unweighted 1/K). */
typedef enum {
    FT_DECISION_KEPT = 0,       /* used as submitted, with the plain weight */
    FT_DECISION_DROPPED = 1,    /* not used: weight 0 */
    FT_DECISION_REWEIGHTED = 2, /* used with a changed weight / at some coordinates */
    FT_DECISION_CLIPPED = 3,    /* used, its vector multiplied by clip_factor != 1 */
} ft_decision_t;

/* What the defense did with one client's update (see "Weight" above). */
typedef struct {
    ft_decision_t decision; /* kept / dropped / reweighted / clipped */
    float clip_factor;      /* multiplier applied to the update's vector (1 = none) */
    float score;            /* rule-specific score (Krum score, trust, ...); 0 if none */
    float weight;           /* mean coefficient of the (clipped) row in the aggregate */
    float contrib_norm;     /* ||(a_ij x_ij)_j||: norm of its contribution; NaN if the
                               rule does not say */
} ft_defense_decision_t;

/* The model probe: what a rule that judges updates by the model's behaviour
 * (DeepSight's DDifs, FLARE's penultimate-layer representations) may run at the
 * server. The coordinator fills one over model/ (coordinator/ft_probe.h), `fedtail
 * aggregate` over the experiment's model, and the tests and the self-test a tiny MLP
 * (ft_defense_probe_mlp.h); a rule that does not ask for one (needs_probe 0) never
 * sees it. Dimension letters: B probe samples, C classes, D penultimate features,
 * I = in_dim floats per input sample, S server samples. */
typedef struct ft_defense_probe {
    void *ctx;             /* the provider's state: pass to run and noise */
    size_t in_dim;         /* I: floats per input sample (C×H×W of the model's input) */
    size_t num_classes;    /* C: logits per sample (>= 2) */
    size_t feat_dim;       /* D: penultimate features per sample (the classifier's input) */
    size_t max_batch;      /* most samples one run call takes (>= 1) */
    size_t head_w;         /* offset in the flat vector of the classifier weight (C×D) */
    size_t head_b;         /* offset of the classifier bias (C) */
    const float *server_x; /* S×I inputs the server holds (FLARE: the FLTrust root set,
                              normalised as the model sees them), or NULL */
    size_t server_n;       /* S (0 when none; the most the provider will ever hold when
                              the workspace is sized) */
    /* The model with parameters global + delta (each N, NULL = zeros) on x (B×I,
     * B <= max_batch): logits (B×C) and/or features (B×D, after the ReLU that follows
     * the penultimate layer); either output may be NULL. Must not allocate. Returns
     * FT_OK or a negative code (the rule then fails the round). */
    int (*run)(void *ctx, const float *global, const float *delta, const float *x, size_t B,
               float *logits, float *features);
    /* Probe inputs x (B×I) of DeepSight's noise set `set`, samples first..first+B:
     * uniform [0, 1) values (torch.rand, as the references draw them), a pure function
     * of (run.seed, set, sample index), the same every round. */
    void (*noise)(void *ctx, uint32_t set, size_t first, size_t B, float *x);
} ft_defense_probe_t;

/* needs_probe bits. */
#define FT_PROBE_MODEL      1u /* run / noise: the model on probe inputs */
#define FT_PROBE_SERVER_SET 2u /* server_x: the server holds a root set (as FLTrust) */

/* Inputs of one aggregation. */
typedef struct {
    int round;                  /* 1-based round */
    size_t K;                   /* updates this round */
    size_t N;                   /* parameters */
    float *updates;             /* K×N deltas, row i from client ids[i] (client-id order);
                                   a rule may modify them in place (clipping) */
    const float *counts;        /* K sample counts (FedAvg weights before normalising) */
    const uint32_t *ids;        /* K client ids (for per-client history, e.g. FoolsGold) */
    const float *global;        /* N current global model (before this round) */
    const float *server_update; /* N trusted update (FLTrust root set), or NULL */
    ft_rng_t *rng;              /* stream for randomised rules (weak DP noise) */
    /* The model's layout, for layer-wise rules (LASA): its parameter tensors in the
     * order of the flat vector. layer_ends NULL (num_layers 0): one layer, all of N. */
    size_t num_layers;               /* tensors (weights and biases each count) */
    const size_t *layer_ends;        /* num_layers exclusive ends, increasing, the last = N */
    const uint8_t *layer_is_weight;  /* num_layers: 1 for a 2-D/4-D weight, 0 for a bias;
                                        NULL: every layer is a weight */
    const ft_defense_probe_t *probe; /* the model probe (rules with needs_probe), or NULL */
} ft_defense_input_t;

typedef struct ft_defense {
    const char *name; /* registry name, e.g. "krum" */
    const char *cite; /* paper and equation implemented */
    /* Checks the [defense] values this rule uses against K = clients_per_round when the
     * experiment is loaded: FT_ECONFIG via ft_config_error(d->src, ...) naming the key.
     * May be NULL (nothing to check). */
    int (*check_config)(const ft_defense_cfg_t *d, size_t max_k);
    /* Creates the per-run state (parameters copied from d, which need not outlive it;
     * history for max_k/num_clients). *state may be set to NULL if the rule needs
     * none. FT_ENOMEM. */
    int (*create)(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                  void **state);
    void (*destroy)(void **state);
    /* Bytes of scratch aggregate() needs for up to max_k updates of N. */
    size_t (*workspace_size)(size_t max_k, size_t N);
    /* Writes the aggregated delta into out (N) and one decision per update into
     * decisions (K). Must not allocate. updates may be modified in place (clipping).
     * Returns FT_OK, or a negative code if no aggregate can be formed (the round
     * then keeps the old model). */
    int (*aggregate)(void *state, const ft_defense_input_t *in, float *out /* N */,
                     ft_defense_decision_t *decisions /* K */, void *workspace);
    /* Serialises / restores cross-round state for checkpoints (may be NULL when the
     * rule is stateless). save returns bytes written into buf (or needed, if buf is
     * NULL); load returns FT_OK or FT_EFORMAT. */
    size_t (*state_save)(const void *state, uint8_t *buf, size_t cap);
    int (*state_load)(void *state, const uint8_t *buf, size_t len);
    /* Whether the coordinator must supply server_update (FLTrust). */
    int needs_server_update;
    /* Whether the rule selects: keeps or drops whole updates by a decision about each
     * (Krum, Multi-Krum, Bulyan's selection), so that its dropped updates count as
     * detected and TPR/FPR are reported. 0 for rules that clip, reweight or mix per
     * coordinate (their weights are reported instead). */
    int selects;
    /* How the rule runs under security.secure_aggregation, where the coordinator sees
     * only the weighted mean of the updates (docs/security.md): 0 (the default) it
     * cannot — it selects, weighs or mixes individual updates, or compares them per
     * coordinate — and the run is refused; FT_DEFENSE_SECAGG_SUM it needs only the
     * mean (given as a single update of weight 1); FT_DEFENSE_SECAGG_CLIENT_CLIP as SUM,
     * and its per-update L2 clipping to defense.norm_bound moves to the clients
     * (self-enforced). */
    int secagg;
    /* FT_PROBE_* bits: the rule needs in->probe (0 for most rules). */
    unsigned needs_probe;
    /* Bytes of scratch aggregate() needs beyond workspace_size for the probe's
     * dimensions (probe filled, server_n at its most); NULL when none. */
    size_t (*probe_workspace_size)(size_t max_k, const ft_defense_probe_t *probe);
} ft_defense_t;

#define FT_DEFENSE_SECAGG_SUM         1
#define FT_DEFENSE_SECAGG_CLIENT_CLIP 2

/* The registry, NULL-terminated. */
extern const ft_defense_t *const ft_defense_registry[];

/* The whole workspace d needs for max_k updates of N with probe (NULL when the
 * caller has none): workspace_size plus probe_workspace_size. */
size_t ft_defense_workspace(const ft_defense_t *d, size_t max_k, size_t N,
                            const ft_defense_probe_t *probe);

/* Finds a defense by name; NULL if unknown. */
const ft_defense_t *ft_defense_find(const char *name);

/* The rule d names: the loaded plug-in when d->plugin is set (defense.plugin,
 * ft_defense_plugin.h), else the registry entry for d->name; NULL if neither (call
 * ft_defense_check first: it says why). */
const ft_defense_t *ft_defense_for(const ft_defense_cfg_t *d);

/* Validates d->name against the registry and the chosen rule's values against K
 * (federation.clients_per_round, >= 1 as ft_experiment_read guarantees): FT_ECONFIG
 * via ft_config_error(d->src, ...) naming the key; an unknown name lists the
 * registry. With d->plugin set, loads the plug-in instead (an error naming the file
 * if it cannot be loaded, lacks the symbol or speaks another ABI version) and runs
 * its check; defense.name must then be unset or "plugin". */
int ft_defense_check(const ft_defense_cfg_t *d, size_t K);

#endif
