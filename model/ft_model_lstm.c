/* ft_model_lstm: the `lstm` next-word model (ft_model_lstm.h) — construction over one
 * flat buffer, forward, backpropagation through time, evaluation.
 *
 * Activations are time-major (row t*B + b), as nn.LSTM's default layout: a step's
 * rows are contiguous, so each step is one GEMM over the batch (kernels/ft_lstm_ops).
 * Backward walks the layers top down and each layer's steps from T-1 to 0, carrying
 * dh and dc back through time; the step op accumulates the layer's weight gradients.
 * With tied weights the decoder's weight gradient is written into the embedding's
 * slot first and the embedding's sparse row gradients are added on top.
 *
 * Every buffer the ops touch lives in the back end's memory (device memory on CUDA):
 * token ids are checked and laid out time-major on the host, then uploaded once per
 * pass; the passes touch back-end memory only through the ops (zero, copy, axpy), and
 * evaluation scores rows with the back end's score_rows, downloading two numbers per
 * row rather than T×B×V logits. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_model_internal.h"
#include "ft_model_lstm.h"

/* One LSTM layer's views and activations (back-end memory). */
typedef struct {
    int in;         /* input features: E for layer 0, H above */
    int w_ih, w_hh; /* view indices */
    int b_ih, b_hh; /* view indices */
    float *x;       /* T×B×in: the (dropped-out) input of the layer */
    float *x_mask;  /* T×B×in: the dropout mask that made x */
    float *gates;   /* T×B×4H activated gates */
    float *h;       /* (T+1)×B×H: h[0] the zero start state */
    float *c;       /* (T+1)×B×H */
} lstm_layer_t;

/* Buffers live in the back end's memory unless marked host. */
struct ft_lstm_model {
    ft_lstm_spec_t spec;       /* sizes */
    const ft_ops_t *ops;       /* linear, dropout, softmax, reductions */
    const ft_lstm_ops_t *lops; /* embedding and LSTM steps */
    ft_layout_t layout;        /* views and hash */
    float *params;             /* N */
    float *grads;              /* N */
    int enc, dec_w, dec_b;     /* view indices (dec_w = enc when tied) */
    lstm_layer_t *layers;      /* L layers */
    float *emb;                /* T×B×E embedding before dropout */
    float *top;                /* T×B×H: the decoder's (dropped-out) input */
    float *top_mask;           /* T×B×H */
    float *logits;             /* T×B×V */
    float *probs;              /* T×B×V softmax, then d loss / d logits */
    int32_t *in_ids;           /* T×B inputs, time-major */
    int32_t *tgt_ids;          /* T×B targets, time-major */
    int32_t *in_ids_h;         /* T×B inputs, time-major (host staging) */
    int32_t *tgt_ids_h;        /* T×B targets, time-major (host staging) */
    int32_t *eval_ids;         /* B×(T+1): one evaluation batch gathered (host) */
    int32_t *best, *best_h;    /* T×B top-1 per logits row (back end; host) */
    double *rloss, *rloss_h;   /* T×B cross-entropy per logits row (back end; host) */
    float *dseq;               /* T×B×max(E,H): gradient into a layer's output */
    float *dx;                 /* T×B×max(E,H): gradient out of a layer's input */
    float *dh, *dh_next, *dc;  /* B×H each */
    float *dgates;             /* B×4H */
    int training;              /* dropout active */
    uint64_t dropout_seed;     /* Philox key */
    uint64_t dropout_counter;  /* next counter */
    int B;                     /* batch of the last forward */
};

static float *view(ft_lstm_model_t *m, float *base, int v)
{
    return base + m->layout.views[v].offset;
}

void ft_lstm_destroy(ft_lstm_model_t **m_p)
{
    if (!m_p || !*m_p)
        return;
    ft_lstm_model_t *m = *m_p;
    const ft_ops_t *ops = m->ops;
    if (m->layers)
        for (int l = 0; l < m->spec.layers; l++) {
            lstm_layer_t *L = &m->layers[l];
            ops->free(L->x), ops->free(L->x_mask), ops->free(L->gates);
            ops->free(L->h), ops->free(L->c);
        }
    ft_free(m->layers);
    ft_free(m->layout.views);
    void *bufs[] = {m->params, m->grads,  m->emb,     m->top,  m->top_mask, m->logits,
                    m->probs,  m->in_ids, m->tgt_ids, m->best, m->rloss,    m->dseq,
                    m->dx,     m->dh,     m->dh_next, m->dc,   m->dgates};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        ops->free(bufs[i]);
    ft_free(m->in_ids_h), ft_free(m->tgt_ids_h), ft_free(m->eval_ids);
    ft_free(m->best_h), ft_free(m->rloss_h);
    ft_free(m);
    *m_p = NULL;
}

