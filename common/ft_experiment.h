/* ft_experiment: the experiment as typed values — one struct per INI section, read and
 * range-checked once from a config (ft_config.h) when a process loads its experiment.
 *
 * Modules receive these structs, never key strings: a value is validated in one place
 * (ft_experiment.c), next to the other checks of its section, and every module reads
 * the same number. Checks that need more than the config stay with the module that
 * knows the answer — attack.method against the attack registry, defense.name and a
 * rule's parameters against the defense registry, class labels against the dataset —
 * and report through the section's src, so every error still names the file, line
 * and key (ft_config_error).
 *
 * Strings point into the config the experiment was read from (src): it must outlive
 * the experiment. */
#ifndef FT_EXPERIMENT_H
#define FT_EXPERIMENT_H

#include <stdint.h>

#include "ft_config.h"

#define FT_MAX_CHANNELS        4  /* image channels a dataset may have */
#define FT_EDGE_MAX_CLUSTERS   64 /* most k-means clusters a class is cut into */
#define FT_EDGE_MAX_COMPONENTS 64 /* most principal components of a mined edge set */

#define FT_MAX_LR 1e6 /* most lr a task may carry, any round (the wire's bound) */

typedef enum {
    FT_PARTITION_IID,
    FT_PARTITION_DIRICHLET,
    FT_PARTITION_SHARDS,
    FT_PARTITION_NATURAL, /* by class: a text corpus's source files */
} ft_partition_kind_t;
typedef enum { FT_EDGE_MINED = 0, FT_EDGE_FILE = 1 } ft_edge_source_t;
typedef enum { FT_EDGE_MINER_KMEANS = 0, FT_EDGE_MINER_DENSITY = 1 } ft_edge_miner_t;

typedef enum {
    FT_CASE_EDGE = 0,        /* edge-case: only the attacker holds the edge points */
    FT_CASE_ALMOST_EDGE = 1, /* honest holders share one true-label copy of them */
    FT_CASE_NORMAL = 2,      /* every honest holder has a full true-label copy */
} ft_attack_case_t;

typedef enum {
    FT_CLEAN_FROM_PARTITION = 0, /* the attacker's own partition */
    FT_CLEAN_FROM_TRAIN = 1,     /* the whole training set but the edge points */
} ft_clean_from_t;

typedef enum {
    FT_HOLDER_POOL_COPIES = 0,   /* copies of the attacker's own edge points */
    FT_HOLDER_POOL_DISJOINT = 1, /* the edge points not sampled into D_adv, split */
} ft_holder_pool_t;

typedef enum {
    FT_ADAPTIVE_EPS_AUTO = 0, /* on under the rules the paper code shrinks eps for */
    FT_ADAPTIVE_EPS_ON = 1,   /* eps * lr_decay^(t-1) whatever the defense */
    FT_ADAPTIVE_EPS_OFF = 2,  /* eps in every round */
} ft_adaptive_eps_t;

typedef enum {
    FT_FL_FIXED_FREQ = 0,  /* one attacker in rounds (t - attack_from) % attack_freq == 0 */
    FT_FL_FIXED_POOL = 1,  /* the top attacker_pool_size ids attack when sampled */
    FT_FL_EVERY_ROUND = 2, /* one attacker in every round */
} ft_fl_mode_t;

typedef enum {
    FT_AUGMENT_NONE = 0,              /* samples as they are */
    FT_AUGMENT_CROP_FLIP_REFLECT = 1, /* reflect-pad, random crop, random horizontal flip */
    FT_AUGMENT_CROP_FLIP_ZERO = 2,    /* the same with zero (black) padding */
} ft_augment_mode_t;

typedef enum {
    FT_TRIGGER_CHECKERBOARD = 0, /* size x size checkerboard, 1 px in from bottom-right */
    FT_TRIGGER_SQUARE = 1,       /* solid white size x size square */
    FT_TRIGGER_PATTERN = 2,      /* BackFed's BadNets weight pattern (4x4 / 5x5) */
    FT_TRIGGER_PIXEL = 3,        /* one white pixel */
    FT_TRIGGER_BLENDED = 4,      /* whole-image blend with a seeded key image */
} ft_trigger_t;

