/* ft_cuda_lstm: the text ops of kernels/ft_lstm_ops.h on the CUDA back end —
 * embedding lookup and its sparse-row gradient, one LSTM step forward and backward,
 * and the per-row scoring evaluation uses — written once against the two executors
 * of ft_cuda_internal.h (device, host emulation) like every CUDA op.
 *
 * A step is the fast CPU path's plan (kernels/ft_lstm_ops_cpu.c) on cuBLAS: the
 * B×4H pre-activations start as b_ih + b_hh and take x W_ih^T and h' W_hh^T as two
 * GEMMs over the batch, then one element-wise pass activates the gates and updates
 * c and h. Backward: one element-wise pass for the gate gradients and dc, the bias
 * gradients summed per gate row in double (the reference's order), and four GEMMs
 * (dW_ih and dW_hh accumulated, dx and dh' overwritten). cuBLAS is column-major: a
 * row-major R×C matrix with row length ld is, to cuBLAS, a C×R matrix with leading
 * dimension ld; each call's comment gives the mapping.
 *
 * The embedding gradient is a scatter-add where a word id may repeat in the batch.
 * Instead of atomics (whose order, and so whose float sum, varies run to run) a first
 * pass links each row b to the next row with the same id (next[b], -1 at the last)
 * and marks the first occurrence; then one thread per (first occurrence, e) adds the
 * rows of its id in ascending order, the reference's order: bit-identical to it and
 * deterministic. The pass costs O(B) per row of ids (B = T×batch rows, a few
 * thousand), small beside the step GEMMs.
 *
 * Element-wise bodies repeat the reference's operations in its order under
 * -fmad=false; they differ from it only where the device's expf/tanhf/logf differ
 * from the host's in the last bit. */
#include "ft_cuda_internal.h"

#include <assert.h>
#include <math.h>

extern "C" {
#include "ft_lstm_ops.h"
}

static FT_HD inline float sigmoid_f(float a)
{
    return 1.0f / (1.0f + expf(-a));
}

/* y B×E = rows ids[b] of table V×E. */
template <bool H>
static void embedding_forward(int B, int E, const int32_t *ids, const float *table, float *y)
{
    each<H>((size_t)B * E, [=] FT_HD(size_t i) {
        size_t b = i / E, e = i % E;
        y[i] = table[(size_t)ids[b] * E + e];
    });
}

/* dtable[ids[b]] += dy[b] for b in order, without atomics (see the file comment). */
template <bool H>
static void embedding_backward(int B, int E, const int32_t *ids, const float *dy, float *dtable)
{
    if (B <= 0 || E <= 0)
        return;
    /* next[b]: the next row with ids[b], -1 if none; next[B + b]: 1 at a first
     * occurrence. Scratch: the op is called once per pass, not per step. */
    int32_t *next = (int32_t *)ft_cuda_scratch<H>(2 * (size_t)B * sizeof(int32_t));
    each<H>((size_t)B, [=] FT_HD(size_t b) {
        const int32_t id = ids[b];
        int32_t nx = -1;
        for (int k = (int)b + 1; k < B; k++)
            if (ids[k] == id) {
                nx = k;
                break;
            }
        int32_t first = 1;
        for (size_t k = 0; k < b; k++)
            if (ids[k] == id) {
                first = 0;
                break;
            }
        next[b] = nx;
        next[(size_t)B + b] = first;
    });
    each<H>((size_t)B * E, [=] FT_HD(size_t i) {
        size_t b = i / E, e = i % E;
        if (!next[(size_t)B + b])
            return;
        float *d = dtable + (size_t)ids[b] * E + e;
        float acc = *d;
        for (int32_t k = (int32_t)b; k >= 0; k = next[k])
            acc += dy[(size_t)k * E + e];
        *d = acc;
    });
}

template <bool H>
static void step_forward(int B, int In, int Hd, const float *x, const float *h_prev,
                         const float *c_prev, const float *w_ih, const float *w_hh,
                         const float *b_ih, const float *b_hh, float *gates, float *h, float *c)
{
    const int G = 4 * Hd;
    each<H>((size_t)B * G, [=] FT_HD(size_t i) {
        size_t r = i % G;
        gates[i] = b_ih[r] + b_hh[r];
    });
    /* gates^T (G×B, ld G) += (w_ih (In×G col-major, ld In))^T · x^T (In×B, ld In) */
    gemm<H>(1, 0, G, B, In, w_ih, In, 0, x, In, 0, 1.0f, gates, G, 0, 1);
    /* gates^T += (w_hh (Hd×G, ld Hd))^T · h_prev^T (Hd×B, ld Hd) */
    gemm<H>(1, 0, G, B, Hd, w_hh, Hd, 0, h_prev, Hd, 0, 1.0f, gates, G, 0, 1);
    each<H>((size_t)B * Hd, [=] FT_HD(size_t at) {
        size_t b = at / Hd, j = at % Hd;
        float *gb = gates + b * G;
        float i = gb[j] = sigmoid_f(gb[j]);
        float f = gb[Hd + j] = sigmoid_f(gb[Hd + j]);
        float g = gb[2 * Hd + j] = tanhf(gb[2 * Hd + j]);
        float o = gb[3 * Hd + j] = sigmoid_f(gb[3 * Hd + j]);
        float cj = f * c_prev[at] + i * g;
        c[at] = cj;
        h[at] = o * tanhf(cj);
    });
}

