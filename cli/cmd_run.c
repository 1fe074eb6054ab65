/* fedtail run: a whole federated experiment on this machine — the coordinator in
 * this process and P client processes (fork + exec of this executable as
 * `fedtail client --connect ipc://...`, so each child is a clean process;
 * ft_children.h).
 *
 * Ctrl-C / SIGTERM: the coordinator stops after telling the clients to shut down,
 * the children are reaped (killed if they do not exit within a few seconds) and the
 * run directory is left with complete files (metrics up to the last finished round,
 * final.ckpt with complete=0). Exits 0 only if the run completed; 3 when a round
 * left NaN/Inf in the global model and run.on_nonfinite = stop ended the run (its
 * files are complete up to that round and the verdict says so). With run.compare,
 * an arm whose model was destroyed does not stop the others: every arm runs, each
 * gets its verdict, and the exit status is 3 if any arm's model was destroyed.
 *
 * --resume RUN_DIR continues a run that was killed or interrupted from its newest
 * good checkpoint, with the config stored there (coordinator/ft_resume.h).
 * security.curve = on works without any key set-up: the run makes its own keys
 * in RUN_DIR/keys (ft_local_keys.h, docs/security.md). With run.compare set, each
 * variant (ft_variants.h) runs into DIR/<slug> and the report compares them; with
 * run.seeds (or --seeds) set, each variant — or the one experiment — runs once per
 * seed into .../seed-S, finished seeds are skipped when the command is run again,
 * and the summaries show mean ± sample std over the seeds (ft_seeds.h,
 * ft_seed_summary.h); with federation.init = pretrain, a cached centralised model is
 * trained or reused first (per seed: it is a function of run.seed). At the end:
 * plots, report.html and the verdict. */
#include "ft_cli.h"
#include "ft_pretrain_cache.h"
#include "ft_alloc.h"
#include "ft_children.h"
#include "ft_coordinator.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_key_set.h"
#include "ft_launcher.h"
#include "ft_local_keys.h"
#include "ft_log.h"
#include "ft_out_dir.h"
#include "ft_progress.h"
#include "ft_report.h"
#include "ft_seed_summary.h"
#include "ft_seeds.h"
#include "ft_serve.h"
#include "ft_sha256.h"
#include "ft_variants.h"
#include "ft_verdict.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
    printf("usage: fedtail run [EXP.ini] [--set section.key=value ...] [--out DIR] [--procs P]\n"
           "                   [--seeds S1,S2,...] [--force] [--quiet] [--json] [--no-report]\n"
           "                   [--serve [ADDR:]PORT]\n"
           "       fedtail run --resume RUN_DIR [--procs P] [--quiet] [--json] [--no-report]\n"
           "                   [--serve [ADDR:]PORT]\n\n"
           "Runs a federated experiment on this machine: one coordinator and P client\n"
           "processes (default: the number of cores) over ipc://. Without EXP.ini the\n"
           "built-in defaults are used (Fashion-MNIST, lenet5, FedAvg). Writes config.ini,\n"
           "metrics.csv, events.jsonl and final.ckpt to DIR (default runs/run-DATE), then\n"
           "plots and report.html. With run.compare set, runs each variant into DIR/<label>\n"
           "and compares them; with federation.init = pretrain, trains (or reuses) a\n"
           "centralised model first.\n"
           "  --procs P  client processes\n"
           "  --seeds S1,S2,...  run every variant once per seed (as run.seeds) into\n"
           "             DIR/seed-S or DIR/<label>/seed-S; finished seeds are skipped when\n"
           "             the same command runs again; summaries show mean ± sample std\n"
           "  --force    write into an --out that already holds a run (else refused)\n"
           "  --resume RUN_DIR  continue a killed or interrupted run from its newest good\n"
           "             checkpoint (run.checkpoint_every), with the run's own config\n"
           "  --serve [ADDR:]PORT  a live web page of the run (every arm) on\n"
           "             http://127.0.0.1:PORT/ (ADDR: another address, then the printed URL\n"
           "             carries a token that every request needs; docs/security.md)\n"
           "  --quiet    no progress line\n"
           "  --json     one JSON object per round on stdout\n"
           "  --no-report  skip the plots and report.html\n"
           "  --launcher slurm|mpirun|local  start the run as a fleet of the scheduler's\n"
           "             tasks (task 0 the coordinator, the others client processes) with\n"
           "             --nodes N --procs-per-node P (tasks per node, default 2)\n"
           "             --gpus-per-proc G --partition X --time T (Slurm) --port PORT\n"
           "             --wait S --dry-run --no-wait (Slurm); docs/cluster.md\n\n"
           "Exit status: 0 complete, 1 error, 2 bad usage, 130 interrupted, 3 a round left\n"
           "NaN/Inf in the global model (run.on_nonfinite = stop; with run.compare, every\n"
           "arm still runs and 3 means at least one arm's model was destroyed).\n");
}

