/* test_train_batch: K clients trained at once (model/ft_train_batch.c over
 * model/ft_model_batch.c) give each client exactly what training it alone gives.
 *
 * The golden values are the sequential path's: for every client a fresh model of
 * the same net and back end, trained by ft_train_run (tested against PyTorch in
 * test_model_torch) from the same start with the same shuffle, augmentation and
 * dropout streams and a fresh optimizer. On the CPU back ends the batch must agree
 * bit for bit (loss and every parameter), for K = 1, for clients with different
 * numbers of batches and a short last batch (the masking), for fewer tasks than
 * slots, and for per-client learning rates; momentum and weight decay are on, so a
 * masked client that were stepped anyway would move (test_train_batch_reference:
 * the same on the reference back end). Built a second time with the
 * CUDA back end (test_train_batch_cuda --emulate), the batched path of the CUDA ops
 * (padded rows, strided-batched GEMMs) runs in host emulation and must agree with
 * the CPU's sequential result within GEMM_TOL (the tolerance docs/gpu.md states). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_model.h"
#include "ft_model_batch.h"
#include "ft_model_lstm.h"
#include "ft_ops.h"
#include "ft_readers.h"
#include "ft_rng.h"
#include "ft_train.h"
#include "ft_train_batch.h"
#ifdef FT_TEST_CUDA
#include "ft_ops_cuda.h"
#endif

/* Batched vs one by one on the GPU: cuBLAS may sum a strided-batched GEMM (over
 * padded rows) in another order than the single one, and a few dozen SGD steps
 * carry that on. In host emulation (double-accumulating GEMMs) against the CPU's
 * float BLAS the differences seen are ~3e-8; EMU_TOL leaves room. */
#define GEMM_TOL 2e-4
#define EMU_TOL  1e-6

enum { BATCH = 8, MAXK = 6 };

typedef enum { NET_CONV, NET_GAP, NET_MLP, NET_LENET5, NET_WIDE } net_t;

static const ft_ops_t *g_batch_ops; /* the back end the batch runs on */
static const ft_ops_t *g_seq_ops;   /* the back end of the golden one-by-one runs */
static double g_tol;                /* 0: exact (g_bitwise: bit for bit, else ==) */
static int g_bitwise;               /* exact means the same bits, -0 and +0 apart */

static ft_model_t *build(net_t net, int c, int h, int w, const ft_ops_t *ops)
{
    /* relu + pool (fused where the back end has it), an unfused relu, dropout */
    static const ft_layer_spec_t conv[] = {FT_L_CONV(4, 3, 1, 1),
                                           FT_L_RELU,
                                           FT_L_POOL(2),
                                           FT_L_CONV(6, 3, 1, 0),
                                           FT_L_RELU,
                                           FT_L_FLAT,
                                           FT_L_LIN(16),
                                           FT_L_RELU,
                                           FT_L_DROP(0.3f),
                                           FT_L_LIN(0)};
    static const ft_layer_spec_t gap[] = {FT_L_CONV(5, 3, 2, 1), FT_L_RELU, FT_L_GAP, FT_L_LIN(0)};
    ft_model_t *m = NULL;
    int rc;
    switch (net) {
    case NET_CONV: rc = ft_model_new_from_spec(conv, 10, c, h, w, 10, BATCH, ops, &m); break;
    case NET_GAP: rc = ft_model_new_from_spec(gap, 4, c, h, w, 10, BATCH, ops, &m); break;
    case NET_MLP: rc = ft_model_new("mlp", "16,12", c, h, w, 10, BATCH, ops, &m); break;
    /* 300 outputs: CUDA's softmax takes a block per row from 256 classes up */
    case NET_WIDE: rc = ft_model_new("mlp", "8", c, h, w, 300, BATCH, ops, &m); break;
    default: rc = ft_model_new("lenet5", "", c, h, w, 10, BATCH, ops, &m); break;
    }
    if (rc != FT_OK)
        fail_msg("model: %s", ft_error_message());
    return m;
}

typedef struct {
    net_t net;             /* the network */
    int c, h, w;           /* sample shape */
    int slots;             /* K of the batch */
    int tasks;             /* clients trained (<= slots) */
    uint32_t n[MAXK];      /* samples per client */
    float lr[MAXK];        /* 0: 0.05 */
    int epochs;            /* local epochs */
    ft_augment_mode_t aug; /* augmentation */
} case_t;