typedef enum {
    FT_PERTURB_UNIT_VEC = 0, /* mean / ||mean|| */
    FT_PERTURB_STD = 1,      /* coordinate-wise std */
    FT_PERTURB_SIGN = 2,     /* sign(mean) */
} ft_perturbation_t;

/* [federation] */
typedef struct {
    const ft_config_t *src;        /* where the values came from (errors name file:line) */
    uint32_t num_clients;          /* clients in the population, [1, 1000000] */
    uint32_t clients_per_round;    /* K, [1, num_clients] */
    int rounds;                    /* >= 1 */
    int local_epochs;              /* honest clients' epochs, >= 1 */
    int batch_size;                /* >= 1 */
    double lr;                     /* learning rate of round 1, (0, FT_MAX_LR] */
    double lr_decay;               /* lr of round t is lr * lr_decay^(t-1), also bounded */
    double momentum;               /* >= 0 */
    double weight_decay;           /* >= 0 */
    double clip_grad_norm;         /* local training's total-norm clip, >= 0 (0: off) */
    ft_partition_kind_t partition; /* how the training set is split */
    double alpha;                  /* dirichlet concentration, > 0 */
    int min_size;                  /* dirichlet: fewest samples a client may get, >= 0 */
    int shards_per_client;         /* shards: classes per client, [1, 100000] */
    int eval_every;                /* evaluate every n rounds, >= 1 */
    const char *init;              /* "random", "pretrain" or a checkpoint path */
    double round_timeout;          /* seconds, > 0 */
    int min_clients;               /* fewest updates a round closes with, [1, K] */
    int max_round_retries;         /* >= 0 */
    double heartbeat_s;            /* client heartbeat period, > 0 */
    int max_peers;                 /* connections and live processes at once, [1, 1000000] */
} ft_federation_cfg_t;

/* [data] */
typedef struct {
    const ft_config_t *src;       /* where the values came from */
    const char *dataset;          /* data.dataset (a schema choice) */
    const char *path;             /* data.path ("" = the dataset's default) */
    int num_mean;                 /* values in mean (0: the dataset's default) */
    double mean[FT_MAX_CHANNELS]; /* data.mean */
    int num_std;                  /* values in std (0: the dataset's default) */
    double std[FT_MAX_CHANNELS];  /* data.std, each > 0 */
    int emnist_transpose;         /* emnist: transpose the stored images to upright */
    uint32_t train_limit;         /* first n training samples (0: all) */
    uint32_t test_limit;          /* first n test samples (0: all) */
    uint32_t synthetic_train;     /* synthetic: training samples, [1, 10^7] */
    uint32_t synthetic_test;      /* synthetic: test samples, [1, 10^7] */
    int synthetic_shape[3];       /* synthetic: C, H, W */
    /* training-time augmentation (data/ft_augment.h); "same" is resolved */
    ft_augment_mode_t augment;        /* honest clients' (and FLTrust's root) training */
    ft_augment_mode_t augment_attack; /* the attacker's training on its own data */
    ft_augment_mode_t augment_train;  /* centralised pre-training */
    int augment_pad;                  /* padding before the random crop, [0, 64] */
    int vocab_size;                   /* text: vocabulary size V, [3, 1000000] */
    int seq_len;                      /* text: tokens per sequence T, [1, 4096] */
    double text_test_fraction;        /* text: entries held out for testing, [0, 1) */
    double fraction_of_train;         /* sentiment140: share of training tweets drawn, (0, 1] */
} ft_data_cfg_t;

/* [model] */
typedef struct {
    const ft_config_t *src; /* where the values came from */
    const char *name;       /* model.name (a schema choice) */
    const char *hidden;     /* mlp hidden sizes / lstm H, checked when the model is built */
    int embedding;          /* lstm: E, [1, 65536] */
    int layers;             /* lstm: L, [1, 16] */
    double dropout;         /* lstm: [0, 1) */
    int tied;               /* lstm: decoder weight = embedding */
} ft_model_cfg_t;