/* Runs one federated experiment into out: the coordinator here, procs client
 * processes as children. Returns FT_OK, FT_EINTR (Ctrl-C), FT_ENONFINITE (a round
 * destroyed the model; the run directory is complete up to it) or an error;
 * *started says whether the coordinator was set up (before that the run has written
 * nothing but, with security.curve, its keys). */
/* The live view (--serve), for every run of the command. */
static ft_serve_t serve;

static int run_one(const ft_config_t *cfg_in, const char *out, long procs, const ft_cli_t *cli,
                   int resume, int arm, int *started)
{
    char abs[PATH_MAX], endpoint[2 * PATH_MAX + 16];
    *started = 0;
    /* ipc:// paths are limited to ~107 bytes (sockaddr_un); fall back to /tmp. out
     * may not exist yet (the coordinator makes it): then it is taken from the cwd. */
    char cwd[PATH_MAX] = "";
    int have_abs = realpath(out, abs) != NULL;
    if (!have_abs && (out[0] == '/' || getcwd(cwd, sizeof cwd)))
        have_abs =
            (size_t)snprintf(abs, sizeof abs, "%s%s%s", cwd, cwd[0] ? "/" : "", out) < sizeof abs;
    if (have_abs && strlen(abs) + 16 < 100)
        snprintf(endpoint, sizeof endpoint, "ipc://%s/coord.sock", abs);
    else
        snprintf(endpoint, sizeof endpoint, "ipc:///tmp/fedtail-%d.sock", (int)getpid());

    static ft_children_t ch;
    memset(&ch, 0, sizeof ch);
    ft_local_keys_t keys;
    ft_config_t *cfg = ft_config_clone(cfg_in);
    if (!cfg)
        return ft_error_set(FT_ENOMEM, "out of memory");
    int krc = ft_local_keys_prepare(cfg, out, &keys);
    if (krc != FT_OK) {
        ft_key_set_destroy(&keys.allowed);
        ft_config_destroy(&cfg);
        return krc;
    }
    ft_progress_t prog;
    ft_progress_init(&prog, cli->quiet, cli->json);
    ft_coord_opts_t opts = {.bind = endpoint,
                            .out_dir = out,
                            .stop = &ft_children_stop_requested,
                            .tick = ft_children_tick,
                            .tick_user = &ch,
                            .progress = ft_progress_round,
                            .progress_user = &prog,
                            .resume = resume,
                            .extra_clients = keys.allowed,
                            .live = ft_serve_live(&serve, arm),
                            .live_arm = arm};
    ft_coordinator_t *c = NULL;
    int rc = ft_coordinator_new(cfg, &opts, &c);
    if (rc == FT_OK) {
        *started = 1;
        char mb[32];
        snprintf(mb, sizeof mb, "%d", ft_coordinator_experiment(c)->run.max_message_mb);
        if (!cli->quiet)
            fprintf(stderr, "fedtail run: %ld client processes, writing %s\n", procs, out);
        if (resume && !cli->quiet)
            fprintf(stderr, "fedtail run: resuming %s after round %d\n", out,
                    ft_coordinator_rounds_done(c));
        rc = ft_children_spawn(&ch, (int)procs, endpoint, mb, 1, &keys);
        if (rc == FT_OK)
            rc = ft_coordinator_run(c);
        else
            ft_children_stop_requested = 1;
        ft_progress_end(&prog);
    }
    char why[512];
    snprintf(why, sizeof why, "%s", ft_error_message());
    ft_coordinator_destroy(&c); /* flushes the shutdown messages */
    ft_children_stop(&ch);
    if (strncmp(endpoint, "ipc://", 6) == 0)
        unlink(endpoint + 6);
    ft_key_set_destroy(&keys.allowed);
    ft_config_destroy(&cfg);
    if (rc != FT_OK && rc != FT_EINTR)
        ft_error_set(rc, "%s", why);
    return rc;
}

