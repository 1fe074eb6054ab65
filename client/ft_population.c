/* ft_population: training set, attack environment, FLTrust root set and partition,
 * derived identically in every process; and the run.device back end. */
#include "ft_population.h"

#include "ft_alloc.h"
#include "ft_defense.h"
#include "ft_error.h"
#include "ft_rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The CUDA back end's description of its device, or why there is none. Weak: the
 * symbol exists only in builds with the CUDA back end. */

void ft_population_destroy(ft_population_t **p_p)
{
    if (!p_p || !*p_p)
        return;
    ft_population_t *p = *p_p;
    ft_partition_destroy(&p->part);
    ft_attack_env_destroy(&p->env);
    ft_dataset_destroy(&p->train);
    ft_free(p->root_idx);
    ft_free(p);
    *p_p = NULL;
}

/* Draws root_n indices of pool (partial Fisher-Yates from the root stream) into
 * p->root_idx, ascending, and removes them from pool (kept ascending). */
static int draw_root(const ft_config_t *cfg, ft_population_t *p, uint32_t *pool, uint32_t *pool_n)
{
    int64_t want = ft_config_int(cfg, "defense.root_size");
    if (want < 1 || want >= (int64_t)*pool_n)
        return ft_config_error(cfg, "defense.root_size",
                               "must lie in [1, %u): the root set is held out of the %u "
                               "training samples honest clients may hold",
                               *pool_n, *pool_n);
    uint32_t n = (uint32_t)want, total = *pool_n;
    uint32_t *perm = ft_malloc((size_t)total * sizeof *perm);
    uint8_t *in_root = ft_calloc(total, 1);
    p->root_idx = ft_malloc((size_t)n * sizeof *p->root_idx);
    if (!perm || !in_root || !p->root_idx) {
        ft_free(perm);
        ft_free(in_root);
        return ft_error_set(FT_ENOMEM, "out of memory for the root set");
    }
    for (uint32_t i = 0; i < total; i++)
        perm[i] = i;
    ft_rng_t rng;
    ft_rng_init(&rng, (uint64_t)ft_config_int(cfg, "run.seed"), 0, FT_POPULATION_ROOT_ID,
                FT_RNG_DEFENSE);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = i + ft_rng_below(&rng, total - i);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        in_root[perm[i]] = 1;
    }
    uint32_t r = 0, k = 0;
    for (uint32_t i = 0; i < total; i++) {
        if (in_root[i])
            p->root_idx[r++] = pool[i];
        else
            pool[k++] = pool[i];
    }
    p->root_n = n;
    *pool_n = k;
    ft_free(perm);
    ft_free(in_root);
    return FT_OK;
}

int ft_population_new(const ft_config_t *cfg, const ft_dataset_t *test, ft_population_t **out)
{
    *out = NULL;
    ft_population_t *p = ft_calloc(1, sizeof *p);
    uint32_t *pool = NULL, pool_n = 0;
    if (!p)
        return ft_error_set(FT_ENOMEM, "out of memory");
    p->num_clients = (int)ft_config_int(cfg, "federation.num_clients");
    int rc = ft_dataset_load(cfg, 1, &p->train);
    if (rc == FT_OK)
        rc = ft_attack_env_new(cfg, p->train, test, &p->env);
    /* ATTACK SEAM (dataset): the mined edge points are held out of honest data. */
    if (rc == FT_OK)
        rc = ft_attack_env_honest_pool(p->env, p->train->n, &pool, &pool_n);
    if (rc != FT_OK)
        goto fail;
    const ft_defense_t *d = ft_defense_find(ft_config_str(cfg, "defense.name"));
    if (d && d->needs_server_update && (rc = draw_root(cfg, p, pool, &pool_n)) != FT_OK)
        goto fail;
    ft_partition_spec_t spec;
    if ((rc = ft_partition_spec_from_config(cfg, &spec)) != FT_OK)
        goto fail;
    rc = ft_partition_make(&spec, p->train->labels, p->train->num_classes, pool, pool_n, &p->part);
    if (rc != FT_OK)
        goto fail;
    ft_free(pool);
    *out = p;
    return FT_OK;
fail:
    ft_free(pool);
    ft_population_destroy(&p);
    return rc;
}