/* [train]: centralised training (fedtail train, federation.init = pretrain). */
typedef struct {
    const ft_config_t *src; /* where the values came from */
    int epochs;             /* >= 1 */
    int batch_size;         /* [1, 65536] */
    double lr;              /* > 0 */
    double momentum;        /* [0, 1) */
    double weight_decay;    /* >= 0 */
    double clip_grad_norm;  /* total-norm clip, >= 0 (0: off) */
} ft_train_cfg_t;

/* [attack]: what the attacker does, its schedule and its edge-case set. */
typedef struct {
    const ft_config_t *src;         /* where the values came from */
    const char *method;             /* "none" or an attack registry name */
    int enabled;                    /* method is not "none" */
    ft_attack_case_t attack_case;   /* edge-case or one of the paper's baselines */
    int source_class;               /* [0, 256): checked against the dataset later */
    int target_class;               /* [0, 256): checked against the dataset later */
    uint32_t clean_points;          /* clean samples in D_adv */
    ft_clean_from_t clean_from;     /* where they are drawn from */
    uint32_t poison_points;         /* pixel-trigger: poisoned copies, >= 1 */
    int honest_edge_holders;        /* ids [0, this) hold copies; 0 without an attack */
    ft_holder_pool_t holder_pool;   /* what the holders hold */
    double eps;                     /* PGD L2 radius, > 0 (0 when eps_auto) */
    int eps_auto;                   /* attack.eps = auto: radius from defense.norm_bound */
    ft_adaptive_eps_t adaptive_eps; /* PGD: eps shrinking with the lr */
    int project_frequency;          /* PGD: project every n batches, >= 1 */
    double adv_lr;                  /* attacker lr in round 1 (0: the honest lr) */
    int adv_epochs;                 /* attacker epochs (0: the honest epochs) */
    int model_replacement;          /* scale the update */
    double scale;                   /* replacement factor (0: N_round / n_adv) */
    int prox;                       /* the paper's prox variant */
    double prox_mu;                 /* weight of the proximal term, >= 0 */
    int trigger_size;               /* pixel-trigger square side, [1, 64] */
    const char *trigger_phrase;     /* phrase: trigger words */
    const char *target_word;        /* phrase: the word wanted after them */
    double noise_std;               /* gaussian: std, >= 0 */
    double alie_z;                  /* alie: z (0: Baruch et al.'s z_max) */
    double ipm_epsilon;             /* ipm: epsilon, >= 0 */
    int num_benign_estimates;       /* alie/ipm: benign updates simulated, [1, 1000] */
    ft_fl_mode_t fl_mode;           /* the schedule */
    int attack_freq;                /* fixed-freq: every n rounds, >= 1 */
    int attack_from;                /* first round that may be attacked, >= 1 */
    int attack_until;               /* last such round (0 in the file: the last round) */
    int attacker_pool_size;         /* fixed-pool: attacker ids, [1, num_clients] */
    ft_edge_source_t edge_source;   /* mined from the training set or read from a file */
    const char *edge_file;          /* edge_source = file: .npy path */
    const char *edge_test_file;     /* edge_source = file: backdoor test .npy ("": split) */
    uint32_t edge_copies;           /* edge_source = file: consecutive copies of one image */
    uint32_t edge_points;           /* edge points sampled into D_adv (0: all) */
    uint32_t edge_size;             /* mined: minimum cluster size, [2, 10^7] */
    double edge_test_fraction;      /* share held out as the backdoor test set, (0, 1) */
    int edge_clusters;              /* mined: k-means clusters (0: auto) */
    int edge_components;            /* mined: principal components */
    ft_edge_miner_t edge_miner;     /* mined: k-means cluster or lowest density */
    const char *edge_scores;        /* edge_miner = density: log-density .npy ("": none yet) */
    int grad_mask;                  /* Neurotoxin's mask on any training attack */
    double neurotoxin_ratio;        /* share of coordinates trained, (0, 1] */
    ft_trigger_t trigger_shape;     /* pixel-trigger: the stamp */
    int trigger_row;                /* top row, -1: the shape's default */
    int trigger_col;                /* left column, -1: the shape's default */
    double blend_alpha;             /* blended: key weight, [0, 1] */
    int dba_parts;                  /* dba: local patterns, [1, 64] */
    ft_perturbation_t perturbation; /* minmax/minsum: direction */
    int fang_krum;                  /* fang: tailored to Krum (else trimmed mean/median) */
    int a3fl_iterations;            /* a3fl: trigger search passes per attack round, >= 1 */
    int a3fl_adv_epochs;            /* a3fl: epochs of the unlearning model (0: none) */
    double a3fl_trigger_lr;         /* a3fl: sign step of the trigger, > 0 */
    double a3fl_lambda;             /* a3fl: weight of the unlearning model's loss, >= 0 */
    int chameleon_epochs;           /* chameleon: contrastive epochs, [0, 1000] */
    double chameleon_lr;            /* chameleon: contrastive learning rate, > 0 */
    double chameleon_temperature;   /* chameleon: contrastive temperature, > 0 */
    double chameleon_scale;         /* chameleon: target anchors' weight, > 0 */
    double chameleon_norm;          /* chameleon: projection radius, >= 0 (0: none) */
    double iba_eps;                 /* iba: perturbation bound (pixel units), (0, 1] */
    double iba_lr;                  /* iba: generator Adam rate, > 0 */
    int iba_epochs;                 /* iba: most generator epochs per round, [0, 10000] */
    int iba_hidden;                 /* iba: generator hidden units, [1, 4096] */
} ft_attack_cfg_t;