/* "backdoor test set: 44 images, each 2.3%" for the first of dirs that knows it. */
static void print_test_set(const char *const *dirs, int n)
{
    for (int i = 0; i < n; i++) {
        char size[96];
        ft_verdict_test_set(ft_run_backdoor_test_size(dirs[i]), ft_run_backdoor_unit(dirs[i]), size,
                            sizeof size);
        if (size[0]) {
            printf("(%s)\n", size);
            return;
        }
    }
}

/* A comparison without seeds: its summary.json, each arm as one seed (seed). */
static void compare_json(const char *out, const char *const *dirs, const ft_variant_t *v, int n,
                         uint64_t seed)
{
    const char *labels[FT_MAX_VARIANTS], *rel[FT_MAX_VARIANTS];
    ft_seed_summary_t sums[FT_MAX_VARIANTS];
    for (int i = 0; i < n; i++) {
        labels[i] = v[i].label;
        rel[i] = v[i].slug;
        if (ft_seed_summarise(&dirs[i], 1, &sums[i]) != FT_OK) {
            fprintf(stderr, "fedtail run: no summary: %s\n", ft_error_message());
            return;
        }
    }
    char path[2200];
    snprintf(path, sizeof path, "%s/summary.json", out);
    if (ft_seed_summary_write_json(path, &seed, 1, labels, rel, sums, n) != FT_OK)
        fprintf(stderr, "fedtail run: %s\n", ft_error_message());
}

/* Plots + report.html, and the verdict lines on stdout. */
static void finish_report(const char *out, const char *const *dirs, const ft_variant_t *v, int n,
                          const ft_cli_t *cli)
{
    int rc = n == 0 ? ft_report_render(&out, 1, out) : ft_report_render(dirs, n, out);
    if (rc != FT_OK)
        fprintf(stderr, "fedtail run: report not complete: %s\n", ft_error_message());
    if (cli->json)
        return;
    if (n == 0) {
        char verdict[512];
        if (ft_report_verdict(out, verdict, sizeof verdict) == FT_OK)
            printf("\n%s", verdict);
    } else {
        printf("\nverdict:\n");
        for (int i = 0; i < n; i++) {
            char line[256];
            if (ft_report_verdict_line(dirs[i], line, sizeof line) == FT_OK)
                printf("  %-22s %s\n", v[i].label, line);
        }
        print_test_set(dirs, n);
    }
    if (rc == FT_OK)
        printf("plots and report: %s/report.html\n", out);
}

/* Directory of seed si of arm a (arms: 0 when there are no variants). */
static char seed_dirs[FT_MAX_VARIANTS][FT_MAX_SEEDS][2200];

/* Runs every arm (every variant, or the one experiment when nv = 0) once per seed:
 * seed-major, so that each seed's comparison is whole before the next starts. The
 * configs are built and every finished seed checked (ft_seed_done) before anything
 * runs. Fills seed_dirs; counts the runs whose model a round destroyed (skipped ones
 * included) in *destroyed. FT_OK, FT_EINTR or an error. */
