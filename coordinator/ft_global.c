/* ft_global: global model, update matrix, defense and evaluation. */
#include "ft_global.h"

#include "ft_probe.h"

#include "ft_alloc.h"
#include "ft_checkpoint.h"
#include "ft_dataset_load.h"
#include "ft_device.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_model_input.h"
#include "ft_ops.h"
#include "ft_rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct ft_global {
    ft_dataset_t *test;      /* test set */
    ft_model_t *model;       /* evaluation model */
    size_t N;                /* parameters */
    size_t max_k;            /* rows of the matrix */
    float *params;           /* N global model, host */
    int params_in_model;     /* params is the evaluation model's own buffer */
    float *updates;          /* max_k×N update matrix, host */
    float *delta;            /* N aggregated delta when the caller lends no scratch */
    const ft_defense_t *def; /* aggregation rule */
    void *def_state;         /* its per-run state */
    void *def_ws;            /* its workspace */
    ft_rng_t def_rng;        /* stream for randomised rules */
    uint64_t seed;           /* run.seed */
    size_t num_layers;       /* the model's parameter tensors (for layer-wise rules) */
    size_t *layer_ends;      /* num_layers exclusive ends in the flat vector */
    uint8_t *layer_weight;   /* num_layers: 1 for a 2-D/4-D weight, 0 for a bias */
    ft_probe_t *probe;       /* the model probe (a rule with needs_probe), or NULL */
};

int ft_global_check(const ft_experiment_t *exp)
{
    /* Under secure aggregation first: the rule's own checks (krum's K > 2f + 2) are
     * beside the point when it cannot run at all. */
    const ft_defense_t *sa_def = exp->defense.plugin[0] ? NULL : ft_defense_find(exp->defense.name);
    if (exp->security.secure_aggregation && (exp->defense.plugin[0] || (sa_def && !sa_def->secagg)))
        return ft_config_error(exp->defense.src, "defense.name",
                               "%s cannot run under security.secure_aggregation: it needs each "
                               "client's update (it selects, weighs or compares updates one by one "
                               "or per coordinate), and secure aggregation shows the server only "
                               "their weighted sum; rules that run on the sum: fedavg, none, crfl, "
                               "local-dp, and norm-clipping / weak-dp with the clipping done by "
                               "each client (docs/security.md)",
                               sa_def ? sa_def->name : "a defense plug-in");
    /* Then the defense's keys (krum's K > 2f + 2, ...): cheap, and the message names
     * the key; an unknown name lists the registry. */
    return ft_defense_check(&exp->defense, exp->federation.clients_per_round);
}

