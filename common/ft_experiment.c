/* ft_experiment: a config read into one typed struct per section, with every check the
 * config alone can decide. One static reader per section, in file order. */
#include "ft_experiment.h"

#include "ft_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* An integer key in [lo, hi] into *out; FT_ECONFIG with `why` otherwise. */
static int read_int(const ft_config_t *cfg, const char *key, int64_t lo, int64_t hi,
                    const char *why, int64_t *out)
{
    int64_t v = ft_config_int(cfg, key);
    if (v < lo || v > hi)
        return ft_config_error(cfg, key, "%s", why);
    *out = v;
    return FT_OK;
}

/* The same into an int / uint32_t (the bounds must fit the type). */
static int read_i(const ft_config_t *cfg, const char *key, int64_t lo, int64_t hi, const char *why,
                  int *out)
{
    int64_t v = 0;
    int rc = read_int(cfg, key, lo, hi, why, &v);
    *out = (int)v;
    return rc;
}

static int read_u(const ft_config_t *cfg, const char *key, int64_t lo, int64_t hi, const char *why,
                  uint32_t *out)
{
    int64_t v = 0;
    int rc = read_int(cfg, key, lo, hi, why, &v);
    *out = (uint32_t)v;
    return rc;
}

/* A float key that must be finite and > 0 (positive) or >= 0 (!positive). */
static int read_nonneg(const ft_config_t *cfg, const char *key, int positive, const char *why,
                       double *out)
{
    double v = ft_config_float(cfg, key);
    if (!isfinite(v) || (positive ? !(v > 0) : !(v >= 0)))
        return ft_config_error(cfg, key, "%s", why);
    *out = v;
    return FT_OK;
}

static int read_federation(const ft_config_t *cfg, ft_federation_cfg_t *f)
{
    int rc;
    f->src = cfg;
    if ((rc = read_u(cfg, "federation.num_clients", 1, 1000000, "must be in [1, 1000000]",
                     &f->num_clients)) != FT_OK)
        return rc;
    int64_t k = ft_config_int(cfg, "federation.clients_per_round");
    if (k < 1 || k > f->num_clients)
        return ft_config_error(cfg, "federation.clients_per_round",
                               "must be in [1, num_clients = %u]", f->num_clients);
    f->clients_per_round = (uint32_t)k;
    if ((rc = read_i(cfg, "federation.rounds", 1, 1000000000, "must be >= 1", &f->rounds)) !=
            FT_OK ||
        (rc = read_i(cfg, "federation.local_epochs", 1, 100000, "must be >= 1",
                     &f->local_epochs)) != FT_OK ||
        (rc = read_i(cfg, "federation.batch_size", 1, 65536, "must be in [1, 65536]",
                     &f->batch_size)) != FT_OK ||
        (rc = read_nonneg(cfg, "federation.lr", 1, "must be > 0", &f->lr)) != FT_OK ||
        (rc = read_nonneg(cfg, "federation.lr_decay", 1, "must be > 0", &f->lr_decay)) != FT_OK ||
        (rc = read_nonneg(cfg, "federation.momentum", 0, "must be >= 0", &f->momentum)) != FT_OK ||
        (rc = read_nonneg(cfg, "federation.weight_decay", 0, "must be >= 0", &f->weight_decay)) !=
            FT_OK ||
        (rc = read_nonneg(cfg, "federation.clip_grad_norm", 0, "must be >= 0 (0: off)",
                          &f->clip_grad_norm)) != FT_OK)
        return rc;
    /* The lr each task carries, as the float the wire holds, must be one a client
     * takes (proto/ft_wire.c refuses a task outside (0, FT_MAX_LR]): lr * decay^(t-1)
     * is monotone in t, so rounds 1 and R bound it. */
    float lr_first = (float)f->lr, lr_last = (float)(f->lr * pow(f->lr_decay, f->rounds - 1));
    if (!(lr_first > 0) || lr_first > FT_MAX_LR)
        return ft_config_error(cfg, "federation.lr", "must be in (0, %g] (the lr of a task)",
                               FT_MAX_LR);
    if (!(lr_last > 0) || lr_last > FT_MAX_LR)
        return ft_config_error(cfg, "federation.lr_decay",
                               "gives lr %g in round %d (lr * lr_decay^(t-1) must stay in "
                               "(0, %g] as a float in every round)",
                               (double)lr_last, f->rounds, FT_MAX_LR);
    const char *kind = ft_config_str(cfg, "federation.partition");
    f->partition = !strcmp(kind, "dirichlet") ? FT_PARTITION_DIRICHLET
                   : !strcmp(kind, "shards")  ? FT_PARTITION_SHARDS
                   : !strcmp(kind, "natural") ? FT_PARTITION_NATURAL
                                              : FT_PARTITION_IID;
    if ((rc = read_nonneg(cfg, "federation.alpha", 1, "must be a positive number", &f->alpha)) !=
            FT_OK ||
        (rc = read_i(cfg, "federation.min_size", 0, 100000000, "must be >= 0", &f->min_size)) !=
            FT_OK ||
        (rc = read_i(cfg, "federation.shards_per_client", 1, 100000, "must be in [1, 100000]",
                     &f->shards_per_client)) != FT_OK ||
        (rc = read_i(cfg, "federation.eval_every", 1, 1000000000, "must be >= 1",
                     &f->eval_every)) != FT_OK ||
        (rc = read_nonneg(cfg, "federation.round_timeout", 1, "must be > 0", &f->round_timeout)) !=
            FT_OK)
        return rc;
    f->init = ft_config_str(cfg, "federation.init");
    int64_t mc = ft_config_int(cfg, "federation.min_clients");
    if (mc < 1 || mc > k)
        return ft_config_error(cfg, "federation.min_clients",
                               "must be in [1, clients_per_round = %lld]", (long long)k);
    f->min_clients = (int)mc;
    if ((rc = read_i(cfg, "federation.max_round_retries", 0, 1000000, "must be >= 0",
                     &f->max_round_retries)) != FT_OK ||
        (rc = read_i(cfg, "federation.max_peers", 1, 1000000, "must be in [1, 1000000]",
                     &f->max_peers)) != FT_OK)
        return rc;
    return read_nonneg(cfg, "federation.heartbeat_s", 1, "must be > 0", &f->heartbeat_s);
}

