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

/* Initialisers for one ft_layer_spec_t each, so that architecture tables (the zoo's,
 * the tests') read as a list of layers: conv with out channels o, kernel k, stride s,
 * pad p; max-pool with window and stride k; global average pool; ReLU; linear with o
 * outputs (0: num_classes where it is the last); flatten; dropout with probability p. */
#define FT_L_CONV(o, k, s, p)                                                                      \
    {                                                                                              \
        FT_LAYER_CONV2D, (o), (k), (s), (p), 0.0f                                                  \
    }
#define FT_L_POOL(k)                                                                               \
    {                                                                                              \
        FT_LAYER_MAXPOOL, 0, (k), (k), 0, 0.0f                                                     \
    }
#define FT_L_GAP                                                                                   \
    {                                                                                              \
        FT_LAYER_AVGPOOL_GLOBAL, 0, 0, 0, 0, 0.0f                                                  \
    }
#define FT_L_RELU                                                                                  \
    {                                                                                              \
        FT_LAYER_RELU, 0, 0, 0, 0, 0.0f                                                            \
    }
#define FT_L_LIN(o)                                                                                \
    {                                                                                              \
        FT_LAYER_LINEAR, (o), 0, 0, 0, 0.0f                                                        \
    }
#define FT_L_FLAT                                                                                  \
    {                                                                                              \
        FT_LAYER_FLATTEN, 0, 0, 0, 0, 0.0f                                                         \
    }
#define FT_L_DROP(p)                                                                               \
    {                                                                                              \
        FT_LAYER_DROPOUT, 0, 0, 0, 0, (p)                                                          \
    }

#endif
