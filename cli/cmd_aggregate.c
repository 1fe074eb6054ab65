/* fedtail aggregate: applies a defense offline to saved update vectors.
 *
 *   fedtail aggregate [EXP.ini] --defense NAME [--set defense.KEY=V ...]
 *                     --updates U.npy --counts C.npy --out OUT.npy [--report R.json]
 *                     [--server-update S.npy] [--round R] [--layers SIZES]
 *                     [--global G.npy] [--truth T.json]
 *
 * U is a K×N float32 array of deltas (what a run writes per round with
 * run.save_updates = true), C the K sample counts. The defense's parameters are
 * checked exactly as when an experiment is loaded, with K = the rows of U. The
 * aggregated delta (N) goes to OUT.npy; the per-client decisions (kept / dropped /
 * reweighted, clip factor, score, weight) to R.json. Client ids are 0..K-1 (the
 * rows' order); weak-dp noise comes from run.seed's noise stream for round R.
 * --layers tells layer-wise rules (lasa) the model layout: the parameter tensors'
 * sizes in order, comma-separated, a bias marked by a trailing 'b' ("150,6b,2400,16b");
 * without it the whole vector is one weight layer. The probe rules (deepsight, flare)
 * run the models G + U_i: they need --global (the global model before the round, N
 * floats, e.g. a checkpoint's parameters) and EXP.ini's [model] and [data] (the
 * model's input shape comes from the data set; flare's server set is the root set a
 * run of EXP.ini holds out, drawn the same way).
 *
 * The ground truth of a saved round (updates/round_NNNN.json beside round_NNNN.npy,
 * or --truth T.json; ft_round_truth.h) gives the rows their client ids and round and
 * says which rows are attackers: the decisions are then joined with it as the live
 * run joined them (ft_detect.h), and the detection figures printed and written to
 * R.json — the round's attackers_kept, honest_dropped, attacker_weight and
 * attacker_norm_share of metrics.csv, and TPR / FPR for a rule that selects. */
#include "ft_cli.h"

#include "ft_dataset_load.h"
#include "ft_detect.h"
#include "ft_probe.h"
#include "ft_round_truth.h"
#include "ft_scenario.h"

#include "ft_alloc.h"
#include "ft_dataset.h"
#include "ft_readers.h"
#include "ft_defense.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_fileio.h"
#include "ft_json.h"
#include "ft_rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *to)
{
    fprintf(to, "usage: fedtail aggregate [EXP.ini] --defense NAME [--set defense.KEY=V ...]\n"
                "                         --updates U.npy --counts C.npy --out OUT.npy\n"
                "                         [--report R.json] [--server-update S.npy] [--round R]\n"
                "                         [--layers SIZES] [--global G.npy] [--truth T.json]\n\n"
                "Applies a defense to saved update vectors: U is K x N float32 (one row per\n"
                "client), C holds the K sample counts; OUT.npy receives the aggregated delta\n"
                "(N) and R.json what the defense did with each update. fltrust needs\n"
                "--server-update (the root-set update, N). --layers gives layer-wise rules\n"
                "(lasa) the model's tensor sizes, comma-separated, biases marked 'b'\n"
                "(\"150,6b,2400,16b\", summing to N; default: one layer). deepsight and flare\n"
                "run the models: they need --global G.npy (the global model, N) and EXP.ini's\n"
                "[model] and [data] (flare: its root set is the server set). A defense plug-in\n"
                "instead: --set defense.plugin=./x.so (docs/write-a-defense.md). The ground\n"
                "truth of a saved round (round_NNNN.json beside round_NNNN.npy, or --truth)\n"
                "names the rows' clients and attackers: the detection figures of the run's\n"
                "metrics.csv (attackers kept, honest dropped, TPR/FPR, attacker weight and\n"
                "norm share) are printed and written to R.json. Defenses:");
    for (size_t i = 0; ft_defense_registry[i]; i++)
        fprintf(to, "%s %s", i ? "," : "", ft_defense_registry[i]->name);
    fprintf(to, "\n");
}

static const char *decision_name(ft_decision_t d)
{
    switch (d) {
    case FT_DECISION_KEPT: return "kept";
    case FT_DECISION_DROPPED: return "dropped";
    case FT_DECISION_REWEIGHTED: return "reweighted";
    case FT_DECISION_CLIPPED: return "clipped";
    }
    return "?";
}

/* JSON has no inf/nan: those become null. */
static void json_num(FILE *f, double v)
{
    char num[64];
    fputs(ft_json_num(num, sizeof num, v, -1), f);
}

