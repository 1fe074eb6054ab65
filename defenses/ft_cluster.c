/* ft_cluster: DBSCAN and HDBSCAN over a distance matrix; see ft_cluster.h. The HDBSCAN
 * steps follow the hdbscan package (scikit-learn-contrib/hdbscan): hdbscan_.py
 * _hdbscan_generic, _hdbscan_reachability.pyx mutual_reachability,
 * _hdbscan_linkage.pyx mst_linkage_core / label, _hdbscan_tree.pyx condense_tree,
 * compute_stability, get_clusters (EOM) and do_labelling. */
#include "ft_cluster.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

size_t ft_dbscan_ws(size_t n)
{
    return ft_ws_bytes(n) + ft_ws_bytes(n * n * sizeof(uint32_t)) + ft_ws_bytes(n * sizeof(size_t));
}

int ft_dbscan(const double *D, size_t n, double eps, size_t min_samples, int *labels, ft_ws_t *ws)
{
    ft_ws_t w = *ws;
    uint8_t *core = ft_ws_take(&w, n);
    uint32_t *stack = ft_ws_take(&w, n * n * sizeof(uint32_t)); /* each core pushes <= n */
    (void)ft_ws_take(&w, n * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        size_t c = 0;
        for (size_t j = 0; j < n; j++)
            c += D[i * n + j] <= eps;
        core[i] = c >= min_samples;
        labels[i] = -1;
    }
    int cur = 0;
    for (size_t i = 0; i < n; i++) {
        if (labels[i] != -1 || !core[i])
            continue;
        size_t top = 0;
        stack[top++] = (uint32_t)i;
        while (top) {
            size_t p = stack[--top];
            if (labels[p] != -1)
                continue;
            labels[p] = cur;
            if (!core[p])
                continue;
            for (size_t v = 0; v < n; v++)
                if (D[p * n + v] <= eps && labels[v] == -1)
                    stack[top++] = (uint32_t)v;
        }
        cur++;
    }
    return cur;
}

/* One row of the condensed tree. */
typedef struct {
    uint32_t parent; /* cluster id (>= n) */
    uint32_t child;  /* point (< n) or cluster id */
    double lambda;   /* 1 / distance at which child left parent */
    uint32_t size;   /* points in child */
} ct_row_t;

size_t ft_hdbscan_ws(size_t n)
{
    size_t m = 2 * n; /* single-linkage nodes (2n - 1), condensed rows (< 2n), cluster ids */
    return ft_ws_bytes(n * sizeof(double)) * 3 + ft_ws_bytes(n) +
           ft_ws_bytes(n * sizeof(uint32_t)) * 3 + ft_ws_bytes(m * sizeof(uint32_t)) * 6 +
           ft_ws_bytes(m * sizeof(double)) * 3 + ft_ws_bytes(m * sizeof(ct_row_t)) + ft_ws_bytes(m);
}

/* kth smallest of row i of D (n entries), by partial selection into tmp. */
static double kth_row(const double *D, size_t n, size_t i, size_t k, double *tmp)
{
    memcpy(tmp, D + i * n, n * sizeof(double));
    for (size_t a = 0; a <= k; a++) { /* k is small: selection sort of the first k+1 */
        size_t b = a;
        for (size_t c = a + 1; c < n; c++)
            if (tmp[c] < tmp[b])
                b = c;
        double t = tmp[a];
        tmp[a] = tmp[b];
        tmp[b] = t;
    }
    return tmp[k];
}

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x)
        x = parent[x];
    return x;
}