static int run_seeds(const ft_config_t *base, const ft_variant_t *v, int nv, const uint64_t *seeds,
                     int ns, const char *out, long procs, const ft_cli_t *cli, int *destroyed)
{
    static ft_config_t *cfgs[FT_MAX_SEEDS][FT_MAX_VARIANTS];
    int arms = nv ? nv : 1, total = arms * ns, rc = FT_OK;
    memset(cfgs, 0, sizeof cfgs);
    static int done[FT_MAX_SEEDS][FT_MAX_VARIANTS];
    for (int si = 0; si < ns && rc == FT_OK; si++) {
        ft_config_t *seed_cfg = NULL;
        if ((rc = ft_seed_config(base, seeds[si], &seed_cfg)) != FT_OK)
            break;
        /* The starting model is a function of run.seed: the one a plain run (or
         * comparison) with run.seed = S pre-trains (or finds in the cache). */
        rc = ft_edge_scores_cached(seed_cfg, cli->quiet);
        if (rc == FT_OK)
            rc = ft_pretrain_for_arms(seed_cfg, v, nv, cli->quiet);
        for (int a = 0; a < arms && rc == FT_OK; a++) {
            char parent[2100];
            snprintf(parent, sizeof parent, "%s%s%s", out, nv ? "/" : "", nv ? v[a].slug : "");
            ft_seed_dir(parent, seeds[si], seed_dirs[a][si], sizeof seed_dirs[a][si]);
            if (nv && (rc = ft_variant_config(seed_cfg, &v[a], &cfgs[si][a])) == FT_OK)
                rc = ft_edge_scores_cached(cfgs[si][a], cli->quiet);
            else if (!nv && !(cfgs[si][a] = ft_config_clone(seed_cfg)))
                rc = ft_error_set(FT_ENOMEM, "out of memory");
            if (rc == FT_OK) {
                int d = ft_seed_done(seed_dirs[a][si], cfgs[si][a]);
                rc = d < 0 ? d : FT_OK;
                done[si][a] = d == 1;
            }
        }
        ft_config_destroy(&seed_cfg);
    }
    for (int si = 0, k = 0; si < ns && rc == FT_OK && !ft_children_stop_requested; si++)
        for (int a = 0; a < arms && rc == FT_OK && !ft_children_stop_requested; a++) {
            const char *dir = seed_dirs[a][si];
            const char *label = nv ? v[a].label : "run";
            unsigned long long seed = (unsigned long long)seeds[si];
            k++;
            if (done[si][a]) {
                ft_run_summary_t sum;
                if (ft_run_summarise(dir, &sum) == FT_OK && sum.destroyed_round)
                    (*destroyed)++;
                if (!cli->quiet)
                    fprintf(stderr, "[%d/%d] %s, seed %llu: already complete, skipped\n", k, total,
                            label, seed);
                continue;
            }
            if (!cli->quiet)
                fprintf(stderr, "\n== [%d/%d] %s, seed %llu%s%s%s ==\n", k, total, label, seed,
                        nv ? " (" : "", nv ? v[a].sets + strspn(v[a].sets, " ") : "",
                        nv ? ")" : "");
            char top[4096]; /* what a failed start must remove (ft_cli_dir_missing) */
            int started = 0;
            ft_cli_dir_missing(dir, top, sizeof top);
            rc = run_one(cfgs[si][a], dir, procs, cli, 0, k - 1, &started);
            if (rc != FT_OK && !started && top[0]) {
                ft_local_keys_discard(dir);
                ft_cli_dir_undo(dir, top);
            }
            if (rc == FT_ENONFINITE) {
                fprintf(stderr, "fedtail run: %s, seed %llu: %s\n", label, seed,
                        ft_error_message());
                (*destroyed)++;
                rc = FT_OK;
            }
            if (rc == FT_OK)
                rc = ft_seed_mark_done(dir, cfgs[si][a]);
        }
    for (int si = 0; si < ns; si++)
        for (int a = 0; a < arms; a++)
            ft_config_destroy(&cfgs[si][a]);
    return rc;
}