static int check_spec(const ft_lstm_spec_t *s)
{
    if (s->vocab < 2 || s->vocab > 10000000)
        return ft_error_set(FT_ECONFIG, "lstm: vocabulary %d must be in [2, 10^7]", s->vocab);
    if (s->emb < 1 || s->hidden < 1 || s->emb > 65536 || s->hidden > 65536)
        return ft_error_set(FT_ECONFIG, "lstm: embedding %d and hidden %d must be in [1, 65536]",
                            s->emb, s->hidden);
    if (s->layers < 1 || s->layers > 16)
        return ft_error_set(FT_ECONFIG, "lstm: %d layers must be in [1, 16]", s->layers);
    if (!(s->dropout >= 0.0f && s->dropout < 1.0f))
        return ft_error_set(FT_ECONFIG, "lstm: dropout %g must be in [0, 1)", s->dropout);
    if (s->tied && s->emb != s->hidden)
        return ft_error_set(FT_ECONFIG,
                            "lstm: tied weights need embedding == hidden (got %d and %d)", s->emb,
                            s->hidden);
    if (s->classes == 1 || s->classes < 0 || s->classes > 65536 || (s->classes && s->tied))
        return ft_error_set(FT_ECONFIG,
                            "lstm: %d classes (0: next-word; a classifier needs >= 2 and no tied "
                            "weights)",
                            s->classes);
    if (s->seq_len < 1 || s->max_batch < 1 || (size_t)s->seq_len * s->max_batch > (1u << 24))
        return ft_error_set(FT_ECONFIG, "lstm: sequence length %d x batch %d out of range",
                            s->seq_len, s->max_batch);
    return FT_OK;
}

static int build_layout(ft_lstm_model_t *m)
{
    const ft_lstm_spec_t *s = &m->spec;
    int V = s->vocab, E = s->emb, H = s->hidden;
    m->layout.views = ft_calloc((size_t)(3 + 4 * s->layers), sizeof *m->layout.views);
    if (!m->layout.views)
        return ft_error_set(FT_ENOMEM, "out of memory for the lstm layout");
    ft_layout_t *lay = &m->layout;
    char name[32];
    m->enc = lay->num_views;
    ft_layout_add_view(lay, "encoder.weight", 2, (int[]){V, E}, E);
    for (int l = 0; l < s->layers; l++) {
        lstm_layer_t *L = &m->layers[l];
        L->in = l ? H : E;
        snprintf(name, sizeof name, "rnn.weight_ih_l%d", l);
        L->w_ih = lay->num_views;
        ft_layout_add_view(lay, name, 2, (int[]){4 * H, L->in}, H);
        snprintf(name, sizeof name, "rnn.weight_hh_l%d", l);
        L->w_hh = lay->num_views;
        ft_layout_add_view(lay, name, 2, (int[]){4 * H, H}, H);
        snprintf(name, sizeof name, "rnn.bias_ih_l%d", l);
        L->b_ih = lay->num_views;
        ft_layout_add_view(lay, name, 1, (int[]){4 * H}, H);
        snprintf(name, sizeof name, "rnn.bias_hh_l%d", l);
        L->b_hh = lay->num_views;
        ft_layout_add_view(lay, name, 1, (int[]){4 * H}, H);
    }
    m->dec_w = m->enc;
    if (!s->tied) {
        m->dec_w = lay->num_views;
        ft_layout_add_view(lay, "decoder.weight", 2, (int[]){s->classes ? s->classes : V, H}, H);
    }
    m->dec_b = lay->num_views;
    ft_layout_add_view(lay, "decoder.bias", 1, (int[]){s->classes ? s->classes : V}, H);
    return ft_layout_hash(lay);
}

