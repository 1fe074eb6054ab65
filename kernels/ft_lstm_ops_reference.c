/* ft_lstm_ops_reference: the LSTM ops as plain loops, the oracle the fast path and the
 * PyTorch fixture test against (equations in ft_lstm_ops.h). Double accumulators, so
 * its sums are as exact as float inputs allow. */
#include <math.h>
#include <string.h>

#include "ft_lstm_ops.h"

static float sigmoid(float a)
{
    return 1.0f / (1.0f + expf(-a));
}

void ft_lstm_host_embedding_forward(int B, int E, const int32_t *ids, const float *table, float *y)
{
    for (int b = 0; b < B; b++)
        memcpy(y + (size_t)b * E, table + (size_t)ids[b] * E, sizeof(float) * E);
}

void ft_lstm_host_embedding_backward(int B, int E, const int32_t *ids, const float *dy,
                                     float *dtable)
{
    for (int b = 0; b < B; b++)
        for (int e = 0; e < E; e++)
            dtable[(size_t)ids[b] * E + e] += dy[(size_t)b * E + e];
}

void ft_lstm_host_score_rows(int R, int V, const float *logits, const int32_t *targets,
                             int32_t *best, double *loss)
{
    for (int r = 0; r < R; r++) {
        const float *row = logits + (size_t)r * V;
        int k_best = 0;
        for (int k = 1; k < V; k++)
            if (row[k] > row[k_best])
                k_best = k;
        best[r] = k_best;
        if (!loss)
            continue;
        int32_t y = targets[r];
        if (y < 0 || y >= V) {
            loss[r] = 0.0;
            continue;
        }
        float mx = row[k_best], se = 0.0f; /* float sum: terms in (0, 1] */
        for (int k = 0; k < V; k++)
            se += expf(row[k] - mx);
        loss[r] = (double)logf(se) + mx - row[y];
    }
}

static void ref_step_forward(int B, int In, int H, const float *x, const float *h_prev,
                             const float *c_prev, const float *w_ih, const float *w_hh,
                             const float *b_ih, const float *b_hh, float *gates, float *h, float *c)
{
    for (int b = 0; b < B; b++) {
        float *gb = gates + (size_t)b * 4 * H;
        for (int r = 0; r < 4 * H; r++) {
            double a = (double)b_ih[r] + b_hh[r];
            for (int k = 0; k < In; k++)
                a += (double)x[(size_t)b * In + k] * w_ih[(size_t)r * In + k];
            for (int k = 0; k < H; k++)
                a += (double)h_prev[(size_t)b * H + k] * w_hh[(size_t)r * H + k];
            gb[r] = r >= 2 * H && r < 3 * H ? tanhf((float)a) : sigmoid((float)a);
        }
        for (int j = 0; j < H; j++) {
            float i = gb[j], f = gb[H + j], g = gb[2 * H + j], o = gb[3 * H + j];
            float cj = f * c_prev[(size_t)b * H + j] + i * g;
            c[(size_t)b * H + j] = cj;
            h[(size_t)b * H + j] = o * tanhf(cj);
        }
    }
}

static void ref_step_backward(int B, int In, int H, const float *x, const float *h_prev,
                              const float *c_prev, const float *w_ih, const float *w_hh,
                              const float *gates, const float *c, const float *dh, float *dc,
                              float *dgates, float *dx, float *dh_prev, float *dw_ih, float *dw_hh,
                              float *db_ih, float *db_hh)
{
    for (int b = 0; b < B; b++) {
        const float *gb = gates + (size_t)b * 4 * H;
        float *db = dgates + (size_t)b * 4 * H;
        for (int j = 0; j < H; j++) {
            size_t at = (size_t)b * H + j;
            float i = gb[j], f = gb[H + j], g = gb[2 * H + j], o = gb[3 * H + j];
            float tc = tanhf(c[at]);
            float dct = dc[at] + dh[at] * o * (1.0f - tc * tc);
            db[j] = dct * g * i * (1.0f - i);
            db[H + j] = dct * c_prev[at] * f * (1.0f - f);
            db[2 * H + j] = dct * i * (1.0f - g * g);
            db[3 * H + j] = dh[at] * tc * o * (1.0f - o);
            dc[at] = dct * f;
        }
    }
    for (int r = 0; r < 4 * H; r++) {
        double sb = 0;
        for (int b = 0; b < B; b++)
            sb += dgates[(size_t)b * 4 * H + r];
        db_ih[r] += (float)sb;
        db_hh[r] += (float)sb;
        for (int k = 0; k < In; k++) {
            double s = 0;
            for (int b = 0; b < B; b++)
                s += (double)dgates[(size_t)b * 4 * H + r] * x[(size_t)b * In + k];
            dw_ih[(size_t)r * In + k] += (float)s;
        }
        for (int k = 0; k < H; k++) {
            double s = 0;
            for (int b = 0; b < B; b++)
                s += (double)dgates[(size_t)b * 4 * H + r] * h_prev[(size_t)b * H + k];
            dw_hh[(size_t)r * H + k] += (float)s;
        }
    }
    for (int b = 0; b < B; b++) {
        const float *db = dgates + (size_t)b * 4 * H;
        if (dx)
            for (int k = 0; k < In; k++) {
                double s = 0;
                for (int r = 0; r < 4 * H; r++)
                    s += (double)db[r] * w_ih[(size_t)r * In + k];
                dx[(size_t)b * In + k] = (float)s;
            }
        for (int k = 0; k < H; k++) {
            double s = 0;
            for (int r = 0; r < 4 * H; r++)
                s += (double)db[r] * w_hh[(size_t)r * H + k];
            dh_prev[(size_t)b * H + k] = (float)s;
        }
    }
}

const ft_lstm_ops_t ft_lstm_ops_reference = {
    .name = "reference",
    .embedding_forward = ft_lstm_host_embedding_forward,
    .embedding_backward = ft_lstm_host_embedding_backward,
    .lstm_step_forward = ref_step_forward,
    .lstm_step_backward = ref_step_backward,
    .score_rows = ft_lstm_host_score_rows,
};
