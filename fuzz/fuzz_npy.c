/* fuzz_npy: libFuzzer target for .npy arrays (data/ft_npy.c): ft_npy_read_floats
 * (labels, `fedtail aggregate`'s update matrices) and ft_npy_read_images (edge-case
 * image sets), plain or gzip-compressed.
 *
 * The input is written to a file once and read by both: read_floats, and read_images
 * for 1 and 3 channels. Each must refuse with FT_EFORMAT / FT_ENOMEM and a NULL
 * result, or accept. An accepted array has 0 to 4 dimensions whose product is its
 * element count, and ft_npy_write_floats + ft_npy_read_floats gives it back bit for
 * bit; an accepted image set has the asked channel count, a plausible H×W, every
 * label equal to the one asked for, and holds exactly the elements read_floats
 * returns, in C×H×W order (CHW and HWC inputs alike). Seeds: fuzz/corpus/fuzz_npy
 * (fuzz_file_seeds). */
#include "fuzz_files.h"

#include "ft_alloc.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_readers.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_npy"

static void broken(const char *what)
{
    fuzz_broken(TARGET, what, ft_error_message());
}

static int refusal_ok(int rc)
{
    return rc == FT_EFORMAT || rc == FT_ENOMEM;
}

/* ft_npy_write_floats of an accepted array must read back identically. */
static void check_rewrite(const float *v, size_t n, const int shape[4], int ndim)
{
    char path[FUZZ_PATH_MAX];
    fuzz_path(path, "rewrite.npy");
    if (ft_npy_write_floats(path, v, shape, ndim) != FT_OK)
        broken("cannot write the array back");
    float *back = NULL;
    size_t nb = 0;
    int sb[4], db = 0;
    if (ft_npy_read_floats(path, &back, &nb, sb, &db) != FT_OK)
        broken("the rewritten array is refused");
    if (nb != n || db != ndim || memcmp(sb, shape, sizeof sb) != 0 ||
        (n && memcmp(back, v, n * sizeof(float)) != 0))
        broken("the rewritten array differs from the one read");
    ft_free(back);
}

/* An accepted image set against the array read_floats made of the same file (NULL
 * if it refused the file, which it must not have). */
static void check_images(const ft_dataset_t *ds, int c, int label, const float *v, size_t n,
                         const int shape[4], int ndim)
{
    if (!v)
        broken("read_images accepted a file read_floats refuses");
    if (ds->c != c || ds->n < 1 || ds->h < 1 || ds->w < 1 || ds->h > 4096 || ds->w > 4096 ||
        ds->num_classes != label + 1 || (ds->pixels == NULL) == (ds->values == NULL))
        broken("accepted image set has an impossible shape or storage");
    size_t hw = (size_t)ds->h * (size_t)ds->w, s = hw * (size_t)c;
    if ((size_t)ds->n * s != n)
        broken("image set does not hold the array's elements");
    for (uint32_t i = 0; i < ds->n; i++)
        if (ds->labels[i] != label)
            broken("a label differs from the one asked for");
    /* (n,C,H,W) is read as it is; (n,H,W,C) is transposed; (n,H,W) is one channel. */
    int hwc = ndim == 4 && !(shape[1] == c && shape[3] != c);
    for (size_t i = 0; i < ds->n; i++)
        for (int ch = 0; ch < c; ch++)
            for (size_t p = 0; p < hw; p++) {
                size_t src = hwc ? i * s + p * (size_t)c + (size_t)ch : i * s + (size_t)ch * hw + p;
                size_t dst = i * s + (size_t)ch * hw + p;
                float got = ds->pixels ? (float)ds->pixels[dst] : ds->values[dst];
                if (memcmp(&got, &v[src], sizeof got) != 0)
                    broken("an image element differs from the array's");
            }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[FUZZ_PATH_MAX];
    fuzz_write(path, "input.npy", data, size, 0600);

    float *v = (float *)1;
    size_t n = 1;
    int shape[4] = {-1, -1, -1, -1}, ndim = -1;
    int rc = ft_npy_read_floats(path, &v, &n, shape, &ndim);
    if (rc != FT_OK) {
        if (!refusal_ok(rc))
            broken("read_floats: unexpected error code");
        if (v || n || ndim)
            broken("read_floats: refused array left a result");
    } else {
        size_t count = 1;
        if (ndim < 0 || ndim > 4)
            broken("read_floats: accepted more than 4 dimensions");
        for (int i = 0; i < 4; i++) {
            if (i < ndim ? shape[i] < 0 : shape[i] != 0)
                broken("read_floats: bad shape entry");
            if (i < ndim)
                count *= (size_t)shape[i];
        }
        if (count != n || !v)
            broken("read_floats: element count is not the product of the shape");
        check_rewrite(v, n, shape, ndim);
    }

    const int channels[2] = {1, 3}, labels[2] = {7, 0};
    for (int k = 0; k < 2; k++) {
        ft_dataset_t *ds = (ft_dataset_t *)1;
        int irc = ft_npy_read_images(path, channels[k], labels[k], &ds);
        if (irc != FT_OK) {
            if (!refusal_ok(irc))
                broken("read_images: unexpected error code");
            if (ds)
                broken("read_images: refused file left a dataset");
            continue;
        }
        check_images(ds, channels[k], labels[k], rc == FT_OK ? v : NULL, n, shape, ndim);
        ft_dataset_destroy(&ds);
    }
    if (rc == FT_OK)
        ft_free(v);
    return 0;
}
