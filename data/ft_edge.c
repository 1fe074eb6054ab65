/* ft_edge: mining and reading p-edge-case sets (Wang et al. 2020, §3, Definition 1).
 *
 * Mining measure (documented in docs/attacks.md): the source class is projected
 * onto its top principal subspace (randomized subspace iteration, Halko, Martinsson &
 * Tropp 2011, Alg. 4.4) and clustered by k-means (k-means++ seeding, Arthur &
 * Vassilvitskii 2007). The smallest cluster with >= edge_size members is the edge
 * mode; p = its size / training-set size. attack.edge_miner = density ranks a scores
 * file instead (build_density, ft_edge_density.h). Loops are ordered so the k-wide inner loops
 * vectorise: a 6000×784 class mines in a fraction of a second. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_readers.h"
#include "ft_edge.h"
#include "ft_edge_density.h"
#include "ft_error.h"
#include "ft_rng.h"
#include "ft_sentiment.h"
#include "ft_timer.h"

/* Sub-streams of FT_RNG_EDGE (the client field of the stream key). */
enum { EDGE_RNG_PCA = 1, EDGE_RNG_KMEANS = 2, EDGE_RNG_SPLIT = 3, EDGE_RNG_SAMPLE = 4 };

#define PCA_ITERS        6
#define KMEANS_RESTARTS  4
#define KMEANS_MAX_ITERS 100

int ft_edge_spec_from(const ft_attack_cfg_t *a, uint64_t seed, int num_classes,
                      ft_edge_spec_t *spec)
{
    memset(spec, 0, sizeof *spec);
    int lim = num_classes > 0 ? num_classes : 256;
    if (a->source_class >= lim)
        return ft_config_error(a->src, "attack.source_class", "must be in [0, %d)", lim);
    if (a->target_class >= lim)
        return ft_config_error(a->src, "attack.target_class", "must be in [0, %d)", lim);
    spec->source = a->edge_source;
    spec->file = a->edge_file;
    spec->source_class = a->source_class;
    spec->target_class = a->target_class;
    spec->edge_size = a->edge_size;
    spec->test_fraction = a->edge_test_fraction;
    spec->test_file = a->edge_test_file;
    spec->copies = a->edge_copies;
    spec->attack_points = a->edge_points;
    spec->clusters = a->edge_clusters;
    spec->components = a->edge_components;
    spec->miner = a->edge_miner;
    spec->scores = a->edge_scores;
    spec->seed = seed;
    return FT_OK;
}

void ft_edge_destroy(ft_edge_set_t **e_p)
{
    if (!e_p || !*e_p)
        return;
    ft_edge_set_t *e = *e_p;
    ft_dataset_destroy(&e->attack);
    ft_dataset_destroy(&e->test);
    ft_dataset_destroy(&e->pool);
    ft_free(e->attack_idx);
    ft_free(e->test_idx);
    ft_free(e->pool_idx);
    ft_free(e->excluded);
    ft_free(e);
    *e_p = NULL;
}

int ft_edge_honest_pool(const ft_edge_set_t *e, uint32_t train_n, uint32_t **pool, uint32_t *pool_n)
{
    *pool = NULL;
    *pool_n = 0;
    uint32_t ex = e ? e->num_excluded : 0;
    uint32_t *p = ft_malloc((size_t)(train_n - (ex < train_n ? ex : train_n) + 1) * sizeof *p);
    if (!p)
        return ft_error_set(FT_ENOMEM, "out of memory for the honest pool");
    uint32_t n = 0, j = 0;
    for (uint32_t i = 0; i < train_n; i++) {
        while (j < ex && e->excluded[j] < i)
            j++;
        if (j < ex && e->excluded[j] == i)
            continue;
        p[n++] = i;
    }
    *pool = p;
    *pool_n = n;
    return FT_OK;
}

/* Modified Gram-Schmidt on the k columns of V (D×k, row-major), in place. A column
 * that vanishes is replaced by a unit vector so the basis stays orthonormal. */
