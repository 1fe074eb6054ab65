/* bench_augment: the CPU cost of the training-time crop + flip (data/ft_augment.h) per
 * sample, for the shapes fedtail trains — what data.augment adds to a local step.
 *
 * usage: bench_augment [REPS]   (default 2000 batches of 32)
 * Prints one JSON object per shape and mode: nanoseconds per sample (median of 5). */
#include "ft_augment.h"
#include "ft_timer.h"

#include <stdio.h>
#include <stdlib.h>

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 2000;
    if (reps < 1)
        reps = 1;
    enum { B = 32 };
    const struct {
        int c, h, w;
    } shapes[] = {{3, 32, 32}, {1, 28, 28}};
    const ft_augment_mode_t modes[] = {FT_AUGMENT_CROP_FLIP_REFLECT, FT_AUGMENT_CROP_FLIP_ZERO};
    const char *names[] = {"crop-flip-reflect", "crop-flip-zero"};
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const int c = shapes[si].c, h = shapes[si].h, w = shapes[si].w;
        const size_t s = (size_t)c * h * w;
        float *x = malloc(B * s * sizeof(float)), *scratch = malloc(s * sizeof(float));
        const float fill[4] = {-1, -1, -1, -1};
        if (!x || !scratch)
            return 1;
        for (size_t j = 0; j < B * s; j++)
            x[j] = (float)(j % 251) / 251.0f;
        for (int mi = 0; mi < 2; mi++) {
            ft_augment_t a = {.mode = modes[mi], .pad = 4};
            ft_rng_t rng;
            ft_rng_init(&rng, 1, 0, 0, FT_RNG_TEST);
            double t[5];
            for (int k = 0; k < 5; k++) {
                double t0 = ft_now();
                for (int r = 0; r < reps; r++)
                    ft_augment_batch(&a, &rng, fill, B, c, h, w, x, scratch);
                t[k] = (ft_now() - t0) / ((double)reps * B) * 1e9;
            }
            qsort(t, 5, sizeof *t, cmp_d);
            printf("{\"what\":\"augment\",\"mode\":\"%s\",\"shape\":\"%dx%dx%d\",\"pad\":4,"
                   "\"ns_per_sample\":%.0f,\"checksum\":%g}\n",
                   names[mi], c, h, w, t[2], (double)x[s / 2]);
        }
        free(x);
        free(scratch);
    }
    return 0;
}
