/* fedtail/defense.h: the installed, self-contained header a defense plug-in is written
 * against (docs/write-a-defense.md). It needs only the C standard library: a plug-in
 * never includes fedtail's internal headers, and fedtail adapts this ABI to its own
 * vtable (defenses/ft_defense_plugin.c), so the internals may change freely while
 * FEDTAIL_DEFENSE_ABI_VERSION stays.
 *
 * A plug-in is one shared object exporting
 *     const fedtail_defense_plugin_t *fedtail_defense_plugin(void);
 * (write FEDTAIL_DEFENSE_EXPORT before it). fedtail loads it with dlopen for
 * `--set defense.plugin=./x.so`, refuses it unless abi_version equals the version
 * fedtail was built with, and then uses it exactly like a built-in rule:
 *  - check_config once when the experiment is loaded (a message into err),
 *  - create once per run, workspace_size once (fedtail allocates the workspace),
 *  - aggregate once per round: it must NOT allocate (use state and workspace),
 *  - destroy at the end; state_save/state_load for checkpoints (may be NULL).
 *
 * The decision report: for every update i the rule writes what it did (kept /
 * dropped / reweighted / clipped), the clip factor it applied, a score of its own,
 * the weight (the row's mean coefficient in the aggregate: out_j = sum_i a_ij x_ij,
 * weight_i = (1/N) sum_j a_ij; the weights of a round sum to 1 unless flags say
 * otherwise) and contrib_norm = ||(a_ij x_ij)_j||. fedtail pre-fills contrib_norm
 * with NaN ("the rule does not say"). A row holding NaN/Inf is a legitimate attack
 * payload: never crash on it. `fedtail selftest-defense ./x.so` checks all this. */
#ifndef FEDTAIL_DEFENSE_H
#define FEDTAIL_DEFENSE_H

#include <stddef.h>
#include <stdint.h>

/* Bumped whenever a type below changes layout or meaning. */
#define FEDTAIL_DEFENSE_ABI_VERSION 1u

/* The name of the function fedtail looks up with dlsym. */
#define FEDTAIL_DEFENSE_SYMBOL "fedtail_defense_plugin"

#if defined(__GNUC__)
#define FEDTAIL_DEFENSE_EXPORT __attribute__((visibility("default")))
#else
#define FEDTAIL_DEFENSE_EXPORT
#endif

/* Return codes of check_config / create / aggregate / state_load. */
#define FEDTAIL_DEFENSE_OK      0  /* success */
#define FEDTAIL_DEFENSE_EINVAL  -1 /* bad value (check_config) or no aggregate possible */
#define FEDTAIL_DEFENSE_ENOMEM  -2 /* create could not allocate */
#define FEDTAIL_DEFENSE_EFORMAT -4 /* state_load: damaged state */

/* What the rule did with one update, most telling first. */
typedef enum {
    FEDTAIL_DECISION_KEPT = 0,       /* used as submitted, with the plain weight */
    FEDTAIL_DECISION_DROPPED = 1,    /* not used: weight 0 */
    FEDTAIL_DECISION_REWEIGHTED = 2, /* used with a changed weight / at some coordinates */
    FEDTAIL_DECISION_CLIPPED = 3,    /* used, its vector multiplied by clip_factor != 1 */
} fedtail_decision_t;

/* The report about one update. */
typedef struct {
    fedtail_decision_t decision; /* kept / dropped / reweighted / clipped */
    float clip_factor;           /* multiplier applied to the update (1 = none) */
    float score;                 /* the rule's own score; 0 if none */
    float weight;                /* mean coefficient of the row in the aggregate */
    float contrib_norm;          /* norm of the row's contribution; NaN if unknown */
} fedtail_defense_decision_t;

