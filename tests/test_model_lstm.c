/* test_model_lstm: the `lstm` next-word model against PyTorch 1.13 (fixtures in
 * tests/fixtures/torch, written by gen_lstm.py: torch's RNNModel with its own seeded
 * initial weights, untied 2-layer and tied 1-layer next-word models and a 2-layer
 * classifier on the last step, and the paper's Sentiment140 model itself — one logit,
 * sigmoid + BCE, left-padded input with a padding id), on the reference and cpu back
 * ends: layout (names, N), logits, loss, every element of the flat gradient, and the
 * gradient norm clip_grad_norm_ reports. Dropout, which the fixture leaves out, is
 * checked by central finite differences of the whole model's loss with the dropout
 * stream reset before every pass. Evaluation's top-1 accuracy is checked against the
 * argmax of torch's logits.
 *
 * Tolerances (float32, sums in different orders): logits |d| <= 1e-5 + 1e-4 |torch|;
 * loss and gradient norm 1e-5 relative; gradient |d| <= 2e-6 + 1e-3 |torch|. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_error.h"
#include "ft_model_lstm.h"
#include "ft_rng.h"
#include "ft_test_fixture.h"
#include "ft_test_lstm_fixture.h"

/* One fixture's scalars and tensors. */
typedef struct {
    ft_lstm_spec_t spec; /* sizes (dropout 0, max_batch B) */
    int B;               /* batch */
    size_t N;            /* parameters */
    double loss;         /* mean cross-entropy */
    double grad_norm;    /* L2 norm of the gradient */
    int32_t *ids;        /* B×(T+1) */
    float *weights;      /* N */
    float *logits;       /* T×B×V */
    float *grads;        /* N */
} fixture_t;

static void *read_raw(const char *tag, const char *suffix, size_t bytes)
{
    char rel[256];
    snprintf(rel, sizeof rel, "torch/lstm_%s%s", tag, suffix);
    return ft_test_fixture_read(rel, bytes);
}

static void load_fixture(const char *tag, fixture_t *fx)
{
    memset(fx, 0, sizeof *fx);
    ft_lstm_spec_t *s = &fx->spec;
    ft_test_lstm_fixture_header(tag, s, &fx->B, &fx->N, &fx->loss, &fx->grad_norm, NULL);
    s->max_batch = fx->B;
    size_t TB = (size_t)s->seq_len * fx->B;
    fx->ids = read_raw(tag, "_ids.i32", (TB + fx->B) * sizeof(int32_t));
    fx->weights = read_raw(tag, "_weights.f32", fx->N * sizeof(float));
    fx->logits = read_raw(tag, "_logits.f32", TB * s->vocab * sizeof(float));
    fx->grads = read_raw(tag, "_grads.f32", fx->N * sizeof(float));
}

static void free_fixture(fixture_t *fx)
{
    free(fx->ids), free(fx->weights), free(fx->logits), free(fx->grads);
}

static ft_lstm_model_t *model_for(const fixture_t *fx, const ft_ops_t *ops)
{
    ft_lstm_model_t *m;
    assert_int_equal(ft_lstm_new(&fx->spec, ops, &m), FT_OK);
    assert_int_equal(ft_lstm_num_params(m), fx->N);
    memcpy(ft_lstm_params(m), fx->weights, fx->N * sizeof(float));
    return m;
}