int ft_global_new(const ft_experiment_t *exp, size_t max_k, ft_global_t **out)
{
    *out = NULL;
    int rc;
    ft_global_t *g = ft_calloc(1, sizeof *g);
    if (!g)
        return ft_error_set(FT_ENOMEM, "out of memory");
    g->max_k = max_k;
    g->seed = exp->run.seed;
    if ((rc = ft_global_check(exp)) != FT_OK)
        goto fail;
    g->def = ft_defense_for(&exp->defense);
    /* The device before the data: a missing GPU fails fast. */
    const ft_ops_t *ops;
    if ((rc = ft_ops_for_device(&exp->run, &ops)) != FT_OK)
        goto fail;
    if ((rc = ft_dataset_load(&exp->data, exp->run.seed, 0, &g->test)) != FT_OK)
        goto fail;
    /* Evaluation shares the machine with the client processes. */
    ft_ops_set_threads(exp->run.threads);
    /* Forward only: no gradients, one activation arena (docs/PERFORMANCE.md §5). */
    rc = ft_model_new_for_data(&exp->model, g->test, g->test->num_classes, 1, exp->run.eval_batch,
                               ops, &g->model);
    if (rc != FT_OK)
        goto fail;
    g->N = ft_model_num_params(g->model);
    /* On a host back end the evaluation model's parameter buffer is the global model
     * itself: one N-vector less at the coordinator's peak (docs/PERFORMANCE.md §5).
     * A device back end keeps a host copy, uploaded for each evaluation. */
    g->params_in_model = strcmp(ft_model_ops(g->model)->name, "cuda") != 0;
    g->params =
        g->params_in_model ? ft_model_params(g->model) : ft_malloc_aligned(g->N * sizeof(float));
    g->updates = ft_malloc_aligned(max_k * g->N * sizeof(float));
    if (!g->params || !g->updates) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for %zu x %zu updates", max_k, g->N);
        goto fail;
    }
    /* Left untouched: rows become resident as updates arrive. */
    const char *init = exp->federation.init;
    if (strcmp(init, "random") == 0 || init[0] == 0) {
        ft_rng_t rng;
        ft_rng_init(&rng, g->seed, 0, 0, FT_RNG_INIT);
        ft_model_init(g->model, &rng);
        if (!g->params_in_model)
            ft_model_get_params(g->model, g->params);
    } else {
        ft_checkpoint_t ck;
        memset(&ck, 0, sizeof ck);
        rc = ft_checkpoint_load(init, ft_model_layout(g->model)->hash, &ck);
        if (rc != FT_OK)
            goto fail;
        /* The layout hash names the shapes, but N is the file's own field: a crafted
         * file can pair a right hash with fewer floats. */
        if (ck.num_params != g->N)
            rc = ft_error_set(FT_EFORMAT,
                              "%s (federation.init): field num_params = %zu, the model has "
                              "%zu parameters",
                              init, ck.num_params, g->N);
        else
            rc = ft_checkpoint_check_finite(init, &ck);
        if (rc != FT_OK) {
            ft_checkpoint_free(&ck);
            goto fail;
        }
        memcpy(g->params, ck.params, g->N * sizeof(float));
        ft_checkpoint_free(&ck);
    }
    rc = g->def->create(&exp->defense, max_k, g->N, exp->federation.num_clients, &g->def_state);
    if (rc != FT_OK)
        goto fail;
    if (g->def->needs_probe) {
        int c, h, w;
        ft_model_input_shape(g->model, &c, &h, &w);
        size_t cap = g->def->needs_probe & FT_PROBE_SERVER_SET ? (size_t)exp->defense.root_size : 0;
        if ((rc = ft_probe_new(exp, c, h, w, ft_model_num_classes(g->model), g->N, cap,
                               &g->probe)) != FT_OK)
            goto fail;
    }
    size_t ws = ft_defense_workspace(g->def, max_k, g->N, g->probe ? ft_probe_get(g->probe) : NULL);
    g->def_ws = ft_malloc_aligned(ws ? ws : 64);
    if (!g->def_ws) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for the defense workspace");
        goto fail;
    }
    /* The layout for layer-wise rules (LASA), told once. */
    const ft_layout_t *lay = ft_model_layout(g->model);
    g->num_layers = (size_t)lay->num_views;
    g->layer_ends = ft_malloc((g->num_layers ? g->num_layers : 1) * sizeof *g->layer_ends);
    g->layer_weight = ft_malloc(g->num_layers ? g->num_layers : 1);
    if (!g->layer_ends || !g->layer_weight) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for the model layout");
        goto fail;
    }
    for (size_t l = 0; l < g->num_layers; l++) {
        g->layer_ends[l] = lay->views[l].offset + lay->views[l].count;
        g->layer_weight[l] = lay->views[l].ndim == 2 || lay->views[l].ndim == 4;
    }
    ft_rng_init(&g->def_rng, g->seed, 0, 0, FT_RNG_NOISE);
    *out = g;
    return FT_OK;
fail:
    ft_global_destroy(&g);
    return rc;
}

void ft_global_destroy(ft_global_t **g_p)
{
    if (!g_p || !*g_p)
        return;
    ft_global_t *g = *g_p;
    if (g->def && g->def_state)
        g->def->destroy(&g->def_state);
    ft_free_aligned(g->def_ws);
    ft_free(g->layer_ends);
    ft_free(g->layer_weight);
    if (!g->params_in_model)
        ft_free_aligned(g->params);
    ft_free_aligned(g->delta);
    ft_free_aligned(g->updates);
    ft_model_destroy(&g->model);
    ft_probe_destroy(&g->probe);
    ft_dataset_destroy(&g->test);
    ft_free(g);
    *g_p = NULL;
}

/* Releases the K×N update matrix's memory until updates are written into it again.
 * ft_global_new allocates it without touching it, and ft_global_aggregate releases it
 * once the rows are aggregated: a row is resident only from its update's arrival to
 * the round's end, so the updates in flight (received by ZeroMQ, not yet copied) are
 * covered by the rows not yet written, and the coordinator's peak stays at K + 3
 * vectors (docs/PERFORMANCE.md, "Current state" §5). */
static void release_updates(ft_global_t *g)
{
    /* Only a matrix on huge pages: refilling released 2 MiB pages costs about as much
     * again as the row copies, 4 KiB pages 5-6x (lenet5, K = 10: +7 ms a round, a
     * sixth of the coordination overhead), and a matrix under 32 MiB has updates
     * small enough for the fixed allowance to hold those in flight. */
    size_t bytes = g->max_k * g->N * sizeof(float);
    if (bytes >= FT_HUGE_FROM)
        ft_release_pages(g->updates, bytes);
}

int ft_global_set_server_set(ft_global_t *g, const ft_dataset_t *ds, const uint32_t *idx, size_t n)
{
    return g->probe ? ft_probe_set_server(g->probe, ds, idx, n) : FT_OK;
}

size_t ft_global_num_params(const ft_global_t *g)
{
    return g->N;
}
const uint8_t *ft_global_layout_hash(const ft_global_t *g)
{
    return ft_model_layout(g->model)->hash;
}
const float *ft_global_params(const ft_global_t *g)
{
    return g->params;
}
float *ft_global_row(ft_global_t *g, size_t i)
{
    return g->updates + i * g->N;
}
const ft_defense_t *ft_global_defense(const ft_global_t *g)
{
    return g->def;
}
ft_model_t *ft_global_model(ft_global_t *g)
{
    return g->model;
}
const ft_dataset_t *ft_global_test(const ft_global_t *g)
{
    return g->test;
}

