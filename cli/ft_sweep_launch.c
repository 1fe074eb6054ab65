/* ft_sweep_launch: a sweep as a Slurm job array (ft_sweep_launch.h). */
#include "ft_sweep_launch.h"

#include "ft_error.h"
#include "ft_fileio.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The working directory, which the scripts run in (grid paths are relative to it). */
static int plain_cwd(char *buf, size_t len)
{
    if (!getcwd(buf, len))
        return ft_error_set(FT_EIO, "cannot read the working directory");
    for (const char *p = buf; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./+=,@:", *p))
            return ft_error_set(FT_EINVAL,
                                "--launcher slurm: the working directory %s must be made of "
                                "letters, digits and ._-/+=,@: (#SBATCH lines take no quoting)",
                                buf);
    return FT_OK;
}

int ft_sweep_launch(const ft_launch_t *l, const char *grid, const char *out_dir, char (*names)[512],
                    int total, const int *todo, int n, const char *procs, const char *seeds_opt)
{
    char cwd[PATH_MAX], launch[PATH_MAX], path[PATH_MAX + 64], self[PATH_MAX];
    char qself[2 * PATH_MAX], qgrid[2 * PATH_MAX], qout[2 * PATH_MAX], qseeds[256] = "";
    int rc = plain_cwd(cwd, sizeof cwd);
    if (rc == FT_OK &&
        (size_t)snprintf(launch, sizeof launch, "%s/launch", out_dir) >= sizeof launch)
        rc = ft_error_set(FT_EINVAL, "%s: path too long", out_dir);
    if (rc == FT_OK)
        rc = ft_mkdir_p(launch);
    if (rc == FT_OK)
        rc = ft_launch_self(self, sizeof self);
    if (rc == FT_OK)
        rc = ft_launch_sh_quote(self, qself, sizeof qself);
    if (rc == FT_OK)
        rc = ft_launch_sh_quote(grid, qgrid, sizeof qgrid);
    if (rc == FT_OK)
        rc = ft_launch_sh_quote(out_dir, qout, sizeof qout);
    if (rc == FT_OK && seeds_opt)
        rc = ft_launch_sh_quote(seeds_opt, qseeds, sizeof qseeds);
    if (rc != FT_OK)
        return ft_cli_fail(rc);
    /* The cell list: what --status reads. */
    size_t cap = (size_t)total * 540 + 64;
    char *text = malloc(cap), *list = malloc((size_t)n * 12 + 64), script[40000];
    if (!text || !list) {
        free(text);
        free(list);
        return ft_cli_fail(ft_error_set(FT_ENOMEM, "out of memory"));
    }
    size_t k = 0;
    for (int i = 0; i < total; i++)
        k += (size_t)snprintf(text + k, cap - k, "%d %s\n", i, names[i]);
    snprintf(path, sizeof path, "%s/cells", launch);
    rc = ft_write_file_atomic(path, text, k);
    k = 0;
    list[0] = 0;
    for (int i = 0; i < n; i++)
        k += (size_t)sprintf(list + k, "%s%d", i ? "," : "", todo[i]);
    int cpus = atoi(procs) + 1; /* the cell's coordinator and its client processes */
    char limit[32] = "";
    if (l->max_parallel)
        snprintf(limit, sizeof limit, "%%%d", l->max_parallel);
    int m = snprintf(script, sizeof script,
                     "#!/bin/sh\n"
                     "# Written by fedtail sweep --launcher slurm: array task I runs cell I of\n"
                     "# the grid (its own coordinator and client processes in the task's\n"
                     "# allocation); cells already complete are not in the array.\n"
                     "#SBATCH --job-name=fedtail-sweep\n"
                     "#SBATCH --array=%s%s\n"
                     "#SBATCH --ntasks=1\n"
                     "#SBATCH --cpus-per-task=%d\n"
                     "#SBATCH --chdir=%s\n"
                     "#SBATCH --output=%s/cell-%%a.out\n",
                     list, limit, cpus, cwd, launch);
    if (l->partition[0])
        m += snprintf(script + m, sizeof script - (size_t)m, "#SBATCH --partition=%s\n",
                      l->partition);
    if (l->time[0])
        m += snprintf(script + m, sizeof script - (size_t)m, "#SBATCH --time=%s\n", l->time);
    if (l->gpus_per_proc)
        m += snprintf(script + m, sizeof script - (size_t)m, "#SBATCH --gpus-per-task=%d\n",
                      l->gpus_per_proc);
    snprintf(script + m, sizeof script - (size_t)m,
             "exec %s sweep %s --out %s --procs %s%s%s --cell \"$SLURM_ARRAY_TASK_ID\"\n", qself,
             qgrid, qout, procs, seeds_opt ? " --seeds " : "", qseeds);
    char array_script[PATH_MAX + 64], report_script[PATH_MAX + 64];
    snprintf(array_script, sizeof array_script, "%s/sweep.sh", launch);
    if (rc == FT_OK)
        rc = ft_write_file_atomic(array_script, script, strlen(script));
    m = snprintf(script, sizeof script,
                 "#!/bin/sh\n"
                 "# Written by fedtail sweep --launcher slurm: once every cell has ended\n"
                 "# (afterany), the summary, the heatmaps and sweep.html.\n"
                 "#SBATCH --job-name=fedtail-sweep-report\n"
                 "#SBATCH --ntasks=1\n"
                 "#SBATCH --chdir=%s\n"
                 "#SBATCH --output=%s/report-%%j.out\n",
                 cwd, launch);
    if (l->partition[0])
        m += snprintf(script + m, sizeof script - (size_t)m, "#SBATCH --partition=%s\n",
                      l->partition);
    snprintf(script + m, sizeof script - (size_t)m, "exec %s sweep %s --out %s%s%s --report-only\n",
             qself, qgrid, qout, seeds_opt ? " --seeds " : "", qseeds);
    snprintf(report_script, sizeof report_script, "%s/report.sh", launch);
    if (rc == FT_OK)
        rc = ft_write_file_atomic(report_script, script, strlen(script));
    free(text);
    if (rc != FT_OK) {
        free(list);
        return ft_cli_fail(rc);
    }
    if (l->dry_run) {
        char *t = NULL;
        size_t len;
        if (ft_read_file(array_script, &t, &len) == FT_OK)
            fputs(t, stdout);
        free(t);
        fputs(script, stdout);
        fprintf(stderr, "fedtail sweep: dry run: nothing submitted; the scripts are %s and %s\n",
                array_script, report_script);
        free(list);
        return 0;
    }
    char array_id[64], report_id[64], dep[96];
    rc = ft_launch_sbatch(array_script, NULL, array_id, sizeof array_id);
    if (rc == FT_OK) {
        snprintf(dep, sizeof dep, "--dependency=afterany:%s", array_id);
        const char *extra[] = {dep, NULL};
        rc = ft_launch_sbatch(report_script, extra, report_id, sizeof report_id);
    }
    if (rc != FT_OK) {
        free(list);
        return ft_cli_fail(rc);
    }
    char line[160];
    int len = snprintf(line, sizeof line, "%s %s\n", array_id, report_id);
    snprintf(path, sizeof path, "%s/jobs", launch);
    if (ft_write_file_atomic(path, line, (size_t)len) != FT_OK)
        ft_error_clear();
    printf("sweep: submitted job array %s (cells %s%s) and report job %s; fedtail sweep --status "
           "%s\n",
           array_id, list, limit, report_id, out_dir);
    free(list);
    fflush(stdout);
    if (l->no_wait)
        return 0;
    if (ft_launch_slurm_wait(report_id, NULL, NULL, 1) == FT_EINTR) {
        fprintf(stderr, "fedtail sweep: stopped waiting; the jobs run on\n");
        return 130;
    }
    return ft_sweep_status(out_dir);
}

/* The state squeue reports for array task index of job (in buf), "" when none. */
static void queue_state(const char *job, int index, const char *queue, char *buf, size_t len)
{
    char want[96];
    snprintf(want, sizeof want, "%s_%d ", job, index);
    buf[0] = 0;
    for (const char *p = queue; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, want, strlen(want)) == 0) {
            const char *s = p + strlen(want);
            snprintf(buf, len, "%.*s", (int)strcspn(s, "\n"), s);
            return;
        }
}

