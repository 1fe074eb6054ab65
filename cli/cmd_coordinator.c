/* fedtail coordinator: only the coordinator, for multi-host runs. Client processes
 * on any host join with `fedtail client --connect tcp://HOST:PORT`. Exits 0 when
 * the run is complete, 3 when a round destroyed the global model (NaN/Inf, with
 * run.on_nonfinite = stop). --resume RUN_DIR continues a killed run from its newest
 * good checkpoint; with security.curve the socket is a CURVE server
 * (docs/security.md). At the end it draws the same plots, report.html and verdict
 * as fedtail run (unless --no-report). */
#include "ft_cli.h"
#include "ft_out_dir.h"
#include "ft_coordinator.h"
#include "ft_error.h"
#include "ft_log.h"
#include "ft_progress.h"
#include "ft_report.h"
#include "ft_serve.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(void)
{
    printf("usage: fedtail coordinator [EXP.ini] --bind ENDPOINT [--set section.key=value ...]\n"
           "                           [--out DIR] [--force] [--quiet] [--json] [--no-report]\n"
           "                           [--serve [ADDR:]PORT]\n"
           "       fedtail coordinator --resume RUN_DIR --bind ENDPOINT [--quiet] [--json]\n"
           "                           [--no-report] [--serve [ADDR:]PORT]\n\n"
           "Runs the coordinator of a federated experiment on ENDPOINT (e.g. tcp://*:5555)\n"
           "and waits for client processes (fedtail client --connect tcp://HOST:5555).\n"
           "Writes config.ini, metrics.csv, events.jsonl and final.ckpt to DIR (default\n"
           "runs/run-DATE) and exits 0 when every round is complete, 3 when a round left\n"
           "NaN/Inf in the global model (run.on_nonfinite = stop). --resume continues\n"
           "a killed or interrupted run from its newest good checkpoint, with its own config;\n"
           "an --out that already holds a run is refused unless --force. At the end it draws\n"
           "the plots and DIR/report.html and prints the verdict, as fedtail run does\n"
           "(--no-report: not). --serve [ADDR:]PORT serves a live web page of the run on\n"
           "http://127.0.0.1:PORT/ (with ADDR on that address, behind a token printed at\n"
           "start and written to DIR/live.url; docs/security.md).\n");
}

/* The end of a run that recorded rounds (complete, or stopped by a destroyed model):
 * plots and report.html in out, and the verdict on stdout (not with --json). */
static void finish_report(const char *out, int json)
{
    const char *runs[] = {out};
    int rc = ft_report_render(runs, 1, out);
    if (rc != FT_OK)
        fprintf(stderr, "fedtail coordinator: report not complete: %s\n", ft_error_message());
    char verdict[512];
    if (!json && ft_report_verdict(out, verdict, sizeof verdict) == FT_OK)
        printf("\n%s", verdict);
    if (!json && rc == FT_OK)
        printf("plots and report: %s/report.html\n", out);
}

