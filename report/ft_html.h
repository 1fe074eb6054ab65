/* ft_html: report.html, the full story of an experiment in one self-contained
 * file: the verdict first, then each arm's attack and defense settings, the
 * summary (kept/dropped counts, the attackers' effective share), the plots (inline
 * SVG, attack rounds shaded), per-client decisions per round, and the configuration
 * that differs between arms. */
#ifndef FT_HTML_H
#define FT_HTML_H

#include "ft_report_run.h"

/* Writes out_dir/report.html (atomically) for runs[0..n), embedding the SVG plots
 * found in out_dir when have_plots. FT_EIO naming the file. */
#include <stdio.h>

/* s into f with <, >, & and " escaped. */
void ft_html_escape(FILE *f, const char *s);
/* " INCOMPLETE (why)" after a run's name where run_dir holds an incomplete run
 * (ft_report_incomplete); nothing for a finished one. */
void ft_html_incomplete_mark(FILE *html, const char *run_dir);
/* dir/stem.svg inline in a <figure id="plot-stem"> with caption and links to the PNG
 * and SVG (its XML prolog dropped); nothing if the file is absent. */
void ft_html_embed_svg(FILE *html, const char *dir, const char *stem, const char *caption);

/* Ends the page written to tmp (</body></html>), closes it and renames it to path, so
 * a reader never sees half a page. FT_EIO naming the file (tmp removed). */
int ft_html_finish(FILE *html, const char *tmp, const char *path);

int ft_html_write(const ft_report_run_t *runs, int n, const char *out_dir, int have_plots);

#endif