int ft_hdbscan(const double *D, size_t n, size_t mcs, size_t min_samples, int allow_single,
               int *labels, ft_ws_t *ws)
{
    assert(n >= 2 && mcs >= 2);
    ft_ws_t w = *ws;
    size_t m = 2 * n;
    double *core = ft_ws_take(&w, n * sizeof(double));
    double *dist = ft_ws_take(&w, n * sizeof(double));
    double *tmp = ft_ws_take(&w, n * sizeof(double));
    uint8_t *intree = ft_ws_take(&w, n);
    uint32_t *src = ft_ws_take(&w, n * sizeof(uint32_t));
    uint32_t *ea = ft_ws_take(&w, n * sizeof(uint32_t)); /* MST edge endpoints, weights in ew */
    uint32_t *eb = ft_ws_take(&w, n * sizeof(uint32_t));
    uint32_t *parent = ft_ws_take(&w, m * sizeof(uint32_t)); /* union-find, then queue */
    uint32_t *size = ft_ws_take(&w, m * sizeof(uint32_t));
    uint32_t *left = ft_ws_take(&w, m * sizeof(uint32_t));
    uint32_t *right = ft_ws_take(&w, m * sizeof(uint32_t));
    uint32_t *relabel = ft_ws_take(&w, m * sizeof(uint32_t));
    uint32_t *stack = ft_ws_take(&w, m * sizeof(uint32_t));
    double *ew = ft_ws_take(&w, m * sizeof(double));
    double *stab = ft_ws_take(&w, m * sizeof(double)); /* by cluster id - n */
    double *birth = ft_ws_take(&w, m * sizeof(double));
    ct_row_t *ct = ft_ws_take(&w, m * sizeof(ct_row_t));
    uint8_t *is_cl = ft_ws_take(&w, m);

    /* 1. core distances and mutual reachability (computed on the fly) */
    size_t k = min_samples < n - 1 ? min_samples : n - 1;
    for (size_t i = 0; i < n; i++)
        core[i] = kth_row(D, n, i, k, tmp);
#define MR(i, j) fmax(fmax(D[(i)*n + (j)], core[i]), core[j])

    /* 2. Prim's minimum spanning tree from point 0 */
    for (size_t i = 0; i < n; i++) {
        intree[i] = 0;
        dist[i] = INFINITY;
        src[i] = 0;
    }
    size_t cur = 0;
    for (size_t e = 0; e + 1 < n; e++) {
        intree[cur] = 1;
        size_t best = n;
        for (size_t j = 0; j < n; j++) {
            if (intree[j])
                continue;
            double d = MR(cur, j);
            if (d < dist[j]) {
                dist[j] = d;
                src[j] = (uint32_t)cur;
            }
            if (best == n || dist[j] < dist[best])
                best = j;
        }
        ea[e] = src[best];
        eb[e] = (uint32_t)best;
        ew[e] = dist[best];
        cur = best;
    }
#undef MR
    /* stable insertion sort of the n-1 edges by weight */
    for (size_t e = 1; e + 1 < n; e++) {
        uint32_t a = ea[e], b = eb[e];
        double x = ew[e];
        size_t f = e;
        for (; f > 0 && ew[f - 1] > x; f--) {
            ea[f] = ea[f - 1];
            eb[f] = eb[f - 1];
            ew[f] = ew[f - 1];
        }
        ea[f] = a;
        eb[f] = b;
        ew[f] = x;
    }

    /* 3. single linkage: internal node n + e joins the components of edge e */
    for (size_t i = 0; i < 2 * n - 1; i++) {
        parent[i] = (uint32_t)i;
        size[i] = i < n ? 1 : 0;
    }
    for (size_t e = 0; e + 1 < n; e++) {
        uint32_t aa = uf_find(parent, ea[e]), bb = uf_find(parent, eb[e]);
        uint32_t node = (uint32_t)(n + e);
        left[node] = aa;
        right[node] = bb;
        size[node] = size[aa] + size[bb];
        parent[aa] = parent[bb] = node;
    }
    /* ew[e] is now the distance of node n + e */

    /* 4. condensed tree (BFS from the root, as condense_tree) */
    uint32_t root = (uint32_t)(2 * n - 2), next_label = (uint32_t)n + 1;
    size_t nct = 0, qh = 0, qt = 0;
    uint32_t *queue = parent; /* union-find no longer needed */
    relabel[root] = (uint32_t)n;
    queue[qt++] = root;
    while (qh < qt) {
        uint32_t node = queue[qh++];
        if (node < n)
            continue;
        uint32_t l = left[node], r = right[node];
        double d = ew[node - n], lambda = d > 0 ? 1.0 / d : INFINITY;
        uint32_t ls = size[l], rs = size[r];
        uint32_t rel = relabel[node];
        /* sides that fall out as points: all of a side below mcs */
        uint32_t sides[2] = {l, r};
        int small[2] = {ls < mcs, rs < mcs};
        if (!small[0] && !small[1]) {
            relabel[l] = next_label++;
            ct[nct++] = (ct_row_t){rel, relabel[l], lambda, ls};
            relabel[r] = next_label++;
            ct[nct++] = (ct_row_t){rel, relabel[r], lambda, rs};
            queue[qt++] = l;
            queue[qt++] = r;
            continue;
        }
        for (int s = 0; s < 2; s++) {
            if (!small[s]) {
                relabel[sides[s]] = rel;
                queue[qt++] = sides[s];
                continue;
            }
            size_t top = 0;
            stack[top++] = sides[s];
            while (top) {
                uint32_t x = stack[--top];
                if (x < n) {
                    ct[nct++] = (ct_row_t){rel, x, lambda, 1};
                } else {
                    /* push right then left so that points come out left first */
                    stack[top++] = right[x];
                    stack[top++] = left[x];
                }
            }
        }
    }
    size_t ncl = next_label - n; /* cluster ids n .. next_label - 1 */

    /* 5. stability: sum over a cluster's rows of (lambda - birth) * size */
    for (size_t c = 0; c < ncl; c++) {
        stab[c] = 0;
        birth[c] = 0;
    }
    for (size_t t = 0; t < nct; t++)
        if (ct[t].child >= n)
            birth[ct[t].child - n] = ct[t].lambda;
    for (size_t t = 0; t < nct; t++) {
        size_t p = ct[t].parent - n;
        /* a point that leaves at distance 0 (a duplicate) adds an infinite stability,
         * as in the package (DeepSight's 0/1 cluster distances are full of them); only
         * inf - inf, a cluster born and left at distance 0, adds nothing */
        double dl = isinf(ct[t].lambda) && isinf(birth[p]) ? 0.0 : ct[t].lambda - birth[p];
        stab[p] += dl * ct[t].size;
    }

    /* 6. excess of mass, children before parents (descending ids) */
    for (size_t c = 0; c < ncl; c++)
        is_cl[c] = 1;
    if (!allow_single)
        is_cl[0] = 0;
    for (size_t c1 = ncl; c1-- > (allow_single ? 0u : 1u);) {
        double sub = 0;
        for (size_t t = 0; t < nct; t++)
            if (ct[t].parent == n + c1 && ct[t].child >= n)
                sub += stab[ct[t].child - n];
        if (sub > stab[c1]) {
            is_cl[c1] = 0;
            stab[c1] = sub;
        } else {
            /* deselect every descendant cluster */
            size_t top = 0;
            for (size_t t = 0; t < nct; t++)
                if (ct[t].parent == n + c1 && ct[t].child >= n)
                    stack[top++] = ct[t].child;
            while (top) {
                uint32_t x = stack[--top];
                is_cl[x - n] = 0;
                for (size_t t = 0; t < nct; t++)
                    if (ct[t].parent == x && ct[t].child >= n)
                        stack[top++] = ct[t].child;
            }
        }
    }

    /* 7. labelling: a point belongs to the selected cluster it rises to */
    int nsel = 0;
    uint32_t *up = relabel; /* by child id (< n + ncl): its parent, or itself if selected */
    int *lmap = (int *)src; /* cluster -> label; src (n) suffices, ncl <= n */
    for (size_t c = 0; c < ncl; c++)
        lmap[c] = is_cl[c] ? nsel++ : -1;
    for (size_t x = 0; x < n + ncl; x++)
        up[x] = (uint32_t)x;
    for (size_t t = 0; t < nct; t++) {
        uint32_t c = ct[t].child;
        if (c < n || !is_cl[c - n])
            up[c] = ct[t].parent;
    }
    double root_max = -INFINITY;
    for (size_t t = 0; t < nct; t++)
        if (ct[t].parent == n)
            root_max = fmax(root_max, ct[t].lambda);
    for (size_t i = 0; i < n; i++) {
        uint32_t c = (uint32_t)i;
        while (up[c] != c && !(c >= n && is_cl[c - n]))
            c = up[c];
        if (c < n || !is_cl[c - n]) {
            labels[i] = -1;
        } else if (c == n) {
            double li = -INFINITY;
            for (size_t t = 0; t < nct; t++)
                if (ct[t].child == i)
                    li = ct[t].lambda;
            labels[i] = nsel == 1 && allow_single && li >= root_max ? lmap[0] : -1;
        } else {
            labels[i] = lmap[c - n];
        }
    }
    return nsel;
}

