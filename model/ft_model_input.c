/* ft_model_input: building the configured model for a dataset's shape, and checking
 * image sets against it, so that images of the wrong shape are refused at set-up
 * naming their file (issue 16) rather than failing inside a layer, or as a model
 * mismatch between the coordinator and its clients. */
#include "ft_model_input.h"

#include "ft_config.h"
#include "ft_error.h"
#include "ft_model_lstm.h"
#include "ft_sentiment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* model.hidden for the lstm: one size H, or a list of equal sizes (one per layer,
 * as "200,200" reads; nn.LSTM has one H for all layers). */
static int lstm_hidden(const ft_model_cfg_t *mc, int *H)
{
    const char *s = mc->hidden;
    long first = -1;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 65536 || (first >= 0 && v != first) || (*end && *end != ','))
            return ft_config_error(mc->src, "model.hidden",
                                   "lstm: one hidden size in [1, 65536] (or equal sizes, one per "
                                   "layer), got \"%s\"",
                                   mc->hidden);
        first = v;
        s = *end ? end + 1 : end;
    }
    if (first < 0)
        return ft_config_error(mc->src, "model.hidden", "lstm: needs a hidden size");
    *H = (int)first;
    return FT_OK;
}

/* Largest batch an evaluation-only lstm takes: its logits are T×B×V floats, which
 * at the batch sizes image evaluation uses would be gigabytes. */
#define FT_LSTM_EVAL_BATCH 32

static int new_lstm(const ft_model_cfg_t *mc, const ft_dataset_t *ds, int inference, int max_batch,
                    const ft_ops_t *ops, ft_model_t **out)
{
    int sent = !strcmp(mc->name, "lstm-sentiment");
    if (inference && max_batch > FT_LSTM_EVAL_BATCH)
        max_batch = FT_LSTM_EVAL_BATCH;
    if (!ds->vocab)
        return ft_config_error(mc->src, "model.name",
                               sent ? "lstm-sentiment classifies tweets: it needs data.dataset = "
                                      "sentiment140, %s holds images"
                                    : "lstm is a next-word model: it needs a text dataset "
                                      "(data.dataset = fortunes or reddit), %s holds images",
                               ft_dataset_source(ds));
    if (sent && mc->tied)
        return ft_config_error(mc->src, "model.tied", "lstm-sentiment has no decoder to tie");
    /* the sentiment model reads T ids and pads with FT_SENTIMENT_PAD (ft_sentiment.h);
     * the next-word model reads T+1 (inputs and targets) */
    ft_lstm_spec_t spec = {.vocab = ds->vocab->size,
                           .emb = mc->embedding,
                           .layers = mc->layers,
                           .dropout = (float)mc->dropout,
                           .tied = mc->tied,
                           .seq_len = sent ? ds->w : ds->w - 1,
                           .max_batch = max_batch,
                           .classes = sent ? 1 : 0,
                           .arch = sent ? FT_LSTM_SENTIMENT : FT_LSTM_WORD,
                           .pad_id = sent ? FT_SENTIMENT_PAD : 0};
    int rc = lstm_hidden(mc, &spec.hidden);
    if (rc == FT_OK && spec.tied && spec.emb != spec.hidden)
        rc = ft_config_error(mc->src, "model.tied",
                             "tied weights need model.embedding (%d) = the hidden size (%d)",
                             spec.emb, spec.hidden);
    return rc ? rc : ft_model_new_lstm(&spec, ops, out);
}

int ft_model_new_for_data(const ft_model_cfg_t *mc, const ft_dataset_t *ds, int num_classes,
                          int inference, int max_batch, const ft_ops_t *ops, ft_model_t **out)
{
    if (!strcmp(mc->name, "lstm") || !strcmp(mc->name, "lstm-sentiment"))
        return new_lstm(mc, ds, inference, max_batch, ops, out);
    if (ds->vocab)
        return ft_config_error(mc->src, "model.name",
                               "%s holds text (token ids): the model for it is lstm or "
                               "lstm-sentiment, not %s",
                               ft_dataset_source(ds), mc->name);
    int rc = inference ? ft_model_new_inference(mc->name, mc->hidden, ds->c, ds->h, ds->w,
                                                num_classes, max_batch, ops, out)
                       : ft_model_new(mc->name, mc->hidden, ds->c, ds->h, ds->w, num_classes,
                                      max_batch, ops, out);
    if (rc != FT_ECONFIG)
        return rc;
    char why[512];
    snprintf(why, sizeof why, "%s", ft_error_message());
    if (strstr(why, "model.hidden") || strstr(why, "unknown model"))
        return ft_config_error(mc->src, strstr(why, "model.hidden") ? "model.hidden" : "model.name",
                               "%s", why);
    return ft_error_set(FT_ECONFIG,
                        "%s: images are %dx%dx%d, the model `%s` cannot take them: %s "
                        "(model.name at %s)",
                        ft_dataset_source(ds), ds->h, ds->w, ds->c, mc->name, why,
                        ft_config_origin(mc->src, "model.name"));
}

int ft_model_input_match(const ft_model_cfg_t *mc, const ft_dataset_t *images,
                         const ft_dataset_t *ref, const char *ref_role)
{
    if (images->c == ref->c && images->h == ref->h && images->w == ref->w)
        return FT_OK;
    return ft_error_set(FT_EFORMAT,
                        "%s: images are %dx%dx%d, the model `%s` expects %dx%dx%d (%s, %s)",
                        ft_dataset_source(images), images->h, images->w, images->c, mc->name,
                        ref->h, ref->w, ref->c, ref_role, ft_dataset_source(ref));
}
