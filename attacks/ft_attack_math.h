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
#include "ft_experiment.h"
#include "ft_model.h"
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

/* attack.eps = auto (Wang et al. 2020 §4, PGD with replacement against NDC): the radius
 * 0.999 * bound / scale (scale <= 0: 1) — eps = M n_adv / N_round for the factor
 * N_round / n_adv — so the scaled update lands just under the norm bound M. (pgd.c) */
double ft_attack_auto_eps(double bound, double scale);

/* Neurotoxin's mask (Zhang et al. ICML 2022; official helper.py grad_mask_cv): mask_j = 1
 * for the k = floor(N ratio) coordinates with the smallest |g_j| (ties: the lower index),
 * 0 elsewhere; order is N scratch. Returns k. (neurotoxin.c) */
size_t ft_attack_neurotoxin_mask(size_t N, const float *g /* N */, double ratio,
                                 float *mask /* N */, uint64_t *order /* N */);

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
/* MinMax / MinSum (Shejwalkar & Houmansadr NDSS 2021, §IV-B; minmax.c): the mean of B
 * benign updates and the perturbation direction (unit vector of the mean, unbiased
 * coordinate-wise std, or sign of the mean). */
void ft_attack_agr_direction(size_t B, size_t N, const float *benign /* B×N */,
                             ft_perturbation_t kind, float *mean /* N */, float *dir /* N */);
/* The authors' binary search for gamma (minmax.c header); mal <- mean - gamma dir.
 * minsum: the sum-of-distances criterion. Returns gamma. */
double ft_attack_agr_gamma(size_t B, size_t N, const float *benign /* B×N */,
                           const float *mean /* N */, const float *dir /* N */, int minsum,
                           float *mal /* N */);
/* Fang et al. USENIX Security 2020, §3.2 (fang.c): the trim attack — per coordinate a
 * value beyond the benign min (mean > 0) or max, uniform in [min/2, min] / [2 min, min]
 * or [max, 2 max] / [max, max/2] by sign — and the Krum attack: -lambda sign(mean),
 * lambda halved from the paper's bound until Krum (m attacker copies) picks it;
 * returns the lambda sent (< 0: out of memory). */
void ft_attack_fang_trim(size_t B, size_t N, const float *benign /* B×N */, ft_rng_t *rng,
                         float *out /* N */);
double ft_attack_fang_krum(size_t B, size_t N, const float *benign /* B×N */, size_t m,
                           float *out /* N */);
/* Mimic (Karimireddy et al. ICLR 2022, §4; mimic.c): the index of the benign update
 * most extreme along the top principal direction; work holds B² + 2B + N doubles. */
size_t ft_attack_mimic_pick(size_t B, size_t N, const float *benign /* B×N */, double *work);
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
/* Pixel (row, col) of every channel of sample i <- v in [0, 1] (uint8: lrint(255 v));
 * outside the image: nothing. (pixel_trigger.c) */
void ft_attack_set_pixel(ft_dataset_t *ds, uint32_t i, int row, int col, float v);
/* The trigger family (pixel_trigger.c header): stamps shape on sample i — size for the
 * checkerboard and square, top-left (row, col) or, where negative, the shape's default
 * corner; blended: x' = (1 - alpha) x + alpha key, key uint8 from seed. */
void ft_attack_stamp_shape(ft_dataset_t *ds, uint32_t i, ft_trigger_t shape, int size, int row,
                           int col, double alpha, uint64_t seed);
/* DBA (Xie et al. ICLR 2020; dba.c): stamps local pattern `part` of `parts` (-1: all,
 * the global trigger) on sample i — part j a white 1 x size line at row
 * row0 + (j / q) 3, column col0 + (j % q)(size + 2), q = floor(sqrt(parts)). */
void ft_attack_dba_stamp(ft_dataset_t *ds, uint32_t i, int parts, int part, int size, int row0,
                         int col0);
/* Targeted label flip (Tolpegin et al. ESORICS 2020): labels source -> target.
 * (label_flip.c) */
void ft_attack_flip_labels(ft_dataset_t *ds, int source, int target);
/* A3FL (Zhang et al. NeurIPS 2023; a3fl.c): the trigger's 0/1 mask (C×H×W floats of
 * the training set's shape), a trigger_size square at (trigger_row, trigger_col),
 * default (2, 2), every channel. */
