/* fuzz_config: libFuzzer target for experiment-file parsing (common/ft_config) and
 * the typed, range-checked experiment read from it (common/ft_experiment).
 *
 * The input is the text of an experiment file. ft_config_load_string must accept it
 * or reject it with FT_ECONFIG/FT_ENOMEM and a message; an accepted file is
 * rendered with ft_config_to_ini, and that text must load into a fresh config and
 * render to the same text again (what fedtail writes as config.ini and sends in a
 * Welcome is read back identically). ft_experiment_read of an accepted config must
 * accept it or refuse it with FT_ECONFIG and a message naming a key; an accepted
 * experiment keeps the ranges ft_experiment.h states, and the reloaded config reads
 * into the same experiment, value for value (a client reading the Welcome's config
 * runs the coordinator's experiment). Seeds: fuzz/corpus/fuzz_config. */
#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_error.h"
#include "ft_experiment.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_config: invariant broken: %s (%s)\n", what, ft_error_message());
    abort();
}

/* Appends printf-style text to a fixed buffer (truncation only shortens both sides
 * of a comparison alike). */
typedef struct {
    char text[8192]; /* what was written */
    size_t len;      /* bytes of text used */
} desc_t;

__attribute__((format(printf, 2, 3))) static void put(desc_t *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->text + d->len, sizeof d->text - d->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        d->len += (size_t)n < sizeof d->text - d->len ? (size_t)n : sizeof d->text - d->len - 1;
}

/* Every value of an experiment as text (%a: doubles bit for bit). */
static void describe(const ft_experiment_t *e, desc_t *d)
{
    const ft_federation_cfg_t *f = &e->federation;
    put(d, "fed %u %u %d %d %d %a %a %a %a %d %a %d %d %d %s %a %d %d %a\n", f->num_clients,
        f->clients_per_round, f->rounds, f->local_epochs, f->batch_size, f->lr, f->lr_decay,
        f->momentum, f->weight_decay, (int)f->partition, f->alpha, f->min_size,
        f->shards_per_client, f->eval_every, f->init, f->round_timeout, f->min_clients,
        f->max_round_retries, f->heartbeat_s);
    const ft_data_cfg_t *da = &e->data;
    put(d, "data %s %s %d %d %u %u %u %u %d %d %d", da->dataset, da->path, da->num_mean,
        da->num_std, da->train_limit, da->test_limit, da->synthetic_train, da->synthetic_test,
        da->synthetic_shape[0], da->synthetic_shape[1], da->synthetic_shape[2]);
    for (int i = 0; i < da->num_mean; i++)
        put(d, " m%a", da->mean[i]);
    for (int i = 0; i < da->num_std; i++)
        put(d, " s%a", da->std[i]);
    put(d, "\nmodel %s %s\n", e->model.name, e->model.hidden);
    const ft_train_cfg_t *t = &e->train;
    put(d, "train %d %d %a %a %a\n", t->epochs, t->batch_size, t->lr, t->momentum, t->weight_decay);
    const ft_attack_cfg_t *a = &e->attack;
    put(d,
        "attack %s %d %d %d %d %u %u %d %a %d %a %d %d %a %d %a %d %a %a %a %d %d %d %d %d "
        "%d %d %s %u %a %d %d\n",
        a->method, a->enabled, (int)a->attack_case, a->source_class, a->target_class,
        a->clean_points, a->poison_points, a->honest_edge_holders, a->eps, a->project_frequency,
        a->adv_lr, a->adv_epochs, a->model_replacement, a->scale, a->prox, a->prox_mu,
        a->trigger_size, a->noise_std, a->alie_z, a->ipm_epsilon, a->num_benign_estimates,
        (int)a->fl_mode, a->attack_freq, a->attack_from, a->attack_until, a->attacker_pool_size,
        (int)a->edge_source, a->edge_file, a->edge_size, a->edge_test_fraction, a->edge_clusters,
        a->edge_components);
    const ft_defense_cfg_t *df = &e->defense;
    put(d, "defense %s %a %a %lld %lld %a %lld %a %a %a %lld %lld %a\n", df->name, df->norm_bound,
        df->stddev, (long long)df->f, (long long)df->m, df->beta, (long long)df->maxiter, df->nu,
        df->ftol, df->tau, (long long)df->cc_iters, (long long)df->root_size, df->fg_confidence);
    const ft_run_cfg_t *r = &e->run;
    put(d, "run %llu %d %s %d %d %d %d %s %s %d\n", (unsigned long long)r->seed, r->threads,
        r->device, r->checkpoint_every, r->save_updates, r->eval_batch, r->eval_async, r->compare,
        r->cache_dir, r->max_message_mb);
    const ft_security_cfg_t *s = &e->security;
    put(d, "security %d %s %s %s %s %s\n", s->curve, s->server_secret_key, s->server_public_key,
        s->client_secret_key, s->client_public_key, s->authorized_clients);
}

