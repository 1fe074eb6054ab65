/* ft_model_batch: K copies of a sequential network in lock step (ft_model_batch.h).
 *
 * The activations are those of one "wide" model of the same layers built for
 * K·Bm rows (ft_model_new_from_spec), so client k's slot of every layer buffer is
 * rows k·Bm .. k·Bm+Bm-1 and the build's memory plan (in-place ReLU, views,
 * gradient ping-pong) carries over unchanged. Parameters and gradients are the
 * batch's own K×N blocks. Each layer below is the same call sequence as
 * ft_model.c's forward_backward — either once per client on its Bk[k] rows (no
 * batched ops: exact by construction) or once for all clients (batched ops, and
 * parameter-free layers over K·Bm rows, which give every row what they give it
 * alone: they work row by row or plane by plane). */
#include "ft_model_batch.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_model_internal.h"

#include <assert.h>
#include <string.h>

struct ft_model_batch {
    ft_model_t *wide;    /* the layers and activations for K×Bm rows (owned) */
    const ft_ops_t *ops; /* its back end */
    int K;               /* clients */
    int Bm;              /* rows per client slot */
    size_t N;            /* parameters per client */
    int padded;          /* the back end has the batched ops: run steps batched */
    float *params;       /* K×N parameters (back end) */
    float *grads;        /* K×N gradients (back end) */
    float *ws;           /* batched conv workspace (back end; NULL: per client) */
    size_t ws_len;       /* floats in ws */
    uint64_t *seed;      /* K dropout seeds (host) */
    uint64_t *counter;   /* K next dropout counters (host) */
    size_t bytes;        /* back-end bytes this batch allocated itself */
};

int ft_model_batch_supported(const ft_model_t *m)
{
    return m && !m->lstm && !m->inference;
}

size_t ft_model_batch_client_bytes(const ft_model_t *m, int max_batch)
{
    size_t N = m->layout.num_params;
    size_t single = ft_model_memory_bytes(m); /* params, grads, buffers for m->max_batch */
    size_t fixed = 2 * N * sizeof(float) + m->ws_len * sizeof(float);
    size_t rows = single > fixed ? single - fixed : 0; /* activations for max_batch rows */
    if (m->max_batch > 0 && max_batch != m->max_batch)
        rows = rows / (size_t)m->max_batch * (size_t)max_batch;
    return 3 * N * sizeof(float) + rows;
}

int ft_model_batch_fit(size_t avail, size_t per_client, int cap)
{
    if (cap < 1)
        return 1;
    size_t k = per_client ? avail / 4 * 3 / per_client : (size_t)cap;
    return k < 1 ? 1 : k > (size_t)cap ? cap : (int)k;
}

static int has_batched_ops(const ft_ops_t *o)
{
    return o->conv2d_workspace_batched && o->conv2d_forward_batched && o->conv2d_backward_batched &&
           o->linear_forward_batched && o->linear_backward_batched &&
           o->softmax_xent_forward_batched;
}

