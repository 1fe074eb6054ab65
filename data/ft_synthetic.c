/* ft_synthetic: a deterministic, learnable stand-in dataset for tests and demos.
 *
 * Class k has a prototype image P_k with pixels 128 + 64·z (z ~ N(0,1)); a sample of
 * class k is P_k + 48·z' per pixel, rounded and clamped to [0, 255]. Prototypes come
 * from the stream (seed, round 0, client 0, FT_RNG_SYNTH), so every split of one seed
 * shares them; sample i of split s draws its label and noise from its own stream
 * (seed, round 1+s, client i, FT_RNG_SYNTH), so a sample does not depend on n. */
#include <assert.h>
#include <math.h>
#include <stdio.h>

#include "ft_alloc.h"
#include "ft_readers.h"
#include "ft_error.h"
#include "ft_rng.h"

static uint8_t quantise(double v)
{
    v = floor(v + 0.5);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

int ft_synthetic_make(uint32_t n, int c, int h, int w, int num_classes, uint64_t seed, int split,
                      ft_dataset_t **out)
{
    assert(num_classes >= 1 && num_classes <= 256 && split >= 0);
    *out = NULL;
    ft_dataset_t *ds = NULL;
    int rc = ft_dataset_new(n, c, h, w, num_classes, &ds);
    if (rc < 0)
        return rc;
    size_t s = ft_dataset_sample_size(ds);
    float *proto = ft_malloc((size_t)num_classes * s * sizeof(float));
    if (!proto) {
        ft_dataset_destroy(&ds);
        return ft_error_set(FT_ENOMEM, "out of memory for synthetic prototypes");
    }
    ft_rng_t rng;
    ft_rng_init(&rng, seed, 0, 0, FT_RNG_SYNTH);
    for (size_t j = 0; j < (size_t)num_classes * s; j++)
        proto[j] = (float)(128.0 + 64.0 * ft_rng_normal(&rng));
    for (uint32_t i = 0; i < n; i++) {
        ft_rng_init(&rng, seed, 1u + (uint32_t)split, i, FT_RNG_SYNTH);
        uint32_t k = ft_rng_below(&rng, (uint32_t)num_classes);
        ds->labels[i] = (uint8_t)k;
        const float *p = proto + (size_t)k * s;
        uint8_t *dst = ds->pixels + (size_t)i * s;
        for (size_t j = 0; j < s; j++)
            dst[j] = quantise(p[j] + 48.0 * ft_rng_normal(&rng));
    }
    ft_free(proto);
    snprintf(ds->name, sizeof ds->name, "synthetic/%s", split ? "test" : "train");
    *out = ds;
    return FT_OK;
}