int ft_sweep_status(const char *dir)
{
    char path[PATH_MAX + 64], *cells = NULL, *jobs = NULL;
    size_t n;
    snprintf(path, sizeof path, "%s/launch/cells", dir);
    if (!ft_path_exists(path) || ft_read_file(path, &cells, &n) != FT_OK) {
        fprintf(stderr,
                "fedtail sweep: %s holds no sweep launched with --launcher slurm (no "
                "launch/cells)\n",
                dir);
        return 1;
    }
    char array_id[64] = "", queue[65536] = "";
    snprintf(path, sizeof path, "%s/launch/jobs", dir);
    if (ft_path_exists(path) && ft_read_file(path, &jobs, &n) == FT_OK)
        sscanf(jobs, "%63s", array_id);
    free(jobs);
    ft_error_clear();
    if (array_id[0] && ft_launch_have("squeue")) {
        char *argv[] = {"squeue", "-h", "-r", "-j", array_id, "-o", "%i %T", NULL};
        if (ft_launch_capture(argv, queue, sizeof queue) != 0)
            queue[0] = 0;
    }
    int counts[4] = {0};
    static const char *const words[] = {"done", "running", "failed", "pending"};
    for (const char *p = cells; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        int index;
        char name[512], cell[PATH_MAX + 600], state[64];
        if (sscanf(p, "%d %511[^\n]", &index, name) != 2)
            continue;
        int s = 3;
        snprintf(cell, sizeof cell, "%s/%s/sweep-complete", dir, name);
        queue_state(array_id, index, queue, state, sizeof state);
        if (ft_path_exists(cell))
            s = 0;
        else if (strcmp(state, "RUNNING") == 0 || strcmp(state, "COMPLETING") == 0)
            s = 1;
        else if (state[0])
            s = 3;
        else {
            /* Started, ended and not complete: it failed, or its task was cancelled. */
            snprintf(cell, sizeof cell, "%s/%s", dir, name);
            s = ft_path_exists(cell) ? 2 : 3;
        }
        counts[s]++;
        printf("%-8s %s\n", words[s], name);
    }
    free(cells);
    printf("sweep %s: %d done, %d running, %d failed, %d pending\n", dir, counts[0], counts[1],
           counts[2], counts[3]);
    return 0;
}
