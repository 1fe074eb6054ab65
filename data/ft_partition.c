/* ft_partition: iid, Dirichlet and shard partitions of a training pool among clients.
 *
 * Dirichlet follows the paper's code (ksreenivasan/OOD_Federated_Learning, utils.py
 * partition_data, branch "hetero-dir", after Hsu et al. 2019 / Yurochkin et al. 2019):
 * for each class k, shuffle its samples, draw p ~ Dir(alpha·1) over clients, zero p_j
 * for every client that already holds >= N/num_clients samples, renormalise, and cut
 * the class at floor(cumsum(p)·|class k|); redraw everything until every client holds
 * >= min_size samples; finally shuffle each client's list. Dir(alpha) is drawn as
 * normalised Gamma(alpha, 1) variates. Shards follow McMahan et al. (AISTATS 2017). */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_partition.h"
#include "ft_rng.h"

#define DIRICHLET_MAX_DRAWS 1000

ft_partition_spec_t ft_partition_spec(const ft_federation_cfg_t *f, uint64_t seed)
{
    return (ft_partition_spec_t){.kind = f->partition,
                                 .num_clients = (int)f->num_clients,
                                 .alpha = f->alpha,
                                 .min_size = f->min_size,
                                 .shards_per_client = f->shards_per_client,
                                 .seed = seed};
}

void ft_partition_destroy(ft_partition_t **p)
{
    if (!p || !*p)
        return;
    ft_free((*p)->offsets);
    ft_free((*p)->indices);
    ft_free(*p);
    *p = NULL;
}

uint32_t ft_partition_size(const ft_partition_t *p, int client)
{
    assert(client >= 0 && client < p->num_clients);
    return p->offsets[client + 1] - p->offsets[client];
}

static int alloc_partition(int k, uint32_t n, ft_partition_t **out)
{
    ft_partition_t *p = ft_calloc(1, sizeof *p);
    if (!p)
        return ft_error_set(FT_ENOMEM, "out of memory for a partition");
    p->num_clients = k;
    p->offsets = ft_calloc((size_t)k + 1, sizeof *p->offsets);
    p->indices = ft_malloc((n ? n : 1) * sizeof *p->indices);
    if (!p->offsets || !p->indices) {
        ft_partition_destroy(&p);
        return ft_error_set(FT_ENOMEM, "out of memory for a partition of %u samples", n);
    }
    *out = p;
    return FT_OK;
}

/* Seeded shuffle dealt round-robin: client j gets shuffled positions j, j+K, j+2K, ... */
static int make_iid(const ft_partition_spec_t *spec, ft_rng_t *rng, const uint32_t *pool,
                    uint32_t n, ft_partition_t *p)
{
    uint32_t k = (uint32_t)spec->num_clients;
    uint32_t *tmp = ft_malloc(n * sizeof *tmp);
    if (!tmp)
        return ft_error_set(FT_ENOMEM, "out of memory partitioning %u samples", n);
    memcpy(tmp, pool, n * sizeof *tmp);
    ft_rng_shuffle_u32(rng, tmp, n);
    uint32_t at = 0;
    for (uint32_t j = 0; j < k; j++) {
        p->offsets[j] = at;
        for (uint32_t t = j; t < n; t += k)
            p->indices[at++] = tmp[t];
    }
    p->offsets[k] = at;
    ft_free(tmp);
    return FT_OK;
}