int ft_model_batch_new(const ft_model_t *m, int K, int max_batch, ft_model_batch_t **out)
{
    *out = NULL;
    if (!ft_model_batch_supported(m))
        return ft_error_set(FT_EUNSUPPORTED,
                            "batched clients: only feed-forward training models can be batched "
                            "(%s)",
                            m && m->lstm ? "this is an lstm" : "this is an inference model");
    if (K < 1 || max_batch < 1)
        return ft_error_set(FT_EINVAL, "batched clients: K = %d and batch %d must be >= 1", K,
                            max_batch);
    ft_model_batch_t *mb = ft_calloc(1, sizeof *mb);
    if (!mb)
        return ft_error_set(FT_ENOMEM, "out of memory for a batch of %d clients", K);
    const ft_ops_t *ops = m->ops;
    mb->ops = ops;
    mb->K = K;
    mb->Bm = max_batch;
    mb->N = m->layout.num_params;
    mb->padded = has_batched_ops(ops);
    ft_layer_spec_t *specs =
        ft_calloc((size_t)(m->num_layers > 0 ? m->num_layers : 1), sizeof *specs);
    int rc = FT_ENOMEM;
    if (!specs)
        goto oom;
    for (int i = 0; i < m->num_layers; i++)
        specs[i] = m->layers[i].spec;
    rc = ft_model_new_from_spec(specs, m->num_layers, m->c, m->h, m->w, m->num_classes,
                                K * max_batch, ops, &mb->wide);
    ft_free(specs);
    if (rc != FT_OK)
        goto fail;
    assert(mb->wide->layout.num_params == mb->N);
    size_t KN = (size_t)K * mb->N;
    mb->params = ops->alloc(KN * sizeof(float));
    mb->grads = ops->alloc(KN * sizeof(float));
    mb->seed = ft_calloc((size_t)K, sizeof *mb->seed);
    mb->counter = ft_calloc((size_t)K, sizeof *mb->counter);
    if (!mb->params || !mb->grads || !mb->seed || !mb->counter)
        goto oom;
    mb->bytes = 2 * KN * sizeof(float);
    if (mb->padded) {
        for (int i = 0; i < m->num_layers; i++) {
            const ft_layer_t *L = &mb->wide->layers[i];
            if (L->spec.kind != FT_LAYER_CONV2D)
                continue;
            ft_conv2d_shape_t s = ft_model_conv_shape(L, max_batch);
            size_t need = ops->conv2d_workspace_batched(K, &s);
            if (need > mb->ws_len)
                mb->ws_len = need;
        }
        if (mb->ws_len && !(mb->ws = ops->alloc(mb->ws_len * sizeof(float))))
            goto oom;
        mb->bytes += mb->ws_len * sizeof(float);
    }
    *out = mb;
    return FT_OK;
oom:
    rc = ft_error_set(FT_ENOMEM, "out of memory for a batch of %d clients of %zu parameters", K,
                      mb->N);
fail:
    ft_model_batch_destroy(&mb);
    return rc;
}

void ft_model_batch_destroy(ft_model_batch_t **mb_p)
{
    if (!mb_p || !*mb_p)
        return;
    ft_model_batch_t *mb = *mb_p;
    ft_model_destroy(&mb->wide);
    mb->ops->free(mb->params);
    mb->ops->free(mb->grads);
    mb->ops->free(mb->ws);
    ft_free(mb->seed);
    ft_free(mb->counter);
    ft_free(mb);
    *mb_p = NULL;
}

int ft_model_batch_k(const ft_model_batch_t *mb)
{
    return mb->K;
}
int ft_model_batch_max_batch(const ft_model_batch_t *mb)
{
    return mb->Bm;
}
size_t ft_model_batch_num_params(const ft_model_batch_t *mb)
{
    return mb->N;
}
size_t ft_model_batch_sample_size(const ft_model_batch_t *mb)
{
    return (size_t)mb->wide->c * mb->wide->h * mb->wide->w;
}
const ft_ops_t *ft_model_batch_ops(const ft_model_batch_t *mb)
{
    return mb->ops;
}
int ft_model_batch_padded(const ft_model_batch_t *mb)
{
    return mb->padded;
}
size_t ft_model_batch_memory_bytes(const ft_model_batch_t *mb)
{
    return mb->bytes + ft_model_memory_bytes(mb->wide);
}
float *ft_model_batch_params(ft_model_batch_t *mb)
{
    return mb->params;
}
float *ft_model_batch_grads(ft_model_batch_t *mb)
{
    return mb->grads;
}

void ft_model_batch_set_params(ft_model_batch_t *mb, int k, const float *host)
{
    assert(k >= 0 && k < mb->K);
    mb->ops->upload(mb->params + (size_t)k * mb->N, host, mb->N * sizeof(float));
}

void ft_model_batch_get_params(const ft_model_batch_t *mb, int k, float *host)
{
    assert(k >= 0 && k < mb->K);
    mb->ops->download(host, mb->params + (size_t)k * mb->N, mb->N * sizeof(float));
}

void ft_model_batch_set_dropout_stream(ft_model_batch_t *mb, int k, uint64_t seed, uint64_t counter)
{
    assert(k >= 0 && k < mb->K);
    mb->seed[k] = seed;
    mb->counter[k] = counter;
}

uint64_t ft_model_batch_dropout_counter(const ft_model_batch_t *mb, int k)
{
    assert(k >= 0 && k < mb->K);
    return mb->counter[k];
}

