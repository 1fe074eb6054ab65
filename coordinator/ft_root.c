/* ft_root: FLTrust's server update from the root set. */
#include "ft_root.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_model.h"
#include "ft_rng.h"
#include "ft_root_set.h"
#include "ft_train.h"

struct ft_root {
    const ft_scenario_t *scn; /* training set and root indices (borrowed) */
    ft_model_t *model;        /* training model */
    ft_trainer_t *trainer;    /* batch buffers + optimizer */
    ft_train_opts_t opts;     /* the honest clients' options (lr per round) */
    uint64_t seed;            /* run.seed */
    size_t N;                 /* parameters */
};

int ft_root_new(const ft_experiment_t *exp, const ft_scenario_t *scn, const ft_ops_t *ops,
                ft_root_t **out)
{
    *out = NULL;
    ft_root_t *r = ft_calloc(1, sizeof *r);
    if (!r)
        return ft_error_set(FT_ENOMEM, "out of memory");
    r->scn = scn;
    r->seed = exp->run.seed;
    r->opts = ft_train_opts_honest(exp);
    const ft_dataset_t *t = scn->train;
    int rc = ft_model_new(exp->model.name, exp->model.hidden, t->c, t->h, t->w, t->num_classes,
                          r->opts.batch_size, ops, &r->model);
    if (rc != FT_OK) {
        ft_root_destroy(&r);
        return rc;
    }
    r->N = ft_model_num_params(r->model);
    r->trainer = ft_trainer_new(r->model, r->opts.batch_size);
    if (!r->trainer) {
        ft_root_destroy(&r);
        return ft_error_set(FT_ENOMEM, "out of memory for the root-set trainer");
    }
    *out = r;
    return FT_OK;
}

void ft_root_destroy(ft_root_t **r_p)
{
    if (!r_p || !*r_p)
        return;
    ft_trainer_destroy(&(*r_p)->trainer);
    ft_model_destroy(&(*r_p)->model);
    ft_free(*r_p);
    *r_p = NULL;
}

int ft_root_update(ft_root_t *r, uint32_t round, float lr, const float *global, float *out)
{
    ft_model_set_params(r->model, global);
    ft_model_set_training(r->model, 1);
    ft_rng_t drop, shuffle, aug;
    ft_rng_init(&drop, r->seed, round, FT_ROOT_CLIENT_ID, FT_RNG_DROPOUT);
    ft_model_set_dropout_stream(r->model, ft_rng_u64(&drop), 0);
    ft_rng_init(&shuffle, r->seed, round, FT_ROOT_CLIENT_ID, FT_RNG_SHUFFLE);
    ft_rng_init(&aug, r->seed, round, FT_ROOT_CLIENT_ID, FT_RNG_AUGMENT);
    ft_train_opts_t opts = r->opts;
    opts.lr = lr;
    opts.augment_rng = &aug;
    ft_train_result_t tr;
    int rc = ft_train_run(r->trainer, r->scn->train, r->scn->root_idx, r->scn->root_n, &opts,
                          &shuffle, 1, NULL, NULL, NULL, &tr);
    if (rc != FT_OK)
        return rc;
    ft_model_get_params(r->model, out);
    for (size_t j = 0; j < r->N; j++)
        out[j] -= global[j];
    return FT_OK;
}
