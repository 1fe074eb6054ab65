/* fedtail sweep GRID.ini [GRID.ini ...]: runs every point of each grid (as many at
 * once as there are cores, one client process each), skips runs already complete
 * (so an interrupted sweep resumes), and writes summary.csv plus heatmaps of the
 * first two grid axes (attack x defense when both are swept) and sweep.html.
 *
 * With seeds (--seeds, or run.seeds in the base experiment or [set]) each cell is one
 * `fedtail run` that runs its seeds into CELL/seed-S (ft_seeds.h): a cell is complete
 * when every seed is, an interrupted cell runs only its missing seeds, and the
 * summaries show mean ± sample std over the seeds (ft_seed_summary.h). */
#include "ft_alloc.h"
#include "ft_cli.h"
#include "ft_config.h"
#include "ft_csv.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_fileio.h"
#include "ft_report.h"
#include "ft_seed_summary.h"
#include "ft_seeds.h"
#include "ft_stat.h"
#include "ft_sweep.h"
#include "ft_sweep_page.h"
#include "ft_sweep_launch.h"
#include "ft_variants.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 64

typedef struct {
    pid_t pid;     /* child running the run, 0 if the slot is free */
    int run_index; /* which run of the grid */
} job_t;

/* The seeds every cell of a grid runs (run.seeds as its first cell reads it). */
typedef struct {
    int n;                    /* seeds (0: each cell is one run with its run.seed) */
    uint64_t v[FT_MAX_SEEDS]; /* the seeds */
    const char *opt;          /* --seeds, passed on to every cell's run, or NULL */
} grid_seeds_t;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(void)
{
    printf("usage: fedtail sweep GRID.ini [GRID.ini ...] [--out DIR] [--jobs J] [--procs P]\n"
           "                    [--seeds S1,S2,...] [--dry-run]\n\n"
           "A grid file has [sweep] base = EXP.ini, [grid] section.key = v1, v2, ... and\n"
           "optionally [set] section.key = v. Runs already complete are skipped. Each run\n"
           "goes into DIR/key=value,key=value; writes DIR/summary.csv, heatmaps of the first\n"
           "two grid axes and DIR/sweep.html (every cell linked to its run's report).\n"
           "  --seeds S1,S2,...  run every cell once per seed (as run.seeds) into\n"
           "             CELL/seed-S; the summaries show mean ± sample std over the seeds\n"
           "  --launcher slurm [--max-parallel M] [--partition X] [--time T]\n"
           "             [--gpus-per-proc G] [--no-wait]  the cells not yet complete as one\n"
           "             job array (M at once), each task one cell, and a job after it that\n"
           "             builds the summary and report (docs/cluster.md)\n"
           "  --status DIR  each cell of a launched sweep: done, running, failed, pending\n"
           "  --report-only  the summary, heatmaps and sweep.html of the cells done so far\n");
}

/* Name and directory of run i of the grid: ft_sweep_run_name's, unless only a
 * directory of the name older sweeps gave it exists (ft_sweep_run_name_v1), which is
 * then kept so that a sweep started before the names changed resumes in place. */
static void run_paths(const ft_sweep_t *sw, const char *out_dir, int i, char name[512],
                      char dir[1600])
{
    ft_sweep_run_name(sw, i, name, 512);
    snprintf(dir, 1600, "%s/%s", out_dir, name);
    if (ft_path_exists(dir))
        return;
    char old[512], old_dir[1600];
    ft_sweep_run_name_v1(sw, i, old, sizeof old);
    snprintf(old_dir, sizeof old_dir, "%s/%s", out_dir, old);
    if (strcmp(old, name) != 0 && ft_path_exists(old_dir)) {
        snprintf(name, 512, "%s", old);
        snprintf(dir, 1600, "%s", old_dir);
    }
}

/* Seconds since an arbitrary start (monotonic). */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "1h02m", "3m07s" or "42s". */
static void fmt_duration(double s, char *buf, size_t len)
{
    long t = s < 0 ? 0 : lround(s);
    if (t >= 3600)
        snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, len, "%lds", t);
}

