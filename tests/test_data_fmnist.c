/* test_data_fmnist: ft_dataset_load on the Debian-packaged Fashion-MNIST, the embedded
 * default dataset. Golden values (sizes, first labels, two pixels of train image 0)
 * were read with Python's gzip module, independently of fedtail. Exits 77 (skipped)
 * where /usr/share/datasets/fashion-mnist is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "ft_config.h"
#include "ft_readers.h"
#include "ft_test_data.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_fileio.h"

static ft_config_t *cfg_with(const char *const *sets)
{
    ft_config_t *cfg = ft_config_new();
    assert_non_null(cfg);
    for (int i = 0; sets[i]; i++)
        assert_int_equal(ft_config_set(cfg, sets[i], "test"), FT_OK);
    return cfg;
}

static void test_load_fashion_mnist(void **state)
{
    (void)state;
    const char *sets[] = {NULL};
    ft_config_t *cfg = cfg_with(sets);
    ft_dataset_t *tr = NULL, *te = NULL;
    assert_int_equal(ft_test_load(cfg, 1, &tr), FT_OK);
    assert_int_equal(ft_test_load(cfg, 0, &te), FT_OK);
    assert_int_equal(tr->n, 60000);
    assert_int_equal(te->n, 10000);
    assert_true(tr->c == 1 && tr->h == 28 && tr->w == 28 && tr->num_classes == 10);
    assert_int_equal(tr->labels[0], 9);
    assert_int_equal(tr->labels[3], 3);
    assert_int_equal(te->labels[0], 9);
    assert_int_equal(te->labels[2], 1);
    assert_int_equal(tr->pixels[14 * 28 + 25], 255);
    assert_int_equal(tr->pixels[14 * 28 + 12], 237);
    assert_string_equal(tr->name, "fashion-mnist/train");
    float x[784];
    int32_t y;
    const uint32_t i0 = 0;
    ft_dataset_gather(tr, &i0, 1, x, &y);
    assert_int_equal(y, 9);
    assert_float_equal(x[14 * 28 + 25], 2.8214865f, 2e-6);
    ft_dataset_destroy(&tr);
    ft_dataset_destroy(&te);
    ft_config_destroy(&cfg);

    const char *sets2[] = {"data.train_limit=100", "data.mean=0.5", "data.std=0.25", NULL};
    cfg = cfg_with(sets2);
    assert_int_equal(ft_test_load(cfg, 1, &tr), FT_OK);
    assert_int_equal(tr->n, 100);
    assert_true(tr->mean[0] == 0.5f && tr->std[0] == 0.25f);
    ft_dataset_destroy(&tr);
    ft_config_destroy(&cfg);
}

int main(void)
{
    if (!ft_path_exists("/usr/share/datasets/fashion-mnist")) {
        fprintf(stderr, "Fashion-MNIST not installed (dataset-fashion-mnist): skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