/* Client k's streams (run seed 9, round 1), the same for the golden run and the batch:
 * its shuffle and augmentation generators, and the dropout seed it returns. */
static uint64_t client_streams(int k, ft_rng_t *shuf, ft_rng_t *aug)
{
    ft_rng_t drop;
    ft_rng_init(&drop, 9, 1, (uint32_t)k, FT_RNG_DROPOUT);
    ft_rng_init(shuf, 9, 1, (uint32_t)k, FT_RNG_SHUFFLE);
    ft_rng_init(aug, 9, 1, (uint32_t)k, FT_RNG_AUGMENT);
    return ft_rng_u64(&drop);
}

static void run_case(const case_t *cs)
{
    ft_dataset_t *ds = NULL;
    uint32_t total = 0;
    for (int k = 0; k < cs->tasks; k++)
        total += cs->n[k];
    assert_int_equal(ft_synthetic_make(total + 1, cs->c, cs->h, cs->w, 10, 11, 1, &ds), FT_OK);
    uint32_t *idx = ft_malloc((total + 1) * sizeof *idx);
    for (uint32_t i = 0; i <= total; i++)
        idx[i] = total - i; /* not the identity, so idx is really read */
    ft_model_t *seq = build(cs->net, cs->c, cs->h, cs->w, g_seq_ops);
    size_t N = ft_model_num_params(seq);
    float *start = ft_malloc(N * sizeof(float));
    ft_rng_t init;
    ft_rng_init(&init, 5, 0, 0, FT_RNG_INIT);
    ft_model_init(seq, &init);
    ft_model_get_params(seq, start);
    ft_train_opts_t opts = {.epochs = cs->epochs,
                            .batch_size = BATCH,
                            .momentum = 0.9f,
                            .weight_decay = 1e-3f,
                            .augment = {.mode = cs->aug, .pad = 1}};

    /* golden: one by one */
    float *want[MAXK], *got[MAXK];
    double want_loss[MAXK];
    uint64_t want_samples[MAXK];
    ft_trainer_t *tr = ft_trainer_new(seq, BATCH);
    assert_non_null(tr);
    uint32_t off = 0;
    for (int k = 0; k < cs->tasks; k++) {
        want[k] = ft_malloc(N * sizeof(float));
        got[k] = ft_malloc(N * sizeof(float));
        ft_model_set_params(seq, start);
        ft_model_set_training(seq, 1);
        ft_rng_t shuf, aug;
        ft_model_set_dropout_stream(seq, client_streams(k, &shuf, &aug), 0);
        ft_train_opts_t o = opts;
        o.lr = cs->lr[k] ? cs->lr[k] : 0.05f;
        o.augment_rng = &aug;
        ft_train_result_t r;
        assert_int_equal(
            ft_train_run(tr, ds, idx + off, cs->n[k], &o, &shuf, 1, NULL, NULL, NULL, &r), FT_OK);
        ft_model_get_params(seq, want[k]);
        want_loss[k] = r.mean_loss;
        want_samples[k] = r.samples;
        off += cs->n[k];
    }

    /* the batch */
    ft_model_t *proto = build(cs->net, cs->c, cs->h, cs->w, g_batch_ops);
    ft_model_batch_t *mb = NULL;
    assert_int_equal(ft_model_batch_new(proto, cs->slots, BATCH, &mb), FT_OK);
    ft_model_destroy(&proto); /* the batch does not keep it */
    /* the CPU back ends have no batched ops: per client; CUDA: batched */
    assert_int_equal(ft_model_batch_padded(mb),
                     g_batch_ops != &ft_ops_cpu && g_batch_ops != &ft_ops_reference);
    ft_train_batch_t *tb = ft_train_batch_new(mb);
    assert_non_null(tb);
    ft_train_batch_task_t tasks[MAXK];
    ft_rng_t shuf[MAXK], aug[MAXK];
    off = 0;
    for (int k = 0; k < cs->tasks; k++) {
        const uint64_t dropout_seed = client_streams(k, &shuf[k], &aug[k]);
        tasks[k] = (ft_train_batch_task_t){.ds = ds,
                                           .idx = idx + off,
                                           .n = cs->n[k],
                                           .lr = cs->lr[k] ? cs->lr[k] : 0.05f,
                                           .shuffle_rng = &shuf[k],
                                           .augment_rng = &aug[k],
                                           .dropout_seed = dropout_seed,
                                           .start = start};
        off += cs->n[k];
    }
    ft_train_result_t res[MAXK];
    assert_int_equal(
        ft_train_batch_run(tb, tasks, cs->tasks, &opts, NULL, NULL, (float *const *)got, res),
        FT_OK);
    for (int k = 0; k < cs->tasks; k++) {
        assert_int_equal(res[k].samples, want_samples[k]);
        if (g_tol == 0) {
            assert_true(res[k].mean_loss == want_loss[k]);
            for (size_t i = 0; i < N; i++)
                if (g_bitwise ? memcmp(&got[k][i], &want[k][i], sizeof(float)) != 0
                              : !(got[k][i] == want[k][i]))
                    fail_msg("client %d parameter %zu: batched %.9g, alone %.9g", k, i,
                             (double)got[k][i], (double)want[k][i]);
        } else {
            double worst = 0;
            for (size_t i = 0; i < N; i++) {
                double d = fabs((double)got[k][i] - want[k][i]) / (1.0 + fabs((double)want[k][i]));
                worst = d > worst ? d : worst;
            }
            printf("    client %d: largest parameter difference %.3g (relative + absolute)\n", k,
                   worst);
            assert_true(fabs(res[k].mean_loss - want_loss[k]) <= g_tol * (1 + fabs(want_loss[k])));
            for (size_t i = 0; i < N; i++) {
                double d = fabs((double)got[k][i] - want[k][i]);
                if (!(d <= g_tol * (1.0 + fabs((double)want[k][i]))))
                    fail_msg("client %d parameter %zu: batched %.9g, alone %.9g (tolerance %g)", k,
                             i, (double)got[k][i], (double)want[k][i], g_tol);
            }
        }
        /* it trained: not the start */
        assert_true(memcmp(got[k], start, N * sizeof(float)) != 0);
    }
    for (int k = 0; k < cs->tasks; k++) {
        ft_free(want[k]);
        ft_free(got[k]);
    }
    ft_train_batch_destroy(&tb);
    assert_null(tb);
    ft_train_batch_destroy(&tb); /* safe twice */
    ft_model_batch_destroy(&mb);
    ft_trainer_destroy(&tr);
    ft_model_destroy(&seq);
    ft_free(start);
    ft_free(idx);
    ft_dataset_destroy(&ds);
}