void ft_attack_a3fl_mask(const ft_attack_cfg_t *p, int c, int h, int w, float *mask);
/* A3FL's weight of the unlearning model (attacker.py:55-63): the mean over the layout's
 * tensors named "conv*" (all tensors when none is) of cos(adv_grad, G), each cosine
 * a.b / max(|a| |b|, 1e-8). */
double ft_attack_a3fl_weight(const ft_layout_t *layout, const float *adv_grad /* N */,
                             const float *G /* N */);

/* IBA (Nguyen et al., NeurIPS 2023; iba.c): x' = clamp(x + eps tanh(o), 0, 1) for n
 * pixels x (pixel units) and generator outputs o; and its backward: d loss / d o from
 * d loss / d x' (0 where the clamp cuts, as torch.clamp's gradient; dout may be dxp). */
void ft_attack_iba_perturb(const float *x, const float *o, size_t n, double eps, float *xp);
void ft_attack_iba_perturb_backward(const float *x, const float *o, size_t n, double eps,
                                    const float *dxp, float *dout);
/* One torch.optim.Adam step (betas 0.9, 0.999, eps 1e-8, no weight decay) of n
 * parameters p with gradient g, moments m and v (zero before step t = 1), step t >= 1. */
void ft_attack_adam_step(size_t n, float *p, const float *g, float *m, float *v, int t, double lr);
/* IBA's generator: the engine's mlp C·H·W -> iba_hidden -> C·H·W on ops. */
int ft_attack_iba_generator_new(const ft_attack_cfg_t *p, int c, int h, int w, int max_batch,
                                const ft_ops_t *ops, ft_model_t **out);
/* One generator step against a frozen classifier: buffers for batches of up to Bmax. */
typedef struct {
    ft_model_t *gen, *cls; /* the generator (trained) and the classifier (eval mode) */
    int c;                 /* channels */
    size_t S;              /* floats per sample */
    int target;            /* the target class */
    double eps, lr;        /* perturbation bound (pixel units), Adam's rate */
    float mean[FT_MAX_CHANNELS], std[FT_MAX_CHANNELS]; /* the classifier's normalisation */
    float *o, *xp, *xn;     /* Bmax×S host: generator output, x', norm(x') then gradients */
    float *logits;          /* Bmax×K host: logits, then d loss / d logits */
    float *grad, *params;   /* G host: the generator's gradient and parameters */
    float *adam_m, *adam_v; /* G host: Adam's moments */
    float *x_dev, *xn_dev, *dl_dev, *dx_dev, *dl_gen_dev; /* back-end copies */
    int t;                                                /* Adam steps taken */
    double loss;                                          /* the last step's mean CE */
} ft_attack_iba_step_t;
/* FT_ENOMEM (nothing left allocated). */
int ft_attack_iba_step_init(ft_attack_iba_step_t *s, ft_model_t *gen, ft_model_t *cls, int Bmax,
                            const float *mean, const float *std, int target, double eps, double lr);
void ft_attack_iba_step_free(ft_attack_iba_step_t *s);
/* x (B×S host, pixel units): the generator's outputs, x' (s->xp), CE(cls(norm(x')),
 * target) (s->loss), its gradient through the classifier and the generator, one Adam
 * step of the generator. Returns how many of the B the classifier (before the step)
 * calls target. */
int ft_attack_iba_step(ft_attack_iba_step_t *s, const float *x /* B×S */, int B);

/* Chameleon (Dai & Li, ICML 2023; chameleon.c): the supervised contrastive loss of a
 * batch (losses.py:22-109, contrast_mode all, base temperature = temperature) on the
 * features u (B×D, L2-normalised inside with F.normalize's eps 1e-12) with labels y:
 * anchors of the target class weigh their positives scale times. Returns the loss
 * and writes d loss / d u into du (B×D); work holds ft_attack_chameleon_work(B, D)
 * doubles (no allocation: it runs every step). */
double ft_attack_chameleon_supcon(const float *u /* B×D */, const int32_t *y /* B */, int B, int D,
                                  int target, double temperature, double scale, float *du /* B×D */,
                                  double *work);
size_t ft_attack_chameleon_work(int B, int D);
/* The contrastive stage's rate in epoch (1-based): lr times 0.005 per milestone 3, 5,
 * 7, 9 reached (MultiStepLR stepped before each epoch, training.py:137-140). */
double ft_attack_chameleon_lr(double lr, int epoch);

#endif
