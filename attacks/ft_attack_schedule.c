/* ft_attack_schedule: which sampled clients attack in which round, and validation of
 * the [attack] keys.
 *
 * Schedules follow the paper's code (ksreenivasan/OOD_Federated_Learning,
 * simulated_averaging.py / fl_trainer.py): fixed-freq attacks in rounds
 * (t - attack_from) % attack_freq == 0 with one attacker that joins K-1 sampled
 * honest clients (FrequencyFederatedLearningTrainer); fixed-pool keeps a pool of
 * attacker ids that attack whenever sampled (FixedPoolFederatedLearningTrainer).
 * Here attackers are the TOP client ids (honest edge holders are the lowest), and
 * every draw comes from the stream (seed, round, 0, FT_RNG_ATTACK). */
#include <stdio.h>
#include <string.h>

#include "ft_attack.h"
#include "ft_error.h"

int ft_attack_params_from_config(const ft_config_t *cfg, int num_classes, ft_attack_params_t *out)
{
    ft_attack_params_t p;
    memset(&p, 0, sizeof p);
    const char *m = ft_config_str(cfg, "attack.method");
    if (strcmp(m, "none") != 0 && !ft_attack_find(m)) {
        char names[256] = "none";
        for (int i = 0; ft_attack_registry[i]; i++) {
            size_t l = strlen(names);
            snprintf(names + l, sizeof names - l, "|%s", ft_attack_registry[i]->name);
        }
        return ft_config_error(cfg, "attack.method", "unknown attack '%s' (expected %s)", m, names);
    }
    snprintf(p.method, sizeof p.method, "%s", m);
    const char *ac = ft_config_str(cfg, "attack.attack_case");
    p.attack_case = !strcmp(ac, "almost-edge-case") ? FT_CASE_ALMOST_EDGE
                    : !strcmp(ac, "normal-case")    ? FT_CASE_NORMAL
                                                    : FT_CASE_EDGE;
    int64_t lim = num_classes > 0 ? num_classes : 256;
    int64_t sc = ft_config_int(cfg, "attack.source_class");
    int64_t tc = ft_config_int(cfg, "attack.target_class");
    if (sc < 0 || sc >= lim)
        return ft_config_error(cfg, "attack.source_class", "must be in [0, %lld)", (long long)lim);
    if (tc < 0 || tc >= lim)
        return ft_config_error(cfg, "attack.target_class", "must be in [0, %lld)", (long long)lim);
    p.source_class = (int)sc;
    p.target_class = (int)tc;
    int64_t v = ft_config_int(cfg, "attack.clean_points");
    if (v < 0 || v > 100000000)
        return ft_config_error(cfg, "attack.clean_points", "must be >= 0");
    p.clean_points = (uint32_t)v;
    v = ft_config_int(cfg, "attack.poison_points");
    if (v < 1 || v > 100000000)
        return ft_config_error(cfg, "attack.poison_points", "must be >= 1");
    p.poison_points = (uint32_t)v;
    int64_t nc = ft_config_int(cfg, "federation.num_clients");
    p.num_clients = (int)nc;
    p.clients_per_round = (int)ft_config_int(cfg, "federation.clients_per_round");
    v = ft_config_int(cfg, "attack.honest_edge_holders");
    /* Without an attack the holders do not exist: a small federation (num_clients
     * below the default 10 holders) must not fail on them. */
    int attacking = strcmp(m, "none") != 0;
    if (!attacking)
        v = 0;
    if (v < 0 || v > nc)
        return ft_config_error(cfg, "attack.honest_edge_holders", "must be in [0, %lld]",
                               (long long)nc);
    p.honest_edge_holders = (int)v;
    p.eps = ft_config_float(cfg, "attack.eps");
    if (!(p.eps > 0))
        return ft_config_error(cfg, "attack.eps", "must be > 0");
    v = ft_config_int(cfg, "attack.project_frequency");
    if (v < 1 || v > 1000000000)
        return ft_config_error(cfg, "attack.project_frequency", "must be >= 1");
    p.project_frequency = (int)v;
    p.adv_lr = ft_config_float(cfg, "attack.adv_lr");
    if (!(p.adv_lr >= 0))
        return ft_config_error(cfg, "attack.adv_lr", "must be >= 0 (0: the honest lr)");
    v = ft_config_int(cfg, "attack.adv_epochs");
    if (v < 0 || v > 100000)
        return ft_config_error(cfg, "attack.adv_epochs", "must be >= 0 (0: the honest epochs)");
    p.adv_epochs = (int)v;
    p.model_replacement = ft_config_bool(cfg, "attack.model_replacement");
    p.scale = ft_config_float(cfg, "attack.scale");
    if (!(p.scale >= 0))
        return ft_config_error(cfg, "attack.scale", "must be >= 0 (0: N_round / n_adv)");
    p.prox = ft_config_bool(cfg, "attack.prox");
    p.prox_mu = ft_config_float(cfg, "attack.prox_mu");
    if (!(p.prox_mu >= 0))
        return ft_config_error(cfg, "attack.prox_mu", "must be >= 0");
    v = ft_config_int(cfg, "attack.trigger_size");
    if (v < 1 || v > 64)
        return ft_config_error(cfg, "attack.trigger_size", "must be in [1, 64]");
    p.trigger_size = (int)v;
    p.noise_std = ft_config_float(cfg, "attack.noise_std");
    if (!(p.noise_std >= 0))
        return ft_config_error(cfg, "attack.noise_std", "must be >= 0");
    p.alie_z = ft_config_float(cfg, "attack.alie_z");
    if (!(p.alie_z >= 0))
        return ft_config_error(cfg, "attack.alie_z", "must be >= 0 (0: Baruch et al.'s z_max)");
    p.ipm_epsilon = ft_config_float(cfg, "attack.ipm_epsilon");
    if (!(p.ipm_epsilon >= 0))
        return ft_config_error(cfg, "attack.ipm_epsilon", "must be >= 0");
    v = ft_config_int(cfg, "attack.num_benign_estimates");
    if (v < 1 || v > 1000)
        return ft_config_error(cfg, "attack.num_benign_estimates", "must be in [1, 1000]");
    p.num_benign_estimates = (int)v;
    p.base_lr = ft_config_float(cfg, "federation.lr");
    p.seed = (uint64_t)ft_config_int(cfg, "run.seed");
    ft_attack_schedule_t s;
    int rc = ft_attack_schedule_from_config(cfg, &s);
    if (rc < 0)
        return rc;
    if (s.mode == FT_FL_FIXED_POOL && p.honest_edge_holders + s.pool_size > nc)
        return ft_config_error(cfg, "attack.honest_edge_holders",
                               "honest holders (lowest ids) and the attacker pool (top ids) "
                               "overlap: %d + %d > num_clients %lld",
                               p.honest_edge_holders, s.pool_size, (long long)nc);
    if (s.mode != FT_FL_FIXED_POOL && p.honest_edge_holders >= nc && p.attack_case != FT_CASE_EDGE)
        return ft_config_error(cfg, "attack.honest_edge_holders",
                               "must leave the top id (the attacker) out: < %lld", (long long)nc);
    if (out)
        *out = p;
    return FT_OK;
}

