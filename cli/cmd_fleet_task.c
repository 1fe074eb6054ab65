/* fedtail fleet-task: one task of a fleet that Slurm (srun) or Open MPI (mpirun)
 * started (ft_launcher.h). Its rank comes from the launcher: SLURM_PROCID, else
 * OMPI_COMM_WORLD_RANK. Rank 0 is the coordinator: it pre-trains as fedtail run would,
 * binds tcp://\*:PORT (PORT 0: the kernel's choice), and publishes where it can be
 * reached — this node's name and the bound port — in RUN_DIR/launch/coordinator.endpoint
 * on the shared filesystem, with the CURVE key files the clients need; at the end it
 * writes its exit status to RUN_DIR/launch/exit. Every other rank is a client process
 * (fedtail client --pool) that waits for that file (written by this launch: its first
 * line is the launch id) and connects.
 *
 * Not for users to type: fedtail run --launcher writes these command lines. */
#include "ft_cli.h"
#include "ft_coordinator.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_fileio.h"
#include "ft_key_set.h"
#include "ft_local_keys.h"
#include "ft_log.h"
#include "ft_pretrain_cache.h"
#include "ft_report.h"
#include "ft_serve.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* The launcher's rank and size of this process; FT_ESTATE when no launcher set them. */
static int launcher_rank(int *rank)
{
    const char *r = getenv("SLURM_PROCID");
    if (!r)
        r = getenv("OMPI_COMM_WORLD_RANK");
    if (!r || !r[0])
        return ft_error_set(FT_ESTATE, "fleet-task: neither SLURM_PROCID nor OMPI_COMM_WORLD_RANK "
                                       "is set (srun or mpirun starts these tasks)");
    *rank = atoi(r);
    return FT_OK;
}

/* The name clients reach this node by: its host name (what Slurm's nodes and Open
 * MPI's hosts are called by), else Slurm's node name. */
static void node_name(char *buf, size_t len)
{
    const char *slurm = getenv("SLURMD_NODENAME");
    if (gethostname(buf, len) != 0 || !buf[0])
        snprintf(buf, len, "%s", slurm && slurm[0] ? slurm : "localhost");
    buf[len - 1] = 0;
}

/* launch/NAME of the run directory out. */
static void launch_file(const char *out, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/launch/%s", out, name);
}

/* Records the coordinator's end: launch/error (the message, when failed) then
 * launch/exit "ID CODE", the file the submitting command and the clients read. */
static void record_exit(const char *out, const char *id, int code, const char *why)
{
    char path[PATH_MAX + 64], line[640];
    if (why && why[0]) {
        launch_file(out, "error", path, sizeof path);
        int n = snprintf(line, sizeof line, "%s\n", why);
        (void)ft_write_file_atomic(path, line, (size_t)n);
    }
    launch_file(out, "exit", path, sizeof path);
    int n = snprintf(line, sizeof line, "%s %d\n", id, code);
    if (ft_write_file_atomic(path, line, (size_t)n) != FT_OK)
        fprintf(stderr, "fedtail fleet-task: %s\n", ft_error_message());
}

