/* ft_attack_math: the pure maths of the attacks, exposed for tests and offline use.
 * Each function lives in the file of the attack it belongs to (pgd.c, alie.c, ...)
 * and cites its paper here; nothing here trains or allocates.
 *
 * Dimension letters: N parameters, B benign estimates. */
#ifndef FT_ATTACK_MATH_H
#define FT_ATTACK_MATH_H

#include <stddef.h>
#include <stdint.h>

#include "ft_dataset.h"
#include "ft_ops.h"
#include "ft_rng.h"

/* PGD L2 projection (Wang et al. 2020, Alg. 1 line "project"; paper code train()):
 * if ||w - wg||_2 > eps then w <- wg + eps (w - wg) / ||w - wg||_2, over the whole
 * flat vector, through ops (any back end; w, wg, tmp in its memory, tmp N scratch).
 * Returns ||w - wg||_2 before the projection. (pgd.c) */
double ft_attack_project_l2(const ft_ops_t *ops, size_t N, float *w, const float *wg, double eps,
                            float *tmp);

/* Model replacement factor (Bagdasaryan et al. AISTATS 2020, eq. 3, gamma = n/eta; the
 * paper code's total_num_dps_per_round / num_dps_poisoned_dataset): scale if > 0,
 * else round_samples / attacker_samples, else (round_samples unknown) K.
 * (ft_attack_run.c) */
double ft_attack_replacement_scale(double scale, uint64_t round_samples, uint64_t attacker_samples,
                                   int K);

/* Standard normal quantile Phi^{-1}(p), p in (0, 1) (bisection on erfc, |err| < 1e-12).
 * (alie.c) */
double ft_normal_quantile(double p);
/* Baruch et al. 2019, §3: s = floor(n/2 + 1) - m, z_max = Phi^{-1}((n - s) / n);
 * n workers, m malicious. Clamped to [0, 10]. (alie.c) */
double ft_attack_alie_z(int n, int m);
/* ALIE: out_j = mu_j - z sigma_j over B benign estimates (population std). (alie.c) */
void ft_attack_alie(size_t B, size_t N, const float *benign /* B×N */, double z, float *out);
/* IPM (Xie et al. UAI 2019, §3): out = -epsilon * mean of the B benign estimates.
 * (ipm.c) */
void ft_attack_ipm(size_t B, size_t N, const float *benign /* B×N */, double epsilon, float *out);
/* Sign flip (Li et al. AAAI 2019, RSA, "sign-flipping attack"): delta <- -delta.
 * (sign_flip.c) */
void ft_attack_sign_flip(size_t N, float *delta);
/* Gaussian update (Blanchard et al. NeurIPS 2017, §5): delta_i ~ N(0, std^2).
 * (gaussian.c) */
void ft_attack_gaussian(size_t N, double std, ft_rng_t *rng, float *delta);
/* BadNets trigger (Gu et al. 2017): a size×size checkerboard (white where
 * (row + col) is even, black elsewhere) one pixel in from the bottom-right corner,
 * in every channel, of sample i of ds (uint8 or float storage). (pixel_trigger.c) */
void ft_attack_stamp_trigger(ft_dataset_t *ds, uint32_t i, int size);
/* Targeted label flip (Tolpegin et al. ESORICS 2020): labels source -> target.
 * (label_flip.c) */
void ft_attack_flip_labels(ft_dataset_t *ds, int source, int target);

#endif