/* A figure as metrics.csv writes it ("%.8g"), "n/a" where its cell is empty. */
static const char *figure(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "n/a");
    else
        snprintf(buf, cap, "%.8g", v);
    return buf;
}

/* One line of the round's detection figures, named as metrics.csv's columns, so a
 * replay can be read against the run's row for the round. */
static void print_detection(const ft_round_truth_t *t, const char *tpath, int selects,
                            const ft_detect_counts_t *c, const ft_detect_shares_t *sh)
{
    char a[32], b[32], w[32], ns[32], tp[32], fp[32];
    printf("round %u (%s): attackers=%lld attackers_kept=%s honest_dropped=%s "
           "attacker_weight=%s attacker_norm_share=%s tpr=%s fpr=%s\n",
           t->round, tpath, (long long)c->attackers,
           figure(a, sizeof a, selects ? (double)(c->attackers - c->attackers_dropped) : NAN),
           figure(b, sizeof b, selects ? (double)c->honest_dropped : NAN),
           figure(w, sizeof w, sh->attacker_weight), figure(ns, sizeof ns, sh->attacker_norm_share),
           figure(tp, sizeof tp, ft_detect_tpr(c)), figure(fp, sizeof fp, ft_detect_fpr(c)));
}

/* The ground truth of the saved round U.npy: tpath (--truth), else U's sibling
 * round_NNNN.json when it exists (NULL: none). into buf. */
static const char *truth_path(const char *tpath, const char *upath, char *buf, size_t cap)
{
    if (tpath)
        return tpath;
    size_t n = strlen(upath);
    if (n < 4 || strcmp(upath + n - 4, ".npy") != 0 || n + 2 > cap)
        return NULL;
    snprintf(buf, cap, "%.*s.json", (int)(n - 4), upath);
    return ft_path_exists(buf) ? buf : NULL;
}

/* Checks the truth t (from tpath) against the K rows and counts C (from cpath) and
 * the --round given (0: none). FT_EFORMAT / FT_EINVAL naming both files. */