/* Rank 0: the coordinator of the run in out. Returns the exit status. */
static int coordinator_task(const ft_cli_t *cli, const char *out, const char *id)
{
    char path[PATH_MAX + 64], host[256], bind[64], ep[256], public_ep[512];
    const char *serve_spec = ft_cli_option(cli, "--serve");
    const char *port = ft_cli_option(cli, "--port");
    ft_config_t *cfg = NULL;
    ft_local_keys_t keys = {0};
    ft_serve_t serve = {0};
    ft_coordinator_t *c = NULL;
    ft_experiment_t exp;
    /* A resubmitted job continues from the checkpoint when the first one got as far as
     * writing the run's files; else it starts the run afresh. */
    snprintf(path, sizeof path, "%s/config.ini", out);
    int resume = ft_cli_flag(cli, "--resume") && ft_path_exists(path), rc;
    if (resume) {
        rc = ft_coordinator_resume_config(out, &cfg);
    } else {
        launch_file(out, "experiment.ini", path, sizeof path);
        cfg = ft_config_new();
        rc = cfg ? ft_config_load_file(cfg, path) : ft_error_set(FT_ENOMEM, "out of memory");
    }
    if (rc == FT_OK && !resume)
        rc = ft_edge_scores_cached(cfg, cli->quiet);
    if (rc == FT_OK && !resume)
        rc = ft_pretrain_for_arms(cfg, NULL, 0, cli->quiet);
    if (rc == FT_OK)
        rc = ft_local_keys_prepare(cfg, out, &keys);
    if (rc == FT_OK)
        rc = ft_experiment_read(cfg, &exp);
    node_name(host, sizeof host);
    const char *const label[] = {"run"};
    if (rc == FT_OK && serve_spec)
        rc = ft_serve_start_on_host(&serve, serve_spec, out, label, 1, exp.federation.rounds,
                                    "fedtail fleet-task", host);
    /* The page's address also goes into the launch record, which stays when the run
     * ends: the submitting command polls the job, and a short run's live.url can come
     * and go between two of its looks. */
    if (rc == FT_OK && serve_spec) {
        char line[600], rec[PATH_MAX + 64];
        int n = snprintf(line, sizeof line, "%s\n", ft_serve_url(&serve));
        launch_file(out, "live.url", rec, sizeof rec);
        if (ft_write_file_atomic(rec, line, (size_t)n) != FT_OK)
            ft_error_clear(); /* only a record: the page serves whatever */
    }
    snprintf(bind, sizeof bind, "tcp://*:%s", port ? port : "0");
    ft_coord_opts_t opts = {.bind = bind,
                            .out_dir = out,
                            .stop = &stop_flag,
                            .resume = resume,
                            .extra_clients = keys.allowed,
                            .live = ft_serve_live(&serve, 0)};
    if (rc == FT_OK)
        rc = ft_coordinator_new(cfg, &opts, &c);
    if (rc == FT_OK)
        rc = ft_coordinator_bound_endpoint(c, ep, sizeof ep);
    if (rc == FT_OK) {
        const char *colon = strrchr(ep, ':');
        snprintf(public_ep, sizeof public_ep, "tcp://%s%s", host, colon ? colon : ":0");
        char text[4 * PATH_MAX];
        int n = snprintf(text, sizeof text, "%s\n%s\n%d\n%d\n%s\n%s\n", id, public_ep,
                         exp.run.max_message_mb, keys.on, keys.on ? keys.server_pub : "-",
                         keys.on ? keys.client_secret : "-");
        launch_file(out, "coordinator.endpoint", path, sizeof path);
        rc = ft_write_file_atomic(path, text, (size_t)n);
    }
    if (rc == FT_OK) {
        fprintf(stderr, "fedtail fleet-task: coordinator on %s (bound %s), writing %s%s\n",
                public_ep, ep, out, resume ? " (resumed)" : "");
        if (resume)
            fprintf(stderr, "fedtail fleet-task: resuming after round %d\n",
                    ft_coordinator_rounds_done(c));
        rc = ft_coordinator_run(c);
    }
    char why[512];
    snprintf(why, sizeof why, "%s", rc == FT_OK ? "" : ft_error_message());
    ft_coordinator_destroy(&c);
    ft_serve_stop(&serve);
    ft_key_set_destroy(&keys.allowed);
    ft_config_destroy(&cfg);
    if (rc == FT_OK || rc == FT_ENONFINITE) {
        const char *runs[] = {out};
        if (!ft_cli_flag(cli, "--no-report") && ft_report_render(runs, 1, out) != FT_OK)
            fprintf(stderr, "fedtail fleet-task: report not complete: %s\n", ft_error_message());
        char verdict[512];
        if (ft_report_verdict(out, verdict, sizeof verdict) == FT_OK)
            printf("\n%s", verdict);
        fflush(stdout);
    }
    int code = rc == FT_OK           ? 0
               : rc == FT_ENONFINITE ? FT_EXIT_MODEL_DESTROYED
               : rc == FT_EINTR      ? 130
                                     : 1;
    if (code == 1)
        fprintf(stderr, "fedtail fleet-task: coordinator: %s\n", why);
    record_exit(out, id, code, code == 1 ? why : NULL);
    return code;
}

/* Line k (0-based) of text into buf; "" past the end. */
static void line_of(const char *text, int k, char *buf, size_t len)
{
    const char *p = text;
    for (int i = 0; i < k && p; i++)
        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    size_t n = p ? strcspn(p, "\n") : 0;
    snprintf(buf, len, "%.*s", (int)n, p ? p : "");
}

/* The first line of launch/NAME when it is this launch's ("ID" or "ID CODE"): its text
 * into *text (owned) and 1; 0 otherwise. */
static int launch_says(const char *out, const char *name, const char *id, char **text)
{
    char path[PATH_MAX + 64];
    size_t n, k = strlen(id);
    launch_file(out, name, path, sizeof path);
    *text = NULL;
    if (!ft_path_exists(path) || ft_read_file(path, text, &n) != FT_OK) {
        ft_error_clear();
        return 0;
    }
    if (strncmp(*text, id, k) == 0 && ((*text)[k] == '\n' || (*text)[k] == ' '))
        return 1;
    free(*text);
    *text = NULL;
    return 0;
}

