/* ft_defense_util: shared building blocks of the aggregation rules.
 *
 * Distances for Krum, Multi-Krum and Bulyan come from one Gram matrix per round
 * (||a-b||^2 = ||a||^2 + ||b||^2 - 2<a,b>): a K×K×N single-precision GEMM instead
 * of K^2/2 vector loops, so the updates are read from memory once. Two numerical
 * traps are handled here once:
 *  - cancellation: for near-identical rows the difference of large terms can go
 *    slightly negative; the GEMM runs panel by panel (a few thousand columns, so a
 *    panel stays in cache) and the panels — diagonal (the squared norms) included —
 *    are summed in double, which bounds the error to ~1e-7 of ||a||^2; a negative
 *    result is clamped to 0;
 *  - overflow: an attacker row of 1e30 overflows a float product, so pairs whose
 *    norm product could exceed float range are recomputed directly in double. */
#include "ft_defense_util.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_ops.h"

#include <assert.h>
#include <math.h>
#include <string.h>

void ft_ws_init(ft_ws_t *ws, void *base, size_t bytes)
{
    assert(base || bytes == 0);
    size_t pad = (64u - ((uintptr_t)base & 63u)) & 63u;
    assert(pad <= bytes || bytes == 0);
    ws->p = (uint8_t *)base + (bytes ? pad : 0);
    ws->left = bytes ? bytes - pad : 0;
}

void *ft_ws_take(ft_ws_t *ws, size_t bytes)
{
    size_t need = ft_ws_bytes(bytes);
    assert(need <= ws->left && "defense workspace too small (workspace_size is wrong)");
    void *p = ws->p;
    ws->p += need;
    ws->left -= need;
    return p;
}

double ft_sumsq(const float *x, size_t N)
{
    /* Four partial sums let the compiler vectorise without -ffast-math. */
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= N; j += 4) {
        s0 += (double)x[j] * x[j];
        s1 += (double)x[j + 1] * x[j + 1];
        s2 += (double)x[j + 2] * x[j + 2];
        s3 += (double)x[j + 3] * x[j + 3];
    }
    for (; j < N; j++)
        s0 += (double)x[j] * x[j];
    return (s0 + s1) + (s2 + s3);
}

double ft_dist2(const float *a, const float *b, size_t N)
{
    double s0 = 0, s1 = 0;
    size_t j = 0;
    for (; j + 2 <= N; j += 2) {
        double d0 = (double)a[j] - b[j], d1 = (double)a[j + 1] - b[j + 1];
        s0 += d0 * d0;
        s1 += d1 * d1;
    }
    for (; j < N; j++) {
        double d = (double)a[j] - b[j];
        s0 += d * d;
    }
    return s0 + s1;
}

double ft_dot(const float *a, const float *b, size_t N)
{
    double s0 = 0, s1 = 0;
    size_t j = 0;
    for (; j + 2 <= N; j += 2) {
        s0 += (double)a[j] * b[j];
        s1 += (double)a[j + 1] * b[j + 1];
    }
    for (; j < N; j++)
        s0 += (double)a[j] * b[j];
    return s0 + s1;
}

/* Built for AVX-512, AVX2 and the baseline, picked at load time; all three round
 * alike (no contraction into FMA under ISO C), so the result does not depend on the
 * CPU. */
__attribute__((target_clones("avx512f", "avx2", "default"))) void
ft_axpy_d(double *restrict acc, size_t n, double w, const float *restrict x)
{
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __builtin_prefetch(x + n + j); /* this row's next block */
        for (size_t e = j; e < j + 16; e++)
            acc[e] += w * x[e];
    }
    for (; j < n; j++)
        acc[j] += w * x[j];
}

/* Columns per block of the weighted sums: the double accumulators stay in L1. */
enum { SUM_BLOCK = 1024 };

/* out = sum_i w[i] row_i, summed in double block by block; row i is rows[i] when
 * rows is given, else U + i N (the two public forms below). */
