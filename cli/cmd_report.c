/* fedtail report RUN_DIR [RUN_DIR ...] [--out DIR]: plots (PNG + SVG) and a
 * self-contained report.html. One run: written into its own directory; several:
 * comparison plots into --out (default runs/compare-<time>). A directory a run with
 * run.compare or run.seeds wrote (arms, seed-S subdirectories, or <arm>/seed-S) is
 * drawn as that run drew it: its arms compared, or mean ± sample std over the seeds per
 * arm (ft_run_layout.h). */
#include "ft_cli.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_report.h"
#include "ft_report_run.h"
#include "ft_run_layout.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_DIRS 32

static void usage(void)
{
    printf("usage: fedtail report RUN_DIR [RUN_DIR ...] [--out DIR]\n\n"
           "Draws main and backdoor accuracy per round (attack rounds shaded), update norms\n"
           "and defense decisions (PNG and SVG), and writes report.html: verdict, settings,\n"
           "summary, plots, per-client decisions. Several runs are compared on one chart,\n"
           "each in its defense's colour (docs/reports.md). The directory of a run with\n"
           "run.compare is drawn as that comparison; of a run with run.seeds (DIR/seed-S or\n"
           "DIR/<arm>/seed-S), as mean ± std over its seeds.\n");
}

/* The report over seeds of dirs[0..n), each a seeds directory (layouts[i]). */
static int report_seeds(const char *const *dirs, ft_run_layout_t *layouts, int n, const char *out)
{
    ft_report_group_t groups[MAX_DIRS * FT_MAX_VARIANTS];
    int ng = 0;
    for (int i = 0; i < n; i++)
        for (int g = 0; g < layouts[i].n; g++) {
            ft_run_group_t *sg = &layouts[i].groups[g];
            /* several single-experiment directories: name each by its directory */
            if (n > 1 && layouts[i].n == 1 && strcmp(sg->label, "run") == 0)
                ft_report_dir_label(dirs[i], sg->label, sizeof sg->label); /* its last component */
            for (int s = 0; s < sg->n; s++) {
                char why[128];
                if (ft_report_incomplete(sg->dirs[s], why, sizeof why) == 1)
                    printf("%s: INCOMPLETE run (%s)\n", sg->dirs[s], why);
            }
            groups[ng++] = (ft_report_group_t){
                .label = sg->label, .dirs = (const char *const *)sg->dirs, .n = sg->n};
        }
    if (ng > FT_MAX_VARIANTS)
        return ft_error_set(FT_EINVAL, "report: at most %d arms over seeds (%d given)",
                            FT_MAX_VARIANTS, ng);
    return ft_report_render_seeds(groups, ng, out);
}

int ft_cmd_report(int argc, char **argv)
{
    const char *dirs[MAX_DIRS];
    int n = 0;
    const char *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            return 0;
        }
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (argv[i][0] == '-') {
            return ft_cli_fail(ft_error_set(FT_EINVAL, "report: unknown option '%s'", argv[i]));
        } else if (n < MAX_DIRS) {
            dirs[n++] = argv[i];
        } else {
            return ft_cli_fail(ft_error_set(FT_EINVAL, "report: at most %d runs", MAX_DIRS));
        }
    }
    if (n == 0) {
        usage();
        return 2;
    }
    char out_buf[512];
    if (!out) {
        if (n == 1) {
            out = dirs[0];
        } else {
            time_t now = time(NULL);
            struct tm tm;
            localtime_r(&now, &tm);
            strftime(out_buf, sizeof out_buf, "runs/compare-%Y%m%d-%H%M%S", &tm);
            out = out_buf;
        }
    }
    /* A directory with no metrics.csv of its own is what a run with run.seeds or
     * run.compare wrote (ft_run_layout.h): seeds are drawn over their seeds, a
     * comparison's arms as the comparison. */
    static ft_run_layout_t layouts[MAX_DIRS];
    const char *runs[MAX_DIRS]; /* the single runs: arguments, and comparisons' arms */
    int nr = 0, seeded = 0, single = 0, rc = FT_OK;
    for (int i = 0; i < n && rc >= 0; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/metrics.csv", dirs[i]);
        if (!ft_path_exists(path) && (rc = ft_run_layout_find(dirs[i], &layouts[i])) > 0) {
            if (layouts[i].groups[0].seeded) {
                seeded++;
                continue;
            }
            single++;
            for (int g = 0; g < layouts[i].n && rc >= 0; g++)
                if (nr == MAX_DIRS)
                    rc = ft_error_set(FT_EINVAL, "report: at most %d runs", MAX_DIRS);
                else
                    runs[nr++] = layouts[i].groups[g].dirs[0];
        } else if (rc >= 0) {
            single++;
            runs[nr++] = dirs[i]; /* a run, or nothing: ft_report_render says which */
        }
    }
    if (rc >= 0 && seeded && single)
        rc = ft_error_set(FT_EINVAL,
                          "report: %d of the %d directories hold runs over seeds and the others "
                          "single runs; report them apart",
                          seeded, n);
    if (rc >= 0 && seeded)
        rc = report_seeds(dirs, layouts, n, out);
    else if (rc >= 0) {
        /* Said before the plots, so nobody reads a partial run as a result. */
        for (int i = 0; i < nr; i++) {
            char why[128];
            if (ft_report_incomplete(runs[i], why, sizeof why) == 1)
                printf("%s: INCOMPLETE run (%s)\n", runs[i], why);
        }
        rc = ft_report_render(runs, nr, out);
    }
    for (int i = 0; i < n; i++)
        ft_run_layout_free(&layouts[i]);
    if (rc < 0)
        return ft_cli_fail(rc);
    if (seeded) {
        printf("report: %s/report.html (mean ± sample std over the seeds)\n", out);
        return 0;
    }
    printf("report: %s/report.html\n", out);
    return 0;
}
