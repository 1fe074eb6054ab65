/* ft_model: the engine that runs a sequential network over one flat parameter buffer —
 * the passes half (ft_model_build.c builds the model this file runs; ft_model_internal.h
 * is what they share).
 *
 * Everything after construction: accessors and parameter get/set, PyTorch-style
 * initialisation, dropout mode and streams, forward, forward + backward, evaluation.
 * The passes allocate nothing: they read and write the buffers the build planned (one
 * output per layer, or the inference arena), ping-pong gradients between the two
 * dbuf buffers, and run a ReLU + maxpool pair as the pool's fused op where the build
 * marked it so. */
#include "ft_model_internal.h"

#include "ft_alloc.h"
#include "ft_error.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* --- accessors --------------------------------------------------------------- */

const ft_layout_t *ft_model_layout(const ft_model_t *m)
{
    return &m->layout;
}
size_t ft_model_num_params(const ft_model_t *m)
{
    return m->layout.num_params;
}
const ft_ops_t *ft_model_ops(const ft_model_t *m)
{
    return m->ops;
}
float *ft_model_params(ft_model_t *m)
{
    return m->params;
}
float *ft_model_grads(ft_model_t *m)
{
    return m->grads;
}
int ft_model_is_inference(const ft_model_t *m)
{
    return m->inference;
}
size_t ft_model_memory_bytes(const ft_model_t *m)
{
    return m->bytes;
}
int ft_model_max_batch(const ft_model_t *m)
{
    return m->max_batch;
}
int ft_model_num_classes(const ft_model_t *m)
{
    return m->num_classes;
}

void ft_model_input_shape(const ft_model_t *m, int *c, int *h, int *w)
{
    *c = m->c, *h = m->h, *w = m->w;
}

void ft_model_get_params(const ft_model_t *m, float *host)
{
    m->ops->download(host, m->params, m->layout.num_params * sizeof(float));
}

void ft_model_set_params(ft_model_t *m, const float *host)
{
    m->ops->upload(m->params, host, m->layout.num_params * sizeof(float));
}

void ft_model_init(ft_model_t *m, ft_rng_t *rng)
{
    if (m->lstm) {
        ft_model_text_init(m, rng);
        return;
    }
    /* PyTorch's nn.Conv2d / nn.Linear reset_parameters(): kaiming_uniform_(a=sqrt(5))
     * gives bound = gain * sqrt(3 / fan_in) with gain = sqrt(2 / (1 + 5)), i.e.
     * 1/sqrt(fan_in); the bias uses the same bound. Drawn in buffer order and staged
     * through a fixed host chunk, so init allocates nothing. */
    enum { CHUNK = 4096 };
    float chunk[CHUNK];
    for (int v = 0; v < m->layout.num_views; v++) {
        const ft_param_view_t *pv = &m->layout.views[v];
        double bound = 1.0 / sqrt((double)pv->fan_in);
        for (size_t done = 0; done < pv->count;) {
            size_t k = pv->count - done < CHUNK ? pv->count - done : CHUNK;
            for (size_t i = 0; i < k; i++)
                chunk[i] = (float)((2.0 * ft_rng_uniform(rng) - 1.0) * bound);
            m->ops->upload(m->params + pv->offset + done, chunk, k * sizeof(float));
            done += k;
        }
    }
}

void ft_model_set_training(ft_model_t *m, int training)
{
    assert(!(training && m->inference)); /* no dropout masks, no backward */
    m->training = training != 0;
    if (m->lstm)
        ft_model_text_set_training(m);
}
int ft_model_training(const ft_model_t *m)
{
    return m->training;
}

void ft_model_set_dropout_stream(ft_model_t *m, uint64_t seed, uint64_t counter)
{
    m->dropout_seed = seed;
    m->dropout_counter = counter;
    if (m->lstm)
        ft_model_text_set_dropout_stream(m);
}

uint64_t ft_model_dropout_counter(const ft_model_t *m)
{
    return m->lstm ? ft_model_text_dropout_counter(m) : m->dropout_counter;
}

/* --- forward / backward -------------------------------------------------------- */

/* The buffer layer i reads from. */
static const float *layer_input(const ft_model_t *m, int i)
{
    for (int j = i - 1; j >= 0; j--)
        if (m->layers[j].out)
            return m->layers[j].out;
    return m->input;
}

