/* ft_model_internal: the model's insides, shared by the two files of the engine
 * (internal to model/; callers use ft_model.h).
 *
 * ft_model_build.c builds a model (shapes, parameter views, layout hash, buffers and
 * the inference arena, destroy); ft_model.c runs it (init, forward, backward,
 * evaluation, dropout streams, accessors). Both need the layout of a model and of
 * its resolved layers, which is why they live here and not in either file. */
#ifndef FT_MODEL_INTERNAL_H
#define FT_MODEL_INTERNAL_H

#include "ft_model.h"

/* One resolved layer. */
typedef struct {
    ft_layer_spec_t spec;    /* what it does */
    int in_c, in_h, in_w;    /* input shape of one sample */
    int out_c, out_h, out_w; /* output shape of one sample */
    size_t in_size;          /* floats per sample in */
    size_t out_size;         /* floats per sample out */
    int weight_view;         /* index of the weight view, or -1 */
    int bias_view;           /* index of the bias view, or -1 */
    float *out;              /* output activations (may alias the input buffer) */
    int32_t *argmax;         /* maxpool: argmax indices (max_batch × out_size) */
    float *mask;             /* dropout: mask (max_batch × out_size) */
    int fused;               /* relu before a maxpool: both run as the pool's fused op */
} ft_layer_t;

struct ft_model {
    const ft_ops_t *ops;        /* back end everything below lives on */
    int num_layers;             /* layers */
    ft_layer_t *layers;         /* num_layers resolved layers */
    ft_layout_t layout;         /* parameter views and hash */
    int c, h, w;                /* input sample shape */
    int num_classes;            /* output features */
    int max_batch;              /* largest B a pass may use */
    float *params;              /* N parameters (back end) */
    float *grads;               /* N gradients (back end) */
    float *probs;               /* max_batch × num_classes softmax output (back end) */
    float *dbuf[2];             /* gradient ping-pong buffers (back end) */
    size_t dbuf_len;            /* floats in each dbuf */
    float *ws;                  /* conv workspace (back end) */
    size_t ws_len;              /* floats in ws */
    int inference;              /* forward only: no grads/dbuf, activations in arena */
    float *arena;               /* inference: the activations (back end), see ft_model_build.c */
    int32_t *pool_argmax;       /* inference: maxpool argmax scratch shared by all pools */
    size_t bytes;               /* back-end bytes this model allocated */
    const float *input;         /* x of the last forward (caller memory) */
    int training;               /* dropout active */
    uint64_t dropout_seed;      /* Philox key of the dropout stream */
    uint64_t dropout_counter;   /* next Philox counter; advances per dropout layer call */
    struct ft_lstm_model *lstm; /* the lstm this model is (ft_model_text.c), else NULL */
    int32_t *text_ids;          /* lstm: max_batch×(T+1) ids decoded from the input */
    float *text_x;              /* lstm: max_batch×(T+1) input floats downloaded (host) */
};

/* The lstm behind ft_model_t (ft_model_text.c): what the passes and evaluation of
 * ft_model.c hand over to when m->lstm is set. */
const float *ft_model_text_forward(ft_model_t *m, const float *x, int B);
float ft_model_text_forward_backward(ft_model_t *m, const float *x, const int32_t *labels, int B);
int ft_model_text_evaluate(ft_model_t *m, const ft_dataset_t *ds, const uint32_t *idx, uint32_t n,
                           ft_eval_t *out);
void ft_model_text_destroy(ft_model_t *m);
/* The same for an lstm with a classifier head (lstm-sentiment, ft_model_sentiment.c):
 * inputs B×T ids, labels B, logits B×classes. */
const float *ft_model_sentiment_forward(ft_model_t *m, const float *x, int B);
float ft_model_sentiment_forward_backward(ft_model_t *m, const float *x, const int32_t *labels,
                                          int B);
int ft_model_sentiment_evaluate(ft_model_t *m, const ft_dataset_t *ds, const uint32_t *idx,
                                uint32_t n, ft_eval_t *out);
/* The token ids of both heads, decoded into m->text_ids (host) and returned: from x,
 * B samples of m->w floats in back-end memory (downloaded through m->text_x first) ... */
const int32_t *ft_model_text_decode(ft_model_t *m, const float *x /* B×w */, int B);
/* ... or from samples at, at+1, ... at+B-1 of idx (of ds itself when idx is NULL), ds on
 * the host, as evaluation reads them. */
const int32_t *ft_model_text_gather(ft_model_t *m, const ft_dataset_t *ds, const uint32_t *idx,
                                    uint32_t at, int B);
void ft_model_text_init(ft_model_t *m, ft_rng_t *rng);
/* m->training and m->dropout_seed/counter passed on to the lstm. */
void ft_model_text_set_training(ft_model_t *m);
void ft_model_text_set_dropout_stream(ft_model_t *m);
uint64_t ft_model_text_dropout_counter(const ft_model_t *m);

/* Appends a parameter view of the given shape at the end of lay (lay->views has room
 * for it): its offset is the current N, which grows by its element count. Shared by
 * every model family (sequential nets here, the LSTM in ft_model_lstm.c). */
void ft_layout_add_view(ft_layout_t *lay, const char *name, int ndim, const int *shape, int fan_in);
/* Fills lay->hash from the canonical layout text (ft_model.h). FT_ENOMEM. */
int ft_layout_hash(ft_layout_t *lay);

/* The conv shape of conv layer L run on a batch of B: what the build sizes the
 * workspace for and what the passes hand the back end. */
static inline ft_conv2d_shape_t ft_model_conv_shape(const ft_layer_t *L, int B)
{
    ft_conv2d_shape_t s = {0};
    s.B = B, s.Ci = L->in_c, s.H = L->in_h, s.W = L->in_w;
    s.Co = L->spec.out, s.kh = s.kw = L->spec.kernel;
    s.stride = L->spec.stride, s.pad = L->spec.pad;
    ft_conv2d_shape(&s);
    return s;
}

#endif