static void agree(const char *tag)
{
    fixture_t fx;
    load_fixture(tag, &fx);
    const ft_ops_t *all[] = {&ft_ops_reference, &ft_ops_cpu};
    for (int k = 0; k < 2; k++) {
        ft_lstm_model_t *m = model_for(&fx, all[k]);
        const ft_layout_t *lay = ft_lstm_layout(m);
        assert_string_equal(lay->views[0].name, "encoder.weight");
        assert_string_equal(lay->views[lay->num_views - 1].name, "decoder.bias");
        assert_string_equal(lay->views[1].name, "rnn.weight_ih_l0");
        assert_int_equal(lay->num_views, 2 + 4 * fx.spec.layers + !fx.spec.tied);
        size_t TBV = (size_t)fx.spec.seq_len * fx.B * fx.spec.vocab;
        const float *z = ft_lstm_forward(m, fx.ids, fx.B);
        for (size_t i = 0; i < TBV; i++)
            if (!(fabsf(z[i] - fx.logits[i]) <= 1e-5f + 1e-4f * fabsf(fx.logits[i])))
                fail_msg("%s/%s logit %zu: %g, torch %g", tag, all[k]->name, i, z[i], fx.logits[i]);
        if (fx.B > 1) /* a smaller batch first: its steps must not leak into the next pass */
            ft_lstm_forward_backward(m, fx.ids + (fx.spec.seq_len + 1), 1);
        float loss = ft_lstm_forward_backward(m, fx.ids, fx.B);
        assert_float_equal(loss, fx.loss, 1e-5 * fx.loss);
        const float *g = ft_lstm_grads(m);
        for (size_t i = 0; i < fx.N; i++)
            if (!(fabsf(g[i] - fx.grads[i]) <= 2e-6f + 1e-3f * fabsf(fx.grads[i])))
                fail_msg("%s/%s gradient %zu: %g, torch %g", tag, all[k]->name, i, g[i],
                         fx.grads[i]);
        /* clipping: the norm reported before, and the clipped norm after */
        double norm = ft_lstm_clip_grad(m, fx.grad_norm * 0.5);
        assert_float_equal(norm, fx.grad_norm, 1e-5 * fx.grad_norm);
        assert_float_equal(ft_ops_cpu.norm2(fx.N, ft_lstm_grads(m)), fx.grad_norm * 0.5,
                           1e-5 * fx.grad_norm);
        /* a second pass gives the same gradient (nothing left accumulated) */
        ft_lstm_forward_backward(m, fx.ids, fx.B);
        assert_float_equal(ft_ops_cpu.norm2(fx.N, ft_lstm_grads(m)), fx.grad_norm,
                           1e-5 * fx.grad_norm);
        ft_lstm_destroy(&m);
        ft_lstm_destroy(&m);
    }
    free_fixture(&fx);
}

static void test_untied_matches_torch(void **state)
{
    (void)state;
    agree("untied");
}

static void test_tied_matches_torch(void **state)
{
    (void)state;
    agree("tied");
}

/* Classifier mode (the paper's Sentiment140 model shape) against torch: logits from
 * the last step, loss, every gradient element, on both back ends. */
static void test_classifier_matches_torch(void **state)
{
    (void)state;
    ft_lstm_spec_t s = {0};
    int B;
    size_t N;
    double loss, gnorm;
    assert_int_equal(ft_test_lstm_fixture_header("cls", &s, &B, &N, &loss, &gnorm, &s.classes), 1);
    s.max_batch = B;
    int32_t *ids = read_raw("cls", "_ids.i32", (size_t)B * s.seq_len * sizeof(int32_t));
    int32_t *labels = read_raw("cls", "_labels.i32", (size_t)B * sizeof(int32_t));
    float *w = read_raw("cls", "_weights.f32", N * sizeof(float));
    float *logits = read_raw("cls", "_logits.f32", (size_t)B * s.classes * sizeof(float));
    float *grads = read_raw("cls", "_grads.f32", N * sizeof(float));
    const ft_ops_t *all[] = {&ft_ops_reference, &ft_ops_cpu};
    for (int k = 0; k < 2; k++) {
        ft_lstm_model_t *m;
        assert_int_equal(ft_lstm_new(&s, all[k], &m), FT_OK);
        assert_int_equal(ft_lstm_num_params(m), N);
        memcpy(ft_lstm_params(m), w, N * sizeof(float));
        const float *z = ft_lstm_classify(m, ids, B);
        for (int i = 0; i < B * s.classes; i++)
            assert_float_equal(z[i], logits[i], 1e-5 + 1e-4 * fabs(logits[i]));
        ft_lstm_classify_backward(m, ids + s.seq_len, labels + 1, 1); /* a smaller batch first */
        float l = ft_lstm_classify_backward(m, ids, labels, B);
        assert_float_equal(l, loss, 1e-5 * loss);
        const float *g = ft_lstm_grads(m);
        for (size_t i = 0; i < N; i++)
            if (!(fabsf(g[i] - grads[i]) <= 2e-6f + 1e-3f * fabsf(grads[i])))
                fail_msg("cls/%s gradient %zu: %g, torch %g", all[k]->name, i, g[i], grads[i]);
        assert_float_equal(ft_lstm_clip_grad(m, 1e9), gnorm, 1e-5 * gnorm);
        ft_lstm_destroy(&m);
    }
    free(ids), free(labels), free(w), free(logits), free(grads);
}