static void orthonormalize(float *V, int D, int k)
{
    for (int j = 0; j < k; j++) {
        for (int attempt = 0; attempt <= D; attempt++) {
            for (int p = 0; p < j; p++) {
                double r = 0;
                for (int d = 0; d < D; d++)
                    r += (double)V[d * k + j] * V[d * k + p];
                for (int d = 0; d < D; d++)
                    V[d * k + j] -= (float)r * V[d * k + p];
            }
            double nn = 0;
            for (int d = 0; d < D; d++)
                nn += (double)V[d * k + j] * V[d * k + j];
            if (nn > 1e-20) {
                float inv = (float)(1.0 / sqrt(nn));
                for (int d = 0; d < D; d++)
                    V[d * k + j] *= inv;
                break;
            }
            /* The column vanished (rank-deficient data): try a unit vector instead. */
            for (int d = 0; d < D; d++)
                V[d * k + j] = d == (j + attempt) % D ? 1.0f : 0.0f;
        }
    }
}

/* Y (n×k) = Xc V, Xc = X - mean (row-wise), V D×k. */
static void project(const float *X, uint32_t n, int D, int k, const float *mean, const float *V,
                    float *Y)
{
    for (uint32_t i = 0; i < n; i++) {
        float *y = Y + (size_t)i * k;
        const float *x = X + (size_t)i * D;
        for (int j = 0; j < k; j++)
            y[j] = 0;
        for (int d = 0; d < D; d++) {
            float xv = x[d] - mean[d];
            const float *v = V + (size_t)d * k;
            for (int j = 0; j < k; j++)
                y[j] += xv * v[j];
        }
    }
}

int ft_edge_pca(const float *X, uint32_t n, int D, int k, int iters, uint64_t seed, float *mean,
                float *V)
{
    assert(k >= 1 && k <= D && n >= 1);
    float *Y = ft_malloc((size_t)n * k * sizeof *Y);
    if (!Y)
        return ft_error_set(FT_ENOMEM, "out of memory for PCA of %u x %d", n, D);
    for (int d = 0; d < D; d++) {
        double s = 0;
        for (uint32_t i = 0; i < n; i++)
            s += X[(size_t)i * D + d];
        mean[d] = (float)(s / n);
    }
    ft_rng_t rng;
    ft_rng_init(&rng, seed, 0, EDGE_RNG_PCA, FT_RNG_EDGE);
    for (size_t i = 0; i < (size_t)D * k; i++)
        V[i] = (float)ft_rng_normal(&rng);
    orthonormalize(V, D, k);
    for (int it = 0; it < iters; it++) {
        project(X, n, D, k, mean, V, Y);
        /* V = Xc^T Y */
        memset(V, 0, (size_t)D * k * sizeof *V);
        for (uint32_t i = 0; i < n; i++) {
            const float *x = X + (size_t)i * D, *y = Y + (size_t)i * k;
            for (int d = 0; d < D; d++) {
                float xv = x[d] - mean[d];
                float *v = V + (size_t)d * k;
                for (int j = 0; j < k; j++)
                    v[j] += xv * y[j];
            }
        }
        orthonormalize(V, D, k);
    }
    ft_free(Y);
    return FT_OK;
}

static double sqdist(const double *a, const double *b, int k)
{
    double s = 0;
    for (int j = 0; j < k; j++) {
        double t = a[j] - b[j];
        s += t * t;
    }
    return s;
}

