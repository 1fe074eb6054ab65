/* ft_model_build: how a model is built from a layer list — the construction half of the
 * engine (ft_model.c runs what this file builds; ft_model_internal.h is what they share).
 *
 * Built-in architectures, by name, are the zoo's (ft_model_zoo.c); this file turns any
 * layer list into a model: shapes, parameter views and layout hash, buffers, destroy.
 *
 * A model is a list of layer specs resolved against an input shape into layers
 * with output shapes, parameter views and activation buffers sized for max_batch.
 * All parameters sit in one back-end buffer (ops->alloc) and the gradients in a
 * second one with the same layout, so optimizers, aggregation and checkpoints see
 * flat length-N vectors only. Activation memory is allocated once at creation:
 * forward and backward passes allocate nothing.
 *
 * Memory plan: every conv/linear/maxpool/avgpool/dropout layer writes its own output
 * buffer (backward needs the inputs); ReLU works in place on its input (its
 * backward needs only its output, and the layer before it needs only its own
 * input); flatten is a view. Backward ping-pongs between two gradient buffers as
 * large as the largest activation. An inference model (ft_model_new_inference) has
 * no gradient buffers at all: its forward activations live in one arena sized for the
 * largest input + output pair, since no layer's input is needed later. A ReLU followed
 * by a maxpool runs as one fused op where the back end has it
 * (ft_ops_t.relu_maxpool2d_*): the pool reads the ReLU's input, and the ReLU layer
 * itself does nothing in either pass. */
#include "ft_model_internal.h"
#include "ft_model_zoo.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_sha256.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* --- construction by name ---------------------------------------------------- */

static int new_from_spec(const ft_layer_spec_t *layers, int num_layers, int c, int h, int w,
                         int num_classes, int max_batch, const ft_ops_t *ops, int inference,
                         ft_model_t **out);

/* A zoo architecture by name (ft_model_zoo.c) built by new_from_spec. */
static int new_named(const char *name, const char *hidden, int c, int h, int w, int num_classes,
                     int max_batch, const ft_ops_t *ops, int inference, ft_model_t **out)
{
    *out = NULL;
    ft_layer_spec_t layers[FT_MODEL_ZOO_MAX_LAYERS];
    int n = ft_model_zoo_layers(name, hidden, layers);
    if (n < 0)
        return n;
    return new_from_spec(layers, n, c, h, w, num_classes, max_batch, ops, inference, out);
}

int ft_model_new(const char *name, const char *hidden, int c, int h, int w, int num_classes,
                 int max_batch, const ft_ops_t *ops, ft_model_t **out)
{
    return new_named(name, hidden, c, h, w, num_classes, max_batch, ops, 0, out);
}

int ft_model_new_inference(const char *name, const char *hidden, int c, int h, int w,
                           int num_classes, int max_batch, const ft_ops_t *ops, ft_model_t **out)
{
    return new_named(name, hidden, c, h, w, num_classes, max_batch, ops, 1, out);
}

/* --- construction ---------------------------------------------------------- */

void ft_layout_add_view(ft_layout_t *lay, const char *name, int ndim, const int *shape, int fan_in)
{
    ft_param_view_t *v = &lay->views[lay->num_views++];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->ndim = ndim;
    v->count = 1;
    for (int i = 0; i < ndim; i++) {
        v->shape[i] = shape[i];
        v->count *= (size_t)shape[i];
    }
    v->offset = lay->num_params;
    v->fan_in = fan_in;
    lay->num_params += v->count;
}

/* The canonical layout text hashed into layout.hash: a version line, then one line
 * per view "name dim0xdim1... offset", then N. Independent of back end and host. */