/* The progress over the whole grid after a run ended: done of total, how many
 * still run, the time so far and the time left at the rate of the runs that ran in
 * this invocation (skipped ones cost nothing). */
static void progress_line(const char *sweep, int done, int total, int running, int ran, double t0)
{
    double elapsed = now_s() - t0;
    char el[32], eta[32];
    fmt_duration(elapsed, el, sizeof el);
    if (ran > 0 && done < total)
        fmt_duration(elapsed / ran * (total - done), eta, sizeof eta);
    else
        snprintf(eta, sizeof eta, done < total ? "unknown" : "0s");
    printf("sweep %s: %d/%d done, %d running, %s elapsed, ETA %s\n", sweep, done, total, running,
           el, eta);
}

/* A run is complete once `fedtail run` exited 0 for it, or 3 (a round destroyed the
 * model: that is its outcome, and running it again would repeat it): the sweep then
 * drops this marker (an interrupted run also leaves final.ckpt, so that is no
 * evidence). */
static void marker_path(const char *dir, char *buf, size_t len)
{
    snprintf(buf, len, "%s/sweep-complete", dir);
}

static int run_complete(const char *dir, const grid_seeds_t *gs)
{
    char path[1700];
    for (int k = 0; k < gs->n; k++) {
        ft_seed_dir(dir, gs->v[k], path, sizeof path);
        if (!ft_seed_marked(path))
            return 0;
    }
    if (gs->n)
        return 1;
    marker_path(dir, path, sizeof path);
    return ft_path_exists(path);
}

/* The seeds of sw's cells: the base experiment with [set], the first cell's values
 * and --seeds applied, read as its run would read it (so a bad list fails before any
 * run starts). A seed fixed per cell (a run.seed axis or [set], a variant setting
 * run.seed or run.seeds) or a run.seeds axis is refused with seeds: run.seeds sets
 * every run's seed itself. */
static int grid_seeds(const ft_sweep_t *sw, const char *opt, grid_seeds_t *gs)
{
    memset(gs, 0, sizeof *gs);
    gs->opt = opt;
    for (int a = 0; a < sw->num_axes; a++) {
        if (strcmp(sw->axes[a].key, "run.seeds") == 0)
            return ft_error_set(FT_ECONFIG,
                                "%s: run.seeds cannot be a grid axis: give the seeds in [set] "
                                "run.seeds = 1,2,3 or with --seeds",
                                sw->path);
        for (int v = 0; strcmp(sw->axes[a].key, "variant") == 0 && v < sw->axes[a].num_values; v++)
            if (strstr(sw->axes[a].sets[v], "run.seeds="))
                return ft_error_set(FT_ECONFIG,
                                    "%s: variant %s sets run.seeds: give the seeds in [set] "
                                    "run.seeds or with --seeds, for every cell alike",
                                    sw->path, sw->axes[a].values[v]);
    }
    ft_config_t *cfg = ft_config_new();
    if (!cfg)
        return ft_error_set(FT_ENOMEM, "out of memory");
    static char storage[8192];
    const char *sets[FT_SWEEP_MAX_AXES * 8 + FT_SWEEP_MAX_SETS];
    int num_sets =
        ft_sweep_run_sets(sw, 0, storage, sizeof storage, sets, (int)(sizeof sets / sizeof *sets));
    int rc = ft_config_load_file(cfg, sw->base);
    for (int i = 0; i < num_sets && rc == FT_OK; i++)
        rc = ft_config_set(cfg, sets[i], sw->path);
    if (rc == FT_OK && opt)
        rc = ft_config_set_value(cfg, "run.seeds", opt, "--seeds");
    ft_experiment_t exp;
    if (rc == FT_OK && (rc = ft_experiment_read(cfg, &exp)) == FT_OK) {
        gs->n = exp.run.num_seeds;
        memcpy(gs->v, exp.run.seeds, sizeof gs->v);
    }
    ft_config_destroy(&cfg);
    if (rc != FT_OK || gs->n == 0)
        return rc;
    for (int a = 0; a < sw->num_axes; a++) {
        if (strcmp(sw->axes[a].key, "run.seed") == 0)
            return ft_error_set(FT_ECONFIG,
                                "%s: grid key run.seed with run.seeds: run.seeds sets every "
                                "run's seed (drop the run.seed axis)",
                                sw->path);
        for (int v = 0; strcmp(sw->axes[a].key, "variant") == 0 && v < sw->axes[a].num_values; v++)
            if ((rc = ft_seeds_check_sets(sw->axes[a].sets[v], sw->path)) != FT_OK)
                return rc;
    }
    for (int i = 0; i < sw->num_sets; i++)
        if (strncmp(sw->sets[i], "run.seed=", 9) == 0)
            return ft_error_set(FT_ECONFIG,
                                "%s: [set] run.seed with run.seeds: run.seeds sets "
                                "every run's seed",
                                sw->path);
    return FT_OK;
}

