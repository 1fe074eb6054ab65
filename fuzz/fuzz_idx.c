/* fuzz_idx: libFuzzer target for IDX[.gz] files (data/ft_readers.c, ft_idx_read: the
 * MNIST family) and the gzip inflation every dataset reader goes through
 * (ft_data_slurp).
 *
 * The input is an image file and a label file joined by FUZZ_IDX_SPLIT (the label
 * file is empty when the separator is missing); either may be gzip-compressed. Both
 * are written to files and read with ft_idx_read (10 classes). It must refuse with
 * FT_EFORMAT / FT_ENOMEM and a NULL result, or accept a 1-channel set whose pixels and
 * labels are the files' data bytes after their headers, every label below 10.
 * ft_data_slurp of the image file must give back a plain file's bytes unchanged; a
 * gzip file it inflates must come back the same after being compressed again as two
 * concatenated gzip members (a multi-member stream, as `cat a.gz b.gz` makes).
 * Seeds: fuzz/corpus/fuzz_idx (fuzz_file_seeds). */
#include "fuzz_files.h"

#include "ft_alloc.h"
#include "ft_data_internal.h" /* ft_data_slurp, the inflater under test */
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_readers.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET         "fuzz_idx"
#define FUZZ_IDX_SPLIT "--labels--"

static void broken(const char *what)
{
    fuzz_broken(TARGET, what, ft_error_message());
}

/* Appends in[0..len) to out as one gzip member; returns the new length of out (cap
 * bytes of room). */
static size_t gzip_member(const uint8_t *in, size_t len, uint8_t *out, size_t at, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        broken("deflateInit2");
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out + at;
    zs.avail_out = (uInt)(cap - at);
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        broken("deflate");
    size_t end = cap - zs.avail_out;
    deflateEnd(&zs);
    return end;
}

/* ft_data_slurp of fuzz input img[0..len), and of its inflated bytes compressed again. */
static void check_slurp(const char *path, const uint8_t *img, size_t len)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int rc = ft_data_slurp(path, &raw, &raw_len);
    int gz = len >= 2 && img[0] == 0x1f && img[1] == 0x8b;
    if (rc != FT_OK) {
        if (!gz || (rc != FT_EFORMAT && rc != FT_ENOMEM))
            broken("slurp refused a file it need not inflate, or with an unexpected code");
        if (raw || raw_len)
            broken("slurp: refused file left a result");
        return;
    }
    if (!gz) {
        if (raw_len != len || (len && memcmp(raw, img, len) != 0))
            broken("slurp changed a plain file");
        ft_free(raw);
        return;
    }
    size_t half = raw_len / 2, cap = 2 * (size_t)compressBound((uLong)raw_len) + 64;
    uint8_t *gzbuf = ft_malloc(cap);
    if (gzbuf) {
        size_t end = gzip_member(raw, half, gzbuf, 0, cap);
        end = gzip_member(raw + half, raw_len - half, gzbuf, end, cap);
        char again_path[FUZZ_PATH_MAX];
        fuzz_write(again_path, "again.gz", gzbuf, end, 0600);
        uint8_t *again = NULL;
        size_t again_len = 0;
        if (ft_data_slurp(again_path, &again, &again_len) != FT_OK)
            broken("slurp refused a two-member gzip stream written by zlib");
        if (again_len != raw_len || (raw_len && memcmp(again, raw, raw_len) != 0))
            broken("inflate(deflate(x)) != x");
        ft_free(again);
        ft_free(gzbuf);
    }
    ft_free(raw);
}

/* The first FUZZ_IDX_SPLIT in data[0..size), or NULL (memmem is a GNU extension). */
static const uint8_t *find_split(const uint8_t *data, size_t size)
{
    size_t k = strlen(FUZZ_IDX_SPLIT);
    for (size_t i = 0; i + k <= size; i++)
        if (memcmp(data + i, FUZZ_IDX_SPLIT, k) == 0)
            return data + i;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *cut = find_split(data, size);
    size_t img_len = cut ? (size_t)(cut - data) : size;
    const uint8_t *lab = cut ? cut + strlen(FUZZ_IDX_SPLIT) : data + size;
    size_t lab_len = (size_t)(data + size - lab);
    char img_path[FUZZ_PATH_MAX], lab_path[FUZZ_PATH_MAX];
    fuzz_write(img_path, "images-idx3-ubyte", data, img_len, 0600);
    fuzz_write(lab_path, "labels-idx1-ubyte", lab, lab_len, 0600);

    ft_dataset_t *ds = (ft_dataset_t *)1;
    int rc = ft_idx_read(img_path, lab_path, 10, &ds);
    if (rc != FT_OK) {
        if (rc != FT_EFORMAT && rc != FT_ENOMEM)
            broken("unexpected error code");
        if (ds)
            broken("refused files left a dataset");
    } else {
        uint8_t *ib = NULL, *lb = NULL;
        size_t il = 0, ll = 0;
        if (ft_data_slurp(img_path, &ib, &il) != FT_OK ||
            ft_data_slurp(lab_path, &lb, &ll) != FT_OK)
            broken("ft_idx_read accepted files ft_data_slurp refuses");
        size_t px = (size_t)ds->n * (size_t)ds->h * (size_t)ds->w;
        if (ds->c != 1 || ds->n < 1 || ds->num_classes != 10 || !ds->pixels || il != 16 + px ||
            ll != 8 + ds->n)
            broken("accepted set does not match the files' sizes");
        if (memcmp(ds->pixels, ib + 16, px) != 0 || memcmp(ds->labels, lb + 8, ds->n) != 0)
            broken("pixels or labels are not the files' data bytes");
        for (uint32_t i = 0; i < ds->n; i++)
            if (ds->labels[i] >= 10)
                broken("accepted a label >= num_classes");
        ft_free(ib);
        ft_free(lb);
        ft_dataset_destroy(&ds);
    }
    check_slurp(img_path, data, img_len);
    return 0;
}