/* Dropout in eval mode (or p = 0) is the identity: its output is its input. */
static int dropout_active(const ft_model_t *m, const ft_layer_t *L)
{
    return m->training && L->spec.p > 0.0f;
}

const float *ft_model_forward(ft_model_t *m, const float *x, int B)
{
    assert(B >= 1 && B <= m->max_batch);
    if (m->lstm)
        return ft_model_text_forward(m, x, B);
    const ft_ops_t *ops = m->ops;
    m->input = x;
    const float *cur = x;
    for (int i = 0; i < m->num_layers; i++) {
        ft_layer_t *L = &m->layers[i];
        const ft_layer_spec_t *s = &L->spec;
        size_t n = (size_t)B * L->out_size;
        switch (s->kind) {
        case FT_LAYER_CONV2D: {
            const ft_param_view_t *wv = &m->layout.views[L->weight_view];
            const ft_param_view_t *bv = &m->layout.views[L->bias_view];
            ft_conv2d_shape_t cs = ft_model_conv_shape(L, B);
            ops->conv2d_forward(&cs, cur, m->params + wv->offset, m->params + bv->offset, L->out,
                                m->ws);
            break;
        }
        case FT_LAYER_LINEAR: {
            const ft_param_view_t *wv = &m->layout.views[L->weight_view];
            const ft_param_view_t *bv = &m->layout.views[L->bias_view];
            ops->linear_forward(B, (int)L->in_size, s->out, cur, m->params + wv->offset,
                                m->params + bv->offset, L->out);
            break;
        }
        case FT_LAYER_MAXPOOL:
            if (i > 0 && m->layers[i - 1].fused) /* cur: the relu's input, untouched */
                ops->relu_maxpool2d_forward(B, L->in_c, L->in_h, L->in_w, s->kernel, s->stride, cur,
                                            L->out, L->argmax);
            else
                ops->maxpool2d_forward(B, L->in_c, L->in_h, L->in_w, s->kernel, s->stride, cur,
                                       L->out, L->argmax);
            break;
        case FT_LAYER_AVGPOOL_GLOBAL:
            ops->avgpool_global_forward(B, L->in_c, L->in_h, L->in_w, cur, L->out);
            break;
        case FT_LAYER_RELU:
            if (!L->fused)
                ops->relu_forward(n, cur, L->out);
            break;
        case FT_LAYER_DROPOUT:
            if (m->inference)
                break; /* a view: eval-mode dropout is the identity */
            if (dropout_active(m, L))
                ops->dropout_forward(n, s->p, m->dropout_seed, m->dropout_counter++, cur, L->out,
                                     L->mask);
            else
                ops->copy(L->out, cur, n * sizeof(float));
            break;
        case FT_LAYER_FLATTEN: break;
        }
        if (L->out && !L->fused) /* a fused relu leaves cur to the pool */
            cur = L->out;
    }
    return cur;
}

/* The backward pass from layer `top` down: dy (back-end memory, B × the output of
 * layer top, in m->dbuf[which]) is the loss's gradient w.r.t. that layer's output.
 * Writes the gradient of every parameter of layers 0..top. dx_input NULL: stops at the
 * first layer with parameters (nothing before it needs a gradient); else runs to the
 * input and leaves dL/dx there. */
