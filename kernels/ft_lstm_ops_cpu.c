/* ft_lstm_ops_cpu: the LSTM ops on the fast CPU path — a step's four gates as one
 * GEMM over the batch (x W_ih^T then += h' W_hh^T into the B×4H pre-activations,
 * cuDNN's and PyTorch's layout), the element-wise cell in one pass, and the backward
 * step's four products (dW_ih, dW_hh accumulated, dx, dh') as GEMMs. The embedding
 * rows are the reference's (ft_lstm_host_embedding_*: that is all they are). */
#include <math.h>
#include <string.h>

#include "ft_lstm_ops.h"
#include "ft_ops.h"

static float sigmoid(float a)
{
    return 1.0f / (1.0f + expf(-a));
}

static void cpu_step_forward(int B, int In, int H, const float *x, const float *h_prev,
                             const float *c_prev, const float *w_ih, const float *w_hh,
                             const float *b_ih, const float *b_hh, float *gates, float *h, float *c)
{
    int G = 4 * H;
    for (int b = 0; b < B; b++)
        for (int r = 0; r < G; r++)
            gates[(size_t)b * G + r] = b_ih[r] + b_hh[r];
    ft_sgemm(0, 1, B, G, In, 1.0f, x, In, w_ih, In, 1.0f, gates, G);
    ft_sgemm(0, 1, B, G, H, 1.0f, h_prev, H, w_hh, H, 1.0f, gates, G);
    for (int b = 0; b < B; b++) {
        float *gb = gates + (size_t)b * G;
        for (int j = 0; j < H; j++) {
            float i = gb[j] = sigmoid(gb[j]);
            float f = gb[H + j] = sigmoid(gb[H + j]);
            float g = gb[2 * H + j] = tanhf(gb[2 * H + j]);
            float o = gb[3 * H + j] = sigmoid(gb[3 * H + j]);
            size_t at = (size_t)b * H + j;
            c[at] = f * c_prev[at] + i * g;
            h[at] = o * tanhf(c[at]);
        }
    }
}

static void cpu_step_backward(int B, int In, int H, const float *x, const float *h_prev,
                              const float *c_prev, const float *w_ih, const float *w_hh,
                              const float *gates, const float *c, const float *dh, float *dc,
                              float *dgates, float *dx, float *dh_prev, float *dw_ih, float *dw_hh,
                              float *db_ih, float *db_hh)
{
    int G = 4 * H;
    for (int b = 0; b < B; b++) {
        const float *gb = gates + (size_t)b * G;
        float *dg = dgates + (size_t)b * G;
        for (int j = 0; j < H; j++) {
            size_t at = (size_t)b * H + j;
            float i = gb[j], f = gb[H + j], g = gb[2 * H + j], o = gb[3 * H + j];
            float tc = tanhf(c[at]);
            float dct = dc[at] + dh[at] * o * (1.0f - tc * tc);
            dg[j] = dct * g * i * (1.0f - i);
            dg[H + j] = dct * c_prev[at] * f * (1.0f - f);
            dg[2 * H + j] = dct * i * (1.0f - g * g);
            dg[3 * H + j] = dh[at] * tc * o * (1.0f - o);
            dc[at] = dct * f;
        }
        for (int r = 0; r < G; r++) {
            db_ih[r] += dg[r];
            db_hh[r] += dg[r];
        }
    }
    /* dW (4H×In) += dA^T · X; dW_hh (4H×H) += dA^T · H' */
    ft_sgemm(1, 0, G, In, B, 1.0f, dgates, G, x, In, 1.0f, dw_ih, In);
    ft_sgemm(1, 0, G, H, B, 1.0f, dgates, G, h_prev, H, 1.0f, dw_hh, H);
    /* dX (B×In) = dA · W_ih; dH' (B×H) = dA · W_hh */
    if (dx)
        ft_sgemm(0, 0, B, In, G, 1.0f, dgates, G, w_ih, In, 0.0f, dx, In);
    ft_sgemm(0, 0, B, H, G, 1.0f, dgates, G, w_hh, H, 0.0f, dh_prev, H);
}

const ft_lstm_ops_t ft_lstm_ops_cpu = {
    .name = "cpu",
    .embedding_forward = ft_lstm_host_embedding_forward,
    .embedding_backward = ft_lstm_host_embedding_backward,
    .lstm_step_forward = cpu_step_forward,
    .lstm_step_backward = cpu_step_backward,
    .score_rows = ft_lstm_host_score_rows,
};