static int make_dirichlet(const ft_partition_spec_t *spec, ft_rng_t *rng, const uint8_t *labels,
                          int num_classes, const uint32_t *pool, uint32_t n, ft_partition_t *p)
{
    const int k = spec->num_clients;
    if ((uint64_t)spec->min_size * (uint64_t)k > n)
        return ft_error_set(FT_EINVAL,
                            "dirichlet partition: %d clients x min_size %d exceeds the %u "
                            "samples of the pool",
                            k, spec->min_size, n);
    int rc = FT_OK;
    /* by_class: pool positions grouped by class; cls_off[c]..cls_off[c+1]. */
    uint32_t *by_class = ft_malloc(n * sizeof *by_class);
    uint32_t *cls_off = ft_calloc((size_t)num_classes + 1, sizeof *cls_off);
    uint32_t *owner = ft_malloc(n * sizeof *owner);
    uint32_t *counts = ft_calloc((size_t)k, sizeof *counts);
    uint32_t *cursor = ft_calloc((size_t)k + 1, sizeof *cursor);
    double *prop = ft_malloc((size_t)k * sizeof *prop);
    if (!by_class || !cls_off || !owner || !counts || !cursor || !prop) {
        rc = ft_error_set(FT_ENOMEM, "out of memory partitioning %u samples", n);
        goto done;
    }
    for (uint32_t t = 0; t < n; t++)
        cls_off[labels[pool[t]] + 1]++;
    for (int c = 0; c < num_classes; c++)
        cls_off[c + 1] += cls_off[c];
    {
        uint32_t *fill = ft_malloc(((size_t)num_classes + 1) * sizeof *fill);
        if (!fill) {
            rc = ft_error_set(FT_ENOMEM, "out of memory partitioning %u samples", n);
            goto done;
        }
        memcpy(fill, cls_off, ((size_t)num_classes + 1) * sizeof *fill);
        for (uint32_t t = 0; t < n; t++)
            by_class[fill[labels[pool[t]]]++] = t;
        ft_free(fill);
    }
    const double share = (double)n / k; /* the paper's N / n_nets balance threshold */
    int draws = 0;
    uint32_t min_count = 0;
    do {
        if (draws++ == DIRICHLET_MAX_DRAWS) {
            rc = ft_error_set(FT_EINVAL,
                              "dirichlet partition: no draw gave every client >= %d samples "
                              "after %d tries (alpha %g, %d clients, %u samples): lower "
                              "federation.min_size or raise federation.alpha",
                              spec->min_size, DIRICHLET_MAX_DRAWS, spec->alpha, k, n);
            goto done;
        }
        memset(counts, 0, (size_t)k * sizeof *counts);
        for (int c = 0; c < num_classes; c++) {
            uint32_t *idx = by_class + cls_off[c];
            uint32_t len = cls_off[c + 1] - cls_off[c];
            ft_rng_shuffle_u32(rng, idx, len);
            for (int j = 0; j < k; j++)
                prop[j] = ft_rng_gamma(rng, spec->alpha);
            double kept = 0;
            for (int j = 0; j < k; j++) {
                if (!(counts[j] < share))
                    prop[j] = 0;
                kept += prop[j];
            }
            if (!(kept > 0)) {
                /* Gamma underflow (tiny alpha) or every eligible share was 0: the class
                 * goes whole to one client still under its share (alpha -> 0 limit). */
                uint32_t pick = ft_rng_below(rng, (uint32_t)k);
                for (int t = 0; t < k; t++) {
                    int j = (int)((pick + (uint32_t)t) % (uint32_t)k);
                    if (counts[j] < share) {
                        pick = (uint32_t)j;
                        break;
                    }
                }
                for (int j = 0; j < k; j++)
                    prop[j] = (uint32_t)j == pick;
                kept = 1;
            }
            double cum = 0;
            uint32_t start = 0;
            for (int j = 0; j < k; j++) {
                uint32_t end;
                if (j == k - 1) {
                    end = len;
                } else {
                    cum += prop[j] / kept;
                    double e = floor(cum * len);
                    end = e < start ? start : e > len ? len : (uint32_t)e;
                }
                for (uint32_t t = start; t < end; t++)
                    owner[idx[t]] = (uint32_t)j;
                counts[j] += end - start;
                start = end;
            }
        }
        min_count = counts[0];
        for (int j = 1; j < k; j++)
            if (counts[j] < min_count)
                min_count = counts[j];
    } while (min_count < (uint32_t)spec->min_size);

    p->offsets[0] = 0;
    for (int j = 0; j < k; j++) {
        p->offsets[j + 1] = p->offsets[j] + counts[j];
        cursor[j] = p->offsets[j];
    }
    for (uint32_t t = 0; t < n; t++) {
        uint32_t pos = by_class[t];
        p->indices[cursor[owner[pos]]++] = pool[pos];
    }
    for (int j = 0; j < k; j++)
        ft_rng_shuffle_u32(rng, p->indices + p->offsets[j], counts[j]);
done:
    ft_free(by_class);
    ft_free(cls_off);
    ft_free(owner);
    ft_free(counts);
    ft_free(cursor);
    ft_free(prop);
    return rc;
}

