/* ft_layer: what one layer of a network is — the vocabulary the model zoo describes
 * architectures in (ft_model_zoo.c) and the engine builds models from (ft_model_build.c). */
#ifndef FT_LAYER_H
#define FT_LAYER_H

typedef enum {
    FT_LAYER_CONV2D,  /* out = channels, kernel, stride, pad */
    FT_LAYER_MAXPOOL, /* kernel, stride */
    FT_LAYER_AVGPOOL_GLOBAL,
    FT_LAYER_RELU,
    FT_LAYER_LINEAR, /* out = features */
    FT_LAYER_FLATTEN,
    FT_LAYER_DROPOUT, /* p */
} ft_layer_kind_t;

typedef struct {
    ft_layer_kind_t kind; /* what the layer does */
    int out;              /* conv: output channels; linear: output features */
    int kernel;           /* conv/maxpool window side */
    int stride;           /* conv/maxpool stride */
    int pad;              /* conv zero padding */
    float p;              /* dropout drop probability */
} ft_layer_spec_t;

#endif