/* data.mean / data.std: a comma-separated list of at most FT_MAX_CHANNELS numbers;
 * std values must be > 0. The count is checked against the dataset's channels when
 * it is loaded. */
static int read_norm(const ft_config_t *cfg, const char *key, int positive, double *v, int *n)
{
    int k = ft_config_float_list(cfg, key, v, FT_MAX_CHANNELS);
    if (k < 0)
        return k;
    for (int i = 0; i < k; i++)
        if (positive && !(v[i] > 0))
            return ft_config_error(cfg, key, "standard deviations must be > 0");
    *n = k;
    return FT_OK;
}

/* data.augment*: a mode name; "same" (augment_attack, augment_train) is `same`. */
static ft_augment_mode_t augment_mode(const ft_config_t *cfg, const char *key,
                                      ft_augment_mode_t same)
{
    const char *v = ft_config_str(cfg, key);
    return !strcmp(v, "crop-flip-reflect") ? FT_AUGMENT_CROP_FLIP_REFLECT
           : !strcmp(v, "crop-flip-zero")  ? FT_AUGMENT_CROP_FLIP_ZERO
           : !strcmp(v, "none")            ? FT_AUGMENT_NONE
                                           : same;
}

static int read_data(const ft_config_t *cfg, ft_data_cfg_t *d)
{
    int rc;
    d->src = cfg;
    d->dataset = ft_config_str(cfg, "data.dataset");
    d->path = ft_config_str(cfg, "data.path");
    d->emnist_transpose = ft_config_bool(cfg, "data.emnist_transpose");
    d->augment = augment_mode(cfg, "data.augment", FT_AUGMENT_NONE);
    d->augment_attack = augment_mode(cfg, "data.augment_attack", d->augment);
    d->augment_train = augment_mode(cfg, "data.augment_train", d->augment);
    if ((rc = read_i(cfg, "data.augment_pad", 0, 64, "must be in [0, 64]", &d->augment_pad)) !=
        FT_OK)
        return rc;
    if ((rc = read_norm(cfg, "data.mean", 0, d->mean, &d->num_mean)) != FT_OK ||
        (rc = read_norm(cfg, "data.std", 1, d->std, &d->num_std)) != FT_OK ||
        (rc = read_u(cfg, "data.train_limit", 0, UINT32_MAX,
                     "must be in [0, 2^32) (0: all samples)", &d->train_limit)) != FT_OK ||
        (rc = read_u(cfg, "data.test_limit", 0, UINT32_MAX, "must be in [0, 2^32) (0: all samples)",
                     &d->test_limit)) != FT_OK ||
        (rc = read_u(cfg, "data.synthetic_train", 1, 10000000, "must be in [1, 10000000]",
                     &d->synthetic_train)) != FT_OK ||
        (rc = read_u(cfg, "data.synthetic_test", 1, 10000000, "must be in [1, 10000000]",
                     &d->synthetic_test)) != FT_OK ||
        (rc = read_i(cfg, "data.vocab_size", 3, 1000000, "must be in [3, 1000000]",
                     &d->vocab_size)) != FT_OK ||
        (rc = read_i(cfg, "data.seq_len", 1, 4096, "must be in [1, 4096]", &d->seq_len)) != FT_OK ||
        (rc = read_nonneg(cfg, "data.text_test_fraction", 0, "must be in [0, 1)",
                          &d->text_test_fraction)) != FT_OK)
        return rc;
    if (d->text_test_fraction >= 1.0)
        return ft_config_error(cfg, "data.text_test_fraction", "must be in [0, 1)");
    if ((rc = read_nonneg(cfg, "data.fraction_of_train", 1, "must be in (0, 1]",
                          &d->fraction_of_train)) != FT_OK)
        return rc;
    if (d->fraction_of_train > 1.0)
        return ft_config_error(cfg, "data.fraction_of_train", "must be in (0, 1]");
    if (d->fraction_of_train < 1.0 && strcmp(d->dataset, "sentiment140"))
        return ft_config_error(cfg, "data.fraction_of_train",
                               "only data.dataset = sentiment140 samples its training file");
    double shape[3];
    int k = ft_config_float_list(cfg, "data.synthetic_shape", shape, 3);
    if (k < 0)
        return k;
    if (k != 3 || shape[0] < 1 || shape[0] > FT_MAX_CHANNELS || shape[1] < 1 || shape[1] > 1024 ||
        shape[2] < 1 || shape[2] > 1024 || shape[0] != (int)shape[0] || shape[1] != (int)shape[1] ||
        shape[2] != (int)shape[2])
        return ft_config_error(cfg, "data.synthetic_shape",
                               "expected C,H,W with 1 <= C <= %d and 1 <= H,W <= 1024",
                               FT_MAX_CHANNELS);
    for (int i = 0; i < 3; i++)
        d->synthetic_shape[i] = (int)shape[i];
    return FT_OK;
}

