/* ft_lstm_ops: the ops a recurrent language model needs beyond ft_ops.h — embedding
 * lookup and one LSTM time step, forward and backward, and the per-row scoring of an
 * evaluation — as one interface with three back ends: the plain reference (loops;
 * the oracle), the fast CPU path (the four gates of a step as one BLAS GEMM over the
 * batch) and CUDA (kernels/cuda/ft_cuda_lstm.cu: the same plan on cuBLAS). Linear
 * layers, dropout, softmax cross-entropy and SGD come from ft_ops.h as for every
 * model. Each ft_ops_t back end carries its table (ft_ops_t.lstm).
 *
 * LSTM cell as PyTorch's nn.LSTM (Hochreiter & Schmidhuber 1997, with the forget gate
 * of Gers et al. 2000), gate order i, f, g, o:
 *   a = x W_ih^T + b_ih + h' W_hh^T + b_hh          (B×4H)
 *   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
 *   c = f ⊙ c' + i ⊙ g,  h = o ⊙ tanh(c)
 * Dimension letters: B batch, In input features, H hidden size, E embedding size,
 * V vocabulary, R rows. Row-major; every pointer lives in the back end's memory
 * (host for the CPU tables, device for CUDA), token ids included. Unlike ft_ops.h's
 * backward functions, the backward step ACCUMULATES its weight and bias gradients
 * (they sum over time steps); dx and dh_prev are overwritten. */
#ifndef FT_LSTM_OPS_H
#define FT_LSTM_OPS_H

#include <stdint.h>

typedef struct ft_lstm_ops {
    const char *name; /* "reference", "cpu", "cuda", "cuda-emulated" */

    /* y B×E = rows ids[0..B) of table V×E */
    void (*embedding_forward)(int B, int E, const int32_t *ids, const float *table, float *y);
    /* dtable rows ids[b] += dy[b] (B×E): only the rows looked up are touched */
    void (*embedding_backward)(int B, int E, const int32_t *ids, const float *dy, float *dtable);

    /* One step: x B×In, h_prev/c_prev B×H, w_ih 4H×In, w_hh 4H×H, b_ih/b_hh 4H;
     * writes gates B×4H (activated i, f, g, o: what the backward step needs), h and c
     * B×H. */
    void (*lstm_step_forward)(int B, int In, int H, const float *x, const float *h_prev,
                              const float *c_prev, const float *w_ih, const float *w_hh,
                              const float *b_ih, const float *b_hh, float *gates, float *h,
                              float *c);
    /* Its gradient. dh B×H: d loss / d h (from above and from step t+1); dc B×H on
     * entry d loss / d c from step t+1, on return d loss / d c_prev. dgates B×4H is
     * scratch. dx B×In (NULL: not wanted) and dh_prev B×H are overwritten; dw_ih,
     * dw_hh, db_ih, db_hh are accumulated into. */
    void (*lstm_step_backward)(int B, int In, int H, const float *x, const float *h_prev,
                               const float *c_prev, const float *w_ih, const float *w_hh,
                               const float *gates, const float *c, const float *dh, float *dc,
                               float *dgates, float *dx, float *dh_prev, float *dw_ih, float *dw_hh,
                               float *db_ih, float *db_hh);

    /* Evaluation of R rows of V logits (R×V): best R gets each row's top-1 index (the
     * first maximum); loss R (NULL: not wanted) gets log(sum_k exp(z_k - max)) + max
     * - z[targets[r]] with the exponentials summed in float in k order, or 0 where
     * targets[r] is outside [0, V) (a target not scored). */
    void (*score_rows)(int R, int V, const float *logits, const int32_t *targets, int32_t *best,
                       double *loss);
} ft_lstm_ops_t;

/* The embedding rows on host memory, copied / added, and the row scoring
 * (ft_lstm_ops_reference.c): both CPU back ends use them, since a row copy or a
 * scan of a row is all the op is. */
void ft_lstm_host_embedding_forward(int B, int E, const int32_t *ids, const float *table, float *y);
void ft_lstm_host_embedding_backward(int B, int E, const int32_t *ids, const float *dy,
                                     float *dtable);
void ft_lstm_host_score_rows(int R, int V, const float *logits, const int32_t *targets,
                             int32_t *best, double *loss);

/* The plain reference: loops only. */
extern const ft_lstm_ops_t ft_lstm_ops_reference;
/* The fast CPU path (BLAS sgemm): the default. */
extern const ft_lstm_ops_t ft_lstm_ops_cpu;

#endif
