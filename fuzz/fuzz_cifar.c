/* fuzz_cifar: libFuzzer target for CIFAR-10 binary batches (data/ft_readers.c,
 * ft_cifar10_read), plain or gzip-compressed.
 *
 * The input is one batch file, written once and read twice: alone, and as two batch
 * files (the same file given twice, as data_batch_1..5 are read together). Each must
 * refuse with FT_EFORMAT / FT_ENOMEM and a NULL result, or accept a 3×32×32 set of
 * 10 classes whose records are the file's (label byte, then 3072 pixel bytes), in
 * file order, every label below 10; the two-file set is the one-file set twice.
 * Seeds: fuzz/corpus/fuzz_cifar (fuzz_file_seeds). */
#include "fuzz_files.h"

#include "ft_alloc.h"
#include "ft_data_internal.h" /* ft_data_slurp: the bytes the reader saw */
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_readers.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_cifar"
#define RECORD 3073 /* label + 3×32×32 pixels */

static void broken(const char *what)
{
    fuzz_broken(TARGET, what, ft_error_message());
}

/* Reads the batch given `copies` times; returns the set or NULL if it was refused. */
static ft_dataset_t *read_checked(const char *path, int copies)
{
    const char *paths[2] = {path, path};
    ft_dataset_t *ds = (ft_dataset_t *)1;
    int rc = ft_cifar10_read(paths, copies, &ds);
    if (rc == FT_OK)
        return ds;
    if (rc != FT_EFORMAT && rc != FT_ENOMEM)
        broken("unexpected error code");
    if (ds)
        broken("refused file left a dataset");
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[FUZZ_PATH_MAX];
    fuzz_write(path, "data_batch_1.bin", data, size, 0600);
    ft_dataset_t *one = read_checked(path, 1);
    ft_dataset_t *two = read_checked(path, 2);
    if (!one != !two)
        broken("one copy and two copies of a file are judged differently");
    if (one) {
        uint8_t *raw = NULL;
        size_t len = 0;
        if (ft_data_slurp(path, &raw, &len) != FT_OK)
            broken("ft_cifar10_read accepted a file ft_data_slurp refuses");
        if (one->c != 3 || one->h != 32 || one->w != 32 || one->num_classes != 10 || !one->pixels ||
            (size_t)one->n * RECORD != len || two->n != 2 * one->n)
            broken("accepted set does not match the file's size");
        for (uint32_t i = 0; i < 2 * one->n; i++) {
            const uint8_t *rec = raw + (size_t)(i % one->n) * RECORD;
            if (two->labels[i] != rec[0] || two->labels[i] >= 10 ||
                memcmp(two->pixels + (size_t)i * 3072, rec + 1, 3072) != 0 ||
                (i < one->n && (one->labels[i] != rec[0] ||
                                memcmp(one->pixels + (size_t)i * 3072, rec + 1, 3072) != 0)))
                broken("a record differs from the file's");
        }
        ft_free(raw);
    }
    ft_dataset_destroy(&one);
    ft_dataset_destroy(&two);
    return 0;
}
