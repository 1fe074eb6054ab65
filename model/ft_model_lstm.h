/* ft_model_lstm: the `lstm` next-word model — embedding E, L stacked LSTM layers of
 * hidden H, dropout, a linear decoder to the V-word vocabulary, optionally tied to the
 * embedding (Press & Wolf 2017; needs E == H) — over one flat parameter buffer like
 * every model, so updates, defenses and checkpoints treat it as any other.
 *
 * The architecture is the paper's Reddit model (Wang et al. 2020 §4, after
 * Bagdasaryan et al. 2020, whose code models/word_model.py RNNModel follows the
 * PyTorch word_language_model example, model.py RNNModel): emb = drop(encoder(x));
 * out = LSTM(emb) with dropout between layers; logits = decoder(drop(out)). The paper
 * uses L = 2, E = H = 200. Each sequence starts from a zero state (the reference code
 * carries the state across batches of one long stream; sequences here are
 * independent so that any client's shuffle gives the same numbers).
 *
 * Parameter views in PyTorch's state_dict order and names: encoder.weight V×E, for
 * each layer k rnn.weight_ih_lk 4H×In, rnn.weight_hh_lk 4H×H, rnn.bias_ih_lk 4H,
 * rnn.bias_hh_lk 4H, then decoder.weight V×H (absent when tied) and decoder.bias V.
 * Inputs are sequences of T+1 token ids (ft_text.h): T inputs, the same shifted by one
 * as targets; the loss is the mean cross-entropy over all B×T targets. Runs on any
 * back end with LSTM ops (ft_ops_t.lstm: reference, cpu, cuda); parameters, gradients,
 * activations and logits live in that back end's memory, token ids are given on the
 * host. */
#ifndef FT_MODEL_LSTM_H
#define FT_MODEL_LSTM_H

#include <stddef.h>
#include <stdint.h>

#include "ft_lstm_ops.h"
#include "ft_model.h" /* ft_layout_t */
#include "ft_ops.h"
#include "ft_rng.h"

typedef struct {
    int vocab;     /* V >= 2 */
    int emb;       /* E >= 1 */
    int hidden;    /* H >= 1 */
    int layers;    /* L >= 1 */
    float dropout; /* p in [0, 1): on the embedding, between layers and on the output */
    int tied;      /* 1: the decoder's weight is the embedding (E == H) */
    int seq_len;   /* T >= 1 */
    int max_batch; /* largest B a pass may use */
    int classes;   /* 0: next-word (decoder to V on every step); C >= 2: a classifier on the
                      last step's output (the paper's Sentiment140 model), decoder C×H */
} ft_lstm_spec_t;

typedef struct ft_lstm_model ft_lstm_model_t;

/* Builds the model on a back end (the LSTM ops are ops->lstm). Parameters start at
 * zero: call ft_lstm_init or set them. FT_ECONFIG for a bad spec (tied with E != H,
 * sizes out of range), FT_EUNSUPPORTED for a back end without LSTM ops, FT_ENOMEM
 * (host or device memory). */
int ft_lstm_new(const ft_lstm_spec_t *spec, const ft_ops_t *ops, ft_lstm_model_t **out);
void ft_lstm_destroy(ft_lstm_model_t **m_p);

const ft_layout_t *ft_lstm_layout(const ft_lstm_model_t *m);
const ft_lstm_spec_t *ft_lstm_spec(const ft_lstm_model_t *m);
size_t ft_lstm_num_params(const ft_lstm_model_t *m);
/* The flat parameter and gradient buffers, length N (back-end memory: ops->upload /
 * download to reach them from the host on a device). */
float *ft_lstm_params(ft_lstm_model_t *m);
float *ft_lstm_grads(ft_lstm_model_t *m);

/* The reference code's initialisation: encoder and decoder weights U(-0.1, 0.1),
 * decoder bias 0, LSTM weights and biases U(-1/sqrt(H), 1/sqrt(H)) (nn.LSTM's
 * default), drawn from rng in buffer order. */
