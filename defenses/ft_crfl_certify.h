/* ft_crfl_certify: CRFL's test-time certification (Xie, Chen, Chen and Li, "CRFL:
 * Certifiably Robust Federated Learning against Backdoor Attacks", ICML 2021, §4-5,
 * Theorem 1), the maths only: bounds on the smoothed model's top-class and runner-up
 * probabilities from M noisy copies' votes, and the certified radius of a test point.
 * `fedtail certify` (cli/cmd_certify.c) draws the copies and counts the votes.
 *
 * Reference code AI-secure/CRFL: smooth_mnist.py:53-84 (votes, p_A, p_B),
 * certify_mnist.py:27-29 (Hoeffding bounds) and 104-140 (cal_prob_bound: the radius).
 * Golden values: tests/fixtures/defenses/gen_crfl_certify.py. */
#ifndef FT_CRFL_CERTIFY_H
#define FT_CRFL_CERTIFY_H

#include <stdint.h>

/* How p_A's lower and p_B's upper confidence bounds are taken, each at level 1 - alpha. */
typedef enum {
    FT_CRFL_HOEFFDING = 0,       /* p ∓ sqrt(ln(1/alpha) / 2M), as the authors' code */
    FT_CRFL_CLOPPER_PEARSON = 1, /* the exact binomial interval (Cohen et al. 2019) */
} ft_crfl_bound_t;

/* Theorem 1's quantities: the training run and the attacker it certifies against. */
typedef struct {
    double sigma_train; /* σ of the per-round model noise (defense.stddev) */
    double sigma_test;  /* σ of the test-time parameter smoothing */
    double rho;         /* the model-norm clip ρ, the same every round (defense.norm_bound) */
    double eta;         /* the clients' learning rate η */
    double tau;         /* local iterations per round (samples per client / batch x epochs) */
    int T;              /* the round of the certified model */
    int t_adv;          /* the round the attackers poison */
    int R;              /* number of attackers */
    double w2;          /* Σ p_i² over the attackers' aggregation weights p_i */
    double gamma;       /* the attackers' scale factor γ (model replacement) */
    double q;           /* poisoned share of a batch, q_B / n_B */
} ft_crfl_threat_t;

/* The top class k_A of votes (C counts; the lowest index on ties, as np.argmax), its
 * count n_A and the runner-up's count n_B (0 when no other class has a vote). */
void ft_crfl_top2(const uint32_t *votes /* C */, int C, int *k_a, uint32_t *n_a, uint32_t *n_b);

/* p_A's lower and p_B's upper bound from n_A and n_B of M votes (n_A + n_B <= M,
 * M >= 1, alpha in (0, 1)). Hoeffding keeps them in [1e-8, 1 - 1e-8] (the reference's
 * clamps); Clopper-Pearson gives 0 for n_A = 0 and 1 for n_B = M. */
void ft_crfl_bounds(uint32_t n_a, uint32_t n_b, uint32_t M, double alpha, ft_crfl_bound_t how,
                    double *pa, double *pb);

/* The certified radius (Theorem 1) of a point with bounds pa > pb: the prediction is
 * the same for every backdoor whose trigger has L2 norm below it. -1 when pa <= pb (not
 * certified: the theorem needs pa > pb, which the reference does not check), +inf when
 * pa >= 1 (the reference's 100000), 0 with no attacker influence defined (R = 0). */
double ft_crfl_radius(const ft_crfl_threat_t *t, double pa, double pb);

/* The inverse of the regularised incomplete beta function I_x(a, b) at p (the Beta(a, b)
 * quantile), a, b > 0, p in [0, 1]; to about 1e-12. */
double ft_beta_quantile(double p, double a, double b);

#endif