/* The inputs of one aggregation (K updates this round, N parameters). */
typedef struct {
    int round;                       /* 1-based round */
    size_t K;                        /* updates this round, K <= max_k */
    size_t N;                        /* parameters */
    float *updates;                  /* K x N deltas, row-major, client-id order;
                                        the rule may modify them in place */
    const float *counts;             /* K sample counts (FedAvg weights) */
    const uint32_t *ids;             /* K client ids (per-client history) */
    const float *global;             /* N current global model, or NULL */
    const float *server_update;      /* N trusted update (needs_server_update), or NULL */
    void *rng;                       /* the round's random stream: pass to the two below */
    uint64_t (*rng_u64)(void *rng);  /* next 64 random bits */
    double (*rng_normal)(void *rng); /* next standard normal draw */
} fedtail_defense_input_t;

/* The configuration a plug-in may read. The stable subset is copied in; any other
 * registered key (e.g. "defense.tau", "federation.num_clients") reads as text with
 * get(ctx, key), valid only during the call it is passed to (copy what you keep).
 * get returns NULL for a key fedtail does not know. */
typedef struct {
    size_t max_k;       /* most updates per round (federation.clients_per_round) */
    size_t N;           /* parameters (0 in check_config: not known yet) */
    size_t num_clients; /* federation.num_clients */
    int64_t f;          /* defense.f: assumed attackers per round */
    int64_t m;          /* defense.m */
    double beta;        /* defense.beta */
    double norm_bound;  /* defense.norm_bound */
    double stddev;      /* defense.stddev */
    uint64_t seed;      /* run.seed */
    const char *(*get)(const void *ctx, const char *key); /* any key, as text */
    const void *ctx;                                      /* pass to get */
} fedtail_defense_config_t;

/* flags: what the self-test may expect (0 for a plain robust aggregator). */
#define FEDTAIL_DEFENSE_PARTIAL_WEIGHTS 1u /* weights may sum to less than 1 */
#define FEDTAIL_DEFENSE_SIGNED_WEIGHTS  2u /* weights may be negative */
#define FEDTAIL_DEFENSE_NOT_ROBUST      4u /* output may be non-finite if a row is NaN */
#define FEDTAIL_DEFENSE_NOISY           8u /* adds noise: identical rows need not come back */

/* The vtable a plug-in returns. */
typedef struct {
    uint32_t abi_version;    /* FEDTAIL_DEFENSE_ABI_VERSION (checked first) */
    const char *name;        /* the rule's name, shown in logs and reports */
    const char *cite;        /* paper and equation implemented */
    int selects;             /* 1 if it keeps/drops whole updates (TPR/FPR reported) */
    int needs_server_update; /* 1 if it needs a trusted server update (FLTrust-like) */
    uint32_t flags;          /* FEDTAIL_DEFENSE_* self-test expectations */
    /* Checks the values against max_k; writes a one-line reason into err. May be NULL. */
    int (*check_config)(const fedtail_defense_config_t *cfg, char *err, size_t errcap);
    /* Creates the per-run state; *state may stay NULL. */
    int (*create)(const fedtail_defense_config_t *cfg, void **state);
    void (*destroy)(void *state); /* frees what create made (state may be NULL) */
    /* Bytes of scratch aggregate() needs for up to max_k updates of N. */
    size_t (*workspace_size)(size_t max_k, size_t N);
    /* Writes the aggregate delta (N) into out and one decision per update (K).
     * Must not allocate. Returns FEDTAIL_DEFENSE_OK or a negative code. */
    int (*aggregate)(void *state, const fedtail_defense_input_t *in, float *out,
                     fedtail_defense_decision_t *decisions, void *workspace);
    /* Cross-round state for checkpoints; both NULL for a stateless rule. save returns
     * the bytes written (or needed, when buf is NULL). */
    size_t (*state_save)(const void *state, uint8_t *buf, size_t cap);
    int (*state_load)(void *state, const uint8_t *buf, size_t len);
} fedtail_defense_plugin_t;

/* What the plug-in exports. */
typedef const fedtail_defense_plugin_t *(*fedtail_defense_plugin_fn)(void);

#endif
