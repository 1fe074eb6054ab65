/* fedtail sweep GRID.ini [GRID.ini ...]: runs every point of each grid (as many at
 * once as there are cores, one client process each), skips runs already complete
 * (so an interrupted sweep resumes), and writes summary.csv plus heatmaps of the
 * first two grid axes (attack x defense when both are swept). */
#include "ft_cli.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_report.h"
#include "ft_sweep.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_JOBS 64

typedef struct {
    pid_t pid;     /* child running the run, 0 if the slot is free */
    int run_index; /* which run of the grid */
} job_t;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(void)
{
    printf("usage: fedtail sweep GRID.ini [GRID.ini ...] [--out DIR] [--jobs J] [--procs P]\n"
           "                    [--dry-run]\n\n"
           "A grid file has [sweep] base = EXP.ini, [grid] section.key = v1, v2, ... and\n"
           "optionally [set] section.key = v. Runs already complete are skipped. Writes\n"
           "DIR/summary.csv and heatmaps of the first two grid axes.\n");
}

/* Name and directory of run i of the grid. */
static void run_paths(const ft_sweep_t *sw, const char *out_dir, int i, char name[512],
                      char dir[1600])
{
    ft_sweep_run_name(sw, i, name, 512);
    snprintf(dir, 1600, "%s/%s", out_dir, name);
}

/* A run is complete once `fedtail run` exited 0 for it, or 3 (a round destroyed the
 * model: that is its outcome, and running it again would repeat it): the sweep then
 * drops this marker (an interrupted run also leaves final.ckpt, so that is no
 * evidence). */
static void marker_path(const char *dir, char *buf, size_t len)
{
    snprintf(buf, len, "%s/sweep-complete", dir);
}

static int run_complete(const char *dir)
{
    char path[1700];
    marker_path(dir, path, sizeof path);
    return ft_path_exists(path);
}

/* Starts `fedtail run BASE --set ... --out DIR --quiet --no-report --procs P` with
 * its output in DIR.log. Returns the child pid or -1. */