static int read_train(const ft_config_t *cfg, ft_train_cfg_t *t)
{
    int rc;
    t->src = cfg;
    if ((rc = read_i(cfg, "train.epochs", 1, 100000, "must be >= 1", &t->epochs)) != FT_OK ||
        (rc = read_i(cfg, "train.batch_size", 1, 65536, "must lie in 1..65536", &t->batch_size)) !=
            FT_OK ||
        (rc = read_nonneg(cfg, "train.lr", 1, "must be > 0", &t->lr)) != FT_OK ||
        (rc = read_nonneg(cfg, "train.weight_decay", 0, "must be >= 0", &t->weight_decay)) !=
            FT_OK ||
        (rc = read_nonneg(cfg, "train.clip_grad_norm", 0, "must be >= 0 (0: off)",
                          &t->clip_grad_norm)) != FT_OK)
        return rc;
    t->momentum = ft_config_float(cfg, "train.momentum");
    if (!(t->momentum >= 0 && t->momentum < 1))
        return ft_config_error(cfg, "train.momentum", "must lie in [0, 1)");
    return FT_OK;
}

/* The schedule keys (attack.fl_mode ... attacker_pool_size). */
static int read_schedule(const ft_config_t *cfg, const ft_federation_cfg_t *f, ft_attack_cfg_t *a)
{
    int rc;
    const char *mode = ft_config_str(cfg, "attack.fl_mode");
    a->fl_mode = !strcmp(mode, "fixed-pool")    ? FT_FL_FIXED_POOL
                 : !strcmp(mode, "every-round") ? FT_FL_EVERY_ROUND
                                                : FT_FL_FIXED_FREQ;
    if ((rc = read_i(cfg, "attack.attack_freq", 1, 1000000000, "must be >= 1", &a->attack_freq)) !=
            FT_OK ||
        (rc = read_i(cfg, "attack.attack_from", 1, 1000000000, "must be >= 1 (rounds are 1-based)",
                     &a->attack_from)) != FT_OK ||
        (rc = read_i(cfg, "attack.attack_until", 0, 1000000000, "must be >= 0 (0: the last round)",
                     &a->attack_until)) != FT_OK)
        return rc;
    if (a->attack_until == 0)
        a->attack_until = f->rounds;
    int64_t v = ft_config_int(cfg, "attack.attacker_pool_size");
    if (v < 1 || v > f->num_clients)
        return ft_config_error(cfg, "attack.attacker_pool_size", "must be in [1, %u]",
                               f->num_clients);
    a->attacker_pool_size = (int)v;
    return FT_OK;
}

/* The edge-case set keys. The class labels are checked against the dataset when the
 * set is built (data/ft_edge.h). */