int ft_layout_hash(ft_layout_t *lay)
{
    size_t cap = 64 + (size_t)lay->num_views * 96;
    char *text = ft_malloc(cap);
    if (!text)
        return ft_error_set(FT_ENOMEM, "out of memory hashing the model layout");
    size_t len = (size_t)snprintf(text, cap, "fedtail-layout 1\n");
    for (int i = 0; i < lay->num_views; i++) {
        const ft_param_view_t *v = &lay->views[i];
        len += (size_t)snprintf(text + len, cap - len, "%s ", v->name);
        for (int d = 0; d < v->ndim; d++)
            len += (size_t)snprintf(text + len, cap - len, d ? "x%d" : "%d", v->shape[d]);
        len += (size_t)snprintf(text + len, cap - len, " %zu\n", v->offset);
    }
    len += (size_t)snprintf(text + len, cap - len, "N %zu\n", lay->num_params);
    assert(len < cap);
    ft_sha256(text, len, lay->hash);
    ft_free(text);
    return FT_OK;
}

/* Resolves shapes and views; fills m->layers (buffers not yet allocated). */
static int resolve(ft_model_t *m, const ft_layer_spec_t *specs)
{
    int c = m->c, h = m->h, w = m->w;
    int nconv = 0, nlin = 0;
    ft_layout_t *lay = &m->layout;
    for (int i = 0; i < m->num_layers; i++) {
        ft_layer_t *L = &m->layers[i];
        L->spec = specs[i];
        L->in_c = c, L->in_h = h, L->in_w = w;
        L->weight_view = L->bias_view = -1;
        const ft_layer_spec_t *s = &L->spec;
        int is_last_linear = 1;
        for (int j = i + 1; j < m->num_layers; j++)
            if (specs[j].kind == FT_LAYER_LINEAR)
                is_last_linear = 0;
        char name[32];
        switch (s->kind) {
        case FT_LAYER_CONV2D: {
            if (s->out <= 0 || s->kernel <= 0 || s->stride <= 0 || s->pad < 0)
                return ft_error_set(FT_ECONFIG, "layer %d: bad conv2d parameters", i);
            int ho = (h + 2 * s->pad - s->kernel) / s->stride + 1;
            int wo = (w + 2 * s->pad - s->kernel) / s->stride + 1;
            if (h + 2 * s->pad < s->kernel || w + 2 * s->pad < s->kernel)
                return ft_error_set(FT_ECONFIG,
                                    "layer %d: conv %dx%d does not fit a %dx%dx%d input", i,
                                    s->kernel, s->kernel, c, h, w);
            nconv++;
            int fan_in = c * s->kernel * s->kernel;
            int wshape[4] = {s->out, c, s->kernel, s->kernel};
            snprintf(name, sizeof name, "conv%d.weight", nconv);
            L->weight_view = lay->num_views;
            ft_layout_add_view(lay, name, 4, wshape, fan_in);
            snprintf(name, sizeof name, "conv%d.bias", nconv);
            L->bias_view = lay->num_views;
            ft_layout_add_view(lay, name, 1, &s->out, fan_in);
            c = s->out, h = ho, w = wo;
            break;
        }
        case FT_LAYER_MAXPOOL:
            if (s->kernel <= 0 || s->stride <= 0)
                return ft_error_set(FT_ECONFIG, "layer %d: bad maxpool parameters", i);
            if (h < s->kernel || w < s->kernel)
                return ft_error_set(FT_ECONFIG,
                                    "layer %d: maxpool %d does not fit a %dx%dx%d input", i,
                                    s->kernel, c, h, w);
            h = (h - s->kernel) / s->stride + 1;
            w = (w - s->kernel) / s->stride + 1;
            break;
        case FT_LAYER_AVGPOOL_GLOBAL: h = w = 1; break;
        case FT_LAYER_RELU:
        case FT_LAYER_DROPOUT:
            if (s->kind == FT_LAYER_DROPOUT && !(s->p >= 0.0f && s->p < 1.0f))
                return ft_error_set(FT_ECONFIG, "layer %d: dropout p must lie in [0, 1)", i);
            break;
        case FT_LAYER_FLATTEN: c = c * h * w, h = w = 1; break;
        case FT_LAYER_LINEAR: {
            if (h != 1 || w != 1)
                return ft_error_set(FT_ECONFIG, "layer %d: linear needs a flatten before it", i);
            int outf = s->out;
            if (is_last_linear && (outf == 0 || outf == m->num_classes))
                outf = m->num_classes; /* the classifier's width is the class count */
            else if (outf <= 0)
                return ft_error_set(FT_ECONFIG, "layer %d: linear needs out > 0", i);
            L->spec.out = outf;
            nlin++;
            int wshape[2] = {outf, c};
            snprintf(name, sizeof name, "fc%d.weight", nlin);
            L->weight_view = lay->num_views;
            ft_layout_add_view(lay, name, 2, wshape, c);
            snprintf(name, sizeof name, "fc%d.bias", nlin);
            L->bias_view = lay->num_views;
            ft_layout_add_view(lay, name, 1, &outf, c);
            c = outf;
            break;
        }
        default: return ft_error_set(FT_ECONFIG, "layer %d: unknown kind %d", i, (int)s->kind);
        }
        L->out_c = c, L->out_h = h, L->out_w = w;
        L->in_size = (size_t)L->in_c * L->in_h * L->in_w;
        L->out_size = (size_t)c * h * w;
    }
    if (m->num_layers == 0 || m->layers[m->num_layers - 1].spec.kind != FT_LAYER_LINEAR ||
        c != m->num_classes || h != 1 || w != 1)
        return ft_error_set(FT_ECONFIG, "model must end in a linear layer with %d outputs",
                            m->num_classes);
    return ft_layout_hash(lay);
}

