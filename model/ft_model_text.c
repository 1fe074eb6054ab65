/* ft_model_text: the lstm next-word model (ft_model_lstm.h) behind the ft_model_t
 * interface, so that local training, attacks, checkpoints and the coordinator run a
 * text task through the same calls as an image task. An input sample is the T+1
 * token ids of a sequence as floats (data/ft_text.h's ft_text_to_dataset); a negative
 * value -(id+1) is token id whose prediction is not scored by evaluation (how a
 * backdoor test sequence scores only the word after its trigger). Training uses every
 * target. The parameters, gradients and layout are the lstm's own (back-end memory);
 * inputs arrive in back-end memory like an image batch and are downloaded to be
 * decoded, since the lstm takes its token ids on the host. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_model_internal.h"
#include "ft_model_lstm.h"
#include "ft_text.h"

int ft_model_new_lstm(const ft_lstm_spec_t *spec, const ft_ops_t *ops, ft_model_t **out)
{
    *out = NULL;
    ft_lstm_model_t *lstm = NULL;
    int rc = ft_lstm_new(spec, ops, &lstm);
    if (rc)
        return rc;
    ft_model_t *m = ft_calloc(1, sizeof *m);
    size_t cells = (size_t)spec->max_batch * (spec->seq_len + 1);
    int32_t *ids = ft_malloc(cells * sizeof *ids);
    float *xs = ft_malloc(cells * sizeof *xs);
    if (!m || !ids || !xs) {
        ft_free(m);
        ft_free(ids);
        ft_free(xs);
        ft_lstm_destroy(&lstm);
        return ft_error_set(FT_ENOMEM, "out of memory for an lstm model");
    }
    m->ops = ops;
    m->lstm = lstm;
    m->text_ids = ids;
    m->text_x = xs;
    m->layout = *ft_lstm_layout(lstm); /* views borrowed from the lstm */
    m->params = ft_lstm_params(lstm);
    m->grads = ft_lstm_grads(lstm);
    /* a classifier reads T ids and has labels of its own; one logit is two classes */
    m->c = 1, m->h = 1, m->w = spec->seq_len + (spec->classes ? 0 : 1);
    m->num_classes = spec->classes ? (spec->classes == 1 ? 2 : spec->classes) : spec->vocab;
    m->max_batch = spec->max_batch;
    m->training = 1;
    m->bytes = ft_lstm_num_params(lstm) * 2 * sizeof(float);
    *out = m;
    return FT_OK;
}

void ft_model_text_destroy(ft_model_t *m)
{
    ft_lstm_destroy(&m->lstm);
    ft_free(m->text_ids);
    ft_free(m->text_x);
    ft_free(m);
}

void ft_model_text_init(ft_model_t *m, ft_rng_t *rng)
{
    ft_lstm_init(m->lstm, rng);
}

void ft_model_text_set_training(ft_model_t *m)
{
    ft_lstm_set_training(m->lstm, m->training);
}

void ft_model_text_set_dropout_stream(ft_model_t *m)
{
    ft_lstm_set_dropout_stream(m->lstm, m->dropout_seed, m->dropout_counter);
}

uint64_t ft_model_text_dropout_counter(const ft_model_t *m)
{
    return ft_lstm_dropout_counter(m->lstm);
}

/* The next-word lstm reads B×(T+1) ids (w = T+1), the classifier B×T (w = T). */
const int32_t *ft_model_text_decode(ft_model_t *m, const float *x, int B)
{
    size_t n = (size_t)B * m->w;
    m->ops->download(m->text_x, x, n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        m->text_ids[i] = ft_text_id(m->text_x[i]);
    return m->text_ids;
}

const int32_t *ft_model_text_gather(ft_model_t *m, const ft_dataset_t *ds, const uint32_t *idx,
                                    uint32_t at, int B)
{
    size_t W = (size_t)m->w;
    for (int b = 0; b < B; b++) {
        uint32_t i = idx ? idx[at + b] : at + (uint32_t)b;
        for (size_t t = 0; t < W; t++)
            m->text_ids[(size_t)b * W + t] = ft_text_id(ds->values[(size_t)i * W + t]);
    }
    return m->text_ids;
}

const float *ft_model_text_forward(ft_model_t *m, const float *x, int B)
{
    if (ft_lstm_spec(m->lstm)->classes)
        return ft_model_sentiment_forward(m, x, B);
    return ft_lstm_forward(m->lstm, ft_model_text_decode(m, x, B), B);
}

float ft_model_text_forward_backward(ft_model_t *m, const float *x, const int32_t *labels, int B)
{
    if (ft_lstm_spec(m->lstm)->classes)
        return ft_model_sentiment_forward_backward(m, x, labels, B);
    (void)labels; /* next-word: the targets are the sequence shifted by one */
    return ft_lstm_forward_backward(m->lstm, ft_model_text_decode(m, x, B), B);
}

int ft_model_text_evaluate(ft_model_t *m, const ft_dataset_t *ds, const uint32_t *idx, uint32_t n,
                           ft_eval_t *out)
{
    memset(out, 0, sizeof *out);
    if (ft_lstm_spec(m->lstm)->classes)
        return ft_model_sentiment_evaluate(m, ds, idx, n, out);
    if (ds->c != 1 || ds->h != 1 || ds->w != m->w || !ds->values)
        return ft_error_set(FT_EINVAL, "%s: not sequences of %d token ids (the lstm's input)",
                            ds->name, m->w);
    if (!idx)
        n = ds->n;
    int T = m->w - 1, Bmax = m->max_batch;
    int was = m->training;
    ft_model_set_training(m, 0);
    double loss = 0;
    uint64_t scored = 0, correct = 0;
    for (uint32_t at = 0; at < n; at += (uint32_t)Bmax) {
        int B = n - at < (uint32_t)Bmax ? (int)(n - at) : Bmax;
        ft_lstm_forward(m->lstm, ft_model_text_gather(m, ds, idx, at, B), B);
        /* the ids are consumed: text_ids now holds the T×B targets, -1 where not scored */
        int32_t *targets = m->text_ids;
        for (int b = 0; b < B; b++) {
            uint32_t i = idx ? idx[at + b] : at + (uint32_t)b;
            for (int t = 0; t < T; t++) {
                float v = ds->values[(size_t)i * (T + 1) + t + 1];
                targets[(size_t)t * B + b] = ft_text_is_scored(v) ? ft_text_id(v) : -1;
            }
        }
        const int32_t *best;
        const double *row_loss;
        ft_lstm_score(m->lstm, targets, &best, &row_loss);
        /* in (b, t) order, as the rows were summed before the back end scored them */
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                size_t r = (size_t)t * B + b;
                if (targets[r] < 0)
                    continue;
                loss += row_loss[r];
                correct += best[r] == targets[r];
                scored++;
            }
    }
    ft_model_set_training(m, was);
    out->count = (uint32_t)(scored < UINT32_MAX ? scored : UINT32_MAX);
    out->loss = scored ? loss / (double)scored : 0.0;
    out->accuracy = scored ? (double)correct / (double)scored : 0.0;
    return FT_OK;
}