/* One seeded k-means++ + Lloyd run. Returns the inertia. */
static double kmeans_once(const double *P, uint32_t n, int k, int K, ft_rng_t *rng,
                          uint32_t *assign, uint32_t *sizes, double *C, double *dmin)
{
    /* k-means++ seeding: first centre uniform, then proportional to D(x)^2. */
    uint32_t first = ft_rng_below(rng, n);
    memcpy(C, P + (size_t)first * k, (size_t)k * sizeof *C);
    for (uint32_t i = 0; i < n; i++)
        dmin[i] = sqdist(P + (size_t)i * k, C, k);
    for (int c = 1; c < K; c++) {
        double total = 0;
        for (uint32_t i = 0; i < n; i++)
            total += dmin[i];
        uint32_t pick = 0;
        if (total > 0) {
            double r = ft_rng_uniform(rng) * total, acc = 0;
            pick = n - 1;
            for (uint32_t i = 0; i < n; i++) {
                acc += dmin[i];
                if (acc > r) {
                    pick = i;
                    break;
                }
            }
        } else {
            pick = ft_rng_below(rng, n);
        }
        memcpy(C + (size_t)c * k, P + (size_t)pick * k, (size_t)k * sizeof *C);
        for (uint32_t i = 0; i < n; i++) {
            double d = sqdist(P + (size_t)i * k, C + (size_t)c * k, k);
            if (d < dmin[i])
                dmin[i] = d;
        }
    }
    for (uint32_t i = 0; i < n; i++)
        assign[i] = UINT32_MAX;
    double inertia = 0;
    for (int it = 0; it < KMEANS_MAX_ITERS; it++) {
        int changed = 0;
        inertia = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t best = 0;
            double bd = sqdist(P + (size_t)i * k, C, k);
            for (int c = 1; c < K; c++) {
                double d = sqdist(P + (size_t)i * k, C + (size_t)c * k, k);
                if (d < bd) {
                    bd = d;
                    best = (uint32_t)c;
                }
            }
            dmin[i] = bd;
            inertia += bd;
            if (assign[i] != best) {
                assign[i] = best;
                changed = 1;
            }
        }
        if (!changed)
            break;
        /* Update step; an emptied cluster takes the point farthest from its centre. */
        memset(C, 0, (size_t)K * k * sizeof *C);
        memset(sizes, 0, (size_t)K * sizeof *sizes);
        for (uint32_t i = 0; i < n; i++) {
            sizes[assign[i]]++;
            for (int j = 0; j < k; j++)
                C[(size_t)assign[i] * k + j] += P[(size_t)i * k + j];
        }
        for (int c = 0; c < K; c++) {
            if (sizes[c] == 0) {
                uint32_t far = 0;
                for (uint32_t i = 1; i < n; i++)
                    if (dmin[i] > dmin[far])
                        far = i;
                memcpy(C + (size_t)c * k, P + (size_t)far * k, (size_t)k * sizeof *C);
                dmin[far] = 0;
                continue;
            }
            for (int j = 0; j < k; j++)
                C[(size_t)c * k + j] /= sizes[c];
        }
    }
    memset(sizes, 0, (size_t)K * sizeof *sizes);
    for (uint32_t i = 0; i < n; i++)
        sizes[assign[i]]++;
    return inertia;
}

