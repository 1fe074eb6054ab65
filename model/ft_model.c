/* ft_model: the engine that runs a sequential network over one flat parameter buffer.
 *
 * This file builds a model from any layer list (the built-in architectures, by name,
 * are the zoo's: ft_model_zoo.c), and holds everything after that: parameter views
 * and layout hash, buffers, init, forward, backward, evaluation, dropout streams.
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
#include "ft_model.h"
#include "ft_model_zoo.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_sha256.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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
    const ft_ops_t *ops;      /* back end everything below lives on */
    int num_layers;           /* layers */
    ft_layer_t *layers;       /* num_layers resolved layers */
    ft_layout_t layout;       /* parameter views and hash */
    int c, h, w;              /* input sample shape */
    int num_classes;          /* output features */
    int max_batch;            /* largest B a pass may use */
    float *params;            /* N parameters (back end) */
    float *grads;             /* N gradients (back end) */
    float *probs;             /* max_batch × num_classes softmax output (back end) */
    float *dbuf[2];           /* gradient ping-pong buffers (back end) */
    size_t dbuf_len;          /* floats in each dbuf */
    float *ws;                /* conv workspace (back end) */
    size_t ws_len;            /* floats in ws */
    int inference;            /* forward only: no grads/dbuf, activations in arena */
    float *arena;             /* inference: the activations (back end), see alloc_inference */
    int32_t *pool_argmax;     /* inference: maxpool argmax scratch shared by all pools */
    size_t bytes;             /* back-end bytes this model allocated */
    const float *input;       /* x of the last forward (caller memory) */
    int training;             /* dropout active */
    uint64_t dropout_seed;    /* Philox key of the dropout stream */
    uint64_t dropout_counter; /* next Philox counter; advances per dropout layer call */
};

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

static void add_view(ft_layout_t *lay, const char *name, int ndim, const int *shape, int fan_in)
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
static int layout_hash(ft_layout_t *lay)
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
            add_view(lay, name, 4, wshape, fan_in);
            snprintf(name, sizeof name, "conv%d.bias", nconv);
            L->bias_view = lay->num_views;
            add_view(lay, name, 1, &s->out, fan_in);
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
            add_view(lay, name, 2, wshape, c);
            snprintf(name, sizeof name, "fc%d.bias", nlin);
            L->bias_view = lay->num_views;
            add_view(lay, name, 1, &outf, c);
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
    return layout_hash(lay);
}

static ft_conv2d_shape_t conv_shape(const ft_layer_t *L, int B)
{
    ft_conv2d_shape_t s = {0};
    s.B = B, s.Ci = L->in_c, s.H = L->in_h, s.W = L->in_w;
    s.Co = L->spec.out, s.kh = s.kw = L->spec.kernel;
    s.stride = L->spec.stride, s.pad = L->spec.pad;
    ft_conv2d_shape(&s);
    return s;
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
            ft_conv2d_shape_t s1 = conv_shape(L, 1), sb = conv_shape(L, max_batch);
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
}
int ft_model_training(const ft_model_t *m)
{
    return m->training;
}

void ft_model_set_dropout_stream(ft_model_t *m, uint64_t seed, uint64_t counter)
{
    m->dropout_seed = seed;
    m->dropout_counter = counter;
}

uint64_t ft_model_dropout_counter(const ft_model_t *m)
{
    return m->dropout_counter;
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
            ft_conv2d_shape_t cs = conv_shape(L, B);
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

float ft_model_forward_backward(ft_model_t *m, const float *x, const int32_t *labels, int B)
{
    assert(!m->inference && "ft_model_forward_backward on an inference model");
    const ft_ops_t *ops = m->ops;
    const float *logits = ft_model_forward(m, x, B);
    float loss = ops->softmax_xent_forward(B, m->num_classes, logits, labels, m->probs);
    int which = 0;
    float *dy = m->dbuf[which];
    ops->softmax_xent_backward(B, m->num_classes, m->probs, labels, dy);
    for (int i = m->num_layers - 1; i >= 0; i--) {
        ft_layer_t *L = &m->layers[i];
        const ft_layer_spec_t *s = &L->spec;
        const float *in = layer_input(m, i);
        int first = 1; /* nothing before this layer needs a gradient */
        for (int j = 0; j < i; j++)
            if (m->layers[j].weight_view >= 0)
                first = 0;
        float *dx = first ? NULL : m->dbuf[which ^ 1];
        switch (s->kind) {
        case FT_LAYER_CONV2D: {
            const ft_param_view_t *wv = &m->layout.views[L->weight_view];
            const ft_param_view_t *bv = &m->layout.views[L->bias_view];
            ft_conv2d_shape_t cs = conv_shape(L, B);
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
    return loss;
}

/* --- evaluation ---------------------------------------------------------------- */

int ft_model_evaluate(ft_model_t *m, const ft_dataset_t *ds, const uint32_t *idx, uint32_t n,
                      ft_eval_t *out)
{
    memset(out, 0, sizeof *out);
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