void ft_kmeanspp_init(const double *X, size_t n, size_t d, size_t k, ft_rng_t *rng, uint32_t *init,
                      double *tmp)
{
    assert(k >= 1 && k <= n);
    init[0] = ft_rng_below(rng, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        tmp[i] = INFINITY;
    for (size_t c = 1; c < k; c++) {
        const double *p = X + (size_t)init[c - 1] * d;
        double total = 0;
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t t = 0; t < d; t++)
                s += (X[i * d + t] - p[t]) * (X[i * d + t] - p[t]);
            tmp[i] = fmin(tmp[i], s);
            total += tmp[i];
        }
        size_t pick = 0;
        if (total > 0) {
            double u = ft_rng_uniform(rng) * total, acc = 0;
            pick = n - 1;
            for (size_t i = 0; i < n; i++) {
                acc += tmp[i];
                if (u < acc && tmp[i] > 0) {
                    pick = i;
                    break;
                }
            }
        }
        init[c] = (uint32_t)pick;
    }
}

double ft_kmeans(const double *X, size_t n, size_t d, size_t k, const uint32_t *init,
                 size_t max_iter, int *labels, double *centers, double *counts, double *inertia)
{
    assert(k >= 1);
    for (size_t c = 0; c < k; c++)
        memcpy(centers + c * d, X + (size_t)init[c] * d, d * sizeof(double));
    for (size_t i = 0; i < n; i++)
        labels[i] = -1;
    for (size_t it = 0; it < max_iter; it++) {
        int changed = 0;
        for (size_t i = 0; i < n; i++) {
            int best = 0;
            double bd = INFINITY;
            for (size_t c = 0; c < k; c++) {
                double s = 0;
                for (size_t t = 0; t < d; t++)
                    s += (X[i * d + t] - centers[c * d + t]) * (X[i * d + t] - centers[c * d + t]);
                if (s < bd) {
                    bd = s;
                    best = (int)c;
                }
            }
            changed |= labels[i] != best;
            labels[i] = best;
        }
        if (!changed)
            break;
        for (size_t c = 0; c < k; c++)
            counts[c] = 0;
        for (size_t i = 0; i < n; i++)
            counts[labels[i]] += 1;
        for (size_t c = 0; c < k; c++)
            if (counts[c] > 0)
                for (size_t t = 0; t < d; t++)
                    centers[c * d + t] = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t t = 0; t < d; t++)
                centers[(size_t)labels[i] * d + t] += X[i * d + t] / counts[labels[i]];
    }
    double w = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t t = 0; t < d; t++) {
            double e = X[i * d + t] - centers[(size_t)labels[i] * d + t];
            s += e * e;
        }
        w += sqrt(s);
        sq += s;
    }
    if (inertia)
        *inertia = sq;
    return w;
}

