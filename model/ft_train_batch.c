/* ft_train_batch: ft_train_run's loop for K clients in lock step (ft_train_batch.h).
 *
 * Per client the order of everything that draws or sums is ft_train_run's: at the
 * first batch of an epoch its indices are copied and shuffled with its stream;
 * each batch is gathered and augmented into its slot of the host staging buffer;
 * after the step its loss joins its epoch sum (in double, as ft_trainer_epoch_loss
 * sums it). The steps of different clients only share the calls. */
#include "ft_train_batch.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_timer.h"

#include <assert.h>
#include <string.h>

/* Where one client of the running batch is. */
typedef struct {
    uint32_t *perm;              /* visiting order of its current epoch */
    size_t perm_cap;             /* entries perm holds */
    uint32_t n;                  /* its samples */
    uint32_t next;               /* first sample of its next batch in perm */
    int epoch;                   /* its current epoch (== epochs: done) */
    double epoch_sum;            /* sum of its batch losses this epoch */
    int epoch_batches;           /* its batches this epoch */
    double last_epoch;           /* mean batch loss of its last finished epoch */
    uint64_t samples;            /* samples processed */
    float fill[FT_MAX_CHANNELS]; /* zero padding's fill for its data set */
} slot_t;

struct ft_train_batch {
    ft_model_batch_t *mb; /* the K models (not owned) */
    int K;                /* slots */
    int Bm;               /* rows per slot */
    size_t S;             /* floats per sample */
    size_t N;             /* parameters per client */
    float *x_host;        /* K×Bm×S staging (host) */
    int32_t *y_host;      /* K×Bm labels (host) */
    float *aug;           /* one sample: augmentation scratch (host) */
    float *x_dev;         /* K×Bm×S (back end) */
    int32_t *y_dev;       /* K×Bm (back end) */
    float *momentum;      /* K×N momentum buffers (back end) */
    int *Bk;              /* K rows of each client in the current step (host) */
    float *loss;          /* K losses of the current step (host) */
    slot_t *slots;        /* K */
};

ft_train_batch_t *ft_train_batch_new(ft_model_batch_t *mb)
{
    const ft_ops_t *ops = ft_model_batch_ops(mb);
    ft_train_batch_t *tb = ft_calloc(1, sizeof *tb);
    if (!tb)
        return NULL;
    tb->mb = mb;
    tb->K = ft_model_batch_k(mb);
    tb->Bm = ft_model_batch_max_batch(mb);
    tb->N = ft_model_batch_num_params(mb);
    tb->S = ft_model_batch_sample_size(mb);
    size_t rows = (size_t)tb->K * tb->Bm;
    tb->x_host = ft_calloc(rows * tb->S, sizeof(float));
    tb->y_host = ft_calloc(rows, sizeof(int32_t));
    tb->aug = ft_malloc(tb->S * sizeof(float));
    tb->x_dev = ops->alloc(rows * tb->S * sizeof(float));
    tb->y_dev = ops->alloc(rows * sizeof(int32_t));
    tb->momentum = ops->alloc((size_t)tb->K * tb->N * sizeof(float));
    tb->Bk = ft_calloc((size_t)tb->K, sizeof *tb->Bk);
    tb->loss = ft_calloc((size_t)tb->K, sizeof *tb->loss);
    tb->slots = ft_calloc((size_t)tb->K, sizeof *tb->slots);
    if (!tb->x_host || !tb->y_host || !tb->aug || !tb->x_dev || !tb->y_dev || !tb->momentum ||
        !tb->Bk || !tb->loss || !tb->slots)
        ft_train_batch_destroy(&tb);
    return tb;
}

void ft_train_batch_destroy(ft_train_batch_t **tb_p)
{
    if (!tb_p || !*tb_p)
        return;
    ft_train_batch_t *tb = *tb_p;
    const ft_ops_t *ops = ft_model_batch_ops(tb->mb);
    ft_free(tb->x_host);
    ft_free(tb->y_host);
    ft_free(tb->aug);
    ops->free(tb->x_dev);
    ops->free(tb->y_dev);
    ops->free(tb->momentum);
    ft_free(tb->Bk);
    ft_free(tb->loss);
    for (int k = 0; tb->slots && k < tb->K; k++)
        ft_free(tb->slots[k].perm);
    ft_free(tb->slots);
    ft_free(tb);
    *tb_p = NULL;
}

/* Checks task k and readies its slot. */
static int start_slot(ft_train_batch_t *tb, int k, const ft_train_batch_task_t *t,
                      const ft_train_opts_t *opts)
{
    slot_t *ln = &tb->slots[k];
    if (ft_dataset_sample_size(t->ds) != tb->S)
        return ft_error_set(FT_EINVAL,
                            "batched task %d: %s: samples are %dx%dx%d, not what the "
                            "model takes",
                            k, t->ds->name, t->ds->c, t->ds->h, t->ds->w);
    int rc = ft_augment_check(&opts->augment, t->ds->h, t->ds->w);
    if (rc != FT_OK)
        return rc;
    assert(opts->augment.mode == FT_AUGMENT_NONE || t->augment_rng);
    uint32_t n = t->idx ? t->n : t->ds->n;
    if (n > ln->perm_cap) {
        uint32_t *p = ft_realloc(ln->perm, (size_t)n * sizeof *p);
        if (!p)
            return ft_error_set(FT_ENOMEM, "out of memory for %u sample indices", n);
        ln->perm = p;
        ln->perm_cap = n;
    }
    ln->n = n;
    ln->next = 0;
    ln->epoch = n == 0 ? opts->epochs : 0; /* no samples: no steps, loss 0 */
    ln->epoch_sum = 0.0;
    ln->epoch_batches = 0;
    ln->last_epoch = 0.0;
    ln->samples = 0;
    ft_augment_zero_fill(t->ds, ln->fill);
    ft_model_batch_set_params(tb->mb, k, t->start);
    ft_model_batch_set_dropout_stream(tb->mb, k, t->dropout_seed, 0);
    return FT_OK;
}