/* The ranges ft_experiment.h promises of an accepted experiment. */
static void check_ranges(const ft_experiment_t *e)
{
    const ft_federation_cfg_t *f = &e->federation;
    const ft_attack_cfg_t *a = &e->attack;
    if (f->num_clients < 1 || f->num_clients > 1000000 || f->clients_per_round < 1 ||
        f->clients_per_round > f->num_clients || f->min_clients < 1 ||
        (uint32_t)f->min_clients > f->clients_per_round || f->rounds < 1 || f->local_epochs < 1 ||
        f->batch_size < 1 || f->batch_size > 65536 || !(f->lr > 0) || !(f->lr_decay > 0) ||
        !(f->momentum >= 0) || !(f->weight_decay >= 0) || !(f->alpha > 0) || f->min_size < 0 ||
        f->shards_per_client < 1 || f->eval_every < 1 || !(f->round_timeout > 0) ||
        f->max_round_retries < 0 || !(f->heartbeat_s > 0))
        broken("accepted [federation] value out of its range");
    const ft_data_cfg_t *da = &e->data;
    if (da->num_mean < 0 || da->num_mean > FT_MAX_CHANNELS || da->num_std < 0 ||
        da->num_std > FT_MAX_CHANNELS || da->synthetic_train < 1 || da->synthetic_test < 1 ||
        da->synthetic_shape[0] < 1 || da->synthetic_shape[0] > FT_MAX_CHANNELS ||
        da->synthetic_shape[1] < 1 || da->synthetic_shape[1] > 1024 || da->synthetic_shape[2] < 1 ||
        da->synthetic_shape[2] > 1024)
        broken("accepted [data] value out of its range");
    for (int i = 0; i < da->num_std; i++)
        if (!(da->std[i] > 0))
            broken("accepted a data.std <= 0");
    const ft_train_cfg_t *t = &e->train;
    if (t->epochs < 1 || t->batch_size < 1 || t->batch_size > 65536 || !(t->lr > 0) ||
        !(t->momentum >= 0 && t->momentum < 1) || !(t->weight_decay >= 0))
        broken("accepted [train] value out of its range");
    /* attack.eps = auto leaves eps 0 */
    double eps_ok = a->eps_auto ? 1 : a->eps;
    if (a->source_class < 0 || a->source_class > 255 || a->target_class < 0 ||
        a->target_class > 255 || a->poison_points < 1 || a->honest_edge_holders < 0 ||
        (uint32_t)a->honest_edge_holders > f->num_clients ||
        (!a->enabled && a->honest_edge_holders) || !(eps_ok > 0) || a->project_frequency < 1 ||
        !(a->adv_lr >= 0) || a->adv_epochs < 0 || !(a->scale >= 0) || !(a->prox_mu >= 0) ||
        a->trigger_size < 1 || a->trigger_size > 64 || !(a->noise_std >= 0) || !(a->alie_z >= 0) ||
        !(a->ipm_epsilon >= 0) || a->num_benign_estimates < 1 || a->num_benign_estimates > 1000 ||
        a->attack_freq < 1 || a->attack_from < 1 || a->attack_until < 1 ||
        a->attacker_pool_size < 1 || (uint32_t)a->attacker_pool_size > f->num_clients ||
        a->edge_size < 2 || !(a->edge_test_fraction > 0 && a->edge_test_fraction < 1) ||
        a->edge_clusters < 0 || a->edge_clusters == 1 || a->edge_clusters > FT_EDGE_MAX_CLUSTERS ||
        a->edge_components < 1 || a->edge_components > FT_EDGE_MAX_COMPONENTS ||
        (a->edge_source == FT_EDGE_FILE && !a->edge_file[0]))
        broken("accepted [attack] value out of its range");
    const ft_run_cfg_t *r = &e->run;
    if (r->threads < 1 || r->threads > 1024 || r->checkpoint_every < 0 || r->eval_batch < 1 ||
        r->eval_batch > 65536 || r->max_message_mb < 1 || r->max_message_mb > (1 << 20))
        broken("accepted [run] value out of its range");
}

/* ft_experiment_read of a loaded config; returns its code after checking it. */
static int read_checked(const ft_config_t *cfg, ft_experiment_t *e)
{
    int rc = ft_experiment_read(cfg, e);
    if (rc == FT_OK) {
        check_ranges(e);
    } else if (rc != FT_ECONFIG) {
        broken("ft_experiment_read: unexpected error code");
    } else if (!strstr(ft_error_message(), "key ")) {
        broken("ft_experiment_read: the message names no key");
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Files with NUL bytes are refused by ft_config_load_file before parsing. */
    if (memchr(data, '\0', size))
        return 0;
    char *text = ft_malloc(size + 1);
    ft_config_t *cfg = ft_config_new();
    ft_config_t *back = NULL;
    char *ini = NULL, *ini2 = NULL;
    if (!text || !cfg)
        goto out;
    memcpy(text, data, size);
    text[size] = '\0';
    int rc = ft_config_load_string(cfg, text, "fuzz.ini");
    if (rc != FT_OK) {
        if (rc != FT_ECONFIG && rc != FT_ENOMEM)
            broken("unexpected error code");
        goto out;
    }
    ini = ft_config_to_ini(cfg);
    back = ft_config_new();
    if (!ini || !back)
        goto out;
    if (ft_config_load_string(back, ini, "config.ini") != FT_OK)
        broken("rendered config does not load");
    ini2 = ft_config_to_ini(back);
    if (ini2 && strcmp(ini, ini2) != 0)
        broken("rendered config changes when loaded and rendered again");
    ft_experiment_t exp, exp_back;
    rc = read_checked(cfg, &exp);
    if (read_checked(back, &exp_back) != rc)
        broken("the reloaded config is judged differently by ft_experiment_read");
    if (rc == FT_OK) {
        static desc_t d1, d2;
        d1.len = d2.len = 0;
        describe(&exp, &d1);
        describe(&exp_back, &d2);
        if (strcmp(d1.text, d2.text) != 0)
            broken("the reloaded config reads into another experiment");
    }
out:
    ft_free(ini2);
    ft_free(ini);
    ft_config_destroy(&back);
    ft_config_destroy(&cfg);
    ft_free(text);
    return 0;
}