int ft_lstm_new(const ft_lstm_spec_t *spec, const ft_ops_t *ops, ft_lstm_model_t **out)
{
    *out = NULL;
    int rc = check_spec(spec);
    if (rc)
        return rc;
    if (!ops->lstm)
        return ft_error_set(FT_EUNSUPPORTED, "lstm: the %s back end has no LSTM ops", ops->name);
    ft_lstm_model_t *m = ft_calloc(1, sizeof *m);
    if (!m)
        return ft_error_set(FT_ENOMEM, "out of memory for an lstm model");
    m->spec = *spec;
    m->ops = ops;
    m->lops = ops->lstm;
    m->training = 1;
    if (!(m->layers = ft_calloc((size_t)spec->layers, sizeof *m->layers))) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for an lstm model");
        goto fail;
    }
    if ((rc = build_layout(m)) != FT_OK)
        goto fail;
    size_t N = m->layout.num_params;
    size_t TB = (size_t)spec->seq_len * spec->max_batch, B = (size_t)spec->max_batch;
    size_t E = (size_t)spec->emb, H = (size_t)spec->hidden, V = (size_t)spec->vocab;
    size_t wide = E > H ? E : H;
    /* ops->alloc returns zeroed memory */
    m->params = ops->alloc(N * sizeof(float));
    m->grads = ops->alloc(N * sizeof(float));
    m->emb = ops->alloc(TB * E * sizeof(float));
    m->top = ops->alloc(TB * H * sizeof(float));
    m->top_mask = ops->alloc(TB * H * sizeof(float));
    m->logits = ops->alloc(TB * V * sizeof(float));
    m->probs = ops->alloc(TB * V * sizeof(float));
    m->in_ids = ops->alloc(TB * sizeof(int32_t));
    m->tgt_ids = ops->alloc(TB * sizeof(int32_t));
    m->best = ops->alloc(TB * sizeof(int32_t));
    m->rloss = ops->alloc(TB * sizeof(double));
    m->in_ids_h = ft_malloc(TB * sizeof(int32_t));
    m->tgt_ids_h = ft_malloc(TB * sizeof(int32_t));
    m->eval_ids = ft_malloc((TB + B) * sizeof(int32_t));
    m->best_h = ft_malloc(TB * sizeof(int32_t));
    m->rloss_h = ft_malloc(TB * sizeof(double));
    m->dseq = ops->alloc(TB * wide * sizeof(float));
    m->dx = ops->alloc(TB * wide * sizeof(float));
    m->dh = ops->alloc(B * H * sizeof(float));
    m->dh_next = ops->alloc(B * H * sizeof(float));
    m->dc = ops->alloc(B * H * sizeof(float));
    m->dgates = ops->alloc(B * 4 * H * sizeof(float));
    int ok = m->params && m->grads && m->emb && m->top && m->top_mask && m->logits && m->probs &&
             m->in_ids && m->tgt_ids && m->best && m->rloss && m->in_ids_h && m->tgt_ids_h &&
             m->eval_ids && m->best_h && m->rloss_h && m->dseq && m->dx && m->dh && m->dh_next &&
             m->dc && m->dgates;
    for (int l = 0; ok && l < spec->layers; l++) {
        lstm_layer_t *L = &m->layers[l];
        L->x = ops->alloc(TB * L->in * sizeof(float));
        L->x_mask = ops->alloc(TB * L->in * sizeof(float));
        L->gates = ops->alloc(TB * 4 * H * sizeof(float));
        L->h = ops->alloc((TB + B) * H * sizeof(float)); /* h[0] stays zero */
        L->c = ops->alloc((TB + B) * H * sizeof(float));
        ok = L->x && L->x_mask && L->gates && L->h && L->c;
    }
    if (!ok) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for an lstm model of %zu parameters", N);
        goto fail;
    }
    *out = m;
    return FT_OK;
fail:
    ft_lstm_destroy(&m);
    return rc;
}

const ft_layout_t *ft_lstm_layout(const ft_lstm_model_t *m)
{
    return &m->layout;
}

const ft_lstm_spec_t *ft_lstm_spec(const ft_lstm_model_t *m)
{
    return &m->spec;
}

size_t ft_lstm_num_params(const ft_lstm_model_t *m)
{
    return m->layout.num_params;
}

float *ft_lstm_params(ft_lstm_model_t *m)
{
    return m->params;
}

float *ft_lstm_grads(ft_lstm_model_t *m)
{
    return m->grads;
}

/* n draws U(-bound, bound) into back-end memory a, staged through a fixed host chunk
 * (so init allocates nothing). */
static void uniform(const ft_ops_t *ops, float *a, size_t n, float bound, ft_rng_t *rng)
{
    enum { CHUNK = 4096 };
    float chunk[CHUNK];
    for (size_t done = 0; done < n;) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        for (size_t i = 0; i < k; i++)
            chunk[i] = (float)((ft_rng_uniform(rng) * 2.0 - 1.0) * bound);
        ops->upload(a + done, chunk, k * sizeof(float));
        done += k;
    }
}