static int check_truth(const ft_round_truth_t *t, const char *tpath, size_t K, const char *upath,
                       const float *C, const char *cpath, int round_given)
{
    if (t->k != K)
        return ft_error_set(FT_EFORMAT, "%s: %zu clients for the %zu rows of %s", tpath, t->k, K,
                            upath);
    for (size_t i = 0; i < K; i++)
        if (t->samples[i] != C[i])
            return ft_error_set(FT_EFORMAT, "%s: row %zu has %.0f samples, %s says %.0f", tpath, i,
                                (double)t->samples[i], cpath, (double)C[i]);
    if (round_given && (uint32_t)round_given != t->round)
        return ft_error_set(FT_EINVAL, "--round %d: %s is round %u", round_given, tpath, t->round);
    return FT_OK;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

/* The detection figures of a replay with ground truth, as a JSON object; its counts
 * partition the updates by decision as summary.json's do (attackers_kept: decision
 * kept), where the printed line follows metrics.csv (attackers_kept: not dropped). */
static void json_detection(FILE *f, const ft_detect_counts_t *c, const ft_detect_shares_t *sh)
{
    fprintf(f,
            ",\n  \"detection\": {\"attackers\": %lld, \"attackers_kept\": %lld, "
            "\"attackers_dropped\": %lld, \"attackers_reduced\": %lld, \"honest\": %lld, "
            "\"honest_dropped\": %lld, \"honest_reduced\": %lld, \"tpr\": ",
            (long long)c->attackers, (long long)c->attackers_kept, (long long)c->attackers_dropped,
            (long long)c->attackers_reduced, (long long)c->honest, (long long)c->honest_dropped,
            (long long)c->honest_reduced);
    json_num(f, ft_detect_tpr(c));
    fprintf(f, ", \"fpr\": ");
    json_num(f, ft_detect_fpr(c));
    fprintf(f, ", \"attacker_weight\": ");
    json_num(f, sh->attacker_weight);
    fprintf(f, ", \"attacker_norm_share\": ");
    json_num(f, sh->attacker_norm_share);
    fprintf(f, "}");
}

/* R.json: the rule, and per row its decision (with the ground truth when t is not
 * NULL: the row's client, attacker, detected, and the round's detection figures). */
static int write_report(const char *path, const ft_defense_t *d, int round, size_t K, size_t N,
                        const ft_defense_decision_t *dec, const ft_round_truth_t *t,
                        const ft_detect_counts_t *counts, const ft_detect_shares_t *shares)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return ft_error_set(FT_ENOMEM, "out of memory for the report");
    fprintf(f, "{\n  \"defense\": ");
    json_str(f, d->name);
    fprintf(f, ",\n  \"cite\": ");
    json_str(f, d->cite);
    fprintf(f, ",\n  \"selects\": %s", d->selects ? "true" : "false");
    fprintf(f, ",\n  \"round\": %d,\n  \"K\": %zu,\n  \"N\": %zu", round, K, N);
    if (t)
        json_detection(f, counts, shares);
    fprintf(f, ",\n  \"clients\": [\n");
    for (size_t i = 0; i < K; i++) {
        fprintf(f, "    {\"index\": %zu, \"client\": %lu, \"decision\": \"%s\", ", i,
                t ? (unsigned long)t->ids[i] : (unsigned long)i, decision_name(dec[i].decision));
        if (t)
            fprintf(f, "\"attacker\": %s, \"detected\": %s, ", t->attackers[i] ? "true" : "false",
                    ft_detect_flagged(&dec[i], d->selects) ? "true" : "false");
        fprintf(f, "\"clip_factor\": ");
        json_num(f, dec[i].clip_factor);
        fprintf(f, ", \"score\": ");
        json_num(f, dec[i].score);
        fprintf(f, ", \"weight\": ");
        json_num(f, dec[i].weight);
        fprintf(f, ", \"contribution\": ");
        json_num(f, dec[i].contrib_norm);
        fprintf(f, "}%s\n", i + 1 < K ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
    int rc = ft_write_file_atomic(path, text, len);
    free(text); /* open_memstream's buffer comes from malloc */
    return rc;
}

/* Parses --layers "n1,n2b,...": *L sizes summing to N into ends / is_weight (both
 * allocated, L entries; the caller frees). FT_EINVAL naming the option otherwise. */
static int parse_layers(const char *spec, size_t N, size_t **ends, uint8_t **isw, size_t *L)
{
    size_t n = 1;
    for (const char *p = spec; *p; p++)
        n += *p == ',';
    *ends = ft_malloc(n * sizeof **ends);
    *isw = ft_malloc(n);
    if (!*ends || !*isw)
        return ft_error_set(FT_ENOMEM, "out of memory for --layers");
    size_t total = 0;
    const char *p = spec;
    for (size_t l = 0; l < n; l++) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || v == 0 || v > N || *p == '-')
            return ft_error_set(FT_EINVAL, "--layers %s: tensor %zu is not a positive size", spec,
                                l + 1);
        (*isw)[l] = *end != 'b';
        end += *end == 'b';
        if (*end != (l + 1 < n ? ',' : '\0'))
            return ft_error_set(FT_EINVAL, "--layers %s: expected sizes like 150,6b,2400", spec);
        total += (size_t)v;
        (*ends)[l] = total;
        p = end + 1;
    }
    if (total != N)
        return ft_error_set(FT_EINVAL,
                            "--layers %s: the sizes sum to %zu, the updates have N = %zu", spec,
                            total, N);
    *L = n;
    return FT_OK;
}

/* The model probe of a rule that runs the models: the global model from gpath (N
 * floats), the experiment's model on its data set's input shape, and the root set as
 * the server set when the rule needs one. */
static int make_probe(const ft_experiment_t *exp, const ft_defense_t *d, const char *gpath,
                      size_t N, float **G, ft_probe_t **probe)
{
    if (!gpath)
        return ft_error_set(FT_EINVAL,
                            "defense %s runs the models: it needs --global G.npy (the global "
                            "model before the round, N = %zu floats) and EXP.ini's [model] and "
                            "[data]",
                            d->name, N);
    size_t ng = 0;
    int shape[4], ndim;
    int rc = ft_npy_read_floats(gpath, G, &ng, shape, &ndim);
    if (rc != FT_OK)
        return rc;
    if (ng != N)
        return ft_error_set(FT_EFORMAT, "%s: %zu values, the updates have N = %zu", gpath, ng, N);
    ft_dataset_t *test = NULL;
    ft_scenario_t *scn = NULL;
    int server = (d->needs_probe & FT_PROBE_SERVER_SET) != 0;
    if ((rc = ft_dataset_load(&exp->data, exp->run.seed, 0, &test)) != FT_OK)
        return rc;
    rc = ft_probe_new(exp, test->c, test->h, test->w, test->num_classes, N,
                      server ? (size_t)exp->defense.root_size : 0, probe);
    if (rc == FT_OK && server) {
        rc = ft_scenario_new(exp, NULL, 1, &scn);
        if (rc == FT_OK)
            rc = ft_probe_set_server(*probe, scn->train, scn->root_idx, scn->root_n);
    }
    ft_scenario_destroy(&scn);
    ft_dataset_destroy(&test);
    return rc;
}