double ft_global_row_norm(const ft_global_t *g, size_t i)
{
    return ft_ops_cpu.norm2(g->N, g->updates + i * g->N);
}

size_t ft_global_count_nonfinite(const ft_global_t *g)
{
    /* An all-ones exponent is NaN or Inf. Integer compares on the bit pattern
     * vectorise and stay correct whatever the floating-point flags. */
    size_t n = 0;
    for (size_t j = 0; j < g->N; j++) {
        uint32_t bits;
        memcpy(&bits, &g->params[j], sizeof bits);
        n += (bits & 0x7f800000u) == 0x7f800000u;
    }
    return n;
}

int ft_global_aggregate(ft_global_t *g, uint32_t round, size_t K, const uint32_t *ids,
                        const float *counts, const float *server_update, float *scratch,
                        ft_defense_decision_t *decisions)
{
    float *delta = scratch;
    if (!delta) {
        if (!g->delta && !(g->delta = ft_malloc_aligned(g->N * sizeof(float))))
            return ft_error_set(FT_ENOMEM, "out of memory for the aggregated delta");
        delta = g->delta;
    }
    ft_defense_input_t in = {
        .round = (int)round,
        .K = K,
        .N = g->N,
        .updates = g->updates,
        .counts = counts,
        .ids = ids,
        .global = g->params,
        .server_update = server_update,
        .rng = &g->def_rng,
        .num_layers = g->num_layers,
        .layer_ends = g->layer_ends,
        .layer_is_weight = g->layer_weight,
        .probe = g->probe ? ft_probe_get(g->probe) : NULL,
    };
    /* Weak-DP-style rules draw noise: key their stream by round so that a retried
     * or resumed run draws the same noise, and `fedtail aggregate --round R` replays
     * a saved round with the same stream. */
    ft_rng_init(&g->def_rng, g->seed, round, 0, FT_RNG_NOISE);
    /* A rule that leaves contrib_norm alone reports "not known", never stale values. */
    for (size_t i = 0; i < K; i++)
        decisions[i] = (ft_defense_decision_t){FT_DECISION_KEPT, 1.0f, 0.0f, 0.0f, NAN};
    int rc = g->def->aggregate(g->def_state, &in, delta, decisions, g->def_ws);
    release_updates(g); /* the rows are spent, used or not */
    if (rc != FT_OK)
        return rc;
    ft_ops_cpu.axpy(g->N, 1.0f, delta, g->params);
    return FT_OK;
}

int ft_global_evaluate(ft_global_t *g, ft_eval_t *out)
{
    if (!g->params_in_model)
        ft_model_set_params(g->model, g->params);
    return ft_model_evaluate(g->model, g->test, NULL, g->test->n, out);
}

int ft_global_save(const ft_global_t *g, const char *path, const char *meta)
{
    return ft_checkpoint_save(path, ft_model_layout(g->model)->hash, g->params, g->N, meta, NULL,
                              0);
}

int ft_global_save_extra(const ft_global_t *g, const char *path, const char *meta,
                         const void *extra, size_t extra_len)
{
    return ft_checkpoint_save(path, ft_model_layout(g->model)->hash, g->params, g->N, meta, extra,
                              extra_len);
}

int ft_global_defense_state(const ft_global_t *g, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (!g->def->state_save || !g->def_state)
        return FT_OK;
    size_t need = g->def->state_save(g->def_state, NULL, 0);
    if (!need)
        return FT_OK;
    *buf = ft_malloc(need);
    if (!*buf)
        return ft_error_set(FT_ENOMEM, "out of memory for the %s state", g->def->name);
    *len = g->def->state_save(g->def_state, *buf, need);
    return FT_OK;
}

int ft_global_restore(ft_global_t *g, const float *params, const uint8_t *state, size_t len)
{
    /* The state first: a refused one leaves both the model and the state as they were
     * (every state_load validates before it changes anything), so the caller can try
     * another checkpoint or start over from the initial model. */
    int keeps = g->def->state_load && g->def_state && g->def->state_save &&
                g->def->state_save(g->def_state, NULL, 0) > 0;
    if (len && !keeps)
        return ft_error_set(FT_EFORMAT, "field defense state: %zu bytes, but %s keeps no state",
                            len, g->def->name);
    if (!len && keeps)
        return ft_error_set(FT_EFORMAT, "field defense state: missing, but %s keeps state",
                            g->def->name);
    if (len) {
        int rc = g->def->state_load(g->def_state, state, len);
        if (rc != FT_OK) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", ft_error_message());
            return ft_error_set(rc, "field defense state: %s", msg);
        }
    }
    memcpy(g->params, params, g->N * sizeof(float));
    return FT_OK;
}