/* ops->alloc that counts the bytes into m->bytes. */
static void *balloc(ft_model_t *m, size_t bytes)
{
    void *p = m->ops->alloc(bytes);
    if (p)
        m->bytes += bytes;
    return p;
}

/* Training models: one output buffer per layer (backward reads every layer's input),
 * gradients and two gradient ping-pong buffers. */
static int alloc_training(ft_model_t *m, size_t *dmax)
{
    size_t B = (size_t)m->max_batch;
    if (!(m->grads = balloc(m, m->layout.num_params * sizeof(float))))
        return FT_ENOMEM;
    const float *prev = NULL; /* the buffer the previous layer wrote (NULL: input) */
    for (int i = 0; i < m->num_layers; i++) {
        ft_layer_t *L = &m->layers[i];
        if (L->out_size > *dmax)
            *dmax = L->out_size;
        switch (L->spec.kind) {
        case FT_LAYER_RELU:
            /* in place, except on the caller's input, which must not be overwritten */
            if (prev)
                L->out = (float *)prev;
            else if (!(L->out = balloc(m, B * L->out_size * sizeof(float))))
                return FT_ENOMEM;
            break;
        case FT_LAYER_CONV2D:
        case FT_LAYER_LINEAR:
        case FT_LAYER_AVGPOOL_GLOBAL:
            if (!(L->out = balloc(m, B * L->out_size * sizeof(float))))
                return FT_ENOMEM;
            break;
        case FT_LAYER_MAXPOOL:
            if (!(L->out = balloc(m, B * L->out_size * sizeof(float))) ||
                !(L->argmax = balloc(m, B * L->out_size * sizeof(int32_t))))
                return FT_ENOMEM;
            break;
        case FT_LAYER_DROPOUT:
            if (!(L->out = balloc(m, B * L->out_size * sizeof(float))) ||
                !(L->mask = balloc(m, B * L->out_size * sizeof(float))))
                return FT_ENOMEM;
            break;
        case FT_LAYER_FLATTEN:
            L->out = (float *)prev; /* a view; NULL means "the input" */
            break;
        }
        prev = L->out;
    }
    m->dbuf_len = B * *dmax;
    if (!(m->dbuf[0] = balloc(m, m->dbuf_len * sizeof(float))) ||
        !(m->dbuf[1] = balloc(m, m->dbuf_len * sizeof(float))))
        return FT_ENOMEM;
    return FT_OK;
}

