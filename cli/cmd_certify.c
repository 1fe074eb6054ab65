/* fedtail certify: CRFL's test-time certification of a model trained with
 * defense.name = crfl (Xie et al., ICML 2021, §4 parameter smoothing and Theorem 1;
 * the authors' smooth_mnist.py and certify_mnist.py in AI-secure/CRFL).
 *
 * M noisy copies w + N(0, σ_test² I) of the final model vote on each test point; the
 * top class k_A and the runner-up's votes give bounds p_A (lower) and p_B (upper) at
 * level 1 - alpha, and Theorem 1 turns them into the point's certified radius: the
 * smoothed prediction is k_A against every backdoor (of the threat model: R attackers
 * poisoning round t_adv with scale γ and a share q of each batch) whose trigger has
 * an L2 norm below it. The certified accuracy at radius r is the share of points
 * whose k_A is their label and whose radius is at least r. The maths is
 * defenses/ft_crfl_certify.c; this file draws the copies and counts the votes.
 *
 * Copy m's noise comes from stream (run.seed, m, 0, FT_RNG_CERTIFY): a rerun gives
 * the same radii. */
#include "ft_cli.h"

#include "ft_dataset_load.h"
#include "ft_global.h"

#include "ft_alloc.h"
#include "ft_crfl_certify.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_json.h"
#include "ft_model.h"
#include "ft_ops.h"
#include "ft_rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: fedtail certify EXP.ini --model CKPT [--set k=v ...] [--samples M] [--sigma S]\n"
    "                       [--alpha A] [--bound hoeffding|clopper-pearson] [--test-n N]\n"
    "                       [--radii R1,R2,...] [--csv FILE] [--json]\n"
    "                       [--attackers R] [--attack-round T_ADV] [--round T] [--gamma G]\n"
    "                       [--poison-frac Q] [--weight P] [--local-iters TAU]\n"
    "\n"
    "Certifies CKPT, a model trained with EXP.ini under defense.name = crfl (CRFL, Xie\n"
    "et al. 2021): M noisy copies (parameters + N(0, S^2)) vote on each of the first N test\n"
    "points, and Theorem 1 gives each point's certified radius from the vote's bounds.\n"
    "Prints the smoothed and the certified accuracy at each radius.\n"
    "\n"
    "  --model CKPT        the model (a run's final.ckpt or a round checkpoint)\n"
    "  --samples M         noisy copies (default 100)\n"
    "  --sigma S           their noise std (default defense.stddev, the training noise)\n"
    "  --alpha A           1 - confidence of each bound (default 0.001, as the authors)\n"
    "  --bound B           hoeffding (default, the authors' code) or clopper-pearson\n"
    "  --test-n N          test points (default: all)\n"
    "  --radii LIST        radii to report (default 0,0.001,0.002,0.005,0.01,0.02,0.05,0.1)\n"
    "  --csv FILE          one row per test point: idx,label,top,n_a,n_b,p_a,p_b,radius,correct\n"
    "  --json              the summary as one JSON object on stdout\n"
    "The threat model Theorem 1 certifies against (defaults from EXP.ini):\n"
    "  --attackers R       attackers (default attack.attacker_pool_size, 1 without an attack)\n"
    "  --attack-round T    the round they poison (default attack.attack_from)\n"
    "  --round T           the round of CKPT (default federation.rounds)\n"
    "  --gamma G           their scale factor (default attack.scale with model replacement,\n"
    "                      K / R for scale 0; 1 without)\n"
    "  --poison-frac Q     poisoned share of a batch (default 1, the worst case)\n"
    "  --weight P          each attacker's aggregation weight (default 1 / K)\n"
    "  --local-iters TAU   local iterations a round (default local_epochs x training samples\n"
    "                      / num_clients / batch_size, as the authors' 60000 / N / n_B)\n"
    "eta is federation.lr, rho defense.norm_bound, sigma_train defense.stddev.\n";

/* A numeric option's value, def when absent; FT_ECONFIG naming the flag if malformed
 * or below lo. */
static int num_opt(const ft_cli_t *cli, const char *flag, double def, double lo, double *out)
{
    const char *v = ft_cli_option(cli, flag);
    *out = def;
    if (!v)
        return FT_OK;
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !isfinite(x) || x < lo)
        return ft_error_set(FT_ECONFIG, "certify: %s '%s': want a number >= %g", flag, v, lo);
    *out = x;
    return FT_OK;
}

/* Votes (n×C) of M noisy copies of the model's current parameters on test points
 * 0..n; base (N) is restored into the model afterwards. FT_ENOMEM / FT_EINVAL. */