/* Four clients with 5, 3, 1 and 2 batches per epoch, last batches 5, 1, 3, 8 rows
 * long: the short ones are masked while the long one goes on. */
static void test_masking_conv(void **state)
{
    (void)state;
    case_t cs = {.net = NET_CONV,
                 .c = 3,
                 .h = 8,
                 .w = 8,
                 .slots = 4,
                 .tasks = 4,
                 .n = {37, 17, 3, 16},
                 .epochs = 2,
                 .aug = FT_AUGMENT_CROP_FLIP_REFLECT};
    run_case(&cs);
}

static void test_k1(void **state)
{
    (void)state;
    case_t cs = {.net = NET_CONV,
                 .c = 3,
                 .h = 8,
                 .w = 8,
                 .slots = 1,
                 .tasks = 1,
                 .n = {21},
                 .epochs = 2,
                 .aug = FT_AUGMENT_CROP_FLIP_ZERO};
    run_case(&cs);
}

/* Fewer tasks than slots, and a learning rate per client (the per-client step). */
static void test_fewer_tasks_own_lr(void **state)
{
    (void)state;
    case_t cs = {.net = NET_GAP,
                 .c = 2,
                 .h = 7,
                 .w = 7,
                 .slots = 5,
                 .tasks = 3,
                 .n = {8, 24, 11},
                 .lr = {0.1f, 0.02f, 0.05f},
                 .epochs = 3};
    run_case(&cs);
}

/* Every client with the same number of full batches: the one-call SGD step. */
static void test_equal_clients_mlp(void **state)
{
    (void)state;
    case_t cs = {.net = NET_MLP,
                 .c = 1,
                 .h = 6,
                 .w = 6,
                 .slots = 3,
                 .tasks = 3,
                 .n = {16, 16, 16},
                 .epochs = 2};
    run_case(&cs);
}

#ifdef FT_TEST_CUDA
/* The batched convolution over several chunks of images (dw accumulated across
 * them, col2im at each chunk's offset): 3 images a chunk for batches of 8. */