void ft_lstm_init(ft_lstm_model_t *m, ft_rng_t *rng);

/* Dropout active (1, new models) or identity (0), and its Philox stream (the counter
 * advances by one per dropout application, L+1 per pass). */
void ft_lstm_set_training(ft_lstm_model_t *m, int training);
void ft_lstm_set_dropout_stream(ft_lstm_model_t *m, uint64_t seed, uint64_t counter);
uint64_t ft_lstm_dropout_counter(const ft_lstm_model_t *m);

/* Forward pass of B <= max_batch sequences ids (B×(T+1), host); returns the logits,
 * T×B×V time-major (row t*B + b predicts ids[b][t+1]; back-end memory), valid until
 * the next call. */
const float *ft_lstm_forward(ft_lstm_model_t *m, const int32_t *ids, int B);
/* Forward, mean cross-entropy over the B×T targets, backward: overwrites the gradient
 * buffer and returns the loss. */
float ft_lstm_forward_backward(ft_lstm_model_t *m, const int32_t *ids, int B);

/* Classifier mode (classes C >= 2): the logits B×C (back-end memory) of B sequences
 * ids (B×T host, every id an input) from the top layer's output at the last step; and
 * forward + mean cross-entropy against labels (B, back-end memory, as
 * ft_model_forward_backward's) + backward, overwriting the gradient buffer. */
const float *ft_lstm_classify(ft_lstm_model_t *m, const int32_t *ids, int B);
float ft_lstm_classify_backward(ft_lstm_model_t *m, const int32_t *ids, const int32_t *labels,
                                int B);

/* PyTorch's clip_grad_norm_: when the gradient's L2 norm exceeds max_norm, scales it
 * by max_norm / (norm + 1e-6). Returns the norm before clipping. */
double ft_lstm_clip_grad(ft_lstm_model_t *m, double max_norm);

/* After ft_lstm_forward of B sequences: scores its T×B logits rows r (time-major)
 * against targets[r] (T×B, host; outside [0, V): not scored) on the back end
 * (ft_lstm_ops_t.score_rows), so only two numbers per row reach the host: *best
 * (T×B top-1 ids) and *loss (T×B cross-entropies, 0 where not scored), host arrays
 * the model owns, valid until the next call. */
void ft_lstm_score(ft_lstm_model_t *m, const int32_t *targets, const int32_t **best,
                   const double **loss);

/* Next-word evaluation over sequences. */
typedef struct {
    double loss;       /* mean cross-entropy per target */
    double accuracy;   /* share of targets predicted top-1 */
    double perplexity; /* exp(loss) */
    uint64_t count;    /* targets evaluated */
} ft_lstm_eval_t;

/* Evaluates (dropout off, restored afterwards) sequences idx[0..n) of ids (each T+1
 * ids; idx NULL: the first n) in batches of max_batch, over every target. */
void ft_lstm_evaluate(ft_lstm_model_t *m, const int32_t *ids, const uint32_t *idx, uint32_t n,
                      ft_lstm_eval_t *out);

/* The lstm behind the ft_model_t interface (ft_model.h), which is what training,
 * clients, attacks and the coordinator use: inputs are B×1×1×(T+1) floats holding the
 * token ids (ft_text.h's encoding: a negative value marks a target not to score),
 * labels are ignored (the targets are in the sequence), ft_model_forward returns T×B×V
 * logits, ft_model_evaluate scores next-word top-1 accuracy and mean loss over the
 * scored targets (ft_eval_t's per-class counts stay zero). FT_ECONFIG, FT_EUNSUPPORTED,
 * FT_ENOMEM as ft_lstm_new. */
int ft_model_new_lstm(const ft_lstm_spec_t *spec, const ft_ops_t *ops, ft_model_t **out);

#endif