static int make_shards(const ft_partition_spec_t *spec, ft_rng_t *rng, const uint8_t *labels,
                       int num_classes, const uint32_t *pool, uint32_t n, ft_partition_t *p)
{
    const int k = spec->num_clients, spc = spec->shards_per_client;
    const uint64_t total_shards = (uint64_t)k * (uint64_t)spc;
    if (total_shards > n)
        return ft_error_set(FT_EINVAL,
                            "shards partition: %d clients x %d shards need %llu samples, the pool "
                            "has %u",
                            k, spc, (unsigned long long)total_shards, n);
    int rc = FT_OK;
    uint32_t *sorted = ft_malloc(n * sizeof *sorted);
    uint32_t *cls_off = ft_calloc((size_t)num_classes + 1, sizeof *cls_off);
    uint32_t *nshards = ft_calloc((size_t)num_classes, sizeof *nshards);
    uint32_t *shard_lo = ft_malloc(total_shards * sizeof *shard_lo);
    uint32_t *shard_hi = ft_malloc(total_shards * sizeof *shard_hi);
    uint32_t *perm = ft_malloc(total_shards * sizeof *perm);
    if (!sorted || !cls_off || !nshards || !shard_lo || !shard_hi || !perm) {
        rc = ft_error_set(FT_ENOMEM, "out of memory partitioning %u samples", n);
        goto done;
    }
    /* Shuffle, then a stable counting sort by label: random order within each class. */
    uint32_t *tmp = p->indices; /* scratch until the final fill */
    memcpy(tmp, pool, n * sizeof *tmp);
    ft_rng_shuffle_u32(rng, tmp, n);
    for (uint32_t t = 0; t < n; t++)
        cls_off[labels[tmp[t]] + 1]++;
    int present = 0;
    for (int c = 0; c < num_classes; c++) {
        present += cls_off[c + 1] > 0;
        cls_off[c + 1] += cls_off[c];
    }
    if ((uint64_t)present > total_shards) {
        rc = ft_error_set(FT_EINVAL,
                          "shards partition: %d clients x %d shards = %llu shards, fewer than "
                          "the %d labels present; raise federation.shards_per_client",
                          k, spc, (unsigned long long)total_shards, present);
        goto done;
    }
    {
        uint32_t *fill = ft_malloc(((size_t)num_classes + 1) * sizeof *fill);
        if (!fill) {
            rc = ft_error_set(FT_ENOMEM, "out of memory partitioning %u samples", n);
            goto done;
        }
        memcpy(fill, cls_off, ((size_t)num_classes + 1) * sizeof *fill);
        for (uint32_t t = 0; t < n; t++)
            sorted[fill[labels[tmp[t]]]++] = tmp[t];
        ft_free(fill);
    }
    /* One shard per present class, then each further shard to the class whose shards are
     * currently largest: shard sizes end up as even as class boundaries allow. */
    uint64_t assigned = 0;
    for (int c = 0; c < num_classes; c++) {
        nshards[c] = cls_off[c + 1] > cls_off[c];
        assigned += nshards[c];
    }
    for (; assigned < total_shards; assigned++) {
        int best = -1;
        double best_size = 0;
        for (int c = 0; c < num_classes; c++) {
            uint32_t cnt = cls_off[c + 1] - cls_off[c];
            if (!nshards[c] || nshards[c] >= cnt)
                continue;
            double size = (double)cnt / nshards[c];
            if (size > best_size) {
                best_size = size;
                best = c;
            }
        }
        assert(best >= 0); /* total_shards <= n guarantees a splittable class */
        nshards[best]++;
    }
    uint32_t s = 0;
    for (int c = 0; c < num_classes; c++) {
        uint32_t lo = cls_off[c], cnt = cls_off[c + 1] - cls_off[c];
        for (uint32_t q = 0; q < nshards[c]; q++, s++) {
            shard_lo[s] = lo + (uint32_t)((uint64_t)cnt * q / nshards[c]);
            shard_hi[s] = lo + (uint32_t)((uint64_t)cnt * (q + 1) / nshards[c]);
        }
    }
    assert(s == total_shards);
    for (uint32_t t = 0; t < s; t++)
        perm[t] = t;
    ft_rng_shuffle_u32(rng, perm, s);
    uint32_t at = 0;
    for (int j = 0; j < k; j++) {
        p->offsets[j] = at;
        for (int q = 0; q < spc; q++) {
            uint32_t sh = perm[(size_t)j * spc + q];
            for (uint32_t t = shard_lo[sh]; t < shard_hi[sh]; t++)
                p->indices[at++] = sorted[t];
        }
    }
    p->offsets[k] = at;
    assert(at == n);
done:
    ft_free(sorted);
    ft_free(cls_off);
    ft_free(nshards);
    ft_free(shard_lo);
    ft_free(shard_hi);
    ft_free(perm);
    return rc;
}