/* [defense]: the aggregation rule and every rule's parameters (each rule checks its
 * own against K when the defense is created; defenses/). */
typedef struct {
    const ft_config_t *src; /* where the values came from */
    const char *name;       /* a defense registry name ("plugin" with defense.plugin) */
    const char *plugin;     /* defense.plugin: a plug-in's shared object ("" = none) */
    double norm_bound;      /* norm-clipping / weak-dp: M */
    double stddev;          /* weak-dp: noise std */
    int64_t f;              /* krum family: assumed attackers */
    int64_t m;              /* multi-krum: updates kept (0: K - f) */
    double beta;            /* trimmed-mean: share trimmed each side */
    int64_t maxiter;        /* rfa: Weiszfeld iterations */
    double nu;              /* rfa: smoothing */
    double ftol;            /* rfa: relative tolerance */
    double tau;             /* centered-clipping: radius */
    int64_t cc_iters;       /* centered-clipping: iterations */
    int64_t root_size;      /* fltrust: root set samples */
    double fg_confidence;   /* foolsgold: kappa */
    int64_t theta;          /* rlr: sign-agreement threshold */
    const char *inner;      /* bucketing: inner rule's registry name */
    int64_t bucket_size;    /* bucketing: s */
    int64_t dnc_iters;      /* dnc: subsampling iterations */
    int64_t dnc_b;          /* dnc: coordinates per subsample */
    double dnc_c;           /* dnc: filtering fraction */
    double sg_lower;        /* signguard: norm filter lower bound */
    double sg_upper;        /* signguard: norm filter upper bound */
    double sg_fraction;     /* signguard: share of coordinates in the sign statistics */
    double flame_lambda;    /* flame: noise level */
    double rflbat_eps1;     /* rflbat: stage-1 threshold */
    double rflbat_eps2;     /* rflbat: stage-2 threshold */
    int64_t fld_window;     /* fldetector: window N_w */
    int64_t fld_start;      /* fldetector: rounds before scoring */
    double lasa_sparsity;   /* lasa: share of weight coordinates zeroed */
    double lasa_norm_z;     /* lasa: layer norm MZ-score bound */
    double lasa_sign_z;     /* lasa: layer sign MZ-score bound */
    double ds_tau;          /* deepsight: suspicious share bound of an accepted cluster */
    int64_t ds_seeds;       /* deepsight: noise sets */
    int64_t ds_samples;     /* deepsight: noise inputs per set */
    double flare_k;         /* flare: neighbours counted, share of K */
    int64_t flare_samples;  /* flare: server samples compared */
    double flare_sigma;     /* flare: kernel width (0: median heuristic) */
} ft_defense_cfg_t;