void ft_lstm_init(ft_lstm_model_t *m, ft_rng_t *rng)
{
    float lstm_bound = 1.0f / sqrtf((float)m->spec.hidden);
    for (int v = 0; v < m->layout.num_views; v++) {
        const ft_param_view_t *pv = &m->layout.views[v];
        float *p = m->params + pv->offset;
        if (v == m->enc || v == m->dec_w)
            uniform(m->ops, p, pv->count, 0.1f, rng);
        else if (v == m->dec_b)
            m->ops->zero(p, pv->count * sizeof *p);
        else
            uniform(m->ops, p, pv->count, lstm_bound, rng);
    }
}

void ft_lstm_set_training(ft_lstm_model_t *m, int training)
{
    m->training = training;
}

void ft_lstm_set_dropout_stream(ft_lstm_model_t *m, uint64_t seed, uint64_t counter)
{
    m->dropout_seed = seed;
    m->dropout_counter = counter;
}

uint64_t ft_lstm_dropout_counter(const ft_lstm_model_t *m)
{
    return m->dropout_counter;
}

/* y = dropout(x) with a fresh mask, or a copy when dropout is off. */
static void drop(ft_lstm_model_t *m, size_t n, const float *x, float *y, float *mask)
{
    if (m->training && m->spec.dropout > 0.0f)
        m->ops->dropout_forward(n, m->spec.dropout, m->dropout_seed, m->dropout_counter++, x, y,
                                mask);
    else
        m->ops->copy(y, x, n * sizeof *y);
}

static void undrop(const ft_lstm_model_t *m, size_t n, const float *dy, const float *mask,
                   float *dx)
{
    if (m->training && m->spec.dropout > 0.0f)
        m->ops->dropout_backward(n, dy, mask, dx);
    else
        m->ops->copy(dx, dy, n * sizeof *dx);
}

/* Embedding, dropout and the LSTM layers over m->in_ids (T×B): fills m->top. */
static void run_layers(ft_lstm_model_t *m, int B)
{
    const ft_lstm_spec_t *s = &m->spec;
    int T = s->seq_len, E = s->emb, H = s->hidden;
    size_t TB = (size_t)T * B;
    m->B = B;
    m->lops->embedding_forward((int)TB, E, m->in_ids, view(m, m->params, m->enc), m->emb);
    drop(m, TB * E, m->emb, m->layers[0].x, m->layers[0].x_mask);
    for (int l = 0; l < s->layers; l++) {
        lstm_layer_t *L = &m->layers[l];
        const float *w_ih = view(m, m->params, L->w_ih), *w_hh = view(m, m->params, L->w_hh);
        const float *b_ih = view(m, m->params, L->b_ih), *b_hh = view(m, m->params, L->b_hh);
        /* the zero start state: a pass with another B wrote its steps over these rows */
        m->ops->zero(L->h, (size_t)B * H * sizeof(float));
        m->ops->zero(L->c, (size_t)B * H * sizeof(float));
        for (int t = 0; t < T; t++) {
            size_t row = (size_t)t * B;
            m->lops->lstm_step_forward(
                B, L->in, H, L->x + row * L->in, L->h + row * H, L->c + row * H, w_ih, w_hh, b_ih,
                b_hh, L->gates + row * 4 * H, L->h + (row + B) * H, L->c + (row + B) * H);
        }
        const float *out = L->h + (size_t)B * H; /* h[1..T] */
        if (l + 1 < s->layers)
            drop(m, TB * H, out, m->layers[l + 1].x, m->layers[l + 1].x_mask);
        else
            drop(m, TB * H, out, m->top, m->top_mask);
    }
}

/* Backpropagation through time from m->dx = d loss / d top (T×B×H) down to the
 * embedding's gradient (g_enc already holds the decoder's share when tied, else 0). */