static void weighted_sum(const float *const *rows, const float *U, size_t K, size_t N,
                         const double *w, float *out)
{
    double acc[SUM_BLOCK];
    for (size_t j0 = 0; j0 < N; j0 += SUM_BLOCK) {
        size_t nb = N - j0 < SUM_BLOCK ? N - j0 : SUM_BLOCK;
        memset(acc, 0, nb * sizeof *acc);
        for (size_t i = 0; i < K; i++)
            if (w[i] != 0)
                ft_axpy_d(acc, nb, w[i], (rows ? rows[i] : U + i * N) + j0);
        for (size_t j = 0; j < nb; j++)
            out[j0 + j] = (float)acc[j];
    }
}

void ft_weighted_sum(const float *const *rows, size_t K, size_t N, const double *w, float *out)
{
    weighted_sum(rows, NULL, K, N, w, out);
}

void ft_weighted_sum_mat(const float *U, size_t K, size_t N, const double *w, float *out)
{
    weighted_sum(NULL, U, K, N, w, out);
}

size_t ft_gram_panel_cols(size_t K)
{
    /* A panel must stay in L2 while the GEMM packs it twice. Measured with one-thread
     * AVX-512 OpenBLAS (best of 3): K = 10, N = 9.2M: 1024 columns 41 ms, 4096 55 ms,
     * 16384 180 ms; K = 30: 512-1024 41 ms, 2048+ 70 ms; K = 100: 512 286 ms, 1024+
     * 315-400 ms. */
    return K <= 48 ? 1024 : 512;
}

size_t ft_gram_ws(size_t max_k)
{
    /* panel copy, panel Gram, and (for ft_pdist2) row pointers and norms */
    return ft_ws_bytes(max_k * FT_GRAM_PANEL * sizeof(float)) +
           ft_ws_bytes(max_k * max_k * sizeof(float)) + ft_ws_bytes(max_k * sizeof(float *)) +
           ft_ws_bytes(max_k * sizeof(double));
}

/* G += the upper triangle of the Gram matrix, through the BLAS in panels of columns
 * (copied into panel when the rows are not one contiguous K×N block). */
static void gram_blas(const float *const *rows, size_t K, size_t N, double *G, float *panel,
                      float *C)
{
    size_t P = ft_gram_panel_cols(K);
    int contiguous = 1;
    for (size_t i = 1; i < K; i++)
        if (rows[i] != rows[0] + i * N)
            contiguous = 0;
    for (size_t j0 = 0; j0 < N; j0 += P) {
        size_t nb = N - j0 < P ? N - j0 : P;
        const float *A;
        int lda;
        if (contiguous) {
            A = rows[0] + j0;
            lda = (int)N;
        } else {
            for (size_t i = 0; i < K; i++)
                memcpy(panel + i * nb, rows[i] + j0, nb * sizeof(float));
            A = panel;
            lda = (int)nb;
        }
        /* C = A·Aᵀ over this panel, upper triangle only. SYRK computes just that (half
         * the FLOPs) and wins from K ~ 64 on; below, OpenBLAS's SYRK is slower than its
         * GEMM (K = 30: 0.051 s against 0.034 s; bench_defenses, idle machine). */
        if (K >= 64)
            ft_ssyrk((int)K, (int)nb, 1.0f, A, lda, 0.0f, C, (int)K);
        else
            ft_sgemm(0, 1, (int)K, (int)K, (int)nb, 1.0f, A, lda, A, lda, 0.0f, C, (int)K);
        for (size_t i = 0; i < K; i++)
            for (size_t k = i; k < K; k++)
                G[i * K + k] += C[i * K + k];
    }
}