/* --- one step -------------------------------------------------------------------- */

/* The buffer layer i reads from (as ft_model.c's layer_input). */
static const float *layer_input(const ft_model_t *w, int i, const float *x)
{
    for (int j = i - 1; j >= 0; j--)
        if (w->layers[j].out)
            return w->layers[j].out;
    return x;
}

/* Rows client k runs in this step: all Bm in the batched way (padding included),
 * else its own. */
static int rows(const ft_model_batch_t *mb, const int *Bk, int k)
{
    return mb->padded ? mb->Bm : Bk[k];
}

/* The forward of a pool or ReLU layer L over R rows: from in (R × L's input) into L's
 * output and argmax at element off (R × L's output) — all K·Bm rows at off 0 in the
 * batched way, one client's slot one by one. Convolution, linear, dropout and
 * flatten are the caller's. */
static void pointwise_forward(const ft_ops_t *ops, const ft_layer_t *L, int fused_pool, int R,
                              size_t off, const float *in)
{
    const ft_layer_spec_t *s = &L->spec;
    switch (s->kind) {
    case FT_LAYER_MAXPOOL:
        if (fused_pool)
            ops->relu_maxpool2d_forward(R, L->in_c, L->in_h, L->in_w, s->kernel, s->stride, in,
                                        L->out + off, L->argmax + off);
        else
            ops->maxpool2d_forward(R, L->in_c, L->in_h, L->in_w, s->kernel, s->stride, in,
                                   L->out + off, L->argmax + off);
        break;
    case FT_LAYER_AVGPOOL_GLOBAL:
        ops->avgpool_global_forward(R, L->in_c, L->in_h, L->in_w, in, L->out + off);
        break;
    case FT_LAYER_RELU:
        if (!L->fused)
            ops->relu_forward((size_t)R * L->out_size, in, L->out + off);
        break;
    case FT_LAYER_CONV2D:
    case FT_LAYER_LINEAR:
    case FT_LAYER_DROPOUT:
    case FT_LAYER_FLATTEN: break;
    }
}

/* The backward of a pool, ReLU or dropout layer L over R rows: dx (R × L's input;
 * NULL: nothing to write) from dy (R × L's output), with L's output, argmax and mask
 * at element off (as pointwise_forward). Convolution, linear and flatten are the
 * caller's. */
static void pointwise_backward(const ft_ops_t *ops, const ft_layer_t *L, int fused_pool, int R,
                               size_t off, const float *dy, float *dx)
{
    const ft_layer_spec_t *s = &L->spec;
    if (!dx)
        return;
    switch (s->kind) {
    case FT_LAYER_MAXPOOL:
        if (fused_pool)
            ops->relu_maxpool2d_backward(R, L->in_c, L->in_h, L->in_w, s->kernel, s->stride,
                                         L->out + off, dy, L->argmax + off, dx);
        else
            ops->maxpool2d_backward(R, L->in_c, L->in_h, L->in_w, s->kernel, s->stride, dy,
                                    L->argmax + off, dx);
        break;
    case FT_LAYER_AVGPOOL_GLOBAL:
        ops->avgpool_global_backward(R, L->in_c, L->in_h, L->in_w, dy, dx);
        break;
    case FT_LAYER_RELU: ops->relu_backward((size_t)R * L->out_size, L->out + off, dy, dx); break;
    case FT_LAYER_DROPOUT:
        ops->dropout_backward((size_t)R * L->out_size, dy, L->mask + off, dx);
        break;
    case FT_LAYER_CONV2D:
    case FT_LAYER_LINEAR:
    case FT_LAYER_FLATTEN: break;
    }
}

