/* ft_report_run: loading one run directory for a report (see ft_report_run.h). */
#include "ft_report_run.h"

#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_csv.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_palette.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void ft_report_dir_label(const char *dir, char *out, size_t len)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    snprintf(out, len, "%.*s", (int)(n - start), dir + start);
}

int ft_report_run_load(ft_report_run_t *run, const char *dir)
{
    memset(run, 0, sizeof *run);
    run->dir = dir;
    ft_report_dir_label(dir, run->label, sizeof run->label);
    size_t g = 0;
    for (const char *c = run->label; *c && g + 3 < sizeof run->gp_label; c++) {
        if (*c == '\'')
            run->gp_label[g++] = '\'';
        run->gp_label[g++] = *c;
    }
    run->gp_label[g] = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    int rc = ft_csv_read(path, &run->csv);
    if (rc != FT_OK)
        return rc;
    if (run->csv->num_rows == 0 || ft_csv_col(run->csv, "round") < 0 ||
        ft_csv_col(run->csv, "main_acc") < 0)
        return ft_error_set(FT_EFORMAT, "%s: no rounds, or no round/main_acc columns", path);
    snprintf(path, sizeof path, "%s/config.ini", dir);
    if (ft_path_exists(path)) {
        run->cfg = ft_config_new();
        /* A config from another version (a key since renamed) still gets a report:
         * the settings are then left out, not the run. */
        if (run->cfg && ft_config_load_file(run->cfg, path) != FT_OK)
            ft_config_destroy(&run->cfg);
        ft_error_clear();
    }
    if (run->cfg)
        snprintf(run->defense, sizeof run->defense, "%s", ft_config_str(run->cfg, "defense.name"));
    run->colour = ft_palette_defense(run->defense[0] ? run->defense : run->label);
    /* without the events the plot is left out, not the report */
    if (ft_norm_dist_load(dir, &run->norms) != FT_OK)
        ft_error_clear();
    return FT_OK;
}

void ft_report_run_free(ft_report_run_t *run)
{
    ft_csv_destroy(&run->csv);
    ft_config_destroy(&run->cfg);
    ft_norm_dist_free(&run->norms);
}

void ft_report_run_rounds(const ft_report_run_t *run, int *first, int *last)
{
    const ft_csv_t *csv = run->csv;
    *first = (int)ft_csv_get(csv, 0, "round");
    *last = (int)ft_csv_get(csv, csv->num_rows - 1, "round");
}

int ft_report_has_data(const ft_csv_t *csv, const char *col)
{
    for (int r = 0; r < csv->num_rows; r++)
        if (!isnan(ft_csv_get(csv, r, col)))
            return 1;
    return 0;
}

int ft_report_incomplete(const char *run_dir, char *why, size_t len)
{
    char path[4096], *summary = NULL;
    size_t n = 0;
    ft_csv_t *csv = NULL;
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    int rc = ft_csv_read(path, &csv);
    if (rc != FT_OK)
        return rc;
    int done = csv->num_rows ? (int)ft_csv_get(csv, csv->num_rows - 1, "round") : 0;
    ft_csv_destroy(&csv);
    long planned = 0;
    ft_config_t *cfg = ft_config_new();
    snprintf(path, sizeof path, "%s/config.ini", run_dir);
    if (cfg && ft_config_load_file(cfg, path) == FT_OK)
        planned = (long)ft_config_int(cfg, "federation.rounds");
    ft_config_destroy(&cfg);
    snprintf(path, sizeof path, "%s/summary.json", run_dir);
    int have_summary = ft_read_file(path, &summary, &n) == FT_OK;
    int destroyed = have_summary && !strstr(summary, "\"model_destroyed_round\": null");
    int completed = have_summary && strstr(summary, "\"completed\": true");
    ft_free(summary);
    int short_run = planned > 0 && done < planned;
    if (destroyed || (completed && !short_run)) {
        why[0] = '\0';
        return 0;
    }
    const char *state = !have_summary ? ", no summary.json" : completed ? "" : ", not completed";
    if (planned > 0)
        snprintf(why, len, "%d of %ld rounds%s", done, planned, state);
    else
        snprintf(why, len, "%d rounds%s", done, state);
    return 1;
}