/* The sentiment fixture: spec, tensors. */
typedef struct {
    ft_lstm_spec_t s;
    int B;
    size_t N;
    double loss, gnorm;
    int32_t *ids, *labels;
    float *w, *logits, *grads;
} sent_fixture_t;

static void load_sent(sent_fixture_t *fx)
{
    memset(fx, 0, sizeof *fx);
    ft_lstm_spec_t *s = &fx->s;
    assert_int_equal(
        ft_test_lstm_fixture_header("sent", s, &fx->B, &fx->N, &fx->loss, &fx->gnorm, &s->pad_id),
        1);
    s->classes = 1, s->arch = FT_LSTM_SENTIMENT, s->max_batch = fx->B;
    fx->ids = read_raw("sent", "_ids.i32", (size_t)fx->B * s->seq_len * sizeof(int32_t));
    fx->labels = read_raw("sent", "_labels.i32", (size_t)fx->B * sizeof(int32_t));
    fx->w = read_raw("sent", "_weights.f32", fx->N * sizeof(float));
    fx->logits = read_raw("sent", "_logits.f32", (size_t)fx->B * sizeof(float));
    fx->grads = read_raw("sent", "_grads.f32", fx->N * sizeof(float));
}

static void free_sent(sent_fixture_t *fx)
{
    free(fx->ids), free(fx->labels), free(fx->w), free(fx->logits), free(fx->grads);
}

/* lstm-sentiment against torch (text_binary_classification.py's model with its BCE
 * loss): the reference's parameter names, the last step's logit, loss, every gradient
 * element (the padding row's is zero: padding_idx), the norm clip_grad_norm_ reports,
 * on both back ends. */
static void test_sentiment_matches_torch(void **state)
{
    (void)state;
    sent_fixture_t fx;
    load_sent(&fx);
    const ft_ops_t *all[] = {&ft_ops_reference, &ft_ops_cpu};
    int E = fx.s.emb;
    for (int k = 0; k < 2; k++) {
        ft_lstm_model_t *m;
        assert_int_equal(ft_lstm_new(&fx.s, all[k], &m), FT_OK);
        assert_int_equal(ft_lstm_num_params(m), fx.N);
        const ft_layout_t *lay = ft_lstm_layout(m);
        assert_string_equal(lay->views[0].name, "embedding.weight");
        assert_string_equal(lay->views[1].name, "lstm.weight_ih_l0");
        assert_string_equal(lay->views[8].name, "lstm.bias_hh_l1");
        assert_string_equal(lay->views[9].name, "fc.weight");
        assert_string_equal(lay->views[10].name, "fc.bias");
        assert_int_equal(lay->num_views, 11);
        memcpy(ft_lstm_params(m), fx.w, fx.N * sizeof(float));
        const float *z = ft_lstm_classify(m, fx.ids, fx.B);
        for (int i = 0; i < fx.B; i++)
            assert_float_equal(z[i], fx.logits[i], 1e-5 + 1e-4 * fabs(fx.logits[i]));
        ft_lstm_classify_backward(m, fx.ids + fx.s.seq_len, fx.labels + 1, 1); /* smaller B first */
        float l = ft_lstm_classify_backward(m, fx.ids, fx.labels, fx.B);
        assert_float_equal(l, fx.loss, 1e-5 * fx.loss);
        const float *g = ft_lstm_grads(m);
        for (size_t i = 0; i < fx.N; i++)
            if (!(fabsf(g[i] - fx.grads[i]) <= 2e-6f + 1e-3f * fabsf(fx.grads[i])))
                fail_msg("sent/%s gradient %zu: %g, torch %g", all[k]->name, i, g[i], fx.grads[i]);
        for (int e = 0; e < E; e++)
            assert_true(g[(size_t)fx.s.pad_id * E + e] == 0.0f);
        assert_float_equal(ft_lstm_clip_grad(m, 1e9), fx.gnorm, 1e-5 * fx.gnorm);
        ft_lstm_destroy(&m);
    }
    free_sent(&fx);
}