static int read_edge(const ft_config_t *cfg, ft_attack_cfg_t *a)
{
    int rc;
    a->edge_source =
        !strcmp(ft_config_str(cfg, "attack.edge_source"), "file") ? FT_EDGE_FILE : FT_EDGE_MINED;
    a->edge_file = ft_config_str(cfg, "attack.edge_file");
    if (a->edge_source == FT_EDGE_FILE && !a->edge_file[0])
        return ft_config_error(cfg, "attack.edge_file", "edge_source=file needs a .npy path");
    a->edge_test_file = ft_config_str(cfg, "attack.edge_test_file");
    if (a->edge_source != FT_EDGE_FILE && a->edge_test_file[0])
        return ft_config_error(cfg, "attack.edge_test_file",
                               "needs edge_source=file (a mined set's test points are mined too)");
    if ((rc = read_u(cfg, "attack.edge_copies", 1, 1000, "must be in [1, 1000]",
                     &a->edge_copies)) != FT_OK ||
        (rc = read_u(cfg, "attack.edge_points", 0, 10000000, "must be in [0, 10000000]",
                     &a->edge_points)) != FT_OK)
        return rc;
    if ((rc = read_u(cfg, "attack.edge_size", 2, 10000000, "must be in [2, 10000000]",
                     &a->edge_size)) != FT_OK)
        return rc;
    a->edge_test_fraction = ft_config_float(cfg, "attack.edge_test_fraction");
    if (!(a->edge_test_fraction > 0 && a->edge_test_fraction < 1))
        return ft_config_error(cfg, "attack.edge_test_fraction", "must be in (0, 1)");
    int64_t k = ft_config_int(cfg, "attack.edge_clusters");
    if (k < 0 || k == 1 || k > FT_EDGE_MAX_CLUSTERS)
        return ft_config_error(cfg, "attack.edge_clusters", "must be 0 (auto) or in [2, %d]",
                               FT_EDGE_MAX_CLUSTERS);
    a->edge_clusters = (int)k;
    int64_t c = ft_config_int(cfg, "attack.edge_components");
    if (c < 1 || c > FT_EDGE_MAX_COMPONENTS)
        return ft_config_error(cfg, "attack.edge_components", "must be in [1, %d]",
                               FT_EDGE_MAX_COMPONENTS);
    a->edge_components = (int)c;
    a->edge_miner = !strcmp(ft_config_str(cfg, "attack.edge_miner"), "density")
                        ? FT_EDGE_MINER_DENSITY
                        : FT_EDGE_MINER_KMEANS;
    /* Ignored by the k-means miner: a run.compare variant may switch a density base
     * (whose scores fedtail run has filled in) back to kmeans. */
    a->edge_scores = ft_config_str(cfg, "attack.edge_scores");
    return FT_OK;
}

/* attack.eps: a radius > 0, or auto (resolved against the defense by the attack). */
static int read_eps(const ft_config_t *cfg, ft_attack_cfg_t *a)
{
    const char *v = ft_config_str(cfg, "attack.eps");
    a->eps_auto = !strcmp(v, "auto");
    a->eps = 0;
    if (a->eps_auto)
        return FT_OK;
    char *end = NULL;
    double e = strtod(v, &end);
    if (!*v || *end || !isfinite(e) || !(e > 0))
        return ft_config_error(cfg, "attack.eps", "must be > 0 or auto, got '%s'", v);
    a->eps = e;
    return FT_OK;
}

/* The keys of the attacks of issue 18 (neurotoxin, trigger shapes, dba, minmax, fang). */
static int read_attack_v2(const ft_config_t *cfg, ft_attack_cfg_t *a)
{
    int rc;
    a->grad_mask = ft_config_bool(cfg, "attack.grad_mask");
    a->neurotoxin_ratio = ft_config_float(cfg, "attack.neurotoxin_ratio");
    if (!(a->neurotoxin_ratio > 0 && a->neurotoxin_ratio <= 1))
        return ft_config_error(cfg, "attack.neurotoxin_ratio", "must be in (0, 1]");
    const char *ts = ft_config_str(cfg, "attack.trigger_shape");
    a->trigger_shape = !strcmp(ts, "square")    ? FT_TRIGGER_SQUARE
                       : !strcmp(ts, "pattern") ? FT_TRIGGER_PATTERN
                       : !strcmp(ts, "pixel")   ? FT_TRIGGER_PIXEL
                       : !strcmp(ts, "blended") ? FT_TRIGGER_BLENDED
                                                : FT_TRIGGER_CHECKERBOARD;
    a->blend_alpha = ft_config_float(cfg, "attack.blend_alpha");
    if (!(a->blend_alpha >= 0 && a->blend_alpha <= 1))
        return ft_config_error(cfg, "attack.blend_alpha", "must be in [0, 1]");
    const char *pt = ft_config_str(cfg, "attack.perturbation");
    a->perturbation = !strcmp(pt, "std")    ? FT_PERTURB_STD
                      : !strcmp(pt, "sign") ? FT_PERTURB_SIGN
                                            : FT_PERTURB_UNIT_VEC;
    a->fang_krum = !strcmp(ft_config_str(cfg, "attack.fang_rule"), "krum");
    if ((rc = read_i(cfg, "attack.trigger_row", -1, 4095, "must be -1 (default) or a row >= 0",
                     &a->trigger_row)) != FT_OK ||
        (rc = read_i(cfg, "attack.trigger_col", -1, 4095, "must be -1 (default) or a column >= 0",
                     &a->trigger_col)) != FT_OK ||
        (rc = read_i(cfg, "attack.dba_parts", 1, 64, "must be in [1, 64]", &a->dba_parts)) !=
            FT_OK ||
        (rc = read_i(cfg, "attack.a3fl_iterations", 1, 100000, "must be in [1, 100000]",
                     &a->a3fl_iterations)) != FT_OK ||
        (rc = read_i(cfg, "attack.a3fl_adv_epochs", 0, 1000, "must be in [0, 1000]",
                     &a->a3fl_adv_epochs)) != FT_OK ||
        (rc = read_nonneg(cfg, "attack.a3fl_trigger_lr", 1, "must be > 0", &a->a3fl_trigger_lr)) !=
            FT_OK ||
        (rc = read_nonneg(cfg, "attack.a3fl_lambda", 0, "must be >= 0", &a->a3fl_lambda)) !=
            FT_OK ||
        (rc = read_i(cfg, "attack.chameleon_epochs", 0, 1000, "must be in [0, 1000]",
                     &a->chameleon_epochs)) != FT_OK ||
        (rc = read_nonneg(cfg, "attack.chameleon_lr", 1, "must be > 0", &a->chameleon_lr)) !=
            FT_OK ||
        (rc = read_nonneg(cfg, "attack.chameleon_temperature", 1, "must be > 0",
                          &a->chameleon_temperature)) != FT_OK ||
        (rc = read_nonneg(cfg, "attack.chameleon_scale", 1, "must be > 0", &a->chameleon_scale)) !=
            FT_OK ||
        (rc = read_nonneg(cfg, "attack.chameleon_norm", 0, "must be >= 0", &a->chameleon_norm)) !=
            FT_OK ||
        (rc = read_nonneg(cfg, "attack.iba_eps", 1, "must be in (0, 1]", &a->iba_eps)) != FT_OK ||
        (rc = read_nonneg(cfg, "attack.iba_lr", 1, "must be > 0", &a->iba_lr)) != FT_OK ||
        (rc = read_i(cfg, "attack.iba_epochs", 0, 10000, "must be in [0, 10000]",
                     &a->iba_epochs)) != FT_OK ||
        (rc = read_i(cfg, "attack.iba_hidden", 1, 4096, "must be in [1, 4096]", &a->iba_hidden)) !=
            FT_OK)
        return rc;
    if (a->iba_eps > 1)
        return ft_config_error(cfg, "attack.iba_eps", "must be in (0, 1]");
    return FT_OK;
}