/* By class, in pool order, over the F classes present in the pool (ranked by label):
 * when K <= F client j holds every class of rank f with f mod K == j; when K > F the
 * clients j with j mod F == f share the class of rank f, each a contiguous block of
 * its samples. */
static int make_natural(const ft_partition_spec_t *spec, const uint8_t *labels, int num_classes,
                        const uint32_t *pool, uint32_t n, ft_partition_t *p)
{
    int K = spec->num_clients, F = 0;
    int rank[256];
    uint32_t count[256] = {0};
    for (uint32_t t = 0; t < n; t++)
        count[labels[pool[t]]]++;
    for (int c = 0; c < num_classes; c++)
        rank[c] = count[c] ? F++ : -1;
    uint32_t at = 0;
    for (int j = 0; j < K; j++) {
        p->offsets[j] = at;
        if (K <= F) {
            for (uint32_t t = 0; t < n; t++)
                if (rank[labels[pool[t]]] % K == j)
                    p->indices[at++] = pool[t];
        } else {
            int f = j % F, sharers = (K - 1 - f) / F + 1, r = j / F, cls = 0;
            while (rank[cls] != f)
                cls++;
            uint64_t lo = (uint64_t)count[cls] * r / sharers;
            uint64_t hi = (uint64_t)count[cls] * (r + 1) / sharers;
            uint32_t k = 0;
            for (uint32_t t = 0; t < n; t++)
                if (labels[pool[t]] == cls) {
                    if (k >= lo && k < hi)
                        p->indices[at++] = pool[t];
                    k++;
                }
        }
        if (at == p->offsets[j])
            return ft_error_set(FT_EINVAL,
                                "natural partition: client %d of %d gets no sample (%d classes or "
                                "source files hold %u samples)",
                                j, K, F, n);
    }
    p->offsets[K] = at;
    return FT_OK;
}

