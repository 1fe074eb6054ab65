/* fedtail report RUN_DIR [RUN_DIR ...] [--out DIR]: plots (PNG + SVG) and a
 * self-contained report.html. One run: written into its own directory; several:
 * comparison plots into --out (default runs/compare-<time>). */
#include "ft_cli.h"
#include "ft_error.h"
#include "ft_report.h"
#include "ft_report_run.h"

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
           "each in its defense's colour (docs/reports.md).\n");
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
    /* Said before the plots, so nobody reads a partial run as a result. */
    for (int i = 0; i < n; i++) {
        char why[128];
        if (ft_report_incomplete(dirs[i], why, sizeof why) == 1)
            printf("%s: INCOMPLETE run (%s)\n", dirs[i], why);
    }
    int rc = ft_report_render(dirs, n, out);
    if (rc != FT_OK)
        return ft_cli_fail(rc);
    printf("report: %s/report.html\n", out);
    return 0;
}
