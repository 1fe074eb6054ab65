/* ft_model: a sequential network over one flat parameter buffer.
 *
 * All parameters live in one contiguous float buffer of length N (the llm.c way);
 * each layer's weight and bias are views (offset, shape) into it, described by a
 * layout with a stable hash. Gradients, momentum and federated updates are flat
 * length-N vectors in the same layout. The model runs on an ops back end (kernels/
 * ft_ops.h): params/grads/activations live in that back end's memory. */
#ifndef FT_MODEL_H
#define FT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "ft_dataset.h"
#include "ft_ops.h"
#include "ft_layer.h"
#include "ft_rng.h"

/* One named parameter tensor inside the flat buffer. */
typedef struct {
    char name[32]; /* "conv1.weight" (PyTorch-style names) */
    size_t offset; /* first element in the flat buffer */
    size_t count;  /* elements */
    int ndim;      /* 1..4 */
    int shape[4];  /* PyTorch shape order */
    int fan_in;    /* for initialisation */
} ft_param_view_t;

typedef struct {
    int num_views;          /* parameter tensors */
    ft_param_view_t *views; /* in order of the flat buffer */
    size_t num_params;      /* N */
    uint8_t hash[32];       /* SHA-256 of the canonical layout text */
} ft_layout_t;

typedef struct ft_model ft_model_t;

/* Builds a named built-in model ("lenet5", "paper-lenet", "vgg9", "mlp"; hidden is
 * mlp's comma-separated hidden sizes, ignored otherwise) for C×H×W inputs and
 * num_classes outputs, with activation buffers for up to max_batch samples, on ops.
 * Parameters start at zero: call ft_model_init or load a checkpoint. FT_ECONFIG for
 * an unknown name or a shape the net cannot take; FT_ENOMEM. */
int ft_model_new(const char *name, const char *hidden, int c, int h, int w, int num_classes,
                 int max_batch, const ft_ops_t *ops, ft_model_t **out);
/* Same from an explicit layer list. Parameter views are named PyTorch-style in
 * state_dict order: the k-th conv layer "convk.weight"/"convk.bias", the k-th linear
 * "fck.weight"/"fck.bias". The last linear layer has num_classes outputs (its spec
 * out may be 0). The layout hash is the SHA-256 of the canonical text
 * "fedtail-layout 1\n" + one "name d0xd1.. offset\n" line per view + "N n\n". */
int ft_model_new_from_spec(const ft_layer_spec_t *layers, int num_layers, int c, int h, int w,
                           int num_classes, int max_batch, const ft_ops_t *ops, ft_model_t **out);
/* Inference-only variants of the two constructors above: no gradient buffers and
 * forward activations in one arena sized for the largest input + output pair
 * (instead of one buffer per layer), so a batch-B evaluation model costs a fraction
 * of a training model. ft_model_forward and ft_model_evaluate work and give the same
 * logits as a training model in eval mode; the model is always in eval mode
 * (ft_model_set_training(m, 1) asserts), ft_model_grads returns NULL and
 * ft_model_forward_backward asserts. Same errors as the constructors above. */
int ft_model_new_inference(const char *name, const char *hidden, int c, int h, int w,
                           int num_classes, int max_batch, const ft_ops_t *ops, ft_model_t **out);
int ft_model_new_from_spec_inference(const ft_layer_spec_t *layers, int num_layers, int c, int h,
                                     int w, int num_classes, int max_batch, const ft_ops_t *ops,
                                     ft_model_t **out);
void ft_model_destroy(ft_model_t **m_p);
/* 1 for a model built by an _inference constructor. */
int ft_model_is_inference(const ft_model_t *m);
/* Back-end bytes the model holds (parameters, gradients, activations, scratch). */
size_t ft_model_memory_bytes(const ft_model_t *m);

const ft_layout_t *ft_model_layout(const ft_model_t *m);
size_t ft_model_num_params(const ft_model_t *m);
const ft_ops_t *ft_model_ops(const ft_model_t *m);
/* The flat parameter and gradient buffers (back-end memory), length N; grads is NULL
 * for an inference model. */