int ft_partition_by_group(int num_clients, const uint32_t *group, const uint32_t *pool,
                          uint32_t pool_n, ft_partition_t **out)
{
    assert(num_clients >= 1);
    *out = NULL;
    ft_partition_t *p = NULL;
    uint32_t *count = ft_calloc((size_t)num_clients + 1, sizeof *count);
    int rc = count ? alloc_partition(num_clients, pool_n, &p)
                   : ft_error_set(FT_ENOMEM, "out of memory partitioning by author");
    if (rc < 0) {
        ft_free(count);
        return rc;
    }
    for (uint32_t t = 0; t < pool_n; t++)
        if (group[pool[t]] < (uint32_t)num_clients)
            count[group[pool[t]] + 1]++;
    for (int j = 0; j < num_clients; j++) {
        if (!count[j + 1]) {
            rc = ft_error_set(FT_EINVAL,
                              "natural partition by author: client %d of %d gets no sample "
                              "(the training set has fewer authors with a sample)",
                              j, num_clients);
            break;
        }
        count[j + 1] += count[j];
    }
    if (rc == FT_OK) {
        memcpy(p->offsets, count, ((size_t)num_clients + 1) * sizeof *count);
        for (uint32_t t = 0; t < pool_n; t++) /* a stable counting sort: pool order kept */
            if (group[pool[t]] < (uint32_t)num_clients)
                p->indices[count[group[pool[t]]]++] = pool[t];
    }
    ft_free(count);
    if (rc < 0)
        ft_partition_destroy(&p);
    *out = p;
    return rc;
}

int ft_partition_make(const ft_partition_spec_t *spec, const uint8_t *labels, int num_classes,
                      const uint32_t *pool, uint32_t pool_n, ft_partition_t **out)
{
    assert(spec->num_clients >= 1 && num_classes >= 1 && num_classes <= 256);
    *out = NULL;
    if (pool_n < (uint32_t)spec->num_clients)
        return ft_error_set(FT_EINVAL, "cannot split %u samples among %d clients", pool_n,
                            spec->num_clients);
    /* Validate the pool: labels in range, no index twice. */
    uint32_t max_idx = 0;
    for (uint32_t t = 0; t < pool_n; t++) {
        if (labels[pool[t]] >= num_classes)
            return ft_error_set(FT_EINVAL, "sample %u has label %u, outside [0, %d)", pool[t],
                                labels[pool[t]], num_classes);
        if (pool[t] > max_idx)
            max_idx = pool[t];
    }
    uint8_t *seen = ft_calloc((size_t)max_idx / 8 + 1, 1);
    if (!seen)
        return ft_error_set(FT_ENOMEM, "out of memory partitioning %u samples", pool_n);
    for (uint32_t t = 0; t < pool_n; t++) {
        uint32_t i = pool[t];
        if (seen[i / 8] & (1u << (i % 8))) {
            ft_free(seen);
            return ft_error_set(FT_EINVAL, "sample %u appears twice in the partition pool", i);
        }
        seen[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    ft_free(seen);

    ft_partition_t *p = NULL;
    int rc = alloc_partition(spec->num_clients, pool_n, &p);
    if (rc < 0)
        return rc;
    ft_rng_t rng;
    ft_rng_init(&rng, spec->seed, 0, 0, FT_RNG_PARTITION);
    switch (spec->kind) {
    case FT_PARTITION_IID: rc = make_iid(spec, &rng, pool, pool_n, p); break;
    case FT_PARTITION_NATURAL: rc = make_natural(spec, labels, num_classes, pool, pool_n, p); break;
    case FT_PARTITION_DIRICHLET:
        rc = make_dirichlet(spec, &rng, labels, num_classes, pool, pool_n, p);
        break;
    case FT_PARTITION_SHARDS:
        rc = make_shards(spec, &rng, labels, num_classes, pool, pool_n, p);
        break;
    default: rc = ft_error_set(FT_EINVAL, "unknown partition scheme %d", (int)spec->kind);
    }
    if (rc < 0) {
        ft_partition_destroy(&p);
        return rc;
    }
    *out = p;
    return FT_OK;
}
