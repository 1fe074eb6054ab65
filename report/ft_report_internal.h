/* ft_report_internal: the pieces of ft_report.c that the seeds' report
 * (ft_report_seeds.c) draws with too — inside report/ only. */
#ifndef FT_REPORT_INTERNAL_H
#define FT_REPORT_INTERNAL_H

#include <stdio.h>

/* s into f with <, >, & and " escaped. */
void ft_report_html_escape(FILE *f, const char *s);
/* dir/stem.svg inline in a <figure> (its XML prolog dropped); nothing if absent. */
void ft_report_embed_svg(FILE *html, const char *dir, const char *stem);
/* gnuplot terminal, output file out_dir/stem.{png,svg}, key and grid. */
void ft_report_terminal(FILE *gp, const char *out_dir, const char *stem, int svg);
/* Runs gnuplot on the script. FT_EUNSUPPORTED if gnuplot is missing, FT_EIO if it fails. */
int ft_report_gnuplot(const char *script_path);
/* The i-th line colour of comparison plots ("#rrggbb"). */
const char *ft_report_colour(int i);

#endif
