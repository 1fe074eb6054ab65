/* ft_model_sentiment: an lstm with a classifier head (lstm-sentiment, the paper's
 * Sentiment140 model; ft_model_lstm.h) behind the ft_model_t interface. An input
 * sample is the T token ids of a left-padded tweet as floats (data/ft_sentiment.h),
 * its label the sentiment (0 negative, 1 positive). Evaluation follows the reference's
 * validateModel (ksreenivasan/OOD_Federated_Learning, language-tasks-fl/src/training/
 * text_bc_training.py:84-92): the prediction is round(sigmoid(z)), i.e. positive iff
 * z > 0 (torch.round(0.5) is 0), the loss the binary cross-entropy, here averaged per
 * tweet (the reference averages per batch). The per-class counts of ft_eval_t are
 * filled, so a backdoor test set of tweets labelled negative is scored as the share
 * classified negative. The model's buffers are in its back end's memory: inputs are
 * downloaded to be decoded, and evaluation reads the B logits of a batch on the host. */
#include <math.h>
#include <string.h>

#include "ft_error.h"
#include "ft_model_internal.h"
#include "ft_model_lstm.h"

const float *ft_model_sentiment_forward(ft_model_t *m, const float *x, int B)
{
    return ft_lstm_classify(m->lstm, ft_model_text_decode(m, x, B), B);
}

float ft_model_sentiment_forward_backward(ft_model_t *m, const float *x, const int32_t *labels,
                                          int B)
{
    return ft_lstm_classify_backward(m->lstm, ft_model_text_decode(m, x, B), labels, B);
}

/* Loss of one tweet and its predicted class from the head's logits z (C of them). */
static int predict(const float *z, int C, int y, double *loss)
{
    if (C == 1) {
        double x = z[0], t = y ? 1.0 : 0.0;
        *loss += (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));
        return x > 0;
    }
    int best = 0;
    for (int k = 1; k < C; k++)
        if (z[k] > z[best])
            best = k;
    double se = 0;
    for (int k = 0; k < C; k++)
        se += exp((double)z[k] - z[best]);
    *loss += log(se) + z[best] - z[y];
    return best;
}

int ft_model_sentiment_evaluate(ft_model_t *m, const ft_dataset_t *ds, const uint32_t *idx,
                                uint32_t n, ft_eval_t *out)
{
    memset(out, 0, sizeof *out);
    if (ds->c != 1 || ds->h != 1 || ds->w != m->w || !ds->values)
        return ft_error_set(FT_EINVAL, "%s: not tweets of %d token ids (the model's input)",
                            ds->name, m->w);
    if (!idx)
        n = ds->n;
    const ft_lstm_spec_t *s = ft_lstm_spec(m->lstm);
    int C = s->classes, Bmax = m->max_batch;
    int was = m->training;
    ft_model_set_training(m, 0);
    double loss = 0;
    uint32_t correct = 0;
    for (uint32_t at = 0; at < n; at += (uint32_t)Bmax) {
        int B = n - at < (uint32_t)Bmax ? (int)(n - at) : Bmax;
        const float *z = ft_lstm_classify_host(m->lstm, ft_model_text_gather(m, ds, idx, at, B), B);
        for (int b = 0; b < B; b++) {
            uint32_t i = idx ? idx[at + b] : at + (uint32_t)b;
            int y = ds->labels[i];
            int best = predict(z + (size_t)b * C, C, y, &loss);
            if (y < 256) {
                out->class_count[y]++;
                out->class_correct[y] += best == y;
            }
            if (best < 256)
                out->predicted_as[best]++;
            correct += best == y;
        }
    }
    ft_model_set_training(m, was);
    out->count = n;
    out->loss = n ? loss / n : 0.0;
    out->accuracy = n ? (double)correct / n : 0.0;
    return FT_OK;
}