/* Checks every cell's experiment as its `fedtail run` will (ft_variants_check), before
 * any runs: a typo in a grid value or [set] fails the sweep at once, naming the cell,
 * rather than after the cells before it have run. The cell's assignments are applied
 * as start_run passes them, as --set. FT_ECONFIG (or the cell's error). */
static int check_cells(const ft_sweep_t *sw, const grid_seeds_t *gs)
{
    int rc = FT_OK;
    for (int i = 0; i < ft_sweep_num_runs(sw) && rc == FT_OK; i++) {
        static char storage[8192];
        const char *sets[FT_SWEEP_MAX_AXES * 8 + FT_SWEEP_MAX_SETS];
        int num_sets = ft_sweep_run_sets(sw, i, storage, sizeof storage, sets,
                                         (int)(sizeof sets / sizeof sets[0]));
        ft_config_t *cfg = ft_config_new();
        if (!cfg)
            return ft_error_set(FT_ENOMEM, "out of memory");
        rc = ft_config_load_file(cfg, sw->base);
        for (int k = 0; k < num_sets && rc == FT_OK; k++)
            rc = ft_config_set(cfg, sets[k], "--set");
        if (rc == FT_OK && gs->opt)
            rc = ft_config_set_value(cfg, "run.seeds", gs->opt, "--seeds");
        ft_experiment_t exp;
        ft_variant_t v[FT_MAX_VARIANTS];
        int nv = 0;
        if (rc == FT_OK && (rc = ft_experiment_read(cfg, &exp)) == FT_OK &&
            (rc = ft_variants_parse(&exp.run, v, &nv)) == FT_OK)
            rc = ft_variants_check(cfg, v, nv);
        ft_config_destroy(&cfg);
        if (rc != FT_OK) {
            char name[512], why[1024];
            ft_sweep_run_name(sw, i, name, sizeof name);
            snprintf(why, sizeof why, "%s", ft_error_message());
            rc = ft_error_set(rc, "%s: run %s (%d of %d): %s; nothing was run", sw->path, name,
                              i + 1, ft_sweep_num_runs(sw), why);
        }
    }
    return rc;
}

/* Starts `fedtail run BASE --set ... --out DIR --quiet --procs P` with
 * its output in DIR.log. Returns the child pid or -1. */
static pid_t start_run(const ft_sweep_t *sw, int i, const char *dir, const char *procs,
                       const grid_seeds_t *gs)
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
    argv[argc++] = "--quiet"; /* its report.html is what sweep.html links to */
    argv[argc++] = "--force"; /* an incomplete run is run again from the start */
    argv[argc++] = "--procs";
    argv[argc++] = (char *)procs;
    if (gs->opt) {
        argv[argc++] = "--seeds";
        argv[argc++] = (char *)gs->opt;
    }
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

/* One value as a statistic of one seed (n = 0 where NaN). */
static ft_stat_t one(double v)
{
    return (ft_stat_t){.n = !isnan(v), .mean = v, .std = NAN};
}

/* The summary of the cell in dir: its seeds folded (ft_seed_summary_of), or without
 * seeds its one run as it is (a destroyed model's accuracies included, as before
 * seeds existed). */