static void backprop_layers(ft_lstm_model_t *m, int B)
{
    const ft_lstm_spec_t *s = &m->spec;
    int T = s->seq_len, E = s->emb, H = s->hidden;
    size_t TB = (size_t)T * B;
    undrop(m, TB * H, m->dx, m->top_mask, m->dseq);
    for (int l = s->layers - 1; l >= 0; l--) {
        lstm_layer_t *L = &m->layers[l];
        const float *w_ih = view(m, m->params, L->w_ih), *w_hh = view(m, m->params, L->w_hh);
        float *gw_ih = view(m, m->grads, L->w_ih), *gw_hh = view(m, m->grads, L->w_hh);
        float *gb_ih = view(m, m->grads, L->b_ih), *gb_hh = view(m, m->grads, L->b_hh);
        const ft_ops_t *ops = m->ops;
        ops->zero(gw_ih, (size_t)4 * H * L->in * sizeof(float));
        ops->zero(gw_hh, (size_t)4 * H * H * sizeof(float));
        ops->zero(gb_ih, (size_t)4 * H * sizeof(float));
        ops->zero(gb_hh, (size_t)4 * H * sizeof(float));
        ops->zero(m->dh_next, (size_t)B * H * sizeof(float));
        ops->zero(m->dc, (size_t)B * H * sizeof(float));
        for (int t = T - 1; t >= 0; t--) {
            size_t row = (size_t)t * B;
            /* dh = d top + dh from step t+1 (1 * x is exact: the same sum as a loop) */
            ops->copy(m->dh, m->dseq + row * H, (size_t)B * H * sizeof(float));
            ops->axpy((size_t)B * H, 1.0f, m->dh_next, m->dh);
            m->lops->lstm_step_backward(
                B, L->in, H, L->x + row * L->in, L->h + row * H, L->c + row * H, w_ih, w_hh,
                L->gates + row * 4 * H, L->c + (row + B) * H, m->dh, m->dc, m->dgates,
                m->dx + row * L->in, m->dh_next, gw_ih, gw_hh, gb_ih, gb_hh);
        }
        undrop(m, TB * L->in, m->dx, L->x_mask, m->dseq);
    }
    /* dseq now holds d loss / d embedding output (T×B×E) */
    m->lops->embedding_backward((int)TB, E, m->in_ids, m->dseq, view(m, m->grads, m->enc));
}

const float *ft_lstm_forward(ft_lstm_model_t *m, const int32_t *ids, int B)
{
    const ft_lstm_spec_t *s = &m->spec;
    assert(B >= 1 && B <= s->max_batch && !s->classes);
    int T = s->seq_len, H = s->hidden, V = s->vocab;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int32_t in = ids[(size_t)b * (T + 1) + t], tg = ids[(size_t)b * (T + 1) + t + 1];
            assert(in >= 0 && in < V && tg >= 0 && tg < V);
            m->in_ids_h[(size_t)t * B + b] = in;
            m->tgt_ids_h[(size_t)t * B + b] = tg;
        }
    m->ops->upload(m->in_ids, m->in_ids_h, (size_t)T * B * sizeof(int32_t));
    m->ops->upload(m->tgt_ids, m->tgt_ids_h, (size_t)T * B * sizeof(int32_t));
    run_layers(m, B);
    m->ops->linear_forward(T * B, H, V, m->top, view(m, m->params, m->dec_w),
                           view(m, m->params, m->dec_b), m->logits);
    return m->logits;
}

float ft_lstm_forward_backward(ft_lstm_model_t *m, const int32_t *ids, int B)
{
    const ft_lstm_spec_t *s = &m->spec;
    int T = s->seq_len, E = s->emb, H = s->hidden, V = s->vocab;
    size_t TB = (size_t)T * B;
    ft_lstm_forward(m, ids, B);
    float loss = m->ops->softmax_xent_forward((int)TB, V, m->logits, m->tgt_ids, m->probs);
    /* d loss / d logits overwrites the logits (no back end may alias probs and it) */
    m->ops->softmax_xent_backward((int)TB, V, m->probs, m->tgt_ids, m->logits);
    if (!s->tied)
        m->ops->zero(view(m, m->grads, m->enc), (size_t)V * E * sizeof(float));
    /* decoder: with tied weights its dW lands in the embedding's slot (overwritten) */
    m->ops->linear_backward((int)TB, H, V, m->top, view(m, m->params, m->dec_w), m->logits, m->dx,
                            view(m, m->grads, m->dec_w), view(m, m->grads, m->dec_b));
    backprop_layers(m, B);
    return loss;
}