/* run.on_nonfinite: what a global model with NaN/Inf parameters does to the run. */
typedef enum {
    FT_NONFINITE_STOP = 0,     /* record it and stop the run (FT_ENONFINITE, exit status 3) */
    FT_NONFINITE_CONTINUE = 1, /* record it and run on (the experiment expects it) */
} ft_nonfinite_policy_t;

#define FT_MAX_SEEDS 32 /* most seeds run.seeds may list */

/* [run] */
typedef struct {
    const ft_config_t *src;             /* where the values came from */
    uint64_t seed;                      /* seed of every random stream */
    int num_seeds;                      /* run.seeds entries (0: one run with seed) */
    uint64_t seeds[FT_MAX_SEEDS];       /* run.seeds: distinct, in the order given */
    int threads;                        /* BLAS threads per process, [1, 1024] */
    const char *device;                 /* "cpu", "reference", "cuda" or "cuda:N" */
    int batch_clients;                  /* tasks a client process trains at once, [0, 256]
                                           (0: as many as fit the device's memory) */
    int checkpoint_every;               /* rounds between checkpoints (0: none) */
    int save_updates;                   /* save each round's K×N updates */
    int eval_batch;                     /* evaluation batch size, [1, 65536] */
    int eval_async;                     /* overlap evaluation with the next round */
    const char *compare;                /* run.compare variants ("" = one run) */
    const char *cache_dir;              /* where pre-trained models are kept */
    int max_message_mb;                 /* largest accepted network message, [1, 2^20] */
    ft_nonfinite_policy_t on_nonfinite; /* a destroyed global model: stop or continue */
} ft_run_cfg_t;

/* [security] */
typedef struct {
    const ft_config_t *src;         /* where the values came from */
    int curve;                      /* CURVE on the transport */
    const char *server_secret_key;  /* coordinator secret key file */
    const char *server_public_key;  /* coordinator public key file */
    const char *client_secret_key;  /* client secret key file */
    const char *client_public_key;  /* client public key file */
    const char *authorized_clients; /* directory of allowed client *.pub keys */
    int secure_aggregation;         /* secure aggregation of the updates (docs/security.md) */
    double secagg_threshold;        /* t = floor(f n) + 1 of n clients, at least 2 */
    int secagg_scale_bits;          /* fixed-point scale 2^bits in Z_2^32 */
    double secagg_clip;             /* clamp of each weighted coordinate */
} ft_security_cfg_t;

typedef struct {
    const ft_config_t *src;         /* the config read (borrowed) */
    ft_federation_cfg_t federation; /* [federation] */
    ft_data_cfg_t data;             /* [data] */
    ft_model_cfg_t model;           /* [model] */
    ft_train_cfg_t train;           /* [train] */
    ft_attack_cfg_t attack;         /* [attack] */
    ft_defense_cfg_t defense;       /* [defense] */
    ft_run_cfg_t run;               /* [run] */
    ft_security_cfg_t security;     /* [security] */
} ft_experiment_t;

/* Reads every section of cfg into exp and checks each value's range and the checks
 * between keys that the config alone decides (K <= num_clients, min_clients <= K,
 * the attacker pool and the honest edge holders fitting the population, ...).
 * FT_ECONFIG via ft_config_error naming the first bad key; exp is then unspecified.
 * cfg must outlive exp. */
int ft_experiment_read(const ft_config_t *cfg, ft_experiment_t *exp);

#endif