static int read_attack(const ft_config_t *cfg, const ft_federation_cfg_t *f, ft_attack_cfg_t *a)
{
    int rc;
    a->src = cfg;
    a->method = ft_config_str(cfg, "attack.method");
    a->enabled = strcmp(a->method, "none") != 0;
    const char *ac = ft_config_str(cfg, "attack.attack_case");
    a->attack_case = !strcmp(ac, "almost-edge-case") ? FT_CASE_ALMOST_EDGE
                     : !strcmp(ac, "normal-case")    ? FT_CASE_NORMAL
                                                     : FT_CASE_EDGE;
    if ((rc = read_i(cfg, "attack.source_class", 0, 255, "must be in [0, 256)",
                     &a->source_class)) != FT_OK ||
        (rc = read_i(cfg, "attack.target_class", 0, 255, "must be in [0, 256)",
                     &a->target_class)) != FT_OK ||
        (rc = read_u(cfg, "attack.clean_points", 0, 100000000, "must be >= 0", &a->clean_points)) !=
            FT_OK ||
        (rc = read_u(cfg, "attack.poison_points", 1, 100000000, "must be >= 1",
                     &a->poison_points)) != FT_OK)
        return rc;
    /* Without an attack the holders do not exist: a small federation (num_clients
     * below the default 10 holders) must not fail on them. */
    int64_t v = a->enabled ? ft_config_int(cfg, "attack.honest_edge_holders") : 0;
    if (v < 0 || v > f->num_clients)
        return ft_config_error(cfg, "attack.honest_edge_holders", "must be in [0, %u]",
                               f->num_clients);
    a->honest_edge_holders = (int)v;
    if ((rc = read_eps(cfg, a)) != FT_OK ||
        (rc = read_i(cfg, "attack.project_frequency", 1, 1000000000, "must be >= 1",
                     &a->project_frequency)) != FT_OK ||
        (rc = read_nonneg(cfg, "attack.adv_lr", 0, "must be >= 0 (0: the honest lr)",
                          &a->adv_lr)) != FT_OK ||
        (rc = read_i(cfg, "attack.adv_epochs", 0, 100000, "must be >= 0 (0: the honest epochs)",
                     &a->adv_epochs)) != FT_OK)
        return rc;
    const char *ae = ft_config_str(cfg, "attack.adaptive_eps");
    a->adaptive_eps = !strcmp(ae, "on")    ? FT_ADAPTIVE_EPS_ON
                      : !strcmp(ae, "off") ? FT_ADAPTIVE_EPS_OFF
                                           : FT_ADAPTIVE_EPS_AUTO;
    a->model_replacement = ft_config_bool(cfg, "attack.model_replacement");
    a->clean_from = !strcmp(ft_config_str(cfg, "attack.clean_from"), "train")
                        ? FT_CLEAN_FROM_TRAIN
                        : FT_CLEAN_FROM_PARTITION;
    a->holder_pool = !strcmp(ft_config_str(cfg, "attack.holder_pool"), "disjoint")
                         ? FT_HOLDER_POOL_DISJOINT
                         : FT_HOLDER_POOL_COPIES;
    a->prox = ft_config_bool(cfg, "attack.prox");
    a->trigger_phrase = ft_config_str(cfg, "attack.trigger_phrase");
    a->target_word = ft_config_str(cfg, "attack.target_word");
    if ((rc = read_nonneg(cfg, "attack.scale", 0, "must be >= 0 (0: N_round / n_adv)",
                          &a->scale)) != FT_OK ||
        (rc = read_nonneg(cfg, "attack.prox_mu", 0, "must be >= 0", &a->prox_mu)) != FT_OK ||
        (rc = read_i(cfg, "attack.trigger_size", 1, 64, "must be in [1, 64]", &a->trigger_size)) !=
            FT_OK ||
        (rc = read_nonneg(cfg, "attack.noise_std", 0, "must be >= 0", &a->noise_std)) != FT_OK ||
        (rc = read_nonneg(cfg, "attack.alie_z", 0, "must be >= 0 (0: Baruch et al.'s z_max)",
                          &a->alie_z)) != FT_OK ||
        (rc = read_nonneg(cfg, "attack.ipm_epsilon", 0, "must be >= 0", &a->ipm_epsilon)) !=
            FT_OK ||
        (rc = read_i(cfg, "attack.num_benign_estimates", 1, 1000, "must be in [1, 1000]",
                     &a->num_benign_estimates)) != FT_OK ||
        (rc = read_schedule(cfg, f, a)) != FT_OK || (rc = read_edge(cfg, a)) != FT_OK ||
        (rc = read_attack_v2(cfg, a)) != FT_OK)
        return rc;
    /* Honest holders are the lowest ids, attackers the top ones: they must not meet. */
    int holders = a->honest_edge_holders, n = (int)f->num_clients;
    if (a->fl_mode == FT_FL_FIXED_POOL && holders + a->attacker_pool_size > n)
        return ft_config_error(cfg, "attack.honest_edge_holders",
                               "honest holders (lowest ids) and the attacker pool (top ids) "
                               "overlap: %d + %d > num_clients %d",
                               holders, a->attacker_pool_size, n);
    if (a->fl_mode != FT_FL_FIXED_POOL && holders >= n && a->attack_case != FT_CASE_EDGE)
        return ft_config_error(cfg, "attack.honest_edge_holders",
                               "must leave the top id (the attacker) out: < %d", n);
    return FT_OK;
}