/* The sentiment model with dropout 0.5 (between the layers and before fc, none on the
 * embedding: L = 2 masks a pass): analytic gradient = central differences with the
 * masks fixed; eval mode gives torch's loss again. */
static void test_sentiment_dropout_finite_differences(void **state)
{
    (void)state;
    sent_fixture_t fx;
    load_sent(&fx);
    fx.s.dropout = 0.5f;
    ft_lstm_model_t *m;
    assert_int_equal(ft_lstm_new(&fx.s, &ft_ops_reference, &m), FT_OK);
    float *p = ft_lstm_params(m);
    memcpy(p, fx.w, fx.N * sizeof(float));
    ft_lstm_set_dropout_stream(m, 91, 0);
    float l0 = ft_lstm_classify_backward(m, fx.ids, fx.labels, fx.B);
    assert_int_equal(ft_lstm_dropout_counter(m), 2); /* no mask on the embedding */
    assert_true(fabs(l0 - fx.loss) > 1e-5);
    float *g = malloc(fx.N * sizeof *g);
    assert_non_null(g);
    memcpy(g, ft_lstm_grads(m), fx.N * sizeof *g);
    ft_rng_t rng;
    ft_rng_init(&rng, 6, 0, 0, FT_RNG_TEST);
    int checked = 0;
    for (int trial = 0; trial < 200 && checked < 25; trial++) {
        size_t i = ft_rng_below(&rng, (uint32_t)fx.N);
        if (fabsf(g[i]) < 1e-4f)
            continue;
        float keep = p[i];
        double l[2];
        for (int s = 0; s < 2; s++) {
            p[i] = keep + (s ? -1e-2f : 1e-2f);
            ft_lstm_set_dropout_stream(m, 91, 0);
            l[s] = ft_lstm_classify_backward(m, fx.ids, fx.labels, fx.B);
        }
        p[i] = keep;
        double fd = (l[0] - l[1]) / 2e-2;
        if (fabs(fd - g[i]) > 2e-5 + 3e-2 * fabs(g[i]))
            fail_msg("sentiment parameter %zu: finite difference %g, analytic %g", i, fd, g[i]);
        checked++;
    }
    assert_true(checked >= 10);
    ft_lstm_set_training(m, 0);
    assert_float_equal(ft_lstm_classify_backward(m, fx.ids, fx.labels, fx.B), fx.loss,
                       1e-5 * fx.loss);
    free(g);
    ft_lstm_destroy(&m);
    free_sent(&fx);
}

/* The sentiment model's init (PyTorch defaults): embedding N(0, 1) with the padding
 * row zero, everything else U(-1/sqrt(H), 1/sqrt(H)); bad sentiment specs refused. */
