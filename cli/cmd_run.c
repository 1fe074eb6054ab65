/* fedtail run: a whole federated experiment on this machine — the coordinator in
 * this process and P client processes (fork + exec of this executable as
 * `fedtail client --connect ipc://...`, so each child is a clean process).
 *
 * Ctrl-C / SIGTERM: the coordinator stops after telling the clients to shut down,
 * the children are reaped (killed if they do not exit within 5 s) and the run
 * directory is left with complete files (metrics up to the last finished round,
 * final.ckpt with complete=0). Exits 0 only if the run completed. */
#include "ft_cli.h"
#include "ft_coordinator.h"
#include "ft_error.h"
#include "ft_log.h"
#include "ft_progress.h"
#include "ft_timer.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PROCS 1024

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

typedef struct {
    pid_t pids[MAX_PROCS]; /* child pids (0 once reaped) */
    int n;                 /* children started */
    int alive;             /* children not yet reaped */
    int failed;            /* children that exited abnormally */
    int stopping;          /* we are terminating them: exits are expected */
} children_t;

static void usage(void)
{
    printf("usage: fedtail run [EXP.ini] [--set section.key=value ...] [--out DIR] [--procs P]\n"
           "                   [--quiet] [--json]\n\n"
           "Runs a federated experiment on this machine: one coordinator and P client\n"
           "processes (default: the number of cores) over ipc://. Without EXP.ini the\n"
           "built-in defaults are used (Fashion-MNIST, lenet5, FedAvg). Writes config.ini,\n"
           "metrics.csv, events.jsonl and final.ckpt to DIR (default runs/run-DATE).\n"
           "  --procs P  client processes\n"
           "  --quiet    no progress line\n"
           "  --json     one JSON object per round on stdout\n");
}

/* Reaps exited children without blocking; notes abnormal exits. */
static void reap(children_t *ch)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (int i = 0; i < ch->n; i++) {
            if (ch->pids[i] != pid)
                continue;
            ch->pids[i] = 0;
            ch->alive--;
            if (!ch->stopping && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
                ch->failed++;
                if (WIFSIGNALED(status))
                    FT_LOG(FT_LOG_WARN, "client process %d killed by signal %d", (int)pid,
                           WTERMSIG(status));
                else
                    FT_LOG(FT_LOG_WARN, "client process %d exited with status %d", (int)pid,
                           WEXITSTATUS(status));
            }
        }
    }
}

/* Coordinator tick: a run whose every client process is gone cannot finish. */
static int tick(void *user)
{
    children_t *ch = user;
    if (stop_flag)
        ch->stopping = 1; /* Ctrl-C reached the children too: their exits are expected */
    reap(ch);
    if (ch->n > 0 && ch->alive == 0)
        return ft_error_set(FT_ESTATE,
                            "all %d client processes exited (%d abnormally); see "
                            "their messages above",
                            ch->n, ch->failed);
    return 0;
}