static int cell_summary(const char *dir, const grid_seeds_t *gs, ft_seed_summary_t *s)
{
    if (gs->n) {
        static char seed_dirs[FT_MAX_SEEDS][1700];
        const char *dirs[FT_MAX_SEEDS];
        for (int k = 0; k < gs->n; k++) {
            ft_seed_dir(dir, gs->v[k], seed_dirs[k], sizeof seed_dirs[k]);
            dirs[k] = seed_dirs[k];
        }
        return ft_seed_summarise(dirs, gs->n, s);
    }
    ft_run_summary_t r;
    int rc = ft_run_summarise(dir, &r);
    if (rc != FT_OK)
        return rc;
    *s = (ft_seed_summary_t){.n = 1,
                             .destroyed = r.destroyed_round != 0,
                             .rounds = r.rounds,
                             .destroyed_round = r.destroyed_round,
                             .backdoor_test = r.backdoor_test,
                             .final_main = one(r.final_main_acc),
                             .final_backdoor = one(r.final_backdoor_acc),
                             .peak_backdoor = one(r.peak_backdoor_acc),
                             .rounds_to_50 = one(r.rounds_to_50),
                             .detection_tpr = one(r.detection_tpr),
                             .detection_fpr = one(r.detection_fpr),
                             .attacker_weight = one(r.attacker_weight),
                             .attacker_norm_share = one(r.attacker_norm_share)};
    return FT_OK;
}

/* Summary of run i if it is complete: fills name, s and the run's value indices.
 * Returns 0 for runs not (yet) complete or unreadable. */
static int completed_run(const ft_sweep_t *sw, const char *out_dir, int i, const grid_seeds_t *gs,
                         char name[512], ft_seed_summary_t *s, int idx[FT_SWEEP_MAX_AXES])
{
    char dir[1600];
    run_paths(sw, out_dir, i, name, dir);
    if (!run_complete(dir, gs) || cell_summary(dir, gs, s) != FT_OK)
        return 0;
    ft_sweep_run_values(sw, i, idx);
    return 1;
}

/* One cell of a summary table: CSV keeps 4 decimals (the mean; its std in the
 * *_std columns), markdown shows "mean ± std" (percent where percent). */
static int table_cell(char *buf, size_t len, const ft_stat_t *v, int markdown, int percent)
{
    if (v->n == 0)
        return snprintf(buf, len, markdown ? " - |" : ",");
    if (!markdown)
        return snprintf(buf, len, ",%.4f", v->mean);
    char text[64];
    ft_stat_format(text, sizeof text, v, percent);
    return snprintf(buf, len, " %s |", text);
}

/* summary.csv (for scripts) or summary.md (for docs/experiments.md): one row per
 * completed run with its grid values and outcome. */