static void test_conv_chunks(void **state)
{
    (void)state;
    ft_cuda_set_conv_chunk(3);
    case_t cs = {.net = NET_CONV,
                 .c = 3,
                 .h = 8,
                 .w = 8,
                 .slots = 3,
                 .tasks = 3,
                 .n = {19, 8, 13},
                 .epochs = 1};
    run_case(&cs);
    ft_cuda_set_conv_chunk(0);
}
#endif

/* A softmax over 300 classes (labels 0..9 of them). */
static void test_wide_softmax(void **state)
{
    (void)state;
    case_t cs = {.net = NET_WIDE,
                 .c = 1,
                 .h = 4,
                 .w = 4,
                 .slots = 3,
                 .tasks = 3,
                 .n = {12, 8, 3},
                 .epochs = 2};
    run_case(&cs);
}

static void test_lenet5(void **state)
{
    (void)state;
    case_t cs = {.net = NET_LENET5,
                 .c = 1,
                 .h = 28,
                 .w = 28,
                 .slots = 2,
                 .tasks = 2,
                 .n = {12, 5},
                 .epochs = 1};
    run_case(&cs);
}

/* The lstm cannot be batched: refused with FT_EUNSUPPORTED (its callers then train
 * one by one); bad K and batch sizes are refused too. */
static void test_refusals(void **state)
{
    (void)state;
    ft_model_t *m = build(NET_MLP, 1, 4, 4, &ft_ops_cpu);
    ft_model_batch_t *mb = NULL;
    assert_int_equal(ft_model_batch_new(m, 0, BATCH, &mb), FT_EINVAL);
    assert_null(mb);
    assert_int_equal(ft_model_batch_new(m, 2, 0, &mb), FT_EINVAL);
    assert_true(ft_model_batch_supported(m));
    ft_model_t *inf = NULL;
    assert_int_equal(ft_model_new_inference("mlp", "8", 1, 4, 4, 10, 4, &ft_ops_cpu, &inf), FT_OK);
    assert_false(ft_model_batch_supported(inf));
    assert_int_equal(ft_model_batch_new(inf, 2, BATCH, &mb), FT_EUNSUPPORTED);
    assert_null(mb);
    ft_model_destroy(&inf);
    /* the lstm: its callers train one by one */
    ft_lstm_spec_t ls = {
        .vocab = 12, .emb = 4, .hidden = 4, .layers = 1, .seq_len = 3, .max_batch = 2};
    ft_model_t *lstm = NULL;
    assert_int_equal(ft_model_new_lstm(&ls, &ft_ops_cpu, &lstm), FT_OK);
    assert_false(ft_model_batch_supported(lstm));
    assert_int_equal(ft_model_batch_new(lstm, 2, 2, &mb), FT_EUNSUPPORTED);
    assert_null(mb);
    ft_model_destroy(&lstm);
    /* a batch size above the slots' rows */
    assert_int_equal(ft_model_batch_new(m, 2, 4, &mb), FT_OK);
    ft_train_batch_t *tb = ft_train_batch_new(mb);
    ft_dataset_t *ds = NULL;
    assert_int_equal(ft_synthetic_make(8, 1, 4, 4, 10, 1, 1, &ds), FT_OK);
    float *p = ft_calloc(ft_model_num_params(m), sizeof(float));
    ft_rng_t r;
    ft_rng_init(&r, 1, 1, 1, FT_RNG_SHUFFLE);
    ft_train_batch_task_t t = {.ds = ds, .n = 8, .lr = 0.1f, .shuffle_rng = &r, .start = p};
    ft_train_opts_t o = {.epochs = 1, .batch_size = 5};
    ft_train_result_t res;
    float *out[1] = {p};
    assert_int_equal(ft_train_batch_run(tb, &t, 1, &o, NULL, NULL, out, &res), FT_EINVAL);
    /* a sample shape the model does not take */
    ft_dataset_t *other = NULL;
    assert_int_equal(ft_synthetic_make(8, 1, 5, 4, 10, 1, 1, &other), FT_OK);
    t.ds = other;
    o.batch_size = 4;
    assert_int_equal(ft_train_batch_run(tb, &t, 1, &o, NULL, NULL, out, &res), FT_EINVAL);
    ft_dataset_destroy(&other);
    ft_dataset_destroy(&ds);
    ft_free(p);
    ft_train_batch_destroy(&tb);
    ft_model_batch_destroy(&mb);
    ft_model_batch_destroy(&mb); /* safe twice */
    ft_model_destroy(&m);
}

