/* ft_probe: the model probe over model/ (see ft_probe.h). */
#include "ft_probe.h"

#include "ft_alloc.h"
#include "ft_defense_probe_mlp.h"
#include "ft_error.h"
#include "ft_model.h"
#include "ft_model_zoo.h"
#include "ft_ops.h"

#include <string.h>

enum { PROBE_BATCH = 64 };

struct ft_probe {
    ft_defense_probe_t probe; /* what the defense sees (probe.ctx = this) */
    ft_model_t *full;         /* the model: logits */
    ft_model_t *cut;          /* its layers up to the penultimate one: features */
    int relu;                 /* a ReLU follows the cut */
    size_t N;                 /* the full model's parameters */
    size_t cut_n;             /* the cut model's (a prefix of N) */
    uint64_t seed;            /* run.seed: the noise inputs */
    float *params;            /* N: global + delta */
    float *server;            /* server_cap × in_dim server samples */
    size_t server_cap;        /* room in server */
};

static void set_params(ft_probe_t *p, const float *global, const float *delta)
{
    for (size_t j = 0; j < p->N; j++)
        p->params[j] = (global ? global[j] : 0.0f) + (delta ? delta[j] : 0.0f);
}

static int probe_run(void *ctx, const float *global, const float *delta, const float *x, size_t B,
                     float *logits, float *features)
{
    ft_probe_t *p = ctx;
    if (B > PROBE_BATCH)
        return ft_error_set(FT_EINVAL, "probe: batch %zu over %d", B, PROBE_BATCH);
    set_params(p, global, delta);
    if (logits) {
        ft_model_set_params(p->full, p->params);
        const float *z = ft_model_forward(p->full, x, (int)B);
        memcpy(logits, z, B * p->probe.num_classes * sizeof(float));
    }
    if (features) {
        ft_model_set_params(p->cut, p->params); /* the prefix */
        const float *f = ft_model_forward(p->cut, x, (int)B);
        size_t n = B * p->probe.feat_dim;
        for (size_t k = 0; k < n; k++)
            features[k] = p->relu && f[k] < 0 ? 0.0f : f[k];
    }
    return FT_OK;
}

static void probe_noise(void *ctx, uint32_t set, size_t first, size_t B, float *x)
{
    const ft_probe_t *p = ctx;
    ft_probe_noise(p->seed, set, first, B, p->probe.in_dim, x);
}

int ft_probe_new(const ft_experiment_t *exp, int c, int h, int w, int num_classes, size_t N,
                 size_t server_cap, ft_probe_t **out)
{
    *out = NULL;
    const char *name = exp->model.name, *hidden = exp->model.hidden;
    ft_layer_spec_t layers[FT_MODEL_ZOO_MAX_LAYERS];
    int n = ft_model_zoo_layers(name, hidden, layers);
    if (n < 0)
        return n;
    /* the classifier is the last linear layer, the features the output of the one
     * before it (ft_model_features.c makes the same cut) */
    int cls = -1, hid = -1, relu = 0;
    for (int i = 0; i < n; i++)
        if (layers[i].kind == FT_LAYER_LINEAR)
            cls = i;
    for (int i = 0; i < cls; i++)
        if (layers[i].kind == FT_LAYER_LINEAR)
            hid = i;
    for (int i = hid + 1; hid >= 0 && i < cls; i++) {
        if (layers[i].kind == FT_LAYER_RELU)
            relu = 1;
        else if (layers[i].kind != FT_LAYER_DROPOUT)
            hid = -1;
    }
    if (cls < 0 || hid < 0)
        return ft_error_set(FT_EUNSUPPORTED,
                            "model %s has no hidden linear layer before its classifier: no "
                            "penultimate features for defense.name = %s",
                            name, exp->defense.name);
    ft_probe_t *p = ft_calloc(1, sizeof *p);
    if (!p)
        return ft_error_set(FT_ENOMEM, "out of memory");
    int rc = ft_model_new_inference(name, hidden, c, h, w, num_classes, PROBE_BATCH, &ft_ops_cpu,
                                    &p->full);
    if (rc == FT_OK)
        rc = ft_model_new_from_spec_inference(layers, hid + 1, c, h, w, layers[hid].out,
                                              PROBE_BATCH, &ft_ops_cpu, &p->cut);
    if (rc != FT_OK)
        goto fail;
    const ft_layout_t *lay = ft_model_layout(p->full);
    p->N = lay->num_params;
    p->cut_n = ft_model_num_params(p->cut);
    if (p->N != N || lay->num_views < 2 || p->cut_n > N) {
        rc = ft_error_set(FT_ESTATE, "probe: model %s has %zu parameters, the run %zu", name, p->N,
                          N);
        goto fail;
    }
    const ft_param_view_t *wv = &lay->views[lay->num_views - 2],
                          *bv = &lay->views[lay->num_views - 1];
    p->relu = relu;
    p->seed = exp->run.seed;
    p->server_cap = server_cap;
    p->params = ft_malloc(N * sizeof(float));
    p->server = ft_malloc((server_cap ? server_cap : 1) * (size_t)c * h * w * sizeof(float));
    if (!p->params || !p->server) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for the model probe");
        goto fail;
    }
    p->probe = (ft_defense_probe_t){.ctx = p,
                                    .in_dim = (size_t)c * h * w,
                                    .num_classes = (size_t)num_classes,
                                    .feat_dim = (size_t)layers[hid].out,
                                    .max_batch = PROBE_BATCH,
                                    .head_w = wv->offset,
                                    .head_b = bv->offset,
                                    .server_x = server_cap ? p->server : NULL,
                                    .server_n = server_cap,
                                    .run = probe_run,
                                    .noise = probe_noise};
    *out = p;
    return FT_OK;
fail:
    ft_probe_destroy(&p);
    return rc;
}

void ft_probe_destroy(ft_probe_t **p_p)
{
    if (!p_p || !*p_p)
        return;
    ft_probe_t *p = *p_p;
    ft_model_destroy(&p->full);
    ft_model_destroy(&p->cut);
    ft_free(p->params);
    ft_free(p->server);
    ft_free(p);
    *p_p = NULL;
}

const ft_defense_probe_t *ft_probe_get(const ft_probe_t *p)
{
    return &p->probe;
}

int ft_probe_set_server(ft_probe_t *p, const ft_dataset_t *ds, const uint32_t *idx, size_t n)
{
    if (n > p->server_cap)
        return ft_error_set(FT_EINVAL, "probe: %zu server samples, room for %zu", n, p->server_cap);
    if (ft_dataset_sample_size(ds) != p->probe.in_dim)
        return ft_error_set(FT_EINVAL, "probe: %s samples have %zu values, the model takes %zu",
                            ds->name, ft_dataset_sample_size(ds), p->probe.in_dim);
    int32_t y[PROBE_BATCH];
    for (size_t first = 0; first < n; first += PROBE_BATCH) {
        size_t nb = n - first < PROBE_BATCH ? n - first : PROBE_BATCH;
        ft_dataset_gather(ds, idx + first, (int)nb, p->server + first * p->probe.in_dim, y);
    }
    p->probe.server_n = n;
    return FT_OK;
}