double ft_edge_kmeans(const double *P, uint32_t n, int k, int clusters, int restarts, uint64_t seed,
                      uint32_t *assign, uint32_t *sizes)
{
    assert(clusters >= 1 && (uint32_t)clusters <= n && restarts >= 1);
    double *C = ft_malloc((size_t)clusters * k * sizeof *C);
    double *dmin = ft_malloc((size_t)n * sizeof *dmin);
    uint32_t *a = ft_malloc((size_t)n * sizeof *a);
    uint32_t *s = ft_malloc((size_t)clusters * sizeof *s);
    double best = INFINITY;
    if (!C || !dmin || !a || !s) {
        best = ft_error_set(FT_ENOMEM, "out of memory for k-means of %u points", n);
        goto done;
    }
    for (int r = 0; r < restarts; r++) {
        ft_rng_t rng;
        ft_rng_init(&rng, seed, (uint32_t)r, EDGE_RNG_KMEANS, FT_RNG_EDGE);
        double in = kmeans_once(P, n, k, clusters, &rng, a, s, C, dmin);
        if (in < best) {
            best = in;
            memcpy(assign, a, (size_t)n * sizeof *a);
            memcpy(sizes, s, (size_t)clusters * sizeof *s);
        }
    }
done:
    ft_free(C);
    ft_free(dmin);
    ft_free(a);
    ft_free(s);
    return best;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Splits members[0..m) (already shuffled) into attack and test parts of e: test gets
 * round(m * f) clamped to [1, m-1]. */
static uint32_t test_count(uint32_t m, double f)
{
    uint32_t t = (uint32_t)floor(m * f + 0.5);
    if (t < 1)
        t = 1;
    if (t > m - 1)
        t = m - 1;
    return t;
}

static void relabel(ft_dataset_t *ds, int label, const ft_dataset_t *train)
{
    memset(ds->labels, label, ds->n);
    ds->num_classes = train->num_classes;
    memcpy(ds->mean, train->mean, sizeof ds->mean);
    memcpy(ds->std, train->std, sizeof ds->std);
}

/* The mined members (ascending training-set indices, m >= 2) become the edge set:
 * all are held out of honest data; a seeded shuffle splits them into the attacker's
 * share and the backdoor test set (test_fraction), each ascending, relabelled. */
static int take_members(const ft_edge_spec_t *spec, const ft_dataset_t *train, ft_edge_set_t *e,
                        uint32_t *members, uint32_t m)
{
    e->excluded = ft_malloc((size_t)m * sizeof *e->excluded);
    e->attack_idx = ft_malloc((size_t)m * sizeof *e->attack_idx);
    e->test_idx = ft_malloc((size_t)m * sizeof *e->test_idx);
    if (!e->excluded || !e->attack_idx || !e->test_idx)
        return ft_error_set(FT_ENOMEM, "out of memory mining the edge-case set");
    memcpy(e->excluded, members, (size_t)m * sizeof *members);
    e->num_excluded = m;
    ft_rng_t rng;
    ft_rng_init(&rng, spec->seed, 0, EDGE_RNG_SPLIT, FT_RNG_EDGE);
    ft_rng_shuffle_u32(&rng, members, m);
    uint32_t nt = test_count(m, spec->test_fraction), na = m - nt;
    memcpy(e->attack_idx, members, (size_t)na * sizeof *members);
    memcpy(e->test_idx, members + na, (size_t)nt * sizeof *members);
    qsort(e->attack_idx, na, sizeof *members, cmp_u32);
    qsort(e->test_idx, nt, sizeof *members, cmp_u32);
    int rc = ft_dataset_subset(train, e->attack_idx, na, &e->attack);
    if (rc == FT_OK)
        rc = ft_dataset_subset(train, e->test_idx, nt, &e->test);
    if (rc < 0)
        return rc;
    relabel(e->attack, spec->target_class, train);
    relabel(e->test, spec->target_class, train);
    snprintf(e->attack->name, sizeof e->attack->name, "edge/mined-attack");
    snprintf(e->test->name, sizeof e->test->name, "edge/mined-test");
    return FT_OK;
}

/* attack.edge_miner = density: the edge_size source-class points of lowest log density
 * in the scores file (one float per training sample, scenario/ft_feature_density.h);
 * the set's p is the largest of its points' tail masses (ft_edge_density.h). */
static int build_density(const ft_edge_spec_t *spec, const ft_dataset_t *train, ft_edge_set_t *e)
{
    float *logf = NULL;
    size_t n = 0;
    int shape[4], ndim = 0;
    uint32_t *members = NULL, want = spec->edge_size;
    double *p = NULL;
    if (!spec->scores || !spec->scores[0])
        return ft_error_set(FT_ECONFIG,
                            "key attack.edge_scores: attack.edge_miner = density needs the "
                            "training set's log densities (fedtail run computes them)");
    int rc = ft_npy_read_floats(spec->scores, &logf, &n, shape, &ndim);
    if (rc < 0)
        return rc;
    if (ndim != 1 || n != train->n) {
        rc = ft_error_set(FT_EFORMAT,
                          "%s (attack.edge_scores): %zu scores in %d dimension%s, the training "
                          "set has %u samples (one score each)",
                          spec->scores, n, ndim, ndim == 1 ? "" : "s", train->n);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(logf[i])) {
            rc = ft_error_set(FT_EFORMAT, "%s (attack.edge_scores): score %zu is not finite",
                              spec->scores, i);
            goto done;
        }
    members = ft_malloc((size_t)want * sizeof *members);
    p = ft_malloc((size_t)want * sizeof *p);
    if (!members || !p) {
        rc = ft_error_set(FT_ENOMEM, "out of memory mining the edge-case set");
        goto done;
    }
    rc = ft_edge_density_select(logf, train->labels, train->n, spec->source_class, want, members, p,
                                &e->class_size);
    if (rc < 0)
        goto done;
    e->p = e->p_min = p[0];
    for (uint32_t i = 0; i < want; i++) {
        e->p = p[i] > e->p ? p[i] : e->p;
        e->p_min = p[i] < e->p_min ? p[i] : e->p_min;
    }
    qsort(members, want, sizeof *members, cmp_u32);
    rc = take_members(spec, train, e, members, want);
done:
    ft_free(logf);
    ft_free(members);
    ft_free(p);
    return rc;
}

static int build_mined(const ft_edge_spec_t *spec, const ft_dataset_t *train, ft_edge_set_t *e)
{
    int rc = FT_OK;
    float *X = NULL, *mean = NULL, *V = NULL, *Y = NULL;
    double *P = NULL;
    uint32_t *cls = NULL, *assign = NULL, *members = NULL;
    size_t D = ft_dataset_sample_size(train);
    uint32_t n = 0;
    cls = ft_malloc((size_t)train->n * sizeof *cls + 1);
    if (!cls)
        goto oom;
    for (uint32_t i = 0; i < train->n; i++)
        if (train->labels[i] == spec->source_class)
            cls[n++] = i;
    e->class_size = n;
    if (n < spec->edge_size) {
        rc = ft_error_set(FT_EINVAL,
                          "edge mining: class %d has %u samples, fewer than attack.edge_size=%u",
                          spec->source_class, n, spec->edge_size);
        goto done;
    }
    int K = spec->clusters;
    if (K == 0) {
        uint64_t a = n / (4 * (uint64_t)spec->edge_size);
        K = a < 2 ? 2 : a > 32 ? 32 : (int)a;
    }
    if ((uint32_t)K > n)
        K = (int)n;
    int k = spec->components < (int)D ? spec->components : (int)D;
    e->clusters = K;
    X = ft_malloc((size_t)n * D * sizeof *X);
    mean = ft_malloc(D * sizeof *mean);
    V = ft_malloc(D * (size_t)k * sizeof *V);
    Y = ft_malloc((size_t)n * k * sizeof *Y);
    P = ft_malloc((size_t)n * k * sizeof *P);
    assign = ft_malloc((size_t)n * sizeof *assign);
    if (!X || !mean || !V || !Y || !P || !assign)
        goto oom;
    for (uint32_t i = 0; i < n; i++) {
        size_t off = (size_t)cls[i] * D;
        float *x = X + (size_t)i * D;
        if (train->values)
            memcpy(x, train->values + off, D * sizeof *x);
        else
            for (size_t d = 0; d < D; d++)
                x[d] = train->pixels[off + d] * (1.0f / 255.0f);
    }
    rc = ft_edge_pca(X, n, (int)D, k, PCA_ITERS, spec->seed, mean, V);
    if (rc < 0)
        goto done;
    project(X, n, (int)D, k, mean, V, Y);
    for (size_t i = 0; i < (size_t)n * k; i++)
        P[i] = Y[i];
    double in = ft_edge_kmeans(P, n, k, K, KMEANS_RESTARTS, spec->seed, assign, e->cluster_sizes);
    if (in < 0) {
        rc = (int)in;
        goto done;
    }
    int chosen = -1;
    for (int c = 0; c < K; c++)
        if (e->cluster_sizes[c] >= spec->edge_size &&
            (chosen < 0 || e->cluster_sizes[c] < e->cluster_sizes[chosen]))
            chosen = c;
    if (chosen < 0) {
        rc = ft_error_set(FT_EINVAL,
                          "edge mining: no cluster of class %d (of %d) has attack.edge_size=%u "
                          "members; lower attack.edge_size or attack.edge_clusters",
                          spec->source_class, K, spec->edge_size);
        goto done;
    }
    e->chosen = chosen;
    uint32_t m = e->cluster_sizes[chosen];
    members = ft_malloc((size_t)m * sizeof *members);
    if (!members)
        goto oom;
    uint32_t j = 0;
    for (uint32_t i = 0; i < n; i++)
        if (assign[i] == (uint32_t)chosen)
            members[j++] = cls[i]; /* ascending: cls is ascending */
    e->p = (double)m / train->n;
    rc = take_members(spec, train, e, members, m);
    goto done;
oom:
    rc = ft_error_set(FT_ENOMEM, "out of memory mining the edge-case set");
done:
    ft_free(X);
    ft_free(mean);
    ft_free(V);
    ft_free(Y);
    ft_free(P);
    ft_free(cls);
    ft_free(assign);
    ft_free(members);
    return rc;
}

/* Reads an edge file: target-labelled images of the training set's shape. */
static int read_edge_file(const char *path, const ft_edge_spec_t *spec, const ft_dataset_t *train,
                          uint32_t at_least, ft_dataset_t **out)
{
    /* a text training set takes sentences, one a line (the paper code's edge tweets) */
    int rc = train->vocab
                 ? ft_sentiment_lines(path, train->vocab, train->w, spec->target_class, out)
                 : ft_npy_read_images(path, train->c, spec->target_class, out);
    if (rc < 0)
        return rc;
    if (train->vocab && (*out)->n < at_least)
        rc = ft_error_set(FT_EFORMAT, "%s: an edge-case file needs at least %u tweet%s", path,
                          at_least, at_least == 1 ? "" : "s");
    else if ((*out)->h != train->h || (*out)->w != train->w)
        rc = ft_error_set(FT_EFORMAT, "%s: images are %dx%d, the training set's are %dx%d", path,
                          (*out)->h, (*out)->w, train->h, train->w);
    else if ((*out)->n < at_least)
        rc = ft_error_set(FT_EFORMAT, "%s: an edge-case file needs at least %u image%s", path,
                          at_least, at_least == 1 ? "" : "s");
    if (rc < 0)
        ft_dataset_destroy(out);
    return rc;
}

/* The file's images in a seeded order of groups of `copies` consecutive images (the
 * last group may be shorter): *order holds image indices, group by group; *groups
 * the group count, *first[g] where group g starts in *order (groups + 1 entries). */
static int group_order(const ft_edge_spec_t *spec, uint32_t n, uint32_t **order, uint32_t *groups,
                       uint32_t **first)
{
    uint32_t c = spec->copies ? spec->copies : 1, G = (n + c - 1) / c;
    uint32_t *g = ft_malloc(((size_t)G + 1) * sizeof *g);
    *order = ft_malloc(((size_t)n + 1) * sizeof **order);
    *first = ft_malloc(((size_t)G + 1) * sizeof **first);
    if (!g || !*order || !*first) {
        ft_free(g);
        return ft_error_set(FT_ENOMEM, "out of memory for the edge-case set");
    }
    for (uint32_t i = 0; i < G; i++)
        g[i] = i;
    ft_rng_t rng;
    ft_rng_init(&rng, spec->seed, 0, EDGE_RNG_SPLIT, FT_RNG_EDGE);
    ft_rng_shuffle_u32(&rng, g, G);
    uint32_t at = 0;
    for (uint32_t i = 0; i < G; i++) {
        (*first)[i] = at;
        for (uint32_t j = g[i] * c; j < n && j < (g[i] + 1) * c; j++)
            (*order)[at++] = j;
    }
    (*first)[G] = at;
    *groups = G;
    ft_free(g);
    return FT_OK;
}

static int build_file(const ft_edge_spec_t *spec, const ft_dataset_t *train, ft_edge_set_t *e)
{
    ft_dataset_t *all = NULL;
    uint32_t *order = NULL, *first = NULL, G = 0;
    int has_test = spec->test_file && spec->test_file[0];
    int rc = read_edge_file(spec->file, spec, train, has_test ? 1 : 2, &all);
    if (rc == FT_OK && has_test)
        rc = read_edge_file(spec->test_file, spec, train, 1, &e->test);
    if (rc == FT_OK)
        rc = group_order(spec, all->n, &order, &G, &first);
    if (rc < 0)
        goto done;
    if (has_test) { /* the whole file is the attacker's share */
        rc = ft_dataset_subset(all, order, all->n, &e->attack);
    } else {
        if (G < 2) {
            rc = ft_error_set(FT_EFORMAT,
                              "%s: %u images in groups of attack.edge_copies = %u leave no "
                              "group for the backdoor test set (give attack.edge_test_file)",
                              spec->file, all->n, spec->copies);
            goto done;
        }
        uint32_t gt = test_count(G, spec->test_fraction), na = first[G - gt];
        rc = ft_dataset_subset(all, order, na, &e->attack);
        if (rc == FT_OK)
            rc = ft_dataset_subset(all, order + na, all->n - na, &e->test);
    }
    if (rc < 0)
        goto done;
    relabel(e->attack, spec->target_class, train);
    relabel(e->test, spec->target_class, train);
    snprintf(e->attack->name, sizeof e->attack->name, "edge/file-attack");
    snprintf(e->test->name, sizeof e->test->name, "edge/file-test");
done:
    ft_dataset_destroy(&all);
    ft_free(order);
    ft_free(first);
    return rc;
}

/* attack.edge_points: a seeded sample of the attacker's share goes into D_adv (as the
 * paper code samples 100 of the 784 Southwest images, utils.py load_poisoned_dataset);
 * the rest becomes the pool. Both keep the share's order. */
static int sample_attack(const ft_edge_spec_t *spec, const ft_dataset_t *train, ft_edge_set_t *e)
{
    uint32_t n = e->attack->n, k = spec->attack_points;
    if (k == 0 || k == n)
        return FT_OK;
    if (k > n)
        return ft_error_set(FT_ECONFIG,
                            "attack.edge_points = %u, but the attacker's share of the edge-case "
                            "set holds %u points",
                            k, n);
    uint32_t *order = ft_malloc((size_t)n * sizeof *order);
    uint32_t *idx = e->attack_idx ? ft_malloc((size_t)n * sizeof *idx) : NULL;
    if (!order || (e->attack_idx && !idx)) {
        ft_free(order);
        ft_free(idx);
        return ft_error_set(FT_ENOMEM, "out of memory sampling the edge-case set");
    }
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    ft_rng_t rng;
    ft_rng_init(&rng, spec->seed, 0, EDGE_RNG_SAMPLE, FT_RNG_EDGE);
    ft_rng_shuffle_u32(&rng, order, n);
    qsort(order, k, sizeof *order, cmp_u32);
    qsort(order + k, n - k, sizeof *order, cmp_u32);
    ft_dataset_t *sampled = NULL;
    int rc = ft_dataset_subset(e->attack, order, k, &sampled);
    if (rc == FT_OK)
        rc = ft_dataset_subset(e->attack, order + k, n - k, &e->pool);
    if (rc == FT_OK && idx) {
        for (uint32_t i = 0; i < n; i++)
            idx[i] = e->attack_idx[order[i]];
        memcpy(e->attack_idx, idx, (size_t)k * sizeof *idx);
        e->pool_idx = ft_malloc((size_t)(n - k) * sizeof *e->pool_idx);
        if (!e->pool_idx)
            rc = ft_error_set(FT_ENOMEM, "out of memory sampling the edge-case set");
        else
            memcpy(e->pool_idx, idx + k, (size_t)(n - k) * sizeof *idx);
    }
    if (rc == FT_OK) {
        snprintf(sampled->name, sizeof sampled->name, "%s", e->attack->name);
        snprintf(e->pool->name, sizeof e->pool->name, "edge/pool");
        relabel(e->pool, spec->target_class, train);
        ft_dataset_destroy(&e->attack);
        e->attack = sampled;
    } else {
        ft_dataset_destroy(&sampled);
    }
    ft_free(order);
    ft_free(idx);
    return rc;
}

int ft_edge_build(const ft_edge_spec_t *spec, const ft_dataset_t *train, ft_edge_set_t **out)
{
    *out = NULL;
    double t0 = ft_now();
    ft_edge_set_t *e = ft_calloc(1, sizeof *e);
    if (!e)
        return ft_error_set(FT_ENOMEM, "out of memory for the edge-case set");
    e->chosen = -1;
    int rc = spec->source == FT_EDGE_FILE           ? build_file(spec, train, e)
             : spec->miner == FT_EDGE_MINER_DENSITY ? build_density(spec, train, e)
                                                    : build_mined(spec, train, e);
    if (rc == FT_OK)
        rc = sample_attack(spec, train, e);
    if (rc < 0) {
        ft_edge_destroy(&e);
        return rc;
    }
    e->seconds = ft_now() - t0;
    *out = e;
    return FT_OK;
}