/* Sizing by memory (run.batch_clients = 0): three quarters of what is free, in
 * whole clients, within 1..cap; and the per-client estimate covers what one more
 * client of a real batch costs (measured from two batches K = 2 and K = 3, plus its
 * momentum row), without being more than a quarter above it. */
static void test_sizing(void **state)
{
    (void)state;
    assert_int_equal(ft_model_batch_fit(0, 100, 10), 1);       /* nothing free */
    assert_int_equal(ft_model_batch_fit(400, 100, 10), 3);     /* 300 / 100 */
    assert_int_equal(ft_model_batch_fit(399, 100, 10), 2);     /* 299 / 100 */
    assert_int_equal(ft_model_batch_fit(100000, 100, 10), 10); /* capped */
    assert_int_equal(ft_model_batch_fit(100, 1000, 10), 1);    /* not even one */
    assert_int_equal(ft_model_batch_fit(1000, 0, 7), 7);       /* free clients */
    assert_int_equal(ft_model_batch_fit(1000, 10, 0), 1);      /* no cap: 1 */
    ft_model_t *m = build(NET_CONV, 3, 8, 8, &ft_ops_cpu);
    size_t N = ft_model_num_params(m);
    size_t est = ft_model_batch_client_bytes(m, BATCH);
    ft_model_batch_t *b2 = NULL, *b3 = NULL;
    assert_int_equal(ft_model_batch_new(m, 2, BATCH, &b2), FT_OK);
    assert_int_equal(ft_model_batch_new(m, 3, BATCH, &b3), FT_OK);
    size_t real =
        ft_model_batch_memory_bytes(b3) - ft_model_batch_memory_bytes(b2) + N * sizeof(float);
    assert_true(est >= real);
    assert_true(est <= real + real / 4);
    /* twice the rows: the activation part doubles */
    assert_true(ft_model_batch_client_bytes(m, 2 * BATCH) > est);
    ft_model_batch_destroy(&b2);
    ft_model_batch_destroy(&b3);
    ft_model_destroy(&m);
}

int main(int argc, char **argv)
{
    g_batch_ops = g_seq_ops = &ft_ops_cpu;
    g_tol = 0;
    g_bitwise = 1;
    const char *which = "cpu";
    if (argc > 1 && strcmp(argv[1], "--reference") == 0) {
        /* the reference back end's batch against its own one by one */
        g_batch_ops = g_seq_ops = &ft_ops_reference;
        which = "reference";
    }
#ifdef FT_TEST_CUDA
    /* this build: the device unless --emulate */
    int emulate = argc > 1 && strcmp(argv[1], "--emulate") == 0;
    int exact = argc > 1 && strcmp(argv[1], "--emulate-exact") == 0;
    g_bitwise = 0;
    if (exact) {
        /* Batched vs one by one, both emulated: the batched ops make the same sums in
         * the same order as the single ones, padded rows adding exact zeros, so the
         * results are equal (== : a sum of -0 products plus a padded +0 is +0). */
        g_batch_ops = g_seq_ops = ft_ops_cuda_host_emulation();
        which = "cuda host emulation (one by one there too)";
        g_tol = 0;
    } else if (emulate) {
        g_batch_ops = ft_ops_cuda_host_emulation();
        which = "cuda host emulation";
        g_tol = EMU_TOL;
    } else {
        g_batch_ops = g_seq_ops = ft_ops_cuda(); /* batched vs one by one, both on the GPU */
        if (!g_batch_ops) {
            printf("no CUDA device (%s): skipped\n", ft_error_message());
            return 77;
        }
        which = ft_cuda_device_info();
        g_tol = GEMM_TOL;
    }
#endif
    printf("batched on: %s, one by one on: %s (tolerance %g)\n", which, g_seq_ops->name, g_tol);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masking_conv),
        cmocka_unit_test(test_k1),
        cmocka_unit_test(test_fewer_tasks_own_lr),
        cmocka_unit_test(test_equal_clients_mlp),
        cmocka_unit_test(test_lenet5),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_sizing),
        cmocka_unit_test(test_wide_softmax),
#ifdef FT_TEST_CUDA
        cmocka_unit_test(test_conv_chunks),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