int ft_cmd_aggregate(int argc, char **argv)
{
    static const char *const with_value[] = {
        "--defense",       "--updates", "--counts", "--report", "--round",
        "--server-update", "--layers",  "--global", "--truth",  NULL};
    ft_cli_t cli;
    if (ft_cli_parse(argc, argv, with_value, NULL, &cli) != FT_OK)
        return 2;
    if (cli.help) {
        usage(stdout);
        ft_cli_free(&cli);
        return 0;
    }
    const char *name = ft_cli_option(&cli, "--defense");
    const char *upath = ft_cli_option(&cli, "--updates");
    const char *cpath = ft_cli_option(&cli, "--counts");
    const char *rpath = ft_cli_option(&cli, "--report");
    const char *spath = ft_cli_option(&cli, "--server-update");
    const char *rstr = ft_cli_option(&cli, "--round");
    const char *lstr = ft_cli_option(&cli, "--layers");
    const char *gpath = ft_cli_option(&cli, "--global");
    const char *tpath = ft_cli_option(&cli, "--truth");
    char tbuf[4096];
    ft_round_truth_t truth = {0};
    int have_truth = 0;
    ft_detect_counts_t counts;
    ft_detect_shares_t shares;
    float *G = NULL;
    ft_probe_t *probe = NULL;
    size_t *lends = NULL, nlayers = 0;
    uint8_t *lisw = NULL;
    const char *opath = cli.out_dir;
    float *U = NULL, *C = NULL, *S = NULL, *out = NULL;
    uint32_t *ids = NULL;
    ft_defense_decision_t *dec = NULL;
    void *state = NULL, *ws = NULL;
    const ft_defense_t *d = NULL;
    int rc = FT_OK, exit_code = 1;

    if (!upath || !cpath || !opath) {
        fprintf(stderr, "fedtail aggregate: --updates, --counts and --out are required\n\n");
        usage(stderr);
        exit_code = 2;
        goto done;
    }
    if (name && (rc = ft_config_set_value(cli.cfg, "defense.name", name, "--defense")) != FT_OK)
        goto fail;
    int round = 1, round_given = 0;
    if (rstr) {
        char *end;
        long r = strtol(rstr, &end, 10);
        if (*end || r < 1 || r > 1000000000) {
            rc = ft_error_set(FT_EINVAL, "--round %s: must be a positive integer", rstr);
            goto fail;
        }
        round = round_given = (int)r;
    }

    size_t nu = 0, nc = 0, ns = 0;
    int shape[4], ndim;
    if ((rc = ft_npy_read_floats(upath, &U, &nu, shape, &ndim)) != FT_OK)
        goto fail;
    if (ndim != 2 || shape[0] < 1 || shape[1] < 1) {
        rc = ft_error_set(FT_EFORMAT, "%s: expected a K x N array of updates, got %d dimensions",
                          upath, ndim);
        goto fail;
    }
    size_t K = (size_t)shape[0], N = (size_t)shape[1];
    if ((rc = ft_npy_read_floats(cpath, &C, &nc, shape, &ndim)) != FT_OK)
        goto fail;
    if (nc != K) {
        rc = ft_error_set(FT_EFORMAT, "%s: %zu sample counts for %zu updates in %s", cpath, nc, K,
                          upath);
        goto fail;
    }

    if ((tpath = truth_path(tpath, upath, tbuf, sizeof tbuf))) {
        if ((rc = ft_round_truth_read(tpath, &truth)) != FT_OK ||
            (rc = check_truth(&truth, tpath, K, upath, C, cpath, round_given)) != FT_OK)
            goto fail;
        have_truth = 1;
        round = (int)truth.round;
    }

    /* The rule's constraints are checked against this file's K. */
    char kbuf[32];
    snprintf(kbuf, sizeof kbuf, "%zu", K);
    if ((rc = ft_config_set_value(cli.cfg, "federation.clients_per_round", kbuf, upath)) != FT_OK)
        goto fail;
    /* The K rows are this round's whole population (ids 0..K-1), so a K beyond the
     * config's num_clients is no error here. (The config is edited before it is read
     * into an experiment, so the value is looked up by name.) */
    if ((int64_t)K > ft_config_int(cli.cfg, "federation.num_clients") &&
        (rc = ft_config_set_value(cli.cfg, "federation.num_clients", kbuf, upath)) != FT_OK)
        goto fail;
    ft_experiment_t exp;
    if ((rc = ft_experiment_read(cli.cfg, &exp)) != FT_OK)
        goto fail;
    if ((rc = ft_defense_check(&exp.defense, K)) != FT_OK)
        goto fail;
    d = ft_defense_for(&exp.defense);
    if (d->needs_server_update) {
        if (!spath) {
            rc = ft_error_set(FT_EINVAL,
                              "defense %s needs --server-update S.npy (the root-set "
                              "update)",
                              d->name);
            goto fail;
        }
        if ((rc = ft_npy_read_floats(spath, &S, &ns, shape, &ndim)) != FT_OK)
            goto fail;
        if (ns != N) {
            rc = ft_error_set(FT_EFORMAT, "%s: %zu values, the updates have N = %zu", spath, ns, N);
            goto fail;
        }
    }

    if (lstr && (rc = parse_layers(lstr, N, &lends, &lisw, &nlayers)) != FT_OK)
        goto fail;
    if (d->needs_probe && (rc = make_probe(&exp, d, gpath, N, &G, &probe)) != FT_OK)
        goto fail;
    out = ft_malloc(N * sizeof *out);
    dec = ft_calloc(K, sizeof *dec);
    ids = ft_malloc(K * sizeof *ids);
    ws = ft_malloc(ft_defense_workspace(d, K, N, probe ? ft_probe_get(probe) : NULL) + 1);
    if (!out || !dec || !ids || !ws) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for %zu x %zu updates", K, N);
        goto fail;
    }
    for (size_t i = 0; i < K; i++) /* the run's ids where known: rules may key on them */
        ids[i] = have_truth ? truth.ids[i] : (uint32_t)i;
    if ((rc = d->create(&exp.defense, K, N, K, &state)) != FT_OK)
        goto fail;
    ft_rng_t rng;
    ft_rng_init(&rng, exp.run.seed, (uint32_t)round, 0, FT_RNG_NOISE);
    ft_defense_input_t in = {.round = round,
                             .K = K,
                             .N = N,
                             .updates = U,
                             .counts = C,
                             .ids = ids,
                             .global = G,
                             .server_update = S,
                             .rng = &rng,
                             .num_layers = nlayers,
                             .layer_ends = lends,
                             .layer_is_weight = lisw,
                             .probe = probe ? ft_probe_get(probe) : NULL};
    if ((rc = d->aggregate(state, &in, out, dec, ws)) != FT_OK)
        goto fail;
    int oshape[1] = {(int)N};
    if ((rc = ft_npy_write_floats(opath, out, oshape, 1)) != FT_OK)
        goto fail;
    if (have_truth)
        ft_detect_join(K, truth.attackers, dec, d->selects, NULL, &counts, &shares);
    if (rpath && (rc = write_report(rpath, d, round, K, N, dec, have_truth ? &truth : NULL, &counts,
                                    &shares)) != FT_OK)
        goto fail;
    if (!cli.quiet) {
        size_t count[4] = {0, 0, 0, 0};
        for (size_t i = 0; i < K; i++)
            if ((unsigned)dec[i].decision < 4)
                count[dec[i].decision]++;
        printf("%s: %zu updates of %zu -> %s (kept %zu, dropped %zu, reweighted %zu, clipped "
               "%zu)\n",
               d->name, K, N, opath, count[FT_DECISION_KEPT], count[FT_DECISION_DROPPED],
               count[FT_DECISION_REWEIGHTED], count[FT_DECISION_CLIPPED]);
        if (have_truth)
            print_detection(&truth, tpath, d->selects, &counts, &shares);
    }
    exit_code = 0;
    goto done;
fail:
    ft_cli_fail(rc);
    exit_code = 1;
done:
    if (d && state)
        d->destroy(&state);
    ft_free(ws);
    ft_round_truth_free(&truth);
    ft_probe_destroy(&probe);
    ft_free(G);
    ft_free(lends);
    ft_free(lisw);
    ft_free(ids);
    ft_free(dec);
    ft_free(out);
    ft_free(S);
    ft_free(C);
    ft_free(U);
    ft_cli_free(&cli);
    return exit_code;
}