static void test_sentiment_init_and_specs(void **state)
{
    (void)state;
    ft_lstm_spec_t s = {.vocab = 400,
                        .emb = 10,
                        .hidden = 16,
                        .layers = 2,
                        .seq_len = 5,
                        .max_batch = 2,
                        .classes = 1,
                        .arch = FT_LSTM_SENTIMENT,
                        .pad_id = 1};
    ft_lstm_model_t *m;
    ft_lstm_spec_t bad = s;
    bad.classes = 2;
    assert_int_equal(ft_lstm_new(&bad, &ft_ops_cpu, &m), FT_ECONFIG);
    bad = s, bad.pad_id = 400;
    assert_int_equal(ft_lstm_new(&bad, &ft_ops_cpu, &m), FT_ECONFIG);
    bad = s, bad.arch = 2;
    assert_int_equal(ft_lstm_new(&bad, &ft_ops_cpu, &m), FT_ECONFIG);
    assert_int_equal(ft_lstm_new(&s, &ft_ops_cpu, &m), FT_OK);
    ft_rng_t rng;
    ft_rng_init(&rng, 2, 0, 0, FT_RNG_INIT);
    ft_lstm_init(m, &rng);
    const ft_layout_t *lay = ft_lstm_layout(m);
    const float *p = ft_lstm_params(m);
    double sum = 0, sq = 0;
    size_t n = 0;
    for (size_t i = 0; i < lay->views[0].count; i++) {
        if (i / 10 == 1) {
            assert_true(p[i] == 0.0f); /* the padding row */
            continue;
        }
        sum += p[i], sq += (double)p[i] * p[i], n++;
    }
    double mean = sum / n, sd = sqrt(sq / n - mean * mean);
    assert_true(fabs(mean) < 0.1 && fabs(sd - 1.0) < 0.1);
    for (int v = 1; v < lay->num_views; v++) {
        const ft_param_view_t *pv = &lay->views[v];
        float maxabs = 0;
        for (size_t i = 0; i < pv->count; i++)
            maxabs = fmaxf(maxabs, fabsf(p[pv->offset + i]));
        assert_true(maxabs <= 0.25f && (pv->count < 4 || maxabs > 0.1f));
    }
    ft_lstm_destroy(&m);
}

/* Top-1 accuracy and loss over the fixture's batch, from torch's logits. */
static void test_evaluate(void **state)
{
    (void)state;
    fixture_t fx;
    load_fixture("untied", &fx);
    int T = fx.spec.seq_len, B = fx.B, V = fx.spec.vocab;
    uint64_t correct = 0;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            const float *z = fx.logits + ((size_t)t * B + b) * V;
            int best = 0;
            for (int v = 1; v < V; v++)
                if (z[v] > z[best])
                    best = v;
            correct += best == fx.ids[b * (T + 1) + t + 1];
        }
    fx.spec.max_batch = 2; /* two batches: 2 + 1 sequences */
    ft_lstm_model_t *m = model_for(&fx, &ft_ops_cpu);
    ft_lstm_eval_t ev;
    ft_lstm_evaluate(m, fx.ids, NULL, (uint32_t)B, &ev);
    assert_int_equal(ev.count, (uint64_t)T * B);
    assert_float_equal(ev.accuracy, (double)correct / (T * B), 1e-12);
    assert_float_equal(ev.loss, fx.loss, 1e-5 * fx.loss);
    assert_float_equal(ev.perplexity, exp(fx.loss), 1e-4 * exp(fx.loss));
    /* a subset through idx: sequence 2 alone */
    uint32_t only = 2;
    ft_lstm_evaluate(m, fx.ids, &only, 1, &ev);
    assert_int_equal(ev.count, (uint64_t)T);
    ft_lstm_destroy(&m);
    free_fixture(&fx);
}

/* With dropout on (p 0.3, 2 layers: masks on the embedding, between the layers and
 * on the output) the analytic gradient matches central differences when every pass
 * draws the same masks. */