int ft_attack_schedule_from_config(const ft_config_t *cfg, ft_attack_schedule_t *s)
{
    memset(s, 0, sizeof *s);
    s->enabled = strcmp(ft_config_str(cfg, "attack.method"), "none") != 0;
    const char *mode = ft_config_str(cfg, "attack.fl_mode");
    s->mode = !strcmp(mode, "fixed-pool")    ? FT_FL_FIXED_POOL
              : !strcmp(mode, "every-round") ? FT_FL_EVERY_ROUND
                                             : FT_FL_FIXED_FREQ;
    int64_t nc = ft_config_int(cfg, "federation.num_clients");
    int64_t rounds = ft_config_int(cfg, "federation.rounds");
    s->num_clients = (int)nc;
    int64_t v = ft_config_int(cfg, "attack.attack_freq");
    if (v < 1 || v > 1000000000)
        return ft_config_error(cfg, "attack.attack_freq", "must be >= 1");
    s->attack_freq = (int)v;
    v = ft_config_int(cfg, "attack.attack_from");
    if (v < 1 || v > 1000000000)
        return ft_config_error(cfg, "attack.attack_from", "must be >= 1 (rounds are 1-based)");
    s->attack_from = (int)v;
    v = ft_config_int(cfg, "attack.attack_until");
    if (v < 0 || v > 1000000000)
        return ft_config_error(cfg, "attack.attack_until", "must be >= 0 (0: the last round)");
    s->attack_until = v ? (int)v : (int)rounds;
    v = ft_config_int(cfg, "attack.attacker_pool_size");
    if (v < 1 || v > nc)
        return ft_config_error(cfg, "attack.attacker_pool_size", "must be in [1, %lld]",
                               (long long)nc);
    s->pool_size = (int)v;
    s->seed = (uint64_t)ft_config_int(cfg, "run.seed");
    return FT_OK;
}

int ft_attack_round_active(const ft_attack_schedule_t *s, int round)
{
    if (!s->enabled || round < s->attack_from || round > s->attack_until)
        return 0;
    if (s->mode == FT_FL_FIXED_FREQ)
        return (round - s->attack_from) % s->attack_freq == 0;
    return 1;
}

uint32_t ft_attack_attacker_id(const ft_attack_schedule_t *s)
{
    return (uint32_t)(s->num_clients - 1);
}

int ft_attack_schedule(const ft_attack_schedule_t *s, int round, uint32_t *ids, size_t K,
                       uint8_t *is_attacker)
{
    memset(is_attacker, 0, K);
    if (K == 0 || !ft_attack_round_active(s, round))
        return 0;
    if (s->mode == FT_FL_FIXED_POOL) {
        int n = 0;
        uint32_t first = (uint32_t)(s->num_clients - s->pool_size);
        for (size_t k = 0; k < K; k++)
            if (ids[k] >= first) {
                is_attacker[k] = 1;
                n++;
            }
        return n;
    }
    uint32_t a = ft_attack_attacker_id(s);
    for (size_t k = 0; k < K; k++)
        if (ids[k] == a) {
            is_attacker[k] = 1;
            return 1;
        }
    ft_rng_t rng;
    ft_rng_init(&rng, s->seed, (uint32_t)round, 0, FT_RNG_ATTACK);
    uint32_t j = ft_rng_below(&rng, (uint32_t)K);
    ids[j] = a;
    is_attacker[j] = 1;
    return 1;
}
