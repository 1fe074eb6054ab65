/* ft_model_zoo: the built-in architectures ("model.name") as layer lists.
 *
 * Which networks fedtail knows and what their layers are, kept apart from the engine
 * (ft_model_build.c), which turns any layer list into a model: it resolves the shapes, names
 * the parameter views PyTorch-style (convk.*, fck.* in order), lays them out in the
 * flat buffer and hashes the layout. So a list here fixes a model's parameter layout,
 * init order and layout hash: editing an existing list changes all three (and breaks
 * checkpoints and the PyTorch golden fixtures); adding one changes nothing else.
 *
 * To add a model: write its layers as a static const ft_layer_spec_t array below with
 * the CONV/POOL2/RELU/LIN/FLAT/DROP shorthands (the classifier is a last LIN(0): its
 * width is num_classes), add a strcmp branch for its name in ft_model_zoo_layers and
 * the name to that function's "unknown model" message, then list it in model.name's
 * choices in common/ft_config_schema.c (regenerate docs/configuration.md with
 * `fedtail keys --markdown`) and in ft_model_new's comment in ft_model.h. A model
 * checked against PyTorch also gets a module in tests/fixtures/torch/gen_fixtures.py. */
#include "ft_model_zoo.h"

#include "ft_error.h"

#include <stdlib.h>
#include <string.h>

/* --- layer shorthands ------------------------------------------------------- */

/* The zoo's convolutions are all stride 1 and its pools 2×2 / 2. */
#define CONV(o, k, p) FT_L_CONV((o), (k), 1, (p))
#define POOL2         FT_L_POOL(2)
#define RELU          FT_L_RELU
#define LIN(o)        FT_L_LIN(o)
#define FLAT          FT_L_FLAT
#define DROP(p)       FT_L_DROP(p)

/* --- the architectures ------------------------------------------------------ */

/* LeNet-5 as in the paper's code for (Fashion-)MNIST: 431,080 parameters. The last
 * linear layer's width is num_classes (out 0 below). */
static const ft_layer_spec_t lenet5_spec[] = {
    CONV(20, 5, 0), RELU, POOL2, CONV(50, 5, 0), RELU, POOL2, FLAT, LIN(500), RELU, LIN(0),
};

/* The paper code's MNIST "Net" (the PyTorch MNIST example): 1,199,882 parameters. */
static const ft_layer_spec_t paper_lenet_spec[] = {
    CONV(32, 3, 0), RELU,     CONV(64, 3, 0), RELU,       POOL2,  DROP(0.25f),
    FLAT,           LIN(128), RELU,           DROP(0.5f), LIN(0),
};

/* VGG-9 without batch norm (the paper's CIFAR-10 model): 9,225,610 parameters. */
static const ft_layer_spec_t vgg9_spec[] = {
    CONV(64, 3, 1),
    RELU,
    POOL2,
    CONV(128, 3, 1),
    RELU,
    POOL2,
    CONV(256, 3, 1),
    RELU,
    CONV(256, 3, 1),
    RELU,
    POOL2,
    CONV(512, 3, 1),
    RELU,
    CONV(512, 3, 1),
    RELU,
    POOL2,
    CONV(512, 3, 1),
    RELU,
    CONV(512, 3, 1),
    RELU,
    POOL2,
    FLAT,
    LIN(0),
};

/* --- lookup by name ---------------------------------------------------------- */

/* Parses "200,200" into sizes; returns the count or FT_ECONFIG. */
static int parse_hidden(const char *hidden, int *sizes, int max)
{
    int n = 0;
    const char *s = hidden ? hidden : "";
    while (*s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v <= 0 || v > (1 << 24))
            return ft_error_set(FT_ECONFIG, "model.hidden: bad size in '%s'", hidden);
        if (n == max)
            return ft_error_set(FT_ECONFIG, "model.hidden: more than %d layers", max);
        sizes[n++] = (int)v;
        s = end;
        while (*s == ' ')
            s++;
        if (*s == ',')
            s++;
        else if (*s)
            return ft_error_set(FT_ECONFIG, "model.hidden: bad list '%s'", hidden);
    }
    return n;
}

#define ZOO_FITS(spec) (sizeof(spec) / sizeof *(spec) <= FT_MODEL_ZOO_MAX_LAYERS)
_Static_assert(ZOO_FITS(lenet5_spec) && ZOO_FITS(paper_lenet_spec) && ZOO_FITS(vgg9_spec),
               "a zoo architecture has more than FT_MODEL_ZOO_MAX_LAYERS layers");

/* Copies a fixed architecture into layers; returns its length. */
#define ZOO_COPY(layers, spec)                                                                     \
    (memcpy((layers), (spec), sizeof(spec)), (int)(sizeof(spec) / sizeof *(spec)))

int ft_model_zoo_layers(const char *name, const char *hidden,
                        ft_layer_spec_t layers[FT_MODEL_ZOO_MAX_LAYERS])
{
    if (strcmp(name, "lenet5") == 0)
        return ZOO_COPY(layers, lenet5_spec);
    if (strcmp(name, "paper-lenet") == 0)
        return ZOO_COPY(layers, paper_lenet_spec);
    if (strcmp(name, "vgg9") == 0)
        return ZOO_COPY(layers, vgg9_spec);
    if (strcmp(name, "mlp") == 0) {
        int sizes[FT_MLP_MAX_HIDDEN];
        int nh = parse_hidden(hidden, sizes, FT_MLP_MAX_HIDDEN);
        if (nh < 0)
            return nh;
        int n = 0;
        layers[n++] = (ft_layer_spec_t)FLAT;
        for (int i = 0; i < nh; i++) {
            layers[n++] = (ft_layer_spec_t)LIN(sizes[i]);
            layers[n++] = (ft_layer_spec_t)RELU;
        }
        layers[n++] = (ft_layer_spec_t)LIN(0);
        return n;
    }
    return ft_error_set(FT_ECONFIG, "unknown model '%s' (known: lenet5, paper-lenet, vgg9, mlp)",
                        name);
}