static void read_defense(const ft_config_t *cfg, ft_defense_cfg_t *d)
{
    d->src = cfg;
    d->name = ft_config_str(cfg, "defense.name");
    d->plugin = ft_config_str(cfg, "defense.plugin");
    if (d->plugin[0]) /* the rule is the plug-in's; ft_defense_check refuses another name */
        d->name = "plugin";
    d->norm_bound = ft_config_float(cfg, "defense.norm_bound");
    d->stddev = ft_config_float(cfg, "defense.stddev");
    d->f = ft_config_int(cfg, "defense.f");
    d->m = ft_config_int(cfg, "defense.m");
    d->beta = ft_config_float(cfg, "defense.beta");
    d->maxiter = ft_config_int(cfg, "defense.maxiter");
    d->nu = ft_config_float(cfg, "defense.nu");
    d->ftol = ft_config_float(cfg, "defense.ftol");
    d->tau = ft_config_float(cfg, "defense.tau");
    d->cc_iters = ft_config_int(cfg, "defense.cc_iters");
    d->root_size = ft_config_int(cfg, "defense.root_size");
    d->fg_confidence = ft_config_float(cfg, "defense.fg_confidence");
    d->theta = ft_config_int(cfg, "defense.theta");
    d->inner = ft_config_str(cfg, "defense.inner");
    d->bucket_size = ft_config_int(cfg, "defense.bucket_size");
    d->dnc_iters = ft_config_int(cfg, "defense.dnc_iters");
    d->dnc_b = ft_config_int(cfg, "defense.dnc_b");
    d->dnc_c = ft_config_float(cfg, "defense.dnc_c");
    d->sg_lower = ft_config_float(cfg, "defense.sg_lower");
    d->sg_upper = ft_config_float(cfg, "defense.sg_upper");
    d->sg_fraction = ft_config_float(cfg, "defense.sg_fraction");
    d->flame_lambda = ft_config_float(cfg, "defense.flame_lambda");
    d->rflbat_eps1 = ft_config_float(cfg, "defense.rflbat_eps1");
    d->rflbat_eps2 = ft_config_float(cfg, "defense.rflbat_eps2");
    d->fld_window = ft_config_int(cfg, "defense.fld_window");
    d->fld_start = ft_config_int(cfg, "defense.fld_start");
    d->lasa_sparsity = ft_config_float(cfg, "defense.lasa_sparsity");
    d->lasa_norm_z = ft_config_float(cfg, "defense.lasa_norm_z");
    d->lasa_sign_z = ft_config_float(cfg, "defense.lasa_sign_z");
    d->ds_tau = ft_config_float(cfg, "defense.ds_tau");
    d->ds_seeds = ft_config_int(cfg, "defense.ds_seeds");
    d->ds_samples = ft_config_int(cfg, "defense.ds_samples");
    d->flare_k = ft_config_float(cfg, "defense.flare_k");
    d->flare_samples = ft_config_int(cfg, "defense.flare_samples");
    d->flare_sigma = ft_config_float(cfg, "defense.flare_sigma");
}