static void test_dropout_gradient_finite_differences(void **state)
{
    (void)state;
    fixture_t fx;
    load_fixture("untied", &fx);
    fx.spec.dropout = 0.3f;
    ft_lstm_model_t *m = model_for(&fx, &ft_ops_reference);
    ft_lstm_set_dropout_stream(m, 77, 0);
    float l0 = ft_lstm_forward_backward(m, fx.ids, fx.B);
    assert_true(fabs(l0 - fx.loss) > 1e-4); /* the masks did change the loss */
    float *g = malloc(fx.N * sizeof *g);
    assert_non_null(g);
    memcpy(g, ft_lstm_grads(m), fx.N * sizeof *g);
    float *p = ft_lstm_params(m);
    ft_rng_t rng;
    ft_rng_init(&rng, 5, 0, 0, FT_RNG_TEST);
    int checked = 0;
    for (int trial = 0; trial < 60; trial++) {
        size_t i = ft_rng_below(&rng, (uint32_t)fx.N);
        if (fabsf(g[i]) < 1e-4f)
            continue; /* too small for a float difference quotient */
        float keep = p[i];
        double l[2];
        for (int s = 0; s < 2; s++) {
            p[i] = keep + (s ? -1e-2f : 1e-2f);
            ft_lstm_set_dropout_stream(m, 77, 0);
            l[s] = ft_lstm_forward_backward(m, fx.ids, fx.B);
        }
        p[i] = keep;
        double fd = (l[0] - l[1]) / 2e-2;
        if (fabs(fd - g[i]) > 2e-5 + 3e-2 * fabs(g[i]))
            fail_msg("parameter %zu: finite difference %g, analytic %g", i, fd, g[i]);
        checked++;
    }
    assert_true(checked >= 10);
    /* eval mode switches dropout off: torch's loss again */
    ft_lstm_set_training(m, 0);
    assert_float_equal(ft_lstm_forward_backward(m, fx.ids, fx.B), fx.loss, 1e-5 * fx.loss);
    free(g);
    ft_lstm_destroy(&m);
    free_fixture(&fx);
}

static void test_bad_specs_and_init(void **state)
{
    (void)state;
    ft_lstm_spec_t ok = {.vocab = 50,
                         .emb = 8,
                         .hidden = 8,
                         .layers = 2,
                         .dropout = 0.2f,
                         .tied = 1,
                         .seq_len = 4,
                         .max_batch = 2};
    ft_lstm_model_t *m;
    ft_lstm_spec_t bad = ok;
    bad.hidden = 9;
    assert_int_equal(ft_lstm_new(&bad, &ft_ops_cpu, &m), FT_ECONFIG); /* tied, E != H */
    assert_null(m);
    bad = ok, bad.layers = 0;
    assert_int_equal(ft_lstm_new(&bad, &ft_ops_cpu, &m), FT_ECONFIG);
    bad = ok, bad.dropout = 1.0f;
    assert_int_equal(ft_lstm_new(&bad, &ft_ops_cpu, &m), FT_ECONFIG);
    bad = ok, bad.vocab = 1;
    assert_int_equal(ft_lstm_new(&bad, &ft_ops_cpu, &m), FT_ECONFIG);
    assert_int_equal(ft_lstm_new(&ok, &ft_ops_cpu, &m), FT_OK);
    ft_rng_t rng;
    ft_rng_init(&rng, 1, 0, 0, FT_RNG_INIT);
    ft_lstm_init(m, &rng);
    const ft_layout_t *lay = ft_lstm_layout(m);
    const float *p = ft_lstm_params(m);
    for (int v = 0; v < lay->num_views; v++) {
        const ft_param_view_t *pv = &lay->views[v];
        float bound = !strcmp(pv->name, "encoder.weight") ? 0.1f
                      : !strcmp(pv->name, "decoder.bias") ? 0.0f
                                                          : 1.0f / sqrtf(8.0f);
        float maxabs = 0;
        for (size_t i = 0; i < pv->count; i++)
            maxabs = fmaxf(maxabs, fabsf(p[pv->offset + i]));
        assert_true(maxabs <= bound);
        if (bound > 0)
            assert_true(maxabs > 0.8f * bound); /* the whole range is used */
    }
    ft_lstm_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untied_matches_torch),
        cmocka_unit_test(test_tied_matches_torch),
        cmocka_unit_test(test_classifier_matches_torch),
        cmocka_unit_test(test_sentiment_matches_torch),
        cmocka_unit_test(test_sentiment_dropout_finite_differences),
        cmocka_unit_test(test_sentiment_init_and_specs),
        cmocka_unit_test(test_evaluate),
        cmocka_unit_test(test_dropout_gradient_finite_differences),
        cmocka_unit_test(test_bad_specs_and_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