void ft_gram(const float *const *rows, size_t K, size_t N, double *G, double *norms2, ft_ws_t *ws)
{
    float *panel = ft_ws_take(ws, K * FT_GRAM_PANEL * sizeof(float));
    float *C = ft_ws_take(ws, K * K * sizeof(float));
    memset(G, 0, K * K * sizeof *G);
    if (!ft_gram_tiled(rows, (int)K, N, G))
        gram_blas(rows, K, N, G, panel, C);
    /* The norms are the diagonal, summed in double across panels; a row whose float
     * diagonal overflowed (a 1e30 attack) or holds NaN/Inf gets its norm from a
     * double pass, which tells a huge row (finite) from a NaN/Inf one. */
    for (size_t i = 0; i < K; i++) {
        norms2[i] = G[i * K + i];
        if (!isfinite(norms2[i]))
            norms2[i] = ft_sumsq(rows[i], N);
        G[i * K + i] = norms2[i];
    }
    for (size_t i = 0; i < K; i++) {
        for (size_t k = i + 1; k < K; k++) {
            double g = G[i * K + k];
            int finite_rows = isfinite(norms2[i]) && isfinite(norms2[k]);
            if (!finite_rows)
                g = NAN;
            else if (!isfinite(g) || sqrt(norms2[i]) * sqrt(norms2[k]) >= 1e37)
                g = ft_dot(rows[i], rows[k], N);
            G[i * K + k] = G[k * K + i] = g;
        }
    }
}

void ft_pdist2(const float *U, size_t K, size_t N, double *D, uint8_t *bad, ft_ws_t *ws)
{
    const float **rows = ft_ws_take(ws, K * sizeof(float *));
    double *norms2 = ft_ws_take(ws, K * sizeof(double));
    for (size_t i = 0; i < K; i++)
        rows[i] = U + i * N;
    ft_gram((const float *const *)rows, K, N, D, norms2, ws);
    for (size_t i = 0; i < K; i++) {
        int bi = !isfinite(norms2[i]);
        if (bad)
            bad[i] = (uint8_t)bi;
        D[i * K + i] = 0;
        for (size_t k = i + 1; k < K; k++) {
            double d;
            if (bi || !isfinite(norms2[k])) {
                d = INFINITY;
            } else {
                d = norms2[i] + norms2[k] - 2 * D[i * K + k];
                if (!(d > 0))
                    d = 0;
                if (!isfinite(d))
                    d = INFINITY;
            }
            D[i * K + k] = d;
        }
    }
    for (size_t i = 0; i < K; i++)
        for (size_t k = 0; k < i; k++)
            D[i * K + k] = D[k * K + i];
}

void ft_krum_scores(const double *D, size_t K, const uint8_t *active, size_t nb, double *scores,
                    double *tmp)
{
    for (size_t i = 0; i < K; i++) {
        if (!active[i]) {
            scores[i] = INFINITY;
            continue;
        }
        size_t n = 0;
        for (size_t j = 0; j < K; j++)
            if (j != i && active[j])
                tmp[n++] = D[i * K + j];
        size_t take = nb < n ? nb : n;
        /* Partial selection sort: take is small and K <= a few hundred. */
        double s = 0;
        for (size_t t = 0; t < take; t++) {
            size_t best = t;
            for (size_t u = t + 1; u < n; u++)
                if (tmp[u] < tmp[best])
                    best = u;
            double v = tmp[best];
            tmp[best] = tmp[t];
            tmp[t] = v;
            s += v;
        }
        scores[i] = s;
    }
}

static inline void vi_swap(ft_vi_t *a, size_t x, size_t y)
{
    ft_vi_t t = a[x];
    a[x] = a[y];
    a[y] = t;
}

