/* ft_launcher: a fleet started by Slurm or mpirun (ft_launcher.h, docs/cluster.md). */
#include "ft_launcher.h"

#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *const ft_launch_value_options[] = {
    "--launcher", "--nodes", "--procs-per-node", "--gpus-per-proc", "--partition",
    "--time",     "--port",  "--wait",           "--max-parallel",  NULL};
const char *const ft_launch_flag_options[] = {"--dry-run", "--no-wait", NULL};

/* The value of option name: cli's, else the saved options file's ("NAME VALUE" lines),
 * else NULL. *from_cli says which. */
static const char *option(const ft_cli_t *cli, const char *saved, const char *name, int *from_cli)
{
    static char buf[8][256];
    static int next;
    const char *v = ft_cli_option(cli, name);
    *from_cli = v != NULL;
    if (v || !saved)
        return v;
    size_t n = strlen(name);
    for (const char *p = saved; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ') {
            const char *e = strchr(p + n + 1, '\n');
            size_t len = e ? (size_t)(e - p - n - 1) : strlen(p + n + 1);
            char *b = buf[next++ % 8];
            snprintf(b, sizeof buf[0], "%.*s", (int)len, p + n + 1);
            return b;
        }
    return NULL;
}

/* *out = value of name as an integer in [lo, hi] (unchanged when absent). */
static int int_option(const ft_cli_t *cli, const char *saved, const char *name, int lo, int hi,
                      int *out, int *given)
{
    int from_cli;
    const char *v = option(cli, saved, name, &from_cli);
    *given = from_cli;
    if (!v)
        return FT_OK;
    char *end;
    long x = strtol(v, &end, 10);
    if (!v[0] || *end || x < lo || x > hi)
        return ft_error_set(FT_EINVAL, "%s %s: expected an integer in [%d, %d]", name, v, lo, hi);
    *out = (int)x;
    return FT_OK;
}