static void forward(ft_model_batch_t *mb, const float *x, const int *Bk)
{
    const ft_ops_t *ops = mb->ops;
    ft_model_t *wm = mb->wide;
    const int K = mb->K, Bm = mb->Bm;
    const size_t N = mb->N;
    const float *cur = x;
    for (int i = 0; i < wm->num_layers; i++) {
        ft_layer_t *L = &wm->layers[i];
        const ft_layer_spec_t *s = &L->spec;
        const size_t in_slot = (size_t)Bm * L->in_size, out_slot = (size_t)Bm * L->out_size;
        const size_t woff = L->weight_view >= 0 ? wm->layout.views[L->weight_view].offset : 0;
        const size_t boff = L->bias_view >= 0 ? wm->layout.views[L->bias_view].offset : 0;
        const int fused_pool = i > 0 && wm->layers[i - 1].fused;
        if (mb->padded) { /* one call for all K clients */
            const int R = K * Bm;
            switch (s->kind) {
            case FT_LAYER_CONV2D: {
                ft_conv2d_shape_t cs = ft_model_conv_shape(L, Bm);
                ops->conv2d_forward_batched(K, N, &cs, cur, mb->params + woff, mb->params + boff,
                                            L->out, mb->ws);
                break;
            }
            case FT_LAYER_LINEAR:
                ops->linear_forward_batched(K, N, Bm, (int)L->in_size, s->out, cur,
                                            mb->params + woff, mb->params + boff, L->out);
                break;
            case FT_LAYER_MAXPOOL:
            case FT_LAYER_AVGPOOL_GLOBAL:
            case FT_LAYER_RELU: pointwise_forward(ops, L, fused_pool, R, 0, cur); break;
            case FT_LAYER_DROPOUT: break; /* per client, below */
            case FT_LAYER_FLATTEN: break;
            }
        }
        for (int k = 0; k < K; k++) {
            const int B = Bk[k];
            if (B == 0)
                continue; /* masked out: its slot is not used this step */
            const float *xin = cur + (size_t)k * in_slot;
            float *yo = L->out ? L->out + (size_t)k * out_slot : NULL;
            const float *pk = mb->params + (size_t)k * N;
            if (s->kind == FT_LAYER_DROPOUT) {
                /* each client's own stream, as when it trains alone (ft_model.c) */
                size_t n = (size_t)rows(mb, Bk, k) * L->out_size;
                if (s->p > 0.0f)
                    ops->dropout_forward(n, s->p, mb->seed[k], mb->counter[k]++, xin, yo,
                                         L->mask + (size_t)k * out_slot);
                else
                    ops->copy(yo, xin, n * sizeof(float));
                continue;
            }
            if (mb->padded)
                continue;
            switch (s->kind) {
            case FT_LAYER_CONV2D: {
                ft_conv2d_shape_t cs = ft_model_conv_shape(L, B);
                ops->conv2d_forward(&cs, xin, pk + woff, pk + boff, yo, wm->ws);
                break;
            }
            case FT_LAYER_LINEAR:
                ops->linear_forward(B, (int)L->in_size, s->out, xin, pk + woff, pk + boff, yo);
                break;
            case FT_LAYER_MAXPOOL:
            case FT_LAYER_AVGPOOL_GLOBAL:
            case FT_LAYER_RELU:
                pointwise_forward(ops, L, fused_pool, B, (size_t)k * out_slot, xin);
                break;
            case FT_LAYER_DROPOUT:
            case FT_LAYER_FLATTEN: break;
            }
        }
        if (L->out && !L->fused)
            cur = L->out;
    }
}