/* Inference models: nothing reads a layer's input after the layer ran, so one arena
 * serves every layer: a layer that writes puts its output at the end of the arena
 * its input is not at. The arena holds the largest input + output pair of any such
 * layer, not two of the largest output (vgg9: 37% less). ReLU stays in place,
 * dropout (always off) and flatten are views; all pools share one argmax scratch. */
static int alloc_inference(ft_model_t *m)
{
    size_t B = (size_t)m->max_batch, span = 1, pmax = 0;
    int outside = 1; /* the activation is still the caller's input */
    for (int i = 0; i < m->num_layers; i++) {
        const ft_layer_t *L = &m->layers[i];
        size_t need = 0;
        switch (L->spec.kind) {
        case FT_LAYER_RELU: need = outside ? L->out_size : 0; break;
        case FT_LAYER_CONV2D:
        case FT_LAYER_LINEAR:
        case FT_LAYER_AVGPOOL_GLOBAL:
        case FT_LAYER_MAXPOOL: need = (outside ? 0 : L->in_size) + L->out_size; break;
        case FT_LAYER_DROPOUT:
        case FT_LAYER_FLATTEN: break;
        }
        if (need) {
            outside = 0;
            span = need > span ? need : span;
        }
        if (L->spec.kind == FT_LAYER_MAXPOOL && L->out_size > pmax)
            pmax = L->out_size;
    }
    /* 16 floats of slack let the high end start on a 64-byte boundary */
    size_t arena_len = B * span + 16;
    if (!(m->arena = balloc(m, arena_len * sizeof(float))))
        return FT_ENOMEM;
    if (pmax && !(m->pool_argmax = balloc(m, B * pmax * sizeof(int32_t))))
        return FT_ENOMEM;
    int side = -1;     /* the arena end the activation is at: 0 low, 1 high, -1 outside */
    float *cur = NULL; /* where it is; NULL: the caller's input */
    for (int i = 0; i < m->num_layers; i++) {
        ft_layer_t *L = &m->layers[i];
        switch (L->spec.kind) {
        case FT_LAYER_RELU:
            if (side < 0) { /* never overwrite the caller's input */
                side = 0;
                cur = m->arena;
            }
            L->out = cur;
            break;
        case FT_LAYER_CONV2D:
        case FT_LAYER_LINEAR:
        case FT_LAYER_AVGPOOL_GLOBAL:
        case FT_LAYER_MAXPOOL:
            side = side == 0 ? 1 : 0;
            cur = side == 0 ? m->arena : m->arena + ((arena_len - B * L->out_size) & ~(size_t)15);
            L->out = cur;
            if (L->spec.kind == FT_LAYER_MAXPOOL)
                L->argmax = m->pool_argmax;
            break;
        case FT_LAYER_DROPOUT:
        case FT_LAYER_FLATTEN: L->out = cur; break;
        }
    }
    return FT_OK;
}