int ft_launch_parse(const ft_cli_t *cli, const char *saved, ft_launch_t *l)
{
    memset(l, 0, sizeof *l);
    l->nodes = 1;
    l->procs_per_node = 2;
    l->wait_s = 600;
    int from_cli;
    const char *kind = option(cli, saved, "--launcher", &from_cli);
    if (!kind || strcmp(kind, "local") == 0)
        l->kind = FT_LAUNCH_LOCAL;
    else if (strcmp(kind, "slurm") == 0)
        l->kind = FT_LAUNCH_SLURM;
    else if (strcmp(kind, "mpirun") == 0)
        l->kind = FT_LAUNCH_MPIRUN;
    else
        return ft_error_set(FT_EINVAL, "--launcher %s: expected slurm, mpirun or local", kind);
    int given[8] = {0}, rc;
    if ((rc = int_option(cli, saved, "--nodes", 1, 4096, &l->nodes, &given[0])) != FT_OK ||
        (rc = int_option(cli, saved, "--procs-per-node", 1, 1024, &l->procs_per_node, &given[1])) !=
            FT_OK ||
        (rc = int_option(cli, saved, "--gpus-per-proc", 0, 64, &l->gpus_per_proc, &given[2])) !=
            FT_OK ||
        (rc = int_option(cli, saved, "--max-parallel", 1, 100000, &l->max_parallel, &given[3])) !=
            FT_OK ||
        (rc = int_option(cli, saved, "--port", 0, 65535, &l->port, &given[4])) != FT_OK ||
        (rc = int_option(cli, saved, "--wait", 1, 7 * 86400, &l->wait_s, &given[5])) != FT_OK)
        return rc;
    const char *part = option(cli, saved, "--partition", &given[6]);
    const char *time = option(cli, saved, "--time", &given[7]);
    snprintf(l->partition, sizeof l->partition, "%s", part ? part : "");
    snprintf(l->time, sizeof l->time, "%s", time ? time : "");
    l->dry_run = ft_cli_flag(cli, "--dry-run");
    l->no_wait = ft_cli_flag(cli, "--no-wait");
    static const char *const names[] = {
        "--nodes", "--procs-per-node", "--gpus-per-proc", "--max-parallel",
        "--port",  "--wait",           "--partition",     "--time"};
    for (int i = 0; i < 8; i++)
        if (given[i] && l->kind == FT_LAUNCH_LOCAL)
            return ft_error_set(FT_EINVAL, "%s needs --launcher slurm or --launcher mpirun",
                                names[i]);
    if ((l->dry_run || l->no_wait) && l->kind == FT_LAUNCH_LOCAL)
        return ft_error_set(FT_EINVAL, "%s needs --launcher slurm or --launcher mpirun",
                            l->dry_run ? "--dry-run" : "--no-wait");
    if (l->kind == FT_LAUNCH_MPIRUN && (l->partition[0] || l->time[0] || l->no_wait))
        return ft_error_set(FT_EINVAL, "%s is a Slurm option: it needs --launcher slurm",
                            l->partition[0] ? "--partition"
                            : l->time[0]    ? "--time"
                                            : "--no-wait");
    /* Characters that #SBATCH lines and Slurm's file patterns take as they are. */
    for (const char *p = l->partition; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-,.", *p))
            return ft_error_set(FT_EINVAL, "--partition %s: not a partition name", l->partition);
    for (const char *p = l->time; *p; p++)
        if (!strchr("0123456789:-", *p))
            return ft_error_set(
                FT_EINVAL, "--time %s: expected minutes, MM:SS, HH:MM:SS or D-HH:MM:SS", l->time);
    return FT_OK;
}

int ft_launch_sh_quote(const char *text, char *buf, size_t len)
{
    size_t n = 0;
    if (len < 3)
        return ft_error_set(FT_EINVAL, "no room to quote '%s'", text);
    buf[n++] = '\'';
    for (const char *p = text; *p; p++) {
        const char *piece = *p == '\'' ? "'\\''" : NULL;
        size_t k = piece ? 4 : 1;
        if (n + k + 2 > len)
            return ft_error_set(FT_EINVAL, "no room to quote '%s'", text);
        if (piece)
            memcpy(buf + n, piece, k);
        else
            buf[n] = *p;
        n += k;
    }
    buf[n++] = '\'';
    buf[n] = 0;
    return FT_OK;
}

int ft_launch_have(const char *cmd)
{
    const char *path = getenv("PATH");
    char dir[PATH_MAX + 256];
    for (const char *p = path ? path : "/usr/bin:/bin"; p && *p;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        snprintf(dir, sizeof dir, "%.*s/%s", (int)n, p, cmd);
        if (n && access(dir, X_OK) == 0)
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

int ft_launch_self(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0 || (size_t)n >= len - 1)
        return ft_error_set(FT_EIO, "cannot find this executable: %s", strerror(errno));
    buf[n] = 0;
    return FT_OK;
}

int ft_launch_capture(char *const *argv, char *out, size_t len)
{
    int fds[2] = {-1, -1};
    if (out && pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        if (out) {
            close(fds[0]);
            close(fds[1]);
        }
        return -1;
    }
    if (pid == 0) {
        if (out) {
            dup2(fds[1], 1);
            dup2(fds[1], 2);
            close(fds[0]);
            close(fds[1]);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    size_t n = 0;
    if (out) {
        close(fds[1]);
        for (;;) {
            char chunk[512];
            ssize_t k = read(fds[0], chunk, sizeof chunk);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            for (ssize_t i = 0; i < k && n + 1 < len; i++)
                out[n++] = chunk[i];
        }
        close(fds[0]);
        out[n] = 0;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int ft_launch_sbatch(const char *script, const char *const *extra, char *job_id, size_t len)
{
    if (!ft_launch_have("sbatch"))
        return ft_error_set(FT_ENOTFOUND,
                            "--launcher slurm: sbatch is not on PATH (run on the cluster's login "
                            "node, or install Slurm: Debian package slurm-wlm)");
    char *argv[24];
    int a = 0;
    argv[a++] = "sbatch";
    argv[a++] = "--parsable";
    for (int i = 0; extra && extra[i] && a < 22; i++)
        argv[a++] = (char *)extra[i];
    argv[a++] = (char *)script;
    argv[a] = NULL;
    char said[4096];
    int code = ft_launch_capture(argv, said, sizeof said);
    size_t n = strlen(said);
    while (n && (said[n - 1] == '\n' || said[n - 1] == ' '))
        said[--n] = 0;
    if (code != 0)
        return ft_error_set(FT_EINVAL, "sbatch refused the job (exit %d): %s", code,
                            said[0] ? said : "(it said nothing)");
    /* --parsable prints "ID" or "ID;CLUSTER" as its last line. */
    const char *last = strrchr(said, '\n');
    last = last ? last + 1 : said;
    size_t k = strspn(last, "0123456789");
    if (k == 0 || k >= len)
        return ft_error_set(FT_EINVAL, "sbatch printed no job id: %s", said);
    memcpy(job_id, last, k);
    job_id[k] = 0;
    return FT_OK;
}

static volatile sig_atomic_t wait_stop;

static void on_wait_signal(int sig)
{
    (void)sig;
    wait_stop = 1;
}

int ft_launch_slurm_wait(const char *job_id, const char *watch_file, const char *prefix, int quiet)
{
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_wait_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    wait_stop = 0;
    char last[256] = "", state[256];
    int shown = 0, gone = 0;
    while (!wait_stop && gone < 2) {
        /* -r: an array's tasks one per line; its first state is reported. */
        char *argv[] = {"squeue", "-h", "-r", "-j", (char *)job_id, "-o", "%T", NULL};
        int code = ft_launch_capture(argv, state, sizeof state);
        state[strcspn(state, "\n")] = 0;
        /* squeue fails once the job has left the controller's memory, and prints
         * nothing for an ended job it still remembers: either way it is over. Twice,
         * so a controller that is briefly busy does not end the wait. */
        gone = code != 0 || !state[0] ? gone + 1 : 0;
        if (!gone && strcmp(state, last) != 0) {
            if (!quiet)
                fprintf(stderr, "job %s: %s\n", job_id, state);
            snprintf(last, sizeof last, "%s", state);
        }
        if (watch_file && !shown) {
            char *text = NULL;
            size_t n;
            if (ft_path_exists(watch_file) && ft_read_file(watch_file, &text, &n) == FT_OK) {
                text[strcspn(text, "\n")] = 0;
                fprintf(stderr, "%s%s\n", prefix, text);
                shown = 1;
            }
            free(text);
            ft_error_clear();
        }
        if (gone < 2)
            usleep(500 * 1000);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return wait_stop ? FT_EINTR : FT_OK;
}

/* ---- one run as a fleet ------------------------------------------------------- */

/* Whether path is safe in #SBATCH lines and Slurm's file patterns, which take no
 * quoting: a run directory is refused otherwise. */
static int plain_path(const char *path)
{
    for (const char *p = path; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./+=,@:", *p))
            return 0;
    return 1;
}

/* The launch's options file: what --resume reuses. */
static int write_options(const ft_launch_t *l, const char *dir)
{
    char text[1024], path[PATH_MAX + 64];
    int n = snprintf(text, sizeof text,
                     "--launcher %s\n--nodes %d\n--procs-per-node %d\n--gpus-per-proc %d\n"
                     "--port %d\n--wait %d\n",
                     l->kind == FT_LAUNCH_SLURM ? "slurm" : "mpirun", l->nodes, l->procs_per_node,
                     l->gpus_per_proc, l->port, l->wait_s);
    if (l->partition[0])
        n += snprintf(text + n, sizeof text - (size_t)n, "--partition %s\n", l->partition);
    if (l->time[0])
        n += snprintf(text + n, sizeof text - (size_t)n, "--time %s\n", l->time);
    snprintf(path, sizeof path, "%s/options", dir);
    return ft_write_file_atomic(path, text, (size_t)n);
}

/* The fleet-task command line every task runs (id: the launch id, shell text). */
static int task_command(const ft_launch_t *l, const char *out, const char *id, int resume,
                        const char *serve_spec, int quiet, char *buf, size_t len)
{
    char self[PATH_MAX], qself[2 * PATH_MAX], qout[2 * PATH_MAX], qserve[512] = "";
    int rc = ft_launch_self(self, sizeof self);
    if (rc == FT_OK)
        rc = ft_launch_sh_quote(self, qself, sizeof qself);
    if (rc == FT_OK)
        rc = ft_launch_sh_quote(out, qout, sizeof qout);
    if (rc == FT_OK && serve_spec)
        rc = ft_launch_sh_quote(serve_spec, qserve, sizeof qserve);
    if (rc != FT_OK)
        return rc;
    int n = snprintf(
        buf, len, "%s fleet-task --out %s --launch-id %s --port %d --wait %d%s%s%s%s%s", qself,
        qout, id, l->port, l->wait_s, resume ? " --resume" : "", serve_spec ? " --serve " : "",
        qserve, l->gpus_per_proc ? " --device cuda" : "", quiet ? " --quiet" : "");
    return n > 0 && (size_t)n < len ? FT_OK : ft_error_set(FT_EINVAL, "command line too long");
}

/* The batch script of a run: N×P tasks, task 0 the coordinator. */
static int slurm_script(const ft_launch_t *l, const char *out, const char *cmd, char *buf,
                        size_t len)
{
    int n = snprintf(buf, len,
                     "#!/bin/sh\n"
                     "# Written by fedtail run --launcher slurm. Task 0 is the coordinator, the\n"
                     "# other tasks are client processes (fedtail fleet-task reads SLURM_PROCID);\n"
                     "# the clients find the coordinator in launch/coordinator.endpoint. After\n"
                     "# scancel or a node failure: fedtail run --resume %s --launcher slurm\n"
                     "#SBATCH --job-name=fedtail\n"
                     "#SBATCH --nodes=%d\n"
                     "#SBATCH --ntasks=%d\n"
                     "#SBATCH --chdir=%s\n"
                     "#SBATCH --output=%s/launch/slurm-%%j.out\n",
                     out, l->nodes, l->nodes * l->procs_per_node, out, out);
    /* --ntasks alone on one node: so that --overcommit can place more tasks than cores. */
    if (l->nodes > 1)
        n +=
            snprintf(buf + n, len - (size_t)n, "#SBATCH --ntasks-per-node=%d\n", l->procs_per_node);
    if (l->partition[0])
        n += snprintf(buf + n, len - (size_t)n, "#SBATCH --partition=%s\n", l->partition);
    if (l->time[0])
        n += snprintf(buf + n, len - (size_t)n, "#SBATCH --time=%s\n", l->time);
    if (l->gpus_per_proc)
        n += snprintf(buf + n, len - (size_t)n, "#SBATCH --gpus-per-task=%d\n", l->gpus_per_proc);
    n += snprintf(buf + n, len - (size_t)n, "exec srun %s\n", cmd);
    return n > 0 && (size_t)n < len ? FT_OK : ft_error_set(FT_EINVAL, "batch script too long");
}

/* The same fleet through mpirun: rank 0 the coordinator, ranks 1.. clients. */
static int mpirun_script(const ft_launch_t *l, const char *out, const char *cmd, char *buf,
                         size_t len)
{
    char per_node[64] = "";
    if (l->nodes > 1)
        snprintf(per_node, sizeof per_node, " --npernode %d", l->procs_per_node);
    int n = snprintf(buf, len,
                     "#!/bin/sh\n"
                     "# Written by fedtail run --launcher mpirun. Rank 0 is the coordinator, the\n"
                     "# other ranks are client processes (fedtail fleet-task reads\n"
                     "# OMPI_COMM_WORLD_RANK); no MPI inside: mpirun only starts them.\n"
                     "# After an interruption: fedtail run --resume %s --launcher mpirun\n"
                     "exec mpirun -np %d%s %s\n",
                     out, l->nodes * l->procs_per_node, per_node, cmd);
    return n > 0 && (size_t)n < len ? FT_OK : ft_error_set(FT_EINVAL, "mpirun script too long");
}

/* "ID CODE" of the launch's exit file when its id is id; -1 when absent or another's. */
static int exit_code(const char *launch, const char *id)
{
    char path[PATH_MAX + 64], *text = NULL, want[128];
    size_t n;
    snprintf(path, sizeof path, "%s/exit", launch);
    snprintf(want, sizeof want, "%s ", id);
    int code = -1;
    if (ft_path_exists(path) && ft_read_file(path, &text, &n) == FT_OK &&
        strncmp(text, want, strlen(want)) == 0)
        code = atoi(text + strlen(want));
    free(text);
    ft_error_clear();
    return code;
}

/* Whether the coordinator of launch id published its endpoint. */
static int bound(const char *launch, const char *id)
{
    char path[PATH_MAX + 64], *text = NULL;
    size_t n;
    snprintf(path, sizeof path, "%s/coordinator.endpoint", launch);
    int yes = ft_path_exists(path) && ft_read_file(path, &text, &n) == FT_OK &&
              strncmp(text, id, strlen(id)) == 0 && text[strlen(id)] == '\n';
    free(text);
    ft_error_clear();
    return yes;
}

/* The end of a launch: the coordinator's exit status, its verdict, or why it has none. */
static int outcome(const ft_launch_t *l, const char *out, const char *launch, const char *id,
                   const char *log, int json_quiet)
{
    const char *how = l->kind == FT_LAUNCH_SLURM ? "slurm" : "mpirun";
    int code = exit_code(launch, id);
    if (code == 0 || code == 3) {
        char verdict[512], report[PATH_MAX + 32];
        if (!json_quiet && ft_report_verdict(out, verdict, sizeof verdict) == FT_OK)
            printf("\n%s", verdict);
        snprintf(report, sizeof report, "%s/report.html", out);
        if (!json_quiet && ft_path_exists(report))
            printf("plots and report: %s\n", report);
        ft_error_clear();
        fprintf(stderr, "fedtail run: %s, results in %s\n",
                code == 0 ? "complete" : "stopped, the model was destroyed", out);
        return code;
    }
    if (code == 130) {
        fprintf(stderr,
                "fedtail run: the coordinator was stopped (scancel, or the time limit); %s holds "
                "the rounds so far: fedtail run --resume %s --launcher %s continues it\n",
                out, out, how);
        return 130;
    }
    char err_path[PATH_MAX + 64], *why = NULL;
    size_t n;
    snprintf(err_path, sizeof err_path, "%s/error", launch);
    if (code > 0 && ft_path_exists(err_path) && ft_read_file(err_path, &why, &n) == FT_OK) {
        why[strcspn(why, "\n")] = 0;
        fprintf(stderr, "fedtail run: the coordinator failed: %s\n", why);
    } else if (code > 0) {
        fprintf(stderr, "fedtail run: the coordinator failed (exit %d): see %s\n", code, log);
    } else if (!bound(launch, id)) {
        fprintf(stderr,
                "fedtail run: the job ended before the coordinator bound its socket: see %s\n",
                log);
    } else {
        fprintf(stderr,
                "fedtail run: the job ended before the run did (cancelled, out of time, or a "
                "node failed): see %s; fedtail run --resume %s --launcher %s continues it from "
                "its last checkpoint\n",
                out, out, how);
    }
    free(why);
    ft_error_clear();
    return 1;
}

int ft_launch_run(const ft_launch_t *l, const ft_config_t *cfg, const char *out, int resume,
                  const char *serve_spec, int quiet)
{
    if (l->kind == FT_LAUNCH_LOCAL)
        return ft_error_set(FT_EINVAL, "ft_launch_run: not a launcher");
    if (out[0] != '/' || !plain_path(out))
        return ft_error_set(FT_EINVAL,
                            "--launcher: the run directory %s must be an absolute path of "
                            "letters, digits and ._-/+=,@: only (Slurm's #SBATCH lines take no "
                            "quoting)",
                            out);
    if (l->nodes * l->procs_per_node < 2)
        return ft_error_set(FT_EINVAL,
                            "--nodes %d --procs-per-node %d: one task is the coordinator, so at "
                            "least 2 tasks are needed (one client)",
                            l->nodes, l->procs_per_node);
    char launch[PATH_MAX - 64], path[PATH_MAX + 64];
    snprintf(launch, sizeof launch, "%s/launch", out);
    int rc = ft_mkdir_p(launch);
    snprintf(path, sizeof path, "%s/experiment.ini", launch);
    if (rc == FT_OK && !resume)
        rc = ft_config_write(cfg, path);
    if (rc == FT_OK && resume && !ft_path_exists(path))
        rc = ft_error_set(FT_ENOTFOUND,
                          "%s: no launch/experiment.ini: this run was not started with "
                          "--launcher (fedtail run --resume %s continues it here)",
                          out, out);
    if (rc == FT_OK)
        rc = write_options(l, launch);
    if (rc != FT_OK)
        return rc;
    char id[64], cmd[4 * PATH_MAX], script[8 * PATH_MAX];
    if (l->kind == FT_LAUNCH_SLURM) {
        snprintf(id, sizeof id, "\"$SLURM_JOB_ID\"");
    } else {
        unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid() << 8;
        snprintf(id, sizeof id, "mpirun-%d-%08x", (int)getpid(), seed);
    }
    rc = task_command(l, out, id, resume, serve_spec, quiet, cmd, sizeof cmd);
    if (rc == FT_OK)
        rc = l->kind == FT_LAUNCH_SLURM ? slurm_script(l, out, cmd, script, sizeof script)
                                        : mpirun_script(l, out, cmd, script, sizeof script);
    snprintf(path, sizeof path, "%s/%s", launch,
             l->kind == FT_LAUNCH_SLURM ? "job.sh" : "mpirun.sh");
    if (rc == FT_OK)
        rc = ft_write_file_atomic(path, script, strlen(script));
    if (rc == FT_OK)
        chmod(path, 0755);
    if (rc != FT_OK)
        return rc;
    if (l->dry_run) {
        fputs(script, stdout);
        fprintf(stderr, "fedtail run: dry run: nothing %s; the script is %s\n",
                l->kind == FT_LAUNCH_SLURM ? "submitted" : "started", path);
        return 0;
    }
    char log[PATH_MAX + 160];
    if (l->kind == FT_LAUNCH_MPIRUN) {
        if (!ft_launch_have("mpirun"))
            return ft_error_set(FT_ENOTFOUND,
                                "--launcher mpirun: mpirun is not on PATH (install Open MPI: "
                                "Debian package openmpi-bin)");
        if (!quiet)
            fprintf(stderr, "fedtail run: mpirun -np %d (rank 0 the coordinator), writing %s\n",
                    l->nodes * l->procs_per_node, out);
        char *argv[] = {"/bin/sh", path, NULL};
        int code = ft_launch_capture(argv, NULL, 0);
        snprintf(log, sizeof log, "mpirun's output above");
        if (code != 0 && exit_code(launch, id) < 0)
            fprintf(stderr, "fedtail run: mpirun exited %d\n", code);
        return outcome(l, out, launch, id, log, 0);
    }
    char job[64], url[PATH_MAX + 32];
    /* The page's address as the coordinator task records it (launch/live.url); an
     * earlier launch's is not this job's. */
    snprintf(url, sizeof url, "%s/live.url", launch);
    unlink(url);
    if ((rc = ft_launch_sbatch(path, NULL, job, sizeof job)) != FT_OK)
        return rc;
    snprintf(path, sizeof path, "%s/job_id", launch);
    char line[80];
    int n = snprintf(line, sizeof line, "%s\n", job);
    if (ft_write_file_atomic(path, line, (size_t)n) != FT_OK)
        ft_error_clear(); /* only a record: the job runs whatever */
    snprintf(log, sizeof log, "%s/slurm-%s.out", launch, job);
    fprintf(stderr, "fedtail run: submitted job %s (%d node%s × %d tasks), writing %s\n", job,
            l->nodes, l->nodes > 1 ? "s" : "", l->procs_per_node, out);
    if (l->no_wait) {
        fprintf(stderr,
                "fedtail run: not waiting; its output goes to %s (squeue -j %s; scancel %s "
                "stops it, fedtail run --resume %s --launcher slurm continues it)\n",
                log, job, job, out);
        return 0;
    }
    if (ft_launch_slurm_wait(job, serve_spec ? url : NULL, "fedtail run: live view on ", quiet) ==
        FT_EINTR) {
        fprintf(stderr,
                "\nfedtail run: stopped waiting; job %s runs on (scancel %s stops it; its output "
                "goes to %s)\n",
                job, job, log);
        return 130;
    }
    return outcome(l, out, launch, job, log, 0);
}