static void backward_from(ft_model_t *m, int top, int which, int B, float *dx_input)
{
    const ft_ops_t *ops = m->ops;
    float *dy = m->dbuf[which];
    for (int i = top; i >= 0; i--) {
        ft_layer_t *L = &m->layers[i];
        const ft_layer_spec_t *s = &L->spec;
        const float *in = layer_input(m, i);
        int first = !dx_input; /* nothing before this layer needs a gradient */
        for (int j = 0; j < i && first; j++)
            if (m->layers[j].weight_view >= 0)
                first = 0;
        float *dx = first ? NULL : i == 0 ? dx_input : m->dbuf[which ^ 1];
        switch (s->kind) {
        case FT_LAYER_CONV2D: {
            const ft_param_view_t *wv = &m->layout.views[L->weight_view];
            const ft_param_view_t *bv = &m->layout.views[L->bias_view];
            ft_conv2d_shape_t cs = ft_model_conv_shape(L, B);
            ops->conv2d_backward(&cs, in, m->params + wv->offset, dy, dx, m->grads + wv->offset,
                                 m->grads + bv->offset, m->ws);
            break;
        }
        case FT_LAYER_LINEAR: {
            const ft_param_view_t *wv = &m->layout.views[L->weight_view];
            const ft_param_view_t *bv = &m->layout.views[L->bias_view];
            ops->linear_backward(B, (int)L->in_size, s->out, in, m->params + wv->offset, dy, dx,
                                 m->grads + wv->offset, m->grads + bv->offset);
            break;
        }
        case FT_LAYER_MAXPOOL:
            if (dx && i > 0 && m->layers[i - 1].fused)
                ops->relu_maxpool2d_backward(B, L->in_c, L->in_h, L->in_w, s->kernel, s->stride,
                                             L->out, dy, L->argmax, dx);
            else if (dx)
                ops->maxpool2d_backward(B, L->in_c, L->in_h, L->in_w, s->kernel, s->stride, dy,
                                        L->argmax, dx);
            break;
        case FT_LAYER_AVGPOOL_GLOBAL:
            if (dx)
                ops->avgpool_global_backward(B, L->in_c, L->in_h, L->in_w, dy, dx);
            break;
        case FT_LAYER_RELU:
            if (L->fused)
                dx = NULL; /* the pool's fused backward already applied it */
            else if (dx)
                ops->relu_backward((size_t)B * L->out_size, L->out, dy, dx);
            break;
        case FT_LAYER_DROPOUT:
            if (dx && dropout_active(m, L))
                ops->dropout_backward((size_t)B * L->out_size, dy, L->mask, dx);
            else
                dx = NULL; /* identity: the gradient passes through unchanged */
            break;
        case FT_LAYER_FLATTEN:
            dx = NULL; /* same memory, same gradient */
            break;
        }
        if (first)
            break;
        if (dx) {
            which ^= 1;
            dy = dx;
        }
    }
    /* a first layer that passes the gradient through (flatten, eval dropout) */
    if (dx_input && dy != dx_input)
        ops->copy(dx_input, dy, (size_t)B * m->layers[0].in_size * sizeof(float));
}

/* Forward + loss + backward (dx_input as backward_from's). */
static float forward_backward(ft_model_t *m, const float *x, const int32_t *labels, int B,
                              float *dx_input)
{
    assert(!m->inference && "ft_model_forward_backward on an inference model");
    const ft_ops_t *ops = m->ops;
    const float *logits = ft_model_forward(m, x, B);
    float loss = ops->softmax_xent_forward(B, m->num_classes, logits, labels, m->probs);
    ops->softmax_xent_backward(B, m->num_classes, m->probs, labels, m->dbuf[0]);
    backward_from(m, m->num_layers - 1, 0, B, dx_input);
    return loss;
}

float ft_model_forward_backward(ft_model_t *m, const float *x, const int32_t *labels, int B)
{
    if (m->lstm)
        return ft_model_text_forward_backward(m, x, labels, B);
    return forward_backward(m, x, labels, B, NULL);
}

float ft_model_forward_backward_input(ft_model_t *m, const float *x, const int32_t *labels, int B,
                                      float *dx)
{
    assert(dx && !m->lstm); /* token ids have no gradient */
    return forward_backward(m, x, labels, B, dx);
}

/* --- features: the classifier's input ------------------------------------------ */

/* The classifier: the last linear layer (the engine ends every model in one). */
static int classifier_layer(const ft_model_t *m)
{
    int cls = -1;
    for (int i = 0; i < m->num_layers; i++)
        if (m->layers[i].spec.kind == FT_LAYER_LINEAR)
            cls = i;
    assert(cls >= 0);
    return cls;
}

int ft_model_feature_dim(const ft_model_t *m)
{
    assert(!m->lstm);
    return (int)m->layers[classifier_layer(m)].in_size;
}

size_t ft_model_classifier_offset(const ft_model_t *m)
{
    assert(!m->lstm);
    return m->layout.views[m->layers[classifier_layer(m)].weight_view].offset;
}

const float *ft_model_forward_features(ft_model_t *m, const float *x, int B)
{
    assert(!m->lstm && !m->inference);
    ft_model_forward(m, x, B);
    return layer_input(m, classifier_layer(m));
}