static int spawn(children_t *ch, int procs, const char *endpoint, const char *max_mb, int quiet)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return ft_error_set(FT_EIO, "cannot find this executable: %s", strerror(errno));
    exe[len] = 0;
    fflush(NULL);
    for (int i = 0; i < procs; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return ft_error_set(FT_EIO, "fork: %s", strerror(errno));
        if (pid == 0) {
            /* Die with the parent, whatever kills it. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() == 1)
                _exit(1);
            char set[64];
            snprintf(set, sizeof set, "run.max_message_mb=%s", max_mb);
            execl(exe, "fedtail", "client", "--connect", endpoint, "--pool", "--wait", "60",
                  "--set", set, quiet ? "--quiet" : NULL, (char *)NULL);
            fprintf(stderr, "fedtail run: exec %s: %s\n", exe, strerror(errno));
            _exit(127);
        }
        ch->pids[ch->n++] = pid;
        ch->alive++;
    }
    return FT_OK;
}

/* Waits for the children to exit (registered ones were told to shut down; one that
 * had not registered yet never hears), then terminates the rest. */
static void stop_children(children_t *ch)
{
    double end = ft_now() + 2;
    while (ch->alive > 0 && ft_now() < end) {
        reap(ch);
        usleep(20000);
    }
    ch->stopping = 1;
    for (int sig = SIGTERM; ch->alive > 0; sig = SIGKILL) {
        for (int i = 0; i < ch->n; i++)
            if (ch->pids[i])
                kill(ch->pids[i], sig);
        end = ft_now() + 1;
        while (ch->alive > 0 && ft_now() < end) {
            reap(ch);
            usleep(20000);
        }
        if (sig == SIGKILL)
            break;
    }
}

int ft_cmd_run(int argc, char **argv)
{
    static const char *const with_value[] = {"--procs", NULL};
    ft_cli_t cli;
    if (ft_cli_parse(argc, argv, with_value, NULL, &cli) != FT_OK)
        return 2;
    if (cli.help) {
        usage();
        ft_cli_free(&cli);
        return 0;
    }
    long procs = sysconf(_SC_NPROCESSORS_ONLN);
    const char *p = ft_cli_option(&cli, "--procs");
    if (p) {
        char *end;
        procs = strtol(p, &end, 10);
        if (*end || procs < 1 || procs > MAX_PROCS) {
            fprintf(stderr, "fedtail run: --procs must be in [1, %d]\n", MAX_PROCS);
            ft_cli_free(&cli);
            return 2;
        }
    }
    if (procs < 1)
        procs = 1;
    ft_log_set_tag("coord");
    if (cli.quiet)
        ft_log_set_level(FT_LOG_WARN);
    char out[2048], abs[PATH_MAX], endpoint[PATH_MAX + 16];
    if (ft_cli_out_dir(&cli, "run", out, sizeof out) != FT_OK) {
        ft_cli_free(&cli);
        return ft_cli_fail(FT_EIO);
    }
    /* ipc:// paths are limited to ~107 bytes (sockaddr_un); fall back to /tmp. */
    if (realpath(out, abs) && strlen(abs) + 16 < 100)
        snprintf(endpoint, sizeof endpoint, "ipc://%s/coord.sock", abs);
    else
        snprintf(endpoint, sizeof endpoint, "ipc:///tmp/fedtail-%d.sock", (int)getpid());

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    static children_t ch;
    ft_progress_t prog;
    ft_progress_init(&prog, cli.quiet, cli.json);
    ft_coord_opts_t opts = {.bind = endpoint,
                            .out_dir = out,
                            .stop = &stop_flag,
                            .tick = tick,
                            .tick_user = &ch,
                            .progress = ft_progress_round,
                            .progress_user = &prog};
    ft_coordinator_t *c = NULL;
    int rc = ft_coordinator_new(cli.cfg, &opts, &c);
    if (rc == FT_OK) {
        char mb[32];
        snprintf(mb, sizeof mb, "%lld", (long long)ft_config_int(cli.cfg, "run.max_message_mb"));
        if (!cli.quiet)
            fprintf(stderr, "fedtail run: %ld client processes, writing %s\n", procs, out);
        rc = spawn(&ch, (int)procs, endpoint, mb, 1);
        if (rc == FT_OK)
            rc = ft_coordinator_run(c);
        else
            stop_flag = 1;
        ft_progress_end(&prog);
    }
    char why[512];
    snprintf(why, sizeof why, "%s", ft_error_message());
    ft_coordinator_destroy(&c); /* flushes the shutdown messages */
    stop_children(&ch);
    if (strncmp(endpoint, "ipc://", 6) == 0)
        unlink(endpoint + 6);
    ft_cli_free(&cli);
    if (rc == FT_EINTR) {
        fprintf(stderr, "fedtail run: interrupted; %s holds the rounds so far\n", out);
        return 130;
    }
    if (rc != FT_OK) {
        ft_error_set(rc, "%s", why);
        return ft_cli_fail(rc);
    }
    if (!cli.quiet)
        fprintf(stderr, "fedtail run: complete, results in %s\n", out);
    return 0;
}