/* The seeds' summary.json, report.html and verdict (mean ± sample std per arm). */
static void finish_seeds(const char *out, const ft_variant_t *v, int nv, const uint64_t *seeds,
                         int ns, const ft_cli_t *cli)
{
    int arms = nv ? nv : 1;
    static const char *dirs[FT_MAX_VARIANTS][FT_MAX_SEEDS];
    const char *labels[FT_MAX_VARIANTS], *rel[FT_MAX_VARIANTS];
    ft_report_group_t groups[FT_MAX_VARIANTS];
    ft_seed_summary_t sums[FT_MAX_VARIANTS];
    for (int a = 0; a < arms; a++) {
        for (int si = 0; si < ns; si++)
            dirs[a][si] = seed_dirs[a][si];
        labels[a] = nv ? v[a].label : "run";
        rel[a] = nv ? v[a].slug : ".";
        groups[a] = (ft_report_group_t){.label = labels[a], .dirs = dirs[a], .n = ns};
        if (ft_seed_summarise(dirs[a], ns, &sums[a]) != FT_OK) {
            fprintf(stderr, "fedtail run: no summary: %s\n", ft_error_message());
            return;
        }
    }
    char path[2200];
    snprintf(path, sizeof path, "%s/summary.json", out);
    if (ft_seed_summary_write_json(path, seeds, ns, labels, rel, sums, arms) != FT_OK)
        fprintf(stderr, "fedtail run: %s\n", ft_error_message());
    int report = !ft_cli_flag(cli, "--no-report"), rc = FT_OK;
    if (report && (rc = ft_report_render_seeds(groups, arms, out)) != FT_OK)
        fprintf(stderr, "fedtail run: report not complete: %s\n", ft_error_message());
    if (cli->json)
        return;
    printf("\nverdict (mean ± sample std over seeds ");
    for (int si = 0; si < ns; si++)
        printf("%s%llu", si ? "," : "", (unsigned long long)seeds[si]);
    printf("; the words from the means):\n");
    for (int a = 0; a < arms; a++) {
        char line[512];
        ft_seed_verdict_line(&sums[a], line, sizeof line);
        printf("  %-22s %s\n", labels[a], line);
    }
    print_test_set(dirs[0], ns);
    if (report && rc == FT_OK)
        printf("plots and report: %s/report.html\n", out);
}

/* A new run's directory and starting model: refuses an --out holding a run (unless
 * --force), makes the cache path absolute, and pre-trains one model for all arms.
 * With seeds, a rerun of the same command continues in the same directory
 * (ft_seed_done skips finished seeds and refuses a changed config), and each seed
 * mines and pre-trains its own (run_seeds). */
static int prepare_out(ft_cli_t *cli, const char *out, const ft_variant_t *v, int n, int seeded)
{
    int rc = seeded ? FT_OK : ft_out_dir_check(out, ft_cli_flag(cli, "--force"));
    if (rc == FT_OK)
        rc = ft_out_dir_cache(cli->cfg, out);
    if (rc == FT_OK && !seeded)
        rc = ft_edge_scores_cached(cli->cfg, cli->quiet);
    if (rc == FT_OK && !seeded)
        rc = ft_pretrain_for_arms(cli->cfg, v, n, cli->quiet);
    return rc;
}

/* The launcher options of a run (ft_launcher.h): an earlier launch's options file
 * (a resumed run's) applies where the command line says nothing. */
static int launch_options(const ft_cli_t *cli, ft_launch_t *l)
{
    const char *resume = ft_cli_option(cli, "--resume");
    char path[PATH_MAX + 32], *saved = NULL;
    size_t n;
    snprintf(path, sizeof path, "%s/launch/options", resume ? resume : "");
    if (resume && ft_path_exists(path) && ft_read_file(path, &saved, &n) != FT_OK)
        return FT_EIO;
    int rc = ft_launch_parse(cli, saved, l);
    free(saved);
    return rc;
}

/* fedtail run --launcher slurm|mpirun: the one experiment in cli->cfg (or the run
 * resumed) as a fleet of the launcher's tasks. out: the run directory. */
