/* ft_pretrain_cache: the pre-trained starting model, trained once per digest. */
#include "ft_pretrain_cache.h"

#include "ft_alloc.h"
#include "ft_cli.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_fileio.h"
#include "ft_dataset_load.h"
#include "ft_feature_density.h"
#include "ft_readers.h"
#include "ft_scenario.h"
#include "ft_sha256.h"
#include "ft_variants.h"

#include <stdio.h>
#include <string.h>

/* The cache key: the text of every key that shapes the model, and the pool. */
static int cache_digest(const ft_config_t *cfg, const uint32_t *pool, uint32_t pool_n,
                        char hex[2 * FT_SHA256_LEN + 1])
{
    ft_sha256_ctx_t *h = ft_sha256_new();
    if (!h)
        return ft_error_set(FT_ENOMEM, "out of memory");
    for (int i = 0; ft_config_schema[i].name; i++) {
        const char *k = ft_config_schema[i].name;
        if (strncmp(k, "data.", 5) && strncmp(k, "model.", 6) && strncmp(k, "train.", 6) &&
            strcmp(k, "run.seed"))
            continue;
        const char *v = ft_config_text(cfg, k);
        ft_sha256_update(h, k, strlen(k) + 1);
        ft_sha256_update(h, v, strlen(v) + 1);
    }
    if (pool)
        ft_sha256_update(h, pool, (size_t)pool_n * sizeof *pool);
    uint8_t digest[FT_SHA256_LEN];
    ft_sha256_final(h, digest);
    ft_sha256_destroy(&h);
    ft_sha256_hex(digest, hex);
    return FT_OK;
}

/* The cached model trained on the pool (NULL: the whole training set) into ckpt. */
static int cached_model(const ft_config_t *cfg, const ft_experiment_t *exp, const uint32_t *pool,
                        uint32_t pool_n, int quiet, char *ckpt, size_t len)
{
    char hex[2 * FT_SHA256_LEN + 1];
    int rc = cache_digest(cfg, pool, pool_n, hex);
    if (rc != FT_OK)
        return rc;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/pretrain-%s-%.12s", exp->run.cache_dir, exp->model.name, hex);
    snprintf(ckpt, len, "%s/model.ckpt", dir);
    if (ft_path_exists(ckpt)) {
        if (!quiet)
            fprintf(stderr, "fedtail run: reusing the pre-trained model %s\n", ckpt);
        return FT_OK;
    }
    if (!quiet)
        fprintf(stderr, "fedtail run: pre-training %s on %s (%d epochs%s) into %s\n",
                exp->model.name, exp->data.dataset, exp->train.epochs,
                pool ? ", edge-case points held out" : "", dir);
    rc = ft_cli_pretrain(exp, dir, quiet, 0, pool, pool_n);
    if (rc != FT_OK)
        return rc;
    /* What the model was trained on, for whoever checks the cache later. */
    char meta[1200], text[128];
    snprintf(meta, sizeof meta, "%s/pool.json", dir);
    int n = pool ? snprintf(text, sizeof text, "{\"held_out\":true,\"pool_n\":%u}\n", pool_n)
                 : snprintf(text, sizeof text, "{\"held_out\":false}\n");
    return ft_write_file_atomic(meta, text, (size_t)n);
}

int ft_pretrain_cached(ft_config_t *cfg, int quiet)
{
    ft_experiment_t exp;
    uint32_t *pool = NULL, pool_n = 0;
    char ckpt[1100];
    int rc = ft_experiment_read(cfg, &exp);
    if (rc == FT_OK)
        rc = ft_scenario_pretrain_pool(&exp, &pool, &pool_n);
    if (rc == FT_OK)
        rc = cached_model(cfg, &exp, pool, pool_n, quiet, ckpt, sizeof ckpt);
    ft_free(pool);
    if (rc != FT_OK)
        return rc;
    /* exp points into cfg: it is not used past this change */
    return ft_config_set_value(cfg, "federation.init", ckpt, "pretrain cache");
}

/* The indices in both ascending arrays a (replaced by the result) and b (taken);
 * NULL means every index. */
static void intersect(uint32_t **a, uint32_t *a_n, uint32_t *b, uint32_t b_n)
{
    if (!b)
        return;
    if (!*a) {
        *a = b;
        *a_n = b_n;
        return;
    }
    uint32_t n = 0;
    for (uint32_t i = 0, j = 0; i < *a_n && j < b_n;) {
        if ((*a)[i] < b[j]) {
            i++;
        } else if ((*a)[i] > b[j]) {
            j++;
        } else {
            (*a)[n++] = (*a)[i++];
            j++;
        }
    }
    *a_n = n;
    ft_free(b);
}