size_t ft_gap_ws(size_t n, size_t d)
{
    return 2 * ft_ws_bytes(n * d * sizeof(double)) + 2 * ft_ws_bytes(n * sizeof(double)) +
           ft_ws_bytes(n * sizeof(uint32_t)) + ft_ws_bytes(n * sizeof(int)) +
           ft_ws_bytes(n * d * sizeof(double)) + ft_ws_bytes(64 * sizeof(double));
}

#define GAP_MAX_B    64  /* most reference sets */
#define GAP_MAX_ITER 300 /* Lloyd steps (scikit-learn's default max_iter) */

size_t ft_gap_statistic(const double *X, size_t n, size_t d, size_t kmax, size_t B,
                        ft_gap_kind_t kind, ft_rng_t *rng, ft_ws_t *ws)
{
    assert(n >= 1 && kmax >= 1 && kmax <= n && B >= 1 && B <= GAP_MAX_B);
    ft_ws_t w = *ws;
    double *Xc = ft_ws_take(&w, n * d * sizeof(double));
    double *R = ft_ws_take(&w, n * d * sizeof(double));
    double *tmp = ft_ws_take(&w, n * sizeof(double));
    double *cnt = ft_ws_take(&w, n * sizeof(double));
    uint32_t *init = ft_ws_take(&w, n * sizeof(uint32_t));
    int *lab = ft_ws_take(&w, n * sizeof(int));
    double *cen = ft_ws_take(&w, n * d * sizeof(double));
    double *lw = ft_ws_take(&w, GAP_MAX_B * sizeof(double));
    for (size_t t = 0; t < d; t++) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            lo = fmin(lo, X[i * d + t]);
            hi = fmax(hi, X[i * d + t]);
        }
        for (size_t i = 0; i < n; i++)
            Xc[i * d + t] = hi > lo ? (X[i * d + t] - lo) / (hi - lo) : 0.0;
    }
    int sq = kind == FT_GAP_FLDETECTOR;
    double prev_gap = 0;
    for (size_t k = 1; k <= kmax; k++) {
        double in;
        ft_kmeanspp_init(Xc, n, d, k, rng, init, tmp);
        double wk = ft_kmeans(Xc, n, d, k, init, GAP_MAX_ITER, lab, cen, cnt, &in);
        double mean = 0, mean_w = 0;
        for (size_t b = 0; b < B; b++) {
            for (size_t i = 0; i < n * d; i++)
                R[i] = ft_rng_uniform(rng);
            double inb;
            ft_kmeanspp_init(R, n, d, k, rng, init, tmp);
            double wb = ft_kmeans(R, n, d, k, init, GAP_MAX_ITER, lab, cen, cnt, &inb);
            lw[b] = sq ? log(inb) : log(wb + 1e-10);
            mean += lw[b] / (double)B;
            mean_w += (sq ? inb : wb) / (double)B;
        }
        double var = 0;
        for (size_t b = 0; b < B; b++)
            var += (lw[b] - mean) * (lw[b] - mean) / (double)B;
        double gap = sq ? log(mean_w) - log(in) : mean - log(wk + 1e-10);
        double sk = sqrt(var) * sqrt(1 + 1.0 / (double)B);
        if (k > 1 && prev_gap >= gap - sk)
            return k - 1;
        prev_gap = gap;
    }
    return kmax;
}