static int new_from_spec(const ft_layer_spec_t *layers, int num_layers, int c, int h, int w,
                         int num_classes, int max_batch, const ft_ops_t *ops, int inference,
                         ft_model_t **out)
{
    assert(out && ops && (layers || num_layers == 0));
    *out = NULL;
    if (c <= 0 || h <= 0 || w <= 0 || num_classes <= 1 || max_batch <= 0)
        return ft_error_set(FT_ECONFIG, "model: bad input shape %dx%dx%d, %d classes, batch %d", c,
                            h, w, num_classes, max_batch);
    int rc = FT_ENOMEM;
    ft_model_t *m = ft_calloc(1, sizeof *m);
    if (!m)
        return ft_error_set(FT_ENOMEM, "out of memory creating a model");
    m->ops = ops;
    m->num_layers = num_layers;
    m->c = c, m->h = h, m->w = w;
    m->num_classes = num_classes;
    m->max_batch = max_batch;
    m->inference = inference;
    m->training = !inference;
    m->layers = ft_calloc((size_t)(num_layers > 0 ? num_layers : 1), sizeof *m->layers);
    m->layout.views = ft_calloc((size_t)(2 * num_layers + 1), sizeof *m->layout.views);
    if (!m->layers || !m->layout.views) {
        rc = ft_error_set(FT_ENOMEM, "out of memory creating a model");
        goto fail;
    }
    if ((rc = resolve(m, layers)) != FT_OK)
        goto fail;

    size_t N = m->layout.num_params;
    size_t B = (size_t)max_batch;
    size_t dmax = (size_t)c * h * w;
    m->params = balloc(m, N * sizeof(float));
    m->probs = balloc(m, B * num_classes * sizeof(float));
    if (!m->params || !m->probs)
        goto oom;
    if ((inference ? alloc_inference(m) : alloc_training(m, &dmax)) != FT_OK)
        goto oom;
    for (int i = 0; i < num_layers; i++) {
        const ft_layer_t *L = &m->layers[i];
        if (L->spec.kind == FT_LAYER_CONV2D) {
            /* the workspace of the largest and the smallest batch: back ends size it
             * per batch or per sample */
            ft_conv2d_shape_t s1 = ft_model_conv_shape(L, 1);
            ft_conv2d_shape_t sb = ft_model_conv_shape(L, max_batch);
            size_t n1 = ops->conv2d_workspace(&s1), nb = ops->conv2d_workspace(&sb);
            size_t need = n1 > nb ? n1 : nb;
            if (need > m->ws_len)
                m->ws_len = need;
        }
    }
    /* relu + maxpool pairs the back end can run fused */
    for (int i = 0; i + 1 < num_layers; i++)
        m->layers[i].fused = m->layers[i].spec.kind == FT_LAYER_RELU &&
                             m->layers[i + 1].spec.kind == FT_LAYER_MAXPOOL &&
                             ops->relu_maxpool2d_forward && ops->relu_maxpool2d_backward;
    if (m->ws_len && !(m->ws = balloc(m, m->ws_len * sizeof(float))))
        goto oom;
    *out = m;
    return FT_OK;
oom:
    rc = ft_error_set(FT_ENOMEM, "out of memory allocating a model of %zu parameters (batch %d)",
                      m->layout.num_params, max_batch);
fail:
    ft_model_destroy(&m);
    return rc;
}

int ft_model_new_from_spec(const ft_layer_spec_t *layers, int num_layers, int c, int h, int w,
                           int num_classes, int max_batch, const ft_ops_t *ops, ft_model_t **out)
{
    return new_from_spec(layers, num_layers, c, h, w, num_classes, max_batch, ops, 0, out);
}

int ft_model_new_from_spec_inference(const ft_layer_spec_t *layers, int num_layers, int c, int h,
                                     int w, int num_classes, int max_batch, const ft_ops_t *ops,
                                     ft_model_t **out)
{
    return new_from_spec(layers, num_layers, c, h, w, num_classes, max_batch, ops, 1, out);
}

void ft_model_destroy(ft_model_t **m_p)
{
    if (!m_p || !*m_p)
        return;
    ft_model_t *m = *m_p;
    if (m->lstm) {
        ft_model_text_destroy(m);
        *m_p = NULL;
        return;
    }
    const ft_ops_t *ops = m->ops;
    const float *prev = NULL;
    for (int i = 0; !m->inference && m->layers && i < m->num_layers; i++) {
        ft_layer_t *L = &m->layers[i];
        if (L->out && L->out != prev)
            ops->free(L->out);
        ops->free(L->argmax);
        ops->free(L->mask);
        prev = L->out;
    }
    ops->free(m->params);
    ops->free(m->grads);
    ops->free(m->probs);
    ops->free(m->dbuf[0]);
    ops->free(m->dbuf[1]);
    ops->free(m->arena);
    ops->free(m->pool_argmax);
    ops->free(m->ws);
    ft_free(m->layers);
    ft_free(m->layout.views);
    ft_free(m);
    *m_p = NULL;
}