void ft_select_kth(ft_vi_t *a, size_t n, size_t k)
{
    assert(k < n);
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        if (hi - lo < 16) {
            /* insertion sort of the short remaining range */
            for (size_t x = lo + 1; x <= hi; x++) {
                ft_vi_t t = a[x];
                size_t y = x;
                while (y > lo && a[y - 1].v > t.v) {
                    a[y] = a[y - 1];
                    y--;
                }
                a[y] = t;
            }
            return;
        }
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid].v < a[lo].v)
            vi_swap(a, mid, lo);
        if (a[hi].v < a[lo].v)
            vi_swap(a, hi, lo);
        if (a[hi].v < a[mid].v)
            vi_swap(a, hi, mid);
        float pivot = a[mid].v;
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i].v < pivot)
                i++;
            while (a[j].v > pivot)
                j--;
            if (i <= j) {
                vi_swap(a, i, j);
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        /* now a[lo..j] <= pivot <= a[i..hi], and j < i */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

int ft_count_weights(const float *counts, size_t K, double *sw)
{
    double total = 0;
    for (size_t i = 0; i < K; i++) {
        if (!isfinite(counts[i]) || counts[i] < 0)
            return ft_error_set(FT_EINVAL, "sample count of update %zu is %g (must be >= 0)", i,
                                (double)counts[i]);
        total += counts[i];
    }
    if (!(total > 0))
        return ft_error_set(FT_EINVAL, "sample counts of the %zu updates sum to 0", K);
    for (size_t i = 0; i < K; i++)
        sw[i] = counts[i] / total;
    return FT_OK;
}

int ft_defense_stateless_create(const ft_defense_cfg_t *d, size_t max_k, size_t N,
                                size_t num_clients, void **state)
{
    (void)d;
    (void)max_k;
    (void)N;
    (void)num_clients;
    *state = NULL;
    return FT_OK;
}

void ft_defense_free_state(void **state)
{
    if (state && *state) {
        ft_free(*state);
        *state = NULL;
    }
}

void ft_decisions_init(ft_defense_decision_t *d, size_t K, ft_decision_t decision)
{
    for (size_t i = 0; i < K; i++) {
        d[i].decision = decision;
        d[i].clip_factor = 1.0f;
        d[i].score = 0.0f;
        d[i].weight = 0.0f;
        d[i].contrib_norm = 0.0f;
    }
}

void ft_decisions_set_contrib(ft_defense_decision_t *d, size_t K, const float *U, size_t N)
{
    for (size_t i = 0; i < K; i++)
        d[i].contrib_norm = d[i].weight != 0
                                ? (float)(fabs((double)d[i].weight * (double)d[i].clip_factor) *
                                          sqrt(ft_sumsq(U + i * N, N)))
                                : 0.0f;
}

void ft_decisions_from_usage(ft_defense_decision_t *d, size_t K, size_t N, const double *share,
                             const double *used)
{
    ft_decisions_init(d, K, FT_DECISION_REWEIGHTED);
    for (size_t i = 0; i < K; i++) {
        d[i].weight = N ? (float)(share[i] / (double)N) : 0.0f;
        d[i].score = N ? (float)(used[i] / (double)N) : 0.0f;
        if (used[i] == 0)
            d[i].decision = FT_DECISION_DROPPED;
        else if (used[i] == (double)N)
            d[i].decision = FT_DECISION_KEPT; /* part of the output at every coordinate */
    }
}

int ft_check_int_range(const ft_config_t *src, const char *key, int64_t v, int64_t lo, int64_t hi,
                       const char *why)
{
    if (v < lo || v > hi)
        return ft_config_error(src, key, "is %lld; must be in [%lld, %lld]%s%s", (long long)v,
                               (long long)lo, (long long)hi, why ? " " : "", why ? why : "");
    return FT_OK;
}

int ft_check_float_range(const ft_config_t *src, const char *key, double v, double lo, int lo_incl,
                         double hi, int hi_incl)
{
    int ok = isfinite(v) && (lo_incl ? v >= lo : v > lo) && (hi_incl ? v <= hi : v < hi);
    if (ok)
        return FT_OK;
    if (isinf(hi))
        return ft_config_error(src, key, "is %g; must be %s %g", v, lo_incl ? ">=" : ">", lo);
    return ft_config_error(src, key, "is %g; must be in %c%g, %g%c", v, lo_incl ? '[' : '(', lo, hi,
                           hi_incl ? ']' : ')');
}

void ft_weighted_sum_d(const float *U, size_t K, size_t N, const double *w, double *out)
{
    memset(out, 0, N * sizeof *out);
    for (size_t j0 = 0; j0 < N; j0 += SUM_BLOCK) {
        size_t nb = N - j0 < SUM_BLOCK ? N - j0 : SUM_BLOCK;
        for (size_t i = 0; i < K; i++)
            if (w[i] != 0)
                ft_axpy_d(out + j0, nb, w[i], U + i * N + j0);
    }
}

double ft_median_vi(ft_vi_t *a, size_t n, uint32_t *lo, uint32_t *hi)
{
    assert(n >= 1);
    size_t k = n / 2;
    ft_select_kth(a, n, k);
    *hi = a[k].i;
    if (n & 1) {
        *lo = a[k].i;
        return a[k].v;
    }
    /* the lower middle is the largest of a[0..k) */
    size_t b = 0;
    for (size_t t = 1; t < k; t++)
        if (a[t].v > a[b].v)
            b = t;
    *lo = a[b].i;
    return 0.5 * ((double)a[b].v + (double)a[k].v);
}

size_t ft_coord_ws(size_t max_k)
{
    return ft_ws_bytes(max_k * sizeof(ft_vi_t)) + 4 * ft_ws_bytes(max_k * sizeof(double));
}

void ft_coord_take(ft_coord_t *c, ft_ws_t *ws, size_t K)
{
    c->a = ft_ws_take(ws, K * sizeof(ft_vi_t));
    c->share = ft_ws_take(ws, K * sizeof(double));
    c->used = ft_ws_take(ws, K * sizeof(double));
    c->sq = ft_ws_take(ws, K * sizeof(double));
    c->last = ft_ws_take(ws, K * sizeof(double));
}

void ft_coordwise(const float *U, size_t K, size_t N, const uint8_t *sel, ft_coord_fn fn,
                  const void *ctx, ft_coord_t *c, float *out)
{
    for (size_t i = 0; i < K; i++)
        c->share[i] = c->used[i] = c->sq[i] = c->last[i] = 0;
    for (size_t j = 0; j < N; j++) {
        size_t n = 0;
        for (size_t i = 0; i < K; i++) {
            float v = U[i * N + j];
            if ((!sel || sel[i]) && v - v == 0) { /* v - v is NaN for NaN and +-Inf */
                c->a[n].v = v;
                c->a[n].i = (uint32_t)i;
                n++;
            }
        }
        if (!n) {
            out[j] = 0.0f;
            continue;
        }
        out[j] = (float)fn(ctx, j, c->a, n, c->share, c->used);
        /* fn may reorder a[] and overwrite its values, never its rows: the growth of
         * share[r] at j is row r's coefficient a_rj, exact because last[r] holds the
         * previous value of share[r] bit for bit. */
        for (size_t t = 0; t < n; t++) {
            uint32_t r = c->a[t].i;
            double a = c->share[r] - c->last[r];
            if (a != 0) {
                double x = a * (double)U[(size_t)r * N + j];
                c->sq[r] += x * x;
                c->last[r] = c->share[r];
            }
        }
    }
}

void ft_coord_decisions(ft_defense_decision_t *d, size_t K, size_t N, const ft_coord_t *c)
{
    ft_decisions_from_usage(d, K, N, c->share, c->used);
    for (size_t i = 0; i < K; i++)
        d[i].contrib_norm = (float)sqrt(c->sq[i]);
}

void ft_coord_aggregate(const ft_defense_input_t *in, ft_coord_fn fn, const void *ctx, float *out,
                        ft_defense_decision_t *dec, void *workspace)
{
    ft_ws_t ws;
    ft_ws_init(&ws, workspace, FT_WS_SLACK + ft_coord_ws(in->K));
    ft_coord_t c;
    ft_coord_take(&c, &ws, in->K);
    ft_coordwise(in->updates, in->K, in->N, NULL, fn, ctx, &c, out);
    ft_coord_decisions(dec, in->K, in->N, &c);
}