void ft_two_means_1d(const double *x, size_t n, int *labels, double *tmp)
{
    assert(n >= 2);
    for (size_t i = 0; i < n; i++)
        tmp[i] = x[i];
    for (size_t i = 1; i < n; i++) { /* insertion sort: n is a round's K */
        double v = tmp[i];
        size_t j = i;
        for (; j > 0 && tmp[j - 1] > v; j--)
            tmp[j] = tmp[j - 1];
        tmp[j] = v;
    }
    double total = 0, total2 = 0;
    for (size_t i = 0; i < n; i++) {
        total += tmp[i];
        total2 += tmp[i] * tmp[i];
    }
    double best = INFINITY, thr = tmp[0], s = 0, s2 = 0;
    for (size_t c = 1; c < n; c++) { /* left = tmp[0..c) */
        s += tmp[c - 1];
        s2 += tmp[c - 1] * tmp[c - 1];
        if (tmp[c] == tmp[c - 1])
            continue; /* a threshold must separate distinct values */
        double nl = (double)c, nr = (double)(n - c);
        double sse = (s2 - s * s / nl) + ((total2 - s2) - (total - s) * (total - s) / nr);
        if (sse < best) {
            best = sse;
            thr = tmp[c - 1];
        }
    }
    for (size_t i = 0; i < n; i++)
        labels[i] = isinf(best) ? 0 : x[i] > thr;
}