static int count_votes(ft_model_t *m, const ft_dataset_t *ds, uint32_t n, uint32_t M, double sigma,
                       uint64_t seed, uint32_t *votes)
{
    const ft_ops_t *ops = ft_model_ops(m);
    size_t N = ft_model_num_params(m), sample = ft_dataset_sample_size(ds);
    int Bmax = ft_model_max_batch(m), C = ft_model_num_classes(m);
    int rc = FT_OK;
    float *base = ft_malloc(N * sizeof(float)), *noisy = ft_malloc(N * sizeof(float));
    float *xh = ft_malloc((size_t)Bmax * sample * sizeof(float));
    int32_t *yh = ft_malloc((size_t)Bmax * sizeof(int32_t));
    uint32_t *bidx = ft_malloc((size_t)Bmax * sizeof(uint32_t));
    float *logits_h = ft_malloc((size_t)Bmax * C * sizeof(float));
    float *xd = ops->alloc((size_t)Bmax * sample * sizeof(float));
    if (!base || !noisy || !xh || !yh || !bidx || !logits_h || !xd) {
        rc = ft_error_set(FT_ENOMEM, "certify: out of memory");
        goto done;
    }
    ft_model_get_params(m, base);
    ft_model_set_training(m, 0);
    for (uint32_t k = 0; k < M; k++) {
        ft_rng_t rng;
        ft_rng_init(&rng, seed, k, 0, FT_RNG_CERTIFY);
        for (size_t j = 0; j < N; j++)
            noisy[j] = (float)(base[j] + sigma * ft_rng_normal(&rng));
        ft_model_set_params(m, noisy);
        for (uint32_t start = 0; start < n; start += (uint32_t)Bmax) {
            int B = (int)(n - start < (uint32_t)Bmax ? n - start : (uint32_t)Bmax);
            for (int b = 0; b < B; b++)
                bidx[b] = start + (uint32_t)b;
            ft_dataset_gather(ds, bidx, B, xh, yh);
            ops->upload(xd, xh, (size_t)B * sample * sizeof(float));
            ops->download(logits_h, ft_model_forward(m, xd, B), (size_t)B * C * sizeof(float));
            for (int b = 0; b < B; b++) {
                const float *row = logits_h + (size_t)b * C;
                int best = 0; /* the first maximum, as torch's max(1) */
                for (int c = 1; c < C; c++)
                    if (row[c] > row[best])
                        best = c;
                votes[(size_t)(start + b) * C + best]++;
            }
        }
    }
    ft_model_set_params(m, base);
done:
    ft_free(base);
    ft_free(noisy);
    ft_free(xh);
    ft_free(yh);
    ft_free(bidx);
    ft_free(logits_h);
    ops->free(xd);
    return rc;
}

/* The threat model from the options, with EXP.ini's defaults. */
static int read_threat(const ft_cli_t *cli, const ft_experiment_t *exp, double sigma_test,
                       ft_crfl_threat_t *t)
{
    const ft_attack_cfg_t *a = &exp->attack;
    int attacked = strcmp(a->method, "none") != 0;
    double K = exp->federation.clients_per_round;
    double R = 1, tadv = 1, T = 1, gamma = 1, q = 1, w = 0, tau = 1;
    int rc = num_opt(cli, "--attackers", attacked ? a->attacker_pool_size : 1, 1, &R);
    if (rc == FT_OK)
        rc = num_opt(cli, "--attack-round", a->attack_from, 1, &tadv);
    if (rc == FT_OK)
        rc = num_opt(cli, "--round", exp->federation.rounds, 1, &T);
    double g0 = attacked && a->model_replacement ? (a->scale > 0 ? a->scale : K / R) : 1;
    if (rc == FT_OK)
        rc = num_opt(cli, "--gamma", g0, 0, &gamma);
    if (rc == FT_OK)
        rc = num_opt(cli, "--poison-frac", 1, 0, &q);
    if (rc == FT_OK)
        rc = num_opt(cli, "--weight", 1 / K, 0, &w);
    if (rc == FT_OK && q > 1)
        rc = ft_error_set(FT_ECONFIG, "certify: --poison-frac %g: a share, at most 1", q);
    if (rc == FT_OK && tadv > T)
        rc = ft_error_set(FT_ECONFIG, "certify: --attack-round %g is after --round %g", tadv, T);
    if (rc != FT_OK)
        return rc;
    if (ft_cli_option(cli, "--local-iters")) {
        rc = num_opt(cli, "--local-iters", 1, 0, &tau);
    } else {
        ft_dataset_t *train = NULL;
        rc = ft_dataset_load(&exp->data, exp->run.seed, 1, &train);
        if (rc != FT_OK)
            return rc;
        tau = exp->federation.local_epochs * (double)train->n / exp->federation.num_clients /
              exp->federation.batch_size;
        ft_dataset_destroy(&train);
    }
    if (rc != FT_OK)
        return rc;
    *t = (ft_crfl_threat_t){.sigma_train = exp->defense.stddev,
                            .sigma_test = sigma_test,
                            .rho = exp->defense.norm_bound,
                            .eta = exp->federation.lr,
                            .tau = tau,
                            .T = (int)T,
                            .t_adv = (int)tadv,
                            .R = (int)R,
                            .w2 = R * w * w,
                            .gamma = gamma,
                            .q = q};
    return FT_OK;
}

