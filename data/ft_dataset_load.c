/* ft_dataset_load: the named datasets — their files, readers and default normalisation.
 *
 * Normalisation defaults follow the paper's code (ksreenivasan/OOD_Federated_Learning,
 * utils.py get_dataloader): MNIST/EMNIST Normalize((0.1307,), (0.3081,)) — used for
 * Fashion-MNIST too — and for CIFAR-10 mean = [125.3, 123.0, 113.9]/255,
 * std = [63.0, 62.1, 66.7]/255. */
#include "ft_dataset_load.h"
#include "ft_reddit.h"
#include "ft_sentiment.h"
#include "ft_text_dataset.h"

#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_readers.h"

#include <stdio.h>
#include <string.h>

#define FT_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

void ft_dataset_default_norm(const char *dataset, int c, float *mean, float *std)
{
    /* Paper code, utils.py get_dataloader: CIFAR-10 uses x/255 of these. */
    static const float cifar_mean[3] = {125.3f / 255.0f, 123.0f / 255.0f, 113.9f / 255.0f};
    static const float cifar_std[3] = {63.0f / 255.0f, 62.1f / 255.0f, 66.7f / 255.0f};
    for (int i = 0; i < c; i++) {
        if (!strcmp(dataset, "cifar10") && c == 3) {
            mean[i] = cifar_mean[i];
            std[i] = cifar_std[i];
        } else if (!strcmp(dataset, "synthetic")) {
            /* Synthetic pixels are prototypes around 128 plus noise (ft_synthetic.c). */
            mean[i] = 0.5f;
            std[i] = 0.25f;
        } else {
            mean[i] = 0.1307f;
            std[i] = 0.3081f;
        }
    }
}

/* Looks for name, name.gz, gzip/name, gzip/name.gz under dir; the found path goes to out. */
static int find_file(const char *dir, const char *name, char *out, size_t out_size)
{
    static const char *const fmt[] = {"%s/%s", "%s/%s.gz", "%s/gzip/%s", "%s/gzip/%s.gz"};
    for (size_t i = 0; i < sizeof fmt / sizeof *fmt; i++) {
        snprintf(out, out_size, fmt[i], dir, name);
        if (ft_path_exists(out))
            return 1;
    }
    return 0;
}

/* MNIST-family IDX split; prefixes are tried in order ("" for the MNIST names). */
static int load_idx_family(const char *dir, int train, const char *const *prefixes,
                           ft_dataset_t **out)
{
    char img[4096], lab[4096], name[256];
    const char *split = train ? "train" : "t10k";
    for (int p = 0; prefixes[p]; p++) {
        /* EMNIST names its test split "test", MNIST "t10k". */
        const char *sp = prefixes[p][0] && !train ? "test" : split;
        snprintf(name, sizeof name, "%s%s-images-idx3-ubyte", prefixes[p], sp);
        if (!find_file(dir, name, img, sizeof img))
            continue;
        snprintf(name, sizeof name, "%s%s-labels-idx1-ubyte", prefixes[p], sp);
        if (!find_file(dir, name, lab, sizeof lab))
            return ft_error_set(FT_EIO, "%s: found %s but no %s[.gz] beside it (data.path = %s)",
                                dir, img, name, dir);
        return ft_idx_read(img, lab, 10, out);
    }
    snprintf(name, sizeof name, "%s%s-images-idx3-ubyte[.gz]", prefixes[0],
             prefixes[0][0] && !train ? "test" : split);
    return ft_error_set(FT_EIO, "data.path = %s: no %s found there (nor in %s/gzip)", dir, name,
                        dir);
}

static int load_cifar(const char *dir, int train, ft_dataset_t **out)
{
    char paths[5][4096];
    const char *ptrs[5];
    int n = train ? 5 : 1;
    for (int i = 0; i < n; i++) {
        char name[64];
        if (train)
            snprintf(name, sizeof name, "data_batch_%d.bin", i + 1);
        else
            snprintf(name, sizeof name, "test_batch.bin");
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, name);
        if (!ft_path_exists(paths[i]))
            snprintf(paths[i], sizeof paths[i], "%s/cifar-10-batches-bin/%s", dir, name);
        if (!ft_path_exists(paths[i]))
            return ft_error_set(FT_EIO, "data.path = %s: no %s found there (nor in %s/%s)", dir,
                                name, dir, "cifar-10-batches-bin");
        ptrs[i] = paths[i];
    }
    return ft_cifar10_read(ptrs, n, out);
}

static int load_synthetic(const ft_data_cfg_t *d, uint64_t seed, int train, ft_dataset_t **out)
{
    const int *s = d->synthetic_shape;
    return ft_synthetic_make(train ? d->synthetic_train : d->synthetic_test, s[0], s[1], s[2], 10,
                             seed, train ? 0 : 1, out);
}

/* data.mean / data.std (values already range-checked): one value for every channel,
 * or one per channel. */
static int apply_norm_override(const ft_data_cfg_t *d, const char *key, const double *v, int k,
                               int c, float *dst)
{
    if (k == 0)
        return FT_OK;
    if (k != 1 && k != c)
        return ft_config_error(d->src, key, "expected 1 or %d values (one per channel), got %d", c,
                               k);
    for (int i = 0; i < c; i++)
        dst[i] = (float)v[k == 1 ? 0 : i];
    return FT_OK;
}

