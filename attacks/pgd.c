/* pgd: Wang et al., NeurIPS 2020, Algorithm 1 — projected gradient descent on D_adv
 * (the edge-case points + clean points, ft_attack_edge.c), projecting the model onto
 * the L2 ball ||w - w_g|| <= eps around the round's global model. As in the paper
 * code (ksreenivasan/OOD_Federated_Learning fl_trainer.py train(), proj "l_2"), the
 * projection is over the whole flat vector, after every step b with
 * b % project_frequency == 0 and after the last batch of each epoch. With
 * attack.adaptive_eps (by default under krum and multi-krum, as the paper code:
 * fl_trainer.py:463-466) the radius of round t is eps * lr_decay^(t-1). */
#include "ft_attack_internal.h"

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

static void constrain(ft_attack_ctx_t *c, ft_train_hooks_t *h)
{
    /* attack.adaptive_eps: eps * lr_decay^(t-1), as the paper code under Krum and
     * Multi-Krum (fl_trainer.py:463-466) */
    c->eps = c->env->p.eps *
             (c->env->adaptive_eps ? ft_attack_round_decay(c->env, c->task->round) : 1.0);
    h->after_step = after_step;
    h->after_epoch = after_epoch;
}

const ft_attack_t ft_pgd_attack = {
    .name = "pgd",
    .cite = "Wang et al. NeurIPS 2020, Alg. 1: PGD with L2 projection onto ||w - w_g|| <= eps",
    .uses_edge_set = 1,
    .trains = 1,
    .backdoor_test = ft_attack_edge_backdoor_test,
    .sample_count = ft_attack_edge_samples,
    .poison = ft_attack_edge_poison,
    .constrain = constrain,
};
