/* ft_model_features: the zoo model cut before its classifier, loaded from a checkpoint of
 * the full model (see ft_model_features.h). */
#include "ft_model_features.h"

#include <string.h>

#include "ft_checkpoint.h"
#include "ft_error.h"
#include "ft_model_zoo.h"

int ft_model_features_new(const char *name, const char *hidden, int c, int h, int w,
                          int num_classes, const char *ckpt, int max_batch, const ft_ops_t *ops,
                          ft_model_t **out, int *dim, int *relu)
{
    *out = NULL;
    *dim = 0;
    ft_layer_spec_t layers[FT_MODEL_ZOO_MAX_LAYERS];
    int n = ft_model_zoo_layers(name, hidden, layers);
    if (n < 0)
        return n;
    /* The classifier is the last linear layer; the features are its input, the output
     * of the layers before it, whose last linear layer gives the width. */
    int cls = -1, hid = -1, width = 0;
    *relu = 0;
    for (int i = 0; i < n; i++)
        if (layers[i].kind == FT_LAYER_LINEAR)
            cls = i;
    for (int i = 0; i < cls; i++)
        if (layers[i].kind == FT_LAYER_LINEAR)
            hid = i, width = layers[i].out;
    /* The engine ends a model in a linear layer: the cut model ends in the hidden one,
     * and what lies between it and the classifier must be ReLU (applied by the caller)
     * or dropout (the identity at inference). */
    for (int i = hid + 1; hid >= 0 && i < cls; i++) {
        if (layers[i].kind == FT_LAYER_RELU)
            *relu = 1;
        else if (layers[i].kind != FT_LAYER_DROPOUT)
            hid = -1;
    }
    if (cls < 0 || hid < 0 || width <= 1)
        return ft_error_set(FT_EUNSUPPORTED,
                            "model %s has no hidden linear layer before its classifier: no "
                            "penultimate features for attack.edge_miner = density",
                            name);
    ft_model_t *full = NULL, *m = NULL;
    ft_checkpoint_t ck;
    memset(&ck, 0, sizeof ck);
    int rc = ft_model_new_inference(name, hidden, c, h, w, num_classes, 1, ops, &full);
    if (rc == FT_OK)
        rc = ft_checkpoint_load(ckpt, ft_model_layout(full)->hash, &ck);
    if (rc == FT_OK && ck.num_params != ft_model_num_params(full))
        rc = ft_error_set(FT_EFORMAT, "%s: field num_params = %zu, model %s has %zu parameters",
                          ckpt, ck.num_params, name, ft_model_num_params(full));
    if (rc == FT_OK)
        rc = ft_checkpoint_check_finite(ckpt, &ck);
    /* The cut model's "classifier" is its last hidden linear layer: num_classes = width
     * keeps that layer's own width. */
    if (rc == FT_OK)
        rc = ft_model_new_from_spec_inference(layers, hid + 1, c, h, w, width, max_batch, ops, &m);
    if (rc == FT_OK) {
        /* Its views must be the full model's first ones, at the same offsets. */
        const ft_layout_t *a = ft_model_layout(m), *b = ft_model_layout(full);
        if (a->num_views > b->num_views || a->num_params > b->num_params)
            rc = ft_error_set(FT_ESTATE, "feature extractor of %s is not a prefix", name);
        for (int i = 0; rc == FT_OK && i < a->num_views; i++)
            if (strcmp(a->views[i].name, b->views[i].name) ||
                a->views[i].offset != b->views[i].offset || a->views[i].count != b->views[i].count)
                rc = ft_error_set(FT_ESTATE, "feature extractor of %s: view %s differs", name,
                                  a->views[i].name);
    }
    if (rc == FT_OK)
        ft_model_set_params(m, ck.params); /* the first N' floats: the prefix */
    ft_checkpoint_free(&ck);
    ft_model_destroy(&full);
    if (rc != FT_OK) {
        ft_model_destroy(&m);
        return rc;
    }
    *out = m;
    *dim = width;
    return FT_OK;
}