int ft_population_release_train(ft_population_t *p)
{
    ft_dataset_t *root = NULL;
    if (p->root_n) {
        int rc = ft_dataset_subset(p->train, p->root_idx, p->root_n, &root);
        if (rc != FT_OK)
            return rc;
        for (uint32_t i = 0; i < p->root_n; i++)
            p->root_idx[i] = i;
    }
    ft_dataset_destroy(&p->train);
    p->train = root;
    return FT_OK;
}

uint32_t ft_population_part_n(const ft_population_t *p, uint32_t id)
{
    if (id >= (uint32_t)p->num_clients)
        return 0;
    return ft_partition_size(p->part, (int)id);
}

const uint32_t *ft_population_part_idx(const ft_population_t *p, uint32_t id)
{
    return p->part->indices + p->part->offsets[id];
}

uint64_t ft_population_client_samples(const ft_population_t *p, uint32_t id, int is_attacker)
{
    return ft_attack_client_samples(p->env, id, ft_population_part_n(p, id), is_attacker);
}

/* cuda:N -> CUDA_VISIBLE_DEVICES before CUDA starts in this process. FT_CUDA_SELECTED
 * remembers the value set, so that children (which inherit both variables) do not
 * index the already restricted list again. */
static int select_cuda_device(const ft_config_t *cfg, const char *dev)
{
    static char applied[64];
    const char *num = dev + 5;
    char *end;
    long n = strtol(num, &end, 10);
    if (!*num || *end || n < 0 || n > 1023)
        return ft_config_error(cfg, "run.device", "'%s': expected cpu, reference, cuda or cuda:N",
                               dev);
    const char *visible = getenv("CUDA_VISIBLE_DEVICES");
    const char *selected = getenv("FT_CUDA_SELECTED");
    char want[64];
    if (visible && selected && strcmp(visible, selected) == 0) {
        snprintf(want, sizeof want, "%s", visible); /* a parent already chose */
    } else if (visible && visible[0]) {
        /* N indexes the devices already visible. */
        const char *s = visible;
        for (long i = 0; i < n && s; i++) {
            s = strchr(s, ',');
            if (s)
                s++;
        }
        size_t len = s ? strcspn(s, ",") : 0;
        if (!s || len == 0 || len >= sizeof want)
            return ft_config_error(cfg, "run.device",
                                   "'%s': CUDA_VISIBLE_DEVICES = '%s' has no device %ld", dev,
                                   visible, n);
        memcpy(want, s, len);
        want[len] = 0;
    } else {
        snprintf(want, sizeof want, "%ld", n);
    }
    if (applied[0] && strcmp(applied, want) != 0)
        return ft_config_error(cfg, "run.device", "'%s': this process already uses CUDA device %s",
                               dev, applied);
    snprintf(applied, sizeof applied, "%s", want);
    setenv("CUDA_VISIBLE_DEVICES", want, 1);
    setenv("FT_CUDA_SELECTED", want, 1);
    return FT_OK;
}

int ft_population_device(const ft_config_t *cfg, const ft_ops_t **ops)
{
    *ops = NULL;
    const char *dev = ft_config_str(cfg, "run.device");
    if (strcmp(dev, "cpu") == 0 || strcmp(dev, "reference") == 0) {
        *ops = ft_ops_find(dev);
        if (!*ops)
            return ft_error_set(FT_EUNSUPPORTED, "run.device = %s: back end not built", dev);
        return FT_OK;
    }
    if (strncmp(dev, "cuda", 4) != 0 || (dev[4] != 0 && dev[4] != ':'))
        return ft_config_error(cfg, "run.device", "'%s': expected cpu, reference, cuda or cuda:N",
                               dev);
    if (dev[4] == ':') {
        int rc = select_cuda_device(cfg, dev);
        if (rc != FT_OK)
            return rc;
    }
    *ops = ft_ops_find("cuda");
    if (!*ops)
        return ft_error_set(FT_EUNSUPPORTED,
                            "run.device = %s but no CUDA device is available (%s); set "
                            "run.device = cpu",
                            dev, ft_ops_cuda_status());
    return FT_OK;
}