/* run.device: cpu, reference, cuda or cuda:N (N in [0, 1023]). Whether the device
 * exists is the kernels' business (ft_ops_for_device). */
static int check_device(const ft_config_t *cfg, const char *dev)
{
    if (!strcmp(dev, "cpu") || !strcmp(dev, "reference") || !strcmp(dev, "cuda"))
        return FT_OK;
    int ok = strncmp(dev, "cuda:", 5) == 0;
    if (ok) {
        const char *num = dev + 5;
        int digits = 0;
        while (num[digits] >= '0' && num[digits] <= '9')
            digits++;
        ok = digits > 0 && digits <= 4 && !num[digits] && atoi(num) <= 1023;
    }
    if (!ok)
        return ft_config_error(cfg, "run.device", "'%s': expected cpu, reference, cuda or cuda:N",
                               dev);
    return FT_OK;
}

/* run.seeds: "" (one run with run.seed), or comma-separated distinct integers in
 * [0, 2^63-1], at most FT_MAX_SEEDS, spaces around each allowed. */
static int read_seeds(const ft_config_t *cfg, ft_run_cfg_t *r)
{
    const char *p = ft_config_str(cfg, "run.seeds");
    r->num_seeds = 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return FT_OK;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        uint64_t v = 0;
        int digits = 0;
        for (; *p >= '0' && *p <= '9'; p++, digits++) {
            if (v > (UINT64_C(0x7fffffffffffffff) - (uint64_t)(*p - '0')) / 10)
                return ft_config_error(cfg, "run.seeds", "a seed exceeds 2^63-1");
            v = v * 10 + (uint64_t)(*p - '0');
        }
        while (*p == ' ' || *p == '\t')
            p++;
        if (digits == 0 || (*p && *p != ','))
            return ft_config_error(cfg, "run.seeds",
                                   digits ? "expected comma-separated integers"
                                          : "an empty or non-integer entry (expected e.g. 1,2,3)");
        for (int i = 0; i < r->num_seeds; i++)
            if (r->seeds[i] == v)
                return ft_config_error(cfg, "run.seeds", "seed %llu is listed twice",
                                       (unsigned long long)v);
        if (r->num_seeds == FT_MAX_SEEDS)
            return ft_config_error(cfg, "run.seeds", "at most %d seeds", FT_MAX_SEEDS);
        r->seeds[r->num_seeds++] = v;
        if (!*p)
            return FT_OK;
        p++; /* the comma */
    }
}

static int read_run(const ft_config_t *cfg, ft_run_cfg_t *r)
{
    int rc;
    r->src = cfg;
    r->seed = (uint64_t)ft_config_int(cfg, "run.seed");
    if ((rc = read_seeds(cfg, r)) != FT_OK)
        return rc;
    r->device = ft_config_str(cfg, "run.device");
    r->save_updates = ft_config_bool(cfg, "run.save_updates");
    r->eval_async = ft_config_bool(cfg, "run.eval_async");
    r->compare = ft_config_str(cfg, "run.compare");
    r->cache_dir = ft_config_str(cfg, "run.cache_dir");
    r->on_nonfinite = !strcmp(ft_config_str(cfg, "run.on_nonfinite"), "continue")
                          ? FT_NONFINITE_CONTINUE
                          : FT_NONFINITE_STOP;
    if ((rc = read_i(cfg, "run.threads", 1, 1024, "must lie in 1..1024", &r->threads)) != FT_OK ||
        (rc = check_device(cfg, r->device)) != FT_OK ||
        (rc = read_i(cfg, "run.batch_clients", 0, 256,
                     "must lie in 0..256 (1: one by one, 0: as many as fit the GPU's memory)",
                     &r->batch_clients)) != FT_OK ||
        (rc = read_i(cfg, "run.checkpoint_every", 0, 1000000000, "must be >= 0 (0: no checkpoints)",
                     &r->checkpoint_every)) != FT_OK ||
        (rc = read_i(cfg, "run.eval_batch", 1, 65536, "must lie in 1..65536", &r->eval_batch)) !=
            FT_OK)
        return rc;
    return read_i(cfg, "run.max_message_mb", 1, 1 << 20, "must be in [1, 1048576]",
                  &r->max_message_mb);
}