static pid_t start_run(const ft_sweep_t *sw, int i, const char *dir, const char *procs)
{
    char *argv[2 * (FT_SWEEP_MAX_AXES * 8 + FT_SWEEP_MAX_SETS) + 16];
    static char storage[8192];
    const char *sets[FT_SWEEP_MAX_AXES * 8 + FT_SWEEP_MAX_SETS];
    int num_sets = ft_sweep_run_sets(sw, i, storage, sizeof storage, sets,
                                     (int)(sizeof sets / sizeof sets[0]));
    int argc = 0;
    argv[argc++] = "fedtail";
    argv[argc++] = "run";
    argv[argc++] = (char *)sw->base;
    for (int s = 0; s < num_sets; s++) {
        argv[argc++] = "--set";
        argv[argc++] = (char *)sets[s];
    }
    argv[argc++] = "--out";
    argv[argc++] = (char *)dir;
    argv[argc++] = "--quiet";
    argv[argc++] = "--no-report";
    argv[argc++] = "--force"; /* an incomplete run is run again from the start */
    argv[argc++] = "--procs";
    argv[argc++] = (char *)procs;
    argv[argc] = NULL;
    char log_path[1700];
    snprintf(log_path, sizeof log_path, "%s.log", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    return pid;
}

/* Summary of run i if it is complete: fills name, s and the run's value indices.
 * Returns 0 for runs not (yet) complete or unreadable. */
static int completed_run(const ft_sweep_t *sw, const char *out_dir, int i, char name[512],
                         ft_run_summary_t *s, int idx[FT_SWEEP_MAX_AXES])
{
    char dir[1600];
    run_paths(sw, out_dir, i, name, dir);
    if (!run_complete(dir) || ft_run_summarise(dir, s) != FT_OK)
        return 0;
    ft_sweep_run_values(sw, i, idx);
    return 1;
}

static void format_pct(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f%%", 100 * v);
}

/* One cell of a summary table: CSV keeps 4 decimals, markdown shows percent. */
static int table_cell(char *buf, size_t len, double v, int markdown, int percent)
{
    if (isnan(v))
        return snprintf(buf, len, markdown ? " - |" : ",");
    if (!markdown)
        return snprintf(buf, len, ",%.4f", v);
    return percent ? snprintf(buf, len, " %.1f%% |", 100 * v) : snprintf(buf, len, " %.0f |", v);
}

/* summary.csv (for scripts) or summary.md (for docs/experiments.md): one row per
 * completed run with its grid values and outcome. */
static int write_summary(const ft_sweep_t *sw, const char *out_dir, int markdown)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/summary.%s", out_dir, markdown ? "md" : "csv");
    ft_atomic_file_t *f = ft_atomic_open(path);
    if (!f)
        return FT_EIO;
    const char *sep = markdown ? " | " : ",";
    char line[4096];
    int n = snprintf(line, sizeof line, "%srun", markdown ? "| " : "");
    for (int a = 0; a < sw->num_axes; a++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s%s", sep, sw->axes[a].key);
    if (markdown) {
        n += snprintf(
            line + n, sizeof line - (size_t)n,
            " | final main | final backdoor | peak backdoor | rounds to 50%% | "
            "detection TPR | detection FPR | rounds | model destroyed in | attacker weight | "
            "attacker norm share |\n|---|");
        for (int c = 0; c < sw->num_axes + 10; c++)
            n += snprintf(line + n, sizeof line - (size_t)n, "---|");
        n += snprintf(line + n, sizeof line - (size_t)n, "\n");
    } else {
        n += snprintf(line + n, sizeof line - (size_t)n,
                      ",final_main_acc,final_backdoor_acc,peak_backdoor_acc,rounds_to_50,"
                      "detection_tpr,detection_fpr,rounds,model_destroyed_round,attacker_weight,"
                      "attacker_norm_share\n");
    }
    ft_atomic_write(f, line, (size_t)n);
    for (int i = 0; i < ft_sweep_num_runs(sw); i++) {
        char name[512];
        ft_run_summary_t s;
        int idx[FT_SWEEP_MAX_AXES];
        if (!completed_run(sw, out_dir, i, name, &s, idx))
            continue;
        n = snprintf(line, sizeof line, "%s%s", markdown ? "| " : "", name);
        for (int a = 0; a < sw->num_axes; a++)
            n += snprintf(line + n, sizeof line - (size_t)n, "%s%s", sep,
                          sw->axes[a].values[idx[a]]);
        if (markdown)
            n += snprintf(line + n, sizeof line - (size_t)n, " |");
        double cells[] = {s.final_main_acc, s.final_backdoor_acc, s.peak_backdoor_acc,
                          s.rounds_to_50,   s.detection_tpr,      s.detection_fpr};
        for (int c = 0; c < 6; c++)
            n += table_cell(line + n, sizeof line - (size_t)n, cells[c], markdown, c != 3);
        n += snprintf(line + n, sizeof line - (size_t)n, markdown ? " %d |" : ",%d", s.rounds);
        if (s.destroyed_round)
            n += snprintf(line + n, sizeof line - (size_t)n, markdown ? " round %d |" : ",%d",
                          s.destroyed_round);
        else
            n += snprintf(line + n, sizeof line - (size_t)n, markdown ? " - |" : ",");
        /* appended: the attackers' effective share, defined for every rule */
        n += table_cell(line + n, sizeof line - (size_t)n, s.attacker_weight, markdown, 1);
        n += table_cell(line + n, sizeof line - (size_t)n, s.attacker_norm_share, markdown, 1);
        n += snprintf(line + n, sizeof line - (size_t)n, "\n");
        ft_atomic_write(f, line, (size_t)n);
    }
    return ft_atomic_commit(&f);
}

/* Picks the heatmap axes: attack.method x defense.name when both are swept, else
 * the first two axes. Returns 0 if the grid has fewer than two axes. */
static int heatmap_axes(const ft_sweep_t *sw, int *row, int *col)
{
    if (sw->num_axes < 2)
        return 0;
    *row = 0;
    *col = 1;
    for (int a = 0; a < sw->num_axes; a++) {
        if (strcmp(sw->axes[a].key, "attack.method") == 0 ||
            strcmp(sw->axes[a].key, "variant") == 0)
            *row = a;
        if (strcmp(sw->axes[a].key, "defense.name") == 0)
            *col = a;
    }
    if (*row == *col)
        *col = *row == 0 ? 1 : 0;
    return 1;
}

/* Averages a summary field over the other axes into a rows×cols grid. */
static void draw_heatmaps(const ft_sweep_t *sw, const char *out_dir)
{
    int ra, ca;
    if (!heatmap_axes(sw, &ra, &ca))
        return;
    int rows = sw->axes[ra].num_values, cols = sw->axes[ca].num_values;
    double main_sum[FT_SWEEP_MAX_VALUES * FT_SWEEP_MAX_VALUES] = {0};
    double back_sum[FT_SWEEP_MAX_VALUES * FT_SWEEP_MAX_VALUES] = {0};
    int count[FT_SWEEP_MAX_VALUES * FT_SWEEP_MAX_VALUES] = {0};
    for (int i = 0; i < ft_sweep_num_runs(sw); i++) {
        char name[512];
        ft_run_summary_t s;
        int idx[FT_SWEEP_MAX_AXES];
        if (!completed_run(sw, out_dir, i, name, &s, idx))
            continue;
        int cell = idx[ra] * cols + idx[ca];
        main_sum[cell] += s.final_main_acc;
        back_sum[cell] += isnan(s.final_backdoor_acc) ? 0 : s.final_backdoor_acc;
        count[cell]++;
    }
    for (int c = 0; c < rows * cols; c++) {
        main_sum[c] = count[c] ? main_sum[c] / count[c] : NAN;
        back_sum[c] = count[c] ? back_sum[c] / count[c] : NAN;
    }
    const char *row_labels[FT_SWEEP_MAX_VALUES], *col_labels[FT_SWEEP_MAX_VALUES];
    for (int r = 0; r < rows; r++)
        row_labels[r] = sw->axes[ra].values[r];
    for (int c = 0; c < cols; c++)
        col_labels[c] = sw->axes[ca].values[c];
    if (ft_report_heatmap(out_dir, "heatmap_backdoor", "Final backdoor accuracy (%)",
                          sw->axes[ra].key, row_labels, rows, sw->axes[ca].key, col_labels, cols,
                          back_sum) != FT_OK ||
        ft_report_heatmap(out_dir, "heatmap_main", "Final main-task accuracy (%)", sw->axes[ra].key,
                          row_labels, rows, sw->axes[ca].key, col_labels, cols, main_sum) != FT_OK)
        fprintf(stderr, "fedtail sweep: heatmaps not drawn: %s\n", ft_error_message());
}

/* Runs one grid to completion (or interruption). Returns the number of failed runs,
 * or a negative code. */
static int run_grid(const ft_sweep_t *sw, const char *out_dir, int jobs, const char *procs,
                    int dry_run)
{
    int total = ft_sweep_num_runs(sw), failed = 0, done = 0, next = 0;
    job_t slots[MAX_JOBS] = {{0}};
    int running = 0;
    while ((next < total || running > 0) && !(interrupted && running == 0)) {
        while (!interrupted && next < total && running < jobs) {
            char name[512], dir[1600];
            run_paths(sw, out_dir, next, name, dir);
            if (run_complete(dir)) {
                printf("[%d/%d] %s: already complete, skipped\n", ++done, total, name);
                next++;
                continue;
            }
            if (dry_run) {
                printf("[%d/%d] %s: would run\n", ++done, total, name);
                next++;
                continue;
            }
            pid_t pid = start_run(sw, next, dir, procs);
            if (pid < 0)
                return ft_error_set(FT_EIO, "cannot start a run");
            for (int j = 0; j < jobs; j++)
                if (slots[j].pid == 0) {
                    slots[j].pid = pid;
                    slots[j].run_index = next;
                    break;
                }
            running++;
            next++;
        }
        if (running == 0)
            break;
        int status = 0;
        pid_t pid = wait(&status);
        if (pid < 0 && interrupted) {
            /* Pass the stop on: each run then ends cleanly and stays resumable. */
            for (int j = 0; j < jobs; j++)
                if (slots[j].pid > 0)
                    kill(slots[j].pid, SIGTERM);
            continue;
        }
        if (pid < 0)
            continue;
        for (int j = 0; j < jobs; j++) {
            if (slots[j].pid != pid)
                continue;
            slots[j].pid = 0;
            running--;
            char name[512], dir[1600];
            run_paths(sw, out_dir, slots[j].run_index, name, dir);
            ft_run_summary_t s;
            char marker[1700];
            marker_path(dir, marker, sizeof marker);
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            if ((code == 0 || code == FT_EXIT_MODEL_DESTROYED) &&
                ft_run_summarise(dir, &s) == FT_OK &&
                ft_write_file_atomic(marker, "complete\n", 9) == FT_OK) {
                char m[16], b[16];
                format_pct(m, sizeof m, s.final_main_acc);
                format_pct(b, sizeof b, s.final_backdoor_acc);
                if (s.destroyed_round)
                    printf("[%d/%d] %s: the model was destroyed in round %d\n", ++done, total, name,
                           s.destroyed_round);
                else
                    printf("[%d/%d] %s: main %s, backdoor %s\n", ++done, total, name, m, b);
            } else if (interrupted) {
                printf("[%d/%d] %s: stopped (resumable)\n", ++done, total, name);
            } else {
                failed++;
                printf("[%d/%d] %s: FAILED (see %s.log)\n", ++done, total, name, dir);
            }
            fflush(stdout);
        }
    }
    return failed;
}

int ft_cmd_sweep(int argc, char **argv)
{
    const char *files[16];
    int num_files = 0, jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), dry_run = 0;
    const char *out = NULL, *procs = "1";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            return 0;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc) {
            jobs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--procs") == 0 && i + 1 < argc) {
            procs = argv[++i];
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            dry_run = 1;
        } else if (argv[i][0] == '-') {
            return ft_cli_fail(ft_error_set(FT_EINVAL, "sweep: unknown option '%s'", argv[i]));
        } else if (num_files < 16) {
            files[num_files++] = argv[i];
        }
    }
    if (num_files == 0) {
        usage();
        return 2;
    }
    if (jobs < 1 || jobs > MAX_JOBS)
        return ft_cli_fail(ft_error_set(FT_EINVAL, "sweep: --jobs must be 1..%d", MAX_JOBS));
    /* Validate every grid before running anything. */
    static ft_sweep_t sweeps[16];
    for (int f = 0; f < num_files; f++)
        if (ft_sweep_load(files[f], &sweeps[f]) != FT_OK)
            return ft_cli_fail(FT_ECONFIG);
    /* No SA_RESTART: a signal must wake the wait() for running runs. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int failed = 0;
    for (int f = 0; f < num_files && !interrupted; f++) {
        const ft_sweep_t *sw = &sweeps[f];
        char out_dir[1024];
        if (out && num_files == 1)
            snprintf(out_dir, sizeof out_dir, "%s", out);
        else
            snprintf(out_dir, sizeof out_dir, "%s/%s", out ? out : "runs/sweep", sw->name);
        if (ft_mkdir_p(out_dir) != FT_OK)
            return ft_cli_fail(FT_EIO);
        printf("sweep %s: %d runs into %s\n", sw->name, ft_sweep_num_runs(sw), out_dir);
        int rc = run_grid(sw, out_dir, jobs, procs, dry_run);
        if (rc < 0)
            return ft_cli_fail(rc);
        failed += rc;
        if (dry_run)
            continue;
        if (write_summary(sw, out_dir, 0) != FT_OK || write_summary(sw, out_dir, 1) != FT_OK)
            return ft_cli_fail(FT_EIO);
        draw_heatmaps(sw, out_dir);
        printf("sweep %s: summary in %s/summary.csv and summary.md\n", sw->name, out_dir);
    }
    if (interrupted) {
        fprintf(stderr, "fedtail sweep: interrupted; run it again to resume\n");
        return 130;
    }
    return failed ? 1 : 0;
}