float *ft_model_params(ft_model_t *m);
float *ft_model_grads(ft_model_t *m);
/* Largest batch a pass may use, and the number of output classes. */
int ft_model_max_batch(const ft_model_t *m);
/* The C×H×W shape of one input sample. */
void ft_model_input_shape(const ft_model_t *m, int *c, int *h, int *w);
int ft_model_num_classes(const ft_model_t *m);
/* Copies parameters to/from host memory (works for every back end). */
void ft_model_get_params(const ft_model_t *m, float *host /* N */);
void ft_model_set_params(ft_model_t *m, const float *host /* N */);

/* PyTorch default init: weights kaiming-uniform(a = sqrt(5)), i.e.
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
 * drawn from rng in buffer order. */
void ft_model_init(ft_model_t *m, ft_rng_t *rng);

/* Dropout active (1) or identity (0). New models are in training mode. */
void ft_model_set_training(ft_model_t *m, int training);
int ft_model_training(const ft_model_t *m);
/* Sets the Philox stream dropout masks are drawn from; the counter advances with
 * every forward pass (by one per active dropout layer, so each layer of each pass
 * draws an independent mask). */
void ft_model_set_dropout_stream(ft_model_t *m, uint64_t seed, uint64_t counter);
/* The next dropout counter (for checkpoints that resume a stream). */
uint64_t ft_model_dropout_counter(const ft_model_t *m);

/* Forward pass of B <= max_batch samples x (B×C×H×W, back-end memory); returns the
 * logits B×num_classes (back-end memory, valid until the next call). */
const float *ft_model_forward(ft_model_t *m, const float *x, int B);
/* Forward + softmax cross-entropy + backward: overwrites the gradient buffer and
 * returns the mean loss. labels: B (back-end memory). */
float ft_model_forward_backward(ft_model_t *m, const float *x, const int32_t *labels, int B);
/* The same, and the gradient of the mean loss with respect to the input into dx
 * (B×C×H×W, back-end memory, not x): what an attack optimising a trigger needs. */
float ft_model_forward_backward_input(ft_model_t *m, const float *x, const int32_t *labels, int B,
                                      float *dx);

/* The features: the classifier's input (the last linear layer's; lenet5: the 500 ReLU
 * units after fc1), D = ft_model_feature_dim floats per sample. What an attack with a
 * loss on the learned representation needs (Chameleon's contrastive encoder). Image
 * models with gradients only (assert: no lstm, no inference model). */
int ft_model_feature_dim(const ft_model_t *m);
/* First element of the classifier's parameters in the flat buffer: the encoder (every
 * layer before it) is the prefix [0, offset), the classifier the rest. */
size_t ft_model_classifier_offset(const ft_model_t *m);
/* Forward pass of B samples x (B×C×H×W, back-end memory); returns the features B×D
 * (back-end memory, valid until the next pass). The logits are computed too. */
const float *ft_model_forward_features(ft_model_t *m, const float *x, int B);
/* Backward from dfeat (B×D, back-end memory), the gradient of a loss w.r.t. the
 * features of the last forward pass (of the same B samples): overwrites the gradient
 * buffer, the encoder's entries with d loss / d params, the classifier's with 0. */
void ft_model_backward_features(ft_model_t *m, const float *dfeat /* B×D */, int B);
/* Backward from dy (B×num_classes, back-end memory), the gradient of a loss w.r.t.
 * the outputs of the last forward pass: overwrites the gradient buffer; dx (B×C×H×W,
 * back-end memory) gets the gradient w.r.t. the input, or NULL: not wanted. For a net
 * whose output is not a class score (IBA's trigger generator). */
void ft_model_backward_output(ft_model_t *m, const float *dy /* B×num_classes */, int B,
                              float *dx /* B×C×H×W or NULL */);

/* Evaluation result over a dataset. */
typedef struct {
    double loss;                 /* mean cross-entropy */
    double accuracy;             /* share correct */
    uint32_t count;              /* samples evaluated */
    uint32_t class_count[256];   /* samples per true class */
    uint32_t class_correct[256]; /* correct per true class */
    uint32_t predicted_as[256];  /* samples predicted as each class */
} ft_eval_t;

/* Evaluates the model (dropout off, restored afterwards) on samples idx[0..n) of ds
 * (idx NULL: all samples) in batches of at most max_batch. FT_ENOMEM. */
int ft_model_evaluate(ft_model_t *m, const ft_dataset_t *ds, const uint32_t *idx, uint32_t n,
                      ft_eval_t *out);

#endif
