/* coordinator/ft_probe: the model probe the coordinator hands to deepsight and flare.
 *  - the logits are the classifier applied to the features: logits = W f + b with W, b
 *    read at the probe's head_w / head_b from global + delta (so the cut, the ReLU,
 *    the head offsets and the parameter sum all agree with the full model);
 *  - delta NULL and global NULL mean zeros (a zero model: logits = 0);
 *  - no allocation per run (ft_alloc_count);
 *  - the noise inputs are uniform [0, 1), the same whatever batch they are drawn in;
 *  - the server set is the normalised samples, and more than the capacity is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_probe.h"
#include "ft_rng.h"

#include <math.h>
#include <string.h>

enum { B = 5, C = 10, CH = 1, HW = 12 };

static void make_exp(ft_config_t **cfg, ft_experiment_t *exp, const char *model)
{
    *cfg = ft_config_new();
    assert_non_null(*cfg);
    assert_int_equal(ft_config_set_value(*cfg, "model.name", model, "test"), FT_OK);
    assert_int_equal(ft_config_set(*cfg, "model.hidden=16", "test"), FT_OK);
    assert_int_equal(ft_experiment_read(*cfg, exp), FT_OK);
}

static void test_head_consistent(void **state)
{
    (void)state;
    const char *models[] = {"mlp", "lenet5"};
    for (int m = 0; m < 2; m++) {
        ft_config_t *cfg;
        ft_experiment_t exp;
        make_exp(&cfg, &exp, models[m]);
        int hw = m ? 28 : HW;
        ft_probe_t *pr = NULL;
        /* the parameter count must match: a wrong N is refused */
        assert_int_not_equal(ft_probe_new(&exp, CH, hw, hw, C, 7, 0, &pr), FT_OK);
        assert_null(pr);
        /* mlp 144 -> 16 -> 10 by hand; lenet5 on 1x28x28 as bench_defenses_probe counts it */
        size_t N = m ? 431080 : (size_t)(CH * HW * HW * 16 + 16 + 16 * C + C);
        assert_int_equal(ft_probe_new(&exp, CH, hw, hw, C, N, 0, &pr), FT_OK);
        const ft_defense_probe_t *p = ft_probe_get(pr);
        assert_int_equal(p->num_classes, C);
        assert_true(p->head_b + C == N && p->head_w + C * p->feat_dim == p->head_b);
        size_t I = p->in_dim, D = p->feat_dim;
        float *G = ft_malloc(N * sizeof(float)), *U = ft_malloc(N * sizeof(float));
        float *x = ft_malloc(B * I * sizeof(float)), z[B * C],
              *f = ft_malloc(B * D * sizeof(float));
        ft_rng_t rng;
        ft_rng_init(&rng, 4, 0, 0, FT_RNG_TEST);
        for (size_t j = 0; j < N; j++) {
            G[j] = 0.05f * (float)ft_rng_normal(&rng);
            U[j] = 0.02f * (float)ft_rng_normal(&rng);
        }
        p->noise(p->ctx, 0, 0, B, x);
        unsigned long before = ft_alloc_count();
        assert_int_equal(p->run(p->ctx, G, U, x, B, z, f), FT_OK);
        assert_int_equal(ft_alloc_count(), before);
        double fmax = 0;
        for (size_t b = 0; b < B; b++) {
            for (size_t k = 0; k < D; k++) {
                assert_true(f[b * D + k] >= 0); /* after the ReLU */
                fmax = fmax > f[b * D + k] ? fmax : f[b * D + k];
            }
            for (size_t c = 0; c < C; c++) {
                double want = (double)G[p->head_b + c] + U[p->head_b + c];
                for (size_t k = 0; k < D; k++)
                    want += ((double)G[p->head_w + c * D + k] + U[p->head_w + c * D + k]) *
                            f[b * D + k];
                if (!(fabs(z[b * C + c] - want) <= 1e-4 * (1 + fabs(want))))
                    fail_msg("%s: logit[%zu][%zu] = %.9g, W f + b = %.9g", models[m], b, c,
                             (double)z[b * C + c], want);
            }
        }
        assert_true(fmax > 0); /* not a dead net: the check above means something */
        /* zeros */
        assert_int_equal(p->run(p->ctx, NULL, NULL, x, B, z, NULL), FT_OK);
        for (size_t q = 0; q < B * C; q++)
            assert_true(z[q] == 0.0f);
        ft_free(G);
        ft_free(U);
        ft_free(x);
        ft_free(f);
        ft_probe_destroy(&pr);
        ft_probe_destroy(&pr); /* safe twice */
        ft_config_destroy(&cfg);
    }
}

static void test_noise_and_server(void **state)
{
    (void)state;
    ft_config_t *cfg;
    ft_experiment_t exp;
    make_exp(&cfg, &exp, "mlp");
    size_t N = (size_t)(CH * HW * HW * 16 + 16 + 16 * C + C);
    ft_probe_t *pr = NULL;
    assert_int_equal(ft_probe_new(&exp, CH, HW, HW, C, N, 3, &pr), FT_OK);
    const ft_defense_probe_t *p = ft_probe_get(pr);
    size_t I = p->in_dim;
    static float a[6 * CH * HW * HW], b[2 * CH * HW * HW];
    p->noise(p->ctx, 1, 0, 6, a);
    p->noise(p->ctx, 1, 3, 2, b); /* samples 3 and 4 again, in another batch */
    assert_memory_equal(a + 3 * I, b, 2 * I * sizeof(float));
    double mean = 0;
    for (size_t k = 0; k < 6 * I; k++) {
        assert_true(a[k] >= 0 && a[k] < 1);
        mean += a[k] / (6.0 * I);
    }
    assert_true(fabs(mean - 0.5) < 0.05);
    p->noise(p->ctx, 2, 0, 2, b); /* another set: other values */
    assert_true(memcmp(a, b, 2 * I * sizeof(float)) != 0);
    /* the server set: pixel 255 of a mean-0, std-1 set is (255/255 - 0) / 1 = 1 */
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_dataset_new(4, CH, HW, HW, C, &ds), FT_OK);
    memset(ds->pixels, 255, 4 * I);
    ds->mean[0] = 0;
    ds->std[0] = 1;
    uint32_t idx[4] = {0, 1, 2, 3};
    assert_int_equal(ft_probe_set_server(pr, ds, idx, 4), FT_EINVAL); /* room for 3 */
    assert_int_equal(ft_probe_set_server(pr, ds, idx, 2), FT_OK);
    assert_int_equal(p->server_n, 2);
    for (size_t k = 0; k < 2 * I; k++)
        assert_true(p->server_x[k] == 1.0f);
    ft_dataset_destroy(&ds);
    ft_probe_destroy(&pr);
    ft_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_consistent),
        cmocka_unit_test(test_noise_and_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