static int read_security(const ft_config_t *cfg, const ft_federation_cfg_t *f,
                         const ft_run_cfg_t *r, ft_security_cfg_t *s)
{
    s->src = cfg;
    s->curve = ft_config_bool(cfg, "security.curve");
    s->server_secret_key = ft_config_str(cfg, "security.server_secret_key");
    s->server_public_key = ft_config_str(cfg, "security.server_public_key");
    s->client_secret_key = ft_config_str(cfg, "security.client_secret_key");
    s->client_public_key = ft_config_str(cfg, "security.client_public_key");
    s->authorized_clients = ft_config_str(cfg, "security.authorized_clients");
    s->secure_aggregation = ft_config_bool(cfg, "security.secure_aggregation");
    s->secagg_threshold = ft_config_float(cfg, "security.secagg_threshold");
    s->secagg_clip = ft_config_float(cfg, "security.secagg_clip");
    int rc;
    if ((rc = read_i(cfg, "security.secagg_scale_bits", 1, 30, "must lie in [1, 30]",
                     &s->secagg_scale_bits)) != FT_OK)
        return rc;
    if (!(s->secagg_threshold > 0 && s->secagg_threshold < 1))
        return ft_config_error(cfg, "security.secagg_threshold", "must lie in (0, 1)");
    if (!(s->secagg_clip > 0) || !isfinite(s->secagg_clip))
        return ft_config_error(cfg, "security.secagg_clip", "must be a positive number");
    if (!s->secure_aggregation)
        return FT_OK;
    /* Shamir over GF(2^8) gives at most 255 share points (secagg/ft_shamir.h), and
     * one client alone would be its own sum. */
    if (f->clients_per_round < 2 || f->clients_per_round > 255)
        return ft_config_error(cfg, "federation.clients_per_round",
                               "must lie in [2, 255] with security.secure_aggregation (Shamir "
                               "shares over GF(2^8))");
    /* The ring sum must not wrap (secagg/ft_fixed.h). */
    double worst =
        (double)f->clients_per_round * (s->secagg_clip * ldexp(1.0, s->secagg_scale_bits) + 0.5);
    if (worst >= 2147483648.0)
        return ft_config_error(cfg, "security.secagg_clip",
                               "%u clients at clip %g and scale 2^%d can sum past 2^31 in Z_2^32: "
                               "lower security.secagg_clip or security.secagg_scale_bits",
                               f->clients_per_round, s->secagg_clip, s->secagg_scale_bits);
    if (r->save_updates)
        return ft_config_error(cfg, "run.save_updates",
                               "cannot be on with security.secure_aggregation: the coordinator "
                               "never sees an individual update");
    return FT_OK;
}

int ft_experiment_read(const ft_config_t *cfg, ft_experiment_t *exp)
{
    memset(exp, 0, sizeof *exp);
    exp->src = cfg;
    exp->model = (ft_model_cfg_t){.src = cfg,
                                  .name = ft_config_str(cfg, "model.name"),
                                  .hidden = ft_config_str(cfg, "model.hidden"),
                                  .tied = ft_config_bool(cfg, "model.tied")};
    read_defense(cfg, &exp->defense);
    int rc;
    if ((rc = read_i(cfg, "model.embedding", 1, 65536, "must be in [1, 65536]",
                     &exp->model.embedding)) != FT_OK ||
        (rc = read_i(cfg, "model.layers", 1, 16, "must be in [1, 16]", &exp->model.layers)) !=
            FT_OK ||
        (rc = read_nonneg(cfg, "model.dropout", 0, "must be in [0, 1)", &exp->model.dropout)) !=
            FT_OK)
        return rc;
    if (exp->model.dropout >= 1.0)
        return ft_config_error(cfg, "model.dropout", "must be in [0, 1)");
    if ((rc = read_federation(cfg, &exp->federation)) != FT_OK ||
        (rc = read_run(cfg, &exp->run)) != FT_OK || (rc = read_data(cfg, &exp->data)) != FT_OK ||
        (rc = read_train(cfg, &exp->train)) != FT_OK ||
        (rc = read_attack(cfg, &exp->federation, &exp->attack)) != FT_OK ||
        (rc = read_security(cfg, &exp->federation, &exp->run, &exp->security)) != FT_OK)
        return rc;
    /* tweets are classified, other text is predicted word by word */
    int sent_model = !strcmp(exp->model.name, "lstm-sentiment");
    if (sent_model != !strcmp(exp->data.dataset, "sentiment140"))
        return ft_config_error(cfg, "model.name",
                               sent_model ? "lstm-sentiment needs data.dataset = sentiment140"
                                          : "data.dataset = sentiment140 needs model.name = "
                                            "lstm-sentiment");
    return FT_OK;
}
