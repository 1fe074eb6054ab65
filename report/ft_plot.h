/* ft_plot: the gnuplot script of a report and running it. Each plot is written
 * twice, PNG (pngcairo) and SVG beside it, from metrics.csv columns; a plot whose
 * columns no run has is left out. The axes follow fixed rules the tests check:
 *  - x runs from the first to the last round (±0.5 where bars or points sit on
 *    the rounds), integer round tics;
 *  - main-task accuracy is zoomed to [floor(min − m), ceil(max + m)] percent,
 *    m = max(2, 10% of max − min), clamped to [0, 100]: a 3-point cost is visible;
 *  - backdoor accuracy and shares keep [-3, 103] with the 0% line drawn;
 *  - client counts have integer tics;
 *  - rounds with an attacker are shaded on every plot over rounds;
 *  - a run's line is its defense's colour (ft_palette). */
#ifndef FT_PLOT_H
#define FT_PLOT_H

#include "ft_report_run.h"

#include <stddef.h>
#include <stdio.h>

/* Writes out_dir/plots.gp for runs[0..n) and runs gnuplot on it: for one run
 * accuracy, backdoor, norms, decisions and shares; for several, compare_main and
 * compare_backdoor, and each run's norms, decisions and shares prefixed with
 * ft_plot_arm_prefix. FT_EIO naming the file, FT_EUNSUPPORTED without gnuplot. */
int ft_plot_write(const ft_report_run_t *runs, int n, const char *out_dir);

/* The stem prefix of run i's own plots in a comparison: "arm1_", "arm2_", ... */
void ft_plot_arm_prefix(int i, char *buf, size_t len);

/* Runs gnuplot on script_path. FT_EUNSUPPORTED if gnuplot is missing, FT_EIO with
 * gnuplot's first message if it fails. */
/* Starts a plot in gp into out_dir/<prefix><stem>.png (svg = 0) or .svg: terminal,
 * output, key and grid. */
void ft_plot_terminal(FILE *gp, const char *out_dir, const char *prefix, const char *stem, int svg);

int ft_plot_gnuplot(const char *script_path);

/* The zoomed main-accuracy range in percent for values lo..hi (percent). */
void ft_plot_zoom(double lo, double hi, double *ymin, double *ymax);

#endif