int ft_train_batch_run(ft_train_batch_t *tb, const ft_train_batch_task_t *tasks, int K,
                       const ft_train_opts_t *opts, void (*tick)(void *user), void *user,
                       float *const *out, ft_train_result_t *res)
{
    assert(K >= 1 && K <= tb->K);
    double t0 = ft_now();
    ft_model_batch_t *mb = tb->mb;
    const ft_ops_t *ops = ft_model_batch_ops(mb);
    const int Bm = tb->Bm, padded = ft_model_batch_padded(mb);
    const size_t S = tb->S, N = tb->N;
    if (opts->batch_size < 1 || opts->batch_size > Bm)
        return ft_error_set(FT_EINVAL, "batch size %d outside 1..%d", opts->batch_size, Bm);
    int rc;
    for (int k = 0; k < K; k++)
        if ((rc = start_slot(tb, k, &tasks[k], opts)) != FT_OK)
            return rc;
    /* a fresh optimizer for every client (ft_local_train passes fresh_optimizer) */
    ops->zero(tb->momentum, (size_t)tb->K * N * sizeof(float));
    memset(tb->Bk, 0, (size_t)tb->K * sizeof *tb->Bk);
    memset(tb->x_host, 0, (size_t)tb->K * Bm * S * sizeof(float));
    memset(tb->y_host, 0, (size_t)tb->K * Bm * sizeof(int32_t));
    for (;;) {
        int active = 0, same_lr = 1;
        for (int k = 0; k < K; k++) {
            slot_t *ln = &tb->slots[k];
            const ft_train_batch_task_t *t = &tasks[k];
            tb->Bk[k] = 0;
            if (ln->epoch >= opts->epochs)
                continue;        /* masked: its batches are exhausted */
            if (ln->next == 0) { /* a new epoch: one fresh permutation */
                for (uint32_t i = 0; i < ln->n; i++)
                    ln->perm[i] = t->idx ? t->idx[i] : i;
                ft_rng_shuffle_u32(t->shuffle_rng, ln->perm, ln->n);
                ln->epoch_sum = 0.0;
                ln->epoch_batches = 0;
            }
            uint32_t left = ln->n - ln->next;
            int B = (int)(left < (uint32_t)opts->batch_size ? left : (uint32_t)opts->batch_size);
            float *xs = tb->x_host + (size_t)k * Bm * S;
            int32_t *ys = tb->y_host + (size_t)k * Bm;
            ft_dataset_gather(t->ds, ln->perm + ln->next, B, xs, ys);
            ft_augment_batch(&opts->augment, t->augment_rng, ln->fill, B, t->ds->c, t->ds->h,
                             t->ds->w, xs, tb->aug);
            if (padded && B < Bm) { /* zero rows: finite, and their gradient is zero */
                memset(xs + (size_t)B * S, 0, (size_t)(Bm - B) * S * sizeof(float));
                memset(ys + B, 0, (size_t)(Bm - B) * sizeof(int32_t));
            }
            tb->Bk[k] = B;
            same_lr &= t->lr == tasks[0].lr;
            active++;
        }
        if (!active)
            break;
        /* Masked slots keep whatever they held: per client nothing reads them, and
         * in the batched way they were zeroed once above or hold a finite batch. */
        ops->upload(tb->x_dev, tb->x_host, (size_t)K * Bm * S * sizeof(float));
        ops->upload(tb->y_dev, tb->y_host, (size_t)K * Bm * sizeof(int32_t));
        ft_model_batch_forward_backward(mb, tb->x_dev, tb->y_dev, tb->Bk, tb->loss);
        float *P = ft_model_batch_params(mb), *G = ft_model_batch_grads(mb);
        if (active == K && same_lr) /* element-wise: one call is K calls */
            ops->sgd_step((size_t)K * N, P, G, tb->momentum, tasks[0].lr, opts->momentum,
                          opts->weight_decay);
        else
            for (int k = 0; k < K; k++)
                if (tb->Bk[k])
                    ops->sgd_step(N, P + (size_t)k * N, G + (size_t)k * N,
                                  tb->momentum + (size_t)k * N, tasks[k].lr, opts->momentum,
                                  opts->weight_decay);
        for (int k = 0; k < K; k++) {
            slot_t *ln = &tb->slots[k];
            if (!tb->Bk[k])
                continue;
            ln->epoch_sum += tb->loss[k];
            ln->epoch_batches++;
            ln->samples += (uint64_t)tb->Bk[k];
            ln->next += (uint32_t)tb->Bk[k];
            if (ln->next >= ln->n) {
                ln->last_epoch = ln->epoch_sum / ln->epoch_batches;
                ln->next = 0;
                ln->epoch++;
            }
        }
        if (tick)
            tick(user);
    }
    double secs = ft_now() - t0;
    for (int k = 0; k < K; k++) {
        ft_model_batch_get_params(mb, k, out[k]);
        res[k].mean_loss = tb->slots[k].last_epoch;
        res[k].samples = tb->slots[k].samples;
        res[k].seconds = secs;
    }
    return FT_OK;
}