void ft_model_backward_features(ft_model_t *m, const float *dfeat, int B)
{
    assert(!m->lstm && !m->inference && B >= 1 && B <= m->max_batch);
    int cls = classifier_layer(m);
    size_t off = ft_model_classifier_offset(m);
    /* The classifier's own parameters get no gradient from a loss on its input; the
     * views after its weight (its bias) end the buffer. */
    m->ops->zero(m->grads + off, (m->layout.num_params - off) * sizeof(float));
    m->ops->copy(m->dbuf[0], dfeat, (size_t)B * m->layers[cls].in_size * sizeof(float));
    if (cls > 0)
        backward_from(m, cls - 1, 0, B, NULL);
}

void ft_model_backward_output(ft_model_t *m, const float *dy, int B, float *dx)
{
    assert(!m->lstm && !m->inference && B >= 1 && B <= m->max_batch);
    m->ops->copy(m->dbuf[0], dy, (size_t)B * m->num_classes * sizeof(float));
    backward_from(m, m->num_layers - 1, 0, B, dx);
}

/* --- evaluation ---------------------------------------------------------------- */

int ft_model_evaluate(ft_model_t *m, const ft_dataset_t *ds, const uint32_t *idx, uint32_t n,
                      ft_eval_t *out)
{
    memset(out, 0, sizeof *out);
    if (m->lstm)
        return ft_model_text_evaluate(m, ds, idx, n, out);
    if (ds->c != m->c || ds->h != m->h || ds->w != m->w)
        return ft_error_set(FT_EINVAL, "%s: samples are %dx%dx%d, the model takes %dx%dx%d",
                            ds->name, ds->c, ds->h, ds->w, m->c, m->h, m->w);
    if (!idx)
        n = ds->n;
    const ft_ops_t *ops = m->ops;
    int Bmax = m->max_batch, C = m->num_classes;
    size_t sample = ft_dataset_sample_size(ds);
    int rc = FT_OK;
    float *xh = ft_malloc((size_t)Bmax * sample * sizeof(float));
    int32_t *yh = ft_malloc((size_t)Bmax * sizeof(int32_t));
    uint32_t *bidx = ft_malloc((size_t)Bmax * sizeof(uint32_t));
    float *logits_h = ft_malloc((size_t)Bmax * C * sizeof(float));
    float *xd = ops->alloc((size_t)Bmax * sample * sizeof(float));
    int32_t *yd = ops->alloc((size_t)Bmax * sizeof(int32_t));
    if (!xh || !yh || !bidx || !logits_h || !xd || !yd) {
        rc = ft_error_set(FT_ENOMEM, "out of memory evaluating on %s", ds->name);
        goto done;
    }
    int was_training = m->training;
    m->training = 0;
    double loss_sum = 0.0;
    uint32_t correct = 0;
    for (uint32_t start = 0; start < n; start += (uint32_t)Bmax) {
        int B = (int)(n - start < (uint32_t)Bmax ? n - start : (uint32_t)Bmax);
        for (int b = 0; b < B; b++)
            bidx[b] = idx ? idx[start + b] : start + (uint32_t)b;
        ft_dataset_gather(ds, bidx, B, xh, yh);
        ops->upload(xd, xh, (size_t)B * sample * sizeof(float));
        ops->upload(yd, yh, (size_t)B * sizeof(int32_t));
        const float *logits = ft_model_forward(m, xd, B);
        loss_sum += (double)ops->softmax_xent_forward(B, C, logits, yd, m->probs) * B;
        ops->download(logits_h, logits, (size_t)B * C * sizeof(float));
        for (int b = 0; b < B; b++) {
            const float *row = logits_h + (size_t)b * C;
            int best = 0;
            for (int k = 1; k < C; k++)
                if (row[k] > row[best])
                    best = k;
            int y = yh[b];
            if (y >= 0 && y < 256) {
                out->class_count[y]++;
                if (best == y)
                    out->class_correct[y]++;
            }
            if (best < 256)
                out->predicted_as[best]++;
            correct += best == y;
        }
    }
    m->training = was_training;
    out->count = n;
    out->loss = n ? loss_sum / n : 0.0;
    out->accuracy = n ? (double)correct / n : 0.0;
done:
    ft_free(xh);
    ft_free(yh);
    ft_free(bidx);
    ft_free(logits_h);
    ops->free(xd);
    ops->free(yd);
    return rc;
}
