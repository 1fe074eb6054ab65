/* pgd: Wang et al., NeurIPS 2020, Algorithm 1 — projected gradient descent on D_adv
 * (the edge-case points + clean points, ft_attack_edge.c), projecting the model onto
 * the L2 ball ||w - w_g|| <= eps around the round's global model. As in the paper
 * code (ksreenivasan/OOD_Federated_Learning fl_trainer.py train(), proj "l_2"), the
 * projection is over the whole flat vector, after every step b with
 * b % project_frequency == 0 and after the last batch of each epoch. With
 * attack.adaptive_eps (by default under krum and multi-krum, as the paper code:
 * fl_trainer.py:463-466) the radius of round t is eps * lr_decay^(t-1).
 *
 * attack.eps = auto: the defense-aware radius of the paper's discussion of PGD with
 * model replacement against norm-difference clipping (Wang et al. 2020 §4): the
 * attacker that knows the bound M picks eps = M n_adv / N_round (M / the replacement
 * factor; M without replacement), times FT_EPS_AUTO_MARGIN, so that its scaled update
 * lands just under M and the clipping leaves it whole. */
#include "ft_attack_internal.h"

#include <string.h>

/* How far under the bound the scaled update lands (float rounding stays inside). */
#define FT_EPS_AUTO_MARGIN 0.999

double ft_attack_auto_eps(double bound, double scale)
{
    return FT_EPS_AUTO_MARGIN * bound / (scale > 0 ? scale : 1.0);
}

double ft_attack_pgd_radius(const ft_attack_env_t *env, const ft_attack_task_t *task)
{
    const ft_attack_cfg_t *p = &env->p;
    double eps = p->eps;
    if (p->eps_auto) {
        double scale = p->model_replacement
                           ? ft_attack_replacement_scale(p->scale, task->round_samples,
                                                         ft_attack_sample_count(env, task->part_n),
                                                         env->clients_per_round)
                           : 1.0;
        eps = ft_attack_auto_eps(env->defense_bound, scale);
    }
    /* attack.adaptive_eps: eps * lr_decay^(t-1), as the paper code under Krum and
     * Multi-Krum (fl_trainer.py:463-466) */
    return eps * (env->adaptive_eps ? ft_attack_round_decay(env, task->round) : 1.0);
}

int ft_attack_pgd_check(const ft_experiment_t *exp)
{
    const char *d = exp->defense.name;
    if (exp->attack.eps_auto && strcmp(d, "norm-clipping") && strcmp(d, "weak-dp"))
        return ft_config_error(exp->attack.src, "attack.eps",
                               "auto sizes the radius from defense.norm_bound: needs "
                               "defense.name = norm-clipping or weak-dp (got %s)",
                               d);
    return FT_OK;
}

double ft_attack_project_l2(const ft_ops_t *ops, size_t N, float *w, const float *wg, double eps,
                            float *tmp)
{
    ops->sub(N, w, wg, tmp);
    double d = ops->norm2(N, tmp);
    if (d > eps) {
        ops->copy(w, wg, N * sizeof(float));
        ops->axpy(N, (float)(eps / d), tmp, w);
    }
    return d;
}

static void project(ft_attack_ctx_t *c, ft_model_t *m)
{
    double d =
        ft_attack_project_l2(c->ops, c->N, ft_model_params(m), c->wg_dev, c->eps, c->tmp_dev);
    if (d > c->eps)
        c->projections++;
}

static void after_step(void *user, int epoch, int batch, ft_model_t *m)
{
    (void)epoch;
    ft_attack_ctx_t *c = user;
    if (batch % c->env->p.project_frequency == 0)
        project(c, m);
}

static void after_epoch(void *user, int epoch, ft_model_t *m)
{
    (void)epoch;
    project(user, m);
}

void ft_attack_pgd_constrain(ft_attack_ctx_t *c, ft_train_hooks_t *h)
{
    c->eps = ft_attack_pgd_radius(c->env, c->task);
    h->after_step = after_step;
    h->after_epoch = after_epoch;
}

const ft_attack_t ft_pgd_attack = {
    .name = "pgd",
    .cite = "Wang et al. NeurIPS 2020, Alg. 1: PGD with L2 projection onto ||w - w_g|| <= eps",
    .uses_edge_set = 1,
    .trains = 1,
    .check = ft_attack_pgd_check,
    .backdoor_test = ft_attack_edge_backdoor_test,
    .sample_count = ft_attack_edge_samples,
    .poison = ft_attack_edge_poison,
    .constrain = ft_attack_pgd_constrain,
};