static int launch_run(ft_cli_t *cli, const ft_launch_t *l, const char *out_in, int resume,
                      int num_variants, int num_seeds)
{
    if (num_variants || num_seeds)
        return ft_error_set(FT_EINVAL,
                            "--launcher runs one experiment: %s runs several (fedtail sweep "
                            "GRID.ini --launcher slurm runs a grid as a job array)",
                            num_variants ? "run.compare" : "run.seeds");
    if (ft_cli_option(cli, "--procs"))
        return ft_error_set(FT_EINVAL, "--procs is for local runs: with --launcher the tasks "
                                       "are --nodes × --procs-per-node (task 0 the coordinator)");
    char out[PATH_MAX], cwd[PATH_MAX];
    if (out_in[0] == '/')
        snprintf(out, sizeof out, "%s", out_in);
    else if (!getcwd(cwd, sizeof cwd) ||
             (size_t)snprintf(out, sizeof out, "%s/%s", cwd, out_in) >= sizeof out)
        return ft_error_set(FT_EINVAL, "%s: cannot make the path absolute", out_in);
    int rc = FT_OK;
    if (!resume && (rc = ft_out_dir_check(out, ft_cli_flag(cli, "--force"))) == FT_OK &&
        (rc = ft_out_dir_cache(cli->cfg, out)) == FT_OK)
        rc = ft_variants_check(cli->cfg, NULL, 0);
    if (rc != FT_OK)
        return rc;
    return ft_launch_run(l, cli->cfg, out, resume, ft_cli_option(cli, "--serve"), cli->quiet);
}