const float *ft_lstm_classify(ft_lstm_model_t *m, const int32_t *ids, int B)
{
    const ft_lstm_spec_t *s = &m->spec;
    assert(B >= 1 && B <= s->max_batch && s->classes);
    int T = s->seq_len, H = s->hidden;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int32_t in = ids[(size_t)b * T + t];
            assert(in >= 0 && in < s->vocab);
            m->in_ids_h[(size_t)t * B + b] = in;
        }
    m->ops->upload(m->in_ids, m->in_ids_h, (size_t)T * B * sizeof(int32_t));
    run_layers(m, B);
    const float *last = m->top + (size_t)(T - 1) * B * H; /* the last step's outputs */
    m->ops->linear_forward(B, H, s->classes, last, view(m, m->params, m->dec_w),
                           view(m, m->params, m->dec_b), m->logits);
    return m->logits;
}

float ft_lstm_classify_backward(ft_lstm_model_t *m, const int32_t *ids, const int32_t *labels,
                                int B)
{
    const ft_lstm_spec_t *s = &m->spec;
    int T = s->seq_len, E = s->emb, H = s->hidden, C = s->classes;
    ft_lstm_classify(m, ids, B);
    float loss = m->ops->softmax_xent_forward(B, C, m->logits, labels, m->probs);
    m->ops->softmax_xent_backward(B, C, m->probs, labels, m->logits);
    m->ops->zero(view(m, m->grads, m->enc), (size_t)s->vocab * E * sizeof(float));
    /* only the last step feeds the classifier: the other steps' d top is zero */
    m->ops->zero(m->dx, (size_t)(T - 1) * B * H * sizeof(float));
    const float *last = m->top + (size_t)(T - 1) * B * H;
    m->ops->linear_backward(B, H, C, last, view(m, m->params, m->dec_w), m->logits,
                            m->dx + (size_t)(T - 1) * B * H, view(m, m->grads, m->dec_w),
                            view(m, m->grads, m->dec_b));
    backprop_layers(m, B);
    return loss;
}

double ft_lstm_clip_grad(ft_lstm_model_t *m, double max_norm)
{
    size_t N = m->layout.num_params;
    double norm = m->ops->norm2(N, m->grads);
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0)
        m->ops->scale(N, (float)coef, m->grads);
    return norm;
}

void ft_lstm_score(ft_lstm_model_t *m, const int32_t *targets, const int32_t **best,
                   const double **loss)
{
    size_t rows = (size_t)m->spec.seq_len * m->B;
    /* the forward's targets are not needed again until the next forward */
    m->ops->upload(m->tgt_ids, targets, rows * sizeof(int32_t));
    m->lops->score_rows((int)rows, m->spec.vocab, m->logits, m->tgt_ids, m->best, m->rloss);
    m->ops->download(m->best_h, m->best, rows * sizeof(int32_t));
    m->ops->download(m->rloss_h, m->rloss, rows * sizeof(double));
    *best = m->best_h;
    *loss = m->rloss_h;
}

void ft_lstm_evaluate(ft_lstm_model_t *m, const int32_t *ids, const uint32_t *idx, uint32_t n,
                      ft_lstm_eval_t *out)
{
    const ft_lstm_spec_t *s = &m->spec;
    int T = s->seq_len, V = s->vocab, Bmax = s->max_batch;
    int was = m->training;
    m->training = 0;
    memset(out, 0, sizeof *out);
    double loss = 0;
    uint64_t correct = 0;
    int32_t *batch = m->eval_ids;
    for (uint32_t at = 0; at < n; at += (uint32_t)Bmax) {
        int B = n - at < (uint32_t)Bmax ? (int)(n - at) : Bmax;
        for (int b = 0; b < B; b++) {
            uint32_t i = idx ? idx[at + b] : at + b;
            memcpy(batch + (size_t)b * (T + 1), ids + (size_t)i * (T + 1),
                   ((size_t)T + 1) * sizeof *batch);
        }
        ft_lstm_forward(m, batch, B);
        size_t rows = (size_t)T * B;
        loss +=
            (double)m->ops->softmax_xent_forward((int)rows, V, m->logits, m->tgt_ids, m->probs) *
            (double)rows;
        m->lops->score_rows((int)rows, V, m->logits, NULL, m->best, NULL);
        m->ops->download(m->best_h, m->best, rows * sizeof(int32_t));
        for (size_t r = 0; r < rows; r++)
            correct += m->best_h[r] == m->tgt_ids_h[r];
        out->count += rows;
    }
    m->training = was;
    if (out->count) {
        out->loss = loss / (double)out->count;
        out->accuracy = (double)correct / (double)out->count;
        out->perplexity = exp(out->loss);
    }
}