static int write_summary(const ft_sweep_t *sw, const char *out_dir, const grid_seeds_t *gs,
                         int markdown)
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
        n += snprintf(line + n, sizeof line - (size_t)n,
                      " | final main | final backdoor | peak backdoor | rounds to 50%% | "
                      "detection TPR | detection FPR | rounds | model destroyed in | attacker "
                      "weight | attacker norm share | seeds |\n|---|");
        for (int c = 0; c < sw->num_axes + 11; c++)
            n += snprintf(line + n, sizeof line - (size_t)n, "---|");
        n += snprintf(line + n, sizeof line - (size_t)n, "\n");
    } else {
        n += snprintf(line + n, sizeof line - (size_t)n,
                      ",final_main_acc,final_backdoor_acc,peak_backdoor_acc,rounds_to_50,"
                      "detection_tpr,detection_fpr,rounds,model_destroyed_round,attacker_weight,"
                      "attacker_norm_share,seeds,final_main_acc_std,final_backdoor_acc_std,"
                      "peak_backdoor_acc_std,rounds_to_50_std,detection_tpr_std,"
                      "detection_fpr_std,attacker_weight_std,attacker_norm_share_std,"
                      "model_destroyed_seeds\n");
    }
    ft_atomic_write(f, line, (size_t)n);
    for (int i = 0; i < ft_sweep_num_runs(sw); i++) {
        char name[512];
        ft_seed_summary_t s;
        int idx[FT_SWEEP_MAX_AXES];
        if (!completed_run(sw, out_dir, i, gs, name, &s, idx))
            continue;
        /* a run name (key=value,key=value) or a value may hold commas: CSV quotes them */
        n = markdown ? snprintf(line, sizeof line, "| %s", name)
                     : ft_csv_cell(line, sizeof line, name);
        for (int a = 0; a < sw->num_axes; a++) {
            n += snprintf(line + n, sizeof line - (size_t)n, "%s", sep);
            const char *v = sw->axes[a].values[idx[a]];
            n += markdown ? snprintf(line + n, sizeof line - (size_t)n, "%s", v)
                          : ft_csv_cell(line + n, sizeof line - (size_t)n, v);
        }
        if (markdown)
            n += snprintf(line + n, sizeof line - (size_t)n, " |");
        const ft_stat_t *cells[] = {&s.final_main,   &s.final_backdoor, &s.peak_backdoor,
                                    &s.rounds_to_50, &s.detection_tpr,  &s.detection_fpr};
        for (int c = 0; c < 6; c++)
            n += table_cell(line + n, sizeof line - (size_t)n, cells[c], markdown, c != 3);
        n += snprintf(line + n, sizeof line - (size_t)n, markdown ? " %d |" : ",%d", s.rounds);
        if (s.destroyed_round && markdown && s.n > 1)
            n += snprintf(line + n, sizeof line - (size_t)n, " round %d (%d of %d seeds) |",
                          s.destroyed_round, s.destroyed, s.n);
        else if (s.destroyed_round)
            n += snprintf(line + n, sizeof line - (size_t)n, markdown ? " round %d |" : ",%d",
                          s.destroyed_round);
        else
            n += snprintf(line + n, sizeof line - (size_t)n, markdown ? " - |" : ",");
        /* appended: the attackers' effective share, defined for every rule */
        n += table_cell(line + n, sizeof line - (size_t)n, &s.attacker_weight, markdown, 1);
        n += table_cell(line + n, sizeof line - (size_t)n, &s.attacker_norm_share, markdown, 1);
        /* appended: the seeds, and each statistic's sample std over them */
        if (markdown) {
            n += snprintf(line + n, sizeof line - (size_t)n, " %d |\n", s.n);
        } else {
            n += snprintf(line + n, sizeof line - (size_t)n, ",%d", s.n);
            const ft_stat_t *all[] = {&s.final_main,      &s.final_backdoor,     &s.peak_backdoor,
                                      &s.rounds_to_50,    &s.detection_tpr,      &s.detection_fpr,
                                      &s.attacker_weight, &s.attacker_norm_share};
            for (int c = 0; c < 8; c++)
                n += isnan(all[c]->std)
                         ? snprintf(line + n, sizeof line - (size_t)n, ",")
                         : snprintf(line + n, sizeof line - (size_t)n, ",%.4f", all[c]->std);
            n += snprintf(line + n, sizeof line - (size_t)n, ",%d\n", s.destroyed);
        }
        ft_atomic_write(f, line, (size_t)n);
    }
    return ft_atomic_commit(&f);
}

/* summary.json: every completed cell as an arm of ft_seed_summary_write_json (its
 * run name as label and directory). */