/* data.augment*: reflect padding must stay below the image size (np.pad and torch's
 * F.pad refuse more); checked here, where the size is first known. */
static int check_augment(const ft_data_cfg_t *d, const ft_dataset_t *ds)
{
    const ft_augment_mode_t modes[3] = {d->augment, d->augment_attack, d->augment_train};
    for (int i = 0; i < 3; i++)
        if (modes[i] == FT_AUGMENT_CROP_FLIP_REFLECT &&
            (d->augment_pad >= ds->h || d->augment_pad >= ds->w))
            return ft_config_error(d->src, "data.augment_pad",
                                   "reflect padding needs a pad below the image size (%dx%d)",
                                   ds->h, ds->w);
    return FT_OK;
}

int ft_dataset_load(const ft_data_cfg_t *d, uint64_t seed, int train, ft_dataset_t **out)
{
    *out = NULL;
    const char *dataset = d->dataset;
    const char *dir = d->path;
    uint32_t limit = train ? d->train_limit : d->test_limit;
    int is_synth = !strcmp(dataset, "synthetic");
    int is_sent = !strcmp(dataset, "sentiment140");
    int is_reddit = !strcmp(dataset, "reddit");
    int is_text = !strcmp(dataset, "fortunes") || is_sent || is_reddit;
    if (!dir[0] && !strcmp(dataset, "fashion-mnist"))
        dir = FT_FASHION_MNIST_DIR;
    if (!dir[0] && is_reddit)
        return ft_config_error(d->src, "data.path",
                               "dataset reddit needs data.path: the JSON-lines file of comments "
                               "(one {\"author\": ..., \"body\": ...} object a line)");
    if (!dir[0] && is_text && !is_sent)
        dir = FT_FORTUNES_DIR;
    if (!dir[0] && !is_synth)
        return ft_config_error(d->src, "data.path",
                               "dataset %s needs data.path: the directory holding its files",
                               dataset);
    if (!is_synth && !ft_path_exists(dir))
        return ft_error_set(FT_EIO, "data.path = %s: directory not found%s", dir,
                            !strcmp(dataset, "fashion-mnist")
                                ? " (apt-get install dataset-fashion-mnist, or set data.path)"
                            : is_text && !is_sent && !is_reddit
                                ? " (apt-get install fortunes, or set data.path)"
                                : "");

    ft_dataset_t *ds = NULL;
    int rc;
    if (!strcmp(dataset, "fashion-mnist") || !strcmp(dataset, "mnist")) {
        static const char *const prefixes[] = {"", NULL};
        rc = load_idx_family(dir, train, prefixes, &ds);
    } else if (!strcmp(dataset, "emnist")) {
        static const char *const prefixes[] = {"emnist-digits-", "emnist-mnist-", NULL};
        rc = load_idx_family(dir, train, prefixes, &ds);
        /* EMNIST's IDX files hold each image transposed relative to MNIST; the paper
         * code reads them as stored (its issue #1: ARDIS sevens are upright against
         * transposed EMNIST digits), and data.emnist_transpose = false does the same. */
        if (rc == FT_OK && d->emnist_transpose) {
            if (ds->h != ds->w) {
                ft_dataset_destroy(&ds);
                rc = ft_error_set(FT_EFORMAT, "data.path = %s: EMNIST images must be square", dir);
            } else {
                ft_dataset_transpose_hw(ds);
            }
        }
    } else if (!strcmp(dataset, "cifar10")) {
        rc = load_cifar(dir, train, &ds);
    } else if (is_text) {
        if (d->augment != FT_AUGMENT_NONE || d->augment_attack != FT_AUGMENT_NONE ||
            d->augment_train != FT_AUGMENT_NONE)
            return ft_config_error(d->src, "data.augment", "image augmentation on a text dataset");
        if (d->num_mean || d->num_std)
            return ft_config_error(d->src, d->num_mean ? "data.mean" : "data.std",
                                   "a text dataset holds token ids: no normalisation");
        rc = is_sent ? ft_sentiment_load(dir, d->vocab_size, d->seq_len, d->fraction_of_train, seed,
                                         train, &ds)
             : is_reddit ? ft_reddit_load(dir, d->vocab_size, d->seq_len, d->text_test_fraction,
                                          seed, train, &ds)
                         : ft_text_load_fortunes(dir, d->vocab_size, d->seq_len,
                                                 d->text_test_fraction, seed, train, &ds);
    } else if (is_synth) {
        rc = load_synthetic(d, seed, train, &ds);
    } else {
        return ft_config_error(d->src, "data.dataset", "unknown dataset");
    }
    if (rc < 0)
        return rc;

    if (limit > 0 && limit < ds->n)
        ds->n = (uint32_t)limit; /* the tail stays allocated; it is never read */
    if (!is_text)
        ft_dataset_default_norm(dataset, ds->c, ds->mean, ds->std);
    rc = apply_norm_override(d, "data.mean", d->mean, d->num_mean, ds->c, ds->mean);
    if (rc == FT_OK)
        rc = apply_norm_override(d, "data.std", d->std, d->num_std, ds->c, ds->std);
    if (rc == FT_OK)
        rc = check_augment(d, ds);
    if (rc < 0) {
        ft_dataset_destroy(&ds);
        return rc;
    }
    snprintf(ds->name, sizeof ds->name, "%s/%s", dataset, train ? "train" : "test");
    *out = ds;
    return FT_OK;
}