int ft_cmd_coordinator(int argc, char **argv)
{
    static const char *const with_value[] = {"--bind", "--resume", "--serve", NULL};
    ft_cli_t cli;
    static const char *const flags[] = {"--force", "--no-report", NULL};
    if (ft_cli_parse(argc, argv, with_value, flags, &cli) != FT_OK)
        return 2;
    if (cli.help) {
        usage();
        ft_cli_free(&cli);
        return 0;
    }
    const char *bind = ft_cli_option(&cli, "--bind");
    if (!bind) {
        fprintf(stderr, "fedtail coordinator: --bind ENDPOINT is required (see --help)\n");
        ft_cli_free(&cli);
        return 2;
    }
    if (ft_config_str(cli.cfg, "run.seeds")[0]) {
        /* One coordinator serves one run: several seeds would be silently one. */
        fprintf(stderr, "fedtail coordinator: run.seeds runs several experiments; a coordinator "
                        "runs one (set run.seed), fedtail run / sweep run several\n");
        ft_cli_free(&cli);
        return 2;
    }
    ft_log_set_tag("coord");
    if (cli.quiet)
        ft_log_set_level(FT_LOG_WARN);
    char out[4096];
    const char *resume = ft_cli_option(&cli, "--resume");
    if (resume) {
        int sets = 0;
        for (int i = 0; i < argc; i++)
            sets += strcmp(argv[i], "--set") == 0 || strncmp(argv[i], "--set=", 6) == 0;
        if (cli.exp_path || sets || cli.out_dir) {
            fprintf(stderr, "fedtail coordinator: --resume takes the run's own config and "
                            "directory; EXP.ini, --set and --out cannot be combined with it\n");
            ft_cli_free(&cli);
            return 2;
        }
        snprintf(out, sizeof out, "%s", resume);
        ft_config_destroy(&cli.cfg);
        int rc = ft_coordinator_resume_config(resume, &cli.cfg);
        if (rc != FT_OK) {
            ft_cli_free(&cli);
            return ft_cli_fail(rc);
        }
    } else if (ft_cli_out_dir(&cli, "run", out, sizeof out) != FT_OK) {
        ft_cli_free(&cli);
        return ft_cli_fail(FT_EIO);
    } else if (ft_out_dir_check(out, ft_cli_flag(&cli, "--force")) != FT_OK) {
        ft_cli_free(&cli);
        return ft_cli_fail(FT_ESTATE);
    }
    ft_serve_t serve = {0};
    const char *serve_spec = ft_cli_option(&cli, "--serve");
    const char *const label[] = {"run"};
    int src = serve_spec
                  ? ft_serve_start(&serve, serve_spec, out, label, 1, 0, "fedtail coordinator")
                  : FT_OK;
    if (src != FT_OK) {
        ft_cli_free(&cli);
        return ft_cli_fail(src);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ft_progress_t prog;
    ft_progress_init(&prog, cli.quiet, cli.json);
    ft_coord_opts_t opts = {.bind = bind,
                            .out_dir = out,
                            .stop = &stop_flag,
                            .progress = ft_progress_round,
                            .progress_user = &prog,
                            .resume = resume != NULL,
                            .live = ft_serve_live(&serve, 0)};
    ft_coordinator_t *c = NULL;
    char top[4096]; /* what of out the coordinator makes, removed if it cannot start */
    ft_cli_dir_missing(out, top, sizeof top);
    int rc = ft_coordinator_new(cli.cfg, &opts, &c);
    if (rc != FT_OK)
        ft_cli_dir_undo(out, top); /* a failed bind leaves it empty; nothing else made it */
    if (rc == FT_OK) {
        if (!cli.quiet)
            fprintf(stderr, "coordinator on %s, writing %s\n", bind, out);
        rc = ft_coordinator_run(c);
        ft_progress_end(&prog);
    }
    ft_coordinator_destroy(&c);
    ft_serve_stop(&serve);
    int json = cli.json, report = !ft_cli_flag(&cli, "--no-report");
    ft_cli_free(&cli);
    if ((rc == FT_OK || rc == FT_ENONFINITE) && report) {
        char why[512];
        snprintf(why, sizeof why, "%s", ft_error_message());
        finish_report(out, json);
        if (rc != FT_OK)
            ft_error_set(rc, "%s", why);
    }
    if (rc == FT_EINTR) {
        fprintf(stderr, "fedtail coordinator: interrupted; %s holds the rounds so far\n", out);
        return 130;
    }
    if (rc == FT_ENONFINITE) {
        fprintf(stderr,
                "fedtail coordinator: %s\nfedtail coordinator: stopped; %s holds the "
                "rounds up to it\n",
                ft_error_message(), out);
        return FT_EXIT_MODEL_DESTROYED;
    }
    return rc == FT_OK ? 0 : ft_cli_fail(rc);
}