/* The keys that shape the pre-trained model or say whether there is one. */
static int shapes_pretrain(const char *k)
{
    return !strncmp(k, "data.", 5) || !strncmp(k, "model.", 6) || !strncmp(k, "train.", 6) ||
           !strcmp(k, "run.seed") || !strcmp(k, "run.cache_dir") || !strcmp(k, "federation.init");
}

int ft_pretrain_for_arms(ft_config_t *cfg, const ft_variant_t *v, int n, int quiet)
{
    ft_experiment_t exp;
    int rc = ft_experiment_read(cfg, &exp);
    if (rc != FT_OK)
        return rc;
    int pretrain = strcmp(exp.federation.init, "pretrain") == 0;
    if (n == 0)
        return pretrain ? ft_pretrain_cached(cfg, quiet) : FT_OK;
    uint32_t *pool = NULL, pool_n = 0;
    for (int i = 0; i < n && rc == FT_OK; i++) {
        ft_config_t *vc = NULL;
        ft_experiment_t ve;
        uint32_t *p = NULL, p_n = 0;
        if ((rc = ft_variant_config(cfg, &v[i], &vc)) != FT_OK)
            break;
        /* One model for every arm: an arm may not change what shapes it. */
        for (int k = 0; ft_config_schema[k].name && rc == FT_OK; k++) {
            const char *key = ft_config_schema[k].name;
            if (shapes_pretrain(key) && strcmp(ft_config_text(cfg, key), ft_config_text(vc, key)) &&
                (pretrain || !strcmp(ft_config_text(vc, "federation.init"), "pretrain")))
                rc = ft_error_set(FT_ECONFIG,
                                  "run.compare: arm '%s' sets %s, which shapes the pre-trained "
                                  "starting model (federation.init = pretrain); every arm starts "
                                  "from the same model: set %s in the base config instead",
                                  v[i].label, key, key);
        }
        if (rc == FT_OK && pretrain)
            rc = ft_edge_scores_cached(vc, quiet);
        if (rc == FT_OK && pretrain && (rc = ft_experiment_read(vc, &ve)) == FT_OK &&
            (rc = ft_scenario_pretrain_pool(&ve, &p, &p_n)) == FT_OK)
            intersect(&pool, &pool_n, p, p_n);
        ft_config_destroy(&vc);
    }
    char ckpt[1100];
    if (rc == FT_OK && pretrain)
        rc = cached_model(cfg, &exp, pool, pool_n, quiet, ckpt, sizeof ckpt);
    ft_free(pool);
    if (rc != FT_OK || !pretrain)
        return rc;
    /* exp points into cfg: it is not used past this change */
    return ft_config_set_value(cfg, "federation.init", ckpt, "pretrain cache");
}

int ft_edge_scores_cached(ft_config_t *cfg, int quiet)
{
    ft_experiment_t exp;
    int rc = ft_experiment_read(cfg, &exp);
    if (rc != FT_OK)
        return rc;
    const ft_attack_cfg_t *a = &exp.attack;
    const ft_attack_t *attack = ft_attack_find(a->method);
    if (!a->enabled || !attack || !attack->uses_edge_set || a->edge_source != FT_EDGE_MINED ||
        a->edge_miner != FT_EDGE_MINER_DENSITY || a->edge_scores[0])
        return FT_OK;
    /* The feature model has seen the whole training set (nothing is held out yet: the
     * held-out points are what this mines), so its features place every sample. */
    char ckpt[1100], path[1200];
    rc = cached_model(cfg, &exp, NULL, 0, quiet, ckpt, sizeof ckpt);
    if (rc != FT_OK)
        return rc;
    snprintf(path, sizeof path, "%.*s/density-gmm.npy", (int)(strlen(ckpt) - strlen("/model.ckpt")),
             ckpt);
    if (ft_path_exists(path)) {
        if (!quiet)
            fprintf(stderr, "fedtail run: reusing the feature densities %s\n", path);
    } else {
        ft_dataset_t *train = NULL;
        float *logf = NULL;
        if (!quiet)
            fprintf(stderr, "fedtail run: feature densities of the training set into %s\n", path);
        rc = ft_dataset_load(&exp.data, exp.run.seed, 1, &train);
        if (rc == FT_OK)
            rc = ft_feature_density_scores(&exp, ckpt, train, &logf);
        if (rc == FT_OK)
            rc = ft_npy_write_floats(path, logf, (const int[]){(int)train->n}, 1);
        ft_free(logf);
        ft_dataset_destroy(&train);
        if (rc != FT_OK)
            return rc;
    }
    return ft_config_set_value(cfg, "attack.edge_scores", path, "feature density cache");
}