int ft_cmd_run(int argc, char **argv)
{
    static const char *const own_values[] = {"--procs", "--resume", "--seeds", "--serve"};
    static const char *const own_flags[] = {"--no-report", "--force"};
    const char *with_value[16], *flags[8];
    int nv = 0, nf = 0;
    for (size_t i = 0; i < sizeof own_values / sizeof *own_values; i++)
        with_value[nv++] = own_values[i];
    for (int i = 0; ft_launch_value_options[i]; i++)
        with_value[nv++] = ft_launch_value_options[i];
    with_value[nv] = NULL;
    for (size_t i = 0; i < sizeof own_flags / sizeof *own_flags; i++)
        flags[nf++] = own_flags[i];
    for (int i = 0; ft_launch_flag_options[i]; i++)
        flags[nf++] = ft_launch_flag_options[i];
    flags[nf] = NULL;
    ft_cli_t cli;
    if (ft_cli_parse(argc, argv, with_value, flags, &cli) != FT_OK)
        return 2;
    if (cli.help) {
        usage();
        ft_cli_free(&cli);
        return 0;
    }
    ft_launch_t launch;
    if (launch_options(&cli, &launch) != FT_OK) {
        fprintf(stderr, "fedtail run: %s\n", ft_error_message());
        ft_cli_free(&cli);
        return 2;
    }
    long procs = sysconf(_SC_NPROCESSORS_ONLN);
    const char *p = ft_cli_option(&cli, "--procs");
    if (p) {
        char *end;
        procs = strtol(p, &end, 10);
        if (*end || procs < 1 || procs > FT_MAX_PROCS) {
            fprintf(stderr, "fedtail run: --procs must be in [1, %d]\n", FT_MAX_PROCS);
            ft_cli_free(&cli);
            return 2;
        }
    }
    if (procs < 1)
        procs = 1;
    ft_log_set_tag("coord");
    if (cli.quiet)
        ft_log_set_level(FT_LOG_WARN);

    ft_variant_t variants[FT_MAX_VARIANTS];
    int num_variants = 0;
    char out[2048];
    const char *resume = ft_cli_option(&cli, "--resume");
    int rc = FT_OK;
    if (resume) {
        /* The run's own config, from its checkpoint: nothing may change it. */
        int sets = 0;
        for (int i = 0; i < argc; i++)
            sets += strcmp(argv[i], "--set") == 0 || strncmp(argv[i], "--set=", 6) == 0;
        if (cli.exp_path || sets || cli.out_dir) {
            fprintf(stderr, "fedtail run: --resume takes the run's own config and directory; "
                            "EXP.ini, --set and --out cannot be combined with it\n");
            ft_cli_free(&cli);
            return 2;
        }
        snprintf(out, sizeof out, "%s", resume);
        ft_config_destroy(&cli.cfg);
        rc = ft_coordinator_resume_config(resume, &cli.cfg);
    }
    const char *seeds_opt = ft_cli_option(&cli, "--seeds");
    if (rc == FT_OK && seeds_opt && resume)
        rc = ft_error_set(FT_EINVAL, "--resume takes the run's own config: no --seeds with it");
    if (rc == FT_OK && seeds_opt && !seeds_opt[0])
        rc =
            ft_error_set(FT_ECONFIG, "--seeds: key run.seeds: an empty list (expected e.g. 1,2,3)");
    if (rc == FT_OK && seeds_opt)
        rc = ft_config_set_value(cli.cfg, "run.seeds", seeds_opt, "--seeds");
    ft_experiment_t exp; /* the base experiment: each variant is read again when it runs */
    if (rc == FT_OK)
        rc = ft_experiment_read(cli.cfg, &exp);
    if (rc == FT_OK)
        rc = ft_variants_parse(&exp.run, variants, &num_variants);
    /* The coordinator admits at most max_peers processes; more would only be
     * refused one by one after they loaded their data. The default (one per CPU)
     * is cut to fit; an explicit --procs is the user's to reconcile. */
    if (rc == FT_OK && procs > exp.federation.max_peers && !p)
        procs = exp.federation.max_peers;
    if (rc == FT_OK && procs > exp.federation.max_peers)
        rc = ft_config_error(cli.cfg, "federation.max_peers",
                             "%d is fewer than --procs %ld: raise it to run that many",
                             exp.federation.max_peers, procs);
    int num_seeds = rc == FT_OK ? exp.run.num_seeds : 0;
    uint64_t base_seed = rc == FT_OK ? exp.run.seed : 0;
    uint64_t seeds[FT_MAX_SEEDS];
    if (num_seeds)
        memcpy(seeds, exp.run.seeds, sizeof seeds);
    if (rc == FT_OK && resume && num_variants)
        rc = ft_error_set(FT_EINVAL,
                          "%s compares variants: resume one of its variant directories instead",
                          resume);
    /* An arm may not choose seeds: run.seeds would override its run.seed, and its
     * run.seeds would be one run's, silently ignored. */
    for (int i = 0; i < num_variants && rc == FT_OK; i++) {
        if (!num_seeds && !strstr(variants[i].sets, "run.seeds="))
            continue;
        char who[128];
        snprintf(who, sizeof who, "run.compare (%.63s)", variants[i].label);
        rc = ft_seeds_check_sets(variants[i].sets, who);
    }
    /* Every arm (and the base) is checked before anything is made or run. */
    if (rc == FT_OK && !resume)
        rc = ft_variants_check(cli.cfg, variants, num_variants);
    if (rc == FT_OK && !resume)
        rc = ft_cli_out_dir(&cli,
                            num_seeds      ? "seeds"
                            : num_variants ? "compare"
                                           : "run",
                            out, sizeof out);
    if (rc == FT_OK && launch.kind != FT_LAUNCH_LOCAL) {
        rc = launch_run(&cli, &launch, out, resume != NULL, num_variants, num_seeds);
        ft_cli_free(&cli);
        return rc < 0 ? ft_cli_fail(rc) : rc;
    }
    const char *serve_spec = ft_cli_option(&cli, "--serve");
    /* Before the pre-training, so the page is up (its arms waiting) while it runs;
     * after the check that out holds no run, which live.url must not survive. */
    if (rc == FT_OK && !resume && !num_seeds && serve_spec)
        rc = ft_out_dir_check(out, ft_cli_flag(&cli, "--force"));
    if (rc == FT_OK && serve_spec) {
        /* One arm per run, in the order they run: seed-major, as run_seeds. */
        static char label_buf[FT_LIVE_MAX_ARMS][96];
        const char *labels[FT_LIVE_MAX_ARMS];
        int arms = 0;
        for (int si = 0; si < (num_seeds ? num_seeds : 1); si++)
            for (int a = 0; a < (num_variants ? num_variants : 1) && arms < FT_LIVE_MAX_ARMS; a++) {
                const char *base = num_variants ? variants[a].label : "run";
                if (num_seeds)
                    snprintf(label_buf[arms], sizeof label_buf[arms], "%.63s, seed %llu", base,
                             (unsigned long long)seeds[si]);
                else
                    snprintf(label_buf[arms], sizeof label_buf[arms], "%.63s", base);
                labels[arms] = label_buf[arms];
                arms++;
            }
        rc = ft_serve_start(&serve, serve_spec, out, labels, arms, exp.federation.rounds,
                            "fedtail run");
    }
    if (rc == FT_OK && !resume) /* changes cli.cfg: exp is done */
        rc = prepare_out(&cli, out, variants, num_variants, num_seeds > 0);
    if (rc != FT_OK) {
        ft_serve_stop(&serve);
        ft_cli_free(&cli);
        return ft_cli_fail(rc);
    }

    ft_children_catch_signals();

    static char dir_buf[FT_MAX_VARIANTS][2200];
    const char *dirs[FT_MAX_VARIANTS];
    int destroyed = 0; /* runs (arms) whose model a round destroyed */
    int started = 0;
    char top[4096]; /* what of out a failed start must remove (ft_cli_dir_missing) */
    if (num_seeds) {
        rc = run_seeds(cli.cfg, variants, num_variants, seeds, num_seeds, out, procs, &cli,
                       &destroyed);
    } else if (num_variants == 0) {
        ft_cli_dir_missing(out, top, sizeof top);
        rc = run_one(cli.cfg, out, procs, &cli, resume != NULL, 0, &started);
        if (rc != FT_OK && !started && top[0]) {
            ft_local_keys_discard(out);
            ft_cli_dir_undo(out, top);
        }
        if (rc == FT_ENONFINITE) {
            fprintf(stderr, "fedtail run: %s\n", ft_error_message());
            destroyed++;
            rc = FT_OK;
        }
    } else {
        for (int i = 0; i < num_variants && rc == FT_OK && !ft_children_stop_requested; i++) {
            ft_config_t *vc = NULL;
            snprintf(dir_buf[i], sizeof dir_buf[i], "%s/%s", out, variants[i].slug);
            dirs[i] = dir_buf[i];
            if (!cli.quiet)
                fprintf(stderr, "\n== %d/%d: %s (%s) ==\n", i + 1, num_variants, variants[i].label,
                        variants[i].sets);
            ft_cli_dir_missing(dirs[i], top, sizeof top);
            if ((rc = ft_variant_config(cli.cfg, &variants[i], &vc)) == FT_OK &&
                (rc = ft_edge_scores_cached(vc, cli.quiet)) == FT_OK)
                rc = run_one(vc, dirs[i], procs, &cli, 0, i, &started);
            if (rc != FT_OK && !started && top[0]) {
                ft_local_keys_discard(dirs[i]);
                ft_cli_dir_undo(dirs[i], top);
            }
            ft_config_destroy(&vc);
            /* One arm's dead model must not hide the others: run them all. */
            if (rc == FT_ENONFINITE) {
                fprintf(stderr, "fedtail run: %s: %s\n", variants[i].label, ft_error_message());
                destroyed++;
                rc = FT_OK;
            }
        }
    }
    ft_serve_stop(&serve); /* the runs are over: every page gets its "end" */
    if (rc == FT_EINTR) {
        fprintf(stderr, "fedtail run: interrupted; %s holds the rounds so far%s\n", out,
                num_seeds ? " (run the same command again: finished seeds are skipped)" : "");
        ft_cli_free(&cli);
        return 130;
    }
    if (rc != FT_OK) {
        ft_cli_free(&cli);
        return ft_cli_fail(rc);
    }
    if (destroyed && num_seeds)
        fprintf(stderr, "fedtail run: %d of %d runs ended with a destroyed model; results in %s\n",
                destroyed, num_seeds * (num_variants ? num_variants : 1), out);
    else if (destroyed && num_variants)
        fprintf(stderr, "fedtail run: %d of %d arms ended with a destroyed model; results in %s\n",
                destroyed, num_variants, out);
    else if (destroyed)
        fprintf(stderr, "fedtail run: stopped, the model was destroyed; results in %s\n", out);
    else if (!cli.quiet)
        fprintf(stderr, "fedtail run: complete, results in %s\n", out);
    if (!num_seeds && num_variants)
        compare_json(out, dirs, variants, num_variants, base_seed);
    if (num_seeds)
        finish_seeds(out, variants, num_variants, seeds, num_seeds, &cli);
    else if (!ft_cli_flag(&cli, "--no-report"))
        finish_report(out, dirs, variants, num_variants, &cli);
    ft_cli_free(&cli);
    return destroyed ? FT_EXIT_MODEL_DESTROYED : 0;
}