template <bool H>
static void step_backward(int B, int In, int Hd, const float *x, const float *h_prev,
                          const float *c_prev, const float *w_ih, const float *w_hh,
                          const float *gates, const float *c, const float *dh, float *dc,
                          float *dgates, float *dx, float *dh_prev, float *dw_ih, float *dw_hh,
                          float *db_ih, float *db_hh)
{
    const int G = 4 * Hd;
    each<H>((size_t)B * Hd, [=] FT_HD(size_t at) {
        size_t b = at / Hd, j = at % Hd;
        const float *gb = gates + b * G;
        float *dg = dgates + b * G;
        float i = gb[j], f = gb[Hd + j], g = gb[2 * Hd + j], o = gb[3 * Hd + j];
        float tc = tanhf(c[at]);
        float dct = dc[at] + dh[at] * o * (1.0f - tc * tc);
        dg[j] = dct * g * i * (1.0f - i);
        dg[Hd + j] = dct * c_prev[at] * f * (1.0f - f);
        dg[2 * Hd + j] = dct * i * (1.0f - g * g);
        dg[3 * Hd + j] = dh[at] * tc * o * (1.0f - o);
        dc[at] = dct * f;
    });
    each<H>((size_t)G, [=] FT_HD(size_t r) {
        double s = 0;
        for (int b = 0; b < B; b++)
            s += dgates[(size_t)b * G + r];
        db_ih[r] += (float)s;
        db_hh[r] += (float)s;
    });
    /* dw_ih^T (In×G, ld In) += x^T (In×B, ld In) · (dgates^T (G×B, ld G))^T */
    gemm<H>(0, 1, In, G, B, x, In, 0, dgates, G, 0, 1.0f, dw_ih, In, 0, 1);
    /* dw_hh^T (Hd×G, ld Hd) += h_prev^T (Hd×B, ld Hd) · (dgates^T)^T */
    gemm<H>(0, 1, Hd, G, B, h_prev, Hd, 0, dgates, G, 0, 1.0f, dw_hh, Hd, 0, 1);
    /* dx^T (In×B, ld In) = w_ih^T (In×G, ld In) · dgates^T (G×B, ld G) */
    if (dx)
        gemm<H>(0, 0, In, B, G, w_ih, In, 0, dgates, G, 0, 0.0f, dx, In, 0, 1);
    /* dh_prev^T (Hd×B, ld Hd) = w_hh^T (Hd×G, ld Hd) · dgates^T */
    gemm<H>(0, 0, Hd, B, G, w_hh, Hd, 0, dgates, G, 0, 0.0f, dh_prev, Hd, 0, 1);
}

/* One thread per row, the host scorer's loop (ft_lstm_host_score_rows) verbatim: V
 * may be a large vocabulary, but the rows of an evaluation batch (T×B) are enough
 * threads, and a sequential float sum keeps the emulation bit-identical to the
 * host. */
template <bool H>
static void score_rows(int R, int V, const float *logits, const int32_t *targets, int32_t *best,
                       double *loss)
{
    each<H>((size_t)R, [=] FT_HD(size_t r) {
        const float *row = logits + r * V;
        int k_best = 0;
        for (int k = 1; k < V; k++)
            if (row[k] > row[k_best])
                k_best = k;
        best[r] = k_best;
        if (!loss)
            return;
        int32_t y = targets[r];
        if (y < 0 || y >= V) {
            loss[r] = 0.0;
            return;
        }
        float mx = row[k_best], se = 0.0f; /* float sum: terms in (0, 1] */
        for (int k = 0; k < V; k++)
            se += expf(row[k] - mx);
        loss[r] = (double)logf(se) + mx - row[y];
    });
}

static ft_lstm_ops_t g_lstm_dev;  /* the device table, filled with the device ops table */
static ft_lstm_ops_t g_lstm_host; /* the emulation table, filled with the emulated one */

template <bool H> void ft_cuda_fill_lstm(ft_ops_t *t)
{
    ft_lstm_ops_t *l = H ? &g_lstm_host : &g_lstm_dev;
    l->name = H ? "cuda-emulated" : "cuda";
    l->embedding_forward = embedding_forward<H>;
    l->embedding_backward = embedding_backward<H>;
    l->lstm_step_forward = step_forward<H>;
    l->lstm_step_backward = step_backward<H>;
    l->score_rows = score_rows<H>;
    t->lstm = l;
}

template void ft_cuda_fill_lstm<false>(ft_ops_t *t);
template void ft_cuda_fill_lstm<true>(ft_ops_t *t);