void ft_model_batch_forward_backward(ft_model_batch_t *mb, const float *x, const int32_t *labels,
                                     const int *Bk, float *loss)
{
    const ft_ops_t *ops = mb->ops;
    ft_model_t *wm = mb->wide;
    const int K = mb->K, Bm = mb->Bm, C = wm->num_classes;
    const size_t N = mb->N;
    for (int k = 0; k < K; k++)
        assert(Bk[k] >= 0 && Bk[k] <= Bm);
    forward(mb, x, Bk);
    const float *logits = layer_input(wm, wm->num_layers, x);
    int which = 0;
    float *dy = wm->dbuf[which];
    const size_t cslot = (size_t)Bm * C;
    if (mb->padded)
        ops->softmax_xent_forward_batched(K, Bm, Bk, C, logits, labels, wm->probs, loss);
    for (int k = 0; k < K; k++) {
        const int B = Bk[k];
        float *dyk = dy + (size_t)k * cslot;
        const float *pk = wm->probs + (size_t)k * cslot;
        if (B > 0 && !mb->padded)
            loss[k] = ops->softmax_xent_forward(B, C, logits + (size_t)k * cslot,
                                                labels + (size_t)k * Bm, wm->probs + k * cslot);
        if (B > 0)
            ops->softmax_xent_backward(B, C, pk, labels + (size_t)k * Bm, dyk);
        /* padded rows (a masked client: all of them) add nothing to any gradient */
        if (mb->padded && B < Bm)
            ops->zero(dyk + (size_t)B * C, (size_t)(Bm - B) * C * sizeof(float));
    }
    for (int i = wm->num_layers - 1; i >= 0; i--) {
        ft_layer_t *L = &wm->layers[i];
        const ft_layer_spec_t *s = &L->spec;
        const float *in = layer_input(wm, i, x);
        int first = 1; /* nothing before this layer needs a gradient */
        for (int j = 0; j < i && first; j++)
            if (wm->layers[j].weight_view >= 0)
                first = 0;
        float *dx = first ? NULL : wm->dbuf[which ^ 1];
        const size_t in_slot = (size_t)Bm * L->in_size, out_slot = (size_t)Bm * L->out_size;
        const size_t woff = L->weight_view >= 0 ? wm->layout.views[L->weight_view].offset : 0;
        const size_t boff = L->bias_view >= 0 ? wm->layout.views[L->bias_view].offset : 0;
        const int fused_pool = i > 0 && wm->layers[i - 1].fused;
        const int R = K * Bm;
        /* which layers pass the gradient through unchanged (same as ft_model.c) */
        if ((s->kind == FT_LAYER_RELU && L->fused) || s->kind == FT_LAYER_FLATTEN ||
            (s->kind == FT_LAYER_DROPOUT && !(s->p > 0.0f)))
            dx = NULL;
        if (mb->padded) {
            switch (s->kind) {
            case FT_LAYER_CONV2D: {
                ft_conv2d_shape_t cs = ft_model_conv_shape(L, Bm);
                ops->conv2d_backward_batched(K, N, &cs, in, mb->params + woff, dy, dx,
                                             mb->grads + woff, mb->grads + boff, mb->ws);
                break;
            }
            case FT_LAYER_LINEAR:
                ops->linear_backward_batched(K, N, Bm, (int)L->in_size, s->out, in,
                                             mb->params + woff, dy, dx, mb->grads + woff,
                                             mb->grads + boff);
                break;
            case FT_LAYER_MAXPOOL:
            case FT_LAYER_AVGPOOL_GLOBAL:
            case FT_LAYER_RELU:
            case FT_LAYER_DROPOUT: pointwise_backward(ops, L, fused_pool, R, 0, dy, dx); break;
            case FT_LAYER_FLATTEN: break;
            }
        } else {
            for (int k = 0; k < K; k++) {
                const int B = Bk[k];
                if (B == 0)
                    continue;
                const float *ink = in + (size_t)k * in_slot;
                const float *dyk = dy + (size_t)k * out_slot;
                float *dxk = dx ? dx + (size_t)k * in_slot : NULL;
                const float *pk = mb->params + (size_t)k * N;
                float *gk = mb->grads + (size_t)k * N;
                const size_t ok = (size_t)k * out_slot;
                switch (s->kind) {
                case FT_LAYER_CONV2D: {
                    ft_conv2d_shape_t cs = ft_model_conv_shape(L, B);
                    ops->conv2d_backward(&cs, ink, pk + woff, dyk, dxk, gk + woff, gk + boff,
                                         wm->ws);
                    break;
                }
                case FT_LAYER_LINEAR:
                    ops->linear_backward(B, (int)L->in_size, s->out, ink, pk + woff, dyk, dxk,
                                         gk + woff, gk + boff);
                    break;
                case FT_LAYER_MAXPOOL:
                case FT_LAYER_AVGPOOL_GLOBAL:
                case FT_LAYER_RELU:
                case FT_LAYER_DROPOUT:
                    pointwise_backward(ops, L, fused_pool, B, ok, dyk, dxk);
                    break;
                case FT_LAYER_FLATTEN: break;
                }
            }
        }
        if (first)
            break;
        if (dx) {
            which ^= 1;
            dy = dx;
        }
    }
}
