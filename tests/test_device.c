/* test_device: kernels/ft_device — run.device to a back end: cpu and reference always;
 * cuda without a GPU is an error that says why, never a silent CPU fallback; cuda:N
 * indexes the devices already visible (CUDA_VISIBLE_DEVICES), refuses an index past
 * them, and a process that chose one device cannot switch to another. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_device.h"
#include "ft_error.h"
#include "ft_test_experiment.h"

/* ft_ops_for_device for run.device = dev. */
static int for_device(const char *dev, const ft_ops_t **ops)
{
    char set[64];
    snprintf(set, sizeof set, "run.device=%s", dev);
    ft_config_t *cfg = ft_test_config(NULL, (const char *[]){set, NULL});
    ft_experiment_t exp;
    ft_test_experiment(cfg, &exp);
    int rc = ft_ops_for_device(&exp.run, ops);
    ft_config_destroy(&cfg);
    return rc;
}

static void test_host_back_ends(void **state)
{
    (void)state;
    const ft_ops_t *ops;
    assert_int_equal(for_device("cpu", &ops), FT_OK);
    assert_string_equal(ops->name, "cpu");
    assert_int_equal(for_device("reference", &ops), FT_OK);
    assert_string_equal(ops->name, "reference");
}

static void test_cuda_devices(void **state)
{
    (void)state;
    if (ft_ops_find("cuda") != NULL)
        skip(); /* a GPU here: tests/gpu/check.sh covers it */
    unsetenv("FT_CUDA_SELECTED");
    unsetenv("CUDA_VISIBLE_DEVICES");
    const ft_ops_t *ops = &ft_ops_cpu;
    assert_int_equal(for_device("cuda", &ops), FT_EUNSUPPORTED);
    assert_null(ops);
    assert_non_null(strstr(ft_error_message(), "no CUDA device is available"));
    /* two visible devices, 3 and 5: index 2 is past them */
    setenv("CUDA_VISIBLE_DEVICES", "3,5", 1);
    assert_int_equal(for_device("cuda:2", &ops), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "run.device"));
    assert_non_null(strstr(ft_error_message(), "has no device 2"));
    assert_string_equal(getenv("CUDA_VISIBLE_DEVICES"), "3,5"); /* unchanged */
    /* index 1 is device 5: the process is restricted to it (no GPU: unsupported) */
    assert_int_equal(for_device("cuda:1", &ops), FT_EUNSUPPORTED);
    assert_string_equal(getenv("CUDA_VISIBLE_DEVICES"), "5");
    assert_string_equal(getenv("FT_CUDA_SELECTED"), "5");
    /* a child inheriting both variables keeps the parent's choice */
    assert_int_equal(for_device("cuda:0", &ops), FT_EUNSUPPORTED);
    assert_string_equal(getenv("CUDA_VISIBLE_DEVICES"), "5");
    /* another device in the same process is refused */
    setenv("CUDA_VISIBLE_DEVICES", "7,8", 1);
    unsetenv("FT_CUDA_SELECTED");
    assert_int_equal(for_device("cuda:0", &ops), FT_ECONFIG);
    assert_non_null(strstr(ft_error_message(), "already uses CUDA device 5"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_back_ends),
        cmocka_unit_test(test_cuda_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
