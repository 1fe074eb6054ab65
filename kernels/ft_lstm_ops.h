/* ft_lstm_ops: the ops a recurrent language model needs beyond ft_ops.h — embedding
 * lookup and one LSTM time step, forward and backward — as one interface with two
 * back ends: the plain reference (loops; the oracle) and the fast CPU path (the four
 * gates of a step as one BLAS GEMM over the batch). Linear layers, dropout, softmax
 * cross-entropy and SGD come from ft_ops.h as for every model.
 *
 * LSTM cell as PyTorch's nn.LSTM (Hochreiter & Schmidhuber 1997, with the forget gate
 * of Gers et al. 2000), gate order i, f, g, o:
 *   a = x W_ih^T + b_ih + h' W_hh^T + b_hh          (B×4H)
 *   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
 *   c = f ⊙ c' + i ⊙ g,  h = o ⊙ tanh(c)
 * Dimension letters: B batch, In input features, H hidden size, E embedding size,
 * V vocabulary. Host memory, row-major. Unlike ft_ops.h's backward functions, the
 * backward step ACCUMULATES its weight and bias gradients (they sum over time
 * steps); dx and dh_prev are overwritten. */
#ifndef FT_LSTM_OPS_H
#define FT_LSTM_OPS_H

#include <stdint.h>

typedef struct {
    const char *name; /* "reference", "cpu" */

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
} ft_lstm_ops_t;

/* The embedding rows on host memory, copied / added (ft_lstm_ops_reference.c): both
 * CPU back ends use them, since a row copy is all the op is. */
void ft_lstm_host_embedding_forward(int B, int E, const int32_t *ids, const float *table, float *y);
void ft_lstm_host_embedding_backward(int B, int E, const int32_t *ids, const float *dy,
                                     float *dtable);

/* The plain reference: loops only. */
extern const ft_lstm_ops_t ft_lstm_ops_reference;
/* The fast CPU path (BLAS sgemm): the default. */
extern const ft_lstm_ops_t ft_lstm_ops_cpu;

/* The LSTM back end that goes with an ft_ops back end name ("reference" -> the
 * reference, anything else -> cpu; there is no CUDA LSTM yet). */
const ft_lstm_ops_t *ft_lstm_ops_for(const char *ops_name);

#endif