/* Ranks 1..: a client process of the coordinator this launch published. */
static int client_task(const ft_cli_t *cli, const char *out, const char *id)
{
    const char *wait = ft_cli_option(cli, "--wait");
    double deadline_s = wait ? atof(wait) : 600;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *ep_text = NULL, *exit_text = NULL;
    for (;;) {
        if (launch_says(out, "coordinator.endpoint", id, &ep_text))
            break;
        if (launch_says(out, "exit", id, &exit_text)) {
            free(exit_text);
            char path[PATH_MAX + 64], *why = NULL;
            size_t n;
            launch_file(out, "error", path, sizeof path);
            if (ft_path_exists(path) && ft_read_file(path, &why, &n) == FT_OK)
                why[strcspn(why, "\n")] = 0;
            fprintf(stderr, "fedtail fleet-task: the coordinator ended before it bound: %s\n",
                    why ? why : "(see its output)");
            free(why);
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        double el = (double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec);
        if (stop_flag)
            return 130;
        if (el > deadline_s) {
            fprintf(stderr,
                    "fedtail fleet-task: no coordinator published %s/launch/coordinator.endpoint "
                    "within %.0f s (--wait): did task 0 start?\n",
                    out, deadline_s);
            return 1;
        }
        usleep(200 * 1000);
    }
    char ep[512], mb[64], curve[8], spub[PATH_MAX + 64], ssec[PATH_MAX + 64];
    line_of(ep_text, 1, ep, sizeof ep);
    line_of(ep_text, 2, mb, sizeof mb);
    line_of(ep_text, 3, curve, sizeof curve);
    line_of(ep_text, 4, spub, sizeof spub);
    line_of(ep_text, 5, ssec, sizeof ssec);
    free(ep_text);
    static char set_mb[96], set_pub[PATH_MAX + 128], set_sec[PATH_MAX + 128];
    snprintf(set_mb, sizeof set_mb, "run.max_message_mb=%s", mb);
    snprintf(set_pub, sizeof set_pub, "security.server_public_key=%s", spub);
    snprintf(set_sec, sizeof set_sec, "security.client_secret_key=%s", ssec);
    char *argv[24];
    int a = 0;
    argv[a++] = "--connect";
    argv[a++] = ep;
    argv[a++] = "--pool";
    argv[a++] = "--wait";
    argv[a++] = (char *)(wait ? wait : "600");
    argv[a++] = "--set";
    argv[a++] = set_mb;
    if (strcmp(curve, "1") == 0) {
        argv[a++] = "--set";
        argv[a++] = "security.curve=true";
        argv[a++] = "--set";
        argv[a++] = set_pub;
        argv[a++] = "--set";
        argv[a++] = set_sec;
    }
    const char *device = ft_cli_option(cli, "--device");
    if (device) {
        argv[a++] = "--device";
        argv[a++] = (char *)device;
    }
    if (cli->quiet)
        argv[a++] = "--quiet";
    argv[a] = NULL;
    return ft_cmd_client(a, argv);
}

int ft_cmd_fleet_task(int argc, char **argv)
{
    static const char *const with_value[] = {"--launch-id", "--port",   "--wait",
                                             "--serve",     "--device", NULL};
    static const char *const flags[] = {"--resume", "--no-report", NULL};
    ft_cli_t cli;
    if (ft_cli_parse(argc, argv, with_value, flags, &cli) != FT_OK)
        return 2;
    const char *id = ft_cli_option(&cli, "--launch-id");
    if (cli.help || !cli.out_dir || !id || !id[0]) {
        fprintf(cli.help ? stdout : stderr,
                "usage: fedtail fleet-task --out RUN_DIR --launch-id ID [--resume] [--port P]\n"
                "                          [--wait S] [--serve [ADDR:]PORT] [--device DEV]\n\n"
                "One task of a fleet started by fedtail run --launcher slurm|mpirun (it writes\n"
                "these command lines): rank 0 the coordinator, the others client processes.\n");
        int code = cli.help ? 0 : 2;
        ft_cli_free(&cli);
        return code;
    }
    int rank = 0;
    if (launcher_rank(&rank) != FT_OK) {
        ft_cli_free(&cli);
        return ft_cli_fail(FT_ESTATE);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ft_log_set_tag(rank == 0 ? "coord" : "client");
    if (cli.quiet)
        ft_log_set_level(FT_LOG_WARN);
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s", cli.out_dir);
    int code = rank == 0 ? coordinator_task(&cli, out, id) : client_task(&cli, out, id);
    ft_cli_free(&cli);
    return code;
}