static int write_summary_json(const ft_sweep_t *sw, const char *out_dir, const grid_seeds_t *gs)
{
    int total = ft_sweep_num_runs(sw), n = 0;
    char(*names)[512] = ft_calloc((size_t)total, sizeof *names);
    const char **labels = ft_calloc((size_t)total, sizeof *labels);
    ft_seed_summary_t *sums = ft_calloc((size_t)total, sizeof *sums);
    int rc = names && labels && sums ? FT_OK : ft_error_set(FT_ENOMEM, "out of memory");
    for (int i = 0; i < total && rc == FT_OK; i++) {
        int idx[FT_SWEEP_MAX_AXES];
        if (completed_run(sw, out_dir, i, gs, names[n], &sums[n], idx)) {
            labels[n] = names[n];
            n++;
        }
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/summary.json", out_dir);
    if (rc == FT_OK)
        rc = ft_seed_summary_write_json(path, gs->v, gs->n, labels, labels, sums, n);
    ft_free(names);
    ft_free(labels);
    ft_free(sums);
    return rc;
}

/* Averages a summary field over the other axes into a rows×cols grid. */
static void draw_heatmaps(const ft_sweep_t *sw, const char *out_dir, const grid_seeds_t *gs)
{
    int ra, ca;
    if (!ft_sweep_heatmap_axes(sw, &ra, &ca))
        return;
    int rows = sw->axes[ra].num_values, cols = sw->axes[ca].num_values;
    double main_sum[FT_SWEEP_MAX_VALUES * FT_SWEEP_MAX_VALUES] = {0};
    double back_sum[FT_SWEEP_MAX_VALUES * FT_SWEEP_MAX_VALUES] = {0};
    int count[FT_SWEEP_MAX_VALUES * FT_SWEEP_MAX_VALUES] = {0};
    for (int i = 0; i < ft_sweep_num_runs(sw); i++) {
        char name[512];
        ft_seed_summary_t s;
        int idx[FT_SWEEP_MAX_AXES];
        if (!completed_run(sw, out_dir, i, gs, name, &s, idx) || s.final_main.n == 0)
            continue;
        int cell = idx[ra] * cols + idx[ca];
        main_sum[cell] += s.final_main.mean;
        back_sum[cell] += s.final_backdoor.n ? s.final_backdoor.mean : 0;
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

/* sweep.html (ft_sweep_page.h) from every run's outcome. A completed run from
 * before sweeps rendered reports (they ran with --no-report) gets its report.html
 * rendered here, so that its cell links to one. */
static int write_sweep_html(const ft_sweep_t *sw, const char *out_dir, const grid_seeds_t *gs)
{
    int total = ft_sweep_num_runs(sw);
    ft_sweep_cell_t *cells = ft_calloc((size_t)total, sizeof *cells);
    if (!cells)
        return ft_error_set(FT_ENOMEM, "out of memory");
    for (int i = 0; i < total; i++) {
        char dir[1600], report[1700];
        ft_seed_summary_t sum;
        int idx[FT_SWEEP_MAX_AXES];
        if (!completed_run(sw, out_dir, i, gs, cells[i].name, &sum, idx))
            continue;
        cells[i].done = 1;
        cells[i].main_acc = sum.final_main.n ? 100 * sum.final_main.mean : NAN;
        cells[i].backdoor_acc = sum.final_backdoor.n ? 100 * sum.final_backdoor.mean : NAN;
        snprintf(dir, sizeof dir, "%s/%s", out_dir, cells[i].name);
        snprintf(report, sizeof report, "%s/report.html", dir);
        if (!ft_path_exists(report) && !gs->n) {
            const char *one[] = {dir};
            if (ft_report_render(one, 1, dir) != FT_OK)
                ft_error_clear(); /* without gnuplot the page is still written */
        }
        cells[i].has_report = ft_path_exists(report);
    }
    int rc = ft_sweep_page_write(sw, cells, out_dir);
    ft_free(cells);
    return rc;
}

/* Runs one grid to completion (or interruption). Returns the number of failed runs,
 * or a negative code. */
static int run_grid(const ft_sweep_t *sw, const char *out_dir, int jobs, const char *procs,
                    const grid_seeds_t *gs, int dry_run, int only)
{
    int total = ft_sweep_num_runs(sw), failed = 0, done = 0, next = 0, ran = 0;
    double t0 = now_s();
    job_t slots[MAX_JOBS] = {{0}};
    int running = 0;
    while ((next < total || running > 0) && !(interrupted && running == 0)) {
        while (!interrupted && next < total && running < jobs) {
            char name[512], dir[1600];
            if (only >= 0 && next != only) { /* --cell: one array task's cell */
                next++;
                continue;
            }
            run_paths(sw, out_dir, next, name, dir);
            if (run_complete(dir, gs)) {
                ++done;
                printf("[%d/%d] %s: already complete, skipped\n", next + 1, total, name);
                next++;
                continue;
            }
            if (dry_run) {
                ++done;
                printf("[%d/%d] %s: would run\n", next + 1, total, name);
                next++;
                continue;
            }
            pid_t pid = start_run(sw, next, dir, procs, gs);
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
            ft_seed_summary_t s;
            char marker[1700];
            marker_path(dir, marker, sizeof marker);
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1, at = slots[j].run_index + 1;
            done++;
            ran++;
            /* With seeds, each seed's run marked itself (ft_seeds.h). */
            if ((code == 0 || code == FT_EXIT_MODEL_DESTROYED) &&
                cell_summary(dir, gs, &s) == FT_OK &&
                (gs->n || ft_write_file_atomic(marker, "complete\n", 9) == FT_OK)) {
                char m[64], b[64], line[512];
                ft_stat_format(m, sizeof m, &s.final_main, 1);
                ft_stat_format(b, sizeof b, &s.final_backdoor, 1);
                if (gs->n)
                    ft_seed_verdict_line(&s, line, sizeof line);
                if (gs->n)
                    printf("[%d/%d] %s: %s\n", at, total, name, line);
                else if (s.destroyed_round)
                    printf("[%d/%d] %s: the model was destroyed in round %d\n", at, total, name,
                           s.destroyed_round);
                else
                    printf("[%d/%d] %s: main %s, backdoor %s\n", at, total, name, m, b);
            } else if (interrupted) {
                printf("[%d/%d] %s: stopped (resumable)\n", at, total, name);
            } else {
                failed++;
                printf("[%d/%d] %s: FAILED (see %s.log)\n", at, total, name, dir);
            }
            progress_line(sw->name, done, total, running, ran, t0);
            fflush(stdout);
        }
    }
    return failed;
}

int ft_cmd_sweep(int argc, char **argv)
{
    const char *files[16];
    int num_files = 0, jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), dry_run = 0;
    const char *out = NULL, *procs = "1", *seeds_opt = NULL;
    int cell = -1, report_only = 0;
    ft_cli_t lc; /* the launcher's options, for ft_launch_parse */
    memset(&lc, 0, sizeof lc);
    for (int i = 0; i < argc; i++) {
        int is_value = 0;
        for (int k = 0; ft_launch_value_options[k]; k++)
            is_value |= strcmp(argv[i], ft_launch_value_options[k]) == 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            return 0;
        } else if (is_value && i + 1 < argc && lc.argc_extra + 2 <= FT_CLI_MAX_EXTRA) {
            lc.argv_extra[lc.argc_extra++] = argv[i];
            lc.argv_extra[lc.argc_extra++] = argv[++i];
        } else if (strcmp(argv[i], "--no-wait") == 0 && lc.argc_extra < FT_CLI_MAX_EXTRA) {
            lc.argv_extra[lc.argc_extra++] = argv[i];
        } else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc) {
            return ft_sweep_status(argv[i + 1]);
        } else if (strcmp(argv[i], "--cell") == 0 && i + 1 < argc) {
            cell = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--report-only") == 0) {
            report_only = 1;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc) {
            jobs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--procs") == 0 && i + 1 < argc) {
            procs = argv[++i];
        } else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
            seeds_opt = argv[++i];
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
    if (seeds_opt && !seeds_opt[0])
        return ft_cli_fail(ft_error_set(
            FT_ECONFIG, "--seeds: key run.seeds: an empty list (expected e.g. 1,2,3)"));
    if (jobs < 1 || jobs > MAX_JOBS)
        return ft_cli_fail(ft_error_set(FT_EINVAL, "sweep: --jobs must be 1..%d", MAX_JOBS));
    if (dry_run && ft_cli_option(&lc, "--launcher"))
        lc.argv_extra[lc.argc_extra++] = "--dry-run";
    ft_launch_t launch;
    if (ft_launch_parse(&lc, NULL, &launch) != FT_OK)
        return ft_cli_fail(FT_EINVAL);
    if (launch.kind == FT_LAUNCH_MPIRUN)
        return ft_cli_fail(ft_error_set(FT_EINVAL,
                                        "sweep: --launcher mpirun runs one fleet: "
                                        "a grid is a Slurm job array (--launcher slurm)"));
    if (launch.kind == FT_LAUNCH_SLURM && num_files != 1)
        return ft_cli_fail(
            ft_error_set(FT_EINVAL, "sweep --launcher slurm: one GRID.ini per submission"));
    /* Validate every grid before running anything. */
    static ft_sweep_t sweeps[16];
    static grid_seeds_t seeds[16];
    for (int f = 0; f < num_files; f++) {
        if (ft_sweep_load(files[f], &sweeps[f]) != FT_OK ||
            grid_seeds(&sweeps[f], seeds_opt, &seeds[f]) != FT_OK)
            return ft_cli_fail(FT_ECONFIG);
        int rc = check_cells(&sweeps[f], &seeds[f]);
        if (rc != FT_OK)
            return ft_cli_fail(rc);
    }
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
        if (seeds[f].n)
            printf("sweep %s: %d runs of %d seeds each into %s\n", sw->name, ft_sweep_num_runs(sw),
                   seeds[f].n, out_dir);
        else
            printf("sweep %s: %d runs into %s\n", sw->name, ft_sweep_num_runs(sw), out_dir);
        if (launch.kind == FT_LAUNCH_SLURM && cell < 0 && !report_only) {
            int total = ft_sweep_num_runs(sw), n = 0;
            char(*names)[512] = ft_calloc((size_t)total, sizeof *names);
            int *todo = ft_calloc((size_t)total, sizeof *todo);
            if (!names || !todo) {
                ft_free(names);
                ft_free(todo);
                return ft_cli_fail(ft_error_set(FT_ENOMEM, "out of memory"));
            }
            for (int i = 0; i < total; i++) {
                char dir[1600];
                run_paths(sw, out_dir, i, names[i], dir);
                if (!run_complete(dir, &seeds[f]))
                    todo[n++] = i;
            }
            int code = 0;
            if (n == 0)
                printf("sweep %s: every cell is complete\n", sw->name);
            else
                code = ft_sweep_launch(&launch, files[f], out_dir, names, total, todo, n, procs,
                                       seeds_opt);
            ft_free(names);
            ft_free(todo);
            if (n > 0)
                return code;
        }
        int rc = report_only ? 0 : run_grid(sw, out_dir, jobs, procs, &seeds[f], dry_run, cell);
        if (rc < 0)
            return ft_cli_fail(rc);
        failed += rc;
        if (cell >= 0) { /* one array task: its cell's marker, with seeds too (--status) */
            char name[512], dir[1600], marker[1700];
            run_paths(sw, out_dir, cell, name, dir);
            marker_path(dir, marker, sizeof marker);
            if (run_complete(dir, &seeds[f]) && !ft_path_exists(marker) &&
                ft_write_file_atomic(marker, "complete\n", 9) != FT_OK)
                return ft_cli_fail(FT_EIO);
            return rc ? 1 : 0;
        }
        if (dry_run)
            continue;
        if (write_summary(sw, out_dir, &seeds[f], 0) != FT_OK ||
            write_summary(sw, out_dir, &seeds[f], 1) != FT_OK ||
            write_summary_json(sw, out_dir, &seeds[f]) != FT_OK)
            return ft_cli_fail(FT_EIO);
        draw_heatmaps(sw, out_dir, &seeds[f]);
        if (write_sweep_html(sw, out_dir, &seeds[f]) != FT_OK)
            fprintf(stderr, "fedtail sweep: sweep.html not written: %s\n", ft_error_message());
        printf("sweep %s: summary in %s/summary.csv, summary.md and summary.json; report in "
               "%s/sweep.html\n",
               sw->name, out_dir, out_dir);
    }
    if (interrupted) {
        fprintf(stderr, "fedtail sweep: interrupted; run it again to resume\n");
        return 130;
    }
    return failed ? 1 : 0;
}