/* Parses "r1,r2,..." into radii (at most cap); their count, or -1 if malformed. */
static int parse_radii(const char *s, double *radii, int cap)
{
    int n = 0;
    for (const char *p = s; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        char *end;
        double r = strtod(p, &end);
        if (end == p || (*end && *end != ',') || !(r >= 0) || n == cap)
            return -1;
        radii[n++] = r;
    }
    return n;
}

static void json_num(FILE *f, double v)
{
    char num[64];
    fputs(ft_json_num(num, sizeof num, v, -1), f);
}

int ft_cmd_certify(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    static const char *const with_value[] = {
        "--model",       "--samples",      "--sigma",       "--alpha",
        "--bound",       "--test-n",       "--radii",       "--csv",
        "--attackers",   "--attack-round", "--round",       "--gamma",
        "--poison-frac", "--weight",       "--local-iters", NULL};
    ft_cli_t cli;
    if (ft_cli_parse(argc, argv, with_value, NULL, &cli) != FT_OK) {
        fputs(usage, stderr);
        return 2;
    }
    int rc = FT_OK;
    ft_global_t *g = NULL;
    uint32_t *votes = NULL;
    FILE *csv = NULL;
    const char *model = ft_cli_option(&cli, "--model");
    if (!model) {
        fprintf(stderr, "fedtail certify: --model CKPT is required\n%s", usage);
        ft_cli_free(&cli);
        return 2;
    }
    /* the checkpoint becomes the model ft_global starts from (its layout is checked) */
    rc = ft_config_set_value(cli.cfg, "federation.init", model, "--model");
    ft_experiment_t exp;
    if (rc == FT_OK)
        rc = ft_experiment_read(cli.cfg, &exp);
    if (rc == FT_OK && strcmp(exp.defense.name, "crfl") != 0)
        rc = ft_error_set(FT_ECONFIG,
                          "certify: key defense.name = '%s': Theorem 1 certifies a model trained "
                          "with defense.name = crfl (the model clipped to defense.norm_bound and "
                          "noised with defense.stddev every round)",
                          exp.defense.name);
    if (rc == FT_OK && !(exp.defense.stddev > 0))
        rc = ft_error_set(FT_ECONFIG,
                          "certify: key defense.stddev = %g: CRFL's certificate needs "
                          "the training noise sigma > 0",
                          exp.defense.stddev);
    double M_d = 100, sigma = 0, alpha = 0.001, test_n_d = 0;
    if (rc == FT_OK)
        rc = num_opt(&cli, "--samples", 100, 1, &M_d);
    if (rc == FT_OK)
        rc = num_opt(&cli, "--sigma", exp.defense.stddev, 0, &sigma);
    if (rc == FT_OK)
        rc = num_opt(&cli, "--alpha", 0.001, 0, &alpha);
    if (rc == FT_OK && !(alpha > 0 && alpha < 1))
        rc = ft_error_set(FT_ECONFIG, "certify: --alpha %g: want a value in (0, 1)", alpha);
    if (rc == FT_OK && !(sigma > 0))
        rc =
            ft_error_set(FT_ECONFIG, "certify: --sigma %g: the smoothing noise must be > 0", sigma);
    if (rc == FT_OK)
        rc = num_opt(&cli, "--test-n", 0, 0, &test_n_d);
    ft_crfl_bound_t how = FT_CRFL_HOEFFDING;
    const char *bound = ft_cli_option(&cli, "--bound");
    if (rc == FT_OK && bound) {
        if (strcmp(bound, "clopper-pearson") == 0)
            how = FT_CRFL_CLOPPER_PEARSON;
        else if (strcmp(bound, "hoeffding") != 0)
            rc = ft_error_set(FT_ECONFIG,
                              "certify: --bound '%s': want hoeffding or clopper-pearson", bound);
    }
    double radii[64];
    const char *rs = ft_cli_option(&cli, "--radii");
    int nr = parse_radii(rs ? rs : "0,0.001,0.002,0.005,0.01,0.02,0.05,0.1", radii, 64);
    if (rc == FT_OK && nr < 1)
        rc = ft_error_set(FT_ECONFIG, "certify: --radii '%s': want r1,r2,... (each >= 0)", rs);
    ft_crfl_threat_t threat;
    if (rc == FT_OK)
        rc = read_threat(&cli, &exp, sigma, &threat);
    if (rc == FT_OK)
        rc = ft_global_new(&exp, exp.federation.clients_per_round, &g);
    if (rc != FT_OK)
        goto done;
    const ft_dataset_t *test = ft_global_test(g);
    ft_model_t *m = ft_global_model(g);
    ft_model_set_params(m, ft_global_params(g));
    uint32_t n = test_n_d > 0 && test_n_d < test->n ? (uint32_t)test_n_d : test->n;
    uint32_t M = (uint32_t)M_d;
    int C = ft_model_num_classes(m);
    votes = ft_calloc((size_t)n * C, sizeof *votes);
    if (!votes) {
        rc = ft_error_set(FT_ENOMEM, "certify: out of memory for %u x %d votes", n, C);
        goto done;
    }
    if (!cli.quiet && !cli.json)
        fprintf(stderr, "fedtail certify: %u noisy copies (sigma %g) on %u test points\n", M, sigma,
                n);
    if ((rc = count_votes(m, test, n, M, sigma, exp.run.seed, votes)) != FT_OK)
        goto done;
    const char *csv_path = ft_cli_option(&cli, "--csv");
    if (csv_path && !(csv = fopen(csv_path, "w"))) {
        rc = ft_error_set(FT_EIO, "certify: cannot write %s", csv_path);
        goto done;
    }
    if (csv)
        fprintf(csv, "idx,label,top,n_a,n_b,p_a,p_b,radius,correct\n");
    uint32_t smoothed_ok = 0, abstain = 0, cert[64] = {0};
    for (uint32_t i = 0; i < n; i++) {
        int ka;
        uint32_t na, nb;
        ft_crfl_top2(votes + (size_t)i * C, C, &ka, &na, &nb);
        double pa, pb;
        ft_crfl_bounds(na, nb, M, alpha, how, &pa, &pb);
        double r = ft_crfl_radius(&threat, pa, pb);
        int ok = ka == test->labels[i];
        smoothed_ok += ok;
        abstain += r < 0;
        for (int k = 0; k < nr; k++)
            cert[k] += ok && r >= 0 && r >= radii[k];
        if (csv)
            fprintf(csv, "%u,%d,%d,%u,%u,%.9g,%.9g,%.9g,%d\n", i, test->labels[i], ka, na, nb, pa,
                    pb, r, ok);
    }
    if (cli.json) {
        printf("{\"samples\":%u,\"sigma\":", M);
        json_num(stdout, sigma);
        printf(",\"alpha\":");
        json_num(stdout, alpha);
        printf(",\"bound\":\"%s\",\"test_n\":%u,\"smoothed_accuracy\":",
               how == FT_CRFL_HOEFFDING ? "hoeffding" : "clopper-pearson", n);
        json_num(stdout, (double)smoothed_ok / n);
        printf(",\"abstain\":");
        json_num(stdout, (double)abstain / n);
        printf(",\"certified\":[");
        for (int k = 0; k < nr; k++) {
            printf("%s{\"radius\":", k ? "," : "");
            json_num(stdout, radii[k]);
            printf(",\"accuracy\":");
            json_num(stdout, (double)cert[k] / n);
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("smoothed accuracy %.4f (%u of %u; not certified: %u)\n", (double)smoothed_ok / n,
               smoothed_ok, n, abstain);
        printf("%10s  %s\n", "radius", "certified accuracy");
        for (int k = 0; k < nr; k++)
            printf("%10g  %.4f\n", radii[k], (double)cert[k] / n);
    }
done:
    if (csv && fclose(csv) != 0 && rc == FT_OK)
        rc = ft_error_set(FT_EIO, "certify: error writing %s", ft_cli_option(&cli, "--csv"));
    ft_free(votes);
    ft_global_destroy(&g);
    ft_cli_free(&cli);
    return rc == FT_OK ? 0 : ft_cli_fail(rc);
}
